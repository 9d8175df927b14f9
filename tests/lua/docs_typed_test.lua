-- The API reference stays typed (issue 28.4): in every file config.ld builds the reference
-- from, every public function (a `---` doc comment without @local, as LDoc and help() read
-- it) has a typed @tparam for each parameter (`any` when any value goes), a @treturn when
-- its body returns a value, and every @field of a class is typed (@tfield). Pure: the
-- files are read as text. A new untyped function fails here, naming it.
local t = require "tap"

local function read(p)
  local f = assert(io.open(p))
  local s = f:read("a")
  f:close()
  return s
end

local files = {}
for f in read("config.ld"):match("file%s*=%s*(%b{})"):gmatch('"([^"]+%.lua)"') do files[#files + 1] = f end
t.ok(#files >= 20, ("config.ld lists the reference's files (%d)"):format(#files))

-- Does the body (lines after the definition up to its `end`) return a value? A function
-- at column 0 ends at the first line that is `end` at column 0; a one-line stub has none.
local function returns_value(lines, i)
  if lines[i]:match("%)%s*end%s*$") then
    return lines[i]:match("%f[%w]return%s+[^%s;]") ~= nil and not lines[i]:match("%f[%w]return%s+end") end
  if lines[i]:match("%f[%w]return%s+[^e%s]") then return true end -- one-line body
  for j = i + 1, #lines do
    -- a function written inline on the line (a callback) returns for itself, not for this one
    if lines[j]:match("%f[%w]return%s+function") then return true end
    local l = lines[j]:gsub("function%s*%b()(.-)%f[%w]end%f[%W]", "")
    if l:match("^end") then return false end
    local r = l:match("%f[%w]return%s+(.-)%s*$")
    if r and r ~= "" and not r:match("^end") and not r:match("^%-%-") then return true end
  end
  return false
end

local missing, count = {}, 0
for _, path in ipairs(files) do
  local lines = {}
  for l in io.lines(path) do lines[#lines + 1] = l end
  for i, l in ipairs(lines) do
    local name, params = l:match("^function%s+([%w_.:]+)%s*%(([^)]*)%)")
    if name and not name:match("[:.]__") then
      local j, b, doc = i - 1, {}, false
      while j >= 1 and lines[j]:match("^%s*%-%-") do
        table.insert(b, 1, lines[j])
        doc = lines[j]:match("^%s*%-%-%-") ~= nil
        j = j - 1
      end
      local text = table.concat(b, "\n")
      if doc and not text:find("@local", 1, true) then
        count = count + 1
        local where = ("%s:%d %s"):format(path, i, name)
        for p in params:gmatch("[%w_.]+") do
          local pat = "@tparam%[?[^%]]*%]?%s+%S+%s+" .. p:gsub("%p", "%%%0") .. (p == "..." and "" or "%f[%W]")
          local typed = text:match(pat)
          if p ~= "self" and not typed then
            missing[#missing + 1] = where .. ": no @tparam for " .. p
          end
        end
        if returns_value(lines, i) and not text:find("@treturn", 1, true) then
          missing[#missing + 1] = where .. ": returns a value but has no @treturn"
        end
      end
    end
    if l:match("^%s*%-%-+%s*@field%s") then
      missing[#missing + 1] = ("%s:%d: an untyped @field (use @tfield TYPE name)"):format(path, i)
    end
  end
end
t.ok(count >= 120, ("%d public functions found in the reference's files"):format(count))
t.is(#missing, 0, "every public function in the reference is typed (params, returns) and every field too")
for _, m in ipairs(missing) do t.diag(m) end
t.done()
