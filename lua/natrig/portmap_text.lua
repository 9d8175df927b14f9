--- natrig.portmap_text: the files natrig.portmap writes into a router (miniupnpd's config,
-- its nftables table, the protocol switches, the start script, the readiness wait, the lease
-- cap). Pure: text from the router's addresses and the portmap settings.
-- @module natrig.portmap_text
local core = require "natrig.core"

local M = {}

M.HTTP_PORT = 2869
M.TABLE = "natrig_pm"
M.CONF, M.NFT, M.RUN = "/etc/natrig/pm.conf", "/etc/natrig/pm.nft", "/etc/natrig/pm-run.sh"
M.LOG, M.LEASES = "/var/log/natrig-portmap.log", "/var/lib/natrig-portmap.leases"
M.CAP, M.CTL = "/etc/natrig/pm-cap.sh", "/etc/natrig/pm-ctl.sh"
local CONF, LOG, LEASES = M.CONF, M.LOG, M.LEASES

function M.conf_text(r, pm, wan_dev, lan_dev)
  local l = {
    "# written by natrig (lua/natrig/portmap.lua)",
    "ext_ifname=" .. wan_dev, "listening_ip=" .. lan_dev, "http_port=" .. M.HTTP_PORT,
    "enable_upnp=yes", "enable_natpmp=yes", "secure_mode=no", "system_uptime=no",
    "ext_perform_stun=yes", "ext_stun_host=127.0.0.1", "ext_stun_port=3478",
    "lease_file=" .. LEASES, "notify_interval=60",
    "upnp_table_name=" .. M.TABLE, "upnp_nat_table_name=" .. M.TABLE,
    "upnp_forward_chain=miniupnpd", "upnp_nat_chain=prerouting_miniupnpd",
    "upnp_nat_postrouting_chain=postrouting_miniupnpd",
    "uuid=" .. core.hash(r.name .. (r.id or "")):sub(1, 8) .. "-4e41-5452-4947-" .. core.hash(r.name):sub(1, 12),
    "friendly_name=natrig " .. r.name, "model_name=natrig router (miniupnpd)",
  }
  if pm.max_lease and pm.max_lease > 120 then l[#l + 1] = "max_lifetime=" .. pm.max_lease end
  if pm.deny then
    -- allowed for no LAN host. (A bare deny-all makes miniupnpd 2.3.1 log each of the
    -- 65536 ports at start, and it answers nothing for seconds.)
    l[#l + 1] = "allow 1-65535 127.0.0.1/32 1-65535"
    l[#l + 1] = "deny 0-65535 0.0.0.0/0 0-65535"
  else
    l[#l + 1] = ("allow 1-65535 %s 1-65535"):format(r.lan.subnet)
    l[#l + 1] = "deny 0-65535 0.0.0.0/0 0-65535"
  end
  return table.concat(l, "\n") .. "\n"
end

-- the protocol switches: input from the LAN (and SSDP out) for what is off
function M.switch_rules(pm)
  local l = { "flush chain inet " .. M.TABLE .. " lan_in", "flush chain inet " .. M.TABLE .. " lan_out" }
  local function add(chain, rule) l[#l + 1] = ("add rule inet %s %s %s"):format(M.TABLE, chain, rule) end
  add("lan_in", "fib saddr type local accept") -- the router's own lease cap (pm-cap.sh)
  if not pm.protocols.upnp then
    add("lan_in", "udp dport 1900 counter drop")
    add("lan_in", "tcp dport " .. M.HTTP_PORT .. " counter drop")
    add("lan_out", "udp dport 1900 counter drop")
  end
  if not pm.protocols.natpmp then add("lan_in", "udp dport 5351 @ih,0,8 0 counter drop") end
  if not pm.protocols.pcp then add("lan_in", "udp dport 5351 @ih,0,8 2 counter drop") end
  return table.concat(l, "\n") .. "\n"
end

function M.nft_text(pm)
  local t = M.TABLE
  return ([[
# miniupnpd's tables (natrig, lua/natrig/portmap.lua); natrig's own NAT is table ip natrig
table inet %s {}
delete table inet %s
table inet %s {
	chain forward { type filter hook forward priority -5; policy accept; jump miniupnpd; }
	chain miniupnpd { }
	chain prerouting { type nat hook prerouting priority -101; policy accept; jump prerouting_miniupnpd; }
	chain prerouting_miniupnpd { }
	chain postrouting { type nat hook postrouting priority 99; policy accept; jump postrouting_miniupnpd; }
	chain postrouting_miniupnpd { }
	chain lan_in { type filter hook input priority -5; policy accept; }
	chain lan_out { type filter hook output priority -5; policy accept; }
}
]]):format(t, t, t) .. M.switch_rules(pm)
end

-- Started detached, one per (re)start: by the router's boot (mode boot: each start of the
-- container, whose boot loaded miniupnpd's table with natrig's NAT rules, natrig.nat.boot;
-- the leases are dropped) or by the control script (mode keep: a fault that restarts it).
-- Finds the WAN and LAN interfaces by address (names are not stable), starts the reflector (miniupnpd
-- asks it once, at start), then miniupnpd in the foreground (-d: logs on stderr), each log
-- line stamped with the kernel's uptime after a line "natrig-pm start TOKEN". The
-- permission check's lines are left out: refusing a NAT-PMP request makes miniupnpd try
-- every other port, one debug line each (65535 of them).
function M.run_text(r, ext, cgn)
  return ([[#!/bin/sh
# written by natrig (lua/natrig/portmap.lua): miniupnpd and its STUN reflector. It runs in
# every portmap router's bring-up, so it starts few processes (shell builtins where they do).
mode=$1 token=$2 ready=/var/lib/natrig-pm.ready.$2 refl=/var/lib/natrig-pm.reflect
[ -d /var/lib ] && [ -d /var/log ] || mkdir -p /var/log /var/lib
[ -e $refl ] && rm -f $refl
[ "$mode" = boot ] && [ -e %s ] && rm -f %s
# a start of the container runs the same processes in the same order as the one before, so
# miniupnpd gets the PID its stale pid file names, and exits as "already running"
[ "$mode" = boot ] && [ -e /var/run/miniupnpd.pid ] && rm -f /var/run/miniupnpd.pid
# the reflector first: it listens by the time miniupnpd asks it (once, at its start)
/usr/local/bin/natrig-peer stun-reflect --listen 127.0.0.1:3478 --ext %s --port-shift %d > $refl 2>&1 &
rpid=$!
stamp() { awk -v ready=$ready '
  /UPnP permission rule [0-9]+ matched/ { next }
  { getline up < "/proc/uptime"; close("/proc/uptime"); split(up, u, " "); print u[1], $0; fflush() }
  /Listening for NAT-PMP/ { print "ok" > ready; close(ready) }' >> %s; }
fail() { kill $rpid; echo "natrig-pm: $1" | stamp; echo fail > $ready; exit 1; }
# the WAN and LAN interfaces by address (names are not stable), in one pass
wan= lan=
for a in $(ip -o -4 addr show | awk -v w=%s -v l=%s '{ split($4, p, "/"); sub(/@.*/, "", $2) }
  p[1] == w { print "w=" $2 } p[1] == l { print "l=" $2 }'); do
  case $a in w=*) wan=${a#w=} ;; l=*) lan=${a#l=} ;; esac
done
read up idle < /proc/uptime
echo "$up natrig-pm start $token wan=$wan lan=$lan" >> %s
[ -n "$wan" ] && [ -n "$lan" ] || fail "WAN or LAN interface not found by address"
# the config with the interfaces' names, by the shell's own substitution (no sed process)
conf=
while IFS= read -r l || [ -n "$l" ]; do l=${l//@WAN@/$wan}; conf="$conf${l//@LAN@/$lan}
"; done < %s.in
printf %%s "$conf" > %s
i=0
while [ ! -s $refl ] && [ $i -lt 200 ]; do usleep 10000; i=$((i+1)); done
/usr/sbin/miniupnpd -f %s -d 2>&1 | stamp
]]):format(LEASES, LEASES, ext, cgn and 1 or 0, LOG, r.wan_ip, r.lan_ip, LOG, CONF, CONF, CONF)
end

-- miniupnpd's hook in the router's boot (natrig.nat.boot: /etc/natrig/boot.d/portmap), run
-- at each start of the container with the start's number N: the run script under the token
-- bN, its leases dropped (a restart loses every mapping).
function M.boot_hook_text()
  return ("#!/bin/sh\n# written by natrig (lua/natrig/portmap.lua)\nexec /bin/sh %s boot b$1\n"):format(M.RUN)
end

M.READY_MARK = "@@natrig-pm-ready@@"

-- The control script (one file, run as argv { "/bin/sh", CTL, command, ... }):
--   start MODE TOKEN  the run script in the background, then as wait TOKEN (one exec, not two)
--   verify TOKEN ARGV...  as wait TOKEN, then a line READY_MARK, then runs ARGV (natrig's NAT
--               listing); exits with ARGV's status (readiness rides on an exec bring-up makes anyway)
--   wait TOKEN  until the section after "natrig-pm start TOKEN" says miniupnpd listens (or
--               fails), at most 10 s; prints the router's uptime and how many 20 ms waits
--               that took (0: already listening), then that section
--   stop        miniupnpd and the reflector, waiting until miniupnpd is gone
--   capoff      the lease cap loop
--   log         the stamped log;   leases  the lease file, then the router's clock (date +%s)
--   diag        lease file, miniupnpd's nftables table, the end of the log
function M.ctl_text()
  return ([[#!/bin/sh
# written by natrig (lua/natrig/portmap.lua)
log=%s leases=%s
ready() {
  i=0
  while [ ! -s /var/lib/natrig-pm.ready.$1 ] && [ $i -lt 500 ]; do usleep 20000; i=$((i+1)); done
  read up idle < /proc/uptime; echo "$up $idle waited $i"
  awk -v t="natrig-pm start $1 " 'index($0, t) { on = 1 } on { print }' $log
}
case "$1" in
start)
  # one exec starts the run script (detached: its output closed) and waits for it
  /bin/sh %s "$2" "$3" </dev/null >/dev/null 2>&1 &
  ready "$3" ;;
wait) ready "$2" ;;
verify)
  # the wait first, then the listing (natrig.nat checks miniupnpd's start before the rules)
  t=$2; shift 2
  ready "$t"
  echo %s
  "$@" ;;
stop)
  for p in $(pidof miniupnpd) $(pidof natrig-peer); do kill $p; done
  i=0; while pidof miniupnpd >/dev/null && [ $i -lt 100 ]; do usleep 20000; i=$((i+1)); done ;;
capoff) for p in $(pgrep -f %s); do [ "$p" != $$ ] && kill $p; done; true ;;
log) cat $log 2>/dev/null; true ;;
leases) cat $leases 2>/dev/null; date +%%s ;;
diag)
  echo "## $leases"; cat $leases 2>/dev/null
  echo "## nft list table inet %s"; nft list table inet %s
  echo "## $log (last 60 lines)"; tail -n 60 $log ;;
esac
]]):format(M.LOG, M.LEASES, M.RUN, M.READY_MARK, M.CAP, M.TABLE, M.TABLE)
end

-- The lease cap: a mapping whose expiry lies beyond now + max_lease (or none) is granted
-- again, from the router itself over UPnP, with max_lease; miniupnpd then expires it. (The
-- port is unmapped for the few milliseconds between the delete and the add.)
function M.cap_text(r, max_lease)
  return ([[#!/bin/sh
# written by natrig (lua/natrig/portmap.lua): cap every lease at %d s
url=http://%s:%d/rootDesc.xml
while :; do
  now=$(date +%%s)
  if [ -f %s ]; then
    while IFS=: read -r p e ia ip exp desc; do
      if [ "$exp" = 0 ] || [ "$exp" -gt $((now + %d + 1)) ]; then
        # delete, then add: miniupnpd 2.3.1 never expires a mapping whose lease an update set
        upnpc -u $url -d "$e" "$p" >/dev/null 2>&1
        upnpc -u $url -e "${desc:-capped}" -a "$ia" "$ip" "$e" "$p" %d >/dev/null 2>&1
      fi
    done < %s
  fi
  usleep 200000
done
]]):format(max_lease, r.lan_ip, M.HTTP_PORT, LEASES, max_lease, max_lease, LEASES)
end

return M
