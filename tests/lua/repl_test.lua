-- The REPL's completion, pretty-printer, help lines and topology dump (pure: no engine,
-- no terminal). Objects are made with natrig's own classes, so the __index walk is real.
local t = require "tap"
require "natrig" -- registers the embedded modules
local repl = require "natrig.repl"
local pretty = require "natrig.pretty"
local node_mod = require "natrig.node"

local function cands(line, env, opts)
  local c, partial = repl.complete(line, env, opts)
  return table.concat(c, " "), partial
end

local router = node_mod.new_router({ }, "router-1", require("natrig.nat").resolve("symmetric"))
local gw = setmetatable({ name = "g", kind = "gateway", private_ip = "10.128.0.2", public_ip = "10.128.0.2",
  shaping = { spec = "delay=100ms" } }, node_mod.Node) -- natrig.impair's part of it
local peer = setmetatable({ name = "p1", kind = "peer", router = router, private_ip = "10.140.0.2",
  public_ip = "10.128.0.3" }, node_mod.Node)
router.wan_ip, router.lan_ip, router.lan = "10.128.0.3", "10.140.0.254", { subnet = "10.140.0.0/24" }
router.nodes = { peer }

-- The natrig.Network class, as network objects get it (new() needs an engine, so the
-- class is taken from new's upvalues when the module does not export it).
local Network
do
  local src = require("natrig.network")
  Network = rawget(src, "Network")
  for i = 1, 64 do
    if Network then break end
    local name, v = debug.getupvalue(src.new, i)
    if not name then break end
    if type(v) == "table" and rawget(v, "__name") == "natrig.Network" then Network = v end
  end
end
t.ok(Network ~= nil, "the natrig.Network class is reachable from natrig.network.new")
local net = setmetatable({ nodes = { gw, peer }, routers = { router }, state = "up",
  by_name = { g = gw, p1 = peer, ["router-1"] = router }, public = { subnet = "10.128.0.0/22" },
  session = { run_id = "abc123", scenario = "repl" } }, Network)
router.net = net

local env = setmetatable({ net = net, natrig = require "natrig", print = print, pairs = pairs },
  { __index = { ipairs = ipairs } })

-- globals, keywords, names from the env's __index table
t.is(cands("nat", env), "natrig", "a global")
t.is(cands("x = ip", env), "ipairs", "a global from the env's __index table, after an operator")
t.is(cands("ret", env), "return", "a keyword")
t.is(cands("ne", {}, { lazy_names = { "net" } }), "net", "a global made on first use (lazy)")

-- methods after ':' walk the metatable's __index chain
local c, partial = cands("net:pe", env)
t.is(c, "peer peers", "net:pe -> peer, peers (methods of the Network class)")
t.is(partial, "pe", "the word completed is the part after ':'")
t.like(cands("net:", env), "dump", "net: lists net:dump")
t.ok(not cands("net:", env):find("nodes"), "':' offers methods only, not fields")
t.like(cands("net.", env), "nodes", "'.' offers fields")
t.like(cands("net.", env), "peer", "'.' offers methods too")
t.ok(not cands("net.", env):find("__index"), "metamethods are not offered")
t.is(cands("net.by_name.p", env), "p1", "a field of a field")
t.like(cands("net.nodes[1]:", env), "^$", "no completion after an index expression (not evaluated)")
t.is(cands("natrig.par", env), "parallel", "a natrig. function")
t.is(cands("peer:wait", { peer = peer }), "wait_log", "a node's method through natrig.Node")
t.is(cands("r:set_", { r = router }), "set_nat", "a router's method through natrig.Router")
-- a node's liveness is natrig.watch's sub-object (x.life); its public running and exit_code
-- are views of it, offered like fields; the sub-object itself is not
local quit = setmetatable({ name = "q", kind = "node" }, node_mod.Node)
require("natrig.watch").started(quit)
t.is(quit.running, true, "node.running reads natrig.watch's state")
t.is(cands("q.runn", { q = quit }), "running", "Tab offers a node's running (a view of natrig.watch's state)")
t.ok(not (" " .. cands("q.", { q = quit }) .. " "):find(" life ", 1, true), "... but not the sub-object life")
t.is(cands("s:up", { s = "x" }), "upper", "string methods through the string metatable")
t.is(cands("nothere:x", env), "", "an unknown name completes nothing")
t.is(cands("(net):pe", env), "", "no completion after a closing parenthesis")

-- a lazy global (net in the REPL) is made by opts.lazy when completion needs its value
local made = 0
local lazy = { lazy_names = { "net" }, lazy = function(k) if k == "net" then made = made + 1 return net end end }
t.is(cands("net:pe", {}, lazy), "peer peers", "completion makes a lazy global when it needs it")
t.is(made, 1, "the lazy global was made once")
t.is(cands('net:get("p', {}, lazy), 'p1"', "node names of a lazy net (the REPL's) in net:get(\"")

-- names in strings, inside the obvious calls
t.is(cands('net:get("', env), 'g p1 router-1', "node names in net:get(\"")
t.is(cands('net:get("p', env), 'p1"', "one node name: completed with its closing quote")
t.is(cands("net:node('g", env), "g'", "net:node(' with single quotes")
t.is(cands('net:remove("r', env), 'router-1"', "net:remove(\"")
local nats = repl.complete('net:peer{ nat = "', env)
local want = require("natrig.nat").presets()
t.is(#nats, #want, "nat = \" offers every NAT preset (" .. #want .. ")")
t.is(cands('net:peer{nat="sym', env), 'symmetric"', "nat=\"sym -> symmetric")
t.is(cands('r:set_nat("full', env), 'full_cone"', "set_nat(\"full -> full_cone")
t.is(cands('g:impair("inter', env), 'intercontinental"', "impair(\"inter -> intercontinental")
t.is(cands('g:impair{ preset = "l', env), 'lan"', "preset = \"l -> lan")
t.is(cands('print("pe', env), "", "no names inside an unrelated string")
t.is(cands('x = "a" .. nat', env), "natrig", "a closed string before the word does not count")
t.is(cands('-- net:pe', env), "", "nothing inside a comment")

-- tab(): what the line editor does
local ins, del, listing, _ = repl.tab("net:pe", env, {})
t.is(ins, "er", "Tab on net:pe inserts 'er' (the common part of peer, peers)")
t.is(del, 0, "nothing deleted")
t.is(listing, nil, "no listing while there is something to insert")
ins, _, listing = repl.tab("net:peer", env, {})
t.is(ins, nil, "a second Tab inserts nothing more")
t.like(listing, "peer%s+peers", "and lists the candidates")
ins = repl.tab('net:get("p', env, {})
t.is(ins, '1"', "Tab completes a node name and closes the string")
ins, _, listing = repl.tab("zzz", env, {})
t.ok(ins == nil and listing == nil, "no candidates: nothing happens (the editor beeps)")
t.like(repl.columns({ "a", "b", "c" }, 10), "^a%s+", "columns lays names out")

-- the pretty-printer
t.is(pretty.format(42), "42", "a number")
t.is(pretty.format("a\nb"), "a\nb", "a string prints as itself")
t.is(pretty.format({ 1, 2, { a = "x" } }), '{ 1, 2, { a = "x" } }', "a short nested table on one line")
t.is(pretty.format({ b = 1, a = 2, [1] = "z" }), '{ "z", a = 2, b = 1 }', "list first, keys sorted")
local cyc = { name = "c" }
cyc.self = cyc
t.like(pretty.format(cyc), "self = <cycle: table: ", "a cycle is marked, not followed")
local long = {}
for i = 1, 100 do long[i] = i end
local lt = pretty.format(long)
t.like(lt, "%.%.%. 80 more %(100 in all%)", "a long list is cut with a count")
t.ok(not lt:find("21,", 1, true), "entries past the cut are not shown")
local deep = { a = { b = { c = { d = { e = { f = { g = { h = 1 } } } } } } } }
t.like(pretty.format(deep), "{%.%.%.}", "deep nesting is cut")
local wide = {}
for i = 1, 10 do wide["key" .. i] = ("value number %d"):format(i) end
t.like(pretty.format(wide), "^{\n  key1 = ", "a wide table goes one entry a line")
t.is(pretty.format({ ["not an ident"] = 1, ["end"] = 2 }), '{ ["end"] = 2, ["not an ident"] = 1 }',
  "keys that are not identifiers are bracketed")
t.is(pretty.format({ code = 0, stdout = "hello\n", stderr = "" }), "exit 0\nstdout:\nhello\nstderr: (empty)",
  "an exec result: code, stdout, stderr")
t.is(pretty.format({ code = 2, stdout = "", stderr = "no such file\n" }),
  "exit 2\nstdout: (empty)\nstderr:\nno such file",
  "a failed exec result")
t.is(pretty.format({ raw = "2024-01-01 INFO up", node = "g", level = "info", message = "up" }),
  "[g] 2024-01-01 INFO up",
  "a log entry prints as its line")
t.is(pretty.format({ { raw = "one", node = "a" }, { raw = "two\n", node = "b" } }), "[a] one\n[b] two",
  "a list of log entries prints as lines")
local diag = { routers = { ["router-1"] = { nat = "table ip natrig {\n}\n", conntrack = "" } },
  nodes = { g = { routes = "default via 10.0.0.1\n" } } }
t.is(pretty.format(diag), "== nodes g routes\ndefault via 10.0.0.1\n== routers router-1 conntrack\n(empty)\n" ..
  "== routers router-1 nat\ntable ip natrig {\n}", "diagnostics print as sections")
t.is(pretty.format({ routers = {}, nodes = { g = { routes = "r1\nr2\n", addresses = "a" } } }),
  "== nodes g addresses\na\n== nodes g routes\nr1\nr2", "diagnostics without routers")
t.is(pretty.format({}), "{}", "an empty table")
t.like(pretty.format(gw), "^natrig%.Node%(gateway g", "objects print with their __tostring")
t.like(pretty.format({ gw, peer }), "natrig%.Node%(peer p1", "a list of nodes")

-- the topology dump
local dump = require("natrig.dump")(net, { print = false })
t.like(dump, "network abc123 %(repl%), up, 2 nodes, 1 router", "dump: the header")
t.like(dump, "\npublic 10%.128%.0%.0/22\n", "dump: the public segment")
t.like(dump, "\n  gateway g%s+10%.128%.0%.2%s+impair delay=100ms", "dump: a gateway with its impairment")
t.like(dump, "\n  router%s+router%-1%s+wan 10%.128%.0%.3%s+nat symmetric", "dump: a router with its NAT")
t.like(dump, "\n    lan 10%.140%.0%.0/24 %(router 10%.140%.0%.254%)", "dump: the router's LAN")
t.like(dump, "\n      peer%s+p1%s+10%.140%.0%.2 %-> 10%.128%.0%.3", "dump: a peer in the LAN, private -> public")
t.ok(type(Network.dump) == "function", "net:dump is a Network method")

-- help lines: one a method, each with a description
local lines = repl.describe(net)
local missing = {}
for _, l in ipairs(lines) do
  if not l:match("^  :[%w_]+%b()%s+%S") then missing[#missing + 1] = l end
end
t.ok(#lines > 10, "help(net) lists the Network's methods (" .. #lines .. ")")
t.is(table.concat(missing, " | "), "", "every Network method has a one-line description")
local found
for _, l in ipairs(lines) do if l:match("^  :peer%(opts%)") then found = l end end
t.like(found, "NAT", "net:peer(opts) says it puts the node behind a NAT")
lines = repl.describe(peer)
missing = {}
for _, l in ipairs(lines) do if not l:match("^  :[%w_]+%b()%s+%S") then missing[#missing + 1] = l end end
t.is(table.concat(missing, " | "), "", "every Node method has a one-line description")
t.is(repl.signature(function(a, b, ...) return a, b, ... end), "(a, b, ...)", "a function's parameters")

-- Tab after `net:` offers the public methods only (natrig.help: a `---` comment without
-- @local); natrig's internal state and helpers stay out
local tabnames = " " .. cands("net:", env) .. " "
local internal = {}
for _, k in ipairs({ "ctl_dir", "plan", "place", "note", "log", "bring_up", "add_live", "engines",
  "map_text", "session", "actions", "holders", "eng" }) do
  if tabnames:find(" " .. k .. " ", 1, true) then internal[#internal + 1] = k end
end
t.is(table.concat(internal, " "), "", "net: offers no internal names")
local count = 0
for _ in tabnames:gmatch("%S+") do count = count + 1 end
t.ok(count >= 20 and count <= 36, "net: offers the public methods (" .. count .. "): " .. tabnames)
t.ok(tabnames:find(" path ", 1, true) and tabnames:find(" wait_path ", 1, true) and tabnames:find(" relay ", 1, true)
  and tabnames:find(" dns ", 1, true), "net: offers natrig.path's methods too (path, wait_path, relay, dns...)")
for _, k in ipairs(repl.members(net, true)) do
  t.ok(require("natrig.help").is_public(Network[k]), "net:" .. k .. " has a public doc comment")
end

-- long values: cut with a count, more() shows them whole
local v100 = {}
for i = 1, 100 do v100[i] = i end
local _, cut = pretty.format(v100)
t.ok(cut == true, "pretty.format says when it cut a list")
local full = pretty.format(v100, { full = true })
t.ok(full:find("100", 1, true) and not full:find("more", 1, true), "pretty.format{ full = true } cuts nothing")
t.ok(select(2, pretty.format({ 1, 2 })) == false, "a short list is not cut")
local function captured(f, ...)
  local buf, real = {}, io.stdout
  -- luacheck: push ignore 122
  io.stdout = { write = function(self, ...) for _, x in ipairs({ ... }) do buf[#buf + 1] = x end return self end,
    flush = function() end }
  local ok, err = pcall(f, ...)
  io.stdout = real
  -- luacheck: pop
  assert(ok, err)
  return table.concat(buf)
end
t.like(captured(repl.help, quit), "fields: kind, name, running\n",
  "help(node) shows its public fields, running among them")
local shown = captured(repl.show, v100)
t.like(shown, "%.%.%. 80 more %(100 in all%)", "show: a long list is cut with a count")
t.like(shown, "\n%(cut: more%(%) shows all of it%)\n$", "show: says more() shows the rest")
local long_text = ("line\n"):rep(199) .. "last"
shown = captured(repl.show, long_text)
local nl = select(2, shown:gsub("\n", ""))
t.is(nl, repl.max_lines + 2, "show: a 200-line text prints " .. repl.max_lines .. " lines, a count and the hint")
t.like(shown, "\n%.%.%. 160 more lines %(200 in all%)\n", "show: the count of lines left out")
t.is(captured(repl.show, "short"), "short\n", "show: a short value is printed as it is")
captured(repl.show, long_text)
shown = captured(repl.more)
t.is(shown, long_text .. "\n", "more() without a terminal prints the last result whole")
t.is(captured(repl.more, v100):match("100"), "100", "more(x) prints x whole")

-- net:get of an unknown name is an error naming the nodes; by_name is the lookup for nil
local ok, err = pcall(net.get, net, "zz")
t.ok(not ok, "net:get(\"zz\") raises")
t.like(tostring(err), "no node or router named zz; there are: g, p1, router%-1", "the error names the nodes")
t.is(net:get("p1"), peer, "net:get of a known name returns it")
t.is(net.by_name.zz, nil, "net.by_name[name] is nil for an unknown name")

-- what impair() returns prints as one line
local iface = require "natrig.iface"
t.is(tostring(iface.impairment("a", "delay=100ms direction=both", "natrig-shaper", 0.0123)),
  "impairment on a: delay=100ms direction=both (natrig-shaper, applied in 12 ms)", "an Impairment prints")
t.is(pretty.format(iface.impairment("a", "", nil, 0.002)), "no impairment on a (cleared in 2 ms)",
  "a cleared Impairment prints in the REPL")
t.is(cands("x.", { x = iface.impairment("a", "delay=1ms", "netem", 0.1) }), "engine seconds spec target",
  "Tab after an Impairment value offers its fields")

t.done()
