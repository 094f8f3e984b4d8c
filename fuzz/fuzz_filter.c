/* The `mdm list --filter` expression parser, and matching a parsed filter against a
 * registry record. */
#include "fuzz_common.h"

#include "dataset/catalog_query.h"
#include "dataset/dataset_info.h"

static const char record[] =
    "name: sales\n"
    "display_name: Sales\n"
    "description: monthly sales\n"
    "database:\n"
    "  backend: sqlite\n"
    "tables:\n"
    "  train: train\n"
    "problem_type: regression\n"
    "target_column: amount\n"
    "id_columns: [id]\n"
    "tags: [retail, monthly]\n"
    "registered_at: '2024-01-02T03:04:05'\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    static dataset_info *info;
    if (!info && dataset_info_from_yaml(&info, record, sizeof record - 1, "fuzz", NULL) != 0)
        abort();
    char *text = fuzz_string(data, size);
    catalog_filter *filter = NULL;
    if (catalog_filter_parse(&filter, text, INT64_C(1700000000000000)) == 0) {
        (void)catalog_filter_match(filter, info);
        catalog_filter_free(filter);
    }
    catalog_sort sort;
    catalog_sort_parse(&sort, text);
    free(text);
    return 0;
}
