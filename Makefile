# natrig - one non-recursive Makefile. `make help` lists the targets.
# Objects go under $(B)/ mirroring src/. SANITIZE=address,undefined builds into build-asan/.

PKGS      := lua5.4 libcurl libcjson libarchive
# Build dependencies: all that compiling natrig needs (a packager's or an unprivileged user's
# `make`; tests/run-all's unit stage proves it by building a copy as user nobody).
BUILD_PKGS:= lua5.4 liblua5.4-dev libcurl4-openssl-dev libcjson-dev libarchive-dev pkg-config \
             libnetfilter-queue-dev libmnl-dev libedit-dev
# Runtime dependencies: the tools natrig puts into its base image or runs on the host
# (busybox-static ... coturn, tcpdump, dnsmasq; tayga and unbound: NAT64/DNS64 routers).
# `make demo` needs these and no more.
RUN_PKGS  := busybox-static iptables iproute2 conntrack nftables coturn socat tcpdump dnsmasq-base miniupnpd-nftables miniupnpc natpmpc \
             tayga unbound
# Test dependencies: what the tests, lint, fuzz and doc use on top (make test, lint, fuzz,
# doc install them). Lint: clang-format, lua-check, and clang-tidy-15 (Debian's clang-tidy,
# 14, lacks bugprone-assignment-in-if-condition); fuzz: clang; doc: lua-ldoc; the REPL and
# exec -it tests: tmux, less (more()'s pager); the sweep report's check: chromium, libxml2-utils.
TEST_PKGS := curl tmux nebula chromium clang clang-format clang-tidy-15 lua-check lua-ldoc libxml2-utils \
             python3 perl transmission-daemon less
APT_PKGS  := $(BUILD_PKGS) $(RUN_PKGS) $(TEST_PKGS)
# make install: PREFIX (default /usr/local), DESTDIR for staging.
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= cc
SANITIZE  ?=
ifeq ($(SANITIZE),)
B         := build
else
B         := build-asan
SANFLAGS  := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
# FUZZ=1 (what tests/fuzz/run uses): the same objects, built by clang with libFuzzer's
# instrumentation and ASan+UBSan into build/fuzz/, so each fuzz target links against
# build/fuzz/libnatrig.a and takes what it needs from the one object list (LIB_SRC).
FUZZ      ?=
FUZZ_CC   ?= clang
ifeq ($(FUZZ),1)
B         := build/fuzz
CC        := $(FUZZ_CC)
CFLAGS    := -O1 -g
SANFLAGS  := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
             -fno-omit-frame-pointer
endif
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# The REPL's line editor (libedit, BSD editline) is linked into natrig only.
EDIT_CFLAGS = $(shell pkg-config --cflags libedit 2>/dev/null)
EDIT_LIBS  = $(shell pkg-config --libs libedit 2>/dev/null)
# snprintf truncating a message is intended, so that warning is off.
WARN      := -Wall -Wextra -Werror -Wshadow -Wundef -Wwrite-strings -Wstrict-prototypes \
             -Wmissing-prototypes -Wno-format-truncation
# clang has no -Wformat-truncation (it knows neither the warning nor the need to turn it off)
ifeq ($(FUZZ),1)
WARN      += -Wno-unknown-warning-option
endif
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -fPIC $(WARN) $(CFLAGS) $(SANFLAGS) -Isrc $(PKG_CFLAGS) \
             -DNATRIG_VERSION='"$(VERSION)"' -MMD -MP
LDFLAGS   += $(SANFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC   := $(wildcard src/base/*.c src/core/*.c src/core/*/*.c src/engine/*.c src/lua/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/%.o)
CLI_SRC   := src/main.c $(wildcard src/cli/*.c)
CLI_OBJ   := $(CLI_SRC:%.c=$(B)/%.o) $(B)/gen/lua_embed.o
PEER_SRC  := $(wildcard src/peer/*.c)
SHAPER_SRC:= $(wildcard src/shaper/*.c)
LUA_FILES := $(sort $(wildcard lua/natrig/*.lua lua/natrig/*/*.lua))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)

NATRIG    := $(B)/natrig
LUAMOD    := $(B)/lua/natrig.so
PEER      := $(B)/natrig-peer
SHAPER    := $(B)/natrig-shaper

.PHONY: all deps deps-list test test-full test-unit test-lua test-engine test-netns test-fuzz asan valgrind fuzz fuzz-build lint format bench demo \
        clean help images doc
all: $(NATRIG) $(LUAMOD) $(PEER) $(SHAPER) $(UNIT_BIN)

help:
	@echo "make            build natrig, the Lua module, natrig-peer, natrig-shaper"
	@echo "make demo       install what a run needs, build natrig, run scenarios/quickstart.lua"
	@echo "make install    natrig, natrig-peer, natrig-shaper, the Lua module, natrig.1 into"
	@echo "                PREFIX (default /usr/local; DESTDIR for staging)"
	@echo "make test       unit, Lua, engine, netns tests, lint, fuzz (3 s a target), stages at once"
	@echo "                (CI=true: nothing skips); the summary says what each stage took"
	@echo "make test-full  make test plus every preset over Docker and every lifetime run (nightly)"
	@echo "make test-unit | test-lua | test-engine | test-netns | test-fuzz   one stage of make test"
	@echo "make deps       install build, runtime and test packages (deps-list shows them)"
	@echo "make asan       the whole suite under AddressSanitizer + UBSan"
	@echo "make fuzz       build and run all libFuzzer targets, FUZZ_SECONDS each (default 60)"
	@echo "make bench      benchmarks (ratios against a floor measured in the same run)"
	@echo "make lint       layer include rules, banned functions, clang-format, luacheck, clang-tidy"
	@echo "make format     clang-format -i every C file under src/ and tests/ (what lint checks)"
	@echo "make doc        the Lua API reference (LDoc, config.ld) in $(B)/doc/index.html"

# --- set-up: install what is missing (apt-get as root, else print the command) -------------
# $(call need_pkgs,WHAT,PACKAGES[,APT OPTIONS]): check with one dpkg-query (one a package took
# 1.7 s for 23 under load, one for all 0.06 s); install as root, else say how. apt-get update is skipped when a package list is less than a day old (a 304 round
# still costs about 1.3 s here, a cold one 6.5 s); if the install then fails (a list too old
# for the mirror), it updates and tries once more.
define need_pkgs
	$(Q)ok=" $$(dpkg-query -W -f='$${Package} $${Status}\n' $(2) 2>/dev/null | sed -n 's/ install ok installed$$//p' | tr '\n' ' ')"; \
	missing=""; for p in $(2); do case "$$ok" in *" $$p "*) ;; *) missing="$$missing $$p" ;; esac; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps ($(1)): installing$$missing"; t0=$$(date +%s); \
	    flock /var/lock/natrig-apt.lock sh -c 'inst() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(3) "$$@" >/dev/null; }; \
	      if [ -n "$$(find $(APT_LISTS) -maxdepth 1 -name "*Packages*" -mmin -1440 2>/dev/null)" ]; then \
	        inst "$$@" 2>/dev/null && exit 0; echo "deps ($(1)): failed with the lists as they were; apt-get update"; fi; \
	      apt-get update -qq && inst "$$@"' sh $$missing \
	      || { echo "deps ($(1)): apt-get install failed (see above; run it by hand: apt-get install$$missing)"; exit 1; }; \
	    echo "deps ($(1)): installed in $$(($$(date +%s) - t0)) s"; \
	  else \
	    echo "deps ($(1)): missing packages:$$missing"; \
	    echo "deps ($(1)): run: sudo apt-get install -y$(if $(3), $(3))$$missing"; exit 1; \
	  fi; \
	fi
endef

# Compiling needs only the build packages; a run (demo) the runtime ones; tests, lint, fuzz
# and doc the test ones too. One apt-get at a time (the chain below, and flock across
# makes): under make -j a second apt-get fails on apt's lock. Neither the build nor the
# runtime list needs a package's Recommends (autotools for libtool, dns-root-data for
# unbound, whose config forwards): 40 packages instead of 49 on a fresh machine.
NO_REC    := --no-install-recommends
# Where apt keeps its package lists (a variable so tests/lua/demo_deps_test.lua can point it elsewhere).
APT_LISTS ?= /var/lib/apt/lists
# `make demo` on its own: the build and runtime lists in one apt-get (each apt-get pays its
# own start-up and triggers: of the 13.8 s 49 packages took under load 19, 4 s went before
# the first unpack and 4 s to man-db's trigger), and the build with a job per core (make
# 4.3 takes a -j added to MAKEFLAGS here; a -j of the user's own is kept).
ifeq ($(MAKECMDGOALS),demo)
DEMO_PKGS := $(RUN_PKGS)
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 1)
endif
endif
$(B)/.deps-ok:
	$(call need_pkgs,build$(if $(DEMO_PKGS), and runtime),$(BUILD_PKGS) $(DEMO_PKGS),$(NO_REC))
	$(Q)mkdir -p $(B) && touch $@
# Checked again when the Makefile changes, so a package added to a list gets installed
# where an older list was already satisfied.
$(B)/.deps-demo-ok: Makefile | $(B)/.deps-ok
	$(call need_pkgs,runtime,$(RUN_PKGS),$(NO_REC))
	$(Q)mkdir -p $(B) && touch $@
$(B)/.deps-run-ok: Makefile | $(B)/.deps-demo-ok
	$(call need_pkgs,runtime and tests,$(RUN_PKGS) $(TEST_PKGS))
	$(Q)mkdir -p $(B) && touch $@
deps: $(B)/.deps-ok $(B)/.deps-run-ok
deps-list:
	@echo "build: $(BUILD_PKGS)"
	@echo "run: $(RUN_PKGS)"
	@echo "test: $(TEST_PKGS)"

# --- compile ---------------------------------------------------------------------------------
$(B)/%.o: %.c | $(B)/.deps-ok
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/src/cli/cmd_repl.o: ALL_CFLAGS += $(EDIT_CFLAGS)

$(B)/libnatrig.a: $(LIB_OBJ)
	@[ "$(V)" = 1 ] || echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

# lua/natrig/*.lua are embedded into a C file registered in package.preload.
$(B)/gen/lua_embed.c: $(LUA_FILES) src/lua/gen_embed.lua | $(B)/.deps-ok
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  GEN     $@"
	$(Q)lua5.4 src/lua/gen_embed.lua $@ $(LUA_FILES)

$(B)/gen/lua_embed.o: $(B)/gen/lua_embed.c
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(NATRIG): $(CLI_OBJ) $(B)/libnatrig.a
	@[ "$(V)" = 1 ] || echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(B)/libnatrig.a $(PKG_LIBS) $(EDIT_LIBS) -lm -ldl

# The same core as a Lua C module: LUA_CPATH='build/lua/?.so' lua5.4 -e 'require "natrig"'
$(LUAMOD): $(B)/libnatrig.a $(B)/gen/lua_embed.o
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -shared -o $@ $(B)/gen/lua_embed.o -Wl,--whole-archive $(B)/libnatrig.a \
	  -Wl,--no-whole-archive $(shell pkg-config --libs libcurl libcjson libarchive)

$(PEER): $(PEER_SRC:%.c=$(B)/%.o) $(B)/libnatrig.a
	@[ "$(V)" = 1 ] || echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(PEER_SRC:%.c=$(B)/%.o) $(B)/libnatrig.a $(PKG_LIBS) -lm

$(SHAPER): $(SHAPER_SRC:%.c=$(B)/%.o) $(B)/libnatrig.a
	@[ "$(V)" = 1 ] || echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(SHAPER_SRC:%.c=$(B)/%.o) $(B)/libnatrig.a $(PKG_LIBS) \
	  -lnetfilter_queue -lnfnetlink -lmnl -lm

$(B)/tests/%: tests/unit/%.c $(B)/libnatrig.a tests/tap.h
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  TEST-CC $<"
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(filter %.o,$^) $(LDFLAGS) $(B)/libnatrig.a \
	  $(PKG_LIBS) -lm

# The failing-allocator test opens natrig.core with its embedded Lua modules.
$(B)/tests/test_lua_alloc: $(B)/gen/lua_embed.o

# --- tests -----------------------------------------------------------------------------------
# Every target runs tests/run-all, so each stage gets the environment `make test` gives it.
# Stages: unit (C, and the unprivileged build), lua (pure Lua, the fake engine), engine (the
# real Docker Engine), netns (tests/nat and tests/shaper: root), lint, fuzz (every libFuzzer
# target built and run a few seconds). The engine stage runs beside the others, which go one
# after another (netns first). `make test-full` (NATRIG_TEST_FULL=1) adds what make
# test leaves out: every preset over Docker, every lifetime run (tests/run-all says which).
RUN_ALL   = B=$(B) SANITIZE=$(SANITIZE) tests/run-all
test: all | $(B)/.deps-run-ok
	$(Q)$(RUN_ALL)

test-full: all | $(B)/.deps-run-ok
	$(Q)NATRIG_TEST_FULL=1 $(RUN_ALL)

test-unit: all | $(B)/.deps-run-ok
	$(Q)$(RUN_ALL) unit

test-lua: all | $(B)/.deps-run-ok
	$(Q)$(RUN_ALL) lua

test-engine: all | $(B)/.deps-run-ok
	$(Q)$(RUN_ALL) engine

test-netns: all | $(B)/.deps-run-ok
	$(Q)$(RUN_ALL) netns

test-fuzz: | $(B)/.deps-ok $(B)/.deps-run-ok
	$(Q)$(RUN_ALL) fuzz

asan:
	$(Q)$(MAKE) --no-print-directory SANITIZE=address,undefined test

valgrind: all
	$(Q)for t in $(UNIT_BIN); do NATRIG_VALGRIND=1 valgrind -q --error-exitcode=1 --leak-check=full --child-silent-after-fork=yes \
	  --suppressions=tests/valgrind.supp $$t >/dev/null || exit 1; done; echo "valgrind: clean"

# tests/fuzz/run builds each target with `make FUZZ=1 build/fuzz/fuzz_<name>` (below) and
# runs it on its corpus; `make test` runs every target for a few seconds (stage fuzz).
FUZZ_SECONDS ?= 60
fuzz: | $(B)/.deps-ok $(B)/.deps-run-ok
	$(Q)tests/fuzz/run $(FUZZ_SECONDS)

# A fuzz target: its own file, then whatever it calls from libnatrig.a built with FUZZ=1.
# (Only FUZZ=1 makes sense here: without it B is build/ and the objects lack the fuzzer's
# instrumentation.)
$(B)/fuzz_%: tests/fuzz/fuzz_%.c $(B)/libnatrig.a
	@[ "$(FUZZ)" = 1 ] || { echo "fuzz targets are built with FUZZ=1 (tests/fuzz/run does)"; exit 2; }
	@[ "$(V)" = 1 ] || echo "  FUZZ-CC $<"
	$(Q)$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -Itests -o $@ $< $(LDFLAGS) $(B)/libnatrig.a \
	  $(PKG_LIBS) -lm
fuzz-build: $(FUZZ_SRC:tests/fuzz/%.c=$(B)/%)

bench: all
	$(Q)B=$(B) tests/bench/run

# Only what a run needs: the three binaries (no unit tests), the runtime packages.
demo: $(NATRIG) $(PEER) $(SHAPER) | $(B)/.deps-demo-ok
	$(Q)$(NATRIG) run scenarios/quickstart.lua

# The man page, from the commands' own usage and --help texts (tools/man.lua).
$(B)/natrig.1: $(NATRIG) tools/man.lua
	$(Q)$(NATRIG) lua tools/man.lua >$@.tmp && mv $@.tmp $@

# The Lua modules are embedded in natrig and in natrig.so, so nothing else is needed.
# natrig finds natrig-peer and natrig-shaper beside itself; natrig.so finds them through
# $(PREFIX)/lib/natrig/ (its real location is lib/natrig/lua/, a link in lib/lua/5.4/
# puts it on stock lua5.4's default LUA_CPATH).
.PHONY: install uninstall
install: $(NATRIG) $(LUAMOD) $(PEER) $(SHAPER) $(B)/natrig.1
	$(Q)d="$(DESTDIR)$(PREFIX)"; set -e; \
	  install -d "$$d/bin" "$$d/lib/natrig/lua" "$$d/lib/lua/5.4" "$$d/share/man/man1"; \
	  install -m 755 $(NATRIG) $(PEER) $(SHAPER) "$$d/bin/"; \
	  install -m 644 $(LUAMOD) "$$d/lib/natrig/lua/natrig.so"; \
	  ln -sf ../../bin/natrig-peer "$$d/lib/natrig/natrig-peer"; \
	  ln -sf ../../bin/natrig-shaper "$$d/lib/natrig/natrig-shaper"; \
	  ln -sf ../../natrig/lua/natrig.so "$$d/lib/lua/5.4/natrig.so"; \
	  install -m 644 $(B)/natrig.1 "$$d/share/man/man1/natrig.1"; \
	  echo "  INSTALL $$d/bin/natrig (natrig-peer, natrig-shaper), $$d/lib/lua/5.4/natrig.so, natrig.1"

uninstall:
	$(Q)d="$(DESTDIR)$(PREFIX)"; rm -f "$$d/bin/natrig" "$$d/bin/natrig-peer" "$$d/bin/natrig-shaper" \
	  "$$d/lib/lua/5.4/natrig.so" "$$d/share/man/man1/natrig.1"; rm -rf "$$d/lib/natrig"

lint: | $(B)/.deps-run-ok
	$(Q)tests/lint

# The Lua API reference from the modules' doc comments (LDoc, config.ld), and its presets
# page (doc/presets.lua) from the C tables (tools/doc_presets.lua). Debian's ldoc
# script asks for Lua 5.1/5.2 only, but LDoc runs on lua5.4 (its modules ship for 5.4 too).
# Any warning fails the target.
doc: $(LUAMOD) | $(B)/.deps-ok $(B)/.deps-run-ok
	$(Q)rm -rf $(B)/doc && mkdir -p $(B)/doc
	$(Q)LUA_CPATH='$(B)/lua/?.so;;' lua5.4 tools/doc_presets.lua doc/presets.lua
	$(Q)lua5.4 /usr/bin/ldoc -c config.ld -d $(B)/doc . >$(B)/doc.log 2>&1; rc=$$?; \
	  warn=$$(grep -v '^reading configuration\|^output written' $(B)/doc.log); \
	  if [ $$rc != 0 ] || [ -n "$$warn" ]; then cat $(B)/doc.log; echo "doc: LDoc warned (see above)"; exit 1; fi; \
	  echo "  DOC     $(B)/doc/index.html"

# tests/lint checks this same file set with clang-format --dry-run.
format:
	$(Q)clang-format -i $$(find src tests -name '*.[ch]')

clean:
	rm -rf build build-asan

-include $(shell find $(B) -name '*.d' 2>/dev/null)
