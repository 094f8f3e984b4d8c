/* Escaping registry text for the terminal (cli/output.h). */
#include "cli/output.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at `p` (1 to 4), or 0 when it is not one; *cp gets
 * the code point. Overlong forms, surrogates and values past U+10FFFF are invalid. */
static size_t utf8_sequence(const unsigned char *p, unsigned long *cp)
{
    size_t len;
    unsigned long min;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    } else if ((p[0] & 0xE0) == 0xC0) {
        len = 2, min = 0x80, *cp = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        len = 3, min = 0x800, *cp = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        len = 4, min = 0x10000, *cp = p[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) /* the NUL terminator stops here too */
            return 0;
        *cp = (*cp << 6) | (p[i] & 0x3F);
    }
    if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
        return 0;
    return len;
}

static bool is_control(unsigned long cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

size_t cli_escape(char **out, const char *s)
{
    /* Worst case: every byte becomes \xNN (4 bytes); a 2-byte C1 becomes 6. */
    size_t n = strlen(s), escaped = 0, used = 0;
    char *buf = malloc(4 * n + 1);
    *out = buf;
    if (!buf)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned long cp;
        size_t len = utf8_sequence(p, &cp);
        if (len == 0) {
            used += (size_t)sprintf(buf + used, "\\x%02x", *p);
            p++;
            escaped++;
        } else if (is_control(cp)) {
            used += (size_t)sprintf(buf + used, cp < 0x80 ? "\\x%02lx" : "\\u%04lx", cp);
            p += len;
            escaped++;
        } else {
            memcpy(buf + used, p, len);
            used += len;
            p += len;
        }
    }
    buf[used] = '\0';
    return escaped;
}

const char *cli_safe(cli_text *t, const char *s)
{
    if (!s)
        return NULL;
    bool clean = true;
    for (const unsigned char *p = (const unsigned char *)s; *p && clean; p++)
        clean = *p >= 0x20 && *p < 0x7F;
    if (clean)
        return s; /* printable ASCII: the common case, no copy */
    char *copy;
    if (cli_escape(&copy, s) == 0 && copy) {
        free(copy);
        return s;
    }
    if (!copy)
        return "?";
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        char **grown = realloc(t->owned, cap * sizeof *grown);
        if (!grown) {
            free(copy);
            return "?";
        }
        t->owned = grown;
        t->cap = cap;
    }
    t->owned[t->n++] = copy;
    return copy;
}

void cli_text_free(cli_text *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->owned[i]);
    free(t->owned);
    memset(t, 0, sizeof *t);
}
