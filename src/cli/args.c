#include "cli/args.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void print_help(const cli_command *cmd)
{
    printf("Usage: %s\n\n  %s\n\nOptions:\n", cmd->usage, cmd->summary);
    for (const cli_opt *o = cmd->opts; o && o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s%s%s", o->name, o->alias ? ", " : "",
                 o->alias ? o->alias : "", o->metavar ? " " : "", o->metavar ? o->metavar : "");
        printf("  %-30s %s\n", left, o->help);
    }
    printf("  %-30s %s\n", "--help", "Show this message and exit.");
}

static const cli_opt *find(const cli_command *cmd, const char *arg, const char **inline_value)
{
    *inline_value = NULL;
    for (const cli_opt *o = cmd->opts; o && o->name; o++) {
        size_t n = strlen(o->name);
        if (strcmp(arg, o->name) == 0 || (o->alias && strcmp(arg, o->alias) == 0))
            return o;
        if (o->metavar && strncmp(arg, o->name, n) == 0 && arg[n] == '=') {
            *inline_value = arg + n + 1;
            return o;
        }
    }
    return NULL;
}

int cli_parse(const cli_command *cmd, int argc, char **argv)
{
    size_t npos = 0;
    bool only_positionals = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!only_positionals && strcmp(arg, "--") == 0) {
            only_positionals = true;
            continue;
        }
        if (!only_positionals && arg[0] == '-' && arg[1] != '\0') {
            if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
                print_help(cmd);
                return -1;
            }
            const char *inline_value;
            const cli_opt *o = find(cmd, arg, &inline_value);
            if (!o) {
                cli_fail("No such option: %s", arg);
                return 2;
            }
            if (!o->metavar) {
                *(bool *)o->dest = true;
            } else if (inline_value) {
                *(const char **)o->dest = inline_value;
            } else if (i + 1 < argc) {
                *(const char **)o->dest = argv[++i];
            } else {
                cli_fail("Option '%s' requires an argument.", o->name);
                return 2;
            }
            continue;
        }
        if (npos >= cmd->nargs) {
            cli_fail("Got unexpected extra argument (%s)", arg);
            return 2;
        }
        cmd->values[npos++] = arg;
    }
    for (size_t k = npos; k < cmd->nargs; k++) {
        if (cmd->args[k][0] != '[') {
            cli_fail("Missing argument '%s'.", cmd->args[k]);
            return 2;
        }
    }
    return 0;
}
