-- Bring-up with port mapping on vs off (issue 23): 1 gateway + N peers (BENCH_PEERS, default
-- 20) each behind its own symmetric NAT, portmap off then on, alternated over BENCH_ROUNDS
-- rounds (default 2) so load drift hits both alike. "On" includes starting miniupnpd in every
-- router and waiting until it listens with port forwarding enabled. Prints the medians and
-- the ratio on/off (the issue's budget: at most 1.10). Never pass/fail.
local natrig = require "natrig"
local image = require "natrig.image"
local common = require "common"

local eng = natrig.engine()
local ref = image.ensure_base(eng)
local PEERS = tonumber(os.getenv("BENCH_PEERS")) or 20
local ROUNDS = tonumber(os.getenv("BENCH_ROUNDS")) or 2

local function once(pm)
  local net = natrig.network { engine = eng, scenario = "bench-portmap", image = ref, quiet = true }
  net:gateway { cmd = { "sleep", "600" } }
  for _ = 1, PEERS do net:peer { nat = "symmetric", portmap = pm, cmd = { "sleep", "600" } } end
  local up = common.timed(net.up, net)
  local mapped = 0
  if pm then
    -- every router answers NAT-PMP (one request per peer, in parallel)
    common.each_node(net, function(n)
      if n.kind ~= "peer" then return end
      if n:exec({ "natpmpc", "-a", "6000", "6000", "udp", "60" }).stdout:find("Mapped public port", 1, true) then
        mapped = mapped + 1
      end
    end)
  end
  local down = common.timed(net.down, net)
  return up, down, mapped
end

local function median(l)
  table.sort(l)
  local n = #l
  return n % 2 == 1 and l[(n + 1) / 2] or (l[n / 2] + l[n / 2 + 1]) / 2
end

local ups = { off = {}, on = {} }
for i = 1, ROUNDS do
  for _, mode in ipairs({ "off", "on" }) do
    local up, down, mapped = once(mode == "on" and { "upnp", "natpmp", "pcp" } or nil)
    ups[mode][#ups[mode] + 1] = up
    print(("round %d portmap %-3s: up %.2fs down %.2fs%s"):format(i, mode, up, down,
      mode == "on" and (" (%d of %d peers got a NAT-PMP mapping)"):format(mapped, PEERS) or ""))
  end
end
local off, on = median(ups.off), median(ups.on)
print(("bring-up of 1 gateway + %d peers behind symmetric NATs, median of %d: off %.2fs, on %.2fs, ratio %.2f"
  .. " (budget 1.10)"):format(PEERS, ROUNDS, off, on, on / off))
eng:close()
