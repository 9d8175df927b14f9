-- Issue 28 items 5 and 7, the parts that need no engine: timeline.txt's lines (every one
-- timed, natrig's included; the failure last), the capture filter (IPv6 noise left out
-- unless the link has a global IPv6 address), `natrig clean --artifacts --older-than`
-- (ages, pruning a folder tree), and README facts that drifted (every shipped scenario
-- listed, `make test` described as `make help` does, logs{ level = } as a floor).
local t = require "tap"
require "natrig"
local core = require "natrig.core"
local artifacts = require "natrig.artifacts"

-- timeline.txt
local tl = artifacts.timeline_text({
  { node = "natrig", raw = "up 1 nodes, 0 routers in 2.54s", time = 3600 + 10.5, engine_time = 3600 + 10.5 },
  { node = "g", raw = "hello\n", engine_time = 3600 + 11.25 },
}, "scenario: x (x.lua)\ncase: n=1\nrun: abc\nat: x.lua:3\nx.lua:3: expect x: expected 2, got 1\nlast lines:\n| a",
  3600 + 12)
local lines = {}
for l in tl:gmatch("[^\n]+") do lines[#lines + 1] = l end
t.is(lines[1], "01:00:10.500 natrig up 1 nodes, 0 routers in 2.54s", "natrig's own line carries its time")
t.is(lines[2], "01:00:11.250 g hello", "an app's line carries the time natrig received it")
t.is(lines[#lines], "01:00:12.000 natrig FAIL x.lua:3: expect x: expected 2, got 1",
  "the failure (its error line, not failure.txt's header) is the last line")
t.is(#lines, 3, "one line an entry, and the failure")
t.is(select(2, artifacts.timeline_text({}, nil, 0):gsub("\n", "")), 1, "a run without a failure has no FAIL line")

-- the capture filter
local capture = require "natrig.capture"
local v4only = "1: lo    inet 127.0.0.1/8 scope host lo\n" ..
  "1: lo    inet6 ::1/128 scope host \n" ..
  "20: eth0@if21    inet 10.128.0.3/22 brd 10.128.3.255 scope global eth0\n" ..
  "20: eth0@if21    inet6 fe80::42:aff:fe80:3/64 scope link \n"
t.is(table.concat(capture.filter_for(v4only, "eth0"), " "), "not ip6",
  "a link with only a link-local IPv6 address: IPv6 (neighbour discovery, MLD) is left out")
local v6 = v4only .. "20: eth0@if21    inet6 fd00::3/64 scope global \n"
t.is(#capture.filter_for(v6, "eth0"), 0, "a link with a global IPv6 address: everything is captured")
t.is(table.concat(capture.filter_for(v6, "eth1"), " "), "not ip6", "another link's IPv6 address does not count")

-- clean --artifacts --older-than
t.is(artifacts.parse_age("7d"), 7 * 86400, "7d")
t.is(artifacts.parse_age("12h"), 12 * 3600, "12h")
t.is(artifacts.parse_age("30m"), 1800, "30m")
t.is(artifacts.parse_age("2"), 2 * 86400, "a bare number is days")
t.ok(artifacts.parse_age("7x") == nil and select(2, artifacts.parse_age("7x")):find("7d", 1, true),
  "a bad age is refused with an example")
local root = os.tmpname()
os.remove(root)
core.mkdir_p(root .. "/old/sub")
core.mkdir_p(root .. "/new")
core.write_file(root .. "/old/sub/timeline.txt", "x\n")
core.write_file(root .. "/new/failure.txt", "y\n")
core.write_file(root .. "/notes.txt", "a file, not a run folder\n")
local now = core.stat(root .. "/new").mtime
-- only the folders' mtimes matter: ask as if it were three, then eight days later
local removed, kept = artifacts.prune(root, 7 * 86400, now + 3 * 86400)
t.is(#removed, 0, "nothing is older than 7 days three days on")
t.is(#kept, 2, "both folders kept")
removed = artifacts.prune(root, 7 * 86400, now + 8 * 86400)
t.is(#removed, 2, "eight days on both are older than 7 days and go")
t.ok(core.stat(root .. "/old") == nil and core.stat(root .. "/new") == nil, "their trees are gone")
t.ok(core.stat(root .. "/notes.txt") ~= nil, "a file beside them is left alone")
core.mkdir_p(root .. "/again")
removed = artifacts.prune(root)
t.is(#removed, 1, "without --older-than every folder goes")
core.remove(root .. "/notes.txt")
core.rmdir(root)

-- README facts
local f = assert(io.open("README.md"))
local readme = f:read("a")
f:close()
local shipped = readme:match("\n## Shipped scenarios\n(.-)\n#") or ""
for _, name in ipairs(core.list_dir("scenarios") or {}) do
  if name:match("%.lua$") then
    t.ok(shipped:find("`scenarios/" .. name .. "`", 1, true), "README's shipped scenarios list " .. name)
  end
end
local mk = io.popen("make -s help 2>/dev/null")
local help = mk and mk:read("a") or ""
if mk then mk:close() end
local desc = help:match("\nmake test%s+(.-)\nmake test%-full") or ""
desc = desc:gsub("%s+", " "):gsub("%s*%(CI=true: nothing skips%).*$", "")
local line = readme:match("\nmake test%s+# ([^\n]+)") or ""
t.ok(desc ~= "" and line:find(desc, 1, true), ("README's `make test` line says what make help does: %q in %q")
  :format(desc, line))
t.like(readme, "`level =` means%s+this level or worse", "README says logs{ level = } means this level or worse")
t.like(readme, "`fields` values are the%s+strings", "README says log fields are strings")
-- the sweep report: failure.txt and timeline.txt linked beside the folder; metric labels whole;
-- report merge says which cases were in more than one input
local model = require "natrig.sweep.model"
local sweep = require "natrig.sweep"
local long_case = "nat_a=port_restricted,nat_b=address_dependent,delay=120ms,loss=2%"
local function rep(i, st)
  return { index = i, status = st, ok = st == "pass", duration = 1, error = st ~= "pass" and "boom" or nil,
    where = "s.lua:3", artifacts = st ~= "pass" and "/tmp/rep/art/s-x-1" or nil,
    metrics = { { name = "rtt", value = 10 + i, unit = "ms" } } }
end
local function doc(n)
  return model.new({ started = 1, hostname = "h", wall = 1, jobs = 1, ["repeat"] = n },
    { { name = "s", file = "s.lua", axes = {} } },
    { { id = "s [" .. long_case .. "]", order = 1, scenario = "s", case = long_case, params = { long = long_case },
      repeats = { rep(1, "fail"), rep(2, "pass") } } })
end
local h = require("natrig.report.html").render(doc(2), "/tmp/rep")
t.like(h, 'href="art/s%-x%-1/failure.txt">failure.txt</a>', "a failure links its failure.txt")
t.like(h, 'href="art/s%-x%-1/timeline.txt">timeline.txt</a>', "and its timeline")
t.like(h, ">" .. long_case:gsub("%p", "%%%0") .. "</text>", "a long metric label is shown whole")
local height = tonumber(h:match('data%-metric="rtt"[^>]- height="(%d+)"'))
t.ok(height and height >= 16 + 200 + 30 + #long_case * 4.8, "the plot is tall enough for the rotated label (" ..
  tostring(height) .. ")")
local a = core.json_decode(sweep.json(doc(2)))
local b = core.json_decode(sweep.json(doc(2)))
local merged, overlap = model.merge { a, b }
t.is(#merged.cases[1].repeats, 4, "report merge adds the repeats of a case in both inputs")
t.is(table.concat(overlap, ","), "s [" .. long_case .. "]", "and names it as overlapping")
t.done()
