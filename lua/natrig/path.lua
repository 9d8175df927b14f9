--- natrig.path: the network's own verdict on what carries the traffic between two nodes.
--
--   net:paths()                                -- start counting now (every node), all pairs
--   local p = net:path(a, b)                   -- { kind, via, a_to_b, b_to_a, first, last, endpoints }
--   net:wait_path{ a, b, kind = "direct", timeout = 30 }
--   expect(net:path(a, b).kind):eq("direct")
--
-- kind is "direct", "hairpin", "lan", "relayed" (via the relay node's name) or "none";
-- a_to_b = { packets, bytes } a sent toward b on that path (IP bytes, as the kernel counts
-- them) and { received_packets, received_bytes } that arrived at b from it. Counting is
-- done in each node's own namespace by an nftables table (natrig.path_class) after the
-- node's filters, so a partition or isolation shows as "none". It starts at the first call
-- of net:path, net:paths or net:wait_path (nothing is installed in runs that never ask);
-- from then on a watcher samples every node every `INTERVAL` seconds and writes each change
-- of a pair's path into the timeline ("natrig path a<->b direct -> none").
-- A path is current while packets of it arrive within `idle` seconds (default 10), and broken
-- (none) once a or b has sent on it for path_class.BROKEN seconds with nothing arriving.
-- @module natrig.path
local core = require "natrig.core"
local task = require "natrig.task"
local pc = require "natrig.path_class"

local M = {}
M.INTERVAL = 0.1
M.EXEC_INTERVAL = 0.5
M.IDLE = 10

local function bad(op, msg) core.fail("einval", op, msg) end

local function outer(r)
  while r.behind do r = r.behind end
  return r
end

-- What path_class needs to know of a node.
local function rec(n)
  return { name = n.name, private_ip = n.private_ip, public_ip = n.public_ip, behind_nat = n.router ~= nil,
    private_ip6 = n.private_ip6, public_ip6 = n.public_ip6,
    lan = n.router and n.router.lan and n.router.lan.name or nil, outer = n.router and outer(n.router).name or nil }
end

local function check_node(net, op, x, which)
  local node_mt = require("natrig.node").Node
  if getmetatable(x) ~= node_mt then
    bad(op, ("%s must be a node of the network (net:peer, net:gateway, net:node), got %s"):format(which,
      getmetatable(x) == require("natrig.node").Router and "a router (a path is between nodes)" or type(x)))
  end
  if x.net ~= net then
    bad(op, ("%s (%s) belongs to another network (run %s): a path is between nodes of one network"):format(
      which, x.name, x.net and x.net.session and x.net.session.run_id or "?"))
  end
end

-- With a local engine the holder writes its listing into its control directory (bind-
-- mounted at /run/natrig) every DUMP_MS milliseconds (natrig-peer every), and natrig reads
-- the file: no engine call per sample.
M.DUMP_MS = "150"
-- nft and its arguments listing n's counting tables (its IPv6 one too when it has IPv6)
local function list_argv(n, prefix)
  local a = {}
  for _, x in ipairs(prefix) do a[#a + 1] = x end
  a[#a + 1] = "nft"
  for _, x in ipairs(pc.list_args(n.private_ip6 ~= nil)) do a[#a + 1] = x end
  return a
end
local DUMP = { "/usr/local/bin/natrig-peer", "every", M.DUMP_MS, "/run/natrig/path.txt" }

local function install(st, n)
  local ok, err = pcall(n.netexec, n, { "nft", pc.nft_script(n.private_ip6 ~= nil) }, { quiet = true, check = true })
  if ok and n.ctl_dir then
    pcall(core.remove, n.ctl_dir .. "/path.txt")
    if pcall(n.eng.exec_detached, n.eng, n.holder, list_argv(n, DUMP)) then
      st.file[n] = n.ctl_dir .. "/path.txt"
    end
  end
  if ok then st.installed[n] = true
  elseif not st.warned[n] then
    st.warned[n] = true
    st.net.log(("net:path: could not install the counting table in %s: %s"):format(n.name, tostring(err)))
  end
end

local function sample(st)
  local jobs = {}
  for _, n in ipairs(st.net.nodes) do
    if n.holder and not n.removed then
      jobs[#jobs + 1] = function()
        if not st.installed[n] then install(st, n) return end
        if st.file[n] then
          local ok, text = pcall(core.read_file, st.file[n])
          if ok and text then st.tr:sample(n.name, pc.parse(text), core.time()) end
          return
        end
        local ok, r = pcall(n.netexec, n, list_argv(n, {}), { quiet = true })
        if ok and r.code == 0 then st.tr:sample(n.name, pc.parse(r.stdout), core.time()) end
      end
    end
  end
  task.parallel(jobs)
  st.tr.t = core.time()
  st.samples = st.samples + 1
end

local function relays(net)
  local l = {}
  for _, n in ipairs(net.nodes) do
    if n.path_relay then
      local r = rec(n)
      r.listen_port = n.relay and n.relay.port or nil
      l[#l + 1] = r
    end
  end
  return l
end

local function classify(st, a, b, idle)
  return pc.classify(st.tr, rec(a), rec(b), relays(st.net), st.tr.t or core.time(), idle or M.IDLE)
end

-- Every pair's path; changes go into the timeline.
local function note_changes(st)
  local nodes = st.net.nodes
  for i = 1, #nodes do
    for j = i + 1, #nodes do
      local a, b = nodes[i], nodes[j]
      if st.installed[a] and st.installed[b] then
        local key = a.name .. "<->" .. b.name
        local d = pc.describe(classify(st, a, b))
        local was = st.kinds[key] or "none"
        if d ~= was then
          st.net:note("path", ("%s %s -> %s"):format(key, was, d))
          st.kinds[key] = d
        end
      end
    end
  end
end

--- Start counting (once per network) and the watcher; returns the state.
-- @local
function M.ensure(net, op)
  if net.state ~= "up" then
    bad(op, ("the network is %s: paths are measured while it is up (after net:up())"):format(net.state))
  end
  local st = net.path_state
  if st then return st end
  st = { net = net, tr = pc.tracker(), installed = {}, warned = {}, kinds = {}, samples = 0, file = {} }
  net.path_state = st
  local jobs = {}
  for _, n in ipairs(net.nodes) do
    if n.holder then jobs[#jobs + 1] = function() install(st, n) end end
  end
  task.parallel(jobs)
  sample(st)
  st.task = task.spawn(function()
    while net.state == "up" and net.path_state == st do
      local t0 = core.now()
      local ok = pcall(sample, st)
      if ok then note_changes(st) end
      -- reading files: every INTERVAL; an exec per node (a remote engine): every EXEC_INTERVAL
      local every = next(st.file) and M.INTERVAL or M.EXEC_INTERVAL
      task.sleep(math.max(0.02, every - (core.now() - t0)))
    end
  end, "path watcher")
  return st
end

--- net:path(a, b[, { idle = seconds }]): the path between two nodes now.
function M.path(net, a, b, opts)
  opts = core.check_options("net:path", opts, { idle = "number" })
  check_node(net, "net:path", a, "a")
  check_node(net, "net:path", b, "b")
  if a == b then bad("net:path", ("a and b are the same node (%s)"):format(a.name)) end
  local st = M.ensure(net, "net:path")
  local p = classify(st, a, b, opts.idle)
  p.a, p.b = a.name, b.name
  M.asked(st, a, b, p)
  return p
end

--- net:paths(): every pair of nodes that has talked since counting started:
-- { ["a<->b"] = path, ... } (the "none" ones included when they talked before).
function M.paths(net, opts)
  opts = core.check_options("net:paths", opts, { idle = "number" })
  local st = M.ensure(net, "net:paths")
  local out = {}
  local nodes = net.nodes
  for i = 1, #nodes do
    for j = i + 1, #nodes do
      local p = classify(st, nodes[i], nodes[j], opts.idle)
      if p.kind ~= "none" or p.previous then
        p.a, p.b = nodes[i].name, nodes[j].name
        out[p.a .. "<->" .. p.b] = p
      end
    end
  end
  return out
end

local KINDS = { direct = true, hairpin = true, lan = true, relayed = true, none = true }

--- net:wait_path{ a, b, kind = "direct", via = relay, timeout = 30, idle = 10 }: wait until
-- the pair's path is of that kind; returns it. Fails after timeout with what was seen.
function M.wait_path(net, q)
  q = core.check_options("net:wait_path", q, { [1] = "table", [2] = "table", kind = "string",
    via = "table|string", timeout = "number", idle = "number" })
  local a, b = q[1], q[2]
  check_node(net, "net:wait_path", a, "the first node")
  check_node(net, "net:wait_path", b, "the second node")
  if not KINDS[q.kind or ""] then
    bad("net:wait_path", ("kind must be one of direct, hairpin, lan, relayed, none; got %s"):format(tostring(q.kind)))
  end
  local via = type(q.via) == "table" and q.via.name or q.via
  local timeout = q.timeout or 30
  local st = M.ensure(net, "net:wait_path")
  local deadline = core.now() + timeout
  local p
  while true do
    p = classify(st, a, b, q.idle)
    if p.kind == q.kind and (not via or p.via == via) then
      p.a, p.b = a.name, b.name
      M.asked(st, a, b, p)
      return p
    end
    if core.now() >= deadline then break end
    task.sleep(math.min(M.INTERVAL, math.max(0.01, deadline - core.now())))
  end
  M.asked(st, a, b, p)
  core.fail("timeout", "net:wait_path",
    ("%s<->%s: no %s path%s within %gs; the path is %s (%s)"):format(a.name, b.name, q.kind,
      via and (" via " .. via) or "", timeout, pc.describe(p),
      #p.endpoints > 0 and table.concat(p.endpoints, ", ") or "no packets counted"))
end

--- net:record_path(a, b): the pair's path kind as a sweep metric ("path a<->b direct" = 1,
-- natrig.metric), so a sweep's report shows which kind each case got; returns the path.
function M.record_path(net, a, b, opts)
  local p = M.path(net, a, b, opts)
  require("natrig.metrics").record(("path %s<->%s %s"):format(a.name, b.name, pc.describe(p)), 1, "")
  return p
end

--- Remember the verdict last given for a pair (net:path, net:wait_path), for a failure's
-- evidence. @local
function M.asked(st, a, b, p)
  st.asked = st.asked or {}
  st.asked[a.name .. "<->" .. b.name] = { a = a, b = b, p = p, at = core.time() }
end

-- What a program says about its own connection: its lines that speak of one.
local SAYS = { "direct", "relay", "punch", "hairpin", "connect", "handshake", "path", "via", "peer" }
M.EVIDENCE_WINDOW = 10 -- seconds between the last verdict asked and the failure
M.EVIDENCE_LINES = 5

local function said(n, since)
  local ok, es = pcall(require("natrig.logs").query, n, { since = since })
  if not ok or type(es) ~= "table" then return {}, "its log could not be read: " .. tostring(es) end
  local hits, last = {}, {}
  for i = math.max(1, #es - 199), #es do
    local raw = tostring(es[i].raw or es[i].message or ""):gsub("%s+$", "")
    local low = raw:lower()
    last[#last + 1] = raw
    for _, w in ipairs(SAYS) do
      if low:find(w, 1, true) then hits[#hits + 1] = raw; break end
    end
  end
  local pick, what = #hits > 0 and hits or last, #hits > 0 and "what it said of its connection" or "its last lines"
  local out = {}
  for i = math.max(1, #pick - M.EVIDENCE_LINES + 1), #pick do out[#out + 1] = pick[i] end
  return out, what
end

--- When a run fails within EVIDENCE_WINDOW seconds of net:path or net:wait_path being
-- asked about a pair (an `expect(net:path(a, b).kind)` or a wait that timed out), the
-- failure shows net:path's verdict beside what each end's own program logged: the text to
-- append to the error, or nil. Each verdict is also a timeline line (`path a<->b verdict`).
-- @local
function M.evidence(net, now)
  local st = net.path_state
  if not st or not st.asked then return nil end
  now = now or core.time()
  local recent = {}
  for key, q in pairs(st.asked) do
    if now - q.at <= M.EVIDENCE_WINDOW then recent[#recent + 1] = { key = key, q = q } end
  end
  if #recent == 0 then return nil end
  table.sort(recent, function(x, y) return x.q.at > y.q.at end)
  local l = { "", "net:path's verdict beside the programs' own logs:" }
  for i = 1, math.min(3, #recent) do
    local key, q = recent[i].key, recent[i].q
    local p = q.p
    local verdict = ("%s %s (%s->%s %d packets, %s->%s %d packets)"):format(key, pc.describe(p),
      q.a.name, q.b.name, p.a_to_b and p.a_to_b.packets or 0, q.b.name, q.a.name, p.b_to_a and p.b_to_a.packets or 0)
    l[#l + 1] = ("  net:path %s, %.1f s before the failure"):format(verdict, now - q.at)
    net:note("path", key .. " verdict " .. pc.describe(p))
    for _, n in ipairs({ q.a, q.b }) do
      local lines, what = said(n, q.at - 60)
      l[#l + 1] = ("    %s's program, %s:"):format(n.name, what)
      if #lines == 0 then l[#l + 1] = "      (nothing in the last 60 s)" end
      for _, x in ipairs(lines) do l[#l + 1] = "      " .. x end
    end
  end
  return table.concat(l, "\n")
end

--- Give Network its methods: net:path, net:paths, net:wait_path, net:record_path, net:relay,
-- net:dns. (Their reference, with types and examples, is doc/network.lua's; help() shows
-- the first sentence of each comment below.)
function M.methods(Network)
  --- The path between two nodes now: direct, hairpin, lan, relayed or none.
  function Network:path(a, b, opts) return M.path(self, a, b, opts) end
  --- Every pair of nodes that has talked since counting started, by "a<->b".
  function Network:paths(opts) return M.paths(self, opts) end
  --- Wait until the pair's path is of a kind (and via a relay); returns it.
  function Network:wait_path(q) return M.wait_path(self, q) end
  --- The pair's path kind as a sweep metric ("path a<->b direct" = 1); returns the path.
  function Network:record_path(a, b, opts) return M.record_path(self, a, b, opts) end
  --- A relay node: a TURN server (coturn) on the public network, with credentials.
  function Network:relay(opts) return require("natrig.relay").new(self, opts) end
  --- The run's DNS node (dnsmasq) with zones, faults from Lua mid-run.
  function Network:dns(opts) return require("natrig.dns").new(self, opts) end
end

return M
