-- A carrier-grade NAT against the real engine (needs:engine): net:router{ nat = "cgnat" }
-- with pool = 1, 8-port quota per customer, home routers behind it. What a gateway sees
-- (one public address, each customer in its own block), router:customers(), a customer over
-- its quota (new mappings dropped and counted, the timeline says so, the other customer is
-- not affected), two natrig-peers of different customers punching through the CGN's
-- hairpin, coturn's verdict on home router + CGN, and the bad input refused before anything
-- is made.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"

local PEER = "/usr/local/bin/natrig-peer"

-- bad input: exit-2 errors (einval) before anything exists
local function refused(f, pat, what)
  local n = natrig.network { scenario = "cgn_bad", quiet = true }
  local ok, e = pcall(f, n)
  t.ok(not ok and tostring(e):find(pat, 1, true) ~= nil, what .. ": " .. tostring(e))
  t.is(type(e) == "table" and e.code, "einval", what .. ": a usage error (exit 2)")
  local filters = { label = natrig.json.array { "natrig.run=" .. n.session.run_id } }
  local eng = natrig.engine()
  t.is(#eng:container_list(filters) + #eng:network_list(filters), 0, what .. ": nothing made")
end
refused(function(n) n:router { nat = "cgnat", pool = 5000 } end, "bigger than the public network allows",
  "pool = 5000")
refused(function(n) n:router { nat = "cgnat", port_block = 500 } end, "does not divide", "port_block = 500")
refused(function(n) n:router { nat = "port_restricted", pool = 2 } end, "option of a carrier-grade NAT",
  "pool on a home router")
refused(function(n)
  n:router { name = "lonely", nat = "cgnat" }
  n:gateway { name = "g", cmd = { PEER, "echo", "--port", "3478" } }
  n:up()
end, "has nothing behind it", "cgnat with nothing behind it")
refused(function(n)
  local c = n:router { name = "c", nat = "cgnat", port_block = 32256, blocks = 2 }
  for i = 1, 2 do n:router { name = "h" .. i, nat = "full_cone", behind = c } end
  n:up()
end, "raise pool", "customers that do not fit the pool")

local net = natrig.network { scenario = "cgn_test", quiet = true }
local ok, err = pcall(function()
  local gw = net:gateway { name = "gw", cmd = { PEER, "echo", "--port", "3478" } }
  local rv = net:gateway { name = "rv", profile = "natrig-peer" }
  local cgn = net:router { name = "cgn", nat = "cgnat", pool = 1, port_block = 8, blocks = 1, udp_timeout = 30 }
  local h = {}
  for i = 1, 4 do h[i] = net:router { name = "h" .. i, nat = "port_restricted", behind = cgn } end
  local a = net:peer { name = "a", router = h[1], cmd = { PEER, "echo", "--port", "4000" } }
  local b = net:peer { name = "b", router = h[2], cmd = { PEER, "echo", "--port", "4000" } }
  local function punch_argv(me, other)
    return { PEER, "peer", "--gateway", rv.public_ip .. ":31337", "--name", me, "--port", "31337",
      "--expect", other, "--pings", "3", "--keepalive", "5" }
  end
  local p = net:peer { name = "p", router = h[3], cmd = function() return punch_argv("p", "q") end }
  local q = net:peer { name = "q", router = h[4], cmd = function() return punch_argv("q", "p") end }
  net:up()
  t.is(a.public_ip, cgn.wan_ip, "pool = 1: a's public address is the CGN's")
  t.is(b.public_ip, cgn.wan_ip, "pool = 1: b's too")
  t.like(cgn.lan.subnet, "^100%.", "the CGN's inside is in 100.64.0.0/10: " .. cgn.lan.subnet)

  local function probe(node, port)
    local r = node:exec { PEER, "probe", "--timeout", "1500", "--to", gw.private_ip .. ":3478", "--from-port",
      tostring(port) }
    local ip, pt = r.stdout:match("seen ([%d.]+):(%d+)")
    return ip, tonumber(pt)
  end
  local cust = cgn:customers()
  t.is(#cust, 4, "four customers: " .. #cust)
  local by = {}
  for _, c in ipairs(cust) do by[c.name] = c end
  for _, x in ipairs { { a, "h1" }, { b, "h2" } } do
    local c = by[x[2]]
    local lo, hi = c.blocks[1]:match("(%d+)-(%d+)")
    for _, port in ipairs { 40000, 40001 } do
      local ip, pt = probe(x[1], port)
      t.is(ip, cgn.wan_ip, ("%s:%d seen by the gateway from the pool address"):format(x[1].name, port))
      t.ok(pt and pt >= tonumber(lo) and pt <= tonumber(hi),
        ("%s:%d seen from port %s, in %s's block %s"):format(x[1].name, port, tostring(pt), x[2], c.blocks[1]))
    end
  end

  -- over quota: a opens 10 more flows; 8 - used fit, the rest are dropped and counted
  local used = cgn:customers()[1].used
  local got = natrig.map({ 41001, 41002, 41003, 41004, 41005, 41006, 41007, 41008, 41009, 41010 },
    function(port) return (probe(a, port)) ~= nil end, 10)
  local n = 0
  for _, g in ipairs(got) do if g then n = n + 1 end end
  t.is(n, 8 - used, ("a's quota 8, %d in use: %d of 10 new flows through"):format(used, n))
  cust = cgn:customers()
  t.is(cust[1].used, 8, "h1 uses its whole quota")
  t.ok(cust[1].dropped > 0, "h1's dropped packets counted: " .. cust[1].dropped)
  t.is(cust[2].dropped, 0, "h2: nothing dropped")
  t.ok((probe(b, 41001)) ~= nil, "b still opens new flows")
  local ev = net:timeline { match = "customer h1 out of ports" }
  t.ok(#ev >= 1, "the timeline says so: " .. (ev[1] and ev[1].message or "nothing"))
  t.is(#net:timeline { match = "customer h2 out of ports" }, 0, "not about h2")

  -- hairpinning: p and q (h3, h4) punch to each other's public endpoints, both on the pool address
  for _, x in ipairs { { p, q }, { q, p } } do
    local e = x[1]:wait_log { target = "natrig_peer::punch", message = "hole punched",
      fields = { remote = x[2].name }, timeout = 20 }
    t.like(e.fields.addr or e.raw, cgn.wan_ip:gsub("%.", "%%."), x[1].name .. " punched to " .. x[2].name ..
      " through the CGN's hairpin")
  end

  -- coturn through home router + CGN: port_restricted + CGN(EIF) = EIM, APDF, no hairpin
  local c = net:classify(p)
  t.diag(("coturn: %s %s hairpin=%s; claimed %s %s hairpin=%s"):format(c.mapping, c.filtering, tostring(c.hairpin),
    c.claimed.mapping, c.claimed.filtering, tostring(c.claimed.hairpin)))
  t.ok(c.matches, "coturn's verdict matches the claim for home router + CGN")
  t.is(c.claimed.filtering, "APDF", "claimed filtering APDF")
end)
t.ok(ok, "no unexpected error: " .. tostring(err))
net:down()
local eng = natrig.engine()
local filters = { label = natrig.json.array { "natrig.run=" .. net.session.run_id } }
t.is(#eng:container_list(filters) + #eng:network_list(filters), 0, "nothing left after down()")
t.done()
