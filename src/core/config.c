/* Configuration: defaults < mdm.yaml < MDM_* environment.
 * PROVISIONAL: defaults only; the YAML and environment layers are being written. */
#include "mdm/mdm.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_schema.h"

struct mdm_config {
    char *home;
    char *file;
    char **values; /* textual, per key; NULL = null */
    char *paths[4];
};

static const char *const path_keys[] = {"datasets_path", "configs_path", "logs_path",
                                        "custom_features_path"};

static char *home_dir(const char *home)
{
    if (home)
        return strdup(home);
    const char *env = getenv("MDM_HOME_DIR");
    if (env && *env)
        return strdup(env);
    const char *h = getenv("HOME");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/.mdm", h ? h : ".");
    return strdup(buf);
}

int mdm_config_defaults(mdm_config **out, const char *home)
{
    mdm_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    cfg->values = calloc(mdm_config_nkeys, sizeof *cfg->values);
    cfg->home = home_dir(home);
    for (size_t i = 0; i < mdm_config_nkeys; i++)
        if (mdm_config_keys[i].def)
            cfg->values[i] = strdup(mdm_config_keys[i].def);
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/mdm.yaml", cfg->home);
    cfg->file = strdup(buf);
    for (int p = 0; p < 4; p++) {
        char key[64];
        snprintf(key, sizeof key, "paths.%s", path_keys[p]);
        const char *v = mdm_config_str(cfg, key);
        if (v[0] == '/')
            snprintf(buf, sizeof buf, "%s", v);
        else
            snprintf(buf, sizeof buf, "%s/%s", cfg->home, v);
        size_t n = strlen(buf);
        while (n > 1 && buf[n - 1] == '/')
            buf[--n] = '\0';
        cfg->paths[p] = strdup(buf);
    }
    *out = cfg;
    return 0;
}

int mdm_config_load(mdm_config **out, const char *home) { return mdm_config_defaults(out, home); }

void mdm_config_free(mdm_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < mdm_config_nkeys; i++)
        free(cfg->values[i]);
    free(cfg->values);
    for (int p = 0; p < 4; p++)
        free(cfg->paths[p]);
    free(cfg->home);
    free(cfg->file);
    free(cfg);
}

const char *mdm_config_home(const mdm_config *cfg) { return cfg->home; }
const char *mdm_config_file(const mdm_config *cfg) { return cfg->file; }

const char *mdm_config_path(const mdm_config *cfg, const char *which)
{
    for (int p = 0; p < 4; p++)
        if (strcmp(path_keys[p], which) == 0)
            return cfg->paths[p];
    assert(!"unknown path key");
    return NULL;
}

static const char *raw(const mdm_config *cfg, const char *key)
{
    long i = mdm_config_key_index(key);
    assert(i >= 0 && "unknown config key");
    return cfg->values[i];
}

int64_t mdm_config_int(const mdm_config *cfg, const char *key)
{
    const char *v = raw(cfg, key);
    return v ? strtoll(v, NULL, 10) : 0;
}

double mdm_config_double(const mdm_config *cfg, const char *key)
{
    const char *v = raw(cfg, key);
    return v ? strtod(v, NULL) : 0;
}

bool mdm_config_bool(const mdm_config *cfg, const char *key)
{
    const char *v = raw(cfg, key);
    return v && strcmp(v, "true") == 0;
}

const char *mdm_config_str(const mdm_config *cfg, const char *key) { return raw(cfg, key); }

size_t mdm_config_list_len(const mdm_config *cfg, const char *key)
{
    const char *v = raw(cfg, key);
    size_t n = v && *v ? 1 : 0;
    for (; v && *v; v++)
        n += *v == ',';
    return n;
}

int64_t mdm_config_list_int(const mdm_config *cfg, const char *key, size_t i)
{
    const char *v = raw(cfg, key);
    while (i-- && v) {
        v = strchr(v, ',');
        if (v)
            v++;
    }
    return v ? strtoll(v, NULL, 10) : 0;
}

int mdm_config_set(mdm_config *cfg, const char *key, const char *value)
{
    long i = mdm_config_key_index(key);
    if (i < 0)
        return mdm_error_set(MDM_ECONFIG, "unknown configuration key '%s'", key);
    free(cfg->values[i]);
    cfg->values[i] = value ? strdup(value) : NULL;
    return 0;
}

int mdm_config_format(char **out, const mdm_config *cfg, const char *key, bool mask)
{
    long i = mdm_config_key_index(key);
    if (i < 0)
        return mdm_error_set(MDM_ENOTFOUND, "unknown configuration key '%s'", key);
    const char *v = cfg->values[i];
    *out = strdup(!v ? "null" : (mask && mdm_config_keys[i].secret) ? "********" : v);
    return 0;
}

void mdm_config_foreach(const mdm_config *cfg, void (*fn)(const char *, const char *, void *),
                        bool mask, void *ctx)
{
    for (size_t i = 0; i < mdm_config_nkeys; i++) {
        char *v = NULL;
        if (mdm_config_format(&v, cfg, mdm_config_keys[i].key, mask) == 0)
            fn(mdm_config_keys[i].key, v, ctx);
        free(v);
    }
}

bool mdm_config_has(const char *key) { return mdm_config_key_index(key) >= 0; }
