-- nat64_conf.lua - prints what natrig gives a NAT64 router, for tests/nat/netns-nat64 (run
-- with `natrig lua`): the files and argv lists of natrig.nat64 and the lab resolver's argv
-- (natrig.seal), so the netns proof runs exactly natrig's own configuration.
--   natrig lua tests/nat/nat64_conf.lua prefix             (64:ff9b::/96)
--   natrig lua tests/nat/nat64_conf.lua tayga6 LAN6        (tayga's own IPv6 address)
--   natrig lua tests/nat/nat64_conf.lua tayga PREFIX TAYGA6
--   natrig lua tests/nat/nat64_conf.lua unbound PREFIX LAN_IP6 LAN6 UPSTREAM
--   natrig lua tests/nat/nat64_conf.lua setup PREFIX TAYGA6 (one argv a line)
--   natrig lua tests/nat/nat64_conf.lua daemons            (tayga's, then unbound's argv)
--   natrig lua tests/nat/nat64_conf.lua resolver IP NAME=IPV4...
--   natrig lua tests/nat/nat64_conf.lua synth PREFIX IPV4
local nat64 = require "natrig.nat64"
local what = arg[1]
if what == "prefix" then
  print(nat64.PREFIX)
elseif what == "tayga6" then
  print(require("natrig.core").subnet6_host(arg[2], nat64.TAYGA_HOST6))
elseif what == "tayga" then
  io.write(nat64.tayga_conf(arg[2], arg[3]))
elseif what == "unbound" then
  io.write(nat64.unbound_conf(arg[2], arg[3], arg[4], arg[5]))
elseif what == "setup" then
  for _, a in ipairs(nat64.setup_argvs(arg[2], arg[3])) do print(table.concat(a, " ")) end
elseif what == "daemons" then
  print(table.concat(nat64.tayga_argv(), " "))
  print(table.concat(nat64.unbound_argv(), " "))
elseif what == "resolver" then
  local nodes = {}
  for i = 3, #arg do
    local name, ip = arg[i]:match("^([^=]+)=(.+)$")
    nodes[#nodes + 1] = { name = name, public_ip = ip }
  end
  print(table.concat(require("natrig.seal").resolver_argv(arg[2], nodes), " "))
elseif what == "synth" then
  print(nat64.synth(arg[2], arg[3]))
else
  io.stderr:write("usage: nat64_conf.lua prefix|tayga6|tayga|unbound|setup|daemons|resolver|synth ...\n")
  os.exit(2)
end
