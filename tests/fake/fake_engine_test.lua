-- The scheduler's and bring-up's error paths against a fake engine (tests/fake/engine.py, a
-- small HTTP server on a unix socket): no Docker needed. Each case starts a fake of its own
-- with the faults it needs and reads the fake's request log afterwards:
--   - a 409 in the middle of a bring-up: net:up() fails with the engine's message naming the
--     object, and the teardown still removes everything that was made;
--   - a dropped connection and a cut-off body: clear transport errors, at once (no hang);
--   - a slow response: the scenario's timeout fires on time and names what was pending; the
--     create that was in flight is let finish and removed by the teardown;
--   - a request the engine takes and does not answer within NATRIG_ENGINE_TIMEOUT: `natrig
--     run` says which request and that the engine is overloaded, not unreachable, exits 2,
--     and holds back its own calls; a slow read is asked again and the run passes;
--   - bad input (names, files, ports, binaries, limits, NATRIG_EMULATION, FREENET_BIN):
--     exit 2 with a message naming the node and option, and nothing made at the engine;
--   - the engine's "Pool overlaps" refusal (a concurrent run took the subnet): net:up()
--     plans again with another subnet and comes up; several runs at once all come up.
-- run-all runs it with DOCKER_HOST=unix://<temp dir>/engine.sock and NATRIG_NO_WATCHDOG=1.
local t = require "tap"
local natrig = require "natrig"
local scenario = require "natrig.scenario"
local core = natrig.core

local fk = require "fake_engine"
local host, dir, read_log = fk.host, fk.dir, fk.read_log

-- A fresh fake engine with these faults (see engine.py for the rule format).
local function fake(rules) return fk.start(rules, "requests") end
local stop = fk.stop

-- What the fake holds at the end (its last state line), and the ids it made and removed.
local function summary(f)
  local state, made, removed = { containers = {}, networks = {} }, {}, {}
  for _, r in ipairs(read_log(f.log)) do
    if r.state then state = r.state end
    if r.id and r.method == "POST" and r.status == 201 then made[#made + 1] = r.path .. " " .. r.id end
    if r.id and r.method == "DELETE" then removed[r.id] = true end
  end
  local kept = {}
  for _, m in ipairs(made) do
    if not removed[m:match("(%S+)$")] then kept[#kept + 1] = m end
  end
  return state, made, kept
end

local function requests(f, method, pat)
  local n = 0
  for _, r in ipairs(read_log(f.log)) do
    if r.method == method and r.path and r.path:find(pat) then n = n + 1 end
  end
  return n
end

local function new_net(eng, name)
  return natrig.network { engine = eng, image = "natrig/fake:1", scenario = name, quiet = true }
end

local APP = { "/usr/bin/sleep", "1000" }

-- 1. a 409 in the middle of a bring-up -------------------------------------------------------
do
  -- g2's app container is refused (its holder was made and started, g1 is going on too)
  local f = fake { { method = "POST", path = "^/containers/create$", name = "-g2$", action = "status",
    status = 409, message = 'Conflict. The container name "/natrig-x-g2" is already in use by container "c0ffee". ' ..
      'You have to remove (or rename) that container to be able to reuse that name.' } }
  local eng = natrig.engine(host)
  local net = new_net(eng, "fake_409")
  net:gateway { name = "g1", cmd = APP }
  net:gateway { name = "g2", cmd = APP }
  local run = net.session.run_id
  local t0 = core.now()
  local ok, err = pcall(net.up, net)
  local dt = core.now() - t0
  t.ok(not ok, "net:up() fails when the engine answers 409 mid-way")
  t.is(type(err) == "table" and err.status, 409, "the error carries the engine's status")
  t.is(type(err) == "table" and err.code, "engine", "the error's code is 'engine'")
  t.like(tostring(err), "is already in use by container \"c0ffee\"", "the message is the engine's own text")
  t.like(type(err) == "table" and err.op or "", "^container create natrig%-" .. run .. "%-g2$",
    "the error names the operation and the object (g2's app container)")
  t.ok(dt < 5, ("the failure ends the bring-up at once (%.2f s)"):format(dt))
  local state, made, kept = summary(f)
  t.ok(#made >= 3, ("the bring-up made things before the 409 (%d creates: network, holders)"):format(#made))
  t.is(#kept, 0, "teardown removed everything the bring-up made: " .. table.concat(kept, ", "))
  t.is(#state.containers + #state.networks, 0, "the engine holds no container and no network afterwards")
  t.ok(requests(f, "DELETE", "^/networks/") >= 1, "the public network was removed (DELETE /networks/ID)")
  t.is(net.state, "down", "the network is down after the failed bring-up")
  eng:close()
  stop(f)
end

-- 2. a dropped connection, a body cut off ------------------------------------------------------
do
  -- every start is answered by closing the connection (curl retries a dead reused
  -- connection once; that retry is dropped too)
  local f = fake {
    { method = "POST", path = "^/containers/[^/]+/start$", action = "drop" },
    { method = "GET", path = "^/containers/half/json$", action = "partial" },
  }
  local eng = natrig.engine(host)
  local net = new_net(eng, "fake_drop")
  net:gateway { name = "gw", cmd = APP }
  local t0 = core.now()
  local ok, err = pcall(net.up, net)
  local dt = core.now() - t0
  t.ok(not ok, "net:up() fails when the engine drops the connection")
  t.is(type(err) == "table" and err.code, "transport", "a dropped connection is a transport error")
  t.like(tostring(err), "cannot reach the engine at " .. host:gsub("%p", "%%%0") .. ": Empty reply from server",
    "the message says what happened and where")
  t.like(type(err) == "table" and err.op or "", "^container start ", "and names the operation")
  t.ok(dt < 5, ("no hang: it fails in %.2f s"):format(dt))
  local state, _, kept = summary(f)
  t.is(#kept + #state.containers + #state.networks, 0, "teardown removed the holder and the network")

  t0 = core.now()
  local pok, perr = pcall(eng.container_inspect, eng, "half")
  dt = core.now() - t0
  t.ok(not pok and type(perr) == "table" and perr.code == "transport",
    "a body cut off mid-way is a transport error: " .. tostring(perr))
  t.like(tostring(perr), "container inspect half", "it names the call and the object")
  t.ok(dt < 5, ("no hang on a short body (%.2f s)"):format(dt))
  eng:close()
  stop(f)
end

-- 3. a slow response: the scenario's deadline ---------------------------------------------------
do
  -- the holder's create takes 4 s; the scenario allows 2 s
  local f = fake { { method = "POST", path = "^/containers/create$", name = "-gw-net$", action = "slow", seconds = 4 } }
  local eng = natrig.engine(host)
  local def = scenario.define { name = "fake_slow", timeout = 2,
    run = function(net)
      net:gateway { name = "gw", cmd = APP }
      net:up()
    end }
  local t0 = core.now()
  local res = scenario.run(def, { engine = eng, artifacts = dir .. "/artifacts" })
  local total = core.now() - t0
  t.ok(not res.ok, "the scenario fails")
  t.is(res.error_code, "timeout", "with a timeout")
  t.ok(res.duration >= 2 and res.duration < 2.5, ("the timeout fires on time (%.2f s for 2 s)"):format(res.duration))
  t.like(res.error or "", "timed out after 2 s; still pending: ", "the message says it timed out")
  t.like(res.error or "", "gw %(container_create natrig%-" .. res.run_id .. "%-gw%-net%)",
    "and names what was pending: gw's holder create")
  local state, made, kept = summary(f)
  t.ok(#made >= 2, ("the slow create finished beside the teardown (%d creates)"):format(#made))
  t.is(#kept + #state.containers + #state.networks, 0,
    ("teardown removed it too, and the network (%.1f s in all)"):format(total))
  eng:close()
  stop(f)
end

-- 3b. a create slower than the abort: waited for beside the teardown, and removed ---------------
do
  -- The holder's create takes 7 s, the scenario 1 s. The abort once waited 5 s for creates in
  -- flight and then tore down without it: the engine made it afterwards, and it was left.
  local f = fake { { method = "POST", path = "^/containers/create$", name = "-gw-net$", action = "slow", seconds = 7 } }
  local eng = natrig.engine(host)
  local said = {}
  local def = scenario.define { name = "fake_slower", timeout = 1,
    run = function(net)
      net:gateway { name = "gw", cmd = APP }
      net:up()
    end }
  local t0 = core.now()
  local res = scenario.run(def, { engine = eng, artifacts = dir .. "/artifacts",
    log = function(m) said[#said + 1] = m end })
  local total = core.now() - t0
  t.is(res.error_code, "timeout", "the scenario times out while a create is in flight")
  core.sleep(math.max(0, t0 + 8.5 - core.now())) -- the fake has answered the create by now
  local state, made, kept = summary(f)
  t.ok(#made >= 2, ("the slow create finished before natrig went on (%d creates)"):format(#made))
  t.is(#kept + #state.containers + #state.networks, 0,
    ("what it made after the teardown's first listing is removed too (%.1f s in all)"):format(total))
  t.ok(total < 1 + 7 + 3,
    ("the teardown ran beside the create, not after a drain (%.1f s for a 7 s create)"):format(total))
  t.like(table.concat(said, "\n"), "1 creates in flight at the abort, 1 made later, 0 unanswered",
    "the teardown says what it waited for")
  eng:close()
  stop(f)
end

-- `natrig run FILE` against the fake, with extra environment; returns the exit code and
-- everything it printed.
local NATRIG = core.getenv("NATRIG_BIN") or "build/natrig"
local function natrig_run(body, env, name)
  local f = ("%s/%s.lua"):format(dir, name or "case")
  core.write_file(f, body)
  local out = f .. ".out"
  local p = core.spawn({ NATRIG, "run", f }, { stdout = out, stderr = "stdout", env = env })
  local code = p:wait()
  return code, core.read_file(out) or ""
end
local function creates(f)
  local n = 0
  for _, r in ipairs(read_log(f.log)) do
    if r.method == "POST" and r.path and r.path:match("/create$") and r.status == 201 then n = n + 1 end
  end
  return n
end

-- 4. an engine that takes a request and does not answer in time: overloaded, exit 2 --------------
do
  -- the first start (gw's holder) is answered after 3 s; natrig waits 1 s for a call
  local f = fake { { method = "POST", path = "^/containers/[^/]+/start$", nth = 1, action = "slow", seconds = 3 } }
  local t0 = core.now()
  local code, out = natrig_run([[
return natrig.scenario { name = "slow_engine", timeout = 60,
  run = function(net) net:gateway { name = "gw", cmd = { "sleep", "600" } } net:up() end }
]], { NATRIG_ENGINE_TIMEOUT = "1" }, "slow_engine")
  t.is(code, 2, ("a slow engine is a set-up error: exit 2 (%.1fs)"):format(core.now() - t0))
  t.like(out, "did not answer POST /containers/[%x]+/start within 1 s %(reachable, but overloaded%)",
    "the message names the request that timed out and says the engine is overloaded")
  t.ok(not out:find("cannot reach", 1, true), "it does not say the engine cannot be reached")
  t.like(out, "holding back to %d+ calls at once", "natrig says it holds back its own calls")
  t.like(out, "ERROR slow_engine", "the verdict is ERROR (set-up), not FAIL")
  stop(f)

  -- a slow read is asked again under the smaller pool: the run passes
  -- (the 3rd list: the plan's list of taken subnets; the first two are the leftover checks)
  f = fake { { method = "GET", path = "^/networks$", nth = 3, action = "slow", seconds = 3 } }
  code, out = natrig_run([[
return natrig.scenario { name = "slow_read", timeout = 60,
  run = function(net) net:gateway { name = "gw", cmd = { "sleep", "600" } } net:up() end }
]], { NATRIG_ENGINE_TIMEOUT = "1" }, "slow_read")
  t.is(code, 0, "a read the engine was slow to answer is asked again, and the run passes")
  t.like(out, "engine slow %(a call was not answered in time%): holding back to 16 calls at once %(was 32%)",
    "the hold-back is said once")
  t.ok(requests(f, "GET", "^/networks$") >= 2, "the list was asked again")
  stop(f)
end

-- 5. bad input: exit 2, a message naming the node and option, nothing made ----------------------
do
  local f = fake {}
  local function case(what, decl, pat, env)
    local before = creates(f)
    local t0 = core.now()
    local code, out = natrig_run(([[
return natrig.scenario { name = "bad_input", timeout = 60,
  run = function(net) %s net:up() end }
]]):format(decl), env or {}, "bad")
    t.is(code, 2, ("%s: exit 2 (%.1fs)"):format(what, core.now() - t0))
    t.like(out, pat, what .. ": the message names the node and option")
    t.is(creates(f) - before, 0, what .. ": nothing was created")
  end
  case("a 300-character name", ([[net:gateway { name = "%s", cmd = { "x" } }]]):format(("n"):rep(300)),
    "bad name 'n+%.%.%. %(300 characters%)'.*at most 63")
  case("files mode \"rwx\"",
    [[net:gateway { name = "g", cmd = { "x" }, files = { { path = "/x", data = "", mode = "rwx" } } }]],
    "g: files: '/x' has mode 'rwx'")
  case("files mode 99999",
    [[net:gateway { name = "g", cmd = { "x" }, files = { { path = "/x", data = "", mode = 99999 } } }]],
    "g: files: '/x' has mode 99999")
  case("a file that escapes",
    [[net:peer { name = "p", cmd = { "x" }, files = { { path = "../../etc/x", data = "" } } }]],
    "p: files: path '%.%./%.%./etc/x' escapes")
  case("ports = { 99999 }", [[net:gateway { name = "g", cmd = { "x" }, ports = { 99999 } }]],
    "g: ports: 99999 is not a port")
  case("a missing binary", [[net:gateway { name = "g", cmd = { "x" }, binary = "/no/such/bin" }]],
    "g: binary '/no/such/bin' does not exist")
  case("a missing FREENET_BIN", [[net:gateway { name = "fg", profile = "freenet" }]],
    "fg: profile freenet: set FREENET_BIN", { FREENET_BIN = "" })
  case("FREENET_BIN that does not exist", [[net:gateway { name = "fg", profile = "freenet" }]],
    "fg: binary '/no/freenet' does not exist", { FREENET_BIN = "/no/freenet" })
  case("a bad NATRIG_EMULATION", [[net:gateway { name = "g", cmd = { "x" } }]], "NATRIG_EMULATION",
    { NATRIG_EMULATION = "bogus" })
  case("1022 public addresses", [[for i = 1, 1022 do net:gateway { name = "g" .. i, cmd = { "x" } } end]],
    "the public network is full: 1022 gateways, public nodes and routers asked for, a /22 holds 998")
  for _, v in ipairs({ "0", "-1" }) do
    local before = creates(f)
    local code, out = natrig_run(([[
return natrig.scenario { name = "bad_timeout", timeout = %s, run = function(net) net:up() end }
]]):format(v), {}, "bad")
    t.is(code, 2, "scenario timeout = " .. v .. ": exit 2")
    t.like(out, "scenario bad_timeout: timeout must be a number of seconds > 0, got " .. v:gsub("%-", "%%-"),
      "... naming the scenario and the option")
    t.is(creates(f) - before, 0, "... nothing created")
  end
  case("a gateway's timeout", [[net:gateway { name = "g", cmd = { "x" }, timeout = 30 }]], "g: timeout is a peer's NAT")
  stop(f)
end

-- 6. "Pool overlaps": planned again with another subnet ----------------------------------------
do
  local f = fake { { method = "POST", path = "^/networks/create$", nth = 1, action = "status", status = 403,
    message = "Pool overlaps with other one on this address space" } }
  local eng = natrig.engine(host)
  local lines = {}
  local net = natrig.network { engine = eng, image = "natrig/fake:1", scenario = "fake_overlap",
    log = function(m) lines[#lines + 1] = m end }
  net:gateway { name = "g", cmd = APP }
  net:gateway { name = "h", cmd = APP }
  local ok, err = pcall(net.up, net)
  t.ok(ok, "net:up() comes up after the engine's overlap refusal: " .. tostring(err))
  t.like(table.concat(lines, "\n"), "subnet taken by another run at the same moment %(Pool overlaps",
    "it says why it plans again")
  local refused, made = nil, {}
  for _, r in ipairs(read_log(f.log)) do
    if r.path == "/networks/create" and r.subnets then
      if r.status == 403 then refused = r.subnets[1] elseif r.status == 201 then made[#made + 1] = r.subnets[1] end
    end
  end
  t.ok(refused ~= nil, "one create was refused: " .. tostring(refused))
  local again = false
  for _, s in ipairs(made) do if s == refused then again = true end end
  t.ok(not again, "the refused subnet was not asked for again: " .. table.concat(made, " "))
  net:down()
  local state, _, kept = summary(f)
  t.is(#kept + #state.containers + #state.networks, 0, "nothing left")
  eng:close()
  stop(f)

  -- several runs at once, each listing the networks while the others create theirs (every
  -- list answered after 0.3 s), against a fake that refuses overlapping subnets as the
  -- engine does: they all come up (the fake cannot run routers: gateways only)
  f = fake { { method = "GET", path = "^/networks$", action = "slow", seconds = 0.3 } }
  local procs = {}
  for i = 1, 5 do
    local sf = ("%s/conc%d.lua"):format(dir, i)
    core.write_file(sf, [[
return natrig.scenario { name = "concurrent", timeout = 120,
  run = function(net)
    for i = 1, 4 do net:gateway { name = "g" .. i, cmd = { "sleep", "600" } } end
    net:up()
  end }
]])
    procs[i] = core.spawn({ NATRIG, "run", sf }, { stdout = sf .. ".out", stderr = "stdout",
      env = {} })
  end
  local passed = 0
  for i, p in ipairs(procs) do
    local code = p:wait()
    if code == 0 then passed = passed + 1
    else t.diag(("run %d: exit %d\n%s"):format(i, code, core.read_file(("%s/conc%d.lua.out"):format(dir, i)) or "")) end
  end
  t.is(passed, 5, "5 runs creating their networks at once all come up")
  local left = summary(f)
  t.is(#left.containers + #left.networks, 0, "and leave nothing")
  stop(f)
end

core.remove(dir .. "/requests.out")
t.done()
