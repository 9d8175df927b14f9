-- NPTv6 (RFC 6296) in a router (issue 25), against the real engine (needs:engine): a peer
-- behind net:router{ ip = "dual", npt6 = true } is seen from the public network at its
-- translated address (natrig-peer echo on a dual-stack gateway answers "seen" with it), the
-- mapping is 1:1 (the outside /64 with the peer's own suffix), the answer comes back, the
-- router's IPv6 conntrack holds the inside address only, and a stranger's datagram to the
-- translated address is dropped by the APDF firewall. Bad input is refused when declared.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local core = require "natrig.core"

local PEER = "/usr/local/bin/natrig-peer"
local function esc(s) return (s:gsub("%p", "%%%0")) end

do
  local bad = natrig.network { scenario = "npt6_test_bad", quiet = true }
  t.raises(function() bad:router { nat = "port_restricted", npt6 = true } end,
    'npt6 on a router without IPv6 %(ip = "v4"%)', "npt6 on a v4-only router")
  t.raises(function() bad:router { ip = "dual", npt6 = "2001:db8:1::/60" } end, "a /48 %(natrig picks",
    "an outside prefix that is neither /48 nor /64")
  t.is(#bad.routers, 0, "no router was declared")
  bad:down()
end

local net = natrig.network { scenario = "npt6_test", quiet = true }
local ok, err = pcall(function()
  local gw = net:gateway { name = "gw", ip = "dual", cmd = { PEER, "echo", "--port", "4000", "--bind", "::" },
    ready = { log = "echo listening", plain = true } }
  local s = net:node { name = "s", ip = "dual", cmd = { "sleep", "600" } }
  local r = net:router { name = "rn", nat = "port_restricted", ip = "dual", npt6 = true }
  local p = net:peer { name = "p", router = r, cmd = { "sleep", "600" } }
  local t0 = natrig.monotonic()
  net:up()
  t.diag(("up in %.1f s; LAN %s, outside %s"):format(natrig.monotonic() - t0, r.lan.subnet6, r.npt6_prefix))
  t.is(core.npt6_outside(r.lan.subnet6, r.npt6_prefix), r.npt6_prefix,
    "the outside /64 is checksum-neutral with the LAN's " .. r.lan.subnet6)
  t.ok(p.public_ip6 ~= p.private_ip6 and core.subnet6_contains(r.npt6_prefix, p.public_ip6),
    ("the peer %s has the public address %s"):format(p.private_ip6, p.public_ip6))
  local host = tonumber(p.private_ip:match("(%d+)$"))
  t.ok(p.private_ip6 == core.subnet6_host(r.lan.subnet6, host)
    and p.public_ip6 == core.subnet6_host(r.npt6_prefix, host),
    ("1:1: the same suffix (host %d) on both sides"):format(host))

  local reply = p:exec { "sh", "-c",
    ("echo probe | socat -t3 -T3 - UDP6:[%s]:4000,sourceport=40000"):format(gw.private_ip6) }
  t.like(reply.stdout, "^seen %[?" .. esc(p.public_ip6) .. "%]?:40000",
    "the gateway sees the peer at its translated address, and its answer comes back: "
      .. reply.stdout:gsub("%s+$", ""))
  t.is(#gw:logs { match = p.private_ip6, plain = true }, 0, "the gateway never saw the inside address")
  local ct = r:exec({ "conntrack", "-L", "-f", "ipv6", "-p", "udp" }).stdout
  t.like(ct, "src=" .. esc(p.private_ip6) .. " dst=" .. esc(gw.private_ip6) .. " sport=40000 dport=4000 src="
    .. esc(gw.private_ip6) .. " dst=" .. esc(p.private_ip6),
    "the router's conntrack holds the inside address both ways")

  local function drops()
    local g = r:exec({ "nft", "list", "chain", "ip6", "natrig", "guard" }).stdout
    return tonumber(g:match("meta l4proto udp counter packets (%d+) bytes %d+ drop")) or -1
  end
  local d0 = drops()
  s:exec { "sh", "-c", ("echo x | socat -T1 - UDP6:[%s]:40000,sourceport=4000"):format(p.public_ip6) }
  -- (counted when it arrives: s's first IPv6 packet waits for neighbour discovery, which took
  -- longer than socat's 1 s under load)
  local n = drops() - d0
  for _ = 1, 50 do
    if n ~= 0 then break end
    natrig.sleep(0.1)
    n = drops() - d0
  end
  t.is(n, 1, "a stranger's datagram to the translated address is dropped by the APDF firewall")
end)
t.ok(ok, "no unexpected error: " .. tostring(err))
net:down()
t.done()
