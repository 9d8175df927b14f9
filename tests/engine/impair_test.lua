-- Impairment and faults against the real engine with real traffic (needs:engine).
-- On this project's machines the kernel has no sch_netem, so this exercises the
-- userspace shaper (natrig-shaper through NFQUEUE); tests/engine/netem_test.lua covers
-- tc netem wherever the kernel has it.
-- (Not serial: its bounds (RTT medians +-10%) held at load averages of 27-31 on this 2-core machine,
-- the shaper releasing packets on time under load; it runs among the parallel files.)
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local core = natrig.core

local PEER = "/usr/local/bin/natrig-peer"
local net = natrig.network { scenario = "impair_test", quiet = true }
local ok, err = pcall(function()
  local gw = net:gateway { name = "gw", cmd = { PEER, "echo", "--port", "3478" },
    ready = { log = "echo listening", plain = true } }
  -- echo servers behind full-cone NATs that announce themselves to the gateway first, so
  -- anyone can reach them at <public ip>:4000 (EIM with port preservation). The announce
  -- goes to a port nobody answers: sent to the gateway's echo server, its "seen" reply would
  -- be echoed back and forth between the two echo servers for the whole run (seen: 225,000
  -- datagrams a minute, and log waits on b and c timing out in the flood)
  local function announced(_, n)
    return { PEER, "echo", "--port", "4000", "--announce", n:get("gw").private_ip .. ":3479" }
  end
  local ready = { log = "echo listening", plain = true }
  local a = net:peer { name = "a", nat = "port_restricted", cmd = { PEER, "echo", "--port", "4000" }, ready = ready }
  local b = net:peer { name = "b", nat = "full_cone", cmd = announced, ready = ready }
  local c = net:peer { name = "c", nat = "full_cone", cmd = announced, ready = ready }
  local s = net:peer { name = "s", nat = "symmetric", cmd = { PEER, "echo", "--port", "4000" } }
  net:up()

  local function rtt(from, to, count, interval)
    local r = from:exec { PEER, "rtt", "--to", to.public_ip .. ":4000", "--count", tostring(count or 60),
      "--interval", tostring(interval or 10), "--timeout", "1500" }
    local res = {}
    for k, v in r.stdout:gmatch("([%w_]+)=(%S+)") do res[k] = tonumber(v) or v end
    return res
  end

  local base = rtt(a, b)
  t.is(base.received, base.sent,
    ("baseline a->b through two NATs: %d/%d, median %.2f ms"):format(base.received or -1, base.sent or -1,
    base.median_ms or -1))
  local base_c = rtt(a, c)

  -- 100 ms each way on a: RTT rises by 200 ms +-10%
  local dt = a:impair { delay = "100ms", direction = "both" }
  local slow = rtt(a, b, 30, 20)
  t.diag(("%s; a->b median %.2f ms"):format(tostring(dt), slow.median_ms or -1))
  t.like(tostring(dt), "^impairment on a: .*delay=100ms.*direction=both .*%(natrig%-shaper, applied in %d+ ms%)$",
    "a:impair{} returns a value that prints what is in force and how")
  -- the shaper's own figures name who was late when this fails: the shaper or the programs
  local q = a:impair_stats()[1] or {}
  t.ok(math.abs((slow.median_ms - base.median_ms) - 200) <= 20,
    ("100 ms each way adds 200 ms +-10%% to the RTT (%.1f ms; shaper %s, lateness p50 %s us, p99 %s us)")
    :format(slow.median_ms - base.median_ms, tostring(q.sched), tostring(q.late_p50_us), tostring(q.late_p99_us)))
  a:clear_impair()
  local back = rtt(a, b)
  t.ok(back.median_ms < base.median_ms + 2,
    ("after clear the RTT is back to baseline (%.2f ms)"):format(back.median_ms))

  -- 30% loss (egress of a): measured 25-35% over 1000 packets
  a:impair { loss = "30%" }
  local lossy = rtt(a, b, 1000, 2)
  t.ok(lossy.sent == 1000 and lossy.loss_pct >= 25 and lossy.loss_pct <= 35,
    ("30%% loss measured %.1f%% over %d packets"):format(lossy.loss_pct, lossy.sent))
  a:clear_impair()

  -- mid-run change latency: changing the spec of an impaired node
  a:impair { delay = "10ms" }
  local lat = {}
  for i = 1, 9 do lat[i] = a:impair({ delay = (10 + i) .. "ms" }).seconds end
  table.sort(lat)
  t.ok(lat[5] <= 0.05, ("a mid-run change takes %.0f ms (median of 9)"):format(lat[5] * 1000))
  a:clear_impair()

  -- a per-link impairment does not touch a third node
  net:impair_link(a, b, { delay = "100ms" })
  local ab, ac = rtt(a, b, 30, 20), rtt(a, c, 30, 20)
  t.ok(math.abs((ab.median_ms - base.median_ms) - 100) <= 10,
    ("link a-b: +100 ms on a->b (%.1f ms)"):format(ab.median_ms - base.median_ms))
  t.ok(ac.median_ms < base_c.median_ms + 2, ("link a-b leaves a->c alone (%.2f ms)"):format(ac.median_ms))
  net:clear_link(a, b)
  t.ok(rtt(a, b).median_ms < base.median_ms + 2, "link cleared")

  -- presets and bad values fail clearly
  t.raises(function() a:impair("mars") end, "valid: lan, regional, intercontinental, high_latency, challenging",
    "unknown preset lists the valid ones")
  t.raises(function() a:impair { delay = "10parsecs" } end, "bad time unit", "bad value is a clear error")
  t.raises(function() a:impair { dleay = "10ms" } end, "dleay", "unknown key is a clear error")
  a:impair("regional")
  local reg = rtt(a, b, 100, 10)
  t.ok(reg.median_ms > 30 and reg.median_ms < 50,
    ("preset regional (40 +- 10 ms) gives a %.1f ms median"):format(reg.median_ms))
  local st = a:impair_stats()
  t.ok(#st >= 1 and (st[1].seen or 0) > 0, "shaper counters readable")
  a:clear_impair()

  -- partition and heal
  net:partition({ a }, { b })
  local cut = rtt(a, b, 20, 10)
  t.is(cut.received, 0, "partition: nothing passes between a and b")
  t.is(rtt(a, c, 20, 10).received, 20, "partition: a still reaches c")
  net:heal()
  t.is(rtt(a, b, 20, 10).received, 20, "heal restores a-b")
  a:isolate()
  t.is(rtt(a, c, 10, 10).received, 0, "isolate cuts a off")
  a:rejoin()
  t.is(rtt(a, c, 10, 10).received, 10, "rejoin brings it back")

  -- conntrack flush on a symmetric NAT: the gateway sees a new mapped port
  local function seen_port()
    local r = s:exec { PEER, "probe", "--to", gw.private_ip .. ":3478", "--from-port", "40000" }
    return r.stdout:match("seen [%d.]+:(%d+)")
  end
  local p1 = seen_port()
  t.is(seen_port(), p1, "symmetric: the same flow keeps its mapping")
  s.router:flush()
  local p2 = seen_port()
  t.ok(p1 and p2 and p1 ~= p2,
    ("after a conntrack flush the gateway sees a new port (%s -> %s)"):format(tostring(p1), tostring(p2)))

  -- change a router's NAT type mid-run: b full cone -> symmetric. One socket probes two
  -- servers (the gateway and c, reachable through its full cone): before, both see the
  -- same mapping; after, two mappings.
  local function two_mappings(from_port)
    local r2 = b:exec { PEER, "probe", "--from-port", from_port, "--timeout", "2000",
      "--to", gw.private_ip .. ":3478", "--to", c.public_ip .. ":4000" }
    local ports = {}
    for port in r2.stdout:gmatch("seen [%d.]+:(%d+)") do ports[#ports + 1] = port end
    return ports, r2.stdout
  end
  local m1, out1 = two_mappings("41000")
  t.ok(#m1 == 2 and m1[1] == m1[2], "full cone: one mapping for both servers: " .. out1)
  b.router:set_nat("symmetric")
  local m2, out2 = two_mappings("41001")
  t.ok(#m2 == 2 and m2[1] ~= m2[2], "after set_nat symmetric: two mappings: " .. out2)

  -- kill / restart / pause / resume a peer; restart a router
  c:pause()
  t.is(rtt(a, c, 10, 10).received, 0, "a paused peer answers nothing")
  c:resume()
  t.is(rtt(a, c, 10, 10).received, 10, "resumed")
  c:kill()
  t.is(rtt(a, c, 10, 10).received, 0, "a killed peer answers nothing")
  c:start()
  c:wait_log { match = "echo listening", since = core.time() - 1, timeout = 10 }
  t.is(rtt(a, c, 10, 10).received, 10, "restarted peer answers again")
  c.router:restart()
  local rp = c:exec { PEER, "probe", "--to", gw.private_ip .. ":3478", "--from-port", "4001", "--timeout", "2000" }
  t.like(rp.stdout, "seen " .. c.router.wan_ip:gsub("%.", "%%.") .. ":",
    "a restarted router NATs again (the gateway sees its WAN address)")
end)
t.ok(ok, "no unexpected error: " .. tostring(err))
net:down()
t.done()
