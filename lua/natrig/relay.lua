--- natrig.relay: relay nodes (net:relay{ kind = "turn" }).
--
--   local relay = net:relay{ kind = "turn" }     -- before or after net:up()
--   relay.url, relay.username, relay.password    -- "turn:IP:3478", credentials natrig made
--   relay.node                                   -- the node (public network)
--
-- A TURN server (coturn's turnserver, in natrig's base image) on the public network with
-- long-term credentials natrig makes. Its node is a relay for net:path: two nodes that
-- both exchange traffic with it (and not directly) are "relayed via" it. A node of a
-- program that brings its own relay (a lighthouse, a DERP-like server) becomes one with
-- node.path_relay = true.
-- Options: kind ("turn"), name, realm, ports = { min, max } (the relayed ports; default
-- 49152-65535), host (the engine, over several).
-- @module natrig.relay
local core = require "natrig.core"

local M = {}
M.KINDS = { turn = true }

local function bad(msg) core.fail("einval", "net:relay", msg) end

--- A relay node (what net:relay{...} returns).
-- @type Relay
-- @tfield string kind "turn"
-- @tfield Node node its node, on the public network
-- @tfield ?string url "turn:IP:3478" (nil before net:up())
-- @tfield ?string ip its address (nil before net:up())
-- @tfield string username the long-term credential's user natrig made
-- @tfield string password its password
-- @tfield string realm the TURN realm ("natrig" unless given)
-- @tfield integer port the listening port (3478)
local Relay = {}
Relay.__index = function(self, k)
  if k == "ip" then return self.node.private_ip end
  if k == "url" then return self.node.private_ip and ("turn:%s:%d"):format(self.node.private_ip, self.port) end
  return Relay[k]
end
Relay.__name = "natrig.Relay"
M.Relay = Relay

function Relay:__tostring()
  return ("natrig.Relay(%s %s, %s)"):format(self.kind, self.node.name, tostring(self.url or "not up yet"))
end

local function secret()
  local f = io.open("/dev/urandom", "rb")
  local b = f and f:read(12) or tostring(core.now()) .. tostring(math.random())
  if f then f:close() end
  return (b:gsub(".", function(c) return ("%02x"):format(c:byte()) end)):sub(1, 24)
end

function M.new(net, opts)
  opts = core.check_options("net:relay", opts, { kind = "string", name = "string", realm = "string",
    ports = "table", host = "string|number" })
  local kind = opts.kind or "turn"
  if not M.KINDS[kind] then
    bad(("unknown relay kind '%s' (valid: turn); a program's own relay (a lighthouse, a DERP-like server) "
      .. "is a node: give it path_relay = true"):format(kind))
  end
  local ports = opts.ports or { 49152, 65535 }
  local lo, hi = math.tointeger(ports[1]), math.tointeger(ports[2])
  if not lo or not hi or lo < 1024 or hi > 65535 or hi <= lo then
    bad(("ports must be { min, max } with 1024 <= min < max <= 65535, got { %s, %s }"):format(
      tostring(ports[1]), tostring(ports[2])))
  end
  local r = setmetatable({ kind = kind, port = 3478, username = "natrig", password = secret(),
    realm = opts.realm or "natrig" }, Relay)
  r.node = net:node {
    name = opts.name or nil, host = opts.host, ip = require("natrig.ip6").serving4("net:relay"),
    cmd = function(n)
      return { "turnserver", "-n", "--log-file", "stdout", "--simple-log", "--no-cli", "--no-tls", "--no-dtls",
        "--no-software-attribute", "-L", n.private_ip, "--relay-ip", n.private_ip,
        "--listening-port", tostring(r.port), "-a", "-u", r.username .. ":" .. r.password, "-r", r.realm,
        "--min-port", tostring(lo), "--max-port", tostring(hi) }
    end,
    ready = { log = "IO method (admin thread)", plain = true, timeout = 20 },
  }
  r.node.path_relay = true
  r.node.relay = r
  net:note("relay", ("%s %s (ports %d-%d)"):format(kind, r.node.name, lo, hi))
  return r
end

return M
