/* Catalog queries: every filter operator and key, sorting, limits, and search modes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log_internal.h"
#include "dataset/catalog.h"
#include "dataset/catalog_query.h"
#include "dataset/dataset_info.h"
#include "mdm/mdm.h"

#define DAY_US (86400 * INT64_C(1000000))

/* "Now" for every relative filter: 2024-06-01T12:00:00Z. */
static int64_t now_us(void)
{
    int64_t t;
    assert_int_equal(dataset_time_parse(&t, "2024-06-01T12:00:00Z"), 0);
    return t;
}

static dataset_info *make(const char *name, const char *problem, const char *target,
                          const char *backend, const char *tags, const char *kinds, int64_t rows,
                          int64_t bytes, const char *registered)
{
    dataset_info *info;
    assert_int_equal(dataset_info_new(&info), 0);
    dataset_str_set(&info->name, name);
    dataset_str_set(&info->problem_type, problem);
    dataset_str_set(&info->target_column, target);
    dataset_str_set(&info->database.backend, backend);
    dataset_strlist_set_csv(&info->tags, tags);
    dataset_strlist kinds_list = {0};
    dataset_strlist_set_csv(&kinds_list, kinds);
    for (size_t i = 0; i < kinds_list.count; i++)
        dataset_strmap_set(&info->tables, kinds_list.items[i], kinds_list.items[i]);
    dataset_strlist_clear(&kinds_list);
    if (rows >= 0 || bytes >= 0) {
        info->statistics.present = true;
        info->statistics.row_count = rows;
        info->statistics.memory_size_bytes = bytes;
    }
    if (registered) {
        if (registered[0] == '-') /* "-2d": that long before now_us() */
            info->registered_at = now_us() - atoi(registered + 1) * DAY_US;
        else
            assert_int_equal(dataset_time_parse(&info->registered_at, registered), 0);
        info->has_registered_at = true;
    }
    return info;
}

typedef struct set {
    dataset_info *infos[8];
    size_t count;
} set;

static set *make_set(void)
{
    set *s = calloc(1, sizeof *s);
    s->infos[s->count++] = make("titanic", "binary_classification", "Survived", "sqlite",
                                "kaggle,tabular", "train,test", 1309, 300 * 1024,
                                "2024-01-15T10:00:00Z");
    s->infos[s->count++] = make("house_prices", "regression", "SalePrice", "duckdb", "kaggle",
                                "train,test,validation", 2919, 5 * 1024 * 1024,
                                "2024-03-01T08:30:00Z");
    s->infos[s->count++] = make("sales", "regression", "amount", "postgresql", "", "data", -1, -1,
                                "-2");
    s->infos[s->count++] = make("iris", "multiclass_classification", NULL, "sqlite", "toy,Tabular",
                                "data", 150, 10 * 1024, NULL);
    dataset_str_set(&s->infos[3]->description, "Fisher's iris flowers");
    dataset_strmap_set(&s->infos[0]->feature_tables, "train", "train_features");
    s->infos[1]->last_updated_at = now_us() - DAY_US / 2;
    s->infos[1]->has_last_updated_at = true;
    return s;
}

static int setup_set(void **state)
{
    *state = make_set();
    return 0;
}

static int teardown_set(void **state)
{
    set *s = *state;
    for (size_t i = 0; i < s->count; i++)
        dataset_info_free(s->infos[i]);
    free(s);
    return 0;
}

/* Names matching `filter`, in set order, joined with ','. */
static const char *filtered(set *s, const char *filter)
{
    static char out[2048];
    catalog_filter *f;
    int rc = catalog_filter_parse(&f, filter, now_us());
    if (rc) {
        snprintf(out, sizeof out, "error: %s", mdm_error_last()->message);
        return out;
    }
    out[0] = '\0';
    for (size_t i = 0; i < s->count; i++)
        if (catalog_filter_match(f, s->infos[i])) {
            size_t used = strlen(out);
            snprintf(out + used, sizeof out - used, "%s%s", used ? "," : "", s->infos[i]->name);
        }
    catalog_filter_free(f);
    return out;
}

static void test_filter_text(void **state)
{
    set *s = *state;
    assert_string_equal(filtered(s, ""), "titanic,house_prices,sales,iris");
    assert_string_equal(filtered(s, "problem_type=regression"), "house_prices,sales");
    assert_string_equal(filtered(s, "problem_type=REGRESSION"), "house_prices,sales");
    assert_string_equal(filtered(s, "problem_type!=regression"), "titanic,iris");
    assert_string_equal(filtered(s, "name~an"), "titanic");
    assert_string_equal(filtered(s, "name!~an"), "house_prices,sales,iris");
    assert_string_equal(filtered(s, "name=*s"), "house_prices,sales,iris");
    assert_string_equal(filtered(s, "name~?a*"), "sales");
    assert_string_equal(filtered(s, "name>m"), "titanic,sales");
    assert_string_equal(filtered(s, "name<=iris"), "house_prices,iris");
    assert_string_equal(filtered(s, "name<house_prices"), "");
    assert_string_equal(filtered(s, "name>=sales"), "titanic,sales");
    assert_string_equal(filtered(s, "target=survived"), "titanic");
    /* A missing value fails everything but != and !~. */
    assert_string_equal(filtered(s, "target~a"), "house_prices,sales");
    assert_string_equal(filtered(s, "target!=amount"), "titanic,house_prices,iris");
    assert_string_equal(filtered(s, "backend=sqlite"), "titanic,iris");
    assert_string_equal(filtered(s, "description~IRIS"), "iris");
    assert_string_equal(filtered(s, " backend = sqlite , problem_type = binary_classification "),
                        "titanic");
}

static void test_filter_lists_and_bools(void **state)
{
    set *s = *state;
    assert_string_equal(filtered(s, "tags=tabular"), "titanic,iris");
    assert_string_equal(filtered(s, "tag=kaggle"), "titanic,house_prices");
    assert_string_equal(filtered(s, "tags!=kaggle"), "sales,iris");
    assert_string_equal(filtered(s, "tags~ab"), "titanic,iris");
    assert_string_equal(filtered(s, "tags!~a"), "sales");
    assert_string_equal(filtered(s, "tags=k*"), "titanic,house_prices");
    assert_string_equal(filtered(s, "tables=validation"), "house_prices");
    assert_string_equal(filtered(s, "has_test=true"), "titanic,house_prices");
    assert_string_equal(filtered(s, "has_test=no"), "sales,iris");
    assert_string_equal(filtered(s, "has_test!=true"), "sales,iris");
    assert_string_equal(filtered(s, "has_validation=1"), "house_prices");
    assert_string_equal(filtered(s, "has_target=false"), "iris");
    assert_string_equal(filtered(s, "has_features=true"), "titanic");
    /* AND binds tighter than OR. */
    assert_string_equal(filtered(s, "backend=sqlite,has_test=true|backend=postgresql"),
                        "titanic,sales");
    assert_string_equal(filtered(s, "name=iris|name=sales"), "sales,iris");
}

static void test_filter_numbers(void **state)
{
    set *s = *state;
    assert_string_equal(filtered(s, "rows>1000"), "titanic,house_prices");
    assert_string_equal(filtered(s, "rows>=1309"), "titanic,house_prices");
    assert_string_equal(filtered(s, "rows<1309"), "iris");
    assert_string_equal(filtered(s, "rows<=1309"), "titanic,iris");
    assert_string_equal(filtered(s, "rows=150"), "iris");
    assert_string_equal(filtered(s, "rows!=150"), "titanic,house_prices,sales");
    assert_string_equal(filtered(s, "row_count>2.5k"), "house_prices");
    assert_string_equal(filtered(s, "rows<1M"), "titanic,house_prices,iris");
    assert_string_equal(filtered(s, "size>1MB"), "house_prices");
    assert_string_equal(filtered(s, "size>=300KB"), "titanic,house_prices");
    assert_string_equal(filtered(s, "size<300kib"), "iris");
    assert_string_equal(filtered(s, "size<=10240"), "iris");
    assert_string_equal(filtered(s, "size<0.01GB"), "titanic,house_prices,iris");
    assert_string_equal(filtered(s, "size_mb>=5"), "house_prices");
    assert_string_equal(filtered(s, "size_mb<0.5"), "titanic,iris");
}

static void test_filter_times(void **state)
{
    set *s = *state;
    assert_string_equal(filtered(s, "registered_at=2024-01-15"), "titanic");
    assert_string_equal(filtered(s, "registration_date>2024-01-15"), "house_prices,sales");
    assert_string_equal(filtered(s, "registered_at>=2024-01-15"), "titanic,house_prices,sales");
    assert_string_equal(filtered(s, "registered_at<2024-03-01"), "titanic");
    assert_string_equal(filtered(s, "registered_at<=2024-03-01"), "titanic,house_prices");
    assert_string_equal(filtered(s, "registered_at!=2024-01-15"), "house_prices,sales,iris");
    assert_string_equal(filtered(s, "registered_at>2024-03-01T08:00:00Z"), "house_prices,sales");
    assert_string_equal(filtered(s, "registered_at>2024-03-01T11:00:00+02:00"), "sales");
    assert_string_equal(filtered(s, "registered_at>2024-03-01T10:00:00+02:00"), "house_prices,sales");
    assert_string_equal(filtered(s, "registered_at>7d"), "sales");
    assert_string_equal(filtered(s, "registered_at>1w"), "sales");
    assert_string_equal(filtered(s, "registered_at<7d"), "titanic,house_prices");
    assert_string_equal(filtered(s, "registered_at>100d"), "house_prices,sales");
    assert_string_equal(filtered(s, "created_at>48h"), "");
    assert_string_equal(filtered(s, "created_at>49h"), "sales");
    assert_string_equal(filtered(s, "registered_at~2024-03"), "house_prices");
    assert_string_equal(filtered(s, "last_updated_at=today"), "house_prices");
    assert_string_equal(filtered(s, "updated_at>yesterday"), "house_prices");
    assert_string_equal(filtered(s, "updated_at<now"), "house_prices");
}

static void test_filter_errors(void **state)
{
    set *s = *state;
    assert_string_equal(filtered(s, "color=red"),
                        "error: Invalid filter 'color=red': unknown key; known keys: name, "
                        "display_name, description, problem_type, target, backend, source, "
                        "version, time_column, group_column, tags, id_columns, tables, rows, size, "
                        "size_mb, registered_at, last_updated_at, has_<table kind>, has_target, "
                        "has_features");
    assert_string_equal(filtered(s, "problem_type"),
                        "error: Invalid filter 'problem_type': expected KEY=VALUE (operators: = "
                        "!= ~ !~ > < >= <=)");
    assert_non_null(strstr(filtered(s, "rows>many"), "expected a number of rows"));
    assert_non_null(strstr(filtered(s, "size>10XB"), "expected a size"));
    assert_non_null(strstr(filtered(s, "rows~1"), "~ and !~ apply to text"));
    assert_non_null(strstr(filtered(s, "registered_at>last week"), "expected a date"));
    assert_non_null(strstr(filtered(s, "has_test=maybe"), "expected true or false"));
    assert_non_null(strstr(filtered(s, "has_test>true"), "with = or != only"));
    assert_non_null(strstr(filtered(s, "tags>a"), "= != ~ !~ only"));
}

static const char *sorted(set *s, const char *sort_by)
{
    static char out[256];
    dataset_info *infos[8];
    memcpy(infos, s->infos, s->count * sizeof infos[0]);
    catalog_sort sort;
    catalog_sort_parse(&sort, sort_by);
    catalog_sort_infos(infos, s->count, &sort);
    out[0] = '\0';
    for (size_t i = 0; i < s->count; i++) {
        size_t used = strlen(out);
        snprintf(out + used, sizeof out - used, "%s%s", used ? "," : "", infos[i]->name);
    }
    return out;
}

static char warnings[4096];

static void capture(mdm_log_level level, const char *message, void *ctx)
{
    (void)ctx;
    size_t used = strlen(warnings);
    if (level >= MDM_LOG_WARNING)
        snprintf(warnings + used, sizeof warnings - used, "%s\n", message);
}

static void test_sort(void **state)
{
    set *s = *state;
    assert_string_equal(sorted(s, NULL), "house_prices,iris,sales,titanic");
    assert_string_equal(sorted(s, "name"), "house_prices,iris,sales,titanic");
    assert_string_equal(sorted(s, "name:desc"), "titanic,sales,iris,house_prices");
    /* Newest first; a dataset without a date goes last. */
    assert_string_equal(sorted(s, "registration_date"), "sales,house_prices,titanic,iris");
    assert_string_equal(sorted(s, "registered_at:asc"), "titanic,house_prices,sales,iris");
    assert_string_equal(sorted(s, "last_updated_at"), "house_prices,iris,sales,titanic");
    /* Biggest first; unknown sizes last. */
    assert_string_equal(sorted(s, "size"), "house_prices,titanic,iris,sales");
    assert_string_equal(sorted(s, "size_mb:asc"), "iris,titanic,house_prices,sales");
    assert_string_equal(sorted(s, "rows"), "house_prices,titanic,iris,sales");
    assert_string_equal(sorted(s, "row_count:asc"), "iris,titanic,house_prices,sales");
    assert_string_equal(sorted(s, "problem_type"), "titanic,iris,house_prices,sales");
    assert_string_equal(sorted(s, "backend"), "house_prices,sales,iris,titanic");
    log_set_capture(capture, NULL, MDM_LOG_WARNING);
    warnings[0] = '\0';
    assert_string_equal(sorted(s, "colour"), "house_prices,iris,sales,titanic");
    log_set_capture(NULL, NULL, MDM_LOG_WARNING);
    assert_non_null(strstr(warnings, "Unknown sort key 'colour'; sorting by name"));
}

/* ---------------------------------------------------------------- on disk */

typedef struct home {
    char dir[64];
    mdm_config *cfg;
} home;

static int setup_home(void **state)
{
    home *h = calloc(1, sizeof *h);
    snprintf(h->dir, sizeof h->dir, "/tmp/mdm-query-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    assert_int_equal(mdm_config_defaults(&h->cfg, h->dir), 0);
    set *s = make_set();
    dataset_info_add_column(s->infos[0], "train", "PassengerId", "int64", NULL);
    dataset_info_add_column(s->infos[0], "train", "Cabin", "text", "cabin number, deck first");
    for (size_t i = 0; i < s->count; i++)
        assert_int_equal(catalog_commit(s->infos[i], h->cfg), 0);
    *state = s;
    teardown_set(state);
    *state = h;
    return 0;
}

static int teardown_home(void **state)
{
    home *h = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
    assert_int_equal(system(cmd), 0);
    mdm_config_free(h->cfg);
    free(h);
    return 0;
}

static void test_query_list(void **state)
{
    home *h = *state;
    dataset_info **infos;
    size_t n;
    catalog_query q = {.filter = "problem_type=regression|tags=tabular", .sort_by = "rows",
                       .limit = 2};
    assert_int_equal(catalog_query_list(&infos, &n, h->cfg, &q), 0);
    assert_int_equal(n, 2);
    assert_string_equal(infos[0]->name, "house_prices");
    assert_string_equal(infos[1]->name, "titanic");
    catalog_infos_free(infos, n);
    catalog_query all = {0};
    assert_int_equal(catalog_query_list(&infos, &n, h->cfg, &all), 0);
    assert_int_equal(n, 4);
    assert_string_equal(infos[0]->name, "house_prices");
    catalog_infos_free(infos, n);
    catalog_query bad = {.filter = "nope=1"};
    assert_int_equal(catalog_query_list(&infos, &n, h->cfg, &bad), MDM_EINVALID);
}

static const char *searched(home *h, catalog_search_options opts)
{
    static char out[2048];
    catalog_match *m;
    size_t n;
    if (catalog_search(&m, &n, h->cfg, &opts) != 0) {
        snprintf(out, sizeof out, "error: %s", mdm_error_last()->message);
        return out;
    }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(out);
        snprintf(out + used, sizeof out - used, "%s%s:%s%s%s", used ? "," : "", m[i].info->name,
                 m[i].location, m[i].detail ? ":" : "", m[i].detail ? m[i].detail : "");
    }
    catalog_matches_free(m, n);
    return out;
}

static int fake_columns(dataset_info *info, void *ctx)
{
    int *calls = ctx;
    (*calls)++;
    if (strcmp(info->name, "sales") == 0)
        return dataset_info_add_column(info, "data", "store_region", "text", NULL);
    if (strcmp(info->name, "iris") == 0)
        return mdm_error_set(MDM_ECONNECT, "cannot open the iris database");
    return 0;
}

static void test_search(void **state)
{
    home *h = *state;
    assert_string_equal(searched(h, (catalog_search_options){.query = "TIT"}), "titanic:name");
    assert_string_equal(searched(h, (catalog_search_options){.query = "TIT", .case_sensitive = true}),
                        "");
    assert_string_equal(searched(h, (catalog_search_options){.query = "fisher"}),
                        "iris:description");
    assert_string_equal(searched(h, (catalog_search_options){.query = "tabul"}),
                        "iris:tags,titanic:tags");
    /* Anywhere in the registry text: the target of sales. */
    assert_string_equal(searched(h, (catalog_search_options){.query = "amount"}), "sales:content");
    assert_string_equal(searched(h, (catalog_search_options){.query = "*S", .pattern = true}),
                        "house_prices:name,iris:name,sales:name");
    assert_string_equal(searched(h, (catalog_search_options){.query = "amount", .pattern = true}),
                        "");
    assert_string_equal(searched(h, (catalog_search_options){.tag = "KAGGLE"}),
                        "house_prices:tag,titanic:tag");
    assert_string_equal(
        searched(h, (catalog_search_options){.tag = "KAGGLE", .case_sensitive = true}), "");
    assert_string_equal(searched(h, (catalog_search_options){.query = "price", .tag = "kaggle"}),
                        "house_prices:name");
    assert_string_equal(searched(h, (catalog_search_options){.query = "a", .limit = 2}),
                        "house_prices:tags,iris:tags");
    /* Deep: column names and descriptions, from the catalog or the loader. */
    assert_string_equal(searched(h, (catalog_search_options){.query = "deck"}), "titanic:content");
    int calls = 0;
    assert_string_equal(searched(h, (catalog_search_options){.query = "deck", .deep = true,
                                                             .load_columns = fake_columns,
                                                             .ctx = &calls}),
                        "titanic:columns:train.Cabin");
    assert_int_equal(calls, 3); /* titanic has its own column summaries */
    assert_string_equal(searched(h, (catalog_search_options){.query = "REGION", .deep = true,
                                                             .load_columns = fake_columns,
                                                             .ctx = &calls}),
                        "sales:columns:data.store_region");
    /* A Python-written file with a password: the password is never searched. */
    char src[512], dst[512], cmd[1200];
    snprintf(src, sizeof src, "%s", __FILE__);
    *strrchr(src, '/') = '\0';
    snprintf(dst, sizeof dst, "%s/pg_sales.yaml", mdm_config_path(h->cfg, "configs_path"));
    snprintf(cmd, sizeof cmd, "cp '%s/../data/catalog/python_sales_postgres.yaml' '%s'", src, dst);
    assert_int_equal(system(cmd), 0);
    assert_string_equal(searched(h, (catalog_search_options){.query = "hunter2"}), "");
    assert_string_equal(searched(h, (catalog_search_options){.query = "db.internal"}),
                        "pg_sales:content");
    assert_string_equal(searched(h, (catalog_search_options){0}),
                        "error: Provide a search query or --tag");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_filter_text, setup_set, teardown_set),
        cmocka_unit_test_setup_teardown(test_filter_lists_and_bools, setup_set, teardown_set),
        cmocka_unit_test_setup_teardown(test_filter_numbers, setup_set, teardown_set),
        cmocka_unit_test_setup_teardown(test_filter_times, setup_set, teardown_set),
        cmocka_unit_test_setup_teardown(test_filter_errors, setup_set, teardown_set),
        cmocka_unit_test_setup_teardown(test_sort, setup_set, teardown_set),
        cmocka_unit_test_setup_teardown(test_query_list, setup_home, teardown_home),
        cmocka_unit_test_setup_teardown(test_search, setup_home, teardown_home),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
