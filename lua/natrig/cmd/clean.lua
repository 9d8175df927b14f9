--- natrig clean: remove dead runs' leftovers, or the given runs (--all: every natrig resource).
-- The command's usage, --help text and code live here together (natrig.cli lists the
-- commands and dispatches; src/cli only starts Lua).
-- @module natrig.cmd.clean
local core = require "natrig.core"
local cli = require "natrig.cmdkit"
local say, warn, errstr = cli.say, cli.warn, cli.errstr
local open_engine = cli.open_engine

local M = {
  name = "clean", operands = "[RUN...]",
  summary = "remove dead runs' leftovers, or the given runs (--all: every natrig resource)", min_args = 0,
  max_args = -1,
  flags = {
    { "--force", help = "remove the given runs even when their process is alive" },
    { "--all", help = "every natrig resource, kept runs and live runs included (no RUN then)" },
    { "--artifacts", help = "instead: remove failed runs' folders under $NATRIG_ARTIFACTS "
      .. "(default ./natrig-artifacts); no engine is asked" },
    { "--older-than", arg = "AGE", check = function(v, name)
        local s, err = require("natrig.artifacts").parse_age(v)
        if not s then return nil, name .. " wants " .. err end
        return s
      end, help = "with --artifacts: only folders last changed more than AGE ago (7d, 12h, 30m)" },
  },
  about = [=[
Without RUN: removes the containers, networks and shaper directories of runs whose
natrig process is gone (every command also does this first). Kept runs (NATRIG_KEEP=1)
stay. With RUN ids (see natrig ls): removes those runs, kept or dead at once; a live
one only after a yes at the terminal, or with --force. Other runs are never touched.
With --artifacts: removes the folders failed runs left under $NATRIG_ARTIFACTS
(./natrig-artifacts by default), or with --older-than only those older than AGE.
]=],
  more = [=[
environment:
  DOCKER_HOST            the engine: unix:///path or tcp://host:port
                         (default unix:///var/run/docker.sock)
  NATRIG_HOSTS           several engines (a Swarm, natrig.hosts): cleans every one of
                         them, the manager last (it owns the run's overlay network)
  XDG_STATE_HOME         where kept runs are marked ($XDG_STATE_HOME/natrig/kept)
  XDG_RUNTIME_DIR        shaper control directories ($XDG_RUNTIME_DIR/natrig)
  NATRIG_ARTIFACTS       where --artifacts looks (default ./natrig-artifacts)

example:
  natrig clean
  natrig ls && natrig clean 1201112441cc4f
  natrig clean --artifacts --older-than 7d
]=],
}

-- natrig clean --artifacts [--older-than AGE]: the local artifact folders, no engine.
local function clean_artifacts(o, runs)
  if #runs > 0 or o.all or o.force then
    warn("usage: natrig clean --artifacts [--older-than AGE] (no RUN, --all or --force with it)") return 2
  end
  local removed, kept = require("natrig.artifacts").prune(nil, o.older_than)
  local root = core.getenv("NATRIG_ARTIFACTS") or "natrig-artifacts"
  for _, p in ipairs(removed) do say("removed " .. p) end
  say(("removed %d artifact folder(s) under %s%s"):format(#removed, root,
    #kept > 0 and ("; kept %d changed within %gh"):format(#kept, o.older_than / 3600) or ""))
  return 0
end

-- natrig clean [--all] | natrig clean [--force] RUN... | natrig clean --artifacts [--older-than AGE]
function M.run(o, ...)
  if o.older_than and not o.artifacts then warn("--older-than goes with --artifacts") return 2 end
  if o.artifacts then return clean_artifacts(o, { ... }) end
  local all, force, runs = o.all == true, o.force == true, { ... }
  if all and #runs > 0 then warn("usage: natrig clean [--all] | natrig clean [--force] RUN...") return 2 end
  -- NATRIG_HOSTS: every engine, the others first, the manager (the overlay's owner) last.
  local hok, hl = pcall(require("natrig.hosts").from, nil)
  if not hok then warn(errstr(hl)) return 2 end
  if hl and #hl > 1 then
    local rc, found = 0, {}
    for i = #hl, 1, -1 do
      local eok, eng = pcall(require("natrig.engine").open, hl[i].url)
      if not eok then warn(("%s (%s): %s"):format(hl[i].name, hl[i].url, errstr(eng))) rc = 2
      else
        say(("== %s (%s)"):format(hl[i].name, hl[i].url))
        local r = M.clean_on(eng, all, force, runs, found)
        if r > rc then rc = r end
      end
    end
    for _, id in ipairs(runs) do
      if not found[id] then warn(("no run '%s' on any engine (natrig ls lists them)"):format(id)) rc = 2 end
    end
    return rc
  end
  local ok, eng = pcall(open_engine)
  if not ok then warn(errstr(eng)) return 2 end
  return M.clean_on(eng, all, force, runs)
end

-- Clean one engine (closed at the end). found: nil with one engine; over several, the set
-- of run ids seen so far (a run missing on one engine is not an error there).
function M.clean_on(eng, all, force, runs, found)
  local session = require "natrig.session"
  if #runs > 0 then
    -- One run at a time, by id: a live run (its process still there) only with --force
    -- or a yes at a terminal; a kept or dead one at once.
    local lok, list = pcall(require("natrig.session").runs_on, eng)
    if not lok then warn(errstr(list)) eng:close() return 2 end
    local by = {}
    for _, r in ipairs(list) do by[r.run] = r end
    local rc = 0
    for _, id in ipairs(runs) do
      local r = by[id]
      if found and r then found[id] = true end
      if not r then
        if not found then
          warn(("no run '%s' on this engine (natrig ls lists them)"):format(id))
          rc = 2
        end
      else
        local go = not r.alive or force
        if not go and core.isatty(0) then
          io.stdout:write(("run %s (%s) is live: its process %s is still running. Remove it? [y/N] ")
            :format(id, r.scenario, r.owner))
          io.stdout:flush()
          go = (io.read("l") or ""):match("^[yY]") ~= nil
        end
        if not go then
          warn(("run %s is live (owner %s): not removed; pass --force to remove it anyway"):format(id, r.owner))
          rc = 2
        else
          local rok, nc, nn = pcall(session.remove_labelled, eng, "natrig.run=" .. id)
          if rok then
            session.unkeep(id)
            session.remove_ctl_dirs(id)
            say(("removed run %s: %d containers, %d networks"):format(id, nc, nn))
          else
            warn(("run %s: %s"):format(id, errstr(nc)))
            rc = 1
          end
        end
      end
    end
    eng:close()
    return rc
  end
  local flag = all and "--all" or nil
  local rok, n, reaped = pcall(session.reap_dead, eng, flag == "--all")
  if not rok then warn(errstr(n)) eng:close() return 2 end
  -- Stray labelled resources without a run label (should not exist) go with --all too.
  if flag == "--all" then session.remove_labelled(eng, "natrig") end
  say(("removed %d run(s)%s"):format(n, n > 0 and (": " .. table.concat(reaped, ", ")) or ""))
  eng:close()
  return 0
end

return M
