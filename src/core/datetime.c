/* Calendar arithmetic for dates (days since 1970-01-01) and timestamps (microseconds
 * since the epoch, UTC), after Howard Hinnant's days_from_civil. */
#include "mdm/mdm.h"

#include <stdio.h>
#include <string.h>

int32_t mdm_date_from_ymd(int year, int month, int day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

void mdm_date_to_ymd(int32_t days, int *year, int *month, int *day)
{
    int64_t z = (int64_t)days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(y + (m <= 2));
    *month = (int)m;
    *day = (int)d;
}

int mdm_date_format(char *buf, size_t size, int32_t days)
{
    int y, m, d;
    mdm_date_to_ymd(days, &y, &m, &d);
    return snprintf(buf, size, "%04d-%02d-%02d", y, m, d);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int mdm_timestamp_format(char *buf, size_t size, int64_t micros)
{
    const int64_t per_day = 86400LL * 1000000LL;
    int64_t days = floor_div(micros, per_day);
    int64_t rest = micros - days * per_day;
    int y, mo, d;
    mdm_date_to_ymd((int32_t)days, &y, &mo, &d);
    int64_t secs = rest / 1000000, frac = rest % 1000000;
    int n = snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, (int)(secs / 3600),
                     (int)(secs / 60 % 60), (int)(secs % 60));
    if (frac && n > 0 && (size_t)n < size)
        n += snprintf(buf + n, size - (size_t)n, ".%06d", (int)frac);
    return n;
}

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static bool valid_ymd(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1)
        return false;
    int max = mdays[m - 1] + (m == 2 && leap(y));
    return d <= max;
}

/* Parses "YYYY-MM-DD" at s; returns the number of bytes used or 0. */
static size_t parse_ymd(const char *s, size_t len, int32_t *out)
{
    int y, m, d;
    if (len < 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) || !digits(s + 5, 2, &m) ||
        !digits(s + 8, 2, &d) || !valid_ymd(y, m, d))
        return 0;
    *out = mdm_date_from_ymd(y, m, d);
    return 10;
}

int mdm_date_parse(int32_t *out, const char *s, size_t len)
{
    if (len != 10 || !parse_ymd(s, len, out))
        return MDM_EINVALID;
    return 0;
}

/* "YYYY-MM-DD[ T]HH:MM[:SS[.f{1,9}]][Z]"; a bare date is midnight. */
int mdm_timestamp_parse(int64_t *out, const char *s, size_t len)
{
    int32_t days;
    if (!parse_ymd(s, len, &days))
        return MDM_EINVALID;
    int64_t micros = 0;
    size_t i = 10;
    if (i < len) {
        int hh, mi, ss = 0;
        if ((s[i] != ' ' && s[i] != 'T') || len < i + 6 || !digits(s + i + 1, 2, &hh) ||
            s[i + 3] != ':' || !digits(s + i + 4, 2, &mi) || hh > 23 || mi > 59)
            return MDM_EINVALID;
        i += 6;
        if (i < len && s[i] == ':') {
            if (len < i + 3 || !digits(s + i + 1, 2, &ss) || ss > 59)
                return MDM_EINVALID;
            i += 3;
            if (i < len && s[i] == '.') {
                i++;
                size_t start = i;
                int64_t frac = 0, scale = 100000;
                while (i < len && s[i] >= '0' && s[i] <= '9') {
                    if (scale > 0) {
                        frac += (s[i] - '0') * scale;
                        scale /= 10;
                    } else if (s[i] != '0') {
                        return MDM_EINVALID; /* below a microsecond: would be lost */
                    }
                    i++;
                }
                if (i == start || i - start > 9)
                    return MDM_EINVALID;
                micros += frac;
            }
        }
        if (i < len && s[i] == 'Z')
            i++;
        if (i != len)
            return MDM_EINVALID;
        micros += ((int64_t)hh * 3600 + mi * 60 + ss) * 1000000LL;
    }
    *out = (int64_t)days * 86400LL * 1000000LL + micros;
    return 0;
}
