#include "core/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdm/sys/backend.h"

static bool reserve(strbuf *sb, size_t extra)
{
    if (sb->oom)
        return false;
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return true;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(sb->data, cap);
    if (!p) {
        sb->oom = true;
        return false;
    }
    sb->data = p;
    sb->cap = cap;
    return true;
}

void strbuf_free(strbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
    sb->oom = false;
}

void strbuf_reset(strbuf *sb)
{
    sb->len = 0;
    if (sb->data)
        sb->data[0] = '\0';
}

void strbuf_append_len(strbuf *sb, const char *s, size_t len)
{
    if (!reserve(sb, len))
        return;
    memcpy(sb->data + sb->len, s, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
}

void strbuf_append(strbuf *sb, const char *s) { strbuf_append_len(sb, s, strlen(s)); }

void strbuf_append_char(strbuf *sb, char c) { strbuf_append_len(sb, &c, 1); }

void strbuf_appendf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(sb, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

static void append_quoted(strbuf *sb, const char *s, char quote)
{
    strbuf_append_char(sb, quote);
    for (const char *p = s; *p; p++) {
        if (*p == quote)
            strbuf_append_char(sb, quote);
        strbuf_append_char(sb, *p);
    }
    strbuf_append_char(sb, quote);
}

void strbuf_append_ident(strbuf *sb, const char *ident) { append_quoted(sb, ident, '"'); }

void strbuf_append_literal(strbuf *sb, const char *s) { append_quoted(sb, s, '\''); }

void strbuf_append_column_defs(strbuf *sb, const mdm_field *fields, size_t nfields,
                               const char *(*type_name)(mdm_type type))
{
    for (size_t i = 0; i < nfields; i++) {
        if (i)
            strbuf_append(sb, ", ");
        strbuf_append_ident(sb, fields[i].name);
        strbuf_append_char(sb, ' ');
        strbuf_append(sb, type_name(fields[i].type));
    }
}

const char *strbuf_cstr(strbuf *sb)
{
    if (sb->oom) {
        mdm_error_set(MDM_ENOMEM, "out of memory building a string");
        return NULL;
    }
    if (!reserve(sb, 0)) {
        mdm_error_set(MDM_ENOMEM, "out of memory building a string");
        return NULL;
    }
    sb->data[sb->len] = '\0';
    return sb->data;
}

char *strbuf_detach(strbuf *sb)
{
    if (!strbuf_cstr(sb))
        return NULL;
    char *p = sb->data;
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return p;
}

static int quote_into(char *buf, size_t size, const char *s, char quote)
{
    strbuf sb = STRBUF_INIT;
    append_quoted(&sb, s, quote);
    int n = -1;
    if (!sb.oom && sb.len < size) {
        memcpy(buf, sb.data, sb.len + 1);
        n = (int)sb.len;
    }
    strbuf_free(&sb);
    return n;
}

int mdm_sql_quote_ident(char *buf, size_t size, const char *ident)
{
    return quote_into(buf, size, ident, '"');
}

int mdm_sql_quote_literal(char *buf, size_t size, const char *s)
{
    return quote_into(buf, size, s, '\'');
}
