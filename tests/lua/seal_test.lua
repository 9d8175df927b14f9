-- The sealed lab's nft text (pure): batches, and the parsers of what nft 1.0.6 printed
-- for a real table (tests/fixtures/seal: a source namespace sent 3 datagrams to
-- 203.0.113.7:9, a TCP SYN to :443 and 2 pings through a table made by these batches).
local t = require "tap"
require "natrig" -- registers the embedded modules
local core = require "natrig.core"
local nftx = require "natrig.seal_nft"
local seal = require "natrig.seal"

local FIX = (os.getenv("NATRIG_FIXTURES") or "tests/fixtures") .. "/seal/"
local function has(s, sub) return s:find(sub, 1, true) ~= nil end

-- batches
local base = nftx.base_batch("R1")
t.ok(has(base, "chain forward { type filter hook forward priority filter - 10; policy accept; }"),
  "the forward hook runs before Docker's filter chain")
t.ok(has(base, 'seal ip6 saddr 2001:db8::/32 ip6 daddr 64:ff9b::/96 oifname "br-*" return\n'),
  "a NAT64 LAN's packets to 64:ff9b::/96 pass the seal when bridged (to their router), never routed by the host")
t.ok(has(base, "seal ip6 saddr 2001:db8::/32 ip6 daddr != { 2001:db8::/32, fe80::/10, ff00::/8 } drop\n"),
  "IPv6 from lab addresses to anywhere but the lab, link-local and multicast is dropped")
t.ok(base:find("seal ip6 saddr[^\n]*drop\nadd rule inet natrig_seal seal meta nfproto != ipv4 return\n"),
  "every other IPv6 packet is not natrig's: it goes on (the host's own IPv6 is untouched)")
t.ok(has(base, "chain input { type filter hook input priority filter - 10;"), "and the input hook (the host itself)")
t.ok(has(base, "seal ip saddr != @nets return") and has(base, "seal ip daddr @nets return"),
  "only natrig sources to non-natrig destinations are judged")
t.ok(has(base, "seal ip daddr { 224.0.0.0/4, 255.255.255.255 } return"), "multicast and broadcast stay on the segment")
t.ok(has(base, "seal ip saddr vmap @runs") and base:find("add rule inet natrig_seal seal drop\n", 1, true),
  "each run's chain judges its packets; a natrig source without a run is dropped")
local block = base:match("^table inet natrig_seal {\n(.-)\n}\n") or ""
t.ok(has(block, "map runs {") and has(block, "chain run_R1 { }"),
  "the run's chain is declared in the same block as the map (nft 1.0.6 needs that)")
t.ok(has(base, "flush chain inet natrig_seal seal"), "base chains are refilled in the same transaction (idempotent)")
local sealed = nftx.run_batch("R1", { "10.1.0.0/22", "10.2.0.0/24" }, false)
t.ok(has(sealed, "meta l4proto { tcp, udp } update @esc_R1 { ip saddr . ip daddr . meta l4proto . th dport counter }"
  .. " add @escf_R1 { ip saddr . ip daddr . meta l4proto . th dport } drop"), "sealed: TCP/UDP counted, then dropped")
t.ok(has(sealed, "update @esco_R1 { ip saddr . ip daddr . meta l4proto counter } add @escof_R1"),
  "sealed: other protocols counted without a port")
t.ok(has(sealed, 'add element inet natrig_seal nets { 10.1.0.0/22 comment "R1", 10.2.0.0/24 comment "R1" }'),
  "subnets carry their run id")
t.ok(has(sealed, "add element inet natrig_seal runs { 10.1.0.0/22 : jump run_R1, 10.2.0.0/24 : jump run_R1 }"),
  "subnets map to the run's chain")
local open = nftx.run_batch("R1", { "10.1.0.0/22" }, true)
t.ok(has(open, "add rule inet natrig_seal run_R1 accept") and not has(open, "drop"), "outside = true: accept")
t.raises(function() nftx.run_batch("R1; flush ruleset", {}, false) end, "bad run id", "a run id is checked")
t.raises(function() nftx.add_batch("R1", { "10.0.0.0/8 }; flush ruleset" }) end, "bad subnet", "a subnet is checked")
t.is(nftx.add_batch("R1", {}), "", "nothing to add: nothing")

-- the listing
local st = nftx.parse_table(core.read_file(FIX .. "table.json"))
t.is(st.nets["10.252.1.0/24"], "R1", "parse_table: subnet -> run (element comment)")
t.is(#st.runs.R1, 2, "parse_table: the run's subnets")
t.ok(st.chains.run_R1 and st.sets.esc_R1 and st.sets.escof_R1, "parse_table: chains and sets")
t.is(next(nftx.parse_table("{}").nets), nil, "no table: empty state")
local rm = nftx.remove_batch(st, "R1", { "10.252.1.0/24", "10.9.9.0/24" }, true)
t.ok(has(rm, "delete element inet natrig_seal runs { 10.252.1.0/24 }")
  and has(rm, "delete element inet natrig_seal nets { 10.252.1.0/24 }") and not has(rm, "10.9.9.0"),
  "remove_batch deletes only the elements present (an absent one would fail the whole batch)")
t.ok(has(rm, "flush chain inet natrig_seal run_R1\ndelete chain inet natrig_seal run_R1")
  and has(rm, "delete set inet natrig_seal escof_R1"), "whole: its chain and sets go too")
t.is(nftx.remove_batch(st, "R2", { "10.9.9.0/24" }, true), "", "another run's: nothing of R1 touched")

t.is(nftx.duration("6d23h59m56s952ms"), 6 * 86400 + 23 * 3600 + 59 * 60 + 56.952, "duration")
local text = core.read_file(FIX .. "table.txt")
local now = 1000000
local esc = nftx.parse_escapes(text, "R1", now)
t.is(#esc, 3, "three escapes: udp/9, tcp/443, icmp")
local by = {}
for _, e in ipairs(esc) do by[e.proto .. "/" .. tostring(e.port)] = e end
local u = by["udp/9"]
t.ok(u and u.saddr == "10.252.1.2" and u.addr == "203.0.113.7" and u.count == 3 and u.bytes == 93,
  "udp/9: source, destination, count, bytes")
t.ok(u and math.abs((now - u.last) - 3.048) < 1e-6 and math.abs((now - u.first) - 3.072) < 1e-6,
  "times from expires (ms): last from the counted set, first from the added-only set")
t.ok(by["tcp/443"] and by["tcp/443"].count == 1, "the TCP SYN")
t.ok(by["icmp/nil"] and by["icmp/nil"].count == 2 and by["icmp/nil"].port == nil, "pings: no port")
t.is(#nftx.parse_escapes(text, "R2", now), 0, "another run's sets: none")

-- the summary line
for _, e in ipairs(esc) do e.node = "a" end
t.is(nftx.summary(esc), "a: 6 attempts to leave the lab: 203.0.113.7:9/udp x3, 203.0.113.7:443/tcp x1, "
  .. "203.0.113.7/icmp x2", "summary: one line, per node")
esc[#esc + 1] = { node = "b", addr = "198.51.100.1", port = 53, proto = "udp", count = 1 }
t.like(nftx.summary(esc), "; b: 1 attempt to leave the lab: 198%.51%.100%.1:53/udp x1$", "summary: nodes in turn")

-- options
local logged = {}
local net = { log = function(m) logged[#logged + 1] = m end }
seal.configure(net, {})
t.ok(net.seal.outside == false and #logged == 0, "sealed by default, silently")
t.is(seal.bridge_options(net, { kind = "public" })["com.docker.network.bridge.enable_ip_masquerade"], "false",
  "sealed: no masquerade on the public bridge")
seal.configure(net, { outside = true })
t.ok(net.seal.outside and logged[1] and logged[1]:find("^WARNING: outside = true"), "outside = true warns")
t.is(seal.bridge_options(net, { kind = "public" })["com.docker.network.bridge.enable_ip_masquerade"], "true",
  "outside = true: masquerade on the public bridge")
t.is(seal.bridge_options(net, { kind = "lan" })["com.docker.network.bridge.enable_ip_masquerade"], "false",
  "never on a LAN (its router NATs)")
t.raises(function() seal.configure(net, { outside = "yes" }) end, "'outside' must be true or false",
  "outside is never opened by accident (a truthy non-boolean is an error)")
net.seal.outside, net.public = false, { subnet = "10.128.4.0/22" }
t.is(seal.resolver_ip(net), "10.128.4.1", "the resolver's address: the public bridge's own, on the host")
local argv = table.concat(seal.resolver_argv("10.128.4.1", { { name = "gw", public_ip = "10.128.4.2" },
  { name = "a", public_ip = "10.128.4.3" } }), " ")
t.ok(has(argv, "--no-resolv") and has(argv, "--address=/#/")
  and has(argv, "--bind-interfaces --listen-address=10.128.4.1")
  and has(argv, "--host-record=gw,10.128.4.2 --host-record=a,10.128.4.3"),
  "the resolver: NXDOMAIN for all but the nodes, never forwards, only on the bridge's address")
local n0 = #logged
local hl = { log = function(m) logged[#logged + 1] = m end, hosts = { {}, {} } }
seal.configure(hl, {})
t.ok(hl.seal and hl.seal.outside == false and #logged == n0, "over several engines: sealed too, silently")
-- over a Swarm each engine's resolver is on its own small bridge (natrig.plan's dns segments)
local e1, e2 = {}, {}
hl.public, hl.eng = { subnet = "10.128.4.0/22" }, e1
hl.dns_segs = { { eng = e1, subnet = "10.130.1.0/24" }, { eng = e2, subnet = "10.130.2.0/24" } }
t.ok(seal.resolver_ip(hl, e1) == "10.130.1.1" and seal.resolver_ip(hl, e2) == "10.130.2.1",
  "over a Swarm: each engine's resolver is its dns bridge's own address")
t.is(seal.bridge_options(hl, { kind = "dns" })["com.docker.network.bridge.enable_ip_masquerade"], "false",
  "the dns bridge: no masquerade")
hl.seal.outside = true
t.is(seal.resolver_ip(hl, e2), nil, "an open run over a Swarm: no resolver")
t.done()
