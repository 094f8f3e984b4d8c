/* Type inference without loss: the value parsers, column names from headers, the
 * per-column plan (types, missing values) and the semantic-type rule. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/header.h"
#include "io/infer.h"
#include "io/parse_value.h"
#include "mdm/mdm.h"

/* ------------------------------------------------------------------ helpers */

#define NUM(s) io_number_kinds(s, strlen(s), NULL)
#define INT_AND_FLOAT (IO_NUM_INT64 | IO_NUM_FLOAT64)

/* A value list entry: NULL is an empty unquoted field; a leading '\x01' marks a quoted
 * field (the rest is its text). */
#define Q "\x01"

static io_field make_field(const char *v)
{
    if (!v)
        return (io_field){"", 0, false};
    if (v[0] == '\x01')
        return (io_field){v + 1, strlen(v + 1), true};
    return (io_field){v, strlen(v), false};
}

/* Infers one column from n values; the plan is returned (caller frees). */
static io_plan *infer_column_opts(const char *const *values, size_t n, const io_infer_options *opts)
{
    io_inferrer *inf = NULL;
    assert_int_equal(io_inferrer_new(&inf, 1, opts, "test.csv"), 0);
    for (size_t i = 0; i < n; i++) {
        io_field f = make_field(values[i]);
        io_record rec = {&f, 1, i + 2};
        assert_int_equal(io_inferrer_observe(inf, &rec), 0);
    }
    io_plan *plan = NULL;
    const char *names[] = {"col"};
    assert_int_equal(io_inferrer_finish(&plan, inf, names), 0);
    io_inferrer_free(inf);
    assert_int_equal(plan->ncols, 1);
    assert_int_equal(plan->rows, n);
    return plan;
}

static io_plan *infer_column(const char *const *values, size_t n)
{
    return infer_column_opts(values, n, NULL);
}

static mdm_type type_of(const char *const *values, size_t n)
{
    io_plan *plan = infer_column(values, n);
    mdm_type t = plan->columns[0].type;
    io_plan_free(plan);
    return t;
}

#define TYPE_OF(...)                                                                  \
    type_of((const char *const[]){__VA_ARGS__},                                       \
            sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* ------------------------------------------------------------------ numbers */

static void integers_are_canonical_only(void **state)
{
    (void)state;
    assert_int_equal(NUM("0"), INT_AND_FLOAT);
    assert_int_equal(NUM("42"), INT_AND_FLOAT);
    assert_int_equal(NUM("-42"), INT_AND_FLOAT);
    assert_int_equal(NUM("007"), 0);    /* a code: 7 would lose the zeros */
    assert_int_equal(NUM("-01"), 0);
    assert_int_equal(NUM("+5"), 0);     /* "+33612345678" is a phone number */
    assert_int_equal(NUM("-0"), IO_NUM_FLOAT64); /* -0.0 keeps the sign; 0 would not */
    assert_int_equal(NUM("1,000"), 0);  /* thousands separators */
    assert_int_equal(NUM("1_000"), 0);
    assert_int_equal(NUM(" 1"), 0);
    assert_int_equal(NUM("1 "), 0);
    assert_int_equal(NUM(""), 0);
    assert_int_equal(NUM("-"), 0);
    assert_int_equal(NUM("0x10"), 0);
    assert_int_equal(NUM("9223372036854775807"), IO_NUM_INT64); /* not exact as a double */
    assert_int_equal(NUM("-9223372036854775808"), INT_AND_FLOAT); /* -2^63 is exact */
    assert_int_equal(NUM("9223372036854775808"), IO_NUM_FLOAT64); /* 2^63: past int64, exact */
    assert_int_equal(NUM("-9223372036854775809"), 0);
    assert_int_equal(NUM("9007199254740992"), INT_AND_FLOAT);     /* 2^53 */
    assert_int_equal(NUM("9007199254740993"), IO_NUM_INT64);      /* 2^53 + 1 */
    assert_int_equal(NUM("123456789012345678"), IO_NUM_INT64);
    assert_int_equal(NUM("12345678901234567890"), 0);             /* 20 digits, not exact */
    assert_int_equal(NUM("18446744073709551616"), IO_NUM_FLOAT64); /* 2^64, exact */
    assert_int_equal(NUM("99999999999999999999999"), 0);

    int64_t v;
    assert_true(io_parse_int64(&v, "9223372036854775807", 19));
    assert_true(v == INT64_MAX);
    assert_true(io_parse_int64(&v, "-9223372036854775808", 20));
    assert_true(v == INT64_MIN);
    assert_false(io_parse_int64(&v, "9223372036854775808", 19));
    assert_false(io_parse_int64(&v, "9999999999999999999", 19));
    assert_false(io_parse_int64(&v, "-0", 2));
    assert_false(io_parse_int64(&v, "007", 3));
    assert_false(io_parse_int64(&v, "1.0", 3));
    int64_t got = 0;
    assert_int_equal(io_number_kinds("-123", 4, &got), INT_AND_FLOAT);
    assert_int_equal(got, -123);
}

static void floats_must_round_trip(void **state)
{
    (void)state;
    assert_int_equal(NUM("0.1"), IO_NUM_FLOAT64);
    assert_int_equal(NUM("1.0"), IO_NUM_FLOAT64);
    assert_int_equal(NUM("1.50"), IO_NUM_FLOAT64);
    assert_int_equal(NUM("-0.0"), IO_NUM_FLOAT64);
    assert_int_equal(NUM(".5"), IO_NUM_FLOAT64);
    assert_int_equal(NUM("5."), IO_NUM_FLOAT64);
    assert_int_equal(NUM("00.5"), 0);
    assert_int_equal(NUM("."), 0);
    assert_int_equal(NUM("1e"), 0);
    assert_int_equal(NUM("1e+"), 0);
    assert_int_equal(NUM("1e5"), IO_NUM_FLOAT64);
    assert_int_equal(NUM("1.5E+05"), IO_NUM_FLOAT64);
    assert_int_equal(NUM("2.5e-3"), IO_NUM_FLOAT64);
    assert_int_equal(NUM("1e22"), IO_NUM_FLOAT64);
    assert_int_equal(NUM("1e400"), 0);  /* overflows to inf */
    assert_int_equal(NUM("1e-400"), 0); /* underflows to 0 */
    assert_int_equal(NUM("0e400"), IO_NUM_FLOAT64);
    assert_int_equal(NUM("5e-324"), IO_NUM_FLOAT64);  /* the smallest subnormal */
    assert_int_equal(NUM("4.9e-324"), 0); /* reads as 5e-324, prints as 5e-324 */
    assert_int_equal(NUM("1.7976931348623157e308"), IO_NUM_FLOAT64); /* DBL_MAX */
    assert_int_equal(NUM("1.7976931348623159e308"), 0);
    assert_int_equal(NUM("0.30000000000000004"), IO_NUM_FLOAT64); /* 0.1 + 0.2 */
    assert_int_equal(NUM("0.10000000000000001"), 0); /* reads back as 0.1 */
    assert_int_equal(NUM("0.1000000000000000055511151231257827021181583404541015625"), 0);
    assert_int_equal(NUM("3.141592653589793"), IO_NUM_FLOAT64);
    assert_int_equal(NUM("3.1415926535897932"), 0); /* 17 digits of pi, shortest has 16 */
    assert_int_equal(NUM("123456789.123456789"), 0);
    assert_int_equal(NUM("inf"), IO_NUM_FLOAT64);
    assert_int_equal(NUM("-Infinity"), IO_NUM_FLOAT64);
    assert_int_equal(NUM("+inf"), 0);
    assert_int_equal(NUM("nan"), 0); /* a missing-value marker, not a number */
    assert_int_equal(NUM("1.0.0"), 0);
    assert_int_equal(NUM("1e5.5"), 0);

    /* 2^-382: Python's repr prints 16 digits; the 17-digit printf rounding has another
     * value and is refused */
    assert_int_equal(NUM("5.075883674631299e-116"), IO_NUM_FLOAT64);
    assert_int_equal(NUM("5.0758836746312984e-116"), 0);
    assert_int_equal(NUM("0.5"), IO_NUM_FLOAT64);
    assert_int_equal(NUM("1.1102230246251565e-16"), IO_NUM_FLOAT64); /* 2^-53 */
    assert_int_equal(NUM("4.450147717014403e-308"), IO_NUM_FLOAT64); /* 2^-1021 */
    assert_int_equal(NUM("2.2250738585072014e-308"), IO_NUM_FLOAT64); /* DBL_MIN */
    assert_int_equal(NUM("2.225073858507201e-308"), IO_NUM_FLOAT64);  /* largest subnormal */
    assert_int_equal(NUM("12345678901.234568"), IO_NUM_FLOAT64);
    assert_int_equal(NUM("1.2345678901234567e10"), 0); /* reads as 12345678901.234568 */
    assert_int_equal(NUM("1.23456789012345678e10"), 0);
    assert_int_equal(NUM("7.136238463529799e+44"), IO_NUM_FLOAT64);
    assert_int_equal(NUM("7.1362384635297994e+44"), 0); /* 7.1362384635298e+44 is shorter */

    double d;
    assert_true(io_parse_float64(&d, "0.1", 3));
    assert_true(d == 0.1);
    assert_true(io_parse_float64(&d, "-0", 2));
    assert_true(d == 0 && signbit(d));
    assert_true(io_parse_float64(&d, "1e22", 4));
    assert_true(d == 1e22);
    assert_true(io_parse_float64(&d, "2.5e-3", 6));
    assert_true(d == 0.0025);
    assert_true(io_parse_float64(&d, "-inf", 4));
    assert_true(isinf(d) && d < 0);
    assert_true(io_parse_float64(&d, "18446744073709551616", 20));
    assert_true(d == 18446744073709551616.0);
    assert_false(io_parse_float64(&d, "1e400", 5));
}

/* The shortest decimal that reads back as d, as the "%.{p}e" loop finds it. */
static int shortest(char *buf, size_t size, double d)
{
    for (int p = 1; p <= 17; p++) {
        int n = snprintf(buf, size, "%.*g", p, d);
        if (strtod(buf, NULL) == d)
            return n;
    }
    return snprintf(buf, size, "%.17g", d);
}

/* The digits of a "%e" mantissa, without the point. */
static void mantissa_digits(const char *e, char *out)
{
    for (; *e && *e != 'e'; e++)
        if (*e >= '0' && *e <= '9')
            *out++ = *e;
    *out = '\0';
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Every double written in its shortest form is accepted and read back bit for bit;
 * the 17-digit form is accepted only when it is the shortest form's value. */
static void every_double_round_trips(void **state)
{
    (void)state;
    for (int i = 0; i < 50000; i++) {
        double d;
        uint64_t bits = rng();
        if (i % 4 == 0) /* ordinary magnitudes too, not only random exponents */
            d = (double)(int64_t)(bits >> 11) / (double)(1 + (rng() % 1000000));
        else
            memcpy(&d, &bits, sizeof d);
        if (!isfinite(d))
            continue;
        char s[64];
        int n = shortest(s, sizeof s, d);
        unsigned kinds = io_number_kinds(s, (size_t)n, NULL);
        if (!(kinds & IO_NUM_FLOAT64))
            fail_msg("shortest form %s of a double refused", s);
        double back;
        assert_true(io_parse_float64(&back, s, (size_t)n));
        if (memcmp(&back, &d, sizeof d) != 0)
            fail_msg("%s read back as %.17g", s, back);

        /* the 17-digit form: accepted exactly when it is the shortest form padded
         * with zeros (then it has the same value) */
        int p;
        char short_e[64], long_e[64];
        for (p = 1; p <= 17; p++) {
            snprintf(short_e, sizeof short_e, "%.*e", p - 1, d);
            if (strtod(short_e, NULL) == d)
                break;
        }
        int m = snprintf(long_e, sizeof long_e, "%.16e", d);
        char want_digits[32] = {0}, long_digits[32] = {0};
        mantissa_digits(short_e, want_digits);
        mantissa_digits(long_e, long_digits);
        bool padded = strncmp(want_digits, long_digits, strlen(want_digits)) == 0 &&
                      strspn(long_digits + strlen(want_digits), "0") ==
                          strlen(long_digits + strlen(want_digits)) &&
                      strcmp(strchr(short_e, 'e'), strchr(long_e, 'e')) == 0;
        double parsed;
        bool accepted = io_parse_float64(&parsed, long_e, (size_t)m);
        if (accepted != padded)
            fail_msg("%s (shortest %s): accepted %d", long_e, s, accepted);
        if (accepted)
            assert_true(memcmp(&parsed, &d, sizeof d) == 0);
    }
}

/* ------------------------------------------------------------------ bool, dates */

static void bools_dates_and_times(void **state)
{
    (void)state;
    bool b;
    assert_true(io_parse_bool(&b, "True", 4) && b);
    assert_true(io_parse_bool(&b, "FALSE", 5) && !b);
    assert_false(io_parse_bool(&b, "yes", 3));
    assert_false(io_parse_bool(&b, "1", 1));
    assert_false(io_parse_bool(&b, "tRUE", 4));

    int32_t day;
    assert_true(io_parse_date(&day, "2020-02-29", 10, IO_DATE_ISO));
    assert_int_equal(day, mdm_date_from_ymd(2020, 2, 29));
    assert_false(io_parse_date(&day, "2019-02-29", 10, IO_DATE_ISO));
    assert_true(io_parse_date(&day, "2000-02-29", 10, IO_DATE_ISO));
    assert_false(io_parse_date(&day, "1900-02-29", 10, IO_DATE_ISO));
    assert_false(io_parse_date(&day, "2020-13-01", 10, IO_DATE_ISO));
    assert_false(io_parse_date(&day, "0000-01-01", 10, IO_DATE_ISO));
    assert_false(io_parse_date(&day, "2020-1-2", 8, IO_DATE_ISO));
    assert_true(io_parse_date(&day, "1/2/2020", 8, IO_DATE_MDY_SLASH));
    assert_int_equal(day, mdm_date_from_ymd(2020, 1, 2));
    assert_true(io_parse_date(&day, "31.12.1999", 10, IO_DATE_DMY_DOT));
    assert_int_equal(day, mdm_date_from_ymd(1999, 12, 31));
    assert_false(io_parse_date(&day, "2020-01-02 10:00", 16, IO_DATE_ISO));

    bool t;
    unsigned both = (1u << IO_DATE_DMY_SLASH) | (1u << IO_DATE_MDY_SLASH);
    assert_int_equal(io_datetime_match("01/02/2020", 10, IO_DATE_ALL_FORMATS, &t), both);
    assert_int_equal(io_datetime_match("13/02/2020", 10, IO_DATE_ALL_FORMATS, &t),
                     1u << IO_DATE_DMY_SLASH);
    assert_int_equal(io_datetime_match("02/13/2020", 10, IO_DATE_ALL_FORMATS, &t),
                     1u << IO_DATE_MDY_SLASH);
    assert_int_equal(io_datetime_match("2020/01/02", 10, IO_DATE_ALL_FORMATS, &t),
                     1u << IO_DATE_YMD_SLASH);
    assert_int_equal(io_datetime_match("20200102", 8, IO_DATE_ALL_FORMATS, &t), 0);
    assert_int_equal(io_datetime_match("2020-01-02x", 11, IO_DATE_ALL_FORMATS, &t), 0);
    assert_int_equal(io_datetime_match("01/02/20201", 11, IO_DATE_ALL_FORMATS, &t), 0);
    assert_int_equal(io_datetime_match("2020-01-02T03:04:05Z", 20, IO_DATE_ALL_FORMATS, &t),
                     1u << IO_DATE_ISO);
    assert_true(t);

    int64_t ts;
    const int64_t day_us = 86400000000LL;
    assert_true(io_parse_timestamp(&ts, "2020-01-02 03:04:05.123456", 26, IO_DATE_ISO));
    assert_true(ts == mdm_date_from_ymd(2020, 1, 2) * day_us + 11045123456LL);
    assert_true(io_parse_timestamp(&ts, "2020-01-02 03:04", 16, IO_DATE_ISO));
    assert_true(io_parse_timestamp(&ts, "2020-01-02", 10, IO_DATE_ISO));
    assert_true(ts == mdm_date_from_ymd(2020, 1, 2) * day_us);
    assert_true(io_parse_timestamp(&ts, "2020-01-02 03:04:05.1234560", 27, IO_DATE_ISO));
    assert_false(io_parse_timestamp(&ts, "2020-01-02 03:04:05.1234567", 27, IO_DATE_ISO));
    assert_false(io_parse_timestamp(&ts, "2020-01-02 03:04:05+02:00", 25, IO_DATE_ISO));
    assert_false(io_parse_timestamp(&ts, "2020-01-02 24:00:00", 19, IO_DATE_ISO));
    assert_false(io_parse_timestamp(&ts, "2020-01-02 10:60", 16, IO_DATE_ISO));
    assert_false(io_parse_timestamp(&ts, "2020-01-02 10:00:00.", 20, IO_DATE_ISO));
    assert_true(io_parse_timestamp(&ts, "1969-12-31 23:59:59.999999", 26, IO_DATE_ISO));
    assert_true(ts == -1);
    assert_true(io_parse_timestamp(&ts, "31.12.1999 23:59", 16, IO_DATE_DMY_DOT));

    assert_int_equal(io_missing_marker("", 0), 0);
    assert_true(io_missing_marker("NA", 2) > 0);
    assert_true(io_missing_marker("NaN", 3) > 0);
    assert_true(io_missing_marker("<NA>", 4) > 0);
    assert_int_equal(io_missing_marker("Na", 2), -1);
    assert_int_equal(io_missing_marker("NONE", 4), -1);
}

/* ------------------------------------------------------------------ column types */

static void numeric_columns_widen_without_loss(void **state)
{
    (void)state;
    assert_int_equal(TYPE_OF("1", "2", "-3"), MDM_TYPE_INT64);
    assert_int_equal(TYPE_OF("1", "2", "007"), MDM_TYPE_TEXT);
    assert_int_equal(TYPE_OF("1", "2.5"), MDM_TYPE_FLOAT64);
    assert_int_equal(TYPE_OF("1.0", "2.0"), MDM_TYPE_FLOAT64); /* never turned into int64 */
    assert_int_equal(TYPE_OF("1", "-0"), MDM_TYPE_FLOAT64);
    assert_int_equal(TYPE_OF("9007199254740993", "1"), MDM_TYPE_INT64);
    assert_int_equal(TYPE_OF("9007199254740993", "1.5"), MDM_TYPE_TEXT); /* float would round */
    assert_int_equal(TYPE_OF("1.5", "9007199254740993"), MDM_TYPE_TEXT);
    assert_int_equal(TYPE_OF("1", "12345678901234567890"), MDM_TYPE_TEXT);
    assert_int_equal(TYPE_OF("1", "18446744073709551616"), MDM_TYPE_FLOAT64);
    assert_int_equal(TYPE_OF("0.1", "0.2", "0.30000000000000004"), MDM_TYPE_FLOAT64);
    assert_int_equal(TYPE_OF("0.1", "1e400"), MDM_TYPE_TEXT);
    assert_int_equal(TYPE_OF("1", "inf", "-inf"), MDM_TYPE_FLOAT64);
    assert_int_equal(TYPE_OF("1,000", "2"), MDM_TYPE_TEXT);
    assert_int_equal(TYPE_OF("1", "2", "x"), MDM_TYPE_TEXT);
    assert_int_equal(TYPE_OF("0", "1", "1"), MDM_TYPE_INT64); /* 0/1 are not bools */
}

static void bool_and_date_columns(void **state)
{
    (void)state;
    assert_int_equal(TYPE_OF("true", "False", "TRUE"), MDM_TYPE_BOOL);
    assert_int_equal(TYPE_OF("true", "yes"), MDM_TYPE_TEXT);
    assert_int_equal(TYPE_OF("true", "1"), MDM_TYPE_TEXT);
    assert_int_equal(TYPE_OF("yes", "no"), MDM_TYPE_TEXT);
    assert_int_equal(TYPE_OF("2020-01-01", "2020-02-29"), MDM_TYPE_DATE);
    assert_int_equal(TYPE_OF("2020-01-01", "2019-02-29"), MDM_TYPE_TEXT);
    assert_int_equal(TYPE_OF("2020-01-01", "2020-01-01 10:00:00"), MDM_TYPE_TIMESTAMP);
    assert_int_equal(TYPE_OF("2020-01-01T10:00:00.5Z", "2020-01-01 11:00"), MDM_TYPE_TIMESTAMP);
    assert_int_equal(TYPE_OF("2020-01-01", "01.02.2020"), MDM_TYPE_TEXT); /* mixed layouts */
    assert_int_equal(TYPE_OF("2020-01-01", "1"), MDM_TYPE_TEXT);
    assert_int_equal(TYPE_OF("2020-01-01 10:00:00.1234567"), MDM_TYPE_TEXT);

    io_plan *plan = infer_column((const char *const[]){"01/02/2020", "13/02/2020"}, 2);
    assert_int_equal(plan->columns[0].type, MDM_TYPE_DATE);
    assert_int_equal(plan->columns[0].date_format, IO_DATE_DMY_SLASH);
    io_plan_free(plan);
    plan = infer_column((const char *const[]){"01/02/2020", "02/13/2020 08:30"}, 2);
    assert_int_equal(plan->columns[0].type, MDM_TYPE_TIMESTAMP);
    assert_int_equal(plan->columns[0].date_format, IO_DATE_MDY_SLASH);
    io_plan_free(plan);
    /* every value reads both ways: ambiguous, kept as text */
    assert_int_equal(TYPE_OF("01/02/2020", "03/04/2020"), MDM_TYPE_TEXT);
    /* one value only day-first, another only month-first: mixed, text */
    assert_int_equal(TYPE_OF("13/02/2020", "02/13/2020"), MDM_TYPE_TEXT);

    io_infer_options opts;
    io_infer_options_default(&opts);
    opts.detect_datetime = false;
    plan = infer_column_opts((const char *const[]){"2020-01-01", "2020-01-02"}, 2, &opts);
    assert_int_equal(plan->columns[0].type, MDM_TYPE_TEXT);
    io_plan_free(plan);
}

static void missing_values(void **state)
{
    (void)state;
    /* empty unquoted fields and markers are NULL in a number column */
    io_plan *plan = infer_column((const char *const[]){"1", NULL, "NA", "3", "nan", Q ""}, 6);
    io_column_plan *c = &plan->columns[0];
    assert_int_equal(c->type, MDM_TYPE_INT64);
    assert_true(c->markers_are_null);
    io_plan_free(plan);

    /* in a text column the markers are values, as written; only the empty field is NULL */
    plan = infer_column((const char *const[]){"a", NULL, "NA", Q "", "NA"}, 5);
    c = &plan->columns[0];
    assert_int_equal(c->type, MDM_TYPE_TEXT);
    assert_false(c->markers_are_null);
    io_plan_free(plan);

    /* markers only: text */
    assert_int_equal(TYPE_OF("NA", "NULL"), MDM_TYPE_TEXT);
    /* all empty: text */
    assert_int_equal(TYPE_OF(NULL, NULL, NULL), MDM_TYPE_TEXT);

    /* quoted numbers are numbers; a quoted empty string in a date column is NULL */
    assert_int_equal(TYPE_OF(Q "1", Q "2"), MDM_TYPE_INT64);
    assert_int_equal(TYPE_OF("2020-01-01", Q "", "N/A"), MDM_TYPE_DATE);
    assert_int_equal(TYPE_OF("true", "None"), MDM_TYPE_BOOL);
}

static void options_from_config(void **state)
{
    (void)state;
    mdm_config *cfg = NULL;
    assert_int_equal(mdm_config_defaults(&cfg, "/nonexistent-mdm-home"), 0);
    io_infer_options opts;
    io_infer_options_from_config(&opts, cfg);
    assert_true(opts.detect_datetime);
    assert_int_equal(mdm_config_set(cfg, "feature_engineering.type_detection.detect_datetime", "false"), 0);
    io_infer_options_from_config(&opts, cfg);
    assert_false(opts.detect_datetime);
    mdm_config_free(cfg);
    io_plan *plan = infer_column_opts((const char *const[]){"2020-01-01", "2020-01-02"}, 2, &opts);
    assert_int_equal(plan->columns[0].type, MDM_TYPE_TEXT);
    io_plan_free(plan);
}

static void semantic_types(void **state)
{
    (void)state;
    assert_int_equal(io_semantic_of(MDM_TYPE_INT64, 2, true, 20), IO_SEMANTIC_NUMERIC);
    assert_int_equal(io_semantic_of(MDM_TYPE_FLOAT64, 1000, false, 20), IO_SEMANTIC_NUMERIC);
    assert_int_equal(io_semantic_of(MDM_TYPE_BOOL, 2, true, 20), IO_SEMANTIC_CATEGORICAL);
    assert_int_equal(io_semantic_of(MDM_TYPE_DATE, 5, true, 20), IO_SEMANTIC_DATETIME);
    assert_int_equal(io_semantic_of(MDM_TYPE_TIMESTAMP, 500000, false, 20), IO_SEMANTIC_DATETIME);
    /* text: categorical up to the threshold included, and only on an exact count */
    assert_int_equal(io_semantic_of(MDM_TYPE_TEXT, 20, true, 20), IO_SEMANTIC_CATEGORICAL);
    assert_int_equal(io_semantic_of(MDM_TYPE_TEXT, 21, true, 20), IO_SEMANTIC_TEXT);
    assert_int_equal(io_semantic_of(MDM_TYPE_TEXT, 3, false, 20), IO_SEMANTIC_TEXT);
    assert_int_equal(io_semantic_of(MDM_TYPE_TEXT, 0, true, 20), IO_SEMANTIC_CATEGORICAL);
    assert_int_equal(io_semantic_of(MDM_TYPE_TEXT, 3, true, 3), IO_SEMANTIC_CATEGORICAL);
    assert_int_equal(io_semantic_of(MDM_TYPE_TEXT, 4, true, 3), IO_SEMANTIC_TEXT);
    assert_string_equal(io_semantic_name(IO_SEMANTIC_NUMERIC), "numeric");
    assert_string_equal(io_semantic_name(IO_SEMANTIC_CATEGORICAL), "categorical");
    assert_string_equal(io_semantic_name(IO_SEMANTIC_DATETIME), "datetime");
    assert_string_equal(io_semantic_name(IO_SEMANTIC_TEXT), "text");
}

static void ragged_records(void **state)
{
    (void)state;
    io_inferrer *inf = NULL;
    assert_int_equal(io_inferrer_new(&inf, 2, NULL, "ragged.csv"), 0);
    io_field f[3] = {{"1", 1, false}, {"2", 1, false}, {"3", 1, false}};
    io_record shorter = {f, 1, 2};
    assert_int_equal(io_inferrer_observe(inf, &shorter), 0);
    io_record longer = {f, 3, 1042};
    assert_int_equal(io_inferrer_observe(inf, &longer), MDM_EINVALID);
    assert_string_equal(mdm_error_last()->message, "ragged.csv line 1042: 3 fields, expected 2");
    io_plan *plan = NULL;
    assert_int_equal(io_inferrer_finish(&plan, inf, NULL), 0);
    assert_int_equal(plan->columns[0].type, MDM_TYPE_INT64);
    assert_int_equal(plan->columns[1].type, MDM_TYPE_TEXT);
    mdm_field *fields = NULL;
    assert_int_equal(io_plan_fields(&fields, plan), 0);
    assert_string_equal(fields[0].name, "");
    assert_int_equal(fields[0].type, MDM_TYPE_INT64);
    assert_int_equal(fields[1].type, MDM_TYPE_TEXT);
    free(fields);
    io_plan_free(plan);
    io_inferrer_free(inf);
}

/* ------------------------------------------------------------------ headers */

static void check_header(const char *const *raw, size_t n, const char *const *want)
{
    io_field *f = calloc(n, sizeof *f);
    for (size_t i = 0; i < n; i++)
        f[i] = (io_field){raw[i], strlen(raw[i]), false};
    io_header h;
    assert_int_equal(io_header_from_fields(&h, f, n), 0);
    assert_int_equal(h.count, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(h.names[i], want[i]);
        assert_int_equal(mdm_ident_check(h.names[i]), 0);
    }
    io_header_free(&h);
    free(f);
}

#define HEADER(raw, want)                                                             \
    check_header(raw, sizeof(raw) / sizeof *(raw), want)

static void header_names(void **state)
{
    (void)state;
    static const char *const dup_raw[] = {"a", "a", "a.1", "b", "a"};
    static const char *const dup_want[] = {"a", "a.1", "a.1.1", "b", "a.2"};
    HEADER(dup_raw, dup_want);
    static const char *const taken_raw[] = {"a.1", "a", "a"};
    static const char *const taken_want[] = {"a.1", "a", "a.1.1"};
    HEADER(taken_raw, taken_want);
    static const char *const case_raw[] = {"Name", "name", "NAME"};
    static const char *const case_want[] = {"Name", "name.1", "NAME.2"};
    HEADER(case_raw, case_want);
    static const char *const blank_raw[] = {"", "x", "  ", "Unnamed: 0"};
    static const char *const blank_want[] = {"Unnamed: 0", "x", "Unnamed: 2", "Unnamed: 0.1"};
    HEADER(blank_raw, blank_want);
    static const char *const kept_raw[] = {" padded ", "with \"quotes\"", "ünï cödé", "a;b"};
    HEADER(kept_raw, kept_raw);

    /* control characters */
    io_field ctl[2] = {{"a\tb", 3, false}, {"c\x01" "d\x7f", 4, false}};
    io_header h;
    assert_int_equal(io_header_from_fields(&h, ctl, 2), 0);
    assert_string_equal(h.names[0], "a_b");
    assert_string_equal(h.names[1], "c_d_");
    assert_int_equal(h.nwarnings, 2);
    assert_non_null(strstr(h.warnings[0], "column 1"));
    io_header_free(&h);

    /* an embedded NUL and bytes that are not UTF-8 */
    io_field bad[1] = {{"a\0b\xff\xc3", 5, false}};
    assert_int_equal(io_header_from_fields(&h, bad, 1), 0);
    assert_string_equal(h.names[0], "a_b__");
    io_header_free(&h);

    /* long names are cut at a character boundary, then de-duplicated within 63 bytes */
    char long1[200], long2[200];
    strcpy(long1, "x");
    for (int i = 0; i < 40; i++)
        strcat(long1, "é"); /* 1 + 80 bytes */
    strcpy(long2, long1);
    strcat(long2, "tail");
    io_field longs[3] = {{long1, strlen(long1), false}, {long2, strlen(long2), false},
                         {long1, strlen(long1), false}};
    assert_int_equal(io_header_from_fields(&h, longs, 3), 0);
    assert_int_equal(strlen(h.names[0]), 63); /* "x" + 31 two-byte characters */
    assert_int_equal(strncmp(h.names[0], long1, 63), 0);
    assert_true(strlen(h.names[1]) <= 63);
    assert_string_equal(h.names[1] + strlen(h.names[1]) - 2, ".1");
    assert_string_equal(h.names[2] + strlen(h.names[2]) - 2, ".2");
    for (int i = 0; i < 3; i++)
        assert_int_equal(mdm_ident_check(h.names[i]), 0);
    assert_true(h.nwarnings >= 5); /* three cut, two renamed */
    io_header_free(&h);

    assert_int_equal(io_header_default(&h, 3), 0);
    assert_int_equal(h.count, 3);
    assert_string_equal(h.names[0], "column_1");
    assert_string_equal(h.names[2], "column_3");
    assert_int_equal(h.nwarnings, 0);
    io_header_free(&h);
}

/* Many duplicates and 3,000 columns: every name distinct (ignoring ASCII case). */
static void header_many_columns(void **state)
{
    (void)state;
    const size_t n = 3000;
    io_field *f = calloc(n, sizeof *f);
    char (*raw)[16] = calloc(n, sizeof *raw);
    for (size_t i = 0; i < n; i++) {
        snprintf(raw[i], sizeof raw[i], i % 3 == 0 ? "c" : i % 3 == 1 ? "C.%zu" : "", i % 7);
        f[i] = (io_field){raw[i], strlen(raw[i]), false};
    }
    io_header h;
    assert_int_equal(io_header_from_fields(&h, f, n), 0);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcasecmp(h.names[i], h.names[j]) == 0)
                fail_msg("columns %zu and %zu are both named '%s'", i, j, h.names[i]);
    io_header_free(&h);
    free(raw);
    free(f);
}

static uint64_t fuzz_state = 0x2545F4914F6CDD1DULL;

static uint64_t fuzz(void)
{
    fuzz_state ^= fuzz_state << 13;
    fuzz_state ^= fuzz_state >> 7;
    fuzz_state ^= fuzz_state << 17;
    return fuzz_state;
}

/* Random bytes as header fields: always usable, distinct names; random digit strings:
 * io_parse_int64 agrees with strtoll on canonical ones. */
static void random_headers_and_integers(void **state)
{
    (void)state;
    static const char alphabet[] = "aA.1 \t\xff\xc3\xa9\x80\xe6\x97\xa5\x00\x01\"";
    for (int round = 0; round < 2000; round++) {
        size_t n = 1 + fuzz() % 6;
        char raw[6][90];
        io_field f[6];
        for (size_t i = 0; i < n; i++) {
            size_t len = fuzz() % 5 == 0 ? fuzz() % 90 : fuzz() % 4;
            for (size_t k = 0; k < len; k++)
                raw[i][k] = alphabet[fuzz() % (sizeof alphabet - 1)];
            f[i] = (io_field){raw[i], len, false};
        }
        io_header h;
        assert_int_equal(io_header_from_fields(&h, f, n), 0);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(mdm_ident_check(h.names[i]), 0);
            for (size_t j = 0; j < i; j++)
                assert_true(strcasecmp(h.names[i], h.names[j]) != 0);
        }
        io_header_free(&h);
    }
    for (int round = 0; round < 100000; round++) {
        char buf[32];
        size_t len = 0;
        if (fuzz() % 2)
            buf[len++] = '-';
        size_t ndig = 1 + fuzz() % 21;
        for (size_t k = 0; k < ndig; k++)
            buf[len++] = (char)('0' + fuzz() % 10);
        buf[len] = '\0';
        const char *digits = buf + (buf[0] == '-');
        bool canonical = (digits[0] != '0' || ndig == 1) && strcmp(buf, "-0") != 0;
        errno = 0;
        long long ref = strtoll(buf, NULL, 10);
        bool fits = errno == 0;
        int64_t v;
        bool ok = io_parse_int64(&v, buf, len);
        assert_int_equal(ok, canonical && fits);
        if (ok)
            assert_true(v == ref);
        int64_t v2 = 0;
        unsigned kinds = io_number_kinds(buf, len, &v2);
        assert_int_equal((kinds & IO_NUM_INT64) != 0, ok);
        if (ok)
            assert_true(v2 == ref);
    }
}

/* Columns a sample leaves as text for want of evidence stay open; observing only them
 * later can settle them, as a whole pass would. */
static void open_columns_after_a_sample(void **state)
{
    (void)state;
    io_inferrer *inf = NULL;
    assert_int_equal(io_inferrer_new(&inf, 4, NULL, "s.csv"), 0);
    /* empty, markers only, ambiguous dates, words */
    const char *sample[][4] = {{NULL, "NA", "01/02/2020", "a"}, {NULL, "NA", "03/04/2020", "b"}};
    for (size_t i = 0; i < 2; i++) {
        io_field f[4];
        for (size_t c = 0; c < 4; c++)
            f[c] = make_field(sample[i][c]);
        io_record rec = {f, 4, i + 2};
        assert_int_equal(io_inferrer_observe(inf, &rec), 0);
    }
    for (size_t c = 0; c < 3; c++) {
        assert_int_equal(io_inferrer_column_type(inf, c), MDM_TYPE_TEXT);
        assert_true(io_inferrer_column_open(inf, c));
    }
    assert_false(io_inferrer_column_open(inf, 3));

    size_t cols[] = {0, 1, 2};
    io_field later[4] = {make_field("5"), make_field("x"), make_field("13/04/2020"),
                         make_field("c")};
    io_record rec = {later, 4, 10};
    assert_int_equal(io_inferrer_observe_columns(inf, &rec, cols, 3), 0);
    assert_int_equal(io_inferrer_column_type(inf, 0), MDM_TYPE_INT64);
    assert_int_equal(io_inferrer_column_type(inf, 1), MDM_TYPE_TEXT);
    assert_false(io_inferrer_column_open(inf, 1));
    assert_int_equal(io_inferrer_column_type(inf, 2), MDM_TYPE_DATE);
    /* a short record: the absent fields are empty */
    io_record shorter = {later, 1, 11};
    assert_int_equal(io_inferrer_observe_columns(inf, &shorter, cols, 3), 0);
    assert_int_equal(io_inferrer_column_type(inf, 0), MDM_TYPE_INT64);
    io_inferrer_free(inf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers_are_canonical_only),
        cmocka_unit_test(floats_must_round_trip),
        cmocka_unit_test(every_double_round_trips),
        cmocka_unit_test(bools_dates_and_times),
        cmocka_unit_test(numeric_columns_widen_without_loss),
        cmocka_unit_test(bool_and_date_columns),
        cmocka_unit_test(missing_values),
        cmocka_unit_test(options_from_config),
        cmocka_unit_test(semantic_types),
        cmocka_unit_test(ragged_records),
        cmocka_unit_test(open_columns_after_a_sample),
        cmocka_unit_test(header_names),
        cmocka_unit_test(header_many_columns),
        cmocka_unit_test(random_headers_and_integers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
