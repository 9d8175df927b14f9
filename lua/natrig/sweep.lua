-- natrig.sweep: many scenarios x their parameter matrices, one case after another, with
-- JUnit XML, JSON and HTML reports (for nightly runs).
--
--   natrig sweep [--junit F] [--json F] [--html F] [--filter PATTERN] [--set k=v] FILE|DIR ...
--
-- A scenario's `matrix = { nat = { "full_cone", "symmetric" }, delay = { "0ms", "150ms" } }`
-- gives one case per combination (cartesian product), each run with those parameters.
-- --set fixes a parameter for every case. Exit 0 when every case passed, 1 otherwise.
local core = require "natrig.core"

local M = {}

-- The cases of a matrix: a list of parameter tables, in a stable order. Pure.
function M.cases(matrix)
  local keys = {}
  for k in pairs(matrix or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = { {} }
  for _, k in ipairs(keys) do
    local vals = matrix[k]
    if type(vals) ~= "table" or #vals == 0 then vals = { vals } end
    local nxt = {}
    for _, base in ipairs(out) do
      for _, v in ipairs(vals) do
        local c = {}
        for kk, vv in pairs(base) do c[kk] = vv end
        c[k] = v
        nxt[#nxt + 1] = c
      end
    end
    out = nxt
  end
  return out
end

function M.case_name(params)
  local keys = {}
  for k in pairs(params) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(params[k]) end
  return #parts > 0 and table.concat(parts, " ") or "default"
end

local function xml(s)
  return (tostring(s):gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;" })
    :gsub("[%z\1-\8\11\12\14-\31]", "?"))
end
M.xml_escape = xml

function M.junit(results)
  local by, order = {}, {}
  for _, r in ipairs(results) do
    if not by[r.scenario] then by[r.scenario] = {}; order[#order + 1] = r.scenario end
    table.insert(by[r.scenario], r)
  end
  local o = { '<?xml version="1.0" encoding="UTF-8"?>', "<testsuites>" }
  for _, name in ipairs(order) do
    local rs, fails, time = by[name], 0, 0
    for _, r in ipairs(rs) do if not r.ok then fails = fails + 1 end; time = time + (r.duration or 0) end
    o[#o + 1] = ('  <testsuite name="%s" tests="%d" failures="%d" time="%.3f">'):format(xml(name), #rs, fails, time)
    for _, r in ipairs(rs) do
      o[#o + 1] = ('    <testcase classname="%s" name="%s" time="%.3f">'):format(xml(name), xml(r.case), r.duration or 0)
      if not r.ok then
        o[#o + 1] = ('      <failure message="%s">%s</failure>'):format(xml((r.error or ""):match("[^\n]*")), xml(r.error or ""))
      end
      if r.artifacts then o[#o + 1] = ("      <system-out>artifacts: %s</system-out>"):format(xml(r.artifacts)) end
      o[#o + 1] = "    </testcase>"
    end
    o[#o + 1] = "  </testsuite>"
  end
  o[#o + 1] = "</testsuites>"
  return table.concat(o, "\n") .. "\n"
end

function M.html(results)
  local pass = 0
  for _, r in ipairs(results) do if r.ok then pass = pass + 1 end end
  local o = { "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>natrig sweep</title>",
    "<style>body{font-family:sans-serif}td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left}" ..
    ".pass{color:#176f2c}.fail{color:#b00020}pre{white-space:pre-wrap;margin:0}</style></head><body>",
    ("<h1>natrig sweep</h1><p>%d of %d cases passed, %s</p>"):format(pass, #results, os.date("!%Y-%m-%d %H:%M UTC")),
    "<table><tr><th>scenario</th><th>case</th><th>result</th><th>time</th><th>details</th></tr>" }
  for _, r in ipairs(results) do
    o[#o + 1] = ("<tr><td>%s</td><td>%s</td><td class=\"%s\">%s</td><td>%.1fs</td><td><pre>%s</pre>%s</td></tr>"):format(
      xml(r.scenario), xml(r.case), r.ok and "pass" or "fail", r.ok and "PASS" or "FAIL", r.duration or 0,
      xml(r.error or ""), r.artifacts and ("artifacts: " .. xml(r.artifacts)) or "")
  end
  o[#o + 1] = "</table></body></html>"
  return table.concat(o, "\n") .. "\n"
end

local function files_of(paths)
  local out = {}
  for _, p in ipairs(paths) do
    local st = core.stat(p)
    if st and st.type == "dir" then
      for _, n in ipairs(core.list_dir(p) or {}) do
        if n:match("%.lua$") then out[#out + 1] = p .. "/" .. n end
      end
    elseif st then
      out[#out + 1] = p
    else
      error(core.error { code = "einval", op = "sweep", status = 0, message = "no such file: " .. p }, 0)
    end
  end
  return out
end

function M.main(args)
  local scenario = require "natrig.scenario"
  local opts, paths, fixed = {}, {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--junit" or a == "--json" or a == "--html" or a == "--filter" then
      opts[a:sub(3)] = args[i + 1]
      i = i + 2
    elseif a == "--set" then
      local k, v = tostring(args[i + 1]):match("^([%w_]+)=(.*)$")
      if not k then io.stderr:write("natrig sweep: --set wants key=value\n") return 2 end
      fixed[k] = v
      i = i + 2
    elseif a:sub(1, 2) == "--" then
      io.stderr:write("natrig sweep: unknown option " .. a .. "\n") return 2
    else
      paths[#paths + 1] = a
      i = i + 1
    end
  end
  local ok, files = pcall(files_of, paths)
  if not ok then io.stderr:write("natrig sweep: ", tostring(files), "\n") return 2 end
  local eng = require("natrig.engine").open()
  local results = {}
  for _, f in ipairs(files) do
    local lok, def = pcall(scenario.load, f)
    if not lok then
      results[#results + 1] = { scenario = f, case = "load", ok = false, error = tostring(def), duration = 0 }
    else
      for _, c in ipairs(M.cases(def.matrix)) do
        for k, v in pairs(fixed) do if def.params[k] ~= nil then c[k] = v end end
        local cname = M.case_name(c)
        if not opts.filter or (def.name .. " " .. cname):find(opts.filter) then
          io.stdout:write(("== %s [%s]\n"):format(def.name, cname))
          io.stdout:flush()
          local params = {}
          for k, v in pairs(c) do params[k] = tostring(v) end
          local rok, res = pcall(scenario.run, def, { engine = eng, params = params,
            log = function(m) io.stdout:write("   ", m, "\n") end })
          if not rok then res = { ok = false, error = tostring(res), duration = 0 } end
          res.scenario, res.case, res.file = def.name, cname, f
          res.params = nil
          io.stdout:write(("%s %s [%s] (%.1fs)%s\n"):format(res.ok and "PASS" or "FAIL", def.name, cname,
            res.duration or 0, res.ok and "" or ("\n" .. tostring(res.error))))
          results[#results + 1] = res
        end
      end
    end
  end
  eng:close()
  if opts.junit then core.write_file(opts.junit, M.junit(results)) end
  if opts.json then core.write_file(opts.json, core.json_encode(core.json_array(results)) .. "\n") end
  if opts.html then core.write_file(opts.html, M.html(results)) end
  local failed = 0
  for _, r in ipairs(results) do if not r.ok then failed = failed + 1 end end
  io.stdout:write(("%d case(s), %d failed\n"):format(#results, failed))
  return failed == 0 and 0 or 1
end

return M
