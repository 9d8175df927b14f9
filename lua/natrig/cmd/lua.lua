--- natrig lua: run a plain Lua script with natrig loaded (like lua5.4).
-- The command's usage, --help text and code live here together (natrig.cli lists the
-- commands and dispatches; src/cli only starts Lua).
-- @module natrig.cmd.lua
local cli = require "natrig.cmdkit"
local warn = cli.warn

local M = {
  name = "lua", args = "FILE [ARGS...]", summary = "run a plain Lua script with natrig loaded (like lua5.4)",
  min_args = 1, max_args = -1,
  help = [=[
Runs FILE as a plain Lua 5.4 script with natrig loaded (`arg` as in lua5.4); networks
it makes should be closed (<close>) or net:down()'d.

environment:
]=] .. cli.ENV_NETWORK .. [=[

example:
  natrig lua tests/lua/repl_test.lua
]=],
}

-- The words after FILE are the script's (its own --help included).
function M.opaque_from() return 2 end

-- natrig lua FILE [ARGS]: a plain Lua script with natrig loaded (arg as in lua5.4).
function M.run(file, ...)
  _G.arg = { [0] = file, ... }
  _G.natrig = require "natrig"
  local chunk, err = loadfile(file)
  if not chunk then warn(err) return 2 end
  chunk(...)
  return 0
end

return M
