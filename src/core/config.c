/* Configuration: defaults < <home>/mdm.yaml < MDM_* environment (SPEC.md §1).
 * The loaded object holds one typed value per schema key; getters only read it, so one
 * const mdm_config can be shared by any number of threads without locks. */
#include "mdm/mdm.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/config_internal.h"
#include "core/fs.h"

const char *const config_path_names[CONFIG_NPATHS] = {"datasets_path", "configs_path",
                                                      "logs_path", "custom_features_path"};

/* ------------------------------------------------------------------ key index */

#define MAX_KEYS 512

static unsigned short sorted_keys[MAX_KEYS];
static pthread_once_t sorted_once = PTHREAD_ONCE_INIT;

static int compare_key_index(const void *a, const void *b)
{
    return strcmp(mdm_config_keys[*(const unsigned short *)a].key,
                  mdm_config_keys[*(const unsigned short *)b].key);
}

static void sort_keys(void)
{
    assert(mdm_config_nkeys <= MAX_KEYS);
    for (size_t i = 0; i < mdm_config_nkeys; i++)
        sorted_keys[i] = (unsigned short)i;
    qsort(sorted_keys, mdm_config_nkeys, sizeof sorted_keys[0], compare_key_index);
}

long config_lookup(const char *key)
{
    pthread_once(&sorted_once, sort_keys);
    size_t lo = 0, hi = mdm_config_nkeys;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, mdm_config_keys[sorted_keys[mid]].key);
        if (c == 0)
            return sorted_keys[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

bool mdm_config_has(const char *key) { return key && config_lookup(key) >= 0; }

/* ------------------------------------------------------------------ paths */

/* The user's home directory: $HOME, else the password database. */
static char *user_home(void)
{
    const char *env = getenv("HOME");
    if (env && *env)
        return strdup(env);
    struct passwd pw, *found = NULL;
    char buf[4096];
    if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &found) == 0 && found && found->pw_dir)
        return strdup(found->pw_dir);
    return strdup("/");
}

/* Collapses "//", "/./" and "dir/.." in an absolute path and drops a trailing slash. */
static void normalize_absolute(char *path)
{
    assert(path[0] == '/');
    char *out = path; /* writes never overtake reads */
    const char *in = path;
    while (*in) {
        while (*in == '/')
            in++;
        if (!*in)
            break;
        size_t len = strcspn(in, "/");
        if (len == 1 && in[0] == '.') {
            /* "." adds nothing */
        } else if (len == 2 && in[0] == '.' && in[1] == '.') {
            while (out > path && *--out != '/')
                ;
        } else {
            *out++ = '/';
            memmove(out, in, len);
            out += len;
        }
        in += len;
    }
    if (out == path)
        *out++ = '/';
    *out = '\0';
}

/* `value` made absolute: "~" expanded, relative to `base`, then normalized. */
static char *absolute_path(const char *base, const char *value)
{
    strbuf sb = STRBUF_INIT;
    if (value[0] == '~' && (value[1] == '/' || value[1] == '\0')) {
        char *home = user_home();
        if (!home)
            return NULL;
        strbuf_append(&sb, home);
        strbuf_append(&sb, "/");
        strbuf_append(&sb, value + 1);
        free(home);
    } else if (value[0] == '/') {
        strbuf_append(&sb, value);
    } else {
        strbuf_append(&sb, base);
        strbuf_append(&sb, "/");
        strbuf_append(&sb, value);
    }
    if (!strbuf_cstr(&sb))
        return NULL;
    char *path = strbuf_detach(&sb);
    normalize_absolute(path);
    return path;
}

/* The home: the argument, else $MDM_HOME_DIR, else ~/.mdm; made absolute. */
static int resolve_home(char **out, const char *arg)
{
    const char *chosen = arg && *arg ? arg : getenv("MDM_HOME_DIR");
    char *fallback = NULL;
    if (!chosen || !*chosen) {
        char *home = user_home();
        if (!home)
            return mdm_error_set(MDM_ENOMEM, "out of memory");
        size_t size = strlen(home) + sizeof "/.mdm";
        fallback = malloc(size);
        if (fallback)
            snprintf(fallback, size, "%s/.mdm", home);
        free(home);
        if (!fallback)
            return mdm_error_set(MDM_ENOMEM, "out of memory");
        chosen = fallback;
    }
    char cwd[4096] = "/";
    if (chosen[0] != '/' && chosen[0] != '~' && !getcwd(cwd, sizeof cwd)) {
        int err = errno;
        free(fallback);
        return mdm_error_set(MDM_EIO, "Cannot resolve the mdm home '%s': the current directory is unknown: %s",
                             chosen, strerror(err));
    }
    *out = absolute_path(cwd, chosen);
    free(fallback);
    return *out ? 0 : mdm_error_set(MDM_ENOMEM, "out of memory");
}

static int path_slot(const char *key)
{
    if (strncmp(key, "paths.", 6) != 0)
        return -1;
    for (int p = 0; p < CONFIG_NPATHS; p++)
        if (strcmp(key + 6, config_path_names[p]) == 0)
            return p;
    return -1;
}

/* ------------------------------------------------------------------ values */

static void apply_debug_mode(mdm_config *cfg)
{
    long debug = config_lookup("development.debug_mode");
    long level = config_lookup("logging.level");
    if (debug < 0 || level < 0 || !cfg->values[debug].b)
        return;
    const char *const *choices = mdm_config_keys[level].choices;
    for (size_t c = 0; choices[c]; c++)
        if (strcmp(choices[c], "DEBUG") == 0)
            cfg->values[level].choice = c;
}

int config_assign(mdm_config *cfg, long idx, config_value *value, const config_source *source)
{
    int slot = path_slot(mdm_config_keys[idx].key);
    if (slot >= 0) {
        char *resolved = absolute_path(cfg->home, value->s ? value->s : "");
        if (!resolved)
            return mdm_error_set(MDM_ENOMEM, "out of memory");
        free(cfg->paths[slot]);
        cfg->paths[slot] = resolved;
    }
    config_value_free(&cfg->values[idx]);
    cfg->values[idx] = *value;
    memset(value, 0, sizeof *value);
    cfg->sources[idx] = *source;
    return 0;
}

/* ------------------------------------------------------------------ lifecycle */

int mdm_config_defaults(mdm_config **out, const char *home)
{
    *out = NULL;
    int rc = 0;
    strbuf why = STRBUF_INIT;
    mdm_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    cfg->values = calloc(mdm_config_nkeys, sizeof *cfg->values);
    cfg->sources = calloc(mdm_config_nkeys, sizeof *cfg->sources);
    if (!cfg->values || !cfg->sources) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = resolve_home(&cfg->home, home)))
        goto cleanup;
    mdm_fs_note_home(cfg->home);
    size_t size = strlen(cfg->home) + sizeof "/mdm.yaml";
    cfg->file = malloc(size);
    if (!cfg->file) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
        goto cleanup;
    }
    snprintf(cfg->file, size, "%s%smdm.yaml", cfg->home, strcmp(cfg->home, "/") ? "/" : "");
    const config_source from_default = {.origin = CFG_FROM_DEFAULT};
    for (size_t i = 0; i < mdm_config_nkeys; i++) {
        const config_key *k = &mdm_config_keys[i];
        config_value value;
        strbuf_reset(&why);
        if (config_value_parse(&value, (long)i, k->def, k->def == NULL, &why)) {
            assert(!"a built-in default breaks its own constraint");
            rc = mdm_error_set(MDM_ECONFIG, "Invalid built-in default of %s: %s", k->key,
                               strbuf_cstr(&why) ? why.data : "out of memory");
            goto cleanup;
        }
        if ((rc = config_assign(cfg, (long)i, &value, &from_default)))
            goto cleanup;
    }
cleanup:
    strbuf_free(&why);
    if (rc) {
        mdm_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

int mdm_config_load(mdm_config **out, const char *home)
{
    *out = NULL;
    mdm_config *cfg = NULL;
    int rc = mdm_config_defaults(&cfg, home);
    if (rc)
        return rc;
    if ((rc = config_load_yaml(cfg)) || (rc = config_load_env(cfg))) {
        mdm_config_free(cfg);
        return rc;
    }
    apply_debug_mode(cfg);
    *out = cfg;
    return 0;
}

void mdm_config_free(mdm_config *cfg)
{
    if (!cfg)
        return;
    if (cfg->values)
        for (size_t i = 0; i < mdm_config_nkeys; i++)
            config_value_free(&cfg->values[i]);
    free(cfg->values);
    free(cfg->sources);
    for (int p = 0; p < CONFIG_NPATHS; p++)
        free(cfg->paths[p]);
    free(cfg->home);
    free(cfg->file);
    free(cfg);
}

const char *mdm_config_home(const mdm_config *cfg) { return cfg->home; }
const char *mdm_config_file(const mdm_config *cfg) { return cfg->file; }

const char *mdm_config_path(const mdm_config *cfg, const char *which)
{
    if (strncmp(which, "paths.", 6) == 0)
        which += 6;
    for (int p = 0; p < CONFIG_NPATHS; p++)
        if (strcmp(config_path_names[p], which) == 0)
            return cfg->paths[p];
    assert(!"unknown path key");
    return NULL;
}

/* ------------------------------------------------------------------ getters */

/* The value of `key`, which must be of `kind` or `other_kind`; *kind_out says which. */
static const config_value *value_of(const mdm_config *cfg, const char *key, config_kind kind,
                                    config_kind other_kind, config_kind *kind_out)
{
    long i = config_lookup(key);
    assert(i >= 0 && "unknown configuration key");
    if (i < 0)
        return NULL;
    assert((mdm_config_keys[i].kind == kind || mdm_config_keys[i].kind == other_kind) &&
           "configuration key read as the wrong type");
    if (kind_out)
        *kind_out = mdm_config_keys[i].kind;
    return &cfg->values[i];
}

int64_t mdm_config_int(const mdm_config *cfg, const char *key)
{
    const config_value *v = value_of(cfg, key, CFG_INT, CFG_INT, NULL);
    return v ? v->i : 0;
}

double mdm_config_double(const mdm_config *cfg, const char *key)
{
    config_kind kind = CFG_FLOAT;
    const config_value *v = value_of(cfg, key, CFG_FLOAT, CFG_INT, &kind);
    if (!v)
        return 0;
    return kind == CFG_INT ? (double)v->i : v->f;
}

bool mdm_config_bool(const mdm_config *cfg, const char *key)
{
    const config_value *v = value_of(cfg, key, CFG_BOOL, CFG_BOOL, NULL);
    return v && v->b;
}

const char *mdm_config_str(const mdm_config *cfg, const char *key)
{
    config_kind kind = CFG_STRING;
    const config_value *v = value_of(cfg, key, CFG_STRING, CFG_ENUM, &kind);
    if (!v || v->is_null)
        return NULL;
    if (kind == CFG_ENUM)
        return mdm_config_keys[v - cfg->values].choices[v->choice];
    return v->s;
}

size_t mdm_config_list_len(const mdm_config *cfg, const char *key)
{
    const config_value *v = value_of(cfg, key, CFG_INT_LIST, CFG_INT_LIST, NULL);
    return v ? v->list_len : 0;
}

int64_t mdm_config_list_int(const mdm_config *cfg, const char *key, size_t i)
{
    const config_value *v = value_of(cfg, key, CFG_INT_LIST, CFG_INT_LIST, NULL);
    assert(v && i < v->list_len && "list index out of range");
    return v && i < v->list_len ? v->list[i] : 0;
}

/* ------------------------------------------------------------------ set, format */

static int unknown_key(const char *key)
{
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, "unknown configuration key '%s'", key);
    config_suggest_key(&sb, key);
    int rc = mdm_error_set(MDM_ENOTFOUND, "%s", strbuf_cstr(&sb) ? sb.data : key);
    strbuf_free(&sb);
    return rc;
}

/* "null" and "~" spell null, but only where null is allowed: elsewhere they are text. */
static bool spells_null(long idx, const char *text)
{
    return !text || (mdm_config_keys[idx].nullable &&
                     (strcasecmp(text, "null") == 0 || strcmp(text, "~") == 0));
}

int mdm_config_set(mdm_config *cfg, const char *key, const char *value)
{
    long idx = config_lookup(key);
    if (idx < 0)
        return unknown_key(key);
    strbuf why = STRBUF_INIT;
    config_value parsed;
    int rc = 0;
    if (config_value_parse(&parsed, idx, value, spells_null(idx, value), &why)) {
        rc = mdm_error_set(MDM_ECONFIG, "Invalid configuration: %s = '%s': %s", key,
                           value ? value : "null", strbuf_cstr(&why) ? why.data : "out of memory");
        goto cleanup;
    }
    const config_source from_set = {.origin = CFG_FROM_SET};
    if ((rc = config_assign(cfg, idx, &parsed, &from_set)))
        goto cleanup;
    apply_debug_mode(cfg);
cleanup:
    config_value_free(&parsed);
    strbuf_free(&why);
    return rc;
}

int mdm_config_format(char **out, const mdm_config *cfg, const char *key, bool mask)
{
    *out = NULL;
    long idx = config_lookup(key);
    if (idx < 0)
        return unknown_key(key);
    strbuf sb = STRBUF_INIT;
    config_value_format(&sb, idx, &cfg->values[idx], mask);
    if (!strbuf_cstr(&sb)) {
        strbuf_free(&sb);
        return MDM_ENOMEM;
    }
    *out = strbuf_detach(&sb);
    return 0;
}

void mdm_config_foreach(const mdm_config *cfg,
                        void (*fn)(const char *key, const char *value, void *ctx), bool mask,
                        void *ctx)
{
    strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < mdm_config_nkeys; i++) {
        strbuf_reset(&sb);
        config_value_format(&sb, (long)i, &cfg->values[i], mask);
        if (strbuf_cstr(&sb))
            fn(mdm_config_keys[i].key, sb.data, ctx);
    }
    strbuf_free(&sb);
}

/* ------------------------------------------------------------------ debug dump */

void config_log_dump(const mdm_config *cfg)
{
    if (!mdm_log_enabled(MDM_LOG_DEBUG))
        return;
    mdm_log(MDM_LOG_DEBUG, "MDM home: %s", cfg->home);
    if (cfg->file_found)
        mdm_log(MDM_LOG_DEBUG, "Loading configuration from %s", cfg->file);
    else
        mdm_log(MDM_LOG_DEBUG, "Configuration file %s not found: using defaults", cfg->file);
    strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < mdm_config_nkeys; i++) {
        const config_source *src = &cfg->sources[i];
        strbuf_reset(&sb);
        config_value_format(&sb, (long)i, &cfg->values[i], true);
        int slot = path_slot(mdm_config_keys[i].key);
        if (slot >= 0)
            strbuf_appendf(&sb, " -> %s", cfg->paths[slot]);
        if (src->origin == CFG_FROM_FILE)
            strbuf_appendf(&sb, " (from %s line %d)", cfg->file, src->line);
        else if (src->origin == CFG_FROM_ENV)
            strbuf_appendf(&sb, " (overridden by environment %s)", src->env);
        else if (src->origin == CFG_FROM_SET)
            strbuf_append(&sb, " (set at run time)");
        if (strbuf_cstr(&sb))
            mdm_log(MDM_LOG_DEBUG, "config %s = %s", mdm_config_keys[i].key, sb.data);
    }
    strbuf_free(&sb);
}
