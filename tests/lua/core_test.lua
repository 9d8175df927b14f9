-- Pure pieces reached from stock lua5.4 through build/lua/natrig.so (no engine needed):
-- JSON conversion, errors, subnets, tar, scheduler, expect, option strictness, NAT specs,
-- log parsing, image helpers.
local t = require "tap"
local natrig = require "natrig"
local core = natrig.core

-- JSON round trips, arrays vs objects, null, depth limit
local j = core.json_decode('{"a":[1,2,{"b":null}],"e":[],"o":{},"s":"x\\u00e9","f":1.5,"t":true}')
t.is(j.a[2], 2, "json: array element")
t.is(j.a[3].b, core.null, "json: null is natrig.core.null")
t.is(core.json_encode(j.e), "[]", "json: an empty array stays an array")
t.is(core.json_encode(j.o), "{}", "json: an empty object stays an object")
t.is(j.s, "xé", "json: \\u escapes decode to UTF-8")
t.is(j.f, 1.5, "json: floats")
t.is(math.type(j.a[1]), "integer", "json: integral numbers become integers")
t.is(core.json_encode({ 1, 2, 3 }), "[1,2,3]", "json: a sequence encodes as an array")
t.raises(function() core.json_encode({ [1] = 1, x = 2 }) end, "object keys must be strings",
  "json: mixed table refused")
t.raises(function() core.json_encode({ f = print }) end, "cannot encode a function", "json: functions refused")
local deep = {}
local cur = deep
for _ = 1, 100 do cur.x = {}; cur = cur.x end
t.raises(function() core.json_encode(deep) end, "nesting too deep", "json: depth limit on encode")
t.raises(function() core.json_decode(string.rep("[", 70) .. string.rep("]", 70)) end, "nesting deeper",
  "json: depth limit on decode")
local v, e = core.json_decode("{bad")
t.ok(v == nil and e:find("invalid JSON"), "json: invalid input gives nil, message")

-- errors are natrig.Error tables with code/op/message/status
local ok, err = pcall(core.subnet_host, "10.0.0.0/24", 300)
t.ok(not ok and type(err) == "table" and err.code == "einval", "errors are tables with a code")
t.like(tostring(err), "^subnet host: host 300 is outside", "errors print as 'op: message'")

-- subnets
local taken = { "10.128.0.0/24", "10.128.2.0/23", "fe80::/64", "" }
local got = core.subnet_alloc("10.128.0.0/16", 24, taken, 0, 3)
t.is(table.concat(got, " "), "10.128.1.0/24 10.128.4.0/24 10.128.5.0/24",
  "subnet_alloc skips taken blocks, ignores IPv6")
t.raises(function() core.subnet_alloc("10.0.0.0/30", 24, {}, 0, 1) end, "fit",
  "subnet_alloc refuses blocks larger than the pool")
t.raises(function() core.subnet_alloc("10.0.0.0/23", 24, {}, 0, 3) end, "only 2 free",
  "subnet_alloc says when the pool is full")
t.is(core.subnet_host("10.1.2.0/24", 254), "10.1.2.254", "subnet_host")
t.is(core.subnet_contains("10.1.2.0/24", "10.1.2.9"), true, "subnet_contains")
t.is(core.subnet_overlaps("10.1.0.0/16", "10.1.2.0/24"), true, "subnet_overlaps")

-- tar
local tar = core.tar { { path = "/a/b.txt", data = "hello", mode = 420 }, { path = "d", dir = true },
  { path = "l", symlink = "a/b.txt" } }
t.is(#tar % 512, 0, "tar: whole 512-byte blocks")
t.is(core.tar { { path = "x", data = "1" } }, core.tar { { path = "x", data = "1" } }, "tar: deterministic bytes")
t.raises(function() core.tar { { path = "../x", data = "1" } } end, "escapes", "tar: escaping path refused")
t.raises(function() core.tar { { path = "x" } } end, "needs data, file, symlink or dir",
  "tar: entry without content refused")
do -- to a file (an image's rootfs: never whole in memory), the same bytes
  local entries = { { path = "x", data = ("z"):rep(100000) }, { path = "d", dir = true } }
  local path = os.tmpname()
  local n = core.tar(entries, path)
  t.is(core.read_file(path), core.tar(entries), ("tar to a file: the same bytes (%d)"):format(n))
  t.is(n, #core.tar(entries), "tar to a file: returns its size")
  t.raises(function() core.tar({ { path = "../x", data = "1" } }, path) end, "escapes",
    "tar to a file: escaping path refused")
  core.remove(path)
  t.raises(function() core.tar(entries, "/nonexistent/dir/x.tar") end, "cannot write",
    "tar to a file: unwritable path")
end
t.is(core.tarpath("/etc//natrig/./x"), "etc/natrig/x", "tarpath normalises")

-- scheduler: tasks, parallel, sleep, timeouts, errors
local order = {}
local a = natrig.spawn(function() natrig.sleep(0.05); order[#order + 1] = "a"; return 1 end)
local b = natrig.spawn(function() order[#order + 1] = "b"; return 2 end)
t.is(a:join() + b:join(), 3, "tasks return values through join")
t.is(table.concat(order), "ba", "a sleeping task lets the others run")
local t0 = core.now()
-- two 0.3 s sleeps: one after the other would take 0.6 s; the 0.25 s of slack is for a
-- loaded machine (CI shares 2 cores), not for the scheduler
local r = natrig.parallel(function() natrig.sleep(0.3) return "x" end, function() natrig.sleep(0.3) return "y" end)
local dt = core.now() - t0
t.ok(r[1] == "x" and r[2] == "y" and dt < 0.55, ("parallel sleeps overlap (%.3fs)"):format(dt))
t.raises(function()
  natrig.parallel(function() error("boom") end, function() natrig.sleep(0.01) end)
end, "boom", "parallel raises the first failure after all finish")
local v1, why = natrig.task.wait_for_timeout(0.05, function() end)
t.ok(v1 == nil and why == "timeout", "wait_for_timeout times out")
t.raises(function() natrig.task.wait_for(function() end) end, "can never happen",
  "waiting for nothing is an error, not a hang")
local sq = natrig.map({ 1, 2, 3, 4, 5 }, function(x) natrig.sleep(0.01) return x * x end, 2)
t.is(table.concat(sq, ","), "1,4,9,16,25", "map keeps order with a concurrency limit")

-- expect
t.raises(function() natrig.expect(3):eq(4) end, "expected 4, got 3", "expect eq")
t.raises(function() natrig.expect(350):near(300, 0.1) end, "300 ± 10", "expect near")
natrig.expect(320):near(300, 0.1)
t.raises(function() natrig.expect({ { raw = "ERROR x" } }):none() end, "expected none, got 1: first ERROR x",
  "expect none shows the first offender")
t.ok(pcall(function() natrig.expect({}):none() end), "expect none passes on empty")

-- scenarios: strict fields, params, strict globals
local scenario = require "natrig.scenario"
t.raises(function() natrig.scenario { name = "x", run = function() end, timout = 3 } end, "unknown field 'timout'",
  "scenario: unknown field refused")
local def = natrig.scenario { name = "x", params = { n = 1, flag = false, s = "a" }, run = function() end }
local p = scenario.params(def, { n = "5", flag = "true", s = "b" })
t.ok(p.n == 5 and p.flag == true and p.s == "b", "scenario params take the defaults' types")
t.raises(function() scenario.params(def, { m = "1" }) end, "no parameter 'm'.*flag, n, s",
  "unknown parameter lists the valid ones")
t.raises(function() scenario.params(def, { n = "five" }) end, "wants a number", "bad number refused")
local env = scenario.env()
t.raises(function() return env.undefined_global_name end, "unknown global 'undefined_global_name'",
  "scenario globals are strict")

-- NAT specs
local nat = require "natrig.nat"
local spec = nat.resolve("symmetric")
t.ok(spec.mapping == "APDM" and spec.filtering == "APDF", "nat: symmetric is APDM + APDF")
spec = nat.resolve("full_cone", { hairpin = false, timeout = 30 })
t.ok(spec.mapping == "EIM" and spec.filtering == "EIF" and spec.hairpin == false and spec.udp_timeout == 30,
  "nat: options apply")
t.raises(function() nat.resolve("fully_coned") end, "port_restricted", "nat: unknown preset lists the valid ones")
t.raises(function() nat.resolve({ preset = "symmetric", port_preservation = true }) end, "preserv",
  "nat: impossible combination refused")
local text = nat.ruleset(nat.resolve("port_restricted"), "10.128.0.5", { "10.200.1.0/24" })
t.like(text, "table ip natrig", "nat: ruleset text for nft -f")
t.like(text, "10%.128%.0%.5", "nat: ruleset names the WAN address")

-- log parsing
local le = core.log_parse("2026-11-24T13:11:17.123456789Z 2025-06-01T12:00:00.123456Z  INFO " ..
  "freenet::node::network_bridge: connected to gateway peer=v6MWKgqHk addr=\"1.2.3.4:5\"")
t.is(le.level, "info", "log: level")
t.is(le.target, "freenet::node::network_bridge", "log: target")
t.is(le.message, "connected to gateway", "log: message")
t.is(le.fields.peer, "v6MWKgqHk", "log: bare field")
t.is(le.fields.addr, "1.2.3.4:5", "log: quoted field")
t.ok(math.abs(le.engine_time - 1795525877.123456789) < 1e-5, "log: engine timestamp")
t.ok(math.abs(le.time - 1748779200.123456) < 1e-5, "log: line timestamp")
local logs = require "natrig.logs"
t.ok(logs.matches(le, { level = "info", target = "freenet::node", fields = { peer = "v6MWKgqHk" } }),
  "log query matches")
t.ok(not logs.matches(le, { level = "warn" }), "log level filter is a minimum severity")

-- image helpers
local image = require "natrig.image"
local libs = image.parse_ldd([[
	linux-vdso.so.1 (0x00007ffd)
	libmnl.so.0 => /lib/x86_64-linux-gnu/libmnl.so.0 (0x00007f)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)
	/lib64/ld-linux-x86-64.so.2 (0x00007f)
]])
t.is(table.concat(libs, " "),
  "/lib/x86_64-linux-gnu/libmnl.so.0 /lib/x86_64-linux-gnu/libc.so.6 /lib64/ld-linux-x86-64.so.2",
  "ldd parse keeps the loader, drops the vdso")
-- closure: one ldd for many files; a static file among them is no error, a missing one is
do
  local have = {}
  for _, l in ipairs(image.closure({ "/usr/bin/busybox", "/usr/bin/lua5.4", "/usr/sbin/nft" })) do
    have[l.path:match("[^/]+$")] = true
  end
  t.ok(have["libc.so.6"] and have["libreadline.so.8"] and have["libnftables.so.1"],
    "closure: one batched ldd finds each dynamic file's libraries, busybox (static) among them")
  local paths = {}
  for i = 1, 60 do paths[i] = i % 2 == 0 and "/usr/bin/lua5.4" or "/usr/sbin/nft" end
  paths[#paths + 1] = "/usr/bin/busybox"
  t.ok(#image.closure(paths) >= 3, "closure: more files than one ldd call takes (61) go in batches")
  t.raises(function() image.closure({ "/usr/bin/lua5.4", "/nonexistent/natrig-x" }) end,
    "ldd .*/nonexistent/natrig%-x", "closure: a file ldd cannot read is an error naming it")
end

-- interfaces are found by address
local node_mod = require "natrig.node"
local ipo = "1: lo    inet 127.0.0.1/8 scope host lo\n" ..
  "7: eth2@if8    inet 10.1.2.3/24 brd 10.1.2.255 scope global eth2\n"
t.is(node_mod.iface_for(ipo, "10.1.2.3"), "eth2", "iface_for finds the interface by address (veth suffix dropped)")
t.is(node_mod.iface_for(ipo, "10.9.9.9"), nil, "iface_for: no interface carries an unknown address")

-- option tables are strict
local network = require "natrig.network"
t.raises(function() network.check_opts("net:peer", { natt = "x" }, { nat = true }) end, "unknown option 'natt'",
  "unknown options refused")
t.raises(function() network.check_opts("net:peer", { nat = 3 }, { nat = "string|table" }) end,
  "option 'nat' must be string or table, got number", "option types are checked")
t.raises(function() natrig.core.fail("einval", "op", "msg") end, "^op: msg$", "core.fail raises one Error")
ok, e = pcall(natrig.core.fail, "engine", "x", "y", 409)
t.ok(not ok and e.code == "engine" and e.status == 409 and tostring(e) == "x: y (HTTP 409)",
  "core.fail keeps code and status")

-- programs natrig starts get stdin, stdout and stderr only, not natrig's own descriptors
-- (its engine sockets are not close-on-exec): a file held open here is not theirs
do
  local held = assert(io.open("/dev/null"))
  local function fds(out) return select(2, out:gsub("%d+", "")) end
  local _, out = core.run({ "sh", "-c", "ls /proc/$$/fd" }, 10)
  t.is(fds(out), 3, "core.run: the program has fds 0, 1, 2 only: " .. out:gsub("%s+", " "))
  local dir = os.tmpname()
  local pr = core.spawn({ "sh", "-c", "ls /proc/$$/fd" }, { stdout = dir })
  pr:wait(); pr:close()
  local f = assert(io.open(dir)); out = f:read("a"); f:close(); os.remove(dir)
  t.is(fds(out), 3, "core.spawn: the program has fds 0, 1, 2 only: " .. out:gsub("%s+", " "))
  held:close()
end

-- scenario and profile files: unknown globals raise on read and on write
env = require("natrig.scenario").env()
t.raises(function() return env.nosuchthing end, "unknown global 'nosuchthing'", "reading an unknown global raises")
t.raises(function() env.x = 1 end, "assignment to global 'x'", "writing a global raises")
-- One check for closed handles (nt_check_open): each kind says what is closed, as a
-- natrig.Error with its op, never a crash or a bare luaL_error.
do
  local tb = core.tar_new(); tb:close()
  t.raises(function() tb:add { path = "x", data = "1" } end, "tar: the tar builder is closed", "closed tar builder")
  local pr = core.spawn { "true" }; pr:wait(); pr:close()
  t.raises(function() pr:poll() end, "poll: natrig.Process is closed", "closed process: poll")
  t.raises(function() pr:kill() end, "kill: natrig.Process is closed", "closed process: kill")
  local dir = os.tmpname(); os.remove(dir); core.mkdir_p(dir)
  local st = core.log_store("n", dir .. "/n.spill", dir .. "/n.log"); st:close()
  t.raises(function() st:query({}, 1) end, "log store: the log store is closed", "closed log store")
  local w = core.inotify(dir); w:close()
  t.raises(function() w:changed() end, "inotify: the watch is closed", "closed inotify watch")
  local raised, cerr = pcall(function() st:stats() end)
  t.ok(not raised and type(cerr) == "table" and cerr.code == "einval",
    "a closed handle raises a natrig.Error (" .. tostring(cerr and cerr.code) .. ")")
  core.rmdir(dir)
end

-- A run's control folder goes whole, whatever natrig put in its nodes' folders (path.txt
-- and its .new were left behind, and with them the folders, for good)
do
  local base = os.tmpname(); os.remove(base); core.mkdir_p(base .. "/r1/a"); core.mkdir_p(base .. "/r1/b")
  for _, f in ipairs({ "/r1/owner", "/r1/a/path.txt", "/r1/a/path.txt.new", "/r1/b/shaper.sock" }) do
    local h = assert(io.open(base .. f, "w")); h:write("x"); h:close()
  end
  require("natrig.session").remove_ctl_dirs("r1", base)
  t.ok(core.stat(base .. "/r1") == nil, "a run's control folder is removed with what its nodes' folders hold")
  core.rmdir(base)
end

-- Another natrig's start removes the control folders of dead runs only: a live owner's
-- stays, and so does a folder made this instant whose owner file is not written yet (it
-- once went between Network:ctl_dir's mkdir and its owner file, under a live run)
do
  local session = require "natrig.session"
  local base = os.tmpname(); os.remove(base)
  for _, run in ipairs({ "live", "fresh", "old", "dead", "blind" }) do core.mkdir_p(base .. "/" .. run .. "/node") end
  local me = session.owner_id()
  core.write_file(base .. "/live/owner", me .. "\n")
  core.write_file(base .. "/dead/owner", core.hostname() .. ":999999999:1\n")
  core.write_file(base .. "/blind/owner", "otherhost:1:1\n")
  core.run { "touch", "-d", "2 minutes ago", base .. "/old" }
  session.reap_ctl_dirs(false, base)
  t.ok(core.stat(base .. "/live/node") ~= nil, "reap_ctl_dirs: a live owner's run stays")
  t.ok(core.stat(base .. "/fresh/node") ~= nil,
    "reap_ctl_dirs: a folder made this instant, its owner not yet written, stays")
  t.ok(core.stat(base .. "/old") == nil, "reap_ctl_dirs: a minute-old folder without an owner goes")
  t.ok(core.stat(base .. "/dead") == nil, "reap_ctl_dirs: a dead owner's run goes")
  t.ok(core.stat(base .. "/blind/node") ~= nil, "reap_ctl_dirs: another host's run stays (its owner cannot be told)")
  t.is(select("#", core.proc_start(999999999)), 0, "proc_start: no such process gives nothing")
  t.ok(session.owner_dead(core.hostname() .. ":999999999:1"), "owner_dead: a gone process is dead")
  t.ok(not session.owner_dead(me), "owner_dead: this process is not")
  session.reap_ctl_dirs(true, base)
  t.ok(#(core.list_dir(base) or {}) == 0, "reap_ctl_dirs(all) removes every run's folder")
  core.rmdir(base)
end

-- core.flock (natrig.imagelock: runs share the lock, image prune takes it alone): one try,
-- no wait; busy says another holds it; unlock and collection release it
do
  local path = os.tmpname()
  local sa = core.flock(path, "shared")
  local sb = core.flock(path, "shared")
  t.ok(sa and sb, "flock: two shared locks at once")
  local x, msg, busy = core.flock(path, "exclusive")
  t.ok(x == nil and busy == true and msg:find("another process holds it", 1, true) ~= nil,
    "flock: exclusive refused at once, busy, while shared ones are held")
  sa:unlock(); sa:unlock() -- twice is harmless
  sb = nil -- luacheck: ignore (dropped: collection releases it)
  collectgarbage(); collectgarbage()
  x = core.flock(path, "exclusive")
  t.ok(x ~= nil, "flock: exclusive once unlocked and collected")
  t.is(select(3, core.flock(path, "shared")), true, "flock: shared refused while exclusive is held")
  x:unlock()
  local none, m2, busy2 = core.flock(path .. ".d/nope", "shared")
  t.ok(none == nil and busy2 == false and m2:find("cannot lock", 1, true) ~= nil,
    "flock: a missing folder is an error, not busy")
  t.raises(function() core.flock(path, "both") end, "invalid option", "flock: the mode is checked")
  os.remove(path)
end

-- this process's nice value: read, set to itself (allowed to anyone), out of range refused
do
  local n = core.nice()
  t.is(math.type(n), "integer", "nice: the process's nice value is an integer")
  t.is(core.nice(n), n, "nice: setting the current value gives it back")
  t.raises(function() core.nice(20) end, "-20..19", "nice: a value out of range is refused")
end

-- natrig's CPU cgroup (base/cpugroup; its C side: tests/unit/test_cpugroup.c): not in it
-- until asked, a nice out of range refused; a process that joins is in "natrig" (as root,
-- where the cpu controller is), and its session's autogroup is left as it was
do
  t.is(core.cpu_group(), nil, "cpu_group: not in natrig's CPU cgroup until asked")
  t.raises(function() core.cpu_group(-21) end, "-20..19", "cpu_group: a value out of range is refused")
  local code, out, errs = core.run({ "lua5.4", "-e", "local c = require('natrig.core'); "
    .. "local p, why = c.cpu_group(-20); io.write(tostring(p or why), '\\n'); "
    .. "io.write(io.open('/proc/self/cgroup'):read('a'), io.open('/proc/self/autogroup'):read('a'))" }, 30)
  local ag = io.open("/proc/self/autogroup")
  local ag_nice = ag and ag:read("a"):match("nice (%-?%d+)")
  if ag then ag:close() end
  local _, uid = core.run({ "id", "-u" })
  local ctl = io.open("/sys/fs/cgroup/cpu/cpu.shares") or io.open("/sys/fs/cgroup/cpu,cpuacct/cpu.shares")
  if ctl then ctl:close() end
  if uid ~= "0\n" or not ctl then -- (CI runs as root on a cgroup v1 machine: this branch is not taken there)
    t.ok(code == 0 and out:match("^[^/]") ~= nil, "cpu_group: refused with a reason (not root, or no controller): "
      .. out .. errs)
  else
    t.ok(code == 0 and out:match("\n[%d]+:[^\n]*:/natrig\n") ~= nil,
      "cpu_group: the process is in natrig's CPU cgroup: " .. out .. errs)
    t.ok(ag_nice == nil or out:match("/autogroup%-%d+ nice " .. ag_nice .. "\n$") ~= nil,
      "cpu_group: the session's autogroup nice is left as it was: " .. out)
  end
end

t.done()
