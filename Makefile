# natrig - one non-recursive Makefile. `make help` lists the targets.
# Objects go under $(B)/ mirroring src/. SANITIZE=address,undefined builds into build-asan/.

PKGS      := lua5.4 libcurl libcjson libarchive
APT_PKGS  := lua5.4 liblua5.4-dev libcurl4-openssl-dev libcjson-dev libarchive-dev pkg-config \
             libnetfilter-queue-dev libmnl-dev busybox-static iptables iproute2 conntrack \
             nftables coturn socat curl
CC        ?= cc
SANITIZE  ?=
ifeq ($(SANITIZE),)
B         := build
else
B         := build-asan
SANFLAGS  := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# snprintf truncating a message is intended, so that warning is off.
WARN      := -Wall -Wextra -Werror -Wshadow -Wundef -Wwrite-strings -Wstrict-prototypes \
             -Wmissing-prototypes -Wno-format-truncation
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -fPIC $(WARN) $(CFLAGS) $(SANFLAGS) -Isrc $(PKG_CFLAGS) \
             -DNATRIG_VERSION='"$(VERSION)"' -MMD -MP
LDFLAGS   += $(SANFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC   := $(wildcard src/base/*.c src/core/*.c src/engine/*.c src/lua/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/%.o)
CLI_SRC   := src/main.c $(wildcard src/cli/*.c)
CLI_OBJ   := $(CLI_SRC:%.c=$(B)/%.o) $(B)/gen/lua_embed.o
PEER_SRC  := $(wildcard src/peer/*.c)
SHAPER_SRC:= $(wildcard src/shaper/*.c)
LUA_FILES := $(sort $(wildcard lua/natrig/*.lua lua/natrig/*/*.lua))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

NATRIG    := $(B)/natrig
LUAMOD    := $(B)/lua/natrig.so
PEER      := $(B)/natrig-peer
SHAPER    := $(B)/natrig-shaper

.PHONY: all deps test test-unit test-lua test-engine asan valgrind fuzz lint format bench demo \
        clean help images
all: $(NATRIG) $(LUAMOD) $(PEER) $(SHAPER) $(UNIT_BIN)

help:
	@echo "make            build natrig, the Lua module, natrig-peer, natrig-shaper"
	@echo "make demo       install what is missing, build, run scenarios/quickstart.lua"
	@echo "make test       unit + Lua + engine tests (CI=true: engine tests never skip)"
	@echo "make asan       the whole suite under AddressSanitizer + UBSan"
	@echo "make fuzz       run each libFuzzer target for FUZZ_SECONDS (default 60)"
	@echo "make bench      benchmarks (ratios against a floor measured in the same run)"
	@echo "make lint       layer include rules, banned functions"

# --- set-up: install what is missing (apt-get as root, else print the command) -------------
$(B)/.deps-ok:
	$(Q)missing=""; for p in $(APT_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	      || { echo "deps: apt-get install failed"; exit 1; }; \
	  else \
	    echo "deps: missing packages:$$missing"; \
	    echo "deps: run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
	$(Q)mkdir -p $(B) && touch $@
deps: $(B)/.deps-ok

# --- compile ---------------------------------------------------------------------------------
$(B)/%.o: %.c | $(B)/.deps-ok
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

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
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(B)/libnatrig.a $(PKG_LIBS) -lm -ldl

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
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(LDFLAGS) $(B)/libnatrig.a $(PKG_LIBS) -lm

# --- tests -----------------------------------------------------------------------------------
test: all
	$(Q)B=$(B) tests/run-all

test-unit: $(UNIT_BIN)
	$(Q)prove -e '' $(UNIT_BIN)

test-lua: $(NATRIG) $(LUAMOD)
	$(Q)B=$(B) prove -e '' tests/lua/run

test-engine: all
	$(Q)B=$(B) prove -v -e '' tests/engine/run

asan:
	$(Q)$(MAKE) --no-print-directory SANITIZE=address,undefined test

valgrind: all
	$(Q)for t in $(UNIT_BIN); do valgrind -q --error-exitcode=1 --leak-check=full \
	  --suppressions=tests/valgrind.supp $$t >/dev/null || exit 1; done; echo "valgrind: clean"

FUZZ_SECONDS ?= 60
fuzz: | $(B)/.deps-ok
	$(Q)tests/fuzz/run $(FUZZ_SECONDS)

bench: all
	$(Q)B=$(B) tests/bench/run

demo: all
	$(Q)$(NATRIG) run scenarios/quickstart.lua

lint:
	$(Q)tests/lint

format:
	$(Q)clang-format -i $$(find src tests -name '*.[ch]')

clean:
	rm -rf build build-asan

-include $(shell find $(B) -name '*.d' 2>/dev/null)
