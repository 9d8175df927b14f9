-- net:path against a real program with its own relay (issue 26; needs:engine). Nebula 1.6
-- (Debian's package, as in vpn_test.lua) with its lighthouse as its relay (relay.am_relay;
-- the peers' relay.relays and use_relays): a and b behind symmetric NATs cannot punch, so
-- nebula relays them through the lighthouse; c and d behind port-restricted NATs punch (their
-- use_relays is off: with it on, nebula 1.6.1 was seen keeping c<->d on the relay while
-- punched packets also passed, and net:path then says relayed too).
-- net:path says relayed via the lighthouse for a<->b and direct for c<->d, and nebula's own
-- log says the same: "Send handshake via relay" on a's side for b, and c's handshake from
-- d's NAT public address.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local core = natrig.core

local NEBULA, NEBULA_CERT = "/usr/bin/nebula", "/usr/bin/nebula-cert"
if not core.stat(NEBULA) or not core.stat(NEBULA_CERT) then
  if os.getenv("CI") == "true" then
    print("not ok 1 - nebula required under CI=true (make deps installs the Debian package)")
    print("1..1")
    os.exit(1)
  end
  print("1..0 # SKIP nebula is not installed (make deps installs it)")
  os.exit(0)
end

local VPN = { lh = "10.42.0.1", a = "10.42.0.2", b = "10.42.0.3", c = "10.42.0.4", d = "10.42.0.5" }
local PORT = 4242

-- Certificates, as a user makes them: nebula-cert on the host, one CA, one cert per host.
local function run(argv)
  local code, out, err = core.run(argv)
  assert(code == 0, table.concat(argv, " ") .. ": " .. tostring(out) .. tostring(err))
  return out
end
-- a fresh directory of our own (mktemp -d: mode 0700, unpredictable name)
local dir = run({ "mktemp", "-d", "/tmp/natrig-vpn-path-test.XXXXXX" }):match("^(%S+)")
run { NEBULA_CERT, "ca", "-name", "natrig vpn test", "-out-crt", dir .. "/ca.crt", "-out-key", dir .. "/ca.key" }
local pki = { ca = core.read_file(dir .. "/ca.crt") }
for name, ip in pairs(VPN) do
  run { NEBULA_CERT, "sign", "-ca-crt", dir .. "/ca.crt", "-ca-key", dir .. "/ca.key", "-name", name,
    "-ip", ip .. "/24", "-out-crt", dir .. "/" .. name .. ".crt", "-out-key", dir .. "/" .. name .. ".key" }
  pki[name] = { crt = core.read_file(dir .. "/" .. name .. ".crt"), key = core.read_file(dir .. "/" .. name .. ".key") }
end
for _, f in ipairs({ "ca.crt", "ca.key" }) do core.remove(dir .. "/" .. f) end
for name in pairs(VPN) do
  core.remove(dir .. "/" .. name .. ".crt")
  core.remove(dir .. "/" .. name .. ".key")
end
run { "rmdir", dir }

-- The config nebula's example ships, cut down: lighthouse, punchy, tun, text logs, allow all.
local function config(lh_public, relays)
  local c = {
    "pki:", "  ca: /etc/nebula/ca.crt", "  cert: /etc/nebula/host.crt", "  key: /etc/nebula/host.key",
  }
  if lh_public then
    c[#c + 1] = "static_host_map:"
    c[#c + 1] = ('  "%s": ["%s:%d"]'):format(VPN.lh, lh_public, PORT)
  end
  for _, l in ipairs({
    "lighthouse:", "  am_lighthouse: " .. tostring(lh_public == nil), "  interval: 60",
    "  hosts:" .. (lh_public and "" or " []"), lh_public and ('    - "%s"'):format(VPN.lh) or nil,
  }) do c[#c + 1] = l end
  for _, l in ipairs({
    "listen:", "  host: 0.0.0.0", "  port: " .. PORT,
    "punchy:", "  punch: true", "  respond: true",
    "relay:", lh_public and "  relays:" or "  am_relay: true",
    lh_public and ('    - "%s"'):format(VPN.lh) or "  use_relays: false",
    lh_public and ("  use_relays: " .. tostring(relays == true)) or "  # the lighthouse relays for the others",
    "tun:", "  disabled: false", "  dev: nebula1", "  mtu: 1300",
    "logging:", "  level: info", "  format: text",
    "firewall:",
    "  outbound:", "    - port: any", "      proto: any", "      host: any",
    "  inbound:", "    - port: any", "      proto: any", "      host: any",
  }) do c[#c + 1] = l end
  return table.concat(c, "\n") .. "\n"
end

local function files_for(name, lh_public)
  -- a and b may use the lighthouse as their relay; c and d may not (they must punch)
  local relays = name == "a" or name == "b"
  return {
    { path = "/etc/nebula", dir = true },
    { path = "/etc/nebula/config.yml", data = config(lh_public, relays) },
    { path = "/etc/nebula/ca.crt", data = pki.ca },
    { path = "/etc/nebula/host.crt", data = pki[name].crt },
    { path = "/etc/nebula/host.key", data = pki[name].key, mode = 384 },
  }
end

local net = natrig.network { scenario = "vpn_path_test", quiet = true }
local ok, err = pcall(function()
  local common = {
    binary = { host = NEBULA, dest = "/usr/local/bin/nebula" },
    cmd = { "/usr/local/bin/nebula", "-config", "/etc/nebula/config.yml" },
    tun = true,
    ready = { log = "Nebula interface is active", plain = true, timeout = 30 },
  }
  local function opts(extra)
    local o = {}
    for k, v in pairs(common) do o[k] = v end
    for k, v in pairs(extra) do o[k] = v end
    return o
  end
  local lh = net:gateway(opts { name = "lh", files = files_for("lh", nil) })
  lh.path_relay = true -- nebula's own relay: net:path may say "relayed via lh"
  local function peer_files(node, n) return files_for(node.name, n:get("lh").public_ip) end
  local a = net:peer(opts { name = "a", nat = "symmetric", files = peer_files })
  local b = net:peer(opts { name = "b", nat = "symmetric", files = peer_files })
  local c = net:peer(opts { name = "c", nat = "port_restricted", files = peer_files })
  local d = net:peer(opts { name = "d", nat = "port_restricted", files = peer_files })
  net:up()
  net:paths() -- counting starts before the first packet between the peers

  local function ping(from, to, count)
    local r = from:exec({ "ping", "-c", tostring(count), "-i", "0.2", "-W", "2", to })
    local got = r.stdout:match("(%d+) packets received")
    return tonumber(got) or 0
  end
  local function reach(from, to)
    for _ = 1, 30 do if ping(from, to, 1) == 1 then return true end end
    return false
  end
  local mark = a:mark()
  t.ok(reach(c, VPN.d), "c reaches d over the VPN")
  t.ok(reach(a, VPN.b), "a reaches b over the VPN")
  -- traffic on both pairs while net:path looks
  local pinger = natrig.spawn(function() return ping(a, VPN.b, 40) end)
  local pinger2 = natrig.spawn(function() return ping(c, VPN.d, 40) end)
  local pab = net:wait_path { a, b, kind = "relayed", timeout = 20 }
  t.is(pab.kind, "relayed", "symmetric x symmetric: net:path says relayed")
  t.is(pab.via, "lh", "... via the lighthouse, nebula's relay")
  local pcd = net:wait_path { c, d, kind = "direct", timeout = 20 }
  t.is(pcd.kind, "direct", "port_restricted x port_restricted: net:path says direct")
  t.diag(("a->b %d packets via lh; c->d %d packets direct"):format(pab.a_to_b.packets, pcd.a_to_b.packets))
  local got_ab, got_cd = pinger:join(), pinger2:join()
  local p1, p2 = net:path(a, b), net:path(c, d)
  t.ok(got_ab >= 30 and p1.a_to_b.packets >= got_ab,
    ("a's pings to b (%d answered) are counted on its way to the relay (%d packets)"):format(got_ab, p1.a_to_b.packets))
  t.ok(got_cd >= 30 and p2.a_to_b.packets >= got_cd,
    ("c's pings to d (%d answered) are counted on the direct path (%d packets)"):format(got_cd, p2.a_to_b.packets))
  t.is(p1.kind, "relayed", "a<->b still relayed after 40 pings")
  t.is(p2.kind, "direct", "c<->d still direct after 40 pings")

  -- nebula's own view
  local via = a:wait_log { message = "Send handshake via relay", since = mark, timeout = 10 }
  t.ok(via, "nebula on a: handshake to b sent via the relay: " .. tostring(via and via.raw))
  -- c's handshakes with d: the direct one came from d's NAT public address
  local direct_hs, seen = nil, {}
  for _, e in ipairs(c:logs { message = "Handshake message received" }) do
    if e.fields.vpnIp == VPN.d then
      seen[#seen + 1] = e.raw
      if tostring(e.fields.udpAddr):match("^" .. d.public_ip:gsub("%.", "%%.") .. ":%d+$") then direct_hs = e end
    end
  end
  t.ok(direct_hs, "nebula on c: a handshake from d came from d's NAT public address (direct): "
    .. (direct_hs and direct_hs.raw or table.concat(seen, " | ")))
end)
t.ok(ok, "no error: " .. tostring(err))
net:down()
t.done()
