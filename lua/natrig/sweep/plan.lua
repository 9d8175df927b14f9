-- natrig.sweep.plan: which cases a sweep runs, in a stable order. Pure (no engine, no
-- processes): scenario definitions in, a list of cases out.
--
-- A scenario's `matrix = { nat = { "full_cone", "symmetric" }, delay = { "0ms", "150ms" } }`
-- gives one case per combination (cartesian product, keys sorted). `--set k=v` fixes a
-- parameter: when k is a matrix key the matrix is cut down to that value (never the same
-- case twice), otherwise every case of a scenario that has the parameter gets it.
-- `--filter P` keeps cases whose "scenario-name case-name" matches the Lua pattern P.
-- `--shard I/N` keeps every N-th case of the filtered list, starting at the I-th:
-- the same inputs give the same shards on every machine, and the shards are balanced.
local M = {}

-- The cases of a matrix: a list of parameter tables, in a stable order.
function M.cases(matrix)
  local keys = {}
  for k in pairs(matrix or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = { {} }
  for _, k in ipairs(keys) do
    local vals = matrix[k]
    if type(vals) ~= "table" or #vals == 0 then vals = { vals } end
    local nxt = {}
    for _, base in ipairs(out) do
      for _, v in ipairs(vals) do
        local c = {}
        for kk, vv in pairs(base) do c[kk] = vv end
        c[k] = v
        nxt[#nxt + 1] = c
      end
    end
    out = nxt
  end
  return out
end

function M.case_name(params)
  local keys = {}
  for k in pairs(params) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(params[k]) end
  return #parts > 0 and table.concat(parts, " ") or "default"
end

-- The matrix as ordered axes { {key=, values={...}} }, keys sorted, values as strings.
function M.axes(matrix)
  local keys, out = {}, {}
  for k in pairs(matrix or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local vals = matrix[k]
    if type(vals) ~= "table" or #vals == 0 then vals = { vals } end
    local vs = {}
    for i, v in ipairs(vals) do vs[i] = tostring(v) end
    out[#out + 1] = { key = k, values = vs }
  end
  return out
end

-- "I/N" -> i, n (1 <= i <= n), or nil, message.
function M.parse_shard(s)
  local i, n = tostring(s):match("^(%d+)/(%d+)$")
  i, n = tonumber(i), tonumber(n)
  if not i or n < 1 or i < 1 or i > n then
    return nil, ("--shard wants I/N with 1 <= I <= N, got '%s'"):format(tostring(s))
  end
  return i, n
end

-- The filter matches "scenario-name case-name" as plain text or as a Lua pattern.
function M.matches(c, filter)
  if not filter then return true end
  local s = c.scenario .. " " .. c.case
  if s:find(filter, 1, true) then return true end
  local ok, hit = pcall(string.find, s, filter)
  return ok and hit ~= nil
end

-- plan(defs, opts) -> cases, unused_set_keys
-- defs: loaded scenarios in order ({ name, file, params, matrix }); opts: set (k -> v
-- strings), filter (Lua pattern), shard_i, shard_n. Each case: { id, order, scenario,
-- file, case, params (strings, what the child gets), matrix (axes) }.
function M.plan(defs, opts)
  opts = opts or {}
  local set = opts.set or {}
  local used = {}
  local all = {}
  for _, def in ipairs(defs) do
    local matrix = {}
    for k, v in pairs(def.matrix or {}) do matrix[k] = v end
    local extra = {}
    for k, v in pairs(set) do
      if matrix[k] ~= nil then
        matrix[k] = { v }
        used[k] = true
      elseif def.params and def.params[k] ~= nil then
        extra[k] = v
        used[k] = true
      end
    end
    local seen = {}
    for _, c in ipairs(M.cases(matrix)) do
      local params = {}
      for k, v in pairs(c) do params[k] = tostring(v) end
      for k, v in pairs(extra) do params[k] = v end
      local cname = M.case_name(params)
      if not seen[cname] then
        seen[cname] = true
        all[#all + 1] = { scenario = def.name, file = def.file, case = cname, params = params,
          id = def.name .. " [" .. cname .. "]", axes = M.axes(matrix) }
      end
    end
  end
  local out = {}
  for _, c in ipairs(all) do
    if M.matches(c, opts.filter) then
      out[#out + 1] = c
      c.order = #out
    end
  end
  if opts.shard_n and opts.shard_n > 1 then
    local mine = {}
    for _, c in ipairs(out) do
      if (c.order - 1) % opts.shard_n == opts.shard_i - 1 then mine[#mine + 1] = c end
    end
    out = mine
  end
  local unused = {}
  for k in pairs(set) do if not used[k] then unused[#unused + 1] = k end end
  table.sort(unused)
  return out, unused
end

return M
