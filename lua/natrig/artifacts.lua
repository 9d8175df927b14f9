--- natrig.artifacts: a run's files. Where they go ($NATRIG_ARTIFACTS or
-- ./natrig-artifacts, one folder per run), what a failed run writes there (logs,
-- diagnostics with the map first, shaper counters, impairment seeds, the timeline), and
-- their removal after a passing run.
-- @module natrig.artifacts
local core = require "natrig.core"
local nat = require "natrig.nat"
local task = require "natrig.task"

local M = {}
local rm_tree

local function slug(s) return (tostring(s):gsub("[^%w_.=,+-]", "_"):sub(1, 80)) end

-- Where this run's files go: $NATRIG_ARTIFACTS (default ./natrig-artifacts)/
-- <scenario>-<case>-<run id> (the case: the parameters it was given, when any).
function M.dir(self)
  if not self.artifacts_name then
    local parts = { slug(self.session.scenario) }
    if self.case and self.case ~= "" then parts[#parts + 1] = slug(self.case) end
    parts[#parts + 1] = self.session.run_id
    self.artifacts_name = table.concat(parts, "-")
  end
  return (core.getenv("NATRIG_ARTIFACTS") or "natrig-artifacts") .. "/" .. self.artifacts_name
end

--- Remove a file or a folder with what is in it (10 levels at most; links are not followed:
-- core.stat says what the path itself is). natrig.history prunes with it too.
-- @local
function rm_tree(path, depth)
  local st = core.stat(path)
  if not st then return end
  if st.type == "dir" and depth < 10 then
    for _, name in ipairs(core.list_dir(path) or {}) do rm_tree(path .. "/" .. name, depth + 1) end
    core.rmdir(path)
  else
    core.remove(path)
  end
end
M.rm_tree = rm_tree

--- An age as seconds: "7d", "12h", "30m", "45s" or a bare number of days. Pure.
-- @tparam string s
-- @treturn ?number seconds, or nil and a message
function M.parse_age(s)
  local n, u = tostring(s):match("^(%d+%.?%d*)([smhdw]?)$")
  if not n then return nil, ("an age like 7d, 12h, 30m or 45s, got '%s'"):format(tostring(s)) end
  return tonumber(n) * ({ s = 1, m = 60, h = 3600, d = 86400, w = 604800, [""] = 86400 })[u]
end

--- Remove the run folders under root (default $NATRIG_ARTIFACTS or ./natrig-artifacts)
-- last changed more than `older` seconds before `now` (all of them without `older`);
-- other files are left alone. `natrig clean --artifacts [--older-than AGE]`.
-- @tparam ?string root
-- @tparam ?number older seconds
-- @tparam ?number now epoch seconds (default: now)
-- @treturn {string,...} the folders removed
-- @treturn {string,...} the folders kept (newer)
function M.prune(root, older, now)
  root = root or core.getenv("NATRIG_ARTIFACTS") or "natrig-artifacts"
  now = now or core.time()
  local removed, kept = {}, {}
  local names = core.list_dir(root) or {}
  table.sort(names)
  for _, name in ipairs(names) do
    local path = root .. "/" .. name
    local st = core.stat(path)
    if st and st.type == "dir" then
      if older and now - st.mtime <= older then kept[#kept + 1] = path
      else
        rm_tree(path, 0)
        removed[#removed + 1] = path
      end
    end
  end
  return removed, kept
end

--- A passing run leaves no files behind, unless asked to keep them: NATRIG_ARTIFACTS set
-- (a chosen place) or NATRIG_KEEP_ARTIFACTS=1 (like `natrig run --keep-artifacts`).
function M.remove(self)
  if core.getenv("NATRIG_ARTIFACTS") or core.getenv("NATRIG_KEEP_ARTIFACTS") == "1" then return end
  if self.captured then return end -- captures were asked for: they are the point
  rm_tree(M.dir(self), 0)
  pcall(core.rmdir, "natrig-artifacts") -- only when empty: other runs' folders stay
end

-- The diagnostics file: the map first, then each router's and node's state, then the
-- shaper's counters per impaired node or router (packets queued, dropped, lateness...).
local function write_diagnostics(self, dir)
  local d = self:diagnostics()
  local parts = {}
  for name, r in pairs(d.routers) do
    parts[#parts + 1] = ("== router %s\n-- nat ruleset\n%s\n-- forward\n%s\n-- conntrack\n%s\n")
      :format(name, r.nat or "", r.forward or "", r.conntrack or "")
  end
  for name, n in pairs(d.nodes) do
    parts[#parts + 1] = ("== node %s\n-- addresses\n%s\n-- routes\n%s\n-- log\n%s\n")
      :format(name, n.addresses or "", n.routes or "", n.log or "")
  end
  table.sort(parts)
  table.insert(parts, 1, M.map_text(self))
  local stats = {}
  for _, x in ipairs(self.routers) do if x.shaper then stats[#stats + 1] = x end end
  for _, x in ipairs(self.nodes) do if x.shaper then stats[#stats + 1] = x end end
  for _, x in ipairs(stats) do
    local sok, st = pcall(x.impair_stats, x)
    if sok then
      local l = {}
      for _, q in ipairs(st) do
        local kv = {}
        for k, v in pairs(q) do kv[#kv + 1] = k .. "=" .. tostring(v) end
        table.sort(kv)
        l[#l + 1] = "  " .. table.concat(kv, " ")
      end
      parts[#parts + 1] = ("== shaper %s\n%s\n"):format(x.name, table.concat(l, "\n"))
    end
  end
  core.write_file(dir .. "/diagnostics.txt", table.concat(parts, "\n"))
end

-- How long a failed run may spend collecting its evidence: the verdict is known, and the
-- process should end soon after it (issue 22). NATRIG_ARTIFACTS_TIMEOUT overrides.
function M.budget()
  local v = tonumber(core.getenv("NATRIG_ARTIFACTS_TIMEOUT") or "")
  return v and v > 0 and v or 5
end

--- Write every node's log, the diagnostics and the timeline into dir, within `budget`
-- seconds (M.budget()): the engine round trips (diagnostics, each stopped node's log
-- catch-up) run at once, and what is not done in time is named at the end of
-- failure.txt. The timeline and the impairment seeds are written after it whatever happens.
function M.write(self, dir, reason, budget)
  if self.state == "declared" or self.state == "down" then return end
  budget = budget or M.budget()
  local t0 = core.now()
  core.mkdir_p(dir)
  if reason then core.write_file(dir .. "/failure.txt", reason .. "\n") end
  -- Node logs are already on disk there (<node>.log, written as they arrive); catch up
  -- on what a stopped container printed after its follow stream ended.
  local jobs = { { what = "diagnostics.txt (routers' rulesets, conntrack, nodes' addresses)",
    fn = function() write_diagnostics(self, dir) end },
    { what = "the timeline's own records (the seal's escapes, port and CGN mappings)",
      fn = function() require("natrig.timeline").refresh(self) end } }
  for _, n in ipairs(self.nodes) do
    if n.id then jobs[#jobs + 1] = { what = "the last lines of " .. n.name, fn = function() n:fetch_logs() end } end
  end
  local ts, left = {}, #jobs
  for i, j in ipairs(jobs) do ts[i] = task.spawn(function() pcall(j.fn) end, "artifacts: " .. j.what) end
  task.wait_for_timeout(budget, function(wake)
    for _, t in ipairs(ts) do
      local function one() left = left - 1; if left == 0 then wake() end end
      if t.state ~= "running" then one() else t.joiners[#t.joiners + 1] = one end
    end
  end, "collecting artifacts")
  local missing = {}
  for i, t in ipairs(ts) do
    if t.state == "running" then
      missing[#missing + 1] = jobs[i].what
      t:cancel("not collected in time")
    end
  end
  -- The impairment seeds in use, so a failing case can be replayed (NATRIG_SEED=...).
  local sok, seeds = pcall(require("natrig.impair").seed_report, self)
  if sok and seeds then core.write_file(dir .. "/impair-seed.txt", seeds) end
  -- (as it stands: its sources were brought up to date within the budget, or not at all)
  local tok, tl = pcall(require("natrig.timeline").merged, self, nil, true)
  if tok then core.write_file(dir .. "/timeline.txt", M.timeline_text(tl, reason, core.time())) end
  if #missing > 0 then
    local f = io.open(dir .. "/failure.txt", "a")
    if f then
      f:write(("\nnot collected within %g s (NATRIG_ARTIFACTS_TIMEOUT): %s\n"):format(budget,
        table.concat(missing, "; ")))
      f:close()
    end
    self.log(("artifacts: %d item(s) not collected within %g s (named in failure.txt)"):format(#missing, budget))
  end
  self.log(("artifacts written to %s (%.1f s)"):format(dir, core.now() - t0))
end

local function clock(t)
  local ms = math.floor((t or 0) * 1000 + 0.5)
  return os.date("!%H:%M:%S", ms // 1000) .. (".%03d"):format(ms % 1000)
end

--- timeline.txt: one line an entry, `HH:MM:SS.mmm node line` (UTC, the time natrig
-- received it, the order of the merge), so natrig's own lines carry a time as the apps'
-- do; the failure, when there is one, is the last line (`natrig FAIL <the error's first line>`).
-- Pure.
-- @tparam {table,...} tl entries of net:timeline()
-- @tparam ?string reason the failure (failure.txt's text)
-- @tparam number now when the failure was recorded (epoch seconds)
-- @treturn string
function M.timeline_text(tl, reason, now)
  local when = require("natrig.logs").when
  local lines = {}
  for _, e in ipairs(tl) do
    local node = type(e.node) == "table" and e.node.name or e.node
    lines[#lines + 1] = ("%s %s %s"):format(clock(when(e)), tostring(node), (tostring(e.raw):gsub("%s+$", "")))
  end
  if reason and reason ~= "" then
    -- failure.txt's header (scenario, case, run, at) ends with its `at:` line: the error follows
    local first = reason:match("\nat: [^\n]*\n%s*([^\n]+)") or reason:match("^%s*([^\n]*)") or reason
    lines[#lines + 1] = ("%s natrig FAIL %s"):format(clock(now), first)
  end
  return table.concat(lines, "\n") .. "\n"
end

-- The map a reader needs first: each router with its NAT and the nodes behind it, their
-- private and public addresses; then the public nodes.
function M.map_text(self)
  local l = { "== map" }
  local function node_line(n, indent)
    l[#l + 1] = ("%s%-14s %-8s private %-15s public %s"):format(indent, n.name, n.kind,
      tostring(n.private_ip or n.private_ip6), tostring(n.public_ip or n.public_ip6))
  end
  for _, n in ipairs(self.nodes) do if not n.router then node_line(n, "  ") end end
  local function router_line(r, indent)
    l[#l + 1] = ("%srouter %-8s %s  wan %s  lan %s (.254)%s"):format(indent, r.name, nat.describe(r.nat),
      tostring(r.wan_ip), r.lan and r.lan.subnet or "?", r.behind and (" behind " .. r.behind.name) or "")
    for _, n in ipairs(r.nodes) do node_line(n, indent .. "    ") end
    for _, r2 in ipairs(self.routers) do if r2.behind == r then router_line(r2, indent .. "    ") end end
  end
  for _, r in ipairs(self.routers) do if not r.behind then router_line(r, "  ") end end
  return table.concat(l, "\n") .. "\n"
end

return M
