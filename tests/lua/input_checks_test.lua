-- Bad input is refused when it is declared, or just before net:up() creates anything,
-- naming the node and the option (issue 22 items 8 and 9), pure: no engine. (The same
-- inputs through `natrig run`, exit 2 and nothing created: tests/fake/fake_engine_test.lua.)
local t = require "tap"
require "natrig" -- its searcher finds the embedded modules
local network = require "natrig.network"
local nodeopts = require "natrig.nodeopts"
local plan = require "natrig.plan"

-- A network object as net:gateway/peer see it, without an engine (declaring makes nothing).
local function fresh()
  return setmetatable({ state = "declared", by_name = {}, nodes = {}, routers = {}, actions = {},
    counters = { peer = 0, gateway = 0, router = 0, node = 0 }, log = function() end }, network.Network)
end

local CMD = { "sleep", "600" }
local function refused(fn, pat, what) t.raises(fn, pat, what) end

-- names ---------------------------------------------------------------------------------
local net = fresh()
refused(function() net:gateway { name = ("x"):rep(300), cmd = CMD } end,
  "net:gateway.*bad name 'x+%.%.%. %(300 characters%)': .*at most 63 characters", "a 300-character name is refused")
refused(function() net:router { name = ("r"):rep(64) } end, "net:router.*at most 63", "a router's name too")
t.ok(net:gateway { name = ("g"):rep(63), cmd = CMD }, "63 characters are fine")

-- files -----------------------------------------------------------------------------------
refused(function()
  net:gateway { name = "f1", cmd = CMD, files = { { path = "/etc/x", data = "x", mode = "rwx" } } }
end,
  "net:gateway.*f1: files: '/etc/x' has mode 'rwx': give permission bits 0%.%.0777", "mode \"rwx\" is refused")
refused(function() net:gateway { name = "f2", cmd = CMD, files = { { path = "/x", data = "x", mode = 99999 } } } end,
  "f2: files: '/x' has mode 99999: .*setuid, setgid and sticky are not set", "mode 99999 is refused")
refused(function() net:gateway { name = "f3", cmd = CMD, files = { { path = "/x", data = "x", mode = 755 } } } end,
  "f3: files: '/x' has mode 755, which is decimal %(Lua has no octal literals%): write mode = \"755\"",
  "mode 755 (decimal, meant as octal) is refused with the fix")
refused(function() net:gateway { name = "f4", cmd = CMD, files = { { path = "../../etc/passwd", data = "x" } } } end,
  "f4: files: path '%.%./%.%./etc/passwd' escapes the target directory", "a path that escapes names the node")
refused(function() net:peer { name = "f5", cmd = CMD, files = { { path = "/x" } } } end,
  "f5: files: '/x' needs data, file, dir or symlink", "an entry without content")
local files = nodeopts.files("net:up", "n", { { path = "/a", data = "1", mode = "0644" },
  { path = "/b", data = "2", mode = 493 },
  { path = "/c", data = "3" } })
t.is(files[1].mode, 420, "mode \"0644\" is octal 644")
t.is(files[2].mode, 493, "mode 493 (0755) stays")
t.is(files[3].mode, nil, "no mode: the default")

-- ports, timeout, ready, binary ----------------------------------------------------------------
refused(function() net:gateway { name = "p1", cmd = CMD, ports = { 99999 } } end,
  "net:gateway.*p1: ports: 99999 is not a port %(1%-65535", "ports = { 99999 } is refused")
refused(function() net:gateway { name = "p2", cmd = CMD, ports = { 0 } } end, "p2: ports: 0 is not a port", "port 0")
refused(function() net:gateway { name = "p3", cmd = CMD, ports = { "80/icmp" } } end, "p3: ports: '80/icmp'",
  "a bad proto")
t.is(nodeopts.port("x", "n", "7509/udp"), "7509/udp", "\"7509/udp\" is a port")
t.is(nodeopts.port("x", "n", 22), "22/tcp", "22 is 22/tcp")
refused(function() net:gateway { name = "t1", cmd = CMD, timeout = 30 } end,
  "t1: timeout is a peer's NAT mapping timeout; a gateway has no NAT router", "timeout on a gateway is refused")
refused(function() net:peer { name = "t2", cmd = CMD, timeout = 0 } end, "udp_timeout: 0 is out of range",
  "timeout = 0")
refused(function() net:peer { name = "t3", cmd = CMD, timeout = -1 } end, "udp_timeout: bad number '%-1'",
  "timeout = -1")
-- TCP (RFC 5382) options: what a preset cannot honour, bad timeouts, unknown keys
refused(function() net:router { name = "tc1", nat = "linux_masquerade", tcp = { syn = "drop" } } end,
  "racy %(plain masquerade%) lets an unsolicited SYN reach the router's own stack, which answers RST; tcp syn drop",
  "tcp.syn = drop on linux_masquerade")
refused(function() net:router { name = "tc2", nat = "linux_masquerade", tcp = { filtering = "EIF" } } end,
  "tcp filtering EIF needs the guard", "tcp.filtering = EIF on linux_masquerade")
refused(function() net:peer { name = "tc3", cmd = CMD, tcp = { established = 0 } } end,
  "tcp_established: 0 is out of range 1%.%.604800 seconds", "tcp.established = 0")
refused(function() net:peer { name = "tc4", cmd = CMD, tcp = { transitory = 2.5 } } end,
  "tcp_transitory: bad number '2%.5'", "tcp.transitory = 2.5")
refused(function() net:peer { name = "tc5", cmd = CMD, tcp = { established = 60, transitory = 120 } } end,
  "tcp_transitory 120 is longer than tcp_established 60", "transitory longer than established")
refused(function() net:peer { name = "tc6", cmd = CMD, tcp = { synn = "rst" } } end,
  "unknown tcp option 'synn' %(valid: mapping, filtering, syn, established, transitory%)", "an unknown tcp key")
refused(function() net:peer { name = "tc7", cmd = CMD, tcp = { syn = "reset" } } end,
  "tcp_syn: bad value 'reset' %(want drop, rst or hold", "a bad syn mode")
refused(function() net:gateway { name = "tc8", cmd = CMD, tcp = { syn = "rst" } } end,
  "tc8: tcp is a peer's NAT's TCP behaviour; a gateway has no NAT router", "tcp on a gateway")
t.is(net:router { name = "tc9", nat = "full_cone", tcp = { filtering = "APDF", syn = "hold" } }.nat.tcp.filtering,
  "APDF", "tcp set apart from UDP's filtering")
t.ok(not net.by_name.tc1 and not net.by_name.tc3, "refused routers and peers are not declared")
refused(function() net:gateway { name = "r1", cmd = CMD, ready = { log = "x", timeout = 0 } } end,
  "r1: ready%.timeout must be a number of seconds > 0, got 0", "ready.timeout = 0")
refused(function() net:gateway { name = "b1", cmd = CMD, binary = "/no/such/binary" } end,
  "b1: binary '/no/such/binary' does not exist on this host", "a missing binary is refused at declaration")
local plain = os.tmpname() -- mode 0600
refused(function() net:gateway { name = "b2", cmd = CMD, binary = plain } end,
  "b2: binary '" .. plain:gsub("%p", "%%%0") .. "' is not executable", "a file that is not executable is refused")
os.remove(plain)
t.ok(net:gateway { name = "b3", cmd = CMD, binary = "/bin/true" }, "an executable binary is fine")
t.ok(not net.by_name.p1 and not net.by_name.f1, "refused nodes are not declared")

-- before anything is created: the plan fits --------------------------------------------------
local big = fresh()
for i = 1, 998 do big:gateway { name = "g" .. i, cmd = CMD } end
t.ok(pcall(plan.check, big), "998 public nodes fit the public /22 (hosts 2-999; 1000 and up are natrig's own)")
big:gateway { name = "g999", cmd = CMD }
refused(function() nodeopts.before_up(big) end,
  "net:up: the public network is full: 999 gateways, public nodes and routers asked for, a /22 holds 998",
  "999 are refused before anything is made, with the clear message")
local pn = fresh()
for i = 1, 600 do pn:gateway { name = "g" .. i, cmd = CMD } end
for i = 1, 399 do pn:peer { name = "p" .. i, cmd = CMD } end -- each with its own router
refused(function() plan.check(pn) end, "999 gateways, public nodes and routers", "peers' own routers count")
local lan = fresh()
local r = lan:router { name = "home" }
for i = 1, 253 do lan:peer { name = "p" .. i, cmd = CMD, router = r } end
refused(function() plan.check(lan) end, "the LAN of home is full: 253 nodes and routers behind it, a /24 LAN holds 252",
  "a full LAN is refused")
-- the planner itself says the same, never "subnet host: host 1023 is outside"
big.session = { run_id = "x", name = function(_, n) return n end }
big.pool = plan.POOL
refused(function() plan.plan(big, {}) end, "the public network 10%.[%d.]+/22 is full",
  "plan() says full, not 'outside'")

-- a scenario may open the sealed lab (outside = true), and only with a boolean
local scenario = require "natrig.scenario"
local def = scenario.define { name = "open", outside = true, run = function() end }
t.is(def.outside, true, "natrig.scenario takes outside = true (the run's network is opened)")
refused(function() scenario.define { name = "open", outside = "yes", run = function() end } end,
  "field 'outside' must be a boolean", "outside must be a boolean")

t.done()
