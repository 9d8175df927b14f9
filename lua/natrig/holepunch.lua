-- natrig.holepunch: what RFC 4787 behaviour predicts for simultaneous UDP hole punching
-- between two NATs (pure; unit-tested), and a runner that measures it with natrig-peer.
--
-- Prediction, for peers that learn each other's public endpoint from a rendezvous and then
-- send to it from the same socket (natrig-peer does):
--  * both NATs endpoint-independent mapping (EIM), faithful: direct. Each side's packets
--    come from the port the rendezvous saw, and each side's own sends open its filter.
--  * one NAT non-EIM (ADM/APDM): its packets to the other come from a port the other never
--    learned; direct only if the other NAT's filtering ignores the port (EIF or ADF) and
--    the other is EIM (so replies reach the port the non-EIM side opened). Both non-EIM:
--    failed.
--  * a racy NAT (linux_masquerade): a packet that reaches it before its own peer has sent
--    creates a conntrack entry; its peer's mapping then moves to another port. That is
--    harmless when the other NAT ignores ports (EIF/ADF), fatal when the other filters
--    by port (APDF) -- unless the racy side sent first, so no unsolicited packet reached
--    it. Two racy NATs: the second one to send always loses its port.
--  * mapped (a router with portmap on, and the peer asked it for a mapping by UPnP, NAT-PMP
--    or PCP, natrig.portmap): that side is reachable at its mapped port from any address,
--    whatever its preset, so the other side's first packet gets through and the reply
--    comes back from the very address:port it sent to, which every filter accepts. Direct,
--    with any NAT on the other side (tests/engine/portmap_test.lua measures a symmetric one).
-- TCP (proto "tcp", RFC 5382; natrig-peer --tcp: simultaneous open, each peer also listening
-- on the port it connect()s from): the same rules over each NAT's TCP mapping and filtering
-- (router.nat.tcp), with two differences for the racy NAT, measured on Linux 6.18
-- (tests/nat/netns-tcp): the SYN that reaches it first is answered RST by its own stack and
-- the conntrack entry it leaves is closed, and the kernel reuses a closed entry's port, so
-- its peer keeps its port: racy with a faithful NAT is direct in both orders; two racy NATs
-- are "either": each stack resets a SYN that arrives before its own peer's SYN left, so they
-- fail unless two SYNs cross in flight (connect()s within about one path delay of each
-- other). The peers' punch timers keep one offset on a quiet machine (failed, every time
-- here); load moves it, and once in a loaded make test the 51st attempt crossed (direct).
-- An unsolicited SYN answered with
-- RST (syn = "rst") costs a refused connect(), not the punch: the listener takes the other
-- side's SYN.
local M = {}

local rank = { EIF = 1, ADF = 2, APDF = 3 }

-- a NAT's TCP behaviour as predict reads it (a resolved spec's tcp table, else its own)
local function tcp_view(s)
  local t = s.tcp or {}
  return { mapping = t.mapping or s.mapping, filtering = t.filtering or s.filtering, mapped = s.mapped }
end

-- a, b: nat specs {mapping, filtering, racy, mapped, tcp}; first: "a" or "b", whose packets
-- start first; proto: "udp" (the default) or "tcp". Returns "direct", "failed" or "either"
-- (timing decides: M.agrees), and a reason.
function M.predict(a, b, first, proto)
  if proto == "tcp" then
    if a.racy and b.racy and not (a.mapped or b.mapped) then
      return "either", "two racy NATs: each router's own stack resets a SYN that arrives before its peer's "
        .. "left; only two SYNs that cross in flight connect"
    end
    return M.predict(tcp_view(a), tcp_view(b), first)
  end
  if a.mapped or b.mapped then
    return "direct", "a port mapping makes that side reachable at its mapped port from any address"
  end
  local a_eim, b_eim = a.mapping == "EIM", b.mapping == "EIM"
  if not a_eim and not b_eim then return "failed", "neither NAT keeps one mapping per socket" end
  if not a_eim or not b_eim then
    local eim = a_eim and a or b
    if rank[eim.filtering] <= 2 and not eim.racy then
      return "direct", "the EIM side's filter ignores the port the other side's new mapping uses"
    end
    return "failed", "the non-EIM side's packets come from a port the other NAT's filter does not accept"
  end
  if not a.racy and not b.racy then return "direct", "both NATs keep one mapping per socket and filter faithfully" end
  if a.racy and b.racy then return "failed", "two racy NATs: the later sender's mapping moves" end
  local other, racy_is = a.racy and b or a, a.racy and "a" or "b"
  if rank[other.filtering] <= 2 then
    return "direct", "the other NAT's filter ignores the port the racy NAT moved to"
  end
  if first == racy_is then return "direct", "the racy NAT's peer sent first, so nothing unsolicited reached it" end
  return "failed", "an unsolicited packet reached the racy NAT first and moved its peer's mapping"
end

-- IPv6 (RFC 6092): no translation, so the endpoint the rendezvous saw is each peer's own and
-- no mapping moves (no race); a stateful firewall (EIF, ADF, APDF) lets in what answers the
-- LAN's own outbound packets, and each side's PUNCHes open its firewall for exactly the other's
-- endpoint: simultaneous sends punch through every pair of them, in either order of arrival
-- (the first side's early packets are dropped until the other sends). "open" filters nothing.
-- "closed" lets no UDP in, replies included, so its peer never hears the rendezvous (its
-- REGISTERED and PEERS are replies too): it learns no endpoint and punches nothing, while the
-- other side punches into the closed firewall: failed. (Peers that know each other's
-- address beforehand, as in tests/nat/netns-fw6, get one-way instead: the closed side's
-- packets reach the other.)
M.FW6 = { "EIF", "ADF", "APDF", "closed", "open" } -- natrig.ip6.FILTERING6, in the table's order

--- Does an outcome ("direct" or "failed") agree with a prediction? "either" takes both.
function M.agrees(got, want)
  return got == want or (want == "either" and (got == "direct" or got == "failed"))
end

--- What RFC 6092 predicts for a punch over IPv6 between firewalls fa and fb (filtering6
-- modes), peers that meet through a rendezvous; first does not matter. Returns "direct" or
-- "failed", and a reason.
-- @tparam string fa A's firewall: "EIF", "ADF", "APDF", "closed" or "open"
-- @tparam string fb B's firewall
-- @treturn string "direct" or "failed"
-- @treturn string why
function M.predict6(fa, fb)
  for _, f in ipairs({ fa, fb }) do
    if not require("natrig.ip6").FILTERING6[f] then
      error(("filtering6 %s: want one of %s"):format(tostring(f), table.concat(M.FW6, ", ")), 0)
    end
  end
  if fa == "closed" and fb == "closed" then return "failed", "both firewalls closed: no UDP gets in either way" end
  if fa == "closed" or fb == "closed" then
    return "failed", "a closed firewall lets no UDP in, the rendezvous's answers included: its peer learns no endpoint"
  end
  return "direct", "no translation: each side's own packets open its firewall for the other's endpoint"
end

return M
