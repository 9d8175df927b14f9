-- Shared by the bring-up benchmarks (bringup.lua, two_engines.lua): the network they
-- time, and the steps they time, so both measure the same thing.
local natrig = require "natrig"
local core = natrig.core

local M = {}

local ECHO = { "/usr/local/bin/natrig-peer", "echo", "--port", "4000" }

--- 1 gateway + `peers` NATed peers (port_restricted, each behind its own router).
-- opts: everything natrig.network takes, plus gateway = the gateway's node spec.
function M.nated_network(peers, opts)
  local gw = opts.gateway
  opts.gateway = nil
  opts.quiet = true
  local net = natrig.network(opts)
  net:gateway(gw)
  for _ = 1, peers do net:peer { nat = "port_restricted", cmd = ECHO } end
  return net
end

--- Seconds fn takes, then what it returned.
function M.timed(fn, ...)
  local t0 = core.now()
  local r = table.pack(fn(...))
  return core.now() - t0, table.unpack(r, 1, r.n)
end

--- One exec-based check in every node, 64 at a time: seconds, and how many passed.
function M.each_node(net, check)
  local good = 0
  local secs = M.timed(natrig.map, net.nodes, function(n) if check(n) then good = good + 1 end end, 64)
  return secs, good
end

--- The floor: `nnet` bare networks and `nctr` bare containers (image ref, sleeping), created
-- and started in parallel, then removed. Returns up, down, networks' and containers' times.
function M.floor(eng, ref, nnet, nctr)
  local session = require "natrig.session"
  local s = session.new { engine = eng, scenario = "bench-floor" }
  local t0 = core.now()
  local taken = {}
  for _, n in ipairs(eng:network_list()) do
    for _, c in ipairs((n.IPAM or {}).Config or {}) do taken[#taken + 1] = c.Subnet end
  end
  local subnets = core.subnet_alloc("10.128.0.0/9", 24, taken, 777, nnet)
  natrig.map(subnets, function(sn, i)
    eng:network_create { Name = s:name("n" .. i), IPAM = { Config = natrig.json.array { { Subnet = sn } } },
      Labels = s:labels("net") }
  end, 64)
  local tnets = core.now() - t0
  local t1 = core.now()
  natrig.map(core.subnet_alloc("10.0.0.0/8", 24, {}, 0, nctr), function(_, i)
    local id = eng:container_create(s:name("c" .. i), { Image = ref, Cmd = natrig.json.array { "sleep", "600" },
      Labels = s:labels("bench"), HostConfig = { NetworkMode = "none" } })
    eng:container_start(id)
  end, 64)
  local tctr = core.now() - t1
  local up = core.now() - t0
  t0 = core.now()
  s:teardown()
  return up, core.now() - t0, tnets, tctr
end

--- The machine's load averages now ("1.23 2.34 3.45").
function M.load()
  return ((core.read_file("/proc/loadavg") or ""):match("^(%S+ %S+ %S+)")) or "?"
end

return M
