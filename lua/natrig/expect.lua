--- natrig.expect: assertions that say what was expected and what was seen.
--   expect(x):eq(3)   expect(rtt):near(300, 0.1)   expect(list):none()
--   expect(n):ge(1)   expect(s):matches("connected")   expect(t):count(2)
-- @module natrig.expect
local core = require "natrig.core"

local Expect = {}
Expect.__index = Expect

local function show(v)
  if type(v) == "table" then
    local ok, s = pcall(core.json_encode, v)
    if ok then return #s > 300 and s:sub(1, 300) .. "..." or s end
  end
  return tostring(v)
end

local function fail(self, what)
  core.fail("expect", "expect" .. (self.label and (" " .. self.label) or ""), what)
end

local function new(v, label) return setmetatable({ v = v, label = label }, Expect) end

function Expect:eq(want)
  if self.v ~= want then fail(self, ("expected %s, got %s"):format(show(want), show(self.v))) end
  return self
end
function Expect:ne(other)
  if self.v == other then fail(self, ("expected anything but %s"):format(show(other))) end
  return self
end
function Expect:truthy()
  if not self.v then fail(self, ("expected a true value, got %s"):format(show(self.v))) end
  return self
end
function Expect:falsy()
  if self.v then fail(self, ("expected false or nil, got %s"):format(show(self.v))) end
  return self
end
function Expect:ge(x)
  if not (type(self.v) == "number" and self.v >= x) then
    fail(self, ("expected >= %s, got %s"):format(show(x), show(self.v)))
  end
  return self
end
function Expect:le(x)
  if not (type(self.v) == "number" and self.v <= x) then
    fail(self, ("expected <= %s, got %s"):format(show(x), show(self.v)))
  end
  return self
end
function Expect:between(lo, hi) return self:ge(lo):le(hi) end
--- Within a relative tolerance: near(300, 0.1) accepts 270..330.
function Expect:near(x, rel)
  rel = rel or 0.1
  local d = math.abs(x) * rel
  if not (type(self.v) == "number" and math.abs(self.v - x) <= d) then
    fail(self, ("expected %s ± %s%%, got %s"):format(show(x), show(rel * 100), show(self.v)))
  end
  return self
end
function Expect:matches(pat)
  if not (type(self.v) == "string" and self.v:find(pat)) then
    fail(self, ("expected a string matching %q, got %s"):format(pat, show(self.v)))
  end
  return self
end
function Expect:contains(x)
  local found = false
  if type(self.v) == "table" then
    for _, y in pairs(self.v) do if y == x then found = true end end
  elseif type(self.v) == "string" then
    found = self.v:find(x, 1, true) ~= nil
  end
  if not found then fail(self, ("expected %s to contain %s"):format(show(self.v), show(x))) end
  return self
end
function Expect:count(n)
  local c = type(self.v) == "table" and #self.v or -1
  if c ~= n then fail(self, ("expected %d items, got %d: %s"):format(n, c, show(self.v))) end
  return self
end
function Expect:none()
  if type(self.v) ~= "table" or #self.v ~= 0 then
    local first = type(self.v) == "table" and self.v[1]
    fail(self, ("expected none, got %d%s"):format(type(self.v) == "table" and #self.v or -1,
      first and (": first " .. show(first.raw or first)) or ""))
  end
  return self
end
function Expect:some()
  if type(self.v) ~= "table" or #self.v == 0 then fail(self, "expected at least one, got none") end
  return self
end

return setmetatable({ new = new }, { __call = function(_, v, label) return new(v, label) end })
