-- natrig.teardown's order against a fake engine (tests/fake/engine.py), no Docker: a run of
-- NATed peers (a router on the public network and its LAN, a holder on the LAN, an app in
-- the holder's network namespace) and a gateway is removed with never two endpoint
-- deletions (disconnects, container removals) in flight on one network (Docker 20.10 loses
-- count of a network's endpoints then), each router in two calls (detached from the public
-- network, removed with its LAN endpoint), and nothing left.
-- The fake marks a deletion that overlaps another on its network; a control shows it does.
-- And a call past a limit of its own (the seal's last reading after a signal) says that
-- limit, not NATRIG_ENGINE_TIMEOUT's.
-- run-all runs it with DOCKER_HOST=unix://<temp dir>/engine.sock and NATRIG_NO_WATCHDOG=1.
local t = require "tap"
local natrig = require "natrig"
local task = require "natrig.task"
local session = require "natrig.session"
local core = natrig.core

local fk = require "fake_engine"
local host, dir, read_log = fk.host, fk.dir, fk.read_log

-- A fresh fake whose endpoint deletions take a moment (so overlapping ones are seen), and
-- with more rules.
local function fake(seconds, more)
  local rules = {
    { method = "DELETE", path = "^/containers/[^/]+$", action = "slow", seconds = seconds },
    { method = "POST", path = "^/networks/[^/]+/disconnect$", action = "slow", seconds = seconds },
  }
  for _, r in ipairs(more or {}) do rules[#rules + 1] = r end
  return fk.start(rules, "teardown")
end
local stop = fk.stop

-- The requests that overlapped another deletion on their network.
local function overlaps(f)
  local l = {}
  for _, r in ipairs(read_log(f.log)) do if r.overlap then l[#l + 1] = r.method .. " " .. r.path end end
  return l
end

local RUN = "td1"
local function labels(role) return { ["natrig.run"] = RUN, ["natrig.role"] = role } end
local function ctr(eng, name, role, net)
  return eng:container_create(name, { Image = "natrig/fake:1", Labels = labels(role),
    HostConfig = { NetworkMode = net },
    NetworkingConfig = net:match("^container:") and nil or { EndpointsConfig = { [net] = {} } } })
end

-- 1. a gateway and 24 NATed peers -----------------------------------------------------------
do
  local f = fake(0.02)
  local eng = natrig.engine(host)
  local PEERS = 24
  local pub = "natrig-" .. RUN .. "-public"
  local pub_id = eng:network_create { Name = pub, Labels = labels("public") }
  local routers = {}
  ctr(eng, "natrig-td1-gw", "holder", pub)
  ctr(eng, "natrig-td1-gw-app", "app", "container:natrig-td1-gw")
  for i = 1, PEERS do
    local lan = ("natrig-%s-r%d-lan"):format(RUN, i)
    local lan_id = eng:network_create { Name = lan, Labels = labels("lan") }
    routers[#routers + 1] = ctr(eng, ("natrig-td1-r%d"):format(i), "router", pub)
    eng:network_connect(lan_id, routers[#routers])
    ctr(eng, ("natrig-td1-p%d"):format(i), "holder", lan)
    ctr(eng, ("natrig-td1-p%d-app"):format(i), "app", "container:natrig-td1-p" .. i)
  end
  local t0 = core.now()
  local nc, nn = session.remove_labelled(eng, "natrig.run=" .. RUN)
  t.is(nc, 2 + 3 * PEERS, ("teardown found every container (%.2f s)"):format(core.now() - t0))
  t.is(nn, 1 + PEERS, "and every network")
  local l = overlaps(f)
  t.is(#l, 0, "never two endpoint deletions at once on one network: " .. table.concat(l, ", "))
  local disconnects, from_pub = 0, 0
  for _, r in ipairs(read_log(f.log)) do
    if r.method == "POST" and r.path:match("/disconnect$") then
      disconnects = disconnects + 1
      if r.path == "/networks/" .. pub_id .. "/disconnect" then from_pub = from_pub + 1 end
    end
  end
  t.is(disconnects, PEERS, ("one disconnect a router (%d for %d routers), and no other: the LAN's "
    .. "removal takes its last endpoint"):format(disconnects, PEERS))
  t.is(from_pub, PEERS, "each from the public network (its chain is the critical path: a disconnect is its "
    .. "cheapest deletion)")
  local left = eng:container_list({ label = core.json_array { "natrig.run=" .. RUN } }, true)
  local nets = eng:network_list({ label = core.json_array { "natrig.run=" .. RUN } })
  t.is(#left + #nets, 0, "nothing left")
  eng:close()
  stop(f)
end

-- 2. the control: two containers of one network removed at once are marked -----------------
do
  local f = fake(0.5)
  local eng = natrig.engine(host)
  local net = eng:network_create { Name = "natrig-td2-public", Labels = labels("public") }
  local a = ctr(eng, "natrig-td2-a", "holder", "natrig-td2-public")
  local b = ctr(eng, "natrig-td2-b", "holder", "natrig-td2-public")
  task.parallel(function() eng:container_remove(a, true) end, function() eng:container_remove(b, true) end)
  t.is(#overlaps(f), 1, "the fake marks a deletion beside another on its network")
  eng:network_remove(net)
  eng:close()
  stop(f)
end

-- 3. a call with a limit of its own (the seal's last reading after a signal: 3 s) ---------------
do
  local f = fake(0, { { method = "POST", path = "^/exec/[^/]+/start$", action = "slow", seconds = 2 } })
  local eng = natrig.engine(host)
  local c = ctr(eng, "natrig-td3-x", "holder", "none")
  local ok, err = pcall(eng.exec, eng, c, { "true" }, { timeout = 0.5 })
  t.ok(not ok and type(err) == "table" and err.code == "overloaded", "an exec past its own limit is the engine's "
    .. "overload: " .. tostring(err))
  t.like(tostring(err), "for this call's own limit of 0%.5 s$", "the message gives that limit")
  t.ok(not tostring(err):find("NATRIG_ENGINE_TIMEOUT", 1, true),
    "and does not ask to raise NATRIG_ENGINE_TIMEOUT, which it did not use")
  eng:container_remove(c, true)
  eng:close()
  stop(f)
end

core.remove(dir .. "/teardown.out")
t.done()
