--- natrig.probe: what `natrig doctor` reports about impairment on this machine, found
-- by trying it in a throwaway container of natrig's own: can tc netem work here, can
-- NFQUEUE with natrig-shaper?
-- @module natrig.probe
local core = require "natrig.core"
local task = require "natrig.task"
local impair = require "natrig.impair"

local M = {}
local SHAPER = impair.SHAPER
--- What `natrig doctor` reports: can netem work here, can NFQUEUE + natrig-shaper?
-- @local
function M.probe(eng, image_ref)
  local s = require("natrig.session").new { engine = eng, scenario = "doctor" }
  local res = {}
  local ok, err = pcall(function()
    local id = eng:container_create(s:name("probe"), { Image = image_ref,
      Cmd = core.json_array { "sleep", "60" }, Labels = s:labels("probe"),
      HostConfig = { CapAdd = core.json_array { "NET_ADMIN", "NET_RAW" }, NetworkMode = "none", Init = true } })
    eng:container_start(id)
    local r = eng:exec(id, { "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms" })
    res.netem = r.code == 0
    res.netem_error = r.code ~= 0 and (r.stderr:gsub("%s+$", "")) or nil
    eng:exec_detached(id, { SHAPER, "run", "--queue", "7" })
    local ok2 = false
    for _ = 1, 50 do
      if eng:exec(id, { SHAPER, "ping" }).code == 0 then ok2 = true break end
      task.sleep(0.02)
    end
    local rr = eng:exec(id, { SHAPER, "rules", "up", "--dir", "egress" })
    res.nfqueue = ok2 and rr.code == 0
    res.nfqueue_error = not res.nfqueue and ((rr.stderr or "") .. (ok2 and "" or " natrig-shaper did not answer"))
      or nil
  end)
  s:teardown()
  if not ok then error(err, 0) end
  return res
end

return M
