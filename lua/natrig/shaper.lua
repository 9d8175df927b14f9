--- natrig.shaper: talking to natrig-shaper, natrig's userspace shaper, in a node's network
-- holder or a router: starting it, its queues (one per node-wide impairment or link), the
-- NFQUEUE rules that feed each queue, and its counters. natrig.impair decides what to shape;
-- this module does it.
--
-- A queue's rules are per IP family (impair{ family = "v4" | "v6" | "both" }): IPv4 rules
-- with iptables, IPv6 ones with ip6tables, the same chains in each, hooked in the first time
-- a family is shaped. Each rule names the interface that carries the node's address of its
-- family (found --via that address), so nothing on lo, a tun or another interface is queued.
-- @module natrig.shaper
local core = require "natrig.core"
local task = require "natrig.task"
local iface = require "natrig.iface"

local M = {}
local SHAPER = "/usr/local/bin/natrig-shaper"
M.SHAPER = SHAPER
local CTL = { "--control", "/run/natrig/shaper.sock" }

local function fail(op, msg) core.fail("engine", op, msg) end

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

M.ensure = ensure_shaper

-- natrig-shaper's state in a node or router (its queues, the next free one) is this
-- module's sub-object of it, `x.shaper`, written only here (others read it).
--- x's natrig-shaper is gone (its container restarted): the next impair starts it again.
-- @local
function M.forget(x) x.shaper = nil end
--- What natrig.attach read back from x's namespace: the queues natrig-shaper serves.
-- @local
function M.restore(x, st) x.shaper = st end

-- The address that names the node's link in a family: its address on its segment (a
-- router's: WAN). A v6-only node has no IPv4 link.
local function link_addr(x, fam)
  if fam == "v6" then return x.private_ip6 or x.wan_ip6 end
  if x.ip == "v6only" then return nil end
  return x.private_ip or x.wan_ip
end
M.link_addr = link_addr

--- The families x can be shaped in: { v4 = bool, v6 = bool }.
-- @local
function M.families(x) return { v4 = link_addr(x, "v4") ~= nil, v6 = link_addr(x, "v6") ~= nil } end

-- The node's IPv4 link for tc: the interface carrying that address, from `ip -o -4 addr`
-- (interface names are not stable).
function M.link_dev(net, host)
  local ip = link_addr(host.obj, "v4")
  local out = M.exec(net, host, { "ip", "-o", "-4", "addr", "show" }, true).stdout
  return iface.iface_for(out, ip) or fail("impair " .. host.name, "no interface carries " .. tostring(ip))
end

-- The IPv6 chains, hooked in the first time anything of x is shaped over IPv6.
local function ensure6(net, host, st)
  if st.up6 then return end
  rules(net, host, { "up", "--dir", "both", "--family", "v6" })
  st.up6 = true
end

-- One rule set's arguments: add/del, family, direction, interface (nil: --via the address).
local function rule_args(host, key, q, action, fam, dir, dev)
  local a = { action, "--dir", dir, "--queue", tostring(q.num) }
  if fam == "v6" then a[#a + 1] = "--family"; a[#a + 1] = "v6" end
  if dev then a[#a + 1] = "--dev"; a[#a + 1] = dev
  else a[#a + 1] = "--via"; a[#a + 1] = link_addr(host.obj, fam) or link_addr(host.obj, "v4") end
  if key ~= "all" then a[#a + 1] = "--addr"; a[#a + 1] = key end
  return a
end

-- Remove a queue's rules (both families); a rule already gone is no error.
local function unhook(net, host, key, q)
  if q.dir and q.dev then pcall(rules, net, host, rule_args(host, key, q, "del", "v4", q.dir, q.dev)) end
  if q.dir and q.dev6 then pcall(rules, net, host, rule_args(host, key, q, "del", "v6", q.dir, q.dev6)) end
  q.dir, q.dev, q.dev6 = nil, nil, nil
end

--- Set (or replace) the impairment of one queue: key = "all" or an address; fams = { v4 =,
-- v6 = } the families whose packets it gets.
-- @local
function M.set(net, host, key, tokens, dir, fams)
  local st = ensure_shaper(net, host)
  local q = st.queues[key]
  if not q then
    q = { num = st.next_queue }
    st.next_queue = st.next_queue + 1
    st.queues[key] = q
    ctl(net, host, { "bind", "--queue", tostring(q.num) }, true)
  end
  local set = { "set", "--queue", tostring(q.num) }
  for _, t in ipairs(tokens) do set[#set + 1] = t end
  ctl(net, host, set, true)
  if q.dir ~= dir or (q.dev ~= nil) ~= (fams.v4 == true) or (q.dev6 ~= nil) ~= (fams.v6 == true) then
    unhook(net, host, key, q)
    if fams.v4 then q.dev = rules(net, host, rule_args(host, key, q, "add", "v4", dir)) end
    if fams.v6 then
      ensure6(net, host, st)
      q.dev6 = rules(net, host, rule_args(host, key, q, "add", "v6", dir))
    end
    q.dir = dir
  end
  return q
end

--- Stop shaping one queue: its rules go, the shaper forgets its spec.
-- @local
function M.clear(net, host, key)
  local st = host.obj.shaper
  local q = st and st.queues[key]
  if not q then return end
  unhook(net, host, key, q)
  ctl(net, host, { "clear", "--queue", tostring(q.num) }, true)
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

return M
