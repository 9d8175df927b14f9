--- natrig.impair: network conditions and faults, changed at any point of a run.
--
--   a:impair{ delay = "100ms", jitter = "10ms", loss = "1%", direction = "both" }
--   a:impair("intercontinental")                 -- a preset (the seed's figures)
--   net:impair_link(a, b, { delay = "50ms" })    -- only traffic between a and b
--   a:clear_impair()          net:clear_link(a, b)
--   net:partition({ a }, { b, c })   net:heal()   a:isolate()   a:rejoin()
--
-- Keys: delay, jitter, distribution (uniform|normal|pareto|paretonormal), loss,
-- loss_corr, duplicate, reorder, reorder_corr, reorder_gap, corrupt, rate, direction
-- (egress, the default | ingress | both), seed, preset. Numbers for delay/jitter are ms.
--
-- Only the node's link is shaped: the interface that carries its address on its segment
-- (found by address), never lo, a tun or any other interface of the namespace, so a packet
-- that crosses two interfaces (a VPN's tun, then its UDP carrier) is delayed once.
--
-- Seeds: the shaper's loss, jitter, duplication, reordering and corruption decisions come
-- from a seeded generator that restarts at each impair call. `seed = N` fixes it for one
-- call; otherwise the run seed (NATRIG_SEED, else a random one, logged) is mixed with the
-- node's name and the link, so a rerun with NATRIG_SEED=<logged seed> repeats every fate on
-- the same packet sequence. The seed in use is kept in node.impair_seed (per node) and
-- net.impair_seed (the run's).
--
-- Two engines behind one API. Where the kernel has sch_netem, a node's egress impairment
-- is a `tc netem` qdisc on its interface (found by address). Everything else -- kernels
-- without sch_netem (this project's machines), ingress, per-link impairment -- goes to
-- natrig-shaper, natrig's userspace shaper: iptables NFQUEUE rules in chains of our own
-- feed it, and it holds, drops, duplicates, reorders or corrupts each packet. It runs in
-- the node's network holder (or in the router), so the app's image needs nothing.
-- If neither engine can work, impair() fails loudly; it never silently does nothing.
-- This module's functions are natrig's own: the API is node:impair and net:impair_link.
-- @module natrig.impair
local core = require "natrig.core"
local task = require "natrig.task"
local iface = require "natrig.iface"

local M = {}
local SHAPER = "/usr/local/bin/natrig-shaper"
M.SHAPER = SHAPER
local CTL = { "--control", "/run/natrig/shaper.sock" }

local function fail(op, msg) core.fail("engine", op, msg) end

-- The spec as canonical key=value tokens (validated in C), its direction, emptiness.
function M.spec(spec)
  if type(spec) == "string" then spec = { preset = spec } end
  if type(spec) ~= "table" then
    core.fail("einval", "impair", "expects a preset name or a table of key=value")
  end
  if math.type(spec.seed) == "integer" then
    -- a copy (the caller's table stays as it is); the C side reads numbers with %g
    local c = {}
    for k, v in pairs(spec) do c[k] = v end
    c.seed = ("%d"):format(spec.seed)
    spec = c
  end
  return core.impair_check(spec)
end

-- The run seed: NATRIG_SEED, else a random one; logged once so the run can be replayed.
local function run_seed(net)
  if net.impair_seed then return net.impair_seed end
  local env = core.getenv("NATRIG_SEED")
  local seed
  if env and env ~= "" then
    if not env:match("^%d+$") or #env > 18 then
      core.fail("einval", "impair", ("NATRIG_SEED: bad seed '%s' (a whole number, at most 18 digits)"):format(env))
    end
    seed = env
  else
    seed = ("%d"):format((math.random(0, 0x7fffffff) << 20) ~ math.floor(core.time() * 1e6) & 0x3fffffffffffff)
  end
  net.impair_seed = seed
  net.log(("impairment seed %s%s (replay: NATRIG_SEED=%s)"):format(seed,
    env and env ~= "" and " from NATRIG_SEED" or "", seed))
  return seed
end

-- A seed for one queue of one node, from the run seed: FNV-1a (64-bit, wrapping) of
-- "<run seed>/<node>/<key>", so nodes with the same spec still get independent fates.
local function derived_seed(net, x, key)
  local text = run_seed(net) .. "/" .. x.name .. "/" .. key
  local h = -3750763034362895579 -- the FNV offset basis 0xcbf29ce484222325
  for i = 1, #text do h = (h ~ text:byte(i)) * 1099511628211 end
  return ("%d"):format(h & 0x7fffffffffffffff)
end

-- The tokens with a seed: the spec's own, else one derived from the run seed. Records it
-- in x.impair_seeds[key] (key: "all" or a link's address) and, node-wide, x.impair_seed.
local function seeded(net, x, key, tokens)
  local out, seed = tokens, nil
  for _, t in ipairs(tokens) do seed = seed or t:match("^seed=(%d+)$") end
  if not seed then
    seed = derived_seed(net, x, key)
    out = { table.unpack(tokens) }
    out[#out + 1] = "seed=" .. seed
  end
  x.impair_seeds = x.impair_seeds or {}
  x.impair_seeds[key] = seed
  if key == "all" then x.impair_seed = seed end
  return out
end

local function has_seed(tokens)
  for _, t in ipairs(tokens) do if t:match("^seed=") then return true end end
  return false
end

-- A place where shaping happens: a node's holder or a router (both have CAP_NET_ADMIN
-- and natrig's tools).
function M.host_of(x)
  if x.holder then return { id = x.holder, name = x.name, obj = x } end
  return { id = x.id, name = x.name, obj = x }
end

function M.exec(_net, host, argv, check)
  local r = host.obj.eng:exec(host.id, argv, { name = host.name })
  if check and r.code ~= 0 then
    fail("impair " .. host.name, ("%s failed (exit %d): %s"):format(table.concat(argv, " "), r.code,
      (r.stderr ~= "" and r.stderr or r.stdout):gsub("%s+$", "")))
  end
  return r
end

-- The impairment engine already chosen for the Docker engine host lives on, or nil. One
-- engine: net.impair_engine (tests may set it). Over several (a Swarm of machines whose
-- kernels may differ: one with sch_netem, one without), one choice per Docker engine.
local function known(net, host)
  if not net.hosts then return net.impair_engine end
  return net.impair_engines and net.impair_engines[host.obj.eng]
end

-- Which impairment engine x's host uses: probed once per Docker engine, in a real
-- container of the run (net.impair_engine holds the first choice).
function M.engine(net, probe_host)
  local have = known(net, probe_host)
  if have then return have end
  local choice
  local forced = core.getenv("NATRIG_IMPAIR_ENGINE")
  if forced == "userspace" or forced == "netem" then
    choice = forced
  else
    local r = M.exec(net, probe_host, { "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms" })
    if r.code == 0 then
      M.exec(net, probe_host, { "tc", "qdisc", "del", "dev", "lo", "root" })
      choice = "netem"
    else
      choice = "userspace"
    end
  end
  if known(net, probe_host) then return known(net, probe_host) end -- a parallel probe was first
  net.impair_engine = net.impair_engine or choice
  local where = ""
  if net.hosts then
    net.impair_engines = net.impair_engines or {}
    net.impair_engines[probe_host.obj.eng] = choice
    local h = net:host_of(probe_host.obj)
    where = h and (" on " .. h.name) or ""
  end
  net.log(("impairment engine%s: %s"):format(where, choice == "netem" and "tc netem (kernel sch_netem)" or
    "natrig-shaper, userspace through NFQUEUE (this kernel has no sch_netem)"))
  return choice
end

local function ctl_argv(argv)
  local a = { SHAPER }
  for _, x in ipairs(argv) do a[#a + 1] = x end
  for _, x in ipairs(CTL) do a[#a + 1] = x end
  return a
end

-- Talk to the host's natrig-shaper: straight to its control socket when the engine is
-- local and the socket's directory is bind-mounted (about a millisecond), else by exec
-- (three engine round trips). argv: { verb, ["--queue", N], key=value... }
local function ctl(net, host, argv, check)
  local dir = host.obj.ctl_dir
  if dir then
    local req = { argv[1] }
    local i = 2
    while argv[i] do
      if argv[i] == "--queue" then req[#req + 1] = "queue=" .. argv[i + 1]; i = i + 2
      else req[#req + 1] = argv[i]; i = i + 1 end
    end
    local reply, why = core.seqpacket_call(dir .. "/shaper.sock", table.concat(req, " "), 3000)
    if reply and not reply:match("^err") then
      return { code = 0, stdout = reply:gsub("^ok ?", "") }
    end
    if check then
      fail("impair " .. host.name, ("natrig-shaper %s: %s"):format(table.concat(req, " "), reply or why))
    end
    return { code = 1, stdout = "", stderr = reply or why }
  end
  return M.exec(net, host, ctl_argv(argv), check)
end

-- `natrig-shaper rules ACTION ...` (the NFQUEUE argv lists from core/impair): through the
-- daemon's control socket when it is reachable (no engine exec round trip; the daemon runs
-- iptables in its namespace), else by exec. Returns the interface an add/del named.
local function rules(net, host, args)
  local dir = host.obj.ctl_dir
  local out
  if dir then
    local req = "rules " .. table.concat(args, " ")
    local reply, why = core.seqpacket_call(dir .. "/shaper.sock", req, 15000)
    if not reply or not reply:match("^ok") then
      fail("impair " .. host.name, ("natrig-shaper %s: %s"):format(req, reply or why))
    end
    out = reply
  else
    local argv = { SHAPER, "rules" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    out = M.exec(net, host, argv, true).stdout
  end
  return out:match("dev=(%S+)")
end

-- Start natrig-shaper in the host once (a detached exec), wait until it answers, and hook
-- its (still empty) chains in both directions: what a first impair costs beyond a later one
-- is this start, then one queue rule.
local function ensure_shaper(net, host)
  local st = host.obj.shaper
  if st then
    if st.starting then st.starting:join() end
    return st
  end
  st = { queues = {}, next_queue = 1 }
  host.obj.shaper = st
  st.starting = task.spawn(function()
    local argv = { SHAPER, "run" }
    for _, a in ipairs(CTL) do argv[#argv + 1] = a end
    host.obj.eng:exec_detached(host.id, argv)
    local deadline = core.now() + 5
    while ctl(net, host, { "ping" }).code ~= 0 do
      if core.now() > deadline then
        fail("impair " .. host.name, "natrig-shaper did not start (is NFQUEUE available? see `natrig doctor`)")
      end
      task.sleep(0.01)
    end
    rules(net, host, { "up", "--dir", "both" })
  end, "shaper " .. host.name)
  st.starting:join()
  st.starting = nil
  return st
end

-- The device carrying an address, from `ip -o -4 addr` (interface names are not stable).
local function dev_for(net, host, ip)
  local out = M.exec(net, host, { "ip", "-o", "-4", "addr", "show" }, true).stdout
  return iface.iface_for(out, ip) or fail("impair " .. host.name, "no interface carries " .. tostring(ip))
end

-- The address that names the node's link: its address on its segment (a router's: WAN).
local function link_addr(x) return x.private_ip or x.wan_ip end

-- The node's link for tc: the interface carrying that address.
local function link_dev(net, host)
  return dev_for(net, host, link_addr(host.obj))
end

-- Set (or replace) the impairment of one queue: key = "all" or an address.
local function shaper_set(net, host, key, tokens, dir)
  local st = ensure_shaper(net, host)
  local q = st.queues[key]
  local fresh = not q
  if fresh then
    q = { num = st.next_queue }
    st.next_queue = st.next_queue + 1
    st.queues[key] = q
    ctl(net, host, { "bind", "--queue", tostring(q.num) }, true)
  end
  local set = { "set", "--queue", tostring(q.num) }
  for _, t in ipairs(tokens) do set[#set + 1] = t end
  ctl(net, host, set, true)
  if q.dir ~= dir then
    -- the rule names the interface carrying the node's address (the shaper finds it --via
    -- that address), so nothing on lo, a tun or another interface is queued
    local function args(action, d, dev)
      local a = { action, "--dir", d, "--queue", tostring(q.num) }
      if dev then a[#a + 1] = "--dev"; a[#a + 1] = dev
      else a[#a + 1] = "--via"; a[#a + 1] = link_addr(host.obj) end
      if key ~= "all" then a[#a + 1] = "--addr"; a[#a + 1] = key end
      return a
    end
    if q.dir then pcall(rules, net, host, args("del", q.dir, q.dev)) end
    q.dev = rules(net, host, args("add", dir))
    q.dir = dir
  end
  return q
end

local function shaper_clear(net, host, key)
  local st = host.obj.shaper
  local q = st and st.queues[key]
  if not q then return end
  if q.dir then
    local a = { "del", "--dir", q.dir, "--queue", tostring(q.num), "--dev", q.dev }
    if key ~= "all" then a[#a + 1] = "--addr"; a[#a + 1] = key end
    pcall(rules, net, host, a)
    q.dir, q.dev = nil, nil
  end
  ctl(net, host, { "clear", "--queue", tostring(q.num) }, true)
end


-- Impair everything x sends (and receives, with direction both). x: node or router.
function M.apply(net, x, spec)
  local tokens, dir, empty = M.spec(spec)
  local host = M.host_of(x)
  if empty then return M.clear(net, x) end
  local t0 = core.now()
  local eng = known(net, host)
  if not eng then
    -- the run's one engine probe overlaps the shaper's start (two engine round trips in the
    -- time of one); on a netem kernel a shaper started for nothing just idles, and one that
    -- cannot start fails loudly when it is needed
    task.parallel(function() M.engine(net, host) end, function() pcall(ensure_shaper, net, host) end)
    eng = known(net, host)
  end
  -- netem on the same interface the shaper's rules name; but tc (iproute2 < 6.4) takes no
  -- seed, so a seeded run (seed=, NATRIG_SEED) goes to the shaper, whose fates repeat
  local want_seed = has_seed(tokens) or (core.getenv("NATRIG_SEED") or "") ~= ""
  if eng == "netem" and dir == "egress" and not want_seed then
    local dev = link_dev(net, host)
    local s = {}
    for _, t in ipairs(tokens) do local k, v = t:match("^([^=]+)=(.*)$"); if k ~= "direction" then s[k] = v end end
    local r = M.exec(net, host, core.impair_netem_argv(s, dev, "netem"))
    if r.code ~= 0 then
      fail("impair " .. host.name, ("tc netem refused (exit %d): %s; where the kernel has no sch_netem, "
        .. "unset NATRIG_IMPAIR_ENGINE=netem and natrig-shaper impairs instead"):format(r.code,
        (r.stderr ~= "" and r.stderr or r.stdout):gsub("%s+$", "")))
    end
    x.netem_dev = dev
    x.impair_seed = nil
  else
    tokens = seeded(net, x, "all", tokens)
    shaper_set(net, host, "all", tokens, dir)
  end
  x.impairment = table.concat(tokens, " ")
  return iface.impairment(x.name, x.impairment, x.netem_dev and "netem" or "natrig-shaper", core.now() - t0)
end

function M.clear(net, x)
  local host, t0 = M.host_of(x), core.now()
  if x.netem_dev then
    M.exec(net, host, core.impair_netem_argv({}, x.netem_dev, "clear"))
    x.netem_dev = nil
  end
  shaper_clear(net, host, "all")
  x.impairment = nil
  return iface.impairment(x.name, "", nil, core.now() - t0)
end

-- The address `a` uses to reach `b`: b's private address behind the same router, else
-- its public one (what a's packets are addressed to).
function M.addr_from(a, b)
  if b.router and a.router == b.router then return b.private_ip end
  return b.public_ip or b.wan_ip
end

-- Only traffic between a and b: shaped in a's namespace, to (and, with direction both,
-- from) b's address as a sees it. A node sharing b's public address (behind the same NAT)
-- shares the impairment.
function M.link(net, a, b, spec)
  local tokens, dir = M.spec(spec)
  local host = M.host_of(a)
  local key, t0 = M.addr_from(a, b) .. "/32", core.now()
  M.engine(net, host)
  tokens = seeded(net, a, key, tokens)
  shaper_set(net, host, key, tokens, dir)
  return iface.impairment(a.name .. " -> " .. b.name, table.concat(tokens, " "), "natrig-shaper", core.now() - t0)
end

function M.clear_link(net, a, b)
  local t0 = core.now()
  shaper_clear(net, M.host_of(a), M.addr_from(a, b) .. "/32")
  return iface.impairment(a.name .. " -> " .. b.name, "", nil, core.now() - t0)
end

-- The seeds in use, as text for the run's artifacts (nil when nothing was seeded):
--   run seed N (replay: NATRIG_SEED=N)
--   a node seed=S
--   a link to 10.0.0.3/32 seed=S
function M.seed_report(net)
  if not net.impair_seed then return nil end
  local lines = { ("run seed %s (replay: NATRIG_SEED=%s)"):format(net.impair_seed, net.impair_seed) }
  local all = {}
  for _, n in ipairs(net.nodes or {}) do all[#all + 1] = n end
  for _, r in ipairs(net.routers or {}) do all[#all + 1] = r end
  for _, x in ipairs(all) do
    local keys = {}
    for k in pairs(x.impair_seeds or {}) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do
      lines[#lines + 1] = ("%s %s seed=%s"):format(x.name, k == "all" and "node" or ("link to " .. k),
        x.impair_seeds[k])
    end
  end
  return table.concat(lines, "\n") .. "\n"
end

-- natrig-shaper counters for x (seen, dropped, delayed, ...), per queue.
function M.stats(net, x)
  local host = M.host_of(x)
  if not x.shaper then return {} end
  local r = ctl(net, host, { "stats" }, true)
  local all = {}
  for line in r.stdout:gmatch("[^\n]+") do
    local st = {}
    for k, v in line:gmatch("([%w_]+)=(%S+)") do st[k] = tonumber(v) or v end
    if st.queue then all[#all + 1] = st end
  end
  return all
end

-- Warning lines for the run's summary: each shaper queue that released more than 1% of its
-- held packets later than 10% of their delay (its p99 lateness above 10% of the asked delay).
function M.late_warnings(net)
  local hosts, out = {}, {}
  for _, l in ipairs({ net.routers or {}, net.nodes or {} }) do
    for _, x in ipairs(l) do if x.shaper then hosts[#hosts + 1] = x end end
  end
  local stats, fns = {}, {}
  for i, x in ipairs(hosts) do fns[i] = function() stats[i] = select(2, pcall(M.stats, net, x)) end end
  task.parallel(fns)
  for i, x in ipairs(hosts) do
    local keys = {}
    for k, q in pairs(x.shaper.queues) do keys[q.num] = k end
    for _, q in ipairs(type(stats[i]) == "table" and stats[i] or {}) do
      if (q.late_n or 0) > 0 and (q.late_over or 0) * 100 > q.late_n then
        local k = keys[q.queue]
        out[#out + 1] = ("warning: impairment timing: natrig-shaper on %s (%s) released %d of %d held "
          .. "packets later than 10%% of their delay (lateness p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
          .. "scheduling %s%s): delays there were longer than asked"):format(x.name,
          (k == "all" or not k) and "node-wide" or ("link to " .. k:gsub("/32$", "")), q.late_over, q.late_n,
          q.late_p50_us / 1000, q.late_p99_us / 1000, q.late_max_us / 1000, tostring(q.sched),
          q.sched == "fifo" and "" or ", real-time refused")
      end
    end
  end
  return out
end

-- At net:down(), before teardown: the late-release warnings into the run's log.
function M.finish(net)
  local ok, lines = pcall(M.late_warnings, net)
  for _, l in ipairs(ok and lines or {}) do net.log(l) end
end

return M
