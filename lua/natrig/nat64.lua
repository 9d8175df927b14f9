--- natrig.nat64: NAT64 and DNS64 in a router (`net:router{ ip = "v6only", nat64 = true }`,
-- issue 25 item 3), so an IPv6-only LAN reaches IPv4 gateways by name.
--
-- The translator is Debian's tayga (userspace, a tun device: this kernel has no Jool module)
-- and the resolver unbound with its dns64 module, both in the router container. tayga maps
-- each LAN host's IPv6 address to an address of its dynamic pool (M.POOL) and the prefix's
-- IPv6 addresses to IPv4 (RFC 6052); the pool is one more LAN subnet of the router's NAT
-- rules, so translated packets leave through the same NAT (preset, filtering, mapping) as
-- an IPv4 host's would, and a gateway sees the router's WAN address.
--
-- The prefix is the well-known 64:ff9b::/96 (RFC 6052 section 2.1). RFC 6052 (3.1) forbids it
-- for non-global IPv4 addresses, and Debian's tayga 0.9.2 enforces that for 10/8, 172.16/12,
-- 192.168/16, 192.0.2/24, 198.18/15, 198.51.100/24 and 203.0.113/24 (it drops
-- 64:ff9b::10.x.y.z), but not for 100.64.0.0/10 (RFC 6598's shared space, never routed on the
-- internet either): so a run with a NAT64 router carves its public network from 100.64.0.0/10
-- (natrig.plan, M.public_pool), and a gateway's address is one tayga translates under the
-- well-known prefix. tests/nat/netns-nat64 shows both halves with Debian's binary.
--
-- unbound answers only on the router's LAN address, for the LAN's prefix, and forwards
-- everything to one server: the run's resolver (natrig.seal's dnsmasq, which knows every
-- node's name and forwards nothing), so no query leaves the machine; it synthesises AAAA
-- records from the A records that server gives. A network opened with `outside = true` has
-- no such resolver: unbound then forwards to Docker's embedded DNS (127.0.0.11), as every
-- node's lookups go there in such a network.
--
-- The texts and argv lists are pure (tests/nat/netns-nat64 runs them in namespaces);
-- M.start runs them in a router, M.resolv makes the router the resolver of its LAN's nodes.
-- @module natrig.nat64
local core = require "natrig.core"
local task = require "natrig.task"

local M = {}

M.POOL = "192.168.255.0/24" -- tayga's dynamic pool: one IPv4 stand-in per LAN host
M.TAYGA_IP = "192.168.255.1" -- tayga's own IPv4 address (ICMP errors come from it)
M.TUN = "nat64"
M.DIR = "/run/natrig-nat64"
M.EMBEDDED_DNS = "127.0.0.11"
M.PROGRAMS = { "tayga", "unbound" }
M.PREFIX = "64:ff9b::/96" -- the well-known prefix (RFC 6052 2.1)
M.PUBLIC_POOL = "100.64.0.0/10" -- where a NAT64 run's public network comes from (RFC 6598)
-- tayga's own IPv6 address (its ICMPv6 errors come from it): tayga wants one when its IPv4
-- address is private and the prefix is the well-known one; a LAN host number no node gets
-- (nodes are 2-253, the router 254)
M.TAYGA_HOST6 = 0x6464

local function bad(op, msg) core.fail("einval", op, msg) end

--- Checks at declaration (nothing is made yet): nat64 needs an IPv6 LAN (ip = "v6only" or
-- "dual"), the router on the public network, which must be in M.PUBLIC_POOL (declared before
-- net:up()), and Debian's tayga and unbound on the host (natrig packs them into its image).
-- @local
function M.check(net, op, opts, fam)
  if opts.nat64 == nil or opts.nat64 == false then return false end
  if opts.nat64 ~= true then
    bad(op, ("nat64 = %s: want true or false"):format(tostring(opts.nat64)))
  end
  if fam ~= "v6only" and fam ~= "dual" then
    bad(op, ("nat64 = true on a router with no IPv6 LAN (ip = %q): NAT64 translates its LAN's IPv6 to "
      .. "IPv4; give it ip = \"v6only\" (or \"dual\")"):format(tostring(fam)))
  end
  if opts.behind ~= nil then
    bad(op, "nat64 = true behind another router: a NAT64 router sits on the public network")
  end
  if net.state == "up" and not core.subnet_contains(M.PUBLIC_POOL, core.subnet_host(net.public.subnet, 1)) then
    bad(op, ("nat64 = true on a network brought up without a NAT64 router: its public network %s is not in "
      .. "%s, which the well-known prefix 64:ff9b::/96 needs (tayga drops private IPv4 under it); declare "
      .. "the NAT64 router before net:up()"):format(net.public.subnet, M.PUBLIC_POOL))
  end
  local which = require("natrig.image").which
  for _, prog in ipairs(M.PROGRAMS) do
    if not which(prog) then
      bad(op, ("nat64 = true needs Debian's %s on this host, packed into natrig's image (apt-get install "
        .. "tayga unbound, or make deps)"):format(prog))
    end
  end
  return true
end

--- Does tayga translate ip4 under the well-known prefix? Its 0.9.2 list of non-global
-- blocks (addrmap.c is_private_ip4_addr); 100.64.0.0/10 is not on it.
-- @local
function M.translatable(ip4)
  for _, cidr in ipairs { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "192.0.2.0/24", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "127.0.0.0/8", "0.0.0.0/8", "169.254.0.0/16" } do
    if core.subnet_contains(cidr, ip4) then return false end
  end
  return true
end

--- An IPv4 address inside the prefix (what DNS64 answers for it): prefix + a.b.c.d.
-- @local
function M.synth(prefix, ip4)
  local a, b, c, d = ip4:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then bad("nat64", ("not an IPv4 address: %s"):format(tostring(ip4))) end
  return ("%s%x:%x"):format(prefix:gsub("/96$", ""), tonumber(a) * 256 + tonumber(b), tonumber(c) * 256 + tonumber(d))
end

--- tayga's configuration.
-- @local
function M.tayga_conf(prefix, tayga_ip6)
  return table.concat({
    "# natrig NAT64 (generated by natrig.nat64)",
    "tun-device " .. M.TUN,
    "ipv4-addr " .. M.TAYGA_IP,
    "ipv6-addr " .. tayga_ip6,
    "prefix " .. prefix,
    "dynamic-pool " .. M.POOL,
    "data-dir " .. M.DIR,
    "" }, "\n")
end

--- unbound's configuration: DNS64 on lan_ip6 for lan6 (the LAN's prefix), every query
-- forwarded to upstream (an IPv4 address) and nowhere else.
-- @local
function M.unbound_conf(prefix, lan_ip6, lan6, upstream)
  return table.concat({
    "# natrig DNS64 (generated by natrig.nat64)",
    "server:",
    "  interface: " .. lan_ip6,
    "  port: 53",
    "  access-control: 0.0.0.0/0 refuse",
    "  access-control: ::/0 refuse",
    "  access-control: " .. lan6 .. " allow",
    "  do-ip4: yes",
    "  do-ip6: yes",
    "  ip-freebind: yes", -- the LAN address may be added just after unbound starts
    "  module-config: \"dns64 iterator\"",
    "  dns64-prefix: " .. prefix,
    "  username: \"\"",
    "  chroot: \"\"",
    "  directory: \"" .. M.DIR .. "\"",
    "  pidfile: \"" .. M.DIR .. "/unbound.pid\"",
    "  do-daemonize: no",
    "  use-syslog: no",
    "  logfile: \"" .. M.DIR .. "/unbound.log\"",
    "  log-queries: yes",
    "  verbosity: 1",
    -- the lab's resolver answers at once; a lookup natrig's tests wait on should not be cached
    -- past a fault the run injects (net:dns faults change answers mid-run)
    "  cache-max-ttl: 0",
    "  cache-max-negative-ttl: 0",
    "  do-not-query-localhost: no",
    "  harden-referral-path: no",
    "  qname-minimisation: no",
    "forward-zone:",
    "  name: \".\"",
    "  forward-addr: " .. upstream,
    "" }, "\n")
end

--- The router's commands, in order, once both files are in M.DIR: the tun device, its
-- routes (the pool, the prefix and tayga's own IPv6 address), then the two daemons (started
-- detached by the caller).
-- @local
function M.setup_argvs(prefix, tayga_ip6)
  return {
    { "tayga", "--config", M.DIR .. "/tayga.conf", "--mktun" },
    { "ip", "link", "set", M.TUN, "up" },
    { "ip", "route", "replace", M.POOL, "dev", M.TUN },
    { "ip", "-6", "route", "replace", prefix, "dev", M.TUN },
    { "ip", "-6", "route", "replace", tayga_ip6 .. "/128", "dev", M.TUN },
  }
end

function M.tayga_argv()
  return { "tayga", "--config", M.DIR .. "/tayga.conf", "--nodetach", "--pidfile", M.DIR .. "/tayga.pid" }
end
function M.unbound_argv() return { "unbound", "-d", "-c", M.DIR .. "/unbound.conf" } end

--- The router's tun device for tayga (HostConfig.Devices), nil for a router without NAT64.
-- @local
function M.devices(r)
  if not r.nat64 then return nil end
  return core.json_array { { PathOnHost = "/dev/net/tun", PathInContainer = "/dev/net/tun",
    CgroupPermissions = "rwm" } }
end

--- Behind a NAT64 router, the node's resolver is the router's unbound alone, as a v6-only
-- LAN's hosts learn it (RA or DHCPv6): its holder's /etc/resolv.conf, which its app shares.
-- Docker's embedded DNS (127.0.0.11) is left out: it forwards to IPv4 servers only and,
-- having none, tries the host's own, which no v6-only LAN can reach (lookups then waited
-- out its timeouts: seen, 17 s and no answer).
-- @local
function M.resolv(node)
  local r = node.router
  if not (r and r.nat64 and r.lan_ip6) then return end
  -- the engine's file is a bind mount an upload cannot replace: cp writes into it
  local text = ("# natrig: the NAT64 router's DNS64 resolver (natrig.nat64)\nnameserver %s\n"):format(r.lan_ip6)
  node.eng:put_files(node.holder, { { path = "natrig-resolv.conf", mode = 420, data = text } }, "/run")
  node:netexec({ "cp", "/run/natrig-resolv.conf", "/etc/resolv.conf" }, { check = true })
end

-- Where unbound forwards: the run's resolver (a net:dns{} node, else the seal's dnsmasq),
-- else (an open lab) Docker's embedded DNS in the router's namespace.
local function upstream(r)
  local net = r.net
  if net.dns_server then return net.dns_server.node.private_ip end
  return require("natrig.seal").resolver_ip(net, r.eng) or M.EMBEDDED_DNS
end

-- A daemon gone or not answering: what the router says about it.
local function not_ready(r, what, why)
  local log = r:exec({ "tail", "-n", "5", M.DIR .. "/unbound.log" }, { quiet = true }).stdout or ""
  core.fail("engine", "nat64 on " .. r.name, ("%s did not start within 5 s (%s)%s"):format(what, why,
    log ~= "" and ("; unbound's log: " .. log:gsub("%s+$", "")) or ""))
end

--- Start NAT64 and DNS64 in a router that is up (its NAT rules loaded): files, tun, routes,
-- then tayga and unbound, each waited for (tayga's pid file, unbound's socket on the LAN).
-- @local
function M.start(r)
  local prefix, tayga_ip6 = M.PREFIX, core.subnet6_host(r.lan.subnet6, M.TAYGA_HOST6)
  r.nat64_prefix = prefix
  r.eng:put_files(r.id, {
    { path = M.DIR:sub(2), dir = true, mode = 493 },
    { path = M.DIR:sub(2) .. "/tayga.conf", data = M.tayga_conf(prefix, tayga_ip6), mode = 420 },
    { path = M.DIR:sub(2) .. "/unbound.conf", data = M.unbound_conf(prefix, r.lan_ip6, r.lan.subnet6,
      upstream(r)), mode = 420 },
  }, "/")
  for _, argv in ipairs(M.setup_argvs(prefix, tayga_ip6)) do r:exec(argv, { check = true }) end
  r.eng:exec_detached(r.id, M.tayga_argv())
  r.eng:exec_detached(r.id, M.unbound_argv())
  -- ready: tayga's pid file, and unbound's "start of service" (logged once its sockets are
  -- bound: busybox netstat cuts long IPv6 addresses)
  local deadline, tayga, unbound = core.now() + 5, false, false
  while not (tayga and unbound) do
    tayga = tayga or r:exec({ "cat", M.DIR .. "/tayga.pid" }, { quiet = true }).code == 0
    unbound = unbound or (r:exec({ "cat", M.DIR .. "/unbound.log" }, { quiet = true }).stdout or "")
      :find("start of service", 1, true) ~= nil
    if core.now() > deadline then
      if not tayga then not_ready(r, "tayga", "no pid file " .. M.DIR .. "/tayga.pid") end
      not_ready(r, "unbound", "no \"start of service\" in " .. M.DIR .. "/unbound.log")
    end
    if not (tayga and unbound) then task.sleep(0.05) end
  end
end

return M
