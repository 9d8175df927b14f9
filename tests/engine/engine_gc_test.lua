-- An engine handle closed by a finalizer in the middle of a call (needs:engine). A network
-- dropped without down() is collected whenever Lua allocates: its Engine's __gc closed the
-- raw handle inside another call's poll, and poll went on with a freed client (cgn_test
-- crashed 1 run in 3 with SIGSEGV). The close now waits until poll is out of the engine.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local core = natrig.core

-- the GC always at work, finalizers running from inside poll's own allocations
collectgarbage("incremental", 0, 100, 0)
local inside, between = 0, 0
for _ = 1, 300 do
  local raw = core.engine_open()
  local closed = false
  setmetatable({}, { __gc = function() closed = true raw:close() end })
  for _ = 1, 50 do
    local was = closed
    local ok, err = pcall(raw.poll, raw, 0)
    if ok and not was and closed then inside = inside + 1 end
    if not ok then
      between = between + 1
      t.like(tostring(err), "closed", "a poll after the close is refused as closed")
      break
    end
  end
  if not closed then raw:close() end
end
t.ok(inside > 0, ("closed by a finalizer inside poll %d times, and poll returned"):format(inside))
t.diag(("closed between polls %d times"):format(between))

-- the same through natrig.engine(): clients dropped while another's calls run
local eng = natrig.engine()
local got = natrig.map({ 1, 2, 3, 4, 5, 6, 7, 8 }, function()
  for _ = 1, 5 do
    local _ = natrig.engine() -- dropped at once, collected during the others' polls
    eng:ping()
  end
  return true
end, 8)
t.is(#got, 8, "40 pings beside 40 dropped clients all answered")
collectgarbage("generational")
eng:close()
t.done()
