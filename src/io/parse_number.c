/* Exact parsing of numbers (see parse_value.h for the accepted forms).
 *
 * Numbers are scanned once into their significant digits D (no leading or trailing
 * zeros) and a scale, value = D x 10^scale. Most decimals are settled without strtod:
 * a decimal of at most 15 significant digits in the normal range always survives the
 * trip through a double (DBL_DIG), and one of at most 15 digits with |scale| <= 22 is
 * computed exactly by one multiplication or division of two exact doubles (Clinger's
 * fast path). Longer ones (16-17 digits) are read and checked in exact 128-bit integer
 * arithmetic where the magnitudes allow, else with strtod and printf. */
#include "io/parse_value.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ numbers */

typedef struct num_scan {
    bool neg;
    bool int_syntax;      /* no '.' and no exponent */
    const char *int_part; /* the digits before '.', exponent or end */
    size_t int_len;
    uint64_t mant;        /* D when ndigits <= 19 */
    int ndigits;          /* significant digits (0 for a zero value) */
    int64_t scale;        /* value = D x 10^scale */
    const char *first;    /* where D starts in the text (may straddle the '.') */
} num_scan;

static inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Scans the number syntax; false when the text is not a number of the accepted form. */
static bool scan_number(num_scan *n, const char *s, size_t len)
{
    size_t i = 0;
    memset(n, 0, sizeof *n);
    if (len && s[0] == '-') {
        n->neg = true;
        i = 1;
    }
    n->int_part = s + i;
    while (i < len && is_digit(s[i]))
        i++;
    n->int_len = (size_t)(s + i - n->int_part);
    if (n->int_len > 1 && n->int_part[0] == '0')
        return false; /* leading zeros: a code such as "007", kept as text */
    size_t frac_len = 0;
    const char *frac = NULL;
    n->int_syntax = true;
    if (i < len && s[i] == '.') {
        n->int_syntax = false;
        frac = s + ++i;
        while (i < len && is_digit(s[i]))
            i++;
        frac_len = (size_t)(s + i - frac);
    }
    if (n->int_len + frac_len == 0)
        return false;
    int64_t exp = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        n->int_syntax = false;
        i++;
        bool exp_neg = false;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            exp_neg = s[i++] == '-';
        size_t start = i;
        while (i < len && is_digit(s[i])) {
            if (exp < 100000000)
                exp = exp * 10 + (s[i] - '0');
            i++;
        }
        if (i == start)
            return false;
        if (exp_neg)
            exp = -exp;
    }
    if (i != len)
        return false;

    /* Significant digits over int_part then frac, skipping leading zeros and holding
     * zeros back until a non-zero digit shows they are not trailing. */
    int pending_zeros = 0;
    for (size_t k = 0; k < n->int_len + frac_len; k++) {
        char c = k < n->int_len ? n->int_part[k] : frac[k - n->int_len];
        if (c == '0') {
            if (n->ndigits)
                pending_zeros++;
            continue;
        }
        if (!n->ndigits)
            n->first = k < n->int_len ? n->int_part + k : frac + (k - n->int_len);
        for (int z = 0; z < pending_zeros; z++, n->ndigits++)
            if (n->ndigits < 19)
                n->mant *= 10;
        pending_zeros = 0;
        if (n->ndigits < 19)
            n->mant = n->mant * 10 + (uint64_t)(c - '0');
        n->ndigits++;
        /* the scale counts the digits after the last significant one */
        n->scale = (int64_t)(n->int_len + frac_len - k - 1);
    }
    /* scale so far = digits after the last significant digit (in int or frac); the
     * value is D x 10^(those - frac_len + exp) */
    n->scale = n->scale - (int64_t)frac_len + exp;
    return true;
}

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

/* strtod on len bytes, in the C locale whatever the process's locale is. */
static double strtod_n(const char *s, size_t len)
{
    char small[128];
    char *buf = len < sizeof small ? small : malloc(len + 1);
    if (!buf)
        return NAN; /* refused by every caller: the value stays text */
    memcpy(buf, s, len);
    buf[len] = '\0';
    pthread_once(&c_locale_once, c_locale_init);
    double d = c_locale ? strtod_l(buf, NULL, c_locale) : strtod(buf, NULL);
    if (buf != small)
        free(buf);
    return d;
}

/* Writes the significant digits of the scan into out (ndigits <= cap). */
static void sig_digits(const num_scan *n, char *out)
{
    int k = 0;
    for (const char *p = n->first; k < n->ndigits; p++)
        if (is_digit(*p))
            out[k++] = *p;
}

/* The digits D and scale of |d| printed with `prec` significant digits. */
static void print_digits(double d, int prec, char *digits, int *ndigits, int64_t *scale)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.*e", prec - 1, fabs(d));
    int k = 0;
    const char *p = buf;
    for (; *p && *p != 'e'; p++)
        if (is_digit(*p))
            digits[k++] = *p;
    long exp = *p == 'e' ? strtol(p + 1, NULL, 10) : 0;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    *ndigits = k;
    /* buf is d.ddd x 10^exp = DIGITS x 10^(exp - (k - 1)) */
    *scale = exp - (k - 1);
}

/* strtod of "D e scale" for a digit string (at most 20 digits). */
static double digits_value(const char *digits, int ndigits, int64_t scale)
{
    char buf[48];
    memcpy(buf, digits, (size_t)ndigits);
    size_t len = (size_t)ndigits;
    buf[len++] = 'e';
    if (scale < 0) {
        buf[len++] = '-';
        scale = -scale;
    }
    char rev[24];
    int k = 0;
    do {
        rev[k++] = (char)('0' + scale % 10);
        scale /= 10;
    } while (scale && k < 20);
    while (k)
        buf[len++] = rev[--k];
    return strtod_n(buf, len);
}

/* digits + 1 in the last place (may gain a digit: 999 -> 1000). */
static int digits_plus_one(const char *digits, int n, char *out)
{
    memcpy(out, digits, (size_t)n);
    int k = n - 1;
    while (k >= 0 && out[k] == '9')
        out[k--] = '0';
    if (k >= 0) {
        out[k]++;
        return n;
    }
    memmove(out + 1, out, (size_t)n);
    out[0] = '1';
    return n + 1;
}

/* ------------------------------------------------------------------ exact checks */

/* Exact comparisons of a binary value a x 2^ea with a decimal b x 10^sb in 128-bit
 * integers, for the magnitudes of everyday data (|sb| <= 27 and shifts that fit). */
__extension__ typedef unsigned __int128 u128; /* GCC and Clang */

static const uint64_t pow5[28] = {
    1ULL, 5ULL, 25ULL, 125ULL, 625ULL, 3125ULL, 15625ULL, 78125ULL, 390625ULL,
    1953125ULL, 9765625ULL, 48828125ULL, 244140625ULL, 1220703125ULL, 6103515625ULL,
    30517578125ULL, 152587890625ULL, 762939453125ULL, 3814697265625ULL,
    19073486328125ULL, 95367431640625ULL, 476837158203125ULL, 2384185791015625ULL,
    11920928955078125ULL, 59604644775390625ULL, 298023223876953125ULL,
    1490116119384765625ULL, 7450580596923828125ULL,
};

static int bit_length(u128 v)
{
    uint64_t hi = (uint64_t)(v >> 64), lo = (uint64_t)v;
    if (hi)
        return 128 - __builtin_clzll(hi);
    return lo ? 64 - __builtin_clzll(lo) : 0;
}

/* *cmp = sign(a x 2^ea - b x 10^sb); false when the numbers do not fit. */
static bool compare_exact(int *cmp, uint64_t a, int ea, uint64_t b, int64_t sb)
{
    if (sb > 27 || sb < -27)
        return false;
    u128 l = a, r = b;
    if (sb >= 0)
        r *= pow5[sb];
    else
        l *= pow5[-sb];
    int64_t k = (int64_t)ea - sb; /* 10^sb = 5^sb x 2^sb */
    if (k >= 0) {
        if (bit_length(l) + k > 127)
            return false;
        l <<= k;
    } else {
        if (bit_length(r) - k > 127)
            return false;
        r <<= -k;
    }
    *cmp = l < r ? -1 : l > r;
    return true;
}

static uint64_t digits_u64(const char *digits, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(digits[i] - '0');
    return v;
}

/* Whether the decimal q x 10^sq reads back as the double m x 2^e (round half to
 * even); -1 when the numbers do not fit the exact comparison. */
static int reads_back_exact(uint64_t m, int e, bool lower_half_narrow, uint64_t q, int64_t sq)
{
    int lo, hi;
    /* the interval of decimals reading as d: [d - ulp_below/2, d + ulp/2] */
    bool ok = lower_half_narrow ? compare_exact(&lo, 4 * m - 1, e - 2, q, sq)
                                : compare_exact(&lo, 2 * m - 1, e - 1, q, sq);
    if (!ok || !compare_exact(&hi, 2 * m + 1, e - 1, q, sq))
        return -1;
    bool even = (m & 1) == 0;
    return (lo < 0 || (lo == 0 && even)) && (hi > 0 || (hi == 0 && even));
}

/* The double as m x 2^e (m < 2^53) and whether the interval below it is half as wide
 * (a power of two above the smallest exponent). */
static void double_parts(double ad, uint64_t *m, int *e, bool *narrow)
{
    uint64_t bits;
    memcpy(&bits, &ad, sizeof bits);
    int exp_field = (int)(bits >> 52);
    *m = bits & ((1ULL << 52) - 1);
    *e = -1074;
    if (exp_field) {
        *m |= 1ULL << 52;
        *e = exp_field - 1075;
    }
    *narrow = *m == (1ULL << 52) && exp_field > 1;
}

/* The double nearest q x 10^sq, without strtod: an extended-precision estimate (q and
 * 10^|sq| <= 10^27 are exact in long double), checked and if need be corrected by one
 * step with the exact comparison. False when out of its range. */
static bool decimal_to_double(double *out, uint64_t q, int64_t sq)
{
    if (sq > 27 || sq < -27 || q == 0)
        return false;
    long double p = ldexpl((long double)pow5[sq < 0 ? -sq : sq], (int)(sq < 0 ? -sq : sq));
    long double x = sq >= 0 ? (long double)q * p : (long double)q / p;
    double c = (double)x;
    for (int step = 0; step < 3; step++) {
        double cand = step == 0 ? c : step == 1 ? nextafter(c, 0.0) : nextafter(c, INFINITY);
        uint64_t m;
        int e;
        bool narrow;
        double_parts(cand, &m, &e, &narrow);
        int r = reads_back_exact(m, e, narrow, q, sq);
        if (r < 0)
            return false;
        if (r) {
            *out = cand;
            return true;
        }
    }
    return false;
}

/* True when the shortest decimal that reads back as strtod(text) has the value written:
 *  (a) no other n-digit decimal nearer the double reads back as it (shortest-form
 *      printers choose the nearest of several; printf's rounding may lie outside the
 *      interval at a power of two, where Python's repr and Ryu keep the text), and
 *  (b) no decimal one digit shorter reads back as the double: if any shorter one did,
 *      one of the two (n-1)-digit decimals around the text would, since the decimals
 *      reading back as one double form an interval.
 * Checked in exact integer arithmetic where the numbers fit, else with printf and
 * strtod. */
static bool float_round_trips(const num_scan *n, const char *s, size_t len, double *out)
{
    if (n->ndigits > 17)
        return false; /* the shortest form of a double never has more than 17 digits */
    char want[24];
    sig_digits(n, want);
    uint64_t dig = digits_u64(want, n->ndigits);
    double ad;
    if (!decimal_to_double(&ad, dig, n->scale))
        ad = fabs(strtod_n(s, len));
    if (!isfinite(ad) || ad == 0)
        return false; /* overflow, or underflow of non-zero digits */
    double d = n->neg ? -ad : ad;
    uint64_t m;
    int e;
    bool narrow;
    double_parts(ad, &m, &e, &narrow);

    /* (a): (2D - 1)/2 x 10^s < d < (2D + 1)/2 x 10^s; a tie goes to printf */
    int below, above;
    if (compare_exact(&below, 2 * m, e, 2 * dig - 1, n->scale) &&
        compare_exact(&above, 2 * m, e, 2 * dig + 1, n->scale) && below != 0 && above != 0) {
        if (below < 0 || above > 0) {
            /* the neighbour on the double's side is nearer: the shortest form is that
             * one if it reads back as the double too (at a power of two it may not) */
            char near[24];
            int nearn = n->ndigits;
            if (below < 0) {
                memcpy(near, want, (size_t)nearn);
                near[nearn - 1]--; /* the last significant digit is never 0 */
            } else {
                nearn = digits_plus_one(want, n->ndigits, near);
            }
            int r = reads_back_exact(m, e, narrow, digits_u64(near, nearn), n->scale);
            if (r < 0)
                r = digits_value(near, nearn, n->scale) == ad;
            if (r)
                return false;
        }
    } else {
        char got[32];
        int gotn;
        int64_t got_scale;
        print_digits(d, n->ndigits, got, &gotn, &got_scale);
        bool same = gotn == n->ndigits && got_scale == n->scale &&
                    memcmp(want, got, (size_t)gotn) == 0;
        if (!same) {
            /* printf's rounding is nearer; the text still wins when that rounding is a
             * neighbour that does not read back as the double */
            char lower[24], upper[24];
            memcpy(lower, want, (size_t)n->ndigits);
            lower[n->ndigits - 1]--;
            int uppern = digits_plus_one(want, n->ndigits, upper);
            bool neighbour = got_scale == n->scale &&
                             ((gotn == n->ndigits && memcmp(got, lower, (size_t)gotn) == 0) ||
                              (gotn == uppern && memcmp(got, upper, (size_t)gotn) == 0));
            if (!neighbour || digits_value(got, gotn, got_scale) == ad)
                return false;
        }
    }
    /* (b) */
    if (n->ndigits > 1) {
        int k = n->ndigits - 1;
        char up[24];
        int upn = digits_plus_one(want, k, up);
        uint64_t down_v = digits_u64(want, k), up_v = digits_u64(up, upn);
        int rd = reads_back_exact(m, e, narrow, down_v, n->scale + 1);
        int ru = rd < 0 ? -1 : reads_back_exact(m, e, narrow, up_v, n->scale + 1);
        if (rd < 0 || ru < 0) {
            rd = digits_value(want, k, n->scale + 1) == ad;
            ru = digits_value(up, upn, n->scale + 1) == ad;
        }
        if (rd || ru)
            return false;
    }
    *out = d;
    return true;
}

/* An integer too long for int64: a float64 only when the double is that integer. */
static bool big_int_exact(const num_scan *n, const char *s, size_t len, double *out)
{
    if (n->int_len > 330)
        return false; /* past DBL_MAX */
    double d = strtod_n(s, len);
    if (!isfinite(d))
        return false;
    char buf[400];
    int plen = snprintf(buf, sizeof buf, "%.0f", fabs(d));
    if (plen < 0 || (size_t)plen != n->int_len || memcmp(buf, n->int_part, n->int_len) != 0)
        return false;
    *out = d;
    return true;
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int infinity_sign(const char *s, size_t len)
{
    int sign = 1;
    if (len && s[0] == '-') {
        sign = -1;
        s++;
        len--;
    }
    static const char *const spellings[] = {"inf", "Inf", "INF", "Infinity"};
    for (size_t k = 0; k < sizeof spellings / sizeof *spellings; k++)
        if (strlen(spellings[k]) == len && memcmp(spellings[k], s, len) == 0)
            return sign;
    return 0;
}

/* The int64 value of an integer scan; false on overflow or "-0". */
static bool scan_int64(const num_scan *n, int64_t *out)
{
    if (!n->int_syntax || n->int_len > 19)
        return false;
    uint64_t v = 0;
    for (size_t k = 0; k < n->int_len; k++)
        v = v * 10 + (uint64_t)(n->int_part[k] - '0');
    /* 19 digits cannot wrap uint64 (< 10^19 < 2^64) */
    if (n->neg) {
        if (v == 0 || v > (uint64_t)INT64_MAX + 1)
            return false;
        *out = (int64_t)(0 - v);
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

/* Decides float64-ness of a scanned number and computes its value. */
static bool scan_float64(const num_scan *n, const char *s, size_t len, double *out)
{
    if (n->ndigits == 0) {
        *out = n->neg ? -0.0 : 0.0;
        return true;
    }
    if (n->int_syntax) {
        int64_t v;
        if (scan_int64(n, &v)) {
            uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
            double d = (double)mag;
            if (mag > (1ULL << 53) && (d >= 18446744073709551616.0 || (uint64_t)d != mag))
                return false; /* the double would round the integer */
            *out = v < 0 ? -d : d;
            return true;
        }
        return big_int_exact(n, s, len, out);
    }
    int64_t top = n->scale + n->ndigits; /* value in [10^(top-1), 10^top) */
    if (n->ndigits <= 15 && n->scale >= -22 && n->scale <= 22) {
        double m = (double)n->mant;
        double d = n->scale >= 0 ? m * pow10_exact[n->scale] : m / pow10_exact[-n->scale];
        *out = n->neg ? -d : d;
        return true;
    }
    if (n->ndigits <= 15 && top >= -300 && top <= 300) {
        /* DBL_DIG: always round-trips in the normal range */
        double ad;
        *out = decimal_to_double(&ad, n->mant, n->scale) ? (n->neg ? -ad : ad) : strtod_n(s, len);
        return true;
    }
    return float_round_trips(n, s, len, out);
}

unsigned io_number_kinds(const char *s, size_t len, int64_t *as_int)
{
    if (len == 0)
        return 0;
    char c = s[0];
    if (!is_digit(c) && c != '-' && c != '.' && c != 'i' && c != 'I')
        return 0;
    if (infinity_sign(s, len))
        return IO_NUM_FLOAT64;
    num_scan n;
    if (!scan_number(&n, s, len))
        return 0;
    unsigned kinds = 0;
    int64_t v;
    double d;
    if (scan_int64(&n, &v)) {
        kinds |= IO_NUM_INT64;
        if (as_int)
            *as_int = v;
    }
    if (scan_float64(&n, s, len, &d))
        kinds |= IO_NUM_FLOAT64;
    return kinds;
}

bool io_parse_int64(int64_t *out, const char *s, size_t len)
{
    /* The common case without the general scan: canonical digits, no overflow. */
    size_t i = 0;
    bool neg = false;
    if (len && s[0] == '-') {
        neg = true;
        i = 1;
    }
    size_t ndig = len - i;
    if (ndig == 0 || ndig > 19 || (ndig > 1 && s[i] == '0'))
        return false;
    uint64_t v = 0;
    for (; i < len; i++) {
        unsigned digit = (unsigned)(unsigned char)s[i] - '0';
        if (digit > 9)
            return false;
        v = v * 10 + digit;
    }
    /* 19 digits cannot wrap uint64 (< 10^19 < 2^64) */
    if (neg) {
        if (v == 0 || v > (uint64_t)INT64_MAX + 1)
            return false;
        *out = (int64_t)(0 - v);
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

bool io_parse_float64(double *out, const char *s, size_t len)
{
    int inf = infinity_sign(s, len);
    if (inf) {
        *out = inf * INFINITY;
        return true;
    }
    num_scan n;
    return scan_number(&n, s, len) && scan_float64(&n, s, len, out);
}
