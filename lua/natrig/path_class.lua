--- natrig.path_class: the pure part of net:path (no engine): the nftables table each node's
-- holder gets, the parser of its listing, a tracker of counters over time, and the
-- classification of what carries the traffic between two nodes.
--
-- Each node counts, after its own filters (input and postrouting hooks at priority 100,
-- after iptables' filter chains at 0, so what a partition or an isolation drops is not
-- counted), the packets it receives from and sends to every (remote address, protocol,
-- remote port, local port), in two dynamic sets with counters; a node with IPv6 counts its
-- IPv6 packets the same way in a table of the ip6 family beside it (nothing is translated:
-- the address a peer's IPv6 packets go to is the other's own). UDP counts every datagram;
-- TCP only the segments of an established exchange (M.COUNTED): a SYN, a SYN-ACK and a
-- RST are not a path (two peers whose simultaneous open failed trade SYNs and RSTs both
-- ways on the same 4-tuple), and a segment with ACK alone set (the handshake's last, data,
-- acknowledgements, FIN) is sent only by an end that holds the connection established.
-- A pair's path is then:
--   lan      a and b behind the same router, talking to each other's private address
--   hairpin  a and b behind the same outermost router, talking through its public address
--   direct   a talks to b's public address and b to a's (or one of them is public)
--   relayed  both talk to the same relay node (net:relay, or a node with path_relay = true)
--   none     nothing of the pair arrived at either end within `idle` seconds
-- When two are alive (a relay kept while punched packets also pass), the one with more than
-- twice the other's recent packets wins (HALF_LIFE), else the first in the order above.
-- A path is current when a packet of it arrived at a or at b within the last `idle` seconds,
-- and is broken (none) as soon as a or b has sent on it for BROKEN seconds with nothing
-- arriving at either end.
-- @module natrig.path_class
local M = {}

M.TABLE = "natrig_path"

--- What is counted, one nft match a protocol (the path rule, in this one place): UDP every
-- datagram; TCP the segments with ACK set and neither SYN nor RST.
M.COUNTED = { udp = "meta l4proto udp", tcp = "meta l4proto tcp tcp flags & (syn | ack | rst) == ack" }

-- One family's table: nft family, address type, match keyword, loopback.
local FAMS = { { "ip", "ipv4_addr", "ip", "127.0.0.0/8" }, { "ip6", "ipv6_addr", "ip6", "::1" } }

--- The nft script that makes (or remakes) the counting table in a node's namespace, and with
-- v6 its IPv6 twin.
-- @tparam ?boolean v6 the node has IPv6
-- @treturn string the script
function M.nft_script(v6)
  local l = {}
  -- a chain's rules: one a protocol of M.COUNTED, each "<not loopback> <match> <update>"
  local function rules(not_lo, update)
    return "    " .. not_lo .. " " .. M.COUNTED.udp .. update .. "\n    " .. not_lo .. " " .. M.COUNTED.tcp .. update
  end
  for i = 1, v6 and 2 or 1 do
    local fam, atype, kw, lo = table.unpack(FAMS[i])
    local set = "type " .. atype .. " . inet_proto . inet_service . inet_service; flags dynamic; counter; size 65535;"
    local t = fam .. " " .. M.TABLE
    for _, line in ipairs({
      "table " .. t .. " {};",
      "delete table " .. t .. ";",
      "table " .. t .. " {",
      "  set rx { " .. set .. " };",
      "  set tx { " .. set .. " };",
      "  chain in { type filter hook input priority 100; policy accept;",
      rules(kw .. " saddr != " .. lo, " update @rx { " .. kw .. " saddr . meta l4proto . th sport . th dport };"),
      "  };",
      "  chain out { type filter hook postrouting priority 100; policy accept;",
      rules(kw .. " daddr != " .. lo, " update @tx { " .. kw .. " daddr . meta l4proto . th dport . th sport };"),
      "  };",
      "}" }) do l[#l + 1] = line end
  end
  l[#l + 1] = ""
  return table.concat(l, "\n")
end

--- The nft command that lists the counting tables: with v6 the whole ruleset (nft 1.0.6
-- fails on two list commands in one call: "list table ip X; list table ip6 X" says the first
-- does not exist); parse reads only the counting sets' elements.
-- @tparam ?boolean v6 the node has IPv6
-- @treturn {string,...} argv after "nft"
function M.list_args(v6)
  if not v6 then return { "list", "table", "ip", M.TABLE } end
  return { "list", "ruleset" }
end

-- An element: address (IPv4 dotted, or IPv6 text with a colon), protocol, ports, counters.
-- (the frontier keeps the IPv4 pattern off the tail of an IPv4-mapped IPv6 address)
local ELEMENTS = { "%f[%w:.](%d+%.%d+%.%d+%.%d+) %. (%a+) %. (%d+) %. (%d+) counter packets (%d+) bytes (%d+)",
  "(%x*:[%x:.]*) %. (%a+) %. (%d+) %. (%d+) counter packets (%d+) bytes (%d+)" }

--- Parse `nft list table ip natrig_path` (and its ip6 twin's listing after it): a list of
-- { dir = "rx"|"tx", ip, proto, rport, lport, packets, bytes } (rport: the remote's port,
-- lport: the node's own; ip as nft writes it, RFC 5952 text for IPv6).
function M.parse(text)
  local out, dir = {}, nil
  for line in tostring(text or ""):gmatch("[^\n]+") do
    local s = line:match("^%s*set (%a+) {")
    if s then dir = s end
    if dir then
      for _, pat in ipairs(ELEMENTS) do
        for ip, proto, rp, lp, pk, by in line:gmatch(pat) do
          out[#out + 1] = { dir = dir, ip = ip, proto = proto, rport = tonumber(rp), lport = tonumber(lp),
            packets = tonumber(pk), bytes = tonumber(by) }
        end
      end
    end
  end
  return out
end

--- Half-life, in seconds, of a flow's count of recent packets (which path carries the
-- traffic now, when two are alive).
M.HALF_LIFE = 2

--- A flow's recent packets as of time t.
function M.recent(f, t)
  if not f.recent then return 0 end
  return f.recent * 0.5 ^ (math.max(0, t - f.t_recent) / M.HALF_LIFE)
end

local Tracker = {}
Tracker.__index = Tracker

--- A tracker: counters per node and flow, with when each was first seen and last grew.
function M.tracker() return setmetatable({ nodes = {} }, Tracker) end

--- Record one listing of node `name` taken at time t (epoch seconds).
function Tracker:sample(name, entries, t)
  local flows = self.nodes[name] or {}
  self.nodes[name] = flows
  for _, e in ipairs(entries) do
    local key = table.concat({ e.dir, e.ip, e.proto, e.rport, e.lport }, " ")
    local f = flows[key]
    if not f then
      f = { dir = e.dir, ip = e.ip, proto = e.proto, rport = e.rport, lport = e.lport, packets = 0, bytes = 0,
        first = t }
      flows[key] = f
    end
    if e.packets > f.packets then
      f.last = t
      -- packets of the last seconds: decays by half every HALF_LIFE seconds
      f.recent = M.recent(f, t) + (e.packets - f.packets)
      f.t_recent = t
    end
    f.packets, f.bytes = e.packets, e.bytes
  end
  self.t = t
end

-- Sum of node `name`'s flows in direction dir with a remote address in `ips` (a set).
local function sum(tr, name, dir, ips, acc)
  acc = acc or { packets = 0, bytes = 0, recent = 0, endpoints = {} }
  for _, f in pairs(tr.nodes[name] or {}) do
    if f.dir == dir and ips[f.ip] then
      acc.packets, acc.bytes = acc.packets + f.packets, acc.bytes + f.bytes
      acc.recent = acc.recent + M.recent(f, tr.t or 0)
      if f.first and (not acc.first or f.first < acc.first) then acc.first = f.first end
      if f.last and (not acc.last or f.last > acc.last) then acc.last = f.last end
      acc.endpoints[#acc.endpoints + 1] = ("%s %s:%d %s %s:%d"):format(f.proto, name, f.lport,
        dir == "tx" and "->" or "<-", f.ip, f.rport)
    end
  end
  return acc
end

local function set(...)
  local s = {}
  -- every argument, nil ones skipped (a v6only node's IPv4 addresses are nil)
  for i = 1, select("#", ...) do local v = select(i, ...); if v then s[v] = true end end
  return s
end

-- The candidate paths of a pair, best first: kind, via, the addresses a talks to for it,
-- the addresses b talks to.
local function candidates(a, b, relays)
  local l = {}
  if a.lan and a.lan == b.lan then
    l[#l + 1] = { kind = "lan", a_ips = set(b.private_ip, b.private_ip6), b_ips = set(a.private_ip, a.private_ip6) }
  end
  if a.behind_nat and b.behind_nat and a.public_ip == b.public_ip then
    -- a reaches b at the shared public address; b sees a's packets from it (the router
    -- masquerades the hairpin) or from a's private address
    l[#l + 1] = { kind = "hairpin", via = a.outer, a_ips = set(a.public_ip), b_ips = set(a.public_ip) }
  elseif a.public_ip ~= b.public_ip or a.public_ip6 ~= b.public_ip6 then -- v6only public nodes: no IPv4
    l[#l + 1] = { kind = "direct", a_ips = set(b.public_ip, b.public_ip6), b_ips = set(a.public_ip, a.public_ip6) }
  end
  for _, r in ipairs(relays) do
    if r.name ~= a.name and r.name ~= b.name then
      l[#l + 1] = { kind = "relayed", via = r.name, relay = r, a_ips = set(r.public_ip, r.public_ip6),
        b_ips = set(r.public_ip, r.public_ip6) }
    end
  end
  return l
end

-- The relay's own counters (when it is a node natrig counts in) for flows with address ip:
-- packets received from ip on a port that is (listen = true) or is not its listening port,
-- and packets sent to ip.
local function at_relay(tr, r, ip, dir, listen)
  local n = 0
  for _, f in pairs(tr.nodes[r.name] or {}) do
    if f.ip == ip and f.dir == dir and (listen == nil or (f.lport == r.listen_port) == listen) then
      n = n + f.packets
    end
  end
  return n
end

-- Did the relay carry traffic between a and b? A TURN relay (listen_port known) that
-- received from one of them on a relayed port (the peer side of an allocation) and sent to
-- the other from its listening port (the client side) forwarded between them; two clients
-- of it, or a relay natrig knows nothing of, must have delivered something to both ends.
local function relay_evidence(tr, a, b, r, a_rx, b_rx)
  if r.listen_port then
    local function forwards(x, y) -- x the peer, y the client
      return at_relay(tr, r, x.public_ip, "rx", false) > 0 and at_relay(tr, r, y.public_ip, "tx", true) > 0
    end
    if forwards(a, b) or forwards(b, a) then return true end
  end
  return a_rx.packets > 0 and b_rx.packets > 0
end

local function path_of(tr, a, b, c)
  local ab = sum(tr, a.name, "tx", c.a_ips)
  local ba = sum(tr, b.name, "tx", c.b_ips)
  local a_rx = sum(tr, a.name, "rx", c.a_ips)
  local b_rx = sum(tr, b.name, "rx", c.b_ips)
  local eps = {}
  for _, acc in ipairs({ ab, a_rx, ba, b_rx }) do for _, e in ipairs(acc.endpoints) do eps[#eps + 1] = e end end
  table.sort(eps)
  local first
  for _, acc in ipairs({ ab, ba, a_rx, b_rx }) do
    if acc.first and (not first or acc.first < first) then first = acc.first end
  end
  -- last: the last time something of the pair arrived at either end
  local last = a_rx.last
  if b_rx.last and (not last or b_rx.last > last) then last = b_rx.last end
  local last_sent = ab.last
  if ba.last and (not last_sent or ba.last > last_sent) then last_sent = ba.last end
  return { kind = c.kind, via = c.via, first = first, last = last, last_sent = last_sent, endpoints = eps,
    recent = ab.recent + ba.recent,
    a_to_b = { packets = ab.packets, bytes = ab.bytes, received_packets = b_rx.packets, received_bytes = b_rx.bytes },
    b_to_a = { packets = ba.packets, bytes = ba.bytes, received_packets = a_rx.packets, received_bytes = a_rx.bytes },
    -- seen at both ends: one sent on it and the other received from it
    talked = ((ab.packets > 0 and b_rx.packets > 0) or (ba.packets > 0 and a_rx.packets > 0))
      and (c.kind ~= "relayed" or relay_evidence(tr, a, b, c.relay, a_rx, b_rx)) }
end

--- Seconds of sending with nothing of the pair arriving after which a path is broken.
M.BROKEN = 0.45

--- Classify the pair (a, b). a and b: { name, private_ip, public_ip, private_ip6 and
-- public_ip6 when it has IPv6, lan (its LAN's name, or
-- nil on the public network), behind_nat, outer (its outermost router's name) }; relays: a
-- list of such records (listen_port: a TURN relay's listening port); now: the time of the
-- latest sample; idle: seconds. Returns the
-- current path, or { kind = "none", previous = the last path that carried traffic, ... }.
function M.classify(tr, a, b, relays, now, idle)
  local best_old, best
  for _, c in ipairs(candidates(a, b, relays or {})) do
    local p = path_of(tr, a, b, c)
    if p.talked then
      local broken = p.last_sent and p.last and p.last_sent - p.last > M.BROKEN
      if p.last and now - p.last <= idle and not broken then
        -- two paths alive (a relay kept while punched packets also pass): the one that
        -- carries more than twice the other's recent packets wins, else the first kind
        if not best or p.recent > 2 * best.recent then best = p end
      end
      if not best_old or (p.last or 0) > (best_old.last or 0) then best_old = p end
    end
  end
  if best then return best end
  local none = { kind = "none", a_to_b = { packets = 0, bytes = 0 }, b_to_a = { packets = 0, bytes = 0 },
    endpoints = {} }
  if best_old then
    none.previous, none.last, none.first = best_old.kind, best_old.last, best_old.first
    none.a_to_b, none.b_to_a = best_old.a_to_b, best_old.b_to_a
    none.endpoints, none.via = best_old.endpoints, best_old.via
  end
  return none
end

--- A one-line description of a path, for the timeline: "direct", "relayed via r1", "none".
function M.describe(p)
  return p.via and (p.kind .. " via " .. p.via) or p.kind
end

return M
