-- NPTv6 (RFC 6296) planning (natrig.ip6, core/npt6; issue 25), pure: no engine. A router with
-- npt6 = true translates its LAN's /64 to a checksum-neutral /64 of a /48 the run takes
-- beside its own; npt6 = a /48 or a neutral /64 is used as given; a node behind it is seen
-- at the outside prefix with its own suffix (1:1); public hosts route both prefixes via the
-- router; the firewall's ruleset carries the stateless rules. Bad input is refused before
-- anything is made.
local t = require "tap"
require "natrig" -- its searcher finds the embedded modules
local core = require "natrig.core"
local network = require "natrig.network"
local plan = require "natrig.plan"
local ip6 = require "natrig.ip6"
local nat = require "natrig.nat"

local function fresh(id)
  return setmetatable({ state = "declared", by_name = {}, nodes = {}, routers = {}, actions = {},
    counters = { peer = 0, gateway = 0, router = 0, node = 0 }, log = function() end,
    session = { run_id = id or "r1", name = function(_, n) return n end }, pool = plan.POOL }, network.Network)
end
local CMD = { "sleep", "600" }

-- bad input: refused at declaration, nothing declared
local bad = fresh()
t.raises(function() bad:router { npt6 = true } end,
  'npt6 on a router without IPv6 %(ip = "v4"%): NPTv6 translates its LAN', "npt6 on a v4-only router is refused")
t.raises(function() bad:router { ip = "dual", npt6 = "2001:db8:1::/56" } end,
  "npt6 = 2001:db8:1::/56: want true, or an outside prefix in 2001:db8::/32, a /48", "a /56 is refused")
t.raises(function() bad:router { ip = "dual", npt6 = "fd00:1::/48" } end,
  "want true, or an outside prefix in 2001:db8::/32", "a prefix outside the lab's 2001:db8::/32 is refused")
t.raises(function() bad:router { ip = "dual", npt6 = "2001:db8:1::1/48" } end, "host bits",
  "a prefix with host bits is refused, with the parser's reason")
t.raises(function() bad:router { ip = "dual", npt6 = 5 } end, "option 'npt6' must be boolean or string",
  "npt6 = 5 is refused by the typed router options")
t.is(#bad.routers, 0, "nothing was declared")

-- npt6 = true
local n = fresh("r5")
local gw = n:gateway { name = "gw", cmd = CMD, ip = "dual" }
local r = n:router { name = "r", ip = "dual", npt6 = true }
local p = n:peer { name = "p", router = r, cmd = CMD }
local r2 = n:router { name = "r2", ip = "dual" }
local taken = { "2001:db8::/48", "172.17.0.0/16" }
plan.plan(n, taken)
t.like(n.npt_block6, "^2001:db8:%x+::/48$", "the run takes a second /48 for NPTv6: " .. tostring(n.npt_block6))
t.ok(n.npt_block6 ~= n.block6 and n.npt_block6 ~= "2001:db8::/48", "neither its own nor a taken one")
t.ok(core.subnet6_contains(n.npt_block6, r.npt6_prefix:match("^(.-)/")),
  ("the router's outside /64 %s is in it"):format(r.npt6_prefix))
t.is(core.npt6_outside(r.lan.subnet6, r.npt6_prefix), r.npt6_prefix,
  "and checksum-neutral with its LAN " .. r.lan.subnet6)
t.ok(p.public_ip6 ~= p.private_ip6 and core.subnet6_contains(r.npt6_prefix, p.public_ip6),
  ("the peer %s is seen at %s"):format(p.private_ip6, p.public_ip6))
t.ok(p.private_ip6 == core.subnet6_host(r.lan.subnet6, 2) and p.public_ip6 == core.subnet6_host(r.npt6_prefix, 2),
  "with the same suffix, host 2 on both sides (1:1)")
t.is(r2.npt6_prefix, nil, "a router without npt6 has none")
local routes = {}
for _, rt in ipairs(ip6.lan_routes(n, gw)) do routes[rt.prefix] = rt.via end
t.is(routes[r.npt6_prefix], r.wan_ip6, "public hosts route the outside prefix via the router")
t.is(routes[r.lan.subnet6], r.wan_ip6, "and still the inside one (nothing skirts the router)")
local text = core.nat_ruleset(nat.spec6(r), r.wan_ip6, { r.lan.subnet6 })
t.ok(text:find("chain npt_in {", 1, true) and text:find("ip6 daddr " .. r.npt6_prefix .. " @nh,192,64 set 0x", 1, true),
  "the firewall's ruleset rewrites the outside destination prefix (raw payload, before the guard)")
t.ok(text:find("ip6 saddr " .. r.lan.subnet6 .. " ip6 daddr != @lan_nets @nh,64,64 set 0x", 1, true),
  "and the LAN's source prefix on the way out")
t.ok(not text:find("snat", 1, true) and not text:find("dnat", 1, true), "stateless: no NAT statement")

-- a given /48, a given /64, and what is refused at planning (nothing is made yet)
local g = fresh("r6")
local ra = g:router { name = "ra", ip = "dual", npt6 = "2001:db8:abcd::/48" }
g:peer { name = "pa", router = ra, cmd = CMD }
plan.plan(g, {})
t.like(ra.npt6_prefix, "^2001:db8:abcd:%x+::/64$", "a given /48: the neutral /64 in it, " .. ra.npt6_prefix)
local neutral = ra.npt6_prefix
local h = fresh("r6")
local rb = h:router { name = "rb", ip = "dual", npt6 = neutral }
plan.plan(h, {})
t.is(rb.npt6_prefix, neutral, "a given neutral /64 is used as it is")
local k = fresh("r6")
k:router { name = "rc", ip = "dual", npt6 = "2001:db8:abcd:1::/64" }
t.raises(function() plan.plan(k, {}) end, "rc: 2001:db8:abcd:1::/64 is not checksum%-neutral.*"
  .. neutral:gsub("%p", "%%%0") .. " is, or give a /48", "a /64 that is not neutral: refused, naming the one that is")
local probe = fresh("r7")
probe:router { name = "rd", ip = "dual" }
plan.plan(probe, {})
local own = fresh("r7") -- the same run id and taken list plan the same /48
own:router { name = "rd", ip = "dual", npt6 = probe.block6 }
t.raises(function() plan.plan(own, {}) end,
  "npt6 = " .. probe.block6:gsub("%p", "%%%0") .. " on rd is inside the run's own prefix",
  "an outside prefix inside the run's own /48 is refused")
t.done()
