#include "cli/cli.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

mdm_config *cli_config_load(void)
{
    mdm_config *cfg = NULL;
    if (mdm_config_load(&cfg, NULL) != 0) {
        cli_fail_last();
        return NULL;
    }
    if (mdm_log_init(cfg) != 0) {
        cli_fail_last();
        mdm_config_free(cfg);
        return NULL;
    }
    return cfg;
}

void cli_config_free(mdm_config *cfg)
{
    mdm_log_shutdown();
    mdm_config_free(cfg);
}

mdm_catalog *cli_catalog_open(void)
{
    mdm_config *cfg = cli_config_load();
    if (!cfg)
        return NULL;
    mdm_catalog *cat = NULL;
    if (mdm_catalog_open(&cat, cfg) != 0) {
        cli_fail_last();
        cli_config_free(cfg);
        return NULL;
    }
    mdm_config_free(cfg); /* the catalog keeps its own copy */
    return cat;
}

void cli_catalog_close(mdm_catalog *cat)
{
    mdm_log_shutdown();
    mdm_catalog_free(cat);
}

char *cli_join(char *const *items, size_t count, const char *sep)
{
    size_t len = 1;
    for (size_t i = 0; i < count; i++)
        len += strlen(items[i]) + (i ? strlen(sep) : 0);
    char *out = malloc(len), *p = out;
    for (size_t i = 0; out && i < count; i++)
        p += sprintf(p, "%s%s", i ? sep : "", items[i]);
    if (out)
        *p = '\0';
    return out;
}

int cli_fail(const char *fmt, ...)
{
    bool tty = isatty(STDERR_FILENO);
    fputs(tty ? "\033[31mError:\033[0m " : "Error: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int cli_fail_last(void)
{
    const mdm_error *e = mdm_error_last();
    return cli_fail("%s", e->message[0] ? e->message : mdm_error_name(e->code));
}

const char *cli_option_value(int argc, char **argv, int *i, const char *name, const char *alias,
                             bool *bad)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) == 0 && arg[n] == '=')
        return arg + n + 1;
    if (strcmp(arg, name) != 0 && !(alias && strcmp(arg, alias) == 0))
        return NULL;
    if (*i + 1 >= argc) {
        cli_fail("Option '%s' requires an argument.", arg);
        *bad = true;
        return NULL;
    }
    return argv[++*i];
}

void cli_human_bytes(char *buf, size_t size, long long bytes)
{
    if (bytes < 0) {
        snprintf(buf, size, "-");
        return;
    }
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

int cli_print_json(json_t *value)
{
    char *text = value ? json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(value);
    if (!text)
        return cli_fail("out of memory");
    puts(text);
    free(text);
    return 0;
}
