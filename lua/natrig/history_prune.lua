-- natrig.history_prune: which nights of a history to drop, and which nights' copies of
-- failing runs' artifacts (pure: a list of nights with their sizes in, a plan out).
--
--   plan(nights, { keep_nights = N, keep_bytes = B }) -> { drop = {ids}, drop_runs = {ids},
--        keep = {ids}, bytes = after, over = true when the newest night alone is over B }
--   nights: oldest first, { id, bytes = the whole night, run_bytes = its artifacts copies }
--
-- --keep-nights N keeps the newest N nights. --keep-bytes B then, while the kept nights
-- weigh more than B: first the older nights' artifacts copies go, oldest first (the
-- night's JSON and report stay: the grid still shows its verdicts and metrics), then
-- whole nights, oldest first, then the newest night's copies. The newest night is never
-- dropped. The trend page is written for the kept
-- nights before anything is removed, so it never links a removed file.
local M = {}

function M.plan(nights, opts)
  opts = opts or {}
  local keep, drop, drop_runs = {}, {}, {}
  local n = #nights
  local first = 1
  if opts.keep_nights and opts.keep_nights >= 1 and n > opts.keep_nights then first = n - opts.keep_nights + 1 end
  for i = 1, first - 1 do drop[#drop + 1] = nights[i].id end
  local total = 0
  for i = first, n do total = total + (nights[i].bytes or 0) end
  local B = opts.keep_bytes
  local runs_gone = {}
  if B then
    local function drop_runs_of(i)
      local rb = nights[i].run_bytes or 0
      if rb > 0 and not runs_gone[i] then
        drop_runs[#drop_runs + 1] = nights[i].id
        runs_gone[i] = true
        total = total - rb
      end
    end
    -- 1. the older nights' copies of failing runs, oldest first
    for i = first, n - 1 do
      if total <= B then break end
      drop_runs_of(i)
    end
    -- 2. whole nights, oldest first, never the newest
    while total > B and first < n do
      local night = nights[first]
      drop[#drop + 1] = night.id
      total = total - (night.bytes or 0) + (runs_gone[first] and (night.run_bytes or 0) or 0)
      if runs_gone[first] then
        for k = #drop_runs, 1, -1 do if drop_runs[k] == night.id then table.remove(drop_runs, k) end end
      end
      first = first + 1
    end
    -- 3. last, the newest night's copies
    if total > B then drop_runs_of(n) end
  end
  for i = first, n do keep[#keep + 1] = nights[i].id end
  return { drop = drop, drop_runs = drop_runs, keep = keep, bytes = total, over = B and total > B or nil }
end

-- "500M", "2G", "10k", "123" (bytes) -> bytes, or nil, message.
function M.parse_bytes(s)
  local num, unit = tostring(s):match("^(%d+%.?%d*)%s*([kKmMgGtT]?)[iI]?[bB]?$")
  local v = tonumber(num)
  if not v or v <= 0 then
    return nil, ("--keep-bytes wants a size like 500M, 2G or 100000 (bytes), got '%s'"):format(tostring(s))
  end
  local mult = ({ [""] = 1, k = 1024, m = 1024 ^ 2, g = 1024 ^ 3, t = 1024 ^ 4 })[unit:lower()]
  return math.floor(v * mult)
end

return M
