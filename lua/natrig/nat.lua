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

--- The ruleset file nat.load loads and the router's boot script, as put_files entries (none
-- for a CGN: cgn.apply).
-- @local
function M.files(router)
  if router.nat.cgnat then return {} end
  if router.pm then router.nat.portmap = true end -- natrig.portmap: the guard defers its drop
  return { { path = core.nat_ruleset_path, data = core.nat_ruleset(c_spec(router.nat), router.wan_ip, lans_of(router)),
    mode = 420 }, { path = M.BOOT, data = M.boot_text(), mode = 493 } }
end

-- A router's boot. Its container's command is M.BOOT: each start of the container (its
-- first, and router:restart's) loads natrig's NAT ruleset in one nft transaction (with the
-- tables of the daemons that ride on the router, natrig.portmap's, in the same one), leaves
-- nft's status for that start's number, starts those daemons, then holds the container as
-- netns.HOLD does. nat.load's one exec (M.BOOT verify) waits for that status, reads IP
-- forwarding and lists the rules: a router's bring-up loads and checks its rules with one
-- exec (each docker exec costs the engine three calls and the router about 17 ms of CPU in
-- its cgroup, runc's init). Later loads (set_nat, an attached router's restart) load in the
-- same exec (verify load).
M.BOOT = "/etc/natrig/boot.sh"
local BOOT_NFT, BOOT_END = "/etc/natrig/boot.nft", "@@natrig-boot-end@@"

-- The script, both of its parts (one file; natrig's own text, no user input in it):
--   (no argument)       the container's command, as above
--   verify N|load ARGV  what start N's load said (waited for up to 30 s), or a load now;
--                       then a line "load STATUS forward IP_FORWARD", nft's message when it
--                       failed, a line BOOT_END, then ARGV (the listing), with ARGV's status
function M.boot_text()
  return ([[#!/bin/sh
# written by natrig (lua/natrig/nat.lua): a router's rules at each start of its container
st=/var/lib/natrig-boot
nf=%s; [ -e %s ] && nf=%s
if [ "$1" = verify ]; then
  rc=none out=
  if [ "$2" = load ]; then
    out=$(nft -f %s 2>&1); rc=$?
  else
    i=0
    while [ ! -s $st.$2 ] && [ $i -lt 1500 ]; do usleep 20000; i=$((i+1)); done
    [ -s $st.$2 ] && read rc < $st.$2
  fi
  read fwd < /proc/sys/net/ipv4/ip_forward
  echo "load $rc forward $fwd"
  [ -n "$out" ] && echo "$out"
  [ "$rc" = 0 ] || [ "$2" = load ] || cat $st.$2.out 2>/dev/null
  echo %s
  shift 2
  exec "$@"
fi
[ -d /var/lib ] || mkdir -p /var/lib
n=0
[ -f $st.n ] && read n < $st.n
n=$((n + 1)); echo $n > $st.n
nft -f $nf > $st.$n.out 2>&1
echo $? > $st.$n
for d in /etc/natrig/boot.d/*; do [ -e "$d" ] && /bin/sh "$d" $n </dev/null >/dev/null 2>&1 & done
exec /usr/bin/sleep 2000000000
]]):format(core.nat_ruleset_path, BOOT_NFT, BOOT_NFT, core.nat_ruleset_path, BOOT_END)
end

--- The router's boot at its creation (Router:bring_up): the container's command and the
-- files to put before it starts, or nil for a CGN (natrig.cgn writes, loads and checks its
-- own ruleset, made from its customers, by exec in cgn.apply; it is one router per carrier
-- network, not one per peer). extra: what rides on the boot (natrig.portmap.boot): nft =
-- files loaded in the same transaction as the ruleset, files = what they and the daemon
-- need, daemon = a script started at each start with the start's number (boot.d).
-- @local
function M.boot(router, extra)
  if router.nat.cgnat then return nil end
  router.boot = { n = 1, wait = true } -- natrig.nat's: the container's starts, and whether
  -- nat.load has to wait for the last one's load
  local files = M.files(router)
  for _, f in ipairs(extra and extra.files or {}) do files[#files + 1] = f end
  if extra and extra.nft then
    local l = { "# written by natrig (lua/natrig/nat.lua): the rules each start loads", ('include "%s"')
      :format(core.nat_ruleset_path) }
    for _, f in ipairs(extra.nft) do l[#l + 1] = ('include "%s"'):format(f) end
    files[#files + 1] = { path = BOOT_NFT, data = table.concat(l, "\n") .. "\n", mode = 420 }
  end
  if extra and extra.daemon then
    files[#files + 1] = { path = "/etc/natrig/boot.d/" .. extra.daemon.name, data = extra.daemon.data, mode = 493 }
  end
  return { cmd = { "/bin/sh", M.BOOT }, files = files }
end

--- The router's container started again (router:restart): its boot loaded the rules again,
-- nat.load waits for that. Returns the start's number (nil: not known, an attached router).
-- @local
function M.restarted(router)
  local b = router.boot
  if not b then return nil end
  b.n, b.wait = b.n + 1, true
  return b.n
end

local function split_boot(router, out)
  local rc, fwd, rest = out:match("^load (%S+) forward (%S*)\n(.*)$")
  local at = rest and rest:find(BOOT_END .. "\n", 1, true)
  if not at then
    core.fail("engine", "nat on " .. router.name, ("the check of its rules printed no %s line (is %s there?): %s")
      :format(BOOT_END, M.BOOT, out:sub(1, 800)))
  end
  return rc, fwd, rest:sub(1, at - 1), rest:sub(at + #BOOT_END + 1)
end

--- Load the rules (or, after a start of the container, wait for the load its boot did) and
-- check them in one exec: the load's status (a failure said with nft's own message before
-- anything else), then miniupnpd's start when the router maps ports (natrig.portmap, waited
-- for in the same exec), then the listing (every chain, set and address it should show),
-- then IP forwarding.
-- @local
function M.load(router)
  if router.nat.cgnat then return require("natrig.cgn").apply(router) end
  local spec, lans = c_spec(router.nat), lans_of(router)
  local pm = require "natrig.portmap"
  local b = router.boot
  local mode = b and b.wait and tostring(b.n) or "load"
  if b then b.wait = false end
  local argv = { "/bin/sh", M.BOOT, "verify", mode }
  for _, x in ipairs(pm.verify_argv(router, core.nat_argvs("verify")[1])) do argv[#argv + 1] = x end
  local r = router:exec(argv)
  local rc, fwd, nft_out, out = split_boot(router, r.stdout)
  if rc ~= "0" then
    local what = mode == "load" and ("loading its rules (nft -f %s)"):format(core.nat_ruleset_path)
      or ("loading its rules as its container started (start %s, %s)"):format(mode, M.BOOT)
    core.fail("engine", "nat on " .. router.name, ("%s %s: %s"):format(what,
      rc == "none" and "said nothing within 30 s" or "failed (nft exited " .. rc .. ")",
      nft_out:match("%S") and nft_out:gsub("%s+$", ""):sub(1, 800) or "(no message)"))
  end
  local listing, rest = pm.split(router, out)
  if rest then pm.booted(router, rest) end
  if r.code ~= 0 then
    core.fail("engine", "nat on " .. router.name, ("listing its rules (nft list table ip natrig) exited %d: %s")
      :format(r.code, (r.stderr ~= "" and r.stderr or listing):sub(1, 400)))
  end
  local ok, why = core.nat_check(spec, router.wan_ip, lans, listing)
  if not ok then
    core.fail("engine", "nat on " .. router.name, "rules did not take effect: " .. why)
  end
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
