--- natrig.engine: Engine operations on top of the raw C client (natrig.core.engine_open).
-- Every method waits through natrig.task, so called from tasks they run concurrently.
-- Errors are natrig.Error tables: { code, status, op, message }.
-- @module natrig.engine
local core = require "natrig.core"
local task = require "natrig.task"

local M = {}
local Engine = {}
Engine.__index = Engine
Engine.__name = "natrig.EngineClient"

-- What to do about common engine answers, appended to the engine's own message.
local hints = {
  [404] = "",
  [409] = " (a leftover from an earlier run? `natrig clean` removes stale natrig resources)",
}

-- The C client's words for a request the engine took and did not answer in time.
M.OVERLOADED = "(reachable, but overloaded)"
local function overloaded(ev) return ev.status == 0 and tostring(ev.error):find(M.OVERLOADED, 1, true) ~= nil end

-- own: the call's own time limit (opts.timeout), when it had one.
local function raise(op, what, ev, self, own)
  local msg = ev.error or "failed"
  local hint = hints[ev.status] or ""
  local code = ev.status ~= 0 and "engine" or "transport"
  if overloaded(ev) and own then
    -- a limit natrig chose for this call (a reading after a signal): not the user's to raise
    code = "overloaded"
    hint = (": too much work at once on this engine for this call's own limit of %g s"):format(own)
  elseif overloaded(ev) then
    -- a setup problem of this machine (exit 2), not a failure of the software under test
    code = "overloaded"
    hint = (": too much work at once on this engine; natrig now holds back to %d calls at once. Run "
      .. "fewer things at once (natrig sweep -j N), or raise NATRIG_ENGINE_TIMEOUT (seconds, now %g)")
      :format(self and self.limit or 0, M.timeout())
  end
  core.fail(code, what and (op .. " " .. what) or op, msg .. hint, ev.status)
end

--- Seconds an ordinary engine call may take: NATRIG_ENGINE_TIMEOUT, default 30 (the C
-- client reads the same variable, src/engine/ops.c).
-- @treturn number seconds
-- @usage print(require("natrig.engine").timeout())
function M.timeout()
  local s = core.getenv("NATRIG_ENGINE_TIMEOUT")
  if s == nil or s == "" then return 30 end
  local v = tonumber(s)
  if not v or v <= 0 or v > 86400 then
    core.fail("einval", "NATRIG_ENGINE_TIMEOUT", ("'%s' is not a number of seconds (0 < s <= 86400)"):format(s))
  end
  return v
end

-- Short calls (create, start, inspect, connect, remove...) share a pool of at most
-- NATRIG_ENGINE_CALLS (default 32) in flight per engine, so a 300-container bring-up
-- queues here instead of drowning the engine (seen: starts timing out after 30 s with
-- 300 at once on 2 cores). Calls that may last (exec, stop, restart, wait, uploads,
-- image builds) and streams (log follows, events) never wait for a slot, so neither can
-- starve the short ones.
local LONG = { exec_start = true, container_stop = true, container_restart = true,
  container_wait = true, container_logs = true, image_build = true, image_import = true,
  container_put_archive = true, container_get_archive = true }
M.LONG = LONG

-- Holding back (issue 22 item 7): like `natrig sweep`, which starts no new case while the
-- engine is slow, a run lowers its own pool when the engine is slow to answer: a short call
-- that took more than SLOW seconds halves the pool (down to LIMIT_MIN), and each call
-- answered within FAST seconds gives one slot back (up to the configured limit). A call the
-- engine did not answer in time (overloaded) halves it too, and a read (GET) is asked once
-- more, under the smaller pool, before natrig gives up.
M.SLOW, M.FAST, M.LIMIT_MIN = 5, 1, 4
local RETRY = { container_inspect = true, container_list = true, network_inspect = true, network_list = true,
  image_list = true, exec_inspect = true, info = true, ping = true, version = true }

function M.open(host)
  M.timeout() -- a bad NATRIG_ENGINE_TIMEOUT is refused, never ignored
  local raw = core.engine_open(host)
  task.add_engine(raw)
  local limit = tonumber(core.getenv("NATRIG_ENGINE_CALLS") or "") or 32
  return setmetatable({ raw = raw, busy = 0, waiters = {}, epoch = task.epoch(), limit = limit, max_limit = limit },
    Engine)
end

local function slower(self, why)
  if self.steady then return end -- teardown (natrig.teardown): its removals are long, not a sign
  local was = self.limit
  self.limit = math.max(M.LIMIT_MIN, math.floor(self.limit / 2))
  if self.limit < was and self.on_hold_back then self.on_hold_back(was, self.limit, why) end
end

-- After a short call of dt seconds: adapt the pool.
local function adapt(self, dt)
  if dt > M.SLOW then
    slower(self, ("a call took %.1fs"):format(dt))
  elseif dt < M.FAST and self.limit < self.max_limit then
    self.limit = self.limit + 1
  end
end

-- The pool is reset when the scheduler recovers from an abort (the calls it counted
-- were abandoned). first: this call waits ahead of the others (teardown's longest chain).
local function acquire(self, what, first)
  if self.epoch ~= task.epoch() then self.busy, self.waiters, self.epoch = 0, {}, task.epoch() end
  while self.busy >= self.limit do
    task.wait_for(function(wake) table.insert(self.waiters, first and 1 or #self.waiters + 1, wake) end,
      "a free engine call slot for " .. what)
    if self.epoch ~= task.epoch() then self.busy, self.waiters, self.epoch = 0, {}, task.epoch() end
  end
  self.busy = self.busy + 1
  return self.epoch
end

local function release(self, epoch)
  if epoch ~= self.epoch then return end
  self.busy = self.busy - 1
  -- Wake every waiter: a cancelled one never runs again, so handing the slot to one
  -- waiter could lose it; they re-check and the losers queue again.
  local ws = self.waiters
  self.waiters = {}
  for _, w in ipairs(ws) do w() end
end

function Engine:close()
  if self.raw then
    task.remove_engine(self.raw)
    self.raw:close()
    self.raw = nil
  end
end
Engine.__close = Engine.close
Engine.__gc = Engine.close

function Engine:__tostring() return tostring(self.raw) end

function Engine:info() return self.raw:info() end

--- Submit one operation and wait for it. Returns the completion event
-- ({status, body, out, err}); raises on error. `what` names the object for messages.
-- @tparam string op an operation of src/engine/ops.c's table ("container_inspect", ...)
-- @tparam[opt] table params its path and query parameters ({ id = ... })
-- @tparam[opt] table|string body a JSON body (a table) or a string
-- @tparam[opt] table opts { timeout = seconds, first = true: a free slot of the pool goes
-- to this call before the others waiting }
-- @tparam[opt] string what the object, for error messages
-- @treturn {status=integer,body=string,out=?string,err=?string}
-- @usage local ev = eng:call("ping"); print(ev.status, ev.body)
function Engine:call(op, params, body, opts, what)
  local desc = what and (op .. " " .. what) or op
  if LONG[op] then
    local id, drain = self.raw:submit(op, params, body, opts)
    local ev = task.await(id, desc, self.raw, drain)
    if ev.error then raise(op:gsub("_", " "), what, ev, self, opts and opts.timeout) end
    return ev
  end
  local first = opts and opts.first
  if first then opts = opts.timeout and { timeout = opts.timeout } or nil end
  for attempt = 1, 2 do
    local epoch = acquire(self, desc, first)
    local t0 = core.now()
    local ok, id, drain = pcall(self.raw.submit, self.raw, op, params, body, opts)
    if not ok then release(self, epoch) error(id, 0) end
    local aok, ev = pcall(task.await, id, desc, self.raw, drain)
    release(self, epoch)
    if not aok then error(ev, 0) end
    if not overloaded(ev) then adapt(self, core.now() - t0) end
    if overloaded(ev) then slower(self, "a call was not answered in time") end
    if not (overloaded(ev) and RETRY[op] and attempt == 1) then
      if ev.error then raise(op:gsub("_", " "), what, ev, self, opts and opts.timeout) end
      return ev
    end
  end
end

--- Like call, returning the decoded JSON body (or nil for an empty body).
-- @tparam string op
-- @tparam[opt] table params
-- @tparam[opt] table|string body
-- @tparam[opt] string what
-- @treturn ?table the decoded body
-- @usage local c = eng:json("container_inspect", { id = a.id }); print(c.State.Status)
function Engine:json(op, params, body, what)
  local ev = self:call(op, params, body, nil, what)
  if ev.body == "" then return nil end
  return (core.json_decode(ev.body))
end

-- system ----------------------------------------------------------------
function Engine:ping() return self:call("ping").body end
--- The engine's version document (GET /version).
-- @treturn table { Version, ApiVersion, Os, Arch, ... }
-- @usage print(natrig.engine():version().ApiVersion)
function Engine:version() return self:json("version") end
function Engine:system_info() return self:json("info") end

-- networks ----------------------------------------------------------------
-- spec: Docker's NetworkCreate JSON ({Name=, Driver=, Internal=, IPAM=, Labels=, Options=})
function Engine:network_create(spec)
  return self:json("network_create", nil, spec, spec.Name).Id
end
function Engine:network_connect(net, container, ipv4, aliases, ipv6)
  local ep = { Container = container }
  if ipv4 or aliases or ipv6 then
    ep.EndpointConfig = { IPAMConfig = (ipv4 or ipv6) and { IPv4Address = ipv4, IPv6Address = ipv6 } or nil,
      Aliases = aliases }
  end
  self:call("network_connect", { id = net }, ep, nil, net)
end
function Engine:network_disconnect(net, container, force, first)
  self:call("network_disconnect", { id = net }, { Container = container, Force = force or false },
    first and { first = true } or nil, net)
end
function Engine:network_inspect(id) return self:json("network_inspect", { id = id }, nil, id) end
function Engine:network_list(filters)
  return self:json("network_list", filters and { filters = filters } or nil) or {}
end
function Engine:network_remove(id) self:call("network_remove", { id = id }, nil, nil, id) end

-- containers ----------------------------------------------------------------
-- spec: Docker's ContainerCreate JSON. Returns the id.
function Engine:container_create(name, spec)
  return self:json("container_create", name and { name = name } or nil, spec, name or spec.Image).Id
end
function Engine:container_start(id) self:call("container_start", { id = id }, nil, nil, id) end
function Engine:container_stop(id, t)
  self:call("container_stop", { id = id, t = t or 10 }, nil, nil, id)
end
function Engine:container_kill(id, signal)
  self:call("container_kill", { id = id, signal = signal or "KILL" }, nil, nil, id)
end
function Engine:container_pause(id) self:call("container_pause", { id = id }, nil, nil, id) end
function Engine:container_unpause(id) self:call("container_unpause", { id = id }, nil, nil, id) end
function Engine:container_restart(id, t)
  self:call("container_restart", { id = id, t = t or 10 }, nil, nil, id)
end
--- Returns the exit code once the container is not running.
-- @tparam string id
-- @tparam[opt] string condition Docker's: "not-running" (default), "next-exit", "removed"
-- @treturn integer the exit code
-- @usage local code = eng:container_wait(a.id)
function Engine:container_wait(id, condition)
  local r = self:json("container_wait", { id = id, condition = condition or "not-running" }, nil, id)
  return r and r.StatusCode
end
function Engine:container_inspect(id) return self:json("container_inspect", { id = id }, nil, id) end
function Engine:container_remove(id, force, first)
  self:call("container_remove", { id = id, force = force ~= false, v = true }, nil,
    first and { first = true } or nil, id)
end
function Engine:container_list(filters, all)
  return self:json("container_list", { all = all ~= false, filters = filters }) or {}
end

--- Upload a tar (a string from natrig.core.tar) and unpack it at `path` in the container.
-- @tparam string id
-- @tparam string tar
-- @tparam string path
-- @usage eng:upload(a.id, require("natrig.core").tar{ { path = "x", data = "1\n" } }, "/tmp")
function Engine:upload(id, tar, path)
  self:call("container_put_archive", { id = id, path = path or "/" }, tar, nil, id)
end
--- Build the tar from entries ({path=, data=|file=, mode=}) and upload it.
-- @tparam string id
-- @tparam {table,...} entries
-- @tparam string path
-- @usage eng:put_files(a.id, { { path = "peer.conf", data = "x=1\n", mode = 420 } }, "/etc")
function Engine:put_files(id, entries, path)
  self:upload(id, core.tar(entries), path)
end

-- exec's options (name: what the timeline and errors call the target)
local EXEC_OPTS = { env = "table", user = "string", workdir = "string", privileged = "boolean",
  timeout = "number", check = "boolean", name = "string" }

--- Run argv in the container. Returns { code, stdout, stderr }.
-- opts: env = { "K=V" }, user, workdir, privileged, timeout (seconds), check (raise on non-zero).
-- @tparam string id a container id
-- @tparam {string,...} argv
-- @tparam[opt] table opts
-- @treturn {code=integer,stdout=string,stderr=string}
-- @usage local r = eng:exec(a.id, { "cat", "/etc/hostname" })
function Engine:exec(id, argv, opts)
  opts = core.check_options("exec", opts, EXEC_OPTS)
  if type(argv) ~= "table" or #argv == 0 then
    core.fail("einval", "exec", "argv must be a non-empty list of strings (natrig never runs shell strings)")
  end
  local spec = { Cmd = core.json_array(argv), AttachStdout = true, AttachStderr = true,
    Env = opts.env and core.json_array(opts.env) or nil, User = opts.user,
    WorkingDir = opts.workdir, Privileged = opts.privileged }
  local ex = self:json("exec_create", { id = id }, spec, id).Id
  local ev = self:call("exec_start", { id = ex }, { Detach = false, Tty = false },
    opts.timeout and { timeout = opts.timeout } or nil, id)
  local info = self:json("exec_inspect", { id = ex })
  local r = { code = info.ExitCode, stdout = ev.out, stderr = ev.err }
  if opts.check and r.code ~= 0 then
    core.fail("engine", "exec in " .. tostring(opts.name or id:sub(1, 12)),
      ("%s exited %s: %s"):format(table.concat(argv, " "), tostring(r.code),
        (r.stderr ~= "" and r.stderr or r.stdout):sub(1, 400)))
  end
  return r
end

--- Start argv in the container and return at once (a daemon: natrig-shaper).
-- @tparam string id
-- @tparam {string,...} argv
-- @treturn string the exec's id
-- @usage eng:exec_detached(a.holder, { "tcpdump", "-i", "eth0", "-w", "/tmp/x.pcap" })
function Engine:exec_detached(id, argv)
  local ex = self:json("exec_create", { id = id }, { Cmd = core.json_array(argv),
    AttachStdout = false, AttachStderr = false }, id).Id
  self:call("exec_start", { id = ex }, { Detach = true, Tty = false }, { mode = "buffer" }, id)
  return ex
end

--- Logs so far: stdout, stderr (demultiplexed). opts: since (unix seconds, fractional ok),
-- ["until"], timestamps (default true), tail.
-- @tparam string id
-- @tparam[opt] table opts
-- @treturn string stdout
-- @treturn string stderr
-- @usage local out, err = eng:logs(a.id, { tail = 20 })
function Engine:logs(id, opts)
  opts = opts or {}
  local p = { id = id, stdout = true, stderr = true, timestamps = opts.timestamps ~= false }
  if opts.since then p.since = string.format("%.9f", opts.since) end
  if opts["until"] then p["until"] = string.format("%.9f", opts["until"]) end
  if opts.tail then p.tail = tostring(opts.tail) end
  local ev = self:call("container_logs", p, nil, nil, id)
  return ev.out, ev.err
end

--- Follow logs: on_data(stdout_piece, stderr_piece) for each piece as it arrives,
-- on_end(err_or_nil) when the stream ends. Returns a function that stops following.
-- opts.follow = false: the stream ends with the log so far (a fetch of any size, in
-- pieces of bounded size, where `logs` returns it in one string).
-- opts.sink (a log store's st:sink, or core.count_sink()): the pieces go to it in C, never
-- into Lua strings, and on_data(ev) gets what they did instead (ev.bytes, ev.woken,
-- ev.seq, ev.spilled, ev.last_time: see l_logstore.c); timestamps must stay on.
-- @tparam string id
-- @tparam[opt] table opts since, follow, timestamps, sink
-- @tparam function on_data
-- @tparam function on_end
-- @treturn function stop
-- @usage local stop = eng:follow_logs(a.id, {}, function(o, e) io.write(o or "") end, function() end)
function Engine:follow_logs(id, opts, on_data, on_end)
  opts = opts or {}
  local p = { id = id, stdout = true, stderr = true, follow = opts.follow ~= false,
    timestamps = opts.timestamps ~= false }
  if opts.since then p.since = string.format("%.9f", opts.since) end
  if opts.tail then p.tail = tostring(opts.tail) end
  local rid = self.raw:submit("container_logs", p, nil, { mode = "stream" })
  local raw = self.raw
  if opts.sink then
    raw:sink(rid, opts.sink)
    task.on_events(rid, function(ev)
      if ev.bytes and (ev.bytes > 0 or ev.woken) then on_data(ev) end
      if ev.done and on_end then on_end(ev.error) end
    end)
  else
    task.on_events(rid, function(ev)
      if ev.out ~= "" or ev.err ~= "" then on_data(ev.out, ev.err) end
      if ev.done and on_end then on_end(ev.error) end
    end)
  end
  return function() task.forget(rid); if raw and self.raw then raw:cancel(rid) end end
end

-- images ----------------------------------------------------------------
-- The engine reports build/import failures inside a 200 stream of JSON lines.
local function stream_errors(text)
  for line in text:gmatch("[^\r\n]+") do
    local j = core.json_decode(line)
    if type(j) == "table" and (j.error or j.errorDetail) then
      return j.error or (j.errorDetail and j.errorDetail.message) or line
    end
  end
end

--- Import a rootfs tar as repo:tag (what `docker import` does; no registry needed).
-- @tparam string|table tar the tar, or { file = a host path } to send it from a file as it is read
-- @tparam string repo
-- @tparam string tag
-- @param[opt] changes Dockerfile instructions for the image (Docker's `changes` query: "CMD [...]")
-- @usage eng:image_import(rootfs_tar, "my/base", "1")
function Engine:image_import(tar, repo, tag, changes)
  local p = { fromSrc = "-", repo = repo, tag = tag }
  if changes then p.changes = changes end
  -- { file = path }: the tar is read from that host file as it is sent
  local file = type(tar) == "table" and tar.file or nil
  local ev = self:call("image_import", p, not file and tar or nil, file and { body_file = file } or nil,
    repo .. ":" .. tag)
  local e = stream_errors(ev.out)
  if e then core.fail("engine", "image import " .. repo .. ":" .. tag, e, ev.status) end
end

--- Build from a tar context holding a Dockerfile. labels: table.
-- @tparam string context_tar
-- @tparam string tag
-- @tparam[opt] table labels
-- @treturn string the engine's build output (a JSON stream)
-- @usage eng:image_build(require("natrig.core").tar{ { path = "Dockerfile", data = "FROM scratch\n" } }, "my/x:1")
function Engine:image_build(context_tar, tag, labels)
  local p = { t = tag, rm = true, forcerm = true, version = "1" }
  if labels then p.labels = labels end
  local ev = self:call("image_build", p, context_tar, nil, tag)
  local e = stream_errors(ev.out)
  if e then core.fail("engine", "image build " .. tag, e, ev.status) end
  return ev.out
end

--- Returns the inspect JSON, or nil when the image does not exist.
-- @tparam string ref
-- @treturn ?table
-- @usage if not eng:image_inspect("my/x:1") then ... end
function Engine:image_inspect(ref)
  local epoch = acquire(self, "image_inspect " .. ref)
  local id = self.raw:submit("image_inspect", { id = ref })
  local aok, ev = pcall(task.await, id, "image_inspect " .. ref, self.raw)
  release(self, epoch)
  if not aok then error(ev, 0) end
  if ev.status == 404 then return nil end
  if ev.error then raise("image inspect", ref, ev) end
  return core.json_decode(ev.body)
end
function Engine:image_remove(ref, force)
  self:call("image_remove", { id = ref, force = force or false }, nil, nil, ref)
end
function Engine:image_list(filters)
  return self:json("image_list", filters and { filters = filters } or nil) or {}
end

return M
