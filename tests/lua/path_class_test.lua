-- natrig.path_class without an engine (issue 26): the counting table's listing is parsed,
-- the tracker keeps when each flow first appeared and last grew, and a pair is classified
-- direct / hairpin / lan / relayed / none, broken when sending goes on with nothing arriving.
local t = require "tap"
require "natrig" -- registers the embedded modules
local pc = require "natrig.path_class"

local LISTING = [[
table ip natrig_path {
	set rx {
		type ipv4_addr . inet_proto . inet_service . inet_service
		size 65535
		flags dynamic
		counter
		elements = { 10.0.0.4 . udp . 31337 . 31337 counter packets 3 bytes 150,
			     10.0.0.9 . tcp . 443 . 50000 counter packets 1 bytes 60 }
	}

	set tx {
		type ipv4_addr . inet_proto . inet_service . inet_service
		size 65535
		flags dynamic
		counter
		elements = { 10.0.0.4 . udp . 31337 . 31337 counter packets 5 bytes 250 }
	}
}
]]
local e = pc.parse(LISTING)
t.is(#e, 3, "three flows parsed")
t.is(e[1].dir, "rx", "the first set is rx")
t.is(e[2].proto, "tcp", "protocol")
t.is(e[2].rport, 443, "remote port")
t.is(e[2].lport, 50000, "local port")
t.is(e[3].dir, "tx", "the second set is tx")
t.is(e[3].bytes, 250, "bytes")
t.is(#pc.parse(""), 0, "an empty listing: no flows")
t.like(pc.nft_script(), "hook input priority 100", "counted after the filter chains")
-- the path rule: UDP every datagram; TCP only an established exchange (ACK alone of
-- SYN/ACK/RST), so a failed simultaneous open's SYNs and RSTs are no path (issue 26)
local script = pc.nft_script()
local function count(s, pat) local n = 0; for _ in s:gmatch(pat) do n = n + 1 end return n end
t.is(count(script, "meta l4proto udp update @rx"), 1, "UDP: every datagram received is counted")
t.is(count(script, "meta l4proto udp update @tx"), 1, "UDP: every datagram sent is counted")
t.is(count(script, "meta l4proto tcp tcp flags & %(syn | ack | rst%) == ack update @rx"), 1,
  "TCP received: only segments with ACK and neither SYN nor RST")
t.is(count(script, "meta l4proto tcp tcp flags & %(syn | ack | rst%) == ack update @tx"), 1,
  "TCP sent: the same rule")
t.is(count(script, "l4proto tcp"), 2, "no other TCP rule (SYN, SYN-ACK and RST are not counted)")
t.is(count(pc.nft_script(true), "tcp flags & %(syn | ack | rst%) == ack"), 4, "the ip6 table counts TCP the same way")

-- a (behind r1, public 10.0.0.3), b (behind r2, public 10.0.0.4), c and d behind r3, g public,
-- relay r public
local a = { name = "a", private_ip = "10.1.1.2", public_ip = "10.0.0.3", behind_nat = true, lan = "lan1", outer = "r1" }
local b = { name = "b", private_ip = "10.1.2.2", public_ip = "10.0.0.4", behind_nat = true, lan = "lan2", outer = "r2" }
local c = { name = "c", private_ip = "10.1.3.2", public_ip = "10.0.0.5", behind_nat = true, lan = "lan3", outer = "r3" }
local d = { name = "d", private_ip = "10.1.3.3", public_ip = "10.0.0.5", behind_nat = true, lan = "lan3", outer = "r3" }
local g = { name = "g", private_ip = "10.0.0.2", public_ip = "10.0.0.2" }
local r = { name = "r", private_ip = "10.0.0.9", public_ip = "10.0.0.9" }

local function flow(dir, ip, pk, rport)
  return { dir = dir, ip = ip, proto = "udp", rport = rport or 31337, lport = 31337, packets = pk, bytes = pk * 100 }
end
local tr = pc.tracker()
tr:sample("a", { flow("tx", "10.0.0.4", 0), flow("rx", "10.0.0.4", 0) }, 100)
tr:sample("b", { flow("tx", "10.0.0.3", 0), flow("rx", "10.0.0.3", 0) }, 100)
tr:sample("a", { flow("tx", "10.0.0.4", 10), flow("rx", "10.0.0.4", 9) }, 101)
tr:sample("b", { flow("tx", "10.0.0.3", 9), flow("rx", "10.0.0.3", 10) }, 101)
local half = pc.tracker()
half:sample("a", { flow("tx", "10.0.0.4", 10), flow("rx", "10.0.0.4", 9) }, 101)
t.is(pc.classify(half, a, b, {}, 101, 10).kind, "none", "only a's side seen (b not read yet): none")
local p = pc.classify(tr, a, b, {}, 101, 10)
t.is(p.kind, "direct", "a and b talk to each other's public address: direct")
t.is(p.a_to_b.packets, 10, "a_to_b: what a sent")
t.is(p.a_to_b.received_bytes, 1000, "a_to_b: what arrived at b")
t.is(p.b_to_a.packets, 9, "b_to_a: what b sent")
t.is(p.first, 100, "first")
t.is(p.last, 101, "last")
t.is(#p.endpoints, 4, "four endpoints")
-- sending goes on, nothing arrives: broken at once
tr:sample("a", { flow("tx", "10.0.0.4", 20), flow("rx", "10.0.0.4", 9) }, 101.2)
t.is(pc.classify(tr, a, b, {}, 101.2, 10).kind, "direct", "0.2 s of sending without arrivals: still direct")
tr:sample("a", { flow("tx", "10.0.0.4", 30), flow("rx", "10.0.0.4", 9) }, 101.6)
p = pc.classify(tr, a, b, {}, 101.6, 10)
t.is(p.kind, "none", "0.6 s of sending with nothing arriving: none")
t.is(p.previous, "direct", "none remembers the path it had")
-- silence: idle
local tr2 = pc.tracker()
tr2:sample("a", { flow("tx", "10.0.0.2", 3), flow("rx", "10.0.0.2", 3) }, 50)
tr2:sample("g", { flow("tx", "10.0.0.3", 3), flow("rx", "10.0.0.3", 3) }, 50)
t.is(pc.classify(tr2, a, g, {}, 55, 10).kind, "direct", "a <-> a public node: direct")
t.is(pc.classify(tr2, a, g, {}, 61, 10).kind, "none", "silent for longer than idle: none")
t.is(pc.classify(tr2, a, b, {}, 55, 10).kind, "none", "a pair that never talked: none")


t.is(pc.classify(tr2, a, b, {}, 55, 10).previous, nil, "... with no previous path")

-- hairpin and lan
local tr3 = pc.tracker()
tr3:sample("c", { flow("tx", "10.0.0.5", 4, 40000), flow("rx", "10.0.0.5", 4, 40000) }, 10)
tr3:sample("d", { flow("tx", "10.0.0.5", 4, 31337), flow("rx", "10.0.0.5", 4, 31337) }, 10)
p = pc.classify(tr3, c, d, {}, 10, 10)
t.is(p.kind, "hairpin", "two peers behind one router through its public address: hairpin")
t.is(p.via, "r3", "hairpin via the router")
tr3:sample("c", { flow("tx", "10.1.3.3", 40), flow("rx", "10.1.3.3", 40) }, 11)
tr3:sample("d", { flow("tx", "10.1.3.2", 40), flow("rx", "10.1.3.2", 40) }, 11)
t.is(pc.classify(tr3, c, d, {}, 11, 10).kind, "lan", "private addresses on one LAN: lan")

-- relayed
local tr4 = pc.tracker()
tr4:sample("a", { flow("tx", "10.0.0.9", 7, 3478), flow("rx", "10.0.0.9", 7, 3478) }, 20)
tr4:sample("c", { flow("tx", "10.0.0.9", 7, 3478), flow("rx", "10.0.0.9", 7, 3478) }, 20)
t.is(pc.classify(tr4, a, c, {}, 20, 10).kind, "none", "without a relay node: none")
p = pc.classify(tr4, a, c, { r }, 20, 10)
t.is(p.kind, "relayed", "both talk to the relay: relayed")
t.is(p.via, "r", "via the relay")
t.is(p.a_to_b.bytes, 700, "a_to_b: what a sent to the relay")
t.is(pc.describe(p), "relayed via r", "describe")
-- a TURN relay: a is its client (port 3478), b sends to a's relayed port; only a receives
local turn = { name = "r", private_ip = "10.0.0.9", public_ip = "10.0.0.9", listen_port = 3478 }
local tr5 = pc.tracker()
tr5:sample("a", { flow("tx", "10.0.0.9", 7, 3478), flow("rx", "10.0.0.9", 7, 3478) }, 30)
tr5:sample("c", { flow("tx", "10.0.0.9", 1, 50000) }, 30)
t.is(pc.classify(tr5, a, c, { turn }, 30, 10).kind, "none",
  "one datagram of c to the relay, nothing arriving at c, the relay silent: none")
tr5:sample("r", {
  { dir = "rx", ip = "10.0.0.5", proto = "udp", rport = 31337, lport = 50000, packets = 5, bytes = 500 },
  { dir = "tx", ip = "10.0.0.3", proto = "udp", rport = 31337, lport = 3478, packets = 9, bytes = 900 } }, 30)
tr5:sample("c", { flow("tx", "10.0.0.9", 6, 50000) }, 30.1)
p = pc.classify(tr5, a, c, { turn }, 30.1, 10)
t.is(p.kind, "relayed", "the relay received from c on a relayed port and sent to its client a: relayed")
t.is(p.b_to_a.packets, 6, "b_to_a: what c sent to the relay")
-- two paths alive: punched packets pass directly, the data goes through the relay
local tr6 = pc.tracker()
tr6:sample("a", { flow("tx", "10.0.0.4", 0), flow("rx", "10.0.0.4", 0), flow("tx", "10.0.0.9", 0, 3478),
  flow("rx", "10.0.0.9", 0, 3478) }, 40)
tr6:sample("b", { flow("tx", "10.0.0.3", 0), flow("rx", "10.0.0.3", 0), flow("tx", "10.0.0.9", 0, 3478),
  flow("rx", "10.0.0.9", 0, 3478) }, 40)
tr6:sample("a", { flow("tx", "10.0.0.4", 2), flow("rx", "10.0.0.4", 2), flow("tx", "10.0.0.9", 40, 3478),
  flow("rx", "10.0.0.9", 40, 3478) }, 41)
tr6:sample("b", { flow("tx", "10.0.0.3", 2), flow("rx", "10.0.0.3", 2), flow("tx", "10.0.0.9", 40, 3478),
  flow("rx", "10.0.0.9", 40, 3478) }, 41)
local r2 = { name = "r", private_ip = "10.0.0.9", public_ip = "10.0.0.9" }
t.is(pc.classify(tr6, a, b, { r2 }, 41, 10).kind, "relayed", "the relay carries 20 times what passes directly: relayed")
tr6:sample("a", { flow("tx", "10.0.0.4", 60), flow("rx", "10.0.0.4", 60), flow("tx", "10.0.0.9", 41, 3478),
  flow("rx", "10.0.0.9", 41, 3478) }, 50)
tr6:sample("b", { flow("tx", "10.0.0.3", 60), flow("rx", "10.0.0.3", 60), flow("tx", "10.0.0.9", 41, 3478),
  flow("rx", "10.0.0.9", 41, 3478) }, 50)
t.is(pc.classify(tr6, a, b, { r2 }, 50, 10).kind, "direct", "the data moved to the direct path: direct")
-- IPv6 (issue 25): a node with IPv6 counts in an ip6 table beside the ip one (nft list
-- ruleset gives both); its flows carry IPv6 text, and a pair talking to each other's own
-- IPv6 addresses (nothing translated) is direct, behind one router lan
local LISTING6 = LISTING .. [[
table ip6 natrig_path {
	set rx {
		type ipv6_addr . inet_proto . inet_service . inet_service
		size 65535
		flags dynamic
		counter
		elements = { 2001:db8:5:2::2 . udp . 31337 . 31337 counter packets 4 bytes 480 }
	}

	set tx {
		type ipv6_addr . inet_proto . inet_service . inet_service
		size 65535
		flags dynamic
		counter
		elements = { 2001:db8:5:2::2 . udp . 31337 . 31337 counter packets 6 bytes 720,
			     ::ffff:10.0.0.4 . udp . 1 . 2 counter packets 1 bytes 80 }
	}
}
]]
local e6 = pc.parse(LISTING6)
t.is(#e6, 6, "the ip table's three flows and the ip6 table's three")
t.is(e6[4].ip, "2001:db8:5:2::2", "an IPv6 flow's address")
t.is(e6[4].dir .. e6[5].dir, "rxtx", "its sets' directions")
t.is(e6[5].packets, 6, "its counters")
t.is(e6[6].ip, "::ffff:10.0.0.4", "a mapped address is IPv6 text too, not read as 10.0.0.4")
t.like(pc.nft_script(true), "table ip6 natrig_path {\n", "with IPv6: the ip6 table too")
t.like(pc.nft_script(true), "ip6 saddr != ::1 ", "its loopback left out")
t.ok(not pc.nft_script():find("ip6", 1, true), "without IPv6: the ip table alone")
t.is(table.concat(pc.list_args(true), " "), "list ruleset", "with IPv6 both tables are listed (the ruleset)")
local a6 = { name = "a6", private_ip = "10.1.1.2", public_ip = "10.0.0.3", behind_nat = true, lan = "lan1",
  outer = "r1", private_ip6 = "2001:db8:5:1::2", public_ip6 = "2001:db8:5:1::2" }
local b6 = { name = "b6", private_ip = "10.1.2.2", public_ip = "10.0.0.4", behind_nat = true, lan = "lan2",
  outer = "r2", private_ip6 = "2001:db8:5:2::2", public_ip6 = "2001:db8:5:2::2" }
local c6 = { name = "c6", private_ip = "10.1.1.3", public_ip = "10.0.0.3", behind_nat = true, lan = "lan1",
  outer = "r1", private_ip6 = "2001:db8:5:1::3", public_ip6 = "2001:db8:5:1::3" }
local trv6 = pc.tracker()
trv6:sample("a6", { flow("tx", "2001:db8:5:2::2", 5), flow("rx", "2001:db8:5:2::2", 5) }, 200)
trv6:sample("b6", { flow("tx", "2001:db8:5:1::2", 5), flow("rx", "2001:db8:5:1::2", 5) }, 200)
p = pc.classify(trv6, a6, b6, {}, 200, 10)
t.is(p.kind, "direct", "over IPv6, to each other's own addresses: direct")
t.is(p.a_to_b.received_packets, 5, "what arrived at b over IPv6")
t.like(table.concat(p.endpoints, ","), "2001:db8:5:2::2:31337", "the IPv6 endpoints are named")
trv6:sample("a6", { flow("tx", "2001:db8:5:1::3", 2), flow("rx", "2001:db8:5:1::3", 2) }, 201)
trv6:sample("c6", { flow("tx", "2001:db8:5:1::2", 2), flow("rx", "2001:db8:5:1::2", 2) }, 201)
t.is(pc.classify(trv6, a6, c6, {}, 201, 10).kind, "lan", "behind one router, over IPv6 on the link: lan")
-- two v6only public nodes: no IPv4 address at all (public_ip nil on both), still direct
local g1 = { name = "g1", public_ip6 = "2001:db8:5::2", private_ip6 = "2001:db8:5::2" }
local g2 = { name = "g2", public_ip6 = "2001:db8:5::3", private_ip6 = "2001:db8:5::3" }
local trg = pc.tracker()
trg:sample("g1", { flow("tx", "2001:db8:5::3", 3), flow("rx", "2001:db8:5::3", 3) }, 300)
trg:sample("g2", { flow("tx", "2001:db8:5::2", 3), flow("rx", "2001:db8:5::2", 3) }, 300)
t.is(pc.classify(trg, g1, g2, {}, 300, 10).kind, "direct", "two v6only public nodes (no public_ip): direct")
t.done()
