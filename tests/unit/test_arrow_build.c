/* Batches into Arrow record batches: rows split across arrays at the array size, NULLs
 * (validity only for columns that have one), bools as bits, text offsets, a width cap,
 * an empty array, and the schema. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/arrow_build.h"

static const mdm_field fields[] = {{"i", MDM_TYPE_INT64},  {"f", MDM_TYPE_FLOAT64},
                                   {"b", MDM_TYPE_BOOL},   {"s", MDM_TYPE_TEXT},
                                   {"d", MDM_TYPE_DATE},   {"t", MDM_TYPE_TIMESTAMP}};
enum { NCOLS = 6 };

/* Row k of the test data: every 7th text NULL, every 5th float NULL. */
static mdm_batch *rows(int64_t first, size_t n)
{
    mdm_batch *b = NULL;
    assert_int_equal(mdm_batch_new(&b, fields, NCOLS, n), 0);
    for (size_t i = 0; i < n; i++) {
        int64_t k = first + (int64_t)i;
        size_t r;
        assert_int_equal(mdm_batch_add_row(b, &r), 0);
        mdm_batch_set_int64(b, 0, r, k);
        if (k % 5)
            mdm_batch_set_float64(b, 1, r, (double)k / 4);
        mdm_batch_set_bool(b, 2, r, k % 3 == 0);
        if (k % 7) {
            char s[32];
            int len = snprintf(s, sizeof s, "v%lld", (long long)k);
            assert_int_equal(mdm_batch_set_text(b, 3, r, s, (size_t)len), 0);
        }
        mdm_batch_set_date(b, 4, r, (int32_t)k);
        mdm_batch_set_timestamp(b, 5, r, k * 1000000);
    }
    return b;
}

static bool valid(const struct ArrowArray *col, int64_t i)
{
    const uint8_t *bits = col->buffers[0];
    return !bits || (bits[i / 8] >> (i % 8)) & 1;
}

/* Checks one record batch holding rows [first, first + length). */
static void check_array(const struct ArrowArray *a, int64_t first)
{
    assert_int_equal(a->n_children, NCOLS);
    const struct ArrowArray *const *c = (const struct ArrowArray *const *)a->children;
    const int64_t *ints = c[0]->buffers[1];
    const double *floats = c[1]->buffers[1];
    const uint8_t *bools = c[2]->buffers[1];
    const int64_t *offsets = c[3]->buffers[1];
    const char *chars = c[3]->buffers[2];
    const int32_t *dates = c[4]->buffers[1];
    const int64_t *times = c[5]->buffers[1];
    assert_null(c[0]->buffers[0]); /* no NULLs: no bitmap */
    for (int64_t i = 0; i < a->length; i++) {
        int64_t k = first + i;
        assert_int_equal(ints[i], k);
        assert_int_equal(valid(c[1], i), k % 5 != 0);
        if (k % 5)
            assert_true(floats[i] == (double)k / 4);
        assert_int_equal((bools[i / 8] >> (i % 8)) & 1, k % 3 == 0);
        assert_int_equal(valid(c[3], i), k % 7 != 0);
        char s[32];
        int len = k % 7 ? snprintf(s, sizeof s, "v%lld", (long long)k) : 0;
        assert_int_equal(offsets[i + 1] - offsets[i], len);
        assert_memory_equal(chars + offsets[i], s, (size_t)len);
        assert_int_equal(dates[i], (int32_t)k);
        assert_int_equal(times[i], k * 1000000);
    }
}

static void arrays_split_at_their_size(void **state)
{
    (void)state;
    arrow_builder *b = NULL;
    assert_int_equal(arrow_builder_new(&b, fields, NCOLS, 1000, 1 << 30), 0);
    int64_t next = 0, checked = 0;
    /* batches of 370 rows: arrays of 1000 end inside batches */
    for (int n = 0; n < 8; n++) {
        mdm_batch *batch = rows(next, 370);
        for (size_t from = 0; from < 370;) {
            size_t taken;
            assert_int_equal(arrow_builder_append(b, batch, from, 370 - from, &taken), 0);
            from += taken;
            if (arrow_builder_full(b)) {
                struct ArrowArray a;
                assert_int_equal(arrow_builder_finish(b, &a), 0);
                assert_int_equal(a.length, 1000);
                check_array(&a, checked);
                checked += a.length;
                a.release(&a);
                assert_null(a.release);
            }
        }
        next += 370;
        mdm_batch_free(batch);
    }
    assert_int_equal(arrow_builder_rows(b), 2960 - 2000);
    struct ArrowArray a;
    assert_int_equal(arrow_builder_finish(b, &a), 0);
    assert_int_equal(a.length, 960);
    check_array(&a, checked);
    a.release(&a);

    /* an empty array is well formed */
    assert_int_equal(arrow_builder_finish(b, &a), 0);
    assert_int_equal(a.length, 0);
    const struct ArrowArray *text = a.children[3];
    assert_int_equal(((const int64_t *)text->buffers[1])[0], 0);
    a.release(&a);
    arrow_builder_free(b);
}

static void wide_rows_make_shorter_arrays(void **state)
{
    (void)state;
    arrow_builder *b = NULL;
    /* about 60 bytes a row: 6,000 bytes hold about 100 rows, not 1,000 */
    assert_int_equal(arrow_builder_new(&b, fields, NCOLS, 1000, 6000), 0);
    mdm_batch *batch = rows(0, 500);
    size_t taken;
    assert_int_equal(arrow_builder_append(b, batch, 0, 500, &taken), 0);
    assert_true(taken >= 50 && taken <= 150);
    assert_true(arrow_builder_full(b));
    struct ArrowArray a;
    assert_int_equal(arrow_builder_finish(b, &a), 0);
    check_array(&a, 0);
    a.release(&a);
    mdm_batch_free(batch);
    arrow_builder_free(b); /* nothing under way */

    /* a builder freed with rows under way frees them */
    assert_int_equal(arrow_builder_new(&b, fields, NCOLS, 1000, 1 << 20), 0);
    batch = rows(0, 10);
    assert_int_equal(arrow_builder_append(b, batch, 0, 10, &taken), 0);
    mdm_batch_free(batch);
    arrow_builder_free(b);
}

static void schema_names_the_columns(void **state)
{
    (void)state;
    struct ArrowSchema s;
    assert_int_equal(arrow_schema_of(&s, fields, NCOLS), 0);
    assert_string_equal(s.format, "+s");
    assert_int_equal(s.n_children, NCOLS);
    static const char *const formats[] = {"l", "g", "b", "U", "tdD", "tsu:"};
    for (int c = 0; c < NCOLS; c++) {
        assert_string_equal(s.children[c]->format, formats[c]);
        assert_string_equal(s.children[c]->name, fields[c].name);
    }
    s.release(&s);
    assert_null(s.release);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arrays_split_at_their_size),
        cmocka_unit_test(wide_rows_make_shorter_arrays),
        cmocka_unit_test(schema_names_the_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
