--- natrig.attach: rebuild a live natrig.Network from a run that exists on the engine (a
-- run kept with NATRIG_KEEP=1 after a failure, or one still running), from nothing but
-- its labels and the engine's inspect data: routers (NAT preset from the natrig.nat
-- label), LANs, nodes with their private and public addresses, app and holder containers.
--   natrig repl --attach RUN        (or natrig.attach(RUN) in Lua)
-- The attached network can exec, read logs (fetched from the start), impair, dump and add
-- nodes; it is not natrig's to tear down: leaving the REPL leaves it as it was, and
-- `natrig clean RUN` removes it.
-- @module natrig.attach
local core = require "natrig.core"
local task = require "natrig.task"
local engine = require "natrig.engine"
local session = require "natrig.session"
local nat = require "natrig.nat"
local node_mod = require "natrig.node"
local logfollow = require "natrig.logfollow"
local watch = require "natrig.watch"

local M = {}

local function err(msg) core.fail("einval", "attach", msg) end

--- What a node's or router's namespace says is in force: natrig-shaper's queues (the
-- mangle table's NATRIG_SHAPE_* rules name each queue, its interface and the address it
-- shapes; the shaper's stats give each queue's spec) and the partition chains. Sets what
-- natrig.shaper, natrig.impair and natrig.partition keep when they make them (through their
-- functions: x.shaper, x.shaping, x.partition), so impair_stats(), dump and heal work on
-- an attached run.
-- @local
function M.read_back(net, x)
  local impair = require "natrig.impair"
  local host = impair.host_of(x)
  local queues, up6 = {}, nil
  -- each family's rules: iptables (v4) and ip6tables (v6), the same chains
  for _, fam in ipairs({ "v4", "v6" }) do
    local prog = fam == "v6" and "ip6tables" or "iptables"
    local r = impair.exec(net, host, { prog, "-t", "mangle", "-S" })
    for line in (r.stdout or ""):gmatch("[^\n]+") do
      local chain, rest = line:match("^%-A (NATRIG_SHAPE_%u+) (.*)$")
      local num = rest and tonumber(rest:match("%-%-queue%-num (%d+)"))
      if num then
        local key = rest:match("%-[ds] (%S+)") or "all"
        local dir = chain == "NATRIG_SHAPE_OUT" and "egress" or "ingress"
        local q = queues[key] or { num = num }
        q[fam == "v6" and "dev6" or "dev"] = rest:match("%-[oi] (%S+)")
        q.dir = (q.dir and q.dir ~= dir) and "both" or dir
        queues[key] = q
      end
    end
    if fam == "v6" and (r.stdout or ""):match("%-N NATRIG_SHAPE_") then up6 = true end
  end
  if next(queues) then
    local top = 0
    for _, q in pairs(queues) do top = math.max(top, q.num) end
    require("natrig.shaper").restore(x, { queues = queues, next_queue = top + 1, up6 = up6 })
    for _, st in ipairs(impair.stats(net, x)) do
      if queues.all and st.queue == queues.all.num and st.spec and st.spec ~= "none" then
        impair.restore(x, (tostring(st.spec):gsub(",", " ")))
      end
    end
  end
  -- partition chains holding rules, per family (what natrig.partition records)
  for _, fam in ipairs({ "v4", "v6" }) do
    local p = impair.exec(net, host, { fam == "v6" and "ip6tables" or "iptables", "-S" })
    if (p.stdout or ""):match("%-A NATRIG_PART_%u+ [^\n]*%-j DROP") then
      require("natrig.partition").restore(x, fam)
    end
  end
end

function M.attach(run_id, opts)
  opts = opts or {}
  if type(run_id) ~= "string" or not run_id:match("^[%w]+$") then err("give a run id (natrig ls lists them)") end
  local network = require "natrig.network"
  local filters = { label = core.json_array { "natrig.run=" .. run_id } }
  -- Over several engines (NATRIG_HOSTS, a Swarm): each container and network is found on
  -- its own engine and remembered there (_eng); the overlay is listed by every engine
  -- whose containers joined it and counts once.
  local hl = opts.engine == nil and require("natrig.hosts").from(opts.hosts) or nil
  local eng, ctrs, nets
  if hl and #hl > 1 then
    require("natrig.hosts").open(hl)
    eng, ctrs, nets = hl[1].eng, {}, {}
    local seen = {}
    for _, h in ipairs(hl) do
      for _, c in ipairs(h.eng:container_list(filters, true)) do c._eng = h.eng; ctrs[#ctrs + 1] = c end
      for _, n in ipairs(h.eng:network_list(filters)) do
        if not seen[n.Name] then seen[n.Name] = true; n._eng = h.eng; nets[#nets + 1] = n end
      end
    end
  else
    eng = opts.engine or engine.open(hl and hl[1].url or nil)
    hl = nil
    ctrs = eng:container_list(filters, true)
    nets = eng:network_list(filters)
  end
  if #ctrs == 0 and #nets == 0 then err(("no run '%s' on this engine (natrig ls lists them)"):format(run_id)) end
  local labels = (ctrs[1] or nets[1]).Labels or {}
  local net = network.construct {
    eng = eng, own_engine = opts.engine == nil, hosts = hl, log = opts.log,
    state = "up", attached = true, pool = "10.128.0.0/9", case = labels["natrig.case"],
  }
  -- The run's identity, without a watchdog: this process does not own the run.
  net.session = session.new { engine = eng, scenario = labels["natrig.scenario"] or "attached",
    case = labels["natrig.case"], run_id = run_id, owner = labels["natrig.owner"],
    created = tonumber(labels["natrig.created"]), watchdog = false }
  -- Segments by network name.
  local segs = {}
  for _, n in ipairs(nets) do
    local l = n.Labels or {}
    local sub = (((n.IPAM or {}).Config or {})[1] or {}).Subnet
    local seg = { name = n.Name, id = n.Id, subnet = sub, kind = l["natrig.segment"] or "lan",
      eng = n._eng or eng, overlay = n.Driver == "overlay" }
    segs[n.Name] = seg
    if seg.kind == "public" then net.public = seg end
  end
  -- Containers in detail (addresses per network), in parallel.
  local info = task.map(ctrs, function(c) return (c._eng or eng):container_inspect(c.Id) end, 16)
  local function addrs(i)
    local a = {}
    for name, ep in pairs(((i or {}).NetworkSettings or {}).Networks or {}) do a[name] = ep.IPAddress end
    return a
  end
  -- Routers first: their LAN is the network named after them.
  for k, c in ipairs(ctrs) do
    local l = c.Labels or {}
    if l["natrig.role"] == "router" then
      local name = l["natrig.node"]
      local preset = (l["natrig.nat"] or nat.DEFAULT_PRESET):match("^(%S+)")
      local ok, spec = pcall(nat.resolve, preset)
      local r = node_mod.new_router(net, name, ok and spec or { preset = preset, mapping = "?", filtering = "?" })
      r.id = c.Id
      watch.seen(r, c.State == "running")
      r.eng = c._eng or eng
      r.lan = segs[net.session:name(name .. "-lan")]
      local a = addrs(info[k])
      r.lan_ip = r.lan and r.lan.subnet and core.subnet_host(r.lan.subnet, 254)
      for segname, ip in pairs(a) do
        if not r.lan or segname ~= r.lan.name then r.wan, r.wan_ip = segs[segname], ip end
      end
      r.next_host = 1
      r.job = { join = function() end }
      net.routers[#net.routers + 1] = r
      net.by_name[name] = r
    end
  end
  for _, r in ipairs(net.routers) do
    for _, r2 in ipairs(net.routers) do
      if r2.lan and r.wan == r2.lan then r.behind = r2; r.gateway_ip = r2.lan_ip end
    end
  end
  local function router_of(seg)
    for _, r in ipairs(net.routers) do if r.lan == seg then return r end end
  end
  -- Nodes: the holder gives the address, the app the kind.
  local holders, apps = {}, {}
  for k, c in ipairs(ctrs) do
    local l = c.Labels or {}
    local role = l["natrig.role"]
    if role == "holder" then holders[l["natrig.node"]] = { c = c, i = info[k] }
    elseif role == "gateway" or role == "peer" or role == "node" then
      apps[l["natrig.node"]] = { c = c, role = role }
    end
  end
  local names = {}
  for name in pairs(holders) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local h, app = holders[name], apps[name]
    local segname, ip = next(addrs(h.i))
    local seg = segs[segname]
    local router = router_of(seg)
    local kind = app and app.role or "node"
    local n = node_mod.new_node(net, kind, name, router, {})
    n.holder, n.segment, n.private_ip, n.endpoint_ip = h.c.Id, seg, ip, ip
    n.eng = h.c._eng or eng
    local outer = router
    while outer and outer.behind do outer = outer.behind end
    n.public_ip = outer and outer.wan_ip or ip
    if app then n.id = app.c.Id; watch.seen(n, app.c.State == "running") end
    n.ready = true
    local dir = session.ctl_root() .. "/" .. run_id .. "/" .. name
    if core.stat(dir) then n.ctl_dir = dir end
    net.nodes[#net.nodes + 1] = n
    net.by_name[name] = n
    if router then
      router.nodes[#router.nodes + 1] = n
      router.next_host = math.max(router.next_host, tonumber(ip:match("(%d+)$")) or 1)
    end
  end
  for _, r in ipairs(net.routers) do
    if r.behind then r.behind.next_host = math.max(r.behind.next_host, tonumber(r.wan_ip:match("(%d+)$")) or 1) end
  end
  if net.public then
    local used = 1
    for _, n in ipairs(net.nodes) do
      if n.segment == net.public then used = math.max(used, tonumber(n.endpoint_ip:match("(%d+)$")) or 1) end
    end
    for _, r in ipairs(net.routers) do
      if r.wan == net.public and r.wan_ip then used = math.max(used, tonumber(r.wan_ip:match("(%d+)$")) or 1) end
    end
    net.pub_host = used
  end
  -- Logs: everything the engine has so far is fetched (all nodes at once) before attach
  -- returns, so a query right after it sees every line; then each is followed from its last
  -- line (lines seen twice are dropped per stream). Liveness as for any network.
  local with_app = {}
  for _, n in ipairs(net.nodes) do if n.id then with_app[#with_app + 1] = n end end
  task.map(with_app, function(n)
    local ok, e = pcall(logfollow.fetch, n)
    if not ok then net.log(("attach: the logs of %s could not be read: %s"):format(n.name, tostring(e))) end
    pcall(logfollow.attach, n)
  end, 16)
  -- Impairment and partitions in force are read back from the nodes and routers
  -- (natrig-shaper's queues, the partition chains), so impair_stats() and net:dump() show them.
  local all = {}
  for _, x in ipairs(net.nodes) do all[#all + 1] = x end
  for _, x in ipairs(net.routers) do all[#all + 1] = x end
  task.map(all, function(x)
    local ok, e = pcall(M.read_back, net, x)
    if not ok then net.log(("attach: the impairment of %s could not be read: %s"):format(x.name, tostring(e))) end
  end, 16)
  net.stop_watch = watch.start(net)
  return net
end

return M
