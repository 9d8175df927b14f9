-- The real Freenet: 1 gateway + 2 peers, each peer behind its own NAT (port-restricted
-- by default). The two peers must connect directly to each other through their NATs,
-- not only to the gateway. Needs FREENET_BIN (cargo install freenet).
return natrig.scenario {
  name = "freenet direct connection through NATs",
  params = { nat = "port_restricted", timeout = 90 },
  timeout = 240,
  run = function(net, p)
    local gw = net:gateway { name = "gw", profile = "freenet" }
    local a = net:peer { name = "a", profile = "freenet", nat = p.nat }
    local b = net:peer { name = "b", profile = "freenet", nat = p.nat }
    local t0 = natrig.now()
    net:up()
    print(("   up in %.1fs: gw %s, a %s (public %s), b %s (public %s)"):format(natrig.now() - t0,
      gw.public_ip, a.private_ip, a.public_ip, b.private_ip, b.public_ip))
    local MSG = "NAT traversal connection established"
    -- each peer reaches the gateway ...
    for _, peer in ipairs({ a, b }) do
      local e = peer:wait_log { match = MSG, plain = true, fields = { peer_addr = gw.public_ip .. ":31337" },
        timeout = p.timeout }
      print(("   %s -> gateway after %.1fs: %s"):format(peer.name, natrig.now() - t0, e.raw))
    end
    -- ... and each other, through both NATs (their public addresses)
    local ea = a:wait_log { match = MSG, plain = true, fields = { peer_addr = b.public_ip .. ":31337" },
      timeout = p.timeout }
    print(("   a -> b after %.1fs: %s"):format(natrig.now() - t0, ea.raw))
    local eb = b:wait_log { match = MSG, plain = true, fields = { peer_addr = a.public_ip .. ":31337" },
      timeout = p.timeout }
    print(("   b -> a after %.1fs: %s"):format(natrig.now() - t0, eb.raw))
  end,
}
