--- natrig.scenario: declaring, loading and running scenarios.
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
-- @module natrig.scenario
local core = require "natrig.core"
local task = require "natrig.task"

local M = {}
local KEYS = { name = "string", description = "string", params = "table", timeout = "number",
  run = "function", matrix = "table", tags = "table", keep = "boolean", outside = "boolean" }

local function bad(msg) error(core.error { code = "einval", op = "scenario", status = 0, message = msg }, 3) end

--- Declare a scenario (natrig.scenario{...}): checked at once (unknown keys, types, the
-- timeout), so a wrong file fails before anything is made.
-- @tparam table def name, run = function(net, params), params, matrix, timeout, description, tags, keep
-- @treturn table def, marked as a scenario
-- @usage return natrig.scenario { name = "hello", run = function(net) net:gateway{}; net:up() end }
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
  if not (def.timeout == nil or (def.timeout > 0 and def.timeout < math.huge)) then
    bad(("scenario %s: timeout must be a number of seconds > 0, got %s"):format(tostring(def.name or "unnamed"),
      tostring(def.timeout)))
  end
  def.name = def.name or "unnamed"
  def.params = def.params or {}
  def.timeout = def.timeout or 300
  def.__scenario = true
  return def
end

local api -- the natrig module: natrig.init hands it over (it requires this module)

--- natrig.init gives scenarios their API here (so this module never requires it back).
-- @local
function M.set_api(t) api = t end

--- The environment scenario chunks run in: natrig's names, Lua's standard library, and
-- an error for any other global read.
-- @local
function M.env()
  if not api then error("the scenario environment needs the natrig module loaded first", 2) end
  local natrig = api
  local base = { natrig = natrig, expect = natrig.expect }
  return setmetatable(base, {
    __index = function(_, k)
      local v = _G[k]
      if v == nil then error(("unknown global '%s'"):format(tostring(k)), 2) end
      return v
    end,
    -- A global assignment is almost always a missing `local`: say so.
    __newindex = function(_, k)
      error(("assignment to global '%s' (declare it local)"):format(tostring(k)), 2)
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

--- Apply "key=value" overrides; values take the type of the default.
-- @local
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

-- "k=v,k2=v2" of the parameters (sorted); all = true lists every parameter, else only
-- the ones given (a sweep case's matrix values, `natrig run FILE k=v`).
function M.case_text(params, all)
  local l = {}
  for k, v in pairs(params or {}) do l[#l + 1] = k .. "=" .. tostring(v) end
  table.sort(l)
  if all and #l == 0 then return "(defaults)" end
  return table.concat(l, ",")
end

local function errstr(e)
  if type(e) == "table" and getmetatable(e) and getmetatable(e).__tostring then return tostring(e) end
  return tostring(e)
end

--- Run one scenario. opts: engine (client), params (overrides), keep, log (fn),
-- artifacts (dir root). Returns a result table:
--   { name, params, ok, error, duration, run_id, artifacts }
-- @local
function M.run(def, opts)
  opts = opts or {}
  local log = opts.log or function() end
  local network = require "natrig.network"
  local params = M.params(def, opts.params)
  local keep = opts.keep
  if keep == nil then keep = def.keep or core.getenv("NATRIG_KEEP") == "1" end
  local t0 = core.now()
  local case = opts.case or M.case_text(opts.params)
  local net = network.new { engine = opts.engine, scenario = def.name, log = log, case = case,
    keep = keep, outside = def.outside } -- outside = true opens the sealed lab (natrig.seal)
  local res = { name = def.name, params = params, run_id = net.session.run_id }
  -- The deadline holds whatever the run waits on (natrig.task.guard); an app that exits
  -- unasked, a signal or the deadline end the run at once.
  task.set_where_source(def.file and ("@" .. def.file) or nil)
  local ok, err
  if task.signal() then
    -- A signal during set-up whose abort a pcall there caught: the run is interrupted
    -- before it starts (clearing it here once let such a run go on and pass).
    ok, err = false, core.error { code = "interrupted", op = "interrupted", status = 0,
      message = ("interrupted by signal %d during set-up"):format(task.signal()) }
  else
    ok, err = task.guard(def.run, def.timeout, ("scenario %s"):format(def.name), net, params)
  end
  task.set_where_source(nil)
  -- (a sweep's case wraps def.run and re-raises: its handler saw the line, def.failed_at)
  res.where = not ok and (task.last_where() or def.failed_at) or nil
  -- the state of every app before the verdict (an exit whose event has not come yet)
  if ok and not task.signal() then require("natrig.watch").settle(net) end
  if ok and net.failures and #net.failures > 0 then ok, err = false, net.failures[1] end
  res.ok, res.duration = ok, core.now() - t0
  res.error_code = type(err) == "table" and err.code or nil
  -- From here to the end of teardown a signal is noted, never raised mid-way; only the
  -- artifacts step (bounded, skipped after a signal) can be cut short by one.
  local outer_defer = core.defer_signals(true)
  task.recover()
  res.signal = task.signal()
  if not ok then
    res.error = errstr(err)
    -- A natrig error says which scenario line asked (a Lua error already does).
    if res.where and type(err) == "table" then res.error = res.where .. ": " .. res.error end
    -- a path assertion's failure: net:path's verdict beside what each program logged
    local eok, ev = pcall(require("natrig.path").evidence, net)
    if eok and ev then res.error = res.error .. ev end
    local header = { ("scenario: %s%s"):format(def.name, def.file and (" (" .. def.file .. ")") or ""),
      ("case: %s"):format(M.case_text(params, true)), ("run: %s"):format(net.session.run_id),
      ("at: %s"):format(res.where or "?"), "" }
    local dir = opts.artifacts and (opts.artifacts .. "/" .. net.session.run_id) or net:artifacts_dir()
    local aok, aerr = true, nil
    if not res.signal then
      core.defer_signals(false)
      -- artifacts.write keeps its own budget; the guard's deadline is only a backstop
      local budget = require("natrig.artifacts").budget()
      aok, aerr = task.guard(net.write_artifacts, budget + 5, "writing artifacts", net, dir,
        table.concat(header, "\n") .. res.error)
      core.defer_signals(true)
      task.recover()
      res.signal = task.signal()
    end
    res.artifacts = aok and core.stat(dir) and dir or nil
    if not aok then log("could not write artifacts: " .. errstr(aerr)) end
  end
  if not ok and keep and not res.signal then
    net:keep()
    log("keeping the network up for debugging; remove it with:\n  " .. net.session:remove_command())
  else
    local dok, derr = pcall(net.down, net)
    if not dok then
      res.ok = false
      res.error = (res.error and (res.error .. "\n") or "") .. "teardown failed: " .. errstr(derr)
    end
    if res.ok and not opts.keep_artifacts then net:remove_artifacts() end
  end
  core.defer_signals(outer_defer)
  -- A signal during teardown still makes the run "interrupted".
  res.signal = res.signal or core.interrupted() or nil
  return res
end

return M
