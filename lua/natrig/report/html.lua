-- natrig.report.html: a sweep report (natrig.sweep.model) as one self-contained HTML
-- file: no network fetches, no external scripts, fonts or images.
--
--   summary        counts, pass rate, wall time, machine, baseline changes
--   grid           per scenario with a matrix: parameter x parameter cells coloured by
--                  pass rate (red 0% .. green 100%) with "passed/runs", linking to the case
--   cases          every case: verdict, passed/runs, median duration, the path kinds
--                  net:record_path recorded per pair, baseline marks
--   plots          per metric, an inline SVG box + strip plot: one column per case, one
--                  dot per repeat (coloured by its result), box = quartiles, bar = median
--   failures       every failing repeat: message, file:line, artifacts folder and pcaps
--                  (links), what it printed
local model = require "natrig.sweep.model"

local M = {}

local function esc(s)
  return (tostring(s):gsub("[&<>\"']",
    { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" })
    :gsub("[%z\1-\8\11\12\14-\31]", "?"))
end

local function anchor(id) return "case-" .. tostring(id):gsub("[^%w]+", "-") end

-- red (0) .. amber .. green (1)
local function rate_colour(rate)
  return ("hsl(%d,62%%,%d%%)"):format(math.floor(120 * rate + 0.5), rate == 1 and 36 or 44)
end

local function fmt_num(v)
  local a = math.abs(v)
  if a == 0 then return "0" end
  if a >= 100 then return ("%.0f"):format(v) end
  if a >= 10 then return ("%.1f"):format(v) end
  if a >= 0.01 then return ("%.2f"):format(v) end
  return ("%.2g"):format(v)
end

-- href for a local path: relative when it lies under the report's folder, else file://
local function href(path, base_dir)
  path = tostring(path)
  if base_dir and base_dir ~= "" and path:sub(1, #base_dir + 1) == base_dir .. "/" then
    path = path:sub(#base_dir + 2)
  elseif path:sub(1, 1) == "/" then
    path = "file://" .. path
  end
  return (path:gsub("[^%w%-%._~/:]", function(ch) return ("%%%02X"):format(ch:byte()) end))
end

local CSS = [[
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e3e6ec;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}.muted{color:#687086}
.cards{display:flex;gap:10px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid #e3e6ec;border-radius:8px;padding:8px 14px;min-width:90px}
.card b{display:block;font-size:22px}
.pass{color:#17703a}.fail{color:#b3261e}.flaky{color:#a15c00}.error{color:#7b2ea0}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.b-pass{background:#2e8b57}.b-fail{background:#c0392b}.b-flaky{background:#d68910}.b-error{background:#8e44ad}
.b-mark{background:#44506a;margin-left:3px}
table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #eceef2;text-align:left;vertical-align:top}
th{background:#f6f7f9;font-weight:600}
table.grid td,table.grid th{border:1px solid #fff;text-align:center;padding:0}
table.grid th{padding:4px 8px;font-size:12px;vertical-align:middle}
table.grid td a{display:block;min-width:74px;padding:9px 4px;color:#fff;text-decoration:none;font-weight:600}
table.grid td.none{background:#eceef2;color:#8a90a0;padding:9px 4px}
.corner{font-size:11px;color:#687086}
pre{white-space:pre-wrap;margin:4px 0;background:#f6f7f9;padding:6px 8px;border-radius:4px;font-size:12px;max-height:420px;overflow:auto}
.failure{border-left:4px solid #c0392b;padding:2px 12px;margin:12px 0}
.failure.error{border-left-color:#8e44ad}
svg text{font:11px system-ui,sans-serif;fill:#394150}.plot{overflow-x:auto}
label.toggle{font-size:13px;margin-left:8px}
]]

-- the only script: a filter for the case table; it also marks the page as rendered
local SCRIPT = [[
(function () {
  var box = document.getElementById("only-bad");
  function apply() {
    var rows = document.querySelectorAll("tr.case-row");
    for (var i = 0; i < rows.length; i++) {
      rows[i].style.display = (box.checked && rows[i].getAttribute("data-verdict") === "pass") ? "none" : "";
    }
  }
  if (box) { box.addEventListener("change", apply); apply(); }
  document.documentElement.setAttribute("data-rendered", "yes");
})();
]]

local function summary(o, doc)
  local s = doc.summary
  o[#o + 1] = "<h1>natrig sweep</h1>"
  o[#o + 1] = ('<p class="muted">%s on %s &middot; natrig %s &middot; %s%s%s</p>'):format(
    esc(doc.started and os.date("!%Y-%m-%d %H:%M UTC", math.floor(doc.started)) or ""), esc(doc.hostname or "?"),
    esc(doc.natrig or "?"), doc.wall and ("wall time " .. fmt_num(doc.wall) .. " s") or "",
    doc.jobs and (" &middot; -j " .. esc(doc.jobs)) or "",
    doc.merged and (" &middot; merged from " .. doc.merged .. " reports") or "")
  if type(doc.labels) == "table" and next(doc.labels) then
    o[#o + 1] = ('<p id="labels">labels: <b>%s</b></p>'):format(esc(require("natrig.trend_model").label_text(doc.labels)))
  end
  if doc.interrupted then
    o[#o + 1] = '<p class="fail" id="interrupted"><b>Interrupted</b>: only the runs that finished are shown.</p>'
  end
  local rate = s.runs > 0 and s.runs_passed / s.runs or 0
  o[#o + 1] = '<div class="cards" id="summary">'
  local cards = {
    { "cases", s.cases, "" }, { "passed", s.pass, "pass" }, { "flaky", s.flaky, "flaky" },
    { "failed", s.fail, "fail" }, { "errors", s.error, "error" },
    { "runs passed", ("%d/%d"):format(s.runs_passed, s.runs), "" }, { "pass rate", ("%.0f%%"):format(rate * 100), "" },
  }
  for _, c in ipairs(cards) do
    o[#o + 1] = ('<div class="card"><b class="%s">%s</b>%s</div>'):format(c[3], esc(c[2]), esc(c[1]))
  end
  o[#o + 1] = "</div>"
  o[#o + 1] = ("<p>%d of %d cases passed every repeat%s.</p>"):format(s.pass, s.cases,
    (doc["repeat"] or 1) > 1 and (" (" .. doc["repeat"] .. " repeats each)") or "")
  local b = doc.baseline
  if b then
    o[#o + 1] = ('<p id="baseline">Against baseline <code>%s</code>: <b class="fail">%d new failure(s)</b>, <b class="pass">%d fixed</b>, <b class="flaky">%d newly flaky</b>, %d slower (median of a time metric &gt; +%d%%), %d new case(s).</p>')
      :format(esc(b.file or "?"), b.new_failure, b.fixed, b.newly_flaky, b.slower,
        math.floor((b.threshold or 0.25) * 100 + 0.5), b.new)
  end
end

local function grids(o, doc)
  local any = false
  for _, sc in ipairs(doc.scenarios) do
    local axes = {}
    for _, a in ipairs(sc.axes or {}) do if #a.values > 1 then axes[#axes + 1] = a end end
    if #axes >= 1 then
      if not any then o[#o + 1] = "<h2>Pass rate by parameters</h2>"; any = true end
      -- the two axes with most values: rows and columns; the others are summed over
      table.sort(axes, function(x, y) return #x.values > #y.values end)
      local ra, ca = axes[1], axes[2]
      local cells = {}
      for _, c in ipairs(doc.cases) do
        if c.scenario == sc.name and c.params then
          local rv, cv = c.params[ra.key], ca and c.params[ca.key] or ""
          if rv then
            local key = rv .. "\0" .. (cv or "")
            local cell = cells[key] or { passed = 0, runs = 0, cases = {} }
            cell.passed, cell.runs = cell.passed + c.passed, cell.runs + c.runs
            cell.cases[#cell.cases + 1] = c
            cells[key] = cell
          end
        end
      end
      o[#o + 1] = ("<h3>%s</h3>"):format(esc(sc.name))
      o[#o + 1] = ('<table class="grid" data-scenario="%s" data-rows="%d" data-cols="%d"><tr><th class="corner">%s &darr; / %s &rarr;</th>')
        :format(esc(sc.name), #ra.values, ca and #ca.values or 1, esc(ra.key), esc(ca and ca.key or ""))
      for _, cv in ipairs(ca and ca.values or { "" }) do o[#o + 1] = ("<th>%s</th>"):format(esc(cv)) end
      o[#o + 1] = "</tr>"
      for _, rv in ipairs(ra.values) do
        o[#o + 1] = ("<tr><th>%s</th>"):format(esc(rv))
        for _, cv in ipairs(ca and ca.values or { "" }) do
          local cell = cells[rv .. "\0" .. cv]
          if cell and cell.runs > 0 then
            local rate = cell.passed / cell.runs
            local verdict = rate == 1 and "pass" or rate == 0 and "fail" or "flaky"
            local first = cell.cases[1]
            local names = {}
            for _, c in ipairs(cell.cases) do
              names[#names + 1] = c.case .. ": " .. c.verdict .. " " .. c.passed .. "/" .. c.runs
            end
            o[#o + 1] = ('<td class="cell" data-verdict="%s" style="background:%s"><a href="#%s" title="%s">%d/%d</a></td>')
              :format(verdict, rate_colour(rate), anchor(first.id), esc(table.concat(names, "\n")), cell.passed,
                cell.runs)
          else
            o[#o + 1] = '<td class="none" title="not run">&ndash;</td>'
          end
        end
        o[#o + 1] = "</tr>"
      end
      o[#o + 1] = "</table>"
    end
  end
end

local function case_table(o, doc)
  o[#o + 1] = '<h2>Cases <label class="toggle"><input type="checkbox" id="only-bad"> only cases that did not pass every repeat</label></h2>'
  o[#o + 1] = "<table id=\"cases\"><tr><th>scenario</th><th>case</th><th>verdict</th><th>passed</th><th>median time</th><th>path</th><th>changes</th></tr>"
  for _, c in ipairs(doc.cases) do
    local d = {}
    for _, r in ipairs(c.repeats) do if r.duration then d[#d + 1] = r.duration end end
    local st = model.stats(d)
    local marks = {}
    for _, m in ipairs(c.compare and c.compare.marks or {}) do
      marks[#marks + 1] = ('<span class="badge b-mark" title="%s">%s</span>'):format(
        esc(c.compare.was and ("baseline: " .. c.compare.was .. " " .. tostring(c.compare.was_passed) .. "/" ..
          tostring(c.compare.was_runs)) or "not in the baseline"), esc(m))
    end
    for _, sl in ipairs(c.compare and c.compare.slower or {}) do
      marks[#marks + 1] = ('<span class="muted">%s %s&rarr;%s %s</span>'):format(esc(sl.metric), fmt_num(sl.old),
        fmt_num(sl.new), esc(sl.unit or ""))
    end
    -- net:record_path's verdicts (natrig.path), per pair: "a<->b direct 3/3"
    local paths = {}
    for _, pp in ipairs(c.paths or model.case_paths(c)) do
      paths[#paths + 1] = ('<span class="path" data-pair="%s" data-kind="%s">%s</span>'):format(esc(pp.pair),
        esc(pp.kinds[1] and pp.kinds[1].kind or ""), esc(pp.text))
    end
    o[#o + 1] = ('<tr class="case-row" id="%s" data-verdict="%s"><td>%s</td><td>%s</td><td><span class="badge b-%s">%s</span></td><td>%d/%d</td><td>%s</td><td class="paths">%s</td><td>%s</td></tr>')
      :format(anchor(c.id), c.verdict, esc(c.scenario), esc(c.case), c.verdict, c.verdict, c.passed, c.runs,
        st and (fmt_num(st.median) .. " s") or "", table.concat(paths, "<br>"), table.concat(marks, " "))
  end
  o[#o + 1] = "</table>"
end

local STATUS_COLOUR = { pass = "#2e8b57", fail = "#c0392b", error = "#8e44ad" }

-- One SVG plot for metric `name` over cases (each { label, values = { {v, status} } }).
local function plot(o, name, unit, columns)
  local W_COL, LEFT, TOP, H, BOTTOM = 46, 64, 16, 200, 110
  -- room for the whole labels (11px text at 50 degrees: ~4.8 px down, ~4.2 px right a character)
  local long = 0
  for _, col in ipairs(columns) do long = math.max(long, utf8.len(col.label) or #col.label) end
  BOTTOM = math.max(BOTTOM, 30 + math.ceil(long * 4.8))
  local width = LEFT + W_COL * #columns + math.max(20, math.ceil(long * 4.2))
  local lo, hi = math.huge, -math.huge
  for _, col in ipairs(columns) do
    for _, p in ipairs(col.points) do lo = math.min(lo, p[1]); hi = math.max(hi, p[1]) end
  end
  if lo > 0 and lo < hi * 0.5 then lo = 0 end
  if hi == lo then hi = lo + (lo == 0 and 1 or math.abs(lo) * 0.1) end
  local pad = (hi - lo) * 0.06
  lo, hi = (lo == 0) and 0 or lo - pad, hi + pad
  local function y(v) return TOP + H - (v - lo) / (hi - lo) * H end
  o[#o + 1] = ('<div class="plot"><svg class="metric-plot" data-metric="%s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">')
    :format(esc(name), width, TOP + H + BOTTOM, width, TOP + H + BOTTOM, esc(name .. " per case"))
  -- axis and ticks
  o[#o + 1] = ('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#9aa1b2"/>'):format(LEFT, TOP, LEFT, TOP + H)
  for i = 0, 4 do
    local v = lo + (hi - lo) * i / 4
    local yy = y(v)
    o[#o + 1] = ('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eceef2"/><text x="%d" y="%.1f" text-anchor="end">%s</text>')
      :format(LEFT, yy, width - 10, yy, LEFT - 6, yy + 4, fmt_num(v))
  end
  o[#o + 1] = ('<text x="12" y="%d" transform="rotate(-90 12 %d)" text-anchor="middle">%s%s</text>')
    :format(TOP + H // 2, TOP + H // 2, esc(name), unit ~= "" and (" (" .. esc(unit) .. ")") or "")
  for i, col in ipairs(columns) do
    local cx = LEFT + W_COL * (i - 1) + W_COL / 2
    local vals = {}
    for _, p in ipairs(col.points) do vals[#vals + 1] = p[1] end
    local st = model.stats(vals)
    if st then
      o[#o + 1] = ('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9aa1b2"/>'):format(cx, y(st.min), cx,
        y(st.max))
      o[#o + 1] = ('<rect class="box" x="%.1f" y="%.1f" width="%d" height="%.1f" fill="#dfe6f3" stroke="#7d8bab"/>')
        :format(cx - 12, y(st.q3), 24, math.max(1, y(st.q1) - y(st.q3)))
      o[#o + 1] = ('<line class="median" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#1d2330" stroke-width="2"/>')
        :format(cx - 13, y(st.median), cx + 13, y(st.median))
    end
    for j, p in ipairs(col.points) do
      local jitter = ((j * 7) % 11 - 5) * 1.4 -- deterministic spread, so dots do not hide each other
      o[#o + 1] = ('<circle class="dot" cx="%.1f" cy="%.1f" r="3.6" fill="%s" fill-opacity="0.85"><title>%s #%d: %s %s (%s)</title></circle>')
        :format(cx + jitter, y(p[1]), STATUS_COLOUR[p[2]] or "#555", esc(col.title or col.label), p[3], fmt_num(p[1]),
          esc(unit), esc(p[2]))
    end
    o[#o + 1] = ('<text x="%.1f" y="%d" transform="rotate(50 %.1f %d)" text-anchor="start"><title>%s</title>%s</text>')
      :format(cx - 4, TOP + H + 14, cx - 4, TOP + H + 14, esc(col.title or col.label), esc(col.label))
  end
  o[#o + 1] = "</svg></div>"
end

-- A plot column's label: the case's parameter values ("full_cone/symmetric"), in key order.
local function short_label(c)
  local keys, vals = {}, {}
  for k in pairs(c.params or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for i, k in ipairs(keys) do vals[i] = tostring(c.params[k]) end
  if #vals == 0 then return c.scenario end
  return table.concat(vals, "/")
end

local function plots(o, doc)
  local names, per = {}, {}
  for _, c in ipairs(doc.cases) do
    local ms, order = model.case_metrics(c)
    -- net:record_path's metrics are the cases' path column, not a plot of ones
    local kept = {}
    for _, n in ipairs(order) do if not n:match("^path %S+<%->%S+ ") then kept[#kept + 1] = n end end
    order = kept
    for _, n in ipairs(order) do
      if not per[n] then per[n] = { unit = ms[n].unit or "", columns = {} }; names[#names + 1] = n end
    end
    for _, n in ipairs(order) do
      local col = { label = short_label(c), title = c.id, points = {} }
      for _, r in ipairs(c.repeats) do
        if n == "duration" then
          if r.duration and r.status ~= "error" then col.points[#col.points + 1] = { r.duration, r.status, r.index } end
        else
          for _, m in ipairs(r.metrics or {}) do
            if m.name == n then col.points[#col.points + 1] = { m.value, r.status, r.index } end
          end
        end
      end
      per[n].columns[#per[n].columns + 1] = col
    end
  end
  if #names == 0 then return end
  -- the scenario's own metrics first, natrig's run duration last
  table.sort(names, function(a, b)
    if (a == "duration") ~= (b == "duration") then return b == "duration" end
    return a < b
  end)
  o[#o + 1] = "<h2>Metrics</h2>"
  o[#o + 1] = '<p class="muted">One column per case, one dot per repeat (green passed, red failed, purple setup error); box: quartiles; bar: median.</p>'
  for _, n in ipairs(names) do
    o[#o + 1] = ("<h3>%s</h3>"):format(esc(n))
    plot(o, n, per[n].unit, per[n].columns)
  end
end

local function tail(s, max_lines)
  local lines = {}
  for l in (tostring(s) .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  if #lines <= max_lines then return tostring(s) end
  return ("[... %d earlier lines]\n"):format(#lines - max_lines) .. table.concat(lines, "\n", #lines - max_lines + 1)
end

local function failures(o, doc, base_dir)
  local any = false
  for _, c in ipairs(doc.cases) do
    for _, r in ipairs(c.repeats) do
      if r.status ~= "pass" then
        if not any then o[#o + 1] = '<h2 id="failures">Failures</h2>'; any = true end
        o[#o + 1] = ('<div class="failure %s"><h3><span class="badge b-%s">%s</span> %s &middot; repeat %d of %d</h3>')
          :format(r.status, r.status, r.status == "fail" and "failure" or "error", esc(c.id), r.index, c.runs)
        o[#o + 1] = ("<pre>%s</pre>"):format(esc(r.error or "no message"))
        local parts = {}
        if r.where then parts[#parts + 1] = ("at <code>%s</code>"):format(esc(r.where)) end
        if r.artifacts then
          parts[#parts + 1] = ('artifacts: <a href="%s">%s</a>'):format(href(r.artifacts, base_dir), esc(r.artifacts))
          for _, f in ipairs({ "failure.txt", "timeline.txt" }) do
            parts[#parts + 1] = ('<a href="%s">%s</a>'):format(href(r.artifacts .. "/" .. f, base_dir), f)
          end
        end
        for _, p in ipairs(r.pcaps or {}) do
          parts[#parts + 1] = ('pcap: <a href="%s">%s</a>'):format(href(p, base_dir), esc(p:match("[^/]*$")))
        end
        if r.exit_code then parts[#parts + 1] = ("exit code %s"):format(esc(r.exit_code)) end
        if #parts > 0 then o[#o + 1] = "<p>" .. table.concat(parts, " &middot; ") .. "</p>" end
        if r.output and r.output ~= "" then
          o[#o + 1] = ("<details><summary>output</summary><pre>%s</pre></details>"):format(esc(tail(r.output, 200)))
        end
        o[#o + 1] = "</div>"
      end
    end
  end
end

-- render(doc [, base_dir]): base_dir is the folder the HTML file is written to (for
-- relative links to artifacts).
function M.render(doc, base_dir)
  local o = { '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>natrig sweep</title><style>" .. CSS .. "</style></head><body>" }
  summary(o, doc)
  grids(o, doc)
  case_table(o, doc)
  plots(o, doc)
  failures(o, doc, base_dir)
  o[#o + 1] = "<script>" .. SCRIPT .. "</script></body></html>"
  return table.concat(o, "\n") .. "\n"
end

return M
