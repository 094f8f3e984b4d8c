/* mdm_dataset_register (mdm/dataset.h): the registration pipeline (register.c) behind
 * the public API. The pipeline takes the name's lock itself. */
#include "dataset/api.h"
#include "dataset/history.h"
#include "dataset/register.h"

int mdm_dataset_register(mdm_dataset_info **out, mdm_strlist *notes, mdm_catalog *cat,
                         const mdm_register_options *opt)
{
    int64_t t0 = history_start();
    if (notes)
        *notes = (mdm_strlist){0};
    int rc = dataset_register(out, notes, cat->cfg, opt);
    history_note(cat->cfg, "dataset_register", opt->name, t0, rc ? -1 : mdm_dataset_info_rows(*out), rc ? -1 : mdm_dataset_info_memory(*out), rc);
    return rc;
}
