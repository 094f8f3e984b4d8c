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

/* PostgreSQL cuts identifiers at 63 bytes; a longer schema name would silently clash. */
#define PG_IDENT_MAX 63

struct staging {
    const mdm_config *cfg;
    mdm_config *load_cfg;  /* SQLite: cfg without journal or syncs, for the bulk load */
    const mdm_backend *backend;
    char *name;
    char *dir;          /* file backends: the staging directory */
    char *schema;       /* PostgreSQL: the staging schema */
    mdm_store *store;
};

static bool is_server(const mdm_backend *b) { return b->file_extension == NULL; }


static char *schema_of(const mdm_config *cfg, const char *dataset)
{
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, "%s%s", mdm_config_str(cfg, "database.postgresql.database_prefix"),
                   dataset);
    return strbuf_detach(&sb);
}

static int check_schema_length(const char *schema, const char *name)
{
    if (strlen(schema) <= PG_IDENT_MAX)
        return 0;
    return mdm_error_set(MDM_EINVALID,
                         "dataset name '%s' is too long for PostgreSQL: its schema '%s' would pass "
                         "the %d-byte limit of PostgreSQL names",
                         name, schema, PG_IDENT_MAX);
}

/* A store on dataset `dataset` of a server backend (config's server). */
static int server_store(mdm_store **out, const mdm_config *cfg, const mdm_backend *b,
                        const char *dataset)
{
    mdm_target t = {.dataset = dataset};
    return mdm_store_open(out, b->name, &t, cfg);
}

static int run_sql(mdm_store *store, const char *sql, const mdm_value *params, size_t n)
{
    mdm_conn *c = NULL;
    int rc = mdm_store_checkout(store, &c);
    if (!rc)
        rc = mdm_conn_execute(c, sql, params, n, NULL, NULL, NULL);
    mdm_store_checkin(store, c);
    return rc;
}

int staging_open(staging **out, const mdm_config *cfg, const char *backend, const char *name)
{
    *out = NULL;
    const mdm_backend *b = mdm_backend_find(backend);
    if (!b)
        return MDM_ENOTFOUND;
    staging *s = calloc(1, sizeof *s);
    if (!s || !(s->name = strdup(name))) {
        free(s);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    s->cfg = cfg;
    s->backend = b;
    int rc = 0;
    strbuf sb = STRBUF_INIT;
    if (is_server(b)) {
        /* The dataset of the staging store is "<name>.s<pid>": its schema gets the prefix. */
        strbuf_appendf(&sb, "%s.s%ld", name, (long)getpid());
        char *dataset = strbuf_detach(&sb);
        s->schema = dataset ? schema_of(cfg, dataset) : NULL;
        if (!s->schema)
            rc = mdm_error_set(MDM_ENOMEM, "out of memory");
        if (!rc)
            rc = check_schema_length(s->schema, name);
        if (!rc)
            rc = server_store(&s->store, cfg, b, dataset);
        free(dataset);
    } else {
        /* A staging SQLite file needs no journal and no syncs while it is loaded: on
         * failure it is deleted, and promotion syncs it to disk before the commit.
         * Pages are then written once instead of twice (through the WAL). */
        if (strcmp(b->name, "sqlite") == 0 &&
            ((rc = mdm_config_clone(&s->load_cfg, cfg)) ||
             (rc = mdm_config_set(s->load_cfg, "database.sqlite.journal_mode", "OFF")) ||
             (rc = mdm_config_set(s->load_cfg, "database.sqlite.synchronous", "OFF")))) {
            staging_discard(s);
            return rc;
        }
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
    free(s->schema);
    free(s);
}

int staging_promote(staging *s)
{
    int rc = 0;
    if (is_server(s->backend)) {
        char *final = schema_of(s->cfg, s->name);
        strbuf sql = STRBUF_INIT;
        strbuf_append(&sql, "ALTER SCHEMA ");
        strbuf_append_ident(&sql, s->schema);
        strbuf_append(&sql, " RENAME TO ");
        strbuf_append_ident(&sql, final ? final : "");
        rc = !final || !strbuf_cstr(&sql) ? MDM_ENOMEM : run_sql(s->store, sql.data, NULL, 0);
        if (rc == MDM_EBACKEND && strstr(mdm_error_last()->message, "already exists"))
            rc = mdm_error_set(MDM_EEXISTS, "PostgreSQL schema %s already exists", final);
        strbuf_free(&sql);
        free(final);
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
                MDM_WARN("could not drop staging schema %s: %s", s->schema,
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
        return MDM_ENOTFOUND;
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
        return MDM_ENOTFOUND;
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

typedef struct schema_list {
    char names[64][PG_IDENT_MAX + 1];
    size_t n;
} schema_list;

static int collect_schemas(const mdm_batch *batch, void *ctx)
{
    schema_list *f = ctx;
    for (size_t r = 0; r < mdm_batch_nrows(batch) && f->n < 64; r++) {
        size_t len;
        const char *name = mdm_batch_text(batch, 0, r, &len);
        if (len <= PG_IDENT_MAX)
            snprintf(f->names[f->n++], sizeof f->names[0], "%s", name);
    }
    return 0;
}

int staging_cleanup(const mdm_config *cfg, const char *backend, const char *name)
{
    const mdm_backend *b = mdm_backend_find(backend);
    if (!b)
        return MDM_ENOTFOUND;
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

    /* PostgreSQL: staging schemas "<prefix><name>.s<pid>" of processes that are gone. */
    char *final = schema_of(cfg, name);
    mdm_store *store = NULL;
    mdm_conn *c = NULL;
    strbuf like = STRBUF_INIT;
    strbuf_appendf(&like, "%s.s", final ? final : "");
    rc = !final || !strbuf_cstr(&like) ? MDM_ENOMEM : server_store(&store, cfg, b, name);
    if (!rc)
        rc = mdm_store_checkout(store, &c);
    schema_list f = {.n = 0};
    if (!rc) {
        mdm_value p = mdm_value_text(like.data);
        rc = mdm_conn_execute(c,
                              "SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, ?)",
                              &p, 1, collect_schemas, &f, NULL);
    }
    for (size_t i = 0; !rc && i < f.n; i++) {
        char *end = NULL;
        long pid = strtol(f.names[i] + like.len, &end, 10);
        if (*end || !(mdm_fs_process_gone(pid) || pid == (long)getpid()))
            continue;
        strbuf sql = STRBUF_INIT;
        strbuf_append(&sql, "DROP SCHEMA IF EXISTS ");
        strbuf_append_ident(&sql, f.names[i]);
        strbuf_append(&sql, " CASCADE");
        MDM_INFO("dropping PostgreSQL schema %s, left by an interrupted registration", f.names[i]);
        rc = strbuf_cstr(&sql) ? mdm_conn_execute(c, sql.data, NULL, 0, NULL, NULL, NULL)
                               : MDM_ENOMEM;
        strbuf_free(&sql);
    }
    mdm_store_checkin(store, c);
    mdm_store_free(store);
    strbuf_free(&like);
    free(final);
    return rc;
}

int dataset_schema_rename(bool *moved, const mdm_config *cfg, const char *backend,
                          const char *from, const char *to)
{
    *moved = false;
    const mdm_backend *b = mdm_backend_find(backend);
    if (!b)
        return MDM_ENOTFOUND;
    if (!is_server(b))
        return 0;
    char *from_schema = schema_of(cfg, from), *to_schema = schema_of(cfg, to);
    mdm_store *store = NULL;
    mdm_conn *c = NULL;
    bool exists = false;
    strbuf sql = STRBUF_INIT;
    int rc = from_schema && to_schema ? check_schema_length(to_schema, from) : MDM_ENOMEM;
    if (!rc)
        rc = server_store(&store, cfg, b, from);
    if (!rc)
        rc = mdm_store_checkout(store, &c);
    if (!rc)
        rc = mdm_conn_dataset_exists(c, &exists);
    if (!rc && exists) {
        strbuf_append(&sql, "ALTER SCHEMA ");
        strbuf_append_ident(&sql, from_schema);
        strbuf_append(&sql, " RENAME TO ");
        strbuf_append_ident(&sql, to_schema);
        rc = strbuf_cstr(&sql) ? mdm_conn_execute(c, sql.data, NULL, 0, NULL, NULL, NULL)
                               : MDM_ENOMEM;
        *moved = rc == 0;
    }
    mdm_store_checkin(store, c);
    mdm_store_free(store);
    strbuf_free(&sql);
    free(from_schema);
    free(to_schema);
    return rc;
}
