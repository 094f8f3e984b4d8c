/* The public record helpers (mdm/dataset.h): the records are the catalog's own structs
 * (dataset_info.h), so these only forward. */
#include <stdlib.h>
#include <string.h>

#include "dataset/api.h"

void mdm_dataset_info_free(mdm_dataset_info *info) { dataset_info_free(info); }

void mdm_dataset_infos_free(mdm_dataset_info **infos, size_t count)
{
    for (size_t i = 0; infos && i < count; i++)
        dataset_info_free(infos[i]);
    free(infos);
}

int mdm_dataset_info_clone(mdm_dataset_info **out, const mdm_dataset_info *info)
{
    return dataset_info_clone(out, info);
}

int mdm_dataset_info_to_json(char **out, const mdm_dataset_info *info)
{
    size_t len = 0;
    return dataset_info_to_json(out, &len, info);
}

int64_t mdm_dataset_info_rows(const mdm_dataset_info *info) { return dataset_info_rows(info); }

int64_t mdm_dataset_info_memory(const mdm_dataset_info *info) { return dataset_info_size(info); }

const mdm_dataset_table_columns *mdm_dataset_info_columns(const mdm_dataset_info *info,
                                                          const char *table)
{
    return dataset_info_columns(info, table);
}

const char *mdm_strmap_get(const mdm_strmap *map, const char *key)
{
    return dataset_strmap_get(map, key);
}

int mdm_time_format(char *buf, size_t size, int64_t micros)
{
    return dataset_time_format(buf, size, micros);
}

void mdm_strlist_free(mdm_strlist *list)
{
    if (list)
        dataset_strlist_clear(list);
}

void mdm_paths_free(char **paths, size_t npaths)
{
    for (size_t i = 0; paths && i < npaths; i++)
        free(paths[i]);
    free(paths);
}

int mdm_cancel_new(mdm_cancel **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    atomic_init(&(*out)->requested, false);
    return 0;
}

void mdm_cancel_free(mdm_cancel *cancel) { free(cancel); }

void mdm_cancel_request(mdm_cancel *cancel)
{
    if (cancel)
        atomic_store(&cancel->requested, true);
}

bool mdm_cancel_requested(const mdm_cancel *cancel)
{
    return cancel && atomic_load(&((mdm_cancel *)cancel)->requested);
}

int api_cancel_check(const mdm_cancel *cancel, const char *what)
{
    if (!mdm_cancel_requested(cancel))
        return 0;
    return mdm_error_set(MDM_ECANCELED, "%s cancelled", what);
}
