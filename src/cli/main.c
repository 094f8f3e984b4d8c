/* mdm command line: dispatch to subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static void usage(FILE *f)
{
    fputs("Usage: mdm [OPTIONS] COMMAND [ARGS]...\n"
          "\n"
          "  ML Data Manager: register tabular datasets once, get them back fast.\n"
          "\n"
          "Options:\n"
          "  --help     Show this message and exit.\n"
          "\n"
          "Commands:\n"
          "  version    Show the mdm version.\n"
          "  info       Show configuration, storage backends and system information.\n"
          "  config     Show and change the configuration.\n"
          "  dataset    Register datasets and work with them.\n"
          "  batch      Run a dataset command over several datasets.\n",
          f);
}

int main(int argc, char **argv)
{
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
    fprintf(stderr, "Error: No such command '%s'. Try 'mdm --help'.\n", cmd);
    return 2;
}
