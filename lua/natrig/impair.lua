-- natrig.impair: network conditions and faults, changed at any point of a run.
--
--   a:impair{ delay = "100ms", jitter = "10ms", loss = "1%", direction = "both" }
--   a:impair("intercontinental")                 -- a preset (the seed's figures)
--   net:impair_link(a, b, { delay = "50ms" })    -- only traffic between a and b
--   a:clear_impair()          net:clear_link(a, b)
--   net:partition({ a }, { b, c })   net:heal()   a:isolate()   a:rejoin()
--
-- Keys: delay, jitter, distribution (uniform|normal|pareto|paretonormal), loss,
-- loss_corr, duplicate, reorder, reorder_corr, reorder_gap, corrupt, rate, direction
-- (egress, the default | ingress | both), preset. Numbers for delay/jitter are ms.
--
-- Two engines behind one API. Where the kernel has sch_netem, a node's egress impairment
-- is a `tc netem` qdisc on its interface (found by address). Everything else -- kernels
-- without sch_netem (this project's machines), ingress, per-link impairment -- goes to
-- natrig-shaper, natrig's userspace shaper: iptables NFQUEUE rules in chains of our own
-- feed it, and it holds, drops, duplicates, reorders or corrupts each packet. It runs in
-- the node's network holder (or in the router), so the app's image needs nothing.
-- If neither engine can work, impair() fails loudly; it never silently does nothing.
local core = require "natrig.core"
local task = require "natrig.task"

local M = {}
local SHAPER = "/usr/local/bin/natrig-shaper"
local CTL = { "--control", "/run/natrig/shaper.sock" }

local function fail(op, msg) error(core.error { code = "engine", op = op, status = 0, message = msg }, 0) end

-- The spec as canonical key=value tokens (validated in C), its direction, emptiness.
function M.spec(spec)
  if type(spec) == "string" then spec = { preset = spec } end
  if type(spec) ~= "table" then
    error(core.error { code = "einval", op = "impair", status = 0,
      message = "expects a preset name or a table of key=value" }, 3)
  end
  return core.impair_check(spec)
end

-- A place where shaping happens: a node's holder or a router (both have CAP_NET_ADMIN
-- and natrig's tools).
local function host_of(x)
  if x.holder then return { id = x.holder, name = x.name, obj = x } end
  return { id = x.id, name = x.name, obj = x }
end

local function exec(net, host, argv, check)
  local r = net.eng:exec(host.id, argv, { name = host.name })
  if check and r.code ~= 0 then
    fail("impair " .. host.name, ("%s failed (exit %d): %s"):format(table.concat(argv, " "), r.code,
      (r.stderr ~= "" and r.stderr or r.stdout):gsub("%s+$", "")))
  end
  return r
end

-- Which engine this run uses: probed once, in a real container of the run.
function M.engine(net, probe_host)
  if net.impair_engine then return net.impair_engine end
  local forced = core.getenv("NATRIG_IMPAIR_ENGINE")
  if forced == "userspace" or forced == "netem" then
    net.impair_engine = forced
  else
    local r = exec(net, probe_host, { "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms" })
    if r.code == 0 then
      exec(net, probe_host, { "tc", "qdisc", "del", "dev", "lo", "root" })
      net.impair_engine = "netem"
    else
      net.impair_engine = "userspace"
    end
  end
  net.log(("impairment engine: %s"):format(net.impair_engine == "netem" and "tc netem (kernel sch_netem)" or
    "natrig-shaper, userspace through NFQUEUE (this kernel has no sch_netem)"))
  return net.impair_engine
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
  return exec(net, host, ctl_argv(argv), check)
end

-- Start natrig-shaper in the host once (a detached exec), and wait until it answers.
local function ensure_shaper(net, host)
  local st = host.obj.shaper
  if st then
    if st.starting then st.starting:join() end
    return st
  end
  st = { queues = {}, next_queue = 1, dirs = {} }
  host.obj.shaper = st
  st.starting = task.spawn(function()
    local argv = { SHAPER, "run" }
    for _, a in ipairs(CTL) do argv[#argv + 1] = a end
    net.eng:exec_detached(host.id, argv)
    local deadline = core.now() + 5
    while ctl(net, host, { "ping" }).code ~= 0 do
      if core.now() > deadline then fail("impair " .. host.name, "natrig-shaper did not start (is NFQUEUE available? see `natrig doctor`)") end
      task.sleep(0.02)
    end
  end, "shaper " .. host.name)
  st.starting:join()
  st.starting = nil
  return st
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
    local rules = function(action, d)
      local a = { SHAPER, "rules", action, "--dir", d, "--queue", tostring(q.num) }
      if key ~= "all" then a[#a + 1] = "--addr"; a[#a + 1] = key end
      return a
    end
    if not st.dirs[dir] then
      exec(net, host, { SHAPER, "rules", "up", "--dir", dir }, true)
      st.dirs[dir] = true
    end
    if q.dir then exec(net, host, rules("del", q.dir)) end
    exec(net, host, rules("add", dir), true)
    q.dir = dir
  end
  return q
end

local function shaper_clear(net, host, key)
  local st = host.obj.shaper
  local q = st and st.queues[key]
  if not q then return end
  if q.dir then
    local a = { SHAPER, "rules", "del", "--dir", q.dir, "--queue", tostring(q.num) }
    if key ~= "all" then a[#a + 1] = "--addr"; a[#a + 1] = key end
    exec(net, host, a)
    q.dir = nil
  end
  ctl(net, host, { "clear", "--queue", tostring(q.num) }, true)
end

-- The device carrying an address, from `ip -o -4 addr` (interface names are not stable).
local function dev_for(net, host, ip)
  local out = exec(net, host, { "ip", "-o", "-4", "addr", "show" }, true).stdout
  return require("natrig.node").iface_for(out, ip) or fail("impair " .. host.name, "no interface carries " .. tostring(ip))
end

-- Impair everything x sends (and receives, with direction both). x: node or router.
function M.apply(net, x, spec)
  local tokens, dir, empty = M.spec(spec)
  local host = host_of(x)
  if empty then return M.clear(net, x) end
  local eng = M.engine(net, host)
  local t0 = core.now()
  if eng == "netem" and dir == "egress" then
    local ip = x.private_ip or x.wan_ip
    local dev = dev_for(net, host, ip)
    local s = {}
    for _, t in ipairs(tokens) do local k, v = t:match("^([^=]+)=(.*)$"); if k ~= "direction" then s[k] = v end end
    exec(net, host, core.impair_netem_argv(s, dev, "netem"), true)
    x.netem_dev = dev
  else
    shaper_set(net, host, "all", tokens, dir)
  end
  x.impairment = table.concat(tokens, " ")
  return core.now() - t0
end

function M.clear(net, x)
  local host = host_of(x)
  if x.netem_dev then
    exec(net, host, core.impair_netem_argv({}, x.netem_dev, "clear"))
    x.netem_dev = nil
  end
  shaper_clear(net, host, "all")
  x.impairment = nil
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
  local host = host_of(a)
  M.engine(net, host)
  shaper_set(net, host, M.addr_from(a, b) .. "/32", tokens, dir)
end

function M.clear_link(net, a, b)
  shaper_clear(net, host_of(a), M.addr_from(a, b) .. "/32")
end

-- natrig-shaper counters for x (seen, dropped, delayed, ...), per queue.
function M.stats(net, x)
  local host = host_of(x)
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

------------------------------------------------------------------ partitions
-- Packet filters in each node's holder, in chains of our own (filter table), so heal()
-- flushes only those.
local CHAIN_IN, CHAIN_OUT = "NATRIG_PART_IN", "NATRIG_PART_OUT"

local function ensure_part_chains(net, host)
  local obj = host.obj
  if obj.part_chains then return end
  for _, c in ipairs({ { CHAIN_IN, "INPUT" }, { CHAIN_OUT, "OUTPUT" } }) do
    exec(net, host, { "iptables", "-w", "-N", c[1] }) -- may exist already
    if exec(net, host, { "iptables", "-w", "-C", c[2], "-j", c[1] }).code ~= 0 then
      exec(net, host, { "iptables", "-w", "-I", c[2], "1", "-j", c[1] }, true)
    end
  end
  obj.part_chains = true
end

local function block(net, a, addr)
  local host = host_of(a)
  ensure_part_chains(net, host)
  exec(net, host, { "iptables", "-w", "-A", CHAIN_OUT, "-d", addr, "-j", "DROP" }, true)
  exec(net, host, { "iptables", "-w", "-A", CHAIN_IN, "-s", addr, "-j", "DROP" }, true)
end

-- No traffic between any node of group1 and any node of group2 (both ways).
function M.partition(net, g1, g2)
  -- Rules of one namespace go in order; namespaces are independent, so one task each.
  local by_node, order = {}, {}
  for _, a in ipairs(g1) do
    for _, b in ipairs(g2) do
      for _, pair in ipairs({ { a, b }, { b, a } }) do
        local n = pair[1]
        if not by_node[n] then by_node[n] = {}; order[#order + 1] = n end
        table.insert(by_node[n], M.addr_from(pair[1], pair[2]))
      end
    end
  end
  local fns = {}
  for _, n in ipairs(order) do
    fns[#fns + 1] = function() for _, addr in ipairs(by_node[n]) do block(net, n, addr) end end
  end
  task.parallel(fns)
end

-- Cut a node off entirely (all but loopback), or bring it back.
function M.isolate(net, a)
  local host = host_of(a)
  ensure_part_chains(net, host)
  exec(net, host, { "iptables", "-w", "-A", CHAIN_OUT, "!", "-o", "lo", "-j", "DROP" }, true)
  exec(net, host, { "iptables", "-w", "-A", CHAIN_IN, "!", "-i", "lo", "-j", "DROP" }, true)
end

function M.heal_node(net, a)
  if not a.part_chains then return end
  local host = host_of(a)
  exec(net, host, { "iptables", "-w", "-F", CHAIN_IN }, true)
  exec(net, host, { "iptables", "-w", "-F", CHAIN_OUT }, true)
end

function M.heal(net)
  local jobs = {}
  for _, n in ipairs(net.nodes) do
    if n.part_chains then jobs[#jobs + 1] = function() M.heal_node(net, n) end end
  end
  task.parallel(jobs)
end

-- What `natrig doctor` reports: can netem work here, can NFQUEUE + natrig-shaper?
function M.probe(eng, image_ref)
  local s = require("natrig.session").new { engine = eng, scenario = "doctor" }
  local res = {}
  local ok, err = pcall(function()
    local id = eng:container_create(s:name("probe"), { Image = image_ref,
      Cmd = core.json_array { "sleep", "60" }, Labels = s:labels("probe"),
      HostConfig = { CapAdd = core.json_array { "NET_ADMIN", "NET_RAW" }, NetworkMode = "none", Init = true } })
    eng:container_start(id)
    local r = eng:exec(id, { "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms" })
    res.netem = r.code == 0
    res.netem_error = r.code ~= 0 and (r.stderr:gsub("%s+$", "")) or nil
    eng:exec_detached(id, { SHAPER, "run", "--queue", "7" })
    local ok2 = false
    for _ = 1, 50 do
      if eng:exec(id, { SHAPER, "ping" }).code == 0 then ok2 = true break end
      task.sleep(0.02)
    end
    local rr = eng:exec(id, { SHAPER, "rules", "up", "--dir", "egress" })
    res.nfqueue = ok2 and rr.code == 0
    res.nfqueue_error = not res.nfqueue and ((rr.stderr or "") .. (ok2 and "" or " natrig-shaper did not answer")) or nil
  end)
  s:teardown()
  if not ok then error(err, 0) end
  return res
end

return M
