--- natrig.holepunch_run: the hole-punching matrix's runner (scenarios/holepunch_matrix.lua,
-- and its IPv6 grid for sweeps, scenarios/holepunch6_matrix.lua): builds each batch of
-- cells as one network (a rendezvous, two natrig-peers a cell, each behind its own router),
-- waits for each side's verdict, asks net:path what carried it and compares each cell with
-- natrig.holepunch's prediction (predict over IPv4: RFC 4787/5382; predict6 over IPv6:
-- RFC 6092). Prints the matrix; fails when a cell differs.
-- @module natrig.holepunch_run
local holepunch = require "natrig.holepunch"
local nat = require "natrig.nat"

local M = {}

--- Run the matrix the parameters name (the scenario's params: presets, batch, delay_ms,
-- punch_timeout, first, second, proto, mapped, family, cells).
-- @tparam table p the scenario's parameters
-- @local
function M.run(p)
  local natrig = require "natrig"
  if p.mapped ~= "none" and p.mapped ~= "a" then
    error(("mapped must be none or a (side a's router maps its port), got %s"):format(tostring(p.mapped)), 0)
  end
  local mapped = p.mapped == "a"
  local v6 = tostring(p.family) == "6"
  if not v6 and tostring(p.family) ~= "4" then
    error(("family must be 4 or 6, got %s"):format(tostring(p.family)), 0)
  end
  if v6 and mapped then error("mapped=a maps an IPv4 port (NAT-PMP): over IPv6 nothing is translated", 0) end
  if v6 and p.proto == "tcp" then error("family=6 punches over UDP (RFC 6092 predicts UDP here): proto=udp", 0) end
  local presets = {}
  if p.presets ~= "" then for s in p.presets:gmatch("[^,]+") do presets[#presets + 1] = s end
  else presets = v6 and holepunch.FW6 or natrig.core.nat_presets() end
  -- cells: unordered pairs; for different presets both orders of arrival; each protocol
  local protos = p.proto ~= "" and { p.proto } or (v6 and { "udp" } or { "udp", "tcp" })
  for _, pr in ipairs(protos) do
    if pr ~= "udp" and pr ~= "tcp" then error("proto must be udp or tcp, got " .. pr, 0) end
  end
  local pairs_ = {}
  if p.cells ~= "" then
    for a, b in (p.cells .. ","):gmatch("([^,/]+)/([^,/]+),") do pairs_[#pairs_ + 1] = { a, b } end
    if #pairs_ == 0 then error(("cells=%s: want A/B,C/D,..."):format(p.cells), 0) end
  elseif p.first == "" then
    for i = 1, #presets do for j = i, #presets do pairs_[#pairs_ + 1] = { presets[i], presets[j] } end end
  end
  local cells = {}
  for _, pr in ipairs(protos) do
    if p.first ~= "" and p.second ~= "" then
      cells[#cells + 1] = { a = p.first, b = p.second, first = "a", proto = pr }
    end
    for _, ab in ipairs(pairs_) do
      cells[#cells + 1] = { a = ab[1], b = ab[2], first = "a", proto = pr }
      if ab[1] ~= ab[2] then cells[#cells + 1] = { a = ab[1], b = ab[2], first = "b", proto = pr } end
    end
  end
  for _, c in ipairs(cells) do -- a bad name fails before anything is made
    if v6 then
      local ok6, e6 = pcall(holepunch.predict6, c.a, c.b)
      if not ok6 then -- e.g. a sweep's first/second axes (NAT presets) with --set family=6
        error(("family=6: the cells are IPv6 firewalls, not NAT presets: %s (give cells=A/B,... or "
          .. "first= and second= modes)"):format(e6), 0)
      end
    else
      nat.resolve(c.a); nat.resolve(c.b)
    end
  end
  local PEER = "/usr/local/bin/natrig-peer"
  -- batches, each its own network: one rendezvous, two NATed peers per cell
  for start = 1, #cells, p.batch do
    local net = natrig.network { scenario = "holepunch_matrix", quiet = true }
    local ok, err = pcall(function()
      net:gateway { name = "rv", profile = "natrig-peer", ip = v6 and "dual" or nil }
      for k = start, math.min(start + p.batch - 1, #cells) do
        local c = cells[k]
        local na, nb = "c" .. k .. "a", "c" .. k .. "b"
        local function argv(me, other, delayed, pm)
          return function(_, n)
            local rv = n:get("rv")
            local at = v6 and ("[" .. rv.public_ip6 .. "]:31337") or (rv.public_ip .. ":31337")
            local a = { PEER, "peer", "--gateway", at, "--name", me,
              "--port", "31337", "--expect", other, "--punch-timeout", tostring(p.punch_timeout),
              "--punch-delay", delayed and tostring(p.delay_ms) or "0", "--pings", "3" }
            if c.proto == "tcp" then a[#a + 1] = "--tcp" end
            if pm then a[#a + 1] = "--portmap"; a[#a + 1] = "natpmp" end
            return a
          end
        end
        if v6 then -- dual-stack routers (the default IPv4 NAT), the cell's IPv6 firewalls
          c.na = net:peer { name = na, ip = "dual", filtering6 = c.a, cmd = argv(na, nb, c.first == "b") }
          c.nb = net:peer { name = nb, ip = "dual", filtering6 = c.b, cmd = argv(nb, na, c.first == "a") }
        else
          c.na = net:peer { name = na, nat = c.a, portmap = mapped and { "natpmp" } or nil,
            cmd = argv(na, nb, c.first == "b", mapped) }
          c.nb = net:peer { name = nb, nat = c.b, cmd = argv(nb, na, c.first == "a") }
        end
      end
      net:up()
      local t_up = natrig.now()
      net:paths() -- counting starts: each cell's path is the sweep report's path column
      natrig.map((function()
        local l = {}
        for k = start, math.min(start + p.batch - 1, #cells) do l[#l + 1] = cells[k] end
        return l
      end)(), function(c)
        local budget = p.punch_timeout + p.delay_ms / 1000 + 10
        local function registered(node)
          return #node:logs { target = "natrig_peer::peer", message = "registered with gateway" } > 0
        end
        -- then: the other side's outcome is known, so a peer still not registered by now
        -- never heard the rendezvous (it had the other's whole punch to) and gets 3 s more
        local function outcome(node, other, after)
          local q = { target = "natrig_peer::punch", fields = { remote = other.name },
            message = { "hole punched", "hole punch failed" }, timeout = budget }
          if after and not registered(node) then q.timeout = 3 end
          local ok_, e = pcall(node.wait_log, node, q)
          if not ok_ and q.timeout < budget and registered(node) then
            q.timeout = budget
            ok_, e = pcall(node.wait_log, node, q)
          end
          if ok_ then return e.message:find("failed") and "failed" or "direct" end
          -- a peer the rendezvous never answered (a closed IPv6 firewall drops the answers)
          -- never learns the other: failed; one that registered and said nothing is an error
          if not registered(node) then return "failed" end
          error(e, 0)
        end
        local ra, rb
        if registered(c.nb) and not registered(c.na) then -- the registered one first
          rb = outcome(c.nb, c.na); ra = outcome(c.na, c.nb, true)
        else
          ra = outcome(c.na, c.nb); rb = outcome(c.nb, c.na, true)
        end
        natrig.metric("time to punch outcome", natrig.now() - t_up, "s") -- after the network is up
        c.got = (ra == "direct" and rb == "direct") and "direct" or "failed"
        if mapped then
          local m = c.na:logs { target = "natrig_peer::portmap", message = "port mapped" }
          c.mapped_at = m[1] and m[1].fields.external or "not mapped"
        end
        -- the network's own verdict beside the peers' word (its pings and keepalives)
        if c.got == "direct" then pcall(net.wait_path, net, { c.na, c.nb, kind = "direct", timeout = 8 }) end
        c.path = net:record_path(c.na, c.nb).kind
        if v6 then
          c.want, c.why = holepunch.predict6(c.a, c.b)
        else
          local spec_a = nat.resolve(c.a)
          spec_a.mapped = mapped or nil
          c.want, c.why = holepunch.predict(spec_a, nat.resolve(c.b), c.first, c.proto)
        end
        if not holepunch.agrees(c.got, c.want) then -- what both peers said, while their logs are at hand
          local function tail(node)
            local l = {}
            for line in node:log_text():gmatch("[^\n]+") do l[#l + 1] = line end
            return table.concat(l, "\n", math.max(1, #l - 11))
          end
          c.evidence = ("%s:\n%s\n%s:\n%s"):format(c.na.name, tail(c.na), c.nb.name, tail(c.nb))
        end
      end, 64)
    end)
    net:down()
    if not ok then error(err, 0) end
  end
  -- the matrix
  local bad = 0
  local col = v6 and "FW6" or "NAT"
  print(("   %-5s %-18s %-18s %-6s %-8s %-8s %-6s %-8s %s"):format("proto", col .. " a", col .. " b", "first", "got",
    "expected", "mapped", "path", ""))
  for _, c in ipairs(cells) do
    local okc = holepunch.agrees(c.got, c.want)
    if not okc then bad = bad + 1 end
    print(("   %-5s %-18s %-18s %-6s %-8s %-8s %-6s %-8s %s"):format(c.proto .. (v6 and "6" or ""), c.a, c.b,
      c.a == c.b and "-" or c.first,
      c.got or "?", c.want or "?", mapped and "a" or "-", c.path or "?",
      okc and "ok" or ("MISMATCH: " .. tostring(c.why))))
    if c.mapped_at then print(("     | a mapped at %s"):format(c.mapped_at)) end
  if c.evidence then print((c.evidence:gsub("[^\n]+", "     | %0"))) end
  end
  natrig.expect(bad, v6 and "cells that differ from the RFC 6092 prediction"
    or "cells that differ from the RFC 4787 (UDP) / RFC 5382 (TCP) prediction"):eq(0)
end

return M
