-- The scheduler's and bring-up's error paths against a fake engine (tests/fake/engine.py, a
-- small HTTP server on a unix socket): no Docker needed. Each case starts a fake of its own
-- with the faults it needs and reads the fake's request log afterwards:
--   - a 409 in the middle of a bring-up: net:up() fails with the engine's message naming the
--     object, and the teardown still removes everything that was made;
--   - a dropped connection and a cut-off body: clear transport errors, at once (no hang);
--   - a slow response: the scenario's timeout fires on time and names what was pending; the
--     create that was in flight is let finish and removed by the teardown.
-- run-all runs it with DOCKER_HOST=unix://<temp dir>/engine.sock and NATRIG_NO_WATCHDOG=1.
local t = require "tap"
local natrig = require "natrig"
local scenario = require "natrig.scenario"
local core = natrig.core

local host = core.getenv("DOCKER_HOST") or ""
local sock = host:match("^unix://(.+/engine%.sock)$")
local dir
if sock then
  dir = sock:match("^(.*)/[^/]+$")
else
  dir = ("/tmp/natrig-fake-%d"):format(core.pid())
  core.mkdir_p(dir)
  sock = dir .. "/engine.sock"
end
host = "unix://" .. sock
local cases = 0

local function read_log(path)
  local recs = {}
  for line in (core.read_file(path) or ""):gmatch("[^\n]+") do recs[#recs + 1] = core.json_decode(line) end
  return recs
end

-- A fresh fake engine with these faults (see engine.py for the rule format).
local function fake(rules)
  cases = cases + 1
  local log = ("%s/requests-%d.jsonl"):format(dir, cases)
  core.remove(log)
  local proc = core.spawn({ "python3", "tests/fake/engine.py", sock, log,
    core.json_encode(core.json_array(rules)) }, { stdout = dir .. "/engine.out", stderr = "stdout" })
  local deadline = core.now() + 10
  while core.now() < deadline do
    local first = read_log(log)[1]
    if first and first.ready and core.stat(sock) then break end
    core.sleep(0.02)
  end
  return { proc = proc, log = log }
end

local function stop(f)
  f.proc:kill(15)
  f.proc:wait()
end

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
  t.ok(#made >= 2, ("the slow create finished during the teardown's drain (%d creates)"):format(#made))
  t.is(#kept + #state.containers + #state.networks, 0,
    ("teardown removed it too, and the network (%.1f s in all)"):format(total))
  eng:close()
  stop(f)
end

core.remove(dir .. "/engine.out")
t.done()
