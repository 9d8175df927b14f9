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

-- natrig-peer over IPv6 (issue 25): a gateway with IPv6 serves both families (a v6only one
-- IPv6 alone), a v4 one is as before; a peer talks IPv4 to it unless it or the gateway is
-- v6only
local np = profiles.builtin["natrig-peer"]
local function gw(ip, ip6) return { name = "gw", kind = "gateway", ip = ip, public_ip = "10.0.0.2", public_ip6 = ip6,
  opts = {} } end
local function net_of(g) return { gateways = function() return { g } end } end
local function argv_text(node, g) return table.concat(profiles.argv(np, node, net_of(g)), " ") end
t.is(argv_text(gw("v4")), "/usr/local/bin/natrig-peer gateway --port 31337", "a v4 gateway: as before")
local g6 = gw("dual", "2001:db8::2")
t.is(argv_text(g6), "/usr/local/bin/natrig-peer gateway --port 31337 --bind 0.0.0.0 --bind ::",
  "a dual-stack gateway binds both families")
t.is(argv_text(gw("v6only", "2001:db8::2")), "/usr/local/bin/natrig-peer gateway --port 31337 --bind ::",
  "a v6only gateway binds IPv6 alone")
local function peer(ip) return { name = "a", kind = "peer", ip = ip, opts = {} } end
t.like(argv_text(peer("dual"), g6), "%-%-gateway 10%.0%.0%.2:31337 ", "a dual-stack peer registers over IPv4")
t.like(argv_text(peer("v6only"), g6), "%-%-gateway %[2001:db8::2%]:31337 ", "a v6only peer registers over IPv6")
-- a v6only peer and an IPv4-only gateway share no family: refused by the profile's check
-- (run at net:up(), before anything is made), naming both and what to do
local p6 = { name = "a", kind = "peer", ip = "v6only", opts = {}, router = { name = "r64" } }
t.raises(function() np.check(p6, net_of(gw("v4"))) end,
  'a speaks IPv6 only %(behind v6only router r64%) and its gateway gw IPv4 only %(ip = "v4"%): they share '
    .. 'no family; give gw ip = "dual"', "a v6only peer with an IPv4-only gateway is refused, both named")
t.raises(function() profiles.argv(np, p6, net_of(gw("v4"))) end, "give gw ip = \"dual\"",
  "and its argv is never made with the gateway's IPv4 address")
t.is(select("#", np.check(p6, net_of(g6))), 0, "a dual-stack gateway is fine for it")
t.done()
