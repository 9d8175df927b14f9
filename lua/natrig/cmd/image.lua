--- natrig image: build natrig's local images, list or prune them.
-- The command's usage, --help text and code live here together (natrig.cli lists the
-- commands and dispatches; src/cli only starts Lua).
-- @module natrig.cmd.image
local core = require "natrig.core"
local cli = require "natrig.cmdkit"
local say, warn, errstr = cli.say, cli.warn, cli.errstr
local open_engine = cli.open_engine

local M = {
  name = "image", args = "build|ls|prune", summary = "build natrig's local images, list or prune them", min_args = 1,
  max_args = 2,
  help = [=[
  build   build natrig/base:<hash> from this host's binaries (no registry); a no-op
          when up to date
  ls      natrig's images
  prune   remove natrig images other than the current base one that no container
          uses; while any natrig run on this host is live (it may be about to
          create containers from an image it has checked) prune waits up to
          NATRIG_PRUNE_WAIT s, then names the live runs, removes nothing, exits 1

environment:
  DOCKER_HOST            the engine: unix:///path or tcp://host:port
                         (default unix:///var/run/docker.sock)
  NATRIG_PRUNE_WAIT      seconds prune waits for live runs to end (default 10)
  NATRIG_LIBEXEC         where natrig-peer and natrig-shaper are (default: beside
                         natrig)

example:
  natrig image build && natrig image ls
]=],
}

-- natrig image build|ls|prune
function M.run(sub)
  local image = require "natrig.image"
  local ok, eng = pcall(open_engine)
  if not ok then warn(errstr(eng)) return 2 end
  local rc = 0
  local rok, err = pcall(function()
    if sub == "build" then
      local ref, built = image.ensure_base(eng, { force = false, log = say })
      say(built and ("built " .. ref) or (ref .. " is up to date"))
    elseif sub == "ls" then
      for _, im in ipairs(eng:image_list({ label = core.json_array { "natrig" } })) do
        for _, t in ipairs(im.RepoTags or {}) do
          say(("%-32s %8.1f MB  %s"):format(t, (im.Size or 0) / 1e6, os.date("!%Y-%m-%d %H:%M", im.Created or 0)))
        end
      end
    elseif sub == "prune" then
      -- every live run holds the lock shared until its teardown (natrig.imagelock)
      local il = require "natrig.imagelock"
      local lock, msg, busy = il.exclusive()
      if not lock then
        if busy then
          local who = il.holders()
          warn(("image prune: %d live natrig run(s) hold %s after %g s: %s; removed nothing. "
            .. "Run it again when they end (natrig ls lists them)"):format(#who, il.path(), il.prune_wait(),
            #who > 0 and table.concat(who, ", ") or "(not named)"))
        else
          warn("image prune: " .. msg .. "; removed nothing (set XDG_RUNTIME_DIR to a writable directory)")
        end
        rc = 1
        return
      end
      local keep = image.REPO .. ":" .. image.tag_for(image.inputs())
      local n = 0
      for _, im in ipairs(eng:image_list({ label = core.json_array { "natrig" } })) do
        for _, t in ipairs(im.RepoTags or {}) do
          if t ~= keep then
            local ok2 = pcall(eng.image_remove, eng, t, false)
            if ok2 then n = n + 1; say("removed " .. t) else say("in use, kept " .. t) end
          end
        end
      end
      lock:unlock()
      say(("pruned %d image(s); current: %s"):format(n, keep))
    else
      warn("usage: natrig image build|ls|prune")
      rc = 2
    end
  end)
  eng:close()
  if not rok then warn(errstr(err)) return 2 end
  return rc
end

return M
