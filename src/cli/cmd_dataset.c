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
         "  register  Register a dataset from a file or a directory.\n"
         "  list      List registered datasets.\n"
         "  info      Show a dataset's details.\n"
         "  search    Find datasets by name, description, tags or content.\n"
         "  update    Change a dataset's description, target, problem type, IDs or tags.\n"
         "  stats     Show a dataset's statistics.\n"
         "  export    Write a dataset's tables to CSV, Parquet or JSON files.\n"
         "  query     Run read-only SQL on a dataset's engine.\n"
         "  verify    Check a dataset's tables against their recorded checksums.\n"
         "  remove    Remove a dataset.");
}

int cli_dataset(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } subs[] = {
        {"register", cli_dataset_register}, {"list", cli_dataset_list},
        {"info", cli_dataset_info},         {"search", cli_dataset_search},
        {"update", cli_dataset_update},     {"stats", cli_dataset_stats},
        {"remove", cli_dataset_remove},     {"export", cli_dataset_export},
        {"query", cli_dataset_query},       {"verify", cli_dataset_verify},
    };
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(sub, subs[i].name) == 0)
            return subs[i].run(argc - 1, argv + 1);
    cli_fail("No such command 'dataset %s'. Try 'mdm dataset --help'.", sub);
    return 2;
}
