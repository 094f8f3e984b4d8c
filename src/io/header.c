/* Column names from a header row (rules in header.h). */
#include "io/header.h"

#include "mdm/mdm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_BYTES 63

/* Length of the UTF-8 sequence at s (n bytes left), or 0 when malformed. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t k = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (k == 0 || k > n || (k == 2 && s[0] < 0xC2) || (k == 3 && s[0] == 0xE0 && s[1] < 0xA0) ||
        (k == 4 && (s[0] > 0xF4 || (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))))
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (k == 3 && s[0] == 0xED && s[1] >= 0xA0)
        return 0; /* UTF-16 surrogates */
    return k;
}

/* Longest prefix of s of at most max bytes that ends on a character boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t cut = max;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

typedef struct name_list {
    char **items;
    size_t count, cap;
} name_list;

static int list_push(name_list *l, char *s)
{
    if (!s)
        return mdm_error_set(MDM_ENOMEM, "out of memory naming columns");
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **items = realloc(l->items, cap * sizeof *items);
        if (!items) {
            free(s);
            return mdm_error_set(MDM_ENOMEM, "out of memory naming columns");
        }
        l->items = items;
        l->cap = cap;
    }
    l->items[l->count++] = s;
    return 0;
}

static void list_free(name_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    *l = (name_list){0};
}

MDM_PRINTF(2, 3) static int warn(name_list *warnings, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *line = NULL;
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    return list_push(warnings, n < 0 ? NULL : line);
}

/* ------------------------------------------------------------------ name counts */

/* Counts of names seen, keyed by the ASCII-lower-cased name (pandas' `counts`). */
typedef struct count_map {
    char **keys;
    size_t *counts;
    size_t cap, used;
} count_map;

static uint64_t hash_bytes(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static char *lower_key(const char *name)
{
    char *k = strdup(name);
    if (k)
        for (char *p = k; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    return k;
}

static size_t map_slot(const count_map *m, const char *key)
{
    size_t i = (size_t)hash_bytes(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static int map_init(count_map *m, size_t expected)
{
    m->cap = 64;
    while (m->cap < expected * 4)
        m->cap *= 2;
    m->used = 0;
    m->keys = calloc(m->cap, sizeof *m->keys);
    m->counts = calloc(m->cap, sizeof *m->counts);
    if (!m->keys || !m->counts)
        return mdm_error_set(MDM_ENOMEM, "out of memory naming columns");
    return 0;
}

static void map_free(count_map *m)
{
    if (m->keys)
        for (size_t i = 0; i < m->cap; i++)
            free(m->keys[i]);
    free(m->keys);
    free(m->counts);
}

static size_t map_get(const count_map *m, const char *name)
{
    char *key = lower_key(name);
    if (!key)
        return 0; /* reported by the map_set that follows every get */
    size_t i = map_slot(m, key);
    free(key);
    return m->keys[i] ? m->counts[i] : 0;
}

static int map_set(count_map *m, const char *name, size_t count)
{
    if ((m->used + 1) * 2 > m->cap) {
        count_map bigger = {0};
        bigger.cap = m->cap * 2;
        bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
        bigger.counts = calloc(bigger.cap, sizeof *bigger.counts);
        if (!bigger.keys || !bigger.counts) {
            free(bigger.keys);
            free(bigger.counts);
            return mdm_error_set(MDM_ENOMEM, "out of memory naming columns");
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            size_t j = map_slot(&bigger, m->keys[i]);
            bigger.keys[j] = m->keys[i];
            bigger.counts[j] = m->counts[i];
        }
        bigger.used = m->used;
        free(m->keys);
        free(m->counts);
        *m = bigger;
    }
    char *key = lower_key(name);
    if (!key)
        return mdm_error_set(MDM_ENOMEM, "out of memory naming columns");
    size_t i = map_slot(m, key);
    if (m->keys[i]) {
        free(key);
    } else {
        m->keys[i] = key;
        m->used++;
    }
    m->counts[i] = count;
    return 0;
}

/* `base.k`, the base cut at a character boundary so that the whole fits. */
static char *suffixed(const char *base, size_t k)
{
    char suffix[32];
    int slen = snprintf(suffix, sizeof suffix, ".%zu", k);
    size_t blen = utf8_cut(base, strlen(base), NAME_MAX_BYTES - (size_t)slen);
    char *s = malloc(blen + (size_t)slen + 1);
    if (s) {
        memcpy(s, base, blen);
        memcpy(s + blen, suffix, (size_t)slen + 1);
    }
    return s;
}

/* pandas' _maybe_dedup_names, comparing ASCII case-insensitively. */
static int dedup(name_list *names, name_list *warnings)
{
    count_map counts = {0};
    int rc = map_init(&counts, names->count);
    for (size_t i = 0; rc == 0 && i < names->count; i++) {
        char *col = names->items[i];
        size_t cur = map_get(&counts, col);
        while (rc == 0 && cur > 0) {
            rc = map_set(&counts, col, cur + 1);
            char *next = rc ? NULL : suffixed(col, cur);
            if (!rc && !next)
                rc = mdm_error_set(MDM_ENOMEM, "out of memory naming columns");
            if (col != names->items[i])
                free(col);
            col = next;
            cur = rc ? 0 : map_get(&counts, col);
        }
        if (rc) {
            if (col != names->items[i])
                free(col);
            break;
        }
        rc = map_set(&counts, col, cur + 1);
        if (col != names->items[i]) {
            if (!rc)
                rc = warn(warnings, "column %zu: duplicate name '%s' renamed to '%s'", i + 1,
                          names->items[i], col);
            free(names->items[i]);
            names->items[i] = col;
        }
    }
    map_free(&counts);
    return rc;
}

/* ------------------------------------------------------------------ one name */

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!strchr(" \t\r\n\v\f", s[i]) || s[i] == '\0')
            return false;
    return true;
}

/* The usable form of raw field i, with warnings for what changed. */
static int clean_name(char **out, const io_field *field, size_t i, name_list *warnings)
{
    *out = NULL;
    if (blank(field->ptr, field->len)) {
        if (asprintf(out, "Unnamed: %zu", i) < 0) {
            *out = NULL;
            return mdm_error_set(MDM_ENOMEM, "out of memory naming columns");
        }
        return warn(warnings, "column %zu has no name: named '%s'", i + 1, *out);
    }
    char *s = malloc(field->len + 1);
    if (!s)
        return mdm_error_set(MDM_ENOMEM, "out of memory naming columns");
    bool replaced = false;
    const unsigned char *p = (const unsigned char *)field->ptr;
    for (size_t k = 0; k < field->len;) {
        size_t n = utf8_seq(p + k, field->len - k);
        if (n == 0 || (n == 1 && (p[k] < 0x20 || p[k] == 0x7F))) {
            s[k++] = '_';
            replaced = true;
            continue;
        }
        memcpy(s + k, p + k, n);
        k += n;
    }
    s[field->len] = '\0';
    int rc = 0;
    if (replaced)
        rc = warn(warnings, "column %zu: control characters or bytes that are not UTF-8 in "
                  "the name replaced with '_': '%.80s'", i + 1, s);
    size_t cut = utf8_cut(s, field->len, NAME_MAX_BYTES);
    if (!rc && cut < field->len) {
        rc = warn(warnings, "column %zu: name '%.100s%s' is longer than %d bytes, cut to "
                  "'%.*s'", i + 1, s, field->len > 100 ? "..." : "", NAME_MAX_BYTES,
                  (int)cut, s);
        s[cut] = '\0';
    }
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static int finish(io_header *out, name_list *names, name_list *warnings)
{
    for (size_t i = 0; i < names->count; i++) {
        int rc = mdm_ident_check(names->items[i]);
        if (rc)
            return rc;
    }
    out->names = names->items;
    out->count = names->count;
    out->warnings = warnings->items;
    out->nwarnings = warnings->count;
    *names = (name_list){0};
    *warnings = (name_list){0};
    return 0;
}

int io_header_from_fields(io_header *out, const io_field *fields, size_t nfields)
{
    *out = (io_header){0};
    name_list names = {0}, warnings = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < nfields; i++) {
        char *name;
        rc = clean_name(&name, &fields[i], i, &warnings);
        if (!rc)
            rc = list_push(&names, name);
    }
    if (!rc)
        rc = dedup(&names, &warnings);
    if (!rc)
        rc = finish(out, &names, &warnings);
    list_free(&names);
    list_free(&warnings);
    return rc;
}

int io_header_default(io_header *out, size_t ncols)
{
    *out = (io_header){0};
    name_list names = {0}, warnings = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < ncols; i++) {
        char *name = NULL;
        if (asprintf(&name, "column_%zu", i + 1) < 0)
            name = NULL;
        rc = list_push(&names, name);
    }
    if (!rc)
        rc = finish(out, &names, &warnings);
    list_free(&names);
    list_free(&warnings);
    return rc;
}

void io_header_free(io_header *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->count; i++)
        free(h->names[i]);
    for (size_t i = 0; i < h->nwarnings; i++)
        free(h->warnings[i]);
    free(h->names);
    free(h->warnings);
    *h = (io_header){0};
}
