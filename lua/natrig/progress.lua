--- natrig.progress: while a long wait runs (teardown), say every few seconds what it still
-- waits on, counted by operation ("12 network_remove, 3 container_remove"): at 200 nodes a
-- list of names says less than the counts.
--   local stop = progress.start(5, "teardown", net.log) ... stop()
-- @module natrig.progress
local core = require "natrig.core"
local task = require "natrig.task"

local M = {}

--- Every `every` seconds, log(line) with what is pending; returns the function that stops it.
function M.start(every, what, log)
  local t0 = core.now()
  local t = task.spawn(function()
    while true do
      task.sleep(every)
      local live, main = task.live()
      local count, order = {}, {}
      for _, x in ipairs(live) do
        -- "a free engine call slot for network_remove ID": queued behind the call pool
        local queued = x.waiting and x.waiting:match("^a free engine call slot for (%S+)")
        local op = queued and (queued .. " (queued)") or x.waiting and (x.waiting:match("^(%S+)") or x.waiting)
        if op then
          if not count[op] then order[#order + 1] = op; count[op] = 0 end
          count[op] = count[op] + 1
        end
      end
      table.sort(order, function(a, b) return count[a] > count[b] or (count[a] == count[b] and a < b) end)
      local l = {}
      for _, op in ipairs(order) do l[#l + 1] = ("%d %s"):format(count[op], op) end
      log(("%s: %.0f s so far, still waiting on %s"):format(what, core.now() - t0,
        #l > 0 and table.concat(l, ", ") or main or "the engine"))
    end
  end, "progress")
  return function() t:cancel("done") end
end

return M
