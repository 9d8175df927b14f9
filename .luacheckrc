-- luacheck configuration for every Lua file of the tree (tests/lint runs `luacheck .`)
std = "lua54"
max_line_length = 120
-- Build output (generated and copied files) is not source.
exclude_files = { "build/**", "build-*/**" }
-- Methods keep the colon form even when they only delegate (net:impair(x, spec) calls
-- x:impair), so every Network method is called the same way; an unused self is by design.
self = false

-- test_lua_alloc's driver (tests/unit/test_lua_alloc.c) talks to this file through globals:
-- it sets ALLOC_TMP and NATDISCOVERY before each run and reads LAST_ERROR and ALLOC_DONE after.
files["tests/unit/lua_alloc.lua"] = {
  read_globals = { "ALLOC_TMP", "NATDISCOVERY" },
  globals = { "LAST_ERROR", "ALLOC_DONE" },
}

-- Scenario files run in natrig's scenario environment, which provides these two globals.
local scenario = { read_globals = { "natrig", "expect" } }
files["scenarios"] = scenario
files["tests/engine/fixtures"] = scenario
files["tests/fixtures/sweep"] = scenario
files["tests/bench/fixtures"] = scenario

-- The HTML report's markup and CSS: one element or rule per line reads better than strings
-- cut at 120 columns.
files["lua/natrig/report/html.lua"] = { max_line_length = false }

-- The reference's presets page is written by tools/doc_presets.lua: one HTML table row a line.
files["doc/presets.lua"] = { max_line_length = false }
