--- natrig.runref: find a run's container from the command line (natrig exec, natrig logs):
-- RUN and NODE as `natrig ls` and the scenario name them, looked up by label on the
-- engine (every engine of NATRIG_HOSTS). Containers are named natrig-<run>-<node> (the
-- node's app; routers too) and natrig-<run>-<node>-net (the node's network holder).
-- @module natrig.runref
local core = require "natrig.core"

local M = {}

local APP = { gateway = true, peer = true, node = true, router = true }

-- The engines to look on: NATRIG_HOSTS' (a Swarm), else DOCKER_HOST's. Each is
-- { name, eng }; the caller closes them with M.close.
local function engines()
  local hl = require("natrig.hosts").from(nil)
  if hl and #hl > 1 then
    local l = {}
    for _, h in ipairs(hl) do l[#l + 1] = { name = h.name, eng = require("natrig.engine").open(h.url) } end
    return l
  end
  return { { name = "engine", eng = require("natrig.cmdkit").open_engine() } }
end

function M.close(engs)
  for _, e in ipairs(engs or {}) do e.eng:close() end
end

--- Find RUN's NODE. holder: the node's network holder instead of its app. Returns
-- { eng, id, name, state, role, engines } or nil, message (the message names the runs or
-- nodes there are). Raises when no engine can be reached.
function M.find(run, node, holder)
  local engs = engines()
  local runs, nodes, hit = {}, {}, nil
  for _, e in ipairs(engs) do
    local list = e.eng:container_list({ label = core.json_array { "natrig.run" } }, true)
    for _, c in ipairs(list) do
      local l = c.Labels or {}
      local r, n, role = l["natrig.run"], l["natrig.node"], l["natrig.role"]
      runs[r] = true
      if r == run and n then
        if APP[role] then nodes[n] = role end
        if n == node and ((holder and role == "holder") or (not holder and APP[role])) then
          hit = { eng = e.eng, id = c.Id, name = ((c.Names or {})[1] or ""):gsub("^/", ""), state = c.State,
            role = role, engines = engs }
        end
      end
    end
  end
  if hit then return hit end
  local function keys(t)
    local l = {}
    for k in pairs(t) do l[#l + 1] = k end
    table.sort(l)
    return l
  end
  M.close(engs)
  if not runs[run] then
    local l = keys(runs)
    return nil, ("no run '%s' on this engine; %s (natrig ls lists them)"):format(run,
      #l > 0 and ("runs: " .. table.concat(l, ", ")) or "there are no natrig runs")
  end
  local l = keys(nodes)
  if holder and nodes[node] and nodes[node] == "router" then
    return nil, ("'%s' in run %s is a router: it has no holder (drop --holder)"):format(node, run)
  end
  return nil, ("run %s has no node '%s'; its nodes: %s"):format(run, node, table.concat(l, ", "))
end

return M
