--- natrig.partition: partitions and isolation. Packet filters in each node's holder, in
-- chains of our own (filter table), so heal() flushes only those. The iptables argv
-- lists come from C (core/impair_part.c: impair_part_cmds); this module only runs them.
-- Packets vanish silently, as on a real partition: each node drops what arrives from the
-- other side (so partition() cuts both nodes), and an isolated node's outbound packets go
-- to an NFQUEUE nobody binds; a DROP in the sender's own OUTPUT would fail its send() with
-- EPERM instead (tests/engine/partition_test.lua). Peers behind one router are also cut in
-- that router's FORWARD, where a hairpin through its public address still shows both LAN
-- addresses (router_cuts).
-- Every family a node has is cut: IPv4 rules with iptables, IPv6 ones with ip6tables (the
-- same chains). IPv6 needs no router rule: nothing is translated, so two hosts of one LAN
-- reach each other's addresses on the link and their own INPUT rules see each other.
-- @module natrig.partition
local core = require "natrig.core"
local task = require "natrig.task"
local impair = require "natrig.impair"
local shaper = require "natrig.shaper"

local M = {}
local host_of, exec = impair.host_of, impair.exec
local FAMILIES = { "v4", "v6" }

-- Run one operation's commands in order (fam: whose rules, "v4" or "v6"); a may_fail
-- command's failure is expected.
local function part(net, host, op, addr, fam)
  for _, c in ipairs(core.impair_part_cmds(op, addr, fam == "v6" and "ip6tables" or "iptables")) do
    exec(net, host, c.argv, not c.may_fail)
  end
end

-- Which of natrig's partition chains are set up in x's namespace (a node's holder, a
-- router): this module's sub-object of x, `x.partition`, written only here: [fam] = true
-- for a family's chains, fwd = true for a router's FORWARD rules.
local function mark(x, key)
  x.partition = x.partition or {}
  x.partition[key] = true
end
local function has_part(x, key) return x.partition ~= nil and (key == nil or x.partition[key] == true) end
--- Whether x (node or router) has any of natrig's partition chains (natrig.dump).
-- @local
function M.has_chains(x) return has_part(x) end
--- What natrig.attach read back from x's namespace: the chains of family fam are there.
-- @local
M.restore = mark

-- The chains of one family, hooked in once.
local function ensure_part_chains(net, host, fam)
  local obj = host.obj
  if has_part(obj, fam) then return end
  part(net, host, "setup", nil, fam)
  mark(obj, fam)
end

local function block(net, a, addr, fam)
  local host = host_of(a)
  ensure_part_chains(net, host, fam)
  part(net, host, "block", addr, fam)
end

-- n's address on router r's LAN: its own private address when r is its router, else the WAN
-- address of the router of n's chain that sits on r's LAN; nil when n is not behind r.
local function addr_at(n, r)
  if n.router == r then return n.private_ip end
  local x = n.router
  while x do
    if x.behind == r then return x.wan_ip end
    x = x.behind
  end
end

--- The router rules a partition of a from b needs: two nodes behind one router (its LAN or
-- routers below it) may hairpin through its public address, and then each receives from
-- that address, not the other's (the hairpin's SNAT), so their own rules miss it. The
-- lowest router both sit behind drops what it forwards between their addresses on its LAN,
-- both ways. Pure (no I/O). Returns { router, from, to } pairs, or an empty list.
-- @local
function M.router_cuts(a, b)
  local r = a.router
  while r do
    local xa, xb = addr_at(a, r), addr_at(b, r)
    if xa and xb then
      if xa == xb then return {} end -- never: r would not be the lowest
      return { { router = r, from = xa, to = xb }, { router = r, from = xb, to = xa } }
    end
    r = r.behind
  end
  return {}
end

local function fwd(net, r, op, src, dst)
  for _, c in ipairs(core.impair_part_fwd_cmds(op, src, dst)) do
    exec(net, host_of(r), c.argv, not c.may_fail)
  end
end

--- No traffic between any node of group1 and any node of group2 (both ways): every node
-- drops what arrives from the other group, so both ends of each pair get a rule, and the
-- lowest router two of them share drops what it would hairpin between them (router_cuts).
-- @local
function M.partition(net, g1, g2)
  -- Rules of one namespace go in order; namespaces are independent, so one task each.
  local by_node, order, by_router, rorder = {}, {}, {}, {}
  for _, a in ipairs(g1) do
    for _, b in ipairs(g2) do
      for _, pair in ipairs({ { a, b }, { b, a } }) do
        local n = pair[1]
        if not by_node[n] then by_node[n] = {}; order[#order + 1] = n end
        local has = shaper.families(n)
        for _, fam in ipairs(FAMILIES) do
          local addr = has[fam] and impair.addr_from(n, pair[2], fam)
          if addr then table.insert(by_node[n], { addr = addr, fam = fam }) end
        end
      end
      for _, cut in ipairs(M.router_cuts(a, b)) do
        local r = cut.router
        if not by_router[r] then by_router[r] = {}; rorder[#rorder + 1] = r end
        table.insert(by_router[r], cut)
      end
    end
  end
  local fns = {}
  for _, n in ipairs(order) do
    fns[#fns + 1] = function() for _, x in ipairs(by_node[n]) do block(net, n, x.addr, x.fam) end end
  end
  for _, r in ipairs(rorder) do
    fns[#fns + 1] = function()
      if not has_part(r) then fwd(net, r, "setup"); mark(r, "fwd") end
      for _, cut in ipairs(by_router[r]) do fwd(net, r, "block", cut.from, cut.to) end
    end
  end
  task.parallel(fns)
end

--- Cut a node off entirely (all but loopback, every family it has), or bring it back.
-- @local
function M.isolate(net, a)
  local host = host_of(a)
  for fam, has in pairs(shaper.families(a)) do
    if has then
      ensure_part_chains(net, host, fam)
      part(net, host, "isolate", nil, fam)
    end
  end
end

function M.heal_node(net, a)
  for _, fam in ipairs(FAMILIES) do
    if has_part(a, fam) then part(net, host_of(a), "heal", nil, fam) end
  end
end

function M.heal(net)
  local jobs = {}
  for _, n in ipairs(net.nodes) do
    if has_part(n) then jobs[#jobs + 1] = function() M.heal_node(net, n) end end
  end
  for _, r in ipairs(net.routers or {}) do
    if has_part(r) then jobs[#jobs + 1] = function() fwd(net, r, "heal") end end
  end
  task.parallel(jobs)
end

return M
