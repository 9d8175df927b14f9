--- natrig.logs: every node's log, followed from the engine as it is written, parsed and
-- kept in C per node (natrig.core.log_store: an arena of records with a small index each,
-- spilled to disk over budget), queried and waited on in C; Lua gets entry tables only for
-- what a query or a wait returns. Following, fetching and log files: natrig.logfollow.
--
--   node:logs{ level = "warn", target = "freenet::transport", match = "established",
--              fields = { peer_addr = "10.1.2.3:31337" }, since = t0, ["until"] = t1 }
--   node:wait_log{ match = "hole punched", fields = { remote = "b" }, timeout = 20 }
--
-- An entry: { time, engine_time, level, target, message, fields, spans, raw, node, seq,
-- stream }. level filters mean "this level or more severe". wait_log returns as soon as
-- the line arrives on the follow stream (matched in C as the line is parsed), and a
-- timeout fails with the node's last lines.
--
-- `fields` values are always strings, as the line held them (JSON numbers and booleans
-- too: `{"n":5}` gives `fields.n == "5"`); a `fields = {...}` query compares that text.
-- For a number, convert it: `tonumber(e.fields.rtt_ms)`.
--
--   local rtts = {}
--   for _, e in ipairs(a:logs{ match = "pong" }) do rtts[#rtts + 1] = tonumber(e.fields.rtt_ms) end
-- @module natrig.logs
local core = require "natrig.core"
local task = require "natrig.task"

local M = {}

--- A node's log state, natrig.logs' and natrig.logfollow's sub-object of it (node.log),
-- which they alone write (tests/lint_owners.lua): its store (entries: a plain table until
-- the first line), the waits on it, and the follow's state (following, stop_follow,
-- log_bytes, seq, spilled, the lag, the log files' offsets, ...). natrig.node makes a node
-- with it; others only read it.
-- @local
function M.new() return { entries = {}, seq = 0 } end
-- the one severity order is C's (core/logparse: every format's names and aliases)
local function level_rank(l) return l and core.log_level_rank(l) or 0 end

local function bad(op, msg) core.fail("einval", op, msg) end

local QUERY_KEYS = { level = "string", target = "string", match = "string", fields = "table",
  since = "number", message = "string|table", ["until"] = "number", timeout = "number",
  plain = "boolean", stream = "string", node = true }

local function check_query(op, q)
  if type(q) == "string" then return { match = q } end
  q = core.check_options(op, q, QUERY_KEYS)
  if q.level and not core.log_level_rank(tostring(q.level)) then
    bad(op, ("unknown level '%s' (valid: %s)"):format(tostring(q.level), table.concat(core.LOG_LEVELS, ", ")))
  end
  return q
end

--- When an entry happened, for since/until and ordering: the engine's receive time (ns
-- precision, one clock for every node) when known, else the line's own timestamp.
-- @tparam table e a log entry
-- @treturn number epoch seconds
-- @usage table.sort(l, function(x, y) return logs.when(x) < logs.when(y) end)
function M.when(e) return e.engine_time or e.time or 0 end

--- Does entry e satisfy query q? (The same test the store runs in C, for entries built in
-- Lua: natrig's own actions in the timeline.)
-- @local
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

--- The node's log store (natrig.core.log_store), made on first use. Memory: each node
-- keeps its newest entries in memory, up to a share of a run-wide budget
-- (NATRIG_LOG_MEMORY, default 4 MB, at least 32 KB a node, counted in the C records'
-- real size); the older half moves, whole, to <artifacts>/<node>.spill and is read back by
-- queries. Every kept line also goes to <artifacts>/<node>.log as it came.
-- @local
function M.store(node)
  local st = node.log.entries
  if type(st) ~= "userdata" then
    local dir = node.net:artifacts_dir()
    st = core.log_store(node.name, dir .. "/" .. node.name .. ".spill", dir .. "/" .. node.name .. ".log")
    node.log.entries = st
  end
  return st
end

function M.budget(node)
  local total = tonumber(core.getenv("NATRIG_LOG_MEMORY") or "") or 4 * 1048576
  return math.max(32768, total // math.max(1, #node.net.nodes))
end

-- Waits on a node: node.log.waiters[wid] = { wid, wake, done }; the store matches in C.
local function add_waiter(node, q, wake)
  local st = M.store(node)
  local w = { wid = st:wait_add(q), wake = wake }
  node.log.waiters = node.log.waiters or {}
  node.log.waiters[w.wid] = w
  return w
end

local function drop_waiter(node, w)
  w.done = true
  if node.log.waiters then node.log.waiters[w.wid] = nil end
  if type(node.log.entries) == "userdata" then node.log.entries:wait_remove(w.wid) end
end

--- The waits a fed piece satisfied ({wid = entry}, from the store): wake each.
-- @local
function M.wake(node, woken)
  for wid, e in pairs(woken) do
    local w = node.log.waiters and node.log.waiters[wid]
    if w and not w.done then
      drop_waiter(node, w)
      w.wake(e)
    end
  end
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
  return M.store(node):query(q)
end

--- Call fn(e) for every entry of the node, oldest first (spilled ones included); fn
-- returns true to stop.
-- @local
function M.each_entry(node, fn)
  for _, e in ipairs(M.store(node):query({})) do if fn(e) then return true end end
  return false
end

function M.text(node)
  pump()
  return M.store(node):text()
end

function M.last_lines(node, n)
  return type(node.log.entries) == "userdata" and node.log.entries:last_lines(n) or "  (no output)"
end

local function describe(q)
  local desc = {}
  for k, v in pairs(q) do
    if k ~= "timeout" then desc[#desc + 1] = k .. "=" .. (type(v) == "table" and core.json_encode(v) or tostring(v)) end
  end
  table.sort(desc)
  return "{" .. table.concat(desc, ", ") .. "}"
end

--- The node's app exited: nothing more will come, so every wait on it fails now (not at
-- its timeout). Called by the liveness watcher (natrig.watch) once the last lines are in.
-- @local
function M.node_exited(node, code)
  node.log.lines_final = true -- until its follow starts again (natrig.logfollow.attach)
  local ws = {}
  for _, w in pairs(node.log.waiters or {}) do ws[#ws + 1] = w end
  table.sort(ws, function(a, b) return a.wid < b.wid end)
  for _, w in ipairs(ws) do
    if not w.done then drop_waiter(node, w); w.wake(nil, "exited", code) end
  end
end

-- A wait on a node with much output checks between slices whether its follow stalled:
-- natrig.logfollow (which requires this module, so never the other way) sets these when it
-- is loaded, and only followed nodes have anything to catch up.
M.catch_up_bytes = math.huge
M.on_stall = function() end

--- Wait until an entry matching q arrives (or already has); return it. Fails at once when
-- the node's app has exited (or exits while waiting).
-- @local
function M.wait(node, q)
  q = check_query("node:wait_log", q)
  local timeout = q.timeout or 30
  local found = M.store(node):query(q, 1)[1]
  if found then return found end
  local function exited(code)
    core.fail("exited", "wait_log on " .. node.name,
      ("no entry matching %s: the app of %s exited with code %s; last lines:\n%s")
        :format(describe(q), node.name, tostring(code), M.last_lines(node, 15)))
  end
  -- exited with its follow ended: every line is in. Still following: the liveness watcher
  -- is bringing the last lines in and wakes this wait when they are (node_exited).
  if node.exit_code and not node.running and (node.log.following ~= true or node.log.lines_final) then
    exited(node.exit_code)
  end
  -- Waited for in slices: between slices a node with much output is checked for a stalled
  -- follow (catch_up: silent for 2 s after 1 MB), so a line the engine has is never
  -- reported missing.
  local deadline = core.now() + timeout
  local e, why, code
  while true do
    local w
    local left = deadline - core.now()
    local slice = (node.log.log_bytes or 0) >= M.catch_up_bytes and math.min(left, 2) or left
    e, why, code = task.wait_for_timeout(math.max(0, slice), function(wake)
      w = add_waiter(node, q, wake)
    end, ("wait_log %s on %s"):format(describe(q), node.name))
    if w and not w.done then drop_waiter(node, w) end
    if e or why ~= "timeout" then break end
    if core.now() < deadline then
      -- A catch-up runs beside the wait, its lines offered to the next slice's waiter like
      -- streamed ones: its fetch may take long on a busy engine (seen: 60 s under a
      -- 100-node flood) while the entry comes on the follow meanwhile.
      if not node.log.catching_up then
        node.log.catching_up = true
        task.spawn(function()
          pcall(M.on_stall, node)
          node.log.catching_up = nil
        end, "catching up the log of " .. node.name)
      end
    else
      -- the last slice: what the engine has is looked at before the wait says "missing"
      local w2 = add_waiter(node, q, function(x) e = x end)
      M.on_stall(node)
      if not w2.done then drop_waiter(node, w2) end
      break
    end
  end
  if not e and why == "exited" then exited(code) end
  if not e then
    core.fail("timeout", "wait_log on " .. node.name,
      ("no entry matching %s within %gs%s; last lines:\n%s"):format(describe(q),
        timeout, node.log.following == false and " (the container's output ended)" or "",
        M.last_lines(node, 15)))
  end
  return e
end

--- Assertions over entries of several nodes.
-- in_order({ {node=a, match=...}, {node=b, match=...} }): each event exists, and each one's
-- first match comes no earlier than the one before it.
-- @tparam {table,...} steps each a log query (natrig.node's logs) plus node
-- @treturn boolean true (raises naming the step that is missing or out of order)
-- @usage require("natrig.logs").in_order{ { node = a, match = "punch sent" },
--   { node = b, match = "punch received" } }
function M.in_order(steps)
  local prev_t, prev_desc = -math.huge, nil
  for i, st in ipairs(steps) do
    local q = {}
    for k, v in pairs(st) do if k ~= "node" then q[k] = v end end
    local found = M.query(st.node, q)[1]
    if not found then
      core.fail("expect", "expect order",
        ("step %d (%s on %s) never happened"):format(i, tostring(st.match), st.node.name))
    end
    if M.when(found) < prev_t then
      core.fail("expect", "expect order",
        ("step %d (%s on %s) happened before step %d (%s)"):format(i, tostring(st.match),
          st.node.name, i - 1, prev_desc))
    end
    prev_t, prev_desc = M.when(found), tostring(st.match)
  end
  return true
end

-- Following, fetching and log files are natrig.logfollow's.

--- The engine's log settings for app containers: json-file (what follows read) with a
-- size of natrig's choosing, NATRIG_ENGINE_LOG_SIZE (default 1g), not the daemon's default.
-- Docker 20.10 stops a follow for good when it rotates the file (a daemon.json with
-- max-size 10m did so at 8.5 MB of app output); natrig keeps its own copy of every line in
-- the artifacts, so the engine's file is only a buffer. See also `catch_up`.
-- @local
function M.engine_log_config()
  return { Type = "json-file",
    Config = { ["max-size"] = M.engine_log_size or core.getenv("NATRIG_ENGINE_LOG_SIZE") or "1g",
      ["max-file"] = M.engine_log_files or "2" } }
end

return M
