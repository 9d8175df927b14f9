-- tests/lint_owners.lua: each piece of a node's state has one owner module, which alone
-- writes it (README, "How it is built": Ownership). Other modules read it, or ask the owner
-- (natrig.watch.started/exit_asked/seen, natrig.logs.node_exited, ...). Prints each write
-- outside the owner as "file:line: field (owner: ...)" and exits 1 when there is one. Run
-- by tests/lint. A field named here is found by its name, whatever holds it: names are
-- chosen not to collide with other objects' fields.
local OWNERS = {}
local function own(mods, fields)
  for _, f in ipairs(fields) do OWNERS[f] = mods end
end
-- liveness: what the engine says of the app (natrig.watch)
own({ "watch" }, { "running", "exit_code", "exited_at", "exit_ok_until", "exit_reported", "paused",
  "dead_role", "exits" })
-- the log: its store, its follow, its files, its lag (natrig.logs and natrig.logfollow)
own({ "logs", "logfollow" }, { "following", "lines_final", "log_bytes", "log_data_at", "spilled", "seq",
  "stop_follow", "follow_error", "follow_stalls", "log_lag", "log_lag_max", "log_lagging",
  "log_lag_reports", "file_offsets", "file_timer" })

local files = { ... } -- files given (the lint's own check), else every module
if #files == 0 then
  local p = io.popen("find lua/natrig -name '*.lua' | sort")
  for path in p:lines() do files[#files + 1] = path end
  p:close()
end

local bad = 0
for _, path in ipairs(files) do
  local mod = path:match("([%w_]+)%.lua$")
  local f = assert(io.open(path))
  local ln = 0
  for line in f:lines() do
    ln = ln + 1
    -- code only: no comment, no string contents
    local code = line:gsub("%-%-.*$", ""):gsub('"[^"]*"', '""'):gsub("'[^']*'", "''")
    -- the targets of an assignment: what stands left of a lone '='
    local lhs = code:match("^%s*([%w_%.,%s%[%]]-)%s*=[^=]")
    if lhs and not lhs:match("^%s*local%s") then
      for target in lhs:gmatch("[^,]+") do
        local field = target:match("[%w_%]]%.([%w_]+)%s*$")
        local owners = field and OWNERS[field]
        if owners then
          local mine = false
          for _, o in ipairs(owners) do mine = mine or o == mod end
          if not mine then
            print(("%s:%d: writes %s (owner: natrig.%s)"):format(path, ln, field, table.concat(owners, ", natrig.")))
            bad = bad + 1
          end
        end
      end
    end
  end
  f:close()
end
os.exit(bad == 0 and 0 or 1)
