-- natrig.sweep.runner: runs a sweep's jobs (case x repeat), each as its own
-- `natrig run FILE k=v ... --result-json F` child process (natrig.core.spawn), at most
-- `jobs` at once. A child that crashes, hangs or is killed ends its own case only.
--
-- Each child gets its own network (natrig keeps concurrent runs apart by run label) and
-- the environment NATRIG_REPEAT (1-based repeat index) and NATRIG_SWEEP=1. The parent
-- polls the children and sleeps between polls; no hidden retries anywhere: every repeat
-- is reported as it ran.
--
-- Load: a new child starts only while the engine and the host keep up: the engine answers
-- /_ping within 2 s (measured at most every 5 s) and 384 MB of memory are available;
-- otherwise the job waits in the queue (said every 30 s) rather than starting and failing
-- for want of resources. With nothing running the next job always starts, so a busy
-- machine slows a sweep down but never stalls it. (The load average is no guide: the
-- children's own waiting on the engine counts in it.)
local core = require "natrig.core"

local M = {}
M.GRACE = 120      -- seconds beyond the scenario's own timeout before a child is stopped
M.KILL_AFTER = 60  -- seconds between SIGTERM (teardown) and SIGKILL (the watchdog cleans up)
M.OUTPUT_MAX = 256 * 1024

function M.nproc()
  local ok, code, out = pcall(core.run, { "nproc" }, 5)
  local n = ok and code == 0 and tonumber(tostring(out):match("%d+")) or nil
  return n or 1
end

local function meminfo_mb(field)
  local s = core.read_file("/proc/meminfo")
  local kb = s and tonumber(s:match(field .. ":%s*(%d+)"))
  return kb and kb / 1024 or nil
end

-- A safe default -j: one case per CPU, at most one per 512 MB available, at most 8.
function M.default_jobs()
  local n = M.nproc()
  local mem = meminfo_mb("MemAvailable")
  if mem then n = math.min(n, math.floor(mem / 512)) end
  return math.max(1, math.min(n, 8))
end

M.PING_SLOW = 2    -- seconds: an engine slower than this to answer /_ping is overloaded
M.PING_EVERY = 5
M.STAGGER = tonumber(core.getenv("NATRIG_SWEEP_STAGGER") or "") or 1 -- seconds between two starts:
-- bring-ups are the engine's busiest moments (NATRIG_SWEEP_STAGGER overrides; tests use 0.1)

-- A load gate: gate() -> nil when another case may start, else why not. eng may be nil
-- (no engine here: the children will say so themselves).
function M.load_gate(eng)
  local last, why = -math.huge, nil
  return function()
    local mem = meminfo_mb("MemAvailable")
    if mem and mem < 384 then return ("only %d MB of memory available"):format(math.floor(mem)) end
    if eng and core.now() - last >= M.PING_EVERY then
      local t = core.now()
      local ok = pcall(eng.ping, eng)
      local dt = core.now() - t
      last = core.now()
      why = not ok and "the engine does not answer /_ping"
        or dt > M.PING_SLOW and ("the engine took %.1fs to answer /_ping"):format(dt) or nil
    end
    return why
  end
end

-- The natrig binary children run: $NATRIG_BIN, else the one beside natrig's helpers.
function M.natrig_bin()
  local b = core.getenv("NATRIG_BIN")
  if b and b ~= "" then return b end
  return core.libexec_dir() .. "/natrig"
end

local function read_tail(path, max)
  local s = core.read_file(path) or ""
  if #s > max then s = "[... output cut to its last " .. max .. " bytes]\n" .. s:sub(-max) end
  return s
end

local function pcaps_of(dir)
  local out = {}
  local function walk(d, depth)
    for _, n in ipairs(core.list_dir(d) or {}) do
      local p = d .. "/" .. n
      if n:match("%.pcapn?g?$") then out[#out + 1] = p
      elseif depth < 2 and not n:match("^%.") then
        local st = core.stat(p)
        if st and st.type == "dir" then walk(p, depth + 1) end
      end
    end
  end
  if dir and core.stat(dir) then walk(dir, 0) end
  table.sort(out)
  return out
end

-- The repeat record from a finished child.
local function collect(job, code, timed_out)
  local r = { index = job["repeat"], exit_code = code, wall = core.now() - job.t0, started = job.started }
  local raw = core.read_file(job.result_file)
  local ok, res = false, nil
  if raw then ok, res = pcall(core.json_decode, raw) end
  r.output = read_tail(job.output_file, M.OUTPUT_MAX)
  if ok and type(res) == "table" then
    r.status, r.ok = res.status, res.status == "pass"
    r.duration, r.error, r.where = res.duration, res.error, res.where
    r.artifacts, r.run_id = res.artifacts, res.run_id
    r.params = res.params -- every parameter the run had, defaults included
    r.metrics = res.metrics or {}
  else
    r.status, r.ok, r.metrics = "error", false, {}
    r.duration = r.wall
    if timed_out then
      r.error = ("timed out: no result after %.0fs (the scenario's timeout plus %ds); stopped"):format(r.wall, M.GRACE)
    elseif code and code > 128 then
      r.error = ("natrig run was killed by signal %d and wrote no result"):format(code - 128)
    else
      r.error = ("natrig run exited with code %s and wrote no result"):format(tostring(code))
    end
  end
  if timed_out and r.status ~= "error" then
    r.status, r.ok = "error", false
    r.error = (r.error and (r.error .. "\n") or "") .. "timed out and was stopped"
  end
  if r.artifacts then r.pcaps = pcaps_of(r.artifacts) end
  core.remove(job.result_file)
  core.remove(job.output_file)
  return r
end

-- run(jobs, opts): jobs = { {case, repeat, timeout} }; opts: jobs (N at once), dir
-- (scratch folder), on_done(job, record), log(line). Each job gets .record. Raises
-- (after stopping every child and waiting for its teardown) when interrupted.
function M.run(jobs, opts)
  local bin = M.natrig_bin()
  local eok, eng = pcall(function() return require("natrig.engine").open() end)
  local gate = M.load_gate(eok and eng or nil)
  local queue, running = {}, {}
  for i = #jobs, 1, -1 do queue[#queue + 1] = jobs[i] end
  local log = opts.log or function() end
  local waiting_said = -math.huge
  local seq = 0
  local last_start = -math.huge

  local function start(job)
    seq = seq + 1
    job.result_file = ("%s/%d.json"):format(opts.dir, seq)
    job.output_file = ("%s/%d.out"):format(opts.dir, seq)
    core.remove(job.result_file)
    local argv = { bin, "run", job.case.file }
    local keys = {}
    for k in pairs(job.case.params) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do argv[#argv + 1] = k .. "=" .. job.case.params[k] end
    argv[#argv + 1] = "--result-json"
    argv[#argv + 1] = job.result_file
    job.t0, job.started = core.now(), core.time()
    job.deadline = job.t0 + (job.timeout or 300) + M.GRACE
    job.proc = core.spawn(argv, { stdout = job.output_file, stderr = "stdout",
      env = { NATRIG_REPEAT = tostring(job["repeat"]), NATRIG_SWEEP = "1" } })
    running[#running + 1] = job
    log(("start  %s #%d (%d running, %d queued)"):format(job.case.id, job["repeat"], #running, #queue))
  end

  local function finish(i, code, timed_out)
    local job = table.remove(running, i)
    job.record = collect(job, code, timed_out)
    job.proc:close()
    if opts.on_done then opts.on_done(job, job.record) end
  end

  local function step()
    for i = #running, 1, -1 do
      local job = running[i]
      local code = job.proc:poll()
      if code then
        finish(i, code, job.stopping)
      elseif core.now() > job.deadline then
        if not job.stopping then
          job.stopping = core.now()
          log(("stopping %s #%d: past its timeout"):format(job.case.id, job["repeat"]))
          job.proc:kill(core.SIGTERM)
        elseif core.now() - job.stopping > M.KILL_AFTER then
          job.proc:kill(core.SIGKILL)
        end
      end
    end
    while #queue > 0 and #running < opts.jobs do
      if #running > 0 and core.now() - last_start < M.STAGGER then break end
      local why = #running > 0 and gate()
      if why then
        if core.now() - waiting_said > 30 then
          log(("queued %s #%d: host overloaded (%s); it waits for running cases"):format(
            queue[#queue].case.id, queue[#queue]["repeat"], why))
          waiting_said = core.now()
        end
        break
      end
      start(table.remove(queue))
      last_start = core.now()
    end
  end

  local ok, err = pcall(function()
    while #queue > 0 or #running > 0 do
      step()
      if #running > 0 or #queue > 0 then core.sleep(0.05) end
    end
  end)
  if eok then pcall(eng.close, eng) end
  if not ok then
    -- Interrupted (or a bug): every child tears its own network down on SIGTERM.
    local defer = core.defer_signals
    local was = defer and defer(true)
    for _, job in ipairs(running) do job.proc:kill(core.SIGTERM) end
    local t0 = core.now()
    while #running > 0 and core.now() - t0 < M.KILL_AFTER do
      for i = #running, 1, -1 do
        if running[i].proc:poll() then table.remove(running, i).proc:close() end
      end
      core.sleep(0.1)
    end
    for _, job in ipairs(running) do job.proc:close() end -- SIGKILL; the watchdog reaps
    if defer then defer(was) end
    error(err, 0)
  end
end

return M
