/* mdm config show | get KEY | set KEY VALUE */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

static void usage(void)
{
    puts("Usage: mdm config COMMAND [ARGS]...\n"
         "\n"
         "  Show and change mdm's configuration (<home>/mdm.yaml, MDM_* variables).\n"
         "\n"
         "Commands:\n"
         "  show [--format rich|json]  Every key with its value and where it came from.\n"
         "  get KEY                    The value of one key, e.g. database.default_backend.\n"
         "  set KEY VALUE              Write KEY: VALUE into mdm.yaml (validated; comments\n"
         "                             and the rest of the file are kept).");
}

typedef struct show_ctx {
    const mdm_config *cfg;
    json_t *json;
} show_ctx;

static void show_one(const char *key, const char *value, void *p)
{
    show_ctx *s = p;
    char source[128];
    mdm_config_source(s->cfg, key, source, sizeof source);
    if (s->json)
        json_array_append_new(s->json, json_pack("{s:s, s:s, s:s}", "key", key, "value", value,
                                                 "source", source));
    else
        printf("%-62s %-24s %s\n", key, value, strcmp(source, "default") == 0 ? "" : source);
}

static int show(const mdm_config *cfg, int argc, char **argv)
{
    const char *format = "rich";
    for (int i = 0; i < argc; i++) {
        bool bad = false;
        const char *v = cli_option_value(argc, argv, &i, "--format", "-f", &bad);
        if (bad)
            return 2;
        if (!v) {
            cli_fail("No such option: %s", argv[i]);
            return 2;
        }
        format = v;
    }
    if (strcmp(format, "rich") != 0 && strcmp(format, "json") != 0) {
        cli_fail("Invalid value for '--format': '%s' is not one of 'rich', 'json'.", format);
        return 2;
    }
    show_ctx s = {cfg, strcmp(format, "json") == 0 ? json_array() : NULL};
    if (!s.json)
        printf("# %s\n", mdm_config_file(cfg));
    mdm_config_foreach(cfg, show_one, true, &s);
    if (s.json) {
        return cli_print_json(s.json);
    }
    return 0;
}

int cli_config(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "show") != 0 && strcmp(sub, "get") != 0 && strcmp(sub, "set") != 0) {
        cli_fail("No such command 'config %s'. Try 'mdm config --help'.", sub);
        return 2;
    }
    if ((strcmp(sub, "get") == 0 && argc != 3) || (strcmp(sub, "set") == 0 && argc != 4)) {
        cli_fail("Usage: mdm config %s", strcmp(sub, "get") == 0 ? "get KEY" : "set KEY VALUE");
        return 2;
    }
    mdm_config *cfg = cli_config_load();
    if (!cfg)
        return 1;
    int rc = 0;
    if (strcmp(sub, "show") == 0) {
        rc = show(cfg, argc - 2, argv + 2);
    } else if (strcmp(sub, "get") == 0) {
        char *value = NULL;
        /* Secrets are shown: the user asked for this one key by name. */
        if (mdm_config_format(&value, cfg, argv[2], false) != 0) {
            if (!mdm_config_has(argv[2]))
                mdm_config_set(cfg, argv[2], ""); /* for the suggestion in the message */
            rc = cli_fail_last();
        } else {
            puts(value);
        }
        free(value);
    } else {
        if (mdm_config_save_key(cfg, argv[2], argv[3]) != 0) {
            rc = cli_fail_last();
        } else {
            char source[128];
            mdm_config_source(cfg, argv[2], source, sizeof source);
            fprintf(stderr, "Set %s in %s\n", argv[2], mdm_config_file(cfg));
            if (strncmp(source, "environment", 11) == 0)
                fprintf(stderr, "Warning: %s overrides it while it is set\n", source + 12);
        }
    }
    cli_config_free(cfg);
    return rc;
}
