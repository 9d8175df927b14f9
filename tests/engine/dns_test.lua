-- net:dns{ zones = ... } and its faults from Lua mid-run (needs:engine; issue 26.3). A peer
-- behind a NAT looks names up with busybox nslookup through its own resolv.conf (Docker's
-- embedded DNS, which forwards to the run's DNS node through the peer's router); each fault
-- changes what the lookup returns or how long it takes, and clear() undoes it. Bad input:
-- a zone naming a router or another network's node, net:dns after net:up().
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"

local net = natrig.network { scenario = "dns_test", quiet = true }
local ok, err = pcall(function()
  local sleep = { "sleep", "600" }
  local gw = net:gateway { name = "gw", cmd = sleep }
  local a = net:peer { name = "a", nat = "port_restricted", cmd = sleep }
  local other = natrig.network { scenario = "dns_test_other", quiet = true }
  local x = other:gateway { name = "x", cmd = sleep }
  t.raises(function() net:dns { zones = { ["x.test"] = x } } end, "not a node of this network",
    "a zone naming another network's node is refused")
  t.raises(function() net:dns { zones = { ["r.test"] = a.router } } end, "a router",
    "a zone naming a router is refused")
  t.raises(function() net:dns { zones = { ["bad name!"] = gw } } end, "bad DNS name", "a bad name is refused")
  t.raises(function() net:dns { zones = { ["ip.test"] = "10.0.0.300" } } end, "not an IPv4 address",
    "a bad address is refused")
  pcall(other.down, other)
  local dns = net:dns { zones = { ["gw.test"] = gw, ["api.test"] = "10.0.0.7" } }
  net:up()
  t.raises(function() net:dns {} end, "before net:up", "net:dns after net:up() is refused")
  t.raises(function() dns:fault {} end, "give a fault", "an empty fault is refused")
  t.raises(function() dns:fault { answer = { ["gw.test"] = "nope" } } end, "not an IPv4 address",
    "a bad answer is refused")

  local function lookup(name)
    local t0 = natrig.now()
    local r = a:exec { "nslookup", name }
    local out = r.stdout .. r.stderr
    local addr
    for ip in out:gmatch("Address:%s*([%d.]+)\n") do addr = ip end -- the last: the answer, not the server
    local rcode = out:match("server can't find [^:]+: (%u+)")
    return { addr = addr, rcode = rcode, seconds = natrig.now() - t0, out = out }
  end
  local l = lookup("gw.test")
  t.is(l.addr, gw.public_ip, "gw.test answers the gateway's address")
  t.is(lookup("api.test").addr, "10.0.0.7", "a zone given as an address")
  t.is(lookup("gw").addr, gw.public_ip, "a node's own name answers by default")
  t.is(lookup("nowhere.test").rcode, "NXDOMAIN", "an unknown name: NXDOMAIN")
  local base = l.seconds
  t.diag(("a lookup without faults: %.3f s"):format(base))

  dns:fault { answer = { ["gw.test"] = "10.9.9.9" } }
  natrig.sleep(0.3) -- dnsmasq re-reads its hosts directory (inotify)
  t.is(lookup("gw.test").addr, "10.9.9.9", "answer fault: the wrong address is returned")
  dns:clear()
  natrig.sleep(0.3)
  t.is(lookup("gw.test").addr, gw.public_ip, "clear: the right address again")

  dns:fault { nxdomain = "gw.test" }
  natrig.sleep(0.3)
  t.is(lookup("gw.test").rcode, "NXDOMAIN", "nxdomain fault: the name does not exist")
  t.is(lookup("api.test").addr, "10.0.0.7", "... the other names still answer")
  dns:clear()
  natrig.sleep(0.3)
  t.is(lookup("gw.test").addr, gw.public_ip, "clear: it exists again")

  dns:fault { servfail = true }
  l = lookup("gw.test")
  t.ok(l.rcode == "SERVFAIL" or l.out:match("SERVFAIL"), "servfail fault: SERVFAIL\n" .. l.out)
  dns:clear()
  t.is(lookup("gw.test").addr, gw.public_ip, "clear: answers again")

  dns:fault { delay = "2s" }
  l = lookup("gw.test")
  local delayed = l.seconds
  t.diag(("a lookup with delay = 2s: %.3f s"):format(l.seconds))
  t.is(l.addr, gw.public_ip, "delay fault: the right answer ...")
  t.ok(l.seconds >= 2, ("... at least 2 s late (%.2f s)"):format(l.seconds))
  dns:clear()
  l = lookup("gw.test")
  t.ok(l.seconds < delayed - 1, ("clear: the delay is gone (%.2f s, %.2f s with it)"):format(l.seconds, delayed))

  local q = dns:queries { name = "gw.test" }
  t.ok(#q >= 8, ("the DNS node's queries for gw.test are counted (%d)"):format(#q))
  local seen = 0
  for _, e in ipairs(net:timeline {}) do
    if e.node == "dns" and tostring(e.message):match("query%[A%] gw%.test") then seen = seen + 1 end
  end
  t.ok(seen > 0, ("queries are in the timeline (%d)"):format(seen))
end)
t.ok(ok, "no error: " .. tostring(err))
net:down()
t.done()
