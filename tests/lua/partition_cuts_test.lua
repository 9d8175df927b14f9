-- Which routers a partition must also cut (natrig.partition.router_cuts, pure): two nodes
-- behind one router may hairpin through its public address and then receive from that
-- address, so the lowest router both sit behind drops what it forwards between them.
local t = require "tap"
require "natrig" -- registers the embedded modules
local part = require "natrig.partition"

local cgn = { name = "cgn", wan_ip = "10.128.0.2" }
local home = { name = "home", wan_ip = "10.1.0.3", behind = cgn }
local office = { name = "office", wan_ip = "10.1.0.4", behind = cgn }
local solo = { name = "solo", wan_ip = "10.128.0.9" }
local h1 = { name = "h1", router = home, private_ip = "10.2.0.2" }
local h2 = { name = "h2", router = home, private_ip = "10.2.0.3" }
local o1 = { name = "o1", router = office, private_ip = "10.3.0.2" }
local c1 = { name = "c1", router = cgn, private_ip = "10.1.0.5" }
local s1 = { name = "s1", router = solo, private_ip = "10.4.0.2" }
local g = { name = "g", public_ip = "10.128.0.5" }

local function show(cuts)
  local l = {}
  for _, c in ipairs(cuts) do l[#l + 1] = ("%s:%s>%s"):format(c.router.name, c.from, c.to) end
  return table.concat(l, " ")
end
t.is(show(part.router_cuts(h1, h2)), "home:10.2.0.2>10.2.0.3 home:10.2.0.3>10.2.0.2",
  "two peers behind one router: that router, both ways, between their private addresses")
t.is(show(part.router_cuts(h1, o1)), "cgn:10.1.0.3>10.1.0.4 cgn:10.1.0.4>10.1.0.3",
  "behind two routers under one CGN: the CGN, between the two routers' WAN addresses")
t.is(show(part.router_cuts(h1, c1)), "cgn:10.1.0.3>10.1.0.5 cgn:10.1.0.5>10.1.0.3",
  "one behind a router under the CGN, one on the CGN's LAN")
t.is(show(part.router_cuts(h1, s1)), "", "no router in common: nothing to cut in a router")
t.is(show(part.router_cuts(h1, g)), "", "a public node: nothing to cut in a router")
t.is(show(part.router_cuts(g, h1)), "", "either order")
t.done()
