/* The MDM_* environment layer. Every schema key has a variable, MDM_ + the key
 * upper-cased with '.' as '_' (matched against the schema, not split on '_' as the old
 * tool did); the short forms of SPEC.md §1 are aliases; any other MDM_* variable gets a
 * warning naming the closest known one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/config_internal.h"

typedef struct env_alias {
    const char *name;
    const char *key;
} env_alias;

/* Short forms; the full variable wins when both are set. */
static const env_alias aliases[] = {
    {"MDM_LOG_LEVEL", "logging.level"},
    {"MDM_BATCH_SIZE", "performance.batch_size"},
    {"MDM_MAX_CONCURRENT_OPERATIONS", "performance.max_concurrent_operations"},
    {"MDM_DATASETS_PATH", "paths.datasets_path"},
    {"MDM_DEFAULT_BACKEND", "database.default_backend"},
};

/* MDM_* variables that are not configuration keys but are read elsewhere. */
static const char *const other_variables[] = {
    "MDM_HOME_DIR",         /* the home itself, read before any file */
    "MDM_REQUIRE_POSTGRES", /* the test suites: fail instead of skip without a server */
};
static const char test_prefix[] = "MDM_TEST_"; /* test settings, e.g. MDM_TEST_PG_CONNINFO */

#define NALIASES (sizeof aliases / sizeof aliases[0])
#define NOTHERS (sizeof other_variables / sizeof other_variables[0])

void config_env_name(char *out, size_t size, const char *key)
{
    size_t n = 0;
    for (const char *p = "MDM_"; *p && n + 1 < size; p++)
        out[n++] = *p;
    for (const char *p = key; *p && n + 1 < size; p++)
        out[n++] = *p == '.' ? '_' : (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
    out[n] = '\0';
}

static int apply_variable(mdm_config *cfg, long idx, const char *name, const char *text)
{
    const config_key *k = &mdm_config_keys[idx];
    bool is_null = k->nullable && (strcasecmp(text, "null") == 0 || strcmp(text, "~") == 0);
    config_value parsed;
    strbuf why = STRBUF_INIT;
    int rc = 0;
    if (config_value_parse(&parsed, idx, text, is_null, &why)) {
        rc = mdm_error_set(MDM_ECONFIG,
                           "Invalid configuration: %s = '%s' from environment variable %s: %s", k->key,
                           k->secret ? "********" : text, name,
                           strbuf_cstr(&why) ? why.data : "out of memory");
        goto cleanup;
    }
    config_source source = {.origin = CFG_FROM_ENV};
    snprintf(source.env, sizeof source.env, "%s", name);
    rc = config_assign(cfg, idx, &parsed, &source);
cleanup:
    config_value_free(&parsed);
    strbuf_free(&why);
    return rc;
}

/* An empty variable counts as unset, as `MDM_X= mdm ...` is how a shell user unsets. */
static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* True when `name` (of `len` bytes) is a variable this file or another part reads. */
static bool is_known_variable(const char *name, size_t len)
{
    char known[96];
    for (size_t i = 0; i < mdm_config_nkeys; i++) {
        config_env_name(known, sizeof known, mdm_config_keys[i].key);
        if (strlen(known) == len && memcmp(known, name, len) == 0)
            return true;
    }
    for (size_t i = 0; i < NALIASES; i++)
        if (strlen(aliases[i].name) == len && memcmp(aliases[i].name, name, len) == 0)
            return true;
    for (size_t i = 0; i < NOTHERS; i++)
        if (strlen(other_variables[i]) == len && memcmp(other_variables[i], name, len) == 0)
            return true;
    return len >= sizeof test_prefix - 1 && memcmp(name, test_prefix, sizeof test_prefix - 1) == 0;
}

static void consider(const char **best_name, char *best_buf, size_t *best, const char *name,
                     const char *known)
{
    size_t d = config_edit_distance(name, known);
    if (d < *best) {
        *best = d;
        snprintf(best_buf, 96, "%s", known);
        *best_name = best_buf;
    }
}

static void warn_unknown_variable(const char *name)
{
    char known[96], best_buf[96];
    const char *best_name = NULL;
    size_t best = (size_t)-1;
    for (size_t i = 0; i < mdm_config_nkeys; i++) {
        config_env_name(known, sizeof known, mdm_config_keys[i].key);
        consider(&best_name, best_buf, &best, name, known);
    }
    for (size_t i = 0; i < NALIASES; i++)
        consider(&best_name, best_buf, &best, name, aliases[i].name);
    for (size_t i = 0; i < NOTHERS; i++)
        consider(&best_name, best_buf, &best, name, other_variables[i]);
    if (best_name && config_is_close(best, strlen(name)))
        mdm_log(MDM_LOG_WARNING, "unknown environment variable %s; did you mean %s?", name, best_name);
    else
        mdm_log(MDM_LOG_WARNING,
                "unknown environment variable %s: it names no configuration key (variables are MDM_ "
                "and the key upper-cased with '_' for '.', e.g. MDM_LOGGING_LEVEL)",
                name);
}

static void warn_unknown_variables(void)
{
    char name[256];
    for (char **env = environ; env && *env; env++) {
        if (strncmp(*env, "MDM_", 4) != 0)
            continue;
        size_t len = strcspn(*env, "=");
        if (is_known_variable(*env, len))
            continue;
        snprintf(name, sizeof name, "%.*s", (int)len, *env);
        warn_unknown_variable(name);
    }
}

int config_load_env(mdm_config *cfg)
{
    char name[96];
    int rc;
    /* Warn first: a misspelled variable may explain an error that follows. */
    warn_unknown_variables();
    for (size_t i = 0; i < mdm_config_nkeys; i++) {
        config_env_name(name, sizeof name, mdm_config_keys[i].key);
        const char *text = env_value(name);
        if (text && (rc = apply_variable(cfg, (long)i, name, text)))
            return rc;
    }
    for (size_t a = 0; a < NALIASES; a++) {
        long idx = config_lookup(aliases[a].key);
        const char *text = env_value(aliases[a].name);
        config_env_name(name, sizeof name, aliases[a].key);
        if (idx < 0 || !text || env_value(name))
            continue;
        if ((rc = apply_variable(cfg, idx, aliases[a].name, text)))
            return rc;
    }
    return 0;
}
