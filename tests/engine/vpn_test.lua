-- A real program nobody on this team wrote, behind natrig NATs, as a user would run it
-- (issue 18 item 7; needs:engine). Nebula (Slack's overlay VPN, Debian package `nebula`,
-- installed by `make deps`): a lighthouse on the public network and two peers, each behind
-- its own port_restricted NAT. The peers learn each other's public address from the
-- lighthouse and punch holes; their data plane is a tun device, so the app containers get
-- `tun = true` (NET_ADMIN + /dev/net/tun) and nothing more.
--   - its own config: YAML and certificates written through node `files`, the peers' files
--     a function(node, net) that reads the lighthouse's public IP at bring-up;
--   - its own log format: logrus text (time=... level=info msg="..." k=v), parsed by natrig
--     into level, message and fields;
--   - direct: each peer's handshake comes from the other's NAT public address, both routers'
--     conntrack holds the peer-to-peer UDP flow in both directions, and pings go on with
--     the lighthouse cut off;
--   - a delay on its data plane (ping over the tun addresses) equal to a:impair{ delay =
--     "100ms" } (+-10%): once, not twice.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"

local nebula = require "nebula" -- tests/lua/nebula.lua
nebula.require_installed()

local VPN = { lh = "10.42.0.1", a = "10.42.0.2", b = "10.42.0.3" }
local pki = nebula.pki(VPN)
local function files_for(name, lh_public) return nebula.files(pki, name, nebula.config(VPN, lh_public)) end

local net = natrig.network { scenario = "vpn_test", quiet = true }
local ok, err = pcall(function()
  local opts = nebula.opts
  local lh = net:gateway(opts { name = "lh", files = files_for("lh", nil) })
  -- the peers' config needs the lighthouse's public address: built at bring-up
  local function peer_files(node, n) return files_for(node.name, n:get("lh").public_ip) end
  local a = net:peer(opts { name = "a", nat = "port_restricted", files = peer_files })
  local b = net:peer(opts { name = "b", nat = "port_restricted", files = peer_files })
  local t0 = natrig.monotonic()
  net:up()
  t.diag(("up in %.1fs: lh %s, a %s (public %s), b %s (public %s)"):format(natrig.monotonic() - t0,
    lh.public_ip, a.private_ip, a.public_ip, b.private_ip, b.public_ip))
  t.ok(a.public_ip ~= b.public_ip and a.public_ip ~= a.private_ip, "a and b are each behind their own NAT")

  -- the app container got Docker's default set plus NET_ADMIN, and the tun device
  local status = a:exec({ "cat", "/proc/self/status" }, { check = true }).stdout
  local capeff = tonumber(status:match("CapEff:%s*(%x+)"), 16)
  t.ok(capeff and capeff & (1 << 12) ~= 0, "the app has CAP_NET_ADMIN (tun = true)")
  t.ok(capeff and capeff & (1 << 21) == 0, "the app has no CAP_SYS_ADMIN")
  t.is(capeff and (capeff & ~(1 << 12)), 0xa80425fb, "otherwise exactly Docker's default capability set")
  t.is(a:exec({ "test", "-c", "/dev/net/tun" }).code, 0, "the app has /dev/net/tun")
  local lhs = lh:exec({ "cat", "/proc/self/status" }, { check = true }).stdout
  t.ok(lhs:find("CapEff:%s*00000000a80435fb"), "the lighthouse too: default set + NET_ADMIN")

  -- nebula's own log, parsed: level, message, fields
  local active = a:wait_log { message = "Nebula interface is active", timeout = 5 }
  t.is(active.level, "info", "nebula's logrus line: level parsed (info)")
  t.is(active.message, "Nebula interface is active", "... message parsed")
  t.is(active.fields.interface, "nebula1", "... fields parsed (interface=nebula1)")
  t.like(tostring(active.fields.network), "^10%.42%.0%.2/24", "... network=" .. tostring(active.fields.network))
  for _, node in ipairs({ lh, a, b }) do
    local n, with_fields, bad_line = 0, 0, nil
    for _, e in ipairs(node:logs()) do
      n = n + 1
      -- the level and msg= of the raw line (test code: nebula's values have no escapes)
      local lvl, msg = e.raw:match('level=(%a+) msg="([^"]*)"')
      if not (lvl and e.level == lvl and e.message == msg) then bad_line = bad_line or e.raw end
      if e.fields and next(e.fields) then with_fields = with_fields + 1 end
    end
    t.ok(n > 0 and not bad_line, ("%s: all %d of nebula's lines parsed into level and message%s")
      :format(node.name, n, bad_line and (": not " .. bad_line) or ""))
    t.ok(with_fields > 0, ("%s: %d of them with fields"):format(node.name, with_fields))
  end

  -- ping over the tun, a -> b; the first pings trigger the handshake through the lighthouse
  local function ping(from, to, count, interval)
    local r = from:exec({ "ping", "-c", tostring(count), "-i", interval or "0.2", "-W", "2", to })
    local sent, got = r.stdout:match("(%d+) packets transmitted, (%d+) packets received")
    local mn, avg = r.stdout:match("min/avg/max = ([%d.]+)/([%d.]+)/")
    return { sent = tonumber(sent) or 0, received = tonumber(got) or 0, min = tonumber(mn) or math.huge,
      avg = tonumber(avg) or math.huge, out = r.stdout .. r.stderr }
  end
  local mark = a:mark()
  local t_punch = natrig.monotonic()
  local first
  for _ = 1, 20 do
    first = ping(a, VPN.b, 1, "1")
    if first.received == 1 then break end
  end
  t.is(first.received, 1, ("a reaches b over the VPN (%.1fs after the first ping)")
    :format(natrig.monotonic() - t_punch))

  -- direct: the handshake each side received came from the other's NAT public address
  local HS = "Handshake message received"
  local ha = a:wait_log { message = HS, fields = { vpnIp = VPN.b }, since = mark, timeout = 10 }
  local hb = b:wait_log { message = HS, fields = { vpnIp = VPN.a }, since = mark, timeout = 10 }
  t.like(tostring(ha.fields.udpAddr), "^" .. b.public_ip:gsub("%.", "%%.") .. ":%d+$",
    "a got b's handshake from b's NAT public address: udpAddr=" .. tostring(ha.fields.udpAddr))
  t.like(tostring(hb.fields.udpAddr), "^" .. a.public_ip:gsub("%.", "%%.") .. ":%d+$",
    "b got a's handshake from a's NAT public address: udpAddr=" .. tostring(hb.fields.udpAddr))
  t.ok(require("natrig.logs").when(ha) >= mark, ("the entry is after the mark (one clock: %.3f >= %.3f)")
    :format(require("natrig.logs").when(ha), mark))

  -- ... and each router tracks the peer-to-peer flow, answered (not [UNREPLIED])
  local function p2p_flow(router, mine, other)
    local out = router:exec({ "conntrack", "-L", "-p", "udp" }, { quiet = true }).stdout
    for line in out:gmatch("[^\n]+") do
      if line:find("src=" .. mine .. " dst=" .. other .. " ", 1, true) and not line:find("UNREPLIED", 1, true) then
        return line
      end
    end
    return nil, out
  end
  local fa, ca = p2p_flow(a.router, a.private_ip, b.public_ip)
  local fb, cb = p2p_flow(b.router, b.private_ip, a.public_ip)
  t.ok(fa, "a's router: UDP a -> b's public address, answered: " .. tostring(fa or ca))
  t.ok(fb, "b's router: UDP b -> a's public address, answered: " .. tostring(fb or cb))

  -- baseline RTT over the tun, then a's link delayed by 100 ms: +100 ms once
  local base = ping(a, VPN.b, 20)
  t.is(base.received, base.sent, ("baseline over the tun: %d/%d, min %.2f ms")
    :format(base.received, base.sent, base.min))
  a:impair { delay = "100ms" }
  local slow = ping(a, VPN.b, 20)
  local added = slow.min - base.min
  t.is(slow.received, slow.sent, ("delayed over the tun: %d/%d, min %.2f ms")
    :format(slow.received, slow.sent, slow.min))
  t.ok(math.abs(added - 100) <= 10, ("a:impair{ delay = \"100ms\" } adds %.1f ms to ping over nebula's tun "
    .. "(want 100 +-10; min %.2f -> %.2f, avg %.2f -> %.2f)"):format(added, base.min, slow.min, base.avg, slow.avg))
  a:clear_impair()

  -- the data plane does not go through the lighthouse: cut it off, pings still pass
  lh:isolate()
  local cut = ping(a, VPN.b, 10)
  t.is(cut.received, cut.sent, ("lighthouse isolated: a -> b over the tun still %d/%d"):format(cut.received, cut.sent))
  local lost = ping(a, VPN.lh, 3, "0.3")
  t.is(lost.received, 0, "... while the lighthouse itself no longer answers")
  lh:rejoin()
end)
t.ok(ok, "no unexpected error: " .. tostring(err))
if not ok then
  for _, name in ipairs({ "lh", "a", "b" }) do
    local n = net.by_name[name]
    if n then t.diag(name .. ":\n" .. require("natrig.logs").last_lines(n, 20)) end
  end
end
net:down()
t.done()
