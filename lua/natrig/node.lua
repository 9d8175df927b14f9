-- natrig.node: routers and nodes (gateways, peers, plain nodes) of a natrig.network.
--
-- node fields: name, kind, private_ip, public_ip, router, id (app container),
--   holder (netns holder container), api_port (host port on 127.0.0.1, when published)
-- node methods: exec, netexec, kill, restart, pause, resume, stop, start, logs, wait_log,
--   log_text, diagnostics, addr
-- router fields: name, nat (spec), wan_ip, lan_ip, lan.subnet, behind, nodes, id
-- router methods: exec, diagnostics, flush, set_nat, restart
local core = require "natrig.core"
local task = require "natrig.task"
local nat = require "natrig.nat"
local profiles = require "natrig.profiles"
local logs = require "natrig.logs"

local M = {}
local Router = {}
Router.__index = Router
Router.__name = "natrig.Router"
M.Router = Router
local Node = {}
Node.__index = Node
Node.__name = "natrig.Node"
M.Node = Node

local HOLD = { "/usr/bin/sleep", "2000000000" } -- a holder's only process

local function sysctls(extra)
  local s = {
    ["net.ipv4.conf.all.rp_filter"] = "0",
    ["net.ipv4.conf.default.rp_filter"] = "0",
  }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

-- The interface carrying ip, from the text of `ip -o -4 addr show` (interface names are
-- not stable in containers: always look them up by address). Pure.
function M.iface_for(text, ip)
  for line in text:gmatch("[^\n]+") do
    local dev, addr = line:match("^%d+:%s+(%S+)%s+inet%s+([%d.]+)/")
    if addr == ip then return (dev:gsub("@.*$", "")) end
  end
end

local function endpoint(seg, ip)
  return { EndpointsConfig = { [seg.name] = { IPAMConfig = { IPv4Address = ip } } } }
end

------------------------------------------------------------------------------ routers

function M.new_router(net, name, spec, behind)
  return setmetatable({ net = net, name = name, nat = spec, behind = behind, nodes = {} }, Router)
end

function Router:__tostring()
  return ("natrig.Router(%s, %s, wan %s, lan %s)"):format(self.name, nat.describe(self.nat),
    tostring(self.wan_ip), self.lan and self.lan.subnet or "?")
end

function Router:bring_up()
  local net, eng, s = self.net, self.net.eng, self.net.session
  local timeout = tostring(self.nat.timeout or 120)
  self.ctl_dir = net:ctl_dir(self.name)
  self.id = eng:container_create(s:name(self.name), {
    Image = net.image, Hostname = self.name, Cmd = core.json_array(HOLD),
    Labels = s:labels("router", { ["natrig.node"] = self.name, ["natrig.nat"] = nat.describe(self.nat) }),
    HostConfig = {
      NetworkMode = self.wan.name, Init = true,
      Binds = self.ctl_dir and core.json_array { self.ctl_dir .. ":/run/natrig" } or nil,
      CapAdd = core.json_array { "NET_ADMIN", "NET_RAW" },
      Sysctls = sysctls {
        ["net.ipv4.ip_forward"] = "1",
        ["net.netfilter.nf_conntrack_udp_timeout"] = timeout,
        ["net.netfilter.nf_conntrack_udp_timeout_stream"] = timeout,
      },
    },
    NetworkingConfig = endpoint(self.wan, self.wan_ip),
  })
  -- API 1.41 takes one network at create; the LAN is joined before start.
  eng:network_connect(self.lan.name, self.id, self.lan_ip)
  eng:container_start(self.id)
  if self.behind then
    self.behind.job:join()
    self:exec({ "ip", "route", "replace", "default", "via", self.behind.lan_ip }, { check = true })
  end
  nat.apply(self)
end

function Router:exec(argv, opts)
  opts = opts or {}
  opts.name = opts.name or self.name
  return self.net.eng:exec(self.id, argv, opts)
end

-- The seed's dumps: NAT ruleset with counters, FORWARD counters, conntrack entries.
function Router:diagnostics()
  local d = {}
  task.parallel(
    function() d.nat = self:exec(nat.diag_argv("ruleset")).stdout end,
    function() d.forward = self:exec({ "iptables", "-nvL", "FORWARD" }).stdout end,
    function()
      local r = self:exec(nat.diag_argv("conntrack"))
      d.conntrack = r.stdout ~= "" and r.stdout or r.stderr
    end)
  return d
end

-- Forget every mapping: conntrack entries and natrig's learned sets. Peers behind it see
-- a rebinding (new public ports) on their next packets.
function Router:flush()
  for _, argv in ipairs(nat.flush_argvs(self)) do self:exec(argv, { check = true }) end
end

-- Change the NAT behaviour mid-run (existing mappings are flushed).
function Router:set_nat(preset, opts)
  self.nat = nat.resolve(preset, opts or {})
  nat.apply(self)
  self:flush()
end

function Router:impair(spec) return require("natrig.impair").apply(self.net, self, spec) end
function Router:clear_impair() return require("natrig.impair").clear(self.net, self) end
function Router:impair_stats() return require("natrig.impair").stats(self.net, self) end

-- Restart the router container; its rules and routes are applied again.
function Router:restart()
  self.net.eng:container_restart(self.id, 1)
  self.shaper = nil -- the restart ended natrig-shaper and its rules
  if self.behind then
    self:exec({ "ip", "route", "replace", "default", "via", self.behind.lan_ip }, { check = true })
  end
  nat.apply(self)
  -- The nodes' default routes survive (they live in the nodes' own namespaces).
end

------------------------------------------------------------------------------ nodes

function M.new_node(net, kind, name, router, opts)
  local n = setmetatable({ net = net, kind = kind, name = name, router = router, opts = opts,
    entries = {}, seq = 0 }, Node)
  n.profile = profiles.resolve(opts, kind)
  return n
end

function Node:__tostring()
  return ("natrig.Node(%s %s, private %s, public %s%s)"):format(self.kind, self.name,
    tostring(self.private_ip), tostring(self.public_ip),
    self.api_port and (", api 127.0.0.1:" .. self.api_port) or "")
end

function Node:addr(port) return self.public_ip .. ":" .. tostring(port or self.profile.port or 31337) end

function Node:bring_up()
  local net, eng, s = self.net, self.net.eng, self.net.session
  local prof = self.profile
  local ports = self.opts.ports or prof.ports or {}
  local exposed, bindings = {}, {}
  for _, p in ipairs(ports) do
    local key = tostring(p):find("/") and tostring(p) or (tostring(p) .. "/tcp")
    exposed[key] = {}
    -- Published on loopback only, with an engine-chosen host port (no race for ports).
    bindings[key] = core.json_array { { HostIp = "127.0.0.1", HostPort = "" } }
  end
  self.ctl_dir = net:ctl_dir(self.name)
  self.holder = eng:container_create(s:name(self.name .. "-net"), {
    Image = net.image, Hostname = self.name, Cmd = core.json_array(HOLD),
    Labels = s:labels("holder", { ["natrig.node"] = self.name }),
    ExposedPorts = next(exposed) and exposed or nil,
    HostConfig = {
      NetworkMode = self.segment.name, Init = true,
      Binds = self.ctl_dir and core.json_array { self.ctl_dir .. ":/run/natrig" } or nil,
      CapAdd = core.json_array { "NET_ADMIN", "NET_RAW" },
      PortBindings = next(bindings) and bindings or nil,
      Sysctls = sysctls(),
    },
    NetworkingConfig = endpoint(self.segment, self.private_ip),
  })
  eng:container_start(self.holder)
  if self.router then
    self.router.job:join()
    self:netexec({ "ip", "route", "replace", "default", "via", self.router.lan_ip }, { check = true })
  end
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
  -- The app: the profile's argv in the holder's namespace, any image, no capabilities.
  -- A profile's binary goes into an image of its own (built once, FROM the base image).
  local app_image = self.opts.image or prof.image or net.image
  local bin = self.opts.binary or prof.binary
  if type(bin) == "function" then bin = bin(self, net) end
  if bin then
    local host = type(bin) == "table" and bin.host or bin
    local dest = type(bin) == "table" and bin.dest or ("/usr/local/bin/" .. host:match("[^/]+$"))
    app_image = net:image_with_binary(host, dest)
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
  for k, v in pairs(self.opts.env or {}) do env[#env + 1] = k .. "=" .. tostring(v) end
  self.id = eng:container_create(s:name(self.name), {
    Image = app_image,
    Cmd = core.json_array(argv), Env = core.json_array(env),
    Labels = s:labels(self.kind, { ["natrig.node"] = self.name }),
    HostConfig = { NetworkMode = "container:" .. self.holder, Init = true, Binds = binds },
  })
  local files = profiles.files(prof, self, net)
  if #files > 0 then eng:put_files(self.id, files, "/") end
  self.started_at = core.time()
  eng:container_start(self.id)
  logs.attach(self)
  profiles.wait_ready(prof, self, net)
end

function Node:exec(argv, opts)
  opts = opts or {}
  opts.name = opts.name or self.name
  return self.net.eng:exec(self.id, argv, opts)
end

-- Run argv in the node's network holder (natrig's tools, CAP_NET_ADMIN, same netns).
function Node:netexec(argv, opts)
  opts = opts or {}
  opts.name = opts.name or (self.name .. " (net)")
  return self.net.eng:exec(self.holder, argv, opts)
end

function Node:diagnostics()
  local d = {}
  task.parallel(
    function() d.routes = self:netexec({ "ip", "route", "show" }).stdout end,
    function() d.addresses = self:netexec({ "ip", "-4", "-o", "addr", "show" }).stdout end)
  return d
end

-- Faults on the app (the network set-up in the holder is untouched).
function Node:kill(signal) self.net.eng:container_kill(self.id, signal or "KILL") end
function Node:stop(t) self.net.eng:container_stop(self.id, t or 5) end
function Node:start()
  self.net.eng:container_start(self.id)
  logs.attach(self, true)
end
function Node:restart(t)
  self.net.eng:container_restart(self.id, t or 5)
  logs.attach(self, true)
end
function Node:pause() self.net.eng:container_pause(self.id) end
function Node:resume() self.net.eng:container_unpause(self.id) end

-- Impairment and partitions: see natrig.impair.
function Node:impair(spec, opts)
  local impair = require "natrig.impair"
  if opts and opts.to then return impair.link(self.net, self, opts.to, spec) end
  return impair.apply(self.net, self, spec)
end
function Node:clear_impair(other)
  local impair = require "natrig.impair"
  if other then return impair.clear_link(self.net, self, other) end
  return impair.clear(self.net, self)
end
function Node:impair_stats() return require("natrig.impair").stats(self.net, self) end
function Node:isolate() require("natrig.impair").isolate(self.net, self) end
function Node:rejoin() require("natrig.impair").heal_node(self.net, self) end

-- Logs: see natrig.logs.
function Node:logs(q) return logs.query(self, q) end
function Node:wait_log(q) return logs.wait(self, q) end
function Node:log_text() return logs.text(self) end
function Node:fetch_logs() return logs.fetch(self) end

return M
