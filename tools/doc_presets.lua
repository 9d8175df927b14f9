-- tools/doc_presets.lua: writes doc/presets.lua, the API reference's page of impairment
-- and NAT presets, from the C tables themselves (natrig.core.impair_presets/impair_check,
-- natrig.core.nat_presets/nat_resolve), so the page cannot drift from what natrig does.
-- `make doc` runs it with the built natrig.so before LDoc; tests/lua/docs_test.lua checks
-- the committed page is what it writes now.
--   LUA_CPATH='build/lua/?.so;;' lua5.4 tools/doc_presets.lua [OUT]   (default: stdout)
require "natrig"
local core = require "natrig.core"

local function esc(s) return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;")) end
local function row(cells, th)
  local tag = th and "th" or "td"
  local l = {}
  for _, c in ipairs(cells) do l[#l + 1] = ("<%s>%s</%s>"):format(tag, c, tag) end
  return "-- <tr>" .. table.concat(l) .. "</tr>"
end
local function code(s) return "<code>" .. esc(s) .. "</code>" end

local out = {
  "--- The impairment and NAT presets, with their values: a page of the reference, written",
  "-- by tools/doc_presets.lua from natrig's C tables (src/core/impair.c, src/core/natrule.c)",
  "-- when `make doc` runs. Do not edit: run `make doc`.",
  "--",
  "-- <h2>Impairment presets</h2>",
  "-- <code>node:impair(\"NAME\")</code>, <code>node:impair{ preset = \"NAME\", loss = \"2%\" }</code>",
  "-- (keys given beside a preset replace its values), <code>NATRIG_EMULATION=NAME</code> (every node).",
  "-- The values are those natrig-shaper (or tc netem) is given; delay and jitter apply to each",
  "-- packet the node sends (<code>direction = \"both\"</code>: also to what it receives).",
  "--",
  "-- <table>",
  row({ "preset", "delay", "jitter", "loss", "loss_corr", "other keys" }, true),
}
for _, name in ipairs(core.impair_presets()) do
  local kv, order = {}, {}
  for _, tok in ipairs((core.impair_check({ preset = name }))) do
    local k, v = tok:match("^([^=]+)=(.*)$")
    kv[k] = v
    order[#order + 1] = k
  end
  local other = {}
  for _, k in ipairs(order) do
    local main = k == "delay" or k == "jitter" or k == "loss" or k == "loss_corr"
    if not main then other[#other + 1] = k .. "=" .. kv[k] end
  end
  out[#out + 1] = row({ code(name), esc(kv.delay or "-"), esc(kv.jitter or "-"), esc(kv.loss or "-"),
    esc(kv.loss_corr or "-"), esc(#other > 0 and table.concat(other, " ") or "-") })
end
out[#out + 1] = "-- </table>"
out[#out + 1] = "--"
local default = core.nat_resolve({}).preset
local nat_rows = {
  "-- <h2>NAT presets</h2>",
  "-- <code>net:peer{ nat = \"NAME\" }</code>, <code>net:router{ nat = \"NAME\" }</code>,",
  "-- <code>router:set_nat(\"NAME\")</code>, <code>NATRIG_NAT=NAME</code>; a table",
  "-- <code>{ preset = \"NAME\", hairpin = false, timeout = 30 }</code> changes one behaviour. Mapping and",
  "-- filtering in RFC 4787 terms: EIM endpoint-independent, ADM address-dependent, APDM",
  "-- address-and-port-dependent mapping; EIF, ADF, APDF the same for filtering. The preset",
  "-- a router gets when nothing names one: " .. code(default) .. ".",
  "--",
  "-- <table>",
  row({ "preset", "mapping", "filtering", "hairpin", "port preservation", "UDP timeout (s)",
    "conntrack race" }, true),
}
for _, r in ipairs(nat_rows) do out[#out + 1] = r end
local function yn(b) return b and "yes" or "no" end
for _, name in ipairs(core.nat_presets()) do
  local r = core.nat_resolve({ preset = name })
  out[#out + 1] = row({ code(name), esc(r.mapping), esc(r.filtering), yn(r.hairpin), yn(r.port_preservation),
    esc(r.udp_timeout), yn(r.racy) })
end
out[#out + 1] = "-- </table>"
out[#out + 1] = "-- <p>conntrack race: plain Linux masquerade, no guard: an unsolicited packet to the public"
out[#out + 1] = "-- port makes a conntrack entry first, and the peer's own outbound packet then moves to"
out[#out + 1] = "-- another port, which breaks simultaneous hole punching (src/core/natrule.h).</p>"
-- The carrier-grade NAT: its own row, and what a client behind a home router behind it sees
-- (natrule_cgn_claim: what coturn measures, tests/nat/netns-cgn and tests/engine/cgn_test.lua)
out[#out + 1] = "-- <h2>Carrier-grade NAT</h2>"
out[#out + 1] = "-- <code>net:router{ nat = \"cgnat\", pool = 1, port_block = 512, blocks = 4, udp_timeout = 120,"
out[#out + 1] = "-- tcp_timeout = 7440, filtering = \"EIF\" }</code> (RFC 6888, RFC 7021; inside 100.64.0.0/10):"
out[#out + 1] = "-- paired pooling, blocks reserved per customer, a quota of blocks x port_block mappings"
out[#out + 1] = "-- (UDP and TCP), random ports, hairpinning (src/core/natrule_cgn.h). A client behind a home"
out[#out + 1] = "-- router behind it:"
out[#out + 1] = "--"
out[#out + 1] = "-- <table>"
out[#out + 1] = row({ "home router", "CGN filtering", "mapping", "filtering", "hairpin", "port preservation" }, true)
local function cgn_spec(f)
  return { filtering = f, inside = "100.64.0.0/24", pool = { "198.18.0.1" }, customers = { "100.64.0.1" } }
end
for _, f in ipairs { "EIF", "APDF" } do
  local c = core.cgn_claim(cgn_spec(f))
  out[#out + 1] = row({ "(none)", esc(f), esc(c.mapping), esc(c.filtering), yn(c.hairpin), "no" })
  for _, name in ipairs(core.nat_presets()) do
    local h = core.nat_claim(core.nat_resolve({ preset = name }))
    c = core.cgn_claim(cgn_spec(f), h.mapping, h.filtering, h.hairpin)
    out[#out + 1] = row({ code(name), esc(f), esc(c.mapping), esc(c.filtering), yn(c.hairpin), "no" })
  end
end
out[#out + 1] = "-- </table>"
out[#out + 1] = "-- @module presets"
out[#out + 1] = "return {}"
local text = table.concat(out, "\n") .. "\n"

if arg and arg[1] then
  local f = assert(io.open(arg[1], "w"))
  f:write(text)
  f:close()
else
  io.write(text)
end
