-- Partitions, isolation, net:path, the timeline and captures over IPv6, against the real
-- engine (needs:engine; issue 25), with natrig-peer's probe, rtt, send and echo over IPv6.
-- A dual-stack peer a behind a router (port-restricted NAT, APDF IPv6 firewall) and a
-- dual-stack gateway g running `natrig-peer echo --bind ::`, both captured. a's probe is
-- answered with its own IPv6 address (nothing is translated); net:path sees the pair's IPv6
-- packets (direct) and the timeline notes it; net:partition and net:isolate drop IPv6 too
-- while send() still succeeds (natrig-peer send says so, the echo server logs nothing new),
-- and heal brings IPv6 back; tcpdump reads the IPv6 datagrams in a's and g's captures.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local core = natrig.core

local PEER = "/usr/local/bin/natrig-peer"
local net = natrig.network { scenario = "ipv6_paths_test", quiet = true }
local a, g, dir
local ok, err = pcall(function()
  g = net:gateway { name = "g", ip = "dual", profile = "command", capture = true,
    cmd = { PEER, "echo", "--port", "4000", "--bind", "::" } }
  a = net:peer { name = "a", ip = "dual", filtering6 = "APDF", profile = "command", capture = true,
    cmd = { "sleep", "2000000000" } }
  local t0 = natrig.monotonic()
  net:up()
  t.diag(("up in %.2fs"):format(natrig.monotonic() - t0))
  g:wait_log { target = "natrig_peer::echo", message = "echo listening", timeout = 20 }
  -- and an IPv4 echo beside it (a socket speaks one family), to see IPv4 cut as before
  g.eng:exec_detached(g.id, { PEER, "echo", "--port", "4000", "--bind", "0.0.0.0" })
  local to6, to4 = ("[%s]:4000"):format(g.public_ip6), g.public_ip .. ":4000"

  -- probe over IPv6: g sees a's own IPv6 address and port (no translation, the firewall
  -- lets the answer in: a sent to g first)
  local r = a:exec { PEER, "probe", "--to", to6, "--from-port", "5000" }
  t.is(r.code, 0, "probe over IPv6 answered: " .. (r.stdout .. r.stderr):gsub("%s+$", ""))
  t.is(r.stdout:gsub("%s+$", ""), ("seen [%s]:5000"):format(a.public_ip6), "g saw a's own IPv6 address and port")
  for _ = 1, 20 do -- the IPv4 echo is up once it answers
    r = a:exec { PEER, "probe", "--to", to4, "--from-port", "5000", "--timeout", "500" }
    if r.code == 0 then break end
  end
  t.is(r.stdout:gsub("%s+$", ""), ("seen %s:5000"):format(a.public_ip), "over IPv4 g sees the NAT's address")
  r = a:exec { PEER, "rtt", "--to", to6, "--count", "20", "--interval", "10" }
  t.like(r.stdout, "received=20 ", "rtt over IPv6: 20 of 20 came back (" .. r.stdout:gsub("%s+$", "") .. ")")

  -- net:path sees the IPv6 pair: a talks to g's IPv6 address, g answers a's
  net:paths()
  local p
  for _ = 1, 3 do
    a:exec { PEER, "send", "--to", to6, "--from-port", "5001", "--count", "10", "--interval", "50" }
    local wok, wp = pcall(net.wait_path, net, { a, g, kind = "direct", timeout = 5 })
    if wok then p = wp break end
  end
  t.is(p and p.kind, "direct", "net:path(a, g) over IPv6: direct")
  natrig.sleep(0.5) -- the last samples of the send
  p = net:path(a, g)
  t.ok(p.a_to_b.packets >= 10 and p.a_to_b.received_packets >= 10,
    ("a's IPv6 datagrams counted at both ends (sent %d, received %d)"):format(p.a_to_b.packets,
      p.a_to_b.received_packets))
  t.like(table.concat(p.endpoints, " "), "udp a:5001 %-> " .. g.public_ip6:gsub("%p", "%%%0") .. ":4000",
    "the path's endpoints name the IPv6 addresses")
  local noted = net:timeline { target = "natrig", match = "path [ag]<%->[ag] none %-> direct" }
  t.ok(#noted > 0, "the timeline notes the IPv6 path a<->g direct")

  -- echoed(): how many datagrams from a the echo server logged so far
  local function echoed()
    return #g:logs { target = "natrig_peer::echo", message = "datagram echoed", match = "from=%[" }
  end
  -- sends 3 datagrams to g over IPv6: what send() reported, and what g's echo logged of them
  local function trial(label, want_arrive)
    local before = echoed()
    local s = a:exec { PEER, "send", "--to", to6, "--from-port", "5002", "--count", "3", "--interval", "50" }
    t.is(s.code, 0, label .. ": send() succeeds over IPv6 (" .. (s.stdout .. s.stderr):gsub("%s+$", "") .. ")")
    t.like(s.stdout, "^sent 3 to ", label .. ": all 3 datagrams left")
    -- arrivals are read from g's log: waited for (up to 10 s, the log may lag under load);
    -- none arriving is judged after 1 s
    local n = 0
    for _ = 1, want_arrive and 100 or 10 do
      n = echoed() - before
      if want_arrive and n >= 3 then break end
      natrig.sleep(0.1)
    end
    if want_arrive then t.is(n, 3, label .. ": all 3 arrived at g") else t.is(n, 0, label .. ": none arrived at g") end
  end
  trial("before", true)
  net:partition(a, g)
  trial("partitioned", false)
  r = a:exec { PEER, "probe", "--to", to4, "--timeout", "800" }
  t.ok(r.code ~= 0, "partitioned: IPv4 is cut as before")
  net:heal()
  trial("healed", true)
  net:isolate(a)
  trial("isolated", false)
  net:heal()
  -- (4 tries over 4 s: one datagram and 2 s failed once under CI-like load, while the heal
  -- before it had let all 3 datagrams through)
  r = a:exec { PEER, "probe", "--to", to6, "--count", "4", "--timeout", "4000" }
  t.is(r.code, 0, "after heal: probe over IPv6 answered again (" .. (r.stdout .. r.stderr):gsub("%s+$", "") .. ")")
  dir = net:artifacts_dir()
end)
net:down()
if not ok then t.ok(false, "scenario: " .. tostring(err)) return t.done() end

-- captures: the IPv6 datagrams are in a's and g's pcaps, read by the host's tcpdump
local function read(file, filter)
  local code, out, e = core.run({ "tcpdump", "-n", "-r", dir .. "/" .. file, filter })
  return code, out or "", e or ""
end
local code, out, e = read("a.pcap", "ip6 and udp")
t.is(code, 0, "tcpdump reads a.pcap (" .. e:gsub("%s+$", ""):gsub("\n", " ") .. ")")
local a6, g6 = a.public_ip6:gsub("%p", "%%%0"), g.public_ip6:gsub("%p", "%%%0")
t.like(out, "IP6 " .. a6 .. "%.5000 > " .. g6 .. "%.4000: UDP", "a.pcap: a's probe leaves over IPv6")
t.like(out, "IP6 " .. g6 .. "%.4000 > " .. a6 .. "%.5000: UDP", "a.pcap: g's answer arrives over IPv6")
code, out = read("g.pcap", "ip6 and udp")
t.is(code, 0, "tcpdump reads g.pcap")
t.like(out, "IP6 " .. a6 .. "%.5002 > " .. g6 .. "%.4000: UDP", "g.pcap: a's datagrams to g over IPv6")
local caps = core.read_file(dir .. "/captures.txt") or ""
t.ok(not caps:find("IPv6 left out", 1, true), "captures.txt: no dual-stack link leaves IPv6 out")
t.done()
