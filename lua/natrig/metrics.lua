-- natrig.metrics: measurements taken during one run, for `natrig sweep` reports.
--
--   natrig.metric("time to connect", 1.8, "s")       -- from a scenario
--   metrics.record("bringup", net.up_seconds, "s")   -- natrig's own, per run
--   metrics.since("teardown", t0)                    -- core.now() - t0, in seconds
--   metrics.wait_log(node.name, q, t0)               -- "wait_log NODE #K"
--
-- One list per process: `natrig run` (one scenario per process; sweep runs each case
-- in its own `natrig run`) takes it at the end and writes it into the result file.
-- Values must be finite numbers; a name repeats freely (each wait_log is a sample).
local core = require "natrig.core"

local M = {}
local list = {}
local MAX = 10000 -- a runaway loop must not grow the result file without bound

local function bad(msg) error(core.error { code = "einval", op = "natrig.metric", status = 0, message = msg }, 3) end

--- One sample of a metric for the sweep's reports (natrig.metric). Raises on a bad name,
-- value or unit.
-- @tparam string name
-- @tparam number value finite
-- @tparam[opt] string unit
-- @usage natrig.metric("connect_time", t, "s")
function M.record(name, value, unit)
  if type(name) ~= "string" or name == "" then bad("name must be a non-empty string, got " .. type(name)) end
  if type(value) ~= "number" or value ~= value or value == math.huge or value == -math.huge then
    bad(("'%s': value must be a finite number, got %s"):format(name, tostring(value)))
  end
  if unit ~= nil and type(unit) ~= "string" then
    bad(("'%s': unit must be a string, got %s"):format(name, type(unit)))
  end
  if #list >= MAX then return end
  list[#list + 1] = { name = name, value = value, unit = unit or "" }
end

-- since(name, t0): record the seconds elapsed since t0 (a core.now() reading).
function M.since(name, t0) M.record(name, core.now() - t0, "s") end

-- wait_log(node_name, query, t0): the time a node:wait_log took to match, under a name
-- that is the same in every repeat: "wait_log NODE #K", the node's K-th wait_log of the
-- run (a query often holds an address that differs from run to run, so it is no name).
local waits = {}
function M.wait_log_name(node_name)
  local k = (waits[node_name] or 0) + 1
  waits[node_name] = k
  return ("wait_log %s #%d"):format(tostring(node_name), k)
end
function M.wait_log(node_name, _, t0) M.since(M.wait_log_name(node_name), t0) end

-- The samples so far (a copy), and take() which also starts a new list.
function M.all()
  local out = {}
  for i, m in ipairs(list) do out[i] = { name = m.name, value = m.value, unit = m.unit } end
  return out
end
function M.take()
  local out = list
  list, waits = {}, {}
  return out
end
function M.reset() list, waits = {}, {} end

return M
