/* Conversion of text records to typed batches by an inferred plan: exact values,
 * NULLs, errors naming the line, column and value, and random input that must neither
 * crash nor lose anything. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/convert.h"
#include "io/infer.h"
#include "mdm/mdm.h"

/* A table given as rows of C strings: NULL is an empty unquoted field, a leading
 * '\x01' marks a quoted field. */
#define Q "\x01"

typedef struct table {
    size_t ncols, nrows;
    const char *const *cells; /* row-major */
} table;

static io_field make_field(const char *v)
{
    if (!v)
        return (io_field){"", 0, false};
    if (v[0] == '\x01')
        return (io_field){v + 1, strlen(v + 1), true};
    return (io_field){v, strlen(v), false};
}

static io_record row_record(const table *t, size_t r, io_field *buf)
{
    for (size_t c = 0; c < t->ncols; c++)
        buf[c] = make_field(t->cells[r * t->ncols + c]);
    return (io_record){buf, t->ncols, r + 2};
}

/* Infers the table's plan, then converts every row into one batch. */
static void load(const table *t, const char *const *names, io_plan **plan, mdm_batch **batch)
{
    io_field buf[16];
    io_inferrer *inf = NULL;
    assert_int_equal(io_inferrer_new(&inf, t->ncols, NULL, "t.csv"), 0);
    for (size_t r = 0; r < t->nrows; r++) {
        io_record rec = row_record(t, r, buf);
        assert_int_equal(io_inferrer_observe(inf, &rec), 0);
    }
    assert_int_equal(io_inferrer_finish(plan, inf, names), 0);
    io_inferrer_free(inf);
    mdm_field *fields = NULL;
    assert_int_equal(io_plan_fields(&fields, *plan), 0);
    assert_int_equal(mdm_batch_new(batch, fields, t->ncols, 4), 0);
    free(fields);
    for (size_t r = 0; r < t->nrows; r++) {
        io_record rec = row_record(t, r, buf);
        if (io_convert_record(*batch, *plan, &rec, "t.csv"))
            fail_msg("row %zu: %s", r, mdm_error_last()->message);
    }
    assert_int_equal(mdm_batch_nrows(*batch), t->nrows);
}

static void typed_values_are_exact(void **state)
{
    (void)state;
    static const char *const names[] = {"i", "f", "b", "d", "ts", "t", "dmy"};
    static const char *const cells[] = {
        "9223372036854775807", "0.1", "true", "2020-02-29", "2020-01-02 03:04:05.123456", "a", "31.12.1999",
        "-9223372036854775808", "-0", "False", "1970-01-01", "2020-01-02T00:00:00Z", Q "", "01.01.0001",
        NULL, "1e22", NULL, NULL, NULL, NULL, NULL,
        "NA", "nan", "None", Q "", "NULL", "NA", "N/A",
        "0", "inf", "TRUE", "1969-12-31", "1969-12-31 23:59:59.999999", Q "x,\"y\"\nz", "29.02.2000",
        "42", "2.5e-3", "false", "9999-12-31", "2020-01-02", "日本", "1.1.2001",
        "-1", "18446744073709551616", "true", "0001-01-01", "2020-01-02 03:04", "", "10.10.2010",
    };
    table t = {7, sizeof cells / sizeof *cells / 7, cells};
    io_plan *plan = NULL;
    mdm_batch *b = NULL;
    load(&t, names, &plan, &b);
    assert_int_equal(plan->columns[0].type, MDM_TYPE_INT64);
    assert_int_equal(plan->columns[1].type, MDM_TYPE_FLOAT64);
    assert_int_equal(plan->columns[2].type, MDM_TYPE_BOOL);
    assert_int_equal(plan->columns[3].type, MDM_TYPE_DATE);
    assert_int_equal(plan->columns[4].type, MDM_TYPE_TIMESTAMP);
    assert_int_equal(plan->columns[5].type, MDM_TYPE_TEXT);
    assert_int_equal(plan->columns[6].type, MDM_TYPE_DATE);
    assert_int_equal(plan->columns[6].date_format, IO_DATE_DMY_DOT);

    assert_true(mdm_batch_int64(b, 0, 0) == INT64_MAX);
    assert_true(mdm_batch_int64(b, 0, 1) == INT64_MIN);
    assert_true(mdm_batch_is_null(b, 0, 2));
    assert_true(mdm_batch_is_null(b, 0, 3));
    assert_true(mdm_batch_int64(b, 0, 4) == 0);
    assert_true(mdm_batch_int64(b, 0, 6) == -1);

    assert_true(mdm_batch_float64(b, 1, 0) == 0.1);
    assert_true(mdm_batch_float64(b, 1, 1) == 0 && signbit(mdm_batch_float64(b, 1, 1)));
    assert_true(mdm_batch_float64(b, 1, 2) == 1e22);
    assert_true(mdm_batch_is_null(b, 1, 3)); /* "nan" is a missing-value marker */
    assert_true(isinf(mdm_batch_float64(b, 1, 4)));
    assert_true(mdm_batch_float64(b, 1, 5) == 0.0025);
    assert_true(mdm_batch_float64(b, 1, 6) == 18446744073709551616.0);

    assert_true(mdm_batch_bool(b, 2, 0));
    assert_false(mdm_batch_bool(b, 2, 1));
    assert_true(mdm_batch_is_null(b, 2, 3));
    assert_true(mdm_batch_bool(b, 2, 4));

    assert_int_equal(mdm_batch_date(b, 3, 0), mdm_date_from_ymd(2020, 2, 29));
    assert_int_equal(mdm_batch_date(b, 3, 1), 0);
    assert_true(mdm_batch_is_null(b, 3, 3)); /* quoted "" in a date column */
    assert_int_equal(mdm_batch_date(b, 3, 4), -1);
    assert_int_equal(mdm_batch_date(b, 3, 5), mdm_date_from_ymd(9999, 12, 31));
    assert_int_equal(mdm_batch_date(b, 3, 6), mdm_date_from_ymd(1, 1, 1));

    int64_t ts;
    assert_int_equal(mdm_timestamp_parse(&ts, "2020-01-02 03:04:05.123456", 26), 0);
    assert_true(mdm_batch_timestamp(b, 4, 0) == ts);
    assert_true(mdm_batch_timestamp(b, 4, 1) == mdm_date_from_ymd(2020, 1, 2) * 86400000000LL);
    assert_true(mdm_batch_timestamp(b, 4, 4) == -1);
    assert_true(mdm_batch_timestamp(b, 4, 5) == mdm_date_from_ymd(2020, 1, 2) * 86400000000LL);

    size_t len;
    assert_string_equal(mdm_batch_text(b, 5, 0, &len), "a");
    assert_false(mdm_batch_is_null(b, 5, 1)); /* a quoted "" is the empty string */
    assert_int_equal(len, 1);
    mdm_batch_text(b, 5, 1, &len);
    assert_int_equal(len, 0);
    assert_true(mdm_batch_is_null(b, 5, 2));
    assert_string_equal(mdm_batch_text(b, 5, 3, NULL), "NA"); /* kept in a text column */
    assert_string_equal(mdm_batch_text(b, 5, 4, NULL), "x,\"y\"\nz");
    assert_string_equal(mdm_batch_text(b, 5, 5, NULL), "日本");
    assert_true(mdm_batch_is_null(b, 5, 6));

    assert_int_equal(mdm_batch_date(b, 6, 4), mdm_date_from_ymd(2000, 2, 29));
    assert_int_equal(mdm_batch_date(b, 6, 5), mdm_date_from_ymd(2001, 1, 1));

    mdm_batch_free(b);
    io_plan_free(plan);
}

/* A value that no longer fits (the file changed between the passes) is an error
 * naming the line, the column and the value; nothing is coerced. */
static void values_that_do_not_fit_are_errors(void **state)
{
    (void)state;
    static const char *const names[] = {"id", "when"};
    static const char *const cells[] = {"1", "2020-01-01", "2", "2020-01-02"};
    table t = {2, 2, cells};
    io_plan *plan = NULL;
    mdm_batch *b = NULL;
    load(&t, names, &plan, &b);

    struct {
        const char *id, *when, *message;
    } cases[] = {
        {"007", "2020-01-01", "f.csv line 1042, column 'id': '007' is not a int64 value"},
        {"1", "01/01/2020", "f.csv line 1042, column 'when': '01/01/2020' is not a date value"},
        {"9223372036854775808", "2020-01-01", "column 'id': '9223372036854775808'"},
        {"1.0", "2020-01-01", "column 'id': '1.0'"},
        {"1", "2020-02-30", "column 'when': '2020-02-30'"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        mdm_batch_clear(b);
        io_field f[2] = {{cases[k].id, strlen(cases[k].id), false},
                         {cases[k].when, strlen(cases[k].when), false}};
        io_record rec = {f, 2, 1042};
        assert_int_equal(io_convert_record(b, plan, &rec, "f.csv"), MDM_EINVALID);
        if (!strstr(mdm_error_last()->message, cases[k].message))
            fail_msg("message '%s' lacks '%s'", mdm_error_last()->message, cases[k].message);
    }
    /* long values are shortened in the message */
    char big[300];
    memset(big, '9', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    io_field f[2] = {{big, strlen(big), false}, {"2020-01-01", 10, false}};
    io_record rec = {f, 2, 7};
    mdm_batch_clear(b);
    assert_int_equal(io_convert_record(b, plan, &rec, "f.csv"), MDM_EINVALID);
    assert_true(strlen(mdm_error_last()->message) < 250);
    assert_non_null(strstr(mdm_error_last()->message, "..."));

    io_field three[3] = {{"1", 1, false}, {"2020-01-01", 10, false}, {"x", 1, false}};
    rec = (io_record){three, 3, 9};
    assert_int_equal(io_convert_record(b, plan, &rec, "f.csv"), MDM_EINVALID);
    assert_string_equal(mdm_error_last()->message, "f.csv line 9: 3 fields, expected 2");

    /* a short record: the missing fields are NULL */
    mdm_batch_clear(b);
    rec = (io_record){three, 1, 10};
    assert_int_equal(io_convert_record(b, plan, &rec, "f.csv"), 0);
    assert_int_equal(mdm_batch_int64(b, 0, 0), 1);
    assert_true(mdm_batch_is_null(b, 1, 0));

    mdm_batch_free(b);
    io_plan_free(plan);
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random fields, numbers, dates and bytes: inference and conversion never crash, every
 * row converts, text comes back byte for byte, and numbers print back to the value
 * written. */
static void random_input_loses_nothing(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "0", "1", "-", ".", "e", "E", "+", "9", "5", "00", "inf", "nan", "NA", ",", " ", "\"",
        "2020-02-29", "/", ":", "T", "Z", "true", "\xff", "\xc3\xa9", "\0", "\n", "12", "-0",
        "1e400", "0.1", "31.12.1999", "10:00",
    };
    const size_t npieces = sizeof pieces / sizeof *pieces;
    enum { COLS = 4, ROWS = 3000 };
    char *cells = calloc((size_t)COLS * ROWS, 64);
    size_t *lens = calloc((size_t)COLS * ROWS, sizeof *lens);
    bool *quoted = calloc((size_t)COLS * ROWS, sizeof *quoted);
    int float_columns = 0;
    for (int round = 0; round < 20; round++) {
        for (size_t k = 0; k < (size_t)COLS * ROWS; k++) {
            char *cell = cells + k * 64;
            size_t len = 0;
            int n = (int)(rng() % 4);
            /* column 0: only numbers; others: anything */
            if (k % COLS == 0) {
                /* the shortest form of a double, or a longer one now and then */
                double d = (double)(int64_t)rng() / (double)(1 + rng() % 100000);
                int p = 1;
                while (p < 17 && (snprintf(cell, 64, "%.*g", p, d), strtod(cell, NULL) != d))
                    p++;
                if (rng() % 1000 == 0)
                    p = 17;
                len = (size_t)snprintf(cell, 64, "%.*g", p, d);
            } else {
                for (int p = 0; p < n; p++) {
                    const char *piece = pieces[rng() % npieces];
                    size_t plen = piece[0] ? strlen(piece) : 1;
                    memcpy(cell + len, piece, plen);
                    len += plen;
                }
            }
            cell[len] = '\0';
            lens[k] = len;
            quoted[k] = rng() % 5 == 0;
        }
        io_inferrer *inf = NULL;
        assert_int_equal(io_inferrer_new(&inf, COLS, NULL, "r.csv"), 0);
        io_field f[COLS];
        for (size_t r = 0; r < ROWS; r++) {
            for (size_t c = 0; c < COLS; c++) {
                size_t k = r * COLS + c;
                f[c] = (io_field){cells + k * 64, lens[k], quoted[k]};
            }
            io_record rec = {f, COLS, r + 2};
            assert_int_equal(io_inferrer_observe(inf, &rec), 0);
        }
        io_plan *plan = NULL;
        assert_int_equal(io_inferrer_finish(&plan, inf, NULL), 0);
        io_inferrer_free(inf);
        if (plan->columns[0].type != MDM_TYPE_FLOAT64 && plan->columns[0].type != MDM_TYPE_INT64 &&
            plan->columns[0].type != MDM_TYPE_TEXT)
            fail_msg("number column typed %s", mdm_type_name(plan->columns[0].type));
        float_columns += plan->columns[0].type == MDM_TYPE_FLOAT64;
        mdm_field *fields = NULL;
        assert_int_equal(io_plan_fields(&fields, plan), 0);
        mdm_batch *b = NULL;
        assert_int_equal(mdm_batch_new(&b, fields, COLS, 0), 0);
        free(fields);
        for (size_t r = 0; r < ROWS; r++) {
            for (size_t c = 0; c < COLS; c++) {
                size_t k = r * COLS + c;
                f[c] = (io_field){cells + k * 64, lens[k], quoted[k]};
            }
            io_record rec = {f, COLS, r + 2};
            if (io_convert_record(b, plan, &rec, "r.csv"))
                fail_msg("%s", mdm_error_last()->message);
        }
        for (size_t r = 0; r < ROWS; r++)
            for (size_t c = 0; c < COLS; c++) {
                size_t k = r * COLS + c;
                const char *in = cells + k * 64;
                if (mdm_batch_is_null(b, c, r)) {
                    if (lens[k] != 0 && io_missing_marker(in, lens[k]) < 0)
                        fail_msg("'%s' became NULL", in);
                    if (plan->columns[c].type == MDM_TYPE_TEXT && (quoted[k] || lens[k]))
                        fail_msg("text '%s' became NULL", in);
                    continue;
                }
                switch (plan->columns[c].type) {
                case MDM_TYPE_TEXT: {
                    size_t len;
                    const char *out = mdm_batch_text(b, c, r, &len);
                    assert_int_equal(len, lens[k]);
                    assert_memory_equal(out, in, len);
                    break;
                }
                case MDM_TYPE_FLOAT64: {
                    double d = mdm_batch_float64(b, c, r);
                    assert_true(strtod(in, NULL) == d || isinf(d));
                    break;
                }
                case MDM_TYPE_INT64: {
                    char back[32];
                    snprintf(back, sizeof back, "%lld", (long long)mdm_batch_int64(b, c, r));
                    assert_string_equal(back, in);
                    break;
                }
                default: break;
                }
            }
        mdm_batch_free(b);
        io_plan_free(plan);
    }
    assert_true(float_columns > 0);
    free(cells);
    free(lens);
    free(quoted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(typed_values_are_exact),
        cmocka_unit_test(values_that_do_not_fit_are_errors),
        cmocka_unit_test(random_input_loses_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
