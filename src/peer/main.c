/* main.c - natrig-peer: the hole-punching test peer and UDP probe tools that natrig runs
 * inside containers. Only dispatches to the subcommands (cmd_*.c); links against libc only.
 *
 * Modes: gateway, peer (long-running; SIGINT/SIGTERM end them with status 0), echo (server),
 * probe, send, listen (one-shot, scriptable). Usage errors exit with status 2.
 *
 * Logs: stdout, line-buffered, Rust `tracing` text format (peerlog.h), e.g.
 *   2026-11-24T13:11:17.123456Z  INFO natrig_peer::punch: hole punched remote=b addr=...
 * Level: -v, or NATRIG_PEER_LOG=error|warn|info|debug. Scenarios wait_log on these stable
 * lines (target: message, then fields in this order; DEBUG lines are not listed):
 *
 *   natrig_peer::gateway
 *     INFO  gateway listening      addr= ttl_s=       (one line a --bind: IPv4, IPv6)
 *     INFO  peer registered        name= addr= [previous=] peers=      (new, or moved)
 *     INFO  peer expired           name= addr= peers=
 *     WARN  registration refused   name= addr= reason=table_full max=
 *     WARN  registration refused   name= addr= reason=family at=  (REGISTER_AT of the other
 *           family: each --bind's socket has its own family's table)
 *     WARN  send failed            to= type= error= send_errors=
 *     WARN  ignored bad datagram   from= reason= len= bad_total=
 *     INFO  shutting down          signal= peers= datagrams_ok= bad_total=
 *     ERROR cannot listen          error=
 *   natrig_peer::peer
 *     INFO  peer listening         name= addr= gateway=
 *     INFO  registered with gateway  name= public_addr= gateway=
 *     INFO  public address changed public_addr= previous=
 *     WARN  gateway not answering  gateway= attempts=
 *     INFO  all expected peers connected  peers=a,b
 *     WARN  expected peers missing connected=a failed=b
 *     WARN  peer table full        remote= max=
 *     WARN  send failed            to= type= error= send_errors=
 *     INFO  shutting down          signal=|reason=done status= datagrams_ok= bad_total=
 *     ERROR cannot listen          error=
 *   natrig_peer::punch
 *     INFO  hole punch started     remote= addr=                (the gateway's view)
 *     INFO  hole punched           remote= addr= attempts= via=punch|punch_ack [public_addr=]
 *           (addr is where the remote's datagram really came from; attempts counts our
 *           PUNCHes, 0 when it punched us first)
 *     WARN  hole punch failed      remote= attempts= reason=timeout|not_introduced [public_addr=]
 *     INFO  remote address changed remote= addr= previous=
 *   natrig_peer::ping
 *     INFO  rtt                    remote= addr= seq= rtt_ms=0.123
 *     INFO  pings done             remote= addr= sent= received= [rtt_min_ms= rtt_avg_ms=
 *           rtt_max_ms=]            (WARN when received < sent)
 *     INFO  pings stopped          remote= sent= received=  (a stop signal during a ping run;
 *                                  WARN when more than the last one is unanswered)
 *   natrig_peer::proto
 *     WARN  ignored bad datagram   from= reason= len= bad_total=  (peer side; WARN for the
 *           first 10 and each power of two, DEBUG otherwise; reason is one of truncated,
 *           oversized, bad_magic, bad_version, unknown_type, bad_name, bad_addr, bad_count,
 *           trailing_bytes)
 *   natrig_peer::echo
 *     INFO  echo listening         addr=
 *     INFO  datagram echoed        from= len= seen=
 *     WARN  echo failed            from= len= seen= error=
 *     INFO  shutting down          signal= seen=
 *
 * probe, send and listen print one plain result line each (see their usage), not logs. */
#include <stdio.h>
#include <string.h>

#include "peer/peercmd.h"
#include "peer/peerlog.h"

#ifndef NATRIG_VERSION
#define NATRIG_VERSION "0.1"
#endif

static const struct peer_cmd *const main_cmds[] = {
    &cmd_gateway, &cmd_peer,         &cmd_echo,    &cmd_probe,   &cmd_send, &cmd_listen,
    &cmd_rtt,     &cmd_stun_reflect, &cmd_portmap, &cmd_dnsfail, &cmd_every};
#define MAIN_NCMDS (sizeof main_cmds / sizeof main_cmds[0])

static void main_usage(FILE *f)
{
    size_t i;

    fprintf(f, "usage: natrig-peer MODE [options]   (natrig-peer MODE --help for its options)\n");
    for (i = 0; i < MAIN_NCMDS; i++)
        fprintf(f, "  %-8s %s\n", main_cmds[i]->name, main_cmds[i]->summary);
    fprintf(f, "Logs go to stdout in tracing's text format; -v or NATRIG_PEER_LOG=debug for "
               "DEBUG.\nExit status: 0 ok, 1 failure or timeout, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    size_t i;

    peerlog_init();
    if (argc < 2) {
        main_usage(stderr);
        return PEERCMD_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        main_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("natrig-peer %s\n", NATRIG_VERSION);
        return 0;
    }
    for (i = 0; i < MAIN_NCMDS; i++)
        if (strcmp(argv[1], main_cmds[i]->name) == 0)
            return main_cmds[i]->run(argc - 1, argv + 1);
    fprintf(stderr, "natrig-peer: unknown mode '%s'\n", argv[1]);
    main_usage(stderr);
    return PEERCMD_EXIT_USAGE;
}
