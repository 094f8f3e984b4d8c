/* Name validation: dataset names (normalized as the Python mdm does) and table/column
 * identifiers. A normalized name is a valid name again, unchanged, and holds neither
 * '/' nor '.'. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    char *text = fuzz_string(data, size);
    (void)mdm_ident_check(text);
    char out[512];
    if (mdm_dataset_name_normalize(out, sizeof out, text) == 0) {
        if (strchr(out, '/') || strchr(out, '.') || !out[0])
            abort();
        char again[512];
        if (mdm_dataset_name_normalize(again, sizeof again, out) != 0 || strcmp(again, out) != 0)
            abort();
    }
    char small[8];
    (void)mdm_dataset_name_normalize(small, sizeof small, text);
    free(text);
    return 0;
}
