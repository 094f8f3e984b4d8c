/* An in-memory backend for the tests (see fake_backend.h).
 *
 * A database per target (its path, else its dataset name) lives until the process
 * ends. Tables keep the appended batches, copied. One writer at a time per database
 * (like SQLite): a transaction, or a single write outside one, waits for the writer
 * slot (MDM_EBUSY after 10 s). Changes apply at once with an undo log; connections
 * other than the writer's see only committed rows (appends only add batches at the
 * end, so a count of committed batches is the snapshot). Batches that rollback or a
 * drop remove are kept until no read is under way, so readers copy batch pointers
 * under the lock and read without it. */
#include "fake_backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct ftable {
    char *name;
    mdm_field *fields; /* names owned */
    size_t nfields;
    mdm_batch **batches;
    size_t nbatches, cap;
    size_t committed; /* batches other connections see */
    struct ftable *next;
} ftable;

typedef struct fmeta {
    char *key, *value;
    struct fmeta *next;
} fmeta;

typedef struct fdataset {
    char *name;
    ftable *tables;
    fmeta *meta;
    struct fdataset *next;
} fdataset;

typedef struct fdb {
    char *key;
    fdataset *datasets;
    mdm_backend_conn *writer;
    size_t readers;
    mdm_batch **grave; /* removed batches, freed when no read is under way */
    size_t ngrave, capgrave;
    struct fdb *next;
} fdb;

typedef enum { U_APPEND, U_CREATE, U_DROP, U_META } undo_kind;

typedef struct undo {
    undo_kind kind;
    fdataset *ds;
    ftable *table;
    size_t nbatches;   /* U_APPEND: before */
    char *key, *value; /* U_META: the old value, NULL when there was none */
    struct undo *next;
} undo;

struct mdm_backend_conn {
    fdb *db;
    char *dataset;
    bool in_tx;
    undo *undo; /* newest first */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t writer_free = PTHREAD_COND_INITIALIZER;
static fdb *dbs;

static int oom(void) { return mdm_error_set(MDM_ENOMEM, "fake: out of memory"); }

/* ------------------------------------------------------------------ memory */

static void bury(fdb *db, mdm_batch *b)
{
    if (db->readers == 0) {
        mdm_batch_free(b);
        return;
    }
    if (db->ngrave == db->capgrave) {
        size_t cap = db->capgrave ? 2 * db->capgrave : 16;
        mdm_batch **g = realloc(db->grave, cap * sizeof *g);
        if (!g) {
            mdm_batch_free(b); /* cannot keep it: no reader holds batches this old */
            return;
        }
        db->grave = g;
        db->capgrave = cap;
    }
    db->grave[db->ngrave++] = b;
}

static void table_free(fdb *db, ftable *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nbatches; i++)
        bury(db, t->batches[i]);
    free(t->batches);
    mdm_fields_free(t->fields, t->nfields);
    free(t->name);
    free(t);
}

static void meta_free(fmeta *m)
{
    while (m) {
        fmeta *next = m->next;
        free(m->key);
        free(m->value);
        free(m);
        m = next;
    }
}

static void dataset_free(fdb *db, fdataset *ds)
{
    while (ds->tables) {
        ftable *next = ds->tables->next;
        table_free(db, ds->tables);
        ds->tables = next;
    }
    meta_free(ds->meta);
    free(ds->name);
    free(ds);
}

__attribute__((destructor)) static void free_everything(void)
{
    while (dbs) {
        fdb *next = dbs->next;
        dbs->readers = 0;
        while (dbs->datasets) {
            fdataset *ds = dbs->datasets->next;
            dataset_free(dbs, dbs->datasets);
            dbs->datasets = ds;
        }
        for (size_t i = 0; i < dbs->ngrave; i++)
            mdm_batch_free(dbs->grave[i]);
        free(dbs->grave);
        free(dbs->key);
        free(dbs);
        dbs = next;
    }
}

/* ------------------------------------------------------------------ lookups (locked) */

static fdataset *find_dataset(const mdm_backend_conn *c, const char *name)
{
    for (fdataset *ds = c->db->datasets; ds; ds = ds->next)
        if (strcmp(ds->name, name) == 0)
            return ds;
    return NULL;
}

/* The connection's dataset, or an error. */
static int current(fdataset **out, const mdm_backend_conn *c)
{
    *out = c->dataset ? find_dataset(c, c->dataset) : NULL;
    if (*out)
        return 0;
    return mdm_error_set(MDM_ENOTFOUND, "fake: dataset '%s' does not exist",
                         c->dataset ? c->dataset : "(none selected)");
}

static ftable **find_table(fdataset *ds, const char *name)
{
    ftable **p = &ds->tables;
    while (*p && strcmp((*p)->name, name) != 0)
        p = &(*p)->next;
    return p;
}

static int table_of(ftable **out, const mdm_backend_conn *c, const char *name)
{
    fdataset *ds;
    int rc = current(&ds, c);
    if (rc)
        return rc;
    *out = *find_table(ds, name);
    return *out ? 0 : mdm_error_set(MDM_ENOTFOUND, "fake: no table '%s'", name);
}

/* ------------------------------------------------------------------ the writer slot */

/* Takes the database's writer slot (locked); waits at most 10 s for it. */
static int acquire(mdm_backend_conn *c)
{
    fdb *db = c->db;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    while (db->writer && db->writer != c)
        if (pthread_cond_timedwait(&writer_free, &lock, &deadline) == ETIMEDOUT && db->writer &&
            db->writer != c)
            return mdm_error_set(MDM_EBUSY, "fake: database %s is locked by a writer", db->key);
    db->writer = c;
    return 0;
}

static void publish(fdb *db)
{
    for (fdataset *ds = db->datasets; ds; ds = ds->next)
        for (ftable *t = ds->tables; t; t = t->next)
            t->committed = t->nbatches;
}

static void release(mdm_backend_conn *c)
{
    if (c->db->writer == c) {
        c->db->writer = NULL;
        pthread_cond_broadcast(&writer_free);
    }
}

/* Ends a write outside a transaction: it is committed at once. */
static int finish_write(mdm_backend_conn *c, int rc)
{
    if (!c->in_tx) {
        publish(c->db);
        release(c);
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

static int log_undo(mdm_backend_conn *c, undo u)
{
    if (!c->in_tx)
        return 0;
    undo *n = malloc(sizeof *n);
    if (!n)
        return oom();
    *n = u;
    n->next = c->undo;
    c->undo = n;
    return 0;
}

/* Applies (rollback) or forgets (commit) the undo log; locked. */
static void end_transaction(mdm_backend_conn *c, bool roll_back)
{
    fdb *db = c->db;
    while (c->undo) {
        undo *u = c->undo;
        c->undo = u->next;
        switch (u->kind) {
        case U_APPEND:
            if (roll_back) {
                for (size_t i = u->nbatches; i < u->table->nbatches; i++)
                    bury(db, u->table->batches[i]);
                u->table->nbatches = u->nbatches;
                if (u->table->committed > u->nbatches)
                    u->table->committed = u->nbatches;
            }
            break;
        case U_CREATE:
            if (roll_back) {
                ftable **p = find_table(u->ds, u->table->name);
                if (*p == u->table)
                    *p = u->table->next;
                table_free(db, u->table);
            }
            break;
        case U_DROP:
            if (roll_back) {
                u->table->next = u->ds->tables;
                u->ds->tables = u->table;
            } else {
                table_free(db, u->table);
            }
            break;
        case U_META:
            if (roll_back) {
                fmeta **p = &u->ds->meta;
                while (*p && strcmp((*p)->key, u->key) != 0)
                    p = &(*p)->next;
                if (*p && u->value) {
                    free((*p)->value);
                    (*p)->value = u->value;
                    u->value = NULL;
                } else if (*p) {
                    fmeta *gone = *p;
                    *p = gone->next;
                    gone->next = NULL;
                    meta_free(gone);
                }
            }
            free(u->key);
            free(u->value);
            break;
        }
        free(u);
    }
    if (!roll_back)
        publish(db);
    c->in_tx = false;
    release(c);
}

/* ------------------------------------------------------------------ connections */

static const char *library_version(void) { return "fake 2.0"; }

static int open_conn(mdm_backend_conn **out, const mdm_target *target, const mdm_config *cfg)
{
    (void)cfg;
    *out = NULL;
    const char *key = target->path ? target->path : target->dataset;
    if (!key)
        return mdm_error_set(MDM_EINVALID, "fake: a target needs a path or a dataset");
    mdm_backend_conn *c = calloc(1, sizeof *c);
    if (!c)
        return oom();
    pthread_mutex_lock(&lock);
    fdb *db = dbs;
    while (db && strcmp(db->key, key) != 0)
        db = db->next;
    if (!db) {
        db = calloc(1, sizeof *db);
        if (db && !(db->key = strdup(key))) {
            free(db);
            db = NULL;
        }
        if (db) {
            db->next = dbs;
            dbs = db;
        }
    }
    pthread_mutex_unlock(&lock);
    if (!db) {
        free(c);
        return oom();
    }
    c->db = db;
    *out = c;
    return 0;
}

static void close_conn(mdm_backend_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&lock);
    end_transaction(c, true);
    pthread_mutex_unlock(&lock);
    free(c->dataset);
    free(c);
}

static int ping(mdm_backend_conn *c)
{
    (void)c;
    return 0;
}

static int reset(mdm_backend_conn *c)
{
    pthread_mutex_lock(&lock);
    end_transaction(c, true);
    pthread_mutex_unlock(&lock);
    return 0;
}

static int use_dataset(mdm_backend_conn *c, const char *dataset)
{
    char *name = strdup(dataset);
    if (!name)
        return oom();
    free(c->dataset);
    c->dataset = name;
    return 0;
}

static int begin(mdm_backend_conn *c)
{
    pthread_mutex_lock(&lock);
    int rc = c->in_tx ? mdm_error_set(MDM_EINVALID, "fake: a transaction is open") : acquire(c);
    if (!rc)
        c->in_tx = true;
    pthread_mutex_unlock(&lock);
    return rc;
}

static int commit(mdm_backend_conn *c)
{
    pthread_mutex_lock(&lock);
    int rc = c->in_tx ? 0 : mdm_error_set(MDM_EINVALID, "fake: no transaction is open");
    if (!rc)
        end_transaction(c, false);
    pthread_mutex_unlock(&lock);
    return rc;
}

static int rollback(mdm_backend_conn *c)
{
    pthread_mutex_lock(&lock);
    end_transaction(c, true);
    pthread_mutex_unlock(&lock);
    return 0;
}

static int transaction_state(mdm_backend_conn *c, bool *in_transaction)
{
    *in_transaction = c->in_tx;
    return 0;
}

/* ------------------------------------------------------------------ datasets */

/* Datasets are not transactional here: creating or dropping one takes the writer slot
 * and applies at once. */
static int dataset_create(mdm_backend_conn *c, const char *dataset)
{
    pthread_mutex_lock(&lock);
    int rc = acquire(c);
    if (!rc && !find_dataset(c, dataset)) {
        fdataset *ds = calloc(1, sizeof *ds);
        if (!ds || !(ds->name = strdup(dataset))) {
            free(ds);
            rc = oom();
        } else {
            ds->next = c->db->datasets;
            c->db->datasets = ds;
        }
    }
    return finish_write(c, rc);
}

static int dataset_exists(mdm_backend_conn *c, const char *dataset, bool *exists)
{
    pthread_mutex_lock(&lock);
    *exists = find_dataset(c, dataset) != NULL;
    pthread_mutex_unlock(&lock);
    return 0;
}

static int dataset_drop(mdm_backend_conn *c, const char *dataset)
{
    pthread_mutex_lock(&lock);
    int rc = acquire(c);
    if (!rc && c->in_tx)
        rc = mdm_error_set(MDM_ENOTSUP, "fake: datasets are not dropped inside a transaction");
    fdataset **p = &c->db->datasets;
    while (!rc && *p && strcmp((*p)->name, dataset) != 0)
        p = &(*p)->next;
    if (!rc && *p) {
        fdataset *gone = *p;
        *p = gone->next;
        dataset_free(c->db, gone);
    }
    return finish_write(c, rc);
}

/* ------------------------------------------------------------------ tables */

static int table_create(mdm_backend_conn *c, const char *table, const mdm_field *fields,
                        size_t nfields)
{
    pthread_mutex_lock(&lock);
    fdataset *ds;
    int rc = current(&ds, c);
    if (!rc)
        rc = acquire(c);
    if (!rc && *find_table(ds, table))
        rc = mdm_error_set(MDM_EEXISTS, "fake: table '%s' already exists", table);
    ftable *t = rc ? NULL : calloc(1, sizeof *t);
    if (!rc && (!t || !(t->name = strdup(table)) ||
                !(t->fields = calloc(nfields, sizeof *t->fields))))
        rc = oom();
    for (size_t i = 0; !rc && i < nfields; i++) {
        t->fields[i].type = fields[i].type;
        if (!(t->fields[i].name = strdup(fields[i].name)))
            rc = oom();
        t->nfields = i + 1;
    }
    if (!rc)
        rc = log_undo(c, (undo){.kind = U_CREATE, .ds = ds, .table = t});
    if (rc) {
        if (t)
            table_free(c->db, t);
    } else {
        t->next = ds->tables;
        ds->tables = t;
    }
    return finish_write(c, rc);
}

static int table_drop(mdm_backend_conn *c, const char *table)
{
    pthread_mutex_lock(&lock);
    fdataset *ds;
    int rc = current(&ds, c);
    if (!rc)
        rc = acquire(c);
    ftable **p = rc ? NULL : find_table(ds, table);
    if (!rc && !*p)
        rc = mdm_error_set(MDM_ENOTFOUND, "fake: no table '%s'", table);
    if (!rc)
        rc = log_undo(c, (undo){.kind = U_DROP, .ds = ds, .table = *p});
    if (!rc) {
        ftable *gone = *p;
        *p = gone->next;
        if (!c->in_tx)
            table_free(c->db, gone);
    }
    return finish_write(c, rc);
}

static int table_exists(mdm_backend_conn *c, const char *table, bool *exists)
{
    pthread_mutex_lock(&lock);
    fdataset *ds;
    *exists = current(&ds, c) == 0 && *find_table(ds, table);
    pthread_mutex_unlock(&lock);
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int table_list(mdm_backend_conn *c, char ***names, size_t *count)
{
    *names = NULL;
    *count = 0;
    pthread_mutex_lock(&lock);
    fdataset *ds;
    int rc = current(&ds, c);
    size_t n = 0;
    for (ftable *t = rc ? NULL : ds->tables; t; t = t->next)
        n++;
    char **out = n ? calloc(n, sizeof *out) : NULL;
    if (n && !out)
        rc = oom();
    size_t i = 0;
    for (ftable *t = rc ? NULL : ds->tables; t; t = t->next, i++)
        if (!(out[i] = strdup(t->name)))
            rc = oom();
    pthread_mutex_unlock(&lock);
    if (rc) {
        for (size_t k = 0; out && k < n; k++)
            free(out[k]);
        free(out);
        return rc;
    }
    if (n)
        qsort(out, n, sizeof *out, compare_names);
    *names = out;
    *count = n;
    return 0;
}

static int copy_fields(mdm_field **out, const mdm_field *fields, size_t n)
{
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out)
        return oom();
    for (size_t i = 0; i < n; i++) {
        (*out)[i].type = fields[i].type;
        if (!((*out)[i].name = strdup(fields[i].name))) {
            mdm_fields_free(*out, i);
            *out = NULL;
            return oom();
        }
    }
    return 0;
}

static int table_schema(mdm_backend_conn *c, const char *table, mdm_field **fields,
                        size_t *nfields)
{
    *fields = NULL;
    *nfields = 0;
    pthread_mutex_lock(&lock);
    ftable *t;
    int rc = table_of(&t, c, table);
    if (!rc && !(rc = copy_fields(fields, t->fields, t->nfields)))
        *nfields = t->nfields;
    pthread_mutex_unlock(&lock);
    return rc;
}

/* ------------------------------------------------------------------ rows */

static int copy_batch(mdm_batch **out, const ftable *t, const mdm_batch *batch)
{
    size_t nrows = mdm_batch_nrows(batch);
    int rc = mdm_batch_new(out, t->fields, t->nfields, nrows);
    for (size_t r = 0; !rc && r < nrows; r++) {
        size_t row;
        rc = mdm_batch_add_row(*out, &row);
        for (size_t col = 0; !rc && col < t->nfields; col++) {
            mdm_value v = mdm_batch_value(batch, col, r);
            rc = mdm_batch_set_value(*out, col, row, &v);
        }
    }
    if (rc) {
        mdm_batch_free(*out);
        *out = NULL;
    }
    return rc;
}

static int append(mdm_backend_conn *c, const char *table, const mdm_batch *batch)
{
    pthread_mutex_lock(&lock);
    ftable *t;
    int rc = table_of(&t, c, table);
    if (!rc && mdm_batch_ncols(batch) != t->nfields)
        rc = mdm_error_set(MDM_EINVALID, "fake: table '%s' has %zu columns, the batch %zu", table,
                           t->nfields, mdm_batch_ncols(batch));
    for (size_t i = 0; !rc && i < t->nfields; i++)
        if (mdm_batch_field(batch, i)->type != t->fields[i].type)
            rc = mdm_error_set(MDM_EINVALID, "fake: column '%s' of '%s' is %s, the batch's %s",
                               t->fields[i].name, table, mdm_type_name(t->fields[i].type),
                               mdm_type_name(mdm_batch_field(batch, i)->type));
    if (!rc)
        rc = acquire(c);
    pthread_mutex_unlock(&lock);
    /* The copy is made without the lock: the writer slot keeps the table ours. */
    mdm_batch *copy = NULL;
    if (!rc)
        rc = copy_batch(&copy, t, batch);
    pthread_mutex_lock(&lock);
    if (!rc && t->nbatches == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        mdm_batch **more = realloc(t->batches, cap * sizeof *more);
        if (more) {
            t->batches = more;
            t->cap = cap;
        } else {
            rc = oom();
        }
    }
    if (!rc)
        rc = log_undo(c, (undo){.kind = U_APPEND, .table = t, .nbatches = t->nbatches});
    if (!rc)
        t->batches[t->nbatches++] = copy;
    else
        mdm_batch_free(copy);
    return finish_write(c, rc);
}

/* What a read sees, taken under the lock. */
typedef struct snapshot {
    mdm_batch **batches;
    size_t nbatches;
    mdm_field *fields; /* the columns read, in the order asked */
    size_t *source;    /* each one's column in the table */
    size_t ncols;
} snapshot;

static int take_snapshot(snapshot *s, mdm_backend_conn *c, const mdm_read_request *req)
{
    ftable *t;
    int rc = table_of(&t, c, req->table);
    if (rc)
        return rc;
    s->ncols = req->columns ? req->ncolumns : t->nfields;
    s->source = calloc(s->ncols ? s->ncols : 1, sizeof *s->source);
    mdm_field *picked = calloc(s->ncols ? s->ncols : 1, sizeof *picked);
    if (!s->source || !picked) {
        free(picked);
        return oom();
    }
    for (size_t i = 0; i < s->ncols; i++) {
        size_t k = i;
        if (req->columns) {
            for (k = 0; k < t->nfields && strcmp(t->fields[k].name, req->columns[i]) != 0; k++)
                ;
            if (k == t->nfields) {
                free(picked);
                return mdm_error_set(MDM_ENOTFOUND, "fake: table '%s' has no column '%s'",
                                     req->table, req->columns[i]);
            }
        }
        s->source[i] = k;
        picked[i] = t->fields[k];
    }
    rc = copy_fields(&s->fields, picked, s->ncols);
    free(picked);
    if (rc)
        return rc;
    s->nbatches = c->db->writer == c ? t->nbatches : t->committed;
    s->batches = calloc(s->nbatches ? s->nbatches : 1, sizeof *s->batches);
    if (!s->batches)
        return oom();
    if (s->nbatches)
        memcpy(s->batches, t->batches, s->nbatches * sizeof *s->batches);
    return 0;
}

static int read_rows(mdm_backend_conn *c, const mdm_read_request *req, mdm_batch_sink sink,
                     void *ctx)
{
    if (req->where)
        return mdm_error_set(MDM_ENOTSUP, "fake: no SQL, so no read filters");
    snapshot s = {0};
    pthread_mutex_lock(&lock);
    int rc = take_snapshot(&s, c, req);
    if (!rc)
        c->db->readers++;
    pthread_mutex_unlock(&lock);
    bool reading = rc == 0;

    size_t per = req->batch_rows ? req->batch_rows : 10000;
    mdm_batch *out = NULL;
    if (!rc)
        rc = mdm_batch_new(&out, s.fields, s.ncols, per);
    int64_t skip = req->offset, left = req->limit;
    for (size_t b = 0; !rc && left != 0 && b < s.nbatches; b++) {
        size_t nrows = mdm_batch_nrows(s.batches[b]);
        for (size_t r = 0; !rc && left != 0 && r < nrows; r++) {
            if (skip > 0) {
                skip--;
                continue;
            }
            size_t row;
            rc = mdm_batch_add_row(out, &row);
            for (size_t col = 0; !rc && col < s.ncols; col++) {
                mdm_value v = mdm_batch_value(s.batches[b], s.source[col], r);
                rc = mdm_batch_set_value(out, col, row, &v);
            }
            if (left > 0)
                left--;
            if (!rc && mdm_batch_nrows(out) == per) {
                rc = sink(out, ctx);
                mdm_batch_clear(out);
            }
        }
    }
    if (!rc && out && mdm_batch_nrows(out) > 0)
        rc = sink(out, ctx);
    mdm_batch_free(out);

    pthread_mutex_lock(&lock);
    if (reading && --c->db->readers == 0) {
        for (size_t i = 0; i < c->db->ngrave; i++)
            mdm_batch_free(c->db->grave[i]);
        c->db->ngrave = 0;
    }
    pthread_mutex_unlock(&lock);
    free(s.batches);
    free(s.source);
    mdm_fields_free(s.fields, s.ncols);
    return rc;
}

/* ------------------------------------------------------------------ metadata */

static int metadata_get(mdm_backend_conn *c, const char *key, char **value)
{
    *value = NULL;
    pthread_mutex_lock(&lock);
    fdataset *ds;
    int rc = current(&ds, c);
    fmeta *m = rc ? NULL : ds->meta;
    while (m && strcmp(m->key, key) != 0)
        m = m->next;
    if (!rc && !m)
        rc = mdm_error_set(MDM_ENOTFOUND, "fake: no metadata key '%s'", key);
    if (!rc && !(*value = strdup(m->value)))
        rc = oom();
    pthread_mutex_unlock(&lock);
    return rc;
}

static int metadata_set(mdm_backend_conn *c, const char *key, const char *value)
{
    if (!key || !value)
        return mdm_error_set(MDM_EINVALID, "fake: metadata key and value must not be NULL");
    pthread_mutex_lock(&lock);
    fdataset *ds;
    int rc = current(&ds, c);
    if (!rc)
        rc = acquire(c);
    fmeta *m = rc ? NULL : ds->meta;
    while (m && strcmp(m->key, key) != 0)
        m = m->next;
    char *copy = rc ? NULL : strdup(value);
    char *undo_key = rc || !c->in_tx ? NULL : strdup(key);
    if (!rc && (!copy || (c->in_tx && !undo_key)))
        rc = oom();
    if (!rc && !m) {
        if (!(m = calloc(1, sizeof *m)) || !(m->key = strdup(key))) {
            free(m);
            m = NULL;
            rc = oom();
        } else {
            m->next = ds->meta;
            ds->meta = m;
        }
    }
    if (!rc) {
        rc = log_undo(c, (undo){.kind = U_META, .ds = ds, .key = undo_key, .value = m->value});
        if (!rc) {
            undo_key = NULL;
            if (!c->in_tx)
                free(m->value);
            m->value = copy;
            copy = NULL;
        }
    }
    free(copy);
    free(undo_key);
    return finish_write(c, rc);
}

/* ------------------------------------------------------------------ the table */

const mdm_backend mdm_test_fake_backend = {
    MDM_BACKEND_INIT,
    .name = "fake",
    .library_version = library_version,
    .open = open_conn,
    .close = close_conn,
    .ping = ping,
    .reset = reset,
    .use_dataset = use_dataset,
    .begin = begin,
    .commit = commit,
    .rollback = rollback,
    .dataset_create = dataset_create,
    .dataset_exists = dataset_exists,
    .dataset_drop = dataset_drop,
    .table_create = table_create,
    .table_drop = table_drop,
    .table_exists = table_exists,
    .table_list = table_list,
    .table_schema = table_schema,
    .append = append,
    .read = read_rows,
    .metadata_get = metadata_get,
    .metadata_set = metadata_set,
    .capabilities = MDM_BACKEND_CAP_TRANSACTIONAL_DDL,
    .transaction_state = transaction_state,
};
