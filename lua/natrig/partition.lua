--- natrig.partition: partitions and isolation. Packet filters in each node's holder, in
-- chains of our own (filter table), so heal() flushes only those. The iptables argv
-- lists come from C (core/impair_part.c: impair_part_cmds); this module only runs them.
-- Packets vanish silently, as on a real partition: each node drops what arrives from the
-- other side (so partition() cuts both nodes), and an isolated node's outbound packets go
-- to an NFQUEUE nobody binds; a DROP in the sender's own OUTPUT would fail its send() with
-- EPERM instead (tests/engine/partition_test.lua).
-- @module natrig.partition
local core = require "natrig.core"
local task = require "natrig.task"
local impair = require "natrig.impair"

local M = {}
local host_of, exec = impair.host_of, impair.exec

-- Run one operation's commands in order; a may_fail command's failure is expected.
local function part(net, host, op, addr)
  for _, c in ipairs(core.impair_part_cmds(op, addr)) do
    exec(net, host, c.argv, not c.may_fail)
  end
end

local function ensure_part_chains(net, host)
  local obj = host.obj
  if obj.part_chains then return end
  part(net, host, "setup")
  obj.part_chains = true
end

local function block(net, a, addr)
  local host = host_of(a)
  ensure_part_chains(net, host)
  part(net, host, "block", addr)
end

--- No traffic between any node of group1 and any node of group2 (both ways): every node
-- drops what arrives from the other group, so both ends of each pair get a rule.
-- @local
function M.partition(net, g1, g2)
  -- Rules of one namespace go in order; namespaces are independent, so one task each.
  local by_node, order = {}, {}
  for _, a in ipairs(g1) do
    for _, b in ipairs(g2) do
      for _, pair in ipairs({ { a, b }, { b, a } }) do
        local n = pair[1]
        if not by_node[n] then by_node[n] = {}; order[#order + 1] = n end
        table.insert(by_node[n], impair.addr_from(pair[1], pair[2]))
      end
    end
  end
  local fns = {}
  for _, n in ipairs(order) do
    fns[#fns + 1] = function() for _, addr in ipairs(by_node[n]) do block(net, n, addr) end end
  end
  task.parallel(fns)
end

--- Cut a node off entirely (all but loopback), or bring it back.
-- @local
function M.isolate(net, a)
  local host = host_of(a)
  ensure_part_chains(net, host)
  part(net, host, "isolate")
end

function M.heal_node(net, a)
  if not a.part_chains then return end
  part(net, host_of(a), "heal")
end

function M.heal(net)
  local jobs = {}
  for _, n in ipairs(net.nodes) do
    if n.part_chains then jobs[#jobs + 1] = function() M.heal_node(net, n) end end
  end
  task.parallel(jobs)
end

return M
