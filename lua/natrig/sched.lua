--- natrig.sched: the scheduler that lets many Engine calls run at once while Lua code stays
-- sequential-looking. A task is a coroutine; when it waits (for an engine request, a
-- timer, another task, a log line) it yields, and the loop resumes it when the awaited
-- thing happens. Code outside any task (the scenario's main body, the REPL) blocks by
-- driving the same loop, so background tasks keep running while it waits. Code uses it
-- through natrig.task, which adds what is built on it (parallel, map).
-- @module natrig.sched
local core = require "natrig.core"

local M = {}

-- The scheduler: one value that owns every piece of the loop's state; nothing mutable is
-- exported (read it with M.signal(), M.epoch(), M.last_where()). Aborts (a deadline, a
-- signal) are the scheduler's errors, not the waiting task's: they carry `abort = true`,
-- Task:wait and parallel re-raise them, and inside M.guard they are sticky (S.aborting):
-- every later step raises it again, so no pcall between can swallow one. M.recover() ends it.
local S = {
  tasks = setmetatable({}, { __mode = "k" }), -- coroutine -> task
  ready = {},        -- { co, args } resumed on the next step
  timers = {},       -- sorted by .at
  handlers = {},     -- engine request id -> function(event)
  engines = {},      -- raw S.engines polled by the loop
  source = nil, tail_next = 0, -- the log tailer (M.set_source), polled beside them; its next turn
  calls = {},        -- engine request id -> { what, raw, drain } awaited (not streams)
  -- Events polled and not yet handed to their handlers (head..tail): an abort raised in
  -- the middle of a batch leaves the rest for the next step or recover(), never loses it.
  inbox = { head = 1, tail = 0 },
  polling = false,   -- between poll() and the inbox: the watch hook raises nothing here
  late = {}, late_made = 0, -- creates let run on after an abort (recover); made with success
  main_waiting = nil, -- what code outside any task waits on (for timeout messages)
  aborting = nil, guarding = nil, -- the sticky abort, inside M.guard; inside M.guard
  deadline = nil, deadline_len = nil, deadline_what = nil,
  signal = nil, signal_at = nil, -- the first signal seen, and when (M.signal(), M.signal_at())
  epoch = 0,         -- bumped by recover(): what was counted before it was abandoned
  where_source = nil, last_where = nil, -- the scenario file, and its line that failed
}

-- The watch hook (l_signal.c, on the main thread and every task) calls M.hook_check once
-- this time has passed (the deadline; at once while an abort is sticky) or on a signal.
local function sync_watch()
  core.set_watch(S.guarding and (S.aborting and -1 or S.deadline) or nil)
end

local Task = {}
Task.__index = Task
Task.__name = "natrig.Task"
function Task:__tostring() return ("natrig.Task(%s, %s)"):format(self.name or "?", self.state) end
M.Task = Task

function M.add_engine(raw) S.engines[#S.engines + 1] = raw end
--- The log tailer (core.log_tail): polled beside the engines, its events go to handlers.
function M.set_source(src) S.source = src end
M.TAIL_TURN = 0.01 -- its turns at most this often (s): what a wait_log may wait more under a flood
function M.remove_engine(raw)
  for i, e in ipairs(S.engines) do if e == raw then table.remove(S.engines, i) return end end
end

local function add_timer(at, fn)
  local t, i = { at = at, fn = fn }, #S.timers + 1
  while i > 1 and S.timers[i - 1].at > at do i = i - 1 end
  table.insert(S.timers, i, t)
  return t
end

local function cancel_timer(t)
  for i, x in ipairs(S.timers) do if x == t then table.remove(S.timers, i) return end end
end

local function finish(task, ok, ...)
  task.state = ok and "done" or "failed"
  task.waiting = nil
  if ok then task.results = table.pack(...) else task.err = ... end
  local joiners = task.joiners
  task.joiners = {}
  for _, w in ipairs(joiners) do w() end
end

local function resume(co, ...)
  local task = S.tasks[co]
  if task and task.state == "cancelled" then return end
  task.waiting = nil
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

--- The live tasks (not "progress" reporters): a list of { name, waiting }, and what code
-- outside any task waits on.
function M.live()
  local l = {}
  for _, t in pairs(S.tasks) do
    if t.state == "running" and t.name ~= "progress" then l[#l + 1] = { name = t.name, waiting = t.waiting } end
  end
  return l, S.main_waiting
end

--- What is still waiting, for a timeout message: "name (what)" for each live task.
function M.pending_desc(limit)
  local l = {}
  for _, t in ipairs(M.live()) do l[#l + 1] = ("%s (%s)"):format(t.name or "task", t.waiting or "running") end
  table.sort(l)
  if S.main_waiting then table.insert(l, 1, "main (" .. S.main_waiting .. ")") end
  local n = #l
  limit = limit or 12
  if n > limit then l = { table.unpack(l, 1, limit) }; l[#l + 1] = ("and %d more"):format(n - limit) end
  return table.concat(l, ", ")
end

local function abort(code, op, message)
  local e = core.error { code = code, op = op, status = 0, message = message }
  e.abort = true
  if S.guarding then S.aborting = e; sync_watch() end
  error(e, 0)
end

--- An asynchronous failure (an app that exited unasked): inside M.guard the next step
-- raises it, whatever the scenario is waiting on. Returns true when it will be raised.
function M.fail(err)
  if type(err) == "table" then err.abort = true end
  if S.guarding and not S.aborting then S.aborting = err; sync_watch() return true end
  return S.guarding == true
end

--- A signal, seen by the loop (or raised by the CLI's hook in the middle of Lua code).
function M.interrupt(sig)
  S.signal, S.signal_at = S.signal or sig, S.signal_at or core.now()
  abort("interrupted", "interrupted", ("interrupted by signal %s (%s)"):format(tostring(sig),
    sig == 15 and "SIGTERM" or sig == 2 and "SIGINT" or "signal"))
end

local function check_abort()
  if S.aborting then error(S.aborting, 0) end
  if S.deadline and core.now() > S.deadline then
    local len = S.deadline_len or 0
    S.deadline = nil
    local pending = M.pending_desc()
    abort("timeout", S.deadline_what or "scenario", ("timed out after %g s; %s"):format(len,
      pending ~= "" and "still pending: " .. pending or "nothing was pending: its Lua code was running"))
  end
  local sig = core.interrupted()
  if sig then M.interrupt(sig) end
end
M.check = check_abort

--- The watch hook's entry: raise what check_abort raises, but a task running when an abort
-- is sticky yields from the hook instead (returns true): no pcall in it can catch that.
function M.hook_check(can_yield)
  if S.polling then return false end -- step's own check raises it, once the batch is kept
  local ok, e = pcall(check_abort)
  if ok then return false end
  if can_yield and S.aborting and e == S.aborting and S.tasks[coroutine.running()] then return true end
  error(e, 0)
end

-- Poll one engine into the inbox; the watch hook (a signal arms it for poll's return)
-- raises nothing until the batch is held.
local function take(e, wait, fd)
  S.polling = true
  local ok, evs = pcall(e.poll, e, wait, fd)
  S.polling = false
  if not ok then error(evs, 0) end
  local box = S.inbox
  for i = 1, #evs do box.tail = box.tail + 1; box[box.tail] = evs[i] end
end

-- Hand the inbox's events to their handlers, each taken off before its handler runs.
local function dispatch()
  local box = S.inbox
  while box.head <= box.tail do
    local ev = box[box.head]
    box[box.head], box.head = nil, box.head + 1
    if ev.done then
      S.calls[ev.id] = nil
      if S.late[ev.id] then
        S.late[ev.id] = nil
        if ev.status >= 200 and ev.status < 300 then S.late_made = S.late_made + 1 end
      end
    end
    local h = S.handlers[ev.id]
    if h then
      if ev.done then S.handlers[ev.id] = nil end
      h(ev)
    end
  end
  box.head, box.tail = 1, 0
end

--- Run the loop once: ready tasks first, then due timers, then engine events.
function M.step(max_wait)
  check_abort()
  if S.inbox.head <= S.inbox.tail then dispatch() return true end
  if #S.ready > 0 then
    local q = S.ready
    S.ready = {}
    for _, r in ipairs(q) do resume(r.co, table.unpack(r.args, 1, r.args.n)) end
    return true
  end
  local now = core.now()
  if S.timers[1] and S.timers[1].at <= now then
    local t = table.remove(S.timers, 1)
    t.fn()
    return true
  end
  local wait = max_wait or 0.5
  if S.timers[1] then wait = math.min(wait, S.timers[1].at - now) end
  -- Never sleep past the deadline: it fires within a few ms of its time.
  if S.deadline then wait = math.min(wait, S.deadline - now + 0.001) end
  -- The log tailer (json-file logs read directly) ends a wait when a file grew, but a turn starts at
  -- most every TAIL_TURN s (back to back, each an engine poll: 42 s of CPU in an 82 s 100-node flood).
  local src = S.source and S.source:count() > 0 and S.source or nil
  local due = src and now >= S.tail_next
  if src and not due then wait = math.min(wait, S.tail_next - now) elseif src and src:busy() then wait = 0 end
  local pending, busy = src and 1 or 0, 0
  for _, e in ipairs(S.engines) do
    pending = pending + e:pending()
    if e:pending() > 0 then busy = busy + 1 end
  end
  if pending == 0 and not S.timers[1] then return false end
  -- One engine with requests in flight waits for them; with several (a run over a Swarm)
  -- each waits a short slice in turn, so none waits behind another's idle timeout.
  local slice = busy > 1 and math.min(math.max(wait, 0), 0.004) or math.max(wait, 0)
  if busy == 0 and due then src:wait(slice) elseif busy == 0 then core.sleep(slice) end
  local fd = due and src:fd() or nil -- a poll of the engines ends early when a file grew
  for _, e in ipairs(busy > 0 and S.engines or {}) do take(e, e:pending() > 0 and slice or 0, fd) end
  if src and core.now() >= S.tail_next then S.tail_next = core.now() + M.TAIL_TURN; take(src, 0) end
  dispatch()
  check_abort()
  return true
end

--- Wait until `register(wake)` arranges for wake(...) to be called; returns its arguments.
-- In a task this yields; elsewhere it drives the loop. `what` says what is awaited (for
-- the message of a timeout that fires meanwhile).
function M.wait_for(register, what)
  local co = coroutine.running()
  local t = S.tasks[co]
  if t then
    t.waiting = what
    register(function(...)
      S.ready[#S.ready + 1] = { co = co, args = table.pack(...) }
    end)
    return coroutine.yield()
  end
  local done, vals = false, nil
  local outer = S.main_waiting
  S.main_waiting = what or outer
  register(function(...) done, vals = true, table.pack(...) end)
  local ok, err = pcall(function()
    while not done do
      if not M.step() and not done then
        core.fail("einval", "wait", "waiting for something that can never happen (no task, timer or request left)")
      end
    end
  end)
  S.main_waiting = outer
  if not ok then error(err, 0) end
  return table.unpack(vals, 1, vals.n)
end

--- Wait for engine request id; returns its completion event. Pieces of a streamed
-- response that arrive before the completion are gathered into it. drain: the op table's
-- word (engine submit) that an abort lets this request finish (see recover).
function M.await(id, what, raw, drain)
  S.calls[id] = { what = what or "engine request", raw = raw, drain = drain }
  return M.wait_for(function(wake)
    local outs, errs = {}, {}
    S.handlers[id] = function(ev)
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
  end, what or "engine request")
end

--- Route every event of request id (stream pieces and the completion) to fn.
function M.on_events(id, fn) S.handlers[id] = fn end
function M.forget(id) S.handlers[id] = nil end

--- Wait `seconds` (other tasks run meanwhile; natrig.sleep); `what` names the wait.
-- @tparam number seconds
-- @usage natrig.sleep(0.5)
function M.sleep(seconds, what)
  if seconds <= 0 then return end
  M.wait_for(function(wake) add_timer(core.now() + seconds, wake) end, what or ("sleep %g s"):format(seconds))
end

--- Like wait_for, but gives up after `timeout` seconds and returns nil, "timeout".
function M.wait_for_timeout(timeout, register, what)
  return M.wait_for(function(wake)
    local fired, timer = false, nil
    local function once(...)
      if fired then return end
      fired = true
      if timer then cancel_timer(timer) end
      wake(...)
    end
    timer = add_timer(core.now() + timeout, function() once(nil, "timeout") end)
    register(once)
  end, what)
end

--- Run fn(...) as a task beside the caller (natrig.spawn); t:join() waits for its results.
-- @tparam function fn
-- @tparam[opt] string name what it does, for timeout messages
-- @treturn Task
-- @usage local t = natrig.spawn(function() return b:wait_log{ match = "up" } end)
-- a:start(); local e = t:join()
function M.spawn(fn, name, ...)
  local co = coroutine.create(fn)
  core.watch_thread(co)
  local task = setmetatable({ co = co, name = name, state = "running", joiners = {} }, Task)
  S.tasks[co] = task
  S.ready[#S.ready + 1] = { co = co, args = table.pack(...) }
  return task
end

--- Stop a task: it is never resumed again (what it has in flight at the engine completes
-- there; teardown finds it by label). Joiners see an error.
function Task:cancel(why)
  if self.state ~= "running" then return end
  finish(self, false, core.error { code = "cancelled", op = self.name or "task", status = 0,
    message = why or "cancelled" })
  self.state = "cancelled"
end

--- Wait for the task; return its results or raise its error.
function Task:join()
  if self.state == "running" then
    M.wait_for(function(wake)
      if self.state ~= "running" then wake() else self.joiners[#self.joiners + 1] = wake end
    end, "task " .. tostring(self.name or "?"))
  end
  if self.state == "failed" or self.state == "cancelled" then error(self.err, 0) end
  return table.unpack(self.results, 1, self.results.n)
end

local function is_abort(e) return type(e) == "table" and e.abort == true end
M.is_abort = is_abort
--- Wait for the task without raising: ok, results... or false, err. A scheduler abort
-- (deadline, signal) is not the task's failure: it is raised.
function Task:wait()
  local r = table.pack(pcall(self.join, self))
  if not r[1] and is_abort(r[2]) then error(r[2], 0) end
  return table.unpack(r, 1, r.n)
end

function M.in_task() return S.tasks[coroutine.running()] ~= nil end

--- The first signal seen (SIGINT 2, SIGTERM 15), or nil; clear_signal forgets it (the REPL
-- goes on after a Ctrl-C).
function M.signal() return S.signal end
function M.clear_signal() S.signal, S.signal_at = nil, nil end
function M.signal_at() return S.signal_at end -- (core.now())
--- Bumped by every recover(): what was counted before it (engine call slots) is void.
function M.epoch() return S.epoch end
--- The scenario line that was running when the last guard failed ("file:line"), or nil.
function M.last_where() return S.last_where end
--- The chunk (debug.getinfo's source, "@file") whose line M.last_where() reports.
function M.set_where_source(src) S.where_source = src end

--- Run fn() (outside any task) with a deadline of `timeout` seconds; `what` names it in
-- the timeout message. Aborts inside are sticky (see S.aborting). Returns like xpcall
-- with a traceback for string errors; the caller must call M.recover() afterwards if it
-- wants to wait on anything again (teardown).
function M.guard(fn, timeout, what, ...)
  local outer_g, outer_d, outer_l, outer_w = S.guarding, S.deadline, S.deadline_len, S.deadline_what
  S.guarding = true
  if timeout then
    S.deadline, S.deadline_len, S.deadline_what = core.now() + timeout, timeout, what
  end
  core.watch_thread()
  sync_watch()
  S.last_where = nil
  local r = table.pack(xpcall(fn, function(e)
    debug.sethook() -- no watch hook in here ("error in error handling"); sync_watch puts it back
    -- The line of the scenario that was running (or waiting) when it failed.
    if S.where_source then
      for level = 2, 60 do
        local info = debug.getinfo(level, "Sl")
        if not info then break end
        if info.source == S.where_source and info.currentline > 0 then
          S.last_where = ("%s:%d"):format(info.short_src, info.currentline)
          break
        end
      end
    end
    if type(e) == "string" then return debug.traceback(e, 2) end
    return e
  end, ...))
  S.guarding, S.deadline, S.deadline_len, S.deadline_what = outer_g, outer_d, outer_l, outer_w
  core.watch_thread()
  sync_watch()
  return table.unpack(r, 1, r.n)
end

-- End an abort: every task is cancelled (none will run again), timers and handlers are
-- dropped, every request is abandoned (an image import must not hold up the teardown)
-- except creates and connects (`drain`): they run on as `late` calls beside the teardown,
-- which waits for them (M.wait_late) and removes what they made. (Waited for here, as
-- once for up to 5 s, the engine's slowest create came before the whole teardown.)
function M.recover()
  S.aborting = nil
  sync_watch()
  S.epoch = S.epoch + 1
  for _, t in pairs(S.tasks) do t:cancel("the run was aborted") end
  S.ready, S.timers = {}, {}
  for id in pairs(S.handlers) do S.handlers[id] = nil end
  for id, c in pairs(S.calls) do
    if c.drain then S.late[id] = c.what elseif c.raw then pcall(c.raw.cancel, c.raw, id) end
  end
  S.calls = {}
  dispatch() -- a batch an abort cut short: its completions count
end

--- Wait (at most `timeout` s; 0: not at all) until no late create is in flight. Returns
-- how many still are, and how many the engine made with success since the start.
function M.wait_late(timeout)
  local deadline, n = core.now() + timeout, 0
  while next(S.late) and core.now() < deadline do -- named where teardown says what it waits on
    M.sleep(math.min(0.05, deadline - core.now()), "creates the engine has not answered: " .. select(2, next(S.late)))
  end
  for _ in pairs(S.late) do n = n + 1 end
  return n, S.late_made
end

--- Run fn() where signals cannot stop it (teardown): they are noted, and the first one
-- after this returns is seen by the loop as usual. A deadline still bounds it.
function M.shielded(fn, timeout, ...)
  local outer = core.defer_signals(true)
  local r = table.pack(M.guard(fn, timeout or 120, "teardown", ...))
  core.defer_signals(outer)
  S.aborting = nil
  sync_watch()
  return table.unpack(r, 1, r.n)
end

return M
