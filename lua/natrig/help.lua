--- natrig.help: what `help()` and Tab show, read from the same doc comments `make doc`
-- reads (LDoc), in the sources natrig was built with (embedded; the files on disk when
-- running from a checkout). One source of truth, so the REPL's help cannot drift:
--
-- * a method is public when the comment above its definition is an LDoc doc comment
--   (`---`) without `@local`; natrig's own functions without one are internal and hidden;
-- * a class's public fields are the `@tfield` (or `@field`) lines of its `@type` block (e.g. `-- @type
--   Node` in node.lua); other fields of a natrig object are its modules' internal state.
-- @module natrig.help
local M = {}

local cache = {}

-- The lines of a chunk ("@lua/natrig/x.lua"): embedded first, then on disk (relative to
-- the working directory or to the natrig binary's build tree).
local function source_lines(src)
  if cache[src] ~= nil then return cache[src] or nil end
  local ok, core = pcall(require, "natrig.core")
  local text = ok and core.embedded_source and core.embedded_source(src)
  if not text then
    local path = src:sub(2)
    local tries = { path }
    local eok, exe = pcall(function() return core.realpath("/proc/self/exe") end)
    if eok and type(exe) == "string" then tries[#tries + 1] = exe:gsub("[^/]*$", "") .. "../" .. path end
    for _, p in ipairs(tries) do
      local f = io.open(p, "r")
      if f then text = f:read("a"); f:close(); break end
    end
  end
  if not text then cache[src] = false return nil end
  local lines = {}
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  cache[src] = lines
  return lines
end

-- The comment block right above fn's definition: its lines (markers stripped), whether it
-- opens with `---`, and the chunk name; nil for C functions and unknown sources.
local function comment_block(fn)
  local info = debug.getinfo(fn, "S")
  if info.what ~= "Lua" or not info.source:match("^@") or info.linedefined < 2 then return nil end
  local lines = source_lines(info.source)
  if not lines then return nil end
  local out, i, doc = {}, info.linedefined - 1, false
  while i >= 1 and lines[i]:match("^%s*%-%-") and not lines[i]:match("^%s*%-%-%-%-%-") do
    table.insert(out, 1, (lines[i]:gsub("^%s*%-+%s?", "")))
    doc = lines[i]:match("^%s*%-%-%-") ~= nil
    i = i - 1
  end
  return out, doc, info.source
end

local function natrigs(src) return src and src:match("^@lua/natrig/") ~= nil end

--- Is fn part of natrig's public API? (natrig's own functions: an LDoc comment without
-- @local; anything else, a user's function or a C one, counts as public.)
-- @tparam function fn
-- @treturn boolean
function M.is_public(fn)
  if type(fn) ~= "function" then return true end
  local info = debug.getinfo(fn, "S")
  if not natrigs(info.source) then return true end
  local block, doc = comment_block(fn)
  if not block then return true end -- no source to judge by: show it
  if not doc then return false end
  for _, l in ipairs(block) do if l:match("@local") then return false end end
  return true
end

--- The first sentence of the comment above a Lua function's definition, or nil.
-- @tparam function fn
-- @treturn ?string
function M.doc_comment(fn)
  local block = comment_block(fn)
  if not block or #block == 0 or block[1]:match("^@") then return nil end
  local text = table.concat(block, " "):gsub("%s+@.*$", "")
  text = text:match("^(.-%.)%s") or text:match("^(.-)%.?$") or text
  if #text > 90 then text = text:sub(1, 87):gsub("%s*%S*$", "") .. " ..." end
  return text
end

--- The parameter names of a Lua function, as `(a, b, ...)`.
-- @tparam function fn
-- @treturn string
function M.signature(fn)
  local info = debug.getinfo(fn, "u")
  local names = {}
  for i = 1, info.nparams or 0 do names[#names + 1] = debug.getlocal(fn, i) end
  if info.isvararg then names[#names + 1] = "..." end
  return "(" .. table.concat(names, ", ") .. ")"
end

-- The class table of a natrig object (its metatable's __index; the metatable itself when
-- __index is a function: a class with view fields, like natrig.Node's `__views`), and its
-- short name.
local function class_of(obj)
  local mt = getmetatable(obj)
  local name = type(mt) == "table" and rawget(mt, "__name")
  local idx = type(mt) == "table" and rawget(mt, "__index")
  if type(name) == "string" and name:match("^natrig%.") then
    if type(idx) == "table" then return idx, name:match("^natrig%.(.+)$") end
    if type(idx) == "function" then return mt, name:match("^natrig%.(.+)$") end
  end
end
M.class_of = class_of

--- The view fields of a natrig object that have a value: public fields another module
-- keeps in its own sub-object (its class's `__views`; natrig's own readers, pure).
-- @local
function M.view_values(obj)
  local cls = class_of(obj)
  local views = type(cls) == "table" and rawget(cls, "__views")
  local out = {}
  for k, get in pairs(type(views) == "table" and views or {}) do out[k] = get(obj) end
  return out
end

--- The public fields of a natrig object (its class's `@field` lines), or nil for other
-- values (whose fields are all shown).
-- @param obj any value
-- @treturn ?{[string]=string} field name -> its description
function M.public_fields(obj)
  local cls, short = class_of(obj)
  if not cls then return nil end
  local fields, sources = {}, {}
  for _, fn in pairs(cls) do
    if type(fn) == "function" then
      local src = debug.getinfo(fn, "S").source
      if natrigs(src) then sources[src] = true end
    end
  end
  if next(sources) == nil then return nil end -- no methods to find its @type block by: show all
  for src in pairs(sources) do
    local inside = false
    for _, l in ipairs(source_lines(src) or {}) do
      local t = l:match("^%s*%-%-+%s*@type%s+([%w_]+)")
      if t then inside = (t == short)
      elseif inside then
        local f, d = l:match("^%s*%-%-+%s*@field%s+([%w_]+)%s*(.*)$")
        if not f then f, d = l:match("^%s*%-%-+%s*@tfield%s+%S+%s+([%w_]+)%s*(.*)$") end -- typed: @tfield TYPE name
        if f then fields[f] = d elseif not l:match("^%s*%-%-") then inside = false end
      end
    end
  end
  return fields
end

return M
