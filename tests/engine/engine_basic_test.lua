-- Engine client against the real Docker Engine (needs:engine): version negotiation,
-- image import, networks, containers (env, argv, labels, caps, sysctls, ports on
-- 127.0.0.1), exec, uploads, logs, pause/unpause, stop/kill/restart/wait, concurrency,
-- and that every labelled resource is gone afterwards.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local core = natrig.core
local session = require "natrig.session"
local image = require "natrig.image"

local eng = natrig.engine()
local info = eng:info()
t.like(info.api_version, "^1%.%d+$", "API version negotiated: " .. info.api_version)
t.ok(core.json_decode(eng:ping() == "OK" and "true" or "false"), "ping answers OK")
t.like(eng:version().Version, "%d", "GET /version gives the engine version")

local s = session.new { engine = eng, scenario = "engine_basic_test" }
local label = "natrig.run=" .. s.run_id
local ok, err = pcall(function()
  local ref = image.ensure_base(eng)
  t.like(ref, "^natrig/base:%x+$", "base image built locally: " .. ref)
  t.ok(eng:image_inspect(ref) ~= nil, "image inspect finds it")
  t.is(eng:image_inspect("natrig/does-not-exist:0"), nil, "image inspect of a missing image is nil")

  -- build from a tar context, FROM the locally imported image (no registry)
  local ctx = core.tar { { path = "Dockerfile", data = "FROM " .. ref .. "\nRUN echo built > /built\n" } }
  eng:image_build(ctx, "natrig/test-build:" .. s.run_id, { natrig = "1", ["natrig.run"] = s.run_id })
  t.ok(eng:image_inspect("natrig/test-build:" .. s.run_id) ~= nil, "image build from a tar context")

  -- networks: IPAM subnet, Internal, labels; list by label; inspect
  local taken = {}
  for _, n in ipairs(eng:network_list()) do
    for _, c in ipairs((n.IPAM or {}).Config or {}) do taken[#taken + 1] = c.Subnet end
  end
  local subnets = core.subnet_alloc("10.128.0.0/9", 24, taken, math.random(0, 30000), 2)
  eng:network_create { Name = s:name("n1"), Driver = "bridge",
    IPAM = { Config = core.json_array { { Subnet = subnets[1] } } }, Labels = s:labels("net") }
  local n2 = eng:network_create { Name = s:name("n2"), Driver = "bridge", Internal = true,
    IPAM = { Config = core.json_array { { Subnet = subnets[2] } } }, Labels = s:labels("net") }
  local ni = eng:network_inspect(n2)
  t.is(ni.Internal, true, "network created Internal")
  t.is(ni.IPAM.Config[1].Subnet, subnets[2], "network has the requested subnet")
  t.is(#eng:network_list({ label = core.json_array { label } }), 2, "networks listed by label")

  -- a container: env, argv, labels, caps, sysctls, a port published on 127.0.0.1
  local ip1 = core.subnet_host(subnets[1], 10)
  local id = eng:container_create(s:name("c1"), {
    Image = ref, Cmd = core.json_array { "/usr/local/bin/natrig-peer", "echo", "--port", "3478" },
    Env = core.json_array { "GREETING=hello world" },
    Labels = s:labels("test"),
    ExposedPorts = { ["8080/tcp"] = {} },
    HostConfig = { NetworkMode = s:name("n1"), CapAdd = core.json_array { "NET_ADMIN" },
      Sysctls = { ["net.ipv4.ip_forward"] = "1" },
      PortBindings = { ["8080/tcp"] = core.json_array { { HostIp = "127.0.0.1", HostPort = "" } } } },
    NetworkingConfig = { EndpointsConfig = { [s:name("n1")] = { IPAMConfig = { IPv4Address = ip1 } } } },
  })
  eng:container_start(id)
  local ci = eng:container_inspect(id)
  t.is(ci.State.Running, true, "container running")
  t.is(ci.NetworkSettings.Networks[s:name("n1")].IPAddress, ip1, "static IPv4 on create")
  local pb = ci.NetworkSettings.Ports["8080/tcp"][1]
  t.is(pb.HostIp, "127.0.0.1", "published port bound to 127.0.0.1 only")
  t.ok(tonumber(pb.HostPort) > 0, "engine chose the host port " .. pb.HostPort)
  t.is(#eng:container_list({ label = core.json_array { label } }), 1, "container listed by label")

  -- exec an argv: exit code, stdout and stderr apart
  local r = eng:exec(id, { "/usr/bin/sh", "-c", "echo out; echo err >&2; exit 3" })
  t.is(r.code, 3, "exec exit code")
  t.is(r.stdout, "out\n", "exec stdout")
  t.is(r.stderr, "err\n", "exec stderr")
  r = eng:exec(id, { "env" })
  t.like(r.stdout, "GREETING=hello world\n", "env reached the container")
  r = eng:exec(id, { "cat", "/proc/sys/net/ipv4/ip_forward" })
  t.is(r.stdout, "1\n", "sysctl set at create")
  r = eng:exec(id, { "echo", "$HOME; rm -rf /" })
  t.is(r.stdout, "$HOME; rm -rf /\n", "argv is never interpreted by a shell")
  local big = eng:exec(id, { "head", "-c", "3000000", "/dev/zero" })
  t.is(#big.stdout, 3000000, "exec output over many frames")
  t.raises(function() eng:exec(id, {}) end, "argv must be a non%-empty list", "empty argv refused")

  -- uploads: from memory and from disk, with modes; escaping paths refused
  core.write_file("/tmp/natrig-upload-test", "from disk\n")
  eng:put_files(id, {
    { path = "/etc/natrig/a.txt", data = "from memory\n", mode = 384 },
    { path = "/usr/local/bin/b.sh", file = "/tmp/natrig-upload-test", mode = 493 },
    { path = "/etc/natrig/dir", dir = true },
    { path = "/etc/natrig/link", symlink = "a.txt" },
  })
  t.is(eng:exec(id, { "cat", "/etc/natrig/a.txt" }).stdout, "from memory\n", "uploaded from memory")
  t.is(eng:exec(id, { "cat", "/usr/local/bin/b.sh" }).stdout, "from disk\n", "uploaded from disk")
  t.is(eng:exec(id, { "stat", "-c", "%a", "/etc/natrig/a.txt" }).stdout, "600\n", "mode 0600 kept")
  t.is(eng:exec(id, { "stat", "-c", "%a", "/usr/local/bin/b.sh" }).stdout, "755\n", "mode 0755 kept")
  t.is(eng:exec(id, { "cat", "/etc/natrig/link" }).stdout, "from memory\n", "symlink uploaded")
  t.raises(function() core.tar { { path = "../../etc/passwd", data = "x" } } end, "escapes",
    "tar path escaping the root refused")
  t.raises(function() core.tar { { path = "/a/../../b", data = "x" } } end, "escapes",
    "tar path escaping via a/../.. refused")

  -- logs with timestamps and since, demultiplexed
  eng:exec(id, { "/usr/local/bin/natrig-peer", "send", "--to", "127.0.0.1:3478", "--msg", "hi" })
  local out
  for _ = 1, 50 do
    out = eng:logs(id)
    if out:find("echoed", 1, true) then break end
    natrig.sleep(0.05)
  end
  t.like(out, "^%d%d%d%d%-%d%d%-%d%dT[%d:.]+Z ", "logs carry the engine timestamp")
  t.like(out, "datagram echoed", "logs hold the program's line")
  local later = eng:logs(id, { since = core.time() + 3600 })
  t.is(later, "", "logs since the future are empty")

  -- pause / unpause / stop / start / restart / kill / wait
  eng:container_pause(id)
  t.is(eng:container_inspect(id).State.Paused, true, "paused")
  eng:container_unpause(id)
  t.is(eng:container_inspect(id).State.Paused, false, "unpaused")
  eng:container_restart(id, 1)
  t.is(eng:container_inspect(id).State.Running, true, "restarted")
  local waiter = natrig.spawn(function() return eng:container_wait(id) end)
  eng:container_kill(id, "KILL")
  t.is(waiter:join(), 137, "wait returns the exit code of a killed container")

  -- network connect with a static IP, then disconnect
  local id2 = eng:container_create(s:name("c2"), { Image = ref, Cmd = core.json_array { "sleep", "60" },
    Labels = s:labels("test"), HostConfig = { NetworkMode = s:name("n1") } })
  local ip2 = core.subnet_host(subnets[2], 20)
  eng:network_connect(n2, id2, ip2)
  eng:container_start(id2)
  t.like(eng:exec(id2, { "ip", "-4", "-o", "addr" }).stdout, ip2:gsub("%.", "%%."), "connected with a static IP")
  eng:network_disconnect(n2, id2, true)
  t.ok(not eng:exec(id2, { "ip", "-4", "-o", "addr" }).stdout:find(ip2, 1, true), "disconnected")
  eng:container_stop(id2, 1)
  t.is(eng:container_inspect(id2).State.Running, false, "stopped")
  eng:container_start(id2)
  t.is(eng:container_inspect(id2).State.Running, true, "started again after a stop")

  -- engine errors carry the engine's message and status
  local eok, e = pcall(eng.container_inspect, eng, "natrig-no-such-container")
  t.ok(not eok and e.status == 404 and e.message:find("No such container", 1, true),
    "404 with the engine's message: " .. tostring(e))
  eok, e = pcall(eng.container_create, eng, s:name("c1"), { Image = ref, Labels = s:labels("test"),
    Cmd = core.json_array { "true" } })
  t.ok(not eok and e.status == 409 and tostring(e):find("natrig clean", 1, true), "409 name conflict says what to do")

  -- concurrency: N container creates in flight at once beat N in a row
  local N = 12
  local function mk(i, tag)
    return eng:container_create(s:name(tag .. i), { Image = ref, Cmd = core.json_array { "true" },
      Labels = s:labels("test"), HostConfig = { NetworkMode = "none" } })
  end
  local t0 = core.now()
  for i = 1, N do mk(i, "seq") end
  local seq = core.now() - t0
  t0 = core.now()
  -- in flight at once is the property; how much faster depends on the machine's load, so
  -- the ratio is only printed (timings are for tests/bench, never pass/fail)
  local fns, spans = {}, {}
  for i = 1, N do
    fns[i] = function()
      local s0 = core.now()
      local cid = mk(i, "par")
      spans[#spans + 1] = { s0, core.now() }
      return cid
    end
  end
  local ids = natrig.parallel(fns)
  local par = core.now() - t0
  t.is(#ids, N, "parallel creates all returned ids")
  t.diag(("%d creates: sequential %.2fs, parallel %.2fs (%.1fx)"):format(N, seq, par, seq / par))
  local peak = 0
  for _, a in ipairs(spans) do
    local n = 0
    for _, b in ipairs(spans) do
      if b[1] <= a[1] and a[1] < b[2] then n = n + 1 end
    end
    peak = math.max(peak, n)
  end
  t.ok(peak > 1, ("parallel creates are in flight at once (peak %d of %d)"):format(peak, N))
end)
t.ok(ok, "no unexpected error: " .. tostring(err))

-- teardown by label, then nothing is left
s:teardown()
pcall(eng.image_remove, eng, "natrig/test-build:" .. s.run_id, true)
local filters = { label = core.json_array { label } }
t.is(#eng:container_list(filters), 0, "no labelled container left")
t.is(#eng:network_list(filters), 0, "no labelled network left")
eng:close()
t.done()
