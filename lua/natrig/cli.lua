--- natrig.cli: the command line. Each command is a module of its own, natrig.cmd.<name>,
-- holding its usage, its --help text and its code; this module lists them, parses the
-- first words and dispatches (src/main.c only starts Lua and calls main). Every command
-- returns the process exit code: 0 success, 1 scenario failure, 2 usage/setup error,
-- 128+N after signal N.
-- @module natrig.cli
local M = {}

--- The commands, in the order `natrig --help` lists them.
M.COMMANDS = { "run", "repl", "exec", "logs", "sweep", "report", "doctor", "ls", "clean", "image", "version",
  "lua" }

-- What the commands share (say, warn, open_engine, ENV_NETWORK...) is natrig.cmdkit: the
-- commands require it, not this module, so nothing requires back up to the dispatcher.
local kit = require "natrig.cmdkit"
for k, v in pairs(kit) do M[k] = v end

-- A command that declares `flags` (natrig.flags) gets its usage line and the options part
-- of its --help from them: `args` = the flags' usage and `operands`; `help` = `about`, the
-- options, then `more` (environment, examples).
local function finish(c)
  if c.flags and not c.args then
    local flags = require "natrig.flags"
    local u = flags.usage(c.flags)
    local ops = c.operands or ""
    c.args = (u == "" or ops == "") and (u .. ops) or c.flags_last and (ops .. " " .. u) or (u .. " " .. ops)
    c.help = (c.about or "") .. (c.about and "\n" or "") .. flags.help(c.flags) .. (c.more and ("\n" .. c.more) or "")
  end
  return c
end

local function command(name)
  for _, n in ipairs(M.COMMANDS) do
    if n == name then return finish(require("natrig.cmd." .. name)) end
  end
end
M.command = command

--- `natrig --help`: one line per command.
function M.usage(f)
  f:write("usage: natrig COMMAND [ARGS]\n\ncommands:\n")
  for _, n in ipairs(M.COMMANDS) do
    local c = command(n)
    if c.args == "" then f:write(("  %-8s %s\n"):format(c.name, c.summary))
    else f:write(("  %-8s %s\n           %s\n"):format(c.name, c.args, c.summary)) end
  end
  f:write("\n`natrig COMMAND --help` (or `natrig help COMMAND`) for one command; man natrig; README.md\n")
end

--- `natrig COMMAND --help`: the usage line, the summary, then the command's help text.
function M.help(c, f)
  f:write(("usage: natrig %s %s\n  %s\n"):format(c.name, c.args, c.summary))
  if c.help then f:write("\n", c.help) end
end

--- natrig's main: argv without the program name. Returns the exit code.
function M.main(...)
  local argv = { ... }
  local name = argv[1]
  -- `natrig help COMMAND` is `natrig COMMAND --help`.
  if name == "help" and argv[2] and command(argv[2]) then M.help(command(argv[2]), io.stdout) return 0 end
  if not name or name == "--help" or name == "-h" or name == "help" then
    M.usage(name and io.stdout or io.stderr)
    return name and 0 or 2
  end
  if name == "--version" then name = "version" end
  local c = command(name)
  if not c then
    io.stderr:write(("natrig: unknown command '%s'\n\n"):format(name))
    M.usage(io.stderr)
    return 2
  end
  -- --help (or -h) anywhere among natrig's own words: before `--`, and before the words a
  -- command hands on untouched (a script's arguments, the argv of natrig exec).
  local stop = c.opaque_from and c.opaque_from({ table.unpack(argv, 2) }) or math.huge
  for i = 2, math.min(#argv, stop) do
    if argv[i] == "--" then break end
    if argv[i] == "--help" or argv[i] == "-h" then M.help(c, io.stdout) return 0 end
  end
  if c.flags then
    -- parsed by the command's own declaration; run(opts, operands...)
    local o, ops = require("natrig.flags").parse(c.flags, { table.unpack(argv, 2) }, c.opaque)
    if not o then
      io.stderr:write(("natrig %s: %s\nusage: natrig %s %s\n"):format(c.name, ops, c.name, c.args))
      return 2
    end
    if #ops < c.min_args or (c.max_args >= 0 and #ops > c.max_args) then
      io.stderr:write(("usage: natrig %s %s\n"):format(c.name, c.args))
      return 2
    end
    return c.run(o, table.unpack(ops)) or 0
  end
  local n = #argv - 1
  if n < c.min_args or (c.max_args >= 0 and n > c.max_args) then
    io.stderr:write(("usage: natrig %s %s\n"):format(c.name, c.args))
    return 2
  end
  return c.run(table.unpack(argv, 2)) or 0
end

-- The REPL's hooks, kept under the names src/cli/cmd_repl.c calls.
function M.repl_init(...) return require("natrig.cmd.repl").init(...) end
function M.repl_after() return require("natrig.cmd.repl").after() end
function M.repl_exit() return require("natrig.cmd.repl").exit() end

return M
