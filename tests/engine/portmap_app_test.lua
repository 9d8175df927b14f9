-- A real P2P program maps its own port (issue 23): Debian's transmission-daemon 3.00, with
-- port forwarding on (libnatpmp and libminiupnpc), behind a SYMMETRIC natrig router with
-- portmap on, is reached by a node on the public network at the port it mapped; behind the
-- same router with portmap off it is not (needs:engine; skipped only without the package
-- outside CI).
-- Safety: no torrent, DHT, LPD, PEX and uTP off, no RPC, no blocklist: transmission has
-- nothing to contact; the lab is sealed and net:escapes() must stay empty for it.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"

local TR = "/usr/bin/transmission-daemon"
if not natrig.core.stat(TR) then
  if os.getenv("CI") then t.ok(false, TR .. " missing: apt-get install transmission-daemon (make deps)") end
  print("1..0 # SKIP transmission-daemon not installed")
  return
end

local PORT = 51413
local SETTINGS = ([[{
  "dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
  "port-forwarding-enabled": true, "peer-port": %d, "peer-port-random-on-start": false,
  "rpc-enabled": false, "blocklist-enabled": false, "watch-dir-enabled": false,
  "incomplete-dir-enabled": false, "download-dir": "/tmp/tr/dl", "message-level": 3,
  "start-added-torrents": false
}
]]):format(PORT)

local function tr_peer(net, name, portmap)
  return net:peer { name = name, nat = "symmetric", portmap = portmap,
    binary = { host = TR, dest = "/usr/local/bin/transmission-daemon" },
    files = { { path = "/tmp/tr/settings.json", data = SETTINGS } },
    cmd = { "/usr/local/bin/transmission-daemon", "-f", "-g", "/tmp/tr", "--log-debug" },
    env = { HOME = "/tmp" } }
end

local net = natrig.network { scenario = "portmap_app_test", quiet = true }
local ok, err = pcall(function()
  local gw = net:gateway { name = "gw", cmd = { "sleep", "1000000" } }
  local on = tr_peer(net, "tr-on", { "upnp", "natpmp" })
  local off = tr_peer(net, "tr-off", nil)
  net:up()
  local r = on.router

  -- transmission asks by itself: wait for the router's miniupnpd to hold its mapping
  local m
  local t0 = natrig.now()
  while natrig.now() - t0 < 60 do
    for _, x in ipairs(r:mappings()) do
      if x.external_port == PORT and x.internal == on.private_ip .. ":" .. PORT then m = x end
    end
    if m then break end
    natrig.sleep(0.5)
  end
  t.ok(m, ("transmission mapped its peer port %d by itself (%s, %.1f s after up)")
    :format(PORT, m and m.via or "no mapping", natrig.now() - t0))
  t.diag("mapping: " .. (m and (m.proto .. " " .. m.external .. " -> " .. m.internal .. " '" .. m.description
    .. "' via " .. m.via) or "none"))
  t.like(on:log_text(), "[Pp]ort [Ff]orwarding", "transmission's own log reports its port forwarding")

  -- a public node opens TCP to the mapped port (BitTorrent's listening socket)
  local function connect(ip)
    local c = ("timeout 6 socat -T 3 /dev/null TCP:%s:%d,connect-timeout=3 && echo open || echo closed")
    return gw:exec { "sh", "-c", c:format(ip, PORT) }.stdout:match("%a+")
  end
  t.is(connect(r.wan_ip), "open", "portmap on: the gateway reaches transmission at the router's mapped port")
  t.is(connect(off.router.wan_ip), "closed", "portmap off: the same connection does not get in")
  t.is(#off.router:mappings(), 0, "portmap off: no mapping")
  local esc = net:escapes()
  t.is(#esc, 0, "nothing tried to leave the lab (" .. #esc .. " attempts)")
end)
t.ok(ok, "no unexpected error: " .. tostring(err))
net:down()
local eng = natrig.engine()
local filters = { label = natrig.json.array { "natrig.run=" .. net.session.run_id } }
t.is(#eng:container_list(filters) + #eng:network_list(filters), 0, "nothing left after down()")
t.done()
