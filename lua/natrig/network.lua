--- natrig.network: a test network on the Docker Engine.
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
-- @module natrig.network
local core = require "natrig.core"
local task = require "natrig.task"
local engine = require "natrig.engine"
local session = require "natrig.session"
local image = require "natrig.image"
local nat = require "natrig.nat"
local node_mod = require "natrig.node"
local plan = require "natrig.plan"
local artifacts = require "natrig.artifacts"
local hosts_mod = require "natrig.hosts"
local seal = require "natrig.seal"
local lifecycle = require "natrig.lifecycle"
local ip6 = require "natrig.ip6"
local nodeopts = require "natrig.nodeopts"

local M = {}
--- A test network (natrig.network{...}).
-- @type Network
-- @field nodes every node, in the order they were declared
-- @field routers every router
-- @field by_name nodes and routers by name
-- @field state "declared", "up", "stopping" or "down"
-- @field session the run: run_id, scenario, labels
-- @field public the public segment: { name, subnet }
-- @field case the parameters of this case ("k=v,..."), when any
local Network = {}
Network.__index = Network
Network.__name = "natrig.Network"
M.Network = Network

local function bad(op, msg) core.fail("einval", op, msg) end

-- Every option table goes through the one checker (natrig.core.check_options).
local function check_opts(op, opts, allowed) return core.check_options(op, opts, allowed) end
M.check_opts = check_opts

--- The one constructor of a Network's own state, for natrig.network{} and for a run
-- rebuilt by natrig.attach: t's fields, plus empty node, router and action lists.
-- @local
function M.construct(t)
  t.nodes, t.routers, t.by_name, t.actions = t.nodes or {}, t.routers or {}, t.by_name or {}, {}
  t.counters = { peer = 0, gateway = 0, router = 0, node = 0 }
  t.state = t.state or "declared"
  t.log = t.log or function(m) io.stderr:write("natrig: ", m, "\n") end
  return setmetatable(t, Network)
end

--- opts: engine, scenario, log, image (base image ref to use instead of building), nat
-- (default preset), pool, hosts (several engines joined as a Swarm: natrig.hosts; default
-- NATRIG_HOSTS)
function M.new(opts)
  check_opts("natrig.network", opts, { engine = true, scenario = true, log = true, image = true,
    nat = true, pool = true, keep = true, quiet = true, capture = true, case = true, hosts = true, outside = true })
  -- Several engines: every one is reached and checked (one Swarm, the first a manager)
  -- before anything is created or reaped; a problem is an error naming the fix.
  -- (a caller's engine client is left to the caller: the network opens its own per host)
  local hl = hosts_mod.from(opts.hosts)
  local eng
  if hl and #hl > 1 then
    hosts_mod.open(hl)
    eng = hl[1].eng
    opts.engine = nil
  else
    eng = opts.engine or engine.open(hl and hl[1].url or nil)
    hl = nil
  end
  local net = M.construct {
    eng = eng,
    hosts = hl, -- nil with one engine
    own_engine = opts.engine == nil,
    log = opts.log or (opts.quiet and function() end) or nil,
    image = opts.image,
    default_nat = opts.nat,
    pool = opts.pool or plan.POOL,
    capture_all = opts.capture == true or core.getenv("NATRIG_CAPTURE") == "1",
    case = opts.case,
    keep_on_failure = opts.keep == true,
  }
  seal.configure(net, opts) -- sealed unless outside = true (natrig.seal)
  -- Reap what dead runs left before adding our own (on every engine).
  for _, e in ipairs(net:engines()) do
    local n, runs = session.reap_dead(e)
    if n > 0 then net.log(("removed leftovers of %d dead run(s): %s"):format(n, table.concat(runs, ", "))) end
  end
  net.session = session.new { engine = eng, scenario = opts.scenario, case = opts.case, hosts = hl }
  return net
end

--- The engine clients of the run, the first (the Swarm manager) first.
-- @local
function Network:engines()
  if not self.hosts then return { self.eng } end
  local l = {}
  for _, h in ipairs(self.hosts) do l[#l + 1] = h.eng end
  return l
end

--- The host entry ({ name, url, eng }) an element lives on (nil with one engine).
-- @local
function Network:host_of(x)
  if not self.hosts then return nil end
  for _, h in ipairs(self.hosts) do if h.eng == x.eng then return h end end
end

function Network:__tostring()
  return ("natrig.Network(run %s, %d nodes, %d routers, %s)"):format(self.session.run_id,
    #self.nodes, #self.routers, self.state)
end

local function unique_name(self, kind, want)
  if want then
    nodeopts.name("net:" .. kind, want) -- letters, digits, _ . -; 63 at most
    if self.by_name[want] then bad("net:" .. kind, ("name '%s' is already taken"):format(want)) end
    return want
  end
  repeat
    self.counters[kind] = self.counters[kind] + 1
    want = kind .. "-" .. self.counters[kind]
  until not self.by_name[want]
  return want
end

-- Nodes and routers are declared before net:up(), or added to a network that is up (they
-- are brought up at once: churn, the REPL); not while it starts or after it is down.
local function declared(self, what)
  if self.state ~= "declared" and self.state ~= "up" then
    bad(what, ("the network is %s: nodes can be added before net:up() or while it is up"):format(self.state))
  end
end

--- The default NAT for peers: scenario option, then NATRIG_NAT, then the seed's switches.
function Network:default_nat_preset()
  if self.default_nat then return self.default_nat end
  local env = core.getenv("NATRIG_NAT")
  if env and env ~= "" then return env end
  if core.getenv("FREENET_TEST_SYMMETRIC_NAT") then return "symmetric" end
  if core.getenv("FREENET_TEST_FULL_CONE_NAT") then return "full_cone" end
  return nat.DEFAULT_PRESET
end

--- A NAT router. opts: name, nat (preset name or spec table), behind (an upstream router:
-- double NAT), hairpin, timeout, port_preservation, ip, filtering6 and npt6 (natrig.ip6), tcp ({ mapping,
-- filtering, syn, established, transitory }: RFC 5382), nat64 (natrig.nat64); a carrier-grade
-- NAT (nat = "cgnat", natrig.cgn): pool, port_block, blocks, udp_timeout, tcp_timeout, filtering
function Network:router(opts)
  local cgn = require "natrig.cgn"
  opts = check_opts("net:router", opts, nodeopts.ROUTER_OPTS)
  declared(self, "net:router")
  if opts.behind ~= nil and getmetatable(opts.behind) ~= node_mod.Router then
    bad("net:router", "'behind' must be a router made by net:router")
  end
  local spec = cgn.router_spec(self, opts, plan.RESERVED - 2) -- a CGN refuses ip, filtering6, tcp
    or nat.resolve(opts.nat or self:default_nat_preset(), opts)
  local fam = ip6.router_family(self, opts) -- bad input, before anything is declared
  local pm = require("natrig.portmap").resolve(opts.portmap, spec, "net:router") -- natrig.portmap
  local r = node_mod.new_router(self, unique_name(self, "router", opts.name), spec, opts.behind)
  r.ip, r.fw6, r.pm = fam, ip6.firewall(opts, spec), pm -- fw6: nil without IPv6
  r.npt6 = opts.npt6 or nil -- NPTv6: true or an outside prefix (natrig.ip6)
  r.nat64 = require("natrig.nat64").check(self, "net:router", opts, fam)
  r.capture = opts.capture
  r.host_pin = opts.host
  self.routers[#self.routers + 1] = r
  self.by_name[r.name] = r
  if self.state == "up" then self:add_live(r) end
  return r
end

local NODE_OPTS = nodeopts.NODE_OPTS

local function add_node(self, kind, opts)
  local implicit = false
  opts = check_opts("net:" .. kind, opts, NODE_OPTS)
  node_mod.app_access(opts, "net:" .. kind) -- refused caps/devices fail before a router is made
  require("natrig.portmap").check_node(kind, opts)
  declared(self, "net:" .. kind)
  local router = opts.router
  if kind == "gateway" then
    if router or opts.nat then bad("net:gateway", "a gateway sits on the public network: no router or nat") end
  elseif kind == "peer" then
    if router and opts.nat then bad("net:peer", "give either 'router' (shared) or 'nat' (own router), not both") end
    if router ~= nil and getmetatable(router) ~= node_mod.Router then
      bad("net:peer", "'router' must be a router made by net:router")
    end
    if router and router.nat.cgnat and self.state == "up" then
      bad("net:peer", router.name .. " (cgnat) is up: its customers are numbered at net:up(); declare them before")
    end
    if not router then
      -- A peer's own router is part of its capture (both sides of its NAT).
      implicit = true
      router = self:router { nat = opts.nat, behind = opts.behind, hairpin = opts.hairpin, capture = opts.capture,
        timeout = opts.timeout, port_preservation = opts.port_preservation, host = opts.host, portmap = opts.portmap,
        ip = opts.ip, filtering6 = opts.filtering6, tcp = opts.tcp }
    end
  end
  local fam = ip6.node_family(self, kind, opts, router) -- and where filtering6 may go
  local n = node_mod.new_node(self, kind, unique_name(self, kind, opts.name), router, opts)
  n.ip = fam
  n.host_pin = opts.host
  self.nodes[#self.nodes + 1] = n
  self.by_name[n.name] = n
  if router then router.nodes[#router.nodes + 1] = n end
  if implicit then router.implicit = true end
  if self.state == "up" then self:add_live(n) end
  return n
end

--- A node on the public network (no NAT): name, cmd, profile, ....
function Network:gateway(opts) return add_node(self, "gateway", opts) end
--- A node behind its own NAT router: nat = preset, or router = r.
function Network:peer(opts) return add_node(self, "peer", opts) end
--- A plain container on the public network (a STUN server, a tracker, ...).
function Network:node(opts) return add_node(self, "node", opts) end

--- The node or router of that name; raises naming the ones there are (`net.by_name[name]`
-- is nil instead).
function Network:get(name)
  if self.by_name[name] then return self.by_name[name] end
  local l = {}
  for k in pairs(self.by_name) do l[#l + 1] = k end
  table.sort(l)
  local more = #l > 20 and (" and %d more"):format(#l - 20) or ""
  bad("net:get", ("no node or router named %s; there are: %s"):format(tostring(name), #l == 0 and
    "none yet (net:peer{}, net:gateway{} declare them)" or table.concat(l, ", ", 1, math.min(#l, 20)) .. more))
end
--- The peers (nodes behind a NAT).
function Network:peers()
  local l = {}
  for _, n in ipairs(self.nodes) do if n.kind == "peer" then l[#l + 1] = n end end
  return l
end
--- The gateways (nodes on the public network).
function Network:gateways()
  local l = {}
  for _, n in ipairs(self.nodes) do if n.kind == "gateway" then l[#l + 1] = n end end
  return l
end

--- Place every router and node on an engine (natrig.hosts.place_network): each NAT cell
-- whole on one engine, round-robin unless pinned with host =; gateways and public nodes on
-- the first engine unless pinned. With one engine everything stays on it.
-- @local
function Network:place() return hosts_mod.place_network(self) end

-- Bring-up, additions while up, removal and teardown: natrig.lifecycle.
-- @local
function Network:add_live(x) return lifecycle.add_live(self, x) end
--- Take a node away (its app and network holder), or a router with every node and router
-- behind it and its LAN. A peer's own router (made by net:peer{ nat = ... }) goes with
-- its last peer. Its exit is expected (liveness does not fail the run for it).
function Network:remove(x) return lifecycle.remove(self, x) end
--- Bring everything up: image, networks, routers (rules applied and verified), nodes
-- (routes set, files uploaded, started, ready). Parallel throughout; a failure part-way
-- removes what was made (unless the scenario keeps it) and raises.
function Network:up() return lifecycle.up(self) end
--- Remove everything this run made (by label) and close the log followers. Signals
-- cannot interrupt it (a second Ctrl-C must not leave half a network).
function Network:down() return lifecycle.down(self) end
Network.__close = function(self) self:down() end

--- Leave the network up (debugging a failure); prints how to remove it.
function Network:keep()
  if self.stop_watch then pcall(self.stop_watch) end
  pcall(require("natrig.capture").finish, self, self:artifacts_dir())
  self.session:keep()
  self.state = "down"
end

local spec_text = require("natrig.iface").spec_text
M.spec_text = spec_text

local function names(g)
  local l = {}
  for _, x in ipairs(g) do l[#l + 1] = x.name end
  return table.concat(l, ",")
end

--- Impairment and faults (natrig.impair): x is a node or a router.
function Network:impair(x, spec) return x:impair(spec) end
--- Remove a node's or router's impairment.
function Network:clear_impair(x) return x:clear_impair() end
--- Impair only the traffic between a and b.
function Network:impair_link(a, b, spec)
  self:note("impair_link", ("%s->%s %s"):format(a.name, b.name, spec_text(spec)))
  return require("natrig.impair").link(self, a, b, spec)
end
--- Remove the impairment between a and b.
function Network:clear_link(a, b)
  self:note("clear_link", ("%s->%s"):format(a.name, b.name))
  return require("natrig.impair").clear_link(self, a, b)
end
--- Cut the groups {a} and {b, c} off each other.
function Network:partition(g1, g2)
  if getmetatable(g1) then g1 = { g1 } end
  if getmetatable(g2) then g2 = { g2 } end
  self:note("partition", ("{%s} | {%s}"):format(names(g1), names(g2)))
  return require("natrig.partition").partition(self, g1, g2)
end
--- Undo every partition and isolation.
function Network:heal()
  self:note("heal")
  return require("natrig.partition").heal(self)
end
--- Cut a node off everything.
function Network:isolate(n) return n:isolate() end

--- Classify a node's NAT with coturn (natrig.classify).
function Network:classify(n, opts) return require("natrig.classify").classify(self, n, opts) end
--- Print the topology: segments, routers, nodes, addresses, NAT, impairment.
function Network:dump() return require("natrig.dump")(self) end

--- Diagnostics: per router the NAT ruleset with counters, FORWARD counters and conntrack
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
  jobs[#jobs + 1] = function() d.escapes = seal.escapes(self) end
  task.parallel(jobs)
  return d
end

--- One image per (base, binary), built on first use and shared by the run's tasks.
-- @local
function Network:image_with_binary(host, dest, eng) return image.shared_with_binary(self, host, dest, eng) end

--- A host directory bind-mounted at /run/natrig in a holder or router, where natrig-shaper
-- puts its control socket so natrig reaches it without an engine round trip. Only with a
-- local engine (unix socket); nil otherwise (control then goes through exec).
-- @local
function Network:ctl_dir(name, eng)
  if not tostring(eng:info().host):match("^unix://") then return nil end
  -- over several engines: only one on this machine shares its file system
  if self.hosts and not hosts_mod.is_local(eng) then return nil end
  local root = session.ctl_root() .. "/" .. self.session.run_id
  local dir = root .. "/" .. name
  -- the owner file before any node's folder: another natrig's start removes a run's
  -- folder it finds without an owner (natrig.session.reap_ctl_dirs)
  if not self.ctl_root and not (pcall(core.mkdir_p, root)
      and pcall(core.write_file, root .. "/owner", self.session.owner .. "\n")) then return nil end
  if not pcall(core.mkdir_p, dir) then return nil end
  self.ctl_dirs = self.ctl_dirs or {}
  self.ctl_dirs[#self.ctl_dirs + 1] = dir
  self.ctl_root = root
  return dir
end

-- natrig's own actions go into the timeline beside the nodes' lines, by the same clock
-- (epoch seconds, as the engine stamps log lines): "natrig kill a", "natrig exec in b: ...".
function Network:note(what, detail)
  local t = core.time()
  local msg = detail and (what .. " " .. detail) or what
  self.actions[#self.actions + 1] = { time = t, engine_time = t, node = "natrig", level = "info",
    target = "natrig", message = msg, raw = msg, fields = {}, seq = #self.actions + 1, stream = "natrig" }
end

--- Where this run's files go, removing them, writing them, the map (natrig.artifacts).
function Network:artifacts_dir() return artifacts.dir(self) end
function Network:remove_artifacts() return artifacts.remove(self) end
function Network:write_artifacts(dir, reason) return artifacts.write(self, dir, reason) end
function Network:map_text() return artifacts.map_text(self) end

--- Allocate subnets and addresses for every segment and node (natrig.plan).
-- @local
function Network:plan(taken) return plan.plan(self, taken) end

--- Every node's entries and natrig's own actions (node "natrig"), merged by time.
function Network:timeline(q) return require("natrig.timeline").merged(self, q) end

--- Dropped attempts to leave the sealed lab (natrig.seal): { node, addr, port, proto, first, last, count }.
function Network:escapes() return seal.escapes(self) end

--- Log entries of every node matching q (see node:logs).
function Network:logs(q) return self:timeline(q) end

-- net:path(a, b), net:paths(), net:wait_path{ a, b, kind = }, net:relay{ kind = "turn" } (natrig.path).
require("natrig.path").methods(Network)

return M
