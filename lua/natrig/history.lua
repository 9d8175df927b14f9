-- natrig.history: a folder of nights (`natrig sweep --history DIR`, `natrig report merge
-- ... --history DIR`), read by `natrig report trend DIR`.
--
--   DIR/natrig-history.json          { format = "natrig-history", format_version = 1, natrig }
--   DIR/nights/<NNNN>-<UTC stamp>/   one per sweep, written once (into a hidden folder,
--       report.json                  then renamed into place), never rewritten:
--       report.html                  the sweep's JSON (with the night's labels) and page
--       runs/<case>-r<K>/            copies of each failing repeat's artifacts (failure.txt,
--                                    timeline.txt, logs, pcaps); failure.txt is written
--                                    from the report when the run left none
--   DIR/index.html                   the trend page, rewritten after each night
--
-- Nothing else in DIR is touched. A folder that holds other files and no
-- natrig-history.json is not a history, and one written by a newer natrig is refused:
-- both are errors (exit 2) before anything runs. A night whose report.json does not read
-- is skipped and named on the page; it stays where it is.
local core = require "natrig.core"
local prune = require "natrig.history_prune"

local M = {}
M.FORMAT, M.VERSION, M.MARKER = "natrig-history", 1, "natrig-history.json"
M.REPORT_VERSION = 1 -- the newest sweep report format_version this natrig reads

local function err(msg) return nil, msg end

-- check(dir) -> "new" | "empty" | "history", or nil, message (not a history, or newer).
function M.check(dir)
  local st = core.stat(dir)
  if not st then return "new" end
  if st.type ~= "dir" then return err(("%s is not a directory: give a folder for the history"):format(dir)) end
  local names = core.list_dir(dir) or {}
  local raw = core.read_file(dir .. "/" .. M.MARKER)
  if not raw then
    if #names == 0 then return "empty" end
    return err(("%s is not a natrig history (no %s) and is not empty: give a new or empty folder "
      .. "(nothing in it was touched)"):format(dir, M.MARKER))
  end
  local m = core.json_decode(raw)
  if type(m) ~= "table" or m.format ~= M.FORMAT then
    return err(("%s/%s is not a natrig history marker (corrupt or another program's): restore it from "
      .. "a backup, or use a new folder"):format(dir, M.MARKER))
  end
  if type(m.format_version) ~= "number" or m.format_version > M.VERSION then
    return err(("%s was written by a newer natrig (%s, history format %s; this natrig %s reads format %d): "
      .. "use that natrig or a new folder"):format(dir, tostring(m.natrig), tostring(m.format_version),
        tostring(core.version), M.VERSION))
  end
  return "history"
end

local function size_of(path, depth)
  local st = core.stat(path)
  if not st then return 0 end
  if st.type ~= "dir" then return st.size or 0 end
  if depth > 8 then return 0 end
  local n = 0
  for _, name in ipairs(core.list_dir(path) or {}) do n = n + size_of(path .. "/" .. name, depth + 1) end
  return n
end

local rm_tree = require("natrig.artifacts").rm_tree -- the one folder remover
M.rm_tree = rm_tree

-- Copy a tree of regular files (no links), at most 4 levels deep; returns the bytes copied.
local function copy_tree(src, dst, depth)
  local st = core.stat(src)
  if not st then return 0 end
  if st.type == "file" then
    local data = core.read_file(src)
    if not data then return 0 end
    core.write_file(dst, data)
    return #data
  elseif st.type == "dir" and depth < 4 then
    core.mkdir_p(dst)
    local n = 0
    for _, name in ipairs(core.list_dir(src) or {}) do
      n = n + copy_tree(src .. "/" .. name, dst .. "/" .. name, depth + 1)
    end
    return n
  end
  return 0
end

local function slug(s) return (tostring(s):gsub("[^%w_.=,+-]+", "_"):sub(1, 80)) end

-- The nights in DIR, oldest first: { id, seq, path } (folders named NNNN-...).
function M.list(dir)
  local out = {}
  for _, name in ipairs(core.list_dir(dir .. "/nights") or {}) do
    local seq = name:match("^(%d+)%-[%w%-]+$")
    if seq then
      local p = dir .. "/nights/" .. name
      local st = core.stat(p)
      if st and st.type == "dir" then out[#out + 1] = { id = name, seq = tonumber(seq), path = p } end
    end
  end
  table.sort(out, function(a, b) if a.seq ~= b.seq then return a.seq < b.seq end return a.id < b.id end)
  return out
end

local function copy(t)
  local o = {}
  for k, v in pairs(t) do o[k] = v end
  return setmetatable(o, getmetatable(t))
end

-- add(dir, doc) -> night id: the night's folder, written whole then renamed into place.
-- doc.labels are the night's labels. Raises on a write error (nothing half-written stays).
function M.add(dir, doc)
  local state, cerr = M.check(dir)
  if not state then error(cerr, 0) end
  core.mkdir_p(dir .. "/nights")
  if state ~= "history" then
    core.write_file(dir .. "/" .. M.MARKER, core.json_encode({ format = M.FORMAT, format_version = M.VERSION,
      natrig = core.version, created = core.time() }) .. "\n")
  end
  -- Another sweep adding its night at the same time may take the same number: the
  -- rename then fails (the folder exists and is not empty) and this night takes the next.
  local id, e
  for _ = 1, 5 do
    local nights = M.list(dir)
    local seq = (#nights > 0 and nights[#nights].seq or 0) + 1
    id, e = M.write_night(dir, doc, seq)
    if id then return id end
    if not e:match("into place") then break end
  end
  error(("cannot add the night to %s: %s"):format(dir, tostring(e)), 0)
end

-- One attempt: the night as number seq; id, or nil, message.
function M.write_night(dir, doc, seq)
  local id = ("%04d-%s"):format(seq, os.date("!%Y%m%d-%H%M%S", math.floor(doc.started or core.time())))
  local final = dir .. "/nights/" .. id
  local tmp = dir .. "/nights/.new-" .. id .. "-" .. core.pid()
  local ok, e = pcall(function()
    core.mkdir_p(tmp .. "/runs")
    local night = copy(doc)
    night.history = { id = id, seq = seq, runs = {} }
    night.cases = core.json_array({})
    for _, c in ipairs(doc.cases) do
      local cc = copy(c)
      cc.repeats = core.json_array({})
      for _, r in ipairs(c.repeats) do
        local rr = copy(r)
        if r.status ~= "pass" then
          local name = slug(c.id) .. "-r" .. tostring(r.index)
          local rdir = tmp .. "/runs/" .. name
          if r.artifacts and core.stat(r.artifacts) then copy_tree(r.artifacts, rdir, 0) end
          core.mkdir_p(rdir)
          if not core.stat(rdir .. "/failure.txt") then
            core.write_file(rdir .. "/failure.txt", ("%s #%d: %s\n%s\n%s\n(written by natrig from the sweep report: "
              .. "the run left no failure.txt)\n\n%s"):format(c.id, r.index or 0, r.status, tostring(r.error or ""),
              r.where and ("at " .. r.where) or "", tostring(r.output or "")))
          end
          rr.history_run = "runs/" .. name
          local pc = {}
          for _, p in ipairs(r.pcaps or {}) do
            local rel = r.artifacts and p:sub(1, #r.artifacts + 1) == r.artifacts .. "/" and p:sub(#r.artifacts + 2)
            if rel then pc[#pc + 1] = final .. "/runs/" .. name .. "/" .. rel end
          end
          rr.pcaps = core.json_array(pc)
          rr.artifacts = final .. "/runs/" .. name
          rr.original_artifacts = r.artifacts
        end
        cc.repeats[#cc.repeats + 1] = rr
      end
      night.cases[#night.cases + 1] = cc
    end
    core.write_file(tmp .. "/report.json", core.json_encode(night) .. "\n")
    core.write_file(tmp .. "/report.html", require("natrig.report.html").render(night, final))
    local rok, rerr = os.rename(tmp, final)
    if not rok then error("cannot move the night into place: " .. tostring(rerr), 0) end
  end)
  if not ok then
    rm_tree(tmp, 0)
    return nil, tostring(e)
  end
  return id
end

local function valid_report(d)
  if type(d) ~= "table" or d.format ~= "natrig-sweep" then return nil, "not a natrig sweep report" end
  if type(d.format_version) ~= "number" or d.format_version > M.REPORT_VERSION then
    return nil, ("written by a newer natrig (%s, report format %s; this natrig reads %d)"):format(
      tostring(d.natrig), tostring(d.format_version), M.REPORT_VERSION)
  end
  if type(d.cases) ~= "table" or type(d.summary) ~= "table" then return nil, "no cases or summary in it" end
  for _, c in ipairs(d.cases) do
    if type(c) ~= "table" or type(c.id) ~= "string" or type(c.verdict) ~= "string" or type(c.repeats) ~= "table"
      or type(c.scenario) ~= "string" then
      return nil, "a case without id, scenario, verdict or repeats"
    end
    for _, r in ipairs(c.repeats) do
      if type(r) ~= "table" then return nil, "a repeat that is not an object" end
      if type(r.metrics) ~= "table" then r.metrics = {} end
      for _, m in ipairs(r.metrics) do
        if type(m) ~= "table" or type(m.name) ~= "string" then return nil, "a metric without a name" end
        if type(m.unit) ~= "string" then m.unit = "" end
      end
    end
    if type(c.order) ~= "number" then c.order = nil end
    c.passed = type(c.passed) == "number" and c.passed or 0
    c.runs = type(c.runs) == "number" and c.runs or #c.repeats
    if type(c.case) ~= "string" then c.case = c.id end
  end
  if type(d.labels) ~= "table" then d.labels = {} end
  if type(d.started) ~= "number" then d.started = nil end
  return d
end

-- The files of a failing run's copy worth a link: failure.txt, timeline, logs, pcaps.
local function run_files(dir, rel)
  local out = {}
  local function walk(d, r, depth)
    for _, n in ipairs(core.list_dir(d) or {}) do
      local p, rp = d .. "/" .. n, r .. "/" .. n
      local st = core.stat(p)
      if st and st.type == "dir" and depth < 2 then walk(p, rp, depth + 1)
      elseif st and st.type == "file" and (n:match("%.txt$") or n:match("%.log$") or n:match("%.pcapn?g?$")) then
        out[#out + 1] = { name = n, href = rp }
      end
    end
  end
  walk(dir .. "/" .. rel, rel, 0)
  local order = { ["failure.txt"] = 1, ["timeline.txt"] = 2 }
  table.sort(out, function(a, b)
    local oa = order[a.name] or (a.name:match("pcap") and 3 or 4)
    local ob = order[b.name] or (b.name:match("pcap") and 3 or 4)
    if oa ~= ob then return oa < ob end
    return a.href < b.href
  end)
  return out
end

-- load(dir) -> nights (for natrig.trend_model), skipped, or nil, message for a DIR that
-- is not a history. Hrefs are relative to DIR.
function M.load(dir)
  local state, cerr = M.check(dir)
  if not state then return nil, cerr end
  if state ~= "history" then
    return nil, ("%s is not a natrig history (no %s): make one with natrig sweep --history %s"):format(dir,
      M.MARKER, dir)
  end
  local nights, skipped = {}, {}
  for _, n in ipairs(M.list(dir)) do
    local rel = "nights/" .. n.id
    local raw = core.read_file(n.path .. "/report.json")
    local d, why
    if not raw then why = "no report.json"
    else
      d, why = core.json_decode(raw)
      if d then d, why = valid_report(d) end
      if not d and why and why:match("^invalid JSON") then why = "report.json is corrupt (" .. why .. ")" end
    end
    if not d then
      skipped[#skipped + 1] = { id = n.id, seq = n.seq, reason = why }
    else
      local runs = {}
      for _, c in ipairs(d.cases) do
        for _, r in ipairs(c.repeats) do
          if type(r.history_run) == "string" and not r.history_run:find("..", 1, true)
            and core.stat(n.path .. "/" .. r.history_run) then
            runs[c.id] = runs[c.id] or {}
            table.insert(runs[c.id], { index = r.index, status = r.status, dir = rel .. "/" .. r.history_run,
              files = run_files(dir, rel .. "/" .. r.history_run) })
          end
        end
      end
      nights[#nights + 1] = { id = n.id, seq = n.seq, started = d.started, labels = d.labels, doc = d, runs = runs,
        path = n.path, links = { report = core.stat(n.path .. "/report.html") and (rel .. "/report.html") or nil,
          json = rel .. "/report.json" } }
    end
  end
  return nights, skipped
end

-- Sizes for history_prune: every night folder, and its runs/ part.
function M.sizes(dir)
  local out = {}
  for _, n in ipairs(M.list(dir)) do
    out[#out + 1] = { id = n.id, bytes = size_of(n.path, 0), run_bytes = size_of(n.path .. "/runs", 0) }
  end
  return out
end

M.parse_bytes = prune.parse_bytes
return M
