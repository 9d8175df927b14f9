--- natrig.cgn: a carrier-grade NAT router (`net:router{ nat = "cgnat", ... }`, RFC 6888,
-- RFC 7021): its options, its customers (every home router or node right behind it), its
-- pool of public addresses, its rules (pure C: src/core/natrule_cgn.c, whose header says how
-- each behaviour is built), `router:customers()` and the watcher that puts "customer X out of
-- ports" into the timeline.
-- @module natrig.cgn
local core = require "natrig.core"
local task = require "natrig.task"

local M = {}

M.SHARED = "100.64.0.0/10" -- RFC 6598: where a CGN's inside subnet is carved
M.INTERVAL = 1 -- seconds between two looks at the drop counters

--- The options only a cgnat router takes (net:router checks them), with their defaults.
M.OPTS = { pool = 1, port_block = 512, blocks = 4, udp_timeout = 120, tcp_timeout = 7440, filtering = "EIF" }

local function bad(op, msg) core.fail("einval", op, msg) end

local function whole(op, k, v, lo)
  if math.type(v) ~= "integer" or v < lo then
    bad(op, ("%s must be a whole number >= %d, got %s"):format(k, lo, tostring(v)))
  end
end

--- The spec of a cgnat router from net:router's options; raises (exit 2) on bad input before
-- anything is made: a port block that does not divide the ports, a pool bigger than the
-- public network allows (`cap`: addresses it has for gateways, nodes and routers).
-- @local
function M.resolve(opts, cap)
  local op = "net:router"
  if opts.behind then bad(op, "a cgnat router sits on the public network: 'behind' is for the routers behind it") end
  if opts.port_preservation ~= nil then
    bad(op, "a cgnat router picks random ports in each customer's blocks: no port_preservation")
  end
  if opts.timeout ~= nil then bad(op, "a cgnat router has udp_timeout and tcp_timeout, not timeout") end
  for _, k in ipairs { "ip", "filtering6", "tcp", "portmap", "nat64" } do
    if opts[k] ~= nil then
      bad(op, ("a cgnat router is IPv4 NAT44 (RFC 6598) with EIM for TCP and UDP alike and no port mapping "
        .. "protocol: no %s (its TCP idle timeout is tcp_timeout)"):format(k))
    end
  end
  local s = { preset = "cgnat", cgnat = true, mapping = "EIM", hairpin = opts.hairpin ~= false }
  for k, d in pairs(M.OPTS) do
    local v = opts[k]
    if v == nil then v = d end
    if k ~= "filtering" then whole(op, k, v, 1) end
    s[k] = v
  end
  if type(s.filtering) ~= "string" then bad(op, "filtering must be EIF, ADF or APDF") end
  s.filtering = s.filtering:upper()
  if s.pool > cap then
    bad(op, ("pool = %d is bigger than the public network allows: its /22 holds %d gateways, public "
      .. "nodes, routers and pool addresses together; ask for fewer"):format(s.pool, cap))
  end
  s.timeout = s.udp_timeout
  -- the C side checks the rest (filtering, a port block that divides the range, the pool)
  local pool = {}
  for i = 1, s.pool do pool[i] = ("198.18.%d.%d"):format(i // 250, i % 250 + 1) end
  core.cgn_validate(M.c_spec(s, "100.64.0.0/24", pool, { "100.64.0.1" }))
  return s
end

--- net:router's spec for nat = "cgnat" (nil for any other nat, which then may not carry a
-- cgnat option); also refuses a customer added behind a CGN while the network is up. cap:
-- the public addresses the plan has for gateways, nodes, routers and pools.
-- @local
function M.router_spec(net, opts, cap)
  local up = opts.behind
  if up and up.nat.cgnat and net.state == "up" then
    bad("net:router", ("%s is up: its customers are numbered at net:up(); declare routers behind it before")
      :format(up.name))
  end
  if opts.nat ~= "cgnat" then
    for k in pairs(M.OPTS) do
      if opts[k] ~= nil then
        bad("net:router", ("%s is an option of a carrier-grade NAT (nat = \"cgnat\"), not of nat = %s")
          :format(k, tostring(opts.nat)))
      end
    end
    return nil
  end
  if net.state == "up" then bad("net:router", "a cgnat router is declared before net:up()") end
  return M.resolve(opts, cap)
end

--- The C spec table.
-- @local
function M.c_spec(s, inside, pool, customers)
  return { filtering = s.filtering, hairpin = s.hairpin, port_block = s.port_block, blocks = s.blocks,
    udp_timeout = s.udp_timeout, tcp_timeout = s.tcp_timeout, inside = inside, pool = pool,
    customers = customers }
end

--- The customers of a cgnat router, in the order the rules number them: the routers behind
-- it (as declared), then the nodes right behind it. Each is { x, name, ip } (ip: its address
-- on the CGN's inside, once planned).
-- @local
function M.members(r)
  local l = {}
  for _, x in ipairs(r.net.routers) do
    if x.behind == r then l[#l + 1] = { x = x, name = x.name, ip = x.wan_ip } end
  end
  for _, n in ipairs(r.net.nodes) do
    if n.router == r then l[#l + 1] = { x = n, name = n.name, ip = n.endpoint_ip } end
  end
  return l
end

local function spec_of(r)
  local ips = {}
  for i, m in ipairs(M.members(r)) do ips[i] = m.ip end
  return M.c_spec(r.nat, r.lan.subnet, r.pool_ips, ips)
end

--- Before anything is made: every cgnat router has a customer, and its customers fit on its
-- pool (blocks x port_block each). Returns how many public addresses the pools take
-- beyond the routers' own.
-- @local
function M.check_plan(net)
  local extra = 0
  for _, r in ipairs(net.routers) do
    if r.nat.cgnat then
      local members = M.members(r)
      if #members == 0 then
        bad("net:up", ("cgnat router %s has nothing behind it: put home routers behind it "
          .. "(net:router{ behind = %s }) or nodes (net:peer{ router = %s })"):format(r.name, r.name, r.name))
      end
      local pool, cust = {}, {}
      for i = 1, r.nat.pool do pool[i] = ("198.18.%d.%d"):format(i // 250, i % 250 + 1) end
      for i = 1, #members do cust[i] = core.subnet_host("100.64.0.0/24", i) end
      local ok, err = pcall(core.cgn_validate, M.c_spec(r.nat, "100.64.0.0/24", pool, cust))
      if not ok then bad("net:up", ("cgnat router %s: %s"):format(r.name, tostring(err.message or err))) end
      extra = extra + r.nat.pool - 1
    end
  end
  return extra
end

--- The public address a customer's flows leave from (paired pooling: one per customer).
-- @local
function M.public_ip(r, customer)
  for i, m in ipairs(M.members(r)) do
    if m.x == customer then return r.pool_ips[(i - 1) % #r.pool_ips + 1] end
  end
  return r.wan_ip
end

--- Add the pool's other addresses to the WAN interface (found by address).
-- @local
function M.add_pool(r)
  if #r.pool_ips < 2 then return end
  local text = r:exec({ "ip", "-o", "-4", "addr", "show" }, { check = true, quiet = true }).stdout
  local dev = require("natrig.iface").iface_for(text, r.wan_ip)
  if not dev then core.fail("engine", "cgnat on " .. r.name, "no interface carries its WAN address " .. r.wan_ip) end
  local prefix = r.wan.subnet:match("/(%d+)$")
  for i = 2, #r.pool_ips do
    r:exec({ "ip", "addr", "add", r.pool_ips[i] .. "/" .. prefix, "dev", dev }, { check = true, quiet = true })
  end
end

--- Load the rules, check the listing; start the watcher once.
-- @local
function M.apply(r)
  local spec = spec_of(r)
  r.eng:put_files(r.id, { { path = core.nat_ruleset_path, data = core.cgn_ruleset(spec), mode = 420 } }, "/")
  r:exec(core.nat_argvs("apply")[1], { check = true })
  local listing = r:exec(core.nat_argvs("verify")[1], { check = true }).stdout
  local ok, why = core.cgn_check(spec, listing)
  if not ok then core.fail("engine", "cgnat on " .. r.name, "rules did not take effect: " .. why) end
  if not r.cgn_watch then
    r.cgn_watch = { dropped = {} }
    task.spawn(function()
      while r.net.state == "starting" or r.net.state == "up" do
        task.sleep(M.INTERVAL)
        if r.net.state == "up" then pcall(M.sync, r) end
      end
    end, r.name .. " out-of-ports watcher")
  end
end

--- Forget every mapping (router:flush): the learned sets, the quota sets, conntrack.
-- @local
function M.flush_argvs(r) return core.cgn_flush(spec_of(r)) end

--- Each customer's address, blocks, ports in use and drops, from the router's own sets.
-- @local
function M.customers(r)
  local out = r:exec({ "nft", "-j", "list", "table", "ip", "natrig" }, { check = true, quiet = true }).stdout
  local doc = core.json_decode(out)
  local sets, counters = {}, {}
  for _, o in ipairs(doc and doc.nftables or {}) do
    if o.set then sets[o.set.name] = o.set.elem and #o.set.elem or 0 end
    if o.counter then counters[o.counter.name] = o.counter.packets end
  end
  local l = {}
  local members = M.members(r)
  for i, c in ipairs(core.cgn_customers(spec_of(r))) do
    local blocks = {}
    for lo = c.lo, c.hi, r.nat.port_block do blocks[#blocks + 1] = ("%d-%d"):format(lo, lo + r.nat.port_block - 1) end
    l[i] = { name = members[i].name, inside = c.inside, public_ip = c.public, blocks = blocks,
      quota = r.nat.port_block * r.nat.blocks, used = sets["q_" .. (i - 1)] or 0,
      dropped = counters["oop_" .. (i - 1)] or 0 }
  end
  return l
end

--- Look at the drop counters once: a customer whose drops went up after a look without any
-- starts an episode, noted in the timeline as "customer X out of ports".
-- @local
function M.sync(r)
  if not r.cgn_watch or not r.id then return end
  local seen = r.cgn_watch.dropped
  for _, c in ipairs(M.customers(r)) do
    local was = seen[c.name]
    if c.dropped > (was and was.n or 0) and not (was and was.rising) then
      r.net:note("cgnat", ("%s: customer %s out of ports (quota %d ports, %d packets of new mappings dropped)")
        :format(r.name, c.name, c.quota, c.dropped - (was and was.n or 0)))
    end
    seen[c.name] = { n = c.dropped, rising = c.dropped > (was and was.n or 0) }
  end
end

--- What an RFC 5780 client behind `router` should measure when a CGN is on its way out:
-- { mapping, filtering, hairpin }, or nil when there is no CGN. home_claim(spec): what a
-- home router's NAT claims (natrig.nat.claim).
-- @local
function M.claim(router, home_claim)
  if router.nat.cgnat then return core.cgn_claim(spec_of(router)) end
  local up = router.behind
  if not (up and up.nat.cgnat) then return nil end
  local home = home_claim(router.nat)
  return core.cgn_claim(spec_of(up), home.mapping, home.filtering, home.hairpin)
end

return M
