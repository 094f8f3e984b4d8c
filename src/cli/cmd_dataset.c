/* mdm dataset COMMAND: dispatch to the dataset subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

static void usage(void)
{
    puts("Usage: mdm dataset COMMAND [ARGS]...\n"
         "\n"
         "  Register datasets and work with them.\n"
         "\n"
         "Commands:\n"
         "  register  Register a dataset from a file or a directory.");
}

int cli_dataset(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "register") == 0)
        return cli_dataset_register(argc - 1, argv + 1);
    cli_fail("No such command 'dataset %s'. Try 'mdm dataset --help'.", sub);
    return 2;
}
