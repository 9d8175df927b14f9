-- Node options a user hits first (issue 18 items 1, 4, 5), pure: no engine.
--   cap_add / devices / tun: an allow-list, refusals give the reason; never privileged
--   files / env / cmd as function(node, net) evaluated at bring-up
--   host_port(p): the published loopback port, or an error naming what is published
--   natrig.now() is the clock of log entries (epoch), natrig.monotonic() for durations
--   k=v scenario parameters take the type of the declared default
local t = require "tap"
local natrig = require "natrig"
local node = require "natrig.node"
local profiles = require "natrig.profiles"
local scenario = require "natrig.scenario"
local core = require "natrig.core"

-- capabilities and devices -------------------------------------------------------------
local caps, devs = node.app_access({})
t.is(#caps + #devs, 0, "no cap_add/devices/tun: nothing beyond Docker's default set")
caps, devs = node.app_access({ tun = true })
t.is(table.concat(caps, ","), "NET_ADMIN", "tun = true adds NET_ADMIN")
t.is(#devs, 1, "tun = true adds one device")
t.is(devs[1].PathOnHost, "/dev/net/tun", "... /dev/net/tun on the host")
t.is(devs[1].PathInContainer, "/dev/net/tun", "... at /dev/net/tun in the container")
t.is(devs[1].CgroupPermissions, "rwm", "... readable and writable")
caps, devs = node.app_access({ cap_add = { "net_raw", "CAP_NET_ADMIN", "NET_ADMIN" }, tun = true,
  devices = { "/dev/net/tun" } })
t.is(table.concat(caps, ","), "NET_RAW,NET_ADMIN", "names normalised (case, CAP_ prefix), no duplicates")
t.is(#devs, 1, "a device asked for twice is passed once")
t.raises(function() node.app_access({ cap_add = { "SYS_ADMIN" } }, "net:peer") end,
  "net:peer.*cap_add: SYS_ADMIN is refused: it is most of root", "SYS_ADMIN is refused with the reason")
t.raises(function() node.app_access({ cap_add = { "sys_module" } }) end,
  "SYS_MODULE is refused: it loads modules", "SYS_MODULE is refused with the reason")
t.raises(function() node.app_access({ cap_add = { "ALL" } }) end, "privileged", "ALL is refused")
t.raises(function() node.app_access({ cap_add = { "SYS_TIME" } }) end,
  "SYS_TIME is refused: it is not on natrig's allow%-list %(allowed: IPC_LOCK, NET_ADMIN, NET_BIND_SERVICE, NET_RAW%)",
  "a capability outside the list is refused, naming the list")
t.raises(function() node.app_access({ devices = { "/dev/sda" } }) end,
  "devices: /dev/sda is refused.*/dev/net/tun", "a device outside the list is refused")
t.raises(function() node.app_access({ cap_add = "NET_ADMIN" }) end, "cap_add must be a list", "cap_add must be a list")
t.raises(function() node.app_access({ tun = "yes" }) end, "tun must be true or false", "tun must be a boolean")

-- options are checked when the node is declared, before any engine call
t.raises(function() node.new_node({}, "peer", "p1", nil, { cmd = { "x" }, cap_add = { "SYS_ADMIN" } }) end,
  "net:peer.*SYS_ADMIN is refused", "a node declared with SYS_ADMIN is refused at declaration")
local g = node.new_node({}, "gateway", "vpn", nil, { cmd = { "x" }, tun = true, cap_add = { "NET_RAW" } })
t.is(table.concat(g.cap_add, ","), "NET_RAW,NET_ADMIN", "a declared node keeps its CapAdd list")
t.is(g.devices[1].PathOnHost, "/dev/net/tun", "... and its Devices list")
local nopts = require("natrig.nodeopts").NODE_OPTS
t.ok(nopts and nopts.cap_add and nopts.devices and nopts.tun,
  "net:peer/gateway/node accept cap_add, devices, tun (NODE_OPTS)")
t.ok(not core.read_file("lua/natrig/node.lua"):find("Privileged", 1, true), "natrig never sets Privileged")
-- net:router's options are typed like net:peer's (they were accepted whatever their type)
do
  local net = natrig.network { pool = "10.128.0.0/9" }
  t.raises(function() net:router { hairpin = "yes" } end, "hairpin",
    "net:router{ hairpin = \"yes\" } is refused (boolean)")
  t.raises(function() net:router { nat = "cgnat", pool = "2" } end, "pool",
    "net:router{ pool = \"2\" } is refused (number)")
  t.raises(function() net:router { frob = 1 } end, "frob", "an unknown router option is refused")
  local ropts, nopts2 = require("natrig.nodeopts").ROUTER_OPTS, require("natrig.nodeopts").NODE_OPTS
  local same = true
  for k, ty in pairs(ropts) do if nopts2[k] and nopts2[k] ~= ty then same = false end end
  t.ok(same, "a key net:router shares with net:peer has the same type in both")
end

-- function-valued files, env, cmd ------------------------------------------------------
local fake_net = { gw_ip = "203.0.113.7" }
local n = { name = "n1", kind = "peer", public_ip = "198.51.100.2", opts = {
  files = function(nd, nt) return { { path = "/etc/x.yml", data = "gw: " .. nt.gw_ip .. " me: " .. nd.name } } end,
  cmd = function(nd, nt) return { "/bin/prog", "--gw", nt.gw_ip, nd.public_ip } end } }
local files = profiles.files(profiles.builtin.command, n, fake_net)
t.is(#files, 1, "files = function(node, net) is called")
t.is(files[1].data, "gw: 203.0.113.7 me: n1", "... with the node and the network")
t.is(table.concat(profiles.argv(profiles.builtin.command, n, fake_net), " "), "/bin/prog --gw 203.0.113.7 198.51.100.2",
  "cmd = function(node, net) gives the argv")
n.opts.files = function() return "oops" end
t.raises(function() profiles.files(profiles.builtin.command, n, fake_net) end, "files must be a list",
  "a files function returning a non-list is an error naming the option")
n.opts.files = { { path = "/a", data = "b" } }
t.is(profiles.files(profiles.builtin.command, n, fake_net)[1].path, "/a", "a plain files list still works")

-- host_port --------------------------------------------------------------------------
local hn = setmetatable({ name = "h", ports = { [2222] = 49153, [7509] = 49154 }, holder = "x" }, node.Node)
t.is(hn:host_port(2222), 49153, "host_port(2222) is the published loopback port")
t.is(hn:host_port("7509/tcp"), 49154, "host_port takes \"port/proto\" too")
t.raises(function() hn:host_port(80) end, "h has no published port 80 %(published: 2222, 7509%)",
  "an unpublished port is an error listing the published ones")

-- one clock ----------------------------------------------------------------------------
local now, wall = natrig.now(), os.time()
t.ok(math.abs(now - wall) <= 2, ("natrig.now() is epoch seconds (%.3f vs os.time %d)"):format(now, wall))
t.is(math.type(now), "float", "natrig.now() has sub-second precision (a float)")
local m0 = natrig.monotonic()
core.sleep(0.02)
local dm = natrig.monotonic() - m0
t.ok(dm >= 0.015 and dm < 1, ("natrig.monotonic() measures durations (%.3f s for a 20 ms sleep)"):format(dm))
t.ok(math.abs(hn:mark() - natrig.now()) < 1, "node:mark() is a point on the same clock")
-- an entry's time is compared with since on that clock
local logs = require "natrig.logs"
local t_mark = natrig.now()
t.ok(not logs.matches({ engine_time = t_mark - 0.5, message = "old" }, { since = t_mark }),
  "an entry before since does not match")
t.ok(logs.matches({ engine_time = t_mark + 0.5, message = "new" }, { since = t_mark }), "an entry after since matches")

-- k=v parameters take the default's type --------------------------------------------------
local def = scenario.define { name = "p", params = { count = 3, verbose = false, nat = "port_restricted", delay = 0.1 },
  run = function() end }
local p = scenario.params(def, { count = "7", verbose = "true", nat = "symmetric", delay = "0.25" })
t.is(p.count, 7, "count=7 is the number 7 (default is a number)")
t.is(math.type(p.count), "integer", "... an integer")
t.is(p.delay, 0.25, "delay=0.25 is the number 0.25")
t.is(p.verbose, true, "verbose=true is the boolean true (default is a boolean)")
t.is(scenario.params(def, { verbose = "0" }).verbose, false, "verbose=0 is false")
t.is(p.nat, "symmetric", "a string default keeps the string")
t.raises(function() scenario.params(def, { count = "many" }) end, "parameter 'count' wants a number, got 'many'",
  "a value that does not convert is an error")
t.raises(function() scenario.params(def, { verbose = "maybe" }) end, "wants true or false", "a bad boolean is an error")
t.raises(function() scenario.params(def, { cuont = "1" }) end, "has no parameter 'cuont'", "an unknown key is an error")

t.done()
