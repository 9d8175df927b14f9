--- natrig.hosts: one natrig network over several Docker engines joined as a Swarm
-- (issue 16). The public network is an attachable `overlay` network made on the first
-- engine (a Swarm manager); each NAT cell -- a top-level router with its LAN, the nodes
-- behind it and any router behind it (double NAT) -- lives whole on one engine, since its
-- LAN is a local bridge of that engine. Gateways and public nodes can be anywhere.
--
--   NATRIG_HOSTS=unix:///var/run/docker.sock,engine2=tcp://10.0.0.2:2375
--   natrig.network{ hosts = { "unix:///var/run/docker.sock", { name = "b", url = "..." } } }
--   net:peer{ host = "b" }   net:router{ host = "engine1" }   net:gateway{ host = 2 }
--
-- The pure parts (parse, place, check_swarm) take and return plain tables, so they are
-- unit-tested without an engine (tests/lua/hosts_test.lua); open() reaches the engines.
-- @module natrig.hosts
local core = require "natrig.core"

local M = {}

local function bad(op, msg) core.fail("einval", op, msg) end

--- Parse a host list: a string "url,url" or "name=url,..." (NATRIG_HOSTS) or a table of
-- urls or { name =, url = } tables. Returns { { name =, url = }, ... } in order; default
-- names are engine1, engine2, ... Raises on an empty list, an empty item, a bad name, a
-- duplicate name or url, or a scheme natrig does not speak (ssh:// is refused with the
-- tunnel to use instead). Pure.
function M.parse(list, op)
  op = op or "hosts"
  local items = {}
  if type(list) == "string" then
    for item in (list .. ","):gmatch("([^,]*),") do
      item = item:match("^%s*(.-)%s*$")
      local name, url = item:match("^([%w_.-]+)=(.+)$")
      items[#items + 1] = name and { name = name, url = url } or { url = item }
    end
  elseif type(list) == "table" then
    for i, v in ipairs(list) do
      if type(v) == "string" then items[#items + 1] = { url = v }
      elseif type(v) == "table" then
        for k in pairs(v) do
          if k ~= "name" and k ~= "url" then
            bad(op, ("host %d: unknown key '%s' (name, url)"):format(i, tostring(k)))
          end
        end
        items[#items + 1] = { name = v.name, url = v.url }
      else bad(op, ("host %d must be a URL string or { name =, url = }"):format(i)) end
    end
  else
    bad(op, "hosts must be a list of Docker engine URLs (like DOCKER_HOST values)")
  end
  if #items == 0 then bad(op, "the host list is empty") end
  local names, urls = {}, {}
  for i, h in ipairs(items) do
    if type(h.url) ~= "string" or h.url == "" then bad(op, ("host %d is empty"):format(i)) end
    if h.url:match("^ssh://") then
      bad(op, ("host %d (%s): natrig does not speak ssh:// itself; forward the remote socket and "
        .. "give the local end: ssh -nNT -L /tmp/natrig-%d.sock:/var/run/docker.sock %s, then "
        .. "unix:///tmp/natrig-%d.sock"):format(i, h.url, i, h.url:match("^ssh://([^/]+)"), i))
    end
    if not (h.url:match("^unix:///.") or h.url:match("^tcp://[^/:]+:%d+/?$")) then
      bad(op, ("host %d: '%s' is not a Docker engine URL (unix:///path or tcp://host:port)"):format(i, h.url))
    end
    h.name = h.name or ("engine" .. i)
    if type(h.name) ~= "string" or not h.name:match("^[%a][%w_.-]*$") then
      bad(op, ("host %d: bad name '%s' (a letter, then letters, digits, _ . -)"):format(i, tostring(h.name)))
    end
    if names[h.name] then bad(op, ("host name '%s' is given twice"):format(h.name)) end
    if urls[h.url] then bad(op, ("host '%s' is given twice"):format(h.url)) end
    names[h.name], urls[h.url] = true, true
    h.index = i
  end
  return items
end

--- The host list a network uses: opts.hosts, else NATRIG_HOSTS, else nil (one engine,
-- DOCKER_HOST). Parsed (raises on a bad list).
function M.from(opts_hosts)
  if opts_hosts ~= nil then return M.parse(opts_hosts, "natrig.network") end
  local env = core.getenv("NATRIG_HOSTS")
  if env and env:match("%S") then return M.parse(env, "NATRIG_HOSTS") end
  return nil
end

--- Find a host by name or 1-based index in a parsed list; raises naming the choices.
function M.find(hosts, want, op)
  for _, h in ipairs(hosts) do
    if h.name == want or h.index == want or tostring(h.index) == want then return h end
  end
  local l = {}
  for _, h in ipairs(hosts) do l[#l + 1] = h.name end
  bad(op or "host", ("no host '%s' (hosts: %s)"):format(tostring(want), table.concat(l, ", ")))
end

--- The NAT cells of a router list: each top-level router with every router behind it
-- (double NAT) and the nodes behind them, in declaration order. Returns a list of
-- { top = router, routers = {...}, nodes = {...} }. Pure.
function M.cells(routers)
  local top = function(r) while r.behind do r = r.behind end return r end
  local by, list = {}, {}
  for _, r in ipairs(routers) do
    local t = top(r)
    local c = by[t]
    if not c then c = { top = t, routers = {}, nodes = {} }; by[t] = c; list[#list + 1] = c end
    c.routers[#c.routers + 1] = r
    for _, n in ipairs(r.nodes) do c.nodes[#c.nodes + 1] = n end
  end
  return list
end

--- The one host a cell's members asked for (router or peer `host =`), or nil; two
-- different ones are an error naming both. Pure.
function M.cell_pin(c)
  local pin, who
  local function see(x)
    if x.host_pin == nil then return end
    if pin ~= nil and tostring(pin) ~= tostring(x.host_pin) then
      bad("net:up", ("%s asks for host '%s' but %s for '%s': a NAT cell (a router, what is behind it "
        .. "and its nodes) lives on one engine"):format(who, tostring(pin), x.name, tostring(x.host_pin)))
    end
    pin, who = x.host_pin, x.name
  end
  for _, r in ipairs(c.routers) do see(r) end
  for _, n in ipairs(c.nodes) do see(n) end
  return pin
end

--- Placement. cells: a list of { pin = name|index|nil, what = "router r1" } (one per NAT
-- cell, in declaration order, pin = the one host any member asked for); publics: a list
-- of { pin = ... } (gateways and public nodes). Returns two lists of host entries (same
-- order). Unpinned public nodes go to the first host (the manager). Unpinned cells go to
-- the least loaded host, ties round-robin from the host after the last one used; pinned
-- cells and public nodes count as load, so a gateway and one peer end up on different
-- engines. Pure.
function M.place(hosts, cells, publics)
  local out_cells, out_pub = {}, {}
  local load = {}
  for _, h in ipairs(hosts) do load[h.index] = 0 end
  for i, p in ipairs(publics or {}) do
    out_pub[i] = p.pin ~= nil and M.find(hosts, p.pin, p.what) or hosts[1]
    load[out_pub[i].index] = load[out_pub[i].index] + 1
  end
  for i, c in ipairs(cells) do
    if c.pin ~= nil then
      out_cells[i] = M.find(hosts, c.pin, c.what)
      load[out_cells[i].index] = load[out_cells[i].index] + 1
    end
  end
  local next_i = 1
  for i, c in ipairs(cells) do
    if c.pin == nil then
      -- the least loaded host, ties broken round-robin from where the last one went
      local best
      for k = 0, #hosts - 1 do
        local h = hosts[(next_i - 1 + k) % #hosts + 1]
        if not best or load[h.index] < load[best.index] then best = h end
      end
      out_cells[i] = best
      load[best.index] = load[best.index] + 1
      next_i = best.index % #hosts + 1
    end
  end
  return out_cells, out_pub
end

-- The docker CLI line for an engine (what to run, said exactly).
local function on(h, cmd) return ("DOCKER_HOST=%s docker %s"):format(h.url, cmd) end

--- Check the engines form one Swarm with the first as a manager. hosts: the parsed list,
-- each with info = GET /info's table or err = the reason it was not reached. Returns nil
-- when all is well, else a message listing every problem and the exact commands that fix
-- it. Pure.
function M.check_swarm(hosts)
  local problems = {}
  local function add(msg) problems[#problems + 1] = msg end
  for _, h in ipairs(hosts) do
    if not h.info then
      add(("%s (%s) is not reachable: %s\n    fix: start that engine, or correct the URL "
        .. "(for a remote engine: an ssh tunnel to its socket, or tcp:// with TLS in front)")
        :format(h.name, h.url, tostring(h.err or "no answer")))
    end
  end
  if #problems > 0 then return table.concat(problems, "\n") end
  local first = hosts[1]
  local s1 = first.info.Swarm or {}
  local addr = s1.NodeAddr ~= "" and s1.NodeAddr or nil
  local join_line = function(h)
    return ("%s\n         (its own address instead of <ADDR>: the one %s reaches %s at)")
      :format(on(h, ("swarm join --advertise-addr <ADDR> --token $(%s) %s:2377"):format(
        on(first, "swarm join-token -q worker"), addr or "<MANAGER-ADDR>")), first.name, h.name)
  end
  if s1.LocalNodeState ~= "active" then
    add(("%s (%s), the first host, must be a Swarm manager (its Swarm state is '%s')\n"
      .. "    fix: %s"):format(first.name, first.url, tostring(s1.LocalNodeState or "unknown"),
      on(first, "swarm init --advertise-addr <ADDR>  (the address the other engines reach it at)")))
    for i = 2, #hosts do
      local s = hosts[i].info.Swarm or {}
      if s.LocalNodeState ~= "active" then
        add(("%s (%s) is not in the Swarm (state '%s')\n    fix, once %s is a manager: %s"):format(
          hosts[i].name, hosts[i].url, tostring(s.LocalNodeState or "unknown"), first.name, join_line(hosts[i])))
      end
    end
    return table.concat(problems, "\n")
  end
  if not s1.ControlAvailable then
    add(("%s (%s), the first host, is a Swarm worker: the overlay network is made there, so it must "
      .. "be a manager\n    fix: put a manager first in the host list, or promote it: %s")
      :format(first.name, first.url, "docker node promote " .. tostring(s1.NodeID)))
  end
  local cluster = s1.Cluster and s1.Cluster.ID
  local seen = { [tostring(s1.NodeID)] = first.name }
  for i = 2, #hosts do
    local h = hosts[i]
    local s = h.info.Swarm or {}
    if s.LocalNodeState ~= "active" then
      local why = s.LocalNodeState == "pending" and "is still joining" or
        s.LocalNodeState == "error" and ("has a Swarm error: " .. tostring(s.Error)) or
        ("is not in a Swarm (state '" .. tostring(s.LocalNodeState or "unknown") .. "')")
      add(("%s (%s) %s\n    fix: %s"):format(h.name, h.url, why, join_line(h)))
    elseif seen[tostring(s.NodeID)] then
      add(("%s (%s) is the same engine as %s (Swarm node %s): give each engine once")
        :format(h.name, h.url, seen[tostring(s.NodeID)], tostring(s.NodeID)))
    else
      seen[tostring(s.NodeID)] = h.name
      local same = cluster and s.Cluster and s.Cluster.ID == cluster
      for _, m in ipairs(s.RemoteManagers or {}) do
        if m.NodeID == s1.NodeID then same = true end
      end
      if not same then
        add(("%s (%s) is in another Swarm than %s\n    fix: %s; then %s"):format(h.name, h.url,
          first.name, on(h, "swarm leave --force"), join_line(h)))
      end
    end
  end
  if #problems > 0 then return table.concat(problems, "\n") end
  return nil
end

--- Open an engine client per host and check they form one Swarm, before anything is
-- created. Returns the hosts list with eng (a natrig.engine client) and info on each;
-- raises a natrig.Error (code "hosts") naming every problem and its fix, closing what it
-- opened. With one host no Swarm is needed.
function M.open(hosts)
  local engine = require "natrig.engine"
  local task = require "natrig.task"
  for _, h in ipairs(hosts) do
    local ok, e = pcall(engine.open, h.url)
    if ok then h.eng = e else h.err = tostring(type(e) == "table" and e.message or e) end
  end
  local function close_all()
    for _, h in ipairs(hosts) do if h.eng then h.eng:close(); h.eng = nil end end
  end
  if #hosts > 1 then
    local ok, err = pcall(task.map, hosts, function(h)
      if not h.eng then return end
      local iok, info = pcall(h.eng.system_info, h.eng)
      if iok then h.info = info else h.err = tostring(type(info) == "table" and info.message or info) end
    end, 8)
    if not ok then close_all() error(err, 0) end
    local msg = M.check_swarm(hosts)
    if msg then
      close_all()
      core.fail("hosts", "natrig hosts", "the engines are not one Docker Swarm (nothing was created):\n" .. msg)
    end
  elseif not hosts[1].eng then
    core.fail("transport", "natrig hosts", ("%s (%s) is not reachable: %s"):format(hosts[1].name,
      hosts[1].url, tostring(hosts[1].err)))
  end
  return hosts
end

--- Is this engine on this machine (its socket is local and its host name ours)? Then a
-- host directory can be bind-mounted into its containers (natrig-shaper's control socket).
function M.is_local(eng)
  if not tostring(eng:info().host):match("^unix://") then return false end
  if eng.local_name == nil then
    local ok, info = pcall(eng.system_info, eng)
    eng.local_name = ok and type(info) == "table" and info.Name == core.hostname() or false
  end
  return eng.local_name
end

--- Place every router and node on an engine (natrig.hosts.place): each NAT cell whole on
-- one engine, round-robin unless pinned with host =; gateways and public nodes on the
-- first engine unless pinned. With one engine everything stays on it.
function M.place_network(self)
  if not self.hosts then
    -- one engine: a pin may name it (engine1, 1) and nothing else
    local one = { { name = "engine1", index = 1 } }
    for _, x in ipairs(self.routers) do
      if x.host_pin ~= nil then M.find(one, x.host_pin, "router " .. x.name) end
    end
    for _, x in ipairs(self.nodes) do
      if x.host_pin ~= nil then M.find(one, x.host_pin, x.kind .. " " .. x.name) end
    end
    return
  end
  local cl = M.cells(self.routers)
  local want = {}
  for i, c in ipairs(cl) do want[i] = { pin = M.cell_pin(c), what = "router " .. c.top.name } end
  local pubs, pwant = {}, {}
  for _, n in ipairs(self.nodes) do
    if not n.router then
      pubs[#pubs + 1] = n
      pwant[#pwant + 1] = { pin = n.host_pin, what = n.kind .. " " .. n.name }
    end
  end
  local hc, hp = M.place(self.hosts, want, pwant)
  for i, c in ipairs(cl) do
    for _, r in ipairs(c.routers) do r.eng = hc[i].eng end
    for _, n in ipairs(c.nodes) do n.eng = hc[i].eng end
  end
  for i, n in ipairs(pubs) do n.eng = hp[i].eng end
  self.placed = #cl
end

-- Where a router or node added while the network is up goes: into its cell's engine, or
-- (a new cell) the pinned host or the next one round-robin.
function M.place_live(self, x)
  if not self.hosts then return end
  local is_router = x.kind == nil -- nodes have a kind, routers none
  local anchor = is_router and x.behind or (not is_router and x.router)
  if anchor then
    if x.host_pin ~= nil and M.find(self.hosts, x.host_pin, x.name).eng ~= anchor.eng then
      core.fail("einval", "net:" .. (is_router and "router" or x.kind),
        ("%s asks for host '%s' but its NAT cell lives on %s"):format(x.name, tostring(x.host_pin),
          self:host_of(anchor).name))
    end
    x.eng = anchor.eng
  elseif x.host_pin ~= nil then
    x.eng = M.find(self.hosts, x.host_pin, x.name).eng
  elseif is_router then
    self.placed = (self.placed or 0) + 1
    x.eng = self.hosts[(self.placed - 1) % #self.hosts + 1].eng
  else
    x.eng = self.hosts[1].eng
  end
  -- a peer's own router was placed just before it: the peer follows it (above)
end


return M
