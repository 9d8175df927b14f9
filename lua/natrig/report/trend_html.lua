-- natrig.report.trend_html: the trend page of a history (natrig.trend_model) as one
-- self-contained HTML file: inline CSS and SVG, no script, nothing fetched.
--
--   top        the nights shown, the latest night's labels, skipped nights and why
--   regressions / improvements   one line each, with the night it began and its label
--                                beside the last good night's (natrig.trend_model.describe)
--   filter     "changed in the last 1 / 7 / 30 nights": radio buttons and CSS (works
--              without JavaScript)
--   per scenario  a grid of cases x nights coloured by verdict (flaky cells say k/n), the
--                 night each case went bad (or was fixed) beside the last good (bad) one;
--                 per metric and case a trend line (natrig.report.trend_svg)
--   nights     each night: date, labels, counts, its report and JSON, and per failing run
--              its failure.txt, timeline, logs and pcaps
local svg = require "natrig.report.trend_svg"
local tm = require "natrig.trend_model"

local M = {}
local esc, fmt = svg.esc, svg.fmt
M.FILTERS = { 1, 7, 30 }

local function anchor(id) return "case-" .. tostring(id):gsub("[^%w]+", "-") end

-- href of a path relative to the history folder, from where the page is written
local function link(prefix, rel)
  return esc(prefix .. rel:gsub("[^%w%-%._~/=,+]", function(ch) return ("%%%02X"):format(ch:byte()) end))
end

local CSS = [[
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:26px 0 8px;border-bottom:1px solid #e3e6ec;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}.muted{color:#687086}a{color:#1f4fa3}
.pass{color:#17703a}.fail{color:#b3261e}.flaky{color:#a15c00}.error{color:#7b2ea0}
ul.changes{margin:4px 0 10px;padding-left:20px}ul.changes li{margin:2px 0}
.tag{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;font-weight:600;color:#fff;margin-right:4px}
.t-bad{background:#c0392b}.t-good{background:#2e8b57}.t-metric{background:#d68910}
.gridwrap{overflow-x:auto;max-width:100%}
table.trend-grid{border-collapse:separate;border-spacing:1px;font-size:11px}
table.trend-grid th{font-weight:600;background:#f6f7f9;padding:2px 4px;white-space:nowrap;text-align:left}
table.trend-grid th.n{text-align:center;font-weight:400;min-width:12px}
table.trend-grid td{min-width:12px;height:18px;padding:0;text-align:center;color:#fff}
table.trend-grid td a{color:#fff;text-decoration:none;display:block}
td.ev{color:#1d2330 !important;text-align:left !important;padding:0 6px !important;white-space:nowrap;background:#fff}
table.trend-grid td.ev a{color:#1f4fa3;display:inline;text-decoration:underline}
.v-pass{background:#2e8b57}.v-flaky{background:#e0a11b}.v-fail{background:#c0392b}.v-error{background:#8e44ad}
.v-none{background:#eceef2}td.first{outline:2px solid #1d2330;outline-offset:-2px}
table.metrics{border-collapse:collapse}
table.metrics td,table.metrics th{padding:3px 8px;border-bottom:1px solid #eceef2;text-align:left;
vertical-align:middle;font-size:12px}table.metrics th{background:#f6f7f9}
.spark{display:block}.spark .band{fill:#dfe6f3;stroke:none}.spark .med{fill:none;stroke:#1d2330;stroke-width:1.3}
.spark .flag{stroke-width:5;stroke-linecap:round;fill:none}.spark .worse{stroke:#c0392b}.spark .better{stroke:#2e8b57}
.spark .since{stroke:#c0392b;stroke-dasharray:2 2}
.filter{margin:10px 0;font-size:13px}.filter label{margin-right:10px}
table.nights{border-collapse:collapse;font-size:12px}table.nights td,table.nights th{padding:3px 8px;
border-bottom:1px solid #eceef2;text-align:left;vertical-align:top}table.nights th{background:#f6f7f9}
details summary{cursor:pointer}.key{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-left:6px}
]]

local function night_name(t, i)
  local n = t.nights[i]
  if not n then return "?" end
  return "#" .. tostring(n.seq or i)
end

local function night_ref(t, i, prefix)
  local n = t.nights[i]
  if not n then return "?" end
  local txt = esc(night_name(t, i)) .. (n.label ~= "" and (' <span class="label">' .. esc(n.label) .. "</span>") or "")
  if n.links and n.links.report then
    return ('<a class="night" href="%s">%s</a>'):format(link(prefix, n.links.report), txt)
  end
  return txt
end

local function change_item(o, t, e, prefix, good)
  local row = e.row
  local text
  local since = night_ref(t, e.since, prefix)
  local other = e.other and night_ref(t, e.other, prefix) or "none kept"
  if e.kind == "verdict" then
    local c = e.cell
    local what = c.verdict == "flaky" and ("flaky %d/%d"):format(c.passed, c.runs) or c.verdict
    text = ('<span class="tag t-bad">%s</span><b>%s</b>: %s since night %s; last good night %s')
      :format(esc(c.verdict), esc(row.id), esc(what), since, other)
  elseif e.kind == "fixed" then
    text = ('<span class="tag t-good">fixed</span><b>%s</b>: passes since night %s; last bad night %s')
      :format(esc(row.id), since, other)
  else
    local ch, m = e.change, e.metric
    local pct = ch.ref_median ~= 0 and ("%+.0f%%"):format((ch.median / ch.ref_median - 1) * 100) or ""
    text = ('<span class="tag %s">metric</span><b>%s</b> <i>%s</i> %s: median %s &rarr; %s %s (Mann-Whitney p=%.2g) '
      .. "since night %s; before: night %s"):format(good and "t-good" or "t-metric", esc(row.id), esc(m.name), pct,
      fmt(ch.ref_median), fmt(ch.median), esc(m.unit or ""), ch.p, since, other)
  end
  o[#o + 1] = ('<li class="%s" data-kind="%s" data-case="%s"%s data-since="%s">%s</li>')
    :format(good and "improvement" or "regression", e.kind, esc(row.id),
      e.metric and (' data-metric="%s"'):format(esc(e.metric.name)) or "", esc(night_name(t, e.since)), text)
end

local function top(o, t, prefix)
  local n = #t.nights
  o[#o + 1] = "<h1>natrig trend</h1>"
  if n == 0 then
    o[#o + 1] = '<p id="empty">No night to show yet.</p>'
  else
    local first, last = t.nights[1], t.nights[n]
    local function day(x) return x.started and os.date("!%Y-%m-%d %H:%M UTC", math.floor(x.started)) or "?" end
    o[#o + 1] = ('<p class="muted" id="span">%d night(s): %s (%s) to %s (%s). Latest night: %s.</p>')
      :format(n, esc(night_name(t, 1)), esc(day(first)), esc(night_name(t, n)), esc(day(last)), night_ref(t, n, prefix))
  end
  if #t.skipped > 0 then
    o[#o + 1] = '<div id="skipped"><h3 class="fail">Skipped nights</h3><ul class="changes">'
    for _, s in ipairs(t.skipped) do
      o[#o + 1] = ('<li class="skipped" data-night="%s">nights/%s: %s (left as it is)</li>')
        :format(esc(s.id), esc(s.id), esc(s.reason))
    end
    o[#o + 1] = "</ul></div>"
  end
  o[#o + 1] = ('<h2 id="regressions">Regressions (%d)</h2>'):format(#t.regressions)
  if #t.regressions == 0 then o[#o + 1] = '<p class="muted">None in the latest night.</p>' else
    o[#o + 1] = '<ul class="changes">'
    for _, e in ipairs(t.regressions) do change_item(o, t, e, prefix, false) end
    o[#o + 1] = "</ul>"
  end
  o[#o + 1] = ('<h2 id="improvements">Improvements (%d)</h2>'):format(#t.improvements)
  if #t.improvements > 0 then
    o[#o + 1] = '<ul class="changes">'
    for _, e in ipairs(t.improvements) do change_item(o, t, e, prefix, true) end
    o[#o + 1] = "</ul>"
  end
  o[#o + 1] = ('<p class="muted">A case regresses when it goes from pass to flaky, fail or error. A metric regresses '
    .. "when the latest night's samples differ from the previous nights' by a one-sided Mann-Whitney U test at "
    .. "p &lt; %.2g and the medians by at least %d%% (the README's History and trends says how).</p>")
    :format(require("natrig.trend_stats").ALPHA, math.floor(require("natrig.trend_stats").MIN_EFFECT * 100 + 0.5))
end

local function metric_text(t, row, prefix)
  local out = {}
  for _, m in ipairs(row.metrics) do
    local ch = m.change
    if ch and ch.night == #t.nights and ch.ref_median ~= 0 then
      out[#out + 1] = ("; %s %+.0f%% since %s"):format(esc(m.name), (ch.median / ch.ref_median - 1) * 100,
        night_ref(t, ch.since, prefix))
    end
  end
  return table.concat(out)
end

local function event_text(t, row, prefix)
  return M.verdict_text(t, row, prefix) .. metric_text(t, row, prefix)
end

function M.verdict_text(t, row, prefix)
  local ev = row.event
  if not ev then return row.verdict == "pass" and "passes every night" or "" end
  if ev.kind == "bad" then
    return ("%s since %s; last good %s"):format(esc(row.verdict), night_ref(t, ev.since, prefix),
      night_ref(t, ev.other, prefix))
  elseif ev.kind == "fixed" then
    return ("fixed %s; last bad %s"):format(night_ref(t, ev.since, prefix), night_ref(t, ev.other, prefix))
  end
  return ("%s every night shown"):format(esc(row.verdict))
end

local function changed_classes(row)
  local cl = {}
  for _, k in ipairs(M.FILTERS) do
    if row.changed and row.changed < k then cl[#cl + 1] = "ch" .. k end
  end
  return table.concat(cl, " ")
end

local function scenario(o, t, sc, prefix)
  local n = #t.nights
  o[#o + 1] = ('<h2 class="scenario">%s</h2>'):format(esc(sc.name))
  o[#o + 1] = ('<div class="gridwrap"><table class="trend-grid" data-scenario="%s" data-nights="%d" data-cases="%d">')
    :format(esc(sc.name), n, #sc.cases)
  local head = { "<tr><th>case</th><th>since</th>" }
  for i = 1, n do
    local nt = t.nights[i]
    local lab = esc(night_name(t, i) .. (nt.label ~= "" and (" " .. nt.label) or ""))
    head[#head + 1] = nt.links.report and ('<th class="n"><a href="%s" title="%s">%s</a></th>')
      :format(link(prefix, nt.links.report), lab, n > 60 and "" or tostring(nt.seq or i))
      or ('<th class="n" title="%s">%s</th>'):format(lab, n > 60 and "" or tostring(nt.seq or i))
  end
  o[#o + 1] = table.concat(head) .. "</tr>"
  for _, row in ipairs(sc.cases) do
    local cells = { ('<tr class="row %s" data-case="%s" data-verdict="%s"><th>%s</th><td class="ev">%s</td>')
      :format(changed_classes(row), esc(row.id), esc(row.verdict or ""), esc(row.case), event_text(t, row, prefix)) }
    local first = row.event and row.event.kind ~= "always-bad" and row.event.since
    for i = 1, n do
      local c = row.cells[i]
      if not c then
        cells[#cells + 1] = '<td class="v-none"></td>'
      else
        local nt = t.nights[i]
        local cls = "v-" .. (tm.SEVERITY[c.verdict] and c.verdict or "error") .. (i == first and " first" or "")
        local txt = c.verdict == "flaky" and (c.passed .. "/" .. c.runs) or c.verdict == "pass" and "" or
          (c.verdict == "fail" and "&#215;" or "!")
        local title = esc(("%s%s: %s %d/%d"):format(night_name(t, i), nt.label ~= "" and (" " .. nt.label) or "",
          c.verdict, c.passed or 0, c.runs or 0))
        if c.verdict ~= "pass" and nt.links.report then
          cells[#cells + 1] = ('<td class="%s" title="%s"><a href="%s#%s">%s</a></td>'):format(cls, title,
            link(prefix, nt.links.report), anchor(row.id), txt)
        else
          cells[#cells + 1] = ('<td class="%s" title="%s">%s</td>'):format(cls, title, txt)
        end
      end
    end
    o[#o + 1] = table.concat(cells) .. "</tr>"
  end
  o[#o + 1] = "</table></div>"
  -- per metric, per case: a trend line
  local names, seen = {}, {}
  for _, row in ipairs(sc.cases) do
    for _, m in ipairs(row.metrics) do
      if not seen[m.name] then seen[m.name] = true; names[#names + 1] = m.name end
    end
  end
  if #names == 0 then return end
  table.sort(names, function(a, b)
    if (a == "duration") ~= (b == "duration") then return b == "duration" end
    return a < b
  end)
  o[#o + 1] = ('<h3>Metrics</h3><table class="metrics" data-scenario="%s"><tr><th>case</th>'):format(esc(sc.name))
  for _, name in ipairs(names) do o[#o + 1] = ("<th>%s</th>"):format(esc(name)) end
  o[#o + 1] = "</tr>"
  for _, row in ipairs(sc.cases) do
    local by = {}
    for _, m in ipairs(row.metrics) do by[m.name] = m end
    local tds = { ('<tr class="row %s" data-case="%s"><th>%s</th>'):format(changed_classes(row), esc(row.id),
      esc(row.case)) }
    for _, name in ipairs(names) do
      local m = by[name]
      if not m then tds[#tds + 1] = "<td></td>" else
        local lastv
        for i = n, 1, -1 do if m.nights[i] then lastv = m.nights[i] break end end
        local note = lastv and (fmt(lastv.median) .. (m.unit ~= "" and (" " .. esc(m.unit)) or "")) or ""
        if m.change and m.change.night == n then
          note = note .. (' <b class="%s">%s since %s</b>'):format(m.change.dir > 0 and "fail" or "pass",
            m.change.dir > 0 and "&#8593;" or "&#8595;", esc(night_name(t, m.change.since)))
        end
        tds[#tds + 1] = ("<td>%s<span>%s</span></td>"):format(svg.render(m, n, row.id), note)
      end
    end
    o[#o + 1] = table.concat(tds) .. "</tr>"
  end
  o[#o + 1] = "</table>"
end

local function nights_table(o, t, prefix)
  o[#o + 1] = '<h2 id="nights">Nights</h2><table class="nights"><tr><th>night</th><th>started</th><th>labels</th>'
    .. "<th>cases</th><th>links</th></tr>"
  for i = #t.nights, 1, -1 do
    local nt = t.nights[i]
    local s = nt.summary or {}
    local links = {}
    if nt.links.report then links[#links + 1] = ('<a href="%s">report</a>'):format(link(prefix, nt.links.report)) end
    links[#links + 1] = ('<a href="%s">json</a>'):format(link(prefix, nt.links.json))
    local runs, ids = {}, {}
    for id in pairs(nt.runs or {}) do ids[#ids + 1] = id end
    table.sort(ids)
    for _, id in ipairs(ids) do
      for _, r in ipairs(nt.runs[id]) do
        local fl = {}
        for _, f in ipairs(r.files) do
          fl[#fl + 1] = ('<a class="run-file" href="%s">%s</a>'):format(link(prefix, f.href), esc(f.name))
        end
        runs[#runs + 1] = ("<li>%s #%s (%s): %s</li>"):format(esc(id), esc(r.index), esc(r.status),
          table.concat(fl, " "))
      end
    end
    local det = #runs > 0 and ("<details><summary>%d failing run(s)</summary><ul>%s</ul></details>")
      :format(#runs, table.concat(runs)) or ""
    o[#o + 1] = ('<tr class="night-row" data-night="%s"><td>%s</td><td>%s</td><td>%s</td>'
      .. "<td>%s pass, %s flaky, %s fail, "
      .. "%s error</td><td>%s%s</td></tr>"):format(esc(nt.id), esc(night_name(t, i)),
      esc(nt.started and os.date("!%Y-%m-%d %H:%M", math.floor(nt.started)) or "?"), esc(nt.label),
      esc(s.pass or 0), esc(s.flaky or 0), esc(s.fail or 0), esc(s.error or 0), table.concat(links, " "), det)
  end
  o[#o + 1] = "</table>"
end

-- render(t [, prefix]): prefix goes before each path relative to the history folder
-- ("" when the page is written into it).
local render
function M.render(t, prefix) return require("natrig.trend_model").roomy(render, t, prefix) end

function render(t, prefix)
  prefix = prefix or ""
  local o = { '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>natrig trend</title><style>" .. CSS }
  for _, k in ipairs(M.FILTERS) do
    o[#o + 1] = ("#chg-%d:checked~.scenarios tr.row:not(.ch%d){display:none}"):format(k, k)
  end
  o[#o + 1] = "</style></head><body>"
  top(o, t, prefix)
  o[#o + 1] = '<b class="filter">Show:</b> <input type="radio" name="chg" id="chg-all" checked>'
    .. '<label for="chg-all">every case</label>'
  for _, k in ipairs(M.FILTERS) do
    o[#o + 1] = ('<input type="radio" name="chg" id="chg-%d">'
      .. '<label for="chg-%d">changed in the last %d night%s</label>'):format(k, k, k, k > 1 and "s" or "")
  end
  o[#o + 1] = '<div class="scenarios"><p class="legend muted">Cells: <span class="key v-pass"></span> pass '
    .. '<span class="key v-flaky"></span> flaky (passed/runs) <span class="key v-fail"></span> fail '
    .. '<span class="key v-error"></span> error <span class="key v-none"></span> not run; outlined: the night a '
    .. "case went bad or was fixed.</p>"
  for _, sc in ipairs(t.scenarios) do scenario(o, t, sc, prefix) end
  o[#o + 1] = "</div>"
  nights_table(o, t, prefix)
  o[#o + 1] = "</body></html>"
  return table.concat(o, "\n") .. "\n"
end

return M
