-- quickstart: the smallest real natrig run. One gateway on the public network runs a
-- UDP echo server; one peer sits behind its own port-restricted NAT router. The peer
-- asks the echo server which address it sees: it must be the router's public address,
-- not the peer's private one. Then exec, logs and teardown.
return natrig.scenario {
  name = "quickstart",
  params = { nat = "port_restricted" },
  matrix = { nat = { "port_restricted", "symmetric", "full_cone" } },
  timeout = 120,
  run = function(net, p)
    local gw = net:gateway { name = "echo", cmd = { "/usr/local/bin/natrig-peer", "echo", "--port", "3478" },
      ready = { log = "echo", plain = true } }
    local peer = net:peer { name = "alice", nat = p.nat,
      cmd = { "/usr/local/bin/natrig-peer", "echo", "--port", "4000" } }
    net:up()
    print(("   %s\n   %s\n   %s"):format(tostring(gw), tostring(peer), tostring(peer.router)))

    -- exec an argv in the peer: the echo server sees the router's public address.
    local r = peer:exec { "/usr/local/bin/natrig-peer", "probe", "--to", gw.private_ip .. ":3478",
      "--from-port", "40000" }
    print("   probe says: " .. r.stdout:gsub("%s+$", ""))
    expect(r.code, "probe exit code"):eq(0)
    local seen_ip = r.stdout:match("seen ([%d.]+):%d+")
    expect(seen_ip, "address the gateway saw"):eq(peer.public_ip)
    expect(seen_ip):ne(peer.private_ip)

    -- the gateway's log (followed and parsed) shows the same datagram
    local e = gw:wait_log { match = peer.public_ip, plain = true, timeout = 10 }
    print("   gateway logged: " .. e.raw)
    expect(net:logs { level = "error" }):none()
  end,
}
