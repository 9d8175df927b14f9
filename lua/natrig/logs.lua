--- natrig.logs: every node's log, followed from the engine as it is written, parsed by
-- the C parser (natrig.core.log_parse: engine timestamp, tracing text, JSON, ANSI), kept
-- per node, and queried or waited on from Lua.
--
--   node:logs{ level = "warn", target = "freenet::transport", match = "established",
--              fields = { peer_addr = "10.1.2.3:31337" }, since = t0, ["until"] = t1 }
--   node:wait_log{ match = "hole punched", fields = { remote = "b" }, timeout = 20 }
--
-- An entry: { time, engine_time, level, target, message, fields, spans, raw, node, seq,
-- stream }. level filters mean "this level or more severe". wait_log returns as soon as
-- the line arrives on the follow stream (no sleep-and-refetch), and a timeout fails with
-- the node's last lines.
-- @module natrig.logs
local core = require "natrig.core"
local task = require "natrig.task"

local M = {}
local SEVERITY = { trace = 1, debug = 2, info = 3, warn = 4, warning = 4, error = 5, fatal = 6, panic = 7 }

local function level_rank(l) return l and SEVERITY[l:lower()] or 0 end

local function bad(op, msg) core.fail("einval", op, msg) end

local QUERY_KEYS = { level = "string", target = "string", match = "string", fields = "table",
  since = "number", message = "string|table", ["until"] = "number", timeout = "number",
  plain = "boolean", stream = "string", node = true }

local function check_query(op, q)
  if type(q) == "string" then return { match = q } end
  q = core.check_options(op, q, QUERY_KEYS)
  if q.level and not SEVERITY[tostring(q.level):lower()] then
    bad(op, ("unknown level '%s' (valid: trace, debug, info, warn, error, fatal, panic)"):format(tostring(q.level)))
  end
  return q
end

--- When an entry happened, for since/until and ordering: the engine's receive time (ns
-- precision, one clock for every node) when known, else the line's own timestamp.
function M.when(e) return e.engine_time or e.time or 0 end

--- Does entry e satisfy query q?
function M.matches(e, q)
  if q.level and level_rank(e.level) < level_rank(q.level) then return false end
  if q.target and (not e.target or e.target:sub(1, #q.target) ~= q.target) then return false end
  if q.stream and e.stream ~= q.stream then return false end
  if q.since and M.when(e) < q.since then return false end
  if q["until"] and M.when(e) > q["until"] then return false end
  if q.message then
    -- the exact message, or any of a list of them
    local ok = false
    for _, m in ipairs(type(q.message) == "table" and q.message or { q.message }) do
      if e.message == m then ok = true end
    end
    if not ok then return false end
  end
  if q.match then
    local hay = e.message ~= "" and (e.message .. " " .. e.raw) or e.raw
    if not hay:find(q.match, 1, q.plain) then return false end
  end
  if q.fields then
    for k, v in pairs(q.fields) do
      local got = e.fields and e.fields[k]
      if got == nil or tostring(got) ~= tostring(v) then return false end
    end
  end
  return true
end

-- Memory: each node keeps its newest entries in memory, up to a share of a run-wide
-- budget (NATRIG_LOG_MEMORY, default 4 MB, at least 32 KB a node); the
-- older ones move, whole (JSON, one per line), to <artifacts>/<node>.spill and are read
-- back by queries. So RSS stays flat however much the apps write.
local function mem_budget(node)
  local total = tonumber(core.getenv("NATRIG_LOG_MEMORY") or "") or 4 * 1048576
  return math.max(32768, total // math.max(1, #node.net.nodes))
end

-- What an entry costs in the Lua heap: its text, plus the table, its fields and the
-- parsed copies (measured: about 580 bytes beyond the raw line for a typical entry;
-- counting the raw bytes alone let 4 MB of "budget" hold 28 MB).
local ENTRY_OVERHEAD = 600
local function cost(e) return #e.raw + ENTRY_OVERHEAD end

local function spill_path(node)
  return node.net:artifacts_dir() .. "/" .. node.name .. ".spill"
end

local SPILL_KEYS = { "time", "engine_time", "level", "target", "message", "fields", "spans",
  "raw", "node", "seq", "stream" }

local function spill(node)
  local entries = node.entries
  local k = #entries // 2
  if k == 0 then return end
  local lines, freed = {}, 0
  for i = 1, k do
    local e, o = entries[i], {}
    for _, key in ipairs(SPILL_KEYS) do o[key] = e[key] end
    lines[i] = core.json_encode(o)
    freed = freed + cost(e)
  end
  local path = spill_path(node)
  local ok = pcall(core.mkdir_p, node.net:artifacts_dir())
  ok = ok and pcall(core.write_file, path, table.concat(lines, "\n") .. "\n", true)
  if not ok then return end -- no disk: keep them in memory rather than lose them
  table.move(entries, k + 1, #entries, 1)
  for i = #entries, #entries - k + 1, -1 do entries[i] = nil end
  node.spilled = (node.spilled or 0) + k
  node.mem_bytes = node.mem_bytes - freed
end

-- Call fn(e) for every entry of the node, oldest first: the spilled ones, then memory.
-- fn returns true to stop.
local function each_entry(node, fn)
  if (node.spilled or 0) > 0 then
    -- line by line: the spill file may be far larger than the memory budget
    local f = io.open(spill_path(node), "r")
    if f then
      for line in f:lines() do
        local ok, e = pcall(core.json_decode, line)
        if ok and type(e) == "table" then
          if e.fields == core.null then e.fields = nil end
          if fn(e) then f:close(); return true end
        end
      end
      f:close()
    end
  end
  for _, e in ipairs(node.entries) do if fn(e) then return true end end
  return false
end
M.each_entry = each_entry

local function notify(node, e)
  local keep = {}
  for _, w in ipairs(node.waiters or {}) do
    if not w.done and M.matches(e, w.q) then w.done = true; w.wake(e)
    elseif not w.done then keep[#keep + 1] = w end
  end
  node.waiters = keep
end

-- Add one line; returns true when it was kept (not a repeat after a re-attach).
local function add_line(node, line, stream, engine_prefix)
  if line == "" then return false end
  local last = node.entries[#node.entries]
  local e = core.log_parse(line, last and last.stream == stream and last or nil, engine_prefix)
  -- Continuation lines (backtraces, indented follow-ups) belong to the entry before,
  -- when they come right after it: a plain line written a while later (another writer,
  -- a shell echo) starts an entry of its own.
  local close_in_time = not (e.engine_time and last and last.tail_time) or e.engine_time - last.tail_time < 0.05
  if last and e.continuation and close_in_time then
    last.tail_time = e.engine_time or last.tail_time
    last.raw = last.raw .. "\n" .. e.raw
    last.message = last.message .. "\n" .. e.raw
    node.mem_bytes = (node.mem_bytes or 0) + #e.raw + 1
    notify(node, last) -- a wait may match the text just added
    return true
  end
  -- After a re-attach (restart) the engine repeats lines at the `since` boundary.
  -- Per stream: the engine stamps stdout and stderr lines in separate readers, so a
  -- stderr line may carry an earlier time than a stdout line already seen.
  local st = node.streams[stream]
  if not st then st = { boundary = {} }; node.streams[stream] = st end
  if e.engine_time and st.last and e.engine_time <= st.last then
    if e.engine_time < st.last or st.boundary[e.raw] then return false end
  end
  if e.engine_time then
    if e.engine_time ~= st.last then st.boundary = {} end
    st.last = e.engine_time
    st.boundary[e.raw] = true
  end
  node.seq = node.seq + 1
  e.seq, e.node, e.stream = node.seq, node.name, stream
  e.tail_time = e.engine_time
  e.time = e.time or e.engine_time
  e.continuation = nil
  node.entries[#node.entries + 1] = e
  node.mem_bytes = (node.mem_bytes or 0) + cost(e)
  if node.mem_bytes > mem_budget(node) and #node.entries > 16 then spill(node) end
  notify(node, e)
  return true
end

-- Each node's raw log is also kept on disk: <artifacts>/<run>/<node>.log
local function disk_path(node)
  if node.disk_log == nil then
    local dir = node.net:artifacts_dir()
    local ok = pcall(core.mkdir_p, dir)
    node.disk_log = ok and (dir .. "/" .. node.name .. ".log") or false
  end
  return node.disk_log
end

--- The engine's log settings for app containers: json-file (what follows read) with a
-- size of natrig's choosing, NATRIG_ENGINE_LOG_SIZE (default 1g), not the daemon's default.
-- Docker 20.10 stops a follow for good when it rotates the file (a daemon.json with
-- max-size 10m did so at 8.5 MB of app output); natrig keeps its own copy of every line in
-- the artifacts, so the engine's file is only a buffer. See also `catch_up`.
function M.engine_log_config()
  return { Type = "json-file",
    Config = { ["max-size"] = M.engine_log_size or core.getenv("NATRIG_ENGINE_LOG_SIZE") or "1g",
      ["max-file"] = M.engine_log_files or "2" } }
end

-- A stream's line splitter: feed(piece) for each piece, flush() at the stream's end for
-- a last line without newline.
local function feeder(node, stream, engine_prefix)
  local pending = ""
  local feed
  feed = function(piece)
    if piece == "" then return end
    node.log_bytes = (node.log_bytes or 0) + #piece
    node.log_data_at = core.now()
    local data = pending .. piece
    local start = 1
    local kept = {}
    while true do
      local nl = data:find("\n", start, true)
      if not nl then break end
      local line = data:sub(start, nl - 1):gsub("\r$", "")
      if add_line(node, line, stream, engine_prefix) then kept[#kept + 1] = line end
      start = nl + 1
    end
    local path = #kept > 0 and disk_path(node)
    if path then pcall(core.write_file, path, table.concat(kept, "\n") .. "\n", true) end
    pending = data:sub(start)
    if #pending > 1048576 then -- a 1 MiB line without newline: take it as it is
      add_line(node, pending, stream, engine_prefix)
      pending = ""
    end
  end
  return feed, function() if pending ~= "" then feed("\n") end end
end

--- Where to resume fetching: the earliest of the streams' last times (the engine's
-- `since` is inclusive; lines already seen are dropped per stream).
function M.resume_time(node)
  local t
  for _, st in pairs(node.streams or {}) do
    if st.last and (not t or st.last < t) then t = st.last end
  end
  return t or 0
end

--- Start following the node's app container (again after a restart).
function M.attach(node, again)
  if node.stop_follow and not again then return end
  if node.stop_follow then node.stop_follow() end
  node.streams = node.streams or {}
  local out, err = feeder(node, "stdout", true), feeder(node, "stderr", true)
  local since = M.resume_time(node)
  node.following = true
  node.stop_follow = (node.eng or node.net.eng):follow_logs(node.id, { since = since }, function(o, e)
    out(o)
    err(e)
  end, function(e)
    node.following = false
    node.follow_error = e
  end)
  if node.profile and node.profile.log_files then M.attach_files(node) end
end

--- Profiles whose program writes log files (Freenet): the files live on a host
-- directory bind-mounted into the container; read what is new every 50 ms.
function M.attach_files(node)
  if node.file_timer then return end
  node.file_offsets = node.file_offsets or {}
  local feeders = {}
  local function scan()
    local dir = node.log_dir
    if not dir then return end
    for _, name in ipairs(core.list_dir(dir) or {}) do
      if name:match(node.profile.log_files) then
        -- Only what is new: stat, then read from the last offset (cost follows the growth,
        -- not the file's size).
        local path = dir .. "/" .. name
        local off = node.file_offsets[name] or 0
        local st = core.stat(path)
        if st and st.size > off then
          local f = io.open(path, "rb")
          local data = f and f:seek("set", off) and f:read(st.size - off)
          if f then f:close() end
          if data and #data > 0 then
            feeders[name] = feeders[name] or feeder(node, "file:" .. name, false)
            feeders[name](data)
            node.file_offsets[name] = off + #data
          end
        end
      end
    end
  end
  node.file_timer = task.spawn(function()
    while node.net.state ~= "down" do
      scan()
      task.sleep(0.05)
    end
  end, node.name .. " log files")
end

--- Fetch what is new since the last line seen (also for stopped or killed containers,
-- whose follow stream has ended).
-- Streamed, not read whole: a fetch may bring megabytes (a stalled follow's backlog), and
-- in pieces it costs what a follow costs. Returns the bytes fetched.
local FETCH_TIMEOUT = 60
function M.fetch(node)
  node.streams = node.streams or {}
  local out, out_flush = feeder(node, "stdout", true)
  local err, err_flush = feeder(node, "stderr", true)
  local n, stop = 0, nil
  local what = "fetching the logs of " .. node.name
  local ended, why = task.wait_for_timeout(FETCH_TIMEOUT, function(wake)
    stop = (node.eng or node.net.eng):follow_logs(node.id,
      { since = M.resume_time(node), follow = false }, function(o, e)
        n = n + #o + #e
        out(o)
        err(e)
      end, function(e) wake(true, e) end)
  end, what)
  if not ended then
    if stop then stop() end
    core.fail("timeout", what, ("the engine sent %d bytes in %ds and had not finished"):format(n, FETCH_TIMEOUT))
  end
  out_flush()
  err_flush()
  if why then core.fail("engine", what, why) end
  return n
end

-- A follow that went silent after much output may have stopped at a log rotation (the
-- engine bug above; a file rotates at NATRIG_ENGINE_LOG_SIZE, or at a daemon's own size for
-- containers natrig did not create): fetch what the engine has since the last line seen,
-- and when that brings lines the follow never delivered, follow again from there.
-- Returns true when it found missed lines. Only for nodes past 1 MB of output, so quiet
-- nodes cost no calls.
local CATCH_UP_BYTES = 1048576
function M.catch_up(node)
  if not node.running or not node.id or (node.log_bytes or 0) < CATCH_UP_BYTES then return false end
  -- a follow still delivering is not stalled (and a fetch now would copy its backlog)
  if core.now() - (node.log_data_at or 0) < 2 then return false end
  local seq = node.seq
  local ok = pcall(M.fetch, node)
  if not ok or node.seq == seq then return false end
  node.follow_stalls = (node.follow_stalls or 0) + 1
  M.attach(node, true)
  return true
end

-- Let queued stream pieces reach the entries before a query.
local function pump()
  for _ = 1, 3 do
    if not task.in_task() then task.step(0.005) end
  end
end

function M.query(node, q)
  q = check_query("node:logs", q)
  pump()
  local r = {}
  each_entry(node, function(e) if M.matches(e, q) then r[#r + 1] = e end end)
  return r
end

function M.text(node)
  pump()
  local lines = {}
  each_entry(node, function(e) lines[#lines + 1] = e.raw end)
  return table.concat(lines, "\n") .. (#lines > 0 and "\n" or "")
end

function M.last_lines(node, n)
  local lines = {}
  for i = math.max(1, #node.entries - n + 1), #node.entries do lines[#lines + 1] = "  | " .. node.entries[i].raw end
  return #lines > 0 and table.concat(lines, "\n") or "  (no output)"
end

local function describe(q)
  local desc = {}
  for k, v in pairs(q) do
    if k ~= "timeout" then desc[#desc + 1] = k .. "=" .. (type(v) == "table" and core.json_encode(v) or tostring(v)) end
  end
  table.sort(desc)
  return "{" .. table.concat(desc, ", ") .. "}"
end

--- The node's app exited: nothing more will come, so every wait on it fails now (not at
-- its timeout). Called by the liveness watcher (natrig.watch) once the last lines are in.
function M.node_exited(node, code)
  local ws = node.waiters or {}
  node.waiters = {}
  for _, w in ipairs(ws) do
    if not w.done then w.done = true; w.wake(nil, "exited", code) end
  end
end

--- Wait until an entry matching q arrives (or already has); return it. Fails at once when
-- the node's app has exited (or exits while waiting).
function M.wait(node, q)
  q = check_query("node:wait_log", q)
  local timeout = q.timeout or 30
  local found
  each_entry(node, function(e) if M.matches(e, q) then found = e return true end end)
  if found then return found end
  local function exited(code)
    core.fail("exited", "wait_log on " .. node.name,
      ("no entry matching %s: the app of %s exited with code %s; last lines:\n%s")
        :format(describe(q), node.name, tostring(code), M.last_lines(node, 15)))
  end
  if node.exit_code and not node.running then exited(node.exit_code) end
  -- Waited for in slices: between slices a node with much output is checked for a stalled
  -- follow (catch_up: silent for 2 s after 1 MB), so a line the engine has is never
  -- reported missing.
  local deadline = core.now() + timeout
  local e, why, code
  while true do
    local w = { q = q }
    node.waiters = node.waiters or {}
    local left = deadline - core.now()
    local slice = (node.log_bytes or 0) >= CATCH_UP_BYTES and math.min(left, 2) or left
    e, why, code = task.wait_for_timeout(math.max(0, slice), function(wake)
      w.wake = wake
      node.waiters[#node.waiters + 1] = w
    end, ("wait_log %s on %s"):format(describe(q), node.name))
    w.done = true
    if e or why ~= "timeout" then break end
    -- lines a catch-up brings are offered to this wait like streamed ones
    local w2 = { q = q, wake = function(x) e = x end }
    node.waiters[#node.waiters + 1] = w2
    M.catch_up(node)
    w2.done = true
    if e then break end
    if core.now() >= deadline then break end
  end
  if not e and why == "exited" then exited(code) end
  if not e then
    core.fail("timeout", "wait_log on " .. node.name,
      ("no entry matching %s within %gs%s; last lines:\n%s"):format(describe(q),
        timeout, node.following == false and " (the container's output ended)" or "",
        M.last_lines(node, 15)))
  end
  return e
end

--- Assertions over entries of several nodes.
-- in_order({ {node=a, match=...}, {node=b, match=...} }): each event exists, and each one's
-- first match comes no earlier than the one before it.
function M.in_order(steps)
  local prev_t, prev_desc = -math.huge, nil
  for i, st in ipairs(steps) do
    local q = {}
    for k, v in pairs(st) do if k ~= "node" then q[k] = v end end
    local found = M.query(st.node, q)[1]
    if not found then
      core.fail("expect", "expect order",
        ("step %d (%s on %s) never happened"):format(i, tostring(st.match), st.node.name))
    end
    if M.when(found) < prev_t then
      core.fail("expect", "expect order",
        ("step %d (%s on %s) happened before step %d (%s)"):format(i, tostring(st.match),
          st.node.name, i - 1, prev_desc))
    end
    prev_t, prev_desc = M.when(found), tostring(st.match)
  end
  return true
end

return M
