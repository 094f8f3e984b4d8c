#include "core/conninfo_scrub.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/strbuf.h"
#include "mdm/mdm.h"

static const char mask[] = "********";

static bool word_start(const char *text, const char *p)
{
    if (p == text)
        return true;
    unsigned char c = (unsigned char)p[-1];
    return !(isalnum(c) || c == '_');
}

/* The end of a keyword/value field's value starting at p (after '=' and blanks):
 * a single-quoted value with backslash escapes, or a run of non-blank bytes; in a URI
 * query a value also stops at '&' and '#'. */
static const char *value_end(const char *p, bool uri)
{
    if (!uri && *p == '\'') {
        for (p++; *p; p++) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '\'')
                return p + 1;
        }
        return p;
    }
    while (*p && !isspace((unsigned char)*p) && !(uri && (*p == '&' || *p == '#')))
        p++;
    return p;
}

/* If a password field starts at p, the span of its value in [*from, *to). */
static bool keyword_field(const char *text, const char *p, const char **from, const char **to)
{
    static const char keyword[] = "password";
    size_t klen = sizeof keyword - 1;
    if (strncasecmp(p, keyword, klen) != 0 || !word_start(text, p))
        return false;
    bool uri = p > text && (p[-1] == '?' || p[-1] == '&');
    const char *q = p + klen;
    if (!uri)
        while (*q == ' ' || *q == '\t')
            q++;
    if (*q != '=')
        return false;
    q++;
    if (!uri)
        while (*q == ' ' || *q == '\t')
            q++;
    *from = q;
    *to = value_end(q, uri);
    return true;
}

/* If a postgres:// or postgresql:// URI starts at p with a user:password part, the
 * span of the password. libpq ends the user part at the first '@' or '/'. */
static bool uri_password(const char *p, const char **from, const char **to)
{
    const char *rest = NULL;
    if (strncasecmp(p, "postgresql://", 13) == 0)
        rest = p + 13;
    else if (strncasecmp(p, "postgres://", 11) == 0)
        rest = p + 11;
    if (!rest)
        return false;
    const char *end = rest;
    while (*end && *end != '@' && *end != '/' && !isspace((unsigned char)*end))
        end++;
    if (*end != '@')
        return false;
    const char *colon = memchr(rest, ':', (size_t)(end - rest));
    if (!colon)
        return false;
    *from = colon + 1;
    *to = end;
    return true;
}

int mdm_conninfo_scrub(char **out, const char *text)
{
    *out = NULL;
    strbuf sb = STRBUF_INIT;
    const char *p = text, *copied = text;
    while (*p) {
        const char *from, *to;
        if (keyword_field(text, p, &from, &to) || uri_password(p, &from, &to)) {
            strbuf_append_len(&sb, copied, (size_t)(from - copied));
            strbuf_append(&sb, mask);
            copied = p = to;
            continue;
        }
        p++;
    }
    strbuf_append(&sb, copied);
    if (!strbuf_cstr(&sb)) {
        strbuf_free(&sb);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    *out = strbuf_detach(&sb);
    return 0;
}
