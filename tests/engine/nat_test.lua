-- NAT topology against the real engine with real UDP traffic (needs:engine):
-- 2 gateways + peers behind port-restricted, full-cone and symmetric NATs, two peers
-- behind one NAT, and a peer behind a double NAT (home router behind a carrier NAT).
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local listening = require "listening"

local PEER = "/usr/local/bin/natrig-peer"
local net = natrig.network { scenario = "nat_test", quiet = true }
local ok, err = pcall(function()
  local gw = net:gateway { name = "gw", cmd = { PEER, "echo", "--port", "3478" } }
  local gw2 = net:gateway { name = "gw2", cmd = { PEER, "echo", "--port", "3478" } }
  local pr = net:peer { name = "pr", nat = "port_restricted", cmd = { PEER, "echo", "--port", "4000" } }
  local fc = net:peer { name = "fc", nat = "full_cone", cmd = { PEER, "echo", "--port", "4000" } }
  local sym = net:peer { name = "sym", nat = "symmetric", cmd = { PEER, "echo", "--port", "4000" } }
  local shared = net:router { name = "home", nat = "port_restricted" }
  local s1 = net:peer { name = "s1", router = shared, cmd = { PEER, "echo", "--port", "4000" } }
  local s2 = net:peer { name = "s2", router = shared, cmd = { PEER, "echo", "--port", "4000" } }
  local cgnat = net:router { name = "cgnat", nat = "symmetric" }
  local home2 = net:router { name = "home2", nat = "port_restricted", behind = cgnat }
  local dn = net:peer { name = "dn", router = home2, cmd = { PEER, "echo", "--port", "4000" } }
  local t0 = natrig.now()
  net:up()
  t.diag(("up in %.2fs"):format(natrig.now() - t0))

  local function probe(node, to, from_port)
    local argv = { PEER, "probe", "--timeout", "1500" }
    for _, d in ipairs(type(to) == "table" and to or { to }) do argv[#argv + 1] = "--to"; argv[#argv + 1] = d end
    if from_port then argv[#argv + 1] = "--from-port"; argv[#argv + 1] = tostring(from_port) end
    return node:exec(argv)
  end
  local function seen(r) return r.stdout:match("seen ([%d.]+):(%d+)") end

  -- every peer reaches the gateway, which sees the outermost router's public address
  for _, p in ipairs({ pr, fc, sym, s1, s2, dn }) do
    local r = probe(p, gw.private_ip .. ":3478", 40000)
    local ip = seen(r)
    t.is(ip, p.public_ip, ("%s reaches the gateway, seen as its NAT's public address"):format(p.name))
    t.ok(ip ~= p.private_ip, p.name .. ": private address not visible")
  end
  t.is(s1.public_ip, s2.public_ip, "two peers behind one NAT share one public IP")
  t.is(dn.public_ip, cgnat.wan_ip, "double NAT: the gateway sees the carrier NAT's address")
  t.ok(home2.wan_ip ~= dn.public_ip, "double NAT: the home router's WAN is itself private (" .. home2.wan_ip .. ")")

  -- filtering: a peer sends to gw:6000 (nobody listens) to open its mapping; then the
  -- gateway answers from :6000 (a reply) and from :6001 (unsolicited), and a stranger
  -- (gw2) sends from :6000. listen reports whether anything arrived.
  local function inbound(p, from, from_port, opened_to)
    local r1 = probe(p, gw.private_ip .. ":" .. opened_to, 41000) -- opens (gw, opened_to)
    -- the mapping for local port 41000, learned from the echo server on the same gateway
    local r = probe(p, gw.private_ip .. ":3478", 41000)
    local m_ip, m_port = seen(r)
    local listener = natrig.spawn(function()
      return p:exec { PEER, "listen", "--port", "41000", "--timeout", "30000" }
    end)
    -- (sent once it listens: an exec can start seconds late on a loaded machine; then p
    -- ends its own listener from 127.0.0.1, so a dropped knock costs no listener timeout)
    listening.wait(p, { udp = 41000 })
    from:exec { PEER, "send", "--to", m_ip .. ":" .. m_port, "--from-port", tostring(from_port),
      "--msg", "knock", "--count", "15", "--interval", "50" }
    p:exec { PEER, "send", "--to", "127.0.0.1:41000", "--msg", "local-end", "--count", "3", "--interval", "100" }
    local lr = listener:join()
    return (lr.stdout or ""):find("msg knock", 1, true) ~= nil, lr.stdout, r1
  end
  local got = inbound(pr, gw, 6000, 6000)
  t.ok(got, "port-restricted: a reply from the address:port it sent to gets through")
  got = inbound(pr, gw, 6001, 6000)
  t.ok(not got, "port-restricted: an unsolicited packet from another port is dropped")
  got = inbound(pr, gw2, 6000, 6000)
  t.ok(not got, "port-restricted: an unsolicited packet from another host is dropped")
  got = inbound(fc, gw2, 6002, 6000)
  t.ok(got, "full cone: a stranger's packet to the mapping is accepted")

  -- mapping: one socket, two destinations
  local function two_mappings(p)
    local r = probe(p, { gw.private_ip .. ":3478", gw2.private_ip .. ":3478" }, 42000)
    local ports = {}
    for port in r.stdout:gmatch("seen [%d.]+:(%d+)") do ports[#ports + 1] = port end
    return ports
  end
  local sp = two_mappings(sym)
  t.is(#sp, 2, "symmetric: both destinations answered")
  t.ok(sp[1] ~= sp[2],
    ("symmetric: one socket maps to different public ports (%s, %s)"):format(tostring(sp[1]), tostring(sp[2])))
  local ep = two_mappings(pr)
  t.ok(#ep == 2 and ep[1] == ep[2],
    ("port-restricted (EIM): one socket keeps one public port (%s, %s)"):format(tostring(ep[1]), tostring(ep[2])))

  -- isolation: a LAN is reachable only through its NAT
  local r = probe(pr, s1.private_ip .. ":4000", 43000)
  t.ok(r.code ~= 0, "a peer cannot reach another LAN's private address directly")
  r = probe(gw, s1.private_ip .. ":4000", 43000)
  t.ok(r.code ~= 0, "the public network cannot reach a private address directly")

  -- diagnostics (the seed's three dumps)
  local d = net:diagnostics()
  t.like(d.routers[pr.router.name].nat, "table ip natrig", "diagnostics: NAT ruleset with counters")
  t.like(d.routers[pr.router.name].forward, "Chain FORWARD", "diagnostics: FORWARD counters")
  t.like(d.routers[pr.router.name].conntrack, "udp", "diagnostics: conntrack entries")
  t.like(d.nodes.pr.routes, "default via " .. pr.router.lan_ip:gsub("%.", "%%."),
    "diagnostics: the peer routes via its router")
end)
t.ok(ok, "no unexpected error: " .. tostring(err))
net:down()
local eng = natrig.engine()
local filters = { label = natrig.json.array { "natrig.run=" .. net.session.run_id } }
t.is(#eng:container_list(filters) + #eng:network_list(filters), 0, "nothing left after down()")
t.done()
