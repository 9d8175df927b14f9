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

return M
