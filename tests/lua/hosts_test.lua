-- natrig.hosts, pure parts (issue 16): the host list, placement of NAT cells, and the Swarm
-- check with its advice, from fixture GET /info tables. No engine.
local t = require "tap"
require "natrig" -- installs the embedded modules (natrig.so)
local hosts = require "natrig.hosts"

-- parsing --------------------------------------------------------------------------------
local h = hosts.parse("unix:///var/run/docker.sock, unix:///run/natrig-e2/docker.sock")
t.is(#h, 2, "two urls, comma-separated (spaces trimmed)")
t.is(h[1].name, "engine1", "default names: engine1 ...")
t.is(h[2].name, "engine2", "... engine2")
t.is(h[2].url, "unix:///run/natrig-e2/docker.sock", "url kept")
h = hosts.parse("a=tcp://10.0.0.1:2375,b=unix:///x.sock")
t.is(h[1].name .. " " .. h[2].name, "a b", "name=url items")
t.is(h[1].url, "tcp://10.0.0.1:2375", "... with the url after '='")
h = hosts.parse({ "unix:///a.sock", { name = "far", url = "tcp://far:2375" } })
t.is(h[2].name, "far", "a table of urls and {name, url}")
t.is(h[2].index, 2, "entries carry their index")
t.raises(function() hosts.parse("") end, "host 1 is empty", "an empty list is refused")
t.raises(function() hosts.parse("unix:///a.sock,,unix:///b.sock") end, "host 2 is empty", "an empty item is refused")
t.raises(function() hosts.parse("unix:///a.sock,unix:///a.sock") end, "given twice", "a url given twice is refused")
t.raises(function() hosts.parse("x=unix:///a.sock,x=unix:///b.sock") end, "name 'x' is given twice",
  "a name given twice is refused")
t.raises(function() hosts.parse("ssh://me@far") end, "ssh %-nNT %-L /tmp/natrig%-1.sock:/var/run/docker.sock me@far",
  "ssh:// is refused with the tunnel to use")
t.raises(function() hosts.parse("http://x:1") end, "not a Docker engine URL", "an unknown scheme is refused")
t.raises(function() hosts.parse({ { name = "a", url = "unix:///a", tls = true } }) end, "unknown key 'tls'",
  "unknown keys in a host table are refused")
t.raises(function() hosts.parse(42) end, "list of Docker engine URLs", "not a list")

-- cells and their pins (pure: plain tables stand for routers and nodes) ---------------------
local cg = { name = "cg", nodes = {} }
local home = { name = "home", behind = cg, nodes = { { name = "p1" } } }
local solo = { name = "solo", nodes = { { name = "p2" }, { name = "p3" } } }
local cl = hosts.cells({ cg, home, solo })
t.is(#cl, 2, "a double NAT is one cell: the CGNAT with the home router behind it; a lone router another")
t.is(cl[1].top, cg, "the cell is named by its outermost router")
t.is(#cl[1].routers .. " " .. #cl[1].nodes, "2 1", "the double NAT cell holds both routers and the peer")
t.is(#cl[2].nodes, 2, "the lone router's cell holds its two peers")
t.is(hosts.cell_pin(cl[2]), nil, "no pin: nil")
solo.nodes[2].host_pin = "far"
t.is(hosts.cell_pin(cl[2]), "far", "a peer's pin is its cell's pin")
solo.host_pin = "far"
t.is(hosts.cell_pin(cl[2]), "far", "the router asking for the same host agrees")
home.host_pin = "engine1"
cg.host_pin = "engine2"
t.raises(function() hosts.cell_pin(cl[1]) end,
  "cg asks for host 'engine2' but home for 'engine1': a NAT cell %(a router, what is behind it and its nodes%) "
    .. "lives on one engine",
  "two pins that would split a cell are an error naming both")

-- placement ------------------------------------------------------------------------------
local hs = hosts.parse("unix:///a,unix:///b,unix:///c")
local function names(l)
  local o = {}
  for _, x in ipairs(l) do o[#o + 1] = x.name end
  return table.concat(o, " ")
end
local cells, pubs = hosts.place(hs, { {}, {}, {}, {}, {} }, { {}, { pin = "engine3" } })
t.is(names(cells), "engine2 engine3 engine1 engine2 engine3", "cells spread over the hosts (public nodes count)")
t.is(names(pubs), "engine1 engine3", "public nodes: the first host unless pinned")
cells = hosts.place(hs, { { pin = "engine1" }, {}, {}, { pin = 2 } })
t.is(names(cells), "engine1 engine3 engine1 engine2", "pinned cells count: unpinned ones go where fewest are")
cells = hosts.place(hosts.parse("unix:///a,unix:///b"), { {}, {} })
t.is(names(cells), "engine1 engine2", "two cells on two engines: one each (peers on different engines)")
cells = hosts.place(hosts.parse("unix:///a,unix:///b"), { {} }, { {} })
t.is(names(cells), "engine2", "a gateway (engine1) and one peer: the peer's cell goes to engine2")
cells = hosts.place(hosts.parse("unix:///a,unix:///b"), { {}, {} }, { {} })
t.is(names(cells), "engine2 engine1", "a gateway and two peers: the peers on different engines")
cells = hosts.place(hosts.parse("unix:///a"), { {}, {}, {} })
t.is(names(cells), "engine1 engine1 engine1", "one host: everything on it")
t.raises(function() hosts.place(hs, { { pin = "nope", what = "net:peer" } }) end,
  "net:peer: no host 'nope' %(hosts: engine1, engine2, engine3%)", "an unknown host names the choices")

-- the Swarm check ------------------------------------------------------------------------
local function mgr(id, cluster) return { Swarm = { LocalNodeState = "active", ControlAvailable = true,
  NodeID = id, NodeAddr = "192.168.222.1", Cluster = { ID = cluster },
  RemoteManagers = { { NodeID = id, Addr = "192.168.222.1:2377" } } } } end
local function worker(id, mgr_id) return { Swarm = { LocalNodeState = "active", ControlAvailable = false,
  NodeID = id, NodeAddr = "192.168.222.2", RemoteManagers = { { NodeID = mgr_id, Addr = "x:2377" } } } } end
local inactive = { Swarm = { LocalNodeState = "inactive", NodeID = "" } }
local function two(i1, i2, e2)
  local l = hosts.parse("unix:///a.sock,unix:///b.sock")
  l[1].info, l[2].info, l[2].err = i1, i2, e2
  return l
end
t.is(hosts.check_swarm(two(mgr("M", "C"), worker("W", "M"))), nil, "manager + worker of it: fine")
t.is(hosts.check_swarm(two(mgr("M", "C"), mgr("M2", "C"))), nil, "two managers of one cluster: fine")
local msg = hosts.check_swarm(two(mgr("M", "C"), nil, "connect to engine: No such file or directory"))
t.like(msg, "engine2 %(unix:///b.sock%) is not reachable: connect to engine: No such file",
  "unreachable: named, with the reason")
msg = hosts.check_swarm(two(inactive, inactive))
t.like(msg, "engine1 %(unix:///a.sock%), the first host, must be a Swarm manager %(its Swarm state is 'inactive'%)",
  "the first not in a Swarm")
t.like(msg, "DOCKER_HOST=unix:///a.sock docker swarm init %-%-advertise%-addr <ADDR>", "... says to swarm init it")
t.like(msg, "engine2 .* is not in the Swarm", "... and that engine2 must join too")
msg = hosts.check_swarm(two(mgr("M", "C"), inactive))
t.like(msg, "DOCKER_HOST=unix:///b.sock docker swarm join %-%-advertise%-addr <ADDR> %-%-token "
  .. "%$%(DOCKER_HOST=unix:///a.sock docker swarm join%-token %-q worker%) 192.168.222.1:2377",
  "a second engine out of the Swarm: the exact join line, with the manager's address")
msg = hosts.check_swarm(two(mgr("M", "C"), worker("W", "OTHER")))
t.like(msg, "engine2 .* is in another Swarm than engine1", "another Swarm is named")
t.like(msg, "DOCKER_HOST=unix:///b.sock docker swarm leave %-%-force", "... with leave then join")
msg = hosts.check_swarm(two(worker("W", "M"), mgr("M", "C")))
t.like(msg, "engine1 .* is a Swarm worker", "a worker first is refused (the overlay is made there)")
msg = hosts.check_swarm(two(mgr("M", "C"), mgr("M", "C")))
t.like(msg, "engine2 .* is the same engine as engine1", "one engine given twice (two urls) is refused")
local pend = { Swarm = { LocalNodeState = "error", Error = "rpc error: timeout", NodeID = "" } }
t.like(hosts.check_swarm(two(mgr("M", "C"), pend)), "has a Swarm error: rpc error: timeout", "a Swarm error is shown")

t.done()
