--- natrig.plan: address planning for a network. Subnets come from the engine's list of
-- taken ones (pure allocation in natrig.core.subnet_alloc); addresses are handed out one
-- element at a time, at net:up() and for elements added later, and never reused within a
-- run, so a log line's address names one node.
-- @module natrig.plan
local core = require "natrig.core"

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
local function next_pub(self)
  self.pub_host = self.pub_host + 1
  local ip = core.subnet_host(self.public.subnet, self.pub_host)
  if self.public.overlay and self.pub_host >= M.OVERLAY_DYNAMIC then ip = nil end
  if not ip then bad("net", ("the public network %s is full"):format(self.public.subnet)) end
  return ip
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
end

function M.place_wan(self, r)
  if r.behind then
    r.wan = r.behind.lan
    r.wan_ip = next_lan_host(r.behind)
    r.gateway_ip = r.behind.lan_ip
  else
    r.wan = self.public
    r.wan_ip = next_pub(self)
  end
end

function M.place_node(self, n)
  if not n.router then
    n.private_ip = next_pub(self); n.public_ip = n.private_ip; n.segment = self.public
    return
  end
  n.segment = n.router.lan
  n.private_ip = next_lan_host(n.router)
  local outer = n.router
  while outer.behind do outer = outer.behind end
  n.public_ip = outer.wan_ip
end

--- Allocate subnets and addresses for every segment and node (pure, from the engine's list
-- of taken subnets). Starting offsets come from the run id, so two runs rarely reach for
-- the same block; when they do, the engine refuses the second and we allocate again.
function M.plan(self, taken)
  local start = tonumber(core.hash(self.session.run_id):sub(1, 6), 16)
  local pub = core.subnet_alloc(self.pool, PUBLIC_PREFIX, taken, start % 512, 1)[1]
  local t2 = { pub }
  for _, s in ipairs(taken) do t2[#t2 + 1] = s end
  local lans = #self.routers > 0 and core.subnet_alloc(self.pool, LAN_PREFIX, t2, start % 32768, #self.routers) or {}
  self.public = { name = self.session:name("public"), subnet = pub, kind = "public", eng = self.eng,
    overlay = self.hosts ~= nil }
  self.pub_host = 1 -- .1 is the bridge (the host)
  for _, n in ipairs(self.nodes) do if not n.router then M.place_node(self, n) end end
  for i, r in ipairs(self.routers) do M.place_lan(self, r, lans[i]) end
  for _, r in ipairs(self.routers) do M.place_wan(self, r) end
  for _, n in ipairs(self.nodes) do if n.router then M.place_node(self, n) end end
end

-- A router added while the network is up gets a fresh LAN (its start offset from the run
-- id and its name, so a retry after an engine overlap refusal picks another block).
function M.place_live_lan(self, r, taken)
  local start = tonumber(core.hash(self.session.run_id .. r.name):sub(1, 6), 16)
  M.place_lan(self, r, core.subnet_alloc(self.pool, LAN_PREFIX, taken, start % 32768, 1)[1])
end

return M
