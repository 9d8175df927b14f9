-- tap.lua: a tiny TAP producer for Lua tests (run under prove).
--   local t = require "tap"
--   t.ok(cond, "name"); t.is(got, want, "name"); t.raises(fn, "pattern", "name"); t.done()
--   t.needs_engine()  -- skip the file (or fail under CI=true) when no engine answers
local M = { n = 0, failed = 0 }

local function show(v)
  if type(v) == "string" then return ("%q"):format(v) end
  return tostring(v)
end

function M.ok(cond, name)
  M.n = M.n + 1
  print(("%s %d - %s"):format(cond and "ok" or "not ok", M.n, name or ""))
  if not cond then
    M.failed = M.failed + 1
    local lvl, info = 2, debug.getinfo(2, "Sl")
    while info and info.short_src:find("tap.lua", 1, true) do lvl = lvl + 1; info = debug.getinfo(lvl, "Sl") end
    if info then print(("#   at %s:%d"):format(info.short_src, info.currentline)) end
  end
  return cond
end

function M.is(got, want, name)
  local ok = got == want
  M.ok(ok, name)
  if not ok then print("#   got:  " .. show(got) .. "\n#   want: " .. show(want)) end
  return ok
end

function M.like(got, pat, name)
  local ok = type(got) == "string" and got:find(pat) ~= nil
  M.ok(ok, name)
  if not ok then print("#   got:  " .. show(got) .. "\n#   want match: " .. pat) end
  return ok
end

-- fn must raise an error whose text matches pat.
function M.raises(fn, pat, name)
  local ok, err = pcall(fn)
  local msg = tostring(err)
  local good = not ok and (pat == nil or msg:find(pat) ~= nil)
  M.ok(good, name)
  if not good then print("#   " .. (ok and "no error raised" or ("error: " .. msg))) end
  return good
end

function M.diag(...) print("# " .. table.concat({ ... }, " ")) end

function M.done()
  print("1.." .. M.n)
  os.exit(M.failed == 0 and 0 or 1)
end

-- Engine tests (tag needs:engine): skip with a reason locally, never under CI=true.
function M.needs_engine()
  local ok, eng = pcall(function() return require("natrig").engine() end)
  if ok then eng:close() return true end
  if os.getenv("CI") == "true" then
    print("not ok 1 - engine required under CI=true: " .. tostring(eng))
    print("1..1")
    os.exit(1)
  end
  print("1..0 # SKIP no Docker Engine: " .. tostring(eng))
  os.exit(0)
end

return M
