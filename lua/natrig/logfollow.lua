--- natrig.logfollow: how a node's log reaches its store (natrig.logs): the engine's
-- follow stream, fetches of what the engine has (stopped containers, a stalled follow),
-- and the log files of profiles whose programs write them. Pieces go from the engine's
-- socket to the C store inside engine:poll (split, parsed, indexed and matched against
-- waits there; Lua sees the waits they satisfied, not the bytes); a node whose log
-- outruns natrig is reported with the lag in seconds, in the timeline and by lag_report.
-- @module natrig.logfollow
local core = require "natrig.core"
local task = require "natrig.task"
local logs = require "natrig.logs"

local M = {}

--- A follow that falls this many seconds behind the engine's stamps is reported.
M.LAG_REPORT = 2

--- Lag: the engine stamps a line when the app writes it; natrig parses it later. Called
-- after each piece of a follow stream (not a fetch: it brings old lines by design) with
-- the newest entry's engine time; a lag over LAG_REPORT seconds is noted in the timeline
-- once, and its end ("caught up") too.
function M.note_lag(node, last_time)
  if not last_time then return end
  local lag = core.time() - last_time
  node.log.log_lag = lag
  if lag > (node.log.log_lag_max or 0) then node.log.log_lag_max = lag end
  if lag > M.LAG_REPORT and not node.log.log_lagging then
    node.log.log_lagging = true
    node.log.log_lag_reports = (node.log.log_lag_reports or 0) + 1
    if node.net and node.net.note then
      node.net:note("log of " .. node.name .. " behind",
        ("by %.1fs: natrig parses it later than the app writes it"):format(lag))
    end
  elseif node.log.log_lagging and lag < M.LAG_REPORT / 2 then
    node.log.log_lagging = false
    if node.net and node.net.note then
      node.net:note("log of " .. node.name .. " caught up", ("after lagging up to %.1fs"):format(node.log.log_lag_max))
    end
  end
end

--- Lines for a run's summary: each node whose log fell behind, with its worst lag; nil
-- when none did.
function M.lag_report(net)
  local lines = {}
  for _, n in ipairs(net.nodes or {}) do
    if (n.log.log_lag_reports or 0) > 0 then
      lines[#lines + 1] = ("log of %s fell behind natrig by up to %.1fs"):format(n.name, n.log.log_lag_max or 0)
    end
  end
  return #lines > 0 and lines or nil
end

-- A follow's (or fetch's) sink: the engine hands the stream's pieces to the node's store in
-- C (split, parsed, indexed and matched against waits there, inside engine:poll); Lua sees
-- one small event a piece: bytes, the waits it satisfied, counters. Returns the sink, the
-- event handler, and flush() for the stream's end (a last line without newline). follow:
-- a live stream, whose lag is measured.
local function sink_for(node, follow)
  local st = logs.store(node)
  local out, err = st:feeder("stdout"), st:feeder("stderr")
  local sink = st:sink(out, err, logs.budget(node))
  local function after(woken, spilled, seq, last_time)
    node.log.spilled, node.log.seq = spilled, seq
    if woken then logs.wake(node, woken) end
    if follow then M.note_lag(node, last_time) end
  end
  local function on_fed(ev)
    if ev.bytes > 0 then
      node.log.log_bytes = (node.log.log_bytes or 0) + ev.bytes
      node.log.log_data_at = core.now()
    end
    -- the run's nodes share the budget: one added since shrinks it
    sink:budget(logs.budget(node))
    after(ev.woken, ev.spilled, ev.seq, ev.last_time)
  end
  local function flush()
    local budget = logs.budget(node)
    after(st:flush(out, true, budget))
    after(st:flush(err, true, budget))
  end
  return sink, on_fed, flush
end

--- Where to resume fetching: the earliest of the streams' last times (the engine's
-- `since` is inclusive; lines already seen are dropped per stream).
function M.resume_time(node)
  if type(node.log.entries) ~= "userdata" then return 0 end
  return node.log.entries:stats().resume_time or 0
end

-- The direct path: one tailer for the process (core.log_tail: inotify, bounded pieces,
-- json-file decoded in C), polled by the scheduler beside the engines. false: the kernel
-- gave none (tailer_why says why).
local tailer, tailer_why
local function get_tailer()
  if tailer == nil then
    local t, why = core.log_tail()
    tailer, tailer_why = t or false, why
    if t then task.set_source(t) end
  end
  return tailer or nil, tailer_why
end

-- The engine's root directory (/info's DockerRootDir), asked once per engine: the nodes
-- starting at once share the one answer.
local roots = setmetatable({}, { __mode = "k" })
local function root_dir(eng)
  local r = roots[eng]
  if not r or r.state == "cancelled" or r.state == "failed" then -- an abort cancelled it: ask again
    r = task.spawn(function()
      local ok, info = pcall(eng.system_info, eng)
      return ok and type(info) == "table" and info.DockerRootDir or nil
    end, "the engine's root directory")
    roots[eng] = r
  end
  local ok, dir = r:wait()
  return ok and dir or nil
end

--- Which way a node's log comes, decided here only. "file": natrig reads the container's
-- json-file log where the engine writes it, woken by inotify: no follow stream, so the
-- engine's re-encoding and its pace are out of the way. It takes the engine on this machine
-- (reached over its unix socket), the json-file driver (natrig creates its app containers
-- with it: logs.engine_log_config), and the file readable here at
-- <DockerRootDir>/containers/<id>/<id>-json.log, where the driver writes it (the file
-- existing is the check: no inspect a node). "stream": the engine's follow (a remote
-- engine, tcp://, no such file, or NATRIG_LOG_DIRECT=0). Returns the route and its detail:
-- the file, or why not.
-- @local
function M.route(node)
  if core.getenv("NATRIG_LOG_DIRECT") == "0" then return "stream", "NATRIG_LOG_DIRECT=0" end
  local eng = node.eng or node.net.eng
  local host = eng.raw:info().host or ""
  if not host:match("^unix://") then return "stream", "the engine, " .. host .. ", is not on a local socket" end
  local root = root_dir(eng)
  if not root then return "stream", "the engine gave no root directory" end
  local tl, why = get_tailer()
  if not tl then return "stream", why end
  return "file", ("%s/containers/%s/%s-json.log"):format(root, node.id, node.id)
end

--- What the route of the node's log is, in words (diagnostics; brief: the timeline's, without
-- the counts).
-- @local
function M.route_text(node, brief)
  local file = "read from the engine's json-file " .. tostring(node.log.log_route_why)
  if node.log.log_route == "file" and brief then return file end
  if node.log.log_route == "file" then
    local i = tailer and node.log.tail_id and tailer:info(node.log.tail_id) or {}
    -- lost: natrig fell behind by more than the engine keeps (max-file); their lines never came
    return ("%s (%d bytes, %d rotations%s%s)"):format(file, i.taken or 0, i.rotations or 0,
      (i.lost or 0) > 0 and (", %d times a rotated file was gone before it was read: lines lost"):format(i.lost) or "",
      (i.bad or 0) > 0 and (", %d lines not json-file records"):format(i.bad) or "")
  end
  return "the engine's follow stream" .. (node.log.log_route_why and (" (" .. node.log.log_route_why .. ")") or "")
end

-- Follow the file the route named: its pieces go to the store in C as a stream's do.
-- on_tail[id]: what a piece read from the file did (also for reads outside the scheduler).
local on_tail = {}
local function attach_file(node, path)
  local sink, on_fed = sink_for(node, true)
  local id, why = tailer:add(path, sink)
  if not id then return nil, why end
  node.log.tail_id = id
  on_tail[id] = function(ev) if ev.bytes > 0 or ev.woken then on_fed(ev) end end
  task.on_events(id, on_tail[id])
  node.log.stop_follow = function()
    task.forget(id)
    on_tail[id] = nil
    if tailer then tailer:remove(id) end
    node.log.tail_id = nil
  end
  return true
end

-- Read the node's file to its end now; returns the bytes that came.
local function drain(node)
  local ev = tailer:drain(node.log.tail_id)
  on_tail[node.log.tail_id](ev)
  return ev.bytes
end

--- Start following the node's app container (again after a restart: a file read directly
-- goes on where it was, the engine appends to it).
function M.attach(node, again)
  if node.log.stop_follow and not again then return end
  node.log.following, node.log.lines_final = true, nil
  if node.log.tail_id then return end -- a restart: the engine appends to the same file
  if node.log.stop_follow then node.log.stop_follow() end
  local first = not node.log.log_route
  if first then node.log.log_route, node.log.log_route_why = M.route(node) end
  if node.log.log_route == "file" then
    local ok, why = attach_file(node, node.log.log_route_why)
    if not ok then node.log.log_route, node.log.log_route_why = "stream", why end
  end
  if node.log.log_route == "stream" then
    local sink, on_fed = sink_for(node, true)
    node.log.stop_follow = (node.eng or node.net.eng):follow_logs(node.id,
      { since = M.resume_time(node), sink = sink }, on_fed, function(e)
        node.log.following = false
        node.log.follow_error = e
      end)
  end
  if first and node.net and node.net.note then node.net:note("log of " .. node.name, M.route_text(node, true)) end
  if node.profile and node.profile.log_files then M.attach_files(node) end
end

--- The node's app exited. A log read where the engine writes it is complete by then (the
-- engine flushes and closes it before it reports the exit): it is read to its end now and
-- true is returned. A follow stream ends by itself (false: natrig.watch waits for it).
-- @local
function M.exited(node)
  if not node.log.tail_id then return false end
  drain(node)
  node.log.following = false
  return true
end

-- Log files are read in pieces of at most this many bytes a file a turn.
local FILE_PIECE = 1048576

--- Profiles whose program writes log files (Freenet): the files live on a host
-- directory bind-mounted into the container; what is new goes from the file to the C
-- store (st:feed_file: read and parsed in C, no Lua string), from each file's last offset
-- in pieces of 1 MiB. The directory is looked at only when inotify says something in it
-- was written (a non-blocking read each turn), not listed and stat'ed every 50 ms; where
-- inotify is missing it is scanned each turn.
function M.attach_files(node)
  if node.log.file_timer then return end
  node.log.file_offsets = node.log.file_offsets or {}
  local feeders = {}
  local watch
  local function scan()
    local dir = node.log_dir
    if not dir then return false end
    local st = logs.store(node)
    local more = false
    for _, name in ipairs(core.list_dir(dir) or {}) do
      if name:match(node.profile.log_files) then
        local off = node.log.file_offsets[name] or 0
        feeders[name] = feeders[name] or st:feeder("file:" .. name)
        local n, woken, spilled, seq = st:feed_file(feeders[name], dir .. "/" .. name, off, FILE_PIECE,
          logs.budget(node))
        if n > 0 then
          node.log.file_offsets[name] = off + n
          node.log.log_bytes = (node.log.log_bytes or 0) + n
          node.log.log_data_at = core.now()
          node.log.spilled, node.log.seq = spilled, seq
          if woken then logs.wake(node, woken) end
          more = more or n == FILE_PIECE
        end
      end
    end
    return more
  end
  node.log.file_timer = task.spawn(function()
    local more = true
    while node.net.state ~= "down" do
      if watch == nil and node.log_dir then watch = core.inotify(node.log_dir) or false end
      -- drained every turn; a write since the last turn (or a piece left over) means a scan
      local changed = not watch or watch:changed()
      if changed or more then more = scan() end
      if not more then task.sleep(0.05) end
    end
    if watch then watch:close() end
  end, node.name .. " log files")
end

--- Fetch what is new since the last line seen (also for stopped or killed containers,
-- whose follow stream has ended).
-- Streamed, not read whole: a fetch may bring megabytes (a stalled follow's backlog), and
-- in pieces it costs what a follow costs. Returns the bytes fetched. timeout: seconds
-- (default 60).
local FETCH_TIMEOUT = 60
function M.fetch(node, timeout)
  if node.log.tail_id then return drain(node) end -- the file has all the engine has
  timeout = timeout or FETCH_TIMEOUT
  local sink, on_fed, flush = sink_for(node, false)
  local n, stop = 0, nil
  local what = "fetching the logs of " .. node.name
  local ended, why = task.wait_for_timeout(timeout, function(wake)
    stop = (node.eng or node.net.eng):follow_logs(node.id,
      { since = M.resume_time(node), follow = false, sink = sink }, function(ev)
        n = n + ev.bytes
        on_fed(ev)
      end, function(e) wake(true, e) end)
  end, what)
  if not ended then
    if stop then stop() end
    core.fail("timeout", what, ("the engine sent %d bytes in %gs and had not finished"):format(n, timeout))
  end
  flush()
  if why then core.fail("engine", what, why) end
  return n
end

-- A follow that went silent after much output may have stopped at a log rotation (the
-- engine bug above; a file rotates at NATRIG_ENGINE_LOG_SIZE, or at a daemon's own size for
-- containers natrig did not create): fetch what the engine has since the last line seen,
-- and when that brings lines the follow never delivered, follow again from there.
-- Returns true when it found missed lines. Only for nodes past 1 MB of output, so quiet
-- nodes cost no calls.
M.CATCH_UP_BYTES = 1048576
-- natrig.logs' waits catch a stalled follow up through these (see logs.wait)
logs.catch_up_bytes = M.CATCH_UP_BYTES
logs.on_stall = function(node) return M.catch_up(node) end
function M.catch_up(node)
  if node.log.tail_id then return false end -- a file read directly never stalls as a follow does
  if not node.running or not node.id or (node.log.log_bytes or 0) < M.CATCH_UP_BYTES then return false end
  -- a follow still delivering is not stalled (and a fetch now would copy its backlog)
  if core.now() - (node.log.log_data_at or 0) < 2 then return false end
  local seq = node.log.seq
  local ok = pcall(M.fetch, node)
  if not ok or node.log.seq == seq then return false end
  node.log.follow_stalls = (node.log.follow_stalls or 0) + 1
  M.attach(node, true)
  return true
end

return M
