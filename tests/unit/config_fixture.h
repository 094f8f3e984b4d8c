/* Shared by the configuration tests: a temporary home, captured warnings, a clean
 * MDM_* environment, and helpers that load and compare messages. */
#ifndef MDM_TESTS_CONFIG_FIXTURE_H
#define MDM_TESTS_CONFIG_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log_internal.h"
#include "mdm/mdm.h"

typedef struct fixture {
    char home[64];
    char file[128];
    char warnings[16384]; /* captured WARNING messages, one per line */
} fixture;

static inline void capture(mdm_log_level level, const char *message, void *ctx)
{
    fixture *f = ctx;
    if (level < MDM_LOG_WARNING)
        return;
    size_t used = strlen(f->warnings);
    snprintf(f->warnings + used, sizeof f->warnings - used, "%s\n", message);
}

/* Removes every MDM_* variable so that the developer's environment cannot leak in. */
static inline void clear_mdm_environment(void)
{
    for (;;) {
        char name[256] = "";
        for (char **env = environ; env && *env; env++)
            if (strncmp(*env, "MDM_", 4) == 0) {
                snprintf(name, sizeof name, "%.*s", (int)strcspn(*env, "="), *env);
                break;
            }
        if (!name[0])
            return;
        unsetenv(name);
    }
}

static inline void remove_tree(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", path, path);
    assert_int_equal(system(cmd), 0);
}

static inline int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->home, "/tmp/mdm-config-XXXXXX");
    assert_non_null(mkdtemp(f->home));
    snprintf(f->file, sizeof f->file, "%s/mdm.yaml", f->home);
    clear_mdm_environment();
    mdm_log_set_stderr_level(MDM_LOG_CRITICAL); /* warnings are checked through the capture */
    log_set_capture(capture, f, MDM_LOG_WARNING);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    fixture *f = *state;
    log_set_capture(NULL, NULL, MDM_LOG_DEBUG);
    mdm_log_shutdown();
    mdm_log_set_stderr_level(MDM_LOG_WARNING);
    clear_mdm_environment();
    remove_tree(f->home);
    free(f);
    return 0;
}

static inline void write_yaml(const fixture *f, const char *text)
{
    FILE *fp = fopen(f->file, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Loads f->home and expects success. */
static inline mdm_config *load_ok(const fixture *f)
{
    mdm_config *cfg = NULL;
    int rc = mdm_config_load(&cfg, f->home);
    if (rc)
        fail_msg("load failed: %s", mdm_error_last()->message);
    assert_non_null(cfg);
    return cfg;
}

/* Loads f->home, expects MDM_ECONFIG and returns the message. */
static inline const char *load_fails(const fixture *f)
{
    mdm_config *cfg = (mdm_config *)1;
    assert_int_equal(mdm_config_load(&cfg, f->home), MDM_ECONFIG);
    assert_null(cfg);
    return mdm_error_last()->message;
}

static inline void assert_message(const char *actual, const char *expected)
{
    if (strcmp(actual, expected) != 0)
        fail_msg("message\n  got:      %s\n  expected: %s", actual, expected);
}

static inline void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("'%s' not found in:\n%s", needle, haystack);
}

#endif
