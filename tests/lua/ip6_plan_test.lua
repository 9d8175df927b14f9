-- IPv6 addressing (natrig.ip6, issue 25 items 1 and 5), pure: no engine. The families a
-- router, gateway and node speak, the bad input refused when it is declared (nothing is
-- made), the run's /48 of 2001:db8::/32 around the engines' taken prefixes, the /64s of
-- the public network and each IPv6 LAN, host numbers equal to the IPv4 ones, and a v4-only
-- network planned exactly as before (no IPv6 at all).
local t = require "tap"
require "natrig" -- its searcher finds the embedded modules
local core = require "natrig.core"
local network = require "natrig.network"
local plan = require "natrig.plan"
local ip6 = require "natrig.ip6"

local function fresh()
  return setmetatable({ state = "declared", by_name = {}, nodes = {}, routers = {}, actions = {},
    counters = { peer = 0, gateway = 0, router = 0, node = 0 }, log = function() end,
    session = { run_id = "r1", name = function(_, n) return n end }, pool = plan.POOL }, network.Network)
end
local CMD = { "sleep", "600" }

-- the parser ----------------------------------------------------------------------------
t.is(core.ip6_parse("2001:DB8:0:0::1"), "2001:db8::1", "ip6_parse gives the canonical text")
t.is(core.ip6_parse("2001:db8::1%eth0"), nil, "a zone is refused")
t.is(core.ip6_parse_prefix("2001:db8::/32"), "2001:db8::/32", "a prefix")
local none, why = core.ip6_parse_prefix("2001:db8::1/64")
t.ok(none == nil and why:find("host bits"), "a prefix with host bits is refused: " .. tostring(why))
t.is(core.subnet6_host("2001:db8:1:2::/64", 254), "2001:db8:1:2::fe", "host 254")
t.ok(core.subnet6_contains("2001:db8:1::/48", "2001:db8:1:2::5"), "contains")

-- bad input: refused at declaration ------------------------------------------------------
local net = fresh()
t.raises(function() net:router { ip = "v5" } end,
  'net:router.*ip = v5: want "dual", "v4" or "v6only"', "an unknown family is refused")
t.raises(function() net:router { filtering6 = "APDF" } end,
  'filtering6 = APDF on a router without IPv6 %(ip = "v4"%): give it ip = "dual"',
  "an IPv6 filtering mode on a v4-only router is refused")
t.raises(function() net:router { ip = "dual", filtering6 = "strict" } end,
  'filtering6 = strict: want "EIF", "ADF", "APDF" %(the default%), "closed" or "open"', "an unknown filtering mode")
local up4 = net:router { name = "up4" }
t.raises(function() net:router { ip = "v6only", behind = up4 } end,
  'ip = "v6only" behind up4, which has no IPv6 %(ip = "v4"%)', "v6only behind a router with no IPv6 is refused")
t.raises(function() net:peer { ip = "dual", behind = up4, cmd = CMD } end,
  'behind up4, which has no IPv6', "a dual peer behind a v4 upstream too")
local r4 = net:router { name = "r4" }
t.raises(function() net:peer { ip = "dual", router = r4, cmd = CMD } end,
  'ip = "dual", but its router r4 is "v4"', "a dual peer behind a v4 router is refused")
t.raises(function() net:gateway { filtering6 = "EIF", cmd = CMD } end,
  "filtering6 is a router's", "filtering6 on a gateway is refused")
t.is(#net.nodes, 0, "nothing was declared by the refused calls (no node)")
local up = fresh()
up.state = "up"
t.raises(function() up:gateway { ip = "dual", cmd = CMD } end,
  "network brought up without IPv6", "IPv6 added to a running v4-only network is refused")

-- NATRIG_IP sets the default ----------------------------------------------------------------
t.is(ip6.family("x", nil), core.getenv("NATRIG_IP") or "v4", "the default family (NATRIG_IP, else v4)")
t.is(ip6.family("x", "dual"), "dual", "an explicit family wins")

-- the plan -----------------------------------------------------------------------------
local v4 = fresh()
v4:gateway { name = "g", cmd = CMD }
v4:peer { name = "p", cmd = CMD, ip = "v4" }
plan.plan(v4, {})
t.is(v4.v6, false, "a v4-only network has no IPv6")
t.is(v4.public.subnet6, nil, "its public network has no IPv6 prefix")
t.is(v4.nodes[2].private_ip6, nil, "its peer no IPv6 address")
t.is(v4.nodes[2].seg_ip6, nil, "nor an unused one")

local d = fresh()
local gw = d:gateway { name = "gw", cmd = CMD, ip = "dual" }
local a = d:peer { name = "a", cmd = CMD, ip = "dual", filtering6 = nil }
local c = d:peer { name = "c", cmd = CMD } -- v4 beside them
local g6 = d:gateway { name = "g6", cmd = CMD, ip = "v6only" }
local taken = { "172.17.0.0/16", "2001:db8::/48", "fd00::/64" }
plan.plan(d, taken)
t.ok(d.v6, "a network with a dual element has IPv6")
local block = d.block6
t.like(block, "^2001:db8:[%x]+::/48$", "the run's block is a /48 of 2001:db8::/32: " .. block)
t.ok(not core.subnet6_contains("2001:db8::/48", block:match("^(.-)/")), "it avoids a taken /48")
t.is(d.public.subnet6, block:gsub("/48$", "/64"), "the public network is its first /64")
t.is(a.router.lan.subnet6, block:gsub("::/48$", ":1::/64"), "the first IPv6 LAN the next /64")
t.is(c.router.lan.subnet6, nil, "a v4 router's LAN has no IPv6")
local pre = d.public.subnet6:gsub("/64$", "")
t.is(gw.private_ip6, pre .. "2", "the gateway's IPv6 host number is its IPv4 one (.2)")
t.is(gw.public_ip6, gw.private_ip6, "a gateway's public IPv6 is its own")
t.ok(g6.private_ip == nil and g6.public_ip == nil, "a v6only gateway has no IPv4 address (no private_ip, public_ip)")
t.is(g6.endpoint_ip, d.public.subnet:match("^(%d+%.%d+%.%d+%.)") .. "3",
  "the engine's endpoint still gets one from the plan (.3, taken away at bring-up)")
t.is(g6.public_ip6, pre .. "3", "its IPv6 host number is that one's")
t.is(a.router.wan_ip6, pre .. "4", "the dual router's WAN (.4)")
t.is(a.router.lan_ip6, a.router.lan.subnet6:gsub("/64$", "fe"), "a router's LAN address is ::fe")
t.is(a.private_ip6, a.router.lan.subnet6:gsub("/64$", "2"), "the peer's LAN address")
t.is(a.public_ip6, a.private_ip6, "no translation: its public IPv6 is its own")
t.is(c.router.wan_ip6, nil, "a v4 router has no IPv6 ...")
t.is(c.router.wan_seg6, pre .. "5", "... but its endpoint on the public network is planned (IPv6 off in it)")
t.is(ip6.disabled(c.router.wan, c.router.wan_ip6), "1", "and IPv6 is switched off in it")
t.is(ip6.disabled(a.router.wan, a.router.wan_ip6), nil, "not in a dual one")
local routes = ip6.lan_routes(d, gw)
t.is(#routes, 1, "the public network routes one IPv6 LAN")
t.is(routes[1].prefix .. " via " .. routes[1].via, a.router.lan.subnet6 .. " via " .. a.router.wan_ip6,
  "through its router's WAN address")
-- a second run on the same engine takes another /48
local d2 = fresh()
d2.session = { run_id = "r1", name = function(_, n) return n end }
d2:gateway { name = "gw", cmd = CMD, ip = "dual" }
plan.plan(d2, { d.public.subnet6, a.router.lan.subnet6 })
t.ok(d2.block6 ~= d.block6, "a run planned against the first one's prefixes takes another /48: " .. d2.block6)
a.profile = { port = 31337 }
local s4, s6 = a:addr(4000)
t.is(s4 .. " " .. s6, a.public_ip .. ":4000 [" .. a.public_ip6 .. "]:4000", "node:addr gives both families")
t.done()
