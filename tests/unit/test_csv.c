/* The streaming CSV reader: every file of tests/data/csv/MANIFEST.tsv gives its expected
 * outcome, plus focused tests (quoting, line counting, buffer boundaries, rewind, gzip,
 * transcoding, limits) and random input that must end in records or a clean error. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io/csv.h"
#include "io/text_decode.h"
#include "mdm/mdm.h"

static char tmpdir[] = "/tmp/mdm_test_csv_XXXXXX";

/* tests/data/csv, found from this file's path (CMake compiles it by absolute path). */
static void data_dir(char *out, size_t outsz)
{
    const char *env = getenv("MDM_TEST_CSV_DIR");
    if (env != NULL) {
        snprintf(out, outsz, "%s", env);
        return;
    }
    snprintf(out, outsz, "%s", __FILE__);
    char *slash = strrchr(out, '/');
    assert_non_null(slash);
    *slash = '\0'; /* tests/unit */
    slash = strrchr(out, '/');
    assert_non_null(slash);
    snprintf(slash, outsz - (size_t)(slash - out), "/data/csv");
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static char *temp_path(const char *name)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", tmpdir, name);
    return p;
}

/* Every field is NUL-terminated, valid UTF-8, and the record has ncols fields. */
static void check_record(const csv_reader *r, const io_record *rec)
{
    assert_int_equal(rec->nfields, csv_ncolumns(r));
    for (size_t i = 0; i < rec->nfields; i++) {
        const io_field *f = &rec->fields[i];
        assert_int_equal(f->ptr[f->len], '\0');
        bool truncated;
        assert_int_equal(utf8_valid_prefix((const unsigned char *)f->ptr, f->len, &truncated),
                         f->len);
    }
}

/* Reads all records: returns the count, *rc the final csv_next result, *sum a hash of
 * the content (to compare passes). */
static long read_all(csv_reader *r, int *rc, uint64_t *sum)
{
    io_record rec;
    long rows = 0;
    uint64_t h = 1469598103934665603ULL;
    while ((*rc = csv_next(r, &rec)) == 1) {
        check_record(r, &rec);
        rows++;
        for (size_t i = 0; i < rec.nfields; i++) {
            for (size_t k = 0; k < rec.fields[i].len; k++)
                h = (h ^ (unsigned char)rec.fields[i].ptr[k]) * 1099511628211ULL;
            h = (h ^ (rec.fields[i].quoted ? 0x1FF : 0x100)) * 1099511628211ULL;
        }
    }
    if (sum != NULL)
        *sum = h;
    return rows;
}

static void check_manifest_line(const char *dir, char *line)
{
    char *file = strtok(line, "\t");
    char *expected = strtok(NULL, "\t");
    assert_non_null(file);
    assert_non_null(expected);
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    print_message("  %s: %s\n", file, expected);

    csv_reader *r = NULL;
    int rc = csv_open(&r, path, NULL);
    long rows = 0;
    uint64_t sum = 0;
    if (rc == 0)
        rows = read_all(r, &rc, &sum);
    if (strncmp(expected, "error: ", 7) == 0) {
        if (rc >= 0)
            fail_msg("%s: expected an error, read %ld rows", file, rows);
        const char *msg = mdm_error_last()->message;
        if (strstr(msg, expected + 7) == NULL)
            fail_msg("%s: message '%s' lacks '%s'", file, msg, expected + 7);
        if (strstr(msg, file) == NULL)
            fail_msg("%s: message '%s' does not name the file", file, msg);
        csv_close(r);
        return;
    }
    if (rc < 0)
        fail_msg("%s: %s", file, mdm_error_last()->message);
    long want_rows;
    size_t want_cols;
    char delim[8];
    int consumed = 0;
    assert_int_equal(sscanf(expected, "ok: %ld rows, %zu columns, delimiter %7s%n", &want_rows,
                            &want_cols, delim, &consumed),
                     3);
    const char *extra = expected + consumed;
    if (delim[0] != '\0' && delim[1] == ',' && delim[2] == '\0')
        delim[1] = '\0'; /* "delimiter ,, no header" */
    const csv_dialect *d = csv_dialect_of(r);
    if (rows != want_rows)
        fail_msg("%s: %ld rows, expected %ld", file, rows, want_rows);
    assert_int_equal(csv_ncolumns(r), want_cols);
    char want_delim = strcmp(delim, "tab") == 0 ? '\t' : delim[0];
    assert_int_equal(d->delimiter, want_delim);
    bool want_header = strstr(extra, "no header") == NULL;
    assert_int_equal(d->has_header, want_header);
    assert_true((csv_header(r) != NULL) == want_header);
    const char *enc = strstr(extra, "encoding ");
    assert_string_equal(d->encoding, enc ? enc + 9 : "utf-8");

    /* A second pass gives the same records. */
    uint64_t sum2 = 0;
    assert_int_equal(csv_rewind(r), 0);
    assert_int_equal(read_all(r, &rc, &sum2), rows);
    assert_int_equal(rc, 0);
    assert_true(sum == sum2);
    assert_true(csv_bytes_done(r) == csv_bytes_total(r));
    csv_close(r);
}

static void manifest_outcomes(void **state)
{
    (void)state;
    char dir[1024], path[1100];
    data_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/MANIFEST.tsv", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    char line[4096];
    int files = 0;
    assert_non_null(fgets(line, sizeof line, f)); /* the column names */
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '\0')
            continue;
        check_manifest_line(dir, line);
        files++;
    }
    fclose(f);
    assert_true(files >= 40);
}

/* Opens `text` written to a temporary file; the reader must open. */
static csv_reader *open_text(const char *name, const char *text, size_t len,
                             const csv_options *opt)
{
    char *path = temp_path(name);
    write_file(path, text, len);
    csv_reader *r = NULL;
    if (csv_open(&r, path, opt) != 0)
        fail_msg("%s: %s", name, mdm_error_last()->message);
    return r;
}

/* A string literal and its length, without the terminating NUL. */
#define LITERAL(s) s, sizeof s - 1

static void expect_field(const io_record *rec, size_t i, const char *value, bool quoted)
{
    assert_true(i < rec->nfields);
    assert_int_equal(rec->fields[i].len, strlen(value));
    assert_memory_equal(rec->fields[i].ptr, value, strlen(value) + 1);
    assert_int_equal(rec->fields[i].quoted, quoted);
}

static void quotes_and_lines(void **state)
{
    (void)state;
    static const char text[] = "id,text,n\n"
                               "1,\"a,b\",x\n"
                               "2,\"two\r\nlines \"\"q\"\"\",\n"
                               "3,\"\",\"\"\"\"\r"
                               "4,\"c\rd\ne\",z\r\n"
                               "5,a\"b,\"end\"";
    csv_reader *r = open_text("quotes.csv", text, sizeof text - 1, NULL);
    const io_record *h = csv_header(r);
    assert_non_null(h);
    assert_int_equal(h->line, 1);
    expect_field(h, 1, "text", false);
    io_record rec;
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.line, 2);
    expect_field(&rec, 1, "a,b", true);
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.line, 3);
    expect_field(&rec, 1, "two\r\nlines \"q\"", true);
    expect_field(&rec, 2, "", false);
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.line, 5);
    expect_field(&rec, 1, "", true);
    expect_field(&rec, 2, "\"", true);
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.line, 6);
    expect_field(&rec, 1, "c\rd\ne", true);
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.line, 9);
    expect_field(&rec, 1, "a\"b", false);
    expect_field(&rec, 2, "end", true);
    assert_int_equal(csv_next(r, &rec), 0);
    assert_int_equal(csv_next(r, &rec), 0);
    assert_string_equal(csv_dialect_of(r)->line_ending, "mixed");
    csv_close(r);
}

static void error_lines_after_quoted_newlines(void **state)
{
    (void)state;
    static const char ragged[] = "a,b\n1,\"x\ny\nz\"\n2,3,4\n";
    csv_reader *r = open_text("ragged.csv", ragged, sizeof ragged - 1, NULL);
    io_record rec;
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(csv_next(r, &rec), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "ragged.csv line 5: 3 fields"));
    mdm_error_clear();
    assert_int_equal(csv_next(r, &rec), MDM_EINVALID); /* the error sticks */
    assert_non_null(strstr(mdm_error_last()->message, "line 5"));
    csv_close(r);

    static const char nul[] = "a,b\n1,\"x\ny\0\"\n";
    r = open_text("nul.csv", nul, sizeof nul - 1, NULL);
    assert_int_equal(csv_next(r, &rec), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "NUL byte at line 3"));
    csv_close(r);
}

static void options_override_sniffing(void **state)
{
    (void)state;
    static const char text[] = "name;v\nx;1\n";
    csv_options opt = CSV_OPTIONS_DEFAULT;
    opt.header = 0;
    opt.delimiter = ',';
    csv_reader *r = open_text("opts.csv", text, sizeof text - 1, &opt);
    assert_null(csv_header(r));
    assert_int_equal(csv_ncolumns(r), 1);
    io_record rec;
    assert_int_equal(csv_next(r, &rec), 1);
    expect_field(&rec, 0, "name;v", false);
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(csv_next(r, &rec), 0);
    csv_close(r);

    /* Without quoting, a value may start with a quote. */
    static const char tsv[] = "id\ttitle\n1\t\"Weird Al\" Yankovic\n2\t\"open\n";
    opt = (csv_options)CSV_OPTIONS_DEFAULT;
    opt.no_quoting = true;
    r = open_text("noquote.tsv", tsv, sizeof tsv - 1, &opt);
    assert_int_equal(csv_dialect_of(r)->quote, '\0');
    assert_int_equal(csv_dialect_of(r)->delimiter, '\t');
    assert_int_equal(csv_next(r, &rec), 1);
    expect_field(&rec, 1, "\"Weird Al\" Yankovic", false);
    assert_int_equal(csv_next(r, &rec), 1);
    expect_field(&rec, 1, "\"open", false);
    assert_int_equal(csv_next(r, &rec), 0);
    csv_close(r);

    opt = (csv_options)CSV_OPTIONS_DEFAULT;
    opt.encoding = "ebcdic";
    csv_reader *bad = NULL;
    write_file(temp_path("enc.csv"), text, sizeof text - 1);
    assert_int_equal(csv_open(&bad, temp_path("enc.csv"), &opt), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "unsupported encoding 'ebcdic'"));
    assert_null(bad);
}

static void missing_and_unreadable_files(void **state)
{
    (void)state;
    csv_reader *r = NULL;
    assert_int_equal(csv_open(&r, temp_path("absent.csv"), NULL), MDM_ENOTFOUND);
    assert_non_null(strstr(mdm_error_last()->message, "absent.csv: no such file"));
    assert_int_equal(csv_open(&r, tmpdir, NULL), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "is a directory"));
    if (geteuid() != 0) { /* root reads anything */
        char *path = temp_path("locked.csv");
        write_file(path, "a\n1\n", 4);
        assert_int_equal(chmod(path, 0), 0);
        assert_int_equal(csv_open(&r, path, NULL), MDM_EIO);
        assert_non_null(strstr(mdm_error_last()->message, "cannot open"));
    }
    assert_null(r);
}

/* A random quoted-or-not value and its CSV form. */
static void random_value(char *value, char *written, bool *quoted, unsigned *seed)
{
    static const char alphabet[] = "abcxyz0123456789 ,\"\n\r;\t";
    size_t len = (size_t)(rand_r(seed) % 12);
    if (rand_r(seed) % 50 == 0)
        len = 3000 + (size_t)(rand_r(seed) % 5000);
    bool need_quotes = false;
    for (size_t i = 0; i < len; i++) {
        char ch = alphabet[rand_r(seed) % (sizeof alphabet - 1)];
        if (i % 7 == 3)
            ch = 'a'; /* mostly plain text */
        value[i] = ch;
        need_quotes |= ch == ',' || ch == '"' || ch == '\n' || ch == '\r';
    }
    value[len] = '\0';
    *quoted = need_quotes || (value[0] == '\0' && rand_r(seed) % 2) || rand_r(seed) % 5 == 0;
    char *w = written;
    if (*quoted)
        *w++ = '"';
    for (size_t i = 0; i < len; i++) {
        *w++ = value[i];
        if (*quoted && value[i] == '"')
            *w++ = '"';
    }
    if (*quoted)
        *w++ = '"';
    *w = '\0';
}

enum { RT_COLS = 4 };

/* Writes `rows` random records (random line ends; values with delimiters, quotes and
 * newlines; some long) and reads them back through `open_path`, comparing each field. */
static void round_trip(const char *name, size_t rows, bool gzip, unsigned seed)
{
    char *path = temp_path(name);
    FILE *plain = NULL;
    gzFile gz = NULL;
    if (gzip)
        gz = gzopen(path, "wb1");
    else
        plain = fopen(path, "wb");
    assert_true(gz != NULL || plain != NULL);
    static const char *const ends[] = {"\n", "\r\n", "\r"};
    const char header[] = "c0,c1,c2,c3\n";
    if (gzip)
        gzwrite(gz, header, sizeof header - 1);
    else
        fputs(header, plain);
    char *value = malloc(9000), *written = malloc(18100);
    assert_non_null(value);
    assert_non_null(written);
    unsigned s = seed;
    for (size_t i = 0; i < rows; i++) {
        for (int c = 0; c < RT_COLS; c++) {
            bool quoted;
            random_value(value, written, &quoted, &s);
            if (gzip) {
                if (c > 0)
                    gzputc(gz, ',');
                gzwrite(gz, written, (unsigned)strlen(written));
            } else {
                if (c > 0)
                    fputc(',', plain);
                fputs(written, plain);
            }
        }
        const char *end = ends[rand_r(&s) % 3];
        if (gzip)
            gzwrite(gz, end, (unsigned)strlen(end));
        else
            fputs(end, plain);
    }
    if (gzip)
        assert_int_equal(gzclose(gz), Z_OK);
    else
        assert_int_equal(fclose(plain), 0);

    csv_options opt = CSV_OPTIONS_DEFAULT;
    opt.delimiter = ',';
    opt.header = 1;
    csv_reader *r = NULL;
    if (csv_open(&r, path, &opt) != 0)
        fail_msg("%s", mdm_error_last()->message);
    assert_int_equal(csv_dialect_of(r)->gzip, gzip);
    for (int pass = 0; pass < 2; pass++) {
        s = seed;
        io_record rec;
        uint64_t last_done = 0;
        for (size_t i = 0; i < rows; i++) {
            int rc = csv_next(r, &rec);
            if (rc != 1)
                fail_msg("row %zu: rc %d %s", i, rc, mdm_error_last()->message);
            for (int c = 0; c < RT_COLS; c++) {
                bool quoted;
                random_value(value, written, &quoted, &s);
                expect_field(&rec, (size_t)c, value, quoted);
            }
            (void)rand_r(&s); /* the line end */
            assert_true(csv_bytes_done(r) >= last_done);
            last_done = csv_bytes_done(r);
        }
        assert_int_equal(csv_next(r, &rec), 0);
        assert_true(csv_bytes_done(r) == csv_bytes_total(r));
        if (pass == 0)
            assert_int_equal(csv_rewind(r), 0);
    }
    csv_close(r);
    free(value);
    free(written);
}

static void buffer_boundaries_and_rewind(void **state)
{
    (void)state;
    round_trip("random.csv", 20000, false, 7); /* ~9 MB: several buffer refills */
}

static void gzip_round_trip(void **state)
{
    (void)state;
    round_trip("random.csv.gz", 15000, true, 11);
}

/* Records whose every byte in turn sits on the first read's end (1 MiB): CRLF, doubled
 * quotes, quoted line ends and multi-byte characters cut in two must read the same. */
static void constructs_across_the_first_read(void **state)
{
    (void)state;
    static const struct {
        const char *text, *value;
    } constructs[] = {
        {"x,\"p\"\"q\"\r\n", "p\"q"},
        {"x,\"a\r\nb\"\r", "a\r\nb"},
        {"x,\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
        {"x,\"\"\r\n", ""},
    };
    const size_t boundary = 1u << 20;
    char *text = malloc(boundary + 64);
    assert_non_null(text);
    for (size_t c = 0; c < sizeof constructs / sizeof constructs[0]; c++) {
        size_t clen = strlen(constructs[c].text);
        for (size_t k = 1; k <= clen; k++) {
            size_t at = boundary - k; /* where the construct starts */
            size_t len = (size_t)sprintf(text, "a,b\n");
            while (at - len > 64)
                len += (size_t)sprintf(text + len, "0,filler\n");
            size_t pad = at - len - 3; /* "0," + pad + "\n" */
            memcpy(text + len, "0,", 2);
            memset(text + len + 2, 'f', pad);
            text[len + 2 + pad] = '\n';
            len = at;
            memcpy(text + len, constructs[c].text, clen);
            len += clen;
            len += (size_t)sprintf(text + len, "y,last\n");
            csv_reader *r = open_text("boundary.csv", text, len, NULL);
            io_record rec;
            int rc;
            size_t rows = 0;
            bool seen = false;
            char last = '\0';
            while ((rc = csv_next(r, &rec)) == 1) {
                rows++;
                last = rec.fields[0].ptr[0];
                if (rec.fields[0].ptr[0] == 'x') {
                    expect_field(&rec, 1, constructs[c].value, constructs[c].text[2] == '"');
                    seen = true;
                }
            }
            if (rc != 0)
                fail_msg("construct %zu at -%zu: %s", c, k, mdm_error_last()->message);
            assert_true(seen);
            assert_int_equal(last, 'y');
            assert_true(rows > 100000);
            csv_close(r);
        }
    }
    free(text);
}

static void transcodes_cp1252_and_latin1(void **state)
{
    (void)state;
    /* Larger than the buffer, so transcoding goes on chunk after chunk. */
    size_t rows = 200000;
    char *text = malloc(rows * 24 + 64);
    assert_non_null(text);
    size_t len = (size_t)sprintf(text, "id,name\n");
    for (size_t i = 0; i < rows; i++)
        len += (size_t)sprintf(text + len, "%zu,Jos\xe9 \x80%zu \x93q\x94\n", i, i % 10);
    csv_reader *r = open_text("cp1252.csv", text, len, NULL);
    const csv_dialect *d = csv_dialect_of(r);
    assert_string_equal(d->encoding, "cp1252");
    assert_true(d->transcoded);
    io_record rec;
    for (size_t i = 0; i < rows; i++) {
        assert_int_equal(csv_next(r, &rec), 1);
        char want[64];
        snprintf(want, sizeof want, "Jos\xc3\xa9 \xe2\x82\xac%zu \xe2\x80\x9cq\xe2\x80\x9d", i % 10);
        expect_field(&rec, 1, want, false);
    }
    assert_int_equal(csv_next(r, &rec), 0);
    csv_close(r);

    /* latin-1 when asked: 0x80 is U+0080, not the euro sign. */
    csv_options opt = CSV_OPTIONS_DEFAULT;
    opt.encoding = "ISO-8859-1";
    r = open_text("latin1.csv", LITERAL("a,b\n\x80,\xff\n"), &opt);
    assert_string_equal(csv_dialect_of(r)->encoding, "latin-1");
    assert_int_equal(csv_next(r, &rec), 1);
    expect_field(&rec, 0, "\xc2\x80", false);
    expect_field(&rec, 1, "\xc3\xbf", false);
    csv_close(r);

    /* UTF-8 when asked: the latin-1 byte is an error with its line and offset. */
    opt.encoding = "utf-8";
    r = open_text("forced.csv", LITERAL("a,b\n1,2\n3,\xe9t\xe9\n"), &opt);
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(csv_next(r, &rec), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "line 3: invalid UTF-8 at byte offset 10"));
    csv_close(r);
    free(text);
}

static void invalid_utf8_cut_at_end(void **state)
{
    (void)state;
    csv_options opt = CSV_OPTIONS_DEFAULT;
    opt.encoding = "utf-8";
    csv_reader *r = open_text("cut.csv", LITERAL("a\nok\n\xe2\x82"), &opt);
    io_record rec;
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(csv_next(r, &rec), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "line 3: invalid UTF-8 at byte offset 5"));
    csv_close(r);
}

static void big_field_and_record_limit(void **state)
{
    (void)state;
    size_t big = (1u << 20) + 12345; /* a field past 1 MiB */
    char *text = malloc(big + 64);
    assert_non_null(text);
    size_t len = (size_t)sprintf(text, "id,blob\n1,\"");
    memset(text + len, 'x', big);
    len += big;
    len += (size_t)sprintf(text + len, "\"\n2,y\n");
    csv_reader *r = open_text("big.csv", text, len, NULL);
    io_record rec;
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(rec.fields[1].len, big);
    assert_int_equal(rec.fields[1].ptr[big - 1], 'x');
    assert_int_equal(csv_next(r, &rec), 1);
    expect_field(&rec, 1, "y", false);
    assert_int_equal(csv_next(r, &rec), 0);
    csv_close(r);

    /* An unclosed quote stops at the limit, naming the line where it opened. */
    csv_options opt = CSV_OPTIONS_DEFAULT;
    opt.max_record_bytes = 256 << 10;
    text[len - 5] = 'x'; /* the closing quote is gone */
    r = open_text("unclosed.csv", text, len, &opt);
    assert_int_equal(csv_next(r, &rec), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message,
                           "unclosed.csv line 2: quoted field longer than 262144 bytes"));
    csv_close(r);

    memset(text, 'z', len);
    memcpy(text, "h\n", 2);
    r = open_text("longline.csv", text, len, &opt);
    assert_int_equal(csv_next(r, &rec), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "line 2: record longer than 262144 bytes"));
    csv_close(r);
    free(text);
}

static void wide_rows(void **state)
{
    (void)state;
    /* A header longer than the 64 KiB sample: the sniffer reads on to whole lines. */
    size_t cols = 10000;
    char *text = malloc(cols * 16 * 3);
    assert_non_null(text);
    size_t len = 0;
    for (int row = 0; row < 3; row++)
        for (size_t c = 0; c < cols; c++)
            len += (size_t)sprintf(text + len, row == 0 ? "col %zu%s" : "%zu%s", c + (size_t)row,
                                   c + 1 == cols ? "\n" : "\t");
    csv_reader *r = open_text("wide.csv", text, len, NULL);
    assert_int_equal(csv_dialect_of(r)->delimiter, '\t');
    assert_true(csv_dialect_of(r)->has_header);
    assert_int_equal(csv_ncolumns(r), cols);
    expect_field(csv_header(r), cols - 1, "col 9999", false);
    io_record rec;
    assert_int_equal(csv_next(r, &rec), 1);
    expect_field(&rec, cols - 1, "10000", false);
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(csv_next(r, &rec), 0);
    csv_close(r);
    free(text);
}

static void end_stays_the_end(void **state)
{
    (void)state;
    const char *path = temp_path("end.csv");
    write_file(path, "a,b\n1,2\n3,4\n", 12);
    csv_reader *r = NULL;
    assert_int_equal(csv_open(&r, path, NULL), 0);
    io_record rec;
    assert_int_equal(csv_next(r, &rec), 1);
    assert_int_equal(csv_next(r, &rec), 1);
    /* Asking again after the end keeps answering "the end". */
    for (int i = 0; i < 3; i++)
        assert_int_equal(csv_next(r, &rec), 0);
    assert_int_equal(csv_rewind(r), 0);
    assert_int_equal(csv_next(r, &rec), 1);
    csv_close(r);
}

static void header_sniffing(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool header;
    } cases[] = {
        {"id,price\n1,2.5\n2,3.5\n", true},
        {"1,2.5\n2,3.5\n", false},
        {"name,city\nann,paris\nbob,rome\n", true},  /* all text: unique names */
        {"x,x\ny,z\n", false},                       /* all text, duplicated first row */
        {"day,n\n2024-01-01,1\n2024-01-02,2\n", true},
        {"2024-01-01,1\n2024-01-02,2\n", false},
        {"flag,n\ntrue,1\nfalse,2\n", true},
        {"a,b,c\n", true},                           /* one line: a header without rows */
        {",value\n0,1.5\n1,2.5\n", true},            /* pandas' unnamed index column */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        csv_reader *r = open_text("sniff.csv", cases[i].text, strlen(cases[i].text), NULL);
        if (csv_dialect_of(r)->has_header != cases[i].header)
            fail_msg("case %zu (%s): header %d", i, cases[i].text, !cases[i].header);
        csv_close(r);
    }
}

/* Random bytes and random edits of a valid file: records or a clean error, never a
 * crash (run under the sanitizers). */
static void fuzz_random_input(void **state)
{
    (void)state;
    static const char base[] = "id,name,note\n1,\"a,b\",x\n2,\"q\"\"q\",\"l1\nl2\"\r\n3,,\"\"\n";
    static const char specials[] = ",\"\n\r\0\xff\xe9\xc3;\t| a1";
    unsigned seed = 12345;
    char buf[600], gzbuf[1200];
    char *path = temp_path("fuzz.csv");
    for (int iter = 0; iter < 1500; iter++) {
        size_t len;
        if (iter % 3 == 0) {
            len = 1 + (size_t)(rand_r(&seed) % sizeof buf);
            for (size_t i = 0; i < len; i++)
                buf[i] = (char)(rand_r(&seed) % 256);
        } else {
            len = sizeof base - 1;
            memcpy(buf, base, len);
            int edits = 1 + rand_r(&seed) % 4;
            for (int e = 0; e < edits; e++)
                buf[rand_r(&seed) % len] = specials[rand_r(&seed) % (sizeof specials - 1)];
            if (rand_r(&seed) % 4 == 0)
                len = (size_t)(rand_r(&seed) % len) + 1; /* cut anywhere */
        }
        if (iter % 10 == 1) { /* a damaged gzip stream */
            uLongf zlen = sizeof gzbuf;
            assert_int_equal(compress2((Bytef *)gzbuf, &zlen, (const Bytef *)buf, len, 1), Z_OK);
            /* compress2 writes a zlib stream; give it a gzip header instead */
            static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
            memcpy(buf, header, 10);
            size_t body = zlen > 6 ? zlen - 6 : 0; /* raw deflate: without zlib's 2+4 bytes */
            if (body > sizeof buf - 10)
                body = sizeof buf - 10;
            memcpy(buf + 10, gzbuf + 2, body);
            len = 10 + body;
            buf[10 + rand_r(&seed) % (body ? body : 1)] ^= (char)(1 + rand_r(&seed) % 255);
        }
        write_file(path, buf, len);
        csv_options opt = CSV_OPTIONS_DEFAULT;
        opt.sample_bytes = 1 + (size_t)(rand_r(&seed) % 128);
        csv_reader *r = NULL;
        int rc = csv_open(&r, path, rand_r(&seed) % 2 ? &opt : NULL);
        if (rc != 0) {
            assert_true(rc < 0);
            assert_null(r);
            assert_true(mdm_error_last()->message[0] != '\0');
            continue;
        }
        read_all(r, &rc, NULL);
        if (rc < 0)
            assert_non_null(strstr(mdm_error_last()->message, "fuzz.csv"));
        csv_close(r);
    }
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(manifest_outcomes),
        cmocka_unit_test(quotes_and_lines),
        cmocka_unit_test(error_lines_after_quoted_newlines),
        cmocka_unit_test(options_override_sniffing),
        cmocka_unit_test(missing_and_unreadable_files),
        cmocka_unit_test(buffer_boundaries_and_rewind),
        cmocka_unit_test(gzip_round_trip),
        cmocka_unit_test(constructs_across_the_first_read),
        cmocka_unit_test(transcodes_cp1252_and_latin1),
        cmocka_unit_test(invalid_utf8_cut_at_end),
        cmocka_unit_test(big_field_and_record_limit),
        cmocka_unit_test(wide_rows),
        cmocka_unit_test(end_stays_the_end),
        cmocka_unit_test(header_sniffing),
        cmocka_unit_test(fuzz_random_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
