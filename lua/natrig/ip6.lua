--- natrig.ip6: IPv6 addressing of a network (issue 25). Which family each router, gateway
-- and node speaks (`ip = "dual" | "v4" | "v6only"`, default "v4", or NATRIG_IP), the checks
-- before anything is made, the prefixes and addresses, and the routes that make every
-- router's LAN reachable only through that router.
--
-- Addressing: a run takes one /48 of 2001:db8::/32 (the documentation prefix) that overlaps
-- no IPv6 subnet on the engines (the planner's list of taken subnets); the public network
-- is its first /64, each IPv6 router's LAN the next ones. Host numbers are the IPv4 ones
-- (a node that is x.y.z.5 is <prefix>::5; a router's LAN address is ::fe). The engine's
-- host routes IPv6 between its bridges (Docker turns forwarding on with the first IPv6
-- network), so public holders, routers and STUN servers reach a LAN prefix through a route
-- via its router's WAN address, and nodes behind a router route via the router: every
-- packet into a LAN crosses its router's IPv6 firewall, never the host's short cut.
-- Nothing of this is made for a network where everything is "v4".
-- @module natrig.ip6
local core = require "natrig.core"

local M = {}

M.POOL = "2001:db8::/32"
M.FAMILIES = { dual = true, v4 = true, v6only = true }

local function bad(op, msg) core.fail("einval", op, msg) end

--- The family asked for (nil: NATRIG_IP, else "v4"); raises naming the valid ones.
-- @local
function M.family(op, v)
  local from = "ip"
  if v == nil then
    v = core.getenv("NATRIG_IP")
    if v == nil or v == "" then return "v4" end
    from = "NATRIG_IP"
  end
  if type(v) ~= "string" or not M.FAMILIES[v] then
    bad(op, ("%s = %s: want \"dual\", \"v4\" or \"v6only\""):format(from, tostring(v)))
  end
  return v
end

function M.has6(fam) return fam == "dual" or fam == "v6only" end
--- The family of a node natrig runs to serve IPv4 (a TURN relay, the DNS node): the default,
-- but "dual" where that is "v6only" (it would have no IPv4 address to serve on).
-- @local
function M.serving4(op)
  local fam = M.family(op, nil)
  return fam == "v6only" and "dual" or fam
end
function M.has4(fam) return fam ~= "v6only" end

--- Does the network need IPv6 at all?
-- @local
function M.wanted(net)
  for _, r in ipairs(net.routers) do if M.has6(r.ip) then return true end end
  for _, n in ipairs(net.nodes) do if M.has6(n.ip) then return true end end
  return false
end

--- Checks at declaration: a node behind a router speaks the router's families; filtering6
-- belongs to a router (a peer's own passes it on).
-- @local
function M.node_family(net, kind, opts, router)
  local op = "net:" .. kind
  if opts.filtering6 ~= nil and (kind ~= "peer" or opts.router) then
    bad(op, kind == "peer" and "filtering6 belongs to the router: give it to net:router{ filtering6 = ... }"
      or ("filtering6 is a router's: a %s on the public network has no firewall"):format(kind))
  end
  if not router then
    local fam = M.family(op, opts.ip)
    M.live_check(net, op, fam)
    return fam
  end
  if opts.ip ~= nil and M.family(op, opts.ip) ~= router.ip then
    bad(op, ("ip = %q, but its router %s is %q: a node behind a router speaks the router's families "
      .. "(give the router ip = %q)"):format(opts.ip, router.name, router.ip, opts.ip))
  end
  return router.ip
end

--- A router's family: a router behind another needs its upstream's IPv6 (natrig routes a
-- LAN prefix only from the public network).
-- @local
function M.router_family(net, opts)
  local op = "net:router"
  local fam = M.family(op, opts.ip)
  if opts.behind and M.has6(fam) then
    if not M.has6(opts.behind.ip) then
      bad(op, ("ip = %q behind %s, which has no IPv6 (ip = %q): give %s ip = \"dual\", or this router ip = \"v4\"")
        :format(fam, opts.behind.name, opts.behind.ip, opts.behind.name))
    end
    bad(op, ("ip = %q behind another router: IPv6 behind a router's LAN is not built yet (its LAN prefix "
      .. "would need a route in the upstream); put this router on the public network"):format(fam))
  end
  if not M.has6(fam) and opts.filtering6 ~= nil then
    bad(op, ("filtering6 = %s on a router without IPv6 (ip = %q): give it ip = \"dual\" or \"v6only\"")
      :format(tostring(opts.filtering6), fam))
  end
  M.npt6_check(op, opts.npt6, fam)
  if fam == "v6only" and opts.portmap ~= nil and opts.portmap ~= false then
    bad(op, "portmap on a v6only router: its UPnP, NAT-PMP and PCP map IPv4 ports, and a v6only LAN has no IPv4; "
      .. "give it ip = \"dual\"")
  end
  M.live_check(net, op, fam)
  return fam
end

--- NPTv6 (RFC 6296) asked of a router: `npt6 = true` (natrig picks the outside prefix) or
-- an outside prefix, a /48 (natrig picks the checksum-neutral /64 in it) or a
-- checksum-neutral /64, inside 2001:db8::/32 (the lab's IPv6). Raises on bad input.
-- @local
function M.npt6_check(op, v, fam)
  if v == nil or v == false then return end
  if not M.has6(fam) then
    bad(op, ("npt6 on a router without IPv6 (ip = %q): NPTv6 translates its LAN's IPv6 prefix; give it "
      .. "ip = \"dual\" or \"v6only\""):format(fam))
  end
  if v == true then return end
  local p, why = core.ip6_parse_prefix(v)
  local len = p and tonumber(p:match("/(%d+)$"))
  if not p or (len ~= 48 and len ~= 64) or not core.subnet6_contains(M.POOL, p:match("^(.-)/")) then
    bad(op, ("npt6 = %s: want true, or an outside prefix in %s, a /48 (natrig picks the checksum-neutral /64 "
      .. "in it) or a checksum-neutral /64%s"):format(v, M.POOL, why and (" (" .. why .. ")") or ""))
  end
end

--- A router's outside /64 (NPTv6), planned with its LAN: from the run's NPT /48 for
-- npt6 = true, else from the prefix it was given; raises (nothing is made yet) when a given
-- one meets the run's own prefixes or is not checksum-neutral.
-- @local
function M.place_npt6(net, r)
  if not (r.npt6 and r.lan.subnet6) then return end
  if r.npt6 == true and not net.npt_block6 then
    bad("net:router", ("npt6 = true on %s, added to a network brought up without an NPTv6 router: give it an "
      .. "outside prefix (npt6 = \"2001:db8:X::/48\"), or declare it before net:up()"):format(r.name))
  end
  local outside = r.npt6 == true and net.npt_block6 or r.npt6
  if r.npt6 ~= true and core.subnet6_contains(net.block6, outside:match("^(.-)/")) then
    bad("net:up", ("npt6 = %s on %s is inside the run's own prefix %s (its public network and LANs): give "
      .. "a prefix outside it, or npt6 = true"):format(r.npt6, r.name, net.block6))
  end
  local ok, res = pcall(core.npt6_outside, r.lan.subnet6, outside)
  if not ok then bad("net:up", ("%s: %s"):format(r.name, type(res) == "table" and res.message or tostring(res))) end
  r.npt6_prefix = res
end

--- An element asking for IPv6 added to a running network that has none.
-- @local
function M.live_check(net, op, fam)
  if net.state == "up" and M.has6(fam) and not net.v6 then
    bad(op, ("ip = %q on a network brought up without IPv6: its public network has no IPv6 prefix; "
      .. "declare an IPv6 element before net:up()"):format(fam))
  end
end

M.FILTERING6 = { EIF = true, ADF = true, APDF = true, closed = true, open = true }

--- A router's IPv6 firewall (RFC 6092): inbound filtering (default APDF), and the router's
-- hairpin and UDP timeout; nil for a router without IPv6.
-- @local
function M.firewall(opts, spec)
  local fam = M.family("net:router", opts.ip)
  if not M.has6(fam) then return nil end
  local f = opts.filtering6 or "APDF"
  if type(f) ~= "string" or not M.FILTERING6[f] then
    bad("net:router", ("filtering6 = %s: want \"EIF\", \"ADF\", \"APDF\" (the default), \"closed\" or \"open\"")
      :format(tostring(f)))
  end
  return { filtering = f, hairpin = spec.hairpin, timeout = spec.udp_timeout }
end

-- The run's /48 and its /64s (index 0: the public network).
local function sub64(net, i) return core.subnet6_alloc(net.block6, 64, {}, i, 1)[1] end

--- Plan the run's IPv6 prefixes (nothing when no element asked for IPv6).
-- @local
function M.plan(net, taken, start)
  net.v6 = M.wanted(net)
  if not net.v6 then return end
  net.block6 = core.subnet6_alloc(M.POOL, 48, taken, start % 65536, 1)[1]
  net.public.subnet6 = sub64(net, 0)
  net.lan6_next = 0
  for _, r in ipairs(net.routers) do -- NPTv6 routers translate into a /48 of their own
    if r.npt6 == true and not net.npt_block6 then
      local t2 = { net.block6 }
      for _, s in ipairs(taken) do t2[#t2 + 1] = s end
      net.npt_block6 = core.subnet6_alloc(M.POOL, 48, t2, (start + 1) % 65536, 1)[1]
    end
  end
end

--- A router's LAN prefix (and its own LAN address, ::fe) when it speaks IPv6.
-- @local
function M.place_lan(net, r)
  if not (net.v6 and M.has6(r.ip)) then return end
  net.lan6_next = net.lan6_next + 1
  r.lan.subnet6 = sub64(net, net.lan6_next)
  r.lan_ip6 = core.subnet6_host(r.lan.subnet6, 254)
  M.place_npt6(net, r)
end

--- x's IPv6 address on its segment: the same host number as its IPv4 one.
-- @local
function M.host(seg, ip4, prefix6)
  if not seg.subnet6 then return nil end
  local base = core.subnet_host(seg.subnet, 1)
  local function num(a) local p = {} for o in a:gmatch("%d+") do p[#p + 1] = tonumber(o) end
    return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4] end
  return core.subnet6_host(prefix6 or seg.subnet6, num(ip4) - num(base) + 1)
end

-- Every endpoint on a segment with IPv6 gets its address from the plan, a v4 element's
-- unused (IPv6 is off in it): an address the engine picked itself took one the plan gave
-- another (seen on 20.10, before the segments had an IPRange: a v4 router got host 3).
function M.place_wan(_, r)
  r.wan_seg6 = r.wan.subnet6 and M.host(r.wan, r.wan_ip)
  r.wan_ip6 = M.has6(r.ip) and r.wan_seg6 or nil
end

function M.place_node(net, n)
  n.seg_ip6 = n.segment.subnet6 and M.host(n.segment, n.endpoint_ip)
  if not (net.v6 and M.has6(n.ip)) then return end
  n.private_ip6 = n.seg_ip6
  -- NPTv6: the router's outside /64 and the same suffix (1:1); else no translation
  local r = n.router
  n.public_ip6 = r and r.npt6_prefix and M.host(n.segment, n.endpoint_ip, r.npt6_prefix) or n.private_ip6
end

--- The IPv6 routers on the public network: { prefix, via } for every LAN prefix.
-- @local
function M.lan_routes(net, except)
  local l = {}
  for _, r in ipairs(net.routers) do
    if r ~= except and r.lan and r.lan.subnet6 and r.wan_ip6 and not require("natrig.watch").is_removing(r) then
      l[#l + 1] = { prefix = r.lan.subnet6, via = r.wan_ip6 }
      -- NPTv6: its outside prefix too (the inside stays routed via it, so nothing skirts it)
      if r.npt6_prefix then l[#l + 1] = { prefix = r.npt6_prefix, via = r.wan_ip6 } end
    end
  end
  return l
end

--- Set the IPv6 routes of a public holder or router (exec(argv, opts) runs in it): a
-- route to every IPv6 LAN via its router (not via the host, which Docker makes forward IPv6
-- between its bridges, past the router's firewall).
-- @local
function M.routes_public(net, x, exec)
  for _, rt in ipairs(M.lan_routes(net, x)) do
    exec({ "ip", "-6", "route", "replace", rt.prefix, "via", rt.via }, { check = true, quiet = true })
  end
end

--- Until neighbour discovery has resolved addr from a holder (exec runs there): a ping
-- starts it, `ip -6 neigh` says whether an answer came. IPv4's ARP always got through at
-- once; an IPv6 neighbour solicitation to the router's LAN address once went unanswered
-- for 9 s after net:up() under load (the node's first IPv6 packets then vanished), so the
-- node is not ready before its router is resolved. false after `limit` seconds.
-- @local
function M.resolve_neighbour(addr, exec, limit)
  local deadline = core.now() + (limit or 15)
  repeat
    exec({ "ping", "-6", "-c", "1", "-W", "1", addr }, { quiet = true })
    local r = exec({ "ip", "-6", "neigh", "show", addr }, { quiet = true })
    if (r.stdout or ""):find(" lladdr ", 1, true) then return true end
  until core.now() >= deadline
  return false
end

--- A router added while the network is up: every public IPv6 holder and router learns the
-- route to its LAN.
-- @local
function M.announce(net, r)
  if not (r.lan and r.lan.subnet6 and r.wan_ip6) then return end
  local fns = {}
  for _, prefix in ipairs { r.lan.subnet6, r.npt6_prefix } do -- NPTv6: its outside prefix too
    local argv = { "ip", "-6", "route", "replace", prefix, "via", r.wan_ip6 }
    for _, n in ipairs(net.nodes) do
      if not n.router and n.private_ip6 and n.holder and n.ready then
        fns[#fns + 1] = function() n:netexec(argv, { check = true, quiet = true }) end
      end
    end
    for _, o in ipairs(net.routers) do
      if o ~= r and o.id and o.wan_ip6 and not o.behind then
        fns[#fns + 1] = function() o:exec(argv, { check = true, quiet = true }) end
      end
    end
    for _, st in pairs(net.stuns or {}) do -- net:classify's STUN servers
      if st.id and st.ip1_6 then
        fns[#fns + 1] = function() st.eng:exec(st.id, argv, { check = true }) end
      end
    end
  end
  require("natrig.task").parallel(fns)
end

--- A v4 element on a segment with IPv6 gets no IPv6 at all (the engine would give it an
-- address from the segment's dynamic range): the sysctl value, or nil.
-- @local
function M.disabled(seg, addr6)
  if seg.subnet6 and not addr6 then return "1" end
end

--- A v6only LAN has no IPv4, though Docker 20.10 gives every endpoint of a bridge an IPv4
-- address: the argvs that take it away in a namespace, from the text of its `ip -o addr
-- show` and the IPv6 address of its LAN link. Its IPv4 address goes from that link (and
-- with it every IPv4 route through it); a node's namespace (all = true) loses every IPv4
-- route too, a router's keeps its WAN. Raises if no link carries ip6.
-- @local
function M.drop4_argvs(text, ip6, all)
  local dev = require("natrig.iface").iface_for(text, ip6)
  if not dev then
    core.fail("engine", "v6only", ("no interface carries %s, so its IPv4 cannot be removed:\n%s"):format(ip6, text))
  end
  local l = { { "ip", "-4", "addr", "flush", "dev", dev } }
  if all then l[2] = { "ip", "-4", "route", "flush", "table", "main" } end
  return l
end

--- Take IPv4 away from x's v6only LAN link (exec runs an argv in its namespace), before
-- anything else runs there; afterwards `ip -4 addr` shows loopback only.
-- @local
function M.drop4(exec, ip6, all)
  local text = exec({ "ip", "-o", "addr", "show" }, { check = true, quiet = true }).stdout
  for _, argv in ipairs(M.drop4_argvs(text, ip6, all)) do exec(argv, { check = true, quiet = true }) end
end

--- "[2001:db8::5]:31337"
-- @local
function M.hostport(ip6, port) return "[" .. ip6 .. "]:" .. tostring(port) end

return M
