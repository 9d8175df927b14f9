--- natrig.teardown: removing everything that carries a label (a run's teardown, its
-- watchdog, the reaping of dead runs, `natrig clean`), with a stop time after a signal.
--
-- Docker 20.10 loses count of a network's endpoints when several of them are deleted at
-- once, whether by force-removing the containers (60 containers on two networks removed 32
-- at once) or by disconnecting them (a 30-peer run's public network, its 31 endpoints
-- disconnected 32 at once): the network then "has active endpoints" with none attached,
-- none found by name either, and stays until the engine restarts (seen 2026-12-07 on
-- 20.10.24, after 2 of 2 and 2 of 4 such tries had gone well). So a network's endpoints
-- leave it one at a time (see remove_all).
-- @module natrig.teardown
-- @local
local core = require "natrig.core"
local task = require "natrig.task"

local M = {}

--- A removal (or disconnect) whose object is gone (404), going (409, or a 500 saying it is
-- "marked for removal": a container already being removed, seen on 20.10 when teardown's
-- chains overlap) or already detached ("is not connected", a 500 on 20.10) got what it
-- wanted: quiet. Anything else is raised.
-- @local
function M.quietly(fn, ...)
  local ok, e = pcall(fn, ...)
  if ok or type(e) ~= "table" then if not ok then error(e, 0) end return end
  if e.status == 404 or e.status == 409 then return end
  local msg = tostring(e.message)
  if msg:find("is not connected", 1, true) or msg:find("No such container", 1, true)
    or msg:find("marked for removal", 1, true) then return end
  error(e, 0)
end
-- Endpoint deletions (disconnects, container removals) of remove_all in flight.
local deleting = 0
-- A deletion the engine did not answer within its timeout (NATRIG_ENGINE_TIMEOUT) is asked
-- again (up to 3 times): the engine goes on with the first, and the next in the chain must
-- not start beside it (seen at 200 peers, load 70: removals of 25 s, network removals past 30 s).
local function quietly(fn, ...)
  deleting = deleting + 1
  local ok, e
  for _ = 1, 3 do
    ok, e = pcall(M.quietly, fn, ...)
    if ok or not (type(e) == "table" and e.code == "overloaded") then break end
  end
  deleting = deleting - 1
  if not ok then error(e, 0) end
end
--- How many of teardown's disconnects and container removals are in flight (none may run
-- beside the watchdog's, which takes over after a signal: natrig.lifecycle.hand_over).
-- @local
function M.deleting() return deleting end

-- A network inspect's answer, or nil when it is gone or going (another cleaner, a
-- watchdog or `natrig clean`, may remove the same things meanwhile).
local function inspect(eng, id)
  local ok, info = pcall(eng.network_inspect, eng, id)
  if ok then return info end
  if type(info) == "table" and (info.status == 404 or info.status == 409) then return nil end
  error(info, 0)
end

-- Remove network n. attempts: how often one the engine still counts endpoints on is
-- detached and removed again.
local function remove_net(eng, n, attempts, go)
  -- An overlay spans engines: its endpoints on the others go when their own cleanup
  -- removes their containers (another watchdog, in parallel), so wait longer for it.
  local tries = n.Driver == "overlay" and math.max(attempts, 30) or attempts
  if n.Driver == "overlay" and n.Scope == "swarm" then
    -- Only once no other engine has an endpoint on it (the verbose inspect's Tasks name
    -- each endpoint with its host): removed while a worker still held one, the manager
    -- answered 404 and kept a copy of the network until it left Swarm mode (seen after
    -- a SIGKILL, when the watchdogs of both engines race). Bounded: 30 s.
    local deadline = core.now() + 30
    while core.now() < deadline do
      local ok, info = pcall(eng.json, eng, "network_inspect", { id = n.Id, verbose = "true" }, nil, n.Id)
      if not ok or type(info) ~= "table" then break end
      local tasks = 0
      for _, svc in pairs(info.Services or {}) do tasks = tasks + #(svc.Tasks or {}) end
      if tasks == 0 then break end
      task.sleep(0.2)
    end
  end
  for attempt = 1, tries do
    if go and not go() then return end
    local ok, e = pcall(eng.network_remove, eng, n.Id)
    if ok or (type(e) == "table" and e.status == 404) then return end
    -- A Swarm worker lists the run's overlay once its containers joined it, but only
    -- the manager can remove it (its own cleanup does).
    if type(e) == "table" and e.status == 503 and n.Scope == "swarm" then return end
    -- The engine can still hold an endpoint of a container it has just removed (or one
    -- created after our listing): detach and remove what is attached, then again.
    -- An overlay's manager answers otherwise while another engine's containers still
    -- hold attachments ("network ... is in use by task ..."): retried the same way.
    local busy = type(e) == "table" and (e.status == 403 or e.code == "overloaded"
      or (n.Driver == "overlay" and (e.status or 0) >= 400))
    if not busy then error(e, 0) end
    local c = (inspect(eng, n.Id) or {}).Containers
    c = type(c) == "table" and c or {} -- (a JSON null is none)
    if attempt == tries then
      if e.status == 403 and next(c) == nil then
        -- the engine's lost count (see above): nothing natrig can do removes it
        e.stuck = true
        e.message = tostring(e.message) .. " (none is attached: Docker 20.10 lost count of its endpoints; "
          .. "it can be removed once the engine restarts)"
      end
      error(e, 0)
    end
    for cid in pairs(c) do
      pcall(eng.network_disconnect, eng, n.Id, cid, true)
      pcall(eng.container_remove, eng, cid, true)
    end
    task.sleep(math.min(0.1 * attempt, 0.5))
  end
end

--- Remove every container, then every network, matching label (e.g. "natrig.run=x").
-- Returns the numbers of containers and networks found, and true when it stopped at
-- stop_at (a core.now() time: nothing new is asked of the engine after it, what is in
-- flight is let finish) before removing everything.
-- attempts: how often a network the engine still counts endpoints on is detached and
-- removed again (default 5, with short pauses: right after a teardown this clears);
-- reaping an old run tries twice only, so a network the engine will not let go of
-- (20.10 can keep counting endpoints until it restarts) does not slow every start.
-- @local
function M.remove_labelled(eng, label, attempts, stop_at)
  -- A removal that takes seconds is the engine's work, not its overload: the call pool is
  -- not halved for it (natrig.engine's holding back), nor left halved from the bring-up.
  local steady, limit = eng.steady, eng.limit
  eng.steady, eng.limit = true, math.max(eng.limit or 0, eng.max_limit or 0)
  local r = table.pack(pcall(M.remove_all, eng, label, attempts or 5, stop_at))
  eng.steady, eng.limit = steady, limit
  if not r[1] then error(r[2], 0) end
  return table.unpack(r, 2, r.n)
end

--- remove_labelled's work.
-- @local
function M.remove_all(eng, label, attempts, stop_at)
  local cut = false
  -- false once stop_at has passed: nothing new is asked of the engine from then on
  local function go()
    if stop_at and core.now() >= stop_at then cut = true end
    return not cut
  end
  local filters = { label = core.json_array { label } }
  local ctrs = eng:container_list(filters, true)
  local nets = eng:network_list(filters)
  -- The engine (20.10) loses count of a network's endpoints when several of them are
  -- deleted at once (seen: a public network with ~25 routers "has active endpoints"
  -- and no containers, until the engine restarts). So endpoints leave one network at a
  -- time: each network's endpoints go in a row (its chain), every network's chain at once,
  -- the longest first (the public network's: one endpoint a router), beside the apps'
  -- removal (they own no endpoint). A container on one network is removed in that chain
  -- (one call for its endpoint and itself, once the apps are gone), one on several is
  -- detached in each chain and removed after its last, and a network goes when its chain
  -- is done. So the removals run beside the longest chain, not after every chain (a
  -- 200-peer teardown took over 100 s that way).
  -- The seal helper (natrig.seal) goes last: the run's entries in the host's seal table
  -- are released in it only once nothing of the run can send any more (its apps, holders
  -- and routers are gone).
  local apps, owners, seals = {}, {}, {}
  for _, c in ipairs(ctrs) do
    local role = (c.Labels or {})["natrig.role"]
    table.insert((role == "holder" or role == "router") and owners or role == "seal" and seals or apps, c)
  end
  -- The containers attached to a network (a JSON null is none).
  local function attached(id)
    local c = (inspect(eng, id) or {}).Containers
    return type(c) == "table" and c or {}
  end
  local seal = #seals > 0 and require("natrig.seal")
  local listing = seal and task.spawn(function() return seal.prepare_release(eng, seals[1]) end, "seal listing")
  local jobs, net_jobs = {}, {} -- containers', networks'
  local function later(name, fn, ...) jobs[#jobs + 1] = task.spawn(fn, name, ...) end
  -- Each app's removal is one task, started by the walk over the apps (16 at a time) or by
  -- its holder's chain, whichever needs it first: a holder waits for its own apps (they
  -- share its network namespace), not for all of them (at 200 peers the LAN chains stood
  -- still for the 11 s the apps took, half the call pool idle).
  local by_key, apps_of, app_jobs = {}, {}, {}
  for _, c in ipairs(ctrs) do
    by_key[c.Id] = c
    for _, name in ipairs(c.Names or {}) do by_key[(name:gsub("^/", ""))] = c end
  end
  for _, c in ipairs(apps) do
    local o = by_key[(((c.HostConfig or {}).NetworkMode or ""):match("^container:(.+)$")) or ""]
    if o then apps_of[o.Id] = apps_of[o.Id] or {}; table.insert(apps_of[o.Id], c) end
  end
  local function wait_app(c)
    app_jobs[c.Id] = app_jobs[c.Id] or task.spawn(function()
      if go() then quietly(eng.container_remove, eng, c.Id, true) end
    end, "remove app")
    local jok, jerr = app_jobs[c.Id]:wait()
    if not jok then error(jerr, 0) end
  end
  later("remove apps", task.map, apps, wait_app, 16)
  local members, left, owner = {}, {}, {}
  for _, c in ipairs(owners) do owner[c.Id] = true end
  local function remove_owner(cid)
    for _, a in ipairs(apps_of[cid] or {}) do wait_app(a) end
    if go() then quietly(eng.container_remove, eng, cid, true) end
  end
  local ok, err = pcall(function()
    task.map(nets, function(n)
      local l = {}
      for cid in pairs(attached(n.Id)) do l[#l + 1] = cid; left[cid] = (left[cid] or 0) + 1 end
      members[n] = l
    end, 16)
    for _, c in ipairs(owners) do if not left[c.Id] then later("remove container", remove_owner, c.Id) end end
    local several = {}
    for cid, k in pairs(left) do several[cid] = k > 1 end
    table.sort(nets, function(a, b) return #members[a] > #members[b] end)
    task.map(nets, function(n)
      -- those on several networks first: their other chains go on meanwhile
      local l = members[n]
      table.sort(l, function(a, b) return several[a] and not several[b] end)
      for _, cid in ipairs(l) do
        if not go() then return end -- this network stays (its chain is not done)
        if several[cid] or not owner[cid] then
          -- the longest chain is the teardown's critical path: its calls go first
          quietly(eng.network_disconnect, eng, n.Id, cid, true, n == nets[1])
          left[cid] = left[cid] - 1
          if left[cid] == 0 and owner[cid] then later("remove container", remove_owner, cid) end
        else
          remove_owner(cid)
        end
      end
      if go() then net_jobs[#net_jobs + 1] = task.spawn(remove_net, "remove network", eng, n, attempts, go) end
    end, 16)
  end)
  local function join(list)
    for _, j in ipairs(list) do
      local jok, jerr = j:wait()
      if not jok and ok then ok, err = false, jerr end
    end
  end
  join(jobs)
  -- Nothing of the run can send now: its seal entries are released, and the helper
  -- removed, while its networks go.
  if seal then
    local _, st = listing:wait()
    for i, c in ipairs(seals) do
      if go() then
        seal.release_in(eng, c, i == 1 and st or nil) -- says its failures, never raises
        quietly(eng.container_remove, eng, c.Id, true)
      end
    end
  end
  join(net_jobs)
  if not ok then error(err, 0) end
  return #ctrs, #nets, cut
end

return M
