-- The README's command table against the commands' own declarations (issue 28): every
-- command natrig.cli lists has a row whose first cell is exactly `natrig NAME ARGS` (its
-- usage line), in the same order and no other rows; every option a command's --help lists
-- under "options:" is in its usage line, and every option of the usage line is explained
-- there. Pure: no engine.
local t = require "tap"
require "natrig"
local cli = require "natrig.cli"

local f = assert(io.open("README.md"))
local readme = f:read("a")
f:close()

-- The table under "## Command line": first cells, `\|` unescaped, backticks dropped.
local section = readme:match("\n## Command line\n(.-)\n## ")
t.ok(section ~= nil, "README has a Command line section")
local rows = {}
for line in (section or ""):gmatch("[^\n]+") do
  local cell = line:match("^| `(natrig[^`]*)` |")
  if cell then rows[#rows + 1] = (cell:gsub("\\|", "|")) end
end

local want = {}
for _, name in ipairs(cli.COMMANDS) do
  local c = cli.command(name)
  want[#want + 1] = c.args ~= "" and ("natrig %s %s"):format(c.name, c.args) or ("natrig " .. c.name)
end
t.is(#rows, #want, "one README row per command (" .. #want .. ")")
for i, w in ipairs(want) do
  t.is(rows[i], w, ("README row %d is the usage line of `natrig %s`"):format(i, cli.COMMANDS[i]))
end

-- Options: the words that start with - in the usage line; in the help, each line of the
-- options: section names one option (or aliases: -f, --follow; or a group on one line).
local function usage_opts(args)
  local s = {}
  for o in args:gmatch("%f[%w-]%-%-?%a[%w-]*") do s[o] = true end
  return s
end
for _, name in ipairs(cli.COMMANDS) do
  local c = cli.command(name)
  local uses = usage_opts(c.args)
  local opts_text = (c.help or ""):match("\noptions:\n(.-)\n\n") or (c.help or ""):match("^options:\n(.-)\n\n")
  local listed = {}
  for line in (opts_text or ""):gmatch("[^\n]+") do
    local head = line:match("^  (%-.-)%s%s") or line:match("^  (%-%S.*)$")
    if head then
      local names, any = {}, false
      for o in head:gmatch("%f[%w-]%-%-?%a[%w-]*") do names[#names + 1] = o; listed[o] = true end
      for _, o in ipairs(names) do if uses[o] then any = true end end
      t.ok(any, ("natrig %s: --help's option %s is in its usage line"):format(name, table.concat(names, ", ")))
    end
  end
  for o in pairs(uses) do
    t.ok(listed[o], ("natrig %s: usage option %s is explained under options: in --help"):format(name, o))
  end
end

-- Every `natrig ...` the README shows (code spans and fenced blocks) names a command there is
-- and only options of its usage line (up to `--`: what follows is the command's own argv).
local function check_use(text, where)
  local words = {}
  for w in text:gmatch("%S+") do words[#words + 1] = w end
  local name = words[1]
  if name == "help" then -- natrig help COMMAND
    t.ok(not words[2] or words[2] == "COMMAND" or cli.command(words[2]), where .. ": natrig help names a command")
    return
  end
  local c = name and cli.command(name)
  if not t.ok(c ~= nil, ("%s: `natrig %s` is a command"):format(where, tostring(name))) then return end
  local uses = usage_opts(c.args)
  local stop = c.opaque_from and c.opaque_from(table.move(words, 2, #words, 1, {})) or math.huge
  for i = 2, math.min(#words, stop) do
    local w = words[i]
    if w == "--" then break end
    local flags = {}
    if w:match("^%-%a%a+$") then for ch in w:sub(2):gmatch(".") do flags[#flags + 1] = "-" .. ch end
    elseif w:match("^%-") then flags[1] = w:match("^(%-%-?[%w-]+)") end
    for _, o in ipairs(flags) do
      t.ok(uses[o], ("%s: `natrig %s` takes %s"):format(where, name, o))
    end
  end
end
local uses_seen = 0
for span in readme:gmatch("`natrig ([^`]+)`") do
  if not span:match("^%S+ %S+.*|") then check_use(span, "README `natrig " .. span .. "`"); uses_seen = uses_seen + 1 end
end
for block in readme:gmatch("\n```[%w]*\n(.-)\n```") do
  for line in block:gmatch("[^\n]+") do
    line = line:gsub("%s+#.*$", "")
    local rest = line:match("^[%w_]+=%S* natrig (.*)$") or line:match("^natrig (.*)$")
      or line:match("run: build/natrig (.*)$")
    if rest then check_use(rest, "README: " .. line); uses_seen = uses_seen + 1 end
  end
end
t.ok(uses_seen >= 10, ("the README's natrig commands were found (%d)"):format(uses_seen))

-- The README says every command takes --help; the dispatcher gives it wherever it is
-- among natrig's own words (image ls --help once ran ls).
local out = {}
local real = io.stdout
local sink = setmetatable({ write = function(self, ...) for _, v in ipairs({ ... }) do out[#out + 1] = v end
  return self end, flush = function() end }, {})
io.stdout = sink -- luacheck: ignore 122
local rc = cli.main("image", "ls", "--help")
local rc2 = cli.main("lua", "x.lua", "--help")
local before = #out
local rc3 = cli.main("help", "exec")
io.stdout = real -- luacheck: ignore 122
t.is(rc, 0, "natrig image ls --help exits 0")
t.like(table.concat(out), "usage: natrig image", "natrig image ls --help prints image's help")
t.ok(rc2 ~= 0, "natrig lua FILE --help hands --help to the script (a missing script: an error)")
t.is(rc3, 0, "natrig help exec exits 0")
t.like(table.concat(out, "", before + 1), "^usage: natrig exec ", "natrig help exec is natrig exec --help")

t.done()
