/* Text encodings of input files: UTF-8 validation, cp1252/latin-1 to UTF-8, and the
 * guess made from a file's first bytes. */
#ifndef MDM_IO_TEXT_DECODE_H
#define MDM_IO_TEXT_DECODE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum text_encoding {
    TEXT_UTF8,
    TEXT_CP1252, /* Windows-1252; its five undefined bytes are read as latin-1 */
    TEXT_LATIN1, /* ISO-8859-1: every byte is the code point of the same value */
} text_encoding;

/* "utf-8", "cp1252", "latin-1". */
const char *text_encoding_name(text_encoding enc);
/* Accepts the usual spellings (utf8, UTF-8, windows-1252, iso-8859-1, latin1, ...).
 * Returns 0 or -1 for a name it does not know. */
int text_encoding_parse(text_encoding *out, const char *name);

/* Length of the longest prefix of s[0..n) made of complete, valid UTF-8 sequences
 * (no overlongs, surrogates or code points past U+10FFFF). When the rest is the
 * start of a valid sequence cut by the end of the buffer, *truncated is true: more
 * bytes may complete it. Otherwise s[result] (if result < n) is an invalid byte. */
size_t utf8_valid_prefix(const unsigned char *s, size_t n, bool *truncated);

/* Writes the UTF-8 form of n bytes of cp1252 or latin-1 text to dst, which must have
 * room for 3 * n bytes. Returns the number of bytes written. */
size_t single_byte_to_utf8(char *dst, const unsigned char *src, size_t n, text_encoding enc);

typedef enum text_guess {
    TEXT_GUESS_UTF8,    /* valid UTF-8 (ASCII included) */
    TEXT_GUESS_CP1252,  /* not UTF-8, but reads as cp1252/latin-1 text */
    TEXT_GUESS_BINARY,  /* control bytes: not a text file */
    TEXT_GUESS_UNKNOWN, /* high bytes that look like another multi-byte encoding */
} text_guess;

/* Guesses the encoding of a sample (a file's first bytes, after any byte order mark).
 * `whole` says the sample is the whole file (otherwise its last sequence may be cut).
 * NUL bytes are not judged here: the caller reports them with their line. */
text_guess text_guess_encoding(const unsigned char *s, size_t n, bool whole);

#endif
