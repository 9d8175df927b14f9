-- natrig.profiles: how to run a kind of peer. A profile is a table:
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
-- Built in: "natrig-peer", "command", "freenet". A user profile is a table, or the path
-- of a Lua file returning one (natrig.profiles.load).
local core = require "natrig.core"
local task = require "natrig.task"

local M = {}
M.builtin = {}

local FIELDS = { name = "string", image = "string", binary = { "string", "table" },
  gateway = "function", peer = "function", files = "function", env = "table", ports = "table",
  port = "number", ready = { "table", "boolean" }, log_files = "string", description = "string" }

local function bad(msg) error(core.error { code = "einval", op = "profile", status = 0, message = msg }, 0) end

-- Check a profile table; raise naming the first wrong or missing field.
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
  local chunk, err = loadfile(path, "t", setmetatable({ natrig = require "natrig" }, { __index = _G }))
  if not chunk then bad(err) end
  return M.check(chunk(), path)
end

-- The profile a node uses: opts.profile (name, table or file), else "command" when a
-- cmd is given, else natrig-peer.
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
  for _, f in ipairs(node.opts.files or {}) do files[#files + 1] = f end
  return files
end

-- Wait until the node is ready by the profile's rule (log line or probe), never a sleep.
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
M.builtin["natrig-peer"] = {
  name = "natrig-peer",
  port = 31337,
  gateway = function(node)
    return { "/usr/local/bin/natrig-peer", "gateway", "--port", "31337" }
  end,
  peer = function(node, net)
    local gw = first_gateway(net, node)
    return { "/usr/local/bin/natrig-peer", "peer", "--gateway", gw.public_ip .. ":31337",
      "--name", node.name, "--port", "31337" }
  end,
  ready = { log = "natrig_peer::", plain = true, timeout = 20 },
}

-- command: any argv (opts.cmd), any image (opts.image), no readiness unless opts.ready.
M.builtin["command"] = {
  name = "command",
  peer = function(node)
    if type(node.opts.cmd) ~= "table" or #node.opts.cmd == 0 then
      bad(("%s: profile command needs cmd = { argv... }"):format(node.name))
    end
    local a = {}
    for i, v in ipairs(node.opts.cmd) do a[i] = tostring(v) end
    return a
  end,
  ready = false,
}
M.builtin["command"].gateway = M.builtin["command"].peer

return M
