--- The REPL's Lua half: Tab completion, how results print, help, the history file.
--
-- `natrig repl` (src/cli/cmd_repl.c) reads lines with libedit and calls in here:
-- `tab(line)` on Tab, `show(...)` with a chunk's results, `history_file()` once.
-- The completion itself, `complete(line, env, opts)`, is pure (no engine, no terminal)
-- and unit-tested in tests/lua/repl_test.lua.
--
-- What Tab completes, from the text before the cursor:
--
-- * a global name (`nat` -> `natrig`), Lua keywords included;
-- * a field after `.` and a method after `:` on a live value (`net:pe` -> `net:peer`),
--   walking the value's table and its metatable's `__index` chain (tables only: no
--   `__index` function is called);
-- * inside a string, in the obvious calls: node names (`net:get("`, `net:node("`,
--   `net:remove("`), NAT presets (`nat = "`, `:set_nat("`) and impairment presets
--   (`:impair("`, `preset = "`).
-- @module natrig.repl
local M = {}

local KEYWORDS = { "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
  "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true",
  "until", "while" }

-- Which calls take which kind of name in a string argument: patterns matched against the
-- text before the opening quote.
local STRING_CONTEXTS = {
  { kind = "node", pats = { ":get%s*%(%s*$", ":get%s*$", ":node%s*%(%s*$", ":node%s*$",
    ":remove%s*%(%s*$", ":remove%s*$", "by_name%s*%[%s*$" } },
  { kind = "nat", pats = { "[%W]nat%s*=%s*$", "^nat%s*=%s*$", ":set_nat%s*%(%s*$", ":set_nat%s*$",
    "nat%.resolve%s*%(%s*$" } },
  { kind = "impair", pats = { ":impair%s*%(%s*$", ":impair%s*$", "preset%s*=%s*$",
    ":impair_link%s*%(.-,.-,%s*$", ":impair%s*%(.-,%s*$" } },
}

local function is_ident(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
end

-- Where v's names come from past its own table: its metatable's __index while a table; a
-- natrig class whose __index is a function (view fields, natrig.Node) is its metatable.
local function index_of(v)
  local mt = getmetatable(v)
  local idx = type(mt) == "table" and rawget(mt, "__index")
  if type(idx) == "function" then return (require("natrig.help").class_of(v)) end
  return type(idx) == "table" and idx or nil
end

-- v[k] without calling any function but natrig's own view readers: the raw field, a view
-- field, else along the metatable's __index chain while it is a table (strings reach the
-- string library this way).
local function lookup(v, k, depth)
  depth = depth or 0
  if depth > 16 then return nil end
  if type(v) == "table" and rawget(v, k) ~= nil then return rawget(v, k) end
  local view = depth == 0 and require("natrig.help").view_values(v)[k]
  if view ~= nil and view ~= false then return view end
  local idx = index_of(v)
  if idx then return lookup(idx, k, depth + 1) end
end
M.lookup = lookup

-- Names reachable from v (fields, view fields with a value, its __index chain) into `out`.
local function collect(v, methods_only, out, seen)
  if seen[v] then return end
  if type(v) == "table" then
    seen[v] = true
    for k, x in next, v do
      if is_ident(k) and not k:match("^__") and (not methods_only or type(x) == "function") then
        out[k] = true
      end
    end
  end
  if not methods_only then
    for k in pairs(require("natrig.help").view_values(v)) do out[k] = true end
  end
  local idx = index_of(v)
  if idx then collect(idx, methods_only, out, seen) end
end

--- Names a value offers: fields (and methods) with `.`, methods only with `:`.
-- @tparam table|userdata|string v
-- @tparam boolean methods_only only names whose value is a function
-- @treturn {string,...} sorted
function M.members(v, methods_only)
  local set = {}
  collect(v, methods_only, set, {})
  -- natrig's internal names (state of its modules, @local or undocumented functions) stay
  -- out of Tab and help: see natrig.help
  local public = require("natrig.help").public_fields(v)
  local l = {}
  for k in pairs(set) do
    local x = lookup(v, k)
    if type(x) == "function" and require("natrig.help").is_public(x)
      or type(x) ~= "function" and (not public or public[k] or rawget(v, k) == nil) then
      l[#l + 1] = k
    end
  end
  table.sort(l)
  return l
end

local function filter(names, prefix, suffix)
  local out, seen = {}, {}
  for _, n in ipairs(names) do
    if n:sub(1, #prefix) == prefix and not seen[n] then
      seen[n] = true
      out[#out + 1] = n .. (suffix or "")
    end
  end
  table.sort(out)
  return out
end

-- The opening quote of a string still open at the end of line, or nil.
local function open_string(line)
  local i, q, start = 1, nil, nil
  while i <= #line do
    local c = line:sub(i, i)
    if q then
      if c == "\\" then i = i + 1
      elseif c == q then q = nil end
    elseif c == '"' or c == "'" then
      q, start = c, i
    elseif c == "-" and line:sub(i, i + 1) == "--" then
      return nil, nil, true -- a comment
    end
    i = i + 1
  end
  if q then return start, q end
end

local function node_names(env, opts)
  if opts.node_names then return opts.node_names end
  local net = rawget(env, "net")
  -- the REPL's `net` is not a raw global but made on first use (opts.lazy)
  if net == nil and opts.lazy then
    local ok, x = pcall(opts.lazy, "net")
    net = ok and x or nil
  end
  local names = {}
  local by = type(net) == "table" and lookup(net, "by_name")
  if type(by) == "table" then
    for k in next, by do if type(k) == "string" then names[#names + 1] = k end end
  end
  return names
end

local function nat_presets(opts)
  if opts.nat_presets then return opts.nat_presets end
  local ok, l = pcall(function() return require("natrig.nat").presets() end)
  return ok and l or {}
end

local function impair_presets(opts)
  if opts.impair_presets then return opts.impair_presets end
  local ok, l = pcall(function() return require("natrig.core").impair_presets() end)
  return ok and l or {}
end

--- Complete the text before the cursor.
-- @tparam string line the text before the cursor
-- @tparam table env where global names live (the REPL passes `_G`)
-- @tparam[opt] table opts `lazy` (function(name) -> value, for globals made on first use
--   such as `net`), `lazy_names` (their names), and, to replace what natrig knows,
--   `node_names`, `nat_presets`, `impair_presets` (lists of strings)
-- @treturn {string,...} candidates, each a whole replacement of the word being completed
-- @treturn string the word being completed (a suffix of line)
function M.complete(line, env, opts)
  opts = opts or {}
  env = env or _G
  local qpos, quote, comment = open_string(line)
  if comment then return {}, "" end
  if qpos then
    local partial = line:sub(qpos + 1)
    local before = line:sub(1, qpos - 1)
    for _, ctx in ipairs(STRING_CONTEXTS) do
      for _, p in ipairs(ctx.pats) do
        if before:find(p) then
          local names = ctx.kind == "node" and node_names(env, opts)
            or ctx.kind == "nat" and nat_presets(opts) or impair_presets(opts)
          local c = filter(names, partial)
          if #c == 1 then c[1] = c[1] .. quote end
          return c, partial
        end
      end
    end
    return {}, partial
  end
  local s = line:find("[%a_][%w_%.:]*$")
  if not s then return {}, "" end
  local word = line:sub(s)
  local prev = s > 1 and line:sub(s - 1, s - 1) or ""
  if prev:match("[%w_%.:%)%]\"'}]") then return {}, word end
  -- word = seg(.seg)*([.:]partial)?
  local head, sep, partial = word:match("^(.*)([%.:])([%w_]*)$")
  if not head then
    local names = {}
    for _, k in ipairs(M.members(env)) do names[#names + 1] = k end
    for _, k in ipairs(opts.lazy_names or {}) do names[#names + 1] = k end
    for _, k in ipairs(KEYWORDS) do names[#names + 1] = k end
    return filter(names, word), word
  end
  if head:find(":", 1, true) then return {}, partial end
  local v
  for seg in (head .. "."):gmatch("([^.]*)%.") do
    if seg == "" then return {}, partial end
    if v == nil then
      v = lookup(env, seg)
      if v == nil and opts.lazy then
        local ok, x = pcall(opts.lazy, seg)
        v = ok and x or nil
      end
    else
      v = lookup(v, seg)
    end
    if v == nil then return {}, partial end
  end
  if type(v) ~= "table" and type(v) ~= "userdata" and type(v) ~= "string" then return {}, partial end
  return filter(M.members(v, sep == ":"), partial), partial
end

--- Lay names out in columns for the terminal (at most 200, the rest counted).
-- @tparam {string,...} names
-- @tparam[opt=80] integer width
-- @treturn string lines, each ending with a newline
function M.columns(names, width)
  width = width or 80
  local shown = math.min(#names, 200)
  local w = 0
  for i = 1, shown do w = math.max(w, #names[i]) end
  w = w + 2
  local per = math.max(1, width // w)
  local rows = math.ceil(shown / per)
  local lines = {}
  for r = 1, rows do
    local cells = {}
    for c = 0, per - 1 do
      local i = c * rows + r
      if i <= shown then cells[#cells + 1] = names[i] .. (" "):rep(w - #names[i]) end
    end
    lines[#lines + 1] = table.concat(cells):gsub("%s+$", "")
  end
  if #names > shown then lines[#lines + 1] = ("... and %d more"):format(#names - shown) end
  return table.concat(lines, "\n") .. "\n"
end

local function common_prefix(l)
  local p = l[1]
  for i = 2, #l do
    local s = l[i]
    local n = 0
    while n < #p and n < #s and p:byte(n + 1) == s:byte(n + 1) do n = n + 1 end
    p = p:sub(1, n)
  end
  return p
end

--- What Tab does to the line: text to insert at the cursor, bytes to delete before it, and
-- a listing of the candidates to show (when they share nothing more).
-- @tparam string line the text before the cursor
-- @tparam[opt=_G] table env
-- @tparam[opt] table opts as for `complete`
-- @tparam[opt=80] integer width the terminal's width, for the listing
-- @treturn ?string insert
-- @treturn integer delete
-- @treturn ?string listing
function M.tab(line, env, opts, width)
  env = env or _G
  opts = opts or M.default_opts
  local cands, partial = M.complete(line, env, opts)
  if #cands == 0 then return nil, 0, nil end
  local common = common_prefix(cands)
  if #common > #partial then return common:sub(#partial + 1), 0, nil end
  if #cands == 1 then return nil, 0, nil end
  return nil, 0, M.columns(cands, width)
end

--- Options `tab` uses in the REPL (set by natrig.cli.repl_init: the lazy `net`).
M.default_opts = {}

--- Lines of a result the REPL prints before it cuts the rest (`more()` shows it all).
M.max_lines = 40

-- The results last shown, for more() without an argument.
local last = { n = 0 }

-- The text of values, tab-separated as print() does, and whether any was cut.
local function text_of(vals, full)
  local pretty = require "natrig.pretty"
  local parts, cut = {}, false
  for i = 1, vals.n do
    local s, c = pretty.format(vals[i], { full = full })
    parts[i], cut = s, cut or c
  end
  return table.concat(parts, "\t"), cut
end

--- Print a chunk's results with the pretty-printer (natrig.pretty): long lists are cut
-- with a count, and a text over `max_lines` lines shows its first lines and how many
-- more there are; either way a last line says `more()` shows it all.
-- @tparam any ... the results
function M.show(...)
  last = table.pack(...)
  local text, cut = text_of(last, false)
  local n, stop = 0, nil
  for pos in text:gmatch("()\n") do
    n = n + 1
    if n == M.max_lines then stop = pos end
  end
  if stop and n >= M.max_lines then
    text = ("%s\n... %d more lines (%d in all)"):format(text:sub(1, stop - 1), n + 1 - M.max_lines, n + 1)
    cut = true
  end
  if cut then text = text .. "\n(cut: more() shows all of it" .. (M.pager() and ", in a pager)" or ")") end
  io.stdout:write(text, "\n")
  io.stdout:flush()
end

--- The pager `more()` uses, as an argv (`$NATRIG_PAGER`, else `$PAGER`, else `less -FRX`,
-- split at spaces: no shell), or nil when stdout is not a terminal (then `more()` prints).
-- @treturn ?{string,...}
function M.pager()
  local core = require "natrig.core"
  if not core.isatty(1) then return nil end
  local spec = os.getenv("NATRIG_PAGER") or os.getenv("PAGER")
  if not spec or spec:match("^%s*$") then spec = "less -FRX" end
  local argv = {}
  for w in spec:gmatch("%S+") do argv[#argv + 1] = w end
  if argv[1] == "cat" and #argv == 1 then return nil end
  return argv
end

--- Show values whole, nothing cut: through a pager when stdout is a terminal (see
-- `pager`), else printed. Without arguments, the results the REPL printed last.
-- @tparam any ... values (default: the last results)
-- @usage natrig> net:get("p1"):logs{}      -- 40 lines, then "... 960 more lines"
-- natrig> more()                           -- all 1000, in less
function M.more(...)
  local vals = select("#", ...) > 0 and table.pack(...) or last
  local text = text_of(vals, true) .. "\n"
  local argv = M.pager()
  if argv then
    local path = os.tmpname()
    local f = io.open(path, "w")
    if f then
      f:write(text)
      f:close()
      argv[#argv + 1] = path
      local ok, proc = pcall(require("natrig.core").spawn, argv)
      if ok then
        proc:wait()
        os.remove(path)
        return
      end
      os.remove(path)
      io.stderr:write("pager ", argv[1], " did not start (", tostring(proc), "); printing instead\n")
    end
  end
  io.stdout:write(text)
  io.stdout:flush()
end

--- Where the REPL keeps its history: `$NATRIG_HISTORY` (empty: none), else
-- `$XDG_STATE_HOME/natrig/history` (default `~/.local/state/natrig/history`). The
-- directory is made when missing.
-- @treturn ?string the path, or nil for no history file
function M.history_file()
  local p = os.getenv("NATRIG_HISTORY")
  if p then return p ~= "" and p or nil end
  local base = os.getenv("XDG_STATE_HOME")
  if not base or base == "" then
    local home = os.getenv("HOME")
    if not home or home == "" then return nil end
    base = home .. "/.local/state"
  end
  local dir = base .. "/natrig"
  local ok = pcall(function() require("natrig.core").mkdir_p(dir) end)
  if not ok then return nil end
  return dir .. "/history"
end

-- Help: natrig.help reads the doc comments `make doc` reads (public names only).
local help = require "natrig.help"
M.signature, M.doc_comment = help.signature, help.doc_comment

--- Lines describing the public methods of a live object (or the functions of a module
-- table), one a method: `:name(params)  description`.
-- @tparam table obj a node, a router, `net`, a module table, ...
-- @treturn {string,...}
function M.describe(obj)
  local idx = index_of(obj)
  local names, sep
  if idx then names, sep = M.members(idx, true), ":" else names, sep = M.members(obj, true), "." end
  local rows, w, lines = {}, 0, {}
  for _, n in ipairs(names) do
    local fn = lookup(obj, n)
    local head = sep .. n .. (sep == ":" and M.signature(fn):gsub("^%(self,? ?", "(") or M.signature(fn))
    rows[#rows + 1] = { head, M.doc_comment(fn) or "" }
    w = math.max(w, #head)
  end
  for _, r in ipairs(rows) do
    lines[#lines + 1] = ("  %-" .. w .. "s  %s"):format(r[1], r[2]):gsub("%s+$", "")
  end
  return lines
end

local GENERAL = [[natrig REPL: Lua 5.4 with natrig loaded
  net                 a live network (made on first use): net:gateway{}, net:peer{nat="symmetric"}, net:up()
  net:dump()          the topology: routers, LANs, nodes, addresses, NAT, impairment
  net:peers()         nodes; node:exec{argv}, node:logs{...}, node:wait_log{...}
  net:diagnostics()   routers' NAT rules/counters, conntrack, routes
  natrig.parallel(f, g)   run functions concurrently
  expect(v):eq(x)     assertions
  help(obj)           the methods of a live object (help(net), help(net:get("g")), help(natrig))
  more(x)             x whole, in a pager (long results are cut; more() shows the last one)
  Tab completes names, methods after : and ., node names and presets in strings.
  Up/Down recall history (kept across sessions), Ctrl-R searches it.
  Ctrl-C clears the line or interrupts the running call; Ctrl-D quits and removes the network.]]

--- `help()` prints what the REPL offers; `help(obj)` the methods of obj, one line each.
-- @tparam[opt] table obj any live object or module table
function M.help(obj)
  local out = io.stdout
  if obj == nil then
    out:write(GENERAL, "\n")
  elseif type(obj) == "function" then
    out:write(M.signature(obj), "  ", M.doc_comment(obj) or "", "\n")
  elseif type(obj) == "table" or type(obj) == "userdata" then
    local mt = getmetatable(obj)
    local name = type(mt) == "table" and (rawget(mt, "__name") or (rawget(mt, "__tostring") and tostring(obj)))
    out:write(name and tostring(name) or ("a table of " .. #M.members(obj) .. " names"), "\n")
    local fields, public = {}, help.public_fields(obj)
    if type(obj) == "table" then
      for k, v in next, obj do
        if is_ident(k) and type(v) ~= "function" and (not public or public[k]) then fields[#fields + 1] = k end
      end
      for k in pairs(help.view_values(obj)) do if rawget(obj, k) == nil then fields[#fields + 1] = k end end
      table.sort(fields)
    end
    if #fields > 0 then out:write("fields: ", table.concat(fields, ", "), "\n") end
    local lines = M.describe(obj)
    if #lines > 0 then out:write("methods:\n", table.concat(lines, "\n"), "\n") end
  else
    out:write(type(obj), ": ", tostring(obj), "\n")
  end
  out:flush()
end

return M
