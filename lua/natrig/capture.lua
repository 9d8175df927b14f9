--- natrig.capture: packet captures with tcpdump (Debian's, packed into the base image),
-- run inside the network namespace that owns each link, never on the host's bridges.
--   net:peer{ capture = true }, net:router{ capture = true }, natrig.network{ capture = true }
--   or NATRIG_CAPTURE=1 for every router and node of any run.
-- Files, named after the link they hold: <router>-wan.pcap and <router>-lan.pcap (the
-- router's public and private side), <node>.pcap (the node's one interface). tcpdump runs
-- with -U and --immediate-mode (each packet is handed over and flushed as it comes) and is
-- stopped with SIGINT before teardown, also after a failure or a Ctrl-C, so every pcap is
-- complete. IPv6 is left out of a link without a global IPv6 address (there it is only
-- neighbour discovery and MLD noise: see filter_for). captures.txt in the artifacts says
-- which file holds which link, with its addresses.
-- @module natrig.capture
local core = require "natrig.core"
local task = require "natrig.task"

local M = {}

function M.wanted(net, x)
  if x.opts and x.opts.capture ~= nil then return x.opts.capture == true end
  if x.capture ~= nil then return x.capture == true end
  return net.capture_all == true
end

--- The tcpdump filter for a link, from `ip -o addr show`'s text: without a global IPv6
-- address on dev, IPv6 there is only the kernel's own neighbour discovery, router
-- solicitations and MLD reports, left out (`not ip6`); with one, everything is kept. Pure.
-- @tparam string text `ip -o addr show` output
-- @tparam string dev the link's interface
-- @treturn {string,...} the filter's words (empty: no filter)
function M.filter_for(text, dev)
  for line in text:gmatch("[^\n]+") do
    local d = line:match("^%d+:%s+(%S+)%s+inet6%s")
    if d and d:gsub("@.*$", "") == dev and line:find("scope global", 1, true) then return {} end
  end
  return { "not", "ip6" }
end

-- The interface carrying ip inside container id (looked up by address, never by name),
-- and the capture filter for it.
local function iface(eng, id, ip, ip6)
  local r = eng:exec(id, { "ip", "-o", "addr", "show" })
  local find = require("natrig.iface").iface_for
  local dev = find(r.stdout, ip) or (ip6 and find(r.stdout, ip6)) -- a v6only LAN link has no IPv4
  if not dev then
    core.fail("engine", "capture", ("no interface carries %s:\n%s"):format(ip6 or ip, r.stdout))
  end
  return dev, M.filter_for(r.stdout, dev)
end

-- Start tcpdump on each link of x (a router: WAN and LAN; a node: its interface) in the
-- container that owns the namespace; returns once every capture file has its header.
function M.start(_net, x, kind)
  local id = kind == "router" and x.id or x.holder
  local links
  if kind == "router" then
    links = {
      { file = x.name .. "-wan.pcap", ip = x.wan_ip,
        what = ("router %s, WAN side (public %s, on %s)"):format(x.name, x.wan_ip, x.wan.name) },
      { file = x.name .. "-lan.pcap", ip = x.lan_ip, ip6 = x.lan_ip6,
        what = ("router %s, LAN side (%s, %s)"):format(x.name, x.lan_ip, x.lan.subnet) },
    }
  else
    links = { { file = x.name .. ".pcap", ip = x.private_ip, ip6 = x.private_ip6,
      what = ("node %s (%s %s%s)"):format(x.name, x.kind, x.private_ip or x.private_ip6,
        x.public_ip ~= x.private_ip and (", public " .. tostring(x.public_ip)) or "") } }
  end
  x.captures = x.captures or {}
  local eng = x.eng -- the engine x lives on
  for _, l in ipairs(links) do
    local dev, filter = iface(eng, id, l.ip, l.ip6)
    -- Into the bind-mounted control directory when there is one (a local engine), else
    -- a file in the container that is read out through exec at the end.
    l.inside = (x.ctl_dir and "/run/natrig/" or "/tmp/") .. l.file
    l.host = x.ctl_dir and (x.ctl_dir .. "/" .. l.file) or nil
    l.container, l.dev = id, dev
    -- --immediate-mode: without it libpcap's TPACKET_V3 ring hands packets over a block at a
    -- time (up to its 1 s timeout), and the SIGINT at the end drops the pending block.
    local argv = { "tcpdump", "-i", dev, "-U", "--immediate-mode", "-n", "-Z", "root", "-s", "262144", "-w", l.inside }
    for _, w in ipairs(filter) do argv[#argv + 1] = w end
    if #filter > 0 then l.what = l.what .. ("; IPv6 left out (%s has no global IPv6 address)"):format(dev) end
    eng:exec_detached(id, argv)
    x.captures[#x.captures + 1] = l
  end
  -- Ready when each file has its 24-byte pcap header (tcpdump writes it once it listens).
  local deadline = core.now() + 10
  for _, l in ipairs(links) do
    while true do
      local size
      if l.host then
        local st = core.stat(l.host)
        size = st and st.size or 0
      else
        local r = eng:exec(id, { "stat", "-c", "%s", l.inside })
        size = tonumber(r.stdout) or 0
      end
      if size >= 24 then break end
      if core.now() > deadline then
        core.fail("timeout", "capture", ("tcpdump on %s (%s) did not start within 10 s"):format(l.dev, l.what))
      end
      task.sleep(0.02)
    end
  end
end

-- Stop every capture (SIGINT: tcpdump flushes and closes the file), copy the files into
-- dir and write captures.txt. Returns the list of { file, what }.
function M.finish(net, dir)
  local owners = {}
  for _, r in ipairs(net.routers) do if r.captures then owners[#owners + 1] = r end end
  for _, n in ipairs(net.nodes) do if n.captures then owners[#owners + 1] = n end end
  if #owners == 0 then return {} end
  core.mkdir_p(dir)
  local index = {}
  task.map(owners, function(x)
    local id = x.captures[1].container
    local eng = x.eng
    pcall(eng.exec, eng, id, { "pkill", "-INT", "tcpdump" })
    for _ = 1, 100 do -- up to 2 s for tcpdump to write its last packets and exit
      local ok, r = pcall(eng.exec, eng, id, { "pgrep", "tcpdump" })
      if not ok or r.code ~= 0 then break end
      task.sleep(0.02)
    end
    for _, l in ipairs(x.captures) do
      local data
      if l.host then data = core.read_file(l.host)
      else
        local ok, r = pcall(eng.exec, eng, id, { "cat", l.inside })
        data = ok and r.stdout or nil
      end
      if data then
        core.write_file(dir .. "/" .. l.file, data)
        if l.host then core.remove(l.host) end
        index[#index + 1] = { file = l.file, what = l.what, bytes = #data }
      end
    end
  end, 16)
  table.sort(index, function(a, b) return a.file < b.file end)
  local lines = {}
  for _, c in ipairs(index) do lines[#lines + 1] = ("%-28s %s"):format(c.file, c.what) end
  core.write_file(dir .. "/captures.txt", table.concat(lines, "\n") .. "\n")
  return index
end

return M
