--- The fake engine's harness for tests/fake (tests/fake/engine.py, a small HTTP server on a
-- unix socket): where it listens (DOCKER_HOST=unix://<dir>/engine.sock as run-all sets it,
-- else a directory of this process's own), starting one with its rules and waiting until it
-- is ready, stopping it, and reading its request log (one JSON record a line).
local core = require("natrig").core

local M = {}

local host = core.getenv("DOCKER_HOST") or ""
local sock = host:match("^unix://(.+/engine%.sock)$")
if sock then
  M.dir = sock:match("^(.*)/[^/]+$")
else
  M.dir = ("/tmp/natrig-fake-%d"):format(core.pid())
  core.mkdir_p(M.dir)
  sock = M.dir .. "/engine.sock"
end
M.sock, M.host = sock, "unix://" .. sock

--- The records of a request log.
function M.read_log(path)
  local recs = {}
  for line in (core.read_file(path) or ""):gmatch("[^\n]+") do recs[#recs + 1] = core.json_decode(line) end
  return recs
end

local cases = 0
--- A fresh fake with these rules (see engine.py for their format), ready to answer (10 s at
-- most): { proc = , log = }. name: the log's and output's prefix in M.dir.
function M.start(rules, name)
  cases = cases + 1
  local log = ("%s/%s-%d.jsonl"):format(M.dir, name, cases)
  core.remove(log)
  local proc = core.spawn({ "python3", "tests/fake/engine.py", sock, log, core.json_encode(core.json_array(rules)) },
    { stdout = ("%s/%s.out"):format(M.dir, name), stderr = "stdout" })
  local deadline = core.now() + 10
  while core.now() < deadline do
    local first = M.read_log(log)[1]
    if first and first.ready and core.stat(sock) then break end
    core.sleep(0.02)
  end
  return { proc = proc, log = log }
end

--- Stop a fake M.start started.
function M.stop(f)
  f.proc:kill(15)
  f.proc:wait()
end

return M
