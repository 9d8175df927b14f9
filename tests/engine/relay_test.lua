-- net:relay{ kind = "turn" } and net:path through it (needs:engine; issue 26.2): two peers
-- behind symmetric NATs cannot punch, so a uses the TURN relay (coturn's turnutils_uclient,
-- with the credentials natrig made) and b sends to a's relayed addresses. net:path says
-- relayed via the relay node, with what b sent as counted within 5 % of what natrig-peer
-- send says it sent (plus the IP and UDP headers).
-- Bad input: an unknown relay kind, a path to a node of another network.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"

local PEER = "/usr/local/bin/natrig-peer"
local N, LEN = 200, 1200
local net = natrig.network { scenario = "relay_test", quiet = true }
local ok, err = pcall(function()
  t.raises(function() net:relay { kind = "derp" } end, "unknown relay kind 'derp' %(valid: turn%)",
    "an unknown relay kind is refused, naming the valid ones")
  t.raises(function() net:relay { ports = { 50000, 40000 } } end, "ports must be", "bad ports are refused")
  local relay = net:relay { kind = "turn", name = "turn", ports = { 50000, 50009 } }
  local sleep = { "sleep", "600" }
  local a = net:peer { name = "a", nat = "symmetric", cmd = sleep }
  local b = net:peer { name = "b", nat = "symmetric", cmd = sleep }
  net:up()
  t.like(relay.url, "^turn:[%d.]+:3478$", "relay.url " .. relay.url)
  t.is(relay.username, "natrig", "relay.username")
  t.ok(#relay.password >= 16, "relay.password made by natrig")
  net:paths() -- counting starts

  -- a is the relay's client: turnutils_uclient allocates, makes a permission for b's public
  -- address and sends toward it (dropped by b's NAT: b never sent to that relayed port).
  -- b, the peer, sends to a's relayed addresses; the relay forwards what it permits to a.
  local client = natrig.spawn(function()
    return a:exec { "timeout", "60", "turnutils_uclient", "-u", relay.username, "-w", relay.password,
      "-p", "3478", "-e", b.public_ip, "-r", "9", "-n", "1500", "-l", "100", "-z", "20", "-X", relay.ip }
  end)
  local ports, deadline = {}, natrig.now() + 20
  while #ports == 0 and natrig.now() < deadline do
    natrig.sleep(0.2)
    local l = relay.node:netexec({ "netstat", "-uln" }, { quiet = true }).stdout
    for port in l:gmatch(relay.ip:gsub("%.", "%%.") .. ":(500%d%d)") do ports[#ports + 1] = port end
  end
  t.ok(#ports > 0, "the client's allocations: relay ports " .. table.concat(ports, ", "))
  local all_ports = ports
  natrig.sleep(1) -- its permissions
  -- which of the allocations forward b's datagrams to a (the ones with b's permission):
  -- 5 datagrams to each, and what arrived at a from the relay
  local msg = string.rep("x", LEN)
  local function send(port, count)
    local r = b:exec { PEER, "send", "--to", relay.ip .. ":" .. port, "--from-port", "4000", "--msg", msg,
      "--count", tostring(count), "--interval", "5" }
    return tonumber(r.stdout:match("sent (%d+)")) or 0
  end
  local forwarding, probes_arrived = {}, 0
  local PROBE = 40
  local function arrived() return net:path(a, b).b_to_a.received_packets or 0 end
  for _, port in ipairs(ports) do
    -- what arrives at a anyway in the same time (the relay's answers to a's own requests)
    local idle0 = arrived()
    natrig.sleep(0.5)
    local before = arrived()
    send(port, PROBE)
    natrig.sleep(0.5)
    local got = arrived() - before - (before - idle0)
    t.diag(("relay port %s: %d of %d probes arrived at a"):format(port, got, PROBE))
    probes_arrived = probes_arrived + math.max(0, math.min(got, PROBE))
    if got >= PROBE * 0.9 then forwarding[#forwarding + 1] = port end
  end
  t.ok(#forwarding > 0, "allocations that forward b's datagrams to a: " .. table.concat(forwarding, ", "))
  ports = forwarding
  local sent = 0
  for _, port in ipairs(ports) do sent = sent + send(port, N) end
  t.is(sent, N * #ports, "b sent its datagrams")

  local p = net:wait_path { a, b, kind = "relayed", timeout = 10 }
  t.is(p.kind, "relayed", "symmetric x symmetric with a TURN relay: relayed")
  t.is(p.via, relay.node.name, "via the relay node")
  natrig.sleep(0.5) -- the last listings
  p = net:path(a, b)
  t.diag(("b->a %d packets %d bytes (arrived at a from the relay: %d packets %d bytes); a->b %d packets"):format(
    p.b_to_a.packets, p.b_to_a.bytes, p.b_to_a.received_packets, p.b_to_a.received_bytes, p.a_to_b.packets))
  -- what b sent: its payload plus 28 bytes of IP and UDP headers each
  local want = (sent + PROBE * #all_ports) * (LEN + 28)
  t.ok(math.abs(p.b_to_a.bytes - want) <= 0.05 * want,
    ("bytes b sent to a through the relay, as counted, within 5%% of what b sent (%d, want %d)"):format(
      p.b_to_a.bytes, want))
  -- what arrived at a: what the relay forwarded (TURN's Data indication or ChannelData
  -- header on each) and the relay's answers to a's own requests
  t.ok(p.b_to_a.received_packets >= sent + probes_arrived,
    ("what b sent to the forwarding allocations arrived at a (%d of %d)"):format(
    p.b_to_a.received_packets, sent + probes_arrived))
  local fwd = (sent + probes_arrived) * (LEN + 28)
  t.ok(math.abs(p.b_to_a.received_bytes - fwd) <= 0.05 * fwd,
    ("bytes that arrived at a from the relay within 5%% of what b sent to the forwarding allocations "
      .. "(%d, want %d)"):format(p.b_to_a.received_bytes, fwd))
  t.ok(net:path(a, b).kind ~= "direct", "never direct")
  client:cancel("test over")

  -- bad input: a path between nodes of different networks
  local other = natrig.network { scenario = "relay_test_other", quiet = true }
  local x = other:peer { name = "x", cmd = sleep }
  t.raises(function() net:path(a, x) end, "belongs to another network",
    "a path to another network's node is refused")
  t.raises(function() net:path(a, a.router) end, "a router", "a path to a router is refused")
  t.raises(function() net:wait_path { a, b, kind = "sideways" } end, "kind must be one of",
    "an unknown kind is refused")
  pcall(other.down, other)
end)
t.ok(ok, "no error: " .. tostring(err))
net:down()
t.done()
