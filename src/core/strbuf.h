/* A growable byte string for building SQL and messages. */
#ifndef MDM_CORE_STRBUF_H
#define MDM_CORE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "mdm/mdm.h"

typedef struct strbuf {
    char *data; /* always NUL-terminated once anything was appended */
    size_t len;
    size_t cap;
    bool oom;   /* sticky: an allocation failed; check once at the end */
} strbuf;

#define STRBUF_INIT {NULL, 0, 0, false}

void strbuf_free(strbuf *sb);
void strbuf_reset(strbuf *sb);
void strbuf_append(strbuf *sb, const char *s);
void strbuf_append_len(strbuf *sb, const char *s, size_t len);
void strbuf_append_char(strbuf *sb, char c);
void strbuf_appendf(strbuf *sb, const char *fmt, ...) MDM_PRINTF(2, 3);
/* "ident" with embedded double quotes doubled. */
void strbuf_append_ident(strbuf *sb, const char *ident);
/* 'text' with embedded single quotes doubled. */
void strbuf_append_literal(strbuf *sb, const char *s);
/* `"col" TYPE, "col2" TYPE2` for a CREATE TABLE, with each backend's type names. */
void strbuf_append_column_defs(strbuf *sb, const mdm_field *fields, size_t nfields,
                               const char *(*type_name)(mdm_type type));
/* Returns the string (never NULL) or NULL after an allocation failure, recording
 * MDM_ENOMEM. */
const char *strbuf_cstr(strbuf *sb);
/* Hands the buffer to the caller (free()); the strbuf is left empty. */
char *strbuf_detach(strbuf *sb);

#endif
