-- npt6_conf.lua - prints the NPTv6 outside /64 natrig gives a LAN /64 (core/npt6, through
-- natrig.core.npt6_outside), for tests/nat/netns-npt6 (run with `natrig lua`):
--   natrig lua tests/nat/npt6_conf.lua LAN64 OUTSIDE48_OR_64
local core = require "natrig.core"
if not arg[2] then
  io.stderr:write("usage: npt6_conf.lua LAN64 OUTSIDE48_OR_64\n")
  os.exit(2)
end
print(core.npt6_outside(arg[1], arg[2]))
