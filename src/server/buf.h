/* A growable byte buffer for response bodies. */
#ifndef MDM_SERVER_BUF_H
#define MDM_SERVER_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct buf {
    char *data;
    size_t len, cap;
    bool failed; /* an allocation failed: the content is incomplete */
} buf;

void buf_free(buf *b);
bool buf_reserve(buf *b, size_t extra);
void buf_put(buf *b, const void *p, size_t n);
void buf_puts(buf *b, const char *s);
void buf_putc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* JSON string literal with quotes; bytes that are not valid UTF-8 become U+FFFD. */
void buf_json_str(buf *b, const char *s, size_t n);
/* Hands the bytes over (NUL-terminated); the buffer is empty afterwards. */
char *buf_take(buf *b, size_t *len);

#endif
