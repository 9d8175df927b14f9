--- natrig.seal: the sealed lab. Nothing a node sends leaves natrig's networks unless the
-- network was made with `outside = true`; names natrig does not know are NXDOMAIN inside
-- the lab; and every dropped attempt to leave is kept as evidence (net:escapes()).
--
-- How (README "A sealed lab"):
-- * On the engine's host, one nftables table of natrig's own, `inet natrig_seal`, with a
--   chain on the forward and input hooks at priority filter - 10 (before Docker's chains):
--   a packet whose source is in a natrig subnet (set `nets`, every run's subnets, each
--   element commented with its run id) and whose destination is not (nor multicast or
--   broadcast) jumps, through the interval map `runs` (subnet -> `jump run_<id>`), to its
--   run's chain, which counts it into the run's dynamic sets -- keyed (source, destination,
--   protocol, port), one refreshed on every packet (counter, last seen) and one only added
--   (first seen) -- and drops it. A run made with outside = true has a chain that accepts.
-- * The rules are changed by a small container of the run's own on the host's network
--   namespace (natrig's base image has nft; CAP_NET_ADMIN), through the engine API: the
--   same for a local and a remote engine, no host shell, no root on natrig's side. Its
--   creation runs beside the networks' and every nft batch is one atomic transaction that
--   adds or deletes only its own run's elements, so runs never remove each other's.
--   Teardown (natrig.session) releases the run's entries in it once the run's containers
--   are gone, then removes it; the table stays (empty) and `natrig doctor` lists it.
-- * DNS: every holder and router gets HostConfig.Dns = natrig's resolver: a dnsmasq that is
--   the helper's main process, listening on the public bridge's own address on the host
--   (`--no-resolv --address=/#/`: NXDOMAIN for every name but the nodes', given as host
--   records). Docker's embedded DNS (127.0.0.11) forwards what it does not know to that
--   address, from the node's own namespace, so no query goes to the host's resolver. (A
--   resolver container on the public network took 5-7 s to start on a loaded engine,
--   queued behind the bring-up's endpoints; the helper needs none.)
-- * Over a Swarm, all of the above on every engine's host (a helper, the run's entries
--   and a resolver on each): the entries are the run's subnets on that engine plus the
--   overlay's; a gateway or public node, whose only network is the overlay, leaves through
--   docker_gwbridge (default route, masqueraded by the host) with its docker_gwbridge
--   address, so that address (/32) joins the run's entries before its app starts. The
--   overlay has no address on the hosts, so the resolver listens on a small bridge of the
--   run's own on each engine (natrig.plan: `dns-<engine>`, no container on it), reached
--   through docker_gwbridge by the overlay's nodes, and on each LAN's bridge address,
--   reached on their own segment by the LAN's nodes and router (through the router the
--   query would leave with its overlay address, to which the host has no route back).
-- @module natrig.seal
local core = require "natrig.core"
local task = require "natrig.task"

local M = {}

local nftx = require "natrig.seal_nft" -- the nft text: batches and parsers (pure)

M.TABLE = nftx.TABLE
local HOLD = { "/usr/bin/sleep", "2000000000" }
-- The resolver's runner (a script file in the helper; its argv: dnsmasq's).
local RETRY_PATH = "/run/natrig-retry.sh"
local RETRY = [[
i=0
while :; do
  "$@" & p=$!
  trap "kill -HUP $p" HUP
  while :; do wait $p; r=$?; kill -0 $p 2>/dev/null || break; done
  i=$((i+1)); [ $i -ge 5 ] && exit $r
  sleep 0.2
done
]]
M.LIVE_HOSTS = "/run/natrig-hosts" -- in the helper: nodes added while the network is up

local function bad(op, msg) core.fail("einval", op, msg) end

-- the helper: nft on the engine's host --------------------------------------------------

--- The host-network container that runs nft for a run (created and started); argv: its
-- main process (the run's resolver), else it only holds.
function M.helper(eng, image, s, argv)
  if argv then
    -- Tried up to 5 times: on a host where other runs' interfaces come and go, dnsmasq's
    -- start-up listing of the interfaces failed once with "failed to find list of
    -- interfaces: No such device" (load average 46). A lasting failure (port 53 taken)
    -- still ends the helper, with dnsmasq's own message in its log. SIGHUP (M.wait: a node
    -- added) is passed on to dnsmasq.
    argv = { "/bin/sh", RETRY_PATH, table.unpack(argv) }
  end
  local id = eng:container_create(s:name("seal"), {
    Image = image, Cmd = core.json_array(argv or HOLD), Labels = s:labels("seal"),
    HostConfig = { NetworkMode = "host", Init = true, CapAdd = core.json_array { "NET_ADMIN" } },
  })
  if argv then eng:put_files(id, { { path = RETRY_PATH:sub(2), data = RETRY, mode = 493 } }, "/") end
  eng:container_start(id)
  return id
end

local function nft(eng, id, args, check)
  local argv = { "nft" }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local r = eng:exec(id, argv)
  if check and r.code ~= 0 then
    core.fail("engine", "seal", ("nft %s failed on the engine's host: %s"):format(args[1],
      (r.stderr ~= "" and r.stderr or r.stdout):sub(1, 400)))
  end
  return r
end

--- The table as parsed by M.parse_table (empty when it does not exist).
function M.state(eng, id)
  local r = nft(eng, id, { "-j", "list", "table", "inet", M.TABLE })
  return nftx.parse_table(r.code == 0 and r.stdout or "{}")
end

-- A batch made from a fresh listing, retried when another run changed the table between
-- the listing and the transaction (an element gone: the batch fails whole, nothing done).
-- (st: a listing just made, used for the first try)
local function apply(eng, id, make, st)
  local err
  for i = 1, 4 do
    local batch = make(i == 1 and st or M.state(eng, id))
    if batch == "" then return end
    local r = nft(eng, id, { batch })
    if r.code == 0 then return end
    err = r.stderr
    task.sleep(0.05)
  end
  core.fail("engine", "seal", "nft on the engine's host failed: " .. tostring(err):sub(1, 400))
end

--- Runs with entries in the table whose networks no longer exist on the engine (a run
-- killed with its watchdog): listed, then the engine's networks read, so an entry added
-- after its network was made is never taken for stale.
local function stale_runs(eng, st, keep)
  local live = {}
  for _, n in ipairs(eng:network_list { label = core.json_array { "natrig" } }) do
    for _, c in ipairs((n.IPAM or {}).Config or {}) do if c.Subnet then live[c.Subnet] = true end end
  end
  return nftx.stale_runs(st, live, keep)
end

-- Start the helper again if it stopped (a container_list entry's state).
local function running(eng, c)
  if c.State == "running" then return end
  local ok, err = pcall(eng.container_start, eng, c.Id)
  if not ok and not (type(err) == "table" and err.status == 304) then error(err, 0) end
end

--- Teardown's first step (natrig.session.remove_labelled, beside the removal of the run's
-- apps; every path: net:down, the watchdog, reaping a dead run): the helper `c` (a
-- container_list entry) running, and a listing of the table, for release_in. Never
-- raises (nil: release_in tries again).
function M.prepare_release(eng, c)
  local ok, st = pcall(function() running(eng, c) return M.state(eng, c.Id) end)
  return ok and st or nil
end

--- Teardown's last step, once nothing of the run can send: delete the run's elements,
-- chain and sets (those the listing shows; retried on a fresh listing if another run
-- changed the table meanwhile). A failure is said, not raised: the entries are then
-- stale, doctor lists them and the next run's seal removes them.
function M.release_in(eng, c, st)
  local run = (c.Labels or {})["natrig.run"]
  local ok, err = pcall(function()
    if not st then running(eng, c) end
    apply(eng, c.Id, function(s) return nftx.remove_batch(s, run, s.runs[run] or {}, true) end, st)
  end)
  if not ok then
    io.stderr:write(("natrig: could not release run %s's entries in the host's seal table (the next run"
      .. " removes them): %s\n"):format(tostring(run), tostring(err)))
  end
end

--- What `natrig doctor` says about the seal on an engine's host, tried for real: a helper
-- of a throwaway session s (the caller's: it tears it down) lists the table. Returns {
-- ok, table = true|false, runs = { { run, subnets, live } } } or raises what failed.
function M.doctor(eng, image, s)
  local res
  local ok, err = pcall(function()
    local id = M.helper(eng, image, s)
    local r = nft(eng, id, { "-j", "list", "table", "inet", M.TABLE })
    local l = nft(eng, id, { "list", "tables" })
    if l.code ~= 0 then core.fail("engine", "seal", "nft cannot read the host's ruleset: " .. l.stderr) end
    local st = nftx.parse_table(r.code == 0 and r.stdout or "{}")
    local stale = {}
    for _, run in ipairs(stale_runs(eng, st)) do stale[run] = true end
    res = { table = r.code == 0, runs = {} }
    for run, subnets in pairs(st.runs) do
      table.sort(subnets)
      res.runs[#res.runs + 1] = { run = run, subnets = subnets, live = not stale[run] }
    end
    table.sort(res.runs, function(a, b) return a.run < b.run end)
  end)
  if not ok then error(err, 0) end
  return res
end

-- a run's seal --------------------------------------------------------------------------

--- Called by natrig.network.new: outside = true (exactly) opens the lab, with a warning.
function M.configure(net, opts)
  if opts.outside ~= nil and type(opts.outside) ~= "boolean" then
    bad("natrig.network", "'outside' must be true or false (true lets the lab's packets leave this host)")
  end
  net.seal = { outside = opts.outside == true, escapes = {} }
  if net.seal.outside then
    net.log(("WARNING: outside = true: this run's nodes reach every network %s reaches (masqueraded"
      .. " through the host), and unknown names go to the host's resolver")
      :format(net.hosts and "each engine's host" or "this host"))
  end
end

--- Options for a bridge natrig creates (masquerade only for an open run's public network).
function M.bridge_options(net, seg)
  if seg.overlay then return nil end
  local open = net.seal and net.seal.outside and seg.kind == "public"
  return { ["com.docker.network.bridge.enable_ip_masquerade"] = open and "true" or "false" }
end

--- The resolver's address on engine eng (nil when the run is open): the public bridge's
-- own address on the engine's host, where the seal helper's dnsmasq listens; over a Swarm
-- that engine's `dns` bridge's (natrig.plan). eng: the engine the asker lives on (its
-- `eng`; every placed object has one).
function M.resolver_ip(net, eng)
  if not net.seal or net.seal.outside or not net.public then return nil end
  if not net.hosts then return core.subnet_host(net.public.subnet, 1) end
  for _, d in ipairs(net.dns_segs or {}) do
    if d.eng == eng then return core.subnet_host(d.subnet, 1) end
  end
end

-- Over a Swarm, a LAN's own bridge address on its engine's host: there the resolver also
-- listens for the LAN's nodes and router, which reach it on their own segment. (Through
-- the router, the query would leave with its overlay address, to which the host has no
-- route back.)
local function lan_resolver(net, seg)
  if net.hosts and seg and seg.kind == "lan" and M.resolver_ip(net, seg.eng) then
    return core.subnet_host(seg.subnet, 1)
  end
end

--- The resolver's IPv6 address, for v6only nodes on the public network (they cannot reach
-- the IPv4 one): the public bridge's own (natrig.lifecycle gives it ::1); nil when the run is
-- open, has no IPv6 or spans a Swarm (the overlay has no address on the hosts).
function M.resolver_ip6(net)
  if net.hosts or not (net.public and net.public.subnet6) or not M.resolver_ip(net) then return nil end
  return core.subnet6_host(net.public.subnet6, 1)
end

--- HostConfig.Dns for a holder or router on engine eng; seg: the holder's segment, or the
-- router's LAN; fam: the holder's families (a v6only public node gets the IPv6 address).
function M.dns(net, eng, seg, fam)
  if net.dns_server then return core.json_array { net.dns_server.node.private_ip } end -- net:dns{} (natrig.dns)
  if fam == "v6only" and seg and seg.kind == "public" and M.resolver_ip6(net) then
    -- Docker lists an IPv6 server in the node's resolv.conf after its embedded DNS
    -- (127.0.0.11), which answers the public network's own names and, with no IPv4
    -- server to forward to, fails the rest over to this one
    return core.json_array { M.resolver_ip6(net) }
  end
  local ip = lan_resolver(net, seg) or M.resolver_ip(net, eng)
  return ip and core.json_array { ip } or nil
end

--- The resolver's argv: NXDOMAIN for every name but the nodes', on ip only (a list: on
-- each of them) (pure).
function M.resolver_argv(ip, nodes)
  if type(ip) == "table" then ip = table.concat(ip, ",") end
  local argv = { "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll", "--address=/#/",
    "--bind-interfaces", "--listen-address=" .. ip, "--log-facility=-", "--user=root", "--pid-file=",
    "--addn-hosts=" .. M.LIVE_HOSTS }
  for _, n in ipairs(nodes) do
    local at = n.public_ip or n.public_ip6 -- a v6only node's name is its IPv6 address
    if at then argv[#argv + 1] = ("--host-record=%s,%s"):format(n.name, at) end
  end
  return argv
end

-- The helper gone before the batch ran: its dnsmasq could not start; say why.
local function helper_failed(eng, id, ip, err)
  local ok, info = pcall(eng.container_inspect, eng, id)
  if ok and info.State and not info.State.Running then
    local lok, out, errout = pcall(eng.logs, eng, id, { tail = 5, timestamps = false })
    local text = lok and ((out or "") .. (errout or "")) or tostring(out)
    core.fail("engine", "seal", ("natrig's resolver (dnsmasq in the seal helper, on the engine's host at %s:53)"
      .. " could not start: %s; is port 53 on that address taken on the host?"):format(ip, text:gsub("%s+$", "")))
  end
  error(err, 0)
end

-- One engine's part of a run's seal: its helper, entries and resolver; the bring-up's
-- task makes the helper and puts the run's entries in.
local function start_part(net, eng0, subnets)
  local st, run = net.seal, net.session.run_id
  local ip = M.resolver_ip(net, eng0)
  local listen = { ip, M.resolver_ip6(net) } -- (the bridge's IPv6 address was never tentative: seen)
  for _, seg in ipairs(net.segs_made or {}) do
    if seg.eng == eng0 and lan_resolver(net, seg) then listen[#listen + 1] = lan_resolver(net, seg) end
  end
  -- A client of its own: the seal's calls never queue behind the bring-up's many in the
  -- run's pool of engine calls (apps wait for them).
  local part = { eng = require("natrig.engine").open(tostring(eng0:info().host)), subnets = subnets, of = eng0 }
  local eng = part.eng
  part.job = task.spawn(function()
    part.helper = M.helper(eng, net.image, net.session, ip and M.resolver_argv(listen, net.nodes))
    -- First try without a listing (one exec); a clash (a dead run's entry for a subnet the
    -- engine has handed out again) is retried with that run's entries removed.
    local empty = nftx.parse_table("{}")
    local ok, err = pcall(apply, eng, part.helper, function(s)
      local b = { nftx.base_batch(run) }
      if s ~= empty then
        for _, r in ipairs(stale_runs(eng, s, run)) do
          if r:match("^[%w]+$") then b[#b + 1] = nftx.remove_batch(s, r, s.runs[r] or {}, true) end
        end
      end
      b[#b + 1] = nftx.run_batch(run, subnets, st.outside)
      return table.concat(b)
    end, empty)
    if not ok then helper_failed(eng, part.helper, ip, err) end
    -- Then, off the bring-up's path: entries of dead runs (their networks gone) go.
    task.spawn(function() pcall(function()
      local s = M.state(eng, part.helper)
      local stale = stale_runs(eng, s, run)
      if #stale == 0 then return end
      apply(eng, part.helper, function(s2)
        local b = {}
        for _, r in ipairs(stale) do
          if r:match("^[%w]+$") then b[#b + 1] = nftx.remove_batch(s2, r, s2.runs[r] or {}, true) end
        end
        return table.concat(b)
      end, s)
    end) end, "seal: dead runs' entries")
  end, "seal")
  return part
end

--- After the networks exist (net:up): the host's rules for the run's subnets and the
-- resolver (dnsmasq as the helper's main process), on every engine's host, in tasks
-- beside the rest of bring-up; M.wait joins them before an app starts.
function M.start(net)
  local st = net.seal
  if not st then return end
  local t0 = core.now()
  st.waited = 0 -- the longest an app's start waited for the seal (bring-up's added time)
  st.parts, st.gw = {}, {}
  for _, eng in ipairs(net:engines()) do
    -- the run's subnets on this engine, and the overlay's (it spans every engine)
    local subnets = {}
    for _, seg in ipairs(net.segs_made or {}) do
      if seg.eng == eng or seg.overlay then subnets[#subnets + 1] = seg.subnet end
    end
    st.parts[#st.parts + 1] = start_part(net, eng, subnets)
  end
  st.job = task.spawn(function()
    for _, p in ipairs(st.parts) do p.job:join() end
    st.seconds = core.now() - t0
  end, "seal: every engine")
end

local function part_of(net, eng)
  for _, p in ipairs(net.seal.parts or {}) do if p.of == eng then return p end end
end

-- A node whose only network is a Swarm's overlay leaves through docker_gwbridge with that
-- bridge's address (the host masquerades it): that address joins the run's entries on
-- its engine (an element another run left for it, its container gone, is taken over).
local function seal_gwbridge(net, id, name, part)
  local info = part.eng:network_inspect("docker_gwbridge")
  local ep = type(info) == "table" and type(info.Containers) == "table" and info.Containers[id]
  local addr = ep and tostring(ep.IPv4Address or ""):match("^([%d.]+)/")
  if not addr then
    core.fail("engine", "seal", ("%s has no docker_gwbridge address on its engine: cannot seal its way out"
      .. " (docker network inspect docker_gwbridge)"):format(name))
  end
  net.seal.gw[addr] = name
  local run = net.session.run_id
  apply(part.eng, part.helper, function(s)
    local other = s.nets[addr .. "/32"]
    local mine = not other or other == run or not other:match("^[%w]+$")
    local b = mine and "" or nftx.remove_batch(s, other, { addr .. "/32" })
    return b .. nftx.add_batch(run, { addr .. "/32" }) .. "\n"
  end)
end

--- Wait until the run's seal is in place (before node's app starts); raises its failure.
-- A node added while the network is up gets its name into the resolvers first (a hosts
-- file dnsmasq reads again on SIGHUP).
function M.wait(net, node)
  local st = net.seal
  if not (st and st.job) then return end
  local t0 = core.now()
  st.job:join()
  local part = node and part_of(net, node.eng)
  if part and net.hosts and not st.outside and not node.router and node.holder then
    seal_gwbridge(net, node.holder, node.name, part)
  end
  st.waited = math.max(st.waited or 0, core.now() - t0)
  local ip = node and (node.public_ip or node.public_ip6)
  if ip and net.state == "up" and M.resolver_ip(net, node.eng) then
    st.live_hosts = (st.live_hosts or "") .. ip .. " " .. node.name .. "\n"
    for _, p in ipairs(st.parts) do
      p.eng:put_files(p.helper, { { path = M.LIVE_HOSTS:sub(2), data = st.live_hosts, mode = 420 } }, "/")
      if p.more then p.eng:exec(p.helper, { "pkill", "-HUP", "-x", "dnsmasq" }) -- every one (segment_added)
      else p.eng:container_kill(p.helper, "HUP") end
    end
  end
end

--- Over a Swarm, a container of natrig's own on the overlay alone (net:classify's STUN
-- server) on engine eng: its docker_gwbridge address joins the run's entries there.
function M.container_added(net, eng, id, name)
  local st = net.seal
  if not (st and st.job and net.hosts and not st.outside) then return end
  st.job:join()
  local part = part_of(net, eng)
  if part then seal_gwbridge(net, id, name, part) end
end

--- A router's LAN made while the network is up: sealed before its nodes start.
function M.segment_added(net, seg)
  local part = net.seal and seg and seg.subnet and part_of(net, seg.eng)
  if not (part and part.helper) then return end
  part.subnets[#part.subnets + 1] = seg.subnet
  apply(part.eng, part.helper, function() return nftx.add_batch(net.session.run_id, { seg.subnet }) .. "\n" end)
  local ip = lan_resolver(net, seg)
  if ip then -- over a Swarm: a resolver on the new LAN's bridge address too (see M.dns)
    local argv = M.resolver_argv(ip, net.nodes)
    part.eng:exec_detached(part.helper, argv)
    part.more = true
  end
end

--- A router's LAN removed (its containers are gone): its subnet leaves the table.
function M.segment_removed(net, seg)
  local part = net.seal and seg and seg.subnet and part_of(net, seg.eng)
  if not (part and part.helper) then return end
  apply(part.eng, part.helper, function(s) return nftx.remove_batch(s, net.session.run_id, { seg.subnet }) end)
end

-- The evidence (net:escapes(), the timeline's entries) is natrig.seal_evidence's.
local evidence = require "natrig.seal_evidence"
M.escapes, M.refresh = evidence.escapes, evidence.refresh

--- At net:down(), before teardown: the last reading of the escapes and the summary line.
-- (The run's entries are released by the teardown itself: natrig.session.)
function M.finish(net)
  local st = net.seal
  if not (st and st.parts) then return end
  -- after a signal the last reading has 3 s (it took 34 s at load 30, all before the removal)
  local ok, l = pcall(M.escapes, net, task.signal() and 3 or nil)
  if not ok then net.log("could not read the lab's escape attempts: " .. tostring(l))
  elseif #l > 0 then net.log(nftx.summary(l)) end
  -- The helpers are released by the teardown that follows (natrig.session), and the parts'
  -- clients close after it (M.close): closed here, a create in flight on one (a signal during
  -- bring-up) was never answered, and teardown waited its whole limit for it (32 s).
  st.engines, st.parts = st.parts, nil
end
function M.close(net) for _, p in ipairs(net.seal and net.seal.engines or {}) do p.eng:close() end end

return M
