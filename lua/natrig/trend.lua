-- natrig.trend: `natrig report trend DIR [--html F] [--fail-on-regression]`, and the
-- history step of `natrig sweep --history DIR` / `natrig report merge ... --history DIR`:
-- add the night, choose what pruning drops (natrig.history_prune), write DIR/index.html
-- for the nights kept (before anything is removed: the page never links a removed file),
-- remove, and print what changed in at most 10 lines.
local core = require "natrig.core"
local history = require "natrig.history"
local model = require "natrig.trend_model"

local M = {}
M.LINES = 10

local function say(...) io.stdout:write(...) io.stdout:write("\n") io.stdout:flush() end

-- The terminal summary: at most M.LINES lines.
function M.summary_lines(t, page)
  local out = {}
  local n = #t.nights
  if n == 0 then
    out[1] = "trend: no night to show" .. (#t.skipped > 0 and (" (%d skipped)"):format(#t.skipped) or "")
  else
    local last = t.nights[n]
    local s = t.since_last
    out[#out + 1] = ("trend: %d night(s), latest #%s%s; since the night before: %d newly bad, %d fixed, %d metric "
      .. "change(s)"):format(n, last.seq, last.label ~= "" and (" (" .. last.label .. ")") or "", s.bad, s.fixed,
      s.metric)
  end
  local items = {}
  for _, e in ipairs(t.regressions) do
    items[#items + 1] = (e.kind == "metric" and "  REGRESSION  " or "  REGRESSION  ") .. model.describe(t, e)
  end
  for _, e in ipairs(t.improvements) do items[#items + 1] = "  IMPROVED    " .. model.describe(t, e) end
  if #t.regressions + #t.improvements > 0 then
    out[#out + 1] = ("%d regression(s), %d improvement(s):"):format(#t.regressions, #t.improvements)
  elseif n > 0 then
    out[#out + 1] = "no regression, no improvement"
  end
  local tail = {}
  if #t.skipped > 0 then
    local ids = {}
    for _, s in ipairs(t.skipped) do ids[#ids + 1] = s.id .. " (" .. s.reason .. ")" end
    tail[#tail + 1] = ("skipped %d night(s): %s"):format(#t.skipped, table.concat(ids, "; "))
  end
  if page then tail[#tail + 1] = "page: " .. page end
  local room = M.LINES - #out - #tail
  if #items > room then
    local shown = room - 1
    for i = 1, shown do out[#out + 1] = items[i] end
    out[#out + 1] = ("  ... and %d more (see the page)"):format(#items - shown)
  else
    for _, l in ipairs(items) do out[#out + 1] = l end
  end
  for _, l in ipairs(tail) do out[#out + 1] = l end
  return out
end

local function write_atomic(path, text)
  local tmp = path .. ".tmp-" .. core.pid()
  core.write_file(tmp, text)
  local ok, e = os.rename(tmp, path)
  if not ok then core.remove(tmp) error(("cannot write %s: %s"):format(path, tostring(e)), 0) end
end

local function dirname(p)
  local d = tostring(p):match("^(.*)/[^/]*$")
  if d == nil then return "." end
  return d == "" and "/" or d
end

-- The page's prefix for links into DIR: "" when written in DIR, else DIR's path relative
-- to the page's folder when DIR is under it, else file:// and DIR's absolute path.
local function prefix_for(dir, html)
  local d, h = core.realpath(dir), core.realpath(dirname(html))
  if not d or not h or d == h then return "" end
  if d:sub(1, #h + 1) == h .. "/" then return d:sub(#h + 2) .. "/" end
  return "file://" .. d .. "/"
end

local function load_model(dir)
  local nights, skipped = history.load(dir)
  if not nights then return nil, skipped end
  local ok, t = pcall(model.build, nights, { skipped = skipped })
  if not ok then return nil, ("cannot read the history in %s: %s"):format(dir, tostring(t)) end
  return t
end

-- natrig report trend DIR [--html F] [--fail-on-regression]
function M.main(o, dir, warn)
  local t, err = load_model(dir)
  if not t then warn(err) return 2 end
  local page
  if o.html then
    local ok, e = pcall(function()
      core.mkdir_p(dirname(o.html))
      write_atomic(o.html, require("natrig.report.trend_html").render(t, prefix_for(dir, o.html)))
    end)
    if not ok then warn(tostring(e)) return 2 end
    page = o.html
  end
  for _, l in ipairs(M.summary_lines(t, page)) do say(l) end
  if o.fail_on_regression and #t.regressions > 0 then return 1 end
  return 0
end

-- After a sweep or a merge: add doc as a night, prune, write DIR/index.html, print the
-- summary. Returns the trend model, or nil, message (the night could not be added).
function M.record(doc, opts, warn)
  local ok, id = pcall(history.add, opts.history, doc)
  if not ok then return nil, tostring(id) end
  local dir = opts.history
  local plan = require("natrig.history_prune").plan(history.sizes(dir),
    { keep_nights = opts.keep_nights, keep_bytes = opts.keep_bytes })
  local nights, skipped = history.load(dir)
  if not nights then return nil, skipped end
  local gone, runs_gone = {}, {}
  for _, x in ipairs(plan.drop) do gone[x] = true end
  for _, x in ipairs(plan.drop_runs) do runs_gone[x] = true end
  local kept = {}
  for _, n in ipairs(nights) do
    if not gone[n.id] then
      if runs_gone[n.id] then n.runs = {} end
      kept[#kept + 1] = n
    end
  end
  local ks = {}
  for _, s in ipairs(skipped) do if not gone[s.id] then ks[#ks + 1] = s end end
  local bok, t = pcall(model.build, kept, { skipped = ks })
  if not bok then return nil, "cannot read the history: " .. tostring(t) end
  local page = dir .. "/index.html"
  local wok, werr = pcall(write_atomic, page, require("natrig.report.trend_html").render(t, ""))
  if not wok then return nil, tostring(werr) end
  for _, x in ipairs(plan.drop) do history.rm_tree(dir .. "/nights/" .. x, 0) end
  for _, x in ipairs(plan.drop_runs) do history.rm_tree(dir .. "/nights/" .. x .. "/runs", 0) end
  say(("history: night %s added to %s%s"):format(id, dir,
    (#plan.drop + #plan.drop_runs > 0) and (" (pruned: %d night(s), %d night(s)' artifacts)"):format(#plan.drop,
      #plan.drop_runs) or ""))
  if plan.over then
    warn(("--keep-bytes: the newest night alone is over the budget (%d bytes kept)"):format(plan.bytes))
  end
  for _, l in ipairs(M.summary_lines(t, page)) do say(l) end
  return t
end

return M
