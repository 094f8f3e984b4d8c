/* Text encodings of input files (see text_decode.h). */
#include "io/text_decode.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

const char *text_encoding_name(text_encoding enc)
{
    switch (enc) {
    case TEXT_CP1252: return "cp1252";
    case TEXT_LATIN1: return "latin-1";
    case TEXT_UTF8: break;
    }
    return "utf-8";
}

int text_encoding_parse(text_encoding *out, const char *name)
{
    static const struct {
        const char *name;
        text_encoding enc;
    } names[] = {
        {"utf-8", TEXT_UTF8},        {"utf8", TEXT_UTF8},         {"utf-8-sig", TEXT_UTF8},
        {"ascii", TEXT_UTF8},        {"us-ascii", TEXT_UTF8},     {"cp1252", TEXT_CP1252},
        {"windows-1252", TEXT_CP1252}, {"win-1252", TEXT_CP1252}, {"latin-1", TEXT_LATIN1},
        {"latin1", TEXT_LATIN1},     {"iso-8859-1", TEXT_LATIN1}, {"iso8859-1", TEXT_LATIN1},
        {"l1", TEXT_LATIN1},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].enc;
            return 0;
        }
    }
    return -1;
}

/* Eight ASCII bytes at once: the common case of CSV text. */
static bool all_ascii8(const unsigned char *s)
{
    uint64_t w;
    memcpy(&w, s, 8);
    return (w & UINT64_C(0x8080808080808080)) == 0;
}

size_t utf8_valid_prefix(const unsigned char *s, size_t n, bool *truncated)
{
    size_t i = 0;
    *truncated = false;
    while (i < n) {
        if (i + 8 <= n && all_ascii8(s + i)) {
            i += 8;
            continue;
        }
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* past U+10FFFF */
        } else {
            return i;
        }
        for (size_t k = 1; k < len; k++) {
            if (i + k >= n) {
                *truncated = true;
                return i;
            }
            unsigned b = s[i + k];
            unsigned min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
            if (b < min || b > max)
                return i;
        }
        i += len;
    }
    return n;
}

/* Code points of cp1252's bytes 0x80-0x9F; 0 where cp1252 leaves the byte undefined
 * (those are read as latin-1: the C1 control of the same value). */
static const uint16_t cp1252_high[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
    0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

size_t single_byte_to_utf8(char *dst, const unsigned char *src, size_t n, text_encoding enc)
{
    unsigned char *d = (unsigned char *)dst;
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n && all_ascii8(src + i)) {
            memcpy(d, src + i, 8);
            d += 8;
            i += 8;
            continue;
        }
        unsigned c = src[i++];
        if (c < 0x80) {
            *d++ = (unsigned char)c;
            continue;
        }
        unsigned cp = c;
        if (enc == TEXT_CP1252 && c < 0xA0 && cp1252_high[c - 0x80] != 0)
            cp = cp1252_high[c - 0x80];
        if (cp < 0x800) {
            *d++ = (unsigned char)(0xC0 | (cp >> 6));
            *d++ = (unsigned char)(0x80 | (cp & 0x3F));
        } else {
            *d++ = (unsigned char)(0xE0 | (cp >> 12));
            *d++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            *d++ = (unsigned char)(0x80 | (cp & 0x3F));
        }
    }
    return (size_t)(d - (unsigned char *)dst);
}

/* Control bytes that text files do not contain (tab, LF, FF, CR, ESC and NUL aside;
 * NUL is reported by the parser with its line). */
static bool is_binary_control(unsigned c)
{
    return (c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1A) ||
           (c >= 0x1C && c <= 0x1F) || c == 0x7F;
}

text_guess text_guess_encoding(const unsigned char *s, size_t n, bool whole)
{
    size_t controls = 0, high = 0, high_alone = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        if (c >= 0x80) {
            high++;
            bool prev_high = i > 0 && s[i - 1] >= 0x80;
            bool next_high = i + 1 < n && s[i + 1] >= 0x80;
            if (!prev_high && !next_high)
                high_alone++;
        } else if (is_binary_control(c)) {
            controls++;
        }
    }
    /* More than 1% control bytes: no text file looks like that. */
    if (controls * 100 > n)
        return TEXT_GUESS_BINARY;
    bool truncated;
    size_t valid = utf8_valid_prefix(s, n, &truncated);
    if (valid == n || (truncated && !whole))
        return TEXT_GUESS_UTF8;
    /* cp1252 text is mostly ASCII with accented letters standing alone ("Müller",
     * "café"); double-byte encodings (Shift-JIS, GBK, EUC) put high bytes in pairs and
     * binary data is dense with them. A handful of high bytes is too few to judge and is
     * taken as cp1252. */
    if (high * 10 > n * 3 || (high > 8 && high_alone * 2 < high))
        return TEXT_GUESS_UNKNOWN;
    return TEXT_GUESS_CP1252;
}
