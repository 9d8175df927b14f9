--- natrig run: run one scenario; exit 0 pass, 1 fail, 2 usage/setup.
-- The command's usage, --help text and code live here together (natrig.cli lists the
-- commands and dispatches; src/cli only starts Lua).
-- @module natrig.cmd.run
local core = require "natrig.core"
local cli = require "natrig.cmdkit"
local say, warn, errstr = cli.say, cli.warn, cli.errstr
local open_engine = cli.open_engine
local parse_kv = cli.parse_kv

local M = {
  name = "run", operands = "FILE [key=value ...]",
  summary = "run one scenario; exit 0 pass, 1 fail, 2 usage/setup",
  min_args = 1, max_args = -1,
  flags = {
    { "--keep-artifacts", help = "keep the run's files even when it passes" },
    -- for `natrig sweep`: write the result there (natrig.sweep.result)
    { "--result-json", arg = "F", hidden = true },
  },
  about = [=[
Runs the scenario FILE (a Lua file returning natrig.scenario{...}); key=value pairs
set its params. A value takes the type of the param's declared default: a number
default makes count=3 the number 3, a boolean default makes verbose=true (or 1,
false, 0) a boolean, anything else stays a string; a value that does not convert,
or a key the scenario does not declare, is a usage error (exit 2).
The network is removed afterwards whatever happens.
Exit: 0 pass (PASS), 1 scenario failure (FAIL), 2 usage/setup error (ERROR: a bad
option or preset, the engine unreachable), 128+N on signal N (INTERRUPTED).
]=],
  more = [=[
environment:
  NATRIG_KEEP            1: a failed run's network stays up, and natrig prints how
                         to get into it (natrig repl --attach RUN, natrig exec -it
                         RUN NODE, natrig logs RUN NODE) and to remove it
]=] .. cli.ENV_NETWORK .. [=[

example:
  natrig run scenarios/quickstart.lua nat=symmetric
  NATRIG_KEEP=1 NATRIG_EMULATION=regional natrig run scenarios/holepunch_matrix.lua
]=],
}

-- natrig run [--keep-artifacts] FILE [key=value ...]
-- (hidden: --result-json F writes the result for `natrig sweep`, see natrig.sweep.result)
function M.run(o, ...)
  local args = { ... }
  local rf = o.result_json and require("natrig.sweep.result").new(o.result_json)
  -- --keep-artifacts keeps a passing run's files too (failing runs always keep theirs).
  local keep_artifacts = o.keep_artifacts == true
  local file = args[1]
  if rf then rf.file = file end
  local scenario = require "natrig.scenario"
  local params, perr = parse_kv(args, 2)
  if not params then warn(perr) if rf then rf:error(perr) end return 2 end
  -- A signal during set-up is an interrupted run (128 + N), not a usage error.
  local function setup_code()
    local sig = cli.signalled()
    return sig and 128 + sig or 2
  end
  local ok, def = pcall(scenario.load, file) -- (natrig.scenario checks the timeout)
  if not ok then warn(errstr(def)) if rf then rf:error(errstr(def)) end return setup_code() end
  local eok, eng = pcall(open_engine)
  if not eok then warn(errstr(eng)) if rf then rf:error(errstr(eng), def) end return setup_code() end
  if rf then rf:wrap(def) end
  say(("== %s"):format(def.name))
  M.hold_back(eng, function(m) say("   ", m) end)
  local rok, res = pcall(scenario.run, def, { engine = eng, params = params,
    keep_artifacts = keep_artifacts, log = function(m) say("   ", m) end })
  eng:close()
  if not rok then
    warn(errstr(res))
    if rf then rf:error(errstr(res), def) end
    local code = setup_code()
    if code == 2 then say(("ERROR %s: set-up failed (exit 2), see above"):format(def.name)) end
    return code
  end
  if rf then rf:done(def, res) end
  -- Interrupted is neither a pass nor a failure of the software under test: 128 + signal.
  if res.signal then
    say(("INTERRUPTED %s (%.1fs): interrupted by signal %d, network removed"):format(def.name, res.duration,
      res.signal))
    return 128 + res.signal
  end
  if res.ok then
    say(("PASS %s (%.1fs)"):format(def.name, res.duration))
    return 0
  end
  -- A bad option or preset is the scenario author's usage error, not a failure of the
  -- software under test: ERROR and exit 2, where a failure is FAIL and exit 1.
  local setup = res.error_code == "einval" or res.error_code == "overloaded"
  say(("%s %s (%.1fs)\n%s"):format(setup and "ERROR" or "FAIL", def.name, res.duration, res.error))
  if res.artifacts then say("   artifacts: " .. res.artifacts) end
  M.kept_hint(res.run_id)
  return setup and 2 or 1
end

-- Like `natrig sweep`'s load gate: an engine slow to answer /_ping (sweep's PING_SLOW) gets
-- half the usual calls at once from the start, and any later slowness lowers the pool more
-- (natrig.engine), each said once.
function M.hold_back(eng, say_)
  eng.on_hold_back = function(was, now, why)
    say_(("engine slow (%s): holding back to %d calls at once (was %d)"):format(why, now, was))
  end
  local t0 = core.now()
  local ok = pcall(eng.ping, eng)
  local dt = core.now() - t0
  if ok and dt > require("natrig.sweep.runner").PING_SLOW then
    local was = eng.limit
    eng.limit = math.max(require("natrig.engine").LIMIT_MIN, math.floor(eng.limit / 2))
    say_(("engine slow (%.1fs to answer /_ping): holding back to %d calls at once (was %d)"):format(dt, eng.limit, was))
  end
end

-- A kept run (NATRIG_KEEP=1): how to get into it from the shell.
function M.kept_hint(run)
  if not run or not require("natrig.session").is_kept(run) then return end
  say(("   the network stays up (run %s); its containers are natrig-%s-<node>:"):format(run, run))
  say(("     natrig repl --attach %s        # `net` in Lua"):format(run))
  say(("     natrig exec -it %s NODE        # a shell in a node"):format(run))
  say(("     natrig logs %s NODE [-f]       # a node's log"):format(run))
  say(("     natrig clean %s                # remove it"):format(run))
end

return M
