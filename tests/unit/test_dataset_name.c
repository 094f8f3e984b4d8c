/* Dataset-name normalization against the Python mdm's `name.replace('-', '_').lower()`
 * and its \w check: Unicode lower-casing, which characters pass, the 100-character limit,
 * invalid UTF-8 and the output buffer's size. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "mdm/mdm.h"

#define CHARSET_MESSAGE \
    "Dataset name can only contain alphanumeric characters, underscores, and dashes"

static void assert_normalizes(const char *name, const char *expected)
{
    char out[512];
    int rc = mdm_dataset_name_normalize(out, sizeof out, name);
    if (rc != 0)
        fail_msg("'%s' refused: %s", name, mdm_error_last()->message);
    assert_string_equal(out, expected);
    /* The catalog re-normalizes stored names and requires them unchanged. */
    char again[512];
    assert_int_equal(mdm_dataset_name_normalize(again, sizeof again, out), 0);
    assert_string_equal(again, out);
}

static void assert_refused(const char *name, const char *message)
{
    char out[512];
    if (mdm_dataset_name_normalize(out, sizeof out, name) != MDM_EINVALID)
        fail_msg("'%s' accepted as '%s'", name, out);
    assert_string_equal(mdm_error_last()->message, message);
}

static void ascii_names(void **state)
{
    (void)state;
    assert_normalizes("Titanic-2024", "titanic_2024");
    assert_normalizes("ABC_def-9", "abc_def_9");
    assert_refused("a/b", CHARSET_MESSAGE);
    assert_refused("..", CHARSET_MESSAGE);
    assert_refused("has space", CHARSET_MESSAGE);
    assert_refused("", "Dataset name cannot be empty");
}

static void unicode_letters_lower_cased(void **state)
{
    (void)state;
    assert_normalizes("Ünï-Data", "ünï_data");
    assert_normalizes("ÀÉÎ", "àéî");
    assert_normalizes("donnÉes", "données");
    assert_normalizes("ΑΒΓΔ", "αβγδ");
    assert_normalizes("МОСКВА_2024", "москва_2024");
    assert_normalizes("日本語", "日本語");
    /* Both spellings of one dataset find the same name. */
    char upper[64], lower[64];
    assert_int_equal(mdm_dataset_name_normalize(upper, sizeof upper, "ÜNÏ"), 0);
    assert_int_equal(mdm_dataset_name_normalize(lower, sizeof lower, "ünï"), 0);
    assert_string_equal(upper, lower);
}

static void python_full_case_mapping(void **state)
{
    (void)state;
    /* str.lower(): final sigma at the end of a word, not before another letter. */
    assert_normalizes("ΟΔΟΣ", "οδος");
    assert_normalizes("ΣΑΣ_X", "σας_x");
    assert_normalizes("Σ", "σ");
    assert_normalizes("AΣB", "aσb");
    assert_normalizes("ΑΣ1", "ας1");
    /* 'İ' lower-cases to "i\u0307", which then normalizes to itself. */
    assert_normalizes("İstanbul", "i\xcc\x87stanbul");
    assert_normalizes("I\xcc\x87", "i\xcc\x87");
    /* Lower-casing changes the byte length: Ⱥ (2 bytes) -> ⱥ (3), K (Kelvin, 3) -> k (1). */
    assert_normalizes("Ⱥ", "ⱥ");
    assert_normalizes("\xe2\x84\xaa", "k");
    assert_normalizes("Ⅻ", "ⅻ");
}

static void numbers_of_any_script(void **state)
{
    (void)state;
    assert_normalizes("data_٣", "data_٣");  /* Arabic-Indic three (Nd) */
    assert_normalizes("१२३", "१२३");        /* Devanagari digits */
    assert_normalizes("x²", "x²");          /* Python's isalnum() accepts No */
    assert_normalizes("½", "½");
    assert_normalizes("①", "①");
}

static void symbols_and_marks_refused(void **state)
{
    (void)state;
    assert_refused("a／b", CHARSET_MESSAGE);                   /* U+FF0F fullwidth solidus */
    assert_refused("price€", CHARSET_MESSAGE);
    assert_refused("more…", CHARSET_MESSAGE);
    assert_refused("ab\xe2\x80\xae" "cd", CHARSET_MESSAGE);    /* U+202E right-to-left override */
    assert_refused("ab\xe2\x80\x8b" "cd", CHARSET_MESSAGE);    /* U+200B zero-width space */
    assert_refused("ab\xc2\xa0" "cd", CHARSET_MESSAGE);        /* U+00A0 no-break space */
    assert_refused("a\xef\xbb\xbf", CHARSET_MESSAGE);          /* U+FEFF byte-order mark */
    assert_refused("a.b", CHARSET_MESSAGE);
    assert_refused("a·b", CHARSET_MESSAGE);
    assert_refused("😀", CHARSET_MESSAGE);
    assert_refused("Ⓐ", CHARSET_MESSAGE);                      /* glibc: alpha; Python: not */
    /* Combining marks: Python's \w refuses them, alone or after a letter (NFD 'é'). */
    assert_refused("\xcc\x81", CHARSET_MESSAGE);
    assert_refused("e\xcc\x81", CHARSET_MESSAGE);
    assert_refused("हिंदी", CHARSET_MESSAGE);                  /* vowel signs are marks */
    assert_refused("a\xcc\x87", CHARSET_MESSAGE);              /* U+0307 only after i */
    assert_refused("i\xcc\x87\xcc\x87", CHARSET_MESSAGE);
}

static void invalid_utf8_refused(void **state)
{
    (void)state;
    const char *message = "Dataset name is not valid UTF-8";
    assert_refused("ab\xc3", message);                 /* truncated */
    assert_refused("\xc0\xaf", message);               /* overlong '/' */
    assert_refused("\xe0\x80\xaf", message);           /* overlong '/' */
    assert_refused("\xf0\x80\x80\xaf", message);       /* overlong '/' */
    assert_refused("\xed\xa0\x80", message);           /* surrogate */
    assert_refused("\xf4\x90\x80\x80", message);       /* beyond U+10FFFF */
    assert_refused("\xff", message);
    assert_refused("a\x80", message);
}

static void limit_counts_characters(void **state)
{
    (void)state;
    char name[512], expected[512];
    /* 100 two-byte characters: 200 bytes, accepted. */
    for (int i = 0; i < 100; i++) {
        memcpy(name + 2 * i, "É", 2);
        memcpy(expected + 2 * i, "é", 2);
    }
    name[200] = expected[200] = '\0';
    assert_normalizes(name, expected);
    memcpy(name + 200, "É", 3);
    assert_refused(name, "Dataset name cannot exceed 100 characters");
    /* 100 'İ' become 100 "i\u0307" (300 bytes), still 100 characters. */
    for (int i = 0; i < 100; i++) {
        memcpy(name + 2 * i, "İ", 2);
        memcpy(expected + 3 * i, "i\xcc\x87", 3);
    }
    name[200] = '\0';
    expected[300] = '\0';
    assert_normalizes(name, expected);
    /* 101 four-byte characters: the length error, not a buffer error. */
    for (int i = 0; i < 101; i++)
        memcpy(name + 4 * i, "😀", 4);
    name[404] = '\0';
    assert_refused(name, CHARSET_MESSAGE);
    for (int i = 0; i < 101; i++)
        memcpy(name + 4 * i, "𝔸", 4);  /* U+1D538, a letter */
    name[404] = '\0';
    assert_refused(name, "Dataset name cannot exceed 100 characters");
    name[400] = '\0';
    assert_normalizes(name, name);
    /* 101 ASCII characters. */
    memset(name, 'a', 101);
    name[101] = '\0';
    assert_refused(name, "Dataset name cannot exceed 100 characters");
    name[100] = '\0';
    assert_normalizes(name, name);
}

/* Calls with out = buf and `size`, checks nothing past buf[size] was written. */
static int normalize_guarded(char *buf, size_t buf_size, size_t size, const char *name)
{
    memset(buf, '#', buf_size);
    int rc = mdm_dataset_name_normalize(buf, size, name);
    for (size_t i = size; i < buf_size; i++)
        assert_int_equal(buf[i], '#');
    return rc;
}

static void output_never_overflows(void **state)
{
    (void)state;
    char buf[32];
    /* "ünï" is 5 bytes: 6 fit, 5 do not (no truncation). */
    assert_int_equal(normalize_guarded(buf, sizeof buf, 6, "Ünï"), 0);
    assert_string_equal(buf, "ünï");
    assert_int_equal(normalize_guarded(buf, sizeof buf, 5, "Ünï"), MDM_EINVALID);
    assert_string_equal(buf, "");
    assert_non_null(strstr(mdm_error_last()->message, "does not fit in 5 bytes"));
    /* Ⱥ grows from 2 to 3 bytes: a buffer that holds the input is not enough. */
    assert_int_equal(normalize_guarded(buf, sizeof buf, 3, "Ⱥ"), MDM_EINVALID);
    assert_int_equal(normalize_guarded(buf, sizeof buf, 4, "Ⱥ"), 0);
    assert_string_equal(buf, "ⱥ");
    /* İ grows from 2 to 3 bytes too. */
    assert_int_equal(normalize_guarded(buf, sizeof buf, 3, "İ"), MDM_EINVALID);
    assert_int_equal(normalize_guarded(buf, sizeof buf, 4, "İ"), 0);
    assert_int_equal(normalize_guarded(buf, sizeof buf, 1, "a"), MDM_EINVALID);
    assert_int_equal(normalize_guarded(buf, sizeof buf, 0, "a"), MDM_EINVALID);
    assert_int_equal(normalize_guarded(buf, sizeof buf, 2, "A"), 0);
    assert_string_equal(buf, "a");
}

/* Every accepted single character normalizes to a name that normalizes to itself, and
 * the output stays within 6 bytes per character. */
static void every_code_point_idempotent(void **state)
{
    (void)state;
    char name[8], out[16], again[16];
    for (uint32_t cp = 1; cp < 0x110000; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        size_t n;
        if (cp < 0x80) {
            name[0] = (char)cp;
            n = 1;
        } else if (cp < 0x800) {
            name[0] = (char)(0xC0 | (cp >> 6));
            name[1] = (char)(0x80 | (cp & 0x3F));
            n = 2;
        } else if (cp < 0x10000) {
            name[0] = (char)(0xE0 | (cp >> 12));
            name[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            name[2] = (char)(0x80 | (cp & 0x3F));
            n = 3;
        } else {
            name[0] = (char)(0xF0 | (cp >> 18));
            name[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
            name[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
            name[3] = (char)(0x80 | (cp & 0x3F));
            n = 4;
        }
        name[n] = '\0';
        if (mdm_dataset_name_normalize(out, sizeof out, name) != 0)
            continue;
        if (mdm_dataset_name_normalize(again, sizeof again, out) != 0 || strcmp(out, again) != 0)
            fail_msg("U+%04X normalizes to a name that does not normalize to itself", cp);
    }
}

static void *normalize_in_thread(void *arg)
{
    char out[64];
    int *rc = arg;
    *rc = mdm_dataset_name_normalize(out, sizeof out, "ÜNÏ-ΔΑΤΑ") != 0 ||
          strcmp(out, "ünï_δατα") != 0;
    return NULL;
}

/* The locale is opened once, on first use, whichever thread gets there first. */
static void first_use_from_threads(void **state)
{
    (void)state;
    enum { THREADS = 8 };
    pthread_t threads[THREADS];
    int failed[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, normalize_in_thread, &failed[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(failed[i], 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* First, so the lazy locale setup is raced by threads. */
        cmocka_unit_test(first_use_from_threads),
        cmocka_unit_test(ascii_names),
        cmocka_unit_test(unicode_letters_lower_cased),
        cmocka_unit_test(python_full_case_mapping),
        cmocka_unit_test(numbers_of_any_script),
        cmocka_unit_test(symbols_and_marks_refused),
        cmocka_unit_test(invalid_utf8_refused),
        cmocka_unit_test(limit_counts_characters),
        cmocka_unit_test(output_never_overflows),
        cmocka_unit_test(every_code_point_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
