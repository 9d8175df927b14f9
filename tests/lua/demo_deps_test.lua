-- make demo installs what a run needs and nothing for tests (issue 28): the Makefile's own
-- deps steps, as `make -n demo` prints them for a fresh build directory, run by sh with
-- shims for apt-get, dpkg-query, flock and id (no package manager runs, nothing is
-- installed). Checked: one apt-get install of the build and runtime lists together,
-- without Recommends, no package of the test list; apt-get update skipped when a package
-- list is less than a day old, run when there is none, and run before a second try when
-- the install fails; a user who is not root gets the command to type; the build takes a
-- job per core. Pure: no engine, about a second.
local t = require "tap"
local core = require("natrig").core

local function run(argv, what)
  local code, out, err = core.run(argv, 60)
  if code ~= 0 and what ~= "may fail" then
    error(("%s exited %d: %s%s"):format(table.concat(argv, " "), code, out, err), 0)
  end
  return out, code, err
end

local function words(s)
  local l, set = {}, {}
  for w in (s or ""):gmatch("%S+") do l[#l + 1] = w; set[w] = true end
  return l, set
end

-- The lists, as the Makefile declares them.
local lists = run { "make", "-s", "--no-print-directory", "deps-list" }
local build, build_set = words(lists:match("\nbuild: ([^\n]*)") or lists:match("^build: ([^\n]*)"))
local runtime, run_set = words(lists:match("\nrun: ([^\n]*)"))
local test_l, test_set = words(lists:match("\ntest: ([^\n]*)"))
t.ok(#build > 0 and #runtime > 0 and #test_l > 0, "make deps-list names build, run and test packages")
local both = {}
for _, p in ipairs(test_l) do if build_set[p] or run_set[p] then both[#both + 1] = p end end
t.is(table.concat(both, " "), "", "no test package is in the build or runtime list")

local tmp = run({ "mktemp", "-d", "/tmp/natrig-demo-deps.XXXXXX" }):match("^(%S+)")
local shim = tmp .. "/shim"
run { "mkdir", "-p", shim, tmp .. "/lists" }
local function write(path, text, mode)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  if mode then run { "chmod", mode, path } end
end
-- apt-get: each call a line in calls; `install` records its packages as installed (or
-- fails once when fail-once exists). dpkg-query: installed = what apt-get installed.
write(shim .. "/apt-get", ([[#!/bin/sh
echo "$*" >>%s/calls
[ "$1" = install ] || exit 0
if [ -e %s/fail-once ]; then rm -f %s/fail-once; echo "E: 404 Not Found" >&2; exit 100; fi
for a in "$@"; do case $a in -*|install) ;; *) echo "$a" >>%s/installed ;; esac; done
]]):format(tmp, tmp, tmp, tmp), "755")
write(shim .. "/dpkg-query", ([[#!/bin/sh
rc=0
for p in "$@"; do
  case $p in -*) continue ;; esac
  if grep -qx "$p" %s/installed 2>/dev/null; then echo "$p install ok installed"
  else echo "dpkg-query: no packages found matching $p" >&2; rc=1; fi
done
exit $rc
]]):format(tmp), "755")
write(shim .. "/flock", "#!/bin/sh\nshift\nexec \"$@\"\n", "755")
write(shim .. "/id", "#!/bin/sh\ncat " .. tmp .. "/uid\n", "755")

-- What `make demo` runs on a fresh tree: its deps steps are the lines that ask dpkg-query.
local plan = run { "make", "-n", "--no-print-directory", "demo", "B=" .. tmp .. "/b", "APT_LISTS=" .. tmp .. "/lists" }
local steps, first_cc, first_step, n = {}, nil, nil, 0
for line in plan:gmatch("[^\n]+") do
  n = n + 1
  if line:find("dpkg-query", 1, true) then steps[#steps + 1] = line; first_step = first_step or n end
  if not first_cc and line:find("  CC  ", 1, true) then first_cc = n end
end
t.ok(#steps >= 1, "make -n demo shows its package steps (" .. #steps .. ")")
t.ok(first_step and first_cc and first_step < first_cc, "packages are checked before anything compiles")
t.ok(not plan:find("tests/unit/", 1, true), "make demo builds no unit test")

-- Run the steps on a "fresh machine" (nothing installed); returns apt-get's calls and output.
local function fresh(uid, lists_age, fail_once)
  run { "rm", "-f", tmp .. "/calls", tmp .. "/installed", tmp .. "/fail-once", tmp .. "/lists/x_Packages" }
  write(tmp .. "/uid", uid .. "\n")
  if lists_age then
    write(tmp .. "/lists/x_Packages", "")
    run { "touch", "-d", lists_age, tmp .. "/lists/x_Packages" }
  end
  if fail_once then write(tmp .. "/fail-once", "") end
  local out, code = "", 0
  for _, s in ipairs(steps) do
    local o, c, e = run({ "/usr/bin/env", "PATH=" .. shim .. ":/usr/bin:/bin", "sh", "-c", s }, "may fail")
    out, code = out .. o .. e, c
    if c ~= 0 then break end
  end
  local calls = {}
  local f = io.open(tmp .. "/calls")
  if f then for l in f:lines() do calls[#calls + 1] = l end f:close() end
  return calls, out, code
end

-- the calls' first words: "update | install"
local function kinds(calls)
  local l = {}
  for _, c in ipairs(calls) do l[#l + 1] = c:match("^%S+") end
  return table.concat(l, " | ")
end

local function installs(calls)
  local l = {}
  for _, c in ipairs(calls) do if c:match("^install ") then l[#l + 1] = c end end
  return l
end

-- lists from an hour ago: no update, one install of exactly build + runtime
local calls, out, code = fresh("0", "1 hour ago")
t.is(code, 0, "the deps steps pass on a fresh machine (root)")
local inst = installs(calls)
t.is(#inst, 1, "one apt-get install for the build and runtime packages together")
t.is(#calls, 1, "no apt-get update when the lists are an hour old")
local got, got_set = words(((inst[1] or ""):gsub("%s%-%S+", " "):gsub("^install", "")))
local missing_pkgs, extra, tests_in = {}, {}, {}
for _, p in ipairs(build) do if not got_set[p] then missing_pkgs[#missing_pkgs + 1] = p end end
for _, p in ipairs(runtime) do if not got_set[p] then missing_pkgs[#missing_pkgs + 1] = p end end
for _, p in ipairs(got) do
  if not (build_set[p] or run_set[p]) then extra[#extra + 1] = p end
  if test_set[p] then tests_in[#tests_in + 1] = p end
end
t.is(table.concat(missing_pkgs, " "), "", "every build and runtime package is installed")
t.is(table.concat(tests_in, " "), "", "make demo installs no test package")
t.is(table.concat(extra, " "), "", "nor anything else")
t.like(inst[1] or "", "%-%-no%-install%-recommends", "without Recommends")
t.like(out, "deps %(build and runtime%): installed in %d+ s", "it says what it installed and how long it took")

calls = fresh("0", "2 days ago")
t.is(kinds(calls), "update | install",
  "lists two days old: apt-get update first")
calls = fresh("0", nil)
t.is(kinds(calls), "update | install",
  "no lists at all: apt-get update first")
calls, out, code = fresh("0", "1 hour ago", true)
t.is(code, 0, "an install that fails with the lists as they were passes after an update")
t.is(kinds(calls), "install | update | install",
  "the failed install is followed by apt-get update and one more try")
t.like(out, "failed with the lists as they were; apt%-get update", "and it says so")

calls, out, code = fresh("1000", "1 hour ago")
t.is(code, 1, "not root: make demo stops")
t.is(#calls, 0, "not root: no apt-get")
t.like(out, "run: sudo apt%-get install %-y %-%-no%-install%-recommends lua5%.4 ", "not root: the command to type")

-- a job per core for the build (make 4.3 takes -j added to MAKEFLAGS in the Makefile)
local function makeflags(...)
  local db = run { "make", "-n", "-p", "--no-print-directory", "demo", "B=" .. tmp .. "/b",
    "APT_LISTS=" .. tmp .. "/lists", ... }
  return db:match("\nMAKEFLAGS = ([^\n]*)") or ""
end
local nproc = run({ "nproc" }):match("%d+")
t.like(makeflags(), "%-j" .. nproc .. "%f[%D]", "make demo builds with -j" .. nproc .. " (nproc)")
t.like(makeflags("-j3"), "%-j3%f[%D]", "make -j3 demo keeps the user's -j3")

run { "rm", "-rf", tmp }
t.done()
