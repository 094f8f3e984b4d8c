/* Exact parsing of booleans, dates, timestamps and missing-value markers (see
 * parse_value.h; numbers are in parse_number.c). */
#include "io/parse_value.h"

#include "mdm/mdm.h"

#include <string.h>

static inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool io_parse_bool(bool *out, const char *s, size_t len)
{
    if (len == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "True", 4) == 0 ||
                     memcmp(s, "TRUE", 4) == 0)) {
        *out = true;
        return true;
    }
    if (len == 5 && (memcmp(s, "false", 5) == 0 || memcmp(s, "False", 5) == 0 ||
                     memcmp(s, "FALSE", 5) == 0)) {
        *out = false;
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------ dates */

static const char *const date_format_names[IO_DATE_NFORMATS] = {
    "YYYY-MM-DD", "YYYY/MM/DD", "DD.MM.YYYY", "DD/MM/YYYY",
    "MM/DD/YYYY", "DD-MM-YYYY", "MM-DD-YYYY",
};

const char *io_date_format_name(io_date_format format)
{
    return (unsigned)format < IO_DATE_NFORMATS ? date_format_names[format] : "?";
}

/* Reads min..max digits at s[*i]. */
static bool read_digits(const char *s, size_t len, size_t *i, int min, int max, int *out)
{
    int v = 0, k = 0;
    while (*i < len && k < max && is_digit(s[*i])) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    *out = v;
    return k >= min;
}

static bool leap_year(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static bool valid_date(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return false;
    return d <= mdays[m - 1] + (m == 2 && leap_year(y));
}

/* The time after a date at s[i]: nothing, or [ T]HH:MM[:SS[.fraction]][Z]. */
static bool parse_time(const char *s, size_t len, size_t i, int64_t *tod, bool *has_time)
{
    *tod = 0;
    *has_time = i < len;
    if (i == len)
        return true;
    if (s[i] != ' ' && s[i] != 'T')
        return false;
    i++;
    int hh, mi, ss = 0;
    if (!read_digits(s, len, &i, 2, 2, &hh) || i >= len || s[i++] != ':' ||
        !read_digits(s, len, &i, 2, 2, &mi) || hh > 23 || mi > 59)
        return false;
    int64_t frac = 0;
    if (i < len && s[i] == ':') {
        i++;
        if (!read_digits(s, len, &i, 2, 2, &ss) || ss > 59)
            return false;
        if (i < len && s[i] == '.') {
            i++;
            size_t start = i;
            int64_t scale = 100000;
            for (; i < len && is_digit(s[i]); i++) {
                if (scale > 0) {
                    frac += (s[i] - '0') * scale;
                    scale /= 10;
                } else if (s[i] != '0') {
                    return false; /* below a microsecond: would be lost */
                }
            }
            if (i == start)
                return false;
        }
    }
    if (i < len && s[i] == 'Z')
        i++;
    if (i != len)
        return false;
    *tod = ((int64_t)hh * 3600 + mi * 60 + ss) * 1000000 + frac;
    return true;
}

/* Parses a date (and time) in one format. */
static bool parse_in_format(const char *s, size_t len, io_date_format f, int32_t *days,
                            int64_t *tod, bool *has_time)
{
    size_t i = 0;
    int y, m, d, a, b;
    switch (f) {
    case IO_DATE_ISO:
        if (len < 10 || !read_digits(s, len, &i, 4, 4, &y) || s[i++] != '-' ||
            !read_digits(s, len, &i, 2, 2, &m) || s[i++] != '-' ||
            !read_digits(s, len, &i, 2, 2, &d))
            return false;
        break;
    case IO_DATE_YMD_SLASH:
        if (!read_digits(s, len, &i, 4, 4, &y) || i >= len || s[i++] != '/' ||
            !read_digits(s, len, &i, 1, 2, &m) || i >= len || s[i++] != '/' ||
            !read_digits(s, len, &i, 1, 2, &d))
            return false;
        break;
    default: {
        char sep = f == IO_DATE_DMY_DOT ? '.' : (f == IO_DATE_DMY_SLASH || f == IO_DATE_MDY_SLASH) ? '/' : '-';
        if (!read_digits(s, len, &i, 1, 2, &a) || i >= len || s[i++] != sep ||
            !read_digits(s, len, &i, 1, 2, &b) || i >= len || s[i++] != sep ||
            !read_digits(s, len, &i, 4, 4, &y))
            return false;
        bool month_first = f == IO_DATE_MDY_SLASH || f == IO_DATE_MDY_DASH;
        m = month_first ? a : b;
        d = month_first ? b : a;
        break;
    }
    }
    if (i < len && is_digit(s[i]))
        return false;
    if (!valid_date(y, m, d) || !parse_time(s, len, i, tod, has_time))
        return false;
    *days = mdm_date_from_ymd(y, m, d);
    return true;
}

/* The formats whose shape fits the text (at most two: D/M and M/D orders). */
static unsigned shape_formats(const char *s, size_t len)
{
    if (len < 8 || !is_digit(s[0]))
        return 0;
    if (len >= 10 && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]))
        return s[4] == '-' ? 1u << IO_DATE_ISO : s[4] == '/' ? 1u << IO_DATE_YMD_SLASH : 0;
    char sep = is_digit(s[1]) ? s[2] : s[1];
    switch (sep) {
    case '.': return 1u << IO_DATE_DMY_DOT;
    case '/': return (1u << IO_DATE_DMY_SLASH) | (1u << IO_DATE_MDY_SLASH);
    case '-': return (1u << IO_DATE_DMY_DASH) | (1u << IO_DATE_MDY_DASH);
    default: return 0;
    }
}

unsigned io_datetime_match(const char *s, size_t len, unsigned allowed, bool *has_time)
{
    unsigned shapes = shape_formats(s, len) & allowed, matched = 0;
    *has_time = false;
    for (unsigned f = 0; shapes; f++, shapes >>= 1) {
        int32_t days;
        int64_t tod;
        bool t;
        if ((shapes & 1) && parse_in_format(s, len, (io_date_format)f, &days, &tod, &t)) {
            matched |= 1u << f;
            *has_time = t;
        }
    }
    return matched;
}

bool io_parse_date(int32_t *out, const char *s, size_t len, io_date_format format)
{
    int64_t tod;
    bool has_time;
    return parse_in_format(s, len, format, out, &tod, &has_time) && !has_time;
}

bool io_parse_timestamp(int64_t *out, const char *s, size_t len, io_date_format format)
{
    int32_t days;
    int64_t tod;
    bool has_time;
    if (!parse_in_format(s, len, format, &days, &tod, &has_time))
        return false;
    *out = (int64_t)days * 86400000000LL + tod;
    return true;
}

/* ------------------------------------------------------------------ missing values */

int io_missing_marker(const char *s, size_t len)
{
    static const char *const markers[IO_MISSING_MARKERS] = {
        "", "NA", "N/A", "n/a", "NULL", "null", "None", "NaN", "nan", "-NaN", "-nan", "#N/A",
        "<NA>",
    };
    if (len > 4)
        return -1;
    for (int k = 0; k < IO_MISSING_MARKERS; k++)
        if (strlen(markers[k]) == len && memcmp(markers[k], s, len) == 0)
            return k;
    return -1;
}
