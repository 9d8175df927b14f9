-- natrig.sweep.result: the machine-readable result of one `natrig run`, for sweep.
--
--   natrig run FILE k=v ... --result-json F     (hidden option; sweep passes it)
--
-- F gets one JSON object: scenario, file, params, status ("pass" | "fail" | "error"),
-- duration, error (message), where ("file:line" in the scenario where it was raised),
-- artifacts (folder), run_id, metrics ({name, value, unit} samples). What the scenario
-- printed is the child's stdout, which the parent captures itself (so a crash loses
-- nothing). The file is written last, by rename, so a half-written file never exists.
local core = require "natrig.core"
local metrics = require "natrig.metrics"

local M = {}
local Result = {}
Result.__index = Result

function M.new(path, file)
  metrics.reset()
  return setmetatable({ path = path, file = file }, Result)
end

-- The first stack frame inside the scenario's own file (else any file outside natrig's
-- modules): where a failure happened, as "file:line". Called from a message handler,
-- so the raising frames are still on the stack.
function M.where(file, level)
  local fallback
  for l = level or 2, 60 do
    local info = debug.getinfo(l, "Sl")
    if not info then break end
    if info.source:sub(1, 1) == "@" and info.currentline > 0 then
      local src = info.source:sub(2)
      if file and src == file then return src .. ":" .. info.currentline end
      if not fallback and not src:match("^lua/natrig/") and not src:match("natrig/[%w_/]+%.lua$") then
        fallback = src .. ":" .. info.currentline
      end
    end
  end
  return fallback
end

-- natrig.Error codes that mean natrig or the engine failed, not the software under test:
-- the engine refused (engine), could not be reached (transport), the host failed (sys).
M.SETUP_CODES = { engine = true, transport = true, sys = true, overloaded = true }

-- Whether the raising stack passes through net:up() (a bring-up failure is a setup
-- error, not a scenario failure).
function M.in_bringup(level)
  for l = level or 2, 60 do
    local info = debug.getinfo(l, "Sn")
    if not info then break end
    if info.name == "up" and info.source:match("natrig/network%.lua$") then return true end
  end
  return false
end

-- Wrap def.run so a failure records where it was raised; the error itself is raised on
-- unchanged (scenario.run's own handler and teardown see the same object).
function Result:wrap(def)
  local run, file, self_ = def.run, def.file, self
  def.run = function(...)
    local r = table.pack(xpcall(run, function(e)
      self_.where = self_.where or M.where(file, 3)
      def.failed_at = self_.where -- scenario.run's own lookup sees only this re-raise's stack
      self_.setup = self_.setup or M.in_bringup(3) or (type(e) == "table" and M.SETUP_CODES[e.code] or false)
      return e
    end, ...))
    if not r[1] then error(r[2], 0) end
    return table.unpack(r, 2, r.n)
  end
end

local function write(self, t)
  t.metrics = core.json_array(metrics.take())
  t.file = t.file or self.file
  local tmp = self.path .. ".tmp"
  core.write_file(tmp, core.json_encode(t) .. "\n")
  local ok, err = os.rename(tmp, self.path)
  if not ok then io.stderr:write("natrig: cannot write ", self.path, ": ", tostring(err), "\n") end
end

-- A setup or usage error (exit 2): the scenario did not run to a verdict.
function Result:error(msg, def)
  write(self, { status = "error", ok = false, error = msg, scenario = def and def.name,
    duration = 0, where = self.where })
end

-- The scenario ran: res is scenario.run's result.
function Result:done(def, res)
  local params = {}
  for k, v in pairs(res.params or {}) do params[k] = tostring(v) end
  local status = res.ok and "pass" or "fail"
  -- bring-up and teardown failures are natrig's or the engine's, not the scenario's
  if not res.ok
    and (self.setup or M.SETUP_CODES[res.error_code or ""] or tostring(res.error):match("^teardown failed")) then
    status = "error"
  end
  if res.signal then status = "error"; res.error = res.error or ("interrupted by signal " .. tostring(res.signal)) end
  write(self, { status = status, ok = res.ok, scenario = def.name,
    params = params, duration = res.duration, error = res.error,
    where = not res.ok and (res.where or self.where) or nil, artifacts = res.artifacts, run_id = res.run_id })
end

return M
