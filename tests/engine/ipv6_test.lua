-- IPv6 through natrig's routers against the real engine (needs:engine; issue 25): a
-- dual-stack peer behind a router with a port-restricted IPv4 NAT and an APDF IPv6
-- firewall (RFC 6092). coturn classifies both families from outside; an unsolicited IPv6
-- datagram from the public network is dropped by the firewall's guard, and once the peer
-- has sent to that address and port the same datagram gets through (a different port of
-- the same host still does not: APDF). An EIF firewall lets in a stranger once the peer has
-- sent anywhere; a closed one lets in nothing. Datagrams are sent and received by socat.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local listening = require "listening"

local net = natrig.network { scenario = "ipv6_test", quiet = true }
local SLEEP = { "sleep", "2000000000" }
local ok, err = pcall(function()
  local gw = net:gateway { name = "gw", ip = "dual", profile = "command", cmd = SLEEP }
  local v4 = net:gateway { name = "v4", profile = "command", cmd = SLEEP }
  local a = net:peer { name = "a", ip = "dual", nat = "port_restricted", filtering6 = "APDF", profile = "command",
    cmd = SLEEP }
  local e = net:peer { name = "e", ip = "dual", filtering6 = "EIF", profile = "command", cmd = SLEEP }
  local c = net:peer { name = "c", ip = "dual", filtering6 = "closed", profile = "command", cmd = SLEEP }
  local t0 = natrig.monotonic()
  net:up()
  t.diag(("up in %.2fs"):format(natrig.monotonic() - t0))

  -- addresses
  t.ok(natrig.core.subnet6_contains(a.router.lan.subnet6, a.public_ip6), "a's IPv6 address is in its LAN's prefix")
  t.is(a.public_ip6, a.private_ip6, "no translation: a's public IPv6 address is its own")
  t.ok(natrig.core.subnet6_contains(net.public.subnet6, gw.public_ip6), "the gateway's is in the public prefix")
  t.is(v4.public_ip6, nil, "a v4 gateway has no IPv6 address")
  local s4, s6 = a:addr(5000)
  t.is(s4, a.public_ip .. ":5000", "a:addr() gives the IPv4 address first")
  t.is(s6, "[" .. a.public_ip6 .. "]:5000", "and the IPv6 one second")
  local v4a = v4:netexec({ "ip", "-6", "-o", "addr", "show", "scope", "global" }, { quiet = true }).stdout
  t.is(v4a, "", "IPv6 is off in the v4 gateway")

  -- send(from, to_ip6, to_port, from_port): one datagram; exchange(node, port, fn): what
  -- arrives at node's port from what fn sends (received from before fn runs, so nothing is
  -- missed), "" when nothing does.
  local function send(from, ip6, port, sport)
    local to = ("UDP6-SENDTO:[%s]:%d,sourceport=%d"):format(ip6, port, sport)
    from:netexec({ "socat", "-u", "OPEN:/etc/hostname", to }, { check = true, quiet = true })
  end
  local function exchange(rx, port, fn)
    local job = natrig.spawn(function()
      -- socat waits for its first datagram without a limit: timeout bounds it
      return rx:netexec({ "timeout", "30", "socat", "-u", ("UDP6-RECVFROM:%d"):format(port), "STDOUT" },
        { quiet = true })
    end)
    -- (sent once it listens: an exec can start seconds late on a loaded machine; then rx
    -- ends its own receiver from ::1, so a dropped datagram costs no timeout)
    listening.wait(rx, { udp = port })
    fn()
    rx:netexec({ "sh", "-c", 'echo local-end | socat -u STDIN "UDP6-SENDTO:[::1]:$1"', "local-end", tostring(port) },
      { quiet = true })
    local r = require("natrig.task").join_all({ job }, "receive")[1]
    local got = (r.stdout or ""):gsub("%s+$", "")
    return got ~= "local-end" and got or ""
  end
  local function drops(r)
    local l = r:diagnostics().nat6 or ""
    return tonumber(l:match("meta l4proto udp counter packets (%d+) bytes %d+ drop")) or 0
  end

  -- APDF: unsolicited dropped; after a sends to gw:6000 from 5000, gw:6000 -> a:5000 passes
  local d0 = drops(a.router)
  t.is(exchange(a, 5000, function() send(gw, a.public_ip6, 5000, 6000) end), "",
    "APDF: an unsolicited IPv6 datagram from the public network is dropped")
  t.ok(drops(a.router) > d0, "the firewall's guard counted the drop")
  send(a, gw.public_ip6, 6000, 5000)
  t.is(exchange(a, 5000, function() send(gw, a.public_ip6, 5000, 6000) end), "gw",
    "APDF: after a sent to gw:6000, gw:6000's datagram gets through")
  t.is(exchange(a, 5000, function() send(gw, a.public_ip6, 5000, 6001) end), "",
    "APDF: the same host from another port is still dropped")
  -- EIF: once e sent anywhere from 5000, anyone may send to it
  send(e, gw.public_ip6, 7000, 5000)
  t.is(exchange(e, 5000, function() send(gw, e.public_ip6, 5000, 6002) end), "gw",
    "EIF: a datagram from a port e never sent to gets through once e has sent from 5000")
  -- closed: nothing inbound, not even from where c sent
  send(c, gw.public_ip6, 6000, 5000)
  t.is(exchange(c, 5000, function() send(gw, c.public_ip6, 5000, 6000) end), "",
    "closed: even the endpoint c sent to cannot answer")
  -- IPv4 is the port-restricted NAT as before
  t.is(exchange(a, 5000, function()
    gw:netexec({ "socat", "-u", "OPEN:/etc/hostname", ("UDP4-SENDTO:%s:5000,sourceport=6000"):format(a.public_ip) },
      { check = true, quiet = true })
  end), "", "IPv4: an unsolicited datagram to the NAT is dropped too")

  -- coturn from outside, both families
  local r4 = net:classify(a)
  t.is(r4.mapping .. " " .. r4.filtering, "EIM APDF", "coturn over IPv4: the port-restricted NAT (EIM, APDF)")
  local r6 = net:classify(a, { family = 6 })
  t.is(r6.mapping, "none", "coturn over IPv6: no translation (\"No NAT\")")
  t.is(r6.filtering, "APDF", "coturn over IPv6: address and port dependent filtering")
  t.ok(r6.matches, "what natrig claims for IPv6 matches coturn")
  local re = net:classify(e, { family = 6 })
  t.is(re.filtering, "EIF", "coturn over IPv6: the EIF firewall is endpoint independent")
  if r6.filtering ~= "APDF" or re.filtering ~= "EIF" then t.diag(r6.raw); t.diag(re.raw) end

  -- diagnostics speak both families
  local d = a.router:diagnostics()
  t.like(d.nat6 or "", "table ip6 natrig", "router diagnostics: the IPv6 firewall's ruleset")
  t.like(d.conntrack6 or "", gw.public_ip6:gsub("%p", "%%%0"), "router diagnostics: IPv6 conntrack entries")
  local nd = a:diagnostics()
  t.like(nd.routes6 or "", "default via " .. a.router.lan_ip6:gsub("%p", "%%%0"),
    "node diagnostics: IPv6 route via its router")
  t.like(nd.addresses6 or "", a.private_ip6:gsub("%p", "%%%0"), "node diagnostics: its IPv6 address")
end)
t.ok(ok, "no unexpected error: " .. tostring(err))
net:down()
local eng = natrig.engine()
local filters = { label = natrig.json.array { "natrig.run=" .. net.session.run_id } }
t.is(#eng:container_list(filters) + #eng:network_list(filters), 0, "nothing left after down()")
t.done()
