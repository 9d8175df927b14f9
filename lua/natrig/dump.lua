--- The topology of a network as text: `net:dump()`.
--
-- Segments as a tree, from the public network down through each router's LAN (a router
-- behind another sits in that one's LAN: double NAT), with every router's NAT and
-- addresses, every node's kind, private and public address, and the impairment in force
-- (node-wide, and per-link queues of natrig-shaper).
--
--   natrig> net:dump()
--   network 3f2a9c (repl), up, 2 nodes, 1 router
--   public 10.131.4.0/22
--     gateway g          10.131.4.2
--     router  router-1   wan 10.131.4.3  nat port_restricted (eim apdf)
--       lan 10.140.7.0/24 (router .254)
--         peer  p        10.140.7.2 -> 10.131.4.3  impair delay=100ms
--
-- Pure: reads the Lua objects only, no engine call.
-- @module natrig.dump

local function nat_text(r)
  local ok, s = pcall(function() return require("natrig.nat").describe(r.nat) end)
  return ok and s or tostring(r.nat and r.nat.preset or "?")
end

local function impair_text(x)
  local parts = {}
  local spec = require("natrig.impair").current(x)
  if spec and spec ~= "" then parts[#parts + 1] = "impair " .. spec end
  local st = x.shaper
  if type(st) == "table" and type(st.queues) == "table" then
    local links = {}
    for key, q in pairs(st.queues) do
      if key ~= "all" and q.dir then links[#links + 1] = key:gsub("/32$", "") end
    end
    table.sort(links)
    if #links > 0 then parts[#parts + 1] = "link impairment to " .. table.concat(links, ", ") end
  end
  if require("natrig.partition").has_chains(x) then parts[#parts + 1] = "partition rules" end
  return table.concat(parts, "  ")
end

local function node_line(n, indent)
  local addr = n.private_ip or n.private_ip6 or "(not up)"
  if n.public_ip and n.public_ip ~= n.private_ip then addr = addr .. " -> " .. n.public_ip end
  local extra = impair_text(n)
  if n.api_port then extra = extra .. (extra ~= "" and "  " or "") .. "api 127.0.0.1:" .. n.api_port end
  return (("%s%-7s %-12s %-32s %s"):format(indent, n.kind or "node", n.name, addr, extra):gsub("%s+$", ""))
end

local function router_lines(net, r, indent, out)
  local line = ("%s%-7s %-12s wan %-15s nat %s"):format(indent, "router", r.name,
    r.wan_ip or "(not up)", nat_text(r))
  local imp = impair_text(r)
  out[#out + 1] = imp ~= "" and (line .. "  " .. imp) or line
  local lan = r.lan and r.lan.subnet
  out[#out + 1] = ("%s  lan %s%s"):format(indent, lan or "(not planned)",
    r.lan_ip and (" (router " .. r.lan_ip .. ")") or "")
  for _, n in ipairs(r.nodes or {}) do out[#out + 1] = node_line(n, indent .. "    ") end
  for _, inner in ipairs(net.routers or {}) do
    if inner.behind == r then router_lines(net, inner, indent .. "    ", out) end
  end
end

local function plural(n, what) return ("%d %s%s"):format(n, what, n == 1 and "" or "s") end

--- The topology of net as text.
-- @tparam Network net
-- @treturn string the text, one line per segment, router and node
local function text(net)
  local out = {}
  local s = net.session
  out[#out + 1] = ("network %s%s, %s, %s, %s%s"):format(s and s.run_id or "?",
    s and s.scenario and (" (" .. tostring(s.scenario) .. ")") or "", tostring(net.state),
    plural(#(net.nodes or {}), "node"), plural(#(net.routers or {}), "router"),
    net.impair_engine and (", impairment engine " .. net.impair_engine) or "")
  out[#out + 1] = "public " .. (net.public and net.public.subnet or "(not planned: net:up() plans addresses)")
  for _, n in ipairs(net.nodes or {}) do
    if not n.router then out[#out + 1] = node_line(n, "  ") end
  end
  for _, r in ipairs(net.routers or {}) do
    if not r.behind then router_lines(net, r, "  ", out) end
  end
  return table.concat(out, "\n")
end

--- Print the topology of net (or return it with `print = false`).
-- @tparam Network net
-- @tparam[opt] table opts `print = false` returns the text instead of printing it
-- @treturn ?string the text, when not printed
return function(net, opts)
  local t = text(net)
  if opts and opts.print == false then return t end
  io.stdout:write(t, "\n")
  io.stdout:flush()
end
