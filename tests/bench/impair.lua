-- Impairment benchmark: (1) latency of a mid-run impairment change on one node, against
-- the floor of one engine exec round trip measured in the same run; (2) delay accuracy of
-- the userspace shaper: set 20/50/100 ms each way, measure RTT with natrig-peer rtt.
local natrig = require "natrig"
local core = natrig.core
local PEER = "/usr/local/bin/natrig-peer"

local net = natrig.network { scenario = "bench-impair", quiet = true }
local gw = net:gateway { name = "gw", cmd = { PEER, "echo", "--port", "4000" } }
local a = net:peer { name = "a", nat = "port_restricted", cmd = { "sleep", "600" } }
net:up()
local function median(l) table.sort(l) return l[(#l + 1) // 2] end

-- floor: an exec round trip (what a change would cost through the engine)
local floor = {}
for i = 1, 20 do local t0 = core.now(); a:netexec { "true" }; floor[i] = core.now() - t0 end
a:impair { delay = "1ms" }
local change = {}
for i = 1, 50 do change[i] = a:impair { delay = (1 + i % 7) .. "ms" } end
local fm, cm = median(floor), median(change)
print(("mid-run change: median %.2f ms over 50 (goal <= 50 ms); floor exec round trip %.1f ms; ratio %.3f")
  :format(cm * 1000, fm * 1000, cm / fm))
a:clear_impair()

local function rtt()
  local r = a:exec { PEER, "rtt", "--to", gw.public_ip .. ":4000", "--count", "100", "--interval", "10" }
  return tonumber(r.stdout:match("median_ms=(%S+)")), tonumber(r.stdout:match("max_ms=(%S+)"))
end
local base = rtt()
print(("baseline RTT %.3f ms"):format(base))
for _, d in ipairs({ 20, 50, 100 }) do
  a:impair { delay = d .. "ms", direction = "both" }
  local m, mx = rtt()
  local added = m - base
  print(("delay %3d ms each way: RTT +%.2f ms (want +%d), error %.2f ms (%.2f%%), max RTT %.1f ms")
    :format(d, added, 2 * d, added - 2 * d, 100 * (added - 2 * d) / (2 * d), mx))
end
a:clear_impair()
net:down()
