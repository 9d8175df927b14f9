-- Partitions and isolation per address family (natrig.partition, no engine): every family a
-- node has is cut, IPv4 with iptables and IPv6 with ip6tables (the same chains), each rule
-- naming the other node's address of that family; a node without IPv6 gets no ip6tables
-- command, a v6only node no iptables one; routers cut hairpins in IPv4 only (IPv6 is not
-- translated). The nodes' engine is a stub that records each command it is asked to run.
local t = require "tap"
require "natrig" -- registers the embedded modules
local part = require "natrig.partition"

local ran = {} -- holder id -> { "argv joined", ... }
local eng = {}
function eng.exec(_, id, argv)
  ran[id] = ran[id] or {}
  table.insert(ran[id], table.concat(argv, " "))
  return { code = 0, stdout = "", stderr = "" }
end
local function reset() ran = {} end
-- the commands run in holder id that match pattern p (plain text)
local function cmds(id, p)
  local out = {}
  for _, c in ipairs(ran[id] or {}) do if c:find(p, 1, true) then out[#out + 1] = c end end
  return out
end

local ra = { name = "ra", id = "ra", eng = eng, wan_ip = "10.1.0.3", wan_ip6 = "2001:db8::3" }
local rb = { name = "rb", id = "rb", eng = eng, wan_ip = "10.1.0.4", wan_ip6 = "2001:db8::4" }
local function dual(name, r, n)
  local ip6 = ("2001:db8:0:%d::2"):format(n)
  return { name = name, holder = name, eng = eng, router = r, private_ip = ("10.2.%d.2"):format(n),
    public_ip = r.wan_ip, private_ip6 = ip6, public_ip6 = ip6 }
end
local a, b = dual("a", ra, 1), dual("b", rb, 2)
local a2 = { name = "a2", holder = "a2", eng = eng, router = ra, private_ip = "10.2.1.3", public_ip = ra.wan_ip,
  private_ip6 = "2001:db8:0:1::3", public_ip6 = "2001:db8:0:1::3" }
local g = { name = "g", holder = "g", eng = eng, private_ip = "10.1.0.5", public_ip = "10.1.0.5" }
local v = { name = "v", holder = "v", eng = eng, ip = "v6only", private_ip6 = "2001:db8::6",
  public_ip6 = "2001:db8::6" }
local net = { nodes = { a, a2, b, g, v }, routers = { ra, rb } }

part.partition(net, { a }, { b })
t.is(#cmds("a", "iptables -w -I INPUT 1 -j NATRIG_PART_IN") + #cmds("a", "ip6tables -w -I INPUT 1 -j NATRIG_PART_IN"),
  2, "a dual-stack node's chains are hooked in both families")
t.is(cmds("a", "-A NATRIG_PART_IN")[1], "iptables -w -A NATRIG_PART_IN -s 10.1.0.4/32 -j DROP",
  "IPv4: a drops what comes from b's NAT address")
t.is(cmds("a", "-A NATRIG_PART_IN")[2], "ip6tables -w -A NATRIG_PART_IN -s 2001:db8:0:2::2/128 -j DROP",
  "IPv6: a drops what comes from b's own IPv6 address")
t.is(#cmds("b", "-A NATRIG_PART_IN"), 2, "b likewise, both families")
t.is(#cmds("ra", "") + #cmds("rb", ""), 0, "no router rule between two routers")

reset()
part.partition({ nodes = {}, routers = {} }, { a }, { g })
t.is(#cmds("a", "ip6tables"), 0, "a and a v4-only gateway: no IPv6 rule (g has no IPv6 address)")
t.is(cmds("a", "-A NATRIG_PART_IN")[1], "iptables -w -A NATRIG_PART_IN -s 10.1.0.5/32 -j DROP", "IPv4 only")
t.is(#cmds("g", "ip6tables"), 0, "nor any ip6tables command in g, which has no IPv6")

reset()
a.part_chains, b.part_chains = nil, nil
part.partition(net, { a }, { a2 })
t.is(table.concat(cmds("ra", "-A NATRIG_PART_FWD"), "; "),
  "iptables -w -A NATRIG_PART_FWD -s 10.2.1.2/32 -d 10.2.1.3/32 -j DROP; "
  .. "iptables -w -A NATRIG_PART_FWD -s 10.2.1.3/32 -d 10.2.1.2/32 -j DROP",
  "one router: its hairpin cut in IPv4 only")
t.is(cmds("a", "-A NATRIG_PART_IN")[2], "ip6tables -w -A NATRIG_PART_IN -s 2001:db8:0:1::3/128 -j DROP",
  "IPv6 on one LAN: a drops a2's own address (no translation, no hairpin)")

reset()
part.isolate(net, v)
t.is(#cmds("v", "iptables -w"), 0, "a v6only node is isolated with no iptables command")
t.is(#cmds("v", "ip6tables -w -A NATRIG_PART_"), 2, "... and two ip6tables rules (in and out)")
reset()
part.isolate(net, b)
t.is(#cmds("b", "-A NATRIG_PART_OUT ! -o lo -j NFQUEUE"), 2, "a dual-stack node is isolated in both families")

reset()
part.heal(net)
t.is(table.concat(cmds("a", "-F NATRIG_PART_IN"), "; "),
  "iptables -w -F NATRIG_PART_IN; ip6tables -w -F NATRIG_PART_IN", "heal flushes both families' chains")
t.is(#cmds("v", "-F"), 2, "v: its IPv6 chains only")
t.is(#cmds("g", "ip6tables"), 0, "g: nothing in IPv6")
t.is(#cmds("ra", "-F NATRIG_PART_FWD"), 1, "the router's chain, IPv4")
t.done()
