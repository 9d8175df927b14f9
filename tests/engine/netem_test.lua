-- tc netem path (needs:engine, needs:netem). Runs wherever the kernel has sch_netem;
-- skips with the reason where it has not (this project's machines), since the
-- userspace shaper's tests (impair_test.lua) cover the same behaviour there.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local PEER = "/usr/local/bin/natrig-peer"

local eng = natrig.engine()
local ref = require("natrig.image").ensure_base(eng)
local probe = require("natrig.impair").probe(eng, ref)
eng:close()
if not probe.netem then
  print("1..0 # SKIP no sch_netem in this kernel (" .. tostring(probe.netem_error) ..
    "); impair_test.lua covers the same behaviour with the userspace shaper")
  os.exit(0)
end

local net = natrig.network { scenario = "netem_test", quiet = true }
local ok, err = pcall(function()
  local gw = net:gateway { name = "gw", cmd = { PEER, "echo", "--port", "4000" } }
  local a = net:peer { name = "a", cmd = { "sleep", "600" } }
  net:up()
  local function rtt()
    local r = a:exec { PEER, "rtt", "--to", gw.public_ip .. ":4000", "--count", "40", "--interval", "20" }
    return tonumber(r.stdout:match("median_ms=(%S+)"))
  end
  local base = rtt()
  a:impair { delay = "100ms" }
  t.is(net.impair_engine, "netem", "the netem engine is chosen where the kernel has it")
  local slow = rtt()
  t.ok(math.abs(slow - base - 100) <= 10, ("netem egress delay of 100 ms adds %.1f ms"):format(slow - base))
  a:clear_impair()
  t.ok(rtt() < base + 2, "cleared")
end)
t.ok(ok, "no unexpected error: " .. tostring(err))
net:down()
t.done()
