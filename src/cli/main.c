/* mdm command line: dispatch to subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "mdm/mdm.h"

static void usage(FILE *f)
{
    fputs("Usage: mdm [OPTIONS] COMMAND [ARGS]...\n"
          "\n"
          "  ML Data Manager: register tabular datasets once, get them back fast.\n"
          "\n"
          "Options:\n"
          "  --stats    Print each connection pool's figures when it closes.\n"
          "  --help     Show this message and exit.\n"
          "\n"
          "Commands:\n"
          "  version    Show the mdm version.\n"
          "  info       Show configuration, storage backends and system information.\n"
          "  config     Show and change the configuration.\n"
          "  dataset    Register datasets and work with them.\n"
          "  batch      Run a dataset command over several datasets.\n"
          "  stats      Operation history, logs and the dashboard.\n"
          "  serve      Serve datasets over HTTP (JSON API, SQL, metrics, dashboard).\n",
          f);
}

/* mdm --stats: each pool's figures on stderr when it closes. */
static void print_pool(const mdm_pool_stats *s, void *ctx)
{
    (void)ctx;
    fprintf(stderr,
            "pool %s: %llu checkouts, %llu connections opened, %llu timeouts, %llu connect "
            "failures; wait p50 %.3f ms p99 %.3f ms; held p50 %.3f ms p99 %.3f ms; breaker %s\n",
            s->name, (unsigned long long)s->checkouts, (unsigned long long)s->created,
            (unsigned long long)s->timeouts, (unsigned long long)s->connect_failures,
            s->wait_p50_ms, s->wait_p99_ms, s->usage_p50_ms, s->usage_p99_ms, s->breaker);
}

int main(int argc, char **argv)
{
    /* Global options come before the command. */
    while (argc > 1 && strcmp(argv[1], "--stats") == 0) {
        mdm_pools_on_close(print_pool, NULL);
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
        return cli_version(argc - 1, argv + 1);
    if (strcmp(cmd, "info") == 0)
        return cli_info(argc - 1, argv + 1);
    if (strcmp(cmd, "config") == 0)
        return cli_config(argc - 1, argv + 1);
    if (strcmp(cmd, "dataset") == 0)
        return cli_dataset(argc - 1, argv + 1);
    if (strcmp(cmd, "batch") == 0)
        return cli_batch(argc - 1, argv + 1);
    if (strcmp(cmd, "stats") == 0)
        return cli_metrics(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0)
        return cli_serve(argc - 1, argv + 1);
    fprintf(stderr, "Error: No such command '%s'. Try 'mdm --help'.\n", cmd);
    return 2;
}
