--- natrig.task: the scheduler's public face. Everything of natrig.sched (spawn, sleep,
-- wait_for, guard, recover...), plus the groups built on it: parallel, join_all, map.
--
--   local t = task.spawn(function() return eng:call(...) end)
--   task.parallel(f1, f2, f3)      -- run all, wait for all, raise the first error
--   task.sleep(0.5)
-- @module natrig.task
local sched = require "natrig.sched"

local M = {}
for k, v in pairs(sched) do M[k] = v end

--- Run every function as its own task and wait for all of them; return their first
-- results in order. The first failure ends the call at once: the other branches are
-- cancelled (what they made carries the run's labels, so teardown still finds it).
-- @tparam function ... the functions (or one list of them)
-- @treturn {any,...} each function's first result, in order
-- @usage local r = natrig.parallel(function() return a:exec{ "true" } end,
--   function() return b:wait_log{ match = "up" } end)
function M.parallel(...)
  local fns = select("#", ...) == 1 and type(...) == "table" and ... or table.pack(...)
  local ts = {}
  for i = 1, (fns.n or #fns) do ts[i] = M.spawn(fns[i], "parallel#" .. i) end
  return M.join_all(ts, "parallel")
end

--- Wait for every task of the list; the first failure ends the wait at once, cancels the
-- others and is raised. Returns the tasks' first results in order.
-- @tparam {Task,...} ts tasks from natrig.spawn
-- @tparam[opt] string what what they do, for timeout messages
-- @treturn {any,...}
-- @usage local rs = natrig.task.join_all({ natrig.spawn(f), natrig.spawn(g) })
function M.join_all(ts, what)
  local n = #ts
  local left, failed = n, nil
  if n > 0 then
    M.wait_for(function(wake)
      local woke = false
      local function check(t)
        if t.state == "done" then left = left - 1 else failed = failed or t end
        if not woke and (left == 0 or failed) then woke = true; wake() end
      end
      for _, t in ipairs(ts) do
        if t.state ~= "running" then check(t)
        else t.joiners[#t.joiners + 1] = function() check(t) end end
      end
    end, ("%s (%d tasks)"):format(what or "join", n))
  end
  if failed then
    for _, t in ipairs(ts) do t:cancel(("another task of %s failed"):format(what or "the group")) end
    error(failed.err, 0)
  end
  local out = {}
  for i, t in ipairs(ts) do out[i] = t.results[1] end
  return out
end

--- Apply fn to each item of list with at most `limit` in flight; returns results in order.
-- @tparam {any,...} list
-- @tparam function fn fn(item, index)
-- @tparam[opt=16] integer limit
-- @treturn {any,...}
-- @usage local rs = natrig.map(net:peers(), function(p) return p:exec{ "hostname" } end, 8)
function M.map(list, fn, limit)
  limit = limit or 16
  local fns, results, idx = {}, {}, 0
  local function worker()
    while true do
      idx = idx + 1
      local i = idx
      if i > #list then return end
      results[i] = fn(list[i], i)
    end
  end
  for w = 1, math.min(limit, #list) do fns[w] = worker end
  M.parallel(table.unpack(fns))
  return results
end

return M
