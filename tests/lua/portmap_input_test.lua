-- Bad port mapping input is refused when it is declared, naming the option and the valid
-- values, before anything exists (issue 23 item 5); pure: no engine. natrig run turns the
-- same einval errors into exit 2 (see tests/engine/cli_test.sh for that path in general).
local t = require "tap"
require "natrig" -- its searcher finds the embedded modules
local network = require "natrig.network"
local portmap = require "natrig.portmap"

local function fresh()
  return setmetatable({ state = "declared", by_name = {}, nodes = {}, routers = {}, actions = {},
    counters = { peer = 0, gateway = 0, router = 0, node = 0 }, log = function() end }, network.Network)
end
local CMD = { "sleep", "600" }
local net = fresh()

t.raises(function() net:router { portmap = { "upnp", "upnpx" } } end,
  "net:router.*unknown protocol 'upnpx' %(valid: upnp, natpmp, pcp%)", "an unknown protocol names the valid ones")
t.raises(function() net:peer { cmd = CMD, portmap = { "igd" } } end,
  "net:peer: .*unknown protocol 'igd' %(valid: upnp, natpmp, pcp%)", "on a peer's own router too, in the peer's name")
t.raises(function() net:peer { nat = "symmetric", cmd = CMD, portmap = { "natpmp", max_lease = -5 } } end,
  "net:peer: .*portmap%.max_lease must be a whole number of seconds from 1 to 86400.*got %-5",
  "a negative lease on a peer's own router")
t.raises(function() net:gateway { cmd = CMD, portmap = { "upnp" } } end,
  "net:gateway.*portmap is a router's option.*upnp, natpmp, pcp", "portmap on a gateway is refused")
t.raises(function() net:node { cmd = CMD, portmap = { "upnp" } } end,
  "net:node.*portmap is a router's option", "portmap on a public node is refused")
t.raises(function() net:router { portmap = { "natpmp", max_lease = -5 } } end,
  "portmap%.max_lease must be a whole number of seconds from 1 to 86400.*got %-5", "a negative lease is refused")
t.raises(function() net:router { portmap = { "natpmp", max_lease = 1.5 } } end,
  "portmap%.max_lease must be a whole number", "a fractional lease is refused")
t.raises(function() net:router { portmap = { "natpmp", external_ip = "1.2.3" } } end,
  "portmap%.external_ip must be an IPv4 address", "a bad external_ip is refused")
t.raises(function() net:router { portmap = { "natpmp", leases = 3 } } end,
  "unknown option 'leases' %(valid: the protocols upnp, natpmp, pcp as a list; max_lease, external_ip, deny, cgn%)",
  "an unknown portmap option names the valid ones")
t.raises(function() net:router { portmap = {} } end, "name at least one protocol", "an empty list is refused")
-- (typed like net:peer's portmap: the option check says so before natrig.portmap looks)
t.raises(function() net:router { portmap = "upnp" } end, "option 'portmap' must be table or boolean, got string",
  "a bare string is refused")
local r = net:router { name = "home" }
t.raises(function() net:peer { router = r, cmd = CMD, portmap = { "upnp" } } end,
  "portmap belongs to the router: give it to net:router", "a peer on a shared router gives portmap to the router")
t.is(#net.routers, 1, "nothing was declared by the refused calls (only 'home')")
t.is(#net.nodes, 0, "no node was declared by the refused calls")

-- accepted forms
local spec = {}
local pm = portmap.resolve(true, spec)
t.ok(pm.protocols.upnp and pm.protocols.natpmp and pm.protocols.pcp and spec.portmap, "true means all three")
pm = portmap.resolve({ "pcp", max_lease = 60, external_ip = "198.51.100.7", deny = true }, {})
t.ok(pm.protocols.pcp and not pm.protocols.upnp and pm.max_lease == 60 and pm.deny, "a subset with options")
t.is(portmap.resolve(nil, {}), nil, "off by default")
t.is(portmap.describe(pm), "pcp deny max_lease=60 external_ip=198.51.100.7", "describe")
t.done()
