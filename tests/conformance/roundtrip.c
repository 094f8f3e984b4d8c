/* Values go in and come back exactly: 1,000,000 rows of every type, edge values,
 * unicode and very long text, special floats, awkward identifiers. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/fixture.h"

#define ROWS 1000000
#define BATCH 10000
#define LONG_TEXT_BYTES (1 << 20)

static const mdm_field all_types[] = {
    {"id", MDM_TYPE_INT64}, {"f", MDM_TYPE_FLOAT64}, {"b", MDM_TYPE_BOOL},
    {"t", MDM_TYPE_TEXT},   {"d", MDM_TYPE_DATE},    {"ts", MDM_TYPE_TIMESTAMP},
};
enum { NCOLS = 6 };

static char *long_text;

static const char *long_text_of(void)
{
    if (!long_text) {
        long_text = malloc(LONG_TEXT_BYTES + 1);
        /* Multi-byte characters all the way, so no engine can truncate mid-character
         * without the test noticing. */
        static const char unit[] = "\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac ";
        size_t u = sizeof unit - 1;
        for (size_t i = 0; i + u <= LONG_TEXT_BYTES; i += u)
            memcpy(long_text + i, unit, u);
        size_t used = LONG_TEXT_BYTES / u * u;
        memset(long_text + used, 'x', LONG_TEXT_BYTES - used);
        long_text[LONG_TEXT_BYTES] = '\0';
    }
    return long_text;
}

/* The expected value of (row, col). Deterministic, so reading back needs no copy. */
static mdm_value expected(int64_t row, int col, char *scratch, size_t size)
{
    switch (col) {
    case 0:
        if (row % 11 == 3)
            return mdm_value_null(MDM_TYPE_INT64);
        if (row % 1000 == 1)
            return mdm_value_int64(INT64_MIN);
        if (row % 1000 == 2)
            return mdm_value_int64(INT64_MAX);
        return mdm_value_int64(row * 7919 - 3000000);
    case 1:
        if (row % 13 == 5)
            return mdm_value_null(MDM_TYPE_FLOAT64);
        if (row % 1000 == 7)
            return mdm_value_float64(DBL_MAX);
        if (row % 1000 == 8)
            return mdm_value_float64(-DBL_MIN);
        if (row % 1000 == 9)
            return mdm_value_float64(4.9e-324); /* smallest subnormal */
        return mdm_value_float64((double)row / 3.0 - 1000.0);
    case 2:
        if (row % 17 == 0)
            return mdm_value_null(MDM_TYPE_BOOL);
        return mdm_value_bool(row % 3 == 0);
    case 3:
        if (row % 250000 == 7) {
            mdm_value v = mdm_value_text(long_text_of());
            return v;
        }
        switch (row % 10) {
        case 0: return mdm_value_text("");
        case 2: return mdm_value_null(MDM_TYPE_TEXT);
        case 1:
            snprintf(scratch, size, "h\xc3\xa9llo w\xc3\xb6rld \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
                                    "\xf0\x9f\x8e\x89 %lld", (long long)row);
            return mdm_value_text(scratch);
        case 3:
            snprintf(scratch, size, "quote ' and \" and \\ backslash, comma;\ttab\nnewline\r\n%lld",
                     (long long)row);
            return mdm_value_text(scratch);
        case 4: return mdm_value_text("NULL");
        case 5: return mdm_value_text(" ");
        default:
            snprintf(scratch, size, "text_%lld", (long long)row);
            return mdm_value_text(scratch);
        }
    case 4:
        if (row % 19 == 0)
            return mdm_value_null(MDM_TYPE_DATE);
        if (row % 1000 == 11)
            return mdm_value_date(mdm_date_from_ymd(1, 1, 1));
        if (row % 1000 == 12)
            return mdm_value_date(mdm_date_from_ymd(9999, 12, 31));
        return mdm_value_date((int32_t)(row % 200000) - 100000);
    default:
        if (row % 23 == 0)
            return mdm_value_null(MDM_TYPE_TIMESTAMP);
        if (row % 1000 == 13) /* 1900-02-28 23:59:59.999999 */
            return mdm_value_timestamp((int64_t)mdm_date_from_ymd(1900, 3, 1) * 86400000000LL - 1);
        return mdm_value_timestamp(-1000000000000000LL + row * 1000003LL * 1013LL);
    }
}

static void fill(mdm_batch *b, int64_t first, size_t n)
{
    char scratch[256];
    mdm_batch_clear(b);
    for (size_t i = 0; i < n; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        for (int c = 0; c < NCOLS; c++) {
            mdm_value v = expected(first + (int64_t)i, c, scratch, sizeof scratch);
            CHECK(mdm_batch_set_value(b, (size_t)c, r, &v));
        }
    }
}

typedef struct verify_ctx {
    int64_t next_row;
    const int *cols; /* column of all_types delivered at each position */
    size_t ncols;
    size_t batches;
} verify_ctx;

static int verify_sink(const mdm_batch *b, void *p)
{
    verify_ctx *v = p;
    char scratch[256];
    assert_int_equal(mdm_batch_ncols(b), v->ncols);
    v->batches++;
    for (size_t r = 0; r < mdm_batch_nrows(b); r++, v->next_row++) {
        for (size_t i = 0; i < v->ncols; i++) {
            int col = v->cols[i];
            mdm_value want = expected(v->next_row, col, scratch, sizeof scratch);
            mdm_value got = mdm_batch_value(b, i, r);
            if (!values_equal(&want, &got)) {
                char w[200];
                snprintf(w, sizeof w, "%s", value_repr(&want));
                fail_msg("row %lld column %s: expected %s, got %s", (long long)v->next_row,
                         all_types[col].name, w, value_repr(&got));
            }
        }
    }
    return 0;
}

static void million_rows_exact(void **state)
{
    (void)state;
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_table_create(c, "train", all_types, NCOLS));
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, all_types, NCOLS, BATCH));
    for (int64_t first = 0; first < ROWS; first += BATCH) {
        fill(b, first, BATCH);
        CHECK(mdm_conn_append(c, "train", b));
    }
    mdm_batch_free(b);
    assert_int_equal(count_rows(c, "train"), ROWS);

    static const int all[] = {0, 1, 2, 3, 4, 5};
    verify_ctx v = {.cols = all, .ncols = NCOLS};
    mdm_read_request req = {.table = "train", .limit = -1};
    CHECK(mdm_conn_read(c, &req, verify_sink, &v));
    assert_int_equal(v.next_row, ROWS);
    fixture_checkin(c);
}

typedef struct floats_read {
    double out[16];
    bool null[16];
    size_t n;
} floats_read;

static int floats_sink(const mdm_batch *batch, void *ctx)
{
    floats_read *g = ctx;
    for (size_t r = 0; r < mdm_batch_nrows(batch) && g->n < 16; r++, g->n++) {
        g->null[g->n] = mdm_batch_is_null(batch, 0, r);
        g->out[g->n] = g->null[g->n] ? 0 : mdm_batch_float64(batch, 0, r);
    }
    return 0;
}

static void special_floats(void **state)
{
    (void)state;
    static const mdm_field f[] = {{"x", MDM_TYPE_FLOAT64}};
    const double in[] = {NAN, INFINITY, -INFINITY, -0.0, 0.0, 1e308, -1e-308, 0.1};
    const size_t n = sizeof in / sizeof in[0];
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_table_create(c, "floats", f, 1));
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, f, 1, n));
    for (size_t i = 0; i < n; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_float64(b, 0, r, in[i]);
    }
    CHECK(mdm_conn_append(c, "floats", b));
    mdm_batch_free(b);

    floats_read got = {0};
    mdm_read_request req = {.table = "floats", .limit = -1};
    CHECK(mdm_conn_read(c, &req, floats_sink, &got));
    assert_int_equal(got.n, n);
    /* NaN: stored as NaN, or as NULL where the engine cannot hold it (documented). */
    if (fx.quirks.nan_becomes_null)
        assert_true(got.null[0]);
    else
        assert_true(!got.null[0] && isnan(got.out[0]));
    assert_true(isinf(got.out[1]) && got.out[1] > 0);
    assert_true(isinf(got.out[2]) && got.out[2] < 0);
    assert_true(got.out[3] == 0.0);
    assert_int_equal(signbit(got.out[3]) != 0, !fx.quirks.negative_zero_lost);
    assert_true(got.out[4] == 0.0 && !signbit(got.out[4]));
    assert_true(got.out[5] == 1e308 && got.out[6] == -1e-308 && got.out[7] == 0.1);
    fixture_checkin(c);
}

static int text_sink(const mdm_batch *b, void *ctx)
{
    char **out = ctx;
    for (size_t r = 0; r < mdm_batch_nrows(b); r++) {
        for (size_t col = 0; col < mdm_batch_ncols(b); col++) {
            mdm_value v = mdm_batch_value(b, col, r);
            assert_false(v.is_null);
            assert_int_equal(v.type, MDM_TYPE_TEXT);
            out[col] = strndup(v.v.text.ptr, v.v.text.len);
        }
    }
    return 0;
}

static void awkward_identifiers(void **state)
{
    (void)state;
    static const char *const tables[] = {
        "my table", "say \"hi\"", "\xc3\xbcnic\xc3\xb6" "de \xe6\x97\xa5\xe6\x9c\xac", "it's",
        "semi;colon", "Robert'); DROP TABLE students;--", "UPPER lower",
    };
    static const mdm_field cols[] = {
        {"a b", MDM_TYPE_TEXT}, {"\"q\"", MDM_TYPE_TEXT}, {"\xe5\x88\x97", MDM_TYPE_TEXT},
        {"select", MDM_TYPE_TEXT},
    };
    mdm_conn *c = fixture_checkout();
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        CHECK(mdm_conn_table_create(c, tables[t], cols, 4));
        mdm_batch *b = NULL;
        CHECK(mdm_batch_new(&b, cols, 4, 1));
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        for (size_t col = 0; col < 4; col++)
            CHECK(mdm_batch_set_text(b, col, r, cols[col].name, strlen(cols[col].name)));
        CHECK(mdm_conn_append(c, tables[t], b));
        mdm_batch_free(b);

        mdm_field *fields = NULL;
        size_t nf = 0;
        CHECK(mdm_conn_table_schema(c, tables[t], &fields, &nf));
        assert_int_equal(nf, 4);
        for (size_t col = 0; col < 4; col++)
            assert_string_equal(fields[col].name, cols[col].name);
        mdm_fields_free(fields, nf);

        const char *pick[] = {cols[3].name, cols[0].name};
        char *out[2] = {0};
        mdm_read_request req = {.table = tables[t], .columns = pick, .ncolumns = 2, .limit = -1};
        CHECK(mdm_conn_read(c, &req, text_sink, out));
        assert_string_equal(out[0], cols[3].name);
        assert_string_equal(out[1], cols[0].name);
        free(out[0]);
        free(out[1]);
        assert_int_equal(count_rows(c, tables[t]), 1);
    }
    /* Every table is still there: nothing was injected. */
    char **names = NULL;
    size_t n = 0;
    CHECK(mdm_conn_table_list(c, &names, &n));
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
            found += strcmp(names[i], tables[t]) == 0;
        free(names[i]);
    }
    free(names);
    assert_int_equal(found, sizeof tables / sizeof tables[0]);
    fixture_checkin(c);
}

static void bad_identifiers_refused(void **state)
{
    (void)state;
    static const mdm_field cols[] = {{"a", MDM_TYPE_INT64}};
    static const mdm_field bad_col[] = {{"a\nb", MDM_TYPE_INT64}};
    mdm_conn *c = fixture_checkout();
    assert_int_equal(mdm_conn_table_create(c, "", cols, 1), MDM_EINVALID);
    assert_int_equal(mdm_conn_table_create(c, "tab\x01", cols, 1), MDM_EINVALID);
    assert_int_equal(mdm_conn_table_create(c, "bad\xff", cols, 1), MDM_EINVALID);
    assert_int_equal(mdm_conn_table_create(c, "ok", bad_col, 1), MDM_EINVALID);
    assert_int_equal(mdm_conn_table_create(c, "ok", cols, 0), MDM_EINVALID);
    fixture_checkin(c);
}

const struct CMUnitTest roundtrip_tests[] = {
    cmocka_unit_test_setup_teardown(million_rows_exact, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(special_floats, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(awkward_identifiers, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(bad_identifiers_refused, fixture_setup, fixture_teardown),
};
const size_t roundtrip_ntests = sizeof roundtrip_tests / sizeof roundtrip_tests[0];
