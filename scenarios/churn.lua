-- Churn: peers join and leave every few seconds while two long-lived peers, each behind
-- its own port-restricted NAT, keep their direct connection. The long-lived pair pings
-- all the way through the churn, and is stopped when the churn is over (natrig-peer then
-- reports its ping run: "pings stopped", sent and received); the scenario asserts from
-- their logs that no ping was lost, no punch failed and the rendezvous never went silent.
-- However slow the machine, the pings last as long as the churn does.
--   natrig run scenarios/churn.lua rounds=10 every=1
local PEER = "/usr/local/bin/natrig-peer"

return natrig.scenario {
  name = "churn",
  params = { rounds = 10, every = 1.0, nat = "port_restricted" },
  timeout = 300,
  run = function(net, p)
    local rv = net:gateway { name = "rv", profile = "natrig-peer" }
    local function argv(me, expect, pings)
      return { PEER, "peer", "--gateway", rv.public_ip .. ":31337", "--name", me, "--port", "31337",
        "--expect", expect, "--pings", tostring(pings), "--ping-interval", "250", "--keepalive", "2" }
    end
    -- As many pings as natrig-peer keeps count of (1024, 4 a second): more than the churn
    -- takes; the pair is stopped when it is over.
    local pings = 1024
    local a = net:peer { name = "a", nat = p.nat, cmd = function() return argv("a", "b", pings) end }
    local b = net:peer { name = "b", nat = p.nat, cmd = function() return argv("b", "a", pings) end }
    net:up()
    for _, x in ipairs { { a, b }, { b, a } } do
      x[1]:wait_log { target = "natrig_peer::punch", fields = { remote = x[2].name }, message = "hole punched",
        timeout = 20 }
    end
    local joins, leaves, live = 0, 0, {}
    for i = 1, p.rounds do
      local name = "churn" .. i
      local c = net:peer { name = name, nat = i % 2 == 0 and "full_cone" or p.nat,
        cmd = argv(name, "a", 2) }
      c:wait_log { message = "registered with gateway", timeout = 15 }
      joins = joins + 1
      live[#live + 1] = c
      if #live > 2 then net:remove(table.remove(live, 1)); leaves = leaves + 1 end
      natrig.sleep(p.every)
    end
    for _, c in ipairs(live) do net:remove(c); leaves = leaves + 1 end
    print(("churn: %d joins, %d leaves; %d nodes now"):format(joins, leaves, #net.nodes))
    expect(joins, "joins"):ge(p.rounds)
    expect(leaves, "leaves"):ge(p.rounds)
    -- The long-lived pair: every ping answered, through the whole churn (a ping run that
    -- ended before the churn did fails too: it did not cover it).
    expect(#a:logs { message = "pings done" } + #b:logs { message = "pings done" }, "ping runs ended early"):eq(0)
    natrig.sleep(1)
    a:kill("TERM")
    b:kill("TERM")
    for _, x in ipairs { { a, b }, { b, a } } do
      local done = x[1]:wait_log { target = "natrig_peer::ping", message = "pings stopped",
        fields = { remote = x[2].name }, timeout = 30 }
      local sent, got = tonumber(done.fields.sent), tonumber(done.fields.received)
      print(("%s: %d pings to %s through the churn, %d answered"):format(x[1].name, sent, x[2].name, got))
      expect(sent, x[1].name .. " pings sent"):ge(1)
      -- the last PING may be in flight when the peer is stopped
      expect(got, x[1].name .. " pongs from " .. x[2].name):ge(sent - 1)
      expect(x[1]:logs { message = "hole punch failed", fields = { remote = x[2].name } }):none()
      expect(x[1]:logs { message = "gateway not answering" }):none()
    end
  end,
}
