-- NAT64 addressing (natrig.nat64, natrig.plan; issue 25 item 3), pure: no engine. A run with a
-- NAT64 router takes its public network from 100.64.0.0/10 (RFC 6598), so every gateway has an
-- address Debian's tayga translates under the well-known prefix 64:ff9b::/96; the planner's
-- taken list keeps it off other runs' networks there and off a CGN's insides in the same run;
-- a run without one is planned from the pool as before; a NAT64 router added to a network
-- brought up without one is refused, nothing made.
local t = require "tap"
require "natrig" -- its searcher finds the embedded modules
local core = require "natrig.core"
local network = require "natrig.network"
local plan = require "natrig.plan"
local nat64 = require "natrig.nat64"

local function fresh(id)
  return setmetatable({ state = "declared", by_name = {}, nodes = {}, routers = {}, actions = {},
    counters = { peer = 0, gateway = 0, router = 0, node = 0 }, log = function() end,
    session = { run_id = id or "r1", name = function(_, n) return n end }, pool = plan.POOL }, network.Network)
end
local CMD = { "sleep", "600" }

-- which IPv4 addresses tayga 0.9.2 translates under 64:ff9b:: (tests/nat/netns-nat64 shows
-- both kinds with Debian's binary)
t.is(nat64.PREFIX, "64:ff9b::/96", "the NAT64 prefix is the well-known one")
t.ok(nat64.translatable("100.64.0.20") and nat64.translatable("100.127.255.1"), "100.64.0.0/10 is translated")
for _, a in ipairs { "10.128.0.2", "192.168.255.1", "203.0.113.20", "198.18.0.1", "172.16.0.1" } do
  t.ok(not nat64.translatable(a), a .. " is not (tayga drops it under the well-known prefix)")
end
t.is(nat64.synth(nat64.PREFIX, "100.64.0.20"), "64:ff9b::6440:14", "synth: 100.64.0.20 under 64:ff9b::")

-- a v4 run: the pool, as before
local v4 = fresh()
v4:gateway { name = "g", cmd = CMD }
plan.plan(v4, {})
t.ok(core.subnet_contains(plan.POOL, core.subnet_host(v4.public.subnet, 1)),
  "a run without NAT64 takes its public network from " .. plan.POOL .. ": " .. v4.public.subnet)

-- a NAT64 run beside another NAT64 run's public network and a CGN's inside, with a CGN of its own
local taken = { "100.64.0.0/16", "100.96.3.0/24", "172.17.0.0/16" }
local n = fresh("r2")
local gw = n:gateway { name = "gw", cmd = CMD }
local r = n:router { name = "r64", ip = "v6only", nat64 = true }
local p = n:peer { name = "p", router = r, cmd = CMD }
local cgn = n:router { name = "cgn", nat = "cgnat" }
local home = n:router { name = "home", behind = cgn }
n:peer { name = "q", router = home, cmd = CMD }
plan.plan(n, taken)
local pub = n.public.subnet
t.ok(core.subnet_contains(nat64.PUBLIC_POOL, core.subnet_host(pub, 1)),
  "the public network is in 100.64.0.0/10: " .. pub)
for _, s in ipairs(taken) do
  t.ok(not core.subnet_overlaps(pub, s), ("it overlaps no taken subnet (%s)"):format(s))
end
t.ok(nat64.translatable(gw.public_ip), "the gateway's address " .. gw.public_ip .. " is one tayga translates")
t.ok(nat64.translatable(r.wan_ip), "so is the router's WAN address " .. r.wan_ip)
t.ok(not core.subnet_overlaps(pub, cgn.lan.subnet),
  ("the CGN's inside %s is carved around it"):format(cgn.lan.subnet))
t.ok(core.subnet_contains(plan.POOL, p.endpoint_ip), "LANs still come from the pool: " .. p.router.lan.subnet)

-- a v6only LAN's node has no IPv4 address (bring-up takes the engine's away): private_ip nil,
-- the plan's address kept as endpoint_ip; its IPv4 traffic leaves by NAT64 from its router's
t.ok(p.private_ip == nil and core.subnet_contains(r.lan.subnet, p.endpoint_ip),
  ("the v6only peer has no private_ip; endpoint_ip %s is on its LAN %s"):format(p.endpoint_ip, r.lan.subnet))
t.is(p.public_ip, r.wan_ip, "its public_ip is its router's WAN address (NAT64)")
t.like(p.private_ip6 or "", "^2001:db8:", "it has its IPv6 address " .. tostring(p.private_ip6))
t.is(n.by_name.q.private_ip, n.by_name.q.endpoint_ip, "a v4 peer's private_ip is its endpoint_ip, as before")
t.is(p:addr(4000), "[" .. p.public_ip6 .. "]:4000", "its addr() is its IPv6 one alone")
t.like(tostring(p), "private nil, public " .. r.wan_ip:gsub("%p", "%%%0"), "tostring: no private IPv4")
local dtext = require("natrig.dump")(n, { print = false })
t.like(dtext, "peer%s+p%s+" .. p.private_ip6:gsub("%p", "%%%0") .. " %-> " .. r.wan_ip:gsub("%p", "%%%0"),
  "dump shows its IPv6 address and its router's public one")
local p2 = n:peer { name = "p2", router = r, cmd = CMD }
plan.place_node(n, p2)
local impair, partition = require "natrig.impair", require "natrig.partition"
t.is(impair.addr_from(p2, p, "v4"), nil, "impairment: p2 has no IPv4 address for p on their LAN")
t.is(impair.addr_from(p2, p, "v6"), p.private_ip6, "and reaches it at its IPv6 address")
t.is(#partition.router_cuts(p, p2), 0, "a partition cuts no IPv4 hairpin between two v6only peers")
local cgn_ips = {}
for _, m in ipairs(require("natrig.cgn").members(cgn)) do cgn_ips[#cgn_ips + 1] = tostring(m.ip) end
t.is(table.concat(cgn_ips, " "), home.wan_ip, "a CGN's members keep their addresses")

-- bad input: a NAT64 router added to a network brought up without one
local up = fresh("r3")
up:gateway { name = "g", cmd = CMD }
plan.plan(up, {})
up.state, up.v6 = "up", true
local before = #up.routers
t.raises(function() up:router { ip = "v6only", nat64 = true } end,
  "nat64 = true on a network brought up without a NAT64 router: its public network .* is not in 100%.64%.0%.0/10",
  "a NAT64 router added to a running network without one is refused")
t.is(#up.routers, before, "nothing was declared")

-- a v6only LAN has no IPv4 (natrig.ip6.drop4): what is taken away, found by the link's IPv6 address
local ip6 = require "natrig.ip6"
local text = table.concat({
  "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
  "4012: eth0    inet 10.1.2.3/24 brd 10.1.2.255 scope global eth0\\       valid_lft forever preferred_lft forever",
  "4012: eth0    inet6 2001:db8:7:1::3/64 scope global nodad \\       valid_lft forever preferred_lft forever",
  "4013: eth1@if4014    inet6 2001:db8:7:2::fe/64 scope global nodad \\       valid_lft forever preferred_lft forever",
}, "\n")
local argvs = ip6.drop4_argvs(text, "2001:db8:7:1::3", true)
t.is(#argvs == 2 and table.concat(argvs[1], " ") .. "; " .. table.concat(argvs[2], " "),
  "ip -4 addr flush dev eth0; ip -4 route flush table main", "a node: its link's IPv4 addresses and every IPv4 route")
t.is(table.concat(ip6.drop4_argvs(text, "2001:db8:7:2::fe", false)[1], " "), "ip -4 addr flush dev eth1",
  "a router: its LAN link's addresses only (its WAN keeps its routes)")
t.raises(function() ip6.drop4_argvs(text, "2001:db8:9::1", true) end, "no interface carries 2001:db8:9::1",
  "no link with that IPv6 address: an error naming it")
local pm = fresh("r4")
t.raises(function() pm:router { ip = "v6only", portmap = true } end,
  'portmap on a v6only router: .*a v6only LAN has no IPv4; give it ip = "dual"',
  "portmap on a v6only router is refused")
t.is(#pm.routers, 0, "nothing was declared")
t.done()
