-- impair{ family = ... } without an engine: the key as core/impair reads it, which families
-- a node can be shaped in, and the refusals that come before anything runs (issue 25 item 4).
-- The shaping itself is measured in tests/shaper/netns-family (namespaces) and
-- tests/engine/impair_family_test.lua (containers).
local t = require "tap"
require "natrig"
local core = require "natrig.core"
local impair = require "natrig.impair"
local shaper = require "natrig.shaper"

local toks, dir, empty, fam = core.impair_check { delay = "100ms", family = "v6" }
t.is(table.concat(toks, " "), "delay=100ms family=v6", "family=v6 is a canonical token")
t.is(dir, "egress", "direction stays egress")
t.is(empty, false, "a delay is not empty")
t.is(fam, "v6", "the family comes back")
t.is(select(4, core.impair_check { delay = "1ms" }), "both", "default family: both")
t.is(select(4, core.impair_check { preset = "lan", family = "IPv4" }), "v4", "IPv4 reads as v4")
t.raises(function() core.impair_check { delay = "1ms", family = "v5" } end,
  "family: unknown family 'v5' %(valid: v4, v6, both%)", "family=v5 refused")

local v4 = { name = "a", private_ip = "10.0.0.2" }
local dual = { name = "b", private_ip = "10.0.0.3", private_ip6 = "2001:db8:1::3" }
local v6only = { name = "c", ip = "v6only", private_ip = "10.0.0.4", private_ip6 = "2001:db8:1::4" }
local router = { name = "r", wan_ip = "10.0.0.1", wan_ip6 = "2001:db8::1" }
local function fams(x) local f = shaper.families(x); return (f.v4 and "v4" or "") .. (f.v6 and "v6" or "") end
t.is(fams(v4), "v4", "an IPv4 node: v4")
t.is(fams(dual), "v4v6", "a dual-stack node: both")
t.is(fams(v6only), "v6", "a v6-only node: v6 (its IPv4 host number is not an address)")
t.is(fams(router), "v4v6", "a dual-stack router, by its WAN addresses")
t.is(shaper.link_addr(v6only, "v6"), "2001:db8:1::4", "a v6-only node's link is found by its IPv6 address")
t.is(shaper.link_addr(v6only, "v4"), nil, "and has no IPv4 link")

-- a family the node lacks is refused before anything runs (no engine is touched: x has none)
local net = { log = function() end }
t.raises(function() impair.apply(net, v4, { delay = "100ms", family = "v6" }) end,
  "impair a: family = \"v6\", but a has no IPv6 address %(give it ip = \"dual\" or \"v6only\"%)",
  "family=v6 on an IPv4-only node")
t.raises(function() impair.apply(net, v6only, { delay = "100ms", family = "v4" }) end,
  "impair c: family = \"v4\", but c has no IPv4 address %(it is ip = \"v6only\"; give it ip = \"dual\"%)",
  "family=v4 on a v6-only node")
t.raises(function() impair.link(net, dual, v4, { delay = "10ms", family = "v6" }) end,
  "impair_link: b %-> a: no IPv6 address on both ends %(family = \"v6\"%)", "family=v6 on a link to an IPv4 node")
-- the address a link is keyed by, per family: b's public one, or its private one behind the same router
local r = { name = "r" }
local p1 = { name = "p1", router = r, private_ip = "10.1.0.2", public_ip = "10.0.0.9", private_ip6 = "2001:db8:1::2",
  public_ip6 = "2001:db8:1::2" }
local p2 = { name = "p2", router = r, private_ip = "10.1.0.3", public_ip = "10.0.0.9", private_ip6 = "2001:db8:1::3",
  public_ip6 = "2001:db8:1::3" }
t.is(impair.addr_from(p1, p2), "10.1.0.3", "IPv4 behind the same router: its private address")
t.is(impair.addr_from(p1, p2, "v6"), "2001:db8:1::3", "IPv6 behind the same router: its own")
t.is(impair.addr_from(dual, p2, "v6"), "2001:db8:1::3", "IPv6 from outside: its public IPv6 address (no NAT)")
t.is(impair.addr_from(dual, p2), "10.0.0.9", "IPv4 from outside: its router's address")
t.done()
