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
-- TCP (RFC 5382): each NAT's TCP behaviour, the racy NAT as measured (tests/nat/netns-tcp)
local function pt(a, b, first, opts_a)
  return (hp.predict(nat.resolve(a, opts_a), nat.resolve(b), first or "a", "tcp"))
end
t.is(pt("port_restricted", "port_restricted"), "direct", "tcp: cone <-> cone: direct")
t.is(pt("symmetric", "symmetric"), "failed", "tcp: symmetric <-> symmetric: failed")
t.is(pt("full_cone", "symmetric"), "direct", "tcp: full cone <-> symmetric: direct (the listener takes it)")
t.is(pt("port_restricted", "symmetric"), "failed", "tcp: port restricted <-> symmetric: failed")
t.is(pt("linux_masquerade", "port_restricted", "b"), "direct",
  "tcp: port restricted first into the racy NAT: direct (the kernel reuses the closed entry's port)")
t.is(pt("linux_masquerade", "linux_masquerade"), "either", "tcp: racy <-> racy: either (only SYNs that cross connect)")
t.ok(hp.agrees("direct", "either") and hp.agrees("failed", "either") and not hp.agrees(nil, "either"),
  "agrees: either takes direct and failed, not a missing outcome")
t.ok(hp.agrees("failed", "failed") and not hp.agrees("direct", "failed"),
  "agrees: otherwise the outcome is the prediction")
t.is(pt("full_cone", "symmetric", "a", { tcp = { filtering = "APDF" } }), "failed",
  "tcp: TCP set apart (tcp.filtering = APDF) is what counts")
t.is(p("full_cone", "symmetric"), "direct", "udp of the same pair stays direct")
-- IPv6 (RFC 6092 firewalls, no translation): every stateful pair punches, a closed side fails
local p6 = hp.predict6
t.is(p6("APDF", "APDF"), "direct", "v6: APDF x APDF: direct (simultaneous sends open both)")
t.is(p6("EIF", "ADF"), "direct", "v6: EIF x ADF: direct")
t.is(p6("open", "APDF"), "direct", "v6: open x APDF: direct")
t.is(p6("APDF", "closed"), "failed", "v6: APDF x closed: failed (the closed side never hears the rendezvous)")
t.is(p6("closed", "open"), "failed", "v6: closed x open: failed")
t.is(p6("closed", "closed"), "failed", "v6: closed x closed: failed")
local n = 0
for _, a in ipairs(hp.FW6) do for _, b in ipairs(hp.FW6) do
  if (p6(a, b) == "direct") == (a ~= "closed" and b ~= "closed") then n = n + 1 end
end end
t.is(n, 25, "v6: all 25 pairs: direct exactly when neither side is closed")
local ok, err = pcall(p6, "APDM", "APDF")
t.ok(not ok and tostring(err):find("filtering6 APDM") ~= nil, "v6: an unknown mode is refused: " .. tostring(err))
t.done()
