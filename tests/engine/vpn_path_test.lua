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

local nebula = require "nebula" -- tests/lua/nebula.lua
nebula.require_installed()

local VPN = { lh = "10.42.0.1", a = "10.42.0.2", b = "10.42.0.3", c = "10.42.0.4", d = "10.42.0.5" }
local pki = nebula.pki(VPN)

-- The relay section: the lighthouse relays (am_relay); a peer names it as its relay, and
-- uses it only when `relays` (a and b: they cannot punch; c and d must).
local function relay_lines(lh_public, relays)
  return { "relay:", lh_public and "  relays:" or "  am_relay: true",
    lh_public and ('    - "%s"'):format(VPN.lh) or "  use_relays: false",
    lh_public and ("  use_relays: " .. tostring(relays == true)) or "  # the lighthouse relays for the others" }
end

local function files_for(name, lh_public)
  -- a and b may use the lighthouse as their relay; c and d may not (they must punch)
  local relays = name == "a" or name == "b"
  return nebula.files(pki, name, nebula.config(VPN, lh_public, relay_lines(lh_public, relays)))
end

local net = natrig.network { scenario = "vpn_path_test", quiet = true }
local ok, err = pcall(function()
  local opts = nebula.opts
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
