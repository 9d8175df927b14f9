-- The CGN keepalive bug: two natrig-peers, each behind its own home router (port_restricted),
-- both behind one carrier-grade NAT, punch to each other (through the CGN's hairpin) and
-- then only send keepalives. A CGN forgets an idle UDP mapping after its UDP timeout; a
-- keepalive longer than that finds the mapping gone, the other side's packets are dropped,
-- and the peers report the direct path lost ("direct path lost", natrig-peer's warning).
-- With the defaults (45 s keepalive, 30 s CGN UDP timeout) it is lost; keepalive=20 keeps it.
--   natrig run scenarios/cgn_keepalive.lua                  # 45 s vs 30 s: lost, as predicted
--   natrig run scenarios/cgn_keepalive.lua keepalive=20      # kept
--   natrig run scenarios/cgn_keepalive.lua expect=direct     # fail unless the path survives
-- As a sweep, a grid over (keepalive, timeout); with --set expect=direct its red cells are
-- the combinations that lose the path:
--   natrig sweep scenarios/cgn_keepalive.lua --set expect=direct --html r.html
-- The case passes (expect=prediction, the default) when the outcome is the prediction: lost
-- exactly when the keepalive is longer than the timeout. Metrics: direct_path_lost (0 or 1),
-- path_lost_after (seconds from the punch).
local PEER = "/usr/local/bin/natrig-peer"

-- The sweep's grid: keepalive x timeout, seconds. NATRIG_CGN_GRID="2,5:3,8" (keepalives:
-- timeouts) gives a fast one with the same shape (tests/engine/cgn_keepalive_test.sh).
local function grid()
  local ka, to = { 20, 45 }, { 30, 60 }
  local g = natrig.core.getenv("NATRIG_CGN_GRID")
  if g and g ~= "" then
    local k, t = g:match("^([%d,]+):([%d,]+)$")
    if not k then error("NATRIG_CGN_GRID must look like 2,5:3,8 (keepalives:timeouts), got " .. g, 0) end
    ka, to = {}, {}
    for v in k:gmatch("%d+") do ka[#ka + 1] = tonumber(v) end
    for v in t:gmatch("%d+") do to[#to + 1] = tonumber(v) end
  end
  return { keepalive = ka, timeout = to }
end

return natrig.scenario {
  name = "cgn keepalive",
  params = { keepalive = 45, timeout = 30, watch = 0, expect = "prediction" },
  matrix = grid(),
  timeout = 900,
  run = function(net, p)
    if p.expect ~= "prediction" and p.expect ~= "direct" then
      error(("expect must be prediction or direct, got %s"):format(tostring(p.expect)), 0)
    end
    local rv = net:gateway { name = "rv", profile = "natrig-peer" }
    local cgn = net:router { name = "cgn", nat = "cgnat", pool = 1, udp_timeout = p.timeout }
    local function argv(me, other)
      return { PEER, "peer", "--gateway", rv.public_ip .. ":31337", "--name", me, "--port", "31337",
        "--expect", other, "--pings", "3", "--keepalive", tostring(p.keepalive) }
    end
    local peers = {}
    for _, x in ipairs { { "a", "b" }, { "b", "a" } } do
      local home = net:router { name = "home_" .. x[1], nat = "port_restricted", behind = cgn }
      peers[#peers + 1] = net:peer { name = x[1], router = home, cmd = function() return argv(x[1], x[2]) end }
    end
    local a, b = peers[1], peers[2]
    net:up()
    for _, x in ipairs { { a, b }, { b, a } } do
      x[1]:wait_log { target = "natrig_peer::punch", message = "hole punched", fields = { remote = x[2].name },
        timeout = 30 }
    end
    local t0 = natrig.now()
    -- long enough for two keepalives after the mapping's timeout, and the 2 s answer wait
    local window = p.watch > 0 and p.watch or math.max(2 * p.keepalive, p.timeout + p.keepalive) + 5
    local lost
    while natrig.now() - t0 < window and not lost do
      natrig.sleep(0.5)
      lost = a:logs { message = "direct path lost", since = t0 }[1]
        or b:logs { message = "direct path lost", since = t0 }[1]
    end
    local predicted = p.keepalive > p.timeout
    local after = lost and ((lost.engine_time or lost.time) - t0)
    print(("keepalive %s s, CGN UDP timeout %s s: %s (predicted: %s)"):format(p.keepalive, p.timeout,
      lost and ("direct path lost after %.1f s (%s reported it)"):format(after, lost.node)
        or ("direct path kept for %.0f s"):format(window), predicted and "lost" or "kept"))
    for _, c in ipairs(cgn:customers()) do
      print(("  customer %s: %s ports %s, %d in use"):format(c.name, c.public_ip, table.concat(c.blocks, ","), c.used))
    end
    natrig.metric("direct_path_lost", lost and 1 or 0, "")
    if after then natrig.metric("path_lost_after", after, "s") end
    if p.expect == "direct" then
      expect(lost == nil, "the direct path survives (keepalive " .. p.keepalive .. " s, timeout " .. p.timeout .. " s)")
        :eq(true)
    elseif p.keepalive ~= p.timeout then -- equal: a race between the keepalive and the expiry
      expect(lost ~= nil, "direct path lost"):eq(predicted)
    end
  end,
}
