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
-- (egress, the default | ingress | both), family (v4 | v6 | both, the default: every family
-- the node has; a link: every family both ends have), seed, preset. Numbers for delay/jitter
-- are ms.
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
-- A node's (or router's) impairment state is this module's sub-object of it, `x.shaping`,
-- made and written only here: spec (the canonical "k=v ..." text in force, node.impairment),
-- seed (node.impair_seed), seeds (per queue: "all" or a link's address), netem_dev.
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
local shaper = require "natrig.shaper"

local M = {}
M.SHAPER = shaper.SHAPER
M.host_of, M.exec, M.stats = shaper.host_of, shaper.exec, shaper.stats

local function fail(op, msg) core.fail("engine", op, msg) end

local function shaping(x)
  local s = x.shaping
  if not s then s = {}; x.shaping = s end
  return s
end

--- The impairment in force on x (node or router): canonical "k=v ..." text, or nil.
-- @local
function M.current(x) return x.shaping and x.shaping.spec end
--- The seed of x's own impairment (nil: none, or netem's, which takes no seed).
-- @local
function M.seed_of(x) return x.shaping and x.shaping.seed end
--- What natrig.attach read back from x's natrig-shaper: the spec in force.
-- @local
function M.restore(x, spec) shaping(x).spec = spec end

-- The spec as canonical key=value tokens (validated in C), its direction, emptiness, family.
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
  local h = math.tointeger(tonumber(core.hash(run_seed(net) .. "/" .. x.name .. "/" .. key), 16))
  return ("%d"):format(h & 0x7fffffffffffffff)
end

-- The tokens with a seed: the spec's own, else one derived from the run seed. Records it
-- in x.shaping.seeds[key] (key: "all" or a link's address) and, node-wide, x.shaping.seed.
local function seeded(net, x, key, tokens)
  local out, seed = tokens, nil
  for _, t in ipairs(tokens) do seed = seed or t:match("^seed=(%d+)$") end
  if not seed then
    seed = derived_seed(net, x, key)
    out = { table.unpack(tokens) }
    out[#out + 1] = "seed=" .. seed
  end
  local sh = shaping(x)
  sh.seeds = sh.seeds or {}
  sh.seeds[key] = seed
  if key == "all" then sh.seed = seed end
  return out
end

local function has_seed(tokens)
  for _, t in ipairs(tokens) do if t:match("^seed=") then return true end end
  return false
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

-- The families a spec shapes on x: { v4 =, v6 = }. "both" is every family x has; a family
-- x lacks is an error that says how to give it one.
local function families(x, family, op)
  local has = shaper.families(x)
  if family == "both" then return has end
  if not has[family] then
    core.fail("einval", op, ("family = %q, but %s has no %s address (%s)"):format(family, x.name,
      family == "v6" and "IPv6" or "IPv4", family == "v6" and 'give it ip = "dual" or "v6only"'
        or 'it is ip = "v6only"; give it ip = "dual"'))
  end
  return { [family] = true }
end

-- Impair everything x sends (and receives, with direction both). x: node or router.
function M.apply(net, x, spec)
  local tokens, dir, empty, family = M.spec(spec)
  local host = M.host_of(x)
  if empty then return M.clear(net, x) end
  local fams = families(x, family, "impair " .. x.name)
  local t0 = core.now()
  local eng = known(net, host)
  if not eng then
    -- the run's one engine probe overlaps the shaper's start (two engine round trips in the
    -- time of one); on a netem kernel a shaper started for nothing just idles, and one that
    -- cannot start fails loudly when it is needed
    task.parallel(function() M.engine(net, host) end, function() pcall(shaper.ensure, net, host) end)
    eng = known(net, host)
  end
  -- netem on the same interface the shaper's rules name; but tc (iproute2 < 6.4) takes no
  -- seed, so a seeded run (seed=, NATRIG_SEED) goes to the shaper, whose fates repeat
  local want_seed = has_seed(tokens) or (core.getenv("NATRIG_SEED") or "") ~= ""
  -- (and a root qdisc shapes every family: one family alone is the shaper's)
  if eng == "netem" and dir == "egress" and family == "both" and fams.v4 and not want_seed then
    local dev = shaper.link_dev(net, host)
    local s = {}
    for _, t in ipairs(tokens) do local k, v = t:match("^([^=]+)=(.*)$"); if k ~= "direction" then s[k] = v end end
    local r = M.exec(net, host, core.impair_netem_argv(s, dev, "netem"))
    if r.code ~= 0 then
      fail("impair " .. host.name, ("tc netem refused (exit %d): %s; where the kernel has no sch_netem, "
        .. "unset NATRIG_IMPAIR_ENGINE=netem and natrig-shaper impairs instead"):format(r.code,
        (r.stderr ~= "" and r.stderr or r.stdout):gsub("%s+$", "")))
    end
    local sh = shaping(x)
    sh.netem_dev, sh.seed = dev, nil
  else
    tokens = seeded(net, x, "all", tokens)
    shaper.set(net, host, "all", tokens, dir, fams)
  end
  local sh = shaping(x)
  sh.spec = table.concat(tokens, " ")
  return iface.impairment(x.name, sh.spec, sh.netem_dev and "netem" or "natrig-shaper", core.now() - t0)
end

function M.clear(net, x)
  local host, t0, sh = M.host_of(x), core.now(), shaping(x)
  if sh.netem_dev then
    M.exec(net, host, core.impair_netem_argv({}, sh.netem_dev, "clear"))
    sh.netem_dev = nil
  end
  shaper.clear(net, host, "all")
  sh.spec = nil
  return iface.impairment(x.name, "", nil, core.now() - t0)
end

-- The address `a` uses to reach `b` in a family: b's private address behind the same router,
-- else its public one (what a's packets are addressed to); nil when b has none there.
function M.addr_from(a, b, fam)
  if fam == "v6" then
    if b.router and a.router == b.router then return b.private_ip6 end
    return b.public_ip6 or b.wan_ip6
  end
  if b.router and a.router == b.router then return b.private_ip end
  return b.public_ip or b.wan_ip
end

-- A link's queues: one a family, keyed by b's address in it ("a.b.c.d/32", "x::y/128"),
-- for the families the spec names that both ends speak.
local function link_keys(a, b, family)
  local keys, has = {}, shaper.families(a)
  for _, fam in ipairs({ "v4", "v6" }) do
    local addr = M.addr_from(a, b, fam)
    if (family == "both" or family == fam) and has[fam] and addr then
      keys[#keys + 1] = { fam = fam, key = addr .. (fam == "v6" and "/128" or "/32") }
    end
  end
  if #keys == 0 then
    core.fail("einval", "impair_link", ("%s -> %s: no %s address on both ends (family = %q)"):format(a.name,
      b.name, family == "both" and "common" or (family == "v6" and "IPv6" or "IPv4"), family))
  end
  return keys
end

-- Only traffic between a and b: shaped in a's namespace, to (and, with direction both,
-- from) b's address as a sees it, in each family both speak (family = "v4"/"v6": one). A
-- node sharing b's public address (behind the same NAT) shares the impairment.
function M.link(net, a, b, spec)
  local tokens, dir, _, family = M.spec(spec)
  local host, t0, imp = M.host_of(a), core.now(), nil
  local keys = link_keys(a, b, family)
  M.engine(net, host)
  for _, k in ipairs(keys) do
    local toks = seeded(net, a, k.key, tokens)
    shaper.set(net, host, k.key, toks, dir, { [k.fam] = true })
    imp = table.concat(toks, " ")
  end
  return iface.impairment(a.name .. " -> " .. b.name, imp, "natrig-shaper", core.now() - t0)
end

function M.clear_link(net, a, b)
  local t0 = core.now()
  for _, fam in ipairs({ "v4", "v6" }) do
    local addr = M.addr_from(a, b, fam)
    if addr then shaper.clear(net, M.host_of(a), addr .. (fam == "v6" and "/128" or "/32")) end
  end
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
    local keys, seeds = {}, x.shaping and x.shaping.seeds or {}
    for k in pairs(seeds) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do
      lines[#lines + 1] = ("%s %s seed=%s"):format(x.name, k == "all" and "node" or ("link to " .. k), seeds[k])
    end
  end
  return table.concat(lines, "\n") .. "\n"
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
          (q.sched == "fifo" or q.sched == "deadline") and "" or ", real-time refused")
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
