--- natrig.iface: small pure helpers that several modules share (node, impair, classify,
-- capture), kept in a leaf module so none of them needs another's whole module.
-- @module natrig.iface
local M = {}

--- The interface carrying ip, from the text of `ip -o -4 addr show` (interface names are
-- not stable in containers: always look them up by address). Pure.
function M.iface_for(text, ip)
  for line in text:gmatch("[^\n]+") do
    local dev, addr = line:match("^%d+:%s+(%S+)%s+inet%s+([%d.]+)/")
    if addr == ip then return (dev:gsub("@.*$", "")) end
  end
end

--- An impairment spec as one line ("delay=100ms loss=1%"), for the timeline. Pure.
function M.spec_text(spec)
  if type(spec) ~= "table" then return tostring(spec) end
  local l = {}
  for k, v in pairs(spec) do l[#l + 1] = k .. "=" .. tostring(v) end
  table.sort(l)
  return table.concat(l, " ")
end

return M
