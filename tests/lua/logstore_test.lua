-- The C log store (natrig.core.log_store) against natrig.logs' own semantics, no engine:
-- a mixed log (tracing, logfmt, JSON, zap, plain, a panic and its backtrace, two streams)
-- goes in through a tiny budget so most of it is spilled and read back; then every query
-- of a list, run by C, must return exactly the entries natrig.logs.matches (the Lua rule
-- queries had before) keeps of the whole log, in the same order. Also: lazily decoded
-- fields, waits matched as lines arrive, text, last lines, repeats after a re-attach.
local t = require "tap"
local natrig = require "natrig"
local core = natrig.core
local logs = require "natrig.logs"

local dir = (os.getenv("TMPDIR") or "/tmp") .. "/natrig-logstore-test-" .. tostring(core.time()):gsub("%.", "")
local st = core.log_store("n1", dir .. "/n1.spill", dir .. "/n1.log")
local out, err = st:feeder("stdout"), st:feeder("stderr")
local BUDGET = 4096

local base = 1796083200 -- 2026-12-01T00:00:00Z
local function stamp(i) return ("2026-12-01T00:%02d:%02d.%09dZ "):format(i // 60 % 60, i % 60, i * 1000) end
local lines = {}
local function add(f, text, same_time) lines[#lines + 1] = { f = f, text = text, same = same_time } end
for i = 1, 400 do
  local k = i % 8
  if k == 0 then
    add(out, ("2026-12-01T00:00:00Z  INFO freenet::transport::peer: sent packet peer=10.1.0.%d n=%d name=\"node %d\"")
      :format(i % 7, i, i % 3))
  elseif k == 1 then
    add(out, ("time=2026-12-01T00:00:01Z level=warn msg=\"slow peer\" peer=10.1.0.%d n=%d"):format(i % 7, i))
  elseif k == 2 then
    add(err, ('{"level":"error","msg":"json failure %d","target":"app::json","peer":"10.1.0.%d","n":%d}')
      :format(i % 5, i % 7, i))
  elseif k == 3 then
    add(out, ("2026-12-01T00:00:02Z\tdebug\tzaplog\tpeer/peer.go:42\tzap says %d\t{\"n\":%d}"):format(i % 4, i))
  elseif k == 4 then
    add(out, ("plain text line %d with a marker-%d"):format(i, i % 10))
  elseif k == 5 then
    add(err, "thread 'main' panicked at 'boom', src/main.rs:3:5")
    add(err, "stack backtrace:", true) -- stamped with the panic line: within 50 ms, it joins
    add(err, "   0: app::main", true)
  elseif k == 6 then
    add(out, ("2026-12-01T00:00:03Z TRACE conn{peer=a}:req{id=%d}: app::deep: trace line n=%d"):format(i, i))
  else
    add(out, "")
  end
end
local woken_all = {}
local wid = st:wait_add({ message = "json failure 3", stream = "stderr" })
local wid2 = st:wait_add({ match = "marker%-6$" })
local at = 0
for i, l in ipairs(lines) do
  if not l.same then at = i end
  l.at = at
  local woken = st:feed(l.f, stamp(at) .. l.text .. "\n", true, BUDGET)
  for id, e in pairs(woken or {}) do woken_all[id] = woken_all[id] or e end
end
t.ok(woken_all[wid] and woken_all[wid].message == "json failure 3", "a wait on a message is woken by the line")
t.ok(woken_all[wid2] and woken_all[wid2].raw:find("marker%-6$"), "a wait on a Lua pattern too")
st:wait_remove(wid)
st:wait_remove(wid2)

local stats = st:stats()
t.ok(stats.spilled > stats.in_memory,
  ("most entries spilled (%d spilled, %d in memory)"):format(stats.spilled, stats.in_memory))
t.is(#st, stats.in_memory, "#store is the entries in memory")

local all = st:query({})
t.is(#all, stats.seq, "an empty query returns every entry, spilled ones included")
local ordered = true
for i = 2, #all do if all[i].seq ~= all[i - 1].seq + 1 then ordered = false end end
t.ok(ordered, "in order, none repeated")
local panic
for _, e in ipairs(all) do if e.message:find("panicked", 1, true) then panic = e break end end
t.ok(panic and panic.raw:find("stack backtrace:\n   0: app::main", 1, true) and panic.level == "panic",
  "the backtrace joined the panic entry")
t.is(all[1].node, "n1", "entries name their node")
t.ok(rawget(all[1], "raw") and rawget(all[1], "node"), "raw and node are plain fields (natrig.pretty reads them raw)")

local queries = {
  { level = "warn" }, { level = "error" }, { level = "trace" }, { level = "panic" },
  { target = "freenet::" }, { target = "app::" }, { target = "zaplog" },
  { stream = "stderr" }, { stream = "stdout" }, { stream = "nowhere" },
  { message = "slow peer" }, { message = { "json failure 1", "json failure 2", "zap says 3" } }, { message = {} },
  { match = "marker-3", plain = true }, { match = "marker%-3" }, { match = "marker%-%d$" }, { match = "^plain" },
  { match = "sent packet peer" }, { match = "json failure 4 {", plain = true }, { match = "" },
  { fields = { peer = "10.1.0.3" } }, { fields = { n = 17 } }, { fields = { name = "node 1", peer = "10.1.0.1" } },
  { fields = { [1] = "x" } },
  { since = base + 100.5 }, { ["until"] = base + 50 }, { since = base + 30, ["until"] = base + 31 },
  { level = "info", target = "freenet::transport", fields = { peer = "10.1.0.2" }, since = base + 10 },
}
for _, q in ipairs(queries) do
  local want = {}
  for _, e in ipairs(all) do if logs.matches(e, q) then want[#want + 1] = e.seq end end
  local got = {}
  for _, e in ipairs(st:query(q)) do got[#got + 1] = e.seq end
  t.is(table.concat(got, ","), table.concat(want, ","), "C query = Lua rule: " .. core.json_encode(q))
end
t.raises(function() st:query({ match = "line [" }) end, "malformed pattern",
  "a bad pattern raises, as string.find does")

local fe
for _, e in ipairs(all) do if e.fields and e.message == "slow peer" then fe = e break end end
t.is(fe and fe.fields.peer, "10.1.0.1", "fields decode on first access")
t.is(fe and rawget(fe, "fields") and rawget(fe, "fields").peer, "10.1.0.1", "and stay decoded")

local text = st:text()
local n_lines = select(2, text:gsub("\n", ""))
-- (an app's empty line still carries the engine's stamp: an entry with an empty raw text)
t.is(n_lines, #lines, "text: every entry's raw lines (backtraces included)")
t.like(st:last_lines(2), "^  | .*\n  | ", "last lines, prefixed")
local disk = core.read_file(dir .. "/n1.log") or ""
t.is(select(2, disk:gsub("\n", "")), n_lines, "the raw log holds every kept line once")

-- repeats after a re-attach: the same lines again are dropped, a new one is kept
local seq0 = st:stats().seq
local again = st:feeder("stdout")
for i = #lines - 3, #lines do
  local l = lines[i]
  if l.f == out and l.text ~= "" then st:feed(again, stamp(l.at) .. l.text .. "\n", true, BUDGET) end
end
t.is(st:stats().seq, seq0, "lines repeated by a re-attach are dropped")
st:feed(again, stamp(#lines + 1) .. "a new line\n", true, BUDGET)
t.is(st:stats().seq, seq0 + 1, "a new line after them is kept")
t.ok(st:stats().resume_time >= base, "resume time: the streams' last stamp")

-- log files: read and parsed in C from an offset, in bounded pieces; inotify says when
local w = core.inotify(dir)
t.ok(w and not w:changed(), "a new watch has seen nothing")
local fpath = dir .. "/app.log"
core.write_file(fpath, "2026-12-01T01:00:00Z  INFO app::file: first from a file n=1\n" ..
  "2026-12-01T01:00:01Z  WARN app::file: second from a file n=2\npartial")
t.ok(w:changed(), "inotify saw the write")
t.ok(not w:changed(), "and is drained")
local ff = st:feeder("file:app.log")
local n1 = st:feed_file(ff, fpath, 0, 20, BUDGET)
t.is(n1, 20, "a piece is at most max bytes")
local fw = st:wait_add({ match = "second from a file", plain = true })
local n2, fwoken = st:feed_file(ff, fpath, n1, 1048576, BUDGET)
t.ok(math.type(n2) == "integer" and fwoken and fwoken[fw], "feed_file returns the bytes read, then the woken waits")
st:wait_remove(fw)
local from_file = st:query({ stream = "file:app.log" })
t.is(#from_file, 2, "the file's whole lines became entries, across pieces")
t.is(from_file[2] and from_file[2].fields.n, "2", "parsed in C (fields)")
t.is(st:feed_file(ff, fpath, n1 + n2, 1048576, BUDGET), 0, "nothing new: 0 bytes")
t.is(st:feed_file(ff, dir .. "/missing.log", 0, 1048576, BUDGET), 0, "a missing file: 0 bytes")
core.write_file(fpath, " line\n", true)
t.ok(w:changed(), "an append is seen")
st:feed_file(ff, fpath, n1 + n2, 1048576, BUDGET)
local ents = st:query({ stream = "file:app.log" })
t.like(ents[#ents].raw, "\npartial line$", "the partial line, completed by the append, continues the entry above")
w:close()
os.remove(fpath)

-- a follow that falls behind is noted in the timeline, once, and again when it catches up
local follow = require "natrig.logfollow"
local notes = {}
local fake_net = { nodes = {} }
function fake_net.note(_, what, detail) notes[#notes + 1] = what .. " " .. detail end
local fnode = { name = "slow", net = fake_net, log = require("natrig.logs").new() }
fake_net.nodes[1] = fnode
follow.note_lag(fnode, core.time() - 0.1)
t.is(#notes, 0, "a lag of 0.1 s is no news")
follow.note_lag(fnode, core.time() - 3.5)
follow.note_lag(fnode, core.time() - 4.5)
t.is(#notes, 1, "a lag over 2 s is noted once")
t.like(notes[1] or "", "^log of slow behind by 3%.%ds", "with the lag in seconds")
follow.note_lag(fnode, core.time() - 0.2)
t.like(notes[2] or "", "^log of slow caught up after lagging up to 4%.%ds", "and its end, with the worst lag")
t.like(table.concat(follow.lag_report(fake_net) or {}), "log of slow fell behind natrig by up to 4%.%ds",
  "lag_report: a line for the run's summary")
t.is(follow.lag_report({ nodes = { { name = "x", log = require("natrig.logs").new() } } }), nil, "no lag, no report")

-- sinks: what engine:poll hands a follow's demuxed bytes to (l_engine.c's raw:sink)
local so, se = st:feeder("stdout"), st:feeder("stderr")
local sink = st:sink(so, se, BUDGET)
t.ok(sink ~= nil, "a store's sink: its two feeders and a budget")
t.raises(function() st:sink(so, se, 0) end, "budget", "a sink's budget is at least 1 byte")
t.raises(function() sink:budget(0) end, "budget", "and stays so")
sink:budget(BUDGET * 2)
t.ok(core.count_sink() ~= nil, "a counting sink (a benchmark's floor) needs no store")
local eng = core.engine_open()
t.raises(function() eng:sink(1, {}) end, "log sink", "raw:sink takes only a sink")
eng:close()

st:close()
t.raises(function() st:query({}) end, "closed", "a closed store raises")
os.remove(dir .. "/n1.spill")
os.remove(dir .. "/n1.log")
core.rmdir(dir)
t.done()
