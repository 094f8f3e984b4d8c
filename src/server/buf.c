/* Growable byte buffer with JSON string escaping. */
#include "server/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_free(buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

bool buf_reserve(buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void buf_put(buf *b, const void *p, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_puts(buf *b, const char *s) { buf_put(b, s, strlen(s)); }

void buf_putc(buf *b, char c) { buf_put(b, &c, 1); }

void buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        buf_put(b, tmp, (size_t)n);
        return;
    }
    if (!buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0xc2 || c > 0xf4)
        return 0;
    if (c < 0xe0) {
        len = 2;
        cp = c & 0x1f;
    } else if (c < 0xf0) {
        len = 3;
        cp = c & 0x0f;
    } else {
        len = 4;
        cp = c & 0x07;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

void buf_json_str(buf *b, const char *s, size_t n)
{
    if (!buf_reserve(b, n + 2))
        return;
    buf_putc(b, '"');
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0; /* bytes copied as they are, flushed in one go */
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            run++;
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = utf8_len(p + i, n - i);
            if (l) {
                run += l;
                i += l;
                continue;
            }
        }
        buf_put(b, p + i - run, run);
        run = 0;
        switch (c) {
        case '"': buf_puts(b, "\\\""); break;
        case '\\': buf_puts(b, "\\\\"); break;
        case '\n': buf_puts(b, "\\n"); break;
        case '\r': buf_puts(b, "\\r"); break;
        case '\t': buf_puts(b, "\\t"); break;
        default:
            if (c < 0x20)
                buf_printf(b, "\\u%04x", c);
            else
                buf_puts(b, "\\ufffd");
        }
        i++;
    }
    buf_put(b, p + n - run, run);
    buf_putc(b, '"');
}

char *buf_take(buf *b, size_t *len)
{
    if (!b->data && !b->failed)
        buf_reserve(b, 0);
    char *d = b->data;
    if (len)
        *len = b->len;
    if (d)
        d[b->len] = '\0';
    memset(b, 0, sizeof *b);
    return d;
}
