--- natrig.router: a NAT router of a natrig.network (net:router, or a peer's own): its
-- container (the WAN segment and its LAN, .254), its NAT rules (natrig.nat), port mapping
-- (natrig.portmap), exec, diagnostics, set_nat, flush, impairment and restart.
-- @module natrig.router
local core = require "natrig.core"
local task = require "natrig.task"
local nat = require "natrig.nat"
local iface = require "natrig.iface"
local impair = require "natrig.impair"
local shaper = require "natrig.shaper"
local capture = require "natrig.capture"
local portmap = require "natrig.portmap"
local netns = require "natrig.netns"
local watch = require "natrig.watch"
local ip6 = require "natrig.ip6"
local nat64 = require "natrig.nat64"

local M = {}
--- A NAT router (net:router, or a peer's own).
-- @type Router
-- @tfield string name its name
-- @tfield table nat its NAT: { preset, mapping, filtering, hairpin, ... }
-- @tfield ?string wan_ip its address on the network above it (the public one, or its upstream's LAN)
-- @tfield ?string lan_ip its address on its LAN (.254, the LAN's gateway)
-- @tfield {name=string,subnet=string} lan its LAN: { name, subnet, subnet6 (its IPv6 prefix, when it speaks IPv6) }
-- @tfield string ip the families it routes: "v4", "dual" or "v6only"
-- @tfield ?string wan_ip6 its IPv6 address on the public network (ip = "dual" or "v6only")
-- @tfield ?string lan_ip6 its IPv6 address on its LAN (::fe), the LAN's IPv6 gateway
-- @tfield boolean nat64 whether it runs NAT64 and DNS64 for its LAN (natrig.nat64)
-- @tfield ?string npt6_prefix its NPTv6 outside /64 (RFC 6296; `npt6 = true` or a prefix): its LAN's
-- nodes are seen from the public network at this prefix with their own suffix
-- @tfield ?string nat64_prefix its NAT64 prefix, the well-known "64:ff9b::/96" (with nat64)
-- @tfield {Node,...} nodes the nodes behind it
-- @tfield ?Router behind the router it sits behind (double NAT), or nil
-- @tfield Network net its network
local Router = {}
Router.__index = Router
Router.__name = "natrig.Router"
M.Router = Router
function M.new_router(net, name, spec, behind)
  -- eng: the engine it lives on (net:up() places NAT cells when there are several hosts)
  return setmetatable({ net = net, eng = net.eng, name = name, nat = spec, behind = behind, nodes = {} }, Router)
end

function Router:__tostring()
  return ("natrig.Router(%s, %s, wan %s, lan %s)"):format(self.name, nat.describe(self.nat),
    tostring(self.wan_ip), self.lan and self.lan.subnet or "?")
end

--- Create and start the router (done by net:up).
-- @local
function Router:bring_up()
  local net, eng, s = self.net, self.eng, self.net.session
  local timeout = tostring(self.nat.timeout or 120)
  -- its rules load as the container starts (natrig.nat.boot), miniupnpd's with them (natrig.portmap)
  local boot = nat.boot(self, portmap.boot(self))
  self.ctl_dir = net:ctl_dir(self.name, eng)
  self.id = eng:container_create(s:name(self.name), {
    Image = net.image, Hostname = self.name, Cmd = core.json_array(boot and boot.cmd or netns.HOLD),
    Labels = s:labels("router", { ["natrig.node"] = self.name, ["natrig.nat"] = nat.describe(self.nat) }),
    HostConfig = {
      NetworkMode = self.wan.name, Init = true,
      Binds = self.ctl_dir and core.json_array { self.ctl_dir .. ":/run/natrig" } or nil,
      -- SYS_NICE: natrig-shaper, run here, asks for real-time scheduling (src/shaper/rtsched.c)
      CapAdd = core.json_array { "NET_ADMIN", "NET_RAW", "SYS_NICE" },
      Dns = require("natrig.seal").dns(net, eng, self.lan),
      Devices = nat64.devices(self), -- tayga's tun (natrig.nat64)
      Sysctls = netns.sysctls {
        ["net.ipv4.ip_forward"] = "1",
        ["net.netfilter.nf_conntrack_udp_timeout"] = timeout,
        ["net.netfilter.nf_conntrack_udp_timeout_stream"] = timeout,
        ["net.ipv6.conf.all.forwarding"] = self.lan_ip6 and "1" or nil,
        ["net.ipv6.conf.all.disable_ipv6"] = ip6.disabled(self.wan, self.wan_ip6),
        -- tayga's tun is made after start: it takes the default's setting (natrig.nat64)
        ["net.ipv6.conf.default.disable_ipv6"] = self.nat64 and "0" or nil,
      },
    },
    NetworkingConfig = netns.endpoint(self.wan, self.wan_ip, self.wan_seg6),
  })
  -- the NAT ruleset, the boot script and miniupnpd's files, in one archive before start
  if boot then eng:put_files(self.id, boot.files, "/") end
  -- API 1.41 takes one network at create; the LAN is joined before start.
  eng:network_connect(self.lan.name, self.id, self.lan_ip, nil, self.lan_ip6)
  eng:container_start(self.id)
  -- a v6only LAN has no IPv4: the router's LAN link loses the engine's address too
  if self.ip == "v6only" then ip6.drop4(function(a, o) return self:exec(a, o) end, self.lan_ip6, false) end
  if self.wan_ip6 then ip6.routes_public(net, self, function(a, o) return self:exec(a, o) end) end
  if capture.wanted(net, self) then capture.start(net, self, "router") end
  if self.behind then
    self.behind.job:join()
    self:exec({ "ip", "route", "replace", "default", "via", self.behind.lan_ip }, { check = true })
  end
  if self.nat.cgnat then require("natrig.cgn").add_pool(self) end
  nat.load(self) -- checks the rules the start loaded, and waits for miniupnpd in the same exec
  if self.nat64 then nat64.start(self) end
end

--- Run argv in the router: returns { code, stdout, stderr }.
-- @tparam {string,...} argv
-- @tparam[opt] table opts as for node:exec (env, user, workdir, timeout, check)
-- @treturn {code=integer,stdout=string,stderr=string}
-- @usage print(r:exec{ "conntrack", "-L" }.stdout)
function Router:exec(argv, opts) return netns.exec_in(self, self.id, argv, opts, self.name) end

--- The seed's dumps: NAT ruleset with counters, FORWARD counters, conntrack entries.
-- @treturn {nat=string,forward=string,conntrack=string,portmap=?string,nat6=?string,conntrack6=?string}
-- (portmap: miniupnpd's state, when on; nat6, conntrack6: the IPv6 firewall's, with IPv6)
-- @usage print(r:diagnostics().conntrack)
function Router:diagnostics()
  local d = {}
  task.parallel(
    function() d.nat = self:exec(nat.diag_argv("ruleset"), { quiet = true }).stdout end,
    function() d.forward = self:exec({ "iptables", "-nvL", "FORWARD" }, { quiet = true }).stdout end,
    function() -- the IPv6 firewall (table ip6 natrig) and its conntrack entries
      if not self.fw6 then return end
      d.nat6 = self:exec(nat.argvs6_verify(self), { quiet = true }).stdout
      local r = self:exec({ "conntrack", "-L", "-f", "ipv6" }, { quiet = true })
      d.conntrack6 = r.stdout ~= "" and r.stdout or r.stderr
    end,
    function()
      local r = self:exec(nat.diag_argv("conntrack"), { quiet = true })
      d.conntrack = r.stdout ~= "" and r.stdout or r.stderr
    end, function() d.portmap = portmap.diagnostics(self) end)
  return d
end

--- Forget every mapping: conntrack entries and natrig's learned sets. Peers behind it see
-- a rebinding (new public ports) on their next packets.
-- @usage r:flush()   -- a NAT rebinding mid-session
function Router:flush()
  self.net:note("flush", self.name)
  -- Packets of a live flow re-learned the old mapping between the commands (seen with
  -- net:path: a direct path survived set_nat). So: what arrives at the WAN address is
  -- dropped (a table of its own, before the guard) while the learned sets are flushed in
  -- one nft transaction, conntrack is flushed, and the sets once more with the drop gone.
  local cmds, other = {}, {}
  for _, argv in ipairs(nat.flush_argvs(self)) do
    if argv[1] == "nft" then cmds[#cmds + 1] = table.concat(argv, " ", 2)
    elseif argv[1] ~= "conntrack" then other[#other + 1] = argv end
  end
  local sets = table.concat(cmds, "; ")
  local hold = ("add table ip natrig_flush; add chain ip natrig_flush hold { type filter hook prerouting "
    .. "priority -310; policy accept; }; add rule ip natrig_flush hold ip daddr %s drop"):format(self.wan_ip)
  self:exec({ "nft", hold .. (sets ~= "" and "; " .. sets or "") }, { check = true, quiet = true })
  self:exec({ "conntrack", "-F" }, { check = true, quiet = true })
  self:exec({ "nft", (sets ~= "" and sets .. "; " or "") .. "delete table ip natrig_flush" },
    { check = true, quiet = true })
  for _, argv in ipairs(other) do self:exec(argv, { check = true, quiet = true }) end
end

--- Change the NAT behaviour mid-run (existing mappings are flushed).
-- @tparam string|table preset a preset name or spec table (see the presets page)
-- @tparam[opt] table opts hairpin, timeout, port_preservation, tcp (as net:router's)
-- @usage r:set_nat("symmetric")
function Router:set_nat(preset, opts)
  if self.nat.cgnat or preset == "cgnat" then
    core.fail("einval", "router:set_nat", ("%s: a carrier-grade NAT is chosen when the router is declared "
      .. "(net:router{ nat = \"cgnat\" }), not changed mid-run"):format(self.name))
  end
  self.nat = nat.resolve(preset, opts or {})
  self.net:note("set_nat", ("%s %s"):format(self.name, nat.describe(self.nat)))
  nat.apply(self)
  self:flush()
end

--- A carrier-grade NAT's customers (nat = "cgnat"): who has which public address and port
-- blocks, how many UDP ports each has mapped now, and how many packets of new mappings
-- beyond its quota were dropped.
-- @treturn {table,...} one { name, inside, public_ip, blocks = {"1024-1535",...}, quota, used, dropped } a customer
-- @usage for _, c in ipairs(cgn:customers()) do print(c.name, c.public_ip, c.used, c.dropped) end
function Router:customers()
  if not self.nat.cgnat then
    core.fail("einval", "router:customers", self.name .. " is not a carrier-grade NAT (net:router{ nat = \"cgnat\" })")
  end
  if not self.id then core.fail("einval", "router:customers", self.name .. " is not up (net:up() first)") end
  return require("natrig.cgn").customers(self)
end

--- Impair what the router forwards.
-- @tparam string|table spec a preset name or keys (natrig.impair; the presets page)
-- @treturn Impairment prints what is in force, by which engine, in how long
-- @usage r:impair{ loss = "5%" }
function Router:impair(spec)
  self.net:note("impair", self.name .. " " .. iface.spec_text(spec))
  return impair.apply(self.net, self, spec)
end
--- Remove the router's impairment.
-- @treturn Impairment
-- @usage r:clear_impair()
function Router:clear_impair()
  self.net:note("clear_impair", self.name)
  return impair.clear(self.net, self)
end
--- Natrig-shaper's counters for the router.
-- @treturn {table,...} one table a queue (numbers; spec as text)
-- @usage for _, q in ipairs(r:impair_stats()) do print(q.queue, q.dropped) end
function Router:impair_stats() return impair.stats(self.net, self) end

--- The router's live port mappings (UPnP-IGD, NAT-PMP, PCP: natrig.portmap), from
-- miniupnpd's lease file, by external port. Empty for a router without `portmap`.
-- @treturn {table,...} one a mapping: `{ proto, internal, external, external_port, lease,
-- remaining, description, via }`: "udp"/"tcp", "ip:port" inside and outside (strings), the
-- port (integer), seconds granted (nil: no expiry) and left, the client's description, and
-- "upnp", "natpmp" or "pcp"
-- @usage for _, m in ipairs(r:mappings()) do print(m.proto, m.internal, m.external, m.remaining) end
function Router:mappings() return portmap.mappings(self) end

--- Port mapping faults and switches mid-run (a router made with `portmap`): `deny` refuses
-- every request, `cgn` puts its WAN behind a carrier-grade NAT as miniupnpd's own STUN check
-- sees it (forwarding off: NAT-PMP result 3, PCP NO_RESOURCES), `max_lease` caps leases
-- (seconds; false: no cap), `external_ip` is the address announced, `protocols` replaces the
-- served protocols, `enable`/`disable` switch some ("upnp", "natpmp", "pcp": a name or a
-- list). Each change is a timeline entry.
-- @tparam table opts the changes: `{ deny = boolean, cgn = boolean, max_lease = integer|false,
-- external_ip = string, protocols = {string,...}, enable = string|{string,...}, disable = ... }`
-- @usage r:portmap{ deny = true }
-- r:portmap{ max_lease = 5, disable = "pcp" }
function Router:portmap(opts) portmap.change(self, opts) end

-- An exec function for ip6.routes_public (a closure of its own: the reference checker reads a
-- `return` inside the method it is written in as the method's).
-- @local
function Router.exec_fn(r) return function(a, o) return r:exec(a, o) end end

--- Restart the router container; its rules and routes are applied again.
-- Conntrack and port mappings are lost (peers behind it see new public ports).
-- @usage r:restart()
function Router:restart()
  self.net:note("restart", self.name)
  watch.exit_asked(self)
  self.eng:container_restart(self.id, 1)
  watch.started(self)
  local n = nat.restarted(self) -- the start's boot loaded the rules again (natrig.nat.boot)
  portmap.restarted(self, n) -- and started miniupnpd afresh: every mapping lost, new epoch
  shaper.forget(self) -- the restart ended natrig-shaper and its rules
  if self.behind then
    self:exec({ "ip", "route", "replace", "default", "via", self.behind.lan_ip }, { check = true })
  end
  if self.wan_ip6 then ip6.routes_public(self.net, self, Router.exec_fn(self)) end
  -- the boot's load checked (and miniupnpd waited for); an attached router's (no boot
  -- known) loaded again
  if n then nat.load(self) else nat.apply(self) end
  -- The nodes' default routes survive (they live in the nodes' own namespaces).
end


return M
