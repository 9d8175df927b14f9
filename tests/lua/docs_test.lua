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
-- Typed docs: every public method of the classes below has @tparam for each parameter,
-- @treturn when it returns a value, and an @usage example (comment blocks read from the
-- file the reference is built from).
local function blocks(path, class)
  local lines = {}
  for l in io.lines(path) do lines[#lines + 1] = l end
  local out = {}
  for i, l in ipairs(lines) do
    local name, params = l:match("^function " .. class .. ":([%w_]+)%(([^)]*)%)")
    if name then
      local j, b, doc = i - 1, {}, false
      while j >= 1 and lines[j]:match("^%s*%-%-") do
        table.insert(b, 1, lines[j])
        doc = doc or lines[j]:match("^%s*%-%-%-") ~= nil
        j = j - 1
      end
      local text = table.concat(b, "\n")
      if doc and not text:find("@local", 1, true) and not name:match("^__") then
        out[#out + 1] = { name = name, params = params, text = text }
      end
    end
  end
  return out
end
local function check_typed(path, class, returns_nothing, at_least)
  local missing = {}
  local list = blocks(path, class)
  for _, b in ipairs(list) do
    for p in b.params:gmatch("[%w_]+") do
      -- @tparam TYPE name, or @param name for a value of any type
      if not b.text:match("@tparam%[?[^%]]*%]?%s+%S+%s+" .. p .. "%f[%W]")
        and not b.text:match("@param%[?[^%]]*%]?%s+" .. p .. "%f[%W]") then
        missing[#missing + 1] = class .. ":" .. b.name .. " @tparam " .. p
      end
    end
    if not returns_nothing[b.name] and not b.text:find("@treturn", 1, true) then
      missing[#missing + 1] = class .. ":" .. b.name .. " @treturn"
    end
    if not b.text:find("@usage", 1, true) then missing[#missing + 1] = class .. ":" .. b.name .. " @usage" end
  end
  t.ok(#list >= (at_least or 10), ("%s: %d public methods found in %s"):format(class, #list, path))
  t.is(table.concat(missing, ", "), "", class .. ": every public method has types, a return shape and an example")
end
check_typed("lua/natrig/node.lua", "Node", { kill = true, stop = true, start = true, restart = true,
  allow_exit = true, pause = true, resume = true, isolate = true, rejoin = true, fetch_logs = true })
-- natrig.network's page lives in doc/network.lua (network.lua stays within 400 lines): it
-- documents exactly the public methods network.lua (and natrig.path: net:path, net:relay,
-- net:dns...) defines, each with the first sentence
-- help() shows for it, types and an example.
local help = require "natrig.help"
local Network = require("natrig.network").Network
local page_net = read("doc/network.lua")
local flat = page_net:gsub("\n%-%-%s*", " ")
local code_set, doc_set, unsaid = {}, {}, {}
for k, fn in pairs(Network) do
  if type(fn) == "function" and not k:match("^__") and (debug.getinfo(fn, "S").source:match("natrig/network%.lua$")
    or debug.getinfo(fn, "S").source:match("natrig/path%.lua$"))
    and help.is_public(fn) then
    code_set[#code_set + 1] = k
    local first = (help.doc_comment(fn) or ""):gsub(" %.%.%.$", "") -- help cuts it at 90 characters
    if not flat:find(first:gsub("%s+", " "), 1, true) then unsaid[#unsaid + 1] = k .. ": " .. first end
  end
end
for k in page_net:gmatch("\nfunction Network:([%w_]+)%(") do doc_set[#doc_set + 1] = k end
table.sort(code_set)
table.sort(doc_set)
t.is(table.concat(doc_set, " "), table.concat(code_set, " "),
  "doc/network.lua documents exactly the public Network methods of network.lua")
t.is(table.concat(unsaid, "; "), "", "each with the sentence help() shows for it")
check_typed("doc/network.lua", "Network", { remove = true, down = true, keep = true, partition = true,
  heal = true, isolate = true, dump = true })
t.like(read("config.ld"), '"doc/network.lua"', "config.ld builds natrig.network's page from doc/network.lua")
check_typed("lua/natrig/router.lua", "Router", { flush = true, set_nat = true, restart = true, portmap = true }, 10)
check_typed("lua/natrig/dns.lua", "Dns", { fault = true, clear = true }, 4)
t.like(read("config.ld"), '"lua/natrig/dns.lua"', "net:dns's Dns and net:relay's Relay are in the reference")
t.like(read("config.ld"), '"lua/natrig/relay.lua"', "... (relay.lua)")
t.like(read("config.ld"), '"lua/natrig/router.lua"', "the Router class is in the reference")

-- the front door and expect(): their functions are documented, so help() and Tab offer them
check_typed("lua/natrig/expect.lua", "Expect", {})
local repl = require "natrig.repl"
local front = " " .. table.concat(repl.members(require("natrig")), " ") .. " "
for _, k in ipairs({ "network", "attach", "engine", "scenario", "spawn", "sleep", "parallel", "map", "metric",
  "expect", "now", "monotonic" }) do
  t.ok(front:find(" " .. k .. " ", 1, true), "natrig." .. k .. " is offered by Tab and help(natrig)")
end
local em = " " .. table.concat(repl.members(require("natrig").expect(1), true), " ") .. " "
t.ok(em:find(" eq ", 1, true) and em:find(" none ", 1, true) and em:find(" near ", 1, true),
  "expect(v): its checks are offered by Tab and help():" .. em)
t.done()
