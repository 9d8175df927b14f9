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
  -- time: a deletion holds every network it deletes an endpoint on (a disconnect its
  -- network, a container's removal each network the container is on), and each network's
  -- endpoints go in a row (its chain), every network's chain at once, beside the apps'
  -- removal (they own no endpoint). The longest chain (the public network's: one endpoint
  -- a router) is the critical path: it only detaches, at once and ahead of the others. A
  -- container on one network is removed in that chain once its apps are gone, one on
  -- several is detached in each chain but its last (a router's LAN chain waits for the
  -- public chain to detach it), and a network goes when its chain is done.
  -- The seal helper (natrig.seal) goes last: the run's entries in the host's seal table
  -- are released in it only once nothing of the run can send any more (its apps, holders
  -- and routers are gone).
  local busy, waiting = {}, {} -- networks with a deletion in flight; tasks waiting for a change
  local function changed()
    local ws = waiting
    waiting = {}
    for _, w in ipairs(ws) do w() end
  end
  -- (bounded: after stop_at nothing may change any more). natrig.progress counts waits by
  -- their first word: "still waiting on 135 public_chain".
  local function wait_change(what)
    task.wait_for_timeout(0.5, function(wake) waiting[#waiting + 1] = wake end, what)
  end
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
  local owner = {}
  for _, c in ipairs(owners) do owner[c.Id] = true end
  -- Who is on which network: from the listing, which says it (no inspect round trip before
  -- the first removal: 201 of them took 11 s at 200 peers, load 30), else a network inspect each.
  local on, members, by_name = {}, {}, {} -- container: {network id = true}; network id: {container = true}
  for _, n in ipairs(nets) do members[n.Id], by_name[n.Name] = {}, n.Id end
  local function join_net(cid, nid)
    if not nid or not members[nid] then return end -- not one of the label's networks
    on[cid] = on[cid] or {}
    on[cid][nid], members[nid][cid] = true, true
  end
  local function nets_list(cid)
    local l = {}
    for nid in pairs(on[cid] or {}) do l[#l + 1] = nid end
    return l
  end
  -- One endpoint deletion at a time on each network (see the header): a disconnect holds
  -- its network, a container's removal every network it is on.
  local function locked(ids_of, fn)
    local ids
    while true do
      ids = ids_of()
      local free = true
      for _, id in ipairs(ids) do free = free and not busy[id] end
      if free then break end
      wait_change("endpoint_deletion (another on the same network)")
    end
    for _, id in ipairs(ids) do busy[id] = true end
    local r = table.pack(pcall(fn))
    for _, id in ipairs(ids) do busy[id] = nil end
    changed()
    if not r[1] then error(r[2], 0) end
  end
  -- A container's removal: one call for it and its endpoints.
  local function delete(cid, first)
    locked(function() return nets_list(cid) end, function()
      if not go() then return end
      quietly(eng.container_remove, eng, cid, true, first)
      for nid in pairs(on[cid] or {}) do members[nid][cid] = nil end
      on[cid] = nil
    end)
  end
  local app_gone = {} -- apps removed (an owner is ready for its removal once its apps are)
  local function wait_app(c)
    app_jobs[c.Id] = app_jobs[c.Id] or task.spawn(function()
      delete(c.Id)
      app_gone[c.Id] = true
      changed()
    end, "remove app")
    local jok, jerr = app_jobs[c.Id]:wait()
    if not jok then error(jerr, 0) end
  end
  later("remove apps", task.map, apps, wait_app, 16)
  local function remove(cid, first)
    for _, a in ipairs(apps_of[cid] or {}) do wait_app(a) end
    delete(cid, first)
  end
  local function detach(cid, nid, first)
    locked(function() return { nid } end, function()
      if not go() then return end
      quietly(eng.network_disconnect, eng, nid, cid, true, first)
      on[cid][nid], members[nid][cid] = nil, nil
    end)
    -- detached from its last network by two chains at once: neither removes it
    if owner[cid] and on[cid] and not next(on[cid]) then later("remove container", remove, cid) end
  end
  local function others(cid, nid) -- another network cid is on
    for o in pairs(on[cid]) do if o ~= nid then return o end end
  end
  local chains = {}
  local ok, err = pcall(function()
    local listed = true
    for _, c in ipairs(ctrs) do listed = listed and type((c.NetworkSettings or {}).Networks) == "table" end
    if listed then
      for _, c in ipairs(ctrs) do
        for name, ep in pairs(c.NetworkSettings.Networks) do
          join_net(c.Id, type(ep) == "table" and ep.NetworkID ~= "" and ep.NetworkID or by_name[name])
        end
      end
    else
      task.map(nets, function(n) for cid in pairs(attached(n.Id)) do join_net(cid, n.Id) end end, 16)
    end
    for _, c in ipairs(owners) do if not on[c.Id] then later("remove container", remove, c.Id) end end
    local count = {}
    for _, n in ipairs(nets) do count[n] = 0; for _ in pairs(members[n.Id]) do count[n] = count[n] + 1 end end
    table.sort(nets, function(a, b) return count[a] > count[b] end)
    -- The longest chain (the public network's: one endpoint a router) is the teardown's
    -- critical path: its calls go first in the pool, and it detaches whatever is on other
    -- networks too (a disconnect took 0.08 s where removing the container took 0.30 s,
    -- interleaved, at load 30); that is removed by its other chains meanwhile. An owner on
    -- it alone is removed in it once its apps are gone.
    local P = nets[1] and nets[1].Id
    local p_done = not P
    local function apps_gone(cid)
      for _, a in ipairs(apps_of[cid] or {}) do if not app_gone[a.Id] then return false end end
      return true
    end
    local function critical()
      while next(members[P]) and go() do
        local pick, detaching
        for cid in pairs(members[P]) do
          if not owner[cid] or others(cid, P) then pick, detaching = cid, true break end
          if apps_gone(cid) then pick = cid end
        end
        pick = pick or next(members[P]) -- an owner whose apps are still going: waits for them
        if detaching then detach(pick, P, true) else remove(pick, true) end
      end
    end
    -- Every other network's chain: those on several networks are detached first (their
    -- other chains go on meanwhile), owners on it alone removed; an owner also on the
    -- critical network waits for that chain to detach it, then is removed here (one call).
    local function chain(n)
      local nid = n.Id
      while next(members[nid]) and go() do
        local pick, detaching
        for cid in pairs(members[nid]) do
          if not (owner[cid] and on[cid][P] and not p_done) then
            if not owner[cid] or others(cid, nid) then pick, detaching = cid, true break end
            pick = pick or cid
          end
        end
        if pick == nil then wait_change("public_chain (to detach a member)")
        elseif detaching then detach(pick, nid)
        else remove(pick) end
      end
    end
    local function network(n, fn)
      local cok, cerr = pcall(fn, n)
      if n.Id == P then p_done = true; changed() end
      if not cok then error(cerr, 0) end
      if go() then net_jobs[#net_jobs + 1] = task.spawn(remove_net, "remove network", eng, n, attempts, go) end
    end
    for _, n in ipairs(nets) do
      chains[#chains + 1] = task.spawn(network, "network chain", n, n.Id == P and critical or chain)
    end
  end)
  local function join(list)
    for _, j in ipairs(list) do
      local jok, jerr = j:wait()
      if not jok and ok then ok, err = false, jerr end
    end
  end
  join(chains)
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
