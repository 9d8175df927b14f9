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

-- The README says every command takes --help; the dispatcher gives it wherever it is
-- among natrig's own words (image ls --help once ran ls).
local out = {}
local real = io.stdout
local sink = setmetatable({ write = function(self, ...) for _, v in ipairs({ ... }) do out[#out + 1] = v end
  return self end, flush = function() end }, {})
io.stdout = sink -- luacheck: ignore 122
local rc = cli.main("image", "ls", "--help")
local rc2 = cli.main("lua", "x.lua", "--help")
io.stdout = real -- luacheck: ignore 122
t.is(rc, 0, "natrig image ls --help exits 0")
t.like(table.concat(out), "usage: natrig image", "natrig image ls --help prints image's help")
t.ok(rc2 ~= 0, "natrig lua FILE --help hands --help to the script (a missing script: an error)")

t.done()
