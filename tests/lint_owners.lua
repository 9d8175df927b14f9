-- tests/lint_owners.lua: each piece of a node's state has one owner module, which alone
-- writes it (README, "How it is built": Ownership). A module's state on a node (or router)
-- is one sub-object of it, made and written only by that module (SUBS below); others read
-- it through the owner's functions (natrig.watch.running, ...). A node's flat fields are
-- natrig.node's: a module other than node.lua that writes a flat field on a node fails,
-- unless the write is one of those named in ELSEWHERE (each with its reason). Prints each
-- bad write as "file:line: ..." and exits 1 when there is one. Run by tests/lint.
--
-- Textual: an assignment's targets are read from the line. A sub-object is found by its
-- name whatever holds it (`x.life.running = ...`, `host.obj.life = ...`); a node by the
-- name of the variable that holds it (NODE_VARS, or a `.node` field). A write through an
-- alias (`local l = x.life; l.running = ...`) is not seen: owners use aliases, others must not.

-- sub-object -> the modules that own it (their file names)
local SUBS = {
  life = { "watch" },       -- liveness: what the engine says of the app (natrig.watch)
  shaping = { "impair" },   -- the impairment in force, its seeds, netem's device (natrig.impair)
  shaper = { "shaper" },    -- natrig-shaper in its namespace: queues, the next free one (natrig.shaper)
  partition = { "partition" }, -- natrig's partition chains in its namespace (natrig.partition)
  captures = { "capture" },  -- its packet captures: file, link, container (natrig.capture)
  log = { "logs", "logfollow" }, -- its log: store, waits, follow, lag (natrig.logs, natrig.logfollow)
  boot = { "nat" },          -- a router's boot: its container's starts, the load to wait for (natrig.nat)
}
-- writes of a sub-object's name that are not a node's ("module:holder.name" -> why)
local NOT_SUBS = { ["network:t.log"] = "a network's log function (net.log)" }

-- Variables that hold a node (or a router) in natrig's modules, and files where they do not.
local NODE_VARS = { n = true, node = true, x = true, nd = true }
local NOT_NODE_FILES = { trend = true, trend_model = true, history = true, metrics = true, seal_nft = true,
  ls = true, classify = true, path_class = true }

-- Flat fields written outside node.lua today: "module.field" -> why (debt to move into the
-- writer's own sub-object, or into node.lua).
local ELSEWHERE = {
  ["plan.private_ip"] = "addresses come from the plan", ["plan.public_ip"] = "addresses come from the plan",
  ["plan.segment"] = "the plan picks the segment",
  ["plan.endpoint_ip"] = "the engine endpoint's IPv4 address comes from the plan (a v6only node's is taken away)",
  ["attach.endpoint_ip"] = "attach",
  ["hosts.eng"] = "placement picks the engine",
  ["attach.eng"] = "attach rebuilds a node from the engine's labels", ["attach.holder"] = "attach",
  ["attach.segment"] = "attach", ["attach.private_ip"] = "attach", ["attach.public_ip"] = "attach",
  ["attach.id"] = "attach", ["attach.ready"] = "attach", ["attach.ctl_dir"] = "attach",
  ["lifecycle.job"] = "the bring-up task of the node", ["network.host_pin"] = "net:peer's host option",
  ["network.ip"] = "a peer's families are its router's",
  ["profiles.freenet_keys"] = "the freenet profile's keys",
  ["relay.relay"] = "the relay a node is", ["relay.path_relay"] = "the relay a path goes through",
  ["dns.dns"] = "the DNS server a node is",
  ["ip6.seg_ip6"] = "IPv6 addresses come from natrig.ip6's plan", ["ip6.private_ip6"] = "natrig.ip6's plan",
  ["ip6.public_ip6"] = "natrig.ip6's plan",
}

local function read_lines(path)
  local f = assert(io.open(path))
  local l = {}
  for line in f:lines() do l[#l + 1] = line end
  f:close()
  return l
end

-- code only: no comment, no string contents
local function code_of(line)
  return (line:gsub("%-%-.*$", ""):gsub('"[^"]*"', '""'):gsub("'[^']*'", "''"))
end

-- The targets of an assignment on this line (what stands left of a lone '='), or nil.
local function targets(code)
  local lhs = code:match("^%s*([%w_%.,%s%[%]#%+]-)%s*=[^=]")
        or code:match("%f[%w]then%s+([%w_%.,%s%[%]#%+]-)%s*=[^=]")
        or code:match("%f[%w]do%s+([%w_%.,%s%[%]#%+]-)%s*=[^=]")
        or code:match("%f[%w]else%s+([%w_%.,%s%[%]#%+]-)%s*=[^=]")
        or code:match(";%s*([%w_%.,%s%[%]#%+]-)%s*=[^=]")
  if not lhs or lhs:match("^%s*local%s") or lhs:match("%f[%w]local%s+[%w_,%s]+$") then return nil end
  local l = {}
  for t in lhs:gmatch("[^,]+") do l[#l + 1] = t:match("(%S+)%s*$") end -- `if c then x.f`: x.f
  return l
end

-- node.lua's own flat fields: those it writes, and the keys of the table it makes a node of.
local FLAT = {}
for _, line in ipairs(read_lines("lua/natrig/node.lua")) do
  local code = code_of(line)
  for _, t in ipairs(targets(code) or {}) do
    local f = t:match("^[%w_]+%.([%w_]+)$")
    if f then FLAT[f] = true end
  end
  if code:match("setmetatable%(%s*{") or code:match("^%s+[%w_]+ = [^=].*, [%w_]+ = ") then
    for k in code:gmatch("([%w_]+)%s*=[^=]") do FLAT[k] = true end
  end
end

local files = { ... } -- files given (the lint's own check), else every module
if #files == 0 then
  local p = io.popen("find lua/natrig -name '*.lua' | sort")
  for path in p:lines() do files[#files + 1] = path end
  p:close()
end

local bad = 0
local function say(path, ln, msg)
  print(("%s:%d: %s"):format(path, ln, msg))
  bad = bad + 1
end
for _, path in ipairs(files) do
  local mod = path:match("([%w_]+)%.lua$")
  for ln, line in ipairs(read_lines(path)) do
    for _, target in ipairs(targets(code_of(line)) or {}) do
      -- a sub-object: written (whole, or inside it) only by its owner
      for part, rest in target:gmatch("%.([%w_]+)()") do
        local owners = SUBS[part]
        local holder = target:sub(1, rest - 1 - #part - 1)
        if owners and not NOT_SUBS[mod .. ":" .. holder .. "." .. part] then
          local mine = false
          for _, o in ipairs(owners) do mine = mine or o == mod end
          if not mine then
            say(path, ln, ("writes %s, natrig.%s's part of the node (ask natrig.%s)"):format(target,
              table.concat(owners, "/natrig."), owners[1]))
          end
        end
      end
      -- a flat field of a node outside node.lua
      local var, field = target:match("^([%w_]+)%.([%w_]+)$")
      if not var then var, field = target:match("^[%w_%.]*%.(node)%.([%w_]+)$") end
      if var and NODE_VARS[var] and mod ~= "node" and not NOT_NODE_FILES[mod] and not SUBS[field]
        and not ELSEWHERE[mod .. "." .. field] then
        say(path, ln, FLAT[field]
          and ("writes %s, natrig.node's field (ask natrig.node, or name the write in ELSEWHERE)"):format(target)
          or ("writes %s, a new flat field on a node (keep it in this module's own sub-object)"):format(target))
      end
    end
  end
end
os.exit(bad == 0 and 0 or 1)
