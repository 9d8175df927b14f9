--- natrig.netns: what routers and nodes share as containers that hold a network
-- namespace: the holder's only process, the sysctls both set, an endpoint on one segment,
-- and exec with its line in the timeline.
-- @module natrig.netns
local M = {}

M.HOLD = { "/usr/bin/sleep", "2000000000" } -- a holder's only process

function M.sysctls(extra)
  local s = {
    ["net.ipv4.conf.all.rp_filter"] = "0",
    ["net.ipv4.conf.default.rp_filter"] = "0",
  }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

function M.endpoint(seg, ip, ip6)
  return { EndpointsConfig = { [seg.name] = { IPAMConfig = { IPv4Address = ip, IPv6Address = ip6 } } } }
end

-- exec for routers and nodes: the caller's opts table is left as it was; the exec and
-- its exit code go into the timeline unless opts.quiet (natrig's own diagnostics).
function M.exec_in(x, id, argv, opts, name)
  local net, eng = x.net, x.eng
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.name = o.name or name
  local quiet = o.quiet
  o.quiet = nil
  local ok, r = pcall(eng.exec, eng, id, argv, o)
  if not quiet and type(argv) == "table" then
    local code = ok and tostring(r.code) or "error"
    net:note("exec", ("in %s: %s -> %s"):format(o.name, table.concat(argv, " "):sub(1, 200), code))
  end
  if not ok then error(r, 0) end
  return r
end

return M
