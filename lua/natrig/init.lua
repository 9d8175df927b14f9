-- natrig: the Lua front door. `require "natrig"` from stock lua5.4 (with build/lua on
-- LUA_CPATH) or the natrig binary gives the same module.
--   natrig.engine([host])    Engine client (natrig.engine)
--   natrig.network{...}      a test network (natrig.network); <close> tears it down
--   natrig.spawn/parallel/sleep/map   the task scheduler (natrig.task)
--   natrig.scenario{...}     declare a scenario (natrig.scenario)
--   natrig.expect(v)         assertions
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
  now = core.now,
  null = core.null,
  json = { encode = core.json_encode, decode = core.json_decode, array = core.json_array },
  expect = require "natrig.expect",
}

function natrig.engine(host) return require("natrig.engine").open(host) end

-- A network outside a scenario (REPL, plain Lua scripts). Use with <close> or call
-- net:down() yourself; the watchdog removes it if the process dies.
function natrig.network(opts) return require("natrig.network").new(opts or {}) end

function natrig.scenario(def) return require("natrig.scenario").define(def) end

return natrig
