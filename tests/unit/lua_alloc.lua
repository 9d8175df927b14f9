-- lua_alloc.lua: every pure binding of natrig.core once, for test_lua_alloc, which runs this
-- file again and again with the Nth allocation failing. Each step is its own pcall, so a
-- failure in one step still lets the later ones run (and reach their cleanup paths). The
-- last line sets ALLOC_DONE, which the failure-free run must reach with every check true.
local core = require "natrig.core"
local dir = ALLOC_TMP -- a private directory made by the driver
local fails = 0
local function step(f, ...)
  local ok, err = pcall(f, ...)
  if not ok then fails = fails + 1; LAST_ERROR = err end
end
local function check(c, what) if not c then error("check failed: " .. what) end end

step(function()
  local j = core.json_decode('{"a":[1,2,{"b":null}],"e":[],"s":"x\\u00e9","f":1.5}')
  check(j.a[2] == 2 and j.a[3].b == core.null, "json decode")
  check(core.json_encode({ a = { 1, 2, { b = core.null } }, e = core.json_array() }) ~= nil, "json encode")
  check(not pcall(core.json_encode, { f = print }), "json refuses functions")
  check(not pcall(core.json_encode, { [1] = 1, x = { y = { 2, print } } }), "json refuses mixed")
  local deep = {}
  local cur = deep
  for _ = 1, 80 do cur.x = {}; cur = cur.x end
  check(not pcall(core.json_encode, deep), "json depth")
  check(not pcall(core.json_decode, string.rep("[", 70) .. string.rep("]", 70)), "json decode depth")
  check(core.json_decode("{bad") == nil, "json invalid")
end)
step(function()
  local e = core.error { code = "einval", op = "x", message = "y" }
  check(tostring(e) == "x: y", "error tostring")
end)
step(function()
  check(#core.subnet_alloc("10.128.0.0/16", 24, { "10.128.0.0/24", "fe80::/64", "" }, 0, 3) == 3, "subnet_alloc")
  check(not pcall(core.subnet_alloc, "10.0.0.0/23", 24, {}, 0, 3), "subnet_alloc full")
  check(core.subnet_host("10.1.2.0/24", 254) == "10.1.2.254", "subnet_host")
  check(not pcall(core.subnet_host, "10.1.2.0/24", 300), "subnet_host range")
  check(core.subnet_contains("10.1.2.0/24", "10.1.2.9"), "subnet_contains")
  check(not pcall(core.subnet_contains, "10.1.2.0/24", "10.1.2.010"), "strict address")
  check(core.subnet_overlaps("10.1.0.0/16", "10.1.2.0/24"), "subnet_overlaps")
end)
step(function()
  core.write_file(dir .. "/f.txt", "file body")
  local entries = { { path = "/a/b.txt", data = "hello", mode = 420 }, { path = "d", dir = true },
    { path = "l", symlink = "a/b.txt" }, { path = "f", file = dir .. "/f.txt" } }
  check(#core.tar(entries) % 512 == 0, "tar")
  check(not pcall(core.tar, { { path = "../x", data = "1" } }), "tar escape")
  check(not pcall(core.tar, { { path = "x" } }), "tar empty entry")
  check(not pcall(core.tar, { { path = "x", file = dir .. "/missing" } }), "tar missing file")
  local t <close> = core.tar_new()
  t:add { path = "x", data = string.rep("y", 5000) }
  check(tostring(t):find("open"), "tar handle open")
  check(#t:finish() > 5000, "tar finish")
  check(not pcall(t.add, t, { path = "z", data = "1" }), "tar closed handle raises")
  do -- left to __gc
    local u = core.tar_new()
    u:add { path = "q", data = "1" }
  end
  check(core.tarpath("/etc//natrig/./x") == "etc/natrig/x", "tarpath")
end)
step(function()
  local spec = core.nat_resolve { preset = "symmetric" }
  check(spec.describe:find("APDM"), "nat_resolve")
  local rs = core.nat_ruleset({ preset = "port_restricted" }, "198.51.100.2", { "10.1.0.0/24", "10.2.0.0/24" })
  check(#rs > 100, "nat_ruleset")
  core.nat_check({ preset = "port_restricted" }, "198.51.100.2", { "10.1.0.0/24" }, rs)
  check(not pcall(core.nat_ruleset, { preset = "nope" }, "198.51.100.2", {}), "nat bad preset")
  check(not pcall(core.nat_ruleset, { preset = "full_cone" }, "198.51.100.2", { "10.1.0.010/24" }), "nat strict lan")
  check(not pcall(core.nat_resolve, { natt = 1 }), "nat unknown option")
  for _, k in ipairs { "apply", "verify", "diag" } do check(#core.nat_argvs(k) >= 1, "nat_argvs " .. k) end
  check(#core.nat_argvs("flush", { preset = "full_cone" }) >= 1, "nat_argvs flush")
  check(#core.nat_presets() >= 5, "nat_presets")
  check(core.nat_claim({ preset = "full_cone" }).describe ~= nil, "nat_claim")
  local txt = core.read_file(NATDISCOVERY or "")
  if txt then core.nat_classify(txt) end
  check(not pcall(core.nat_classify, "nothing here"), "nat_classify refuses")
end)
step(function()
  local tokens, dir_, empty = core.impair_check { delay = 100, jitter = "10ms", loss = 1.5 }
  check(#tokens >= 3 and dir_ == "egress" and not empty, "impair_check")
  check(not pcall(core.impair_check, { delay = "soon" }), "impair bad value")
  check(not pcall(core.impair_check, { [1] = 2 }), "impair number key")
  core.impair_from_env("lan", nil)
  check(#core.impair_presets() >= 1, "impair_presets")
  check(#core.impair_netem_argv({ delay = 10, rate = "1mbit" }, "eth0") > 3, "netem argv")
  core.impair_netem_argv({ rate = "1mbit" }, "eth0", "tbf")
  core.impair_netem_argv({}, "eth0", "clear")
  check(not pcall(core.impair_netem_argv, { delay = 10 }, "eth0", "bogus"), "netem bad kind")
end)
step(function()
  local e = core.log_parse("2024-01-02T03:04:05.123456789Z 2024-01-02T03:04:05Z INFO app: hello k=v")
  check(e.message ~= nil, "log_parse")
  core.log_parse(string.rep("x", 20000) .. " k=v", nil, false)
  core.log_parse("  continued", { format = "tracing", level = "info" }, false)
end)
step(function()
  check(#core.hash("abc") == 16 and core.hash("d", core.hash("abc")) ~= core.hash("d"), "hash")
  check(core.now() > 0 and core.time() > 0 and core.pid() > 0, "clocks")
  check(core.hostname() ~= nil and core.proc_start(core.pid()) ~= nil, "identity")
  check(core.getenv("NATRIG_ALLOC_NO_SUCH_VAR") == nil, "getenv")
  core.isatty(1)
  core.libexec_dir()
  core.sleep(0)
  core.interrupted()
  check(core.kill(core.pid(), 0), "kill 0")
end)
step(function()
  local rc, out, err = core.run { "sh", "-c", "echo out; echo err >&2; exit 3" }
  check(rc == 3 and out == "out\n" and err == "err\n", "run")
  -- under make valgrind posix_spawn is emulated by a fork and exec: a missing program is
  -- the child's failed exit (127, or valgrind's --error-exitcode), not spawn's error (the
  -- Makefile sets NATRIG_VALGRIND=1)
  local mok, mrc = pcall(core.run, { "/nonexistent/natrig-binary" })
  check(not mok or (os.getenv("NATRIG_VALGRIND") == "1" and mrc ~= 0), "run missing")
  check(not pcall(core.run, {}), "run empty argv")
end)
step(function()
  core.mkdir_p(dir .. "/a/b/c")
  core.write_file(dir .. "/a/b/c/x", "1")
  core.write_file(dir .. "/a/b/c/x", "2", true)
  check(core.read_file(dir .. "/a/b/c/x") == "12", "write/read")
  check(core.read_file(dir .. "/missing") == nil, "read missing")
  check(core.stat(dir .. "/a").type == "dir" and core.stat(dir .. "/nothing") == nil, "stat")
  check(core.realpath(dir .. "/a/b/../b") ~= nil, "realpath")
  check(#core.list_dir(dir .. "/a/b/c") == 1 and core.list_dir(dir .. "/nothing") == nil, "list_dir")
  core.remove(dir .. "/a/b/c/x")
  core.rmdir(dir .. "/a/b/c")
  check(core.seqpacket_call(dir .. "/no-socket", "ping", 10) == nil, "seqpacket_call")
end)
ALLOC_DONE = fails == 0
