/* Export writers: CSV, JSON and Parquet with every compression, read back and compared
 * exactly (NULLs, empty strings, unicode, quotes and newlines in text, INT64 extremes,
 * special floats); names and errors; atomic output (nothing left behind on abort). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <duckdb.h>
#include <jansson.h>
#include <zip.h>
#include <zlib.h>
#include <zstd.h>

#include "io/duckdb_reader.h"
#include "io/export.h"
#include "io/export_internal.h"
#include "mdm/mdm.h"

typedef struct env {
    char dir[64];
    char path[256];
    mdm_config *cfg;
} env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/mdm-export-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    assert_int_equal(mdm_config_defaults(&e->cfg, e->dir), 0);
    assert_int_equal(mdm_config_set(e->cfg, "database.duckdb.threads", "2"), 0);
    assert_int_equal(mdm_config_set(e->cfg, "database.duckdb.memory_limit", "256MB"), 0);
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

/* Entries of the test directory (hidden temporaries included). */
static int count_entries(env *e)
{
    DIR *d = opendir(e->dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(d)))
        if (strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------ the data */

static const mdm_field FIELDS[] = {
    {"i", MDM_TYPE_INT64}, {"f", MDM_TYPE_FLOAT64}, {"b", MDM_TYPE_BOOL},
    {"s, \"quoted\" name", MDM_TYPE_TEXT}, {"d", MDM_TYPE_DATE}, {"ts", MDM_TYPE_TIMESTAMP},
};
#define NCOLS 6
#define NROWS 12
#define NUL_ "\x01" /* marks NULL in the tables below */

static const char *const TEXTS[NROWS] = {
    "plain", "", NUL_, "a,b", "say \"hi\"", "line1\nline2\r\nend", " lead", "trail ",
    "héllo 日本 🎉", "tab\there", "back\\slash", "ctrl\x02" "char",
};

static mdm_batch *make_batch(void)
{
    mdm_batch *b;
    assert_int_equal(mdm_batch_new(&b, FIELDS, NCOLS, 4), 0);
    const int64_t ints[NROWS] = {INT64_MIN, INT64_MAX, 0, -1, 42, 0, 7, 8, 9, 10, 11, 12};
    const double floats[NROWS] = {0.1, -0.0, NAN, INFINITY, -INFINITY, 0, 1.0, 1e300,
                                  5e-324, 123456789.125, 0.30000000000000004, 1e16};
    const int32_t dates[NROWS] = {0, -1, 0, mdm_date_from_ymd(2024, 2, 29),
                                  mdm_date_from_ymd(9999, 12, 31), mdm_date_from_ymd(1, 1, 1),
                                  1, 2, 3, 4, 5, 6};
    const int64_t stamps[NROWS] = {0, -1, 0, 1709210096000001LL, 253402300799999999LL,
                                   -62135596800000000LL, 1, 2, 3, 4, 5, 6};
    for (size_t r = 0; r < NROWS; r++) {
        size_t row;
        assert_int_equal(mdm_batch_add_row(b, &row), 0);
        if (r != 5)
            mdm_batch_set_int64(b, 0, row, ints[r]);
        if (r != 5)
            mdm_batch_set_float64(b, 1, row, floats[r]);
        if (r != 2)
            mdm_batch_set_bool(b, 2, row, r % 2 == 0);
        if (strcmp(TEXTS[r], NUL_) != 0)
            assert_int_equal(mdm_batch_set_text(b, 3, row, TEXTS[r], strlen(TEXTS[r])), 0);
        if (r != 2) {
            mdm_batch_set_date(b, 4, row, dates[r]);
            mdm_batch_set_timestamp(b, 5, row, stamps[r]);
        }
    }
    return b;
}

/* The CSV text of every cell; NUL_ marks an empty unquoted field (NULL). */
static const char *const CSV_CELLS[NROWS][NCOLS] = {
    {"-9223372036854775808", "0.1", "True", "plain", "1970-01-01", "1970-01-01 00:00:00"},
    {"9223372036854775807", "-0.0", "False", "", "1969-12-31", "1969-12-31 23:59:59.999999"},
    {"0", "NaN", NUL_, NUL_, NUL_, NUL_},
    {"-1", "inf", "False", "a,b", "2024-02-29", "2024-02-29 12:34:56.000001"},
    {"42", "-inf", "True", "say \"hi\"", "9999-12-31", "9999-12-31 23:59:59.999999"},
    {NUL_, NUL_, "False", "line1\nline2\r\nend", "0001-01-01", "0001-01-01 00:00:00"},
    {"7", "1.0", "True", " lead", "1970-01-02", "1970-01-01 00:00:00.000001"},
    {"8", "1e+300", "False", "trail ", "1970-01-03", "1970-01-01 00:00:00.000002"},
    {"9", "5e-324", "True", "héllo 日本 🎉", "1970-01-04", "1970-01-01 00:00:00.000003"},
    {"10", "123456789.125", "False", "tab\there", "1970-01-05", "1970-01-01 00:00:00.000004"},
    {"11", "0.30000000000000004", "True", "back\\slash", "1970-01-06", "1970-01-01 00:00:00.000005"},
    {"12", "1e+16", "False", "ctrl\x02" "char", "1970-01-07", "1970-01-01 00:00:00.000006"},
};

/* ------------------------------------------------------------------ reading back */

typedef struct bytes {
    char *data;
    size_t len;
} bytes;

static void append_bytes(bytes *out, const void *p, size_t n)
{
    out->data = realloc(out->data, out->len + n + 1);
    memcpy(out->data + out->len, p, n);
    out->len += n;
    out->data[out->len] = '\0';
}

static bytes read_back(const char *path, io_compression compression, const char *member)
{
    bytes out = {calloc(1, 1), 0};
    char buf[65536];
    if (compression == IO_COMPRESSION_ZIP) {
        int err;
        zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &err);
        assert_non_null(za);
        assert_int_equal(zip_get_num_entries(za, 0), 1);
        assert_string_equal(zip_get_name(za, 0, 0), member);
        zip_file_t *zf = zip_fopen_index(za, 0, 0);
        assert_non_null(zf);
        zip_int64_t n;
        while ((n = zip_fread(zf, buf, sizeof buf)) > 0)
            append_bytes(&out, buf, (size_t)n);
        assert_true(n == 0);
        zip_fclose(zf);
        zip_close(za);
        return out;
    }
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    bytes raw = {calloc(1, 1), 0};
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        append_bytes(&raw, buf, n);
    fclose(f);
    if (compression == IO_COMPRESSION_NONE) {
        free(out.data);
        return raw;
    }
    if (compression == IO_COMPRESSION_GZIP) {
        assert_true(raw.len >= 2 && (unsigned char)raw.data[0] == 0x1f &&
                    (unsigned char)raw.data[1] == 0x8b);
        gzFile g = gzopen(path, "rb");
        int k;
        while ((k = gzread(g, buf, sizeof buf)) > 0)
            append_bytes(&out, buf, (size_t)k);
        assert_int_equal(k, 0);
        gzclose(g);
    } else {
        ZSTD_DStream *z = ZSTD_createDStream();
        ZSTD_inBuffer in = {raw.data, raw.len, 0};
        size_t left = 1;
        while (in.pos < in.size) {
            ZSTD_outBuffer o = {buf, sizeof buf, 0};
            left = ZSTD_decompressStream(z, &o, &in);
            assert_false(ZSTD_isError(left));
            append_bytes(&out, buf, o.pos);
        }
        assert_int_equal(left, 0); /* a complete frame */
        ZSTD_freeDStream(z);
    }
    free(raw.data);
    return out;
}

/* A tiny RFC 4180 parser: fields with a flag saying whether they were quoted. */
typedef struct csv_cell {
    char *text;
    bool quoted;
} csv_cell;

static size_t parse_csv(csv_cell cells[][NCOLS], size_t max_rows, const char *p, const char *end)
{
    size_t rows = 0;
    while (p < end) {
        assert_true(rows < max_rows);
        for (size_t c = 0; c < NCOLS; c++) {
            bytes field = {calloc(1, 1), 0};
            bool quoted = *p == '"';
            if (quoted) {
                p++;
                for (;;) {
                    assert_true(p < end);
                    if (*p == '"' && p + 1 < end && p[1] == '"') {
                        append_bytes(&field, "\"", 1);
                        p += 2;
                    } else if (*p == '"') {
                        p++;
                        break;
                    } else {
                        append_bytes(&field, p++, 1);
                    }
                }
            } else {
                while (p < end && *p != ',' && *p != '\n')
                    append_bytes(&field, p++, 1);
            }
            cells[rows][c] = (csv_cell){field.data, quoted};
            if (c + 1 < NCOLS) {
                assert_true(*p == ',');
                p++;
            }
        }
        assert_true(*p == '\n');
        p++;
        rows++;
    }
    return rows;
}

static void check_csv(const bytes *content, bool header)
{
    const char *p = content->data;
    const char *end = p + content->len;
    if (header) {
        const char *want = "i,f,b,\"s, \"\"quoted\"\" name\",d,ts\n";
        assert_true(strncmp(p, want, strlen(want)) == 0);
        p += strlen(want);
    }
    static csv_cell cells[NROWS + 1][NCOLS];
    size_t rows = parse_csv(cells, NROWS + 1, p, end);
    assert_int_equal(rows, NROWS);
    for (size_t r = 0; r < NROWS; r++) {
        for (size_t c = 0; c < NCOLS; c++) {
            const char *want = CSV_CELLS[r][c];
            if (strcmp(want, NUL_) == 0) {
                assert_string_equal(cells[r][c].text, "");
                assert_false(cells[r][c].quoted); /* NULL: empty and unquoted */
            } else {
                assert_string_equal(cells[r][c].text, want);
                if (want[0] == '\0')
                    assert_true(cells[r][c].quoted); /* the empty string is "" */
            }
            free(cells[r][c].text);
        }
    }
}

static void check_json(const bytes *content)
{
    json_error_t err;
    json_t *root = json_loadb(content->data, content->len, 0, &err);
    if (!root)
        fail_msg("JSON does not parse: %s (line %d)", err.text, err.line);
    assert_true(json_is_array(root));
    assert_int_equal(json_array_size(root), NROWS);
    mdm_batch *src = make_batch();
    for (size_t r = 0; r < NROWS; r++) {
        json_t *rec = json_array_get(root, r);
        assert_int_equal(json_object_size(rec), NCOLS);
        json_t *v = json_object_get(rec, "i");
        if (mdm_batch_is_null(src, 0, r))
            assert_true(json_is_null(v));
        else
            assert_true(json_integer_value(v) == mdm_batch_int64(src, 0, r));
        v = json_object_get(rec, "f");
        double f = mdm_batch_float64(src, 1, r);
        if (mdm_batch_is_null(src, 1, r) || !isfinite(f)) {
            assert_true(json_is_null(v));
        } else {
            assert_true(json_is_real(v)); /* 1.0 stays a float */
            assert_true(json_real_value(v) == f);
            assert_true(signbit(json_real_value(v)) == signbit(f));
        }
        v = json_object_get(rec, "b");
        if (mdm_batch_is_null(src, 2, r))
            assert_true(json_is_null(v));
        else
            assert_true(json_is_true(v) == mdm_batch_bool(src, 2, r));
        v = json_object_get(rec, "s, \"quoted\" name");
        if (mdm_batch_is_null(src, 3, r)) {
            assert_true(json_is_null(v));
        } else {
            size_t len;
            const char *s = mdm_batch_text(src, 3, r, &len);
            assert_int_equal(json_string_length(v), len);
            assert_memory_equal(json_string_value(v), s, len);
        }
        v = json_object_get(rec, "d");
        if (mdm_batch_is_null(src, 4, r))
            assert_true(json_is_null(v));
        else
            assert_string_equal(json_string_value(v), CSV_CELLS[r][4]);
        v = json_object_get(rec, "ts");
        if (mdm_batch_is_null(src, 5, r)) {
            assert_true(json_is_null(v));
        } else {
            char want[64];
            snprintf(want, sizeof want, "%s", CSV_CELLS[r][5]);
            want[10] = 'T';
            assert_string_equal(json_string_value(v), want);
        }
    }
    mdm_batch_free(src);
    json_decref(root);
}

static void write_file(env *e, const char *path, io_export_format format,
                       io_compression compression, bool header, int copies)
{
    io_export_options opt = {format, compression, header, e->cfg};
    io_writer *w;
    assert_int_equal(io_writer_open(&w, path, FIELDS, NCOLS, &opt), 0);
    mdm_batch *b = make_batch();
    for (int k = 0; k < copies; k++)
        assert_int_equal(io_writer_sink(b, w), 0);
    assert_true(io_writer_rows(w) == (uint64_t)NROWS * (uint64_t)copies);
    mdm_batch_free(b);
    assert_int_equal(io_writer_finish(w), 0);
}

/* ------------------------------------------------------------------ tests */

static const io_compression STREAM_COMPRESSIONS[] = {IO_COMPRESSION_NONE, IO_COMPRESSION_GZIP,
                                                     IO_COMPRESSION_ZIP, IO_COMPRESSION_ZSTD};

static void test_csv_round_trip(void **state)
{
    env *e = *state;
    for (size_t k = 0; k < 4; k++) {
        io_compression comp = STREAM_COMPRESSIONS[k];
        for (int header = 0; header <= 1; header++) {
            char name[64], member[64];
            snprintf(member, sizeof member, "data_%d_train.csv", header);
            snprintf(name, sizeof name, "data_%d_train%s", header,
                     io_export_extension(IO_EXPORT_CSV, comp));
            const char *path = file_in(e, name);
            write_file(e, path, IO_EXPORT_CSV, comp, header, 1);
            bytes content = read_back(path, comp, member);
            check_csv(&content, header);
            free(content.data);
        }
    }
    assert_int_equal(count_entries(e), 8); /* the files and nothing else */
}

/* DuckDB's CSV reader takes what we write back to the same typed values. */
static void test_csv_read_by_duckdb(void **state)
{
    env *e = *state;
    const char *path = file_in(e, "duck.csv");
    write_file(e, path, IO_EXPORT_CSV, IO_COMPRESSION_NONE, true, 1);
    duckdb_database db;
    duckdb_connection conn;
    assert_int_equal(duckdb_open(NULL, &db), DuckDBSuccess);
    assert_int_equal(duckdb_connect(db, &conn), DuckDBSuccess);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*), count(i), min(i)::VARCHAR, max(i)::VARCHAR, count(b), "
             "sum(CASE WHEN b THEN 1 ELSE 0 END), count(\"s, \"\"quoted\"\" name\"), "
             "typeof(any_value(f)), typeof(any_value(b)), typeof(any_value(d)), typeof(any_value(ts)) "
             "FROM read_csv('%s', header=true)",
             path);
    duckdb_result r;
    if (duckdb_query(conn, sql, &r) != DuckDBSuccess)
        fail_msg("%s", duckdb_result_error(&r));
    assert_int_equal(duckdb_value_int64(&r, 0, 0), NROWS);
    assert_int_equal(duckdb_value_int64(&r, 1, 0), NROWS - 1);
    char *s = duckdb_value_varchar(&r, 2, 0);
    assert_string_equal(s, "-9223372036854775808");
    duckdb_free(s);
    s = duckdb_value_varchar(&r, 3, 0);
    assert_string_equal(s, "9223372036854775807");
    duckdb_free(s);
    assert_int_equal(duckdb_value_int64(&r, 4, 0), NROWS - 1);
    assert_int_equal(duckdb_value_int64(&r, 5, 0), 5);
    static const char *const types[] = {"DOUBLE", "BOOLEAN", "DATE", "TIMESTAMP"};
    for (int k = 0; k < 4; k++) {
        s = duckdb_value_varchar(&r, (idx_t)(7 + k), 0);
        assert_string_equal(s, types[k]);
        duckdb_free(s);
    }
    duckdb_destroy_result(&r);
    duckdb_disconnect(&conn);
    duckdb_close(&db);
}

static void test_json_round_trip(void **state)
{
    env *e = *state;
    for (size_t k = 0; k < 4; k++) {
        io_compression comp = STREAM_COMPRESSIONS[k];
        char name[64];
        snprintf(name, sizeof name, "data_train%s", io_export_extension(IO_EXPORT_JSON, comp));
        const char *path = file_in(e, name);
        write_file(e, path, IO_EXPORT_JSON, comp, true, 1);
        bytes content = read_back(path, comp, "data_train.json");
        check_json(&content);
        free(content.data);
    }
    assert_int_equal(count_entries(e), 4);
}

/* The JSON writer's output read by our own JSON reader gives the same values back. */
static void test_json_read_by_reader(void **state)
{
    env *e = *state;
    const char *path = file_in(e, "back.json");
    write_file(e, path, IO_EXPORT_JSON, IO_COMPRESSION_NONE, true, 3);
    io_reader *r;
    assert_int_equal(io_duckdb_reader_open(&r, path, IO_FORMAT_JSON, e->cfg), 0);
    const mdm_batch *b;
    size_t rows = 0;
    while (io_reader_next(r, &b) == 1)
        rows += mdm_batch_nrows(b);
    assert_int_equal(rows, 3 * NROWS);
    io_reader_close(r);
}

static void compare_batches(const mdm_batch *got, size_t got_from, const mdm_batch *want)
{
    for (size_t r = 0; r < mdm_batch_nrows(want); r++) {
        size_t g = got_from + r;
        for (size_t c = 0; c < NCOLS; c++) {
            assert_int_equal(mdm_batch_is_null(got, c, g), mdm_batch_is_null(want, c, r));
            if (mdm_batch_is_null(want, c, r))
                continue;
            switch (FIELDS[c].type) {
            case MDM_TYPE_INT64:
                assert_true(mdm_batch_int64(got, c, g) == mdm_batch_int64(want, c, r));
                break;
            case MDM_TYPE_FLOAT64: {
                double a = mdm_batch_float64(got, c, g), b = mdm_batch_float64(want, c, r);
                assert_true(isnan(b) ? isnan(a) : a == b && signbit(a) == signbit(b));
                break;
            }
            case MDM_TYPE_BOOL:
                assert_int_equal(mdm_batch_bool(got, c, g), mdm_batch_bool(want, c, r));
                break;
            case MDM_TYPE_DATE:
                assert_int_equal(mdm_batch_date(got, c, g), mdm_batch_date(want, c, r));
                break;
            case MDM_TYPE_TIMESTAMP:
                assert_true(mdm_batch_timestamp(got, c, g) == mdm_batch_timestamp(want, c, r));
                break;
            case MDM_TYPE_TEXT: {
                size_t la, lb;
                const char *a = mdm_batch_text(got, c, g, &la);
                const char *b = mdm_batch_text(want, c, r, &lb);
                assert_int_equal(la, lb);
                assert_memory_equal(a, b, la);
                break;
            }
            }
        }
    }
}

static char *parquet_codec(const char *path)
{
    duckdb_database db;
    duckdb_connection conn;
    assert_int_equal(duckdb_open(NULL, &db), DuckDBSuccess);
    assert_int_equal(duckdb_connect(db, &conn), DuckDBSuccess);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT string_agg(DISTINCT compression, ',') FROM parquet_metadata('%s')", path);
    duckdb_result r;
    if (duckdb_query(conn, sql, &r) != DuckDBSuccess)
        fail_msg("%s", duckdb_result_error(&r));
    char *v = duckdb_value_varchar(&r, 0, 0);
    char *codec = strdup(v);
    duckdb_free(v);
    duckdb_destroy_result(&r);
    duckdb_disconnect(&conn);
    duckdb_close(&db);
    return codec;
}

static void test_parquet_round_trip(void **state)
{
    env *e = *state;
    static const struct {
        io_compression requested;
        const char *codec;
    } cases[] = {
        {IO_COMPRESSION_SNAPPY, "SNAPPY"}, {IO_COMPRESSION_GZIP, "GZIP"},
        {IO_COMPRESSION_ZSTD, "ZSTD"},     {IO_COMPRESSION_LZ4, "LZ4_RAW"},
        {IO_COMPRESSION_NONE, "UNCOMPRESSED"}, {IO_COMPRESSION_ZIP, "SNAPPY"},
    };
    mdm_batch *want = make_batch();
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        io_compression comp;
        assert_int_equal(io_export_resolve_compression(&comp, IO_EXPORT_PARQUET, cases[k].requested), 0);
        char name[64];
        snprintf(name, sizeof name, "data_%zu_train%s", k, io_export_extension(IO_EXPORT_PARQUET, comp));
        const char *path = file_in(e, name);
        write_file(e, path, IO_EXPORT_PARQUET, comp, true, 3);
        char *codec = parquet_codec(path);
        assert_string_equal(codec, cases[k].codec);
        free(codec);

        io_reader *r;
        assert_int_equal(io_duckdb_reader_open(&r, path, IO_FORMAT_PARQUET, e->cfg), 0);
        size_t n;
        const mdm_field *f = io_reader_schema(r, &n);
        assert_int_equal(n, NCOLS);
        for (size_t c = 0; c < NCOLS; c++) {
            assert_string_equal(f[c].name, FIELDS[c].name);
            assert_int_equal(f[c].type, FIELDS[c].type);
        }
        const mdm_batch *got;
        assert_int_equal(io_reader_next(r, &got), 1);
        assert_int_equal(mdm_batch_nrows(got), 3 * NROWS);
        for (size_t copy = 0; copy < 3; copy++)
            compare_batches(got, copy * NROWS, want);
        assert_int_equal(io_reader_next(r, &got), 0);
        io_reader_close(r);
    }
    mdm_batch_free(want);
    assert_int_equal(count_entries(e), 6); /* no working directory or temporary left */
}

/* Many batches through every writer: buffers flush, zip/gzip/zstd streams span them,
 * Parquet spans row groups; DuckDB counts and sums what came out. */
static void test_many_rows(void **state)
{
    env *e = *state;
    const mdm_field fields[] = {{"n", MDM_TYPE_INT64}, {"t", MDM_TYPE_TEXT}};
    mdm_batch *b;
    assert_int_equal(mdm_batch_new(&b, fields, 2, 5000), 0);
    static const struct {
        io_export_format format;
        io_compression comp;
        const char *reader;
    } cases[] = {
        {IO_EXPORT_CSV, IO_COMPRESSION_GZIP, "read_csv"},
        {IO_EXPORT_CSV, IO_COMPRESSION_ZSTD, "read_csv"},
        {IO_EXPORT_JSON, IO_COMPRESSION_NONE, "read_json_auto"},
        {IO_EXPORT_PARQUET, IO_COMPRESSION_ZSTD, "read_parquet"},
    };
    duckdb_database db;
    duckdb_connection conn;
    assert_int_equal(duckdb_open(NULL, &db), DuckDBSuccess);
    assert_int_equal(duckdb_connect(db, &conn), DuckDBSuccess);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char name[64];
        snprintf(name, sizeof name, "big_%zu%s", k, io_export_extension(cases[k].format, cases[k].comp));
        char path[256];
        snprintf(path, sizeof path, "%s", file_in(e, name));
        io_export_options opt = {cases[k].format, cases[k].comp, true, e->cfg};
        io_writer *w;
        assert_int_equal(io_writer_open(&w, path, fields, 2, &opt), 0);
        int64_t n = 0;
        for (int batch = 0; batch < 40; batch++) {
            mdm_batch_clear(b);
            for (int i = 0; i < 5000; i++, n++) {
                size_t row;
                char text[64];
                int len = snprintf(text, sizeof text, "value %lld, \"x\"", (long long)n);
                assert_int_equal(mdm_batch_add_row(b, &row), 0);
                mdm_batch_set_int64(b, 0, row, n);
                assert_int_equal(mdm_batch_set_text(b, 1, row, text, (size_t)len), 0);
            }
            assert_int_equal(io_writer_write(w, b), 0);
        }
        assert_int_equal(io_writer_finish(w), 0);
        char sql[512];
        snprintf(sql, sizeof sql, "SELECT count(*), sum(n), count(DISTINCT t) FROM %s('%s')",
                 cases[k].reader, path);
        duckdb_result r;
        if (duckdb_query(conn, sql, &r) != DuckDBSuccess)
            fail_msg("%s: %s", path, duckdb_result_error(&r));
        assert_int_equal(duckdb_value_int64(&r, 0, 0), 200000);
        assert_int_equal(duckdb_value_int64(&r, 1, 0), 199999LL * 200000 / 2);
        assert_int_equal(duckdb_value_int64(&r, 2, 0), 200000);
        duckdb_destroy_result(&r);
    }
    duckdb_disconnect(&conn);
    duckdb_close(&db);
    mdm_batch_free(b);
}

static void test_empty_table(void **state)
{
    env *e = *state;
    io_export_options opt = {IO_EXPORT_CSV, IO_COMPRESSION_NONE, true, e->cfg};
    io_writer *w;
    const char *csv = file_in(e, "empty.csv");
    assert_int_equal(io_writer_open(&w, csv, FIELDS, NCOLS, &opt), 0);
    assert_int_equal(io_writer_finish(w), 0);
    bytes content = read_back(csv, IO_COMPRESSION_NONE, NULL);
    assert_string_equal(content.data, "i,f,b,\"s, \"\"quoted\"\" name\",d,ts\n");
    free(content.data);

    opt.format = IO_EXPORT_JSON;
    const char *json = file_in(e, "empty.json");
    assert_int_equal(io_writer_open(&w, json, FIELDS, NCOLS, &opt), 0);
    assert_int_equal(io_writer_finish(w), 0);
    content = read_back(json, IO_COMPRESSION_NONE, NULL);
    assert_string_equal(content.data, "[]\n");
    free(content.data);

    opt.format = IO_EXPORT_PARQUET;
    opt.compression = IO_COMPRESSION_SNAPPY;
    const char *parquet = file_in(e, "empty.parquet");
    assert_int_equal(io_writer_open(&w, parquet, FIELDS, NCOLS, &opt), 0);
    assert_int_equal(io_writer_finish(w), 0);
    io_reader *r;
    assert_int_equal(io_duckdb_reader_open(&r, parquet, IO_FORMAT_PARQUET, e->cfg), 0);
    size_t n;
    io_reader_schema(r, &n);
    assert_int_equal(n, NCOLS);
    const mdm_batch *b;
    assert_int_equal(io_reader_next(r, &b), 0);
    io_reader_close(r);
}

/* Aborted or failed writers leave nothing, neither the file nor a temporary. */
static void test_atomic(void **state)
{
    env *e = *state;
    static const struct {
        io_export_format format;
        io_compression comp;
    } cases[] = {
        {IO_EXPORT_CSV, IO_COMPRESSION_NONE},  {IO_EXPORT_CSV, IO_COMPRESSION_ZIP},
        {IO_EXPORT_JSON, IO_COMPRESSION_GZIP}, {IO_EXPORT_JSON, IO_COMPRESSION_ZSTD},
        {IO_EXPORT_PARQUET, IO_COMPRESSION_SNAPPY},
    };
    mdm_batch *b = make_batch();
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        io_export_options opt = {cases[k].format, cases[k].comp, true, e->cfg};
        const char *path = file_in(e, "partial.out");
        io_writer *w;
        assert_int_equal(io_writer_open(&w, path, FIELDS, NCOLS, &opt), 0);
        assert_int_equal(io_writer_write(w, b), 0);
        assert_int_equal(access(path, F_OK), -1); /* not there until finished */
        io_writer_abort(w);
        assert_int_equal(count_entries(e), 0);

        /* a batch of the wrong shape is refused and the writer can still be dropped */
        const mdm_field other[] = {{"i", MDM_TYPE_TEXT}, {"f", MDM_TYPE_FLOAT64}, {"b", MDM_TYPE_BOOL},
                                   {"s", MDM_TYPE_TEXT}, {"d", MDM_TYPE_DATE}, {"ts", MDM_TYPE_TIMESTAMP}};
        mdm_batch *wrong;
        assert_int_equal(mdm_batch_new(&wrong, other, NCOLS, 1), 0);
        assert_int_equal(io_writer_open(&w, path, FIELDS, NCOLS, &opt), 0);
        assert_int_equal(io_writer_write(w, wrong), MDM_EINVALID);
        assert_non_null(strstr(mdm_error_last()->message, "column 'i' is text in the batch but int64"));
        io_writer_abort(w);
        mdm_batch_free(wrong);
        assert_int_equal(count_entries(e), 0);
    }
    mdm_batch_free(b);

    /* a directory that does not exist: an error naming the file, nothing created */
    io_export_options opt = {IO_EXPORT_CSV, IO_COMPRESSION_NONE, true, e->cfg};
    io_writer *w;
    const char *nowhere = file_in(e, "no/such/dir/x.csv");
    assert_int_equal(io_writer_open(&w, nowhere, FIELDS, NCOLS, &opt), MDM_EIO);
    assert_non_null(strstr(mdm_error_last()->message, "x.csv"));
    opt.format = IO_EXPORT_PARQUET;
    opt.compression = IO_COMPRESSION_SNAPPY;
    assert_int_equal(io_writer_open(&w, nowhere, FIELDS, NCOLS, &opt), MDM_EIO);
    assert_int_equal(count_entries(e), 0);
}

static void test_names_and_errors(void **state)
{
    (void)state;
    io_export_format f;
    assert_int_equal(io_export_format_parse(&f, "PARQUET"), 0);
    assert_int_equal(f, IO_EXPORT_PARQUET);
    assert_int_equal(io_export_format_parse(&f, "xml"), MDM_EINVALID);
    assert_string_equal(mdm_error_last()->message,
                        "Invalid format 'xml'. Must be one of: [csv, parquet, json]");

    io_compression c;
    assert_int_equal(io_compression_parse(&c, "GZIP"), 0);
    assert_int_equal(c, IO_COMPRESSION_GZIP);
    assert_int_equal(io_compression_parse(&c, "bz2"), MDM_EINVALID);
    assert_string_equal(mdm_error_last()->message,
                        "Invalid compression 'bz2'. Must be one of: [none, zip, gzip, zstd, snappy, lz4]");

    io_compression out;
    assert_int_equal(io_export_resolve_compression(&out, IO_EXPORT_CSV, IO_COMPRESSION_SNAPPY),
                     MDM_EINVALID);
    assert_string_equal(mdm_error_last()->message,
                        "Compression 'snappy' is not available for csv files. Must be one of: "
                        "[none, zip, gzip, zstd]");
    assert_int_equal(io_export_resolve_compression(&out, IO_EXPORT_JSON, IO_COMPRESSION_LZ4),
                     MDM_EINVALID);
    assert_int_equal(io_export_resolve_compression(&out, IO_EXPORT_JSON, IO_COMPRESSION_ZSTD), 0);
    assert_int_equal(out, IO_COMPRESSION_ZSTD);
    assert_int_equal(io_export_resolve_compression(&out, IO_EXPORT_PARQUET, IO_COMPRESSION_ZIP), 0);
    assert_int_equal(out, IO_COMPRESSION_SNAPPY);
    assert_int_equal(io_export_resolve_compression(&out, IO_EXPORT_PARQUET, IO_COMPRESSION_NONE), 0);
    assert_int_equal(out, IO_COMPRESSION_NONE);

    assert_string_equal(io_export_extension(IO_EXPORT_CSV, IO_COMPRESSION_ZIP), ".csv.zip");
    assert_string_equal(io_export_extension(IO_EXPORT_CSV, IO_COMPRESSION_GZIP), ".csv.gz");
    assert_string_equal(io_export_extension(IO_EXPORT_JSON, IO_COMPRESSION_ZSTD), ".json.zst");
    assert_string_equal(io_export_extension(IO_EXPORT_JSON, IO_COMPRESSION_NONE), ".json");
    assert_string_equal(io_export_extension(IO_EXPORT_PARQUET, IO_COMPRESSION_GZIP), ".parquet");

    /* an unresolved combination given to the writer is refused */
    io_export_options opt = {IO_EXPORT_CSV, IO_COMPRESSION_SNAPPY, true, NULL};
    io_writer *w;
    assert_int_equal(io_writer_open(&w, "/tmp/x.csv", FIELDS, NCOLS, &opt), MDM_EINVALID);
}

/* Significant digits of a number's text. */
static int significant_digits(const char *s)
{
    char digits[64];
    int n = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            digits[n++] = *s;
    int start = 0;
    while (start < n - 1 && digits[start] == '0')
        start++;
    while (n - 1 > start && digits[n - 1] == '0')
        n--;
    return n - start;
}

/* `text` reads back as `v` and has as few digits as printf's shortest "%.<p>g". */
static void assert_shortest(const char *text, double v)
{
    double back = strtod(text, NULL);
    assert_memory_equal(&back, &v, sizeof v);
    int p = 1;
    char ref[64];
    for (; p <= 17; p++) {
        snprintf(ref, sizeof ref, "%.*g", p, v);
        if (strtod(ref, NULL) == v)
            break;
    }
    if (significant_digits(text) != significant_digits(ref))
        fail_msg("%s is not as short as %s", text, ref);
}

/* The float text is the shortest that reads back exactly, laid out as Python's repr. */
static void test_float_text(void **state)
{
    (void)state;
    char buf[IO_NUMBER_BUF];
    static const struct {
        double v;
        const char *text;
    } known[] = {
        {0.1, "0.1"}, {1.0, "1.0"}, {-2.5, "-2.5"}, {100.0, "100.0"}, {1e21, "1e+21"},
        {1.7976931348623157e308, "1.7976931348623157e+308"}, {2.2250738585072014e-308, "2.2250738585072014e-308"},
        {4.9406564584124654e-324, "5e-324"}, {1e-5, "1e-05"}, {0.30000000000000004, "0.30000000000000004"},
        {123456789012345680.0, "1.2345678901234568e+17"}, {-0.0, "-0.0"},
        {1e15, "1000000000000000.0"}, {1e16, "1e+16"}, {234176102555840.0, "234176102555840.0"},
        {0.0001, "0.0001"}, {-1.5e-7, "-1.5e-07"}, {9007199254740993.0, "9007199254740992.0"},
        {12345678901234567.0, "1.2345678901234568e+16"}, {0.0, "0.0"},
    };
    for (size_t k = 0; k < sizeof known / sizeof *known; k++) {
        io_format_double(buf, known[k].v);
        assert_string_equal(buf, known[k].text);
    }
    /* random bit patterns: every finite one reads back as itself */
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof v);
        if (!isfinite(v))
            continue;
        io_format_double(buf, v);
        double back = strtod(buf, NULL);
        assert_memory_equal(&back, &v, sizeof v);
        assert_shortest(buf, v);
    }
    /* values of everyday magnitudes, the same check */
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v = (double)(x % 2000000) / (double)(1 + (x >> 40) % 1000) * ((x >> 20) % 2 ? 1 : -1);
        io_format_double(buf, v);
        assert_shortest(buf, v);
    }
    io_format_int64(buf, INT64_MIN);
    assert_string_equal(buf, "-9223372036854775808");
    io_format_timestamp(buf, -1, 'T');
    assert_string_equal(buf, "1969-12-31T23:59:59.999999");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_csv_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_read_by_duckdb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_read_by_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parquet_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_and_errors, setup, teardown),
        cmocka_unit_test(test_float_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
