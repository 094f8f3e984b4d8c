/* The mdm.yaml loader (libyaml, flattening, coercion of every kind), and, when the
 * file loads, the line editor of `mdm config set` over the same file. */
#include "fuzz_common.h"

#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    char home[96];
    snprintf(home, sizeof home, "%s/home", fuzz_dir);
    static int made;
    if (!made++ && mkdir(home, 0700) != 0)
        abort();
    fuzz_file("home/mdm.yaml", data, size);
    mdm_config *cfg = NULL;
    if (mdm_config_load(&cfg, home) == 0) {
        /* The editor either rewrites the file so that it reads back as asked, or
         * refuses; both are fine, a crash is not. */
        (void)mdm_config_save_key(cfg, "database.sqlite.journal_mode", "DELETE");
        (void)mdm_config_save_key(cfg, "performance.batch_size", "5000");
        mdm_config_free(cfg);
    }
    return 0;
}
