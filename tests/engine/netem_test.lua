-- tc netem path (needs:engine). Where the kernel has sch_netem: netem is chosen and its
-- delay measured. Where it has not (this project's machines): natrig falls back to
-- natrig-shaper by itself, and forcing netem fails at once with what to do.
-- (Not serial: its added delay held at a load average of 33 on this 2-core machine; it runs
-- among the parallel files.)
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local PEER = "/usr/local/bin/natrig-peer"

local eng = natrig.engine()
local ref = require("natrig.image").ensure_base(eng)
local probe = require("natrig.probe").probe(eng, ref)
eng:close()
if not probe.netem then
  -- This kernel has no sch_netem (this project's machines): natrig must see that and impair
  -- with natrig-shaper on its own, and a run that forces netem must fail clearly, not hang
  -- or pretend. (impair_test.lua measures the shaper's behaviour in full.)
  t.diag("no sch_netem in this kernel (" .. tostring(probe.netem_error) .. ")")
  local PEER_ = PEER
  local function run_net(forced)
    local net = natrig.network { scenario = "netem_test", quiet = true }
    local res = {}
    local ok, err = pcall(function()
      local gw = net:gateway { name = "gw", cmd = { PEER_, "echo", "--port", "4000" } }
      local a = net:peer { name = "a", cmd = { "sleep", "600" } }
      net:up()
      if forced then net.impair_engine = "netem" end -- what NATRIG_IMPAIR_ENGINE=netem does
      local function rtt()
        local r = a:exec { PEER_, "rtt", "--to", gw.public_ip .. ":4000", "--count", "40", "--interval", "20" }
        return tonumber(r.stdout:match("median_ms=(%S+)"))
      end
      res.base = rtt()
      local t0 = natrig.core.now()
      res.iok, res.ierr = pcall(a.impair, a, { delay = "100ms" })
      res.took = natrig.core.now() - t0
      res.engine = net.impair_engine
      if res.iok then res.slow = rtt() end
    end)
    net:down()
    res.ok, res.err = ok, err
    return res
  end
  local auto = run_net(false)
  t.ok(auto.ok, "no unexpected error: " .. tostring(auto.err))
  t.is(auto.engine, "userspace", "without sch_netem natrig picks natrig-shaper by itself")
  t.ok(auto.iok and auto.slow and math.abs(auto.slow - auto.base - 100) <= 10,
    ("and 100 ms of delay adds %s ms"):format(tostring(auto.slow and auto.base and auto.slow - auto.base)))
  local forced = run_net(true)
  t.ok(forced.ok, "no unexpected error: " .. tostring(forced.err))
  t.ok(forced.iok == false, "forcing netem where the kernel has none fails the impair call")
  local msg = type(forced.ierr) == "table" and tostring(forced.ierr.message) or tostring(forced.ierr)
  t.like(msg, "tc netem refused", "the error says tc refused netem: " .. msg)
  t.like(msg, "unset NATRIG_IMPAIR_ENGINE=netem", "and what to do")
  t.ok(forced.took and forced.took < 10, ("at once (%.2f s), no hang"):format(forced.took or -1))
  t.done()
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
