-- The hole-punching prediction's "mapped" case (issue 23): a side with a port mapping is
-- reachable from any address, so every pairing is direct, even symmetric with symmetric
-- or with a racy NAT; without the mapping the same pairs fail. Pure.
local t = require "tap"
require "natrig"
local hp = require "natrig.holepunch"
local SYM = { mapping = "APDM", filtering = "APDF" }
local RACY = { mapping = "EIM", filtering = "APDF", racy = true }
local function mapped(s) local c = {} for k, v in pairs(s) do c[k] = v end c.mapped = true return c end
t.is(hp.predict(SYM, SYM, "a"), "failed", "symmetric + symmetric: failed")
t.is(hp.predict(mapped(SYM), SYM, "a"), "direct", "symmetric (mapped) + symmetric: direct")
t.is(hp.predict(SYM, mapped(SYM), "b"), "direct", "either side's mapping is enough")
t.is(hp.predict(RACY, RACY, "a"), "failed", "racy + racy: failed")
t.is(hp.predict(mapped(RACY), RACY, "b"), "direct", "racy (mapped) + racy: direct")
local _, why = hp.predict(mapped(SYM), SYM, "a")
t.like(why, "port mapping", "the reason names the mapping")
t.done()
