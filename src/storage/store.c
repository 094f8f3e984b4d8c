/* The factory: (backend, target) -> a store from which connections are checked out.
 * Connections returned in good order are kept for reuse; the pool of issue #3 takes
 * over this role behind the same calls. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "storage/conn.h"
#include "storage/store.h"

#define IDLE_MAX 16

struct mdm_store {
    const mdm_backend *backend;
    const mdm_config *cfg;
    mdm_target target; /* strings owned */
    char *describe;
    pthread_mutex_t lock;
    mdm_conn *idle[IDLE_MAX];
    size_t nidle;
};

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

int mdm_store_open(mdm_store **out, const char *backend, const mdm_target *target,
                   const mdm_config *cfg)
{
    *out = NULL;
    const mdm_backend *be = mdm_backend_find(backend);
    if (!be)
        return MDM_ENOTFOUND;
    if (!target || !target->dataset)
        return mdm_error_set(MDM_EINVALID, "a store needs a dataset name");
    if (be->file_extension && !target->path)
        return mdm_error_set(MDM_EINVALID, "backend '%s' needs a database file path", be->name);
    mdm_store *s = calloc(1, sizeof *s);
    if (!s)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    s->backend = be;
    s->cfg = cfg;
    s->target.dataset = dup_or_null(target->dataset);
    s->target.path = dup_or_null(target->path);
    s->target.conninfo = dup_or_null(target->conninfo);
    pthread_mutex_init(&s->lock, NULL);
    strbuf d = STRBUF_INIT;
    if (target->path)
        strbuf_appendf(&d, "%s:%s", be->name, target->path);
    else if (target->conninfo)
        strbuf_appendf(&d, "%s:%s", be->name, target->dataset);
    else
        strbuf_appendf(&d, "%s:%s:%lld/%s/%s", be->name,
                       mdm_config_str(cfg, "database.postgresql.host"),
                       (long long)mdm_config_int(cfg, "database.postgresql.port"),
                       mdm_config_str(cfg, "database.postgresql.database"), target->dataset);
    s->describe = strbuf_detach(&d);
    if (!s->target.dataset || !s->describe) {
        mdm_store_free(s);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
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
        return MDM_ENOTFOUND;
    char name[512];
    int rc = mdm_dataset_name_normalize(name, sizeof name, dataset);
    if (rc)
        return rc;
    mdm_target t = {.dataset = name};
    char path[PATH_MAX];
    if (be->file_extension) {
        int n = snprintf(path, sizeof path, "%s/%s/%s%s", mdm_config_path(cfg, "datasets_path"),
                         name, name, be->file_extension);
        if (n < 0 || (size_t)n >= sizeof path)
            return mdm_error_set(MDM_EINVALID, "dataset path for '%s' is too long", name);
        t.path = path;
    }
    return mdm_store_open(out, be->name, &t, cfg);
}

static void conn_destroy(mdm_conn *c)
{
    if (!c)
        return;
    c->backend->close(c->raw);
    free(c);
}

void mdm_store_free(mdm_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nidle; i++)
        conn_destroy(s->idle[i]);
    pthread_mutex_destroy(&s->lock);
    free((char *)s->target.dataset);
    free((char *)s->target.path);
    free((char *)s->target.conninfo);
    free(s->describe);
    free(s);
}

const char *mdm_store_backend_name(const mdm_store *s) { return s->backend->name; }
const char *mdm_store_describe(const mdm_store *s) { return s->describe; }
const char *mdm_store_dataset(const mdm_store *s) { return s->target.dataset; }

static int conn_create(mdm_store *s, mdm_conn **out)
{
    mdm_conn *c = calloc(1, sizeof *c);
    if (!c)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    int rc = s->backend->open(&c->raw, &s->target, s->cfg);
    if (rc) {
        free(c);
        return rc;
    }
    c->backend = s->backend;
    c->store = s;
    c->created_ns = c->last_used_ns = mdm_now_ns();
    *out = c;
    return 0;
}

int mdm_store_checkout(mdm_store *s, mdm_conn **out)
{
    *out = NULL;
    mdm_conn *c = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->nidle)
        c = s->idle[--s->nidle];
    pthread_mutex_unlock(&s->lock);
    int rc = 0;
    if (!c && (rc = conn_create(s, &c)))
        return rc;
    if (s->backend->use_dataset && (rc = s->backend->use_dataset(c->raw, s->target.dataset))) {
        conn_destroy(c);
        return rc;
    }
    c->last_used_ns = mdm_now_ns();
    *out = c;
    return 0;
}

void mdm_store_checkin(mdm_store *s, mdm_conn *c)
{
    if (!c)
        return;
    bool keep = true;
    if (c->in_transaction || c->failed) {
        c->in_transaction = false;
        /* A connection that cannot be reset or answer a ping is not given out again. */
        keep = (!s->backend->reset || s->backend->reset(c->raw) == 0) &&
               (!c->failed || !s->backend->ping || s->backend->ping(c->raw) == 0);
        c->failed = false;
    }
    c->last_used_ns = mdm_now_ns();
    pthread_mutex_lock(&s->lock);
    if (keep && s->nidle < IDLE_MAX) {
        s->idle[s->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    conn_destroy(c);
}
