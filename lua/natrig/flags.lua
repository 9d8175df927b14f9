--- natrig.flags: one declaration of a command's options, read three ways: to parse the
-- command line, to write the usage line, and to write the "options:" part of --help (as
-- tmux's command table does). A new option is one entry in its command's `flags` list.
--
--   flags = {
--     { "-f", "--follow", help = "keep printing new lines" },          -- o.follow = true
--     { "--since", arg = "T", help = "only lines from T on" },          -- o.since = "T"
--     { "-j", "--jobs", arg = "N", kind = "int", min = 1, glued = true, -- -j 4, -j4
--       help = "N cases at once" },
--     { "--set", arg = "k=v", kind = "kv", help = "fix a parameter" },  -- o.set[k] = v
--     { "--env", arg = "K=V", many = true, help = "..." },              -- o.env = { ... }
--   }
--
-- kind: "string" (the default with arg), "int" (min), "percent" ("25" or "25%": 0.25),
-- "kv"; check = function(v) -> value | nil, message for anything else. key: the field of
-- the result (default: the long name without dashes, '-' as '_'). A run of single-letter
-- switches may be glued ("-it"). Options and operands mix; "--" ends the options, and so
-- does the `opaque`-th operand (a command's own argv follows it).
-- @module natrig.flags
local M = {}

local function key_of(f)
  if f.key then return f.key end
  local long
  for _, n in ipairs(f) do if n:match("^%-%-") then long = n end end
  return ((long or f[1]):gsub("^%-+", ""):gsub("%-", "_"))
end

local function names_of(f)
  return table.concat(f, ", ")
end

local function convert(f, name, v)
  if f.check then return f.check(v, name) end
  local kind = f.kind or "string"
  if kind == "int" then
    local n = tonumber(v)
    local min = f.min or 0
    if not n or n ~= math.floor(n) or n < min then
      return nil, ("%s wants a whole number >= %d, got '%s'"):format(name, min, v)
    end
    return math.floor(n)
  elseif kind == "percent" then
    local p = tonumber((v:gsub("%%$", "")))
    if not p or p <= 0 then return nil, ("%s wants a percentage > 0, got '%s'"):format(name, v) end
    return p / 100
  elseif kind == "kv" then
    local k, val = v:match("^([%w_]+)=(.*)$")
    if not k then return nil, ("%s wants key=value, got '%s'"):format(name, v) end
    return { k, val }
  end
  return v
end

local function find(spec, word)
  for _, f in ipairs(spec) do
    for _, n in ipairs(f) do if n == word then return f end end
  end
end

local function store(o, f, v)
  local k = key_of(f)
  if (f.kind or "") == "kv" then
    o[k] = o[k] or {}
    o[k][v[1]] = v[2]
  elseif f.many then
    o[k] = o[k] or {}
    o[k][#o[k] + 1] = v
  else
    o[k] = v
  end
end

--- Parse argv by spec. Returns opts, operands; or nil, message (a usage error).
-- @tparam table spec the command's flags
-- @tparam {string,...} argv
-- @tparam[opt] integer opaque after this many operands, every word is an operand
-- @treturn ?table options by key (kv kinds a table, many a list)
-- @treturn {string,...}|string operands, or the message
function M.parse(spec, argv, opaque)
  local o, operands, i = {}, {}, 1
  for _, f in ipairs(spec) do if (f.kind or "") == "kv" then o[key_of(f)] = {} end end
  local function rest(from)
    for j = from, #argv do operands[#operands + 1] = argv[j] end
  end
  while i <= #argv do
    local a = argv[i]
    if opaque and #operands >= opaque then rest(i) break end
    if a == "--" then rest(i + 1) break end
    if a:sub(1, 1) ~= "-" or a == "-" then
      operands[#operands + 1] = a
      i = i + 1
    else
      local word, inline = a:match("^(%-%-[^=]+)=(.*)$")
      word = word or a
      local f = find(spec, word)
      local glued
      if not f and not word:match("^%-%-") and #word > 2 then
        -- -j4 (a glued value), or -it (glued switches)
        local g = find(spec, word:sub(1, 2))
        if g and g.arg and g.glued then f, inline = g, word:sub(3)
        else
          glued = {}
          for c in word:sub(2):gmatch(".") do
            local s = find(spec, "-" .. c)
            if not s or s.arg then glued = nil break end
            glued[#glued + 1] = s
          end
        end
      end
      if glued then
        for _, s in ipairs(glued) do store(o, s, true) end
        i = i + 1
      elseif not f then
        local known = {}
        for _, s in ipairs(spec) do if not s.hidden then known[#known + 1] = s[#s] end end
        return nil, ("unknown option '%s'%s"):format(a,
          #known > 0 and (" (options: " .. table.concat(known, ", ") .. ")") or " (this command takes none)")
      elseif f.arg then
        local v = inline
        if v == nil then
          v = argv[i + 1]
          if v == nil then return nil, ("%s wants a value (%s)"):format(word, f.arg) end
          i = i + 2
        else
          i = i + 1
        end
        local cv, err = convert(f, word, v)
        if cv == nil then return nil, err end
        store(o, f, cv)
      else
        if inline ~= nil then return nil, ("%s takes no value"):format(word) end
        store(o, f, true)
        i = i + 1
      end
    end
  end
  return o, operands
end

--- The options part of a usage line: "[-f] [--since T] ...".
-- @tparam table spec
-- @treturn string
function M.usage(spec)
  local l = {}
  for _, f in ipairs(spec) do
    if not f.hidden then l[#l + 1] = "[" .. f[1] .. (f.arg and (" " .. f.arg) or "") .. "]" end
  end
  return table.concat(l, " ")
end

--- The "options:" section of --help, from the same declaration ("" without options).
-- @tparam table spec
-- @treturn string
function M.help(spec)
  local rows = {}
  for _, f in ipairs(spec) do
    if not f.hidden then
      local names = {}
      for _, n in ipairs(f) do names[#names + 1] = n .. (f.arg and (" " .. f.arg) or "") end
      rows[#rows + 1] = { table.concat(names, ", "), f.help or "" }
    end
  end
  if #rows == 0 then return "" end
  local out = { "options:" }
  for _, r in ipairs(rows) do
    local head = "  " .. r[1]
    local pad = #head < 25 and (" "):rep(25 - #head) or "\n" .. (" "):rep(25)
    local text, line, lines = r[2], "", {}
    for w in text:gmatch("%S+") do
      if #line + #w + 1 > 62 and line ~= "" then lines[#lines + 1] = line; line = w
      else line = line == "" and w or (line .. " " .. w) end
    end
    lines[#lines + 1] = line
    out[#out + 1] = head .. pad .. table.concat(lines, "\n" .. (" "):rep(25))
  end
  return table.concat(out, "\n") .. "\n"
end

M.key_of, M.names_of = key_of, names_of
return M
