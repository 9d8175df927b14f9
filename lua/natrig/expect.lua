--- natrig.expect: assertions that say what was expected and what was seen.
--   expect(x):eq(3)   expect(rtt):near(300, 0.1)   expect(list):none()
--   expect(n):ge(1)   expect(s):matches("connected")   expect(t):count(2)
--
-- `expect(v [, label])` (also natrig.expect): the label names the value in the error.
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

--- What `expect(v [, label])` returns: each check raises a natrig.Error (code "expect")
-- saying what was expected and what was seen, or returns the same Expect so checks chain.
-- A scenario's failure then names the scenario's file:line.
-- @type Expect

--- Equal (==) to want.
-- @tparam any want any value
-- @treturn Expect self
-- @usage expect(r.code, "exit code"):eq(0)
function Expect:eq(want)
  if self.v ~= want then fail(self, ("expected %s, got %s"):format(show(want), show(self.v))) end
  return self
end
--- Anything but other (~=).
-- @tparam any other any value
-- @treturn Expect self
-- @usage expect(a.public_ip):ne(a.private_ip)
function Expect:ne(other)
  if self.v == other then fail(self, ("expected anything but %s"):format(show(other))) end
  return self
end
--- Neither false nor nil.
-- @treturn Expect self
-- @usage expect(c.matches):truthy()
function Expect:truthy()
  if not self.v then fail(self, ("expected a true value, got %s"):format(show(self.v))) end
  return self
end
--- False or nil.
-- @treturn Expect self
-- @usage expect(net.by_name.gone):falsy()
function Expect:falsy()
  if self.v then fail(self, ("expected false or nil, got %s"):format(show(self.v))) end
  return self
end
--- A number >= x.
-- @tparam number x
-- @treturn Expect self
-- @usage expect(#a:logs{ match = "pong" }):ge(10)
function Expect:ge(x)
  if not (type(self.v) == "number" and self.v >= x) then
    fail(self, ("expected >= %s, got %s"):format(show(x), show(self.v)))
  end
  return self
end
--- A number <= x.
-- @tparam number x
-- @treturn Expect self
-- @usage expect(lossy.loss_pct):le(35)
function Expect:le(x)
  if not (type(self.v) == "number" and self.v <= x) then
    fail(self, ("expected <= %s, got %s"):format(show(x), show(self.v)))
  end
  return self
end
--- A number from lo to hi (both included).
-- @tparam number lo
-- @tparam number hi
-- @treturn Expect self
-- @usage expect(tonumber(e.fields.rtt_ms)):between(190, 230)
function Expect:between(lo, hi) return self:ge(lo):le(hi) end
--- Within a relative tolerance: near(300, 0.1) accepts 270..330.
-- @tparam number x
-- @tparam[opt=0.1] number rel the tolerance, a fraction of x
-- @treturn Expect self
-- @usage expect(median_ms):near(200, 0.1)
function Expect:near(x, rel)
  rel = rel or 0.1
  local d = math.abs(x) * rel
  if not (type(self.v) == "number" and math.abs(self.v - x) <= d) then
    fail(self, ("expected %s ± %s%%, got %s"):format(show(x), show(rel * 100), show(self.v)))
  end
  return self
end
--- A string in which the Lua pattern pat is found.
-- @tparam string pat
-- @treturn Expect self
-- @usage expect(r.stdout):matches("inet 10%.")
function Expect:matches(pat)
  if not (type(self.v) == "string" and self.v:find(pat)) then
    fail(self, ("expected a string matching %q, got %s"):format(pat, show(self.v)))
  end
  return self
end
--- A table with x among its values, or a string containing x (plain text).
-- @tparam any x a value, or a substring
-- @treturn Expect self
-- @usage expect(r.stdout):contains("hello")
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
--- A list of exactly n items.
-- @tparam integer n
-- @treturn Expect self
-- @usage expect(net:peers()):count(2)
function Expect:count(n)
  local c = type(self.v) == "table" and #self.v or -1
  if c ~= n then fail(self, ("expected %d items, got %d: %s"):format(n, c, show(self.v))) end
  return self
end
--- An empty list (a failure shows the first item, a log entry as its line).
-- @treturn Expect self
-- @usage expect(net:logs{ level = "error" }):none()
function Expect:none()
  if type(self.v) ~= "table" or #self.v ~= 0 then
    local first = type(self.v) == "table" and self.v[1]
    fail(self, ("expected none, got %d%s"):format(type(self.v) == "table" and #self.v or -1,
      first and (": first " .. show(first.raw or first)) or ""))
  end
  return self
end
--- A list with at least one item.
-- @treturn Expect self
-- @usage expect(b:logs{ match = "connected" }):some()
function Expect:some()
  if type(self.v) ~= "table" or #self.v == 0 then fail(self, "expected at least one, got none") end
  return self
end

return setmetatable({ new = new }, { __call = function(_, v, label) return new(v, label) end })
