-- Bring-up benchmark: 1 gateway + N peers each behind its own NAT (BENCH_PEERS, default
-- "20,100"), against a floor measured in the same run: the same number of bare containers
-- and networks, created and started in parallel with the same image. natrig's figure
-- includes everything a scenario gets: NAT rules applied and verified, routes set, apps
-- started, logs followed, the liveness stream; then one exec in every node. Prints
-- ratios, teardown against the floor's teardown, and natrig's peak RSS. Never pass/fail.
local natrig = require "natrig"
local core = natrig.core
local image = require "natrig.image"
local common = require "common"

local eng = natrig.engine()
local ref = image.ensure_base(eng)

local function rss_mb(field)
  local s = core.read_file("/proc/self/status") or ""
  return (tonumber(s:match(field .. ":%s+(%d+)")) or 0) / 1024
end

local function left(run)
  local f = { label = natrig.json.array { "natrig.run=" .. run } }
  return #eng:container_list(f) + #eng:network_list(f)
end

local function bench(peers)
  local net = common.nated_network(peers, { engine = eng, scenario = "bench", image = ref,
    gateway = { cmd = { "/usr/local/bin/natrig-peer", "gateway" } } })
  local up = common.timed(net.up, net)
  local run = net.session.run_id
  local nctr = #eng:container_list({ label = natrig.json.array { "natrig.run=" .. run } })
  local nnet = #eng:network_list({ label = natrig.json.array { "natrig.run=" .. run } })
  local exec_all, good = common.each_node(net, function(n) return n:exec({ "echo", "x" }).stdout == "x\n" end)
  local down = common.timed(net.down, net)
  local leftover = left(run)

  -- floor: the same number of bare containers and networks, created and started in parallel
  local floor, floor_down, tnets, tctr = common.floor(eng, ref, nnet, nctr)

  print(("natrig bring-up of 1 gateway + %d NATed peers: %d containers, %d networks"):format(peers, nctr, nnet))
  print(("  natrig up      %6.2fs   (NAT rules applied and verified, routes set, apps started, logs followed)")
    :format(up))
  print(("  floor          %6.2fs   (%d bare networks %.2fs + %d bare containers %.2fs, in parallel)"):format(floor,
    nnet, tnets, nctr, tctr))
  print(("  ratio up/floor %6.2f"):format(up / floor))
  print(("  exec in all    %6.2fs   (%d of %d nodes answered)"):format(exec_all, good, #net.nodes))
  print(("  natrig down    %6.2fs   floor down %.2fs   ratio %.2f   left behind: %d"):format(down, floor_down,
    down / floor_down, leftover))
  print(("  natrig peak RSS so far %.0f MB"):format(rss_mb("VmHWM")))
end

for n in (os.getenv("BENCH_PEERS") or "20,100"):gmatch("%d+") do bench(tonumber(n)) end
eng:close()
