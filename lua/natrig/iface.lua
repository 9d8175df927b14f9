--- natrig.iface: small pure helpers that several modules share (node, impair, classify,
-- capture), kept in a leaf module so none of them needs another's whole module.
-- @module natrig.iface
local M = {}

--- The interface carrying ip (IPv4, or IPv6 in canonical text), from the text of
-- `ip -o addr show` (interface names are not stable in containers: always look them up by
-- address). Pure.
-- @local
function M.iface_for(text, ip)
  for line in text:gmatch("[^\n]+") do
    local dev, addr = line:match("^%d+:%s+(%S+)%s+inet6?%s+([%x.:]+)/")
    if addr == ip then return (dev:gsub("@.*$", "")) end
  end
end

--- An impairment spec as one line ("delay=100ms loss=1%"), for the timeline. Pure.
-- @local
function M.spec_text(spec)
  if type(spec) ~= "table" then return tostring(spec) end
  local l = {}
  for k, v in pairs(spec) do l[#l + 1] = k .. "=" .. tostring(v) end
  table.sort(l)
  return table.concat(l, " ")
end

--- What `impair`, `impair_link` and `clear_impair` return: prints as one line, e.g.
-- `impairment on a: delay=100ms direction=both (natrig-shaper, applied in 12 ms)`.
-- @type Impairment
-- @tfield string target the node or router's name (`a -> b` for a link)
-- @tfield string spec the impairment now in force, as natrig-shaper or netem took it ("" once cleared)
-- @tfield ?string engine "natrig-shaper" or "netem" (nil once cleared)
-- @tfield number seconds how long applying it took (seconds)
local Impairment = { __name = "natrig.Impairment" }
Impairment.__index = Impairment
Impairment.__tostring = function(r)
  if r.spec == "" then return ("no impairment on %s (cleared in %.0f ms)"):format(r.target, r.seconds * 1000) end
  return ("impairment on %s: %s (%s, applied in %.0f ms)"):format(r.target, r.spec, tostring(r.engine),
    r.seconds * 1000)
end

--- An Impairment value (see the type above). Pure.
-- @tparam string target
-- @tparam string spec
-- @tparam ?string engine
-- @tparam number seconds
-- @treturn Impairment
-- @local
function M.impairment(target, spec, engine, seconds)
  return setmetatable({ target = target, spec = spec or "", engine = engine, seconds = seconds }, Impairment)
end

return M
