/* Validation of identifiers and dataset names: what may reach SQL and the file system. */
#include "mdm/mdm.h"

#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wctype.h>

/* Length of the UTF-8 sequence at s, or 0 when it is malformed. */
static size_t utf8_seq(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || (n == 2 && s[0] < 0xC2))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* Longest identifier any backend accepts (PostgreSQL: 63 bytes). */
#define IDENT_MAX 63

int mdm_ident_check(const char *name)
{
    if (!name || !*name)
        return mdm_error_set(MDM_EINVALID, "identifier is empty");
    size_t len = strlen(name);
    if (len > IDENT_MAX)
        return mdm_error_set(MDM_EINVALID, "identifier '%.80s' is longer than %d bytes", name,
                             IDENT_MAX);
    for (const unsigned char *p = (const unsigned char *)name; *p;) {
        if (*p < 0x20 || *p == 0x7F)
            return mdm_error_set(MDM_EINVALID, "identifier '%.80s' contains a control character",
                                 name);
        size_t n = utf8_seq(p);
        if (!n)
            return mdm_error_set(MDM_EINVALID, "identifier '%.80s' is not valid UTF-8", name);
        p += n;
    }
    return 0;
}

/* Dataset names follow the Python mdm: `name.replace('-', '_').lower()`, accepted when
 * every character is `_` or one for which Python's str.isalnum() is true (Unicode letters
 * and numbers; what the `\w` of its `re` accepts). Classification and case mapping come
 * from glibc's C.UTF-8 locale, opened once with newlocale() so the process locale is never
 * read or changed, and corrected where glibc and Python (both Unicode 14.0 here: glibc
 * 2.36, Python 3.11) disagree:
 * - glibc's alnum includes combining marks that are Alphabetic (Devanagari vowel signs,
 *   U+0345, ...) and the circled letters; Python refuses both, so do we. A lone combining
 *   mark is refused too (Python: '\u0301'.isalnum() is False).
 * - Python counts other numbers (General Category No: '²', '½', '①', ...) as alnum;
 *   glibc does not, hence the python_numbers table.
 * - Python lower-cases with full case mapping: 'İ' (U+0130) becomes "i\u0307", and a
 *   capital sigma at the end of a word becomes 'ς' (U+03C2); towlower knows neither.
 *   So that a normalized name normalizes to itself (the catalog checks it), U+0307 is
 *   accepted right after 'i' or 'I' and counts with it as one character (Python itself
 *   refuses that input; it is the only name mdm accepts that Python does not).
 * The 100-character limit counts the input's characters. Without a C.UTF-8 locale
 * (minimal systems), non-ASCII characters are accepted and kept as written, as before.
 * Checked against Python for every code point, alone and next to 'A' and 'Σ'.
 * Tables generated from Python 3.11's unicodedata (Unicode 14.0). */

#define NAME_MAX_CHARS 100
#define COMBINING_DOT_ABOVE 0x0307
#define CAPITAL_I_WITH_DOT 0x0130
#define CAPITAL_SIGMA 0x03A3
#define FINAL_SIGMA 0x03C2

struct cp_range {
    uint32_t first, last;
};

/* Letters glibc counts as alnum (Other_Alphabetic symbols) that Python does not. */
static const struct cp_range circled_letters[] = {
    {0x24B6, 0x24E9}, {0x1F130, 0x1F149}, {0x1F150, 0x1F169}, {0x1F170, 0x1F189},
};

/* Python isalnum() but not glibc iswalnum(): General Category No. */
static const struct cp_range python_numbers[] = {
    {0x00B2, 0x00B3}, {0x00B9, 0x00B9}, {0x00BC, 0x00BE}, {0x09F4, 0x09F9}, {0x0B72, 0x0B77},
    {0x0BF0, 0x0BF2}, {0x0C78, 0x0C7E}, {0x0D58, 0x0D5E}, {0x0D70, 0x0D78}, {0x0F2A, 0x0F33},
    {0x1369, 0x137C}, {0x17F0, 0x17F9}, {0x19DA, 0x19DA}, {0x2070, 0x2070}, {0x2074, 0x2079},
    {0x2080, 0x2089}, {0x2150, 0x215F}, {0x2189, 0x2189}, {0x2460, 0x249B}, {0x24EA, 0x24FF},
    {0x2776, 0x2793}, {0x2CFD, 0x2CFD}, {0x3192, 0x3195}, {0x3220, 0x3229}, {0x3248, 0x324F},
    {0x3251, 0x325F}, {0x3280, 0x3289}, {0x32B1, 0x32BF}, {0xA830, 0xA835}, {0x10107, 0x10133},
    {0x10175, 0x10178}, {0x1018A, 0x1018B}, {0x102E1, 0x102FB}, {0x10320, 0x10323},
    {0x10858, 0x1085F}, {0x10879, 0x1087F}, {0x108A7, 0x108AF}, {0x108FB, 0x108FF},
    {0x10916, 0x1091B}, {0x109BC, 0x109BD}, {0x109C0, 0x109CF}, {0x109D2, 0x109FF},
    {0x10A40, 0x10A48}, {0x10A7D, 0x10A7E}, {0x10A9D, 0x10A9F}, {0x10AEB, 0x10AEF},
    {0x10B58, 0x10B5F}, {0x10B78, 0x10B7F}, {0x10BA9, 0x10BAF}, {0x10CFA, 0x10CFF},
    {0x10E60, 0x10E7E}, {0x10F1D, 0x10F26}, {0x10F51, 0x10F54}, {0x10FC5, 0x10FCB},
    {0x11052, 0x11065}, {0x111E1, 0x111F4}, {0x1173A, 0x1173B}, {0x118EA, 0x118F2},
    {0x11C5A, 0x11C6C}, {0x11FC0, 0x11FD4}, {0x16B5B, 0x16B61}, {0x16E80, 0x16E96},
    {0x1D2E0, 0x1D2F3}, {0x1D360, 0x1D378}, {0x1E8C7, 0x1E8CF}, {0x1EC71, 0x1ECAB},
    {0x1ECAD, 0x1ECAF}, {0x1ECB1, 0x1ECB4}, {0x1ED01, 0x1ED2D}, {0x1ED2F, 0x1ED3D},
    {0x1F100, 0x1F10C},
};

/* General Category Lm: case-ignorable for the final-sigma rule of Python's lower(). */
static const struct cp_range modifier_letters[] = {
    {0x02B0, 0x02C1}, {0x02C6, 0x02D1}, {0x02E0, 0x02E4}, {0x02EC, 0x02EC}, {0x02EE, 0x02EE},
    {0x0374, 0x0374}, {0x037A, 0x037A}, {0x0559, 0x0559}, {0x0640, 0x0640}, {0x06E5, 0x06E6},
    {0x07F4, 0x07F5}, {0x07FA, 0x07FA}, {0x081A, 0x081A}, {0x0824, 0x0824}, {0x0828, 0x0828},
    {0x08C9, 0x08C9}, {0x0971, 0x0971}, {0x0E46, 0x0E46}, {0x0EC6, 0x0EC6}, {0x10FC, 0x10FC},
    {0x17D7, 0x17D7}, {0x1843, 0x1843}, {0x1AA7, 0x1AA7}, {0x1C78, 0x1C7D}, {0x1D2C, 0x1D6A},
    {0x1D78, 0x1D78}, {0x1D9B, 0x1DBF}, {0x2071, 0x2071}, {0x207F, 0x207F}, {0x2090, 0x209C},
    {0x2C7C, 0x2C7D}, {0x2D6F, 0x2D6F}, {0x2E2F, 0x2E2F}, {0x3005, 0x3005}, {0x3031, 0x3035},
    {0x303B, 0x303B}, {0x309D, 0x309E}, {0x30FC, 0x30FE}, {0xA015, 0xA015}, {0xA4F8, 0xA4FD},
    {0xA60C, 0xA60C}, {0xA67F, 0xA67F}, {0xA69C, 0xA69D}, {0xA717, 0xA71F}, {0xA770, 0xA770},
    {0xA788, 0xA788}, {0xA7F2, 0xA7F4}, {0xA7F8, 0xA7F9}, {0xA9CF, 0xA9CF}, {0xA9E6, 0xA9E6},
    {0xAA70, 0xAA70}, {0xAADD, 0xAADD}, {0xAAF3, 0xAAF4}, {0xAB5C, 0xAB5F}, {0xAB69, 0xAB69},
    {0xFF70, 0xFF70}, {0xFF9E, 0xFF9F}, {0x10780, 0x10785}, {0x10787, 0x107B0},
    {0x107B2, 0x107BA}, {0x16B40, 0x16B43}, {0x16F93, 0x16F9F}, {0x16FE0, 0x16FE1},
    {0x16FE3, 0x16FE3}, {0x1AFF0, 0x1AFF3}, {0x1AFF5, 0x1AFFB}, {0x1AFFD, 0x1AFFE},
    {0x1E137, 0x1E13D}, {0x1E94B, 0x1E94B},
};

static bool in_ranges(const struct cp_range *ranges, size_t count, uint32_t cp)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < ranges[mid].first)
            hi = mid;
        else if (cp > ranges[mid].last)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

#define IN_RANGES(table, cp) in_ranges((table), sizeof(table) / sizeof((table)[0]), (cp))

static pthread_once_t name_locale_once = PTHREAD_ONCE_INIT;
static locale_t name_locale;        /* (locale_t)0 when C.UTF-8 cannot be loaded */
static wctype_t name_combining;     /* glibc's "combining" class, 0 when absent */

static void name_locale_open(void)
{
    name_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (name_locale)
        name_combining = wctype_l("combining", name_locale);
}

/* The C.UTF-8 locale, or (locale_t)0 when this system has none. */
static locale_t name_locale_get(void)
{
    pthread_once(&name_locale_once, name_locale_open);
    return name_locale;
}

/* Decodes the UTF-8 sequence at s into *cp; returns its length, or 0 when it is malformed
 * (overlong, surrogate, beyond U+10FFFF, truncated). */
static size_t utf8_decode(uint32_t *cp, const unsigned char *s)
{
    size_t n = utf8_seq(s);
    if (n <= 1) {
        *cp = s[0];
        return n;
    }
    static const uint32_t lead_mask[5] = {0, 0, 0x1F, 0x0F, 0x07};
    static const uint32_t min_value[5] = {0, 0, 0x80, 0x800, 0x10000};
    uint32_t v = s[0] & lead_mask[n];
    for (size_t i = 1; i < n; i++)
        v = (v << 6) | (s[i] & 0x3F);
    if (v < min_value[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

static size_t utf8_encode(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static bool ascii_word_char(uint32_t cp)
{
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
           cp == '_';
}

/* Python's ch.isalnum() for a non-ASCII code point. Without C.UTF-8, every non-ASCII
 * character is accepted as it was before Unicode classification (no way to tell). */
static bool unicode_alnum(uint32_t cp)
{
    locale_t loc = name_locale_get();
    if (!loc)
        return true;
    if (IN_RANGES(python_numbers, cp))
        return true;
    wint_t wc = (wint_t)cp;
    return iswalnum_l(wc, loc) && !(name_combining && iswctype_l(wc, name_combining, loc)) &&
           !IN_RANGES(circled_letters, cp);
}

/* A cased letter that is not case-ignorable, as Python's final-sigma rule sees it. */
static bool sigma_context_cased(uint32_t cp, locale_t loc)
{
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    return iswupper_l((wint_t)cp, loc) || iswlower_l((wint_t)cp, loc);
}

/* Within an accepted name, the case-ignorable characters are the Lm letters and the
 * U+0307 that may follow an 'i'. */
static bool sigma_context_ignorable(uint32_t cp)
{
    return cp == COMBINING_DOT_ABOVE || IN_RANGES(modifier_letters, cp);
}

/* Python's Final_Sigma: a cased letter before (skipping case-ignorable ones) and none
 * after. */
static bool sigma_is_final(const uint32_t *cps, size_t count, size_t at, locale_t loc)
{
    size_t i = at;
    while (i > 0 && sigma_context_ignorable(cps[i - 1]))
        i--;
    if (i == 0 || !sigma_context_cased(cps[i - 1], loc))
        return false;
    size_t j = at + 1;
    while (j < count && sigma_context_ignorable(cps[j]))
        j++;
    return j == count || !sigma_context_cased(cps[j], loc);
}

/* Writes the lower-case form of cps[at] (UTF-8, up to 6 bytes) to out; returns its
 * length. */
static size_t lower_encode(char *out, const uint32_t *cps, size_t count, size_t at)
{
    uint32_t cp = cps[at];
    if (cp < 0x80) {
        out[0] = (char)(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp);
        return 1;
    }
    locale_t loc = name_locale_get();
    if (!loc)
        return utf8_encode(out, cp);
    if (cp == CAPITAL_I_WITH_DOT) {
        out[0] = 'i';
        return 1 + utf8_encode(out + 1, COMBINING_DOT_ABOVE);
    }
    if (cp == CAPITAL_SIGMA && sigma_is_final(cps, count, at, loc))
        return utf8_encode(out, FINAL_SIGMA);
    return utf8_encode(out, (uint32_t)towlower_l((wint_t)cp, loc));
}

int mdm_dataset_name_normalize(char *out, size_t size, const char *name)
{
    if (!name || !*name)
        return mdm_error_set(MDM_EINVALID, "Dataset name cannot be empty");
    /* Decoded first, so out is written only once the name is known to be valid. Each
     * character may carry one U+0307, and one more, so a longer name is known as such. */
    uint32_t cps[2 * NAME_MAX_CHARS + 2];
    size_t count = 0, chars = 0;
    uint32_t prev = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p;) {
        uint32_t cp;
        size_t n = utf8_decode(&cp, p);
        if (!n)
            return mdm_error_set(MDM_EINVALID, "Dataset name is not valid UTF-8");
        p += n;
        if (cp == '-')
            cp = '_';
        bool dot_after_i = cp == COMBINING_DOT_ABOVE && (prev == 'i' || prev == 'I');
        prev = cp;
        if (!dot_after_i && !(cp < 0x80 ? ascii_word_char(cp) : unicode_alnum(cp)))
            return mdm_error_set(MDM_EINVALID,
                                 "Dataset name can only contain alphanumeric characters, "
                                 "underscores, and dashes");
        if (!dot_after_i)
            chars++;
        /* Past the limit only validation goes on: the error names the length. */
        if (count < sizeof cps / sizeof cps[0])
            cps[count++] = cp;
    }
    if (chars > NAME_MAX_CHARS)
        return mdm_error_set(MDM_EINVALID, "Dataset name cannot exceed 100 characters");
    size_t o = 0;
    for (size_t i = 0; i < count; i++) {
        char enc[6];
        size_t n = lower_encode(enc, cps, count, i);
        if (o + n + 1 > size) {
            if (size > 0)
                out[0] = '\0';
            return mdm_error_set(MDM_EINVALID,
                                 "Dataset name '%.400s' does not fit in %zu bytes once normalized",
                                 name, size);
        }
        memcpy(out + o, enc, n);
        o += n;
    }
    out[o] = '\0';
    return 0;
}
