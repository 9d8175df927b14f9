-- tests/lua/listening.lua: what engine tests that start a listener in a node and then send to
-- it share: wait until the listener's socket is bound, not a sleep. An exec can take seconds
-- to start on a loaded machine (CI runs three engine files and the netns tests at once), so
-- a sender that starts after a fixed sleep may find nothing listening yet.
local natrig = require "natrig"

local M = { TIMEOUT = 15 }

-- Runs in the node's network holder (natrig's base image: busybox sh and awk, whatever the
-- app's image), which shares the node's network namespace and so its /proc/net. $1: seconds,
-- then "udp PORT" / "tcp PORT" pairs. A bound UDP socket is state 07, a listening TCP one
-- 0A; the local port is the hex after the last ':' of the second column, IPv4 or IPv6.
local SCRIPT = [[
end=$(( $(date +%s) + $1 )); shift
has() {
  for f in /proc/net/$1 /proc/net/${1}6; do
    [ -r "$f" ] || continue
    awk -v p="$(printf '%04X' "$2")" -v s="$3" \
      'NR > 1 && $4 == s && substr($2, length($2) - 3) == p { f = 1 } END { exit !f }' "$f" && return 0
  done
  return 1
}
while :; do
  miss=""
  set -- "$@" end
  while [ "$1" != end ]; do
    if [ "$1" = udp ]; then st=07; else st=0A; fi
    has "$1" "$2" "$st" || miss="$miss $1:$2"
    set -- "$@" "$1" "$2"; shift 2
  done
  shift
  [ -z "$miss" ] && exit 0
  if [ "$(date +%s)" -gt "$end" ]; then echo "not listening:$miss"; exit 1; fi
  sleep 0.05
done
]]

--- Wait until node listens on every socket of want ({ udp = port, tcp = port }, either or
-- both; a list of ports for several); raises, naming the node and each socket still missing,
-- after want.timeout seconds (default 15). Returns the seconds it waited.
function M.wait(node, want)
  local argv = { "sh", "-c", SCRIPT, "listening", tostring(want.timeout or M.TIMEOUT) }
  for _, proto in ipairs { "udp", "tcp" } do
    local ports = want[proto]
    for _, port in ipairs(type(ports) == "table" and ports or { ports }) do
      argv[#argv + 1], argv[#argv + 2] = proto, tostring(port)
    end
  end
  local t0 = natrig.monotonic()
  local r = node:netexec(argv, { quiet = true })
  if r.code ~= 0 then
    error(("%s: %s after %s s (its listener did not start in time, or exited)%s")
      :format(node.name, (r.stdout or ""):match("not listening:[^\n]*") or "readiness check failed",
        want.timeout or M.TIMEOUT, (r.stderr or "") ~= "" and (": " .. r.stderr) or ""), 0)
  end
  return natrig.monotonic() - t0
end

return M
