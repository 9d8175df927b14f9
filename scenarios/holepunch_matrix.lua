-- Hole-punching fidelity matrix: for every pair of NAT presets, two natrig-peers try to
-- punch through each other's NAT via a rendezvous, in both orders of arrival (one side
-- starts punching a second before the other, so its first packets reach the other NAT
-- before that NAT's own peer has sent), over UDP and over TCP (natrig-peer --tcp: a TCP
-- simultaneous open). Each cell: what happened, and whether it is what RFC 4787 (UDP) or
-- RFC 5382 (TCP) behaviour predicts (natrig.holepunch). Passes when every cell matches.
--   natrig run scenarios/holepunch_matrix.lua presets=full_cone,symmetric batch=12 proto=tcp
-- As a sweep, one case per cell: `first` x `second` x `proto` x `mapped` (6 x 6 x 2 x 2: the
-- peer behind `first` punches first; mapped=a: a's router has port mapping on (NAT-PMP), its
-- peer asks for a mapping (UDP, and TCP too over tcp) and registers the mapped endpoint with
-- the rendezvous, so the other side punches to it), each case its own network, a pass-rate
-- grid in the HTML, and the path net:path saw between the two peers as the report's path
-- column (net:record_path). Columns: proto, NATs, first, got, expected, mapped, path.
--   natrig sweep scenarios/holepunch_matrix.lua --repeat 3 -j 4 --html r.html
-- Over IPv6 (family=6): the cells are IPv6 firewalls (RFC 6092 filtering6 modes: EIF, ADF,
-- APDF, closed, open) instead of NAT presets, every router dual-stack, the rendezvous serving
-- IPv6 and the peers punching over it (UDP), judged by natrig.holepunch.predict6.
-- `presets`, `first`, `second` then name modes; the proto column reads udp6. As a sweep:
-- scenarios/holepunch6_matrix.lua (its axes are the firewalls).
--   natrig run scenarios/holepunch_matrix.lua family=6 cells=APDF/APDF,APDF/closed,EIF/ADF
-- cells=A/B,...: just those pairs (both orders of arrival where A and B differ).
-- The runner is natrig.holepunch_run (shared with holepunch6_matrix.lua).
return natrig.scenario {
  name = "hole-punching matrix",
  params = { presets = "", batch = 12, delay_ms = 1000, punch_timeout = 6, first = "", second = "",
    proto = "", mapped = "none", family = 4, cells = "" },
  matrix = { first = natrig.core.nat_presets(), second = natrig.core.nat_presets(), proto = { "udp", "tcp" },
    mapped = { "none", "a" } },
  timeout = 900,
  run = function(_, p)
    require("natrig.holepunch_run").run(p)
  end,
}
