-- Churn: peers join and leave every few seconds while two long-lived peers, each behind
-- its own port-restricted NAT, keep their direct connection. The long-lived pair pings
-- all the way through the churn; the scenario asserts from their logs that no ping was
-- lost, no punch failed and the rendezvous never went silent.
--   natrig run scenarios/churn.lua rounds=10 every=1
--   natrig run scenarios/churn.lua round_budget=12   # a busy machine: pings last longer
local PEER = "/usr/local/bin/natrig-peer"

return natrig.scenario {
  name = "churn",
  params = { rounds = 10, every = 1.0, nat = "port_restricted", round_budget = 6 },
  timeout = 300,
  run = function(net, p)
    local rv = net:gateway { name = "rv", profile = "natrig-peer" }
    local function argv(me, expect, pings)
      return { PEER, "peer", "--gateway", rv.public_ip .. ":31337", "--name", me, "--port", "31337",
        "--expect", expect, "--pings", tostring(pings), "--ping-interval", "250", "--keepalive", "2" }
    end
    -- Enough pings to outlast the churn (each round: a peer and its NAT join, one leaves;
    -- about 3 s a round on an idle machine, allowed round_budget s: more on a busy one).
    local pings = math.floor((p.rounds * (p.every + p.round_budget) + 10) * 4)
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
    local churn_end = natrig.core.time()
    print(("churn: %d joins, %d leaves; %d nodes now"):format(joins, leaves, #net.nodes))
    expect(joins, "joins"):ge(p.rounds)
    expect(leaves, "leaves"):ge(p.rounds)
    -- The long-lived pair: every ping answered, through the whole churn.
    for _, x in ipairs { { a, b }, { b, a } } do
      local done = x[1]:wait_log { target = "natrig_peer::ping", message = "pings done",
        fields = { remote = x[2].name }, timeout = pings / 4 + 30 }
      expect(tonumber(done.fields.received), x[1].name .. " pongs from " .. x[2].name):eq(pings)
      expect((done.engine_time or done.time) > churn_end, "pings outlasted the churn"):eq(true)
      expect(x[1]:logs { message = "hole punch failed", fields = { remote = x[2].name } }):none()
      expect(x[1]:logs { message = "gateway not answering" }):none()
    end
  end,
}
