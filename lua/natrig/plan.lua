--- natrig.plan: address planning for a network. Subnets come from the engine's list of
-- taken ones (pure allocation in natrig.core.subnet_alloc); addresses are handed out one
-- element at a time, at net:up() and for elements added later, and never reused within a
-- run, so a log line's address names one node.
-- @module natrig.plan
local core = require "natrig.core"
local task = require "natrig.task"
local ip6 = require "natrig.ip6"

local M = {}

M.POOL = "10.128.0.0/9" -- where natrig carves its subnets
local PUBLIC_PREFIX, LAN_PREFIX = 22, 24

local function bad(op, msg) core.fail("einval", op, msg) end

-- Subnets in use on the run's engines (every network's IPAM config): over several engines
-- the overlay spans them all, and a LAN must not shadow it on any.
function M.taken_subnets(engs)
  local taken = {}
  for _, eng in ipairs(engs) do
    for _, n in ipairs(eng:network_list()) do
      for _, c in ipairs((n.IPAM or {}).Config or {}) do
        if c.Subnet then taken[#taken + 1] = c.Subnet end
      end
    end
  end
  return taken
end

-- Over several engines the Swarm's allocator hands each engine that joins the overlay an
-- address of its own (a load-balancer endpoint), next free from the start of the subnet,
-- which took a node's planned address (seen: "could not allocate IP from IPAM: Address
-- already in use"). So the overlay's dynamic range is hosts 896-959 (a /26, IPRange) and
-- natrig's static addresses stay below it (the STUN server's 1000-1001 are above).
M.OVERLAY_DYNAMIC = 896

-- Address allocation, one element at a time (at net:up() and for elements added later).
-- Addresses are never reused within a run, so a log line's address names one node.
-- The public network's last host number for gateways, public nodes and routers: .1 is the
-- bridge; hosts RESERVED and up are natrig's own (net:classify's STUN servers from 1000,
-- the sealed lab's resolver at 1022, the broadcast at 1023); over several engines the
-- overlay's dynamic range starts at OVERLAY_DYNAMIC.
M.RESERVED = 1000
local function pub_last(overlay)
  return overlay and M.OVERLAY_DYNAMIC - 1 or M.RESERVED - 1
end
M.LAN_MAX = 252 -- a LAN's hosts .2 to .253 (.254 is its router)

local function full(subnet, overlay)
  bad("net", ("the public network %s is full: it holds %d gateways, public nodes and routers "
    .. "(routers of peers that have their own NAT count too); share routers between peers "
    .. "(net:peer{ router = r }) or split the test"):format(subnet, pub_last(overlay) - 1))
end

local function next_pub(self)
  self.pub_host = self.pub_host + 1
  if self.pub_host > pub_last(self.public.overlay) then full(self.public.subnet, self.public.overlay) end
  return core.subnet_host(self.public.subnet, self.pub_host)
end

--- Before anything is created: does the plan fit? Every gateway, public node and router
-- on the public network takes an address of the /22 (998 of them, 894 over a Swarm);
-- every node and router behind a router takes one of its LAN's 252. Raises naming the
-- limit and the count.
function M.check(self)
  local pub, lan = 0, {}
  for _, n in ipairs(self.nodes) do
    if n.router then lan[n.router] = (lan[n.router] or 0) + 1 else pub = pub + 1 end
  end
  for _, r in ipairs(self.routers) do
    if r.behind then lan[r.behind] = (lan[r.behind] or 0) + 1 else pub = pub + 1 end
  end
  local pool = require("natrig.cgn").check_plan(self) -- a CGN's pool takes public addresses
  pub = pub + pool
  local cap = pub_last(self.hosts ~= nil) - 1
  if pub > cap then
    bad("net:up", ("the public network is full: %d gateways, public nodes and routers%s asked for, a /%d holds %d "
      .. "(routers of peers that have their own NAT count too); share routers between peers "
      .. "(net:peer{ router = r }) or split the test"):format(pub,
      pool > 0 and (" (%d of them CGN pool addresses)"):format(pool) or "", PUBLIC_PREFIX, cap))
  end
  for _, r in ipairs(self.routers) do
    if (lan[r] or 0) > M.LAN_MAX then
      bad("net:up", ("the LAN of %s is full: %d nodes and routers behind it, a /%d LAN holds %d")
        :format(r.name, lan[r], LAN_PREFIX, M.LAN_MAX))
    end
  end
end

local function next_lan_host(r)
  r.next_host = r.next_host + 1
  if r.next_host >= 254 then bad("net", ("the LAN of %s (%s) is full"):format(r.name, r.lan.subnet)) end
  return core.subnet_host(r.lan.subnet, r.next_host)
end

function M.place_lan(self, r, subnet)
  r.lan = { name = self.session:name(r.name .. "-lan"), subnet = subnet, kind = "lan", eng = r.eng }
  r.lan_ip = core.subnet_host(subnet, 254)
  r.next_host = 1
  ip6.place_lan(self, r)
end

function M.place_wan(self, r)
  if r.behind then
    r.wan = r.behind.lan
    r.wan_ip = next_lan_host(r.behind)
    r.gateway_ip = r.behind.lan_ip
  else
    r.wan = self.public
    r.wan_ip = next_pub(self)
    if r.nat.cgnat then -- its pool: paired pooling hands each customer one of these
      r.pool_ips = { r.wan_ip }
      for i = 2, r.nat.pool do r.pool_ips[i] = next_pub(self) end
    end
  end
  ip6.place_wan(self, r)
end

function M.place_node(self, n)
  if not n.router then
    -- the engine gives every endpoint an IPv4 address (endpoint_ip); a v6only public node
    -- loses it at bring-up (natrig.ip6.drop4), so it has no IPv4 address to report
    n.endpoint_ip = next_pub(self); n.segment = self.public
    n.private_ip = n.ip ~= "v6only" and n.endpoint_ip or nil
    n.public_ip = n.private_ip
    ip6.place_node(self, n)
    return
  end
  n.segment = n.router.lan
  n.endpoint_ip = next_lan_host(n.router)
  -- a v6only LAN's node loses its engine address at bring-up too (ip6.drop4); its public_ip
  -- stays its router's, the address its IPv4 traffic leaves by (NAT64)
  n.private_ip = n.ip ~= "v6only" and n.endpoint_ip or nil
  local outer, inner = n.router, n
  while outer.behind do outer, inner = outer.behind, outer end
  n.public_ip = outer.nat.cgnat and require("natrig.cgn").public_ip(outer, inner) or outer.wan_ip
  ip6.place_node(self, n)
end

--- Where the public network comes from: the pool, but a run with a NAT64 router takes it
-- from 100.64.0.0/10 (RFC 6598), the one non-global block tayga translates under the
-- well-known prefix 64:ff9b::/96 (natrig.nat64). The taken list keeps it off every other
-- network there (other runs' public networks and CGN insides), and a CGN of the same run
-- carves its insides after it, around it.
function M.public_pool(self)
  for _, r in ipairs(self.routers) do if r.nat64 then return require("natrig.nat64").PUBLIC_POOL end end
  return self.pool
end

--- Allocate subnets and addresses for every segment and node (pure, from the engine's list
-- of taken subnets). Starting offsets come from the run id, so two runs rarely reach for
-- the same block; when they do, the engine refuses the second and we allocate again.
function M.plan(self, taken, attempt)
  local seed = self.session.run_id .. ((attempt or 1) > 1 and ("#" .. attempt) or "")
  local start = tonumber(core.hash(seed):sub(1, 6), 16)
  local pub = core.subnet_alloc(M.public_pool(self), PUBLIC_PREFIX, taken, start % 512, 1)[1]
  local t2 = { pub }
  for _, s in ipairs(taken) do t2[#t2 + 1] = s end
  -- a CGN's inside comes from the shared address space (RFC 6598), every other LAN from the pool
  local ncgn = 0
  for _, r in ipairs(self.routers) do if r.nat.cgnat then ncgn = ncgn + 1 end end
  -- Over a Swarm a sealed run also gets a small bridge per engine, only for its resolver's
  -- address (natrig.seal: the overlay has no address on the hosts).
  local dns_hosts = (self.hosts and self.seal and not self.seal.outside) and self.hosts or {}
  local n_pool = #self.routers - ncgn + #dns_hosts
  local lans = n_pool > 0 and core.subnet_alloc(self.pool, LAN_PREFIX, t2, start % 32768, n_pool) or {}
  local shared = ncgn > 0 and core.subnet_alloc(require("natrig.cgn").SHARED, LAN_PREFIX, t2, start % 16384, ncgn) or {}
  self.public = { name = self.session:name("public"), subnet = pub, kind = "public", eng = self.eng,
    overlay = self.hosts ~= nil }
  self.dns_segs = {}
  for i, h in ipairs(dns_hosts) do
    self.dns_segs[i] = { name = self.session:name("dns-" .. h.name), subnet = lans[#self.routers - ncgn + i],
      kind = "dns", eng = h.eng }
  end
  ip6.plan(self, taken, start) -- the run's /48 of 2001:db8::/32, when anything speaks IPv6
  self.pub_host = 1 -- .1 is the bridge (the host)
  for _, n in ipairs(self.nodes) do if not n.router then M.place_node(self, n) end end
  local li, si = 0, 0
  for _, r in ipairs(self.routers) do
    if r.nat.cgnat then si = si + 1; M.place_lan(self, r, shared[si])
    else li = li + 1; M.place_lan(self, r, lans[li]) end
  end
  for _, r in ipairs(self.routers) do M.place_wan(self, r) end
  for _, n in ipairs(self.nodes) do if n.router then M.place_node(self, n) end end
end

--- The engine's refusal of a subnet another network took meanwhile (403 "Pool overlaps
-- with other one on this address space").
function M.is_overlap(err)
  local msg = type(err) == "table" and tostring(err.message) or tostring(err)
  return msg:find("Pool overlaps", 1, true) ~= nil or msg:find("overlapping", 1, true) ~= nil
end
M.ATTEMPTS = 8

--- Create the run's networks (create_one(self, seg) for each of segments(self)), planned
-- from the engines' list of taken subnets. Several runs starting at once may reach for the
-- same block between listing and creating: on the engine's overlap refusal every create
-- of the round is let finish, what was made is removed, and the plan is made again from
-- a fresh list with another start offset, after a short random pause (at most ATTEMPTS
-- rounds). Any other error is raised at once.
function M.create_all(self, segments, create_one)
  self.segs_made = {}
  for attempt = 1, M.ATTEMPTS do
    M.plan(self, M.taken_subnets(self:engines()), attempt)
    local errs, fns = {}, {}
    for _, seg in ipairs(segments(self)) do
      fns[#fns + 1] = function()
        local ok, err = pcall(create_one, self, seg)
        if not ok then
          if task.is_abort(err) then error(err, 0) end
          errs[#errs + 1] = err
        end
      end
    end
    task.parallel(fns)
    if #errs == 0 then return end
    for _, e in ipairs(errs) do
      if not M.is_overlap(e) or attempt == M.ATTEMPTS then
        if M.is_overlap(e) then
          e.message = tostring(e.message) .. (" (natrig planned its subnets again %d times: other runs are "
            .. "creating networks in the same pool at the same moment; try again, or give each run its own "
            .. "pool)"):format(M.ATTEMPTS - 1)
        end
        error(e, 0)
      end
    end
    self.log(("subnet taken by another run at the same moment (%s): planning again (%d of %d)")
      :format(tostring(errs[1].message), attempt + 1, M.ATTEMPTS))
    for _, seg in ipairs(self.segs_made) do
      local eng = seg.eng
      pcall(eng.network_remove, eng, seg.id)
    end
    self.segs_made = {}
    task.sleep(0.05 + math.random() * 0.2 * attempt)
  end
end

-- A router added while the network is up gets a fresh LAN (its start offset from the run
-- id and its name, so a retry after an engine overlap refusal picks another block).
function M.place_live_lan(self, r, taken)
  local start = tonumber(core.hash(self.session.run_id .. r.name):sub(1, 6), 16)
  M.place_lan(self, r, core.subnet_alloc(self.pool, LAN_PREFIX, taken, start % 32768, 1)[1])
end

return M
