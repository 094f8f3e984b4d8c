/* The backend table's versioning and capability rules (include/mdm/sys/backend.h): what
 * the registry accepts, how a version 1 table is read, that a slot added in version 2 is
 * never called on an older table, and the catalog name ("postgresql") in one place. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mdm/sys/backend.h"

struct mdm_backend_conn {
    bool in_tx;
};

static int state_calls;

static int open_conn(mdm_backend_conn **out, const mdm_target *t, const mdm_config *cfg)
{
    (void)t, (void)cfg;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : MDM_ENOMEM;
}

static void close_conn(mdm_backend_conn *c) { free(c); }
static int ok(mdm_backend_conn *c) { (void)c; return 0; }

static int begin(mdm_backend_conn *c)
{
    c->in_tx = true;
    return 0;
}

static int end(mdm_backend_conn *c)
{
    c->in_tx = false;
    return 0;
}

/* Any statement leaves a transaction open, whatever its words say. */
static int execute(mdm_backend_conn *c, const char *sql, const mdm_value *p, size_t n,
                   mdm_batch_sink sink, void *ctx, int64_t *changes)
{
    (void)sql, (void)p, (void)n, (void)sink, (void)ctx, (void)changes;
    c->in_tx = true;
    return 0;
}

static int transaction_state(mdm_backend_conn *c, bool *in_transaction)
{
    state_calls++;
    *in_transaction = c->in_tx;
    return 0;
}

static int rename_ds(mdm_backend_conn *c, const char *from, const char *to)
{
    (void)c, (void)from, (void)to;
    return 0;
}

static mdm_backend table(const char *name)
{
    return (mdm_backend){
        MDM_BACKEND_INIT,
        .name = name,
        .open = open_conn,
        .close = close_conn,
        .ping = ok,
        .reset = end,
        .begin = begin,
        .commit = end,
        .rollback = end,
        .execute = execute,
        .capabilities = MDM_BACKEND_CAP_SQL,
        .transaction_state = transaction_state,
    };
}

static mdm_config *cfg;

static int setup(void **state)
{
    (void)state;
    state_calls = 0;
    return mdm_config_defaults(&cfg, "/tmp/mdm-test-backend-registry");
}

static int teardown(void **state)
{
    (void)state;
    mdm_config_free(cfg);
    return 0;
}

/* Runs "SELECT 1" on a store of `backend` and says whether the connection then counts
 * as in a transaction. */
static bool in_transaction_after_select(const char *backend)
{
    mdm_store *s = NULL;
    assert_int_equal(mdm_store_open(&s, backend, &(mdm_target){.dataset = "d"}, cfg), 0);
    mdm_conn *c = NULL;
    assert_int_equal(mdm_store_checkout(s, &c), 0);
    assert_int_equal(mdm_conn_execute(c, "SELECT 1", NULL, 0, NULL, NULL, NULL), 0);
    bool open = mdm_conn_in_transaction(c);
    mdm_store_checkin(s, c);
    mdm_store_free(s);
    return open;
}

static void engine_state_replaces_guessing(void **state)
{
    (void)state;
    static mdm_backend v2;
    v2 = table("state_v2");
    assert_int_equal(mdm_backend_register(&v2), 0);
    assert_true(in_transaction_after_select("state_v2"));
    assert_true(state_calls > 0);
}

static void later_slots_are_not_read_from_older_tables(void **state)
{
    (void)state;
    /* A version 1 table ends before transaction_state: the core must not read it (here
     * it is filled, to prove it is not called). */
    static mdm_backend v1;
    v1 = table("state_v1");
    v1.version = 1;
    assert_int_equal(mdm_backend_register(&v1), 0);
    assert_false(MDM_BACKEND_HAS(&v1, transaction_state));
    assert_false(in_transaction_after_select("state_v1")); /* read off the SQL: no BEGIN */
    assert_int_equal(state_calls, 0);
    /* Its capabilities come from version 1's fields: no file extension, a server. */
    assert_int_equal(mdm_backend_caps(&v1), MDM_BACKEND_CAP_SCHEMAS | MDM_BACKEND_CAP_SQL);
    v1.file_extension = ".v1";
    assert_int_equal(mdm_backend_caps(&v1), MDM_BACKEND_CAP_FILE | MDM_BACKEND_CAP_SQL);
}

static void registration_checks_the_table(void **state)
{
    (void)state;
    static mdm_backend future, no_ext, half_schemas, named, clash;
    future = table("future");
    future.version = MDM_BACKEND_VERSION + 1;
    assert_int_equal(mdm_backend_register(&future), MDM_EINVALID);
    assert_null(mdm_backend_find("future"));

    no_ext = table("no_ext");
    no_ext.capabilities |= MDM_BACKEND_CAP_FILE; /* a file backend names its extension */
    assert_int_equal(mdm_backend_register(&no_ext), MDM_EINVALID);

    half_schemas = table("half_schemas");
    half_schemas.capabilities |= MDM_BACKEND_CAP_SCHEMAS; /* needs location, rename, list */
    half_schemas.dataset_rename = rename_ds;
    assert_int_equal(mdm_backend_register(&half_schemas), MDM_EINVALID);

    /* A catalog name is looked up like the name, and taken once. */
    named = table("named");
    named.catalog_name = "named_in_yaml";
    assert_int_equal(mdm_backend_register(&named), 0);
    assert_ptr_equal(mdm_backend_find("named_in_yaml"), &named);
    assert_string_equal(mdm_backend_catalog_name(&named), "named_in_yaml");
    clash = table("other");
    clash.catalog_name = "named";
    assert_int_equal(mdm_backend_register(&clash), MDM_EEXISTS);
    clash.catalog_name = "postgresql";
    assert_int_equal(mdm_backend_register(&clash), MDM_EEXISTS);
}

static void builtins_state_what_they_are(void **state)
{
    (void)state;
    const mdm_backend *sqlite = mdm_backend_find("sqlite");
    const mdm_backend *duckdb = mdm_backend_find("duckdb");
    const mdm_backend *pg = mdm_backend_find("postgresql");
    assert_non_null(sqlite);
    assert_non_null(duckdb);
    assert_ptr_equal(pg, mdm_backend_find("postgres"));
    assert_true(mdm_backend_caps(sqlite) & MDM_BACKEND_CAP_FILE);
    assert_true(mdm_backend_caps(duckdb) & MDM_BACKEND_CAP_FILE);
    assert_true(mdm_backend_caps(pg) & MDM_BACKEND_CAP_SCHEMAS);
    assert_false(mdm_backend_caps(pg) & MDM_BACKEND_CAP_FILE);
    /* The registry YAML's names: the Python tool's. */
    assert_string_equal(mdm_backend_catalog_name(sqlite), "sqlite");
    assert_string_equal(mdm_backend_catalog_name(duckdb), "duckdb");
    assert_string_equal(mdm_backend_catalog_name(pg), "postgresql");
    assert_int_equal(pg->max_identifier_bytes, 63);
    assert_true(MDM_BACKEND_HAS(sqlite, transaction_state));
    assert_true(MDM_BACKEND_HAS(pg, transaction_state));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(engine_state_replaces_guessing, setup, teardown),
        cmocka_unit_test_setup_teardown(later_slots_are_not_read_from_older_tables, setup,
                                        teardown),
        cmocka_unit_test(registration_checks_the_table),
        cmocka_unit_test(builtins_state_what_they_are),
    };
    return cmocka_run_group_tests_name("backend_registry", tests, NULL, NULL);
}
