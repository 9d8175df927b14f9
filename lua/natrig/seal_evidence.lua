--- natrig.seal_evidence: the sealed lab's evidence, read from each engine's host table
-- (natrig.seal): net:escapes(), each escape as a timeline entry (node "natrig"), and
-- which node an escape's source address names.
-- @module natrig.seal_evidence
local core = require "natrig.core"
local nftx = require "natrig.seal_nft"

local M = {}

-- Which node sent from an address: the node itself, or the nodes behind the NAT whose
-- public address it is (one name, or the router's name with its nodes).
local function who(net, addr)
  if net.seal.gw[addr] then return net.seal.gw[addr] end -- over a Swarm: its docker_gwbridge address
  local l = {}
  for _, n in ipairs(net.nodes) do if n.public_ip == addr or n.private_ip == addr then l[#l + 1] = n end end
  if #l == 1 then return l[1].name end
  for _, r in ipairs(net.routers) do
    if r.wan_ip == addr then
      local names = {}
      for _, n in ipairs(l) do names[#names + 1] = n.name end
      return #names > 0 and ("%s (%s)"):format(r.name, table.concat(names, ", ")) or r.name
    end
  end
  return #l > 0 and l[1].name or addr
end

local function note_text(e)
  return ("escape %s -> %s%s/%s dropped x%d"):format(e.node, e.addr, e.port and (":" .. e.port) or "", e.proto, e.count)
end

--- The run's dropped attempts to leave the lab, oldest first: { node, addr, port, proto,
-- first, last, count, bytes }. Each also appears in the timeline (node "natrig").
-- timeout: seconds each engine's reading may take (natrig.seal.finish after a signal).
function M.escapes(net, timeout)
  local st = net.seal
  if not (st and st.parts) then return st and st.escapes or {} end
  if st.job and st.job.state == "running" then st.job:join() end
  local l = {}
  for _, p in ipairs(st.parts) do -- each engine's host drops and counts its own
    if p.helper then
      local r = p.eng:exec(p.helper, { "nft", "list", "table", "inet", nftx.TABLE }, { timeout = timeout })
      if r.code ~= 0 then
        core.fail("engine", "seal", "nft list failed on the engine's host: "
          .. (r.stderr ~= "" and r.stderr or r.stdout):sub(1, 400))
      end
      for _, e in ipairs(nftx.parse_escapes(r.stdout, net.session.run_id, core.time())) do l[#l + 1] = e end
    end
  end
  if #st.parts > 1 then nftx.sort_escapes(l) end
  for _, e in ipairs(l) do e.node = who(net, e.saddr) end
  st.escapes = l
  -- the timeline: one entry per escape key, at its first time, updated in place
  st.entries = st.entries or {}
  for _, e in ipairs(l) do
    local key = e.saddr .. " " .. e.addr .. " " .. tostring(e.port) .. " " .. e.proto
    local ent = st.entries[key]
    if not ent then
      ent = { node = "natrig", level = "warn", target = "natrig", fields = {}, stream = "natrig",
        seq = #net.actions + 1 }
      st.entries[key] = ent
      net.actions[#net.actions + 1] = ent
    end
    ent.time, ent.engine_time = e.first, e.first
    ent.message = note_text(e)
    ent.raw = ent.message
  end
  return l
end

--- Refresh the escapes for the timeline (at most once a second; quiet on failure).
function M.refresh(net)
  local st = net.seal
  if not (st and st.parts) or net.state ~= "up" then return end
  if st.read_at and core.now() - st.read_at < 1 then return end
  st.read_at = core.now()
  pcall(M.escapes, net)
end

return M
