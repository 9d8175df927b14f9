-- Two-engine bring-up benchmark (issue 16): 1 gateway + N NATed peers (BENCH_PEERS,
-- default "10,40"), once on the first engine alone and once over every engine of
-- NATRIG_HOSTS (cells round-robin; the public network an overlay), same image, same run
-- shape. Run by tests/bench/run under tests/engine/two_engines.sh (root), which starts the
-- second engine and stops it after. On one machine both engines share its cores, so this
-- measures natrig's overhead of spreading (overlay, per-engine calls), not a speed-up.
local natrig = require "natrig"
local hosts = require "natrig.hosts"
local image = require "natrig.image"
local common = require "common"

local hl = hosts.from(nil)
if not hl or #hl < 2 then
  print("two engines: NATRIG_HOSTS names fewer than 2 engines (run under tests/engine/two_engines.sh run)")
  os.exit(0)
end
-- the base image on every engine first, so no import is timed
for _, h in ipairs(hl) do
  local e = natrig.engine(h.url)
  image.ensure_base(e)
  e:close()
end

local function once(peers, list)
  local net = common.nated_network(peers, { hosts = list, scenario = "bench2",
    gateway = { cmd = { "/usr/local/bin/natrig-peer", "echo", "--port", "3478" },
      ready = { log = "echo listening", plain = true } } })
  local up = common.timed(net.up, net)
  local exec_all, good = common.each_node(net, function(n)
    -- every peer reaches the gateway through its NAT (across engines for half of them)
    local r = n:exec { "/usr/local/bin/natrig-peer", "probe", "--to", net:gateways()[1].private_ip .. ":3478" }
    return r.code == 0 and r.stdout:match("seen ([%d.]+)") == n.public_ip
  end)
  local per = {}
  for _, n in ipairs(net.nodes) do
    local h = net:host_of(n)
    local k = h and h.name or "engine1"
    per[k] = (per[k] or 0) + 1
  end
  local down = common.timed(net.down, net)
  local spread = {}
  for k, v in pairs(per) do spread[#spread + 1] = k .. "=" .. v end
  table.sort(spread)
  return up, exec_all, down,
    table.concat(spread, " ") .. (" (%d of %d probes seen at their public address)"):format(good, #net.nodes)
end

for n in (os.getenv("BENCH_PEERS") or "10,40"):gmatch("%d+") do
  local peers = tonumber(n)
  local u1, e1, d1, s1 = once(peers, { hl[1].url })
  local urls = {}
  for _, h in ipairs(hl) do urls[#urls + 1] = h.url end
  local u2, e2, d2, s2 = once(peers, urls)
  print(("1 gateway + %d NATed peers (%d containers):"):format(peers, 2 + 3 * peers))
  print(("  one engine    up %6.2fs  exec in all %5.2fs  down %5.2fs   nodes: %s"):format(u1, e1, d1, s1))
  print(("  two engines   up %6.2fs  exec in all %5.2fs  down %5.2fs   nodes: %s"):format(u2, e2, d2, s2))
  print(("  ratio two/one up %.2f  down %.2f"):format(u2 / u1, d2 / d1))
end
