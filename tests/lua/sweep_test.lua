-- Sweep matrices and reports (pure).
local t = require "tap"
require "natrig"
local sweep = require "natrig.sweep"
local cases = sweep.cases { nat = { "a", "b" }, delay = { "0ms", "150ms", "300ms" } }
t.is(#cases, 6, "cartesian product of the matrix")
t.is(sweep.case_name(cases[1]), "delay=0ms nat=a", "case names are stable and sorted")
t.is(#sweep.cases(nil), 1, "no matrix: one default case")
t.is(sweep.case_name({}), "default", "the default case")
local res = { { scenario = "s<1>", case = "nat=a", ok = true, duration = 1.5 },
  { scenario = "s<1>", case = "nat=b", ok = false, duration = 2, error = "boom & \"bust\"\nline 2", artifacts = "dir" } }
local x = sweep.junit(res)
t.like(x, '<testsuite name="s&lt;1&gt;" tests="2" failures="1"', "JUnit suite with counts, escaped")
t.like(x, '<failure message="boom &amp; &quot;bust&quot;">', "JUnit failure message escaped, first line")
t.like(sweep.html(res), "1 of 2 cases passed", "HTML summary")
t.is(sweep.xml_escape("a\1b"), "a?b", "control characters replaced")
t.done()
