--- natrig ls: list the natrig runs on this engine (id, scenario, case, age, owner, kept).
-- The command's usage, --help text and code live here together (natrig.cli lists the
-- commands and dispatches; src/cli only starts Lua).
-- @module natrig.cmd.ls
local core = require "natrig.core"
local cli = require "natrig.cmdkit"
local say, warn, errstr = cli.say, cli.warn, cli.errstr
local open_engine = cli.open_engine

local M = {
  name = "ls", args = "", summary = "list the natrig runs on this engine (id, scenario, case, age, owner, kept)",
  min_args = 0, max_args = 0,
  help = [=[
Lists the natrig runs on this engine, from their labels: run id, scenario, case
(the parameters given on the command line or by the sweep, in full; - when
none were given), age, whether the owning process is alive, whether the run is kept
(NATRIG_KEEP=1 after a failure), and its node count.

environment:
  DOCKER_HOST            the engine: unix:///path or tcp://host:port
                         (default unix:///var/run/docker.sock)
  NATRIG_HOSTS           several engines (a Swarm): the runs of every one, merged by run
                         id, with the engines each run is on
  XDG_STATE_HOME         where kept runs are marked ($XDG_STATE_HOME/natrig/kept)

example:
  natrig ls
]=],
}

-- natrig ls: the runs on this engine
function M.run(...)
  if select("#", ...) > 0 then warn("usage: natrig ls") return 2 end
  local hok, hl = pcall(require("natrig.hosts").from, nil)
  if not hok then warn(errstr(hl)) return 2 end
  local list
  if hl and #hl > 1 then
    -- every engine's runs, merged by run id (a run over a Swarm has parts on several)
    local by = {}
    list = {}
    for _, h in ipairs(hl) do
      local eok, eng = pcall(require("natrig.engine").open, h.url)
      if not eok then warn(("%s (%s): %s"):format(h.name, h.url, errstr(eng))) return 2 end
      local rok, l = pcall(require("natrig.session").runs_on, eng)
      eng:close()
      if not rok then warn(("%s: %s"):format(h.name, errstr(l))) return 2 end
      for _, r in ipairs(l) do
        local m = by[r.run]
        if m then m.nodes = m.nodes + r.nodes; m.engines = m.engines .. "," .. h.name
        else r.engines = h.name; by[r.run] = r; list[#list + 1] = r end
      end
    end
    table.sort(list, function(a, b) return a.created < b.created end)
  else
    local ok, eng = pcall(open_engine)
    if not ok then warn(errstr(eng)) return 2 end
    local rok, l = pcall(require("natrig.session").runs_on, eng)
    eng:close()
    if not rok then warn(errstr(l)) return 2 end
    list = l
  end
  -- The case in full (a sweep's cases differ only at the end): the column fits the widest.
  local cw = 4
  for _, r in ipairs(list) do
    r.case_text = r.case ~= "" and r.case or "-"
    cw = math.max(cw, #r.case_text)
  end
  local row = "%-16s %-18s %-" .. cw .. "s %7s %-6s %-5s %5s  %s%s"
  say(row:format("RUN", "SCENARIO", "CASE", "AGE", "OWNER", "KEPT",
    "NODES", "OWNER PROCESS", hl and #hl > 1 and "  ENGINES" or ""))
  local now = core.time()
  for _, r in ipairs(list) do
    local age = math.floor(now - r.created)
    local agestr = age < 120 and ("%ds"):format(age) or age < 7200 and ("%dm"):format(age // 60)
      or ("%dh"):format(age // 3600)
    say(row:format(r.run, r.scenario:sub(1, 18), r.case_text, agestr, r.alive and "alive" or "dead",
      r.kept and "kept" or "-", r.nodes, r.owner, r.engines and ("  " .. r.engines) or ""))
  end
  if #list == 0 then say("(no natrig runs on this engine)") end
  return 0
end

return M
