-- natrig.trend_stats: the statistics of `natrig report trend` (pure: numbers in, numbers
-- out; no files, no engine).
--
-- Regressions are found with a one-sided Mann-Whitney U test (Wilcoxon rank-sum) of the
-- latest night's samples against a reference: the samples of the previous nights. Exact
-- p-values (the null distribution of U counted by recursion, cached per pair of sample
-- sizes) when there are no ties and m*n <= 4000; otherwise the normal approximation with
-- the tie correction and a continuity correction. The test makes no assumption on the
-- distribution (start-up times are skewed, with outliers) and fits a handful of repeats.
local M = {}

-- The thresholds (README "History and trends" states them; tests/lua/trend_test.lua checks them).
M.ALPHA = 0.01        -- one-sided p below this
M.MIN_EFFECT = 0.10   -- and the medians differ by at least 10 %
M.WINDOW = 10         -- reference: up to 10 previous nights that were not flagged themselves
M.MIN_REF_NIGHTS = 3  -- fewer nights of reference: no verdict
M.TIME_FLOOR = { s = 1e-3, ms = 1, us = 1000, ns = 1e6 } -- time metrics: and by at least 1 ms
M.EXACT_MAX = 4000

function M.median(v)
  local n = #v
  if n == 0 then return nil end
  if n <= 3 then -- the usual night (3 repeats): no copy, no sort
    if n == 1 then return v[1] end
    if n == 2 then return (v[1] + v[2]) / 2 end
    local a, b, c = v[1], v[2], v[3]
    if a > b then a, b = b, a end
    if b > c then b = c end
    return a > b and a or b
  end
  local s = table.move(v, 1, n, 1, {})
  table.sort(s)
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

-- Quantiles (linear interpolation) of a list: { n, min, q1, median, q3, max }.
function M.summary(v)
  local n = #v
  if n == 0 then return nil end
  if n <= 3 then -- the usual night: sorted by hand
    local a, b, c = v[1], v[2] or v[1], v[3]
    if a > b then a, b = b, a end
    if n == 1 then return { n = 1, min = a, q1 = a, median = a, q3 = a, max = a } end
    if n == 2 then return { n = 2, min = a, q1 = a + (b - a) * 0.25, median = (a + b) / 2, q3 = a + (b - a) * 0.75,
      max = b } end
    if c < a then a, b, c = c, a, b elseif c < b then b, c = c, b end
    return { n = 3, min = a, q1 = (a + b) / 2, median = b, q3 = (b + c) / 2, max = c }
  end
  local s = table.move(v, 1, n, 1, {})
  table.sort(s)
  local function q(p)
    local pos = 1 + (n - 1) * p
    local lo = math.floor(pos)
    local hi = math.min(lo + 1, n)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)
  end
  return { n = n, min = s[1], q1 = q(0.25), median = q(0.5), q3 = q(0.75), max = s[n] }
end

-- The standard normal upper tail, via erfc (Numerical Recipes' erfcc, error < 1.2e-7).
local function erfc(x)
  local z = math.abs(x)
  local t = 1 / (1 + 0.5 * z)
  local r = t * math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))))
  return x >= 0 and r or 2 - r
end
function M.upper_tail(z) return 0.5 * erfc(z / math.sqrt(2)) end

-- Null distribution of U for sizes m, n (no ties): tail[u] = P(U >= u), u = 0..m*n.
local cache = {}
local function exact_tail(m, n)
  local key = m .. "," .. n
  if cache[key] then return cache[key] end
  -- f[i][j] = counts of U over arrangements of i x's and j y's (U counts x > y pairs):
  -- the largest value is an x (adds j) or a y (adds 0).
  local prev = {} -- prev[j] = distribution for i-1
  for j = 0, n do prev[j] = { [0] = 1 } end
  for i = 1, m do
    local cur = { [0] = { [0] = 1 } }
    for j = 1, n do
      local d, a, b = {}, prev[j], cur[j - 1]
      for u = 0, i * j do
        d[u] = (a[u - j] or 0) + (b[u] or 0)
      end
      cur[j] = d
    end
    prev = cur
  end
  local counts, total = prev[n], 0
  for u = 0, m * n do total = total + (counts[u] or 0) end
  local tail, acc = {}, 0
  for u = m * n, 0, -1 do
    acc = acc + (counts[u] or 0)
    tail[u] = acc / total
  end
  cache[key] = tail
  return tail
end

-- mann_whitney(x, y) -> p (one-sided: x tends to be larger than y), U, method.
function M.mann_whitney(x, y)
  local m, n = #x, #y
  if m == 0 or n == 0 then return nil end
  -- ranks of the pooled sample (mid-ranks for ties)
  local all = {}
  for i = 1, m do all[#all + 1] = { x[i], 1 } end
  for i = 1, n do all[#all + 1] = { y[i], 2 } end
  table.sort(all, function(a, b) return a[1] < b[1] end)
  local N, rx, ties, tie_term = m + n, 0, false, 0
  local i = 1
  while i <= N do
    local j = i
    while j < N and all[j + 1][1] == all[i][1] do j = j + 1 end
    local rank = (i + j) / 2
    if j > i then
      ties = true
      local t = j - i + 1
      tie_term = tie_term + t * t * t - t
    end
    for k = i, j do if all[k][2] == 1 then rx = rx + rank end end
    i = j + 1
  end
  local U = rx - m * (m + 1) / 2
  if not ties and m * n <= M.EXACT_MAX then
    local u = math.floor(U + 0.5)
    return exact_tail(m, n)[u], U, "exact"
  end
  local mu = m * n / 2
  local var = m * n / 12 * ((N + 1) - tie_term / (N * (N - 1)))
  if var <= 0 then return 1, U, "normal" end
  local z = (U - mu - 0.5) / math.sqrt(var)
  return M.upper_tail(z), U, "normal"
end

-- Whether larger values of a metric are better: rates (a unit ending in "/s").
function M.higher_is_better(unit)
  return tostring(unit or ""):match("/s$") ~= nil
end

-- compare(latest, ref, unit) -> nil (no change) or { dir = 1 (rose) | -1 (fell), p,
-- median, ref_median, ratio }. latest and ref are lists of samples (ref_sorted: ref is sorted).
function M.compare(latest, ref, unit, ref_sorted)
  if #latest == 0 or #ref == 0 then return nil end
  local ml = M.median(latest)
  local mr
  if ref_sorted then
    local n = #ref
    mr = n % 2 == 1 and ref[(n + 1) // 2] or (ref[n // 2] + ref[n // 2 + 1]) / 2
  else
    mr = M.median(ref)
  end
  local floor = M.TIME_FLOOR[unit or ""] or 0
  local diff = ml - mr
  local scale = math.max(math.abs(mr), 1e-12)
  if math.abs(diff) < floor or math.abs(diff) / scale < M.MIN_EFFECT then return nil end
  local dir = diff > 0 and 1 or -1
  local p
  if dir > 0 then p = M.mann_whitney(latest, ref) else p = M.mann_whitney(ref, latest) end
  if not p or p >= M.ALPHA then return nil end
  return { dir = dir, p = p, median = ml, ref_median = mr, ratio = mr ~= 0 and ml / mr or nil }
end

-- flags(series, unit) -> flags, change
-- series[i] = list of samples of night i (nil or {} when none). Each night with at least
-- MIN_REF_NIGHTS earlier nights of reference is tested against the last WINDOW earlier
-- nights that were not flagged themselves (a night flagged up or down is kept out of the
-- reference, so a lasting change stays flagged night after night). flags[i] = 1, -1 or
-- 0; change = the latest night's result { dir, p, ..., since = the first night of the
-- run of equally flagged nights ending at the latest, ref = {first, last} night } or nil.
function M.flags(series, unit, last)
  last = last or #series
  local flags, results, clean = {}, {}, {}
  -- the reference's samples kept sorted as nights enter and leave the window
  local ref, in_window = {}, 0
  local function lower(v) -- the first index whose value is >= v
    local lo, hi = 1, #ref + 1
    while lo < hi do
      local mid = (lo + hi) // 2
      if ref[mid] < v then lo = mid + 1 else hi = mid end
    end
    return lo
  end
  local function insert(v) table.insert(ref, lower(v), v) end
  local function remove(v)
    local k = lower(v)
    if ref[k] == v then table.remove(ref, k) end
  end
  for i = 1, last do
    local s = series[i]
    flags[i] = 0
    if s and #s > 0 then
      if #clean >= M.MIN_REF_NIGHTS then
        local r = M.compare(s, ref, unit, true)
        if r then
          r.ref = { clean[math.max(1, #clean - M.WINDOW + 1)], clean[#clean] }
          flags[i], results[i] = r.dir, r
        end
      end
      if flags[i] == 0 then
        clean[#clean + 1] = i
        for _, v in ipairs(s) do insert(v) end
        in_window = in_window + 1
        if in_window > M.WINDOW then
          for _, v in ipairs(series[clean[#clean - M.WINDOW]]) do remove(v) end
          in_window = in_window - 1
        end
      end
    end
  end
  local latest
  for i = last, 1, -1 do
    if series[i] and #series[i] > 0 then latest = i break end
  end
  if not latest or flags[latest] == 0 then return flags, nil end
  local change = results[latest]
  local since = latest
  for i = latest - 1, 1, -1 do
    if series[i] and #series[i] > 0 then
      if flags[i] ~= flags[latest] then break end
      since = i
    end
  end
  change.since, change.night = since, latest
  return flags, change
end

return M
