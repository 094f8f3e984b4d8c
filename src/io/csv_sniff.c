/* CSV dialect sniffing (see csv_sniff.h).
 *
 * Quote: '"' unless the sample has no field starting with '"' and at least one field
 * written as '...' (single quotes at both ends, next to delimiters or line ends).
 *
 * Delimiter: each of , TAB ; | splits the sample's records (quotes respected, empty
 * lines ignored, the last record dropped when the sample may have cut it). A candidate
 * counts only if its most common field count is at least 2; the winner is the one whose
 * most common count covers the largest share of records, ties going to the earlier
 * candidate in that order. When none splits anything, the file has one column and the
 * delimiter is ','.
 *
 * Header (when not given), over the first 50 records: each value is classified as
 * number, date/time (digits with - / : separators), bool (true/false/yes/no) or text.
 * A column whose values below the first row are all numbers, dates or bools votes
 * "header" when its first-row value is text and "no header" when it is of the same kind
 * as the values below. More header votes than no-header votes: a header; otherwise any
 * no-header vote: no header. With no such column (all text), the first row is a header
 * when its non-empty values are unique and not all empty (what pandas assumes). A file
 * of one record is a header without rows. */
#include "io/csv_sniff.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mdm/mdm.h"

enum {
    MAX_SNIFF_RECORDS = 200,
    MAX_HEADER_RECORDS = 50,
};

enum term { TERM_NONE, TERM_LF, TERM_CRLF, TERM_CR };

typedef struct cursor {
    const char *s;
    size_t n, p;
    bool whole;
    char delim, quote;
} cursor;

/* One field from c->p: its content (without quotes) in *start and *len. Returns 1 when a
 * delimiter ended it, 0 when it ended the record (*term says how), -1 when the sample
 * ended before the field did (a cut record, unless the sample is the whole file). */
static int next_field(cursor *c, const char **start, size_t *len, enum term *term)
{
    const char *s = c->s;
    size_t p = c->p, n = c->n;
    *term = TERM_NONE;
    if (p < n && c->quote != 0 && s[p] == c->quote) {
        size_t q = p + 1;
        for (;;) {
            while (q < n && s[q] != c->quote)
                q++;
            if (q >= n)
                return -1; /* unterminated within the sample */
            if (q + 1 < n && s[q + 1] == c->quote) {
                q += 2;
                continue;
            }
            break;
        }
        *start = s + p + 1;
        *len = q - p - 1;
        p = q + 1;
        /* Anything after the closing quote up to the delimiter is junk the reader will
         * reject; skip it here so that counting goes on. */
        while (p < n && s[p] != c->delim && s[p] != '\n' && s[p] != '\r')
            p++;
    } else {
        size_t q = p;
        while (q < n && s[q] != c->delim && s[q] != '\n' && s[q] != '\r')
            q++;
        *start = s + p;
        *len = q - p;
        p = q;
    }
    if (p >= n) {
        c->p = p;
        return c->whole ? 0 : -1;
    }
    if (s[p] == c->delim) {
        c->p = p + 1;
        return 1;
    }
    if (s[p] == '\r') {
        if (p + 1 >= n && !c->whole)
            return -1;
        if (p + 1 < n && s[p + 1] == '\n') {
            *term = TERM_CRLF;
            c->p = p + 2;
        } else {
            *term = TERM_CR;
            c->p = p + 1;
        }
        return 0;
    }
    *term = TERM_LF;
    c->p = p + 1;
    return 0;
}

enum kind { K_EMPTY = 0, K_NUMBER = 1, K_DATE = 2, K_BOOL = 4, K_TEXT = 8 };

static bool is_number(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < n && isdigit((unsigned char)s[i]))
        i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && isdigit((unsigned char)s[i]))
            i++, digits++;
    }
    if (digits == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exp_digits = 0;
        while (i < n && isdigit((unsigned char)s[i]))
            i++, exp_digits++;
        if (exp_digits == 0)
            return false;
    }
    return i == n;
}

/* Digits with date or time separators: 2024-01-31, 31/01/2024, 2024-01-31 12:00:00. */
static bool is_date_like(const char *s, size_t n)
{
    size_t digits = 0, seps = 0;
    if (n < 5 || !isdigit((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (isdigit(ch))
            digits++;
        else if (ch == '-' || ch == '/' || ch == ':' || ch == '.' || ch == ' ' || ch == 'T' ||
                 ch == 'Z' || ch == '+')
            seps++;
        else
            return false;
    }
    return digits >= 4 && seps >= 2;
}

static bool word_is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

static enum kind classify(const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0)
        return K_EMPTY;
    if (is_number(s, n))
        return K_NUMBER;
    if (is_date_like(s, n))
        return K_DATE;
    if (word_is(s, n, "true") || word_is(s, n, "false") || word_is(s, n, "yes") ||
        word_is(s, n, "no"))
        return K_BOOL;
    return K_TEXT;
}

static char sniff_quote(const char *s, size_t n)
{
    size_t double_open = 0, single_pairs = 0;
    bool at_start = true;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool sep = ch == ',' || ch == '\t' || ch == ';' || ch == '|' || ch == '\n' || ch == '\r';
        if (at_start && ch == '"')
            double_open++;
        if (at_start && ch == '\'') {
            size_t j = i + 1;
            while (j < n && s[j] != '\'' && s[j] != '\n' && s[j] != '\r')
                j++;
            if (j < n && s[j] == '\'' &&
                (j + 1 == n || strchr(",\t;|\r\n", s[j + 1]) != NULL)) {
                single_pairs++;
                i = j;
                at_start = false;
                continue;
            }
        }
        at_start = sep;
    }
    return double_open == 0 && single_pairs > 0 ? '\'' : '"';
}

/* Field counts of the sample's first records under one delimiter. Returns the number of
 * complete, non-empty records; *mode and *mode_share describe their field counts. */
static size_t count_fields(const char *s, size_t n, bool whole, char delim, char quote,
                           size_t *mode, double *mode_share)
{
    size_t counts[MAX_SNIFF_RECORDS];
    size_t nrec = 0;
    cursor c = {s, n, 0, whole, delim, quote};
    while (nrec < MAX_SNIFF_RECORDS && c.p < n) {
        size_t nf = 0, content = 0;
        int rc;
        do {
            const char *start;
            size_t len;
            enum term term;
            rc = next_field(&c, &start, &len, &term);
            nf++;
            content += len;
        } while (rc == 1);
        if (rc < 0)
            break;
        if (nf == 1 && content == 0)
            continue; /* an empty line */
        counts[nrec++] = nf;
    }
    *mode = 0;
    *mode_share = 0;
    for (size_t i = 0; i < nrec; i++) {
        size_t same = 0;
        for (size_t j = 0; j < nrec; j++)
            same += counts[j] == counts[i];
        double share = (double)same / (double)nrec;
        if (share > *mode_share || (share == *mode_share && counts[i] > *mode)) {
            *mode_share = share;
            *mode = counts[i];
        }
    }
    return nrec;
}

static char sniff_delimiter(const char *s, size_t n, bool whole, char quote)
{
    static const char candidates[] = {',', '\t', ';', '|'};
    char best = ',';
    double best_share = -1;
    for (size_t i = 0; i < sizeof candidates; i++) {
        size_t mode;
        double share;
        size_t nrec = count_fields(s, n, whole, candidates[i], quote, &mode, &share);
        if (nrec == 0 || mode < 2)
            continue;
        if (share > best_share) {
            best_share = share;
            best = candidates[i];
        }
    }
    return best;
}

static const char *sniff_line_ending(const char *s, size_t n, bool whole, char delim, char quote)
{
    size_t seen[4] = {0};
    cursor c = {s, n, 0, whole, delim, quote};
    for (size_t nrec = 0; nrec < MAX_SNIFF_RECORDS && c.p < n; nrec++) {
        int rc;
        enum term term = TERM_NONE;
        do {
            const char *start;
            size_t len;
            rc = next_field(&c, &start, &len, &term);
        } while (rc == 1);
        if (rc < 0)
            break;
        seen[term]++;
    }
    int kinds = (seen[TERM_LF] > 0) + (seen[TERM_CRLF] > 0) + (seen[TERM_CR] > 0);
    if (kinds > 1)
        return "mixed";
    if (seen[TERM_CRLF])
        return "CRLF";
    if (seen[TERM_CR])
        return "CR";
    if (seen[TERM_LF])
        return "LF";
    return "none";
}

typedef struct text_span {
    const char *s;
    size_t len;
} text_span;

static int compare_spans(const void *a, const void *b)
{
    const text_span *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* The non-empty values are unique, and there is at least one. Sorted, since wide files have
 * thousands of names. */
static int values_unique(bool *unique, const char **starts, const size_t *lens, size_t nf)
{
    text_span *spans = malloc((nf ? nf : 1) * sizeof *spans);
    if (spans == NULL)
        return mdm_error_set(MDM_ENOMEM, "out of memory sniffing the CSV header");
    size_t n = 0;
    for (size_t i = 0; i < nf; i++)
        if (lens[i] > 0)
            spans[n++] = (text_span){starts[i], lens[i]};
    qsort(spans, n, sizeof *spans, compare_spans);
    *unique = n > 0;
    for (size_t i = 1; i < n && *unique; i++)
        *unique = compare_spans(&spans[i - 1], &spans[i]) != 0;
    free(spans);
    return 0;
}

static int sniff_header(bool *has_header, const char *s, size_t n, bool whole, char delim,
                        char quote)
{
    int rc = 0;
    cursor c = {s, n, 0, whole, delim, quote};
    size_t ncols = 0, cap = 16, nrec = 0;
    const char **first = malloc(cap * sizeof *first);
    size_t *first_len = malloc(cap * sizeof *first_len);
    unsigned *below = NULL; /* per column: the kinds seen under the first row */
    if (first == NULL || first_len == NULL) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory sniffing the CSV header");
        goto cleanup;
    }
    *has_header = true;
    while (nrec < MAX_HEADER_RECORDS && c.p < n) {
        size_t col = 0, content = 0;
        int frc;
        do {
            const char *start;
            size_t len;
            enum term term;
            frc = next_field(&c, &start, &len, &term);
            if (frc < 0)
                break;
            content += len;
            if (nrec == 0) {
                if (col == cap) {
                    cap *= 2;
                    const char **nf = realloc(first, cap * sizeof *first);
                    if (nf != NULL)
                        first = nf;
                    size_t *nl = realloc(first_len, cap * sizeof *first_len);
                    if (nl != NULL)
                        first_len = nl;
                    if (nf == NULL || nl == NULL) {
                        rc = mdm_error_set(MDM_ENOMEM, "out of memory sniffing the CSV header");
                        goto cleanup;
                    }
                }
                first[col] = start;
                first_len[col] = len;
            } else if (col < ncols) {
                below[col] |= classify(start, len);
            }
            col++;
        } while (frc == 1);
        if (frc < 0)
            break;
        if (col == 1 && content == 0)
            continue; /* an empty line */
        if (nrec == 0) {
            ncols = col;
            below = calloc(ncols, sizeof *below);
            if (below == NULL) {
                rc = mdm_error_set(MDM_ENOMEM, "out of memory sniffing the CSV header");
                goto cleanup;
            }
        }
        nrec++;
    }
    if (nrec <= 1)
        goto cleanup; /* one record: a header without rows */
    size_t header_votes = 0, data_votes = 0;
    for (size_t i = 0; i < ncols; i++) {
        unsigned kinds = below[i];
        if (kinds == K_EMPTY || (kinds & K_TEXT))
            continue;
        enum kind top = classify(first[i], first_len[i]);
        if (top == K_TEXT)
            header_votes++;
        else if (top != K_EMPTY && (top & kinds))
            data_votes++;
    }
    if (header_votes > data_votes)
        *has_header = true;
    else if (data_votes > 0)
        *has_header = false;
    else
        rc = values_unique(has_header, first, first_len, ncols);
cleanup:
    free(first);
    free(first_len);
    free(below);
    return rc;
}

int csv_sniff(csv_sniff_result *out, const char *sample, size_t n, bool whole, char delimiter,
              char quote, bool no_quoting, int header)
{
    if (no_quoting)
        out->quote = 0; /* the cursor then never opens a quoted field */
    else
        out->quote = quote != 0 ? quote : sniff_quote(sample, n);
    out->delimiter = delimiter != 0 ? delimiter : sniff_delimiter(sample, n, whole, out->quote);
    out->line_ending = sniff_line_ending(sample, n, whole, out->delimiter, out->quote);
    if (header >= 0) {
        out->has_header = header > 0;
        return 0;
    }
    return sniff_header(&out->has_header, sample, n, whole, out->delimiter, out->quote);
}
