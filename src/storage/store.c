/* The factory: (backend, target) -> a store over the target's shared pool, from which
 * connections are checked out and back in. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "core/strbuf.h"
#include "storage/conn.h"
#include "storage/pools.h"
#include "storage/store.h"

struct mdm_store {
    const mdm_backend *backend;
    char *dataset;
    pool *pool;
};

int mdm_store_open(mdm_store **out, const char *backend, const mdm_target *target,
                   const mdm_config *cfg)
{
    *out = NULL;
    const mdm_backend *be = mdm_backend_find(backend);
    if (!be)
        return mdm_error_last()->code; /* unknown, or its module is missing */
    if (!target || !target->dataset)
        return mdm_error_set(MDM_EINVALID, "a store needs a dataset name");
    bool file = mdm_backend_caps(be) & MDM_BACKEND_CAP_FILE;
    if (file && !target->path)
        return mdm_error_set(MDM_EINVALID, "backend '%s' needs a database file path", be->name);
    mdm_store *s = calloc(1, sizeof *s);
    if (!s || !(s->dataset = strdup(target->dataset))) {
        free(s);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    s->backend = be;
    int rc = pools_get(&s->pool, be, target, cfg);
    if (rc) {
        free(s->dataset);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int mdm_store_open_dataset(mdm_store **out, const char *backend, const char *dataset,
                           const mdm_config *cfg)
{
    *out = NULL;
    const mdm_backend *be = mdm_backend_find(backend);
    if (!be)
        return mdm_error_last()->code; /* unknown, or its module is missing */
    char name[512];
    int rc = mdm_dataset_name_normalize(name, sizeof name, dataset);
    if (rc)
        return rc;
    mdm_target t = {.dataset = name};
    char *path = NULL;
    if ((mdm_backend_caps(be) & MDM_BACKEND_CAP_FILE) &&
        (rc = mdm_fs_dataset_file(&path, cfg, name, be->file_extension)))
        return rc;
    t.path = path;
    rc = mdm_store_open(out, be->name, &t, cfg);
    free(path);
    return rc;
}

void mdm_store_free(mdm_store *s)
{
    if (!s)
        return;
    pools_put(s->pool);
    free(s->dataset);
    free(s);
}

const char *mdm_store_backend_name(const mdm_store *s) { return s->backend->name; }
const char *mdm_store_describe(const mdm_store *s) { return pool_name(s->pool); }
const char *mdm_store_dataset(const mdm_store *s) { return s->dataset; }
pool *mdm_store_pool(const mdm_store *s) { return s->pool; }

/* A server backend serves many datasets per pool: point the session at ours. */
static int select_dataset(mdm_store *s, mdm_conn *c)
{
    if (!s->backend->use_dataset || (c->dataset && strcmp(c->dataset, s->dataset) == 0))
        return 0;
    free(c->dataset);
    c->dataset = NULL;
    int rc = s->backend->use_dataset(c->raw, s->dataset);
    if (rc) {
        c->failed = true;
        return rc;
    }
    c->dataset = strdup(s->dataset);
    return 0;
}

int mdm_store_checkout(mdm_store *s, mdm_conn **out)
{
    *out = NULL;
    mdm_conn *c = NULL;
    int rc = pool_acquire(s->pool, &c);
    if (rc)
        return rc;
    c->store = s;
    if ((rc = select_dataset(s, c))) {
        pool_release(s->pool, c);
        return rc;
    }
    *out = c;
    return 0;
}

int mdm_store_reconnect(mdm_conn *c)
{
    int rc = pool_reconnect(c->store->pool, c);
    return rc ? rc : select_dataset(c->store, c);
}

void mdm_store_checkin(mdm_store *s, mdm_conn *c)
{
    if (c)
        pool_release(s->pool, c);
}

int mdm_store_pool_stats(mdm_store *s, mdm_pool_stats *out)
{
    pool_stats(s->pool, out);
    return 0;
}

int mdm_pool_stats_all(mdm_pool_stats **out, size_t *count) { return pools_stats_all(out, count); }

int mdm_store_resize(mdm_store *s, size_t min_size, size_t max_size)
{
    return pool_resize(s->pool, min_size, max_size);
}

int mdm_store_drain(mdm_store *s, uint64_t timeout_ms) { return pool_drain(s->pool, timeout_ms); }
