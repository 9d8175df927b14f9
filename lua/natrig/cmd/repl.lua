--- natrig repl: interactive Lua with natrig loaded (a FILE runs first; --attach: a kept or live run).
-- The command's usage, --help text and code live here together (natrig.cli lists the
-- commands and dispatches; src/cli only starts Lua).
-- @module natrig.cmd.repl
local cli = require "natrig.cmdkit"
local say, errstr = cli.say, cli.errstr

local M = {
  name = "repl", operands = "[FILE]",
  summary = "interactive Lua with natrig loaded (a FILE runs first; --attach: a kept or live run)", min_args = 0,
  max_args = 1, opaque = 1,
  flags = {
    { "--attach", arg = "RUN", help = "`net` is the run RUN rebuilt from its labels (a run kept with "
      .. "NATRIG_KEEP=1, or a live one; see natrig ls): exec, logs, impair, dump, add nodes. Quitting "
      .. "leaves it as it was; natrig clean RUN removes it." },
  },
  about = [=[
A Lua 5.4 prompt with natrig loaded (natrig, expect, help, more, pretty); `net` is a live
network made on first use. A FILE runs first.

keys (libedit; ~/.editrc may rebind them):
  Tab       complete globals, natrig. functions, methods after : and ., node names
            in net:get(", NAT presets in nat = ", impairment presets in :impair("
  Up/Down   history, kept across sessions; Ctrl-R searches it
  Ctrl-C    clears the line at the prompt; interrupts a running call
  Ctrl-D    quits: the network is torn down, with a line saying what is removed
In the REPL: help() for an overview, help(obj) for the methods of a live object,
net:dump() for the topology. Long results are cut (40 lines, 20 entries a list);
more() shows the last one whole, in a pager on a terminal. Without a terminal, lines are read from stdin.
]=],
  more = [=[
environment:
  NATRIG_HISTORY         the history file (empty: none); default
                         $XDG_STATE_HOME/natrig/history (~/.local/state/natrig/history)
  NATRIG_PAGER, PAGER    what more() pages with on a terminal (split at spaces, no
                         shell); default less -FRX
]=] .. cli.ENV_NETWORK .. [=[

example:
  natrig repl
  natrig> net:peer{ nat = "symmetric" }  net:gateway{}  net:up()  net:dump()
]=],
}

-- The prompt loop itself is C (src/cli/cmd_repl.c: libedit, signals); it calls init,
-- after and exit below.
function M.run(o, file)
  -- the C loop hands these words back to M.init
  local words = o.attach and { "--attach", o.attach } or {}
  words[#words + 1] = file
  return require("natrig.cli.native").repl(table.unpack(words))
end

-- REPL: globals for interactive use. `net` is created on first use.
local repl_net
function M.init(a1, a2, a3)
  local natrig = require "natrig"
  local file = a1
  if a1 == "--attach" then
    if not a2 then error("usage: natrig repl [--attach RUN] [FILE]", 0) end
    repl_net = require("natrig.attach").attach(a2)
    say(("attached to run %s (%s): %d node(s), %d router(s); net:dump() shows them\n"
      .. "Ctrl-D leaves the run up as it is (natrig clean %s removes it)")
      :format(a2, repl_net.session.scenario, #repl_net.nodes, #repl_net.routers, a2))
    file = a3
  elseif a2 then
    error("usage: natrig repl [--attach RUN] [FILE]", 0)
  end
  local repl = require "natrig.repl"
  _G.natrig = natrig
  _G.expect = natrig.expect
  _G.help = repl.help
  _G.more = repl.more
  _G.pretty = require("natrig.pretty").print
  -- `net` is made on first use, and made again after net:down() (not stored as a global,
  -- so a dead network never lingers under that name).
  setmetatable(_G, { __index = function(_, k)
    if k == "net" then
      if not repl_net or repl_net.state == "down" then repl_net = natrig.network { scenario = "repl" } end
      return repl_net
    end
  end })
  -- Tab may complete on `net` before it exists: it is made then, as on first use.
  repl.default_opts = { lazy_names = { "net" }, lazy = function(k) if k == "net" then return _G.net end end }
  if file then dofile(file) end
  -- what Ctrl-D does, for the greeting
  return a1 == "--attach" and "Ctrl-D quits and leaves the attached run up" or "Ctrl-D quits and tears the network down"
end

-- After each line: a Ctrl-C that interrupted it also stops the tasks it left running.
function M.after()
  local task = require "natrig.task"
  if task.signal() then
    task.clear_signal()
    task.recover()
  end
end

-- Ctrl-D: tear down the REPL's network(s), saying what goes.
function M.exit()
  local nets = { repl_net }
  local g = rawget(_G, "net")
  if g and g ~= repl_net and getmetatable(g) == getmetatable(repl_net or g) and g.down then nets[#nets + 1] = g end
  for _, n in ipairs(nets) do
    if n.attached and n.state ~= "down" then
      -- Not ours: leave it as it was found.
      if n.stop_watch then pcall(n.stop_watch) end
      for _, x in ipairs(n.nodes or {}) do if x.log.stop_follow then pcall(x.log.stop_follow) end end
      say(("leaving attached run %s as it is; `natrig clean %s` removes it"):format(n.session.run_id, n.session.run_id))
    elseif n.state ~= "down" and n.session then
      local names = {}
      for _, x in ipairs(n.nodes or {}) do names[#names + 1] = x.name end
      for _, x in ipairs(n.routers or {}) do names[#names + 1] = x.name end
      say(("removing network %s (label natrig.run=%s): %d node(s), %d router(s)%s and its LANs"):format(
        n.session.run_id, n.session.run_id, #(n.nodes or {}), #(n.routers or {}),
        #names > 0 and (" [" .. table.concat(names, ", ") .. "]") or ""))
      local ok, err = pcall(n.down, n)
      say(ok and ("removed network " .. n.session.run_id) or ("removing network failed: " .. errstr(err)))
    end
  end
end


return M
