-- natrig.network: a test network on the Docker Engine.
--
--   local net = natrig.network{}            -- or the `net` a scenario's run() receives
--   local gw  = net:gateway{}               -- on the public network, no NAT
--   local a   = net:peer{ nat = "port_restricted" }   -- behind its own NAT router
--   local r   = net:router{ nat = "symmetric" }       -- an explicit router ...
--   local b   = net:peer{ router = r }                -- ... shared by several peers
--   local cg  = net:router{ nat = "symmetric" }       -- double NAT: a home router
--   local h   = net:router{ nat = "port_restricted", behind = cg }  -- behind a CGNAT
--   net:up()                                -- parallel, verified, labelled
--
-- Wiring (see PLATFORM.md): the public network and every private LAN are ordinary
-- bridges with the engine's masquerading off (an Internal network drops a peer's packets
-- to public addresses on this host). A router joins its WAN segment and its LAN (.254);
-- each node is a netns "holder" container (natrig's base image, CAP_NET_ADMIN: routes,
-- shaping, diagnostics) and an app container sharing that netns (any image, no caps),
-- so the app can be killed, restarted or swapped without losing the network set-up.
-- Interfaces are found by address, never by name.
local core = require "natrig.core"
local task = require "natrig.task"
local engine = require "natrig.engine"
local session = require "natrig.session"
local image = require "natrig.image"
local nat = require "natrig.nat"
local node_mod = require "natrig.node"

local M = {}
local Network = {}
Network.__index = Network
Network.__name = "natrig.Network"

local POOL = "10.128.0.0/9" -- where natrig carves its subnets
local PUBLIC_PREFIX, LAN_PREFIX = 22, 24

local function bad(op, msg) error(core.error { code = "einval", op = op, status = 0, message = msg }, 3) end

local function check_opts(op, opts, allowed)
  if opts == nil then return {} end
  if type(opts) ~= "table" then bad(op, "options must be a table") end
  for k in pairs(opts) do
    if not allowed[k] then
      local names = {}
      for n in pairs(allowed) do names[#names + 1] = n end
      table.sort(names)
      bad(op, ("unknown option '%s' (valid: %s)"):format(tostring(k), table.concat(names, ", ")))
    end
  end
  return opts
end
M.check_opts = check_opts

-- opts: engine, scenario, log, image (base image ref to use instead of building), nat
-- (default preset), pool
function M.new(opts)
  check_opts("natrig.network", opts, { engine = true, scenario = true, log = true, image = true,
    nat = true, pool = true, keep = true, quiet = true })
  local eng = opts.engine or engine.open()
  local net = setmetatable({
    eng = eng,
    own_engine = opts.engine == nil,
    log = opts.log or (opts.quiet and function() end) or function(m) io.stderr:write("natrig: ", m, "\n") end,
    nodes = {}, routers = {}, by_name = {},
    state = "declared",
    image = opts.image,
    default_nat = opts.nat,
    pool = opts.pool or POOL,
    counters = { peer = 0, gateway = 0, router = 0, node = 0 },
  }, Network)
  -- Reap what dead runs left before adding our own.
  local n, runs = session.reap_dead(eng)
  if n > 0 then net.log(("removed leftovers of %d dead run(s): %s"):format(n, table.concat(runs, ", "))) end
  net.session = session.new { engine = eng, scenario = opts.scenario }
  return net
end

function Network:__tostring()
  return ("natrig.Network(run %s, %d nodes, %d routers, %s)"):format(self.session.run_id,
    #self.nodes, #self.routers, self.state)
end

local function unique_name(self, kind, want)
  if want then
    if type(want) ~= "string" or not want:match("^[%w][%w_.-]*$") then
      bad("net:" .. kind, ("bad name '%s' (letters, digits, _ . -)"):format(tostring(want)))
    end
    if self.by_name[want] then bad("net:" .. kind, ("name '%s' is already taken"):format(want)) end
    return want
  end
  repeat
    self.counters[kind] = self.counters[kind] + 1
    want = kind .. "-" .. self.counters[kind]
  until not self.by_name[want]
  return want
end

local function declared(self, what)
  if self.state ~= "declared" then bad(what, "the network is already up: declare nodes before net:up()") end
end

-- The default NAT for peers: scenario option, then NATRIG_NAT, then the seed's switches.
function Network:default_nat_preset()
  if self.default_nat then return self.default_nat end
  local env = core.getenv("NATRIG_NAT")
  if env and env ~= "" then return env end
  if core.getenv("FREENET_TEST_SYMMETRIC_NAT") then return "symmetric" end
  if core.getenv("FREENET_TEST_FULL_CONE_NAT") then return "full_cone" end
  return "port_restricted"
end

-- A NAT router. opts: name, nat (preset name or spec table), behind (an upstream router:
-- double NAT), hairpin, timeout, port_preservation
function Network:router(opts)
  opts = check_opts("net:router", opts, { name = true, nat = true, behind = true,
    hairpin = true, timeout = true, port_preservation = true })
  declared(self, "net:router")
  if opts.behind ~= nil and getmetatable(opts.behind) ~= node_mod.Router then
    bad("net:router", "'behind' must be a router made by net:router")
  end
  local spec = nat.resolve(opts.nat or self:default_nat_preset(), opts)
  local r = node_mod.new_router(self, unique_name(self, "router", opts.name), spec, opts.behind)
  self.routers[#self.routers + 1] = r
  self.by_name[r.name] = r
  return r
end

local NODE_OPTS = { name = true, nat = true, router = true, profile = true, cmd = true,
  image = true, env = true, files = true, ports = true, ready = true, args = true,
  binary = true, behind = true, hairpin = true, timeout = true, port_preservation = true }

local function add_node(self, kind, opts)
  opts = check_opts("net:" .. kind, opts, NODE_OPTS)
  declared(self, "net:" .. kind)
  local router = opts.router
  if kind == "gateway" then
    if router or opts.nat then bad("net:gateway", "a gateway sits on the public network: no router or nat") end
  elseif kind == "peer" then
    if router and opts.nat then bad("net:peer", "give either 'router' (shared) or 'nat' (own router), not both") end
    if router ~= nil and getmetatable(router) ~= node_mod.Router then
      bad("net:peer", "'router' must be a router made by net:router")
    end
    if not router then
      router = self:router { nat = opts.nat, behind = opts.behind, hairpin = opts.hairpin,
        timeout = opts.timeout, port_preservation = opts.port_preservation }
    end
  end
  local n = node_mod.new_node(self, kind, unique_name(self, kind, opts.name), router, opts)
  self.nodes[#self.nodes + 1] = n
  self.by_name[n.name] = n
  if router then router.nodes[#router.nodes + 1] = n end
  return n
end

function Network:gateway(opts) return add_node(self, "gateway", opts) end
function Network:peer(opts) return add_node(self, "peer", opts) end
-- A plain container on the public network (a STUN server, a tracker, ...).
function Network:node(opts) return add_node(self, "node", opts) end

function Network:get(name) return self.by_name[name] end
function Network:peers()
  local l = {}
  for _, n in ipairs(self.nodes) do if n.kind == "peer" then l[#l + 1] = n end end
  return l
end
function Network:gateways()
  local l = {}
  for _, n in ipairs(self.nodes) do if n.kind == "gateway" then l[#l + 1] = n end end
  return l
end

-- Subnets in use on the engine (every network's IPAM config).
local function taken_subnets(eng)
  local taken = {}
  for _, n in ipairs(eng:network_list()) do
    for _, c in ipairs((n.IPAM or {}).Config or {}) do
      if c.Subnet then taken[#taken + 1] = c.Subnet end
    end
  end
  return taken
end

-- Allocate subnets and addresses for every segment and node (pure, from the engine's list
-- of taken subnets). Starting offsets come from the run id, so two runs rarely reach for
-- the same block; when they do, the engine refuses the second and we allocate again.
function Network:plan(taken)
  local start = tonumber(core.hash(self.session.run_id):sub(1, 6), 16)
  local pub = core.subnet_alloc(self.pool, PUBLIC_PREFIX, taken, start % 512, 1)[1]
  local t2 = { pub }
  for _, s in ipairs(taken) do t2[#t2 + 1] = s end
  local lans = #self.routers > 0 and core.subnet_alloc(self.pool, LAN_PREFIX, t2, start % 32768, #self.routers) or {}
  self.public = { name = self.session:name("public"), subnet = pub, kind = "public" }
  local host = 1 -- .1 is the bridge (the host)
  local function next_pub()
    host = host + 1
    return core.subnet_host(pub, host)
  end
  for _, n in ipairs(self.nodes) do
    if not n.router then n.private_ip = next_pub(); n.public_ip = n.private_ip; n.segment = self.public end
  end
  for i, r in ipairs(self.routers) do
    r.lan = { name = self.session:name(r.name .. "-lan"), subnet = lans[i], kind = "lan" }
    r.lan_ip = core.subnet_host(lans[i], 254)
    r.next_host = 1
  end
  local function next_lan_host(r)
    r.next_host = r.next_host + 1
    return core.subnet_host(r.lan.subnet, r.next_host)
  end
  for _, r in ipairs(self.routers) do
    if r.behind then
      r.wan = r.behind.lan
      r.wan_ip = next_lan_host(r.behind)
      r.gateway_ip = r.behind.lan_ip
    else
      r.wan = self.public
      r.wan_ip = next_pub()
    end
  end
  for _, n in ipairs(self.nodes) do
    if n.router then
      n.segment = n.router.lan
      n.private_ip = next_lan_host(n.router)
      local outer = n.router
      while outer.behind do outer = outer.behind end
      n.public_ip = outer.wan_ip
    end
  end
end

local function segments(self)
  local segs = { self.public }
  for _, r in ipairs(self.routers) do segs[#segs + 1] = r.lan end
  return segs
end

local function create_segment(self, seg)
  local gw = core.subnet_host(seg.subnet, 1)
  seg.id = self.eng:network_create {
    Name = seg.name, Driver = "bridge", CheckDuplicate = true, Internal = false,
    Attachable = true,
    IPAM = { Driver = "default", Config = core.json_array { { Subnet = seg.subnet, Gateway = gw } } },
    Options = { ["com.docker.network.bridge.enable_ip_masquerade"] = "false" },
    Labels = self.session:labels("net", { ["natrig.segment"] = seg.kind }),
  }
  self.segs_made[#self.segs_made + 1] = seg
end

-- Create the networks; on a subnet clash with a run that started at the same moment,
-- plan again from the engine's fresh list (bounded, not random).
local function create_segments(self)
  self.segs_made = {}
  for attempt = 1, 4 do
    self:plan(taken_subnets(self.eng))
    local ok, err = pcall(task.parallel, (function()
      local fns = {}
      for _, seg in ipairs(segments(self)) do fns[#fns + 1] = function() create_segment(self, seg) end end
      return fns
    end)())
    if ok then return end
    local msg = type(err) == "table" and tostring(err.message) or tostring(err)
    if not msg:find("overlap", 1, true) or attempt == 4 then error(err, 0) end
    for _, seg in ipairs(self.segs_made) do pcall(self.eng.network_remove, self.eng, seg.id) end
    self.segs_made = {}
  end
end

-- Bring everything up: image, networks, routers (rules applied and verified), nodes
-- (routes set, files uploaded, started, ready). Parallel throughout; a failure part-way
-- removes what was made (unless the scenario keeps it) and raises.
function Network:up()
  if self.state ~= "declared" then bad("net:up", "already " .. self.state) end
  self.state = "starting"
  local t0 = core.now()
  local ok, err = pcall(function()
    if not self.image then
      local ref, built = image.ensure_base(self.eng, { log = self.log })
      self.image = ref
      if built then self.log("base image ready: " .. ref) end
    end
    create_segments(self)
    local jobs = {}
    local total, ready = #self.routers + #self.nodes, 0
    for _, r in ipairs(self.routers) do
      r.job = task.spawn(function() r:bring_up(); ready = ready + 1 end, r.name)
      jobs[#jobs + 1] = r.job
    end
    for _, n in ipairs(self.nodes) do
      n.job = task.spawn(function() n:bring_up(); ready = ready + 1 end, n.name)
      jobs[#jobs + 1] = n.job
    end
    -- Long bring-ups say how far they are, every 2 s.
    task.spawn(function()
      while true do
        task.sleep(2)
        if self.state ~= "starting" then return end
        self.log(("bring-up: %d of %d routers and nodes ready (%.0fs)"):format(ready, total, core.now() - t0))
      end
    end, "progress")
    local first, nerr = nil, 0
    for _, j in ipairs(jobs) do
      local jok, jerr = j:wait()
      if not jok then nerr = nerr + 1; first = first or jerr end
    end
    if first then
      if nerr > 1 and type(first) == "table" and first.message then
        first.message = first.message .. (" (and %d more failures)"):format(nerr - 1)
      end
      error(first, 0)
    end
  end)
  if not ok then
    self.state = "failed"
    if not self.keep_on_failure then pcall(self.down, self) end
    error(err, 0)
  end
  self.state = "up"
  self.up_seconds = core.now() - t0
  -- A default impairment for every node from NATRIG_EMULATION (or the seed's
  -- FREENET_TEST_NETWORK_EMULATION); an unknown value is an error, never ignored.
  local tokens = core.impair_from_env(core.getenv("NATRIG_EMULATION"), core.getenv("FREENET_TEST_NETWORK_EMULATION"))
  if tokens then
    local spec = {}
    for _, tk in ipairs(tokens) do local k, v = tk:match("^([^=]+)=(.*)$"); spec[k] = v end
    self.log("impairing every node with " .. table.concat(tokens, " ") .. " (from the environment)")
    local fns = {}
    for _, n in ipairs(self.nodes) do fns[#fns + 1] = function() n:impair(spec) end end
    task.parallel(fns)
  end
  self.log(("network up in %.2fs: %d nodes, %d routers (run %s)"):format(self.up_seconds,
    #self.nodes, #self.routers, self.session.run_id))
  return self
end

-- Remove everything this run made (by label) and close the log followers.
function Network:down()
  if self.state == "down" then return end
  for _, n in ipairs(self.nodes) do if n.stop_follow then pcall(n.stop_follow) end end
  self.session:teardown()
  if self.ctl_root then session.remove_ctl_dirs(self.session.run_id) end
  self.state = "down"
  if self.own_engine then self.eng:close() end
end
Network.__close = function(self) self:down() end

-- Leave the network up (debugging a failure); prints how to remove it.
function Network:keep()
  self.session:keep()
  self.state = "down"
end

-- Impairment and faults (natrig.impair): x is a node or a router.
function Network:impair(x, spec) return x:impair(spec) end
function Network:clear_impair(x) return x:clear_impair() end
function Network:impair_link(a, b, spec) return require("natrig.impair").link(self, a, b, spec) end
function Network:clear_link(a, b) return require("natrig.impair").clear_link(self, a, b) end
function Network:partition(g1, g2)
  if getmetatable(g1) then g1 = { g1 } end
  if getmetatable(g2) then g2 = { g2 } end
  return require("natrig.impair").partition(self, g1, g2)
end
function Network:heal() return require("natrig.impair").heal(self) end
function Network:isolate(n) return n:isolate() end

-- Classify a node's NAT with coturn (natrig.classify).
function Network:classify(n, opts) return require("natrig.classify").classify(self, n, opts) end

-- Diagnostics: per router the NAT ruleset with counters, FORWARD counters and conntrack
-- entries; per node its addresses and routes.
function Network:diagnostics()
  local d = { routers = {}, nodes = {} }
  local jobs = {}
  for _, r in ipairs(self.routers) do
    if r.id then jobs[#jobs + 1] = function() d.routers[r.name] = r:diagnostics() end end
  end
  for _, n in ipairs(self.nodes) do
    if n.holder then jobs[#jobs + 1] = function() d.nodes[n.name] = n:diagnostics() end end
  end
  task.parallel(jobs)
  return d
end

-- One image per (base, binary), built on first use and shared by the run's tasks.
function Network:image_with_binary(host, dest)
  self.app_images = self.app_images or {}
  local key = host .. "\0" .. dest
  local job = self.app_images[key]
  if not job then
    job = task.spawn(function() return image.ensure_with_binary(self.eng, self.image, host, dest, { log = self.log }) end)
    self.app_images[key] = job
  end
  return job:join()
end

-- A host directory bind-mounted at /run/natrig in a holder or router, where natrig-shaper
-- puts its control socket so natrig reaches it without an engine round trip. Only with a
-- local engine (unix socket); nil otherwise (control then goes through exec).
function Network:ctl_dir(name)
  if not tostring(self.eng:info().host):match("^unix://") then return nil end
  local root = session.ctl_root() .. "/" .. self.session.run_id
  local dir = root .. "/" .. name
  if not pcall(core.mkdir_p, dir) then return nil end
  if not self.ctl_root then pcall(core.write_file, root .. "/owner", self.session.owner .. "\n") end
  self.ctl_dirs = self.ctl_dirs or {}
  self.ctl_dirs[#self.ctl_dirs + 1] = dir
  self.ctl_root = root
  return dir
end

-- Where this run's files go: $NATRIG_ARTIFACTS (default ./natrig-artifacts)/<run id>
function Network:artifacts_dir()
  return (core.getenv("NATRIG_ARTIFACTS") or "natrig-artifacts") .. "/" .. self.session.run_id
end

-- Write every node's log, the diagnostics and the timeline into dir.
function Network:write_artifacts(dir, reason)
  if self.state == "declared" or self.state == "down" then return end
  core.mkdir_p(dir)
  if reason then core.write_file(dir .. "/failure.txt", reason .. "\n") end
  local ok, d = pcall(self.diagnostics, self)
  if ok then
    local parts = {}
    for name, r in pairs(d.routers) do
      parts[#parts + 1] = ("== router %s\n-- nat ruleset\n%s\n-- forward\n%s\n-- conntrack\n%s\n")
        :format(name, r.nat or "", r.forward or "", r.conntrack or "")
    end
    for name, n in pairs(d.nodes) do
      parts[#parts + 1] = ("== node %s\n-- addresses\n%s\n-- routes\n%s\n"):format(name, n.addresses or "", n.routes or "")
    end
    table.sort(parts)
    core.write_file(dir .. "/diagnostics.txt", table.concat(parts, "\n"))
  end
  -- Node logs are already on disk there (<node>.log, written as they arrive); catch up
  -- on what a stopped container printed after its follow stream ended.
  for _, n in ipairs(self.nodes) do
    if n.id then pcall(n.fetch_logs, n) end
  end
  local tok, tl = pcall(self.timeline, self)
  if tok then
    local lines = {}
    for _, e in ipairs(tl) do lines[#lines + 1] = ("%s %s"):format(e.node, e.raw) end
    core.write_file(dir .. "/timeline.txt", table.concat(lines, "\n") .. "\n")
  end
  self.log("artifacts written to " .. dir)
end

-- Every node's entries merged by time.
function Network:timeline(q)
  local all = {}
  for _, n in ipairs(self.nodes) do
    if n.id then for _, e in ipairs(n:logs(q)) do all[#all + 1] = e end end
  end
  local when = require("natrig.logs").when
  table.sort(all, function(a, b)
    local ta, tb = when(a), when(b)
    if ta ~= tb then return ta < tb end
    if a.node ~= b.node then return a.node < b.node end
    return a.seq < b.seq
  end)
  return all
end

-- Log entries of every node matching q (see node:logs).
function Network:logs(q) return self:timeline(q) end

return M
