/* One conformance suite, run against every backend: `conformance sqlite|duckdb|postgres`.
 * PostgreSQL needs MDM_TEST_PG_CONNINFO (scripts/test-postgres sets it); without it the
 * run is skipped (exit 77) unless MDM_REQUIRE_POSTGRES=1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance/fixture.h"
#include "mdm/sys/backend.h"

fixture fx;

static const struct {
    const char *backend;
    engine_quirks quirks;
} known[] = {
    {"sqlite", {.nan_becomes_null = true, .negative_zero_lost = true}},
    {"duckdb", {0}},
    {"postgres", {0}},
};

static char *temp_root;

int fixture_setup(void **state)
{
    (void)state;
    fx.seq++;
    mdm_target t = {0};
    char path[512], dataset[128];
    if (strcmp(fx.backend, "postgres") == 0) {
        snprintf(dataset, sizeof dataset, "conf_%d_%d", (int)getpid(), fx.seq);
        t.dataset = dataset;
        t.conninfo = getenv("MDM_TEST_PG_CONNINFO");
    } else {
        snprintf(path, sizeof path, "%s/t%d.%s", temp_root, fx.seq, fx.backend);
        t.dataset = "conformance";
        t.path = path;
    }
    CHECK(mdm_store_open(&fx.store, fx.backend, &t, fx.cfg));
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_dataset_create(c));
    fixture_checkin(c);
    return 0;
}

int fixture_teardown(void **state)
{
    (void)state;
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_dataset_drop(c));
    fixture_checkin(c);
    mdm_store_free(fx.store);
    fx.store = NULL;
    return 0;
}

mdm_conn *fixture_checkout(void)
{
    mdm_conn *c = NULL;
    CHECK(mdm_store_checkout(fx.store, &c));
    return c;
}

void fixture_checkin(mdm_conn *conn) { mdm_store_checkin(fx.store, conn); }

static int count_sink(const mdm_batch *b, void *ctx)
{
    assert_int_equal(mdm_batch_ncols(b), 1);
    assert_int_equal(mdm_batch_nrows(b), 1);
    assert_int_equal(mdm_batch_field(b, 0)->type, MDM_TYPE_INT64);
    *(int64_t *)ctx = mdm_batch_int64(b, 0, 0);
    return 0;
}

int64_t count_rows(mdm_conn *conn, const char *table)
{
    char sql[512];
    char quoted[300];
    assert_true(mdm_sql_quote_ident(quoted, sizeof quoted, table) > 0);
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", quoted);
    int64_t n = -1;
    CHECK(mdm_conn_execute(conn, sql, NULL, 0, count_sink, &n, NULL));
    return n;
}

bool values_equal(const mdm_value *a, const mdm_value *b)
{
    if (a->type != b->type || a->is_null != b->is_null)
        return false;
    if (a->is_null)
        return true;
    switch (a->type) {
    case MDM_TYPE_INT64: return a->v.i64 == b->v.i64;
    case MDM_TYPE_FLOAT64:
        if (isnan(a->v.f64) || isnan(b->v.f64))
            return isnan(a->v.f64) && isnan(b->v.f64);
        return a->v.f64 == b->v.f64 && signbit(a->v.f64) == signbit(b->v.f64);
    case MDM_TYPE_BOOL: return a->v.b == b->v.b;
    case MDM_TYPE_DATE: return a->v.date == b->v.date;
    case MDM_TYPE_TIMESTAMP: return a->v.ts == b->v.ts;
    case MDM_TYPE_TEXT:
        return a->v.text.len == b->v.text.len &&
               memcmp(a->v.text.ptr, b->v.text.ptr, a->v.text.len) == 0;
    }
    return false;
}

const char *value_repr(const mdm_value *v)
{
    static _Thread_local char buf[160];
    if (v->is_null) {
        snprintf(buf, sizeof buf, "NULL(%s)", mdm_type_name(v->type));
        return buf;
    }
    switch (v->type) {
    case MDM_TYPE_INT64: snprintf(buf, sizeof buf, "%lld", (long long)v->v.i64); break;
    case MDM_TYPE_FLOAT64: snprintf(buf, sizeof buf, "%.17g", v->v.f64); break;
    case MDM_TYPE_BOOL: snprintf(buf, sizeof buf, "%s", v->v.b ? "true" : "false"); break;
    case MDM_TYPE_DATE: mdm_date_format(buf, sizeof buf, v->v.date); break;
    case MDM_TYPE_TIMESTAMP: mdm_timestamp_format(buf, sizeof buf, v->v.ts); break;
    case MDM_TYPE_TEXT:
        snprintf(buf, sizeof buf, "'%.100s'%s (%zu bytes)", v->v.text.ptr,
                 v->v.text.len > 100 ? "..." : "", v->v.text.len);
        break;
    }
    return buf;
}

static int run_group(const char *name, const struct CMUnitTest *tests, size_t n)
{
    return _cmocka_run_group_tests(name, tests, n, NULL, NULL);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s sqlite|duckdb|postgres\n", argv[0]);
        return 2;
    }
    fx.backend = argv[1];
    bool found = false;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i].backend, fx.backend) == 0) {
            fx.quirks = known[i].quirks;
            found = true;
        }
    if (!found) {
        fprintf(stderr, "unknown backend '%s'\n", fx.backend);
        return 2;
    }
    const char *conninfo = getenv("MDM_TEST_PG_CONNINFO");
    if (strcmp(fx.backend, "postgres") == 0 && (!conninfo || !*conninfo)) {
        const char *req = getenv("MDM_REQUIRE_POSTGRES");
        fprintf(stderr, "MDM_TEST_PG_CONNINFO is not set: run under scripts/test-postgres\n");
        return req && strcmp(req, "1") == 0 ? 1 : 77;
    }
    char tmpl[] = "/tmp/mdm-conformance-XXXXXX";
    temp_root = mkdtemp(tmpl);
    if (!temp_root || mdm_config_defaults(&fx.cfg, temp_root) != 0) {
        perror("mkdtemp");
        return 1;
    }
    /* Ten threads each hold a connection for the whole of their work. */
    static const char *const pool_keys[] = {"database.sqlalchemy.pool_size",
                                            "database.duckdb.pool_size",
                                            "database.postgresql.pool_size"};
    for (size_t i = 0; i < 3; i++)
        CHECK(mdm_config_set(fx.cfg, pool_keys[i], "16"));
    /* pool_limits_are_kept waits out one acquisition timeout: keep it short. */
    CHECK(mdm_config_set(fx.cfg, "database.sqlalchemy.pool_timeout", "1"));
    char group[64];
    int failed = 0;
#define GROUP(g)                                                                           \
    snprintf(group, sizeof group, "%s/" #g, fx.backend);                                   \
    failed += run_group(group, g##_tests, g##_ntests);
    GROUP(lifecycle)
    GROUP(load)
    GROUP(roundtrip)
    GROUP(read)
    GROUP(safety)
    GROUP(thread)
    GROUP(pooling)
    GROUP(query)
    mdm_config_free(fx.cfg);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", temp_root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", temp_root);
    return failed ? 1 : 0;
}
