/* The dataset catalog: record <-> YAML/JSON, files the Python mdm wrote, atomic commit
 * with simulated crashes, listing with corrupt files, remove, update. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log_internal.h"
#include "dataset/catalog.h"
#include "dataset/dataset_info.h"
#include "dataset/yaml_tree.h"
#include "mdm/mdm.h"

typedef struct fixture {
    char home[64];
    mdm_config *cfg;
    char warnings[65536];
} fixture;

static void capture(mdm_log_level level, const char *message, void *ctx)
{
    fixture *f = ctx;
    size_t used = strlen(f->warnings);
    if (level >= MDM_LOG_WARNING)
        snprintf(f->warnings + used, sizeof f->warnings - used, "%s\n", message);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->home, sizeof f->home, "/tmp/mdm-catalog-XXXXXX");
    assert_non_null(mkdtemp(f->home));
    assert_int_equal(mdm_config_defaults(&f->cfg, f->home), 0);
    log_set_capture(capture, f, MDM_LOG_WARNING);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    log_set_capture(NULL, NULL, MDM_LOG_WARNING);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->home);
    assert_int_equal(system(cmd), 0);
    mdm_config_free(f->cfg);
    free(f);
    return 0;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void spit(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static bool file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void data_path(char *buf, size_t size, const char *file)
{
    char src[512];
    snprintf(src, sizeof src, "%s", __FILE__);
    snprintf(buf, size, "%s/../data/catalog/%s", dirname(src), file);
}

/* A record using every field, with values that YAML likes to misread. */
static dataset_info *full_info(const char *name)
{
    dataset_info *info;
    assert_int_equal(dataset_info_new(&info), 0);
    assert_int_equal(dataset_str_set(&info->name, name), 0);
    dataset_str_set(&info->display_name, "Café — \"quoted\" name");
    dataset_str_set(&info->description, "line one\nline two: with colon # and hash\n  indented");
    dataset_str_set(&info->database.backend, "sqlite");
    dataset_str_set(&info->database.path, "/data/x y/ünï.sqlite");
    dataset_strmap_set(&info->tables, "train", "train");
    dataset_strmap_set(&info->tables, "test", "test table");
    dataset_str_set(&info->problem_type, "binary_classification");
    dataset_str_set(&info->target_column, "true");
    dataset_strlist_add(&info->id_columns, "123");
    dataset_strlist_add(&info->id_columns, "0x1F");
    dataset_strlist_add(&info->id_columns, "");
    dataset_str_set(&info->time_column, "2024-01-15");
    dataset_str_set(&info->group_column, "null");
    dataset_strmap_set(&info->feature_tables, "train", "train_features");
    info->registered_at = 1752156201512345;
    info->has_registered_at = true;
    dataset_strlist_add(&info->tags, "yes");
    dataset_strlist_add(&info->tags, "- dash");
    dataset_strlist_add(&info->tags, "1:30");
    dataset_strlist_add(&info->tags, ".inf");
    dataset_strlist_add(&info->tags, "~");
    dataset_str_set(&info->source, "/home/u/data/x");
    dataset_strlist_add(&info->datetime_columns, "when");
    info->statistics.present = true;
    info->statistics.row_count = 1500;
    info->statistics.memory_size_bytes = 123456789012;
    dataset_str_set(&info->statistics.computed_at, "2025-07-10T14:03:25.100200+00:00");
    dataset_statistics_set_rows(&info->statistics, "train", 1000);
    dataset_statistics_set_rows(&info->statistics, "test", 500);
    dataset_info_add_column(info, "train", "id", "int64", NULL);
    dataset_info_add_column(info, "train", "the target", "bool", "1 when it happened");
    dataset_info_add_column(info, "test", "id", "int64", NULL);
    json_error_t err;
    info->extra = json_loads("{\"future\": {\"list\": [1, 2.5, -0.0, 1e300, 123456789012345678, "
                             "true, null, \"x\"]}}",
                             0, &err);
    info->metadata_extra = json_loads("{\"profile\": {\"k\": \"v\"}}", 0, &err);
    info->database.extra = json_loads("{\"journal_mode\": \"WAL\"}", 0, &err);
    return info;
}

static char *as_yaml(const dataset_info *info)
{
    char *text;
    assert_int_equal(dataset_info_to_yaml(&text, NULL, info), 0);
    return text;
}

static void test_yaml_json_round_trip(void **state)
{
    (void)state;
    dataset_info *info = full_info("round_trip");
    char *yaml = as_yaml(info);
    dataset_info *back;
    assert_int_equal(dataset_info_from_yaml(&back, yaml, strlen(yaml), "mem.yaml", NULL), 0);
    char *yaml2 = as_yaml(back);
    assert_string_equal(yaml, yaml2);
    /* Values that look like other types stayed strings. */
    assert_string_equal(back->target_column, "true");
    assert_string_equal(back->group_column, "null");
    assert_string_equal(back->id_columns.items[0], "123");
    assert_string_equal(back->id_columns.items[2], "");
    assert_string_equal(back->tags.items[4], "~");
    assert_string_equal(back->description, info->description);
    assert_int_equal(back->registered_at, 1752156201512345);
    assert_false(back->has_last_updated_at);
    assert_int_equal(back->statistics.memory_size_bytes, 123456789012);
    assert_int_equal(back->statistics.row_counts[1], 500);
    assert_string_equal(dataset_info_columns(back, "train")->columns[1].description,
                        "1 when it happened");
    assert_non_null(strstr(yaml, "registered_at: '2025-07-10T14:03:21.512345+00:00'"));
    assert_non_null(strstr(yaml, "version: 1.0.0\n"));
    /* Numbers in the free-form part keep their types and values. */
    json_t *list = json_object_get(json_object_get(back->extra, "future"), "list");
    assert_int_equal(json_integer_value(json_array_get(list, 0)), 1);
    assert_true(json_real_value(json_array_get(list, 1)) == 2.5);
    assert_true(json_real_value(json_array_get(list, 3)) == 1e300);
    assert_int_equal(json_integer_value(json_array_get(list, 4)), 123456789012345678);
    assert_true(json_is_true(json_array_get(list, 5)));
    assert_true(json_is_null(json_array_get(list, 6)));

    char *json;
    assert_int_equal(dataset_info_to_json(&json, NULL, info), 0);
    dataset_info *from_json;
    assert_int_equal(dataset_info_from_json(&from_json, json, strlen(json), "mem.json", NULL), 0);
    char *yaml3 = as_yaml(from_json);
    assert_string_equal(yaml, yaml3);

    dataset_info *clone;
    assert_int_equal(dataset_info_clone(&clone, info), 0);
    char *yaml4 = as_yaml(clone);
    assert_string_equal(yaml, yaml4);
    free(yaml);
    free(yaml2);
    free(yaml3);
    free(yaml4);
    free(json);
    dataset_info_free(info);
    dataset_info_free(back);
    dataset_info_free(from_json);
    dataset_info_free(clone);
}

static void test_python_yaml_read(void **state)
{
    (void)state;
    char path[600];
    data_path(path, sizeof path, "python_titanic.yaml");
    char *text = slurp(path);
    assert_non_null(text);
    dataset_info *info;
    assert_int_equal(dataset_info_from_yaml(&info, text, strlen(text), path, NULL), 0);
    assert_string_equal(info->name, "titanic");
    assert_string_equal(info->display_name, "Titanic");
    assert_string_equal(info->database.backend, "sqlite");
    assert_string_equal(info->database.path, "/home/user/.mdm/datasets/titanic/titanic.sqlite");
    assert_int_equal(info->tables.count, 3);
    assert_string_equal(dataset_strmap_get(&info->tables, "sample_submission"), "sample_submission");
    assert_string_equal(info->problem_type, "binary_classification");
    assert_string_equal(info->target_column, "Survived");
    assert_int_equal(info->id_columns.count, 1);
    assert_null(info->time_column);
    assert_int_equal(info->feature_tables.count, 2);
    assert_true(info->has_registered_at);
    char when[64];
    dataset_time_format(when, sizeof when, info->registered_at);
    assert_string_equal(when, "2025-07-10T14:03:21.512345+00:00");
    assert_false(info->has_last_updated_at);
    assert_int_equal(info->tags.count, 2);
    assert_string_equal(info->version, "1.0.0");
    assert_int_equal(info->datetime_columns.count, 0);
    assert_int_equal(dataset_info_rows(info), 1309);
    assert_int_equal(dataset_info_size(info), 314572);
    assert_string_equal(info->statistics.computed_at, "2025-07-10T16:03:25.100200");
    /* Unknown keys survive a rewrite. */
    char *yaml = as_yaml(info);
    assert_non_null(strstr(yaml, "journal_mode: WAL"));
    assert_non_null(strstr(yaml, "cache_size: -64000"));
    assert_non_null(strstr(yaml, "engine: ydata"));
    assert_non_null(strstr(yaml, "- '007'"));
    free(yaml);
    free(text);
    dataset_info_free(info);

    /* PostgreSQL: the password is dropped on read and never written. */
    data_path(path, sizeof path, "python_sales_postgres.yaml");
    text = slurp(path);
    assert_int_equal(dataset_info_from_yaml(&info, text, strlen(text), path, NULL), 0);
    assert_string_equal(info->database.host, "db.internal");
    assert_int_equal(info->database.port, 5432);
    assert_string_equal(info->database.database, "mdm_sales");
    assert_string_equal(info->database.user, "analyst");
    assert_string_equal(info->description, "");
    assert_string_equal(info->time_column, "date");
    assert_true(info->has_last_updated_at);
    assert_int_equal(info->last_updated_at % 1000000, 7);
    yaml = as_yaml(info);
    assert_null(strstr(yaml, "password"));
    assert_null(strstr(yaml, "hunter2"));
    assert_non_null(strstr(yaml, "sslmode: prefer"));
    char *json;
    assert_int_equal(dataset_info_to_json(&json, NULL, info), 0);
    assert_null(strstr(json, "hunter2"));
    free(json);
    free(yaml);
    free(text);
    dataset_info_free(info);

    /* The Python dataset_info.json (str(datetime): a space, not a 'T'). */
    data_path(path, sizeof path, "python_sales_dataset_info.json");
    text = slurp(path);
    assert_int_equal(dataset_info_from_json(&info, text, strlen(text), path, NULL), 0);
    assert_true(info->has_registered_at);
    dataset_time_format(when, sizeof when, info->registered_at);
    assert_string_equal(when, "2025-01-02T03:04:05+00:00");
    assert_null(info->database.extra); /* only the password was left over */
    assert_int_equal(dataset_info_rows(info), 10);
    assert_int_equal(dataset_info_size(info), 2048); /* numpy int written with str() */
    free(text);
    dataset_info_free(info);
}

static void test_times(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(dataset_time_parse(&t, "1970-01-01T00:00:00Z"), 0);
    assert_int_equal(t, 0);
    assert_int_equal(dataset_time_parse(&t, "1970-01-01T01:00:00+01:00"), 0);
    assert_int_equal(t, 0);
    assert_int_equal(dataset_time_parse(&t, "1969-12-31 19:00:00-0500"), 0);
    assert_int_equal(t, 0);
    assert_int_equal(dataset_time_parse(&t, "1970-01-01T00:00:01.5"), 0);
    assert_int_equal(t, 1500000);
    assert_int_equal(dataset_time_parse(&t, "2024-02-29"), 0);
    assert_int_not_equal(dataset_time_parse(&t, "2023-02-29"), 0);
    assert_int_not_equal(dataset_time_parse(&t, "yesterday"), 0);
    assert_int_not_equal(dataset_time_parse(&t, "2024-01-01T00:00:00+25:00"), 0);
    char buf[64];
    dataset_time_format(buf, sizeof buf, 0);
    assert_string_equal(buf, "1970-01-01T00:00:00+00:00");
}

static void test_yaml_tree_edges(void **state)
{
    (void)state;
    json_t *tree;
    const char *text = "a: &x [1, 2]\nb: *x\nc: 0o17\nd: 017\ne: 0x1f\nf: 1_000\ng: +.5\n"
                       "h: 1.5e+3\ni: Yes\nj: ~\nk: !!str 12\nl: '12'\nm: 99999999999999999999\n"
                       "n: &s hello\n? *s\n: world\no: !!int '7'\n";
    assert_int_equal(yaml_tree_parse(&tree, text, strlen(text), "t.yaml"), 0);
    assert_int_equal(json_array_size(json_object_get(tree, "b")), 2);
    assert_true(json_is_string(json_object_get(tree, "c"))); /* YAML 1.2 octal: a string in 1.1 */
    assert_int_equal(json_integer_value(json_object_get(tree, "d")), 15);
    assert_int_equal(json_integer_value(json_object_get(tree, "e")), 31);
    assert_int_equal(json_integer_value(json_object_get(tree, "f")), 1000);
    assert_true(json_is_string(json_object_get(tree, "g")));
    assert_true(json_real_value(json_object_get(tree, "h")) == 1500.0);
    assert_true(json_is_true(json_object_get(tree, "i")));
    assert_true(json_is_null(json_object_get(tree, "j")));
    assert_true(json_is_string(json_object_get(tree, "l")));
    assert_true(json_is_string(json_object_get(tree, "m"))); /* beyond int64: kept as text */
    assert_string_equal(json_string_value(json_object_get(tree, "hello")), "world");
    assert_int_equal(json_integer_value(json_object_get(tree, "o")), 7);
    assert_true(json_is_string(json_object_get(tree, "k")));
    json_decref(tree);

    /* Errors name the origin and the line. */
    const char *bad = "a: 1\nb: [unclosed\n";
    assert_int_equal(yaml_tree_parse(&tree, bad, strlen(bad), "bad.yaml"), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "bad.yaml line"));
    assert_int_equal(yaml_tree_parse(&tree, "", 0, "empty.yaml"), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "empty document"));
    /* An alias bomb is refused, not expanded. */
    char bomb[4096] = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 12; i++) {
        size_t used = strlen(bomb);
        snprintf(bomb + used, sizeof bomb - used, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
                 "*a%d, *a%d, *a%d, *a%d]\n", i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
                 i - 1, i - 1, i - 1, i - 1);
    }
    assert_int_equal(yaml_tree_parse(&tree, bomb, strlen(bomb), "bomb.yaml"), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "alias expansion"));
    const char *early = "a: *nope\n";
    assert_int_equal(yaml_tree_parse(&tree, early, strlen(early), "alias.yaml"), MDM_EINVALID);
    const char *self = "a: &r [1, *r]\n";
    assert_int_equal(yaml_tree_parse(&tree, self, strlen(self), "self.yaml"), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "self.yaml line 1: alias to an unknown"));
    /* Random bytes never crash the parser. */
    static const char alphabet[] = "ab:-[]{}&*!|>'\"#\n \t\x01" "\xc3\xa9\xff" "123";
    srand(42);
    for (int round = 0; round < 300; round++) {
        char junk[256];
        size_t n = (size_t)(rand() % (int)sizeof junk);
        for (size_t i = 0; i < n; i++)
            junk[i] = alphabet[rand() % (int)(sizeof alphabet - 1)];
        dataset_info *info = NULL;
        if (dataset_info_from_yaml(&info, junk, n, "junk.yaml", "junk") == 0)
            dataset_info_free(info);
    }
}

static void test_commit_load_exists(void **state)
{
    fixture *f = *state;
    dataset_info *info = full_info("titanic");
    bool exists = true;
    assert_int_equal(catalog_exists(&exists, f->cfg, "Titanic"), 0);
    assert_false(exists);
    assert_int_equal(catalog_commit(info, f->cfg), 0);
    assert_int_equal(catalog_exists(&exists, f->cfg, "TITANIC"), 0);
    assert_true(exists);
    dataset_info *loaded;
    assert_int_equal(catalog_load(&loaded, f->cfg, "TiTaNiC"), 0);
    char *a = as_yaml(info), *b = as_yaml(loaded);
    assert_string_equal(a, b);
    char *json_path;
    assert_int_equal(catalog_json_path(&json_path, f->cfg, "titanic"), 0);
    char *json = slurp(json_path);
    assert_non_null(json);
    dataset_info *from_json;
    assert_int_equal(dataset_info_from_json(&from_json, json, strlen(json), json_path, NULL), 0);
    char *c = as_yaml(from_json);
    assert_string_equal(a, c);
    dataset_info_free(loaded);
    assert_int_equal(catalog_load(&loaded, f->cfg, "nope"), MDM_ENOTFOUND);
    assert_null(loaded);
    assert_string_equal(mdm_error_last()->message, "Dataset 'nope' not found");
    /* A name that is not normalized is refused by commit. */
    dataset_str_set(&info->name, "Titanic");
    assert_int_equal(catalog_commit(info, f->cfg), MDM_EINVALID);
    free(a);
    free(b);
    free(c);
    free(json);
    free(json_path);
    dataset_info_free(info);
    dataset_info_free(loaded);
    dataset_info_free(from_json);
}

static void test_database_for(void **state)
{
    fixture *f = *state;
    dataset_database db = {0};
    assert_int_equal(catalog_database_for(&db, f->cfg, "sqlite", "Titanic"), 0);
    assert_string_equal(db.backend, "sqlite");
    char expected[600];
    snprintf(expected, sizeof expected, "%s/titanic/titanic.sqlite",
             mdm_config_path(f->cfg, "datasets_path"));
    assert_string_equal(db.path, expected);
    assert_null(db.host);
    assert_int_equal(mdm_config_set(f->cfg, "database.postgresql.user", "analyst"), 0);
    assert_int_equal(mdm_config_set(f->cfg, "database.postgresql.password", "hunter2"), 0);
    assert_int_equal(catalog_database_for(&db, f->cfg, "postgres", "titanic"), 0);
    assert_string_equal(db.backend, "postgresql");
    assert_null(db.path);
    assert_string_equal(db.host, "localhost");
    assert_int_equal(db.port, 5432);
    assert_string_equal(db.database, "mdm");
    assert_string_equal(db.schema, "mdm_titanic");
    assert_string_equal(db.user, "analyst");
    assert_int_equal(catalog_database_for(&db, f->cfg, "duckdb", "titanic"), 0);
    assert_string_equal(db.backend, "duckdb");
    assert_non_null(strstr(db.path, "/titanic/titanic.duckdb"));
    assert_null(db.schema);
    assert_int_equal(catalog_database_for(&db, f->cfg, "oracle", "titanic"), MDM_ENOTFOUND);
    dataset_info *info;
    assert_int_equal(dataset_info_new(&info), 0);
    info->database = db;
    char *yaml = as_yaml(info);
    assert_null(strstr(yaml, "hunter2"));
    free(yaml);
    dataset_info_free(info);
}

/* ---------------------------------------------------------------- crash simulation */

typedef struct fault_plan {
    const char *step;
    const char *path_suffix;
    bool die; /* _exit like a kill -9, else fail */
} fault_plan;

static int fault(const char *step, const char *path, void *ctx)
{
    const fault_plan *plan = ctx;
    size_t pl = strlen(path), sl = strlen(plan->path_suffix);
    if (strcmp(step, plan->step) != 0 || pl < sl || strcmp(path + pl - sl, plan->path_suffix))
        return 0;
    if (plan->die)
        _exit(9);
    return 1;
}

static size_t count_temps(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ls -a '%s' 2>/dev/null | grep -c '\\.tmp\\.'", dir);
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    assert_int_equal(fscanf(p, "%zu", &n), 1);
    pclose(p);
    return n;
}

static void test_commit_crash_points(void **state)
{
    fixture *f = *state;
    const char *configs = mdm_config_path(f->cfg, "configs_path");
    char data_dir[512];
    snprintf(data_dir, sizeof data_dir, "%s/crash", mdm_config_path(f->cfg, "datasets_path"));
    static const fault_plan plans[] = {
        {"temp-written", "dataset_info.json", true},
        {"renamed", "dataset_info.json", true},
        {"json-written", "dataset_info.json", true},
        {"temp-written", "crash.yaml", true},
    };
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            dataset_info *info = full_info("crash");
            catalog_set_fault_hook(fault, (void *)&plans[i]);
            catalog_commit(info, f->cfg);
            _exit(0); /* not reached: the hook "kills" the process */
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(WEXITSTATUS(status), 9);
        bool exists = true;
        assert_int_equal(catalog_exists(&exists, f->cfg, "crash"), 0);
        assert_false(exists); /* a crash before the YAML rename: no dataset */
    }
    /* Each commit sweeps what the previous dead writer left: the last one's temp stays. */
    assert_int_equal(count_temps(configs), 1);
    /* The next commit works and sweeps the dead process's temp files. */
    dataset_info *info = full_info("crash");
    assert_int_equal(catalog_commit(info, f->cfg), 0);
    assert_int_equal(count_temps(configs), 0);
    assert_int_equal(count_temps(data_dir), 0);

    /* A failing update leaves the committed YAML exactly as it was. */
    char *path;
    assert_int_equal(catalog_yaml_path(&path, f->cfg, "crash"), 0);
    char *before = slurp(path);
    fault_plan fail_yaml = {"temp-written", "crash.yaml", false};
    catalog_set_fault_hook(fault, &fail_yaml);
    dataset_str_set(&info->description, "changed");
    assert_int_equal(catalog_commit(info, f->cfg), MDM_EIO);
    catalog_set_fault_hook(NULL, NULL);
    char *after = slurp(path);
    assert_string_equal(before, after);
    /* "renamed" fault: the new YAML is in place (rename is the commit). */
    fault_plan after_rename = {"renamed", "crash.yaml", false};
    catalog_set_fault_hook(fault, &after_rename);
    assert_int_equal(catalog_commit(info, f->cfg), MDM_EIO);
    catalog_set_fault_hook(NULL, NULL);
    dataset_info *loaded;
    assert_int_equal(catalog_load(&loaded, f->cfg, "crash"), 0);
    assert_string_equal(loaded->description, "changed");
    free(before);
    free(after);
    free(path);
    dataset_info_free(info);
    dataset_info_free(loaded);
}

/* ---------------------------------------------------------------- list */

static void commit_named(const mdm_config *cfg, const char *name)
{
    dataset_info *info = full_info(name);
    assert_int_equal(catalog_commit(info, cfg), 0);
    dataset_info_free(info);
}

static void test_list_skips_corrupt_files(void **state)
{
    fixture *f = *state;
    dataset_info **infos;
    size_t n;
    assert_int_equal(catalog_list(&infos, &n, f->cfg), 0); /* no configs dir yet */
    assert_int_equal(n, 0);
    catalog_infos_free(infos, n);
    commit_named(f->cfg, "charlie");
    commit_named(f->cfg, "alpha");
    commit_named(f->cfg, "bravo");
    const char *configs = mdm_config_path(f->cfg, "configs_path");
    static const struct {
        const char *file;
        const char *text;
    } bad[] = {
        {"broken.yaml", "name: broken\ntables: {{{\n"},
        {"empty.yaml", ""},
        {"list.yaml", "- a\n- b\n"},
        {"shape.yaml", "name: shape\ntables: 5\n"},
        {"binary.yaml", "\xff\xfe\x00\x01garbage"},
        {"Upper.yaml", "name: upper\n"},
    };
    char path[600];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", configs, bad[i].file);
        spit(path, bad[i].text);
    }
    snprintf(path, sizeof path, "%s/dir.yaml", configs);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/notes.txt", configs);
    spit(path, "not yaml");
    f->warnings[0] = '\0';
    assert_int_equal(catalog_list(&infos, &n, f->cfg), 0);
    assert_int_equal(n, 3);
    assert_string_equal(infos[0]->name, "alpha");
    assert_string_equal(infos[1]->name, "bravo");
    assert_string_equal(infos[2]->name, "charlie");
    catalog_infos_free(infos, n);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_non_null(strstr(f->warnings, bad[i].file));
    assert_non_null(strstr(f->warnings, "dir.yaml"));
    assert_null(strstr(f->warnings, "notes.txt"));
    assert_non_null(strstr(f->warnings, "shape.yaml: 'tables' must be a mapping"));
}

/* A FIFO named like a registry file: before, open() waited forever for a writer (the
 * alarm kills the test then); now `info` fails at once naming the file and `list`
 * skips it with a warning. */
static void test_fifo_registry_file(void **state)
{
    fixture *f = *state;
    commit_named(f->cfg, "alpha");
    char path[600];
    snprintf(path, sizeof path, "%s/pipe.yaml", mdm_config_path(f->cfg, "configs_path"));
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(20);
    dataset_info *info = NULL;
    assert_int_equal(catalog_load(&info, f->cfg, "pipe"), MDM_EINVALID);
    assert_null(info);
    assert_non_null(strstr(mdm_error_last()->message, path));
    assert_non_null(strstr(mdm_error_last()->message, "is a FIFO"));
    assert_null(strchr(mdm_error_last()->message, '\n'));
    f->warnings[0] = '\0';
    dataset_info **infos;
    size_t n;
    assert_int_equal(catalog_list(&infos, &n, f->cfg), 0);
    assert_int_equal(n, 1);
    assert_string_equal(infos[0]->name, "alpha");
    catalog_infos_free(infos, n);
    assert_non_null(strstr(f->warnings, path));
    /* Missing stays "not found". */
    assert_int_equal(catalog_load(&info, f->cfg, "nosuch"), MDM_ENOTFOUND);
    assert_string_equal(mdm_error_last()->message, "Dataset 'nosuch' not found");
    alarm(0);
}

static void test_list_many(void **state)
{
    fixture *f = *state;
    /* 1000 registry files (written directly: committing each would fsync 4000 times). */
    dataset_info *info = full_info("x");
    const char *configs = mdm_config_path(f->cfg, "configs_path");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", configs);
    assert_int_equal(system(cmd), 0);
    for (int i = 0; i < 1000; i++) {
        char name[32], path[600];
        snprintf(name, sizeof name, "ds_%04d", i);
        dataset_str_set(&info->name, name);
        char *yaml = as_yaml(info);
        snprintf(path, sizeof path, "%s/%s.yaml", configs, name);
        spit(path, yaml);
        free(yaml);
    }
    dataset_info_free(info);
    uint64_t start = mdm_now_ns();
    dataset_info **infos;
    size_t n;
    assert_int_equal(catalog_list(&infos, &n, f->cfg), 0);
    double ms = (double)(mdm_now_ns() - start) / 1e6;
    assert_int_equal(n, 1000);
    assert_string_equal(infos[999]->name, "ds_0999");
    catalog_infos_free(infos, n);
    print_message("listed 1000 datasets in %.1f ms\n", ms); /* timings are not pass/fail */
}

/* ---------------------------------------------------------------- remove, update */

static void test_remove(void **state)
{
    fixture *f = *state;
    commit_named(f->cfg, "gone");
    char *dir;
    assert_int_equal(catalog_dataset_dir(&dir, f->cfg, "gone"), 0);
    char path[600], outside[600];
    snprintf(path, sizeof path, "%s/metadata", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/metadata/statistics.json", dir);
    spit(path, "{}");
    snprintf(outside, sizeof outside, "%s/outside.txt", f->home);
    spit(outside, "keep me");
    snprintf(path, sizeof path, "%s/link", dir);
    assert_int_equal(symlink(f->home, path), 0);
    uint64_t bytes = 0, json_bytes;
    char *json_path;
    assert_int_equal(catalog_json_path(&json_path, f->cfg, "gone"), 0);
    char *json = slurp(json_path);
    json_bytes = strlen(json);
    assert_int_equal(catalog_dataset_size(&bytes, f->cfg, "gone"), 0);
    assert_int_equal(bytes, json_bytes + 2); /* dataset_info.json + "{}"; the link not followed */
    free(json);
    free(json_path);
    assert_int_equal(catalog_remove(f->cfg, "GONE"), 0);
    assert_int_equal(catalog_dataset_size(&bytes, f->cfg, "gone"), 0);
    assert_int_equal(bytes, 0);
    assert_false(file_exists(dir));
    assert_true(file_exists(outside));
    bool exists = true;
    assert_int_equal(catalog_exists(&exists, f->cfg, "gone"), 0);
    assert_false(exists);
    assert_int_equal(catalog_remove(f->cfg, "gone"), MDM_ENOTFOUND);
    assert_string_equal(mdm_error_last()->message, "Dataset 'gone' not found");
    /* A leftover directory without YAML is removed too. */
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(catalog_remove(f->cfg, "gone"), 0);
    assert_false(file_exists(dir));
    free(dir);
}

static void test_update(void **state)
{
    fixture *f = *state;
    commit_named(f->cfg, "upd");
    catalog_changes none = {0};
    assert_int_equal(catalog_update(NULL, f->cfg, "upd", &none), MDM_EINVALID);
    assert_string_equal(mdm_error_last()->message, "No updates specified");
    catalog_changes bad_type = {.problem_type = "classification"};
    assert_int_equal(catalog_update(NULL, f->cfg, "upd", &bad_type), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "Invalid problem type 'classification'"));
    catalog_changes bad_target = {.target_column = "no_such_column"};
    assert_int_equal(catalog_update(NULL, f->cfg, "upd", &bad_target), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "no_such_column"));
    catalog_changes missing = {.description = "x"};
    assert_int_equal(catalog_update(NULL, f->cfg, "missing", &missing), MDM_ENOTFOUND);

    int64_t before = dataset_time_now();
    catalog_changes ok = {.description = "new text",
                          .target_column = "the target",
                          .problem_type = "regression",
                          .id_columns = "id, other ,",
                          .tags = " a,b "};
    dataset_info *out;
    assert_int_equal(catalog_update(&out, f->cfg, "UPD", &ok), 0);
    dataset_info_free(out);
    dataset_info *info;
    assert_int_equal(catalog_load(&info, f->cfg, "upd"), 0);
    assert_string_equal(info->description, "new text");
    assert_string_equal(info->target_column, "the target");
    assert_string_equal(info->problem_type, "regression");
    assert_int_equal(info->id_columns.count, 2);
    assert_string_equal(info->id_columns.items[1], "other");
    assert_int_equal(info->tags.count, 2);
    assert_string_equal(info->tags.items[0], "a");
    assert_true(info->has_last_updated_at);
    assert_true(info->last_updated_at >= before);
    assert_int_equal(info->registered_at, 1752156201512345); /* untouched */
    dataset_info_free(info);
    /* Empty values clear. */
    catalog_changes clear = {.tags = "", .problem_type = ""};
    assert_int_equal(catalog_update(NULL, f->cfg, "upd", &clear), 0);
    assert_int_equal(catalog_load(&info, f->cfg, "upd"), 0);
    assert_int_equal(info->tags.count, 0);
    assert_null(info->problem_type);
    dataset_info_free(info);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_json_round_trip),
        cmocka_unit_test(test_python_yaml_read),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_yaml_tree_edges),
        cmocka_unit_test_setup_teardown(test_commit_load_exists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_database_for, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_crash_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_skips_corrupt_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_registry_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
