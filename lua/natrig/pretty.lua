--- Readable values: how the REPL prints results.
--
-- Tables print nested (keys sorted, short ones on one line), with cycles marked and long
-- lists cut with a count; objects with `__tostring` (nodes, routers, networks, errors)
-- print as that. Some shapes natrig returns get a form of their own:
--
-- * an exec result `{ code, stdout, stderr }` prints its exit code and both streams;
-- * a log entry (and a list of them: `node:logs{}`, `net:timeline()`) prints as its lines,
--   each prefixed with its node;
-- * diagnostics (tables of text, as `net:diagnostics()` returns) print as sections.
--
--   local pretty = require "natrig.pretty"
--   print(pretty.format({ 1, 2, { a = "x" } }))   --> { 1, 2, { a = "x" } }
--
-- Pure: no engine, no I/O.
-- @module natrig.pretty
local M = {}

--- Entries of a list shown before it is cut (the rest is counted).
M.max_items = 20
--- Nesting shown before a table prints as `{...}`.
M.max_depth = 6
--- Width under which a table stays on one line.
M.width = 96

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end

local function has_tostring(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__tostring") ~= nil
end

--- Is v an exec result (`{ code = n, stdout = s, stderr = s }`)?
-- @tparam any v
-- @treturn boolean
function M.is_exec_result(v)
  return type(v) == "table" and math.type(rawget(v, "code")) == "integer" and
    type(rawget(v, "stdout")) == "string" and type(rawget(v, "stderr")) == "string"
end

--- Is v a log entry (`{ raw = s, node = name, ... }`, from natrig.logs)?
-- @tparam any v
-- @treturn boolean
function M.is_log_entry(v)
  return type(v) == "table" and not has_tostring(v) and type(rawget(v, "raw")) == "string" and
    rawget(v, "node") ~= nil
end

local function is_entry_list(v)
  if type(v) ~= "table" or has_tostring(v) or rawlen(v) == 0 then return false end
  for k in next, v do
    if math.type(k) ~= "integer" or not M.is_log_entry(v[k]) then return false end
  end
  return true
end

-- A tree of text (tables whose leaves are all strings, one of them spanning lines):
-- diagnostics. Collects { path, text } pairs.
local function text_tree(v, path, out, depth)
  if type(v) == "string" then
    out[#out + 1] = { path = table.concat(path, " "), text = v }
    return true
  end
  if type(v) ~= "table" or has_tostring(v) or depth > 4 then return false end
  if next(v) == nil then return depth > 0 end -- an empty part (no routers) adds no section
  local keys = {}
  for k in next, v do
    if type(k) ~= "string" then return false end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  for _, k in ipairs(keys) do
    path[#path + 1] = k
    local ok = text_tree(v[k], path, out, depth + 1)
    path[#path] = nil
    if not ok then return false end
  end
  return true
end

local function sections(v)
  local out = {}
  if not text_tree(v, {}, out, 0) then return nil end
  local multi = false
  for _, s in ipairs(out) do if s.text:find("\n", 1, true) then multi = true end end
  if not multi then return nil end
  local parts = {}
  for _, s in ipairs(out) do
    local text = s.text:gsub("%s+$", "")
    parts[#parts + 1] = ("== %s\n%s"):format(s.path, text ~= "" and text or "(empty)")
  end
  return table.concat(parts, "\n")
end

local function entry_line(e)
  local node = rawget(e, "node")
  if type(node) == "table" then node = rawget(node, "name") or tostring(node) end
  return ("[%s] %s"):format(tostring(node), (e.raw:gsub("%s+$", "")))
end

local function exec_text(r)
  local function block(name, s)
    if s == "" then return name .. ": (empty)" end
    return name .. ":\n" .. s:gsub("%s+$", "")
  end
  return ("exit %d\n%s\n%s"):format(r.code, block("stdout", r.stdout), block("stderr", r.stderr))
end

local function scalar(v)
  local t = type(v)
  if t == "string" then return (("%q"):format(v):gsub("\\\n", "\\n")) end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
  if has_tostring(v) then
    local ok, s = pcall(tostring, v)
    if ok and type(s) == "string" then return s end
  end
  if t == "function" then
    local info = debug.getinfo(v, "S")
    if info.what == "Lua" then
      return ("function (%s:%d)"):format(info.short_src, info.linedefined)
    end
    return "builtin function"
  end
  return tostring(v)
end

local function key_text(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then return k end
  return "[" .. scalar(k) .. "]"
end

local function key_order(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

-- lim: { items, depth, cut }; cut is set when anything was left out.
local function render(v, indent, path, depth, lim)
  if type(v) ~= "table" or has_tostring(v) then return scalar(v) end
  if path[v] then return "<cycle: " .. tostring(v) .. ">" end
  if depth > lim.depth then lim.cut = true return "{...}" end
  if M.is_exec_result(v) then
    return "{ code = " .. v.code .. ", stdout = " .. scalar(v.stdout) .. ", stderr = " .. scalar(v.stderr) .. " }"
  end
  path[v] = true
  local items = {}
  local n = rawlen(v)
  local shown = math.min(n, lim.items)
  for i = 1, shown do items[#items + 1] = render(rawget(v, i), indent .. "  ", path, depth + 1, lim) end
  local keys = {}
  for k in next, v do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, key_order)
  local kshown = math.min(#keys, lim.items)
  for i = 1, kshown do
    local k = keys[i]
    items[#items + 1] = key_text(k) .. " = " .. render(rawget(v, k), indent .. "  ", path, depth + 1, lim)
  end
  path[v] = nil
  local more = {}
  if n > shown then more[#more + 1] = ("... %d more (%d in all)"):format(n - shown, n) end
  if #keys > kshown then more[#more + 1] = ("... %d more keys (%d in all)"):format(#keys - kshown, #keys) end
  for _, m in ipairs(more) do items[#items + 1] = m; lim.cut = true end
  if #items == 0 then return "{}" end
  local one = "{ " .. table.concat(items, ", ") .. " }"
  if #one + #indent <= M.width and not one:find("\n", 1, true) then return one end
  return "{\n" .. indent .. "  " .. table.concat(items, ",\n" .. indent .. "  ") .. "\n" .. indent .. "}"
end

--- The readable text of a value (no trailing newline).
-- A string is itself; exec results, log entries and diagnostics get their own forms.
-- Lists and key sets longer than `max_items` and nesting deeper than `max_depth` are cut,
-- with a count, unless `opts.full` (what the REPL's `more(x)` shows).
-- @tparam any v
-- @tparam[opt] {full=boolean} opts
-- @treturn string the text
-- @treturn boolean whether anything was left out
-- @usage pretty.format(net:peers())            --> { natrig.Node(peer p1 ...), ... }
function M.format(v, opts)
  if type(v) == "string" then return v end
  if M.is_exec_result(v) then return exec_text(v) end
  if M.is_log_entry(v) then return entry_line(v) end
  if is_entry_list(v) then
    local lines = {}
    local n = rawlen(v)
    for i = 1, n do lines[#lines + 1] = entry_line(v[i]) end
    return table.concat(lines, "\n")
  end
  if type(v) == "table" and not has_tostring(v) then
    local s = sections(v)
    if s then return s end
  end
  local full = opts and opts.full
  local lim = { items = full and math.huge or M.max_items, depth = full and math.huge or M.max_depth, cut = false }
  return render(v, "", {}, 1, lim), lim.cut
end

--- Print values, each in its readable form (what the REPL does with a result).
-- @tparam any ... values
function M.print(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = M.format((select(i, ...))) end
  io.stdout:write(table.concat(parts, "\t"), "\n")
  io.stdout:flush()
end

return M
