-- Profiles: built-ins, strict checking, loading a user's profile from a Lua file (pure).
local t = require "tap"
require "natrig"
local profiles = require "natrig.profiles"
local core = require "natrig.core"

t.ok(profiles.builtin["natrig-peer"] and profiles.builtin["command"] and profiles.builtin["freenet"],
  "built-in profiles")
for name, p in pairs(profiles.builtin) do
  t.ok(pcall(profiles.check, p), "built-in profile " .. name .. " passes its own check")
end
t.raises(function() profiles.check { name = "x" } end, "needs a 'peer' or 'gateway'",
  "a profile without an argv function")
t.raises(function() profiles.check { peer = function() end } end, "field 'name' is missing", "missing name is named")
t.raises(function() profiles.check { name = "x", peer = function() end, prots = { 1 } } end, "unknown field 'prots'",
  "unknown field is named")
t.raises(function() profiles.check { name = "x", peer = "argv" } end, "field 'peer' must be a function",
  "wrong type is named")
t.raises(function() profiles.check { name = "x", peer = function() end, ready = { lgo = "x" } } end,
  "'ready' needs 'log' or 'probe'", "bad ready rule")
t.raises(function() profiles.resolve({ profile = "bitcoin" }, "peer") end,
  "unknown profile 'bitcoin'.*command, freenet, natrig%-peer", "unknown profile lists the built-ins")
t.is(profiles.resolve({ cmd = { "x" } }, "peer").name, "command", "cmd implies the command profile")
t.is(profiles.resolve({}, "peer").name, "natrig-peer", "natrig-peer is the default")

local path = os.tmpname() .. ".lua"
core.write_file(path, [[return { name = "mine", peer = function(node) return { "/bin/mine", node.name } end,
  ready = { log = "up" } }]])
local p = profiles.resolve({ profile = path }, "peer")
t.is(p.name, "mine", "a user profile loads from a Lua file")
t.is(profiles.argv(p, { name = "n1", kind = "peer", opts = { args = { "--x" } } }, nil)[3], "--x",
  "node args are appended to the profile's argv")
core.write_file(path, [[return { name = "broken", peer = 42 }]])
t.raises(function() profiles.resolve({ profile = path }, "peer") end, "field 'peer' must be a function",
  "a broken user profile names the field")
os.remove(path)
t.done()
