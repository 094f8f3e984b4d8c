/* mdm_dataset_verify (mdm/dataset.h): each table read again through the engine into
 * the digests of checksum.h, compared with those registration recorded in
 * metadata.checksums; tables registered before digests get theirs recorded. */
#include <stdlib.h>
#include <string.h>

#include "dataset/api.h"
#include "dataset/checksum.h"
#include "dataset/name_lock.h"

/* The digests of a table's rows as the engine returns them. */
typedef struct digest_sink {
    checksum *cs;
} digest_sink;

static int digest_batch(const mdm_batch *batch, void *ctx)
{
    digest_sink *d = ctx;
    if (!d->cs) {
        size_t n = mdm_batch_ncols(batch);
        mdm_field *fields = malloc((n ? n : 1) * sizeof *fields);
        if (!fields)
            return mdm_error_set(MDM_ENOMEM, "out of memory");
        for (size_t c = 0; c < n; c++)
            fields[c] = *mdm_batch_field(batch, c);
        int rc = checksum_new(&d->cs, fields, n);
        free(fields);
        if (rc)
            return rc;
    }
    return checksum_add_batch(d->cs, batch);
}

static int compute(json_t **out, mdm_dataset *ds, const char *kind)
{
    *out = NULL;
    digest_sink d = {0};
    mdm_table_read req = {.table = kind, .limit = -1};
    int rc = mdm_dataset_read(ds, &req, digest_batch, &d);
    if (!rc && !d.cs)
        rc = mdm_error_set(MDM_EINVALID, "Table '%s': the read returned no schema", kind);
    if (!rc && !(*out = checksum_to_json(d.cs)))
        rc = MDM_ENOMEM;
    checksum_free(d.cs);
    return rc;
}

static const char *hex_of(const json_t *doc, const char *key)
{
    return json_string_value(json_object_get(doc, key));
}

/* What differs between the recorded digests and those computed now. */
static int compare(mdm_verify_table *t, const json_t *was, const json_t *now)
{
    t->expected_rows = (int64_t)json_integer_value(json_object_get(was, "rows"));
    t->actual_rows = (int64_t)json_integer_value(json_object_get(now, "rows"));
    const char *a = hex_of(was, "table"), *b = hex_of(now, "table");
    t->table_differs = !a || !b || strcmp(a, b) != 0;
    const json_t *wc = json_object_get(was, "columns"), *nc = json_object_get(now, "columns");
    const char *col;
    json_t *v;
    int rc = 0;
    json_object_foreach((json_t *)nc, col, v) {
        const char *old = json_string_value(json_object_get(wc, col));
        if (!rc && (!old || strcmp(old, json_string_value(v)) != 0))
            rc = dataset_strlist_add(&t->columns, col);
    }
    json_object_foreach((json_t *)wc, col, v) {
        if (!rc && !json_object_get(nc, col))
            rc = dataset_strlist_add(&t->columns, col);
    }
    t->ok = !t->table_differs && t->columns.count == 0 && t->expected_rows == t->actual_rows;
    return rc;
}

/* Records `fresh` ({kind: digests}) in the registry entry, under the dataset's lock. */
static int record(mdm_dataset *ds, json_t *fresh)
{
    const mdm_config *cfg = ds->cat->cfg;
    name_lock *lock = NULL;
    dataset_info *info = NULL;
    int rc = name_lock_acquire(&lock, cfg, ds->place.name, "verified",
                               (uint64_t)mdm_config_int(cfg, "database.connection_timeout") * 1000);
    if (!rc)
        rc = catalog_load_at(&info, &ds->place);
    if (!rc && !info->metadata_extra && !(info->metadata_extra = json_object()))
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    json_t *all = rc ? NULL : json_object_get(info->metadata_extra, "checksums");
    if (!rc && !json_is_object(all) &&
        (!(all = json_object()) || json_object_set_new(info->metadata_extra, "checksums", all)))
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    if (!rc && json_object_update(all, fresh))
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    if (!rc)
        rc = catalog_commit_at(&ds->place, info);
    dataset_info_free(info);
    name_lock_release(lock);
    return rc;
}

static int verify_table(mdm_verify_table *t, mdm_dataset *ds, const char *kind, json_t *fresh)
{
    if (!(t->table = strdup(kind)))
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    json_t *now = NULL;
    int rc = compute(&now, ds, kind);
    if (rc)
        return rc;
    const json_t *all = json_object_get(ds->info->metadata_extra, "checksums");
    const json_t *was = json_object_get(all, kind);
    const char *algorithm = hex_of(was, "algorithm");
    if (!json_is_object(was) || !algorithm || strcmp(algorithm, CHECKSUM_ALGORITHM) != 0) {
        t->recorded = t->ok = true;
        t->expected_rows = t->actual_rows = (int64_t)json_integer_value(json_object_get(now, "rows"));
        if (json_object_set_new(fresh, kind, now))
            return mdm_error_set(MDM_ENOMEM, "out of memory");
        return 0;
    }
    rc = compare(t, was, now);
    json_decref(now);
    return rc;
}

int mdm_dataset_verify(mdm_verify_result **out, mdm_dataset *ds, const char *table)
{
    *out = NULL;
    const char *only = NULL;
    int rc = table ? mdm_dataset_table_name(&only, ds, table) : 0;
    if (rc)
        return rc;
    const dataset_strmap *tables = &ds->info->tables;
    mdm_verify_result *res = calloc(1, sizeof *res);
    json_t *fresh = json_object();
    if (!res || !fresh || !(res->tables = calloc(tables->count ? tables->count : 1, sizeof *res->tables))) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
        goto cleanup;
    }
    res->ok = true;
    for (size_t i = 0; !rc && i < tables->count; i++) {
        if (only && strcmp(tables->values[i], only) != 0)
            continue;
        rc = verify_table(&res->tables[res->count++], ds, tables->keys[i], fresh);
        res->ok = res->ok && res->tables[res->count - 1].ok;
    }
    if (!rc && json_object_size(fresh))
        rc = record(ds, fresh);
cleanup:
    json_decref(fresh);
    if (rc)
        mdm_verify_result_free(res);
    else
        *out = res;
    return rc;
}

void mdm_verify_result_free(mdm_verify_result *result)
{
    if (!result)
        return;
    for (size_t i = 0; i < result->count; i++) {
        free(result->tables[i].table);
        dataset_strlist_clear(&result->tables[i].columns);
    }
    free(result->tables);
    free(result);
}
