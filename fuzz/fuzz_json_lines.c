/* The JSON records-array splitter (arrays rewritten one record a line for DuckDB) and
 * the nesting check that runs before any JSON reaches DuckDB. */
#include "fuzz_common.h"

#include "io/json_depth.h"
#include "io/json_lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    const char *src = fuzz_file("in.json", data, size);
    char dst[128];
    snprintf(dst, sizeof dst, "%s/out.jsonl", fuzz_dir);
    uint64_t records = 0;
    (void)io_json_array_to_lines(src, dst, &records);
    (void)io_json_check_depth(src, IO_JSON_MAX_DEPTH);

    /* Fed in two pieces at every split point of a short input, the scan agrees with
     * itself fed whole. */
    json_depth_scan whole = JSON_DEPTH_SCAN_INIT;
    bool ok = json_depth_feed(&whole, data, size, 8);
    if (size <= 256) {
        for (size_t cut = 0; cut <= size; cut++) {
            json_depth_scan s = JSON_DEPTH_SCAN_INIT;
            bool parts = json_depth_feed(&s, data, cut, 8) && json_depth_feed(&s, data + cut, size - cut, 8);
            if (parts != ok || (ok && (s.depth != whole.depth || s.line != whole.line)))
                abort();
        }
    }
    return 0;
}
