--- natrig.lifecycle: a network's life on the engine: bring-up (segments, routers, nodes,
-- in parallel and verified), additions and removals while it is up, and teardown. The
-- Network methods up, down, remove and add_live are these (natrig.network keeps the
-- declarations and the thin methods).
-- @module natrig.lifecycle
local core = require "natrig.core"
local task = require "natrig.task"
local session = require "natrig.session"
local image = require "natrig.image"
local node_mod = require "natrig.node"
local watch = require "natrig.watch"
local plan = require "natrig.plan"
local hosts_mod = require "natrig.hosts"
local seal = require "natrig.seal"

local M = {}

local function bad(op, msg) core.fail("einval", op, msg) end

local function segments(self)
  local segs = { self.public }
  for _, r in ipairs(self.routers) do segs[#segs + 1] = r.lan end
  for _, d in ipairs(self.dns_segs or {}) do segs[#segs + 1] = d end -- a sealed Swarm's resolvers (natrig.seal)
  return segs
end

-- A segment on its engine: a bridge, or (the public network over several engines) an
-- attachable overlay made on the first engine, the Swarm manager, which containers of
-- every engine join (VXLAN between the engines).
local function create_segment(self, seg)
  local gw = core.subnet_host(seg.subnet, 1)
  local eng = seg.eng
  seg.id = eng:network_create {
    -- Attachable only for the overlay (plain containers must join it). A bridge never: that
    -- flag means nothing to a local bridge, but an engine leaving a Swarm disconnects every
    -- container from every attachable network (seen on 20.10: a run lost all its
    -- interfaces when another test's engine left its Swarm).
    Name = seg.name, Driver = seg.overlay and "overlay" or "bridge", CheckDuplicate = true, Internal = false,
    Attachable = seg.overlay or nil,
    IPAM = { Driver = "default", Config = core.json_array { { Subnet = seg.subnet, Gateway = gw,
      IPRange = seg.overlay and (core.subnet_host(seg.subnet, plan.OVERLAY_DYNAMIC) .. "/26") or nil },
      -- natrig.ip6: a /64 of the run's /48 (Docker 20.10 needs no daemon flag for this)
      -- addresses the engine picks itself (STUN servers, the resolver) stay off natrig's
      -- host numbers: they come from hosts 65536 and up
      seg.subnet6 and { Subnet = seg.subnet6, Gateway = core.subnet6_host(seg.subnet6, 1),
        IPRange = core.subnet6_host(seg.subnet6, 65536) .. "/112" } or nil } },
    EnableIPv6 = seg.subnet6 and true or nil,
    Options = seal.bridge_options(self, seg), -- masquerade off (on only for an outside = true run's public)
    Labels = self.session:labels("net", { ["natrig.segment"] = seg.kind }),
  }
  self.segs_made[#self.segs_made + 1] = seg
end

-- Bring up a router or node added while the network is up, with the same steps and
-- checks as net:up() (a router's LAN gets a fresh subnet; rules verified; routes set;
-- readiness). On failure what was made for it is removed and the error raised.
function M.add_live(self, x)
  local is_router = getmetatable(x) == node_mod.Router
  local t0 = core.now()
  local ok, err = pcall(function()
    if is_router then
      hosts_mod.place_live(self, x)
      for attempt = 1, 4 do
        plan.place_live_lan(self, x, plan.taken_subnets(self:engines()))
        local cok, cerr = pcall(create_segment, self, x.lan)
        if cok then break end
        local msg = type(cerr) == "table" and tostring(cerr.message) or tostring(cerr)
        if not msg:find("overlap", 1, true) or attempt == 4 then error(cerr, 0) end
      end
      seal.segment_added(self, x.lan)
      plan.place_wan(self, x)
    else
      hosts_mod.place_live(self, x)
      plan.place_node(self, x)
    end
    x.job = task.spawn(function() x:bring_up() end, x.name)
    task.join_all({ x.job }, "adding " .. x.name)
    if is_router then require("natrig.ip6").announce(self, x) end -- its IPv6 LAN's route
  end)
  if not ok then
    if not task.is_abort(err) then pcall(self.remove, self, x) end
    error(err, 0)
  end
  self:note("add", ("%s %s in %.2fs"):format(is_router and "router" or x.kind, x.name, core.now() - t0))
  self.log(("added %s %s (%s) in %.2fs"):format(is_router and "router" or x.kind, x.name,
    is_router and x.wan_ip or x.private_ip or x.private_ip6, core.now() - t0))
end

local function drop(list, x)
  for i, y in ipairs(list) do if y == x then table.remove(list, i) return end end
end

-- Take a node away (its app and network holder), or a router with every node and router
-- behind it and its LAN. A peer's own router (made by net:peer{ nat = ... }) goes with
-- its last peer. Its exit is expected (liveness does not fail the run for it).
function M.remove(self, x)
  if type(x) == "string" then x = self.by_name[x] end
  if type(x) ~= "table" or self.by_name[x.name] ~= x then bad("net:remove", "not a node or router of this network") end
  local eng = x.eng
  local quiet = session.quietly
  if getmetatable(x) == node_mod.Router then
    for _, n in ipairs({ table.unpack(x.nodes) }) do self:remove(n) end
    for _, r in ipairs({ table.unpack(self.routers) }) do if r.behind == x then self:remove(r) end end
    watch.removing(x) -- its exits are expected now
    if x.id then
      if x.lan and x.lan.id then quiet(eng.network_disconnect, eng, x.lan.id, x.id, true) end
      if x.wan and x.wan.id then quiet(eng.network_disconnect, eng, x.wan.id, x.id, true) end
      quiet(eng.container_remove, eng, x.id, true)
    end
    if x.lan and x.lan.id then quiet(eng.network_remove, eng, x.lan.id); seal.segment_removed(self, x.lan) end
    drop(self.routers, x)
    if x.behind then drop(x.behind.nodes, x) end
  else
    watch.removing(x) -- its exits are expected now
    if x.log.stop_follow then pcall(x.log.stop_follow) end
    if x.id then quiet(eng.container_remove, eng, x.id, true) end
    if x.holder then
      if x.segment and x.segment.id then quiet(eng.network_disconnect, eng, x.segment.id, x.holder, true) end
      quiet(eng.container_remove, eng, x.holder, true)
    end
    drop(self.nodes, x)
    if x.router then
      drop(x.router.nodes, x)
      if x.router.implicit and #x.router.nodes == 0 and self.by_name[x.router.name] then self:remove(x.router) end
    end
  end
  self.by_name[x.name] = nil
  self:note("remove", x.name)
end

-- Create the networks; on a subnet clash with a run that started at the same moment,
-- plan again from the engine's fresh list (natrig.plan.create_all: bounded, not random).
local function create_segments(self) plan.create_all(self, segments, create_segment) end

-- natrig must keep up with what it tests: under a 100-node log flood it was ready to run
-- but waiting for a CPU 35 of 49.5 s, behind dockerd and the apps (issue 30). At its
-- first net:up() it raises its own priority to NATRIG_NICE (default -20; root or
-- CAP_SYS_NICE), once, and only when it runs at nice 0 (a nice it was started with is
-- kept). NATRIG_NICE=0 leaves it; programs it starts inherit it. Where the kernel groups
-- a session's processes (autogroup) a process's nice only orders it within its session,
-- and the session weighs as one nice-0 process against dockerd and every other session (a
-- logflood run at nice -20 still waited 39 of 59 s for a CPU): natrig also joins a CPU
-- cgroup of its own weighted as that nice (core.cpu_group), which raises natrig alone, not
-- the user's shell or whatever else runs in its session, and which it leaves at exit.
local priority_done = false
local function raise_priority(self)
  local v = core.getenv("NATRIG_NICE")
  local want = tonumber(v or "-20")
  if not want or want ~= math.floor(want) or want < -20 or want > 19 then
    bad("net:up", ("NATRIG_NICE=%s: give a nice value, -20..19 (0 leaves natrig's priority)"):format(v))
  end
  if priority_done then return end
  priority_done = true
  if want == 0 or core.nice() ~= 0 then return end
  local ok, why = core.nice(math.tointeger(want))
  if not ok then
    self.log(("natrig runs at its normal priority (%s): run it as root to let it keep up with a loaded machine, "
      .. "or set NATRIG_NICE=0"):format(why))
  elseif want < 0 then
    ok, why = core.cpu_group(math.tointeger(want))
    if not ok then
      self.log(("natrig's nice orders it only within its session (no CPU cgroup of its own: %s): "
        .. "under load it may lag what it tests; set NATRIG_NICE=0 to silence this"):format(why))
    end
  end
end

-- Bring everything up: image, networks, routers (rules applied and verified), nodes
-- (routes set, files uploaded, started, ready). Parallel throughout; a failure part-way
-- removes what was made (unless the scenario keeps it) and raises.
function M.up(self)
  if self.state ~= "declared" then bad("net:up", "already " .. self.state) end
  raise_priority(self)
  self.state = "starting"
  local t0 = core.now()
  local ok, err = pcall(function()
    require("natrig.nodeopts").before_up(self) -- bad input fails before anything is made
    self:place()
    if self.hosts then
      -- where each element runs, said once (a cell by its top router)
      local per = {}
      for _, h in ipairs(self.hosts) do per[h] = {} end
      for _, r in ipairs(self.routers) do local l = per[self:host_of(r)]; l[#l + 1] = r.name end
      for _, n in ipairs(self.nodes) do local l = per[self:host_of(n)]; l[#l + 1] = n.name end
      local parts = {}
      for _, h in ipairs(self.hosts) do
        parts[#parts + 1] = ("%s: %s"):format(h.name, #per[h] > 0 and table.concat(per[h], " ") or "-")
      end
      self.log("placement over " .. #self.hosts .. " engines: " .. table.concat(parts, "; "))
    end
    -- held to teardown: natrig image prune leaves this run's images alone (natrig.imagelock)
    self.image_lock = self.image_lock or require("natrig.imagelock").hold(self.session.run_id, self.session.owner)
    if not self.image then
      -- the same content hash, so the same tag, on every engine (each imports its own)
      local refs = task.map(self:engines(), function(e)
        local ref, built = image.ensure_base(e, { log = self.log })
        if built then
          self.log("base image ready: " .. ref .. (self.hosts and (" on " .. tostring(e:info().host)) or ""))
        end
        return ref
      end, 8)
      self.image = refs[1]
    end
    -- Liveness first: an app that dies during bring-up is seen at once.
    self.stop_watch = watch.start(self)
    create_segments(self)
    seal.start(self) -- the host's rules and the resolver, beside the rest (apps wait for it)
    local jobs = {}
    local total, ready = #self.routers + #self.nodes, 0
    for _, r in ipairs(self.routers) do
      r.job = task.spawn(function() r:bring_up(); ready = ready + 1 end, r.name)
      jobs[#jobs + 1] = r.job
    end
    for _, n in ipairs(self.nodes) do
      n.job = task.spawn(function() n:bring_up(); ready = ready + 1 end, n.name)
      jobs[#jobs + 1] = n.job
    end
    -- Long bring-ups say how far they are, every 2 s.
    task.spawn(function()
      while true do
        task.sleep(2)
        if self.state ~= "starting" then return end
        self.log(("bring-up: %d of %d routers and nodes ready (%.0fs)"):format(ready, total, core.now() - t0))
      end
    end, "progress")
    -- The first failure ends the bring-up at once (the others are cancelled; teardown
    -- removes what they made by label).
    task.join_all(jobs, "net:up")
  end)
  if not ok then
    self.state = "failed"
    if task.is_abort(err) then error(err, 0) end -- the scenario's own teardown follows
    if not self.keep_on_failure then
      local dok, derr = pcall(self.down, self)
      if not dok then self.log("teardown after the failed bring-up: " .. tostring(derr)) end
    end
    error(err, 0)
  end
  self.state = "up"
  self.up_seconds = core.now() - t0
  self:note("up", ("%d nodes, %d routers in %.2fs"):format(#self.nodes, #self.routers, self.up_seconds))
  -- A default impairment for every node from NATRIG_EMULATION (or the seed's
  -- FREENET_TEST_NETWORK_EMULATION); an unknown value is an error, never ignored.
  local tokens = core.impair_from_env(core.getenv("NATRIG_EMULATION"), core.getenv("FREENET_TEST_NETWORK_EMULATION"))
  if tokens then
    local spec = {}
    for _, tk in ipairs(tokens) do local k, v = tk:match("^([^=]+)=(.*)$"); spec[k] = v end
    self.log("impairing every node with " .. table.concat(tokens, " ") .. " (from the environment)")
    local fns = {}
    for _, n in ipairs(self.nodes) do fns[#fns + 1] = function() n:impair(spec) end end
    task.parallel(fns)
  end
  self.log(("network up in %.2fs: %d nodes, %d routers (run %s)"):format(self.up_seconds,
    #self.nodes, #self.routers, self.session.run_id))
  return self
end

--- How long teardown may take: 120 s, plus 0.2 s for every node and router past 50 (the
-- engine removes a few hundred objects for 200 peers, each slower on a busy machine). What
-- is left when it runs out is the watchdog's, once natrig exits.
-- @local
function M.teardown_limit(net)
  local limit = 120 + 0.2 * math.max(0, #net.nodes + #net.routers - 50)
  local sig = task.signal() and (task.signal_at() or core.now())
  if not sig or not (net.session.reaper_pid or net.session.reaper_pids) then return limit end
  -- After a signal natrig exits within M.signal_exit() s of it (issue 22): teardown ends
  -- 7 s before (3 s at least), and the watchdog goes on with what is left. Without a
  -- watchdog (NATRIG_NO_WATCHDOG=1) nobody would: teardown takes its whole time.
  return math.max(3, math.min(limit, M.signal_exit() - 7 - (core.now() - sig))), true
end

--- Seconds natrig takes at most to exit after SIGINT or SIGTERM: NATRIG_SIGNAL_EXIT,
-- default 30 (what teardown has not removed by then, the watchdog removes after the exit).
-- @local
function M.signal_exit()
  local v = tonumber(core.getenv("NATRIG_SIGNAL_EXIT") or "")
  return v and v > 0 and v or 30
end

-- A teardown cut short after a signal: say what is left and who removes it (the watchdog,
-- which starts when natrig exits). Returns true when the watchdog will (no error to raise).
function M.hand_over(self, took)
  local filters = { label = core.json_array { "natrig.run=" .. self.session.run_id } }
  local nc, nn = "?", "?"
  -- What deletes endpoints and is still in flight ends first (teardown asks nothing new):
  -- the watchdog must not delete one beside it (natrig.teardown), until 6 s before the exit
  local by = (task.signal_at() or core.now()) + M.signal_exit() - 6
  while require("natrig.teardown").deleting() > 0 and core.now() < by do
    task.sleep(0.05)
  end
  -- and so do creates an abort let run on (natrig.sched's late calls): made after the
  -- watchdog's listings, a container would stay
  local late = task.wait_late(math.max(0, by - core.now()))
  task.recover() -- the calls teardown left in flight hold no slot of the pool now
  pcall(task.guard, function()
    nc, nn = #self.session.eng:container_list(filters, true), #self.session.eng:network_list(filters)
  end, 2, "counting what teardown left")
  local pids = self.session.reaper_pids or { self.session.reaper_pid }
  if #pids == 0 then return false end
  self.log(("teardown stopped after %.1fs, to exit within %g s of the signal: %s containers and %s networks "
    .. "are left to the watchdog (pid %s), which removes them now (`natrig ls` shows them until it is done)")
    :format(took, M.signal_exit(), nc, nn, table.concat(pids, ", "))
    .. (late > 0 and ("; %d creates were still unanswered: what they make is removed by the next natrig "
      .. "command's start"):format(late) or ""))
  return true
end

-- Remove everything this run made (by label) and close the log followers. Signals
-- cannot interrupt it (a second Ctrl-C must not leave half a network); every task still
-- running is cancelled first and requests in flight (creates) are let finish, so what
-- they make is found by the label too.
function M.down(self)
  if self.state == "down" then return end
  local was = self.state
  self.state = "stopping"
  if was ~= "declared" and #self.nodes > 0 then
    local s = watch.summary(self)
    if s ~= "" then self.log("exit codes: " .. s) end
  end
  if self.stop_watch then pcall(self.stop_watch) end
  for _, n in ipairs(self.nodes) do if n.log.stop_follow then pcall(n.log.stop_follow) end end
  local t0 = core.now()
  local limit, capped = M.teardown_limit(self)
  -- after a signal nothing new is asked of the engine 4 s before the limit: what is in
  -- flight then ends before natrig exits (one call a network: the watchdog, which takes
  -- over, never deletes an endpoint beside one of ours)
  if capped then self.session.stop_at = core.now() + math.max(1, limit - 4) end
  local ok, err = task.shielded(function()
    if not task.in_task() then task.recover() end
    local stop_progress = require("natrig.progress").start(5, "teardown", self.log)
    -- Captures are stopped and copied before anything is removed (also after a failure
    -- or a signal: this runs shielded).
    seal.finish(self); require("natrig.impair").finish(self) -- escapes' summary; shapers' late releases
    -- a node whose log outran natrig is said, never silently dropped (natrig.logfollow)
    for _, l in ipairs(require("natrig.logfollow").lag_report(self) or {}) do self.log("warning: " .. l) end
    local cok, caps = pcall(require("natrig.capture").finish, self, self:artifacts_dir())
    if cok and #caps > 0 then
      self.captured = caps
      self.log(("packet captures in %s (captures.txt says which link each holds)"):format(self:artifacts_dir()))
    elseif not cok then
      self.log("packet captures could not be saved: " .. tostring(caps))
    end
    local t1 = core.now()
    local nc, nn = self.session:teardown()
    local late = self.session.late -- creates the abort let run on, waited for beside it
    if nc and nc + nn > 0 then
      local lt = late and (", %d creates in flight at the abort, %d made later, %d unanswered")
        :format(late.late, late.made, late.left) or ""
      self.log(("removed %d containers and %d networks in %.1fs (%.1fs before the removal%s)")
        :format(nc, nn, core.now() - t0, t1 - t0, lt))
    end
    if self.ctl_root then session.remove_ctl_dirs(self.session.run_id) end
    stop_progress()
  end, limit)
  if (ok and self.session.cut) or (not ok and capped and type(err) == "table" and err.code == "timeout") then
    ok = M.hand_over(self, core.now() - t0)
  end
  -- also after a failed teardown: its containers (or their watchdog) hold what is left
  if self.image_lock then require("natrig.imagelock").release(self.image_lock, self.session.run_id) end
  self.image_lock = nil
  self.state = "down"
  seal.close(self)
  if self.own_engine then for _, e in ipairs(self:engines()) do e:close() end end
  if not ok then error(err, 0) end
end


return M
