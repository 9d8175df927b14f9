--- natrig: the Lua front door. `require "natrig"` from stock lua5.4 (with build/lua on
-- LUA_CPATH) or the natrig binary gives the same module.
--   natrig.engine([host])    Engine client (natrig.engine)
--   natrig.network{...}      a test network (natrig.network); <close> tears it down
--   natrig.spawn/parallel/sleep/map   the task scheduler (natrig.task)
--   natrig.scenario{...}     declare a scenario (natrig.scenario)
--   natrig.expect(v)         assertions
--   natrig.now()             epoch seconds (the clock of log entries; since/until)
--   natrig.monotonic()       a monotonic clock in seconds, for durations
-- @module natrig
local core = require "natrig.core"
local task = require "natrig.task"

local natrig = {
  core = core,
  task = task,
  version = core.version,
  spawn = task.spawn,
  parallel = task.parallel,
  map = task.map,
  sleep = task.sleep,
  -- One clock for users: natrig.now() is epoch seconds, the clock of log entries
  -- (entry.time, engine_time) and of every since/until. Durations: natrig.monotonic().
  now = core.time,
  monotonic = core.now,
  null = core.null,
  json = { encode = core.json_encode, decode = core.json_decode, array = core.json_array },
  expect = require "natrig.expect",
  metric = require("natrig.metrics").record,
}

--- An Engine client (natrig.engine): DOCKER_HOST's engine, or host's.
-- @tparam[opt] string host unix:///path or tcp://host:port
-- @treturn Engine
-- @usage local eng = natrig.engine(); print(eng:version().ApiVersion)
function natrig.engine(host) return require("natrig.engine").open(host) end

--- A network outside a scenario (REPL, plain Lua scripts). Use with <close> or call
-- net:down() yourself; the watchdog removes it if the process dies.
-- @tparam[opt] table opts as for natrig.network.new (scenario, nat, hosts, capture, ...)
-- @treturn Network
-- @usage local net <close> = natrig.network{ scenario = "try" }
-- net:peer{ nat = "symmetric" }; net:gateway{}; net:up()
function natrig.network(opts) return require("natrig.network").new(opts or {}) end

--- Rebuild a live network from a run on the engine (kept or running): see natrig.attach.
-- @tparam string run the run id (natrig ls)
-- @tparam[opt] table opts
-- @treturn Network its nodes and routers as they are; leaving it does not remove them
-- @usage local net = natrig.attach("1207010514e264"); net:dump()
function natrig.attach(run, opts) return require("natrig.attach").attach(run, opts) end

--- Declare a scenario (natrig.scenario): what a scenario file returns.
-- @tparam table def name, run = function(net, params), params (defaults), matrix (values
--   a sweep crosses), timeout (seconds), description, tags, keep
-- @treturn table the scenario, checked
-- @usage return natrig.scenario { name = "punch", params = { nat = "symmetric" },
--   run = function(net, p) net:peer{ nat = p.nat }; net:up() end }
function natrig.scenario(def) return require("natrig.scenario").define(def) end

-- Scenario and profile files run with natrig's API as a global: handed over from here, the
-- top, so neither module requires back up to this one.
require("natrig.scenario").set_api(natrig)
require("natrig.profiles").env = require("natrig.scenario").env

return natrig
