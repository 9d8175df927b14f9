-- What path counting costs (issue 26.5): a peer behind a port-restricted NAT and a gateway
-- echo; natrig-peer rtt (2000 datagrams, one per ms) before counting starts and while it
-- runs (the nftables sets in both nodes, their listings every 150 ms, the watcher; it
-- cannot be turned off again, so the rounds without come first); then the bring-up of the
-- same network with a DNS node against one without. Prints figures; never pass/fail.
local natrig = require "natrig"

local ROUNDS = tonumber(os.getenv("BENCH_ROUNDS") or "3")
local function rtt(a, gw)
  local r = a:exec { "/usr/local/bin/natrig-peer", "rtt", "--to", gw.public_ip .. ":4000", "--count", "2000",
    "--interval", "1", "--timeout", "1000" }
  local med = tonumber(r.stdout:match("median_ms=([%d.]+)"))
  local avg = tonumber(r.stdout:match("avg_ms=([%d.]+)"))
  local loss = tonumber(r.stdout:match("loss_pct=([%d.]+)"))
  return med, avg, loss
end

local function network(with_dns)
  local net = natrig.network { scenario = "bench_path", quiet = true }
  local gw = net:gateway { name = "gw", cmd = { "/usr/local/bin/natrig-peer", "echo", "--port", "4000" } }
  local a = net:peer { name = "a", nat = "port_restricted", cmd = { "sleep", "600" } }
  if with_dns then net:dns { zones = { ["gw.test"] = gw } } end
  return net, gw, a
end

local net, gw, a = network(false)
local t0 = natrig.now()
net:up()
print(("bring-up (gateway, peer, router): %.2f s"):format(natrig.now() - t0))
local off, on = {}, {}
local function fmt(med, avg, loss)
  return ("median %.3f avg %.3f ms loss %.1f%%"):format(med or -1, avg or -1, loss or -1)
end
for _ = 1, ROUNDS do off[#off + 1] = fmt(rtt(a, gw)) end
net:paths() -- counting on from here
for _ = 1, ROUNDS do on[#on + 1] = fmt(rtt(a, gw)) end
print("rtt, counting off | counting on:")
for i = 1, ROUNDS do print(("  round %d: %s | %s"):format(i, off[i], on[i])) end
local p = net:path(a, gw)
print(("net:path(a, gw): %s, %d packets a->gw"):format(p.kind, p.a_to_b.packets))
net:down()

for _, with in ipairs({ false, true, false, true }) do
  local n2 = network(with)
  t0 = natrig.now()
  n2:up()
  print(("bring-up %s a DNS node: %.2f s"):format(with and "with" or "without", natrig.now() - t0))
  n2:down()
end
