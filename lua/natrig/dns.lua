--- natrig.dns: the run's DNS node, with faults from Lua mid-run (net:dns{ zones = ... }).
--
--   local dns = net:dns{ zones = { ["gw.test"] = gw, ["api.test"] = "10.0.0.7" } }  -- before net:up()
--   dns:fault{ delay = "2s" }                 -- every answer 2 s late (the node's impairment)
--   dns:fault{ servfail = true }              -- every query answered SERVFAIL
--   dns:fault{ nxdomain = "gw.test" }         -- that name does not exist
--   dns:fault{ answer = { ["gw.test"] = "10.9.9.9" } }  -- a wrong or changed address
--   dns:clear()                               -- every fault off
--   dns:queries{ name = "gw.test" }           -- the queries it saw (from its log, in the timeline)
--
-- The node is dnsmasq (natrig's base image) on the public network, started with the sealed
-- lab's resolver arguments (natrig.seal.resolver_argv: NXDOMAIN for every name it is not
-- given, nothing forwarded) plus a hosts directory it re-reads when a file changes (the
-- zones and every node's name, at its public address), no cache and every query logged.
-- Every holder and router gets it as its resolver (HostConfig.Dns, through natrig.seal.dns),
-- so a node's lookups go through its NAT like a real resolver's. servfail redirects port 53
-- in the node's namespace to natrig-peer dnsfail (nftables, table ip natrig_dns).
-- @module natrig.dns
local core = require "natrig.core"

local M = {}
local DIR = "/run/natrig-dns"
local FAIL_PORT = 5354

local function bad(op, msg) core.fail("einval", op, msg) end

--- The run's DNS node (what net:dns{...} returns).
-- @type Dns
-- @tfield Node node the dnsmasq node, on the public network
-- @tfield {[string]=string} zones the declared names and their addresses
-- @tfield Network net its network
local Dns = {}
Dns.__index = Dns
Dns.__name = "natrig.Dns"
M.Dns = Dns

function Dns:__tostring() return ("natrig.Dns(%s, %s)"):format(self.node.name, tostring(self.node.private_ip)) end

local function check_name(op, name)
  if type(name) ~= "string" or not name:match("^[%w][%w.-]*$") or #name > 253 then
    bad(op, ("bad DNS name %s: letters, digits, '-' and '.', at most 253 characters"):format(tostring(name)))
  end
end

local function check_ip(op, what, ip)
  local a, b, c, d = tostring(ip):match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if type(ip) ~= "string" or not (a and tonumber(a) < 256 and tonumber(b) < 256 and tonumber(c) < 256
      and tonumber(d) < 256) then
    bad(op, ("%s: %s is not an IPv4 address"):format(what, tostring(ip)))
  end
end

-- A zone's target: a node of this network (its public address) or an IPv4 address.
local function target(net, op, name, v)
  if type(v) == "string" then
    check_ip(op, "zone " .. name, v)
    return v
  end
  local node_mt = require("natrig.node").Node
  if getmetatable(v) ~= node_mt then
    bad(op, ("zone %s names %s: give a node of this network (net:peer, net:gateway, net:node) or an "
      .. "IPv4 address"):format(name, getmetatable(v) == require("natrig.node").Router and "a router" or type(v)))
  end
  if v.net ~= net or net.by_name[v.name] ~= v then
    bad(op, ("zone %s names node %s, which is not a node of this network"):format(name, tostring(v.name)))
  end
  return v
end

-- name -> address now (zones, then every node's own name), faults applied.
local function records(self)
  local r = {}
  -- a v6only node's name is its IPv6 address (it has no IPv4)
  for _, n in ipairs(self.net.nodes) do
    if n ~= self.node and (n.public_ip or n.public_ip6) then r[n.name] = n.public_ip or n.public_ip6 end
  end
  for name, v in pairs(self.zones) do r[name] = type(v) == "string" and v or v.public_ip or v.public_ip6 end
  for name, ip in pairs(self.answers) do r[name] = ip end
  for name in pairs(self.missing) do r[name] = nil end
  return r
end

local function hosts_text(self)
  local names = {}
  for name in pairs(records(self)) do names[#names + 1] = name end
  table.sort(names)
  local rec, l = records(self), { "# natrig.dns: the run's names" }
  for _, name in ipairs(names) do l[#l + 1] = rec[name] .. " " .. name end
  return table.concat(l, "\n") .. "\n"
end

-- Write the hosts file into the app container (dnsmasq re-reads it: inotify on the dir).
local function write_hosts(self)
  self.node.eng:put_files(self.node.id, { { path = "records", data = hosts_text(self), mode = 420 } },
    DIR .. "/hosts")
end

function M.new(net, opts)
  local op = "net:dns"
  opts = core.check_options(op, opts, { zones = "table", name = "string" })
  if net.state ~= "declared" then
    bad(op, ("the network is %s: declare the DNS node before net:up() (every node gets it as its "
      .. "resolver when it is created)"):format(net.state))
  end
  if net.dns_server then bad(op, ("the run has a DNS node already (%s)"):format(net.dns_server.node.name)) end
  local zones = {}
  for name, v in pairs(opts.zones or {}) do
    check_name(op, name)
    zones[name] = target(net, op, name, v)
  end
  local self = setmetatable({ net = net, zones = zones, answers = {}, missing = {}, faults = {} }, Dns)
  self.node = net:node {
    name = opts.name or "dns", ip = require("natrig.ip6").serving4(op),
    cmd = function(n)
      local argv = require("natrig.seal").resolver_argv(n.private_ip, {})
      for _, a in ipairs({ "--hostsdir=" .. DIR .. "/hosts", "--cache-size=0", "--log-queries" }) do
        argv[#argv + 1] = a
      end
      return argv
    end,
    files = function() return { { path = DIR .. "/hosts/records", data = hosts_text(self), mode = 420 } } end,
    ready = { log = "started, version", plain = true, timeout = 20 },
  }
  self.node.dns = self
  net.dns_server = self
  local names = {}
  for k in pairs(zones) do names[#names + 1] = k end
  table.sort(names)
  net:note("dns", ("%s zones: %s"):format(self.node.name, #names > 0 and table.concat(names, " ") or "none"))
  return self
end

local FAULT_OPTS = { delay = "string|number", servfail = "boolean", nxdomain = "string|table", answer = "table" }

--- A fault, in force from the call on until dns:clear() (several may be combined).
-- `delay`: every answer late (the node's impairment); `servfail`: every query answered
-- SERVFAIL; `nxdomain`: those names do not exist; `answer`: names get these addresses.
-- While the network is up; each fault is a timeline entry.
-- @tparam {delay=?(string|number),servfail=?boolean,nxdomain=?(string|{string,...}),answer=?{[string]=string}} f
-- the faults
-- @usage dns:fault{ delay = "2s" }
-- dns:fault{ nxdomain = "gw.test", answer = { ["api.test"] = "10.9.9.9" } }
function Dns:fault(f)
  local op = "dns:fault"
  f = core.check_options(op, f, FAULT_OPTS)
  if next(f) == nil then bad(op, "give a fault: delay, servfail, nxdomain or answer") end
  if self.net.state ~= "up" then
    bad(op, ("the network is %s: faults are set while it is up"):format(self.net.state))
  end
  local desc = {}
  if f.answer then
    for name, ip in pairs(f.answer) do
      check_name(op, name)
      check_ip(op, "answer for " .. name, ip)
    end
  end
  local nx = type(f.nxdomain) == "table" and f.nxdomain or (f.nxdomain and { f.nxdomain }) or {}
  for _, name in ipairs(nx) do check_name(op, name) end
  local hosts_changed = false
  if f.answer then
    for name, ip in pairs(f.answer) do
      self.answers[name], self.missing[name] = ip, nil
      desc[#desc + 1] = ("answer %s=%s"):format(name, ip)
    end
    hosts_changed = true
  end
  for _, name in ipairs(nx) do
    self.missing[name] = true
    desc[#desc + 1] = "nxdomain " .. name
    hosts_changed = true
  end
  if hosts_changed then write_hosts(self) end
  if f.servfail then
    self:set_servfail(true)
    desc[#desc + 1] = "servfail"
  end
  if f.delay ~= nil then
    self.node:impair { delay = f.delay }
    self.faults.delay = true
    desc[#desc + 1] = "delay " .. tostring(f.delay)
  end
  self.net:note("dns_fault", self.node.name .. " " .. table.concat(desc, ", "))
end

local NFT_FAIL = "table ip natrig_dns { chain pre { type nat hook prerouting priority dstnat; policy accept; "
  .. "udp dport 53 redirect to :" .. FAIL_PORT .. "; }; }"

-- @local
function Dns:set_servfail(on)
  local n = self.node
  if on then
    if not self.fail_started then
      n.eng:exec_detached(n.holder, { "/usr/local/bin/natrig-peer", "dnsfail", "--port", tostring(FAIL_PORT) })
      self.fail_started = true
    end
    n:netexec({ "nft", NFT_FAIL }, { check = true, quiet = true })
    -- queries already on their way: new ones are new conntrack entries, redirected
    n:netexec({ "conntrack", "-D", "-p", "udp", "--orig-port-dst", "53" }, { quiet = true })
    self.faults.servfail = true
  elseif self.faults.servfail then
    n:netexec({ "nft", "delete table ip natrig_dns" }, { quiet = true })
    n:netexec({ "conntrack", "-D", "-p", "udp", "--orig-port-dst", "53" }, { quiet = true })
    self.faults.servfail = nil
  end
end

--- Every fault off: the names answer as declared, no delay, no SERVFAIL.
-- @usage dns:clear()
function Dns:clear()
  if self.net.state ~= "up" then return end
  self.answers, self.missing = {}, {}
  write_hosts(self)
  self:set_servfail(false)
  if self.faults.delay then
    self.node:clear_impair()
    self.faults.delay = nil
  end
  self.net:note("dns_clear", self.node.name)
end

--- The queries the node answered (its log lines "query[TYPE] NAME from IP"), oldest first.
-- @tparam[opt] {name=?string,type=?string} q only this name, only this type ("A", "AAAA")
-- @treturn {{time=number,type=string,name=string,from=string},...} one per query
-- @usage expect(#dns:queries{ name = "gw.test" }):ne(0)
function Dns:queries(q)
  q = core.check_options("dns:queries", q, { name = "string", type = "string" })
  local l = {}
  for _, e in ipairs(self.node:logs { match = "query[", plain = true }) do
    local typ, name, from = tostring(e.message or e.raw):match("query%[(%w+)%] (%S+) from (%S+)")
    if typ and (not q.name or q.name == name) and (not q.type or q.type == typ) then
      l[#l + 1] = { time = e.time, type = typ, name = name, from = from }
    end
  end
  return l
end

--- The address (nil before net:up()).
-- @treturn ?string the DNS node's address on the public network
-- @usage print(dns:ip())
function Dns:ip() return self.node.private_ip end

return M
