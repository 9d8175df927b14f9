--- natrig.node: the nodes (gateways, peers, plain nodes) of a natrig.network.
--
-- Routers are natrig.router; what both hold as containers, natrig.netns.
-- @module natrig.node
local core = require "natrig.core"
local task = require "natrig.task"
local profiles = require "natrig.profiles"
local logs = require "natrig.logs"
local logfollow = require "natrig.logfollow"
local iface = require "natrig.iface"
local impair = require "natrig.impair"
local capture = require "natrig.capture"
local nodeopts = require "natrig.nodeopts"
local watch = require "natrig.watch"
local netns = require "natrig.netns"
local router_mod = require "natrig.router"
local ip6 = require "natrig.ip6"

local M = {}
-- Routers live in natrig.router; known here too as node.Router and node.new_router.
M.Router, M.new_router = router_mod.Router, router_mod.new_router
--- A node: a gateway, a peer or a plain node (net:gateway, net:peer, net:node).
-- @type Node
-- @tfield string name its name
-- @tfield string kind "gateway", "peer" or "node"
-- @tfield ?string private_ip its address on its own segment (a LAN, or the public network); nil
-- on a v6only node, public or behind a v6only router (it has no IPv4)
-- @tfield ?string public_ip the address the public network sees it at (its outermost router's);
-- nil on a v6only public node
-- @tfield ?string private_ip6 its IPv6 address (ip = "dual" or "v6only"; natrig.ip6), else nil
-- @tfield ?string public_ip6 the IPv6 address the public network sees it at: its own (no translation)
-- @tfield string ip the families it speaks: "v4", "dual" or "v6only" (a peer: its router's)
-- @tfield ?Router router the router it sits behind, or nil on the public network
-- @tfield table profile the profile it runs (natrig-peer, command, freenet, ...)
-- @tfield ?boolean running whether its app runs (as the engine last said)
-- @tfield ?integer exit_code its app's exit code once it exited
-- @tfield ?string impairment the impairment in force on its link ("delay=100ms direction=egress ...")
-- @tfield ?string impair_seed the seed of its impairment's fates (NATRIG_SEED replays them)
-- @tfield Network net its network
local Node = {}
Node.__name = "natrig.Node"
-- Public fields kept by another module, in its own sub-object of the node (README, "How it
-- is built": Ownership): read here through the owner, written only by it.
Node.__views = { running = watch.running, exit_code = watch.exit_code, impairment = impair.current,
  impair_seed = impair.seed_of }
function Node.__index(self, k)
  local v = Node[k]
  if v == nil and Node.__views[k] then return Node.__views[k](self) end
  return v
end
M.Node = Node

-- Kept here too for callers that know it as node.iface_for.
M.iface_for = iface.iface_for

-- What an app container may get beyond Docker's default capability set (node options
-- cap_add, devices, tun). An allow-list: what a P2P program or a userspace VPN needs to
-- run its own data plane, nothing that hands it the host. Never --privileged.
M.CAPS_ALLOWED = { NET_ADMIN = true, NET_RAW = true, NET_BIND_SERVICE = true, IPC_LOCK = true }
M.DEVICES_ALLOWED = { ["/dev/net/tun"] = true }
local CAPS_REFUSED = {
  SYS_ADMIN = "it is most of root (mount, namespaces, BPF, device control) and no network program "
    .. "needs it: NET_ADMIN covers tun devices, routes and firewall rules",
  SYS_MODULE = "it loads modules into the host's kernel",
  ALL = "it is --privileged by another name",
}

--- Check a node's cap_add, devices and tun options; return the CapAdd list and the
-- Devices list for the app container (both possibly empty). Pure; raises naming the
-- refused capability or device and why.
-- @tparam table opts the node's options (cap_add, devices, tun)
-- @tparam[opt] string op the operation named in errors ("net:peer", ...)
-- @treturn {string,...} CapAdd
-- @treturn {table,...} Devices ({ PathOnHost, PathInContainer, CgroupPermissions })
-- @usage local caps, devs = node.app_access({ tun = true }, "net:peer")
function M.app_access(opts, op)
  local function refuse(msg) core.fail("einval", op or "node", msg) end
  local caps, devices, seen = {}, {}, {}
  local function add_cap(c)
    local name = tostring(c):upper():gsub("^CAP_", "")
    if CAPS_REFUSED[name] or not M.CAPS_ALLOWED[name] then
      local names = {}
      for n in pairs(M.CAPS_ALLOWED) do names[#names + 1] = n end
      table.sort(names)
      refuse(("cap_add: %s is refused: %s (allowed: %s)"):format(name,
        CAPS_REFUSED[name] or "it is not on natrig's allow-list", table.concat(names, ", ")))
    end
    if not seen[name] then seen[name] = true; caps[#caps + 1] = name end
  end
  local function add_dev(d)
    if type(d) ~= "string" or not M.DEVICES_ALLOWED[d] then
      refuse(("devices: %s is refused: natrig passes only the devices a network program needs "
        .. "(allowed: /dev/net/tun)"):format(tostring(d)))
    end
    if not seen[d] then
      seen[d] = true
      devices[#devices + 1] = { PathOnHost = d, PathInContainer = d, CgroupPermissions = "rwm" }
    end
  end
  if opts.cap_add ~= nil and type(opts.cap_add) ~= "table" then refuse("cap_add must be a list of capability names") end
  if opts.devices ~= nil and type(opts.devices) ~= "table" then refuse("devices must be a list of device paths") end
  if opts.tun ~= nil and type(opts.tun) ~= "boolean" then refuse("tun must be true or false") end
  for _, c in ipairs(opts.cap_add or {}) do add_cap(c) end
  for _, d in ipairs(opts.devices or {}) do add_dev(d) end
  if opts.tun then add_cap("NET_ADMIN"); add_dev("/dev/net/tun") end
  return caps, devices
end

-- nodes ---------------------------------------------------------------------------

function M.new_node(net, kind, name, router, opts)
  local n = setmetatable({ net = net, eng = net.eng, kind = kind, name = name, router = router, opts = opts,
    log = logs.new(), may_exit = opts.may_exit == true }, Node)
  n.profile = profiles.resolve(opts, kind)
  n.cap_add, n.devices = M.app_access(opts, "net:" .. kind)
  nodeopts.check("net:" .. kind, name, kind, opts) -- ports, files, binary, timeout, ready
  return n
end

function Node:__tostring()
  return ("natrig.Node(%s %s, private %s, public %s%s%s)"):format(self.kind, self.name,
    tostring(self.private_ip), tostring(self.public_ip),
    self.public_ip6 and (", ipv6 " .. self.public_ip6) or "",
    self.api_port and (", api 127.0.0.1:" .. self.api_port) or "")
end

--- Public_ip:port, the address others reach the node at; with IPv6 also its IPv6 one.
-- A v6only node's first value is its IPv6 address.
-- @tparam[opt] integer port default: the profile's port, else natrig-peer's (31337)
-- @treturn string "10.128.0.3:31337"
-- @treturn ?string "[2001:db8:4a1::5]:31337" when it speaks IPv6
-- @usage local to, to6 = a:addr(4000)   -- b sends to a's public addresses
function Node:addr(port)
  port = tostring(port or self.profile.port or core.PEER_PORT)
  local v6 = self.public_ip6 and ip6.hostport(self.public_ip6, port)
  if self.ip == "v6only" then return v6 end
  return self.public_ip .. ":" .. port, v6
end

--- Create and start the node (done by net:up).
-- @local
function Node:bring_up()
  local net, eng, s = self.net, self.eng, self.net.session
  local prof = self.profile
  local ports = self.opts.ports or prof.ports or {}
  local exposed, bindings = {}, {}
  for _, p in ipairs(ports) do
    local key = nodeopts.port("net:up", self.name, p) -- a profile's ports too
    exposed[key] = {}
    -- Published on loopback only, with an engine-chosen host port (no race for ports).
    bindings[key] = core.json_array { { HostIp = "127.0.0.1", HostPort = "" } }
  end
  self.ctl_dir = net:ctl_dir(self.name, eng)
  self.holder = eng:container_create(s:name(self.name .. "-net"), {
    Image = net.image, Hostname = self.name, Cmd = core.json_array(netns.HOLD),
    Labels = s:labels("holder", { ["natrig.node"] = self.name }),
    ExposedPorts = next(exposed) and exposed or nil,
    HostConfig = {
      NetworkMode = self.segment.name, Init = true,
      Binds = self.ctl_dir and core.json_array { self.ctl_dir .. ":/run/natrig" } or nil,
      -- SYS_NICE: natrig-shaper, run here, asks for real-time scheduling (src/shaper/rtsched.c)
      CapAdd = core.json_array { "NET_ADMIN", "NET_RAW", "SYS_NICE" },
      PortBindings = next(bindings) and bindings or nil, Dns = require("natrig.seal").dns(net, eng, self.segment,
        self.ip),
      Sysctls = netns.sysctls { ["net.ipv6.conf.all.disable_ipv6"] = ip6.disabled(self.segment, self.private_ip6) },
    },
    NetworkingConfig = netns.endpoint(self.segment, self.endpoint_ip, self.seg_ip6),
  })
  eng:container_start(self.holder)
  -- a v6only node (behind a v6only router, or on the public network) has no IPv4 at all:
  -- the engine's address and every IPv4 route go
  local function drop4() ip6.drop4(function(a, o) return self:netexec(a, o) end, self.private_ip6, true) end
  if self.router then
    self.router.job:join()
    local r = self.router
    task.parallel(function()
      if self.ip == "v6only" then drop4() return end
      self:netexec({ "ip", "route", "replace", "default", "via", r.lan_ip }, { check = true })
    end, function()
      if not r.lan_ip6 then return end
      self:netexec({ "ip", "-6", "route", "replace", "default", "via", r.lan_ip6 }, { check = true })
      if not ip6.resolve_neighbour(r.lan_ip6, function(a, o) return self:netexec(a, o) end) then
        local w = ("%s: its router's IPv6 address %s did not answer neighbour discovery in 15 s; IPv6 "
          .. "through %s may fail"):format(self.name, r.lan_ip6, r.name)
        net:note("ipv6", w)
        net.log("warning: " .. w)
      end
    end, function() require("natrig.nat64").resolv(self) end) -- a NAT64 router: its DNS64
  elseif self.private_ip6 then
    task.parallel(function() if self.ip == "v6only" then drop4() end end,
      function() ip6.routes_public(net, self, function(a, o) return self:netexec(a, o) end) end)
  end
  -- Before the app starts, so its first packets are in the capture.
  if capture.wanted(net, self) then capture.start(net, self, "node") end
  if next(bindings) then
    local info = eng:container_inspect(self.holder)
    self.ports = {}
    for key, b in pairs((info.NetworkSettings or {}).Ports or {}) do
      if type(b) == "table" and b[1] then
        self.ports[tonumber(key:match("^(%d+)"))] = tonumber(b[1].HostPort)
      end
    end
    self.api_port = self.ports[tonumber(tostring(ports[1]):match("^(%d+)"))]
  end
  -- The app: the profile's argv in the holder's namespace, any image, Docker's default
  -- capability set plus only what cap_add / devices / tun asked for (natrig.node.app_access).
  -- A profile's binary goes into an image of its own (built once, FROM the base image).
  local app_image = self.opts.image or prof.image or net.image
  local bin = self.opts.binary or prof.binary
  if type(bin) == "function" then bin = bin(self, net) end
  if bin then
    local host = type(bin) == "table" and bin.host or bin
    local dest = type(bin) == "table" and bin.dest or ("/usr/local/bin/" .. host:match("[^/]+$"))
    app_image = net:image_with_binary(host, dest, eng)
  end
  -- Programs that log to files write them into a host directory (bind-mounted).
  local binds
  if prof.log_files then
    self.log_dir = core.realpath(net:artifacts_dir()) or net:artifacts_dir()
    self.log_dir = self.log_dir .. "/" .. self.name .. "-files"
    core.mkdir_p(self.log_dir)
    self.log_dir = core.realpath(self.log_dir)
    binds = core.json_array { self.log_dir .. ":/natrig/logs" }
  end
  local argv = profiles.argv(prof, self, net)
  local env = {}
  for _, e in ipairs(prof.env or {}) do env[#env + 1] = e end
  local oenv = self.opts.env
  if type(oenv) == "function" then oenv = oenv(self, net) end -- built at bring-up
  -- { K = "v" } (sorted, so the container's Env is the same every run) or { "K=v", ... }
  local keys = {}
  for k in pairs(oenv or {}) do if type(k) == "string" then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, e in ipairs(oenv or {}) do env[#env + 1] = tostring(e) end
  for _, k in ipairs(keys) do env[#env + 1] = k .. "=" .. tostring(oenv[k]) end
  self.id = eng:container_create(s:name(self.name), {
    Image = app_image,
    Cmd = core.json_array(argv), Env = core.json_array(env),
    Labels = s:labels(self.kind, { ["natrig.node"] = self.name }),
    HostConfig = { NetworkMode = "container:" .. self.holder, Init = true, Binds = binds,
      CapAdd = #self.cap_add > 0 and core.json_array(self.cap_add) or nil,
      Devices = #self.devices > 0 and core.json_array(self.devices) or nil,
      LogConfig = logs.engine_log_config() },
  })
  local files = nodeopts.files("net:up", self.name, profiles.files(prof, self, net))
  if #files > 0 then eng:put_files(self.id, files, "/") end
  require("natrig.seal").wait(net, self) -- nothing starts before the lab is sealed
  watch.started(self)
  eng:container_start(self.id)
  self.started_at = core.time() -- when the engine had started it: the start-up graces count from here
  logfollow.attach(self)
  profiles.wait_ready(prof, self, net)
  watch.startup_check(self) -- an app that already exited (a missing binary: 127) fails net:up()
  self.ready = true
end

--- The loopback host port the engine published for a container port of the node
-- (`ports = { 2222 }` -> node:host_port(2222)); raises if that port is not published.
-- @tparam integer|string port the container port ("2222" or "2222/tcp")
-- @treturn integer the port on the host's loopback
-- @usage local p = a:host_port(2222)   -- ssh -p <p> 127.0.0.1
function Node:host_port(port)
  local p = tonumber((tostring(port):match("^(%d+)")))
  local hp = p and self.ports and self.ports[p]
  if not hp then
    local have = {}
    for k in pairs(self.ports or {}) do have[#have + 1] = tostring(k) end
    table.sort(have)
    core.fail("einval", "node:host_port", ("%s has no published port %s (published: %s)"):format(self.name,
        tostring(port), #have > 0 and table.concat(have, ", ") or (self.holder and "none" or "none yet, before up()")))
  end
  return hp
end

--- A point on natrig's clock (epoch seconds, the clock of log entries) to pass as `since`:
-- `local m = node:mark() ... node:wait_log{ match = ..., since = m }`.
-- @treturn number epoch seconds
-- @usage local m = a:mark(); b:restart(); a:wait_log{ match = "reconnected", since = m }
function Node:mark() return core.time() end -- luacheck: ignore 212 (a method: node:mark())

--- Run argv in the app container: returns { code, stdout, stderr }.
-- Never a shell string: argv is a list. The call and its exit code go into the timeline.
-- @tparam {string,...} argv
-- @tparam[opt] table opts env = { "K=V", ... }, user, workdir, privileged, timeout (s),
--   check (raise when the exit code is not 0)
-- @treturn {code=integer,stdout=string,stderr=string}
-- @usage local r = a:exec{ "ip", "-4", "addr" }
-- expect(r.code):eq(0)
function Node:exec(argv, opts) return netns.exec_in(self, self.id, argv, opts, self.name) end

--- Run argv in the node's network holder (natrig's tools, CAP_NET_ADMIN, same netns).
-- @tparam {string,...} argv
-- @tparam[opt] table opts as for `exec`
-- @treturn {code=integer,stdout=string,stderr=string}
-- @usage print(a:netexec{ "ss", "-uan" }.stdout)
function Node:netexec(argv, opts) return netns.exec_in(self, self.holder, argv, opts, self.name .. " (net)") end

--- The node's addresses and routes, of both families.
-- @treturn {routes=string,addresses=string,routes6=string,addresses6=string,log=string} the output of
-- `ip route` and `ip -4 -o addr` (and of `ip -6 route` and `ip -6 -o addr` when it has IPv6),
-- and which way its log comes (log: the engine's json-file read directly, or its follow stream)
-- @usage print(a:diagnostics().routes)
function Node:diagnostics()
  local d = { log = logfollow.route_text(self) }
  local function run(k, argv) d[k] = self:netexec(argv, { quiet = true }).stdout end
  local jobs = { function() run("routes", { "ip", "route", "show" }) end,
    function() run("addresses", { "ip", "-4", "-o", "addr", "show" }) end }
  if self.private_ip6 then
    jobs[3] = function() run("routes6", { "ip", "-6", "route", "show" }) end
    jobs[4] = function() run("addresses6", { "ip", "-6", "-o", "addr", "show", "scope", "global" }) end
  end
  task.parallel(jobs)
  return d
end

--- Faults on the app (the network set-up in the holder is untouched). An exit natrig is
-- asked for is expected (natrig.watch): after kill or stop until the next start, during
-- a restart until it returns.
-- @tparam[opt="KILL"] string signal a signal name ("TERM", "HUP", ...)
-- @usage a:kill("TERM")
function Node:kill(signal)
  self.net:note("kill", self.name .. " " .. (signal or "KILL"))
  watch.exit_asked(self)
  self.eng:container_kill(self.id, signal or "KILL")
end
--- Stop the app.
-- @tparam[opt=5] number t seconds between SIGTERM and SIGKILL
-- @usage a:stop(); b:wait_log{ match = "peer gone" }; a:start()
function Node:stop(t)
  self.net:note("stop", self.name)
  watch.exit_asked(self)
  self.eng:container_stop(self.id, t or 5)
end
--- Start the app again.
-- @usage a:start()
function Node:start()
  self.net:note("start", self.name)
  self.eng:container_start(self.id)
  watch.started(self)
  logfollow.attach(self, true)
end
--- Restart the app.
-- @tparam[opt=5] number t seconds between SIGTERM and SIGKILL
-- @usage a:restart()
function Node:restart(t)
  self.net:note("restart", self.name)
  watch.exit_asked(self)
  self.eng:container_restart(self.id, t or 5)
  watch.started(self)
  logfollow.attach(self, true)
end
--- Say whether the app may exit by itself without failing the run (default: no).
-- @tparam[opt=true] boolean yes
-- @usage a:allow_exit()   -- a one-shot program
function Node:allow_exit(yes) self.may_exit = yes ~= false end
--- Freeze the app.
-- @usage a:pause(); natrig.sleep(30); a:resume()   -- a peer that stops answering
function Node:pause()
  self.net:note("pause", self.name)
  self.pausing = true -- the exit summary says who paused it (natrig.watch)
  self.eng:container_pause(self.id)
end
--- Unfreeze the app.
-- @usage a:resume()
function Node:resume()
  self.net:note("resume", self.name)
  self.eng:container_unpause(self.id)
  self.pausing = nil
end

--- Impairment and partitions: see natrig.impair.
-- @tparam string|table spec a preset name ("intercontinental") or keys: delay, jitter,
--   loss, ... (see natrig.impair and the presets page); empty clears
-- @tparam[opt] {to=Node} opts `to`: only the traffic to that node (net:impair_link)
-- @treturn Impairment prints as "impairment on a: delay=100ms ... (natrig-shaper, applied in 12 ms)"
-- @usage a:impair{ delay = "100ms", loss = "1%", direction = "both" }
-- a:impair("intercontinental", { to = b })
function Node:impair(spec, opts)
  if opts and opts.to then return self.net:impair_link(self, opts.to, spec) end
  self.net:note("impair", self.name .. " " .. iface.spec_text(spec))
  return impair.apply(self.net, self, spec)
end
--- Remove the node's impairment (or only towards another node).
-- @tparam[opt] Node other only the impairment towards other
-- @treturn Impairment
-- @usage a:clear_impair()
function Node:clear_impair(other)
  if other then return self.net:clear_link(self, other) end
  self.net:note("clear_impair", self.name)
  return impair.clear(self.net, self)
end
--- Natrig-shaper's counters for the node.
-- @treturn {table,...} one table a queue: queue, seen, dropped, delayed, late_p99_us, ...
--   (numbers), spec (text)
-- @usage for _, q in ipairs(a:impair_stats()) do print(q.queue, q.seen, q.dropped) end
function Node:impair_stats() return impair.stats(self.net, self) end
--- Cut the node off everything.
-- Silent: what it sends is held, not refused, and nothing reaches it.
-- @usage a:isolate(); natrig.sleep(10); a:rejoin()
function Node:isolate()
  self.net:note("isolate", self.name)
  require("natrig.partition").isolate(self.net, self)
end
--- Undo isolate.
-- @usage a:rejoin()
function Node:rejoin()
  self.net:note("rejoin", self.name)
  require("natrig.partition").heal_node(self.net, self)
end

--- Logs: see natrig.logs.
-- @tparam[opt] table|string q level (this level or worse), target, match, message,
--   fields = { k = "text" }, since, until, stream, plain; a string is a `match`
-- @treturn {table,...} entries { time, level, target, message, fields (strings), raw, node }
-- @usage expect(a:logs{ level = "error" }):none()
function Node:logs(q) return logs.query(self, q) end
--- Wait for a log line { match, fields, timeout }.
-- Returns as soon as the line arrives; fails with the node's last lines on timeout or
-- when the app exits.
-- @tparam table|string q as for `logs`, plus timeout (seconds)
-- @treturn table the entry
-- @usage local e = b:wait_log{ match = "connected to", fields = { peer = "a" }, timeout = 20 }
-- print(tonumber(e.fields.rtt_ms))
function Node:wait_log(q) return logs.wait(self, q) end
--- The node's whole log as text.
-- @treturn string
-- @usage print(a:log_text())
function Node:log_text() return logs.text(self) end
--- Catch up on the app's log from the engine.
-- @treturn integer the bytes fetched
-- @usage a:fetch_logs()   -- before reading logs of a stopped node
function Node:fetch_logs() return logfollow.fetch(self) end

return M
