/* The registry YAML reader (config/datasets/NAME.yaml). What it accepts is written
 * back as YAML and JSON; the YAML written reads back. */
#include "fuzz_common.h"

#include "dataset/dataset_info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    dataset_info *info = NULL;
    if (dataset_info_from_yaml(&info, (const char *)data, size, "fuzz.yaml", "fallback") != 0)
        return 0;
    char *yaml = NULL, *json = NULL;
    size_t len = 0;
    if (dataset_info_to_yaml(&yaml, &len, info) == 0) {
        dataset_info *again = NULL;
        if (dataset_info_from_yaml(&again, yaml, len, "round-trip", "fallback") != 0) {
            fprintf(stderr, "round trip failed: %s\n%s\n", mdm_error_last()->message, yaml);
            abort();
        }
        dataset_info_free(again);
    }
    if (dataset_info_to_json(&json, &len, info) == 0)
        free(json);
    free(yaml);
    dataset_info_free(info);
    return 0;
}
