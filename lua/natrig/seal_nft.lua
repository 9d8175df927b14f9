--- natrig.seal_nft: the sealed lab's nftables text, pure (no engine, no I/O; unit-tested
-- in tests/lua/seal_test.lua): the batches natrig.seal sends to `nft` on the engine's
-- host, and the parsers of what `nft list` prints back. The table's design is described
-- in natrig.seal.
-- @module natrig.seal_nft
local core = require "natrig.core"

local M = {}

M.TABLE = "natrig_seal"
M.TIMEOUT = 7 * 86400 -- how long an escape is remembered (seconds)
M.LAB6 = "2001:db8::/32" -- natrig.ip6's pool: IPv6 between lab addresses stays in the lab
M.NAT64 = "64:ff9b::/96" -- natrig.nat64's prefix: from a LAN to its router, on a bridge only
local T = "inet " .. M.TABLE

local function bad(op, msg) core.fail("einval", op, msg) end

local KEY4 = "ipv4_addr . ipv4_addr . inet_proto . inet_service"
local KEY3 = "ipv4_addr . ipv4_addr . inet_proto"

local function check_run(run)
  if type(run) ~= "string" or not run:match("^[%w]+$") then bad("seal", "bad run id " .. tostring(run)) end
  return run
end

local function check_subnet(s)
  if type(s) ~= "string" or not s:match("^%d+%.%d+%.%d+%.%d+/%d+$") then bad("seal", "bad subnet " .. tostring(s)) end
  return s
end

--- The table, sets, map and base chains, and a run's sets and chain, declared in one block
-- (a map's jump to a chain declared in another command of the same transaction fails on
-- nft 1.0.6 with "No such file or directory"); idempotent: declarations add what is
-- missing, the base chains are flushed and refilled in the same transaction.
function M.base_batch(run)
  local sets = ("flags dynamic,timeout; timeout %ds; size 65536;"):format(M.TIMEOUT)
  local l = {
    "table " .. T .. " {",
    '  comment "natrig: packets from natrig lab networks may not leave this host (natrig doctor lists it)"',
    '  set nets { type ipv4_addr; flags interval; comment "every natrig run\'s subnets (element comment: run id)"; }',
    "  map runs { type ipv4_addr : verdict; flags interval; }",
    "  chain seal { }",
    "  chain forward { type filter hook forward priority filter - 10; policy accept; }",
    "  chain input { type filter hook input priority filter - 10; policy accept; }",
  }
  if run then
    check_run(run)
    l[#l + 1] = ("  set esc_%s { type %s; %s }"):format(run, KEY4, sets)
    l[#l + 1] = ("  set escf_%s { type %s; %s }"):format(run, KEY4, sets)
    l[#l + 1] = ("  set esco_%s { type %s; %s }"):format(run, KEY3, sets)
    l[#l + 1] = ("  set escof_%s { type %s; %s }"):format(run, KEY3, sets)
    l[#l + 1] = ("  chain run_%s { }"):format(run)
  end
  for _, x in ipairs({ "}",
    "flush chain " .. T .. " seal",
    "flush chain " .. T .. " forward",
    "flush chain " .. T .. " input",
    -- IPv6 (natrig.ip6): every lab address is in M.LAB6; from there to anywhere else (but
    -- link-local and multicast) is dropped, uncounted. Every other IPv6 packet is not
    -- natrig's and goes on: without that return the chain's last rule dropped all of the
    -- host's IPv6 input and forwarding (an `ip` match never matches an IPv6 packet).
    -- A NAT64 LAN's packets to the well-known prefix (natrig.nat64) cross the host only
    -- bridged, host port to router port (br_netfilter gives the bridge as the out device):
    -- let those by, never one the host would route on.
    ("add rule %s seal ip6 saddr %s ip6 daddr %s oifname \"br-*\" return"):format(T, M.LAB6, M.NAT64),
    ("add rule %s seal ip6 saddr %s ip6 daddr != { %s, fe80::/10, ff00::/8 } drop"):format(T, M.LAB6, M.LAB6),
    "add rule " .. T .. " seal meta nfproto != ipv4 return",
    "add rule " .. T .. " seal ip saddr != @nets return",
    "add rule " .. T .. " seal ip daddr @nets return",
    "add rule " .. T .. " seal ip daddr { 224.0.0.0/4, 255.255.255.255 } return",
    "add rule " .. T .. " seal ip saddr vmap @runs",
    "add rule " .. T .. " seal drop",
    "add rule " .. T .. " forward jump seal",
    "add rule " .. T .. " input jump seal" }) do l[#l + 1] = x end
  return table.concat(l, "\n") .. "\n"
end

--- A run's rules and elements (its chain and sets declared by M.base_batch(run));
-- open: its chain accepts (outside = true).
function M.run_batch(run, subnets, open)
  check_run(run)
  local l = { ("flush chain %s run_%s"):format(T, run) }
  if open then
    l[#l + 1] = ("add rule %s run_%s accept"):format(T, run)
  else
    l[#l + 1] = ("add rule %s run_%s meta l4proto { tcp, udp } update @esc_%s { ip saddr . ip daddr . meta l4proto"
      .. " . th dport counter } add @escf_%s { ip saddr . ip daddr . meta l4proto . th dport } drop")
      :format(T, run, run, run)
    l[#l + 1] = ("add rule %s run_%s update @esco_%s { ip saddr . ip daddr . meta l4proto counter }"
      .. " add @escof_%s { ip saddr . ip daddr . meta l4proto } drop"):format(T, run, run, run)
  end
  l[#l + 1] = M.add_batch(run, subnets)
  return table.concat(l, "\n") .. "\n"
end

--- Add subnets of a run (its chain exists).
function M.add_batch(run, subnets)
  if #subnets == 0 then return "" end
  local e, m = {}, {}
  for _, s in ipairs(subnets) do
    e[#e + 1] = ('%s comment "%s"'):format(check_subnet(s), run)
    m[#m + 1] = ("%s : jump run_%s"):format(s, run)
  end
  return ("add element %s nets { %s }\nadd element %s runs { %s }"):format(T, table.concat(e, ", "), T,
    table.concat(m, ", "))
end

--- Delete what a listing (M.parse_table) shows of a run: subnets (only those present),
-- and with whole = true its chain and sets too.
function M.remove_batch(state, run, subnets, whole)
  check_run(run)
  local l = {}
  local present = {}
  for _, s in ipairs(subnets) do
    if state.nets[s] then present[#present + 1] = check_subnet(s) end
  end
  if #present > 0 then
    l[#l + 1] = ("delete element %s runs { %s }"):format(T, table.concat(present, ", "))
    l[#l + 1] = ("delete element %s nets { %s }"):format(T, table.concat(present, ", "))
  end
  if whole and state.chains["run_" .. run] then
    l[#l + 1] = ("flush chain %s run_%s"):format(T, run)
    l[#l + 1] = ("delete chain %s run_%s"):format(T, run)
  end
  if whole then
    for _, p in ipairs({ "esc_", "escf_", "esco_", "escof_" }) do
      if state.sets[p .. run] then l[#l + 1] = ("delete set %s %s%s"):format(T, p, run) end
    end
  end
  return #l > 0 and (table.concat(l, "\n") .. "\n") or ""
end

--- `nft -j list table inet natrig_seal` -> { nets = { subnet = run }, chains = { name = true },
-- sets = { name = true }, runs = { run = { subnets } } }. Pure.
function M.parse_table(json)
  local st = { nets = {}, chains = {}, sets = {}, runs = {} }
  local ok, doc = pcall(core.json_decode, json)
  if not ok or type(doc) ~= "table" then return st end
  for _, item in ipairs(doc.nftables or {}) do
    if item.chain then st.chains[item.chain.name] = true end
    if item.set then
      st.sets[item.set.name] = true
      if item.set.name == "nets" then
        for _, el in ipairs(item.set.elem or {}) do
          local e = el.elem or {}
          local p = type(e.val) == "table" and e.val.prefix
          local s = p and (p.addr .. "/" .. tostring(p.len)) or (type(e.val) == "string" and e.val .. "/32")
          if s then
            local run = e.comment or "?"
            st.nets[s] = run
            st.runs[run] = st.runs[run] or {}
            table.insert(st.runs[run], s)
          end
        end
      end
    end
  end
  for name in pairs(st.chains) do
    local run = name:match("^run_(.+)$")
    if run then st.runs[run] = st.runs[run] or {} end
  end
  return st
end

-- "1d2h3m4s567ms" -> seconds
local function duration(s)
  local t = 0
  for n, u in s:gmatch("(%d+)(%a+)") do
    t = t + tonumber(n) * (({ d = 86400, h = 3600, m = 60, s = 1, ms = 0.001 })[u] or 0)
  end
  return t
end
M.duration = duration

--- The elements of one set in `nft list table` text output: key -> { count, bytes, age }
-- (age: seconds since the element was last refreshed, from its `expires`). Pure.
function M.parse_set(text, name)
  local body = text:match("\n%s*set " .. name:gsub("%p", "%%%0") .. " {(.-)\n%s*}")
  local out = {}
  if not body then return out end
  body = body:match("elements = {(.*)$") or ""
  for el in (body .. ","):gmatch("%s*(.-)%s*,") do
    local key, rest = el:match("^(.-)%s+(counter.*)$")
    if not key then key, rest = el:match("^(.-)%s+(expires.*)$") end
    if key then
      out[key] = { count = tonumber(rest:match("packets (%d+)")) or 0, bytes = tonumber(rest:match("bytes (%d+)")) or 0,
        age = M.TIMEOUT - duration(rest:match("expires (%S+)") or "0s") }
    end
  end
  return out
end

--- Escapes from a table listing (text) for one run: a list of { saddr, addr, proto, port,
-- count, bytes, first, last } (times: epoch seconds, `now` being the listing's time). Pure.
function M.parse_escapes(text, run, now)
  local l = {}
  for _, pair in ipairs({ { "esc_", "escf_" }, { "esco_", "escof_" } }) do
    local cur, first = M.parse_set(text, pair[1] .. run), M.parse_set(text, pair[2] .. run)
    for key, v in pairs(cur) do
      local sa, da, proto, port = key:match("^(%S+) %. (%S+) %. (%S+) %. (%d+)$")
      if not sa then sa, da, proto = key:match("^(%S+) %. (%S+) %. (%S+)$") end
      if sa then
        local f = first[key]
        l[#l + 1] = { saddr = sa, addr = da, proto = proto, port = tonumber(port), count = v.count, bytes = v.bytes,
          last = now - v.age, first = now - (f and f.age or v.age) }
      end
    end
  end
  return M.sort_escapes(l)
end

--- Escapes oldest first (then by destination), in place; returns the list.
function M.sort_escapes(l)
  table.sort(l, function(a, b)
    if a.first ~= b.first then return a.first < b.first end
    return a.addr .. tostring(a.port) < b.addr .. tostring(b.port)
  end)
  return l
end

--- One line for the run's summary: "a: 3 attempts to leave the lab: 1.2.3.4:443/tcp x2, ...".
function M.summary(escapes)
  local by, order = {}, {}
  for _, e in ipairs(escapes) do
    if not by[e.node] then by[e.node] = { n = 0, dest = {} }; order[#order + 1] = e.node end
    local b = by[e.node]
    b.n = b.n + e.count
    if #b.dest < 4 then
      b.dest[#b.dest + 1] = ("%s%s/%s x%d"):format(e.addr, e.port and (":" .. e.port) or "", e.proto, e.count)
    elseif #b.dest == 4 then
      b.dest[#b.dest + 1] = "..."
    end
  end
  local parts = {}
  for _, node in ipairs(order) do
    local b = by[node]
    parts[#parts + 1] = ("%s: %d attempt%s to leave the lab: %s"):format(node, b.n, b.n == 1 and "" or "s",
      table.concat(b.dest, ", "))
  end
  return table.concat(parts, "; ")
end

--- The runs of table state st none of whose subnets is in `live` (a set of the engine's
-- natrig subnets), but `keep`: entries of runs that died with their watchdog.
function M.stale_runs(st, live, keep)
  local l = {}
  for run, subnets in pairs(st.runs) do
    local alive = false
    for _, s in ipairs(subnets) do if live[s] then alive = true end end
    if run ~= keep and not alive then l[#l + 1] = run end
  end
  return l
end

return M
