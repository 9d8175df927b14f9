-- Bring-up benchmark: 1 gateway + 20 peers each behind its own NAT, against a floor
-- measured in the same run: the same number of bare containers (and networks) created
-- and started in parallel with the same image. Prints ratios and teardown time.
local natrig = require "natrig"
local core = natrig.core
local session = require "natrig.session"
local image = require "natrig.image"
local PEERS = tonumber(os.getenv("BENCH_PEERS") or "20")

local eng = natrig.engine()
local ref = image.ensure_base(eng)

-- natrig: gateway + PEERS peers (each: router, holder, app)
local net = natrig.network { engine = eng, scenario = "bench", quiet = true, image = ref }
net:gateway { cmd = { "/usr/local/bin/natrig-peer", "gateway" } }
for i = 1, PEERS do net:peer { nat = "port_restricted", cmd = { "/usr/local/bin/natrig-peer", "echo", "--port", "4000" } } end
local t0 = core.now()
net:up()
local up = core.now() - t0
local nctr = #eng:container_list({ label = natrig.json.array { "natrig.run=" .. net.session.run_id } })
local nnet = #eng:network_list({ label = natrig.json.array { "natrig.run=" .. net.session.run_id } })
t0 = core.now()
net:down()
local down = core.now() - t0

-- floor: the same number of bare containers and networks, created and started in parallel
local s = session.new { engine = eng, scenario = "bench-floor" }
t0 = core.now()
local taken = {}
for _, n in ipairs(eng:network_list()) do
  for _, c in ipairs((n.IPAM or {}).Config or {}) do taken[#taken + 1] = c.Subnet end
end
local subnets = core.subnet_alloc("10.128.0.0/9", 24, taken, 777, nnet)
natrig.map(subnets, function(sn, i)
  eng:network_create { Name = s:name("n" .. i), IPAM = { Config = natrig.json.array { { Subnet = sn } } },
    Labels = s:labels("net") }
end, 64)
local tnets = core.now() - t0
local t1 = core.now()
natrig.map(core.subnet_alloc("10.0.0.0/8", 24, {}, 0, nctr), function(_, i)
  local id = eng:container_create(s:name("c" .. i), { Image = ref, Cmd = natrig.json.array { "sleep", "600" },
    Labels = s:labels("bench"), HostConfig = { NetworkMode = "none" } })
  eng:container_start(id)
end, 64)
local tctr = core.now() - t1
local floor = core.now() - t0
t0 = core.now()
s:teardown()
local floor_down = core.now() - t0

print(("natrig bring-up of 1 gateway + %d NATed peers: %d containers, %d networks"):format(PEERS, nctr, nnet))
print(("  natrig up      %6.2fs   (NAT rules applied and verified, routes set, apps started)"):format(up))
print(("  floor          %6.2fs   (%d bare networks %.2fs + %d bare containers %.2fs, in parallel)"):format(floor, nnet, tnets, nctr, tctr))
print(("  ratio up/floor %6.2f"):format(up / floor))
print(("  natrig down    %6.2fs   floor down %.2fs   ratio %.2f"):format(down, floor_down, down / floor_down))
eng:close()
