-- natrig.scenario: declaring, loading and running scenarios.
--
--   return natrig.scenario {
--     name = "...", params = { nat = "port_restricted" }, timeout = 120,
--     matrix = { nat = { "full_cone", "symmetric" } },   -- for `natrig sweep`
--     run = function(net, p) ... end,
--   }
--
-- A scenario file runs with an environment whose unknown globals raise (a typo is an
-- error, not a nil). run() gets a fresh network (natrig.network) that is torn down after
-- it, whatever happens; with keep=true (or NATRIG_KEEP=1) a failed run stays up and the
-- command to remove it is printed.
local core = require "natrig.core"
local task = require "natrig.task"

local M = {}
local KEYS = { name = "string", description = "string", params = "table", timeout = "number",
  run = "function", matrix = "table", tags = "table", keep = "boolean" }

local function bad(msg) error(core.error { code = "einval", op = "scenario", status = 0, message = msg }, 3) end

function M.define(def)
  if type(def) ~= "table" then bad("natrig.scenario expects a table") end
  for k, v in pairs(def) do
    if not KEYS[k] then
      local names = {}
      for n in pairs(KEYS) do names[#names + 1] = n end
      table.sort(names)
      bad(("unknown field '%s' (valid: %s)"):format(tostring(k), table.concat(names, ", ")))
    end
    if type(v) ~= KEYS[k] then bad(("field '%s' must be a %s, got %s"):format(k, KEYS[k], type(v))) end
  end
  if type(def.run) ~= "function" then bad("a scenario needs run = function(net, params)") end
  def.name = def.name or "unnamed"
  def.params = def.params or {}
  def.timeout = def.timeout or 300
  def.__scenario = true
  return def
end

-- The environment scenario chunks run in: natrig's names, Lua's standard library, and
-- an error for any other global read.
function M.env()
  local natrig = require "natrig"
  local base = { natrig = natrig, expect = natrig.expect }
  return setmetatable(base, {
    __index = function(_, k)
      local v = _G[k]
      if v == nil then error(("unknown global '%s'"):format(tostring(k)), 2) end
      return v
    end,
  })
end

function M.load(path)
  local chunk, err = loadfile(path, "t", M.env())
  if not chunk then bad(err) end
  local ok, def = pcall(chunk)
  if not ok then error(def, 0) end
  if type(def) ~= "table" or not def.__scenario then
    bad(("%s must return natrig.scenario { ... }"):format(path))
  end
  def.file = path
  return def
end

-- Apply "key=value" overrides; values take the type of the default.
function M.params(def, overrides)
  local p = {}
  for k, v in pairs(def.params) do p[k] = v end
  for k, v in pairs(overrides or {}) do
    if def.params[k] == nil then
      local names = {}
      for n in pairs(def.params) do names[#names + 1] = n end
      table.sort(names)
      bad(("scenario '%s' has no parameter '%s' (parameters: %s)"):format(def.name, k,
        #names > 0 and table.concat(names, ", ") or "none"))
    end
    local d = def.params[k]
    if type(v) == "string" and type(d) == "number" then
      v = tonumber(v) or bad(("parameter '%s' wants a number, got '%s'"):format(k, v))
    elseif type(v) == "string" and type(d) == "boolean" then
      if v == "true" or v == "1" then v = true elseif v == "false" or v == "0" then v = false
      else bad(("parameter '%s' wants true or false, got '%s'"):format(k, v)) end
    end
    p[k] = v
  end
  return p
end

local function errstr(e)
  if type(e) == "table" and getmetatable(e) and getmetatable(e).__tostring then return tostring(e) end
  return tostring(e)
end

-- Run one scenario. opts: engine (client), params (overrides), keep, log (fn),
-- artifacts (dir root). Returns a result table:
--   { name, params, ok, error, duration, run_id, artifacts }
function M.run(def, opts)
  opts = opts or {}
  local log = opts.log or function() end
  local network = require "natrig.network"
  local params = M.params(def, opts.params)
  local keep = opts.keep
  if keep == nil then keep = def.keep or core.getenv("NATRIG_KEEP") == "1" end
  local t0 = core.now()
  local net = network.new { engine = opts.engine, scenario = def.name, log = log }
  local res = { name = def.name, params = params, run_id = net.session.run_id }
  task.deadline, task.deadline_len = core.now() + def.timeout, def.timeout
  local ok, err = xpcall(def.run, function(e)
    if type(e) == "string" then return debug.traceback(e, 2) end
    return e
  end, net, params)
  task.deadline = nil
  res.ok, res.duration = ok, core.now() - t0
  if not ok then
    res.error = errstr(err)
    local dir = opts.artifacts and (opts.artifacts .. "/" .. net.session.run_id) or net:artifacts_dir()
    local aok, aerr = pcall(net.write_artifacts, net, dir, res.error)
    res.artifacts = aok and dir or nil
    if not aok then log("could not write artifacts: " .. errstr(aerr)) end
  end
  if not ok and keep then
    net:keep()
    log("keeping the network up for debugging; remove it with:\n  " .. net.session:remove_command())
  else
    local dok, derr = pcall(net.down, net)
    if not dok then
      res.ok = false
      res.error = (res.error and (res.error .. "\n") or "") .. "teardown failed: " .. errstr(derr)
    end
  end
  return res
end

return M
