--- natrig.timeline: a run's one timeline: every node's log entries and natrig's own actions
-- (net:note: node "natrig"), merged by the engine's receive time, then node, then order.
-- Sources that keep their own record (the seal's escapes, port mappings) are brought up
-- to date first.
-- @module natrig.timeline
local seal = require "natrig.seal"

local M = {}

--- Bring the sources that keep their own record up to date (engine round trips: the seal's
-- escapes, each router's port mappings and CGN mappings).
function M.refresh(self)
  seal.refresh(self)
  for _, r in ipairs(self.routers) do
    require("natrig.portmap").sync(r)
    if r.nat.cgnat and self.state == "up" then pcall(require("natrig.cgn").sync, r) end
  end
end

--- Every node's entries and natrig's own actions (node "natrig"), merged by time.
-- as_is: without M.refresh first (a failed run's artifacts refresh within their budget, then
-- write the timeline whatever the engine does).
function M.merged(self, q, as_is)
  if not as_is then M.refresh(self) end
  local all = {}
  for _, n in ipairs(self.nodes) do
    if n.id then for _, e in ipairs(n:logs(q)) do all[#all + 1] = e end end
  end
  local logs = require "natrig.logs"
  for _, e in ipairs(self.actions) do
    if not q or logs.matches(e, type(q) == "string" and { match = q } or q) then all[#all + 1] = e end
  end
  local when = require("natrig.logs").when
  table.sort(all, function(a, b)
    local ta, tb = when(a), when(b)
    if ta ~= tb then return ta < tb end
    if a.node ~= b.node then return a.node < b.node end
    return a.seq < b.seq
  end)
  return all
end

return M
