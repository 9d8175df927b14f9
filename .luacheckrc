-- luacheck configuration for lua/natrig and the tests
std = "lua54"
max_line_length = 120
globals = { "natrig", "expect", "help", "net" }
