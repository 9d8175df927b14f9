-- Every NAT preset natrig offers (hairpin on and off), plus a double NAT, measured by an
-- outside judge: coturn's RFC 5780 client. Prints preset, what natrig claims, what coturn
-- measured; passes when every measurement equals the claim.
--   natrig run scenarios/nat_types.lua presets=port_restricted   (some presets, the double NATs)
return natrig.scenario {
  name = "NAT types judged by coturn",
  params = { presets = "" },
  timeout = 300,
  run = function(net, p)
    local rows, presets = {}, natrig.core.nat_presets()
    if p.presets ~= "" then
      presets = {}
      for s in p.presets:gmatch("[^,]+") do presets[#presets + 1] = s end
    end
    for _, preset in ipairs(presets) do
      for _, hp in ipairs({ true, false }) do
        local node = net:peer { name = preset .. (hp and "" or "-nohairpin"), nat = preset, hairpin = hp,
          cmd = { "sleep", "2000000000" } }
        rows[#rows + 1] = { label = preset .. (hp and "" or " (hairpin off)"), node = node }
      end
    end
    local cg = net:router { name = "cgnat", nat = "symmetric" }
    local home = net:router { name = "home", nat = "port_restricted", behind = cg }
    rows[#rows + 1] = { label = "port_restricted behind symmetric CGNAT",
      node = net:peer { name = "double", router = home, cmd = { "sleep", "2000000000" } } }
    local cg2 = net:router { name = "cgnat2", nat = "full_cone" }
    local home2 = net:router { name = "home2", nat = "full_cone", behind = cg2 }
    rows[#rows + 1] = { label = "full_cone behind full_cone CGNAT",
      node = net:peer { name = "double2", router = home2, cmd = { "sleep", "2000000000" } } }
    net:up()
    natrig.map(rows, function(r) r.c = net:classify(r.node) end, 4)
    local function fmt(m, f, h)
      return ("%-4s %-4s %s"):format(m, f, h == nil and "?" or h and "hairpin" or "no-hairpin")
    end
    print(("   %-40s %-22s %-22s"):format("preset", "natrig claims", "coturn measured"))
    local bad = 0
    for _, r in ipairs(rows) do
      local c = r.c
      if not c.matches then bad = bad + 1 end
      print(("   %-40s %-22s %-22s %s"):format(r.label, fmt(c.claimed.mapping, c.claimed.filtering, c.claimed.hairpin),
        fmt(c.mapping, c.filtering, c.hairpin), c.matches and "ok" or "MISMATCH"))
    end
    expect(bad, "presets whose measurement differs from the claim"):eq(0)
  end,
}
