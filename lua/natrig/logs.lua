-- natrig.logs: every node's log, followed from the engine as it is written, parsed by
-- the C parser (natrig.core.log_parse: engine timestamp, tracing text, JSON, ANSI), kept
-- per node, and queried or waited on from Lua.
--
--   node:logs{ level = "warn", target = "freenet::transport", match = "established",
--              fields = { peer_addr = "10.1.2.3:31337" }, since = t0, ["until"] = t1 }
--   node:wait_log{ match = "hole punched", fields = { remote = "b" }, timeout = 20 }
--
-- An entry: { time, engine_time, level, target, message, fields, spans, raw, node, seq,
-- stream }. level filters mean "this level or more severe". wait_log returns as soon as
-- the line arrives on the follow stream (no sleep-and-refetch), and a timeout fails with
-- the node's last lines.
local core = require "natrig.core"
local task = require "natrig.task"

local M = {}
local SEVERITY = { trace = 1, debug = 2, info = 3, warn = 4, warning = 4, error = 5 }

local function level_rank(l) return l and SEVERITY[l:lower()] or 0 end

local function bad(op, msg) error(core.error { code = "einval", op = op, status = 0, message = msg }, 4) end

local QUERY_KEYS = { level = true, target = true, match = true, fields = true, since = true, message = true,
  ["until"] = true, timeout = true, plain = true, stream = true, node = true }

local function check_query(op, q)
  if q == nil then return {} end
  if type(q) == "string" then return { match = q } end
  if type(q) ~= "table" then bad(op, "expects a query table") end
  for k in pairs(q) do
    if not QUERY_KEYS[k] then
      bad(op, ("unknown option '%s' (valid: level, target, match, message, fields, since, until, timeout, plain, stream)"):format(tostring(k)))
    end
  end
  if q.level and not SEVERITY[tostring(q.level):lower()] then
    bad(op, ("unknown level '%s' (valid: trace, debug, info, warn, error)"):format(tostring(q.level)))
  end
  return q
end

-- When an entry happened, for since/until and ordering: the engine's receive time (ns
-- precision, one clock for every node) when known, else the line's own timestamp.
function M.when(e) return e.engine_time or e.time or 0 end

-- Does entry e satisfy query q?
function M.matches(e, q)
  if q.level and level_rank(e.level) < level_rank(q.level) then return false end
  if q.target and (not e.target or e.target:sub(1, #q.target) ~= q.target) then return false end
  if q.stream and e.stream ~= q.stream then return false end
  if q.since and M.when(e) < q.since then return false end
  if q["until"] and M.when(e) > q["until"] then return false end
  if q.message then
    -- the exact message, or any of a list of them
    local ok = false
    for _, m in ipairs(type(q.message) == "table" and q.message or { q.message }) do
      if e.message == m then ok = true end
    end
    if not ok then return false end
  end
  if q.match then
    local hay = e.message ~= "" and (e.message .. " " .. e.raw) or e.raw
    if not hay:find(q.match, 1, q.plain) then return false end
  end
  if q.fields then
    for k, v in pairs(q.fields) do
      local got = e.fields and e.fields[k]
      if got == nil or tostring(got) ~= tostring(v) then return false end
    end
  end
  return true
end

local function notify(node, e)
  local keep = {}
  for _, w in ipairs(node.waiters or {}) do
    if not w.done and M.matches(e, w.q) then w.done = true; w.wake(e)
    elseif not w.done then keep[#keep + 1] = w end
  end
  node.waiters = keep
end

-- Add one line; returns true when it was kept (not a repeat after a re-attach).
local function add_line(node, line, stream, engine_prefix)
  if line == "" then return false end
  local last = node.entries[#node.entries]
  local e = core.log_parse(line, last and last.stream == stream and last or nil, engine_prefix)
  -- Continuation lines (backtraces, indented follow-ups) belong to the entry before,
  -- when they come right after it: a plain line written a while later (another writer,
  -- a shell echo) starts an entry of its own.
  local close_in_time = not (e.engine_time and last and last.tail_time) or e.engine_time - last.tail_time < 0.05
  if last and e.continuation and close_in_time then
    last.tail_time = e.engine_time or last.tail_time
    last.raw = last.raw .. "\n" .. e.raw
    last.message = last.message .. "\n" .. e.raw
    return true
  end
  -- After a re-attach (restart) the engine repeats lines at the `since` boundary.
  -- Per stream: the engine stamps stdout and stderr lines in separate readers, so a
  -- stderr line may carry an earlier time than a stdout line already seen.
  local st = node.streams[stream]
  if not st then st = { boundary = {} }; node.streams[stream] = st end
  if e.engine_time and st.last and e.engine_time <= st.last then
    if e.engine_time < st.last or st.boundary[e.raw] then return false end
  end
  if e.engine_time then
    if e.engine_time ~= st.last then st.boundary = {} end
    st.last = e.engine_time
    st.boundary[e.raw] = true
  end
  node.seq = node.seq + 1
  e.seq, e.node, e.stream = node.seq, node.name, stream
  e.tail_time = e.engine_time
  e.time = e.time or e.engine_time
  e.continuation = nil
  node.entries[#node.entries + 1] = e
  notify(node, e)
  return true
end

-- Each node's raw log is also kept on disk: <artifacts>/<run>/<node>.log
local function disk_path(node)
  if node.disk_log == nil then
    local dir = node.net:artifacts_dir()
    local ok = pcall(core.mkdir_p, dir)
    node.disk_log = ok and (dir .. "/" .. node.name .. ".log") or false
  end
  return node.disk_log
end

local function feeder(node, stream, engine_prefix)
  local pending = ""
  return function(piece)
    if piece == "" then return end
    local data = pending .. piece
    local start = 1
    local kept = {}
    while true do
      local nl = data:find("\n", start, true)
      if not nl then break end
      local line = data:sub(start, nl - 1):gsub("\r$", "")
      if add_line(node, line, stream, engine_prefix) then kept[#kept + 1] = line end
      start = nl + 1
    end
    local path = #kept > 0 and disk_path(node)
    if path then pcall(core.write_file, path, table.concat(kept, "\n") .. "\n", true) end
    pending = data:sub(start)
    if #pending > 1048576 then -- a 1 MiB line without newline: take it as it is
      add_line(node, pending, stream, engine_prefix)
      pending = ""
    end
  end
end

-- Where to resume fetching: the earliest of the streams' last times (the engine's
-- `since` is inclusive; lines already seen are dropped per stream).
function M.resume_time(node)
  local t
  for _, st in pairs(node.streams or {}) do
    if st.last and (not t or st.last < t) then t = st.last end
  end
  return t or 0
end

-- Start following the node's app container (again after a restart).
function M.attach(node, again)
  if node.stop_follow and not again then return end
  if node.stop_follow then node.stop_follow() end
  node.streams = node.streams or {}
  local out, err = feeder(node, "stdout", true), feeder(node, "stderr", true)
  local since = M.resume_time(node)
  node.following = true
  node.stop_follow = node.net.eng:follow_logs(node.id, { since = since }, function(o, e)
    out(o)
    err(e)
  end, function(e)
    node.following = false
    node.follow_error = e
  end)
  if node.profile and node.profile.log_files then M.attach_files(node) end
end

-- Profiles whose program writes log files (Freenet): the files live on a host
-- directory bind-mounted into the container; read what is new every 50 ms.
function M.attach_files(node)
  if node.file_timer then return end
  node.file_offsets = node.file_offsets or {}
  local feeders = {}
  local function scan()
    local dir = node.log_dir
    if not dir then return end
    for _, name in ipairs(core.list_dir(dir) or {}) do
      if name:match(node.profile.log_files) then
        local data = core.read_file(dir .. "/" .. name)
        local off = node.file_offsets[name] or 0
        if data and #data > off then
          feeders[name] = feeders[name] or feeder(node, "file:" .. name, false)
          feeders[name](data:sub(off + 1))
          node.file_offsets[name] = #data
        end
      end
    end
  end
  node.file_timer = task.spawn(function()
    while node.net.state ~= "down" do
      scan()
      task.sleep(0.05)
    end
  end, node.name .. " log files")
end

-- Fetch what is new since the last line seen (also for stopped or killed containers,
-- whose follow stream has ended).
function M.fetch(node)
  node.streams = node.streams or {}
  local out, err = node.net.eng:logs(node.id, { since = M.resume_time(node) })
  feeder(node, "stdout", true)(out .. (out ~= "" and out:sub(-1) ~= "\n" and "\n" or ""))
  feeder(node, "stderr", true)(err .. (err ~= "" and err:sub(-1) ~= "\n" and "\n" or ""))
  return #out + #err
end

-- Let queued stream pieces reach the entries before a query.
local function pump()
  for _ = 1, 3 do
    if not task.in_task() then task.step(0.005) end
  end
end

function M.query(node, q)
  q = check_query("node:logs", q)
  pump()
  local r = {}
  for _, e in ipairs(node.entries) do if M.matches(e, q) then r[#r + 1] = e end end
  return r
end

function M.text(node)
  pump()
  local lines = {}
  for _, e in ipairs(node.entries) do lines[#lines + 1] = e.raw end
  return table.concat(lines, "\n") .. (#lines > 0 and "\n" or "")
end

function M.last_lines(node, n)
  local lines = {}
  for i = math.max(1, #node.entries - n + 1), #node.entries do lines[#lines + 1] = "  | " .. node.entries[i].raw end
  return #lines > 0 and table.concat(lines, "\n") or "  (no output)"
end

-- Wait until an entry matching q arrives (or already has); return it.
function M.wait(node, q)
  q = check_query("node:wait_log", q)
  local timeout = q.timeout or 30
  for _, e in ipairs(node.entries) do if M.matches(e, q) then return e end end
  local w = { q = q }
  node.waiters = node.waiters or {}
  local e, why = task.wait_for_timeout(timeout, function(wake)
    w.wake = wake
    node.waiters[#node.waiters + 1] = w
  end)
  w.done = true
  if not e then
    local desc = {}
    for k, v in pairs(q) do
      if k ~= "timeout" then desc[#desc + 1] = k .. "=" .. (type(v) == "table" and core.json_encode(v) or tostring(v)) end
    end
    table.sort(desc)
    error(core.error { code = "timeout", op = "wait_log on " .. node.name, status = 0,
      message = ("no entry matching {%s} within %gs%s; last lines:\n%s"):format(table.concat(desc, ", "),
        timeout, node.following == false and " (the container's output ended)" or "",
        M.last_lines(node, 15)) }, 2)
  end
  return e
end

-- Assertions over entries of several nodes.
-- in_order({ {node=a, match=...}, {node=b, match=...} }): each event exists, and each one's
-- first match comes no earlier than the one before it.
function M.in_order(steps)
  local prev_t, prev_desc = -math.huge, nil
  for i, st in ipairs(steps) do
    local q = {}
    for k, v in pairs(st) do if k ~= "node" then q[k] = v end end
    local found = M.query(st.node, q)[1]
    if not found then
      error(core.error { code = "expect", op = "expect order", status = 0,
        message = ("step %d (%s on %s) never happened"):format(i, tostring(st.match), st.node.name) }, 2)
    end
    if M.when(found) < prev_t then
      error(core.error { code = "expect", op = "expect order", status = 0,
        message = ("step %d (%s on %s) happened before step %d (%s)"):format(i, tostring(st.match),
          st.node.name, i - 1, prev_desc) }, 2)
    end
    prev_t, prev_desc = M.when(found), tostring(st.match)
  end
  return true
end

return M
