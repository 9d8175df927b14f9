-- net:path against the real engine (needs:engine; issue 26): natrig-peers behind
-- port-restricted NATs punch a direct path (net:path says direct, with what each sent);
-- two peers behind one hairpinning router reach each other through its public address
-- (hairpin); a partition makes the path none, heal brings it back; set_nat(symmetric) mid-run breaks the
-- direct path, the change is in the timeline within 1 s and wait_path returns on it.
-- (Not serial: a path change in the timeline within 1 s held at a load average of 27 on this 2-core machine; it runs
-- among the parallel files.)
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"

local PEER = "/usr/local/bin/natrig-peer"
local net = natrig.network { scenario = "path_test", quiet = true }
local ok, err = pcall(function()
  local gw = net:gateway { name = "gw", cmd = { PEER, "gateway", "--port", "31337" } }
  local function peer(name, extra)
    local o = { name = name, cmd = function(n)
      return { PEER, "peer", "--gateway", gw.public_ip .. ":31337", "--name", n.name, "--port", "31337",
        "--pings", "1024", "--ping-interval", "100" }
    end }
    for k, v in pairs(extra) do o[k] = v end
    return net:peer(o)
  end
  local a = peer("a", { nat = "port_restricted" })
  local b = peer("b", { nat = "port_restricted" })
  local home = net:router { name = "home", nat = "port_restricted", hairpin = true }
  local h1 = peer("h1", { router = home })
  local h2 = peer("h2", { router = home })
  local tg = net:gateway { name = "tg", cmd = { "socat", "-u", "TCP-LISTEN:5000,fork,reuseaddr", "OPEN:/dev/null" } }
  net:up()
  net:paths() -- counting starts here
  t.is(net:path(a, b).kind ~= nil, true, "net:path answers right after counting starts")

  -- direct
  local p = net:wait_path { a, b, kind = "direct", timeout = 30 }
  t.is(p.kind, "direct", "port_restricted x port_restricted: direct")
  t.ok(p.a_to_b.packets > 0 and p.b_to_a.packets > 0,
    ("packets both ways (a->b %d, b->a %d)"):format(p.a_to_b.packets, p.b_to_a.packets))
  t.ok(p.a_to_b.received_packets > 0 and p.b_to_a.received_packets > 0,
    ("packets arrived both ways (at b %d, at a %d)"):format(p.a_to_b.received_packets, p.b_to_a.received_packets))
  t.ok(p.first and p.last and p.last >= p.first, "first and last are set")
  t.ok(#p.endpoints >= 2, "endpoints: " .. table.concat(p.endpoints, "; "))
  net:record_path(a, b)
  local recorded
  for _, m in ipairs(require("natrig.metrics").all()) do
    if m.name == "path a<->b direct" and m.value == 1 then recorded = true end
  end
  t.ok(recorded, "net:record_path: the kind is a sweep metric (path a<->b direct)")
  local ga = net:wait_path { a, gw, kind = "direct", timeout = 15 } -- a's keepalives: every 5 s
  t.is(ga.kind, "direct", "a <-> the gateway (public): direct")

  -- TCP: b sends a file to a public TCP sink (socat)
  local r = b:exec { "socat", "-u", "OPEN:/usr/bin/socat", "TCP:" .. tg.public_ip .. ":5000" }
  t.is(r.code, 0, "b sent a file over TCP")
  p = net:wait_path { b, tg, kind = "direct", timeout = 10 }
  local tcp = 0
  for _, e in ipairs(p.endpoints) do if e:match("^tcp ") then tcp = tcp + 1 end end
  natrig.sleep(0.5) -- the last listings
  p = net:path(b, tg)
  local size = tonumber(b:exec({ "stat", "-c", "%s", "/usr/bin/socat" }).stdout)
  t.ok(tcp >= 2 and p.a_to_b.bytes >= size and p.a_to_b.bytes <= size * 1.1,
    ("TCP counted: direct, %d IP bytes b->tg for a %d-byte file (headers: +%.1f%%); %s"):format(
      p.a_to_b.bytes, size, 100 * (p.a_to_b.bytes - size) / size, table.concat(p.endpoints, "; ")))

  -- hairpin
  p = net:wait_path { h1, h2, kind = "hairpin", timeout = 30 }
  t.is(p.kind, "hairpin", "two peers behind one router through its public address: hairpin")
  t.is(p.via, "home", "hairpin via the shared router")
  t.ok(p.a_to_b.received_packets > 0 and p.b_to_a.received_packets > 0, "hairpin: packets arrived both ways")

  local all = net:paths()
  t.ok(all["a<->b"] and all["a<->b"].kind == "direct", "net:paths lists a<->b as direct")
  t.ok(all["h1<->h2"] and all["h1<->h2"].kind == "hairpin", "net:paths lists h1<->h2 as hairpin")

  -- a path change mid-run: a's NAT becomes symmetric, its mappings are flushed, the peers'
  -- pings to the old mapping are filtered
  local t_change = natrig.now()
  -- (without port preservation: a's new mapping toward b is not its old port 31337)
  a.router:set_nat("symmetric", { port_preservation = false })
  local t_done = natrig.now()
  p = net:wait_path { a, b, kind = "none", timeout = 10 }
  t.is(p.kind, "none", "after set_nat(symmetric): none")
  t.is(p.previous, "direct", "the path that broke was direct")
  local seen
  for _, e in ipairs(net:timeline { node = "natrig" }) do
    if e.message:match("^path a<%->b direct %-> none") then seen = e.time end
  end
  t.ok(seen, "the change is in the timeline")
  -- set_nat itself (rules applied, then the flush) takes a while: the lag is measured from
  -- when it returned, its own duration is printed beside it
  local lag = seen and seen - t_done or math.huge
  t.diag(("set_nat took %.2f s; the path change was in the timeline %.2f s after it returned"):format(
    t_done - t_change, lag))
  t.ok(lag < 1, ("the change appears within 1 s (%.2f s)"):format(lag))

  -- partition: h1 and the gateway (h1's keepalives every 5 s find nothing arriving)
  net:wait_path { h1, gw, kind = "direct", timeout = 15 }
  net:partition(h1, gw)
  local t_part = natrig.now()
  p = net:wait_path { h1, gw, kind = "none", timeout = 15 }
  t.is(p.kind, "none", "after a partition: none")
  t.diag(("partition -> none after %.2f s"):format(natrig.now() - t_part))
  net:heal()
  p = net:wait_path { h1, gw, kind = "direct", timeout = 20 }
  t.is(p.kind, "direct", "after heal: direct again")
end)
t.ok(ok, "no error: " .. tostring(err))
if not ok then pcall(function() io.stderr:write(net:map_text() or "", "\n") end) end
net:down()
t.done()
