-- Partitions, isolation and loss are silent, against the real engine (needs:engine; issue 22 item 4).
-- On a real partition a send succeeds and nothing arrives: P2P programs take other code paths
-- when send() fails. natrig-peer `send` reports how many datagrams the kernel accepted (exit 1
-- and "sent 0" when sendmsg fails, as with EPERM from a DROP in the sender's own OUTPUT) and
-- natrig-peer `listen` on the other side is the judge of what arrived. Two NAT'd peers and a
-- public node, so both a direct path and one through two routers are covered; two peers
-- behind one hairpinning router, so their LAN path and the hairpin through the router's
-- public address are covered (the hairpin reaches the receiver from the router's address:
-- only the router's own rules can cut it).
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"

local PEER = "/usr/local/bin/natrig-peer"
local COUNT = 5
local net = natrig.network { scenario = "partition_test", quiet = true }
local ok, err = pcall(function()
  local sleep = { "sleep", "600" }
  local g = net:gateway { name = "g", cmd = sleep }
  local a = net:peer { name = "a", nat = "full_cone", cmd = sleep }
  local b = net:peer { name = "b", nat = "full_cone", cmd = sleep }
  local home = net:router { name = "home", nat = "full_cone" } -- hairpin on, ports preserved
  local h1 = net:peer { name = "h1", router = home, cmd = sleep }
  local h2 = net:peer { name = "h2", router = home, cmd = sleep }
  net:up()

  -- via_public: to the receiver's public address (a hairpin for two peers behind one router)
  local function send(from, to, p, via_public)
    local addr = via_public and to.public_ip or require("natrig.impair").addr_from(from, to)
    local r = from:exec { PEER, "send", "--to", addr .. ":" .. p, "--count", tostring(COUNT), "--interval", "50" }
    return tonumber(r.stdout:match("sent (%d+)")) or -1, r.code, r.stdout .. r.stderr
  end
  -- to listens on its port (its router mapped it first), from sends COUNT datagrams.
  -- Returns sent, sender's exit code, whether anything arrived, the sender's output, the
  -- listener's output. Each node keeps one port, so a mapping made before an isolate holds.
  local ports = { a = "5001", b = "5002", g = "5003", h1 = "5004", h2 = "5005" }
  local function trial(from, to, via_public)
    local p = ports[to.name]
    if to.router then
      -- open to's full-cone mapping for p (it sends first, as a NAT'd peer announces itself)
      to:exec { PEER, "send", "--to", g.public_ip .. ":9", "--from-port", p, "--count", "1" }
    end
    local heard, sent, code, out
    natrig.parallel {
      function() heard = to:exec { PEER, "listen", "--port", p, "--timeout", "4000" } end,
      function()
        -- the listener binds first (a fixed 0.3 s was too short at load 45); it listens 4 s,
        -- as this exec and the sender's can take a second each at a load average of 25
        to:exec { "sh", "-c",
          ("for i in $(seq 200); do netstat -uln | grep -q ':%s ' && exit 0; sleep 0.05; done"):format(p) }
        sent, code, out = send(from, to, p, via_public)
      end,
    }
    return sent, code, heard.code == 0, out, heard.stdout
  end

  local function expect(from, to, arrives, label, via_public)
    local sent, code, got, out, heard = trial(from, to, via_public)
    t.is(sent, COUNT, ("%s: %s->%s send() succeeded for every datagram (%s)"):format(label, from.name, to.name,
      out:gsub("%s+$", "")))
    t.is(code, 0, ("%s: the sender exits 0"):format(label))
    t.is(got, arrives, ("%s: %s->%s%s %s (%s)"):format(label, from.name, to.name,
      via_public and " (hairpin)" or "",
      arrives and "arrives" or "nothing arrives", heard:gsub("%s+$", "")))
  end

  expect(a, b, true, "baseline")
  expect(a, g, true, "baseline")

  net:partition({ a }, { b })
  expect(a, b, false, "partition a|b")
  expect(b, a, false, "partition a|b")
  expect(a, g, true, "partition a|b leaves g")
  net:heal()
  expect(a, b, true, "heal")
  expect(b, a, true, "heal")

  -- two peers behind one router: the LAN path and the hairpin through its public address
  expect(h1, h2, true, "baseline", true)
  expect(h2, h1, true, "baseline", true)
  expect(h1, h2, true, "baseline")
  net:partition({ h1 }, { h2 })
  expect(h1, h2, false, "partition h1|h2", true)
  expect(h2, h1, false, "partition h1|h2", true)
  expect(h1, h2, false, "partition h1|h2")
  expect(h2, h1, false, "partition h1|h2")
  expect(h1, g, true, "partition h1|h2 leaves g")
  net:heal()
  expect(h1, h2, true, "heal", true)
  expect(h2, h1, true, "heal", true)

  a:isolate()
  expect(a, g, false, "isolate a")
  expect(a, b, false, "isolate a")
  expect(g, a, false, "isolate a")
  -- a TCP connect from an isolated node times out (busybox nc: "timed out") rather than
  -- failing at once ("Operation not permitted")
  local r = a:exec { "nc", "-w", "2", g.public_ip, "80" }
  local said = (r.stdout .. r.stderr):gsub("%s+$", "")
  t.ok(said:find("timed out") and not said:find("not permitted"),
    ("isolate a: a TCP connect times out, no error at once (%s)"):format(said))
  a:rejoin()
  expect(a, g, true, "rejoin")
  expect(g, a, true, "rejoin")

  -- loss drops on the path too: the shaper's DROP verdict comes after send() returned
  a:impair { loss = "100%" }
  expect(a, g, false, "loss 100% on a")
  a:clear_impair()
  expect(a, g, true, "loss cleared")
end)
t.ok(ok, "no unexpected error: " .. tostring(err))
net:down()
t.done()
