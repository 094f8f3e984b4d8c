/* Table-driven parsing of a subcommand's options and arguments, with Typer's messages
 * (the Python mdm's command line is built on Typer). */
#ifndef MDM_CLI_ARGS_H
#define MDM_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cli_opt {
    const char *name;    /* "--target" */
    const char *alias;   /* "-t" or NULL */
    const char *metavar; /* NULL: a flag (bool *dest); else takes a value (const char **dest) */
    void *dest;
    const char *help;
} cli_opt;

typedef struct cli_command {
    const char *usage;         /* "mdm dataset register NAME [PATH] [OPTIONS]" */
    const char *summary;       /* one paragraph */
    const char *const *args;   /* positional names, "NAME", "[PATH]" (optional in []) */
    const char **values;       /* where positionals go, same count as args */
    size_t nargs;
    const cli_opt *opts;       /* ended by a zeroed entry */
} cli_command;

/* Parses argv[1..argc) (argv[0] is the subcommand). Returns 0 to go on, 2 after a usage
 * error (printed), or -1 after --help was printed (exit 0). */
int cli_parse(const cli_command *cmd, int argc, char **argv);

#endif
