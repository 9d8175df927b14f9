-- A real dual-stack P2P program from Debian, nobody here wrote, over IPv6 through natrig's
-- IPv6 firewalls (issue 25; needs:engine). Nebula 1.6.1 (Debian's `nebula`, as in
-- vpn_test.lua): a dual-stack lighthouse on the public network listening on [::], and two
-- pairs of peers, each peer behind its own dual-stack router (a port-restricted IPv4 NAT and
-- an RFC 6092 IPv6 firewall). Nothing public: the lighthouse is natrig's node, no relay.
--   - a and b (APDF firewalls): their static_host_map gives the lighthouse's IPv6 address
--     only and they advertise only their IPv6 addresses (local_allow_list), so nebula knows no
--     IPv4 path between them. Checked from outside: each one's handshake comes from the
--     other's IPv6 address, both routers' ip6 conntrack holds the answered a<->b UDP flow and
--     their IPv4 conntrack nothing towards the other, pings over the tun pass, and go on
--     with the lighthouse isolated (both families cut).
--   - c and d (closed firewalls: RFC 6092 predicts no punch) reach the lighthouse over IPv4
--     (a closed firewall lets no UDP reply in, the lighthouse's neither) and consider only
--     IPv6 addresses for each other (remote_allow_list): the lighthouse works, the direct
--     IPv6 tunnel does not: c's handshakes go to d's IPv6 address only and time out, c's
--     router tracks c -> d over IPv6 unanswered, d's router has no entry from c (its guard
--     dropped it before conntrack), the tun ping fails. (Nebula's punches, 1-byte datagrams,
--     go to every address the lighthouse names, allow list or not, so c and d do punch
--     through each other's IPv4 NAT: nebula never handshakes there.)
--   - natrig's partitions and isolation cut IPv6 too: a and b partitioned lose the tunnel
--     and regain it healed; the isolated lighthouse's IPv6 address stops answering.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"

local nebula = require "nebula" -- tests/lua/nebula.lua
nebula.require_installed()

local VPN = { lh = "10.42.0.1", a = "10.42.0.2", b = "10.42.0.3", c = "10.42.0.4", d = "10.42.0.5" }
local pki = nebula.pki(VPN)

-- a and b: the lighthouse over IPv6, only IPv6 addresses advertised
local V6_ONLY = { "  local_allow_list:", '    "0.0.0.0/0": false', '    "::/0": true' }
-- c and d: the lighthouse over IPv4 (lh4), only IPv6 addresses for the other peers
local function v6_peers(lh4)
  return { V6_ONLY[1], V6_ONLY[2], V6_ONLY[3], "  remote_allow_list:", '    "0.0.0.0/0": false',
    ('    "%s/32": true'):format(lh4), '    "::/0": true' }
end

local net = natrig.network { scenario = "vpn6_test", quiet = true }
local ok, err = pcall(function()
  local opts = nebula.opts
  local lh = net:gateway(opts { name = "lh", ip = "dual",
    files = nebula.files(pki, "lh", nebula.config(VPN, nil, nil, { listen = "[::]" })) })
  local function peer_files(node, n)
    local l = n:get("lh")
    local cfg = (node.name == "a" or node.name == "b")
        and nebula.config(VPN, l.public_ip6, nil, { listen = "[::]", lighthouse = V6_ONLY })
        or nebula.config(VPN, l.public_ip, nil, { listen = "[::]", lighthouse = v6_peers(l.public_ip) })
    return nebula.files(pki, node.name, cfg)
  end
  local function peer(name, fw)
    return net:peer(opts { name = name, ip = "dual", nat = "port_restricted", filtering6 = fw, files = peer_files })
  end
  local a, b, c, d = peer("a", "APDF"), peer("b", "APDF"), peer("c", "closed"), peer("d", "closed")
  local t0 = natrig.monotonic()
  net:up()
  t.diag(("up in %.1fs: lh %s / %s; a %s; b %s; c %s; d %s"):format(natrig.monotonic() - t0, lh.public_ip,
    lh.public_ip6, a.public_ip6, b.public_ip6, c.public_ip6, d.public_ip6))

  local function ping(from, to, count, interval)
    local r = from:exec({ "ping", "-c", tostring(count), "-i", interval or "0.2", "-W", "1", to })
    local sent, got = r.stdout:match("(%d+) packets transmitted, (%d+) packets received")
    return { sent = tonumber(sent) or 0, received = tonumber(got) or 0, out = r.stdout .. r.stderr }
  end
  local function reach(from, to, tries)
    for _ = 1, tries do if ping(from, to, 1, "1").received == 1 then return true end end
    return false
  end
  -- ping over IPv6 between the nodes' own namespaces (natrig's tools), not the tun
  local function ping6(from, ip6, count)
    local r = from:netexec({ "ping", "-6", "-c", tostring(count), "-i", "0.3", "-W", "1", ip6 }, { quiet = true })
    return tonumber(r.stdout:match("(%d+) packets received")) or 0
  end
  -- Router r's UDP conntrack entries of a family ("ipv4" | "ipv6") whose original direction
  -- goes from src to dst (any port), and the whole listing.
  local function flows(r, family, src, dst)
    local out = r:exec({ "conntrack", "-L", "-f", family, "-p", "udp" }, { quiet = true }).stdout
    local got = {}
    for line in out:gmatch("[^\n]+") do
      local s1, d1 = line:match("src=(%S+) dst=(%S+)")
      if s1 == src and d1 == dst then got[#got + 1] = line end
    end
    return got, out
  end
  local function answered(list)
    for _, l in ipairs(list) do if not l:find("UNREPLIED", 1, true) then return l end end
  end
  local function guard_drops(r)
    local l = r:diagnostics().nat6 or ""
    return tonumber(l:match("meta l4proto udp counter packets (%d+) bytes %d+ drop")) or 0
  end

  -- The control, closed firewalls (RFC 6092: no punch), runs beside a and b's checks and is
  -- judged before the lighthouse is isolated. c reaches the lighthouse over IPv4, then pings d.
  local HS = "Handshake message received"
  local control = natrig.spawn(function()
    local r = {}
    r.lh = c:wait_log { message = HS, fields = { vpnIp = VPN.lh }, timeout = 10 }
    r.d0 = guard_drops(d.router)
    local cmark = c:mark()
    r.ping = ping(c, VPN.d, 3, "1")
    r.timeout = c:wait_log { message = "Handshake timed out", fields = { vpnIp = VPN.d }, since = cmark,
      timeout = 15 }
    r.sent = c:logs { message = "Handshake message sent", fields = { vpnIp = VPN.d } }
    r.c6, r.c6all = flows(c.router, "ipv6", c.public_ip6, d.public_ip6)
    r.d6, r.d6all = flows(d.router, "ipv6", c.public_ip6, d.public_ip6)
    r.d1 = guard_drops(d.router)
    return r
  end, "closed control")

  -- nebula itself says it listens on both families
  for _, n in ipairs({ lh, a, b }) do
    local act = n:wait_log { message = "Nebula interface is active", timeout = 5 }
    t.is(act.fields.udpAddr, "[::]:4242", n.name .. ": nebula listens on [::]:4242 (both families)")
  end

  -- a -> b over the tun; the first pings trigger the handshake through the lighthouse
  local mark = a:mark()
  local t_punch = natrig.monotonic()
  t.ok(reach(a, VPN.b, 20), ("a reaches b over the VPN (%.1fs after the first ping)")
    :format(natrig.monotonic() - t_punch))
  local ha = a:wait_log { message = HS, fields = { vpnIp = VPN.b }, since = mark, timeout = 10 }
  local hb = b:wait_log { message = HS, fields = { vpnIp = VPN.a }, since = mark, timeout = 10 }
  t.is(ha.fields.udpAddr, ("[%s]:4242"):format(b.public_ip6), "a got b's handshake from b's IPv6 address: "
    .. tostring(ha.fields.udpAddr))
  t.is(hb.fields.udpAddr, ("[%s]:4242"):format(a.public_ip6), "b got a's handshake from a's IPv6 address: "
    .. tostring(hb.fields.udpAddr))
  -- from outside: each router's IPv6 firewall tracks the answered peer-to-peer flow, and its
  -- IPv4 NAT nothing towards the other peer
  for _, p in ipairs({ { a, b }, { b, a } }) do
    local me, other = p[1], p[2]
    local got, all = flows(me.router, "ipv6", me.public_ip6, other.public_ip6)
    t.ok(answered(got), ("%s's router: ip6 conntrack holds UDP %s -> %s, answered: %s"):format(me.name,
      me.name, other.name, tostring(answered(got) or all)))
    local got4 = flows(me.router, "ipv4", me.private_ip, other.public_ip)
    t.is(#got4, 0, ("%s's router: no IPv4 flow towards %s's NAT (%s)"):format(me.name, other.name,
      table.concat(got4, "; ")))
  end
  local base = ping(a, VPN.b, 10)
  t.is(base.received, base.sent, ("over the tun: %d/%d"):format(base.received, base.sent))

  -- a partition of two dual-stack nodes cuts IPv6 too (the tunnel's only path), heal restores it
  t.ok(ping6(a, b.public_ip6, 2) > 0, "before: a pings b's IPv6 address (RFC 6092 lets ICMPv6 echo in)")
  net:partition({ a }, { b })
  local cut = ping(a, VPN.b, 3)
  t.is(cut.received, 0, ("a and b partitioned: the tun ping gets %d/%d"):format(cut.received, cut.sent))
  t.is(ping6(a, b.public_ip6, 1), 0, "... and IPv6 between their own addresses is cut")
  net:heal()
  t.ok(reach(a, VPN.b, 10), "healed: a reaches b over the tun again")

  -- the control's verdict: the lighthouse worked, the direct IPv6 tunnel did not
  local r = require("natrig.task").join_all({ control }, "closed control")[1]
  t.is(r.lh.fields.udpAddr, lh.public_ip .. ":4242", "control: c's lighthouse handshake went over IPv4: "
    .. tostring(r.lh.fields.udpAddr))
  t.is(r.ping.received, 0, ("closed firewalls: c -> d over the tun %d/%d"):format(r.ping.received, r.ping.sent))
  local d6addr = ("[[%s]:4242]"):format(d.public_ip6)
  t.is(r.timeout.fields.udpAddrs, d6addr, "c's handshake with d timed out, tried at d's IPv6 address only: "
    .. "udpAddrs=" .. tostring(r.timeout.fields.udpAddrs))
  -- (a handshake sent before the lighthouse answered names no address: neither kind)
  local v6, v4 = 0, 0
  for _, e in ipairs(r.sent) do
    if e.fields.udpAddrs == d6addr then v6 = v6 + 1 end
    if tostring(e.fields.udpAddrs):find("%d+%.%d+%.%d+%.%d+") then v4 = v4 + 1 end
  end
  t.ok(v6 > 0 and v4 == 0, ("%d of c's %d handshakes to d went to d's IPv6 address, %d to IPv4; "
    .. "nebula's punches (1-byte datagrams to every address the lighthouse names, allow list or not) "
    .. "may cross the IPv4 NATs, its handshakes do not"):format(v6, #r.sent, v4))
  t.ok(#r.c6 > 0 and not answered(r.c6), "c's router: c -> d over IPv6 tracked, never answered: "
    .. (r.c6[1] or r.c6all))
  t.is(#r.d6, 0, "d's router: no entry from c (its guard dropped c's packets before conntrack)"
    .. (r.d6[1] and (": " .. r.d6[1]) or ""))
  t.ok(r.d1 > r.d0, ("d's firewall counted the drops (%d -> %d)"):format(r.d0, r.d1))

  -- the data plane does not go through the lighthouse: cut it off (both families), pings pass
  t.ok(ping6(a, lh.public_ip6, 3) > 0, "a reaches the lighthouse's IPv6 address before it is isolated")
  lh:isolate()
  t.is(ping6(a, lh.public_ip6, 1), 0, "lighthouse isolated: its IPv6 address no longer answers")
  local iso = ping(a, VPN.b, 10)
  t.is(iso.received, iso.sent, ("lighthouse isolated: a -> b over the tun still %d/%d"):format(iso.received,
    iso.sent))
  t.is(ping(a, VPN.lh, 3, "0.3").received, 0, "... while the lighthouse itself no longer answers on the tun")
  lh:rejoin()
  t.ok(ping6(a, lh.public_ip6, 3) > 0, "rejoined: the lighthouse's IPv6 address answers again")

end)
t.ok(ok, "no unexpected error: " .. tostring(err))
if not ok then
  for _, name in ipairs({ "lh", "a", "b", "c", "d" }) do
    local n = net.by_name[name]
    if n then t.diag(name .. ":\n" .. require("natrig.logs").last_lines(n, 20)) end
  end
end
net:down()
local filters = { label = natrig.json.array { "natrig.run=" .. net.session.run_id } }
local eng = natrig.engine()
t.is(#eng:container_list(filters) + #eng:network_list(filters), 0, "nothing left after down()")
t.done()
