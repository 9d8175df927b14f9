-- tools/man.lua: natrig(1), the man page, written to stdout from the commands' own
-- declarations (natrig.cli's list; each natrig.cmd.<name>'s usage, summary and --help
-- text), so it says what `natrig COMMAND --help` says. Run: natrig lua tools/man.lua
-- (make install does, into $(B)/natrig.1).
local cli = require "natrig.cli"
local core = require "natrig.core"

local function esc(s)
  s = s:gsub("\\", "\\e"):gsub("%-", "\\-")
  return (s:gsub("\n([.'])", "\n\\&%1"):gsub("^([.'])", "\\&%1"))
end

local out = {}
local function w(s) out[#out + 1] = s end
w(('.TH NATRIG 1 "" "natrig %s" "natrig manual"'):format(core.version))
w(".SH NAME")
w("natrig \\- run peer-to-peer software behind emulated NAT routers on the local Docker Engine")
w(".SH SYNOPSIS")
w(".B natrig")
w(".I COMMAND")
w("[ARGS]")
w(".br")
w(".B natrig")
w(".I COMMAND")
w("\\-\\-help")
w(".SH DESCRIPTION")
w("natrig reproduces, on one machine, the bugs of peer-to-peer software that only show when")
w("peers sit on different networks behind NAT routers, with real latency and loss. A scenario")
w("is a Lua script that builds a network of NAT routers and peers, starts real programs,")
w("changes the network mid-run and asserts on parsed logs.")
w("Every command takes \\-\\-help (or \\-h): what follows is the same text.")
w(".SH COMMANDS")
for _, name in ipairs(cli.COMMANDS) do
  local c = cli.command(name)
  w((".SS natrig %s %s"):format(c.name, esc(c.args)))
  w(esc(c.summary) .. ".")
  if c.help then
    w(".PP")
    w(".nf")
    w(esc((c.help:gsub("\n+$", ""))))
    w(".fi")
  end
end
w(".SH EXIT STATUS")
w("0 success (a scenario passed), 1 a scenario failed, 2 usage or set\\-up error, 128+N after")
w("signal N.")
w(".SH FILES")
w("\\&./natrig\\-artifacts/ (a failed run's logs, diagnostics, timeline, pcaps);")
w("$XDG_STATE_HOME/natrig/kept (runs kept with NATRIG_KEEP=1); $XDG_STATE_HOME/natrig/history")
w("(the REPL's history).")
w(".SH SEE ALSO")
w("README.md in natrig's source; the Lua API reference (make doc).")
io.stdout:write(table.concat(out, "\n"), "\n")
