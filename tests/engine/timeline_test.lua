-- One timeline (needs:engine): natrig's own actions (impair, partition, heal, kill, start,
-- exec with its exit code) are entries of net:timeline() and timeline.txt, between the
-- nodes' lines, in the order they happened, by one clock.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local core = natrig.core

local TICK = [[i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.1; done]]
local net = natrig.network { scenario = "timeline_test", quiet = true }
local ok, err = pcall(function()
  local a = net:gateway { name = "a", cmd = { "sh", "-c", TICK }, ready = { log = "tick 1" } }
  local b = net:peer { name = "b", cmd = { "sh", "-c", TICK }, ready = { log = "tick 1" } }
  net:up()
  local function tick_after(node)
    local last = node:logs { match = "^tick" }
    local n = tonumber(last[#last].message:match("tick (%d+)"))
    return node:wait_log { match = "tick " .. (n + 2), timeout = 5 }
  end
  tick_after(a)
  a:impair { delay = "20ms" }
  tick_after(a)
  net:partition(a, b)
  tick_after(b)
  net:heal()
  a:exec { "sh", "-c", "exit 3" }
  tick_after(a)
  b:kill()
  b:start()
  b:wait_log { match = "tick 3", since = core.time(), timeout = 5 }
  local tl = net:timeline()
  local pos, prev = {}, nil
  local ordered = true
  for i, e in ipairs(tl) do
    if e.node == "natrig" then
      local kind = e.message:match("^(%S+)")
      pos[kind] = pos[kind] or i
    end
    local when = require("natrig.logs").when(e)
    if prev and when < prev then ordered = false end
    prev = when
  end
  t.ok(ordered, "the timeline is ordered by one clock")
  for _, k in ipairs { "up", "impair", "partition", "heal", "exec", "kill", "start" } do
    t.ok(pos[k] ~= nil, "natrig's action '" .. k .. "' is in the timeline")
  end
  t.ok(pos.up < pos.impair and pos.impair < pos.partition and pos.partition < pos.heal
    and pos.heal < pos.kill and pos.kill < pos.start, "in the order they were done")
  -- node lines between the actions: a tick of a between impair and partition
  local between = false
  for i = (pos.impair or 1) + 1, (pos.partition or 1) - 1 do
    if tl[i].node == "a" and tl[i].message:match("^tick") then between = true end
  end
  t.ok(between, "the nodes' lines sit between natrig's actions")
  local ex
  for _, e in ipairs(tl) do if e.node == "natrig" and e.message:match("^exec in a: sh %-c exit 3") then ex = e end end
  t.ok(ex and ex.message:match("%-> 3$"), "an exec is recorded with its exit code: " .. tostring(ex and ex.message))
  local dir = net:artifacts_dir() .. "-tl"
  net:write_artifacts(dir)
  local text = core.read_file(dir .. "/timeline.txt") or ""
  t.like(text, "natrig partition {a} | {b}", "timeline.txt holds natrig's actions")
  local ip, it = text:find("natrig impair a delay=20ms", 1, true),
    text:find(" a tick", (text:find("natrig impair a", 1, true) or 1), true) -- each line: time node text
  t.ok(ip and it and it > ip, "and the nodes' lines after them")
end)
t.ok(ok, "no error: " .. tostring(err))
net:down()
t.done()
