/* The dialect sniffer over a sample, with forced delimiter/quote/header from the first
 * byte. */
#include "fuzz_common.h"

#include "io/csv_sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    uint8_t flags = size ? data[0] : 0;
    if (size) {
        data++;
        size--;
    }
    static const char delimiters[] = {0, ',', ';', '\t', '|'};
    static const char quotes[] = {0, '"', '\''};
    /* An exact-size copy: the sniffer must not read past n. */
    char *sample = malloc(size ? size : 1);
    if (!sample)
        abort();
    memcpy(sample, data, size);
    csv_sniff_result r;
    int rc = csv_sniff(&r, sample, size, flags & 1, delimiters[(flags >> 1) % 5],
                       quotes[(flags >> 4) % 3], (flags & 0x40) != 0,
                       (flags & 0x80) ? -1 : (flags >> 3) & 1);
    if (rc == 0 && !r.line_ending)
        abort();
    free(sample);
    return 0;
}
