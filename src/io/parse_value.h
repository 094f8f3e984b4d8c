/* Exact parsing of text fields into typed values (numbers in parse_number.c, the rest
 * in parse_value.c). Type inference and conversion share
 * these functions, so that a value inference accepted for a type is converted to the
 * same value later, and a value that would lose anything is refused by both.
 *
 * Lossless forms accepted (anything else is text):
 *   int64    -?(0|[1-9][0-9]*) within int64; no '+', no leading zeros ("007" is a code,
 *            not 7), no "-0" (the sign would be lost; "-0" is a float64 -0.0).
 *   float64  -?digits[.digits][(e|E)[+-]digits], also ".5" and "5."; the integer part
 *            has no leading zeros; no '+' before the mantissa, no spaces, no thousands
 *            separators, no hex. The value must survive the trip text -> double -> text:
 *            the shortest decimal that reads back as the same double (what Python's
 *            repr or Ryu print) must have the value written, so "0.1", "1.0" (the value 1), "1e22" and "-0" pass while
 *            "0.10000000000000001" (17 digits that read back as 0.1), "1e400" and
 *            "1e-400" do not. An integer written without '.' or exponent passes when the
 *            double holds it exactly ("18446744073709551616" = 2^64 passes,
 *            "12345678901234567890" does not). inf, -inf, Inf, -Inf, INF, -INF,
 *            Infinity and -Infinity are the infinities. NaN spellings are missing-value
 *            markers, not numbers (see io_missing_marker).
 *   bool     true/false, True/False, TRUE/FALSE. Not 0/1 (integers), not yes/no, t/f.
 *   date     the formats of io_date_format; years 0001-9999; real calendar days
 *            (29 February only in leap years).
 *   timestamp a date of those formats, then ' ' or 'T', then HH:MM[:SS[.fraction]] and
 *            an optional 'Z'. Digits of the fraction past microseconds must be zeros;
 *            other time zones are refused (the offset would be lost).
 */
#ifndef MDM_IO_PARSE_VALUE_H
#define MDM_IO_PARSE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bits of io_number_kinds. */
enum {
    IO_NUM_INT64 = 1,   /* a canonical int64 */
    IO_NUM_FLOAT64 = 2, /* a float64 without loss */
};

/* Which numeric types hold the text without loss (0: not a number). With
 * IO_NUM_INT64, *as_int (when not NULL) gets the value. */
unsigned io_number_kinds(const char *s, size_t len, int64_t *as_int);

bool io_parse_int64(int64_t *out, const char *s, size_t len);
/* Fails for text that io_number_kinds does not mark IO_NUM_FLOAT64. */
bool io_parse_float64(double *out, const char *s, size_t len);
bool io_parse_bool(bool *out, const char *s, size_t len);

/* Date layouts. D and M may have one or two digits except in ISO; Y has four. */
typedef enum io_date_format {
    IO_DATE_ISO = 0,   /* YYYY-MM-DD */
    IO_DATE_YMD_SLASH, /* YYYY/MM/DD */
    IO_DATE_DMY_DOT,   /* DD.MM.YYYY */
    IO_DATE_DMY_SLASH, /* DD/MM/YYYY */
    IO_DATE_MDY_SLASH, /* MM/DD/YYYY */
    IO_DATE_DMY_DASH,  /* DD-MM-YYYY */
    IO_DATE_MDY_DASH,  /* MM-DD-YYYY */
    IO_DATE_NFORMATS
} io_date_format;

#define IO_DATE_ALL_FORMATS ((1u << IO_DATE_NFORMATS) - 1)

/* "YYYY-MM-DD", "DD/MM/YYYY", ... */
const char *io_date_format_name(io_date_format format);

/* The formats among `allowed` (a bit mask of 1 << io_date_format) under which the text
 * is a valid date or timestamp; *has_time tells whether a time part follows the date.
 * 0 when none. "01/02/2020" matches both DD/MM/YYYY and MM/DD/YYYY. */
unsigned io_datetime_match(const char *s, size_t len, unsigned allowed, bool *has_time);

/* A date alone (no time part) in `format`: days since 1970-01-01. */
bool io_parse_date(int32_t *out, const char *s, size_t len, io_date_format format);
/* A date with or without a time part in `format`: microseconds since the epoch. */
bool io_parse_timestamp(int64_t *out, const char *s, size_t len, io_date_format format);

/* Missing-value markers: "NA", "N/A", "n/a", "NULL", "null", "None", "NaN", "nan",
 * "-NaN", "-nan", "#N/A", "<NA>" (pandas' usual ones) and the empty string. They mean
 * NULL in a column whose other values all have a non-text type (a number column with
 * "NA" stays a number column); in a text column they are kept as the text written.
 * Returns the marker's index (0 for the empty string) or -1. */
int io_missing_marker(const char *s, size_t len);
#define IO_MISSING_MARKERS 13

#endif
