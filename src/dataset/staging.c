/* Staging places for datasets being registered, their promotion, and cleanup of what
 * crashed registrations left (see staging.h). */
#include "dataset/staging.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/strbuf.h"
#include "mdm/sys/backend.h"
#include "storage/conn_datasets.h"

struct staging {
    const mdm_config *cfg;
    mdm_config *load_cfg;  /* cfg with the backend's staging_settings, if it has them */
    const mdm_backend *backend;
    char *name;
    char *dir;          /* file backends: the staging directory */
    char *dataset;      /* schema backends: the staging dataset "<name>.s<pid>" */
    mdm_store *store;
};

/* A dataset that is a namespace on a server rather than a file: staged as a dataset of
 * its own, renamed into place. */
static bool is_server(const mdm_backend *b)
{
    return !(mdm_backend_caps(b) & MDM_BACKEND_CAP_FILE);
}


/* Checks that `dataset`'s namespace fits the engine's names. */
static int check_location(const mdm_config *cfg, const mdm_backend *b, const char *dataset)
{
    mdm_backend_location where;
    return MDM_BACKEND_HAS(b, dataset_location) ? b->dataset_location(&where, cfg, dataset) : 0;
}

/* A store on dataset `dataset` of a server backend (config's server). */
static int server_store(mdm_store **out, const mdm_config *cfg, const mdm_backend *b,
                        const char *dataset)
{
    mdm_target t = {.dataset = dataset};
    return mdm_store_open(out, b->name, &t, cfg);
}

int staging_open(staging **out, const mdm_config *cfg, const char *backend, const char *name)
{
    *out = NULL;
    const mdm_backend *b = mdm_backend_find(backend);
    if (!b)
        return mdm_error_last()->code; /* unknown, or its module is missing */
    staging *s = calloc(1, sizeof *s);
    if (!s || !(s->name = strdup(name))) {
        free(s);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    s->cfg = cfg;
    s->backend = b;
    int rc = 0;
    strbuf sb = STRBUF_INIT;
    /* Staged data is thrown away on failure and made durable before the commit: the
     * backend may load it with cheaper settings. */
    if (MDM_BACKEND_HAS(b, staging_settings) &&
        ((rc = mdm_config_clone(&s->load_cfg, cfg)) || (rc = b->staging_settings(s->load_cfg)))) {
        staging_discard(s);
        return rc;
    }
    if (is_server(b)) {
        /* The staging dataset "<name>.s<pid>", renamed to <name> on promotion. */
        strbuf_appendf(&sb, "%s.s%ld", name, (long)getpid());
        s->dataset = strbuf_detach(&sb);
        /* The name itself first, so that a name that is too long is named as given. */
        rc = s->dataset ? check_location(cfg, b, name)
                        : mdm_error_set(MDM_ENOMEM, "out of memory");
        if (!rc)
            rc = check_location(cfg, b, s->dataset);
        if (!rc)
            rc = server_store(&s->store, s->load_cfg ? s->load_cfg : cfg, b, s->dataset);
    } else {
        const char *root = mdm_config_path(cfg, "datasets_path");
        strbuf_appendf(&sb, "%s/.staging-%s-%ld", root, name, (long)getpid());
        s->dir = strbuf_detach(&sb);
        if (!s->dir)
            return mdm_error_set(MDM_ENOMEM, "out of memory");
        /* A staging directory of ours from an earlier attempt in this process: start over. */
        if (!(rc = mdm_fs_remove_tree(s->dir)) && !(rc = mdm_mkdirs(s->dir))) {
            strbuf_appendf(&sb, "%s/%s%s", s->dir, name, b->file_extension);
            char *file = strbuf_detach(&sb);
            mdm_target t = {.dataset = name, .path = file};
            rc = file ? mdm_store_open(&s->store, b->name, &t, s->load_cfg ? s->load_cfg : cfg)
                      : mdm_error_set(MDM_ENOMEM, "out of memory");
            free(file);
        }
    }
    if (!rc) {
        mdm_conn *c = NULL;
        rc = mdm_store_checkout(s->store, &c);
        if (!rc)
            rc = mdm_conn_dataset_create(c);
        mdm_store_checkin(s->store, c);
    }
    if (rc) {
        staging_discard(s);
        return rc;
    }
    *out = s;
    return 0;
}

mdm_store *staging_store(staging *s) { return s->store; }

static void staging_free(staging *s)
{
    mdm_store_free(s->store);
    mdm_config_free(s->load_cfg);
    free(s->name);
    free(s->dir);
    free(s->dataset);
    free(s);
}

int staging_promote(staging *s)
{
    int rc = 0;
    if (is_server(s->backend)) {
        mdm_conn *c = NULL;
        rc = mdm_store_checkout(s->store, &c);
        if (!rc)
            rc = mdm_conn_dataset_rename(c, s->name);
        mdm_store_checkin(s->store, c);
        if (rc)
            return rc;
        staging_free(s);
        return 0;
    }
    /* Close every connection first: SQLite checkpoints its WAL, DuckDB its file. Then
     * make the files durable: the registry YAML written after this is the commit. */
    mdm_store_free(s->store);
    s->store = NULL;
    if ((rc = mdm_fs_sync_files(s->dir)))
        return rc;
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, "%s/%s", mdm_config_path(s->cfg, "datasets_path"), s->name);
    const char *final = strbuf_cstr(&sb);
    if (!final)
        rc = MDM_ENOMEM;
    else
        rc = mdm_fs_rename(s->dir, final);
    strbuf_free(&sb);
    if (rc)
        return rc;
    staging_free(s);
    return 0;
}

void staging_discard(staging *s)
{
    if (!s)
        return;
    if (s->store) {
        mdm_conn *c = NULL;
        if (is_server(s->backend) && mdm_store_checkout(s->store, &c) == 0) {
            if (mdm_conn_dataset_drop(c) != 0)
                MDM_WARN("could not drop staging dataset %s: %s", s->dataset,
                         mdm_error_last()->message);
            mdm_store_checkin(s->store, c);
        }
        mdm_store_free(s->store);
        s->store = NULL;
    }
    if (s->dir && mdm_fs_remove_tree(s->dir) != 0)
        MDM_WARN("%s", mdm_error_last()->message);
    staging_free(s);
}

int dataset_storage_exists(bool *exists, const mdm_config *cfg, const char *backend,
                           const char *name)
{
    *exists = false;
    const mdm_backend *b = mdm_backend_find(backend);
    if (!b)
        return mdm_error_last()->code; /* unknown, or its module is missing */
    if (!is_server(b)) {
        char *dir = NULL;
        int rc = mdm_fs_dataset_dir(&dir, cfg, name);
        if (!rc)
            *exists = mdm_fs_exists(dir);
        free(dir);
        return rc;
    }
    mdm_store *store = NULL;
    mdm_conn *c = NULL;
    int rc = server_store(&store, cfg, b, name);
    if (!rc)
        rc = mdm_store_checkout(store, &c);
    if (!rc)
        rc = mdm_conn_dataset_exists(c, exists);
    mdm_store_checkin(store, c);
    mdm_store_free(store);
    return rc;
}

int dataset_storage_remove(const mdm_config *cfg, const char *backend, const char *name)
{
    const mdm_backend *b = mdm_backend_find(backend);
    if (!b)
        return mdm_error_last()->code; /* unknown, or its module is missing */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", mdm_config_path(cfg, "datasets_path"), name);
    int rc = 0;
    if (is_server(b)) {
        mdm_store *store = NULL;
        mdm_conn *c = NULL;
        rc = server_store(&store, cfg, b, name);
        if (!rc)
            rc = mdm_store_checkout(store, &c);
        if (!rc)
            rc = mdm_conn_dataset_drop(c);
        mdm_store_checkin(store, c);
        mdm_store_free(store);
    }
    /* The directory holds metadata files for server datasets too. */
    int rc2 = mdm_fs_remove_tree(path);
    return rc ? rc : rc2;
}

int staging_cleanup(const mdm_config *cfg, const char *backend, const char *name)
{
    const mdm_backend *b = mdm_backend_find(backend);
    if (!b)
        return mdm_error_last()->code; /* unknown, or its module is missing */
    int rc = 0;
    char prefix[PATH_MAX];
    snprintf(prefix, sizeof prefix, ".staging-%s-", name);
    const char *root = mdm_config_path(cfg, "datasets_path");
    long pids[64];
    size_t npids = mdm_fs_pid_entries(pids, 64, root, prefix);
    for (size_t i = 0; i < npids; i++) {
        if (!(mdm_fs_process_gone(pids[i]) || pids[i] == (long)getpid()))
            continue;
        strbuf path = STRBUF_INIT;
        strbuf_appendf(&path, "%s/%s%ld", root, prefix, pids[i]);
        if (!strbuf_cstr(&path)) {
            rc = MDM_ENOMEM;
            break;
        }
        MDM_INFO("removing %s, left by an interrupted registration", path.data);
        if (mdm_fs_remove_tree(path.data) != 0 && !rc)
            rc = MDM_EIO;
        strbuf_free(&path);
    }
    if (rc || !is_server(b))
        return rc;

    /* Schema backends: staging datasets "<name>.s<pid>" of processes that are gone. */
    mdm_store *store = NULL;
    mdm_conn *c = NULL;
    char **found = NULL;
    size_t nfound = 0;
    strbuf like = STRBUF_INIT;
    strbuf_appendf(&like, "%s.s", name);
    rc = !strbuf_cstr(&like) ? MDM_ENOMEM : server_store(&store, cfg, b, name);
    if (!rc)
        rc = mdm_store_checkout(store, &c);
    if (!rc)
        rc = mdm_conn_dataset_list(c, like.data, &found, &nfound);
    mdm_store_checkin(store, c);
    mdm_store_free(store);
    for (size_t i = 0; !rc && i < nfound; i++) {
        char *end = NULL;
        long pid = strtol(found[i] + like.len, &end, 10);
        if (*end || !(mdm_fs_process_gone(pid) || pid == (long)getpid()))
            continue;
        MDM_INFO("dropping dataset %s, left by an interrupted registration", found[i]);
        store = NULL;
        c = NULL;
        rc = server_store(&store, cfg, b, found[i]);
        if (!rc)
            rc = mdm_store_checkout(store, &c);
        if (!rc)
            rc = mdm_conn_dataset_drop(c);
        mdm_store_checkin(store, c);
        mdm_store_free(store);
    }
    for (size_t i = 0; i < nfound; i++)
        free(found[i]);
    free(found);
    strbuf_free(&like);
    return rc;
}

int dataset_schema_rename(bool *moved, const mdm_config *cfg, const char *backend,
                          const char *from, const char *to)
{
    *moved = false;
    const mdm_backend *b = mdm_backend_find(backend);
    if (!b)
        return mdm_error_last()->code; /* unknown, or its module is missing */
    if (!is_server(b))
        return 0;
    mdm_store *store = NULL;
    mdm_conn *c = NULL;
    bool exists = false;
    int rc = check_location(cfg, b, to);
    if (!rc)
        rc = server_store(&store, cfg, b, from);
    if (!rc)
        rc = mdm_store_checkout(store, &c);
    if (!rc)
        rc = mdm_conn_dataset_exists(c, &exists);
    if (!rc && exists) {
        rc = mdm_conn_dataset_rename(c, to);
        *moved = rc == 0;
    }
    mdm_store_checkin(store, c);
    mdm_store_free(store);
    return rc;
}
