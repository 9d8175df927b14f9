--- natrig.nat: NAT behaviour of a router, from a preset name or a spec table to nftables
-- rules applied in the router and verified there (no sleeps). The rules come from pure C
-- (src/core/natrule*.c); see src/core/natrule.h for how each RFC 4787 behaviour is built.
--
-- Presets: full_cone (EIM+EIF), restricted_cone (EIM+ADF), port_restricted (EIM+APDF,
-- the default), symmetric (APDM+APDF), address_dependent (ADM+ADF), linux_masquerade
-- (plain MASQUERADE: classifies as EIM+APDF but has the conntrack race that breaks
-- simultaneous hole punching, as some real Linux routers do).
-- Options: hairpin (bool), timeout (UDP mapping timeout, seconds), port_preservation,
-- tcp = { mapping =, filtering =, syn = "drop"|"rst"|"hold", established =, transitory = }
-- (RFC 5382; TCP keeps the preset's mapping and filtering unless set apart here).
-- @module natrig.nat
local core = require "natrig.core"

local M = {}

-- tcp = {...} (a router option, or a spec's own) -> the C spec's tcp_* keys
local TCP_KEYS = { mapping = "tcp_mapping", filtering = "tcp_filtering", syn = "tcp_syn",
  established = "tcp_established", transitory = "tcp_transitory" }
local function tcp_into(spec, tcp)
  if tcp == nil then return end
  if type(tcp) ~= "table" then
    core.fail("einval", "nat", "tcp must be a table { mapping, filtering, syn, established, transitory }, got "
      .. type(tcp))
  end
  for k, v in pairs(tcp) do
    local key = TCP_KEYS[k]
    if not key then
      core.fail("einval", "nat", ("unknown tcp option '%s' (valid: mapping, filtering, syn, established, "
        .. "transitory)"):format(tostring(k)))
    end
    if type(v) == "number" then v = math.tointeger(v) or tostring(v) end
    if type(v) ~= "string" and math.type(v) ~= "integer" then
      core.fail("einval", "nat", ("tcp.%s must be a string or a number, got %s"):format(k, type(v)))
    end
    spec[key] = tostring(v)
  end
end

--- The NAT preset names (the presets page has their behaviours).
-- @treturn {string,...}
-- @usage for _, p in ipairs(require("natrig.nat").presets()) do print(p) end
function M.presets() return core.nat_presets() end

--- The preset a router gets when nothing names one (natrule.h's NATRULE_DEFAULT_PRESET).
M.DEFAULT_PRESET = core.nat_resolve({}).preset

--- preset: a name or a table { preset=, mapping=, filtering=, hairpin=, ... };
-- opts may carry hairpin, timeout, port_preservation.
-- @tparam string|table preset
-- @tparam[opt] table opts
-- @treturn table { preset, mapping, filtering, hairpin, port_preservation, racy, udp_timeout, timeout,
--   tcp = { mapping, filtering, syn, established, transitory } }
-- @usage require("natrig.nat").resolve("symmetric", { hairpin = false }).mapping   --> "APDM"
function M.resolve(preset, opts)
  local spec = {}
  if type(preset) == "table" then
    for k, v in pairs(preset) do spec[k] = v end
  elseif type(preset) == "string" then
    spec.preset = preset
  elseif preset ~= nil then
    core.fail("einval", "nat", "nat must be a preset name or a table, got " .. type(preset))
  end
  opts = opts or {}
  local tcp = spec.tcp
  spec.tcp = nil
  tcp_into(spec, tcp)
  tcp_into(spec, opts.tcp)
  if opts.hairpin ~= nil then spec.hairpin = opts.hairpin end
  if opts.port_preservation ~= nil then spec.port_preservation = opts.port_preservation end
  if opts.timeout ~= nil then spec.udp_timeout = opts.timeout end
  if spec.timeout ~= nil then spec.udp_timeout, spec.timeout = spec.timeout, nil end
  local r = core.nat_resolve(spec)
  r.timeout = r.udp_timeout
  return r
end

local function c_spec(spec)
  local c = { preset = spec.preset, mapping = spec.mapping, filtering = spec.filtering,
    hairpin = spec.hairpin, port_preservation = spec.port_preservation, racy = spec.racy,
    udp_timeout = spec.udp_timeout, portmap = spec.portmap }
  tcp_into(c, spec.tcp)
  return c
end

--- One line for a NAT: "symmetric (APDM APDF hairpin)", plus TCP's behaviour when it is set
-- apart from UDP's or its SYN answer is not a silent drop: "(... tcp EIM EIF syn=rst)".
-- @tparam table spec a resolved NAT (router.nat)
-- @treturn string
-- @usage print(require("natrig.nat").describe(r.nat))
function M.describe(spec)
  local t, tcp = spec.tcp, ""
  if t and (t.mapping ~= spec.mapping or t.filtering ~= spec.filtering or t.syn ~= (spec.racy and "rst" or "drop")) then
    tcp = (" tcp %s %s syn=%s"):format(t.mapping, t.filtering, t.syn)
  end
  return ("%s (%s %s%s%s)"):format(spec.preset or "custom", spec.mapping, spec.filtering,
    spec.hairpin and " hairpin" or "", tcp)
end

function M.ruleset(spec, wan_ip, lans) return core.nat_ruleset(c_spec(spec), wan_ip, lans) end

--- What the router's NAT claims, in RFC 5780 classifier terms.
-- @tparam table spec a resolved NAT
-- @treturn table { mapping, filtering, hairpin, port_preserved, describe, ... }, as net:classify reports a NAT
-- @usage expect(net:classify(a).mapping):eq(require("natrig.nat").claim(a.router.nat).mapping)
function M.claim(spec) return core.nat_claim(c_spec(spec)) end

local function lans_of(router)
  -- a NAT64 router's pool is one more LAN: translated packets get the same NAT (natrig.nat64)
  return { router.lan.subnet, router.nat64 and require("natrig.nat64").POOL or nil }
end

--- The ruleset file nat.load loads, as put_files entries: Router:bring_up puts it before
-- the router starts, in the same archive as its other files (none for a CGN: cgn.apply).
-- @local
function M.files(router)
  if router.nat.cgnat then return {} end
  if router.pm then router.nat.portmap = true end -- natrig.portmap: the guard defers its drop
  return { { path = core.nat_ruleset_path, data = core.nat_ruleset(c_spec(router.nat), router.wan_ip, lans_of(router)),
    mode = 420 } }
end

--- Load the ruleset nat.files put in one nft transaction, then check the listing shows
-- every chain, set and address it should. A router whose miniupnpd started with the
-- container (natrig.portmap.boot) is waited for in the same exec as the listing; at its
-- first start that start loaded the ruleset too (portmap.rules_at_boot), and its failure
-- is said before the listing's.
-- @local
function M.load(router)
  if router.nat.cgnat then return require("natrig.cgn").apply(router) end
  local spec, lans = c_spec(router.nat), lans_of(router)
  local pm = require "natrig.portmap"
  if not pm.rules_at_boot(router) then router:exec(core.nat_argvs("apply")[1], { check = true }) end
  local out = router:exec(pm.verify_argv(router, core.nat_argvs("verify")[1]), { check = true }).stdout
  local listing, rest = pm.split(router, out)
  if rest then pm.booted(router, rest) end
  local ok, why = core.nat_check(spec, router.wan_ip, lans, listing)
  if not ok then
    core.fail("engine", "nat on " .. router.name, "rules did not take effect: " .. why)
  end
  local fwd = router:exec({ "cat", "/proc/sys/net/ipv4/ip_forward" }, { check = true }).stdout
  if not fwd:match("^1") then
    core.fail("engine", "nat on " .. router.name,
      "IP forwarding is off in the router (sysctl net.ipv4.ip_forward not applied)")
  end
  if router.fw6 then M.apply6(router) end
end

--- Upload the ruleset, load it in one nft transaction, then check the listing shows
-- every chain, set and address it should: the router is ready when this returns.
-- @local
function M.apply(router)
  local files = M.files(router)
  if #files > 0 then router.eng:put_files(router.id, files, "/") end
  M.load(router)
end

--- The router's IPv6 firewall as a natrule spec (family 6: the same generator, table ip6
-- natrig), or nil without IPv6.
-- @local
function M.spec6(router)
  local f = router.fw6
  return f and { family = 6, filtering = f.filtering, hairpin = f.hairpin, udp_timeout = f.timeout,
    npt6 = router.npt6_prefix }
end

--- Load the IPv6 firewall (RFC 6092) beside the NAT and check it took, as M.apply does.
-- @local
function M.apply6(router)
  local spec, lans = M.spec6(router), { router.lan.subnet6 }
  local apply = core.nat_argvs("apply", spec)[1]
  router.eng:put_files(router.id, { { path = apply[3], data = core.nat_ruleset(spec, router.wan_ip6, lans),
    mode = 420 } }, "/")
  router:exec(apply, { check = true })
  local listing = router:exec(core.nat_argvs("verify", spec)[1], { check = true }).stdout
  local ok, why = core.nat_check(spec, router.wan_ip6, lans, listing)
  if not ok then core.fail("engine", "ipv6 firewall on " .. router.name, "rules did not take effect: " .. why) end
  local fwd = router:exec({ "cat", "/proc/sys/net/ipv6/conf/all/forwarding" }, { check = true }).stdout
  if not fwd:match("^1") then
    core.fail("engine", "ipv6 firewall on " .. router.name,
      "IPv6 forwarding is off in the router (sysctl net.ipv6.conf.all.forwarding not applied)")
  end
end

function M.argvs6_verify(router) return core.nat_argvs("verify", M.spec6(router))[1] end

-- Forget every mapping: the NAT's learned sets, the IPv6 firewall's, then conntrack (once).
function M.flush_argvs(router)
  local l = router.nat.cgnat and require("natrig.cgn").flush_argvs(router)
    or core.nat_argvs("flush", c_spec(router.nat))
  if router.fw6 then
    for _, a in ipairs(core.nat_argvs("flush", M.spec6(router))) do
      if a[1] == "nft" then table.insert(l, 1, a) end
    end
  end
  return l
end

--- "ruleset" or "conntrack"
-- @local
function M.diag_argv(kind)
  local a = core.nat_argvs("diag")
  return kind == "conntrack" and a[2] or a[1]
end

return M
