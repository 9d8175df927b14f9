-- natrig-test: serial (median RTTs against +-5% bounds: 105.02 ms at a load average of 44)
-- impair{ family = ... } against the real engine (issue 25 item 4; needs:engine): two
-- dual-stack gateways, b pinging a over IPv4 and IPv6 at the same time. a:impair{ family =
-- "v6", delay = "100ms" } must add 100 ms (+-5 %) to IPv6 and nothing to IPv4; "v4" the
-- other way; the default (both) to both. The same in namespaces: tests/shaper/netns-family.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"

local net = natrig.network { scenario = "impair_family_test", quiet = true }
local ok, err = pcall(function()
  local a = net:gateway { name = "a", ip = "dual", cmd = { "sleep", "600" } }
  local b = net:gateway { name = "b", ip = "dual", cmd = { "sleep", "600" } }
  net:up()
  t.ok(a.private_ip6 and b.private_ip6, ("both gateways have IPv6 (%s, %s)"):format(tostring(a.private_ip6),
    tostring(b.private_ip6)))

  local function median(out)
    local v = {}
    for ms in out:gmatch("time=([%d.]+) ms") do v[#v + 1] = tonumber(ms) end
    table.sort(v)
    return v[(#v + 1) // 2] or math.huge, #v
  end
  -- b pings a over both families at once: { v4 median, v6 median }
  local function both()
    local r4, r6
    natrig.parallel(function()
      r4 = b:netexec { "ping", "-4", "-c", "30", "-i", "0.05", a.private_ip }
    end, function()
      r6 = b:netexec { "ping", "-6", "-c", "30", "-i", "0.05", a.private_ip6 }
    end)
    local m4, n4 = median(r4.stdout)
    local m6, n6 = median(r6.stdout)
    t.ok(n4 >= 25 and n6 >= 25, ("replies: %d over IPv4, %d over IPv6 of 30"):format(n4, n6))
    return m4, m6
  end
  local b4, b6 = both()
  t.diag(("baseline: IPv4 %.3f ms, IPv6 %.3f ms"):format(b4, b6))

  local function case(spec, want4, want6)
    local imp = a:impair(spec)
    local m4, m6 = both()
    local what = tostring(imp)
    t.ok(math.abs((m4 - b4) - want4) <= math.max(2, want4 * 0.05),
      ("%s: IPv4 added %.2f ms (want %d +-5 %%)"):format(what, m4 - b4, want4))
    t.ok(math.abs((m6 - b6) - want6) <= math.max(2, want6 * 0.05),
      ("%s: IPv6 added %.2f ms (want %d +-5 %%)"):format(what, m6 - b6, want6))
  end
  case({ family = "v6", delay = "100ms" }, 0, 100)
  t.like(a.impairment, "family=v6", "the impairment says its family")
  case({ family = "v4", delay = "100ms" }, 100, 0)
  case({ delay = "100ms" }, 100, 100)
  a:clear_impair()
  local c4, c6 = both()
  t.ok(c4 - b4 < 2 and c6 - b6 < 2, ("cleared: IPv4 %.3f ms, IPv6 %.3f ms"):format(c4, c6))
  t.ok(not a:netexec({ "ip6tables", "-t", "mangle", "-S" }).stdout:find("NFQUEUE", 1, true),
    "no IPv6 queue rule is left")
end)
t.ok(ok, "no unexpected error: " .. tostring(err))
net:down()
t.done()
