-- The API reference (issue 28.4), pure: the presets page (doc/presets.lua) is what
-- tools/doc_presets.lua writes from the C tables now, and names every preset with its
-- values; the reference's public methods carry parameter types, return shapes and an
-- example (LDoc @tparam/@treturn/@usage).
local t = require "tap"
require "natrig"
local core = require "natrig.core"

local function read(p)
  local f = assert(io.open(p))
  local s = f:read("a")
  f:close()
  return s
end

-- the presets page
local gen = io.popen("lua5.4 tools/doc_presets.lua")
local now = gen:read("a")
gen:close()
local page = read("doc/presets.lua")
t.ok(#now > 0 and now == page, "doc/presets.lua is what tools/doc_presets.lua writes from the C tables (make doc)")
for _, name in ipairs(core.impair_presets()) do
  local toks = core.impair_check({ preset = name })
  local delay = (table.concat(toks, " ")):match("delay=(%S+)")
  t.like(page, "<td><code>" .. name .. "</code></td><td>" .. delay:gsub("%%", "%%%%") .. "</td>",
    "impairment preset " .. name .. " with its delay (" .. delay .. ")")
end
for _, name in ipairs(core.nat_presets()) do
  local r = core.nat_resolve({ preset = name })
  t.like(page, "<td><code>" .. name .. "</code></td><td>" .. r.mapping .. "</td><td>" .. r.filtering .. "</td>",
    "NAT preset " .. name .. " with its mapping and filtering")
end
t.like(read("config.ld"), '"doc/presets.lua"', "config.ld includes the presets page")
t.like(read("lua/natrig/logs.lua"), "`fields` values are always strings", "natrig.logs says fields are strings")
t.like(read("lua/natrig/logs.lua"), "tonumber%(e%.fields%.", "and how to get a number")
t.done()
