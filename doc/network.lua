--- natrig.network: a test network on the Docker Engine.
--
-- The reference page of lua/natrig/network.lua, kept here because that file holds its
-- declarations in at most 400 lines: the code's own comments (what `help()` shows) are
-- the first sentence of each description below, and tests/lua/docs_test.lua checks this
-- page documents exactly the public methods network.lua defines, with types and examples.
--
--   local net = natrig.network{}            -- or the `net` a scenario's run() receives
--   local gw  = net:gateway{}               -- on the public network, no NAT
--   local a   = net:peer{ nat = "port_restricted" }   -- behind its own NAT router
--   local r   = net:router{ nat = "symmetric" }       -- an explicit router ...
--   local b   = net:peer{ router = r }                -- ... shared by several peers
--   local cg  = net:router{ nat = "symmetric" }       -- double NAT: a home router
--   local h   = net:router{ nat = "port_restricted", behind = cg }  -- behind a CGNAT
--   net:up()                                -- parallel, verified, labelled
--
-- Wiring (see PLATFORM.md): the public network and every private LAN are ordinary
-- bridges with the engine's masquerading off (an Internal network drops a peer's packets
-- to public addresses on this host). A router joins its WAN segment and its LAN (.254);
-- each node is a netns "holder" container (natrig's base image, CAP_NET_ADMIN: routes,
-- shaping, diagnostics) and an app container sharing that netns (any image, no caps),
-- so the app can be killed, restarted or swapped without losing the network set-up.
-- Interfaces are found by address, never by name.
-- @module natrig.network
-- luacheck: ignore 212 241 (the functions below are empty: their comments are the page)
local M = {}

--- A new network, nothing made yet (`natrig.network{}`; a scenario's run() gets one).
-- @tparam[opt] table opts engine (a client), scenario (its name, in labels and artifacts),
--   log (function(line)), image (a base image ref instead of building one), nat (the
--   peers' default preset), pool (the address pool), hosts (several engines, a Swarm:
--   natrig.hosts; default NATRIG_HOSTS), capture (every node and router), keep (leave it
--   up when the scenario fails), outside (not sealed: natrig.seal)
-- @treturn Network
-- @usage local net <close> = natrig.network{ scenario = "try" }
function M.new(opts) end

--- A test network (natrig.network{...}).
-- @type Network
-- @tfield {Node,...} nodes every node, in the order they were declared
-- @tfield {Router,...} routers every router
-- @tfield {[string]=Node|Router} by_name nodes and routers by name (nil for an unknown name)
-- @tfield string state "declared", "up", "stopping" or "down"
-- @tfield table session the run: run_id, scenario, labels
-- @tfield ?{name=string,subnet=string} public the public segment: { name, subnet }
-- @tfield ?string case the parameters of this case ("k=v,..."), when any
local Network = {}

--- The default NAT for peers: scenario option, then NATRIG_NAT, then the seed's switches.
-- @treturn string a NAT preset name (see the presets page)
-- @usage print(net:default_nat_preset())   --> port_restricted
function Network:default_nat_preset() end

--- A NAT router.
-- Declared before `up()` (or added while up).
-- @tparam[opt] table opts name, nat (a preset name or a spec table: see the presets page),
--   behind (an upstream router: double NAT), hairpin (boolean), timeout (UDP mapping
--   timeout, seconds), port_preservation (boolean), capture (boolean), host (an engine of
--   a Swarm), portmap (`{ upnp = true, natpmp = true, pcp = true }`: natrig.portmap), ip
--   (`"v4"`, the default or NATRIG_IP, `"dual"`, `"v6only"`: natrig.ip6), filtering6 (its
--   IPv6 firewall's inbound filtering, RFC 6092: `"APDF"`, the default, `"ADF"`, `"EIF"`,
--   `"closed"`, `"open"`; only with IPv6), tcp (RFC 5382: `{ mapping, filtering, syn =
--   "drop"|"rst"|"hold", established, transitory }`; TCP keeps the preset's mapping and
--   filtering unless set apart here), nat64 (true: NAT64 and DNS64 for an IPv6 LAN, `ip =
--   "v6only"` or `"dual"`; tayga and unbound in the router, natrig.nat64; `r.nat64_prefix` is
--   its prefix).
--   A carrier-grade NAT (`nat = "cgnat"`, RFC 6888; its inside is a piece of 100.64.0.0/10
--   and every router or node right behind it is a customer) takes pool (public addresses,
--   1), port_block (ports a block, 512; must divide the 64512 ports 1024-65535), blocks
--   (blocks a customer, 4; its quota is blocks x port_block, UDP and TCP), udp_timeout (120),
--   tcp_timeout (7440), filtering ("EIF", "ADF" or "APDF"; "EIF") and hairpin (true);
--   it is declared before `up()` with its customers, and is IPv4 only (no ip, filtering6,
--   tcp, nat64 or portmap).
-- @treturn Router
-- @usage local home = net:router{ nat = "symmetric" }
-- local a = net:peer{ router = home }
-- local cgn = net:router{ nat = "cgnat", pool = 2, port_block = 512, blocks = 4, udp_timeout = 30 }
-- local h = net:router{ nat = "port_restricted", behind = cgn }   -- a customer
function Network:router(opts) end

--- A node on the public network (no NAT): name, cmd, profile, ....
-- @tparam[opt] table opts name, cmd (argv, or function(node, net) -> argv), image, profile,
--   env, files, binary, args, ports, ready (`{ log = "listening" }`, or false), may_exit,
--   capture, cap_add, devices, tun, host, ip (`"v4"`, `"dual"`, `"v6only"`: natrig.ip6)
-- @treturn Node
-- @usage local gw = net:gateway{ name = "gw", cmd = { "natrig-peer", "echo", "--port", "3478" } }
function Network:gateway(opts) end

--- A node behind its own NAT router: nat = preset, or router = r.
-- @tparam[opt] table opts as for `gateway`, plus nat (a preset name or spec table: its own
--   router) or router (a shared one), and hairpin, timeout, port_preservation, portmap,
--   filtering6, tcp for its own router (ip: its router's)
-- @treturn Node
-- @usage local a = net:peer{ name = "a", nat = "symmetric", cmd = { "my-p2p-app" } }
function Network:peer(opts) end

--- A plain container on the public network (a STUN server, a tracker, ...).
-- @tparam[opt] table opts as for `gateway`
-- @treturn Node
-- @usage local tracker = net:node{ name = "tracker", image = "my/tracker:1" }
function Network:node(opts) end

--- The node or router of that name; raises naming the ones there are (`net.by_name[name]`
-- is nil instead).
-- @tparam string name
-- @treturn Node|Router
-- @usage local a = net:get("a")
-- if net.by_name.maybe then ... end   -- a lookup that may miss
function Network:get(name) end

--- The peers (nodes behind a NAT).
-- @treturn {Node,...} in declaration order
-- @usage for _, p in ipairs(net:peers()) do p:impair("regional") end
function Network:peers() end

--- The gateways (nodes on the public network).
-- @treturn {Node,...} in declaration order
-- @usage local gw = net:gateways()[1]
function Network:gateways() end

--- Take a node away (its app and network holder), or a router with every node and router
-- behind it and its LAN.
-- A peer's own router (made by net:peer{ nat = ... }) goes with its last peer. Its exit
-- is expected (liveness does not fail the run for it).
-- @tparam Node|Router|string x the node or router, or its name
-- @usage net:remove(a)   -- churn: a peer leaves
function Network:remove(x) end

--- Bring everything up: image, networks, routers (rules applied and verified), nodes
-- (routes set, files uploaded, started, ready).
-- Parallel throughout; a failure part-way removes what was made (unless the scenario
-- keeps it) and raises.
-- @treturn Network self
-- @usage net:up()
function Network:up() end

--- Remove everything this run made (by label) and close the log followers.
-- Signals cannot interrupt it (a second Ctrl-C must not leave half a network). A scenario's
-- network is taken down for it; `local net <close> = natrig.network{}` does it on scope exit.
-- @usage net:down()
function Network:down() end

--- Leave the network up (debugging a failure); prints how to remove it.
-- @usage if not ok then net:keep() end   -- natrig ls, natrig exec, natrig clean RUN
function Network:keep() end

--- Impairment and faults (natrig.impair): x is a node or a router.
-- @tparam Node|Router x
-- @tparam string|table spec a preset name or keys (delay, jitter, loss, ...: natrig.impair)
-- @treturn Impairment prints what is in force, by which engine, in how long
-- @usage net:impair(net:get("router-1"), { loss = "2%" })
function Network:impair(x, spec) end

--- Remove a node's or router's impairment.
-- @tparam Node|Router x
-- @treturn Impairment
-- @usage net:clear_impair(a)
function Network:clear_impair(x) end

--- Impair only the traffic between a and b.
-- Shaped in a's namespace, to (with direction = "both", also from) b's address as a sees it.
-- @tparam Node a
-- @tparam Node b
-- @tparam string|table spec as for `impair`
-- @treturn Impairment
-- @usage net:impair_link(a, b, { delay = "50ms", direction = "both" })
function Network:impair_link(a, b, spec) end

--- Remove the impairment between a and b.
-- @tparam Node a
-- @tparam Node b
-- @treturn Impairment
-- @usage net:clear_link(a, b)
function Network:clear_link(a, b) end

--- Cut the groups {a} and {b, c} off each other.
-- Silent: packets are dropped where they arrive, so sending still succeeds.
-- @tparam {Node,...} g1
-- @tparam {Node,...} g2
-- @usage net:partition({ a }, { b, c }); natrig.sleep(10); net:heal()
function Network:partition(g1, g2) end

--- Undo every partition and isolation.
-- @usage net:heal()
function Network:heal() end

--- Cut a node off everything.
-- @tparam Node n
-- @usage net:isolate(a)
function Network:isolate(n) end

--- Classify a node's NAT with coturn (natrig.classify).
-- @tparam Node n
-- @tparam[opt] table opts lifetime (seconds: also test that a mapping idle that long is
--   still alive), family (6: over IPv6, judging the router's IPv6 firewall; mapping "none")
-- @treturn table { mapping = "EIM", filtering = "APDF", hairpin = true, claimed = {...},
--   matches = true, lifetime_alive = true|nil, raw = "..." }
-- @usage local c = net:classify(a)
-- expect(c.matches):eq(true)
function Network:classify(n, opts) end

--- Print the topology: segments, routers, nodes, addresses, NAT, impairment.
-- (`require("natrig.dump")(net, { print = false })` returns the text instead.)
-- @usage net:dump()
function Network:dump() end

--- Diagnostics: per router the NAT ruleset with counters, FORWARD counters and conntrack
-- entries; per node its addresses and routes.
-- @treturn table { routers = { [name] = { nat, forward, conntrack } }, nodes = { [name] =
--   { addresses, routes } } }, every leaf a string
-- @usage print(net:diagnostics().routers["router-1"].conntrack)
function Network:diagnostics() end

--- Where this run's files go, removing them, writing them, the map (natrig.artifacts).
-- @treturn string $NATRIG_ARTIFACTS (default ./natrig-artifacts)/&lt;scenario&gt;-&lt;case&gt;-&lt;run&gt;
-- @usage print(net:artifacts_dir())
function Network:artifacts_dir() end

--- Every node's entries and natrig's own actions (node "natrig"), merged by time.
-- @tparam[opt] table|string q a log query, as for node:logs
-- @treturn {table,...} entries { time, level, target, message, fields (strings), raw, node }
-- @usage for _, e in ipairs(net:timeline()) do print(e.node, e.raw) end
function Network:timeline(q) end

--- Dropped attempts to leave the sealed lab (natrig.seal): { node, addr, port, proto, first, last, count }.
-- @treturn {table,...} oldest first; each also a line of the timeline
-- @usage expect(#net:escapes()):eq(0)
function Network:escapes() end

--- Log entries of every node matching q (see node:logs).
-- @tparam[opt] table|string q as for node:logs
-- @treturn {table,...} entries, merged by time
-- @usage expect(net:logs{ level = "error" }):none()
function Network:logs(q) end

--- The path between two nodes now: direct, hairpin, lan, relayed or none.
-- Counted by the network itself (natrig.path): nftables counters in each node's namespace,
-- read every 0.1 s from the first call on; a path is current while its packets arrive
-- within `idle` seconds.
-- @tparam Node a one node
-- @tparam Node b another
-- @tparam[opt] {idle=number} opts seconds without packets before a path is no longer current (10)
-- @treturn table the path: `{ kind, via, a, b, a_to_b, b_to_a, first, last, endpoints }`:
-- kind (a string), the relay's name for "relayed", the two names, packets and bytes each way
-- (`a_to_b = { packets, bytes, received_packets, received_bytes }`), first/last packet times
-- @usage expect(net:path(a, b).kind):eq("direct")
function Network:path(a, b, opts) end

--- Every pair of nodes that has talked since counting started, by "a<->b".
-- @tparam[opt] {idle=number} opts as for net:path
-- @treturn {[string]=table} "a<->b" -> the pair's path (as net:path returns it); pairs
-- whose path broke are kept, as "none"
-- @usage for pair, p in pairs(net:paths()) do print(pair, p.kind, p.via) end
function Network:paths(opts) end

--- Wait until the pair's path is of a kind (and via a relay); returns it.
-- Raises after `timeout` seconds (30) saying the path there is and what was counted.
-- @tparam {Node,Node,kind=string,via=?(Node|string),timeout=?number,idle=?number} q the pair, the
-- kind wanted ("direct", "hairpin", "lan", "relayed", "none"), the relay for "relayed"
-- @treturn table the path (as net:path returns it)
-- @usage net:wait_path{ a, b, kind = "relayed", via = relay.node, timeout = 20 }
function Network:wait_path(q) end

--- The pair's path kind as a sweep metric ("path a<->b direct" = 1); returns the path.
-- A sweep's report then shows which kind each case got.
-- @tparam Node a one node
-- @tparam Node b another
-- @tparam[opt] {idle=number} opts as for net:path
-- @treturn table the path (as net:path returns it)
-- @usage net:record_path(a, b)
function Network:record_path(a, b, opts) end

--- A relay node: a TURN server (coturn) on the public network, with credentials.
-- Before or after net:up(). Two nodes that both talk to it and not to each other have a
-- "relayed" path via it (natrig.relay).
-- @tparam[opt] {kind=?string,name=?string,realm=?string,ports=?{integer,integer},host=?(string|integer)} opts
-- kind "turn" (the only one), the relayed ports (default { 49152, 65535 }), the engine
-- @treturn Relay the relay: `url` ("turn:IP:3478"), `username`, `password`, `node`
-- @usage local relay = net:relay{ kind = "turn" }
-- net:up(); print(relay.url, relay.username, relay.password)
function Network:relay(opts) end

--- The run's DNS node (dnsmasq) with zones, faults from Lua mid-run.
-- Declared before net:up(); every node and router then uses it as its resolver (natrig.dns).
-- @tparam[opt] {zones=?{[string]=(string|Node)},name=?string} opts zones: name -> an address
-- or a node (its public address); the node's name (default "dns")
-- @treturn Dns the DNS node: `dns:fault{...}`, `dns:clear()`, `dns:queries()`, `dns:ip()`
-- @usage local dns = net:dns{ zones = { ["tracker.example"] = "10.1.2.3" } }
-- dns:fault{ delay = "2s" }
function Network:dns(opts) end

return M
