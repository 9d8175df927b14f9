-- natrig.task: the scheduler that lets many Engine calls run at once while Lua code stays
-- sequential-looking. A task is a coroutine; when it waits (for an engine request, a
-- timer, another task, a log line) it yields, and the loop resumes it when the awaited
-- thing happens. Code outside any task (the scenario's main body, the REPL) blocks by
-- driving the same loop, so background tasks keep running while it waits.
--
--   local t = task.spawn(function() return eng:call(...) end)
--   task.parallel(f1, f2, f3)      -- run all, wait for all, raise the first error
--   task.sleep(0.5)
local core = require "natrig.core"

local M = {}
local tasks = setmetatable({}, { __mode = "k" }) -- coroutine -> task
local ready = {}      -- { co, args } resumed on the next step
local timers = {}     -- sorted by .at
local handlers = {}   -- engine request id -> function(event)
local engines = {}    -- raw engines polled by the loop

local Task = {}
Task.__index = Task
Task.__name = "natrig.Task"
function Task:__tostring()
  return ("natrig.Task(%s, %s)"):format(self.name or "?", self.state)
end

function M.add_engine(raw) engines[#engines + 1] = raw end
function M.remove_engine(raw)
  for i, e in ipairs(engines) do if e == raw then table.remove(engines, i) return end end
end

local function add_timer(at, fn)
  local t = { at = at, fn = fn }
  local i = #timers + 1
  while i > 1 and timers[i - 1].at > at do i = i - 1 end
  table.insert(timers, i, t)
  return t
end

local function cancel_timer(t)
  for i, x in ipairs(timers) do if x == t then table.remove(timers, i) return end end
end

local function finish(task, ok, ...)
  task.state = ok and "done" or "failed"
  if ok then task.results = table.pack(...) else task.err = ... end
  local joiners = task.joiners
  task.joiners = {}
  for _, w in ipairs(joiners) do w() end
end

local function resume(co, ...)
  local task = tasks[co]
  local res = table.pack(coroutine.resume(co, ...))
  if coroutine.status(co) == "dead" then
    if res[1] then
      finish(task, true, table.unpack(res, 2, res.n))
    else
      local e = res[2]
      if type(e) == "string" then e = debug.traceback(co, e) end
      finish(task, false, e)
    end
  end
end

-- Run the loop once: ready tasks first, then due timers, then engine events.
function M.step(max_wait)
  if M.deadline and core.now() > M.deadline then
    M.deadline = nil -- teardown after the raise must be able to wait again
    error(core.error { code = "timeout", op = "scenario", status = 0,
      message = ("timed out after %.0f s"):format(M.deadline_len or 0) }, 0)
  end
  if #ready > 0 then
    local q = ready
    ready = {}
    for _, r in ipairs(q) do resume(r.co, table.unpack(r.args, 1, r.args.n)) end
    return true
  end
  local now = core.now()
  if timers[1] and timers[1].at <= now then
    local t = table.remove(timers, 1)
    t.fn()
    return true
  end
  local wait = max_wait or 0.5
  if timers[1] then wait = math.min(wait, timers[1].at - now) end
  local pending = 0
  for _, e in ipairs(engines) do pending = pending + e:pending() end
  if pending == 0 and not timers[1] then return false end
  if pending == 0 then
    core.sleep(math.max(wait, 0))
    local sig = core.interrupted()
    if sig then error(core.error { code = "sys", op = "interrupted", status = 0,
      message = "interrupted by signal " .. sig }, 0) end
    return true
  end
  for i, e in ipairs(engines) do
    -- With several engines, only the first waits; the others are just drained.
    local evs = e:poll(i == 1 and math.max(wait, 0) or 0)
    for _, ev in ipairs(evs) do
      local h = handlers[ev.id]
      if h then
        if ev.done then handlers[ev.id] = nil end
        h(ev)
      end
    end
  end
  return true
end

-- Wait until `register(wake)` arranges for wake(...) to be called; returns its arguments.
-- In a task this yields; elsewhere it drives the loop.
function M.wait_for(register)
  local co = coroutine.running()
  if tasks[co] then
    register(function(...)
      ready[#ready + 1] = { co = co, args = table.pack(...) }
    end)
    return coroutine.yield()
  end
  local done, vals = false, nil
  register(function(...) done, vals = true, table.pack(...) end)
  while not done do
    if not M.step() and not done then
      error(core.error { code = "einval", op = "wait", status = 0,
        message = "waiting for something that can never happen (no task, timer or request left)" }, 0)
    end
  end
  return table.unpack(vals, 1, vals.n)
end

-- Wait for engine request id; returns its completion event. Pieces of a streamed
-- response that arrive before the completion are gathered into it.
function M.await(id)
  return M.wait_for(function(wake)
    local outs, errs = {}, {}
    handlers[id] = function(ev)
      if not ev.done then
        outs[#outs + 1], errs[#errs + 1] = ev.out, ev.err
        return
      end
      if #outs > 0 then
        outs[#outs + 1], errs[#errs + 1] = ev.out, ev.err
        ev.out, ev.err = table.concat(outs), table.concat(errs)
      end
      wake(ev)
    end
  end)
end

-- Route every event of request id (stream pieces and the completion) to fn.
function M.on_events(id, fn) handlers[id] = fn end
function M.forget(id) handlers[id] = nil end

function M.sleep(seconds)
  if seconds <= 0 then return end
  M.wait_for(function(wake) add_timer(core.now() + seconds, wake) end)
end

-- Like wait_for, but gives up after `timeout` seconds and returns nil, "timeout".
function M.wait_for_timeout(timeout, register)
  return M.wait_for(function(wake)
    local fired = false
    local timer
    local function once(...)
      if fired then return end
      fired = true
      if timer then cancel_timer(timer) end
      wake(...)
    end
    timer = add_timer(core.now() + timeout, function() once(nil, "timeout") end)
    register(once)
  end)
end

function M.spawn(fn, name, ...)
  local co = coroutine.create(fn)
  local task = setmetatable({ co = co, name = name, state = "running", joiners = {} }, Task)
  tasks[co] = task
  ready[#ready + 1] = { co = co, args = table.pack(...) }
  return task
end

-- Wait for the task; return its results or raise its error.
function Task:join()
  if self.state == "running" then
    M.wait_for(function(wake)
      if self.state ~= "running" then wake() else self.joiners[#self.joiners + 1] = wake end
    end)
  end
  if self.state == "failed" then error(self.err, 0) end
  return table.unpack(self.results, 1, self.results.n)
end

-- Wait for the task without raising: ok, results... or false, err.
function Task:wait()
  return pcall(self.join, self)
end

-- Run every function as its own task, wait for all of them, and return their first
-- results in order. If any failed, raise the first failure (after all have finished, so
-- the caller knows everything that was made is accounted for).
function M.parallel(...)
  local fns = select("#", ...) == 1 and type(...) == "table" and ... or table.pack(...)
  local ts = {}
  for i = 1, (fns.n or #fns) do ts[i] = M.spawn(fns[i], "parallel#" .. i) end
  local out, first_err, nerr = {}, nil, 0
  for i, t in ipairs(ts) do
    local r = table.pack(t:wait())
    if r[1] then out[i] = r[2] else
      nerr = nerr + 1
      first_err = first_err or r[2]
    end
  end
  if first_err then
    if nerr > 1 and type(first_err) == "table" and first_err.message then
      first_err.message = first_err.message .. (" (and %d more failures)"):format(nerr - 1)
    end
    error(first_err, 0)
  end
  return out
end

-- Apply fn to each item of list with at most `limit` in flight; returns results in order.
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

function M.in_task() return tasks[coroutine.running()] ~= nil end

return M
