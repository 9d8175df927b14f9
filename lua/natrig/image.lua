-- natrig.image: images built locally, with no registry and no network at run time.
-- The base image is a rootfs packed from this host's own binaries (busybox-static as the
-- shell, iptables/nft/ip/tc/conntrack/socat/coturn/dnsmasq/tayga/unbound, natrig-peer, natrig-shaper) plus
-- their shared-library closure found with ldd, imported with POST /images/create. The
-- libraries are the host's own, so a host binary copied into a container always finds
-- the glibc it was linked against. The tag carries a hash of the inputs (paths, sizes,
-- mtimes, the dpkg database), so the image is rebuilt only when an input changes.
local core = require "natrig.core"

local M = {}

M.REPO = "natrig/base"
local FORMAT = "natrig-base-3" -- bump when the image layout changes

local SEARCH = { "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin" }

-- Host programs packed into the base image: name -> required?
M.PROGRAMS = {
  { "xtables-nft-multi", true }, { "xtables-legacy-multi", true }, { "nft", true },
  { "ip", true }, { "tc", true }, { "conntrack", true }, { "socat", false },
  { "turnserver", false }, { "turnutils_natdiscovery", false }, { "turnutils_uclient", false },
  { "tcpdump", false }, { "dnsmasq", true }, -- dnsmasq: the sealed lab's resolver (natrig.seal)
  -- port mapping (natrig.portmap): the router's daemon, and Debian's clients for peers
  { "miniupnpd", false }, { "upnpc", false }, { "natpmpc", false },
  -- NAT64/DNS64 in a router (natrig.nat64): Debian's userspace translator and resolver
  { "tayga", false }, { "unbound", false },
}
M.DIRS = { "/usr/lib/x86_64-linux-gnu/xtables", "/usr/lib/x86_64-linux-gnu/tc" }
M.ETC = { "/etc/ethertypes", "/etc/protocols", "/etc/services" }
M.BUSYBOX_APPLETS = { "sh", "ash", "cat", "ls", "sleep", "echo", "ps", "grep", "sed", "awk",
  "head", "tail", "mkdir", "rm", "cp", "mv", "env", "wc", "printf", "true", "false", "date",
  "hostname", "kill", "cut", "tr", "sort", "uniq", "tee", "touch", "id", "uname", "find",
  "xargs", "seq", "timeout", "nc", "ping", "stat", "ln", "chmod", "pidof", "pkill", "pgrep",
  "test", "[", "expr", "basename", "dirname", "readlink", "du", "df", "free", "top", "vi",
  "less", "more", "nslookup", "hexdump", "od", "md5sum", "sha256sum", "base64", "tar",
  "gzip", "gunzip", "watch", "usleep", "nohup", "mktemp", "realpath", "which", "printenv",
  "netstat", "ifconfig", "route", "arp", "traceroute", "nproc", "yes", "diff", "cmp", "sync" }
M.XTABLES_LINKS = {
  ["xtables-nft-multi"] = { "iptables", "iptables-save", "iptables-restore", "ip6tables",
    "iptables-nft", "iptables-nft-save", "iptables-nft-restore" },
  ["xtables-legacy-multi"] = { "iptables-legacy", "iptables-legacy-save",
    "iptables-legacy-restore" },
}

local function which(name)
  if name:find("/", 1, true) then return core.stat(name) and name end
  for _, d in ipairs(SEARCH) do
    local p = d .. "/" .. name
    local st = core.stat(p)
    if st and (st.type == "file" or st.type == "link") then return p end
  end
end
M.which = which

-- Parse `ldd` output into the list of library paths it names (the ELF interpreter,
-- printed without "=>", included). Pure; unit-tested.
function M.parse_ldd(text)
  local libs = {}
  for line in text:gmatch("[^\n]+") do
    local path = line:match("=>%s*(/%S+)") or line:match("^%s*(/%S+)%s+%(")
    if path then libs[#libs + 1] = path end
  end
  return libs
end

-- A path as it lies on a usr-merged host: /lib/x -> /usr/lib/x, so every file lands once.
local merged = {}
local function canonical(path)
  local top, rest = path:match("^/([^/]+)(/.*)$")
  if top and merged[top] == nil then
    local st = core.stat("/" .. top)
    merged[top] = st and st.type == "link" and st.target or false
  end
  if top and merged[top] then
    local t = merged[top]
    return (t:sub(1, 1) == "/" and t or "/" .. t) .. rest
  end
  return path
end
M.canonical = canonical

-- One ldd for up to 50 files (core.run takes 63 argv strings): ldd is a shell script, and
-- once per file it was most of a base image build (138 files: 6.2 s under load, 1.4 s
-- batched). Its output names each file ("path:") before that file's libraries, which
-- parse_ldd skips; a static file is "not a dynamic executable" on stderr, not an error.
local LDD_BATCH = 50
local function closure(paths)
  local seen, list = {}, {}
  for i = 1, #paths, LDD_BATCH do
    local argv = { "ldd" }
    for j = i, math.min(i + LDD_BATCH - 1, #paths) do argv[#argv + 1] = paths[j] end
    local code, out, err = core.run(argv, 30)
    local other = err:gsub("[^\n]*not a dynamic executable[^\n]*", "")
    if code ~= 0 and (other:find("%S") or other == err) then
      error(core.error { code = "sys", op = "image build", status = 0,
        message = ("ldd %s failed (exit %d): %s"):format(table.concat(argv, " ", 2), code, err) }, 0)
    end
    for _, lib in ipairs(M.parse_ldd(out)) do
      local c = canonical(lib)
      if not seen[c] then seen[c] = true; list[#list + 1] = { path = c, src = lib } end
    end
  end
  return list
end
M.closure = closure

-- Everything that goes into the base image, as resolved host paths.
function M.inputs()
  local libexec = core.libexec_dir()
  local inp = { programs = {}, files = {}, own = {} }
  local bb = which("busybox")
  if not bb then
    error(core.error { code = "einval", op = "image build", status = 0,
      message = "busybox not found: apt-get install busybox-static" }, 0)
  end
  inp.busybox = bb
  for _, p in ipairs(M.PROGRAMS) do
    local path = which(p[1])
    if path then inp.programs[#inp.programs + 1] = { name = p[1], path = path }
    elseif p[2] then
      error(core.error { code = "einval", op = "image build", status = 0,
        message = ("'%s' not found on this host: run `make deps` (installs iptables, nftables, " ..
          "iproute2, conntrack, coturn, socat, dnsmasq-base)"):format(p[1]) }, 0)
    end
  end
  for _, d in ipairs(M.DIRS) do
    local names = core.list_dir(d)
    for _, n in ipairs(names or {}) do inp.files[#inp.files + 1] = d .. "/" .. n end
  end
  for _, n in ipairs({ "natrig-peer", "natrig-shaper" }) do
    local p = libexec and (libexec .. "/" .. n)
    if not (p and core.stat(p)) then
      error(core.error { code = "einval", op = "image build", status = 0,
        message = ("%s not found next to natrig (%s): run `make`"):format(n, tostring(libexec)) }, 0)
    end
    inp.own[#inp.own + 1] = { name = n, path = p }
  end
  return inp
end

-- The tag: a hash over every input's path, size and mtime plus the dpkg database state.
function M.tag_for(inp)
  local names = {}
  for _, p in ipairs(M.PROGRAMS) do names[#names + 1] = p[1] end
  local h = core.hash(FORMAT .. table.concat(M.BUSYBOX_APPLETS, " ") .. table.concat(names, " "))
  local function add(p)
    local st = core.stat(p)
    h = core.hash(("%s %s %s\n"):format(p, st and st.size or -1, st and st.mtime or -1), h)
  end
  add(inp.busybox)
  for _, p in ipairs(inp.programs) do add(p.path) end
  for _, p in ipairs(inp.files) do add(p) end
  for _, p in ipairs(inp.own) do add(p.path) end
  for _, p in ipairs(M.ETC) do add(p) end
  add("/var/lib/dpkg/status")
  return h:sub(1, 12)
end

-- The rootfs tar entries for the base image.
function M.rootfs_entries(inp)
  local e, have = {}, {}
  local function file(path, src, mode)
    path = canonical(path)
    if have[path] then return end
    have[path] = true
    e[#e + 1] = { path = path, file = core.realpath(src) or src, mode = mode }
  end
  local function link(path, target)
    if have[path] then return end
    have[path] = true
    e[#e + 1] = { path = path, symlink = target }
  end
  for _, d in ipairs({ "usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "usr/local/bin",
    "usr/lib/x86_64-linux-gnu", "etc", "tmp", "run", "proc", "sys", "dev", "root", "var",
    "var/run", "etc/natrig" }) do
    e[#e + 1] = { path = d, dir = true, mode = d == "tmp" and 1023 or 493 }
  end
  -- The host's usr-merge layout, so ldd's /lib paths resolve inside too.
  for top, target in pairs({ bin = "usr/bin", sbin = "usr/sbin", lib = "usr/lib",
    lib64 = "usr/lib64" }) do
    link(top, target)
  end
  file("/usr/bin/busybox", inp.busybox, 493)
  -- Link only the applets this busybox build really has.
  local _, list = core.run({ inp.busybox, "--list" })
  local has = {}
  for a in list:gmatch("[^\n]+") do has[a] = true end
  for _, a in ipairs(M.BUSYBOX_APPLETS) do
    local target = "/usr/bin/" .. a
    if has[a] and not have[target] then link(target:sub(2), "busybox") end
  end
  local elf = {}
  for _, p in ipairs(inp.programs) do
    local dest = canonical(p.path)
    file(dest, p.path, 493)
    elf[#elf + 1] = p.path
    for _, l in ipairs(M.XTABLES_LINKS[p.name] or {}) do
      link(dest:match("^/(.*)/[^/]+$") .. "/" .. l, p.name)
    end
  end
  for _, p in ipairs(inp.own) do
    file("/usr/local/bin/" .. p.name, p.path, 493)
    elf[#elf + 1] = p.path
  end
  for _, f in ipairs(inp.files) do
    file(f, f, nil)
    if f:match("%.so$") then elf[#elf + 1] = f end
  end
  for _, lib in ipairs(closure(elf)) do file(lib.path, lib.src, nil) end
  for _, f in ipairs(M.ETC) do if core.stat(f) then file(f, f, 420) end end
  e[#e + 1] = { path = "etc/passwd", data = "root:x:0:0:root:/root:/bin/sh\n", mode = 420 }
  e[#e + 1] = { path = "etc/group", data = "root:x:0:\n", mode = 420 }
  e[#e + 1] = { path = "etc/nsswitch.conf", data = "hosts: files dns\n", mode = 420 }
  return e
end

-- Ensure the base image exists; returns its reference ("natrig/base:<hash>").
-- opts.force rebuilds; opts.log(msg) reports progress.
function M.ensure_base(eng, opts)
  opts = opts or {}
  local inp = M.inputs()
  local tag = M.tag_for(inp)
  local ref = M.REPO .. ":" .. tag
  if not opts.force and eng:image_inspect(ref) then return ref, false end
  local t0 = core.now()
  -- The rootfs (37 MB) goes to the engine from a file, read as it is sent: built in memory
  -- and copied into the request, it was a run's peak RSS (89 MB at start, 200 peers or 2).
  local path, size = os.tmpname(), 0
  local ok, err = pcall(function()
    size = core.tar(M.rootfs_entries(inp), path)
    eng:image_import({ file = path }, M.REPO, tag, "LABEL natrig=1")
  end)
  core.remove(path)
  if not ok then error(err, 0) end
  if opts.log then
    opts.log(("built image %s (%.1f MB) in %.1fs"):format(ref, size / 1e6, core.now() - t0))
  end
  return ref, true
end

-- An image of base plus a host binary (and any library of its closure the base lacks),
-- built once per binary (tag: hash of its path, size and mtime) with a classic build
-- FROM the local base image: no registry, no upload of the binary per container.
function M.ensure_with_binary(eng, base, host_path, dest, opts)
  opts = opts or {}
  local st = core.stat(core.realpath(host_path) or host_path)
  if not st or st.type ~= "file" then
    error(core.error { code = "einval", op = "image with binary", status = 0,
      message = ("binary '%s' not found"):format(tostring(host_path)) }, 0)
  end
  local name = dest:match("[^/]+$"):gsub("[^%w_.-]", "")
  local tag = core.hash(("%s %s %s %d %d %s"):format(FORMAT, base, host_path, st.size, st.mtime, dest)):sub(1, 12)
  local ref = "natrig/app-" .. name:lower() .. ":" .. tag
  if eng:image_inspect(ref) then return ref end
  local t0 = core.now()
  local entries = { { path = "Dockerfile", data = ("FROM %s\nCOPY root/ /\n"):format(base) } }
  for _, e in ipairs(M.binary_entries(host_path, dest)) do
    e.path = "root/" .. e.path:gsub("^/", "")
    entries[#entries + 1] = e
  end
  eng:image_build(core.tar(entries), ref, { natrig = "1" })
  if opts.log then opts.log(("built image %s with %s in %.1fs"):format(ref, host_path, core.now() - t0)) end
  return ref
end

-- Files to upload so a host binary runs in a natrig/base container: the binary and any
-- library of its closure (most are in the image already; extra ones are added).
-- The ELF loader and glibc itself are always in the base image; re-adding them would
-- only risk replacing the loader under every program there.
local IN_BASE = { "^ld%-linux", "^libc%.so", "^libm%.so", "^libdl%.so", "^libpthread%.so", "^librt%.so" }

function M.binary_entries(path, dest)
  local e = { { path = dest, file = core.realpath(path) or path, mode = 493 } }
  for _, lib in ipairs(closure({ path })) do
    local base = lib.path:match("[^/]+$")
    local skip = false
    for _, pat in ipairs(IN_BASE) do if base:match(pat) then skip = true end end
    if not skip then
      -- keep the host's mode (shared objects are often 0755)
      e[#e + 1] = { path = lib.path, file = core.realpath(lib.src) or lib.src }
    end
  end
  return e
end

--- One app image per (base, binary, engine) for a run, built on first use and shared by
-- the run's tasks (the network keeps the jobs).
function M.shared_with_binary(net, host, dest, eng)
  net.app_images = net.app_images or {}
  local key = host .. "\0" .. dest .. "\0" .. tostring(eng:info().host)
  local job = net.app_images[key]
  if not job then
    job = require("natrig.task").spawn(function()
      return M.ensure_with_binary(eng, net.image, host, dest, { log = net.log })
    end)
    net.app_images[key] = job
  end
  return job:join()
end

return M
