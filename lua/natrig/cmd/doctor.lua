--- natrig doctor: check the engine, API version, root, iptables, sch_netem, the lab's seal.
-- The command's usage, --help text and code live here together (natrig.cli lists the
-- commands and dispatches; src/cli only starts Lua).
-- @module natrig.cmd.doctor
local core = require "natrig.core"
local cli = require "natrig.cmdkit"
local say, errstr = cli.say, cli.errstr
local open_engine = cli.open_engine

local M = {
  name = "doctor", args = "", summary = "check the engine, API version, root, iptables, sch_netem, the seal",
  min_args = 0,
  max_args = 0,
  help = [=[
Checks what natrig needs: the engine and its API version, root, the host tools baked
into the base image, bridge netfilter, which impairment engine works (a real
probe in a throwaway container), and the sealed lab: whether natrig's nftables table
can be installed on the engine's host (tried from a throwaway host-network container)
and what it holds (the table `inet natrig_seal` is kept between runs, empty when no run
is up; each run's subnets are listed with its run id). Exit 0 when nothing is missing.

environment:
  NATRIG_IMPAIR_ENGINE   force `netem` or `userspace`
  DOCKER_HOST            the engine: unix:///path or tcp://host:port
                         (default unix:///var/run/docker.sock)
  NATRIG_HOSTS           several engines joined as a Docker Swarm (comma list of
                         DOCKER_HOST-style URLs, or name=url; the first is the manager):
                         each is reached and the Swarm checked, with the commands to fix it,
                         and the seal is tried on every engine's host

example:
  natrig doctor
]=],
}

-- natrig doctor
function M.run()
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
  -- NATRIG_HOSTS: every engine reached, one Swarm with the first a manager (natrig.hosts).
  local hosts = require "natrig.hosts"
  local hok, hl = pcall(hosts.from, nil)
  if not hok then
    line(false, "NATRIG_HOSTS", errstr(hl), "give DOCKER_HOST-style URLs separated by commas")
  elseif hl and #hl > 1 then
    local ook, oerr = pcall(hosts.open, hl)
    for _, h in ipairs(hl) do
      local s = h.info and h.info.Swarm or {}
      line(h.info ~= nil, "host " .. h.name, h.info and ("%s at %s, Swarm %s%s"):format(h.info.ServerVersion or "?",
        h.url, tostring(s.LocalNodeState), s.ControlAvailable and " (manager)" or "")
        or (h.url .. ": " .. tostring(h.err)))
    end
    line(ook, "swarm", ook and ("%d engines in one Swarm, %s the manager"):format(#hl, hl[1].name)
      or (type(oerr) == "table" and oerr.message or tostring(oerr)))
    if not ook then hl = nil end
  end
  line(true, "API version", ("%s (natrig speaks %s to %s)"):format(info.api_version, core.api_min, core.api_max))
  local uid = core.run({ "id", "-u" })
  local _, out = core.run({ "id", "-u" })
  line(uid == 0 and out:match("^0") ~= nil, "root", out:match("^0") and "yes"
    or "no (fine for the engine API; host-side checks need root)")
  local nf = core.read_file("/proc/sys/net/bridge/bridge-nf-call-iptables")
  line(true, "bridge-nf-call-iptables", nf and nf:gsub("%s+$", "") or "absent")
  for _, p in ipairs({ "nft", "xtables-nft-multi", "ip", "tc", "conntrack", "busybox", "turnserver",
    "turnutils_natdiscovery", "dnsmasq" }) do
    local path = require("natrig.image").which(p)
    line(path ~= nil, p, path or "not found",
      "make deps (apt-get install nftables iptables iproute2 conntrack busybox-static coturn dnsmasq-base)")
  end
  -- Impairment engines, probed for real in a throwaway container of our own.
  local iok, ires = pcall(function()
    local image = require "natrig.image"
    local ref = image.ensure_base(eng, { log = function(m) say("     ", m) end })
    line(true, "base image", ref)
    return require("natrig.probe").probe(eng, ref)
  end)
  if iok then
    line(true, "sch_netem", ires.netem and "available: impairment uses tc netem" or
      "absent in this kernel: impairment uses natrig's userspace shaper (NFQUEUE)")
    line(ires.nfqueue, "NFQUEUE", ires.nfqueue and "works (userspace shaper available)"
      or ("fails: " .. tostring(ires.nfqueue_error)))
    line(ires.netem or ires.nfqueue, "impairment engine", ires.netem and "netem" or ires.nfqueue and "userspace"
      or "none: impairment will fail")
  else
    line(false, "impairment probe", errstr(ires))
  end
  -- The sealed lab (natrig.seal): the host's table, tried through each engine (over a
  -- Swarm every engine's host is sealed: a helper on each).
  local seal_engs = { { eng = eng, name = "" } }
  if hl and #hl > 1 then
    seal_engs = {}
    for _, h in ipairs(hl) do seal_engs[#seal_engs + 1] = { eng = h.eng, name = " on " .. h.name } end
  end
  for _, se in ipairs(seal_engs) do
    local sok, sres = pcall(function()
      local s = require("natrig.session").new { engine = se.eng, scenario = "doctor" }
      local dok, r = pcall(require("natrig.seal").doctor, se.eng, require("natrig.image").ensure_base(se.eng), s)
      s:teardown()
      if not dok then error(r, 0) end
      return r
    end)
    local host = tostring(se.eng:info().host)
    if not sok then
      line(false, "seal" .. se.name, ("cannot manage the nftables of %s's host through the engine: %s")
        :format(host, errstr(sres)),
        "natrig seals the lab from a host-network container with CAP_NET_ADMIN: the engine must allow it")
    else
      line(true, "seal" .. se.name, ("installable on the engine's host (%s)"):format(host))
      local live, stale = 0, 0
      for _, r in ipairs(sres.runs) do if r.live then live = live + 1 else stale = stale + 1 end end
      line(true, "seal table" .. se.name, sres.table
        and ("inet natrig_seal kept on the engine's host: %d run(s) sealed%s")
        :format(live, stale > 0 and (", %d stale (removed by the next run)"):format(stale) or "")
        or "inet natrig_seal not installed yet (the first run installs it)")
      for _, r in ipairs(sres.runs) do
        say(("     run %s%s: %s"):format(r.run, r.live and "" or " (stale)", table.concat(r.subnets, " ")))
      end
    end
  end
  if hl and #hl > 1 then for _, h in ipairs(hl) do h.eng:close() end end
  eng:close()
  say(problems == 0 and "all good" or ("%d problem(s)"):format(problems))
  return problems == 0 and 0 or 1
end

return M
