-- Bring-up with port mapping on vs off (issue 23): 1 gateway + N peers (BENCH_PEERS, default
-- 20) each behind its own symmetric NAT, portmap off then on, alternated over BENCH_ROUNDS
-- rounds (default 5) so load drift hits both alike, each round with the floor (as many bare
-- containers and networks, in parallel: common.floor) and the load average beside it. "On"
-- includes starting miniupnpd in every router and waiting until it listens with port
-- forwarding enabled. Prints each round, the medians, the median of the rounds' paired
-- ratios on/off (the issue's budget: at most 1.10) and of what mapping adds in floors.
-- Never pass/fail.
local natrig = require "natrig"
local image = require "natrig.image"
local common = require "common"

local eng = natrig.engine()
local ref = image.ensure_base(eng)
local PEERS = tonumber(os.getenv("BENCH_PEERS")) or 20
local ROUNDS = tonumber(os.getenv("BENCH_ROUNDS")) or 5

local function once(pm)
  local net = natrig.network { engine = eng, scenario = "bench-portmap", image = ref, quiet = true }
  net:gateway { cmd = { "sleep", "600" } }
  for _ = 1, PEERS do net:peer { nat = "symmetric", portmap = pm, cmd = { "sleep", "600" } } end
  local up = common.timed(net.up, net)
  local f = { label = natrig.json.array { "natrig.run=" .. net.session.run_id } }
  local nctr, nnet = #eng:container_list(f), #eng:network_list(f)
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
  return up, down, mapped, nctr, nnet
end

local function median(l)
  local c = {}
  for i, v in ipairs(l) do c[i] = v end
  table.sort(c)
  local n = #c
  return n % 2 == 1 and c[(n + 1) / 2] or (c[n / 2] + c[n / 2 + 1]) / 2
end

local ups, floors, ratios, over = { off = {}, on = {} }, {}, {}, {}
print(("load average at the start: %s"):format(common.load()))
for i = 1, ROUNDS do
  local this = {}
  -- the order alternates between rounds, so a drift in load does not favour one mode
  local order = i % 2 == 1 and { "off", "on" } or { "on", "off" }
  local nctr, nnet
  for _, mode in ipairs(order) do
    -- a round the loaded engine could not carry (a call over NATRIG_ENGINE_TIMEOUT) is said
    -- and left out, the others still count
    local ok, up, down, mapped, c, nw = pcall(once, mode == "on" and { "upnp", "natpmp", "pcp" } or nil)
    if ok then
      nctr, nnet = c, nw
      ups[mode][#ups[mode] + 1], this[mode] = up, up
      print(("round %d portmap %-3s: up %.2fs down %.2fs%s  load %s"):format(i, mode, up, down,
        mode == "on" and (" (%d of %d peers got a NAT-PMP mapping)"):format(mapped, PEERS) or "", common.load()))
    else
      print(("round %d portmap %-3s: failed, left out: %s"):format(i, mode, tostring(up)))
    end
  end
  if not (this.on and this.off) then goto next_round end
  local fl, fdown = common.floor(eng, ref, nnet, nctr)
  floors[#floors + 1] = fl
  ratios[#ratios + 1] = this.on / this.off
  -- what mapping adds, in floors: (on - off) / floor (the floor moves with the load as both do)
  over[#over + 1] = (this.on - this.off) / fl
  print(("round %d floor     : up %.2fs down %.2fs (%d bare containers, %d networks)  load %s; on/off %.3f, "
    .. "off/floor %.2f, on/floor %.2f, (on-off)/floor %+.3f"):format(i, fl, fdown, nctr, nnet, common.load(),
      ratios[#ratios], this.off / fl, this.on / fl, over[#over]))
  ::next_round::
end
local off, on = median(ups.off), median(ups.on)
local lo, hi = math.huge, 0
for _, r in ipairs(ratios) do lo, hi = math.min(lo, r), math.max(hi, r) end
print(("bring-up of 1 gateway + %d peers behind symmetric NATs, median of %d: off %.2fs, on %.2fs, floor %.2fs;"
  .. " ratio of medians %.3f; paired ratios on/off median %.3f (%.3f-%.3f); (on-off)/floor median %+.3f"
  .. " (budget: on/off at most 1.10)")
  :format(PEERS, ROUNDS, off, on, median(floors), on / off, median(ratios), lo, hi, median(over)))
eng:close()
