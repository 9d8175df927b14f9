-- natrig.report.trend_svg: the small inline SVG trend line of one metric of one case over
-- the nights (the trend page, natrig.report.trend_html): the nights' medians as a line,
-- their spread (min..max) as a band, flagged nights as dots (red: worse, green: better),
-- and the night a lasting change began as a vertical mark. Pure: a row of the trend model
-- in, markup out; every coordinate a whole number, so 365 nights stay small.
local stats = require "natrig.trend_stats"

local M = {}

local function esc(s)
  return (tostring(s):gsub("[&<>\"']",
    { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }))
end
M.esc = esc

function M.fmt(v)
  local a = math.abs(v)
  if a == 0 then return "0" end
  if a >= 100 then return ("%.0f"):format(v) end
  if a >= 10 then return ("%.1f"):format(v) end
  if a >= 0.01 then return ("%.2f"):format(v) end
  return ("%.2g"):format(v)
end

M.H = 34

function M.step(nights)
  return math.max(2, math.min(8, 240 // math.max(1, nights)))
end

-- "x " for each night's x coordinate, kept for the last (n, step, pad) asked
local xcache = { key = nil, l = nil }
local function xprefix(n, step, pad)
  local key = n .. ":" .. step .. ":" .. pad
  if xcache.key ~= key then
    local l = {}
    for i = 1, n do l[i] = (pad + (i - 1) * step) .. " " end
    xcache.key, xcache.l = key, l
  end
  return xcache.l
end

-- render(m, n_nights, case_id) -> "<svg ...>...</svg>"
function M.render(m, n, case_id)
  local step, H, PAD = M.step(n), M.H, 3
  local W = step * math.max(1, n - 1) + 2 * PAD
  local lo, hi = math.huge, -math.huge
  for i = 1, n do
    local s = m.nights[i]
    if s then lo = math.min(lo, s.min); hi = math.max(hi, s.max) end
  end
  if lo == math.huge then return "" end
  if hi == lo then hi = lo + (lo == 0 and 1 or math.abs(lo) * 0.1) end
  local function x(i) return PAD + (i - 1) * step end
  local floor, span, inner = math.floor, hi - lo, H - 2 * PAD
  local function y(v) return floor(PAD + inner * (1 - (v - lo) / span) + 0.5) end
  -- (the hot loop of a 365-night page: 200 lines of 365 nights, three points a night; the
  -- x prefixes are the same for every line of the page)
  local xs = xprefix(n, step, PAD)
  local up, down, line, seg = {}, {}, {}, {}
  local nu, ns = 0, 0
  local function flush()
    if ns > 1 then line[#line + 1] = "M" .. table.concat(seg, "L", 1, ns) end
    if ns == 1 then line[#line + 1] = "M" .. seg[1] .. "h1" end
    ns = 0
  end
  local nights = m.nights
  for i = 1, n do
    local s = nights[i]
    if s then
      local xi = xs[i]
      nu, ns = nu + 1, ns + 1
      up[nu] = xi .. y(s.max)
      down[nu] = xi .. y(s.min)
      seg[ns] = xi .. y(s.median)
    else
      flush()
    end
  end
  flush()
  local o = { ('<svg class="spark" data-metric="%s" data-case="%s" width="%d" height="%d" viewBox="0 0 %d %d" '
    .. 'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="%s">'):format(esc(m.name), esc(case_id), W, H, W, H,
    esc(m.name .. " per night: median and spread")) }
  local back = {}
  for k = #down, 1, -1 do back[#back + 1] = down[k] end
  o[#o + 1] = ('<path class="band" d="M%sL%sZ"/>'):format(table.concat(up, "L"), table.concat(back, "L"))
  o[#o + 1] = ('<path class="med" d="%s"/>'):format(table.concat(line))
  local better_up = stats.higher_is_better(m.unit)
  local dots = { worse = {}, better = {} }
  for i = 1, n do
    local f = m.flags and m.flags[i] or 0
    if f ~= 0 and m.nights[i] then
      local k = ((f > 0) == better_up) and "better" or "worse"
      local d = dots[k]
      d[#d + 1] = ("M%d %dh0"):format(x(i), y(m.nights[i].median))
    end
  end
  for k, d in pairs(dots) do
    if #d > 0 then o[#o + 1] = ('<path class="flag %s" d="%s"/>'):format(k, table.concat(d)) end
  end
  if m.change then
    o[#o + 1] = ('<line class="since" x1="%d" y1="0" x2="%d" y2="%d"/>'):format(x(m.change.since), x(m.change.since), H)
  end
  o[#o + 1] = "</svg>"
  return table.concat(o)
end

return M
