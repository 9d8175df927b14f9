-- One clock and the small gaps of issue 18 (items 4 and 5; needs:engine):
--   - wait_log{ since = natrig.now() } returns only entries after the call, and
--     logs{ since = node:mark() } likewise (entries are stamped on natrig.now()'s clock);
--   - env, files and cmd given as function(node, net), evaluated at bring-up;
--   - node:host_port(2222) is the loopback host port the engine published;
--   - an app container without cap_add/tun has exactly Docker's default capability set.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local core = natrig.core

local net = natrig.network { scenario = "clock_test", quiet = true }
local ok, err = pcall(function()
  -- a line every 20 ms, numbered (test code: busybox sh in natrig's base image)
  local ticker = net:gateway { name = "ticker",
    cmd = { "sh", "-c", "i=0; while :; do i=$((i+1)); echo \"tick $i\"; sleep 0.02; done" },
    ready = { log = "tick 5", plain = true } }
  -- a web server whose page, environment and argv are all made at bring-up
  local web = net:gateway { name = "web", ports = { 2222 },
    cmd = function(node, n)
      return { "sh", "-c",
        "echo \"argv for $0 $1\"; echo \"env ME=$ME TICKER=$TICKER\"; exec httpd -f -p 2222 -h /www",
        node.name, n:get("ticker").public_ip }
    end,
    -- both forms at once: "K=v" list items and K = v pairs
    env = function(node, n) return { "ME=" .. node.name, TICKER = n:get("ticker").public_ip } end,
    files = function(node, n)
      return { { path = "/www", dir = true },
        { path = "/www/index.html",
          data = ("hello from %s, ticker at %s\n"):format(node.public_ip, n:get("ticker").public_ip) } }
    end,
    ready = { log = "env ME=", plain = true } }
  -- refused options fail at declaration, before anything is made for the node
  t.raises(function() net:peer { cmd = { "x" }, cap_add = { "SYS_ADMIN" } } end,
    "net:peer.*cap_add: SYS_ADMIN is refused: it is most of root", "net:peer refuses SYS_ADMIN, with the reason")
  t.is(#net.routers, 0, "... and no router was made for the refused peer")
  t.raises(function() net:gateway { cmd = { "x" }, devices = { "/dev/mem" } } end,
    "net:gateway.*devices: /dev/mem is refused", "net:gateway refuses /dev/mem")
  t.raises(function() net:gateway { cmd = { "x" }, privileged = true } end,
    "unknown option 'privileged'", "there is no privileged option")
  t.is(#net.nodes, 2, "only the two good nodes are declared")
  net:up()

  -- natrig.now() is the clock of the entries
  local when = require("natrig.logs").when
  local before = ticker:logs()
  local last = before[#before]
  t.ok(last and math.abs(when(last) - natrig.now()) < 2,
    ("entries and natrig.now() share a clock (last entry %.3f, now %.3f)"):format(when(last), natrig.now()))

  for round = 1, 3 do
    natrig.sleep(0.1)
    local seen = ticker:logs()
    local n_before = tonumber(seen[#seen].message:match("tick (%d+)"))
    local since = natrig.now()
    local e = ticker:wait_log { match = "tick", since = since, timeout = 5 }
    local n_got = tonumber(e.message:match("tick (%d+)"))
    t.ok(n_got > n_before, ("round %d: wait_log{ since = natrig.now() } returns a new entry "
      .. "(tick %d, the last seen before was tick %d)"):format(round, n_got, n_before))
    t.ok(when(e) >= since, ("round %d: ... stamped after the call (%.4f >= %.4f)"):format(round, when(e), since))
    -- every entry the query returns is after the mark; none from before
    local m = ticker:mark()
    natrig.sleep(0.1)
    local after = ticker:logs { match = "tick", since = m }
    local old = 0
    for _, x in ipairs(after) do if when(x) < m then old = old + 1 end end
    t.ok(#after >= 1 and old == 0, ("round %d: logs{ since = node:mark() }: %d entries, %d from before the mark")
      :format(round, #after, old))
  end
  -- a mark taken now: nothing before it matches
  local m = ticker:mark()
  t.ok(not ticker:logs { match = "tick 1$", since = m }[1], "the first tick is not after a later mark")

  -- function-valued cmd, env, files; host_port
  local argv_line = web:wait_log { match = "argv for", plain = true, timeout = 5 }
  t.is(argv_line.message, "argv for web " .. ticker.public_ip, "cmd = function(node, net) ran at bring-up")
  local env_line = web:wait_log { match = "env ME=", plain = true, timeout = 5 }
  t.is(env_line.message, "env ME=web TICKER=" .. ticker.public_ip, "env = function(node, net) ran at bring-up")
  local hp = web:host_port(2222)
  t.ok(math.type(hp) == "integer" and hp > 0 and hp ~= 2222,
    "host_port(2222) is the engine-chosen host port " .. tostring(hp))
  local info = net.eng:container_inspect(web.holder)
  t.is(tonumber(info.NetworkSettings.Ports["2222/tcp"][1].HostPort), hp, "... the one the engine reports")
  t.is(web.api_port, hp, "... and api_port (the first published port) agrees")
  local body
  for _ = 1, 50 do
    local code, out = core.run { "curl", "-s", "--max-time", "2", ("http://127.0.0.1:%d/index.html"):format(hp) }
    if code == 0 and out ~= "" then body = out break end
    natrig.sleep(0.1)
  end
  t.is(body, ("hello from %s, ticker at %s\n"):format(web.public_ip, ticker.public_ip),
    "files = function(node, net): the page made at bring-up, fetched through 127.0.0.1:host_port")
  t.raises(function() web:host_port(80) end, "web has no published port 80 %(published: 2222%)",
    "an unpublished port is an error")

  -- the app's capabilities by default: Docker's default set, nothing added
  local st = ticker:exec({ "cat", "/proc/self/status" }, { check = true }).stdout
  t.like(st, "CapEff:%s*00000000a80425fb", "an app without cap_add/tun has Docker's default set (0xa80425fb)")
  t.is(ticker:exec({ "test", "-e", "/dev/net/tun" }).code, 1, "... and no /dev/net/tun")
end)
t.ok(ok, "no unexpected error: " .. tostring(err))
net:down()
t.done()
