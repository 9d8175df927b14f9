-- natrig.report.junit: a sweep report (natrig.sweep.model) as JUnit XML, valid against
-- the common junit-10.xsd (tests/fixtures/junit-10.xsd; the sweep test runs xmllint).
--
-- One <testsuite> per case, so its parameters fit in <properties> (junit-10 has no
-- properties on a testcase): name "scenario [case]", timestamp, hostname, and one
-- <testcase> per repeat ("case #2"). A scenario failure is a <failure>, a setup error
-- (bring-up, engine, crash, timeout, a scenario that does not load) an <error>; both
-- carry the message and file:line. <system-out> holds what the run printed and the
-- artifacts folder. A flaky case's passing repeats pass and its failing ones fail: no
-- retry hides anything. The verdict, pass count and path kinds (net:record_path) are
-- properties too.
local M = {}

local function xml(s)
  return (tostring(s):gsub("[&<>\"']",
    { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;" })
    :gsub("[%z\1-\8\11\12\14-\31]", "?"))
end
M.escape = xml

-- Invalid UTF-8 would make the whole file unreadable: replace bad bytes.
local function utf8_clean(s)
  s = tostring(s)
  if utf8.len(s) then return s end
  local out, i = {}, 1
  while i <= #s do
    local ok, n = pcall(utf8.len, s, i, i)
    if ok and n == 1 then
      local c = utf8.codepoint(s, i)
      local len = c < 0x80 and 1 or c < 0x800 and 2 or c < 0x10000 and 3 or 4
      out[#out + 1] = s:sub(i, i + len - 1)
      i = i + len
    else
      out[#out + 1] = "?"
      i = i + 1
    end
  end
  return table.concat(out)
end

local function text(s) return xml(utf8_clean(s)) end

local function time(t) return ("%.3f"):format(math.max(0, tonumber(t) or 0)) end

local function iso(t)
  if not t then return nil end
  return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(t))
end

function M.render(doc)
  local o = { '<?xml version="1.0" encoding="UTF-8"?>' }
  local s = doc.summary
  local fails, errors, total_time = 0, 0, 0
  for _, c in ipairs(doc.cases) do
    for _, r in ipairs(c.repeats) do
      if r.status == "fail" then fails = fails + 1 elseif r.status == "error" then errors = errors + 1 end
      total_time = total_time + (r.duration or 0)
    end
  end
  o[#o + 1] = ('<testsuites name="natrig sweep" tests="%d" failures="%d" errors="%d" time="%s">'):format(
    s.runs, fails, errors, time(doc.wall or total_time))
  for _, c in ipairs(doc.cases) do
    local cf, ce, ct = 0, 0, 0
    for _, r in ipairs(c.repeats) do
      if r.status == "fail" then cf = cf + 1 elseif r.status == "error" then ce = ce + 1 end
      ct = ct + (r.duration or 0)
    end
    local first = c.repeats[1] or {}
    o[#o + 1] = ('  <testsuite name="%s" tests="%d" failures="%d" errors="%d" skipped="0" time="%s" ' ..
      'timestamp="%s" hostname="%s" package="%s">')
      :format(text(c.id), #c.repeats, cf, ce, time(ct), iso(first.started or doc.started) or "",
        text(doc.hostname or ""), text(c.file or ""))
    o[#o + 1] = "    <properties>"
    local keys = {}
    for k in pairs(c.params or {}) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do
      o[#o + 1] = ('      <property name="%s" value="%s"/>'):format(text(k), text(c.params[k]))
    end
    local lkeys = {}
    for k in pairs(type(doc.labels) == "table" and doc.labels or {}) do lkeys[#lkeys + 1] = k end
    table.sort(lkeys)
    for _, k in ipairs(lkeys) do
      o[#o + 1] = ('      <property name="natrig.label.%s" value="%s"/>'):format(text(k), text(doc.labels[k]))
    end
    o[#o + 1] = ('      <property name="natrig.verdict" value="%s"/>'):format(c.verdict)
    o[#o + 1] = ('      <property name="natrig.passed" value="%d/%d"/>'):format(c.passed, c.runs)
    -- net:record_path's verdicts: one property per pair ("natrig.path.a<->b" = "direct 3/3")
    for _, pp in ipairs(c.paths or {}) do
      o[#o + 1] = ('      <property name="natrig.path.%s" value="%s"/>'):format(text(pp.pair),
        text(pp.text:sub(#pp.pair + 2)))
    end
    if c.compare and #c.compare.marks > 0 then
      o[#o + 1] = ('      <property name="natrig.baseline" value="%s"/>')
        :format(text(table.concat(c.compare.marks, " ")))
    end
    o[#o + 1] = "    </properties>"
    for _, r in ipairs(c.repeats) do
      local name = #c.repeats > 1 and ("%s #%d"):format(c.case, r.index) or c.case
      o[#o + 1] = ('    <testcase classname="%s" name="%s" time="%s">'):format(text(c.scenario), text(name),
        time(r.duration))
      if r.status ~= "pass" then
        local tag = r.status == "fail" and "failure" or "error"
        local msg = tostring(r.error or "no message"):match("[^\n]*")
        local body = tostring(r.error or "") .. (r.where and ("\nat " .. r.where) or "")
        o[#o + 1] = ('      <%s message="%s" type="%s">%s</%s>'):format(tag, text(msg),
          tag == "failure" and "natrig.expect" or "natrig.setup", text(body), tag)
      end
      local out = {}
      if r.artifacts then out[#out + 1] = "artifacts: " .. r.artifacts end
      for _, m in ipairs(r.metrics or {}) do
        out[#out + 1] = ("metric %s = %s %s"):format(m.name, tostring(m.value), m.unit or "")
      end
      if r.output and r.output ~= "" then out[#out + 1] = r.output end
      if #out > 0 then o[#o + 1] = ("      <system-out>%s</system-out>"):format(text(table.concat(out, "\n"))) end
      o[#o + 1] = "    </testcase>"
    end
    o[#o + 1] = "  </testsuite>"
  end
  o[#o + 1] = "</testsuites>"
  return table.concat(o, "\n") .. "\n"
end

return M
