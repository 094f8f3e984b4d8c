/* mdm_dataset_register (mdm/dataset.h): the registration pipeline (register.c) behind
 * the public API. The pipeline takes the name's lock itself. */
#include "dataset/api.h"
#include "dataset/register.h"

int mdm_dataset_register(mdm_dataset_info **out, mdm_strlist *notes, mdm_catalog *cat,
                         const mdm_register_options *opt)
{
    if (notes)
        *notes = (mdm_strlist){0};
    return dataset_register(out, notes, cat->cfg, opt);
}
