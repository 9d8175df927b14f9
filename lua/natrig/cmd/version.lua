--- natrig version: print natrig's version and the engine's.
-- The command's usage, --help text and code live here together (natrig.cli lists the
-- commands and dispatches; src/cli only starts Lua).
-- @module natrig.cmd.version
local core = require "natrig.core"
local cli = require "natrig.cmdkit"
local say, errstr = cli.say, cli.errstr
local open_engine = cli.open_engine

local M = {
  name = "version", args = "", summary = "print natrig's version and the engine's", min_args = 0, max_args = 0,
  help = [=[
environment:
  DOCKER_HOST            the engine: unix:///path or tcp://host:port
                         (default unix:///var/run/docker.sock)

example:
  natrig version
]=],
}

function M.run()
  say("natrig " .. core.version .. " (Lua " .. _VERSION:match("%d.%d") .. ")")
  local ok, eng = pcall(open_engine)
  if ok then
    local i = eng:info()
    say(("engine %s, API %s, %s"):format(i.engine_version, i.api_version, i.host))
    eng:close()
  else
    say("engine: unreachable (" .. errstr(eng) .. ")")
  end
  return 0
end

return M
