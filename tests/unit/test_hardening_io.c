/* Hardening of the input side (issue #9): data files that are not regular files are
 * refused at once (a FIFO hung the reader forever), JSON nesting is checked before
 * DuckDB sees the file (deep nesting crashed it), small files are read without
 * blocking, and passwords are scrubbed from connection text by position. */
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

#include "core/conninfo_scrub.h"
#include "core/fs_read.h"
#include "io/json_depth.h"
#include "io/reader.h"
#include "mdm/mdm.h"

static char dir[] = "/tmp/mdm_test_hardening_XXXXXX";

static void path_in(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

/* "[{"a":" + n '[' + n ']' + "}]": the records array, a record, then n levels. */
static char *nested_json(size_t n, bool lines)
{
    char *s = malloc(2 * n + 64);
    strcpy(s, lines ? "{\"a\":1}\n{\"a\":" : "[{\"a\":");
    size_t at = strlen(s);
    memset(s + at, '[', n);
    memset(s + at + n, ']', n);
    strcpy(s + at + 2 * n, lines ? "}\n" : "}]\n");
    return s;
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("'%s' not found in: %s", needle, haystack);
}

static void test_reader_refuses_fifo_at_once(void **state)
{
    mdm_config *cfg = NULL;
    assert_int_equal(mdm_config_defaults(&cfg, dir), 0);
    const char *names[] = {"pipe.csv", "pipe.json", "pipe.parquet"};
    for (size_t i = 0; i < 3; i++) {
        char path[256];
        path_in(path, sizeof path, names[i]);
        assert_int_equal(mkfifo(path, 0600), 0);
        io_format format;
        assert_int_equal(io_format_from_path(&format, path), 0);
        io_reader *r = NULL;
        /* Before: the reader's open() waited forever for a writer. */
        assert_int_equal(io_reader_open(&r, path, format, cfg), MDM_EINVALID);
        assert_null(r);
        char expected[512];
        snprintf(expected, sizeof expected,
                 "%s is a FIFO (named pipe), not a regular file; mdm reads only regular files "
                 "(standard input and pipes are not supported)",
                 path);
        assert_string_equal(mdm_error_last()->message, expected);
        unlink(path);
    }
    /* A directory named like a data file. */
    char path[256];
    path_in(path, sizeof path, "dir.csv");
    assert_int_equal(mkdir(path, 0700), 0);
    io_reader *r = NULL;
    assert_int_equal(io_reader_open(&r, path, IO_FORMAT_CSV, cfg), MDM_EINVALID);
    assert_contains(mdm_error_last()->message, "is a directory, not a regular file");
    rmdir(path);
    /* A symlink to a regular file is read as usual. */
    char real[256], link[256];
    path_in(real, sizeof real, "real.csv");
    path_in(link, sizeof link, "link.csv");
    write_file(real, "a,b\n1,2\n", 8);
    assert_int_equal(symlink(real, link), 0);
    assert_int_equal(io_reader_open(&r, link, IO_FORMAT_CSV, cfg), 0);
    const mdm_batch *batch;
    assert_int_equal(io_reader_next(r, &batch), 1);
    io_reader_close(r);
    unlink(link);
    unlink(real);
    mdm_config_free(cfg);
}

static void test_deep_json_refused_before_duckdb(void **state)
{
    mdm_config *cfg = NULL;
    assert_int_equal(mdm_config_defaults(&cfg, dir), 0);
    struct {
        const char *name;
        bool lines;
        const char *line;
    } cases[] = {{"deep.json", false, "line 1"}, {"deep.jsonl", true, "line 2"}};
    for (size_t i = 0; i < 2; i++) {
        char path[256];
        path_in(path, sizeof path, cases[i].name);
        /* 100,000 levels: DuckDB's reader died with SIGSEGV. */
        char *text = nested_json(100000, cases[i].lines);
        write_file(path, text, strlen(text));
        free(text);
        io_reader *r = NULL;
        assert_int_equal(io_reader_open(&r, path, IO_FORMAT_JSON, cfg), MDM_EINVALID);
        char expected[512];
        snprintf(expected, sizeof expected,
                 "%s %s: JSON nested deeper than 64 levels (mdm reads at most 64)", path,
                 cases[i].line);
        assert_string_equal(mdm_error_last()->message, expected);
        unlink(path);
    }
    /* Exactly the limit is read: the array, the record and 62 levels of lists. */
    char path[256];
    path_in(path, sizeof path, "limit.json");
    char *text = nested_json(62, false);
    write_file(path, text, strlen(text));
    free(text);
    io_reader *r = NULL;
    int rc = io_reader_open(&r, path, IO_FORMAT_JSON, cfg);
    if (rc)
        fail_msg("open failed: %s", mdm_error_last()->message);
    io_reader_close(r);
    unlink(path);
    mdm_config_free(cfg);
}

static void test_json_depth_scan(void **state)
{
    /* Brackets inside strings, escaped quotes included, do not count. */
    const char *text = "[{\"a\":\"[[[[\\\"[[[[\"},\n{\"b\":[[1]]}]";
    json_depth_scan s = JSON_DEPTH_SCAN_INIT;
    assert_true(json_depth_feed(&s, (const unsigned char *)text, strlen(text), 4));
    assert_int_equal(s.depth, 0);
    s = (json_depth_scan)JSON_DEPTH_SCAN_INIT;
    assert_false(json_depth_feed(&s, (const unsigned char *)text, strlen(text), 3));
    assert_int_equal(s.line, 2);
    /* Fed byte by byte (a string and an escape split across reads). */
    s = (json_depth_scan)JSON_DEPTH_SCAN_INIT;
    for (size_t i = 0; text[i]; i++)
        assert_true(json_depth_feed(&s, (const unsigned char *)text + i, 1, 4));
    assert_int_equal(s.depth, 0);
    assert_false(s.in_string);

    /* Through gzip. */
    char path[256];
    path_in(path, sizeof path, "deep.json.gz");
    char *deep = nested_json(1000, false);
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, deep, (unsigned)strlen(deep)), (int)strlen(deep));
    gzclose(gz);
    free(deep);
    assert_int_equal(io_json_check_depth(path, 64), MDM_EINVALID);
    assert_contains(mdm_error_last()->message, "line 1: JSON nested deeper than 64 levels");
    assert_int_equal(io_json_check_depth(path, 1002), 0);
    unlink(path);
}

static void test_fs_read_regular_file(void **state)
{
    char path[256];
    path_in(path, sizeof path, "small.yaml");
    write_file(path, "a: 1\n", 5);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(fs_read_regular_file(&data, &len, path, 0), 0);
    assert_int_equal(len, 5);
    assert_string_equal(data, "a: 1\n");
    free(data);
    assert_int_equal(fs_read_regular_file(&data, &len, path, 5), 0);
    free(data);
    assert_int_equal(fs_read_regular_file(&data, &len, path, 4), MDM_EINVALID);
    assert_null(data);
    assert_contains(mdm_error_last()->message, "is larger than 4 bytes");
    unlink(path);

    assert_int_equal(fs_read_regular_file(&data, &len, path, 0), MDM_ENOTFOUND);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(fs_read_regular_file(&data, &len, path, 0), MDM_EINVALID);
    assert_contains(mdm_error_last()->message, "is a FIFO (named pipe), not a regular file");
    unlink(path);
    assert_int_equal(fs_read_regular_file(&data, &len, dir, 0), MDM_EINVALID);
    assert_contains(mdm_error_last()->message, "is a directory");
}

static void expect_scrub(const char *text, const char *expected)
{
    char *out = NULL;
    assert_int_equal(mdm_conninfo_scrub(&out, text), 0);
    if (strcmp(out, expected) != 0)
        fail_msg("scrub of\n  %s\ngave\n  %s\nexpected\n  %s", text, out, expected);
    free(out);
}

static void test_conninfo_scrub_by_position(void **state)
{
    /* The old scrubber masked every substring equal to the password: with password
     * "a" (or the user's name), every 'a' of the message became "********". */
    expect_scrub("FATAL:  password authentication failed for user \"a\"",
                 "FATAL:  password authentication failed for user \"a\"");
    expect_scrub("host=db user=alice password=alice dbname=alice",
                 "host=db user=alice password=******** dbname=alice");
    expect_scrub("password = 'it\\'s a \\\\ secret' port=5432", "password = ******** port=5432");
    expect_scrub("host=x PASSWORD=s3cr3t", "host=x PASSWORD=********");
    expect_scrub("password=", "password=********");
    expect_scrub("postgresql://bob:pa:ss@db:5432/x?sslmode=require",
                 "postgresql://bob:********@db:5432/x?sslmode=require");
    expect_scrub("postgres://bob@db/x?password=p%26q&sslmode=disable",
                 "postgres://bob@db/x?password=********&sslmode=disable");
    expect_scrub("postgres://db/x", "postgres://db/x");
    expect_scrub("mypassword=1 passwords=2", "mypassword=1 passwords=2");
    expect_scrub("", "");
}

static int setup(void **state)
{
    assert_non_null(mkdtemp(dir));
    mdm_log_set_stderr_level(MDM_LOG_CRITICAL);
    return 0;
}

static int teardown(void **state)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_refuses_fifo_at_once),
        cmocka_unit_test(test_deep_json_refused_before_duckdb),
        cmocka_unit_test(test_json_depth_scan),
        cmocka_unit_test(test_fs_read_regular_file),
        cmocka_unit_test(test_conninfo_scrub_by_position),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
