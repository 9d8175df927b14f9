-- Bring-up with port mapping on vs off (issue 23): 1 gateway + N peers (BENCH_PEERS, default
-- 20) each behind its own symmetric NAT, portmap off then on, alternated over BENCH_ROUNDS
-- rounds (default 5) so load drift hits both alike, each round with the floor (as many bare
-- containers and networks, in parallel: common.floor) and the load average beside it. "On"
-- includes starting miniupnpd in every router and waiting until it listens with port
-- forwarding enabled. Prints each round, the medians, the median and spread of the rounds'
-- paired ratios on/off (the issue's budget: at most 1.10) and of what mapping adds in floors.
-- Wall time on a shared machine moves with everyone's load, so two figures that do not are
-- printed beside it: the engine calls each bring-up made (by operation), and the CPU time
-- spent inside the run's containers during bring-up (cgroup v1 cpuacct, when readable here).
-- Then BENCH_MIXED rounds (default 3) of one network whose peers alternate on and off: every
-- router comes up under the same load at the same time, and each router's own bring-up
-- (create to NAT rules loaded and, when on, miniupnpd listening) is timed: the medians of
-- the two kinds in the same network are the paired figure the load cannot tilt.
-- Never pass/fail.
local natrig = require "natrig"
local image = require "natrig.image"
local common = require "common"

local eng = natrig.engine()
local ref = image.ensure_base(eng)
local PEERS = tonumber(os.getenv("BENCH_PEERS")) or 20
local ROUNDS = tonumber(os.getenv("BENCH_ROUNDS")) or 5

-- the engine calls made, by operation (every call goes through Engine:call)
local calls = {}
do
  local E = getmetatable(eng)
  local call = E.call
  E.call = function(self, op, ...)
    calls[op] = (calls[op] or 0) + 1
    return call(self, op, ...)
  end
end
local function total(t)
  local n = 0
  for _, v in pairs(t) do n = n + v end
  return n
end
local function describe_calls(t)
  local ops = {}
  for op in pairs(t) do ops[#ops + 1] = op end
  table.sort(ops)
  local l = {}
  for _, op in ipairs(ops) do l[#l + 1] = op .. " " .. t[op] end
  return table.concat(l, ", ")
end

-- CPU seconds the run's containers used so far (their cgroups' cpuacct.usage), or nil
local function cpu_of(ids)
  local ns = 0
  for _, id in ipairs(ids) do
    local v = tonumber((natrig.core.read_file("/sys/fs/cgroup/cpuacct/docker/" .. id .. "/cpuacct.usage") or "")
      :match("%d+"))
    if not v then return nil end
    ns = ns + v
  end
  return ns / 1e9
end

-- Each bring-up (and each floor) on an engine client of its own: the client's pool of calls
-- in flight shrinks when the engine is slow (natrig.engine, holding back), and a pool
-- shrunk by the bring-up before would slow the next one, whichever mode it is.
local function once(pm)
  local oeng <close> = natrig.engine()
  local net = natrig.network { engine = oeng, scenario = "bench-portmap", image = ref, quiet = true }
  net:gateway { cmd = { "sleep", "600" } }
  for _ = 1, PEERS do net:peer { nat = "symmetric", portmap = pm, cmd = { "sleep", "600" } } end
  calls = {}
  local up = common.timed(net.up, net)
  local made = calls
  calls = {}
  local f = { label = natrig.json.array { "natrig.run=" .. net.session.run_id } }
  local ctrs = oeng:container_list(f)
  local ids = {}
  for i, c in ipairs(ctrs) do ids[i] = c.Id end
  local cpu = cpu_of(ids)
  local nctr, nnet = #ctrs, #oeng:network_list(f)
  local mapped = 0
  -- how long bring-up's check waited for each router's miniupnpd (0: already listening)
  local waited = { n = 0, ready = 0, sum = 0, max = 0 }
  for _, r in ipairs(net.routers) do
    if r.pm_waited then
      waited.n, waited.sum, waited.max = waited.n + 1, waited.sum + r.pm_waited, math.max(waited.max, r.pm_waited)
      if r.pm_waited == 0 then waited.ready = waited.ready + 1 end
    end
  end
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
  return up, down, mapped, nctr, nnet, made, cpu, waited
end

local function median(l)
  local c = {}
  for i, v in ipairs(l) do c[i] = v end
  table.sort(c)
  local n = #c
  return n % 2 == 1 and c[(n + 1) / 2] or (c[n / 2] + c[n / 2 + 1]) / 2
end

local function spread(l)
  local lo, hi = math.huge, -math.huge
  for _, v in ipairs(l) do lo, hi = math.min(lo, v), math.max(hi, v) end
  return lo, hi
end

local ups, floors, ratios, over = { off = {}, on = {} }, {}, {}, {}
local cpus, ncalls, made_by = { off = {}, on = {} }, { off = {}, on = {} }, {}
print(("load average at the start: %s"):format(common.load()))
for i = 1, ROUNDS do
  local this = {}
  -- the order alternates between rounds, so a drift in load does not favour one mode
  local order = i % 2 == 1 and { "off", "on" } or { "on", "off" }
  local nctr, nnet
  for _, mode in ipairs(order) do
    -- a round the loaded engine could not carry (a call over NATRIG_ENGINE_TIMEOUT) is said
    -- and left out, the others still count
    local ok, up, down, mapped, c, nw, made, cpu, waited = pcall(once,
      mode == "on" and { "upnp", "natpmp", "pcp" } or nil)
    if ok then
      nctr, nnet = c, nw
      ups[mode][#ups[mode] + 1], this[mode] = up, up
      ncalls[mode][#ncalls[mode] + 1], made_by[mode] = total(made), made
      if cpu then cpus[mode][#cpus[mode] + 1] = cpu end
      print(("round %d portmap %-3s: up %.2fs down %.2fs, %d engine calls, %s CPU in its containers%s  load %s")
        :format(i, mode, up, down, total(made), cpu and ("%.2fs"):format(cpu) or "n/a",
        mode == "on" and (" (%d of %d peers got a NAT-PMP mapping)"):format(mapped, PEERS) or "", common.load()))
      if mode == "on" then
        print(("               miniupnpd already listening when checked in %d of %d routers; waits: total %.2fs, "
          .. "longest %.2fs"):format(waited.ready, waited.n, waited.sum, waited.max))
      end
    else
      print(("round %d portmap %-3s: failed, left out: %s"):format(i, mode, tostring(up)))
    end
  end
  if not (this.on and this.off) then goto next_round end
  local feng <close> = natrig.engine()
  local fl, fdown = common.floor(feng, ref, nnet, nctr)
  floors[#floors + 1] = fl
  ratios[#ratios + 1] = this.on / this.off
  -- what mapping adds, in floors: (on - off) / floor (the floor moves with the load as both do)
  over[#over + 1] = (this.on - this.off) / fl
  print(("round %d floor     : up %.2fs down %.2fs (%d bare containers, %d networks)  load %s; on/off %.3f, "
    .. "off/floor %.2f, on/floor %.2f, (on-off)/floor %+.3f"):format(i, fl, fdown, nctr, nnet, common.load(),
      ratios[#ratios], this.off / fl, this.on / fl, over[#over]))
  ::next_round::
end
-- mixed rounds: on and off side by side in one network, each router's own bring-up timed
local MIXED = tonumber(os.getenv("BENCH_MIXED")) or 3
local Router = require("natrig.router").Router
local bring_up = Router.bring_up
local took
function Router.bring_up(r, ...)
  local t0 = natrig.core.now()
  bring_up(r, ...)
  if took then took[r.pm and "on" or "off"][#took[r.pm and "on" or "off"] + 1] = natrig.core.now() - t0 end
end
local mixed = { on = {}, off = {}, ratio = {} }
for i = 1, MIXED do
  took = { on = {}, off = {} }
  local meng <close> = natrig.engine()
  local net = natrig.network { engine = meng, scenario = "bench-portmap", image = ref, quiet = true }
  net:gateway { cmd = { "sleep", "600" } }
  for k = 1, PEERS do
    local pm = k % 2 == 0 and { "upnp", "natpmp", "pcp" } or nil
    net:peer { nat = "symmetric", portmap = pm, cmd = { "sleep", "600" } }
  end
  local ok, up = pcall(common.timed, net.up, net)
  pcall(net.down, net)
  if ok and #took.on > 0 and #took.off > 0 then
    local on_m, off_m = median(took.on), median(took.off)
    mixed.on[#mixed.on + 1], mixed.off[#mixed.off + 1] = on_m, off_m
    mixed.ratio[#mixed.ratio + 1] = on_m / off_m
    print(("mixed round %d: %d routers on, %d off, up %.2fs; each router's bring-up, median: on %.2fs, off %.2fs "
      .. "(on/off %.3f)  load %s"):format(i, #took.on, #took.off, up, on_m, off_m, on_m / off_m, common.load()))
  else
    print(("mixed round %d: failed, left out: %s"):format(i, tostring(up)))
  end
end
took = nil
if #mixed.ratio > 0 then
  local mlo, mhi = spread(mixed.ratio)
  print(("mixed: a router's own bring-up with portmap on/off in the same network, median of %d rounds %.3f "
    .. "(spread %.3f-%.3f)"):format(#mixed.ratio, median(mixed.ratio), mlo, mhi))
end

if #ratios == 0 then
  print("no round had both modes: nothing to compare")
  eng:close()
  return
end
local off, on = median(ups.off), median(ups.on)
local lo, hi = spread(ratios)
local olo, ohi = spread(ups.off)
local nlo, nhi = spread(ups.on)
print(("bring-up of 1 gateway + %d peers behind symmetric NATs, %d rounds: off median %.2fs (%.2f-%.2f), "
  .. "on median %.2fs (%.2f-%.2f), floor median %.2fs"):format(PEERS, #ratios, off, olo, ohi, on, nlo, nhi,
  median(floors)))
print(("ratio of medians %.3f; paired ratios on/off median %.3f (spread %.3f-%.3f); (on-off)/floor median %+.3f"
  .. " (budget: on/off at most 1.10)"):format(on / off, median(ratios), lo, hi, median(over)))
print(("engine calls per bring-up: off %s, on %s (median)"):format(median(ncalls.off), median(ncalls.on)))
print(("  off: %s\n  on:  %s"):format(describe_calls(made_by.off or {}), describe_calls(made_by.on or {})))
if #cpus.off > 0 and #cpus.on > 0 then
  print(("CPU inside the run's containers during bring-up, median: off %.2fs, on %.2fs (on/off %.3f)")
    :format(median(cpus.off), median(cpus.on), median(cpus.on) / median(cpus.off)))
else
  print("CPU inside the run's containers: not readable here (needs cgroup v1 cpuacct under docker/)")
end
eng:close()
