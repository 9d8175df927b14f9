/* main.c - natrig-shaper's entry point: argv[1] picks a subcommand from the table; nothing
 * else happens here. */
#include <stdio.h>
#include <string.h>

#include "shaper/shaper.h"

static const struct shaper_cmd *const cmds[] = {
    &shaper_cmd_run,  &shaper_cmd_set,  &shaper_cmd_clear, &shaper_cmd_stats,
    &shaper_cmd_bind, &shaper_cmd_ping, &shaper_cmd_rules,
};

static int usage(FILE *f)
{
    size_t i;

    fprintf(f, "natrig-shaper: userspace delay, jitter, loss, duplication, reordering,\n"
               "corruption and rate on NFQUEUE (for kernels without sch_netem)\nusage:\n");
    for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  natrig-shaper %s\n", cmds[i]->usage);
    fprintf(f, "The control socket defaults to $%s, else %s.\n", SHAPER_CONTROL_ENV,
            SHAPER_DEFAULT_CONTROL);
    return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    size_t i;

    if (argc < 2)
        return usage(stderr);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0)
        return usage(stdout);
    for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i]->name) == 0)
            return cmds[i]->run(argc - 1, argv + 1);
    fprintf(stderr, "natrig-shaper: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
