/* The public dataset API (mdm/dataset.h) on every backend (PostgreSQL when
 * scripts/test-postgres provides a server; skipped with exit 77 otherwise unless
 * MDM_REQUIRE_POSTGRES=1): catalog, records, reads (column subset, limit, offset, the
 * schema of an empty result), statistics, export, cancellation from another thread in
 * the middle of a load, and `register --force` never losing the old dataset, even when
 * the process dies at each step of the replacement. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fs.h"
#include "mdm/dataset.h"
#include "mdm/mdm.h"

#define CHECK(expr)                                                                        \
    do {                                                                                   \
        int rc_ = (expr);                                                                  \
        if (rc_)                                                                           \
            fail_msg("%s: %s", #expr, mdm_error_last()->message);                          \
    } while (0)

/* Rows of the file whose load is cancelled: many batches. */
#define BIG_ROWS 300000

static char home[] = "/tmp/mdm-test-api-XXXXXX";
static char files[700];
static mdm_config *cfg;
static mdm_catalog *cat;
static const char *backend; /* as users write it: sqlite, duckdb, postgresql */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *file_path(const char *base)
{
    static char path[800];
    snprintf(path, sizeof path, "%s/%s", files, base);
    return path;
}

/* id,score,label,day: `rows` rows; id = i + shift. */
static const char *numbers_file(const char *base, int rows, int shift)
{
    const char *path = file_path(base);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("id,score,label,day\n", f);
    for (int i = 0; i < rows; i++)
        fprintf(f, "%d,%.2f,l%d,2024-01-%02d\n", i + shift, i * 0.5, i % 3, i % 28 + 1);
    fclose(f);
    return path;
}

static void register_file(const char *name, const char *path, bool force)
{
    mdm_register_options o = {.name = name, .path = path, .backend = backend, .force = force};
    mdm_dataset_info *info = NULL;
    CHECK(mdm_dataset_register(&info, NULL, cat, &o));
    mdm_dataset_info_free(info);
}

static bool registered(const char *name)
{
    bool exists = false;
    CHECK(mdm_catalog_exists(&exists, cat, name));
    return exists;
}

/* Whether something named like prefix lies in <home>/datasets. */
static bool leftover(const char *prefix)
{
    char dir[800];
    snprintf(dir, sizeof dir, "%s/datasets", home);
    DIR *d = opendir(dir);
    bool found = false;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            found = true;
    if (d)
        closedir(d);
    return found;
}

static int take_count(const mdm_batch *b, void *ctx)
{
    if (mdm_batch_nrows(b))
        *(int64_t *)ctx = mdm_batch_int64(b, 0, 0);
    return 0;
}

/* PostgreSQL schemas whose name starts with <prefix><name> (the dataset's own, staging
 * and trash ones); 0 on file backends. */
static int64_t schemas_of(const char *name)
{
    if (strcmp(backend, "postgresql") != 0)
        return 0;
    mdm_store *s = NULL;
    mdm_conn *c = NULL;
    mdm_target t = {.dataset = "probe"};
    char like[300];
    snprintf(like, sizeof like, "%s%s", mdm_config_str(cfg, "database.postgresql.database_prefix"),
             name);
    mdm_value p = mdm_value_text(like);
    int64_t n = -1;
    CHECK(mdm_store_open(&s, "postgres", &t, cfg));
    CHECK(mdm_store_checkout(s, &c));
    CHECK(mdm_conn_execute(c, "SELECT COUNT(*) FROM pg_namespace WHERE starts_with(nspname, ?)",
                           &p, 1, take_count, &n, NULL));
    mdm_store_checkin(s, c);
    mdm_store_free(s);
    return n;
}

static void assert_nothing_of(const char *name)
{
    char path[800];
    assert_false(registered(name));
    snprintf(path, sizeof path, "%s/config/datasets/%s.yaml", home, name);
    assert_false(mdm_fs_exists(path));
    snprintf(path, sizeof path, "%s/datasets/%s", home, name);
    assert_false(mdm_fs_exists(path));
    char prefix[200];
    snprintf(prefix, sizeof prefix, ".staging-%s-", name);
    assert_false(leftover(prefix));
    snprintf(prefix, sizeof prefix, ".trash-%s-", name);
    assert_false(leftover(prefix));
    assert_int_equal(schemas_of(name), 0);
}

/* ------------------------------------------------------------------ catalog */

static void catalog_commands(void **state)
{
    (void)state;
    write_file(file_path("iris.csv"), "sepal,petal,species\n5.1,1.4,setosa\n4.9,1.3,setosa\n"
                                      "6.3,4.9,virginica\n5.8,4.1,versicolor\n");
    mdm_register_options o = {.name = "Iris-Flowers", .path = file_path("iris.csv"),
                              .backend = backend, .target = "species",
                              .description = "three species", .tags = "flowers,small"};
    mdm_dataset_info *info = NULL;
    mdm_strlist notes = {0};
    CHECK(mdm_dataset_register(&info, &notes, cat, &o));
    mdm_strlist_free(&notes);
    assert_string_equal(info->name, "iris_flowers");
    assert_int_equal(mdm_dataset_info_rows(info), 4);
    assert_string_equal(mdm_strmap_get(&info->tables, "data"), "data");
    assert_null(mdm_strmap_get(&info->tables, "train"));
    const mdm_dataset_table_columns *cols = mdm_dataset_info_columns(info, "data");
    assert_non_null(cols);
    assert_int_equal(cols->count, 3);
    assert_string_equal(info->problem_type, "multiclass_classification");
    assert_true(mdm_dataset_info_memory(info) > 0);
    assert_ptr_not_equal(mdm_catalog_config(cat), cfg); /* the catalog's own copy */
    assert_string_equal(mdm_config_home(mdm_catalog_config(cat)), mdm_config_home(cfg));
    mdm_dataset_info *copy = NULL;
    CHECK(mdm_dataset_info_clone(&copy, info));
    assert_string_equal(copy->target_column, "species");
    char *json = NULL;
    CHECK(mdm_dataset_info_to_json(&json, copy));
    assert_non_null(strstr(json, "\"iris_flowers\""));
    free(json);
    char when[64];
    assert_true(mdm_time_format(when, sizeof when, 0) > 0);
    assert_string_equal(when, "1970-01-01T00:00:00+00:00");
    mdm_dataset_info_free(copy);
    mdm_dataset_info_free(info);

    /* Again under the same name in other letters: refused. */
    o.name = "IRIS_flowers";
    assert_int_equal(mdm_dataset_register(&info, NULL, cat, &o), MDM_EEXISTS);
    assert_true(registered("Iris_Flowers"));
    CHECK(mdm_catalog_get(&info, cat, "IRIS-FLOWERS"));
    assert_string_equal(info->description, "three species");
    mdm_dataset_info_free(info);
    assert_int_equal(mdm_catalog_get(&info, cat, "nope"), MDM_ENOTFOUND);
    assert_string_equal(mdm_error_last()->message, "Dataset 'nope' not found");

    register_file("other", numbers_file("other.csv", 10, 0), false);
    mdm_dataset_info **infos = NULL;
    size_t n = 0;
    CHECK(mdm_catalog_list(&infos, &n, cat, NULL));
    assert_int_equal(n, 2);
    assert_string_equal(infos[0]->name, "iris_flowers");
    mdm_dataset_infos_free(infos, n);
    mdm_list_options lo = {.filter = "rows>5", .sort_by = "rows"};
    CHECK(mdm_catalog_list(&infos, &n, cat, &lo));
    assert_int_equal(n, 1);
    assert_string_equal(infos[0]->name, "other");
    mdm_dataset_infos_free(infos, n);
    lo = (mdm_list_options){.filter = "bogus=1"};
    assert_int_equal(mdm_catalog_list(&infos, &n, cat, &lo), MDM_EINVALID);

    mdm_search_match *m = NULL;
    mdm_search_options so = {.query = "species", .deep = true};
    CHECK(mdm_catalog_search(&m, &n, cat, &so));
    assert_int_equal(n, 1);
    assert_string_equal(m[0].info->name, "iris_flowers");
    mdm_search_matches_free(m, n);
    so = (mdm_search_options){.tag = "small"};
    CHECK(mdm_catalog_search(&m, &n, cat, &so));
    assert_int_equal(n, 1);
    mdm_search_matches_free(m, n);

    mdm_dataset_changes ch = {0};
    assert_int_equal(mdm_catalog_update(&info, cat, "iris_flowers", &ch), MDM_EINVALID);
    assert_string_equal(mdm_error_last()->message, "No updates specified");
    ch = (mdm_dataset_changes){.description = "changed", .tags = "a, b"};
    CHECK(mdm_catalog_update(&info, cat, "iris_flowers", &ch));
    assert_string_equal(info->description, "changed");
    assert_int_equal(info->tags.count, 2);
    mdm_dataset_info_free(info);
    ch = (mdm_dataset_changes){.target_column = "nosuch"};
    assert_int_equal(mdm_catalog_update(&info, cat, "iris_flowers", &ch), MDM_EINVALID);
    ch = (mdm_dataset_changes){.problem_type = "guessing"};
    assert_int_equal(mdm_catalog_update(&info, cat, "iris_flowers", &ch), MDM_EINVALID);

    uint64_t bytes = 0, all = 0;
    CHECK(mdm_catalog_dataset_size(&bytes, cat, "iris_flowers"));
    assert_true(bytes > 0);
    CHECK(mdm_catalog_storage_size(&all, cat));
    assert_true(all >= bytes);

    CHECK(mdm_catalog_remove(cat, "Iris-Flowers"));
    CHECK(mdm_catalog_remove(cat, "other"));
    assert_nothing_of("iris_flowers");
    assert_nothing_of("other");
    assert_int_equal(mdm_catalog_remove(cat, "iris_flowers"), MDM_ENOTFOUND);
}

/* ------------------------------------------------------------------ reads */

typedef struct collected {
    size_t batches;
    size_t rows;
    int64_t ids[64];
    size_t ncols;
    char names[4][32];
    mdm_type types[4];
} collected;

static int collect(const mdm_batch *b, void *ctx)
{
    collected *c = ctx;
    c->batches++;
    c->ncols = mdm_batch_ncols(b);
    for (size_t i = 0; i < c->ncols && i < 4; i++) {
        snprintf(c->names[i], sizeof c->names[i], "%s", mdm_batch_field(b, i)->name);
        c->types[i] = mdm_batch_field(b, i)->type;
    }
    for (size_t r = 0; r < mdm_batch_nrows(b); r++, c->rows++)
        if (c->rows < 64 && mdm_batch_field(b, 0)->type == MDM_TYPE_INT64)
            c->ids[c->rows] = mdm_batch_int64(b, 0, r);
    return 0;
}

typedef struct trip_after_first {
    mdm_cancel *cancel;
    size_t batches;
} trip_after_first;

static int trip_first(const mdm_batch *b, void *ctx)
{
    (void)b;
    trip_after_first *t = ctx;
    t->batches++;
    mdm_cancel_request(t->cancel);
    return 0;
}

static void reads(void **state)
{
    (void)state;
    register_file("nums", numbers_file("nums.csv", 50, 1000), false);
    mdm_dataset *ds = NULL;
    assert_int_equal(mdm_dataset_open(&ds, cat, "missing"), MDM_ENOTFOUND);
    CHECK(mdm_dataset_open(&ds, cat, "NUMS"));
    assert_string_equal(mdm_dataset_name(ds), "nums");
    assert_string_equal(mdm_dataset_record(ds)->name, "nums");
    assert_string_equal(mdm_dataset_backend(ds),
                        strcmp(backend, "postgresql") == 0 ? "postgres" : backend);
    char dir[800];
    snprintf(dir, sizeof dir, "%s/datasets/nums", home);
    assert_string_equal(mdm_dataset_dir(ds), dir);
    mdm_store *store = NULL;
    CHECK(mdm_dataset_store(&store, ds));
    mdm_store *again = NULL;
    CHECK(mdm_dataset_store(&again, ds));
    assert_ptr_equal(store, again);

    const char *table = NULL;
    CHECK(mdm_dataset_table_name(&table, ds, "DATA"));
    assert_string_equal(table, "data");
    assert_int_equal(mdm_dataset_table_name(&table, ds, "train"), MDM_ENOTFOUND);
    assert_non_null(strstr(mdm_error_last()->message, "Table 'train' not found in dataset 'nums'"));
    assert_non_null(strstr(mdm_error_last()->message, "data"));
    mdm_field *fields = NULL;
    size_t nfields = 0;
    CHECK(mdm_dataset_table_schema(&fields, &nfields, ds, "data"));
    assert_int_equal(nfields, 4);
    assert_string_equal(fields[0].name, "id");
    assert_int_equal(fields[0].type, MDM_TYPE_INT64);
    assert_int_equal(fields[3].type, MDM_TYPE_DATE);
    mdm_fields_free(fields, nfields);
    int64_t rows = 0;
    CHECK(mdm_dataset_table_rows(&rows, ds, "data"));
    assert_int_equal(rows, 50);

    /* Everything, in insertion order. */
    collected all = {0};
    mdm_table_read req = {.table = "data", .limit = -1};
    CHECK(mdm_dataset_read(ds, &req, collect, &all));
    assert_int_equal(all.rows, 50);
    assert_int_equal(all.ncols, 4);
    for (int i = 0; i < 50; i++)
        assert_int_equal(all.ids[i], 1000 + i);

    /* A column subset, in the order asked, with limit and offset. */
    const char *const subset[] = {"id", "label"};
    collected part = {0};
    req = (mdm_table_read){.table = "data", .columns = subset, .ncolumns = 2, .limit = 5,
                           .offset = 10};
    CHECK(mdm_dataset_read(ds, &req, collect, &part));
    assert_int_equal(part.rows, 5);
    assert_int_equal(part.ncols, 2);
    assert_string_equal(part.names[1], "label");
    assert_int_equal(part.types[1], MDM_TYPE_TEXT);
    for (int i = 0; i < 5; i++)
        assert_int_equal(part.ids[i], 1010 + i);

    /* No row matches: one zero-row batch still says which columns, of which types. */
    const char *const two[] = {"day", "score"};
    collected none = {0};
    req = (mdm_table_read){.table = "data", .columns = two, .ncolumns = 2, .limit = -1,
                           .offset = 500};
    CHECK(mdm_dataset_read(ds, &req, collect, &none));
    assert_int_equal(none.batches, 1);
    assert_int_equal(none.rows, 0);
    assert_int_equal(none.ncols, 2);
    assert_string_equal(none.names[0], "day");
    assert_int_equal(none.types[0], MDM_TYPE_DATE);
    assert_string_equal(none.names[1], "score");
    assert_int_equal(none.types[1], MDM_TYPE_FLOAT64);
    collected zero = {0};
    req = (mdm_table_read){.table = "data", .limit = 0};
    CHECK(mdm_dataset_read(ds, &req, collect, &zero));
    assert_int_equal(zero.rows, 0);
    assert_int_equal(zero.ncols, 4);
    assert_string_equal(zero.names[2], "label");

    /* A tripped token stops a read before it starts. */
    mdm_cancel *cancel = NULL;
    CHECK(mdm_cancel_new(&cancel));
    assert_false(mdm_cancel_requested(cancel));
    mdm_cancel_request(cancel);
    assert_true(mdm_cancel_requested(cancel));
    req = (mdm_table_read){.table = "data", .limit = -1, .cancel = cancel};
    collected stopped = {0};
    assert_int_equal(mdm_dataset_read(ds, &req, collect, &stopped), MDM_ECANCELED);
    assert_int_equal(stopped.rows, 0);
    mdm_cancel_free(cancel);

    /* Tripped during a read: the next batch is not delivered. */
    trip_after_first t = {0};
    CHECK(mdm_cancel_new(&t.cancel));
    req = (mdm_table_read){.table = "data", .limit = -1, .batch_rows = 10, .cancel = t.cancel};
    assert_int_equal(mdm_dataset_read(ds, &req, trip_first, &t), MDM_ECANCELED);
    assert_int_equal(t.batches, 1);
    mdm_cancel_free(t.cancel);
    mdm_dataset_close(ds);
    CHECK(mdm_catalog_remove(cat, "nums"));
}

/* One handle, several threads reading at once (the store opens once, under a lock). */
typedef struct reader_job {
    mdm_dataset *ds;
    int64_t offset;
    collected got;
    int rc;
} reader_job;

static void *read_part(void *p)
{
    reader_job *j = p;
    mdm_table_read req = {.table = "data", .limit = 10, .offset = j->offset};
    j->rc = mdm_dataset_read(j->ds, &req, collect, &j->got);
    return NULL;
}

static void concurrent_reads(void **state)
{
    (void)state;
    register_file("shared", numbers_file("shared.csv", 40, 0), false);
    mdm_dataset *ds = NULL;
    CHECK(mdm_dataset_open(&ds, cat, "shared"));
    reader_job jobs[4];
    pthread_t tids[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (reader_job){.ds = ds, .offset = 10 * i};
        assert_int_equal(pthread_create(&tids[i], NULL, read_part, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(tids[i], NULL);
        assert_int_equal(jobs[i].rc, 0);
        assert_int_equal(jobs[i].got.rows, 10);
        for (int r = 0; r < 10; r++)
            assert_int_equal(jobs[i].got.ids[r], 10 * i + r);
    }
    mdm_dataset_close(ds);
    CHECK(mdm_catalog_remove(cat, "shared"));
}

/* ------------------------------------------------------------------ stats, export */

static void stats_and_export(void **state)
{
    (void)state;
    register_file("st", numbers_file("st.csv", 40, 0), false);
    mdm_dataset *ds = NULL;
    CHECK(mdm_dataset_open(&ds, cat, "st"));
    char *text = NULL;
    CHECK(mdm_dataset_stats(&text, ds, NULL));
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "mode")), "basic");
    json_t *t = json_object_get(json_object_get(doc, "tables"), "data");
    assert_int_equal(json_integer_value(json_object_get(t, "row_count")), 40);
    json_decref(doc);
    free(text);
    mdm_stats_options full = {.full = true};
    CHECK(mdm_dataset_stats(&text, ds, &full));
    doc = json_loads(text, 0, &err);
    assert_string_equal(json_string_value(json_object_get(doc, "mode")), "full");
    json_decref(doc);
    free(text);
    /* A recomputed document is the cached one from then on. */
    CHECK(mdm_dataset_stats(&text, ds, NULL));
    assert_non_null(strstr(text, "\"full\""));
    free(text);

    char path[800];
    snprintf(path, sizeof path, "%s/st.yaml", files);
    CHECK(mdm_dataset_stats_export(ds, path, NULL));
    char *yaml = NULL;
    size_t len = 0;
    bool found = false;
    CHECK(mdm_fs_read_file(&yaml, &len, &found, path));
    assert_non_null(strstr(yaml, "dataset_name: st"));
    free(yaml);
    snprintf(path, sizeof path, "%s/st.csv.out.csv", files);
    CHECK(mdm_dataset_stats_export(ds, path, NULL));
    assert_true(mdm_fs_exists(path));

    char out[800];
    snprintf(out, sizeof out, "%s/export", files);
    char **paths = NULL;
    size_t npaths = 0;
    mdm_export_options eo = {.output_dir = out, .format = "csv", .compression = "none"};
    CHECK(mdm_dataset_export(&paths, &npaths, ds, &eo));
    assert_int_equal(npaths, 2); /* st_metadata.json, st_data.csv */
    assert_non_null(strstr(paths[npaths - 1], "st_data.csv"));
    CHECK(mdm_fs_read_file(&yaml, &len, &found, paths[npaths - 1]));
    assert_int_equal(strncmp(yaml, "id,score,label,day\n0,", 21), 0);
    free(yaml);
    mdm_paths_free(paths, npaths);
    eo.table = "nosuch";
    assert_int_equal(mdm_dataset_export(&paths, &npaths, ds, &eo), MDM_ENOTFOUND);
    mdm_dataset_close(ds);
    CHECK(mdm_catalog_remove(cat, "st"));
}

/* ------------------------------------------------------------------ cancellation */

typedef struct canceller {
    mdm_cancel *cancel;
    pthread_barrier_t tripped, seen;
    bool once;
    uint64_t rows_at_trip;
} canceller;

/* The other thread: trips the token when the load says it is under way. */
static void *cancel_thread(void *p)
{
    canceller *c = p;
    pthread_barrier_wait(&c->tripped);
    mdm_cancel_request(c->cancel);
    pthread_barrier_wait(&c->seen);
    return NULL;
}

static void on_progress(const mdm_register_progress *p, void *ctx)
{
    canceller *c = ctx;
    if (c->once || p->finished)
        return;
    c->once = true;
    c->rows_at_trip = p->rows;
    pthread_barrier_wait(&c->tripped); /* let the other thread cancel ... */
    pthread_barrier_wait(&c->seen);    /* ... and go on only once it has */
}

static void cancelled_in_the_middle(const char *name, bool force)
{
    canceller c = {0};
    CHECK(mdm_cancel_new(&c.cancel));
    pthread_barrier_init(&c.tripped, NULL, 2);
    pthread_barrier_init(&c.seen, NULL, 2);
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, cancel_thread, &c), 0);
    mdm_register_options o = {.name = name, .path = file_path("big.csv"), .backend = backend,
                              .force = force, .progress = on_progress, .progress_ctx = &c,
                              .cancel = c.cancel};
    mdm_dataset_info *info = NULL;
    int rc = mdm_dataset_register(&info, NULL, cat, &o);
    if (!c.once) { /* never reported: release the other thread */
        pthread_barrier_wait(&c.tripped);
        pthread_barrier_wait(&c.seen);
    }
    pthread_join(tid, NULL);
    assert_true(c.once);
    assert_true(c.rows_at_trip > 0 && c.rows_at_trip < BIG_ROWS);
    assert_int_equal(rc, MDM_ECANCELED);
    assert_null(info);
    pthread_barrier_destroy(&c.tripped);
    pthread_barrier_destroy(&c.seen);
    mdm_cancel_free(c.cancel);
}

static void cancel_leaves_nothing(void **state)
{
    (void)state;
    numbers_file("big.csv", BIG_ROWS, 0);
    cancelled_in_the_middle("big", false);
    assert_nothing_of("big");

    /* Cancelling a replacement keeps the old dataset, whole. */
    register_file("big", numbers_file("small.csv", 7, 0), false);
    cancelled_in_the_middle("big", true);
    mdm_dataset *ds = NULL;
    CHECK(mdm_dataset_open(&ds, cat, "big"));
    int64_t rows = 0;
    CHECK(mdm_dataset_table_rows(&rows, ds, "data"));
    assert_int_equal(rows, 7);
    mdm_dataset_close(ds);
    CHECK(mdm_catalog_remove(cat, "big"));
    assert_nothing_of("big");
}

/* ------------------------------------------------------------------ --force */

static int64_t rows_of(const char *name)
{
    mdm_dataset *ds = NULL;
    int64_t rows = -1;
    CHECK(mdm_dataset_open(&ds, cat, name));
    CHECK(mdm_dataset_table_rows(&rows, ds, "data"));
    collected c = {0};
    mdm_table_read req = {.table = "data", .limit = 3};
    CHECK(mdm_dataset_read(ds, &req, collect, &c));
    assert_int_equal(c.rows, rows < 3 ? rows : 3);
    mdm_dataset_close(ds);
    return rows;
}

static void force_with_a_bad_file_keeps_the_old(void **state)
{
    (void)state;
    register_file("keep", numbers_file("keep.csv", 12, 0), false);
    write_file(file_path("bad.csv"), "a,b\n1,\"open\n2,y\n");
    mdm_register_options o = {.name = "keep", .path = file_path("bad.csv"), .backend = backend,
                              .force = true};
    mdm_dataset_info *info = NULL;
    assert_int_not_equal(mdm_dataset_register(&info, NULL, cat, &o), 0);
    assert_non_null(strstr(mdm_error_last()->message, "unterminated"));
    assert_true(registered("keep"));
    assert_int_equal(rows_of("keep"), 12);
    assert_false(leftover(".trash-keep-"));
    assert_false(leftover(".staging-keep-"));
    /* A good file replaces it. */
    register_file("keep", numbers_file("keep2.csv", 5, 0), true);
    assert_int_equal(rows_of("keep"), 5);
    assert_false(leftover(".trash-keep-"));
    CHECK(mdm_catalog_remove(cat, "keep"));
    assert_nothing_of("keep");
}

/* A child process replaces "crash" and dies (_exit) at `step` of a path ending in
 * `suffix`; the parent then finds the old dataset or the new one, whole. */
static const char *die_step, *die_suffix;

static int die_at(const char *step, const char *path, void *ctx)
{
    (void)ctx;
    size_t n = strlen(path), k = strlen(die_suffix);
    if (strcmp(step, die_step) == 0 && n >= k && strcmp(path + n - k, die_suffix) == 0)
        _exit(9);
    return 0;
}

static void crash_during_replacement(const char *step, const char *suffix, int64_t expected)
{
    die_step = step;
    die_suffix = suffix;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        mdm_fs_set_fault_hook(die_at, NULL);
        mdm_register_options o = {.name = "crash", .path = file_path("crash_new.csv"),
                                  .backend = backend, .force = true};
        mdm_dataset_info *info = NULL;
        int rc = mdm_dataset_register(&info, NULL, cat, &o);
        _exit(rc == 0 ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 9); /* it died at the step */
    assert_true(registered("crash"));
    /* Opening settles what the dead process left: no trash afterwards. */
    assert_int_equal(rows_of("crash"), expected);
    assert_false(leftover(".trash-crash-"));
    mdm_dataset_info **infos = NULL;
    size_t n = 0;
    CHECK(mdm_catalog_list(&infos, &n, cat, NULL));
    assert_int_equal(n, 1);
    mdm_dataset_infos_free(infos, n);
}

static void force_survives_a_crash_at_every_step(void **state)
{
    (void)state;
    if (strcmp(backend, "duckdb") == 0)
        skip(); /* DuckDB's engine threads do not survive fork(); test_crash.sh kills it */
    numbers_file("crash_old.csv", 9, 0);
    numbers_file("crash_new.csv", 4, 0);
    register_file("crash", file_path("crash_old.csv"), false);
    /* The old registry text is put aside: the old dataset is still in place. */
    crash_during_replacement("replace-marked", "/.replaced.yaml", 9);
    /* The old dataset is aside, the new one not yet promoted. */
    crash_during_replacement("replace-aside", "", 9);
    /* Promoted, the registry YAML not yet replaced. */
    crash_during_replacement("temp-written", "/crash.yaml", 9);
    /* The YAML replaced: the new dataset committed, the trash still there. */
    crash_during_replacement("renamed", "/crash.yaml", 4);
    CHECK(mdm_catalog_remove(cat, "crash"));
    assert_nothing_of("crash");
}

/* The disk fails at `fail_step` of the registry YAML. */
static const char *fail_step;

static int fail_at(const char *step, const char *path, void *ctx)
{
    (void)ctx;
    size_t n = strlen(path);
    return strcmp(step, fail_step) == 0 && n > 9 && strcmp(path + n - 9, "/cut.yaml") == 0;
}

static void commit_failures(void **state)
{
    (void)state;
    numbers_file("cut.csv", 6, 0);
    mdm_register_options o = {.name = "cut", .path = file_path("cut.csv"), .backend = backend};
    mdm_dataset_info *info = NULL;
    /* Before the YAML's rename: nothing is registered and nothing is left. */
    fail_step = "temp-written";
    mdm_fs_set_fault_hook(fail_at, NULL);
    assert_int_equal(mdm_dataset_register(&info, NULL, cat, &o), MDM_EIO);
    mdm_fs_set_fault_hook(NULL, NULL);
    assert_false(registered("cut"));
    char path[800];
    snprintf(path, sizeof path, "%s/datasets/cut", home);
    assert_false(mdm_fs_exists(path));
    /* After it (only the directory's sync failed): the error is reported, and the
     * committed dataset keeps its data. */
    fail_step = "renamed";
    mdm_fs_set_fault_hook(fail_at, NULL);
    assert_int_equal(mdm_dataset_register(&info, NULL, cat, &o), MDM_EIO);
    mdm_fs_set_fault_hook(NULL, NULL);
    assert_true(registered("cut"));
    assert_int_equal(rows_of("cut"), 6);
    /* The same for a replacement: the old one before the rename, the new one after. */
    numbers_file("cut2.csv", 3, 0);
    o.path = file_path("cut2.csv");
    o.force = true;
    fail_step = "temp-written";
    mdm_fs_set_fault_hook(fail_at, NULL);
    assert_int_equal(mdm_dataset_register(&info, NULL, cat, &o), MDM_EIO);
    mdm_fs_set_fault_hook(NULL, NULL);
    assert_int_equal(rows_of("cut"), 6);
    assert_false(leftover(".trash-cut-"));
    fail_step = "renamed";
    mdm_fs_set_fault_hook(fail_at, NULL);
    assert_int_equal(mdm_dataset_register(&info, NULL, cat, &o), MDM_EIO);
    mdm_fs_set_fault_hook(NULL, NULL);
    assert_int_equal(rows_of("cut"), 3);
    assert_false(leftover(".trash-cut-"));
    CHECK(mdm_catalog_remove(cat, "cut"));
    assert_nothing_of("cut");
}

/* ------------------------------------------------------------------ main */

static int run(const char *b)
{
    backend = b;
    char group[48];
    snprintf(group, sizeof group, "dataset_api/%s", b);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(catalog_commands),
        cmocka_unit_test(reads),
        cmocka_unit_test(concurrent_reads),
        cmocka_unit_test(stats_and_export),
        cmocka_unit_test(cancel_leaves_nothing),
        cmocka_unit_test(force_with_a_bad_file_keeps_the_old),
        cmocka_unit_test(force_survives_a_crash_at_every_step),
        cmocka_unit_test(commit_failures),
    };
    return _cmocka_run_group_tests(group, tests, sizeof tests / sizeof tests[0], NULL, NULL);
}

int main(void)
{
    if (!mkdtemp(home) || mdm_config_defaults(&cfg, home) != 0)
        return 1;
    snprintf(files, sizeof files, "%s/files", home);
    mkdir(files, 0755);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "api%ld_", (long)getpid());
    const char *pg = getenv("MDM_TEST_PG_CONNINFO");
    bool have_pg = pg && *pg;
    if (have_pg) {
        static const char *const keys[][2] = {
            {"database.postgresql.host", "MDM_TEST_PG_HOST"},
            {"database.postgresql.port", "MDM_TEST_PG_PORT"},
            {"database.postgresql.user", "MDM_TEST_PG_USER"},
            {"database.postgresql.password", "MDM_TEST_PG_PASSWORD"},
            {"database.postgresql.database", "MDM_TEST_PG_DATABASE"},
        };
        for (size_t i = 0; i < 5; i++)
            if (mdm_config_set(cfg, keys[i][0], getenv(keys[i][1])) != 0)
                return 1;
        if (mdm_config_set(cfg, "database.postgresql.database_prefix", prefix) != 0)
            return 1;
    }
    if (mdm_catalog_open(&cat, cfg) != 0)
        return 1;
    int failed = run("sqlite") + run("duckdb");
    if (have_pg) {
        failed += run("postgresql");
    } else {
        const char *req = getenv("MDM_REQUIRE_POSTGRES");
        fprintf(stderr, "MDM_TEST_PG_CONNINFO is not set: PostgreSQL not tested\n");
        if (req && strcmp(req, "1") == 0)
            failed++;
        else if (!failed)
            failed = -1; /* exit 77: skipped in part */
    }
    mdm_catalog_free(cat);
    mdm_config_free(cfg);
    if (mdm_fs_remove_tree(home) != 0)
        fprintf(stderr, "%s\n", mdm_error_last()->message);
    return failed < 0 ? 77 : failed ? 1 : 0;
}
