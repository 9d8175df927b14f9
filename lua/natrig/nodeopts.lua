--- natrig.nodeopts: checking a node's options when it is declared, and the whole network
-- just before net:up() creates anything, so bad input fails at once with exit 2 and a
-- message naming the node and the option, never seconds later with the engine's or
-- runc's words after the network was built (issue 22 item 9).
--   name      letters, digits, _ . -, at most 63 characters (it is the container's hostname)
--   ports     1..65535, optionally "/tcp", "/udp" or "/sctp"
--   files     paths that stay inside the container's root; mode a permission (0..0777)
--             given as an integer (Lua has no octal literals: 420 or tonumber("644", 8))
--             or a string of octal digits ("644", "0755")
--   binary    a host file that exists and is executable
--   timeout   a peer's NAT mapping timeout (seconds > 0); a gateway or node has no router
--   tcp       a peer's own NAT's TCP behaviour (natrig.nat checks keys and values)
--   ready     { timeout = seconds > 0 }
-- Function-valued options (files, binary) are checked when natrig calls them.
-- @module natrig.nodeopts
local core = require "natrig.core"

local M = {}

--- The options of net:peer, net:gateway and net:node, with their types: a new option is one
-- entry here (checked by core.check_options when the node is declared; the checks below
-- look at values).
M.NODE_OPTS = { name = "string", nat = "string|table", router = "table",
  profile = "string|table", cmd = "table|function", image = "string", env = "table|function",
  files = "table|function", ports = "table", ready = "table|boolean", args = "table",
  binary = "string|table|function", behind = "table", hairpin = "boolean", timeout = "number",
  port_preservation = "boolean", may_exit = "boolean", capture = "boolean", cap_add = "table",
  devices = "table", tun = "boolean", host = "string|number", portmap = "table|boolean", ip = "string",
  filtering6 = "string", tcp = "table" }

--- The options of net:router, typed like the nodes' (the keys a peer's own router shares
-- with net:peer have the same types), plus a carrier-grade NAT's (natrig.cgn.OPTS: the
-- type of each default).
M.ROUTER_OPTS = { name = "string", nat = "string|table", behind = "table", ip = "string",
  filtering6 = "string", hairpin = "boolean", timeout = "number", port_preservation = "boolean",
  capture = "boolean", host = "string|number", portmap = "table|boolean", tcp = "table", nat64 = "boolean",
  npt6 = "boolean|string" }
for k, d in pairs(require("natrig.cgn").OPTS) do M.ROUTER_OPTS[k] = type(d) end

M.NAME_MAX = 63 -- a hostname label (runc refuses a longer one when the container starts)

local function bad(op, msg) core.fail("einval", op, msg) end

--- Check a node's or router's name (nil: one is chosen for it).
function M.name(op, want)
  if type(want) ~= "string" or not want:match("^[%w][%w_.-]*$") or #want > M.NAME_MAX then
    local shown = tostring(want)
    if #shown > 40 then shown = shown:sub(1, 40) .. ("... (%d characters)"):format(#shown) end
    bad(op, ("bad name '%s': letters, digits, _ . - and at most %d characters (it is the container's hostname)")
      :format(shown, M.NAME_MAX))
  end
  return want
end

--- One port of ports = { ... }: returns it as "N/proto".
function M.port(op, name, p)
  local n, proto
  if math.type(p) == "integer" then
    n, proto = p, "tcp"
  elseif type(p) == "string" then
    local a, b = p:match("^(%d+)/(%a+)$")
    n, proto = tonumber(a or p:match("^(%d+)$")), b or "tcp"
  end
  if not n or n < 1 or n > 65535 or not (proto == "tcp" or proto == "udp" or proto == "sctp") then
    bad(op, ("%s: ports: %s is not a port (1-65535, optionally \"/udp\", \"/tcp\" or \"/sctp\")")
      :format(name, type(p) == "string" and ("'" .. p .. "'") or tostring(p)))
  end
  return n .. "/" .. proto
end

--- A file entry's mode: nil or an integer 0..0777.
function M.mode(op, name, path, m)
  if m == nil then return nil end
  local v
  if math.type(m) == "integer" then
    v = m
    if v > 511 and tostring(v):match("^[0-7]+$") and tonumber(tostring(v), 8) <= 511 then
      bad(op, ("%s: files: '%s' has mode %d, which is decimal (Lua has no octal literals): write mode = \"%d\" "
        .. "or tonumber(\"%d\", 8)"):format(name, path, v, v, v))
    end
  elseif type(m) == "string" and m:match("^[0-7]+$") then
    v = tonumber(m, 8)
  end
  if not v or v < 0 or v > 511 then
    bad(op, ("%s: files: '%s' has mode %s: give permission bits 0..0777 as a string of octal digits "
      .. "(\"644\") or an integer (420); setuid, setgid and sticky are not set by natrig")
      :format(name, path, type(m) == "string" and ("'" .. m .. "'") or tostring(m)))
  end
  return v
end

--- Check and normalise a list of file entries ({path=, data=|file=|dir=|symlink=, mode=});
-- returns a new list (modes as integers). Raises naming the node and the entry.
function M.files(op, name, files)
  if type(files) ~= "table" then
    bad(op, ("%s: files must be a list of {path=, data=} or a function(node, net) returning one"):format(name))
  end
  local out = {}
  for i, f in ipairs(files) do
    if type(f) ~= "table" then bad(op, ("%s: files[%d] must be a table {path=, data=}"):format(name, i)) end
    if type(f.path) ~= "string" or f.path == "" then
      bad(op, ("%s: files[%d] needs a path (a string)"):format(name, i))
    end
    local norm, why = core.tarpath(f.path)
    if not norm then bad(op, ("%s: files: %s"):format(name, tostring(why):gsub("^[^:]*: ", ""))) end
    if f.data == nil and f.file == nil and not f.dir and f.symlink == nil then
      bad(op, ("%s: files: '%s' needs data, file, dir or symlink"):format(name, f.path))
    end
    if f.data ~= nil and type(f.data) ~= "string" then
      bad(op, ("%s: files: '%s' has data of type %s (a string)"):format(name, f.path, type(f.data)))
    end
    if f.file ~= nil then
      local st = type(f.file) == "string" and core.stat(f.file)
      if not st or st.type ~= "file" then
        bad(op, ("%s: files: '%s' comes from host file '%s', which does not exist or is not a regular file")
          :format(name, f.path, tostring(f.file)))
      end
    end
    local e = {}
    for k, v in pairs(f) do e[k] = v end
    e.mode = M.mode(op, name, f.path, f.mode)
    out[#out + 1] = e
  end
  return out
end

--- A binary to copy in: a host path (or { host=, dest= }) that exists and is executable.
function M.binary(op, name, bin)
  if type(bin) == "function" or bin == nil then return end
  local host = type(bin) == "table" and bin.host or bin
  if type(host) ~= "string" then
    bad(op, ("%s: binary needs a host path (a string, or { host=, dest= })"):format(name))
  end
  if type(bin) == "table" and bin.dest ~= nil and (type(bin.dest) ~= "string" or not bin.dest:match("^/")) then
    bad(op, ("%s: binary: dest must be an absolute path in the container"):format(name))
  end
  local st = core.stat(core.realpath(host) or host)
  if not st or st.type ~= "file" then
    bad(op, ("%s: binary '%s' does not exist on this host (or is not a regular file)"):format(name, host))
  end
  if st.mode and st.mode & 73 == 0 then -- no x bit (0111) for anyone
    bad(op, ("%s: binary '%s' is not executable (chmod +x it)"):format(name, host))
  end
end

--- Every option of a node that can be checked when it is declared.
function M.check(op, name, kind, opts)
  if opts.timeout ~= nil and kind ~= "peer" then
    bad(op, ("%s: timeout is a peer's NAT mapping timeout; a %s has no NAT router"):format(name, kind))
  end
  if opts.tcp ~= nil and kind ~= "peer" then
    bad(op, ("%s: tcp is a peer's NAT's TCP behaviour; a %s has no NAT router"):format(name, kind))
  end
  if opts.tcp ~= nil and opts.router ~= nil then
    bad(op, ("%s: tcp belongs to the shared router (net:router{ tcp = ... }), not to a peer behind it"):format(name))
  end
  for _, p in ipairs(opts.ports or {}) do M.port(op, name, p) end
  if type(opts.files) == "table" then M.files(op, name, opts.files) end
  M.binary(op, name, opts.binary)
  local r = opts.ready
  if type(r) == "table" and r.timeout ~= nil and not (type(r.timeout) == "number" and r.timeout > 0) then
    bad(op, ("%s: ready.timeout must be a number of seconds > 0, got %s"):format(name, tostring(r.timeout)))
  end
  if opts.args ~= nil then
    for i, a in ipairs(opts.args) do
      if type(a) ~= "string" and type(a) ~= "number" then
        bad(op, ("%s: args[%d] must be a string, got %s"):format(name, i, type(a)))
      end
    end
  end
end

--- What can be checked of the whole network just before net:up() creates anything: the
-- plan fits its subnets (natrig.plan.check), a profile's binary function gives a binary
-- that exists (FREENET_BIN...), the impairment asked for in the environment is valid.
function M.before_up(net)
  require("natrig.plan").check(net)
  for _, n in ipairs(net.nodes) do
    if n.profile.check then n.profile.check(n, net) end -- what the profile cannot run (families)
    local bin = n.opts.binary or n.profile.binary
    if type(bin) == "function" then
      local ok, b = pcall(bin, n, net)
      -- natrig's own refusal (an unset FREENET_BIN) is raised now; a function that needs
      -- the addresses (not known yet) is left for the bring-up
      if not ok and type(b) == "table" and b.code == "einval" then
        bad("net:up", ("%s: %s"):format(n.name, tostring(b.message or b)))
      end
      if ok then M.binary("net:up", n.name, b) end
    end
  end
  core.impair_from_env(core.getenv("NATRIG_EMULATION"), core.getenv("FREENET_TEST_NETWORK_EMULATION"))
end

return M
