-- natrig.cli: the subcommands implemented in Lua (src/cli/cli.c dispatches here).
-- Each returns the process exit code: 0 success, 1 scenario failure, 2 usage/setup error.
local core = require "natrig.core"

local M = {}

local function say(...) io.stdout:write(...) io.stdout:write("\n") io.stdout:flush() end
local function warn(...) io.stderr:write("natrig: ", ...) io.stderr:write("\n") io.stderr:flush() end
local function errstr(e) return type(e) == "table" and tostring(e) or tostring(e) end

-- Every command that reaches the engine first removes what dead runs left behind
-- (their owner process is gone: SIGKILL, a crash, a killed CI job).
local function open_engine()
  local eng = require("natrig.engine").open()
  local ok, n, runs = pcall(require("natrig.session").reap_dead, eng)
  if ok and n > 0 then warn(("removed leftovers of %d dead run(s): %s"):format(n, table.concat(runs, ", "))) end
  return eng
end

local function parse_kv(args, from)
  local kv = {}
  for i = from, #args do
    local k, v = args[i]:match("^([%w_]+)=(.*)$")
    if not k then return nil, ("bad parameter '%s' (want key=value)"):format(args[i]) end
    kv[k] = v
  end
  return kv
end

-- natrig run FILE [key=value ...]
function M.run(file, ...)
  local args = { file, ... }
  local scenario = require "natrig.scenario"
  local params, perr = parse_kv(args, 2)
  if not params then warn(perr) return 2 end
  local ok, def = pcall(scenario.load, file)
  if not ok then warn(errstr(def)) return 2 end
  local eok, eng = pcall(open_engine)
  if not eok then warn(errstr(eng)) return 2 end
  say(("== %s"):format(def.name))
  local rok, res = pcall(scenario.run, def, { engine = eng, params = params,
    log = function(m) say("   ", m) end })
  eng:close()
  if not rok then warn(errstr(res)) return 2 end
  if res.ok then
    say(("PASS %s (%.1fs)"):format(def.name, res.duration))
    return 0
  end
  say(("FAIL %s (%.1fs)\n%s"):format(def.name, res.duration, res.error))
  if res.artifacts then say("   artifacts: " .. res.artifacts) end
  return 1
end

-- natrig sweep [--junit F] [--json F] [--html F] [--filter PATTERN] FILE|DIR ...
function M.sweep(...)
  return require("natrig.sweep").main({ ... })
end

-- natrig doctor
function M.doctor()
  local problems = 0
  local function line(ok, what, detail, fix)
    say(("%s %-22s %s"):format(ok and "ok  " or "FAIL", what, detail or ""))
    if not ok then
      problems = problems + 1
      if fix then say("     fix: " .. fix) end
    end
  end
  local ok, eng = pcall(open_engine)
  if not ok then
    line(false, "engine", errstr(eng), "start the Docker Engine (systemctl start docker) or set DOCKER_HOST")
    return 2
  end
  local info = eng:info()
  line(true, "engine", ("%s at %s"):format(info.engine_version, info.host))
  line(true, "API version", ("%s (natrig speaks 1.41 to 1.51)"):format(info.api_version))
  local uid = core.run({ "id", "-u" })
  local _, out = core.run({ "id", "-u" })
  line(uid == 0 and out:match("^0") ~= nil, "root", out:match("^0") and "yes" or "no (fine for the engine API; host-side checks need root)")
  local nf = core.read_file("/proc/sys/net/bridge/bridge-nf-call-iptables")
  line(true, "bridge-nf-call-iptables", nf and nf:gsub("%s+$", "") or "absent")
  for _, p in ipairs({ "nft", "xtables-nft-multi", "ip", "tc", "conntrack", "busybox", "turnserver", "turnutils_natdiscovery" }) do
    local path = require("natrig.image").which(p)
    line(path ~= nil, p, path or "not found", "make deps (apt-get install nftables iptables iproute2 conntrack busybox-static coturn)")
  end
  -- Impairment engines, probed for real in a throwaway container of our own.
  local iok, ires = pcall(function()
    local image = require "natrig.image"
    local ref = image.ensure_base(eng, { log = function(m) say("     ", m) end })
    line(true, "base image", ref)
    return require("natrig.impair").probe(eng, ref)
  end)
  if iok then
    line(true, "sch_netem", ires.netem and "available: impairment uses tc netem" or
      "absent in this kernel: impairment uses natrig's userspace shaper (NFQUEUE)")
    line(ires.nfqueue, "NFQUEUE", ires.nfqueue and "works (userspace shaper available)" or ("fails: " .. tostring(ires.nfqueue_error)))
    line(ires.netem or ires.nfqueue, "impairment engine", ires.netem and "netem" or ires.nfqueue and "userspace" or "none: impairment will fail")
  else
    line(false, "impairment probe", errstr(ires))
  end
  eng:close()
  say(problems == 0 and "all good" or ("%d problem(s)"):format(problems))
  return problems == 0 and 0 or 1
end

-- natrig clean [--all]
function M.clean(flag)
  if flag and flag ~= "--all" then warn("usage: natrig clean [--all]") return 2 end
  local ok, eng = pcall(open_engine)
  if not ok then warn(errstr(eng)) return 2 end
  local session = require "natrig.session"
  local rok, n, runs = pcall(session.reap_dead, eng, flag == "--all")
  if not rok then warn(errstr(n)) eng:close() return 2 end
  -- Stray labelled resources without a run label (should not exist) go with --all too.
  if flag == "--all" then session.remove_labelled(eng, "natrig") end
  say(("removed %d run(s)%s"):format(n, n > 0 and (": " .. table.concat(runs, ", ")) or ""))
  eng:close()
  return 0
end

-- natrig image build|ls|prune
function M.image(sub)
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

-- natrig lua FILE [ARGS]: a plain Lua script with natrig loaded (arg as in lua5.4).
function M.lua(file, ...)
  _G.arg = { [0] = file, ... }
  _G.natrig = require "natrig"
  local chunk, err = loadfile(file)
  if not chunk then warn(err) return 2 end
  chunk(...)
  return 0
end

function M.version()
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

-- REPL: globals for interactive use. `net` is created on first use.
local repl_net
function M.repl_init(file)
  local natrig = require "natrig"
  _G.natrig = natrig
  _G.expect = natrig.expect
  _G.help = function()
    say([[natrig REPL
  net                 a live network (created on first use): net:gateway{}, net:peer{nat="symmetric"}, net:up()
  net:peers()         nodes; node:exec{argv}, node:logs{...}, node:wait_log{...}
  net:diagnostics()   routers' NAT rules/counters, conntrack, routes
  natrig.parallel(f, g)   run functions concurrently
  expect(v):eq(x)     assertions
  Ctrl-C interrupts the current line; Ctrl-D quits and removes the network.]])
  end
  setmetatable(_G, { __index = function(_, k)
    if k == "net" then
      repl_net = repl_net or natrig.network { scenario = "repl" }
      rawset(_G, "net", repl_net)
      return repl_net
    end
  end })
  if file then dofile(file) end
end

function M.repl_exit()
  if repl_net then repl_net:down() end
end

return M
