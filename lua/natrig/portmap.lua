--- natrig.portmap: UPnP-IGD, NAT-PMP and PCP on a router, served by Debian's miniupnpd
-- (package miniupnpd-nftables 2.3.1) run in the router with its nftables backend.
--
-- How it fits natrig's NAT (src/core/natrule.c, spec option portmap):
--  - miniupnpd writes its rules into `table inet natrig_pm` (made here): DNAT in chain
--    prerouting_miniupnpd (nat prerouting, priority -101, just before natrig's dnat_in at
--    -100), accepts in chain miniupnpd (filter forward), PCP PEER SNAT in
--    postrouting_miniupnpd. natrig's table ip natrig is never touched by it.
--  - natrig's guard (prerouting -300) does not drop unsolicited UDP on a portmap router: it
--    marks it, dnat_in skips marked packets, and chain pm_late (prerouting -90) drops every
--    marked packet that no mapping DNATed. A dropped packet's conntrack entry is never
--    confirmed, so the conntrack race stays fixed; a mapped port is reachable from any
--    outside address (TCP and UDP) whatever the preset; unmapped ports keep its filtering.
--  - natrig's public addresses are private (10.128.0.0/9) and miniupnpd 2.3.1 refuses to
--    forward ports with a private WAN address (no option allows it before 2.3.4); its own
--    STUN option takes the address a STUN server reports, so natrig-peer stun-reflect
--    answers on the router's loopback with the address the router should claim: its WAN
--    address, or external_ip (the fault). Nothing leaves the router for that.
--  - peers find it as real programs do: SSDP multicast on the LAN (UPnP), their default
--    gateway, port 5351 (NAT-PMP version 0, PCP version 2).
--  - protocols are switched on and off by nftables rules on the router's input (chain
--    lan_in): NAT-PMP and PCP share miniupnpd's port 5351 and are told apart by the version
--    byte, so each can be off on its own; a protocol that is off gets no answer at all.
-- @module natrig.portmap
local core = require "natrig.core"

local M = {}

M.PROTOCOLS = { "upnp", "natpmp", "pcp" }
local VALID = { upnp = true, natpmp = true, pcp = true }
local VALID_TEXT = "upnp, natpmp, pcp"
local txt = require "natrig.portmap_text"
M.HTTP_PORT, M.TABLE = txt.HTTP_PORT, txt.TABLE
local CONF, NFT, RUN, CAP, CTL = txt.CONF, txt.NFT, txt.RUN, txt.CAP, txt.CTL
local function ctl(r, ...) return r:exec({ "/bin/sh", CTL, ... }, { quiet = true }).stdout end

local function fail(op, msg) core.fail("einval", op, msg) end

local function check_ip(op, ip)
  local a, b, c, d = tostring(ip):match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  local okv = a and tonumber(a) <= 255 and tonumber(b) <= 255 and tonumber(c) <= 255 and tonumber(d) <= 255
  if type(ip) ~= "string" or not okv then
    fail(op, ("portmap.external_ip must be an IPv4 address like \"198.51.100.7\", got %s"):format(tostring(ip)))
  end
end

local function check_lease(op, v)
  if v ~= nil and (math.type(v) ~= "integer" or v < 1 or v > 86400) then
    fail(op, ("portmap.max_lease must be a whole number of seconds from 1 to 86400 (a lease cap), got %s")
      :format(tostring(v)))
  end
end

local function check_proto(op, x)
  if not VALID[x] then
    fail(op, ("portmap: unknown protocol '%s' (valid: %s)"):format(tostring(x), VALID_TEXT))
  end
end

--- Check a router's portmap option before anything is made; nil when off. Accepts true
-- (all three), a list of protocol names, optionally with max_lease, external_ip, deny, cgn.
-- Marks the NAT spec so natrule builds the deferred guard. Pure except for spec.portmap.
function M.resolve(v, spec, op)
  op = op or "net:router"
  if v == nil or v == false then return nil end
  if v == true then v = { "upnp", "natpmp", "pcp" } end
  if type(v) ~= "table" then
    fail(op, ("portmap must be a list of protocols (valid: %s), e.g. portmap = { \"upnp\", \"natpmp\" }, got %s")
      :format(VALID_TEXT, type(v)))
  end
  local pm = { protocols = {}, deny = false }
  for k, x in pairs(v) do
    if math.type(k) == "integer" then
      check_proto(op, x)
      pm.protocols[x] = true
    elseif k == "max_lease" then check_lease(op, x); pm.max_lease = x
    elseif k == "external_ip" then check_ip(op, x); pm.external_ip = x
    elseif k == "deny" or k == "cgn" then
      if type(x) ~= "boolean" then fail(op, ("portmap.%s must be true or false"):format(k)) end
      pm[k] = x
    else
      fail(op, ("portmap: unknown option '%s' (valid: the protocols %s as a list; max_lease, external_ip, deny, cgn)")
        :format(tostring(k), VALID_TEXT))
    end
  end
  if not next(pm.protocols) then
    fail(op, ("portmap: name at least one protocol (valid: %s), or leave portmap out"):format(VALID_TEXT))
  end
  if spec then spec.portmap = true end
  return pm
end

--- net:gateway/net:node may not have one; a peer with router = r sets it on r instead.
function M.check_node(kind, opts)
  if opts.portmap == nil then return end
  if kind ~= "peer" then
    fail("net:" .. kind, ("portmap is a router's option: a %s sits on the public network with no router "
      .. "(give portmap = { %s } to net:router or to net:peer)"):format(kind, VALID_TEXT))
  end
  if opts.router then
    fail("net:peer", "portmap belongs to the router: give it to net:router{ portmap = ... } (this peer uses router "
      .. tostring(opts.router.name) .. ")")
  end
  M.resolve(opts.portmap, nil, "net:peer") -- its own router's: refused in the peer's name
end

-- running it ----------------------------------------------------------------------------

local function put(r, files)
  local eng = r.eng or r.net.eng
  eng:put_files(r.id, files, "/")
end

local function read_log(r)
  return ctl(r, "log")
end

-- What the control script's wait printed (the router's uptime, then the start's log section):
-- the clock offset for the timeline, and a clear failure when miniupnpd did not come up.
local function check_started(r, out)
  local pm = r.pm
  local up, text = out:match("^([%d.]+)[^\n]*\n(.*)$")
  r.pm_offset = core.time() - (tonumber(up) or 0)
  -- seconds the check waited for miniupnpd to listen (0: it already did; make bench shows it)
  r.pm_waited = (tonumber(out:match("^[^\n]* waited (%d+)")) or 0) * 0.02
  text = text or out
  if not text:find("Listening for NAT-PMP/PCP traffic", 1, true) then
    local ps = r:exec({ "ps" }, { quiet = true }).stdout
    core.fail("engine", "portmap on " .. r.name, "miniupnpd did not start (waited up to 10 s); its log: "
      .. (text ~= "" and text:sub(1, 800) or "(empty)") .. "; processes:\n" .. ps)
  end
  -- cgn: miniupnpd's own STUN check must have found the upstream NAT restrictive
  local want = pm.cgn and "Port forwarding is now disabled" or "unrestricted full-cone NAT"
  if not text:find(want, 1, true) then
    core.fail("engine", "portmap on " .. r.name, ("miniupnpd started without saying %q: "):format(want)
      .. text:sub(1, 800))
  end
end

local function daemon_files(r)
  local pm = r.pm
  return { { path = CONF .. ".in", data = txt.conf_text(r, pm, "@WAN@", "@LAN@"), mode = 420 },
    { path = RUN, data = txt.run_text(r, pm.external_ip or r.wan_ip, pm.cgn), mode = 493 },
    { path = CTL, data = txt.ctl_text(), mode = 493 } }
end

-- Restart miniupnpd in the running router with one exec (a fault that changes its
-- configuration); its leases are kept and reloaded.
local function restart_daemon(r)
  r.pm_token = (r.pm_token or 0) + 1
  put(r, daemon_files(r))
  check_started(r, ctl(r, "start", "keep", tostring(r.pm_token)))
end

local function stop_daemon(r) ctl(r, "stop") end

local function set_cap(r)
  local pm = r.pm
  r.pm_cap = pm.max_lease ~= nil
  ctl(r, "capoff")
  if pm.max_lease then
    put(r, { { path = CAP, data = txt.cap_text(r, pm.max_lease), mode = 493 } })
    ;(r.eng or r.net.eng):exec_detached(r.id, { "/bin/sh", CAP })
  end
end

local function up_note(r)
  local pm = r.pm
  if pm.max_lease or r.pm_cap then set_cap(r) end
  r.net:note("portmap", ("%s: miniupnpd up (%s), external address %s"):format(r.name,
    M.describe(pm), pm.external_ip or r.wan_ip))
end

--- Port mapping at the router's creation (Router:bring_up): what rides on the router's boot
-- (natrig.nat.boot), or nil without portmap: miniupnpd's table, loaded by each start of the
-- container in the same nft transaction as natrig's NAT rules, and its start script, run by
-- each start (its first, and router:restart's: every mapping lost, a new epoch). nat.load
-- waits for it in the exec that checks natrig's rules (M.verify_argv), so port mapping costs
-- bring-up no exec of its own.
-- @local
function M.boot(r)
  if not r.pm then return nil end
  r.pm_seen, r.pm_wait = 0, "b1"
  local files = daemon_files(r)
  files[#files + 1] = { path = NFT, data = txt.nft_text(r.pm), mode = 420 }
  return { nft = { NFT }, files = files, daemon = { name = "portmap", data = txt.boot_hook_text() } }
end

--- The router container started again (router:restart), its start number n (natrig.nat):
-- its miniupnpd starts fresh by itself (every mapping lost, new epoch); nat.load waits for it.
-- @local
function M.restarted(r, n)
  if r.pm and n then r.pm_wait = "b" .. n end
end

--- The argv nat.load lists natrig's rules with: wrapped so that the same exec waits for a
-- miniupnpd that started with the container. Unchanged without one.
-- @local
function M.verify_argv(r, argv)
  if not r.pm_wait then return argv end
  local a = { "/bin/sh", CTL, "verify", r.pm_wait }
  for _, x in ipairs(argv) do a[#a + 1] = x end
  return a
end

--- Split what M.verify_argv's exec printed (the wait's part, READY_MARK, the listing): the
-- listing, and the wait's part (nil when the argv was not wrapped).
-- @local
function M.split(r, out)
  if not r.pm_wait then return out, nil end
  local at = out:find(txt.READY_MARK .. "\n", 1, true)
  if not at then
    core.fail("engine", "portmap on " .. r.name, "the wait for miniupnpd printed no " .. txt.READY_MARK
      .. " line: " .. out:sub(-800))
  end
  return out:sub(at + #txt.READY_MARK + 1), out:sub(1, at - 1)
end

--- miniupnpd's start, as the wait in nat.load's exec saw it: checked, then noted.
-- @local
function M.booted(r, out)
  r.pm_wait = nil
  check_started(r, out)
  up_note(r)
end

--- A portmap setting in one line ("upnp,natpmp deny max_lease=60").
-- @local
function M.describe(pm)
  local l = {}
  for _, p in ipairs(M.PROTOCOLS) do if pm.protocols[p] then l[#l + 1] = p end end
  local s = #l > 0 and table.concat(l, ",") or "all protocols off"
  if pm.deny then s = s .. " deny" end
  if pm.cgn then s = s .. " cgn" end
  if pm.max_lease then s = s .. " max_lease=" .. pm.max_lease end
  if pm.external_ip then s = s .. " external_ip=" .. pm.external_ip end
  return s
end

-- events: miniupnpd's log lines into natrig's timeline, stamped by the router's clock ---

-- miniupnpd 2.3.1's log lines that mark a mapping's life: pattern -> kind, via, and the
-- captures (port, proto, lease) where the line has them.
local EVENTS = {
  { "^AddPortMapping: ext port (%d+) to [%d.]+:%d+ protocol (%u+) for: .* leaseduration=(%d+)", "granted", "upnp" },
  { "^updating existing port mapping (%d+) (%u+)", "renewed", "upnp" },
  { "^NAT%-PMP port mapping request : (%d+)%->[%d.]+:%d+ (%a+) lifetime=([1-9]%d*)s", "requested", "natpmp" },
  { "^NAT%-PMP (%u+) port (%d+) mapping removed", "deleted", "natpmp", swap = true },
  { "^PCP MAP: added mapping (%u+) (%d+)%->", "granted", "pcp", swap = true },
  { "^DeletePortMapping: external port: (%d+), protocol: (%u+)", "deleted", "upnp" },
  { "^remove port mapping (%d+) (%u+) because it has expired", "expired" },
  { "^No allowed eport for NAT%-PMP (%d+) (%a+)", "refused", "natpmp" },
  { "^Failed to add NAT%-PMP (%d+) (%a+)", "refused", "natpmp" }, -- e.g. port forwarding off (cgn)
}

--- Read miniupnpd's log and add the new mapping events to the timeline (target "portmap",
-- fields router, kind, via, port, proto, lease), with the time miniupnpd logged them.
-- Kinds: granted, renewed, requested (NAT-PMP: its grant is not logged apart), deleted,
-- expired, refused. Returns the events added.
function M.sync(r)
  if not r.pm or not r.id then return {} end
  local ok, text = pcall(read_log, r)
  if not ok then return {} end
  local added, n = {}, 0
  for line in text:gmatch("[^\n]+") do
    n = n + 1
    if n > (r.pm_seen or 0) then
      local up, msg = line:match("^([%d.]+) miniupnpd%[%d+%]: (.*)$")
      for _, e in ipairs(msg and EVENTS or {}) do
        local c1, c2, c3 = msg:match(e[1])
        if c1 then
          if e.swap then c1, c2 = c2, c1 end
          local t = (r.pm_offset or 0) + (tonumber(up) or 0)
          local ev = { router = r.name, kind = e[2], via = e[3], port = tonumber(c1),
            proto = c2 and c2:lower(), lease = tonumber(c3) }
          local fields = {} -- entries' fields are strings (natrig.logs)
          for k, v in pairs(ev) do fields[k] = tostring(v) end
          local text2 = ("%s %s: %s"):format(e[2], r.name, msg)
          local net = r.net
          net.actions[#net.actions + 1] = { time = t, engine_time = t, node = "natrig", level = "info",
            target = "portmap", message = "portmap " .. text2, raw = "portmap " .. text2,
            fields = fields, seq = #net.actions + 1, stream = "natrig" }
          ev.time = t
          added[#added + 1] = ev
          break
        end
      end
    end
  end
  r.pm_seen = n
  return added
end

local function via_of(desc)
  if desc:match("^NAT%-PMP") then return "natpmp" end
  if desc:match("^PCP") then return "pcp" end
  return "upnp"
end

--- The router's live mappings, from miniupnpd's lease file:
-- { proto, internal = "ip:port", external = "ip:port", lease, remaining, description, via }.
-- lease: seconds granted (nil when it never expires), remaining: seconds left.
function M.mappings(r)
  if not r.pm then return {} end
  M.sync(r)
  local text = ctl(r, "leases")
  local now = tonumber(text:match("(%d+)%s*$")) or math.floor(core.time())
  local ext = r.pm.external_ip or r.wan_ip
  r.pm_granted = r.pm_granted or {}
  local list = {}
  for line in text:gmatch("[^\n]+") do
    local lp, le, lia, lip, lexp, ldesc = line:match("^(%u%u%u):(%d+):([%d.]+):(%d+):(%d+):(.*)$")
    local l = lp and { proto = lp, eport = tonumber(le), iaddr = lia, iport = tonumber(lip),
      expiry = tonumber(lexp), desc = ldesc }
    if l then
      local key = l.proto .. ":" .. l.eport
      local g = r.pm_granted[key]
      if not g or g.expiry ~= l.expiry then
        g = { expiry = l.expiry, lease = l.expiry > 0 and math.max(0, l.expiry - now) or nil }
        r.pm_granted[key] = g
      end
      list[#list + 1] = { proto = l.proto:lower(), internal = l.iaddr .. ":" .. l.iport,
        external = ext .. ":" .. l.eport, external_port = l.eport, lease = g.lease,
        remaining = l.expiry > 0 and math.max(0, l.expiry - now) or nil, description = l.desc,
        via = via_of(l.desc) }
    end
  end
  table.sort(list, function(a, b) return a.external_port < b.external_port end)
  return list
end

--- Faults and switches mid-run: deny, cgn, max_lease, external_ip, protocols (a list),
-- enable / disable (a protocol name or list). cgn: the router's upstream is a port-changing
-- NAT (a carrier-grade NAT): natrig's STUN reflector answers with a changed port, miniupnpd's
-- own check finds the NAT restrictive and turns port forwarding off, so every mapping
-- request fails (NAT-PMP result 3 Network Failure, PCP NO_RESOURCES).
function M.change(r, opts)
  local op = "router:portmap"
  if not r.pm then fail(op, r.name .. " has no port mapping: give net:router{ portmap = { ... } }") end
  if type(opts) ~= "table" then
    fail(op, "router:portmap takes a table: deny, cgn, max_lease, external_ip, protocols, enable, disable")
  end
  local pm, restart, switches = r.pm, false, false
  local new = { protocols = {} }
  for p in pairs(pm.protocols) do new.protocols[p] = true end
  for k, v in pairs(opts) do
    if k == "deny" or k == "cgn" then
      if type(v) ~= "boolean" then fail(op, k .. " must be true or false") end
      new[k] = v; restart = restart or v ~= (pm[k] or false)
    elseif k == "max_lease" then
      if v ~= false then check_lease(op, v) end
      new.max_lease = v
    elseif k == "external_ip" then check_ip(op, v); new.external_ip = v; restart = true
    elseif k == "protocols" or k == "enable" or k == "disable" then
      local l = type(v) == "table" and v or { v }
      for _, p in ipairs(l) do check_proto(op, p) end
      if k == "protocols" then new.protocols = {} end
      for _, p in ipairs(l) do new.protocols[p] = k ~= "disable" or nil end
      switches = true
    else
      fail(op, ("unknown option '%s' (valid: deny, cgn, max_lease, external_ip, protocols, enable, disable)")
        :format(tostring(k)))
    end
  end
  if new.deny ~= nil then pm.deny = new.deny end
  if new.cgn ~= nil then pm.cgn = new.cgn end
  if new.external_ip then pm.external_ip = new.external_ip end
  pm.protocols = new.protocols
  r.net:note("portmap", ("%s: %s"):format(r.name, M.describe(pm)))
  if switches then
    -- pm.nft too: each start of the container loads it (router:restart keeps the switches)
    put(r, { { path = NFT .. ".sw", data = txt.switch_rules(pm), mode = 420 },
      { path = NFT, data = txt.nft_text(pm), mode = 420 } })
    r:exec({ "nft", "-f", NFT .. ".sw" }, { check = true, quiet = true })
  end
  if restart then
    stop_daemon(r)
    restart_daemon(r)
  end
  if new.max_lease ~= nil then
    pm.max_lease = new.max_lease or nil
    set_cap(r)
  end
end

--- For router:diagnostics(): miniupnpd's log, the lease file and its nftables table.
function M.diagnostics(r)
  if not r.pm then return nil end
  M.sync(r)
  return ctl(r, "diag")
end

return M
