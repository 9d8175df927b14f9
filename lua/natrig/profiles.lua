--- natrig.profiles: how to run a kind of peer. A profile is a table:
--   name      string
--   image     image ref (nil: natrig's base image)
--   binary    host path of a binary to copy in (with its library closure), or
--             { host = path, dest = "/usr/local/bin/x" }
--   gateway   function(node, net) -> argv    (role "gateway")
--   peer      function(node, net) -> argv    (role "peer"; also used for plain nodes)
--   files     function(node, net) -> { {path=, data=, mode=} ... }  (uploaded before start)
--   env       { "K=V", ... }
--   ports     { 7509, ... }  published on 127.0.0.1 with engine-chosen host ports
--   port      the peer-to-peer UDP port (for node:addr())
--   ready     { log = "pattern" [, plain = true] [, timeout = s] } or
--             { probe = function(node, net) -> true|false [, timeout = s] } or false
--   log_files a Lua pattern of log file names in node.log_dir (programs that log to files)
--   check     function(node, net): raises on a node the profile cannot run, at net:up()
--             before anything is made (families are known then, addresses not yet)
-- Built in: "natrig-peer", "command", "freenet". A user profile is a table, or the path
-- of a Lua file returning one (natrig.profiles.load).
-- @module natrig.profiles
local core = require "natrig.core"
local task = require "natrig.task"
local ip6 = require "natrig.ip6"

local M = {}
M.builtin = {}

local FIELDS = { name = "string", image = "string", binary = { "string", "table", "function" },
  gateway = "function", peer = "function", files = "function", env = "table", ports = "table",
  port = "number", ready = { "table", "boolean" }, log_files = "string", description = "string",
  check = "function" }

local function bad(msg) error(core.error { code = "einval", op = "profile", status = 0, message = msg }, 0) end

--- Check a profile table; raise naming the first wrong or missing field.
-- @tparam table p a profile (the keys above)
-- @tparam[opt] string where what to name in the error (default: p.name)
-- @treturn table p
-- @usage require("natrig.profiles").check{ name = "mine", peer = function(node, net) return { "app" } end }
function M.check(p, where)
  where = where or (type(p) == "table" and p.name) or "?"
  if type(p) ~= "table" then bad(("profile %s must be a table"):format(where)) end
  for k, v in pairs(p) do
    local want = FIELDS[k]
    if not want then
      local names = {}
      for n in pairs(FIELDS) do names[#names + 1] = n end
      table.sort(names)
      bad(("profile %s: unknown field '%s' (valid: %s)"):format(where, tostring(k), table.concat(names, ", ")))
    end
    local okt = false
    for _, t in ipairs(type(want) == "table" and want or { want }) do if type(v) == t then okt = true end end
    if not okt then
      bad(("profile %s: field '%s' must be a %s, got %s"):format(where, k,
        type(want) == "table" and table.concat(want, " or ") or want, type(v)))
    end
  end
  if type(p.name) ~= "string" then bad(("profile %s: field 'name' is missing"):format(where)) end
  if not p.peer and not p.gateway then bad(("profile %s: needs a 'peer' or 'gateway' argv function"):format(p.name)) end
  if type(p.ready) == "table" and not (p.ready.log or p.ready.probe) then
    bad(("profile %s: field 'ready' needs 'log' or 'probe'"):format(p.name))
  end
  return p
end

function M.load(path)
  -- The same strict environment as scenario files: unknown globals raise, on read and on write.
  if not M.env then bad("profile files need require \"natrig\" first (it sets their environment)") end
  local chunk, err = loadfile(path, "t", M.env())
  if not chunk then bad(err) end
  return M.check(chunk(), path)
end

--- The profile a node uses: opts.profile (name, table or file), else "command" when a
-- cmd is given, else natrig-peer.
-- @local
function M.resolve(opts, kind)
  local p = opts.profile
  if p == nil then p = opts.cmd and "command" or "natrig-peer" end
  if type(p) == "string" then
    if M.builtin[p] then return M.builtin[p] end
    if p:match("%.lua$") then return M.load(p) end
    local names = {}
    for n in pairs(M.builtin) do names[#names + 1] = n end
    table.sort(names)
    bad(("unknown profile '%s' (built in: %s; or a table, or a .lua file)"):format(p, table.concat(names, ", ")))
  end
  M.check(p)
  if kind == "gateway" and not p.gateway then bad(("profile %s has no gateway role"):format(p.name)) end
  return p
end

function M.argv(p, node, net)
  local f = node.kind == "gateway" and p.gateway or p.peer or p.gateway
  local argv = f(node, net)
  if type(argv) ~= "table" or #argv == 0 then bad(("profile %s gave no argv for %s"):format(p.name, node.name)) end
  for _, a in ipairs(node.opts.args or {}) do argv[#argv + 1] = a end
  return argv
end

function M.files(p, node, net)
  local files = {}
  if p.files then for _, f in ipairs(p.files(node, net)) do files[#files + 1] = f end end
  local own = node.opts.files
  if type(own) == "function" then own = own(node, net) end -- built at bring-up (addresses known)
  if own ~= nil and type(own) ~= "table" then
    bad(("%s: files must be a list of {path=, data=} or a function(node, net) returning one"):format(node.name))
  end
  for _, f in ipairs(own or {}) do files[#files + 1] = f end
  return files
end

--- Wait until the node is ready by the profile's rule (log line or probe), never a sleep.
-- @local
function M.wait_ready(p, node, net)
  local r = node.opts.ready
  if r == nil then r = p.ready end
  if not r then return end
  local timeout = r.timeout or 30
  if r.log then
    node:wait_log { match = r.log, plain = r.plain, timeout = timeout }
  elseif r.probe then
    local deadline = core.now() + timeout
    while not r.probe(node, net) do
      if core.now() > deadline then
        error(core.error { code = "timeout", op = "ready " .. node.name, status = 0,
          message = ("not ready within %gs (probe of profile %s)"):format(timeout, p.name) }, 0)
      end
      task.sleep(0.05)
    end
  end
end

local function first_gateway(net, node)
  local gws = net:gateways()
  if #gws == 0 then
    bad(("%s needs a gateway: declare one with net:gateway{} (profile natrig-peer)"):format(node.name))
  end
  return gws[1]
end

-- natrig-peer: natrig's own hole-punching test peer (src/peer), already in the base image.
local PEER_PORT = tostring(core.PEER_PORT) -- natrig-peer's own default (src/core/peerproto.h)
M.builtin["natrig-peer"] = {
  name = "natrig-peer",
  port = core.PEER_PORT,
  -- a gateway with IPv6 serves both families (one socket each; a peer is introduced to the
  -- peers of its own family), a v6only one IPv6 alone
  gateway = function(node)
    local argv = { "/usr/local/bin/natrig-peer", "gateway", "--port", PEER_PORT }
    if node.public_ip6 then
      if node.ip ~= "v6only" then argv[#argv + 1] = "--bind"; argv[#argv + 1] = "0.0.0.0" end
      argv[#argv + 1] = "--bind"; argv[#argv + 1] = "::"
    end
    return argv
  end,
  -- a peer speaks IPv4 to the gateway when both have it, else IPv6
  peer = function(node, net)
    local gw = first_gateway(net, node)
    M.builtin["natrig-peer"].check(node, net)
    local v6 = gw.public_ip6 and (node.ip == "v6only" or gw.ip == "v6only")
    local at = v6 and ip6.hostport(gw.public_ip6, PEER_PORT) or (gw.public_ip .. ":" .. PEER_PORT)
    return { "/usr/local/bin/natrig-peer", "peer", "--gateway", at, "--name", node.name, "--port", PEER_PORT }
  end,
  ready = { log = "natrig_peer::", plain = true, timeout = 20 },
  -- a peer and its gateway share a family: an IPv4-only peer cannot reach a v6only gateway,
  -- nor a v6only peer an IPv4-only one (even through NAT64: the gateway would introduce it
  -- to peers by IPv4 addresses it cannot send to)
  check = function(node, net)
    if node.kind == "gateway" then return end
    local gw = first_gateway(net, node)
    if not ip6.has4(node.ip) and not ip6.has6(gw.ip) then
      bad(("%s speaks IPv6 only (%s) and its gateway %s IPv4 only (ip = %q): they share no family; "
        .. "give %s ip = \"dual\""):format(node.name, node.router and ("behind v6only router " .. node.router.name)
        or "ip = \"v6only\"", gw.name, tostring(gw.ip), gw.name))
    end
    if not ip6.has4(gw.ip) and not ip6.has6(node.ip) then
      bad(("%s speaks IPv4 only (ip = %q) and its gateway %s IPv6 only (ip = \"v6only\"): they share no "
        .. "family; give %s ip = \"dual\" (or the gateway ip = \"dual\")"):format(node.name, tostring(node.ip),
        gw.name, node.router and ("its router " .. node.router.name) or node.name))
    end
  end,
}

-- command: any argv (opts.cmd), any image (opts.image), no readiness unless opts.ready.
M.builtin["command"] = {
  name = "command",
  -- cmd may be a function(node, net) -> argv, called at bring-up when every address is
  -- known (e.g. to point at a gateway's IP).
  peer = function(node, net)
    local cmd = node.opts.cmd
    if type(cmd) == "function" then cmd = cmd(node, net) end
    if type(cmd) ~= "table" or #cmd == 0 then
      bad(("%s: profile command needs cmd = { argv... } or a function returning one"):format(node.name))
    end
    local a = {}
    for i, v in ipairs(cmd) do a[i] = tostring(v) end
    return a
  end,
  ready = false,
}
M.builtin["command"].gateway = M.builtin["command"].peer

-- freenet: the real Freenet peer (https://freenet.org), built with `cargo install freenet`.
-- The binary comes from FREENET_BIN (or the node's binary option) and is baked into an
-- image FROM natrig's base. Gateways get an X25519 transport keypair (64 hex characters
-- of the secret key, made with the host's openssl); peers are told the gateway as
-- "ip:port,<hex public key>". Data, config and log dirs are explicit; logs go to files
-- (freenet prints nothing without a terminal), read from a bind-mounted host directory.
local function x25519_keypair()
  -- Files made by mkstemp (os.tmpname: unique names, mode 0600), never a predictable
  -- path another user could plant a link at.
  local priv, pub = os.tmpname(), os.tmpname()
  local c1, _, e1 = core.run({ "openssl", "genpkey", "-algorithm", "X25519", "-outform", "DER", "-out", priv })
  local c2, _, e2 = core.run({ "openssl", "pkey", "-inform", "DER", "-in", priv, "-pubout", "-outform", "DER",
    "-out", pub })
  local k, p = core.read_file(priv), core.read_file(pub)
  core.remove(priv)
  core.remove(pub)
  if c1 ~= 0 or c2 ~= 0 or not k or not p or #k < 32 or #p < 32 then
    bad("freenet: could not make an X25519 keypair with openssl: " .. tostring(e1) .. tostring(e2))
  end
  local function hex(s) return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end)) end
  return hex(k:sub(-32)), hex(p:sub(-32))
end

local function freenet_keys(node)
  if not node.freenet_keys then
    local secret, public = x25519_keypair()
    node.freenet_keys = { secret = secret, public = public }
  end
  return node.freenet_keys
end

local function freenet_common()
  return { "/usr/local/bin/freenet", "network",
    "--network-address", "0.0.0.0", "--network-port", "31337",
    "--skip-load-from-network", "--disable-auto-update",
    "--data-dir", "/natrig/data", "--config-dir", "/natrig/config", "--log-dir", "/natrig/logs",
    "--ws-api-address", "0.0.0.0", "--ws-api-port", "7509" }
end

-- Freenet is given IPv4 addresses here: a v6only gateway (no IPv4) is refused, by name.
local function need4(node, gw)
  if not ip6.has4(gw.ip) then
    bad(("%s: profile freenet gives its gateways by IPv4 address, and %s is ip = \"v6only\" (no IPv4): "
      .. "give it ip = \"dual\""):format(node.name, gw.name))
  end
end

M.builtin["freenet"] = {
  name = "freenet",
  description = "the real Freenet peer; set FREENET_BIN to the binary from `cargo install freenet`",
  port = 31337,
  ports = { 7509 },
  env = { "FREENET_TELEMETRY_ENABLED=false", "HOME=/natrig/home", "RUST_BACKTRACE=1", "RUST_LOG=info" },
  gateway = function(node)
    need4(node, node)
    local a = freenet_common()
    for _, x in ipairs({ "--is-gateway", "--public-network-address", node.public_ip,
      "--public-network-port", "31337", "--transport-keypair", "/natrig/config/transport_keypair" }) do
      a[#a + 1] = x
    end
    return a
  end,
  peer = function(node, net)
    local a = freenet_common()
    local gws = net:gateways()
    if #gws == 0 then bad(node.name .. " needs a gateway: declare one with net:gateway{ profile = \"freenet\" }") end
    for _, gw in ipairs(gws) do
      need4(node, gw)
      a[#a + 1] = "--gateway"
      a[#a + 1] = ("%s:31337,%s"):format(gw.public_ip, freenet_keys(gw).public)
    end
    return a
  end,
  check = function(node, net)
    if node.kind == "gateway" then return need4(node, node) end
    for _, gw in ipairs(net:gateways()) do need4(node, gw) end
  end,
  files = function(node)
    local f = {
      { path = "/natrig/data", dir = true }, { path = "/natrig/config", dir = true },
      { path = "/natrig/home", dir = true },
    }
    if node.kind == "gateway" then
      f[#f + 1] = { path = "/natrig/config/transport_keypair", data = freenet_keys(node).secret, mode = 384 }
    end
    return f
  end,
  log_files = "^freenet%..*log$",
  -- the node has its sockets up and its event loop running (seen in 0.2.154's log)
  ready = { log = "Peer startup event emitted", plain = true, timeout = 60 },
}
M.builtin["freenet"].binary = function()
  local b = core.getenv("FREENET_BIN")
  if not b or b == "" then bad("profile freenet: set FREENET_BIN to the freenet binary (cargo install freenet)") end
  return { host = b, dest = "/usr/local/bin/freenet" }
end

return M
