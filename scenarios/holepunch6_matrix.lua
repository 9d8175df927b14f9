-- The hole-punching matrix over IPv6 as a sweep (issue 25): one case per ordered pair of the
-- routers' RFC 6092 firewalls, `first` x `second` (EIF, ADF, APDF, closed, open: 5 x 5; the
-- peer behind `first` punches first), each case its own network (dual-stack routers, a
-- rendezvous serving IPv6, two natrig-peers punching over IPv6), judged by
-- natrig.holepunch.predict6, with the path net:path saw as the report's path column. The
-- runner is scenarios/holepunch_matrix.lua's (natrig.holepunch_run); `natrig run` of this file
-- without first/second runs the whole grid in batches, as holepunch_matrix.lua family=6 does.
--   natrig sweep scenarios/holepunch6_matrix.lua -j 4 --html r6.html
--   natrig run scenarios/holepunch6_matrix.lua first=APDF second=closed
local holepunch = require "natrig.holepunch"

return natrig.scenario {
  name = "hole-punching matrix over IPv6",
  params = { presets = "", batch = 12, delay_ms = 1000, punch_timeout = 6, first = "", second = "",
    proto = "udp", mapped = "none", family = 6, cells = "" },
  matrix = { first = holepunch.FW6, second = holepunch.FW6 },
  timeout = 900,
  run = function(_, p)
    require("natrig.holepunch_run").run(p)
  end,
}
