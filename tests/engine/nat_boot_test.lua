-- A router's rules are loaded by its container's start (natrig.nat.boot; needs:engine): its
-- bring-up checks them with one exec (the load, IP forwarding and the listing), with
-- miniupnpd's start when it maps ports; set_nat loads in that exec; router:restart checks what
-- the restarted container's start loaded (set_nat's rules, not the first ones); a load that
-- fails at the start is said naming the router, with nft's own message, before the listing.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"

local PEER = "/usr/local/bin/natrig-peer"

-- the execs made in each container, counted at the engine (every exec goes through Engine.exec)
local execs = {}
local E = getmetatable(natrig.engine())
local exec = E.exec
E.exec = function(self, id, argv, opts)
  execs[id] = (execs[id] or 0) + 1
  return exec(self, id, argv, opts)
end

local net = natrig.network { scenario = "nat_boot_test", quiet = true }
local ok, err = pcall(function()
  local gw = net:gateway { name = "gw", cmd = { PEER, "echo", "--port", "3478" } }
  local a = net:peer { name = "a", nat = "port_restricted", cmd = { "sleep", "600" } }
  local m = net:peer { name = "m", nat = "symmetric", portmap = { "natpmp" }, cmd = { "sleep", "600" } }
  net:up()
  t.is(execs[a.router.id], 1, "a router's bring-up makes one exec: its rules, loaded by its start, checked with "
    .. "IP forwarding")
  t.is(execs[m.router.id], 1, "a portmap router's too: miniupnpd's start is waited for in the same exec")
  local function seen(p, port)
    local r = p:exec { PEER, "probe", "--to", gw.private_ip .. ":3478", "--from-port", tostring(port),
      "--timeout", "2000" }
    return r.stdout:match("seen ([%d.]+):%d+")
  end
  t.is(seen(a, 40000), a.router.wan_ip, "the rules the start loaded NAT (the gateway sees the WAN address)")

  execs = {}
  a.router:set_nat("symmetric")
  t.is(execs[a.router.id], 4, "set_nat: one exec loads and checks the rules, three flush the mappings (router:flush)")
  execs = {}
  a.router:restart() -- its check fails unless the start loaded set_nat's symmetric rules
  t.is(execs[a.router.id], 1, "restart: one exec checks what the restarted container's start loaded")
  t.is(a.router.nat.mapping, "APDM", "restart: still symmetric")
  t.is(seen(a, 40001), a.router.wan_ip, "a restarted router NATs again")
  m.router:restart()
  local pm = m:exec { PEER, "portmap", "--proto", "natpmp", "--port", "6100" }
  t.like(pm.stdout, "^portmap natpmp udp 6100", "restart: miniupnpd answers again: " .. pm.stdout)
end)
t.ok(ok, "no unexpected error: " .. tostring(err))
net:down()

-- a load that fails at the container's start: the ruleset put into the router is broken
local put_files = E.put_files
E.put_files = function(self, id, entries, path)
  for _, f in ipairs(entries) do
    if f.path == natrig.core.nat_ruleset_path then f.data = f.data .. "\nbogus natrig line\n" end
  end
  return put_files(self, id, entries, path)
end
local bad = natrig.network { scenario = "nat_boot_test", quiet = true }
bad:gateway { name = "gw", cmd = { "sleep", "600" } }
local b = bad:peer { name = "b", nat = "full_cone", cmd = { "sleep", "600" } }
local up_ok, up_err = pcall(bad.up, bad)
E.put_files = put_files
t.ok(not up_ok, "a broken ruleset fails net:up")
up_err = tostring(up_err)
t.like(up_err, "nat on " .. b.router.name:gsub("%p", "%%%0"), "the failure names the router: " .. up_err)
t.like(up_err, "loading its rules as its container started %(start 1",
  "it says the container's start failed to load them")
t.like(up_err, "syntax error", "with nft's own message")
t.ok(not up_err:find("did not take effect", 1, true), "said before the listing's check")
bad:down()
local eng = natrig.engine()
for _, n in ipairs({ net, bad }) do
  local f = { label = natrig.json.array { "natrig.run=" .. n.session.run_id } }
  t.is(#eng:container_list(f) + #eng:network_list(f), 0, "nothing left after down()")
end
t.done()
