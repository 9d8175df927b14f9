-- Port mapping on natrig's routers (issue 23), judged by Debian's own clients (needs:engine):
-- upnpc (miniupnpc) and natpmpc in a peer behind a SYMMETRIC NAT get a mapping from the
-- router's miniupnpd, list it, delete it; a TCP and a UDP connection from a gateway on the
-- public network reach the peer on the mapped port, and fail when portmap is off, after the
-- mapping expired, or was deleted. Faults: deny, cgn (NAT-PMP 3, PCP NO_RESOURCES), max_lease,
-- restart (mappings gone, epoch reset), external_ip, protocols switched off mid-run, double NAT
-- (the inner router's mapping works from the outer router's LAN, not from the public network).
-- What touches other routers (portmap off, double NAT) runs beside the main sequence, and
-- independent waits on one peer run together, so the file stays short.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local listening = require "listening"

local PEER = "/usr/local/bin/natrig-peer"
local SLEEP = { "sleep", "1000000" }
local net = natrig.network { scenario = "portmap_test", quiet = true }
local ok, err = pcall(function()
  local gw = net:gateway { name = "gw", cmd = SLEEP }
  local p = net:peer { name = "p", nat = "symmetric", portmap = { "upnp", "natpmp", "pcp" },
    cmd = SLEEP }
  local off = net:peer { name = "off", nat = "symmetric", cmd = SLEEP }
  local q = net:peer { name = "q", nat = "symmetric", cmd = SLEEP }
  local cgn = net:router { name = "cgn", nat = "port_restricted" }
  local home = net:router { name = "home", nat = "port_restricted", behind = cgn, portmap = { "natpmp" } }
  local dn = net:peer { name = "dn", router = home, cmd = SLEEP }
  local t0 = natrig.now()
  net:up()
  t.diag(("up in %.2fs"):format(natrig.now() - t0))
  -- where the time goes (diagnostics only)
  local t_lap = natrig.now()
  local function lap(what)
    t.diag(("%s: %.1fs"):format(what, natrig.now() - t_lap))
    t_lap = natrig.now()
  end
  local r = p.router
  local ext = r.wan_ip

  local function sh(node, cmd) return node:exec { "sh", "-c", cmd } end
  -- UDP datagrams and a TCP connection from `from` (default: the gateway) to ip:port; the
  -- peer listens on its own lport. Returns udp_ok, tcp_ok. Nothing is sent before both
  -- listeners are bound (listening.wait: an exec can take seconds to start on a loaded
  -- machine); a refused connection is still tried again. Then the peer ends its own
  -- listeners from 127.0.0.1 (told apart by what they carry), so a closed port costs no
  -- listener timeout: the timeouts below only bound a listener that was never ended.
  local ready_max = 0 -- the longest wait for listeners (diagnostics only)
  -- want: the path should be open; then a TCP try that timed out is tried again too (under
  -- load a first SYN through two NATs went unanswered for 3 s once), not only a refused one
  local function reach(node, ip, port, lport, from, want)
    from = from or gw
    local u = natrig.spawn(function()
      return node:exec { PEER, "listen", "--port", tostring(lport), "--timeout", "30000" }
    end)
    local tc = natrig.spawn(function() return sh(node, "timeout 30 nc -l -p " .. lport) end)
    ready_max = math.max(ready_max, listening.wait(node, { udp = lport, tcp = lport }))
    natrig.parallel(function()
      from:exec { PEER, "send", "--to", ip .. ":" .. port, "--msg", "knock", "--count", "20", "--interval", "50" }
    end, function()
      from:exec { "sh", "-c", ("i=0; while [ $i -lt 8 ]; do out=$(echo hello-tcp | timeout 3 nc -w 2 %s %d 2>&1); "
        .. "rc=$?; case \"$out\" in *refused*) ;; *) [ %s = 1 ] && [ $rc != 0 ] || break ;; esac; "
        .. "sleep 0.25; i=$((i + 1)); done"):format(ip, port, want and "1" or "0") }
    end)
    sh(node, ("echo local-end | nc -w 1 127.0.0.1 %d; true"):format(lport))
    node:exec { PEER, "send", "--to", "127.0.0.1:" .. lport, "--msg", "local-end", "--count", "3", "--interval", "100" }
    local ur, tr = u:join(), tc:join()
    return (ur.stdout or ""):find("msg knock", 1, true) ~= nil, (tr.stdout or ""):find("hello-tcp", 1, true) ~= nil
  end
  -- reach() for each { node, ip, port, lport[, from[, want]] } at once: { { udp_ok, tcp_ok }, ... }
  local function reach_all(...)
    local fns = {}
    for i, a in ipairs { ... } do fns[i] = function() return { reach(table.unpack(a, 1, 6)) } end end
    return natrig.parallel(fns)
  end
  local function find(list, port)
    for _, m in ipairs(list) do if m.external_port == port then return m end end
  end
  -- miniupnpd's own log, stamped in the router (natrig.portmap events in the timeline): the
  -- last event of a kind for a port
  local function event(kind, port, proto)
    local last
    for _, e in ipairs(net:timeline { match = "portmap" }) do
      local f = e.fields or {}
      if f.kind == kind and tonumber(f.port) == port and (not proto or f.proto == proto) then last = e end
    end
    return last
  end
  -- wait (polling the lease file) until port is gone; then the seconds between its lease's end
  -- (grant + lease, both from miniupnpd's log) and the "expired" event
  local function expiry_error(kind, port, lease)
    -- until the expiry is in the timeline and the mapping gone (waiting for the mapping to be
    -- gone alone ended at once when it was not listed yet: a fast machine, 'expired ? s')
    for _ = 1, 150 do
      if event("expired", port, "udp") and not find(r:mappings(), port) then break end
      natrig.sleep(0.2)
    end
    local g, x = event(kind, port, "udp"), event("expired", port, "udp")
    if not (g and x) then return nil end
    return x.time - (g.time + (lease or tonumber(g.fields.lease)))
  end

  -- beside the main sequence (other routers): portmap off, and the double NAT. The inner
  -- router (home, behind cgn) maps; from cgn itself (its LAN is home's WAN) the mapping
  -- works, from the public network (cgn's address) it does not: cgn has no mapping.
  local side = natrig.spawn(function()
    local s = {}
    local o = sh(off, "timeout 3 natpmpc -a 6000 6000 udp 60; upnpc -i -a " .. off.private_ip .. " 6000 6000 UDP 60")
    s.off_answer = o.stdout:find("Mapped public port", 1, true) or o.stdout:find("is redirected", 1, true)
    s.off_reach = { reach(off, off.router.wan_ip, 6000, 6000) }
    s.dn = sh(dn, "natpmpc -a 6005 6005 udp 60; natpmpc -a 6005 6005 tcp 60").stdout
    s.dn_lan = { reach(dn, home.wan_ip, 6005, 6005, cgn, true) }
    s.dn_world = { reach(dn, cgn.wan_ip, 6005, 6005) }
    return s
  end, "portmap off and double NAT")

  -- UPnP: discovery by SSDP multicast on the LAN, as any client does. miniupnpc >= 2.2 calls
  -- an IGD whose external address is private "not connected" (natrig's public network is
  -- 10.128.0.0/9), so upnpc needs -i (see README). Once the first call found the router by
  -- SSDP, the others go to its description's URL (-u), as a client that remembers its IGD
  -- does: each discovery waits 2 s.
  local UPNPC = "upnpc -i -u http://" .. r.lan_ip .. ":2869/rootDesc.xml "
  -- (TCP twice: the second asks to renew it)
  local a = sh(p, "upnpc -i -e natrig-test -a " .. p.private_ip .. " 5000 5000 TCP 600; "
    .. UPNPC .. "-e natrig-test -a " .. p.private_ip .. " 5000 5000 TCP 600; "
    .. UPNPC .. "-e natrig-test -a " .. p.private_ip .. " 5000 5000 UDP 600")
  t.like(a.stdout, "external " .. ext:gsub("%.", "%%.") .. ":5000 TCP is redirected to internal "
    .. p.private_ip:gsub("%.", "%%.") .. ":5000", "upnpc: TCP mapping granted, found by SSDP")
  t.like(a.stdout, "external [%d.]+:5000 UDP is redirected", "upnpc: UDP mapping granted")
  local l = sh(p, UPNPC .. "-l")
  t.like(l.stdout, "TCP%s+5000%->" .. p.private_ip:gsub("%.", "%%.") .. ":5000%s+'natrig%-test'",
    "upnpc -l lists it")
  local ms = r:mappings()
  local m = find(ms, 5000)
  t.ok(m and m.via == "upnp" and m.internal == p.private_ip .. ":5000" and m.external == ext .. ":5000"
    and m.description == "natrig-test" and m.remaining and m.remaining > 590,
    "router:mappings() shows the UPnP mapping")
  local rs = reach_all({ p, ext, 5000, 5000, nil, true }, { p, ext, 5001, 5001 })
  local u, tcp = rs[1][1], rs[1][2]
  t.ok(u, "UDP from the public network reaches the peer behind a symmetric NAT on the mapped port")
  t.ok(tcp, "TCP from the public network reaches the peer behind a symmetric NAT on the mapped port")
  t.ok(not rs[2][1] and not rs[2][2], "an unmapped port keeps the symmetric preset's filtering")
  sh(p, UPNPC .. "-d 5000 TCP; " .. UPNPC .. "-d 5000 UDP")
  t.ok(not find(r:mappings(), 5000), "upnpc -d deletes it")

  lap("UPnP")

  -- NAT-PMP: the default gateway, port 5351. The 5 s mapping whose expiry is checked below
  -- is asked for first, so its lease runs out while the other checks run.
  sh(p, "natpmpc -a 6010 6010 udp 5; natpmpc -a 6010 6010 tcp 5")
  local n = sh(p, "natpmpc -a 6000 6000 udp 30; natpmpc -a 6000 6000 tcp 30")
  t.like(n.stdout, "Mapped public port 6000 protocol UDP to local port 6000 liftime 30",
    "natpmpc: UDP mapping granted")
  t.like(n.stdout, "Public IP address : " .. ext:gsub("%.", "%%."), "natpmpc: the router reports its WAN address")
  local epoch1 = tonumber(n.stdout:match("epoch = (%d+)"))
  m = find(r:mappings(), 6000)
  t.ok(m and m.via == "natpmp" and m.lease and m.lease <= 30 and m.lease >= 20,
    "router:mappings() shows the NAT-PMP mapping, lease 30 s")
  rs = reach_all({ p, ext, 6000, 6000, nil, true }, { p, ext, 5000, 5000 })
  t.ok(rs[1][1] and rs[1][2], "NAT-PMP mapping: UDP and TCP from the public network reach the peer")
  t.ok(not rs[2][1] and not rs[2][2], "after the UPnP deletion neither TCP nor UDP gets in")
  sh(p, "natpmpc -a 6000 6000 udp 0; natpmpc -a 6000 6000 tcp 0")
  -- expiry: the 5 s mapping is gone within 1 s of its lease end (router's log), and closed
  local d = expiry_error("requested", 6010, 5)
  t.ok(d and math.abs(d) <= 1, ("NAT-PMP mapping expired %s s from its lease end (miniupnpd counts whole seconds)")
    :format(d and ("%.2f"):format(d) or "?"))
  n = sh(p, "natpmpc -a 6001 6001 udp 60; natpmpc -a 6001 6001 udp 0")
  t.like(n.stdout, "Mapped public port 6001 protocol UDP", "natpmpc maps again")
  t.ok(not find(r:mappings(), 6001), "natpmpc lifetime 0 deletes it")

  lap("NAT-PMP and its expiry")

  -- natrig-peer portmap: PCP (no Debian client speaks it) and NAT-PMP, from the default gateway
  local pc = p:exec { PEER, "portmap", "--proto", "pcp", "--port", "6100", "--lifetime", "120" }
  t.like(pc.stdout, "^portmap pcp udp 6100 %-> " .. ext:gsub("%.", "%%.") .. ":6100 lifetime 120 epoch %d+",
    "natrig-peer portmap: PCP MAP granted")
  m = find(r:mappings(), 6100)
  t.ok(m and m.via == "pcp" and m.internal == p.private_ip .. ":6100", "router:mappings() shows the PCP mapping")
  pc = p:exec { PEER, "portmap", "--proto", "natpmp", "--tcp", "--port", "6101", "--lifetime", "60" }
  t.like(pc.stdout, "^portmap natpmp tcp 6101 %-> [%d.]+:6101 lifetime 60", "natrig-peer portmap: NAT-PMP granted")
  -- hole punching's "mapped" case: a peer behind ANOTHER symmetric NAT reaches the mapped
  -- side and gets its reply (natrig.holepunch.predict: direct); the unmapped port does not
  local function knock(port)
    local lst = natrig.spawn(function()
      return p:exec { PEER, "listen", "--port", tostring(port), "--timeout", "30000", "--reply" }
    end)
    ready_max = math.max(ready_max, listening.wait(p, { udp = port }))
    local pr = q:exec { PEER, "probe", "--to", ext .. ":" .. port, "--timeout", "2500", "--count", "10" }
    -- (ends a listener nothing reached; its reply to 127.0.0.1 goes nowhere that matters)
    p:exec { PEER, "send", "--to", "127.0.0.1:" .. port, "--msg", "local-end", "--count", "3", "--interval", "100" }
    lst:join()
    return pr.stdout:match("seen ([%d.:]+)")
  end
  -- (with the expired mapping's port: none of the three waits on another)
  local ks = natrig.parallel(function() return knock(6100) or false end, function() return knock(6102) or false end,
    function() return { reach(p, ext, 6010, 6010) } end)
  local seen = ks[1] or nil
  t.is(seen and seen:match("^[%d.]+"), q.router.wan_ip,
    "mapped: symmetric <-> symmetric gets through both ways (the mapped side saw the other's public address)")
  t.is(ks[2] or nil, nil, "unmapped: symmetric <-> symmetric does not")
  t.ok(not ks[3][1] and not ks[3][2], "after expiry neither TCP nor UDP gets in")

  lap("PCP, mapped hole punching")

  -- deny
  r:portmap { deny = true }
  -- (miniupnpd tries every other port before it refuses: about 2 s here)
  -- (UPnP first: each NAT-PMP retry keeps the single-threaded daemon busy for as long again;
  -- PCP last: asked before NAT-PMP, its own refusal's retries confused natpmpc once)
  -- (natpmpc ends at the refusal; 30 s, as at load 24 its refusal took over the 8 s it had
  -- once: its retries queue behind each other, and PCP below asks a fresh daemon anyway)
  n = sh(p, UPNPC .. "-a " .. p.private_ip .. " 6002 6002 UDP 60; timeout 30 natpmpc -a 6002 6002 udp 60")
  t.like(n.stdout, "readnatpmpresponseorretry returned %-51", "deny: NAT-PMP refuses (result 2, not authorized)")
  t.like(n.stdout, "AddPortMapping%(.*%) failed with code 606", "deny: UPnP refuses (606 Action not authorized)")
  t.ok(not find(r:mappings(), 6002), "deny: no mapping made")
  -- PCP's request goes to a fresh daemon: natpmpc's retries (one every 0.25-4 s until the
  -- first refusal reached it) wait in the single-threaded daemon's socket, each refused in ~2 s
  -- idle, and at load 15 they held PCP's request past 20 s (a fresh machine's first make test)
  r:portmap { deny = false }
  r:portmap { deny = true }
  pc = p:exec { PEER, "portmap", "--proto", "pcp", "--port", "6103", "--timeout", "20000" }
  t.like(pc.stdout, "^portmap pcp refused NOT_AUTHORIZED %(2%)", "deny: PCP refuses (NOT_AUTHORIZED)")
  r:portmap { deny = false }

  lap("deny")

  -- cgn: the router's own WAN sits behind a port-changing NAT (a carrier-grade NAT).
  -- miniupnpd's own STUN check sees the changed ports and turns port forwarding off, as it
  -- does behind a real CGN: NAT-PMP result 3 (Network Failure), PCP NO_RESOURCES (8).
  r:portmap { cgn = true }
  n = sh(p, "timeout 30 natpmpc -a 6005 6005 udp 60")
  t.like(n.stdout, "readnatpmpresponseorretry returned %-52",
    "cgn: Debian's natpmpc gets result 3 (NATPMP_ERR_NETWORKFAILURE, -52)")
  pc = p:exec { PEER, "portmap", "--proto", "natpmp", "--port", "6105", "--timeout", "8000" }
  t.like(pc.stdout, "^portmap natpmp refused NETWORK_FAILURE %(3%)", "cgn: natrig-peer portmap reports NAT-PMP 3")
  pc = p:exec { PEER, "portmap", "--proto", "pcp", "--port", "6106", "--timeout", "8000" }
  t.like(pc.stdout, "^portmap pcp refused NO_RESOURCES %(8%)", "cgn: natrig-peer portmap reports PCP NO_RESOURCES")
  t.ok(not find(r:mappings(), 6005) and not find(r:mappings(), 6106), "cgn: no mapping made")
  t.ok(event("refused", 6005, "udp"), "cgn: the refusal is a portmap event in the timeline")
  r:portmap { cgn = false }
  n = sh(p, "natpmpc -a 6005 6005 udp 60")
  t.like(n.stdout, "Mapped public port 6005", "cgn off: port forwarding is back")

  lap("cgn")

  -- max_lease: a permanent UPnP request is capped (the router grants it again with the cap),
  -- and the mapping ends within 1 s of the capped lease (router clock)
  r:portmap { max_lease = 2 }
  sh(p, UPNPC .. "-e forever -a " .. p.private_ip .. " 7000 7000 UDP 0")
  -- (miniupnpd makes a permanent IGDv2 request a 604800 s lease; the cap re-grants it with 2)
  d = expiry_error("granted", 7000)
  local g = event("granted", 7000, "udp")
  t.is(g and g.fields.lease, "2", "max_lease=2: the permanent request was granted again with a 2 s lease")
  t.ok(d and math.abs(d) <= 1, ("max_lease=2: the mapping expired %s s from the capped lease's end")
    :format(d and ("%.2f"):format(d) or "?"))
  r:portmap { max_lease = false }

  lap("max_lease")

  -- external_ip: the router reports a wrong address
  r:portmap { external_ip = "198.51.100.77" }
  n = sh(p, "natpmpc")
  t.like(n.stdout, "Public IP address : 198%.51%.100%.77", "external_ip: NAT-PMP reports the wrong address")

  -- restart: mappings gone, epoch reset
  -- asked until the lease file has it (natpmpc's one try can go unanswered under load)
  local before
  for _ = 1, 3 do
    sh(p, "natpmpc -a 6003 6003 udp 600")
    for _ = 1, 20 do
      before = find(r:mappings(), 6003)
      if before then break end
      natrig.sleep(0.1)
    end
    if before then break end
  end
  t.ok(before, "a mapping before the restart")
  natrig.sleep(1.2)
  local e2 = tonumber(sh(p, "natpmpc").stdout:match("epoch = (%d+)"))
  local t2 = natrig.now()
  local pe2 = tonumber(p:exec({ PEER, "portmap", "--proto", "pcp", "--port", "6104" }).stdout:match("epoch (%d+)"))
  local pt2 = natrig.now()
  r:restart()
  t.ok(not find(r:mappings(), 6003), "restart: every mapping is gone")
  -- the epoch went back: below what it would be without the restart (the first answer's
  -- epoch plus the seconds since; a loaded machine takes seconds to restart, so "below the
  -- first answer's" alone would fail there), with 1 s for miniupnpd's whole seconds
  local e3 = tonumber(sh(p, "natpmpc").stdout:match("epoch = (%d+)"))
  local e_no = e2 and e2 + (natrig.now() - t2)
  t.ok(e3 and e_no and e3 < e_no - 1, ("restart: the NAT-PMP epoch went back (%s, %s without the restart)")
    :format(tostring(e3), e_no and ("%.1f"):format(e_no) or "?"))
  local pe3 = tonumber(p:exec({ PEER, "portmap", "--proto", "pcp", "--port", "6104" }).stdout:match("epoch (%d+)"))
  local pe_no = pe2 and pe2 + (natrig.now() - pt2)
  t.ok(pe3 and pe_no and pe3 < pe_no - 1, ("restart: the PCP epoch went back (%s, %s without the restart)")
    :format(tostring(pe3), pe_no and ("%.1f"):format(pe_no) or "?"))
  t.ok(epoch1 ~= nil, "natpmpc printed an epoch")

  lap("external_ip, restart")

  -- protocols switched mid-run
  r:portmap { disable = "natpmp" }
  n = sh(p, "timeout 3 natpmpc -a 6004 6004 udp 60")
  t.ok(not n.stdout:find("Mapped public port", 1, true), "natpmp disabled: no answer")
  r:portmap { enable = "natpmp", disable = { "upnp", "pcp" } }
  n = sh(p, "natpmpc -a 6004 6004 udp 60; upnpc -i -l")
  t.like(n.stdout, "Mapped public port 6004", "natpmp enabled again")
  t.like(n.stdout .. n.stderr, "No IGD UPnP Device found", "upnp disabled: SSDP finds nothing")
  -- (PCP and NAT-PMP share port 5351: only PCP's version byte is dropped)
  pc = p:exec { PEER, "portmap", "--proto", "pcp", "--port", "6107", "--timeout", "2000" }
  t.like(pc.stdout, "no answer", "pcp disabled: no answer, while NAT-PMP on the same port answers")
  r:portmap { enable = "pcp" }
  pc = p:exec { PEER, "portmap", "--proto", "pcp", "--port", "6107", "--lifetime", "60" }
  t.like(pc.stdout, "^portmap pcp udp 6107 %-> ", "pcp enabled again")

  lap("protocol switches")

  -- what ran beside: portmap off (the same requests go unanswered, the port stays closed)
  -- and the double NAT (the inner router maps and reports its own WAN address, which is not
  -- the one the world sees; the mapping is real one level up, the world still cannot reach
  -- the peer)
  local sd = side:join()
  t.ok(not sd.off_answer, "portmap off: no NAT-PMP or UPnP answer")
  t.ok(not sd.off_reach[1] and not sd.off_reach[2], "portmap off: nothing from the public network reaches the peer")
  t.like(sd.dn, "Mapped public port 6005 protocol UDP", "double NAT: the inner router grants the mapping")
  t.like(sd.dn, "Public IP address : " .. home.wan_ip:gsub("%.", "%%."),
    "double NAT: inner router reports its own WAN address")
  t.ok(home.wan_ip ~= cgn.wan_ip, "... which is not the address the world sees")
  t.ok(sd.dn_lan[1] and sd.dn_lan[2], ("double NAT: from the outer router (the inner one's WAN side) UDP and TCP "
    .. "reach the peer on the mapping (UDP %s, TCP %s)"):format(tostring(sd.dn_lan[1]), tostring(sd.dn_lan[2])))
  t.ok(not sd.dn_world[1] and not sd.dn_world[2],
    "double NAT: from the public network neither UDP nor TCP reaches it (the inner mapping alone is not enough)")

  lap("portmap off and double NAT (beside)")
  t.diag(("the longest wait for a listener to bind: %.2fs"):format(ready_max))

  -- timeline and diagnostics
  local tl = net:timeline { match = "portmap" }
  local kinds = {}
  for _, e in ipairs(tl) do local k = e.message:match("^portmap (%a+)") if k then kinds[k] = true end end
  for _, k in ipairs { "granted", "renewed", "requested", "deleted", "expired", "refused" } do
    t.ok(kinds[k], "timeline: a 'portmap " .. k .. "' event (miniupnpd's log, beside natrig's own actions)")
  end
  t.like(r:diagnostics().portmap or "", "table inet natrig_pm", "diagnostics: miniupnpd's table")
end)
t.ok(ok, "no unexpected error: " .. tostring(err))
net:down()
local eng = natrig.engine()
local filters = { label = natrig.json.array { "natrig.run=" .. net.session.run_id } }
t.is(#eng:container_list(filters) + #eng:network_list(filters), 0, "nothing left after down()")
t.done()
