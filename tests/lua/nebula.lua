-- tests/lua/nebula.lua: what the engine tests that run Nebula (Debian's overlay VPN) share:
-- the binaries (a missing one fails under CI=true, else skips), certificates made as a user
-- makes them (nebula-cert on the host, one CA, one cert per host), the config nebula's
-- example ships cut down, and the node options and files of a nebula node.
local core = require("natrig").core

local M = { NEBULA = "/usr/bin/nebula", NEBULA_CERT = "/usr/bin/nebula-cert", PORT = 4242 }

--- Exit the test when nebula is not installed: a failure under CI=true, else a skip.
function M.require_installed()
  if core.stat(M.NEBULA) and core.stat(M.NEBULA_CERT) then return end
  if os.getenv("CI") == "true" then
    print("not ok 1 - nebula required under CI=true (make deps installs the Debian package)")
    print("1..1")
    os.exit(1)
  end
  print("1..0 # SKIP nebula is not installed (make deps installs it)")
  os.exit(0)
end

local function run(argv)
  local code, out, err = core.run(argv)
  assert(code == 0, table.concat(argv, " ") .. ": " .. tostring(out) .. tostring(err))
  return out
end

--- A CA and a certificate per host of vpn ({ name = "10.42.0.x" }), made in a fresh
-- directory of our own (mktemp -d: mode 0700, unpredictable name) that is removed after.
-- Returns { ca = pem, [name] = { crt = pem, key = pem } }.
function M.pki(vpn)
  local dir = run({ "mktemp", "-d", "/tmp/natrig-nebula-test.XXXXXX" }):match("^(%S+)")
  run { M.NEBULA_CERT, "ca", "-name", "natrig vpn test", "-out-crt", dir .. "/ca.crt", "-out-key", dir .. "/ca.key" }
  local pki = { ca = core.read_file(dir .. "/ca.crt") }
  for name, ip in pairs(vpn) do
    local base = dir .. "/" .. name
    run { M.NEBULA_CERT, "sign", "-ca-crt", dir .. "/ca.crt", "-ca-key", dir .. "/ca.key", "-name", name,
      "-ip", ip .. "/24", "-out-crt", base .. ".crt", "-out-key", base .. ".key" }
    pki[name] = { crt = core.read_file(base .. ".crt"), key = core.read_file(base .. ".key") }
    core.remove(base .. ".crt")
    core.remove(base .. ".key")
  end
  core.remove(dir .. "/ca.crt")
  core.remove(dir .. "/ca.key")
  run { "rmdir", dir }
  return pki
end

--- The config: lighthouse (lh_public nil: this is the lighthouse, at vpn.lh; an IPv6
-- lh_public is written [addr]:port), punchy, tun, text logs, allow all; extra lines (a relay
-- section) go after punchy. o (optional): listen (the host nebula binds, default 0.0.0.0;
-- "[::]" for both families), lighthouse (more lines of the lighthouse section, indented).
function M.config(vpn, lh_public, extra, o)
  o = o or {}
  local c = {
    "pki:", "  ca: /etc/nebula/ca.crt", "  cert: /etc/nebula/host.crt", "  key: /etc/nebula/host.key",
  }
  if lh_public then
    c[#c + 1] = "static_host_map:"
    local host = lh_public:find(":", 1, true) and "[" .. lh_public .. "]" or lh_public
    c[#c + 1] = ('  "%s": ["%s:%d"]'):format(vpn.lh, host, M.PORT)
  end
  for _, l in ipairs({
    "lighthouse:", "  am_lighthouse: " .. tostring(lh_public == nil), "  interval: 60",
    "  hosts:" .. (lh_public and "" or " []"), lh_public and ('    - "%s"'):format(vpn.lh) or nil,
  }) do c[#c + 1] = l end
  for _, l in ipairs(o.lighthouse or {}) do c[#c + 1] = l end
  for _, l in ipairs({ "listen:", '  host: "' .. (o.listen or "0.0.0.0") .. '"', "  port: " .. M.PORT,
    "punchy:", "  punch: true", "  respond: true" }) do c[#c + 1] = l end
  for _, l in ipairs(extra or {}) do c[#c + 1] = l end
  for _, l in ipairs({
    "tun:", "  disabled: false", "  dev: nebula1", "  mtu: 1300",
    "logging:", "  level: info", "  format: text",
    "firewall:",
    "  outbound:", "    - port: any", "      proto: any", "      host: any",
    "  inbound:", "    - port: any", "      proto: any", "      host: any",
  }) do c[#c + 1] = l end
  return table.concat(c, "\n") .. "\n"
end

--- A node's files: /etc/nebula with its config and its certificate.
function M.files(pki, name, config)
  return {
    { path = "/etc/nebula", dir = true },
    { path = "/etc/nebula/config.yml", data = config },
    { path = "/etc/nebula/ca.crt", data = pki.ca },
    { path = "/etc/nebula/host.crt", data = pki[name].crt },
    { path = "/etc/nebula/host.key", data = pki[name].key, mode = 384 },
  }
end

--- A nebula node's options (the host's binary, tun, ready when its interface is up), with
-- extra's fields on top.
function M.opts(extra)
  local o = {
    binary = { host = M.NEBULA, dest = "/usr/local/bin/nebula" },
    cmd = { "/usr/local/bin/nebula", "-config", "/etc/nebula/config.yml" },
    tun = true,
    ready = { log = "Nebula interface is active", plain = true, timeout = 30 },
  }
  for k, v in pairs(extra) do o[k] = v end
  return o
end

return M
