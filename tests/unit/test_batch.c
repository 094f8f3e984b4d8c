/* Typed column batches and the date/time helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdm/mdm.h"

static const mdm_field fields[] = {
    {"i", MDM_TYPE_INT64}, {"f", MDM_TYPE_FLOAT64}, {"b", MDM_TYPE_BOOL},
    {"t", MDM_TYPE_TEXT},  {"d", MDM_TYPE_DATE},    {"ts", MDM_TYPE_TIMESTAMP},
};

static void batch_grows_and_keeps_values(void **state)
{
    (void)state;
    mdm_batch *b = NULL;
    assert_int_equal(mdm_batch_new(&b, fields, 6, 2), 0);
    assert_int_equal(mdm_batch_ncols(b), 6);
    for (int i = 0; i < 5000; i++) {
        size_t r;
        assert_int_equal(mdm_batch_add_row(b, &r), 0);
        assert_int_equal(r, (size_t)i);
        if (i % 7 == 0)
            continue; /* a row of NULLs */
        mdm_batch_set_int64(b, 0, r, INT64_MIN + i);
        mdm_batch_set_float64(b, 1, r, i * 0.5);
        mdm_batch_set_bool(b, 2, r, i % 2);
        char s[32];
        int len = snprintf(s, sizeof s, "v%d", i);
        assert_int_equal(mdm_batch_set_text(b, 3, r, s, i % 5 == 0 ? 0 : (size_t)len), 0);
        mdm_batch_set_date(b, 4, r, -i);
        mdm_batch_set_timestamp(b, 5, r, (int64_t)i * 1000001);
    }
    assert_int_equal(mdm_batch_nrows(b), 5000);
    for (int i = 0; i < 5000; i++) {
        size_t r = (size_t)i;
        if (i % 7 == 0) {
            for (size_t c = 0; c < 6; c++)
                assert_true(mdm_batch_is_null(b, c, r));
            continue;
        }
        assert_int_equal(mdm_batch_int64(b, 0, r), INT64_MIN + i);
        assert_true(mdm_batch_float64(b, 1, r) == i * 0.5);
        assert_int_equal(mdm_batch_bool(b, 2, r), i % 2);
        size_t len;
        const char *t = mdm_batch_text(b, 3, r, &len);
        assert_false(mdm_batch_is_null(b, 3, r));
        if (i % 5 == 0) {
            assert_int_equal(len, 0); /* empty, not NULL */
            assert_string_equal(t, "");
        } else {
            char s[32];
            snprintf(s, sizeof s, "v%d", i);
            assert_string_equal(t, s);
        }
        assert_int_equal(mdm_batch_date(b, 4, r), -i);
        assert_int_equal(mdm_batch_timestamp(b, 5, r), (int64_t)i * 1000001);
    }
    assert_int_equal(mdm_batch_find(b, "ts"), 5);
    assert_int_equal(mdm_batch_find(b, "nope"), -1);
    mdm_batch_clear(b);
    assert_int_equal(mdm_batch_nrows(b), 0);
    mdm_batch_free(b);
    mdm_batch_free(NULL);
}

static void text_may_hold_any_bytes(void **state)
{
    (void)state;
    mdm_batch *b = NULL;
    assert_int_equal(mdm_batch_new(&b, fields + 3, 1, 1), 0);
    size_t r;
    assert_int_equal(mdm_batch_add_row(b, &r), 0);
    const char bytes[] = {'a', '\0', 'b', '\n'};
    assert_int_equal(mdm_batch_set_text(b, 0, r, bytes, sizeof bytes), 0);
    size_t len;
    const char *t = mdm_batch_text(b, 0, r, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(t, bytes, 4);
    mdm_value v = mdm_batch_value(b, 0, r);
    assert_int_equal(v.v.text.len, 4);
    mdm_batch_free(b);
}

static void set_value_checks_type(void **state)
{
    (void)state;
    mdm_batch *b = NULL;
    assert_int_equal(mdm_batch_new(&b, fields, 6, 1), 0);
    size_t r;
    assert_int_equal(mdm_batch_add_row(b, &r), 0);
    mdm_value v = mdm_value_text("x");
    assert_int_equal(mdm_batch_set_value(b, 0, r, &v), MDM_EINVALID);
    v = mdm_value_int64(5);
    assert_int_equal(mdm_batch_set_value(b, 0, r, &v), 0);
    assert_int_equal(mdm_batch_int64(b, 0, r), 5);
    v = mdm_value_null(MDM_TYPE_INT64);
    assert_int_equal(mdm_batch_set_value(b, 0, r, &v), 0);
    assert_true(mdm_batch_is_null(b, 0, r));
    mdm_batch_free(b);
    const mdm_field bad[] = {{"x", (mdm_type)99}};
    assert_int_equal(mdm_batch_new(&b, bad, 1, 1), MDM_EINVALID);
    assert_null(b);
}

static void dates_round_trip(void **state)
{
    (void)state;
    assert_int_equal(mdm_date_from_ymd(1970, 1, 1), 0);
    assert_int_equal(mdm_date_from_ymd(2000, 1, 1), 10957);
    assert_int_equal(mdm_date_from_ymd(1969, 12, 31), -1);
    for (int32_t d = -800000; d < 3000000; d += 37) {
        int y, m, day;
        mdm_date_to_ymd(d, &y, &m, &day);
        assert_int_equal(mdm_date_from_ymd(y, m, day), d);
        char buf[32];
        int n = mdm_date_format(buf, sizeof buf, d);
        if (y >= 1 && y <= 9999) {
            int32_t back;
            assert_int_equal(mdm_date_parse(&back, buf, (size_t)n), 0);
            assert_int_equal(back, d);
        }
    }
    int32_t out;
    assert_int_equal(mdm_date_parse(&out, "2023-02-29", 10), MDM_EINVALID);
    assert_int_equal(mdm_date_parse(&out, "2024-02-29", 10), 0);
    assert_int_equal(mdm_date_parse(&out, "2024-13-01", 10), MDM_EINVALID);
    assert_int_equal(mdm_date_parse(&out, "2024-1-01", 9), MDM_EINVALID);
}

static void timestamps_round_trip(void **state)
{
    (void)state;
    char buf[64];
    mdm_timestamp_format(buf, sizeof buf, 0);
    assert_string_equal(buf, "1970-01-01 00:00:00");
    mdm_timestamp_format(buf, sizeof buf, -1);
    assert_string_equal(buf, "1969-12-31 23:59:59.999999");
    int64_t ts;
    assert_int_equal(mdm_timestamp_parse(&ts, "1969-12-31 23:59:59.999999", 26), 0);
    assert_int_equal(ts, -1);
    assert_int_equal(mdm_timestamp_parse(&ts, "2024-05-06T07:08:09.5Z", 22), 0);
    mdm_timestamp_format(buf, sizeof buf, ts);
    assert_string_equal(buf, "2024-05-06 07:08:09.500000");
    assert_int_equal(mdm_timestamp_parse(&ts, "2024-05-06", 10), 0);
    assert_int_equal(ts, (int64_t)mdm_date_from_ymd(2024, 5, 6) * 86400000000LL);
    assert_int_equal(mdm_timestamp_parse(&ts, "2024-05-06 07:08", 16), 0);
    /* Nanoseconds that are not zero would be lost: refused. */
    assert_int_equal(mdm_timestamp_parse(&ts, "2024-05-06 07:08:09.123456789", 29), MDM_EINVALID);
    assert_int_equal(mdm_timestamp_parse(&ts, "2024-05-06 07:08:09.123456000", 29), 0);
    assert_int_equal(mdm_timestamp_parse(&ts, "2024-05-06 24:00:00", 19), MDM_EINVALID);
    assert_int_equal(mdm_timestamp_parse(&ts, "2024-05-06 07:08:09x", 20), MDM_EINVALID);
    for (int64_t t = -9000000000000000LL; t < 9000000000000000LL; t += 123456789012347LL) {
        int n = mdm_timestamp_format(buf, sizeof buf, t);
        int64_t back;
        assert_int_equal(mdm_timestamp_parse(&back, buf, (size_t)n), 0);
        assert_int_equal(back, t);
    }
}

static void types_by_name(void **state)
{
    (void)state;
    for (int t = MDM_TYPE_INT64; t <= MDM_TYPE_TIMESTAMP; t++) {
        mdm_type back;
        assert_int_equal(mdm_type_parse(&back, mdm_type_name((mdm_type)t)), 0);
        assert_int_equal(back, t);
    }
    mdm_type x;
    assert_int_equal(mdm_type_parse(&x, "varchar"), MDM_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_grows_and_keeps_values), cmocka_unit_test(text_may_hold_any_bytes),
        cmocka_unit_test(set_value_checks_type),        cmocka_unit_test(dates_round_trip),
        cmocka_unit_test(timestamps_round_trip),        cmocka_unit_test(types_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
