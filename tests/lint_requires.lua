-- tests/lint_requires.lua: no require cycle among lua/natrig's modules, a require inside a
-- function included (issue 31: the layers of the Lua side must not point back up). Prints
-- each cycle as "a -> b -> a" and exits 1 when there is one. Run by tests/lint.
local files = {}
local p = io.popen("find lua/natrig -name '*.lua' | sort")
for path in p:lines() do files[#files + 1] = path end
p:close()
local function modname(path)
  return (path:gsub("^lua/", ""):gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", "."))
end
local graph = {}
for _, path in ipairs(files) do
  local m = modname(path)
  graph[m] = graph[m] or {}
  local f = assert(io.open(path))
  for line in f:lines() do
    local code = line:gsub("%-%-.*$", "") -- comments say "requires" too
    for dep in code:gmatch('require%s*%(?%s*["\']([%w%._]+)["\']') do
      if dep:match("^natrig") and dep ~= "natrig.core" and dep ~= m then graph[m][dep] = true end
    end
  end
  f:close()
end
local state, stack, cycles = {}, {}, {}
local function visit(m)
  state[m] = "open"
  stack[#stack + 1] = m
  local deps = {}
  for d in pairs(graph[m] or {}) do deps[#deps + 1] = d end
  table.sort(deps)
  for _, d in ipairs(deps) do
    if state[d] == "open" then
      local i = #stack
      while stack[i] ~= d do i = i - 1 end
      cycles[#cycles + 1] = table.concat(stack, " -> ", i) .. " -> " .. d
    elseif not state[d] then
      visit(d)
    end
  end
  stack[#stack] = nil
  state[m] = "done"
end
local mods = {}
for m in pairs(graph) do mods[#mods + 1] = m end
table.sort(mods)
for _, m in ipairs(mods) do if not state[m] then visit(m) end end
for _, c in ipairs(cycles) do print(c) end
os.exit(#cycles == 0 and 0 or 1)
