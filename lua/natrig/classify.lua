--- natrig.classify: what a node's NAT really does, judged by an outside tool. coturn's
-- turnserver (an RFC 5780 STUN server on two addresses of the public network) and
-- coturn's turnutils_natdiscovery (run in the node's network holder, so nothing is
-- installed into the node's own container) measure mapping, filtering and hairpinning;
-- natrig's parser (src/core/natclass.c) reads the verdicts.
--
--   local c = net:classify(peer)     -- { mapping = "EIM", filtering = "APDF", hairpin = true,
--                                    --   claimed = {...}, matches = true, raw = "..." }
-- @module natrig.classify
local core = require "natrig.core"
local task = require "natrig.task"
local nat = require "natrig.nat"

local M = {}
-- The STUN server takes two addresses high in the public /22, which the planner never
-- hands out (it allocates upwards from .2).
-- Over several engines there is one STUN server per engine that has a node to classify,
-- on that engine (hosts 1000+2k, 1001+2k): its second address is added inside the
-- container, so the overlay's VXLAN forwarding (which knows only the addresses Docker
-- assigned) does not carry packets to it from another engine. Seen: a symmetric and an
-- address-dependent NAT on engine 2 measured EIM against a server on engine 1, since
-- natdiscovery's packets to the second address never arrived.
local STUN_HOSTS = { 1000, 1001 }

local function fail(msg) core.fail("engine", "classify", msg) end

function M.server(net, eng)
  -- the engine's place in the run's host list (1 with one engine)
  local k = 1
  for i, e in ipairs(net.engines and net:engines() or { net.eng }) do if e == eng then k = i end end
  net.stuns = net.stuns or {}
  if net.stuns[k] then
    if net.stuns[k].job then net.stuns[k].job:join() end
    return net.stuns[k]
  end
  local st = { eng = eng }
  net.stuns[k] = st
  if k == 1 then net.stun = st end
  st.job = task.spawn(function()
    local s = net.session
    local pub = net.public.subnet
    local ip1 = core.subnet_host(pub, STUN_HOSTS[1] + 2 * (k - 1))
    local ip2 = core.subnet_host(pub, STUN_HOSTS[2] + 2 * (k - 1))
    local prefix = pub:match("/(%d+)$")
    st.id = eng:container_create(s:name(k == 1 and "stun" or ("stun" .. k)), {
      Image = net.image, Cmd = core.json_array { "sleep", "2000000000" },
      Labels = s:labels("stun"),
      HostConfig = { NetworkMode = net.public.name, Init = true, CapAdd = core.json_array { "NET_ADMIN" } },
      NetworkingConfig = require("natrig.netns").endpoint(net.public, ip1, require("natrig.ip6").host(net.public, ip1)),
    })
    eng:container_start(st.id)
    require("natrig.seal").container_added(net, eng, st.id, "stun") -- over a Swarm: its way out sealed
    -- the second address goes on the interface that carries the first (names move)
    local out = eng:exec(st.id, { "ip", "-o", "-4", "addr", "show" }, { check = true }).stdout
    local dev = require("natrig.iface").iface_for(out, ip1)
    if not dev then fail("no interface carries " .. ip1 .. " in the STUN server") end
    eng:exec(st.id, { "ip", "addr", "add", ip2 .. "/" .. prefix, "dev", dev }, { check = true })
    local listen = { "-L", ip1, "-L", ip2 }
    local ip6 = require "natrig.ip6"
    local a6, b6 = ip6.host(net.public, ip1), ip6.host(net.public, ip2)
    if a6 then -- a public network with IPv6: the same server answers over both families
      eng:exec(st.id, { "ip", "-6", "addr", "add", b6 .. "/64", "dev", dev, "nodad" }, { check = true })
      for _, a in ipairs({ "-L", a6, "-L", b6 }) do listen[#listen + 1] = a end
      st.ip1_6, st.ip2_6 = a6, b6
      -- its answers into a LAN go through that LAN's router, as every public node's do
      ip6.routes_public(net, st, function(argv) return eng:exec(st.id, argv, { check = true }) end)
    end
    local argv = { "turnserver", "-n" }
    for _, a in ipairs(listen) do argv[#argv + 1] = a end
    for _, a in ipairs({ "--no-auth", "--stun-only", "--no-cli", "--no-tls", "--no-dtls", "--no-software-attribute",
      "--log-file", "stdout", "--simple-log" }) do argv[#argv + 1] = a end
    eng:exec_detached(st.id, argv)
    -- ready when it listens on both addresses, ports 3478 and 3479
    local deadline = core.now() + 10
    while true do
      local l = eng:exec(st.id, { "netstat", "-uln" }).stdout
      local n = 0
      local want = { ip1, ip2, st.ip1_6, st.ip2_6 }
      for _, ip in ipairs(want) do
        for _, port in ipairs({ "3478", "3479" }) do
          if l:find(ip .. ":" .. port, 1, true) then n = n + 1 end
        end
      end
      if n == 2 * #want then break end
      if core.now() > deadline then fail("turnserver did not listen on " .. ip1 .. " and " .. ip2) end
      task.sleep(0.05)
    end
    st.ip1, st.ip2 = ip1, ip2
  end, "stun server")
  st.job:join()
  st.job = nil
  return st
end

--- opts: lifetime (seconds: also test that a mapping idle that long is still alive),
-- family (6: over IPv6, judging the router's IPv6 firewall: no translation, its filtering)
-- @local
function M.classify(net, node, opts)
  opts = opts or {}
  if not node.holder then fail(tostring(node.name) .. " is not a node of a running network") end
  if opts.family == 6 and not node.private_ip6 then fail(node.name .. " has no IPv6 address (ip = \"dual\")") end
  local st = M.server(net, node.eng)
  if opts.family == 6 then return M.classify6(node, st) end
  local argv = { "turnutils_natdiscovery", "-m", "-f", "-H", st.ip1 }
  local r = node.eng:exec(node.holder, argv, { name = node.name })
  local res = core.nat_classify(r.stdout)
  res.raw = r.stdout
  if opts.lifetime then
    local lt = node.eng:exec(node.holder,
      { "turnutils_natdiscovery", "-t", "-T", tostring(opts.lifetime), st.ip1 },
      { name = node.name, timeout = opts.lifetime + 30 })
    res.lifetime_alive = core.nat_classify(lt.stdout).lifetime_alive
    res.raw = res.raw .. "\n" .. lt.stdout
  end
  -- What natrig claims: the node's router (outermost first for double NAT: the combined
  -- behaviour is the most restrictive of the chain, which is what coturn sees).
  local via_cgn = node.router and require("natrig.cgn").claim(node.router, nat.claim)
  if via_cgn then -- home router + CGN, or a node right behind a CGN (natrule_cgn_claim)
    res.claimed = via_cgn
    res.matches = via_cgn.mapping == res.mapping and via_cgn.filtering == res.filtering and
      (res.hairpin == nil or via_cgn.hairpin == res.hairpin)
  elseif node.router then
    local claim = nat.claim(node.router.nat)
    local r2 = node.router.behind
    if r2 then
      local outer = nat.claim(r2.nat)
      local rank = { EIM = 1, ADM = 2, APDM = 3, EIF = 1, ADF = 2, APDF = 3 }
      if rank[outer.mapping] > rank[claim.mapping] then claim.mapping = outer.mapping end
      if rank[outer.filtering] > rank[claim.filtering] then claim.filtering = outer.filtering end
      -- Hairpinning through two NATs: the client's packet to its own (outer) mapped
      -- address leaves the inner NAT as any packet does and the outer one turns it
      -- around. It comes back to the inner NAT from the outer address and from the
      -- client's own mapped port when the outer NAT maps EIM, from another port
      -- otherwise; an inner APDF filter accepts only the former.
      local inner_filter = nat.claim(node.router.nat).filtering
      claim.hairpin = outer.hairpin and (outer.mapping == "EIM" or inner_filter ~= "APDF")
    end
    res.claimed = claim
    res.matches = claim.mapping == res.mapping and claim.filtering == res.filtering and
      (res.hairpin == nil or claim.hairpin == res.hairpin)
  else
    res.claimed = { mapping = "none", filtering = "none" }
    res.matches = res.mapping == "none"
  end
  return res
end

-- Over IPv6 the router translates nothing (coturn: "No NAT"), and its firewall filters as
-- its filtering6 says (EIF, ADF, APDF; closed answers nothing).
function M.classify6(node, st)
  local r = node.eng:exec(node.holder, { "turnutils_natdiscovery", "-m", "-f", st.ip1_6 }, { name = node.name })
  local res = core.nat_classify(r.stdout)
  res.raw = r.stdout
  -- the tool binds [::] and cannot tell: its reflexive address is the node's own, so nothing
  -- was translated
  local seen = res.public_addr and res.public_addr:match("^%[?(.-)%]?:%d+$")
  if seen and core.ip6_parse(seen) == node.private_ip6 then res.mapping = "none" end
  local fw = node.router and node.router.fw6
  res.claimed = { mapping = "none", filtering = fw and (fw.filtering == "open" and "EIF" or fw.filtering) or "none" }
  res.matches = res.mapping == "none" and (not fw or res.filtering == res.claimed.filtering)
  return res
end

return M
