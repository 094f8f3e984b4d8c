/* Guessing a CSV file's dialect (delimiter, quote, header, line ending) from a sample of
 * its first bytes, already decoded to UTF-8. The heuristics are described in
 * csv_sniff.c. */
#ifndef MDM_IO_CSV_SNIFF_H
#define MDM_IO_CSV_SNIFF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct csv_sniff_result {
    char delimiter;
    char quote;
    bool has_header;
    const char *line_ending; /* "LF", "CRLF", "CR", "mixed", "none" */
} csv_sniff_result;

/* `whole`: the sample is the whole file (its last record is complete even without a
 * line end). delimiter, quote: 0 to sniff; no_quoting: quotes are ordinary characters
 * (out->quote is then 0); header: -1 to sniff, else fixed. Returns 0 or MDM_ENOMEM. */
int csv_sniff(csv_sniff_result *out, const char *sample, size_t n, bool whole, char delimiter,
              char quote, bool no_quoting, int header);

#endif
