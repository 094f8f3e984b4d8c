/* The Parquet/JSON reader: files made by DuckDB itself (COPY ... TO) or by hand, every
 * type mapping, nested types, batching, JSON layouts, and the errors (corrupt file,
 * Excel, missing file, not JSON). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <duckdb.h>

#include "io/duckdb_reader.h"
#include "io/reader.h"
#include "mdm/mdm.h"

typedef struct env {
    char dir[64];
    char path[256];
    mdm_config *cfg;
    duckdb_database db;
    duckdb_connection conn;
} env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/mdm-reader-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    assert_int_equal(mdm_config_defaults(&e->cfg, e->dir), 0);
    assert_int_equal(mdm_config_set(e->cfg, "database.duckdb.threads", "2"), 0);
    assert_int_equal(mdm_config_set(e->cfg, "database.duckdb.memory_limit", "256MB"), 0);
    assert_int_equal(duckdb_open(NULL, &e->db), DuckDBSuccess);
    assert_int_equal(duckdb_connect(e->db, &e->conn), DuckDBSuccess);
    *state = e;
    return 0;
}

static int remove_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int teardown(void **state)
{
    env *e = *state;
    duckdb_disconnect(&e->conn);
    duckdb_close(&e->db);
    mdm_config_free(e->cfg);
    nftw(e->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(e);
    return 0;
}

static const char *file_in(env *e, const char *name)
{
    snprintf(e->path, sizeof e->path, "%s/%s", e->dir, name);
    return e->path;
}

static void run_sql(env *e, const char *fmt, ...)
{
    char sql[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    duckdb_result r;
    if (duckdb_query(e->conn, sql, &r) != DuckDBSuccess)
        fail_msg("%s (in %.200s)", duckdb_result_error(&r), sql);
    duckdb_destroy_result(&r);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static long column(io_reader *r, const char *name, mdm_type want)
{
    size_t n;
    const mdm_field *f = io_reader_schema(r, &n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(f[i].name, name) == 0) {
            if (f[i].type != want)
                fail_msg("column %s is %s, expected %s", name, mdm_type_name(f[i].type),
                         mdm_type_name(want));
            return (long)i;
        }
    }
    fail_msg("no column %s", name);
    return -1;
}

static void assert_text(const mdm_batch *b, long col, size_t row, const char *want)
{
    size_t len;
    assert_false(mdm_batch_is_null(b, (size_t)col, row));
    const char *s = mdm_batch_text(b, (size_t)col, row, &len);
    assert_string_equal(s, want);
    assert_int_equal(len, strlen(want));
}

/* Every scalar mapping, in one Parquet file of three rows (the third all NULL). */
static void test_parquet_types(void **state)
{
    env *e = *state;
    const char *path = file_in(e, "types.parquet");
    run_sql(e,
            "COPY (SELECT * FROM (VALUES "
            "((-128)::TINYINT, (-32768)::SMALLINT, (-2147483648)::INTEGER, (-9223372036854775808)::BIGINT,"
            " 255::UTINYINT, 65535::USMALLINT, 4294967295::UINTEGER, 9223372036854775807::UBIGINT,"
            " 18446744073709551615::UBIGINT, (-9223372036854775808)::DECIMAL(38,0),"
            " 12345678901234567890123456789012345678::DECIMAL(38,0), 1.5::FLOAT, 0.1::DOUBLE,"
            " 123.45::DECIMAL(10,2), 1.5::DECIMAL(18,3), 12345678901234567.8::DECIMAL(38,1),"
            " true, 'héllo 日本 🎉', DATE '1969-12-31', TIMESTAMP '2024-02-29 23:59:59.123456',"
            " TIMESTAMP_NS '2020-01-01 00:00:00.123456000', TIMESTAMP_NS '2020-01-01 00:00:00.123456789',"
            " TIMESTAMP_S '2020-01-01 10:11:12', TIMESTAMP_MS '2020-01-01 10:11:12.345',"
            " TIMESTAMPTZ '2020-01-01 10:00:00+00', '\\xAA\\x00\\xFF'::BLOB,"
            " '00000000-0000-0000-0000-000000000001'::UUID, TIME '12:34:56', INTERVAL 3 DAY,"
            " 'NaN'::DOUBLE, 'inf'::DOUBLE),"
            "(0, 0, 0, 9223372036854775807, 0, 0, 0, 0, 0, 9223372036854775807, 1.0, '-0.0'::FLOAT, -1e300,"
            " -0.01, 0.001, 0.5, false, '', DATE '2262-04-11', TIMESTAMP '1900-01-01 00:00:00',"
            " NULL, NULL, NULL, NULL, NULL, ''::BLOB, NULL, NULL, NULL, '-inf'::DOUBLE, 5e-324),"
            "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
            " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
            " NULL, NULL, NULL)"
            ") t(ti, si, i, bi, uti, usi, ui, ub_fit, ub_big, hi_fit, hi_big, fl, db, dec_small,"
            " dec_exact, dec_wide, b, s, d, ts, tsns_us, tsns_ns, ts_s, ts_ms, tstz, bl, uu, tm,"
            " iv, nan, inf)) TO '%s' (FORMAT parquet)",
            path);
    io_reader *r;
    assert_int_equal(io_reader_open(&r, path, IO_FORMAT_PARQUET, e->cfg), 0);
    size_t n;
    io_reader_schema(r, &n);
    assert_int_equal(n, 31);
    const mdm_batch *b;
    assert_int_equal(io_reader_next(r, &b), 1);
    assert_int_equal(mdm_batch_nrows(b), 3);

    static const char *const int_cols[] = {"ti", "si", "i", "bi", "uti", "usi", "ui", "ub_fit"};
    static const int64_t first[] = {-128, -32768, -2147483648LL, INT64_MIN, 255, 65535, 4294967295LL,
                                    INT64_MAX};
    for (size_t k = 0; k < 8; k++) {
        long c = column(r, int_cols[k], MDM_TYPE_INT64);
        assert_true(mdm_batch_int64(b, (size_t)c, 0) == first[k]);
        assert_true(mdm_batch_is_null(b, (size_t)c, 2));
    }
    assert_true(mdm_batch_int64(b, (size_t)column(r, "bi", MDM_TYPE_INT64), 1) == INT64_MAX);
    assert_text(b, column(r, "ub_big", MDM_TYPE_TEXT), 0, "18446744073709551615");
    assert_text(b, column(r, "ub_big", MDM_TYPE_TEXT), 1, "0");
    /* Parquet has no 128-bit integers: wide whole numbers come as DECIMAL(38,0). Even
     * -2^63, exact as a double, is text: its shortest double text is not the integer. */
    long c38 = column(r, "hi_fit", MDM_TYPE_TEXT);
    assert_text(b, c38, 0, "-9223372036854775808");
    assert_text(b, c38, 1, "9223372036854775807");
    c38 = column(r, "hi_big", MDM_TYPE_TEXT);
    assert_text(b, c38, 0, "12345678901234567890123456789012345678");
    assert_text(b, c38, 1, "1");

    long c = column(r, "fl", MDM_TYPE_FLOAT64);
    assert_true(mdm_batch_float64(b, (size_t)c, 0) == 1.5);
    assert_true(mdm_batch_float64(b, (size_t)c, 1) == 0.0 && signbit(mdm_batch_float64(b, (size_t)c, 1)));
    c = column(r, "db", MDM_TYPE_FLOAT64);
    assert_true(mdm_batch_float64(b, (size_t)c, 0) == 0.1);
    assert_true(mdm_batch_float64(b, (size_t)c, 1) == -1e300);
    c = column(r, "dec_small", MDM_TYPE_FLOAT64);
    assert_true(mdm_batch_float64(b, (size_t)c, 0) == 123.45);
    assert_true(mdm_batch_float64(b, (size_t)c, 1) == -0.01);
    c = column(r, "dec_exact", MDM_TYPE_FLOAT64); /* wide, but every value is exact */
    assert_true(mdm_batch_float64(b, (size_t)c, 0) == 1.5);
    assert_true(mdm_batch_float64(b, (size_t)c, 1) == 0.001);
    c = column(r, "dec_wide", MDM_TYPE_TEXT);
    assert_text(b, c, 0, "12345678901234567.8");
    assert_text(b, c, 1, "0.5");
    c = column(r, "nan", MDM_TYPE_FLOAT64);
    assert_true(isnan(mdm_batch_float64(b, (size_t)c, 0)));
    assert_true(isinf(mdm_batch_float64(b, (size_t)c, 1)) && mdm_batch_float64(b, (size_t)c, 1) < 0);
    c = column(r, "inf", MDM_TYPE_FLOAT64);
    assert_true(isinf(mdm_batch_float64(b, (size_t)c, 0)));
    assert_true(mdm_batch_float64(b, (size_t)c, 1) == 5e-324);

    c = column(r, "b", MDM_TYPE_BOOL);
    assert_true(mdm_batch_bool(b, (size_t)c, 0));
    assert_false(mdm_batch_bool(b, (size_t)c, 1));
    assert_true(mdm_batch_is_null(b, (size_t)c, 2));
    c = column(r, "s", MDM_TYPE_TEXT);
    assert_text(b, c, 0, "héllo 日本 🎉");
    assert_text(b, c, 1, ""); /* empty, not NULL */
    assert_true(mdm_batch_is_null(b, (size_t)c, 2));
    c = column(r, "d", MDM_TYPE_DATE);
    assert_int_equal(mdm_batch_date(b, (size_t)c, 0), -1);
    assert_int_equal(mdm_batch_date(b, (size_t)c, 1), mdm_date_from_ymd(2262, 4, 11));
    c = column(r, "ts", MDM_TYPE_TIMESTAMP);
    char buf[64];
    mdm_timestamp_format(buf, sizeof buf, mdm_batch_timestamp(b, (size_t)c, 0));
    assert_string_equal(buf, "2024-02-29 23:59:59.123456");
    mdm_timestamp_format(buf, sizeof buf, mdm_batch_timestamp(b, (size_t)c, 1));
    assert_string_equal(buf, "1900-01-01 00:00:00");
    c = column(r, "tsns_us", MDM_TYPE_TIMESTAMP);
    mdm_timestamp_format(buf, sizeof buf, mdm_batch_timestamp(b, (size_t)c, 0));
    assert_string_equal(buf, "2020-01-01 00:00:00.123456");
    assert_text(b, column(r, "tsns_ns", MDM_TYPE_TEXT), 0, "2020-01-01 00:00:00.123456789");
    c = column(r, "ts_s", MDM_TYPE_TIMESTAMP);
    mdm_timestamp_format(buf, sizeof buf, mdm_batch_timestamp(b, (size_t)c, 0));
    assert_string_equal(buf, "2020-01-01 10:11:12");
    c = column(r, "ts_ms", MDM_TYPE_TIMESTAMP);
    mdm_timestamp_format(buf, sizeof buf, mdm_batch_timestamp(b, (size_t)c, 0));
    assert_string_equal(buf, "2020-01-01 10:11:12.345000");
    c = column(r, "tstz", MDM_TYPE_TIMESTAMP);
    mdm_timestamp_format(buf, sizeof buf, mdm_batch_timestamp(b, (size_t)c, 0));
    assert_string_equal(buf, "2020-01-01 10:00:00");
    c = column(r, "bl", MDM_TYPE_TEXT);
    assert_text(b, c, 0, "AA00FF");
    assert_text(b, c, 1, "");
    assert_text(b, column(r, "uu", MDM_TYPE_TEXT), 0, "00000000-0000-0000-0000-000000000001");
    assert_text(b, column(r, "tm", MDM_TYPE_TEXT), 0, "12:34:56");
    assert_text(b, column(r, "iv", MDM_TYPE_TEXT), 0, "3 days");

    assert_int_equal(io_reader_next(r, &b), 0);
    assert_int_equal(io_reader_next(r, &b), 0);
    io_reader_close(r);
}

static void test_parquet_nested(void **state)
{
    env *e = *state;
    const char *path = file_in(e, "nested.parquet");
    run_sql(e,
            "COPY (SELECT [1, 2, NULL] AS l, {'a': 1, 'b': 'x\"y'} AS s, MAP {'k': 1.5} AS m,"
            " [[1], []] AS ll, [{'q': [true]}] AS deep, ['é'] AS u"
            " UNION ALL SELECT [], NULL, MAP {}, NULL, [], NULL) TO '%s' (FORMAT parquet)",
            path);
    io_reader *r;
    assert_int_equal(io_reader_open(&r, path, IO_FORMAT_PARQUET, NULL), 0);
    const mdm_batch *b;
    assert_int_equal(io_reader_next(r, &b), 1);
    assert_text(b, column(r, "l", MDM_TYPE_TEXT), 0, "[1,2,null]");
    assert_text(b, column(r, "s", MDM_TYPE_TEXT), 0, "{\"a\":1,\"b\":\"x\\\"y\"}");
    assert_text(b, column(r, "m", MDM_TYPE_TEXT), 0, "{\"k\":1.5}");
    assert_text(b, column(r, "ll", MDM_TYPE_TEXT), 0, "[[1],[]]");
    assert_text(b, column(r, "deep", MDM_TYPE_TEXT), 0, "[{\"q\":[true]}]");
    assert_text(b, column(r, "u", MDM_TYPE_TEXT), 0, "[\"é\"]");
    assert_text(b, column(r, "l", MDM_TYPE_TEXT), 1, "[]");
    assert_true(mdm_batch_is_null(b, (size_t)column(r, "s", MDM_TYPE_TEXT), 1));
    assert_text(b, column(r, "m", MDM_TYPE_TEXT), 1, "{}");
    assert_int_equal(io_reader_next(r, &b), 0);
    io_reader_close(r);
}

/* 25,000 rows over several row groups and DuckDB chunks, in batches of 1,000: bounded
 * batches, every row once, in file order. */
static void test_parquet_batches(void **state)
{
    env *e = *state;
    const char *path = file_in(e, "many.parquet");
    run_sql(e,
            "COPY (SELECT i, 'row ' || i AS s, CASE WHEN i %% 7 = 0 THEN NULL ELSE i * 0.5 END AS f"
            " FROM range(25000) t(i)) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 3000)",
            path);
    assert_int_equal(mdm_config_set(e->cfg, "performance.batch_size", "1000"), 0);
    io_reader *r;
    assert_int_equal(io_reader_open(&r, path, IO_FORMAT_PARQUET, e->cfg), 0);
    const mdm_batch *b;
    int64_t next = 0;
    int rc;
    char want[32];
    while ((rc = io_reader_next(r, &b)) == 1) {
        assert_true(mdm_batch_nrows(b) <= 1000);
        for (size_t row = 0; row < mdm_batch_nrows(b); row++, next++) {
            assert_true(mdm_batch_int64(b, 0, row) == next);
            snprintf(want, sizeof want, "row %lld", (long long)next);
            assert_text(b, 1, row, want);
            if (next % 7 == 0)
                assert_true(mdm_batch_is_null(b, 2, row));
            else
                assert_true(mdm_batch_float64(b, 2, row) == (double)next * 0.5);
        }
    }
    assert_int_equal(rc, 0);
    assert_int_equal(next, 25000);
    io_reader_close(r);
}

static void check_json_rows(io_reader *r)
{
    const mdm_batch *b;
    assert_int_equal(io_reader_next(r, &b), 1);
    assert_int_equal(mdm_batch_nrows(b), 3);
    long id = column(r, "id", MDM_TYPE_INT64);
    long name = column(r, "name", MDM_TYPE_TEXT);
    long score = column(r, "score", MDM_TYPE_FLOAT64);
    long ok = column(r, "ok", MDM_TYPE_BOOL);
    long day = column(r, "day", MDM_TYPE_DATE);
    long tags = column(r, "tags", MDM_TYPE_TEXT);
    long obj = column(r, "obj", MDM_TYPE_TEXT);
    assert_true(mdm_batch_int64(b, (size_t)id, 0) == INT64_MAX);
    assert_true(mdm_batch_int64(b, (size_t)id, 2) == INT64_MIN);
    assert_text(b, name, 0, "Zoë \"q\"\nline");
    assert_text(b, name, 1, "");
    assert_true(mdm_batch_is_null(b, (size_t)name, 2));
    assert_true(mdm_batch_float64(b, (size_t)score, 0) == 0.1);
    assert_true(mdm_batch_float64(b, (size_t)score, 1) == 2.0);
    assert_true(mdm_batch_is_null(b, (size_t)score, 2));
    assert_true(mdm_batch_bool(b, (size_t)ok, 0));
    assert_true(mdm_batch_is_null(b, (size_t)ok, 2)); /* key absent */
    assert_int_equal(mdm_batch_date(b, (size_t)day, 0), mdm_date_from_ymd(2024, 1, 31));
    assert_text(b, tags, 0, "[\"a\",\"b\"]");
    assert_text(b, obj, 1, "{\"x\":1,\"y\":[1,2]}");
    assert_int_equal(io_reader_next(r, &b), 0);
}

#define JSON_RECORD_1 "{\"id\": 9223372036854775807, \"name\": \"Zo\\u00eb \\\"q\\\"\\nline\", \"score\": 0.1, \"ok\": true, \"day\": \"2024-01-31\", \"tags\": [\"a\", \"b\"], \"obj\": {\"x\": 0, \"y\": []}}"
#define JSON_RECORD_2 "{\"id\": 1, \"name\": \"\", \"score\": 2, \"ok\": false, \"day\": \"2024-02-01\", \"tags\": [], \"obj\": {\"x\": 1, \"y\": [1, 2]}}"
#define JSON_RECORD_3 "{\"id\": -9223372036854775808, \"name\": null, \"score\": null, \"day\": null, \"tags\": null, \"obj\": null}"

static void test_json_layouts(void **state)
{
    env *e = *state;
    io_reader *r;

    /* records array (pandas orient="records"), with a BOM and leading blanks */
    const char *array = file_in(e, "records.json");
    write_text(array, "\xEF\xBB\xBF  \n[" JSON_RECORD_1 ",\n" JSON_RECORD_2 ",\n" JSON_RECORD_3 "]\n");
    assert_int_equal(io_reader_open(&r, array, IO_FORMAT_JSON, e->cfg), 0);
    check_json_rows(r);
    io_reader_close(r);

    /* newline-delimited */
    const char *lines = file_in(e, "records.jsonl");
    write_text(lines, JSON_RECORD_1 "\n" JSON_RECORD_2 "\n" JSON_RECORD_3 "\n");
    io_format format;
    assert_int_equal(io_format_from_path(&format, lines), 0);
    assert_int_equal(format, IO_FORMAT_JSON);
    assert_int_equal(io_reader_open(&r, lines, format, e->cfg), 0);
    check_json_rows(r);
    io_reader_close(r);

    /* gzipped records array */
    const char *gz = file_in(e, "records.json.gz");
    gzFile g = gzopen(gz, "wb");
    assert_non_null(g);
    gzputs(g, "[" JSON_RECORD_1 "," JSON_RECORD_2 "," JSON_RECORD_3 "]");
    gzclose(g);
    assert_int_equal(io_format_from_path(&format, gz), 0);
    assert_int_equal(format, IO_FORMAT_JSON);
    assert_int_equal(io_reader_open(&r, gz, format, e->cfg), 0);
    check_json_rows(r);
    io_reader_close(r);
}

/* A pretty-printed records array (objects over several lines, brackets, commas and
 * escaped quotes inside strings) reads as its records, and no temporary file stays. */
static void test_json_pretty_array(void **state)
{
    env *e = *state;
    const char *path = file_in(e, "pretty.json");
    write_text(path, "[\n  {\n    \"k\": \"a, [b] {c}\",\n    \"n\": [1,\n 2]\n  },\n"
                     "  {\"k\": \"q\\\"]\", \"n\": []},\r\n\t{\"k\": \"\\\\\", \"n\": null}\n]\n");
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s/tmp", e->dir);
    assert_int_equal(mkdir(tmp, 0700), 0);
    assert_int_equal(mdm_config_set(e->cfg, "database.duckdb.temp_directory", tmp), 0);
    io_reader *r;
    assert_int_equal(io_reader_open(&r, path, IO_FORMAT_JSON, e->cfg), 0);
    const mdm_batch *b;
    assert_int_equal(io_reader_next(r, &b), 1);
    assert_int_equal(mdm_batch_nrows(b), 3);
    long k = column(r, "k", MDM_TYPE_TEXT);
    long n = column(r, "n", MDM_TYPE_TEXT);
    assert_text(b, k, 0, "a, [b] {c}");
    assert_text(b, n, 0, "[1,2]");
    assert_text(b, k, 1, "q\"]");
    assert_text(b, n, 1, "[]");
    assert_text(b, k, 2, "\\");
    assert_true(mdm_batch_is_null(b, (size_t)n, 2));
    assert_int_equal(io_reader_next(r, &b), 0);
    io_reader_close(r);
    assert_int_equal(rmdir(tmp), 0); /* empty again */
}

/* JSON numbers DuckDB would round through a double: the column keeps the text. */
static void test_json_big_numbers(void **state)
{
    env *e = *state;
    const char *path = file_in(e, "big.jsonl");
    write_text(path,
               "{\"v\": 1.5, \"w\": 1.5, \"d\": \"2024-01-01\", \"s\": {\"a b\": [1]}, \"i\": 1}\n"
               "{\"v\": 18446744073709551617, \"w\": 9007199254740992, \"d\": null, \"s\": null, \"i\": 2}\n"
               "{\"v\": -2, \"w\": -0.25, \"d\": \"1999-12-31\", \"s\": {\"a b\": []}, \"i\": null}\n");
    io_reader *r;
    assert_int_equal(io_reader_open(&r, path, IO_FORMAT_JSON, e->cfg), 0);
    const mdm_batch *b;
    assert_int_equal(io_reader_next(r, &b), 1);
    long v = column(r, "v", MDM_TYPE_TEXT);
    assert_text(b, v, 0, "1.5");
    assert_text(b, v, 1, "18446744073709551617");
    assert_text(b, v, 2, "-2");
    long w = column(r, "w", MDM_TYPE_FLOAT64); /* 2^53 is exact */
    assert_true(mdm_batch_float64(b, (size_t)w, 1) == 9007199254740992.0);
    long d = column(r, "d", MDM_TYPE_DATE);
    assert_int_equal(mdm_batch_date(b, (size_t)d, 2), mdm_date_from_ymd(1999, 12, 31));
    assert_true(mdm_batch_is_null(b, (size_t)d, 1));
    assert_text(b, column(r, "s", MDM_TYPE_TEXT), 0, "{\"a b\":[1]}");
    assert_true(mdm_batch_int64(b, (size_t)column(r, "i", MDM_TYPE_INT64), 1) == 2);
    assert_int_equal(io_reader_next(r, &b), 0);
    io_reader_close(r);
}

/* sample_size=-1: a value that only appears after DuckDB's default sample widens the
 * column instead of failing the read. */
static void test_json_late_type_change(void **state)
{
    env *e = *state;
    const char *path = file_in(e, "late.jsonl");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 30000; i++)
        fprintf(f, "{\"v\": %d}\n", i);
    fprintf(f, "{\"v\": \"not a number\"}\n");
    fclose(f);
    io_reader *r;
    assert_int_equal(io_reader_open(&r, path, IO_FORMAT_JSON, e->cfg), 0);
    long v = column(r, "v", MDM_TYPE_TEXT);
    const mdm_batch *b;
    size_t rows = 0;
    int rc;
    char want[32];
    while ((rc = io_reader_next(r, &b)) == 1) {
        for (size_t row = 0; row < mdm_batch_nrows(b); row++, rows++) {
            if (rows < 30000)
                snprintf(want, sizeof want, "%zu", rows);
            else
                snprintf(want, sizeof want, "not a number");
            assert_text(b, v, row, want);
        }
    }
    assert_int_equal(rc, 0);
    assert_int_equal(rows, 30001);
    io_reader_close(r);
}

static void expect_error(env *e, const char *path, io_format format, int code, const char *message)
{
    io_reader *r = (io_reader *)1;
    int rc = io_reader_open(&r, path, format, e->cfg);
    assert_int_equal(rc, code);
    assert_null(r);
    const char *got = mdm_error_last()->message;
    if (strncmp(got, message, strlen(message)) != 0)
        fail_msg("error '%s' does not start with '%s'", got, message);
}

static void test_errors(void **state)
{
    env *e = *state;
    char want[512];

    const char *bad = file_in(e, "x.parquet");
    write_text(bad, "this is not parquet at all, just text\n");
    snprintf(want, sizeof want, "%s: not a Parquet file (", bad);
    expect_error(e, bad, IO_FORMAT_PARQUET, MDM_EINVALID, want);

    /* a real Parquet file cut in half */
    const char *whole = file_in(e, "whole.parquet");
    run_sql(e, "COPY (SELECT i, 'v' || i AS s FROM range(10000) t(i)) TO '%s' (FORMAT parquet)", whole);
    FILE *f = fopen(whole, "rb");
    static char bytes[1 << 20];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    const char *cut = file_in(e, "cut.parquet");
    f = fopen(cut, "wb");
    fwrite(bytes, 1, n / 2, f);
    fclose(f);
    snprintf(want, sizeof want, "%s: not a Parquet file (", cut);
    expect_error(e, cut, IO_FORMAT_PARQUET, MDM_EINVALID, want);

    const char *xlsx = file_in(e, "sheet.xlsx");
    write_text(xlsx, "PK\x03\x04");
    io_format format;
    assert_int_equal(io_format_from_path(&format, xlsx), 0);
    assert_int_equal(format, IO_FORMAT_EXCEL);
    snprintf(want, sizeof want, "%s: Excel files are not supported; save the sheet as CSV", xlsx);
    expect_error(e, xlsx, format, MDM_ENOTSUP, want);
    assert_int_equal(io_format_from_path(&format, "OLD.XLS"), 0);
    assert_int_equal(format, IO_FORMAT_EXCEL);

    const char *missing = file_in(e, "missing.parquet");
    snprintf(want, sizeof want, "%s: No such file or directory", missing);
    expect_error(e, missing, IO_FORMAT_PARQUET, MDM_ENOTFOUND, want);

    const char *empty = file_in(e, "empty.json");
    write_text(empty, "");
    snprintf(want, sizeof want, "%s: empty file", empty);
    expect_error(e, empty, IO_FORMAT_JSON, MDM_EINVALID, want);

    const char *blank = file_in(e, "blank.json");
    write_text(blank, " \n\n");
    snprintf(want, sizeof want, "%s: empty file: no JSON records", blank);
    expect_error(e, blank, IO_FORMAT_JSON, MDM_EINVALID, want);

    const char *text = file_in(e, "text.json");
    write_text(text, "hello");
    snprintf(want, sizeof want, "%s: not JSON records: starts with 'h'", text);
    expect_error(e, text, IO_FORMAT_JSON, MDM_EINVALID, want);

    const char *broken = file_in(e, "broken.json");
    write_text(broken, "[{\"a\": 1},\n {\"a\": ");
    snprintf(want, sizeof want, "%s line 2: end of file before the records array was closed with ']'", broken);
    expect_error(e, broken, IO_FORMAT_JSON, MDM_EINVALID, want);

    const char *bad_value = file_in(e, "bad_value.json");
    write_text(bad_value, "[{\"a\": 1}, {\"a\": tru}]");
    snprintf(want, sizeof want, "%s: not valid JSON records (", bad_value);
    expect_error(e, bad_value, IO_FORMAT_JSON, MDM_EINVALID, want);
    /* the temporary one-record-per-line file is named as the user's file */
    assert_null(strstr(mdm_error_last()->message, "mdm-records-"));

    const char *after = file_in(e, "after.json");
    write_text(after, "[{\"a\": 1}]\n\n{\"a\": 2}");
    snprintf(want, sizeof want, "%s line 3: data after the end of the records array", after);
    expect_error(e, after, IO_FORMAT_JSON, MDM_EINVALID, want);

    const char *none = file_in(e, "none.json");
    write_text(none, "[ ]");
    snprintf(want, sizeof want, "%s: no records (an empty array)", none);
    expect_error(e, none, IO_FORMAT_JSON, MDM_EINVALID, want);

    const char *holes = file_in(e, "holes.json");
    write_text(holes, "[{\"a\": 1},,{\"a\": 2}]");
    snprintf(want, sizeof want, "%s line 1: empty element in the records array", holes);
    expect_error(e, holes, IO_FORMAT_JSON, MDM_EINVALID, want);

    assert_int_equal(io_format_from_path(&format, "notes.txt"), MDM_EINVALID);
    assert_int_equal(io_format_from_path(&format, "a.tsv.gz"), 0);
    assert_int_equal(format, IO_FORMAT_TSV);
}

/* Random bytes behind a valid magic never crash the reader: an error or rows. */
static void test_random_bytes(void **state)
{
    env *e = *state;
    const char *path = file_in(e, "noise.parquet");
    srand(7);
    for (int round = 0; round < 20; round++) {
        FILE *f = fopen(path, "wb");
        fputs("PAR1", f);
        int n = 16 + rand() % 4000;
        for (int i = 0; i < n; i++)
            fputc(rand() & 0xff, f);
        fputs("PAR1", f);
        fclose(f);
        io_reader *r;
        if (io_reader_open(&r, path, IO_FORMAT_PARQUET, e->cfg) == 0) {
            const mdm_batch *b;
            while (io_reader_next(r, &b) == 1)
                ;
            io_reader_close(r);
        } else {
            assert_non_null(strstr(mdm_error_last()->message, path));
        }
    }
}

/* Random JSON-ish bytes in a records array never crash the reader or leave a
 * temporary file: an error naming the file, or rows. */
static void test_random_json(void **state)
{
    env *e = *state;
    const char *path = file_in(e, "noise.json");
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s/tmp", e->dir);
    assert_int_equal(mkdir(tmp, 0700), 0);
    assert_int_equal(mdm_config_set(e->cfg, "database.duckdb.temp_directory", tmp), 0);
    static const char alphabet[] = "[]{}\",:\\ \n\tabc0123456789.-eE\x01\xc3\xa9";
    srand(11);
    for (int round = 0; round < 60; round++) {
        FILE *f = fopen(path, "wb");
        fputc('[', f);
        int n = 1 + rand() % 300;
        for (int i = 0; i < n; i++)
            fputc(alphabet[rand() % (int)(sizeof alphabet - 1)], f);
        if (round % 2)
            fputs("{\"a\": 1}]", f);
        fclose(f);
        io_reader *r;
        if (io_reader_open(&r, path, IO_FORMAT_JSON, e->cfg) == 0) {
            const mdm_batch *b;
            while (io_reader_next(r, &b) == 1)
                ;
            io_reader_close(r);
        } else {
            assert_non_null(strstr(mdm_error_last()->message, path));
        }
    }
    assert_int_equal(rmdir(tmp), 0); /* no temporary left behind */
}

/* Every format through the one entry point: a CSV file is a source of typed batches
 * like the others. */
static void test_generic_open(void **state)
{
    env *e = *state;
    const char *path = file_in(e, "small.csv");
    write_text(path, "id,name\n1,a\n2,b\n");
    io_format format;
    assert_int_equal(io_format_from_path(&format, path), 0);
    assert_int_equal(format, IO_FORMAT_CSV);
    io_reader *r;
    assert_int_equal(io_reader_open(&r, path, format, e->cfg), 0);
    size_t n;
    io_reader_schema(r, &n);
    assert_int_equal(n, 2);
    const mdm_batch *b;
    size_t rows = 0;
    while (io_reader_next(r, &b) == 1)
        rows += mdm_batch_nrows(b);
    assert_int_equal(rows, 2);
    io_reader_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parquet_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parquet_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parquet_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_layouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_pretty_array, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_late_type_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_big_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generic_open, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
