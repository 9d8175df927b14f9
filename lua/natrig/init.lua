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

function natrig.engine(host) return require("natrig.engine").open(host) end

--- A network outside a scenario (REPL, plain Lua scripts). Use with <close> or call
-- net:down() yourself; the watchdog removes it if the process dies.
function natrig.network(opts) return require("natrig.network").new(opts or {}) end

--- Rebuild a live network from a run on the engine (kept or running): see natrig.attach.
function natrig.attach(run, opts) return require("natrig.attach").attach(run, opts) end

function natrig.scenario(def) return require("natrig.scenario").define(def) end

return natrig
