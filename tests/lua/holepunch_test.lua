-- The RFC 4787 hole-punching prediction (pure).
local t = require "tap"
require "natrig" -- registers the embedded modules
local hp = require "natrig.holepunch"
local nat = require "natrig.nat"
local function p(a, b, first) return (hp.predict(nat.resolve(a), nat.resolve(b), first or "a")) end
t.is(p("port_restricted", "port_restricted"), "direct", "cone <-> cone: direct")
t.is(p("full_cone", "symmetric"), "direct", "full cone <-> symmetric: direct (EIF ignores the new port)")
t.is(p("restricted_cone", "symmetric"), "direct", "restricted cone <-> symmetric: direct (ADF)")
t.is(p("port_restricted", "symmetric"), "failed", "port restricted <-> symmetric: failed")
t.is(p("symmetric", "symmetric"), "failed", "symmetric <-> symmetric: failed")
t.is(p("address_dependent", "port_restricted"), "failed", "ADM <-> port restricted: failed")
t.is(p("address_dependent", "full_cone"), "direct", "ADM <-> full cone: direct")
t.is(p("linux_masquerade", "port_restricted", "a"), "direct", "racy first, port restricted second: direct")
t.is(p("linux_masquerade", "port_restricted", "b"), "failed", "port restricted first into the racy NAT: failed")
t.is(p("linux_masquerade", "full_cone", "b"), "direct", "racy <-> full cone: direct either way")
t.is(p("linux_masquerade", "linux_masquerade"), "failed", "racy <-> racy: failed")
t.done()
