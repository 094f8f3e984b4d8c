/* The metadata a registration writes (register_internal.h): the _columns and
 * _statistics tables of the dataset's own database, the column summaries of the record,
 * and metadata/statistics.json. */
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "core/strbuf.h"
#include "dataset/catalog.h"
#include "dataset/register_internal.h"
#include "dataset/stats_export.h"
static void scalar_text(strbuf *sb, const stats_column *c, const stats_scalar *v)
{
    if (c->has_min_max)
        stats_scalar_append(sb, v);
}

/* The columns of _columns, by position. */
enum {
    COL_TABLE, COL_COLUMN, COL_DTYPE, COL_SEMANTIC, COL_NULLABLE, COL_UNIQUE, COL_MISSING,
    COL_MISSING_RATIO, COL_CARDINALITY, COL_MIN, COL_MAX, COL_MEAN, COL_STD, NCOLUMNS_FIELDS
};

/* The columns of _statistics, by position; the four lists of columns by semantic type
 * follow each other in SEMANTIC_KINDS order. */
enum {
    STAT_TABLE, STAT_ROWS, STAT_COLUMNS, STAT_MEMORY, STAT_MISSING, STAT_COMPLETENESS,
    STAT_KIND_LISTS, STAT_COMPUTED_AT = STAT_KIND_LISTS + 4, NSTATISTICS_FIELDS
};

static const char *const SEMANTIC_KINDS[] = {"numeric", "categorical", "datetime", "text"};
#define NSEMANTIC_KINDS (sizeof SEMANTIC_KINDS / sizeof *SEMANTIC_KINDS)

/* Rows of _columns a batch starts with room for. */
#define COLUMNS_BATCH_ROWS 64

/* Which of SEMANTIC_KINDS `semantic` is (text for anything else). */
static size_t kind_index(const char *semantic)
{
    for (size_t k = 0; k < NSEMANTIC_KINDS; k++)
        if (strcmp(semantic, SEMANTIC_KINDS[k]) == 0)
            return k;
    return NSEMANTIC_KINDS - 1;
}

static const mdm_field columns_fields[NCOLUMNS_FIELDS] = {
    {"table", MDM_TYPE_TEXT},         {"column", MDM_TYPE_TEXT},
    {"dtype", MDM_TYPE_TEXT},         {"semantic_type", MDM_TYPE_TEXT},
    {"nullable", MDM_TYPE_BOOL},      {"is_unique", MDM_TYPE_BOOL},
    {"missing_count", MDM_TYPE_INT64}, {"missing_ratio", MDM_TYPE_FLOAT64},
    {"cardinality", MDM_TYPE_INT64},  {"min", MDM_TYPE_TEXT},
    {"max", MDM_TYPE_TEXT},           {"mean", MDM_TYPE_FLOAT64},
    {"std", MDM_TYPE_FLOAT64},
};

static const mdm_field statistics_fields[NSTATISTICS_FIELDS] = {
    {"table", MDM_TYPE_TEXT},          {"row_count", MDM_TYPE_INT64},
    {"column_count", MDM_TYPE_INT64},  {"memory_bytes", MDM_TYPE_INT64},
    {"missing_cells", MDM_TYPE_INT64}, {"completeness", MDM_TYPE_FLOAT64},
    {"numeric_columns", MDM_TYPE_TEXT}, {"categorical_columns", MDM_TYPE_TEXT},
    {"datetime_columns", MDM_TYPE_TEXT}, {"text_columns", MDM_TYPE_TEXT},
    {"computed_at", MDM_TYPE_TIMESTAMP},
};

/* _columns and _statistics in the dataset's own database, and the column summaries of
 * the registry record. */
int register_write_metadata_tables(reg *r, int64_t now)
{
    mdm_conn *conn = NULL;
    mdm_batch *cols = NULL, *st = NULL;
    strbuf sb = STRBUF_INIT;
    int rc = mdm_store_checkout(staging_store(r->stage), &conn);
    if (!rc)
        rc = mdm_conn_table_create(conn, "_columns", columns_fields, NCOLUMNS_FIELDS);
    if (!rc)
        rc = mdm_conn_table_create(conn, "_statistics", statistics_fields, NSTATISTICS_FIELDS);
    if (!rc)
        rc = mdm_batch_new(&cols, columns_fields, NCOLUMNS_FIELDS, COLUMNS_BATCH_ROWS);
    if (!rc)
        rc = mdm_batch_new(&st, statistics_fields, NSTATISTICS_FIELDS, r->ntables);
    for (size_t t = 0; !rc && t < r->ntables; t++) {
        const loaded_table *lt = &r->tables[t];
        strbuf kinds[NSEMANTIC_KINDS] = {STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT};
        for (size_t c = 0; !rc && c < lt->nfields; c++) {
            const stats_column *sc = &lt->stats->columns[c];
            const char *semantic =
                register_semantic_of(r, lt->fields[c].name, lt->fields[c].type, sc);
            size_t k = kind_index(semantic);
            strbuf_appendf(&kinds[k], "%s%s", kinds[k].len ? "," : "", lt->fields[c].name);
            size_t row;
            if ((rc = mdm_batch_add_row(cols, &row)))
                break;
            const char *dtype = mdm_type_name(lt->fields[c].type);
            mdm_batch_set_text(cols, COL_TABLE, row, lt->kind, strlen(lt->kind));
            mdm_batch_set_text(cols, COL_COLUMN, row, lt->fields[c].name, strlen(lt->fields[c].name));
            mdm_batch_set_text(cols, COL_DTYPE, row, dtype, strlen(dtype));
            mdm_batch_set_text(cols, COL_SEMANTIC, row, semantic, strlen(semantic));
            bool analysed = !r->opt->skip_analysis; /* else the figures stay NULL */
            if (analysed) {
                mdm_batch_set_bool(cols, COL_NULLABLE, row, sc->null_count > 0);
                mdm_batch_set_bool(cols, COL_UNIQUE, row, sc->distinct_exact && sc->distinct == sc->count);
                mdm_batch_set_int64(cols, COL_MISSING, row, (int64_t)sc->null_count);
                mdm_batch_set_float64(cols, COL_MISSING_RATIO, row, sc->null_ratio);
                mdm_batch_set_int64(cols, COL_CARDINALITY, row, (int64_t)sc->distinct);
                if (sc->has_min_max) {
                    strbuf_reset(&sb);
                    scalar_text(&sb, sc, &sc->min);
                    mdm_batch_set_text(cols, COL_MIN, row, sb.data ? sb.data : "", sb.len);
                    strbuf_reset(&sb);
                    scalar_text(&sb, sc, &sc->max);
                    mdm_batch_set_text(cols, COL_MAX, row, sb.data ? sb.data : "", sb.len);
                }
                if (sc->has_mean)
                    mdm_batch_set_float64(cols, COL_MEAN, row, sc->mean);
                if (sc->has_std)
                    mdm_batch_set_float64(cols, COL_STD, row, sc->std);
            }
            if (!rc)
                rc = dataset_info_add_column(r->info, lt->kind, lt->fields[c].name, dtype, NULL);
            if (!rc) {
                /* The record's column summary; the accessor is const for readers only. */
                dataset_table_columns *tc =
                    (dataset_table_columns *)dataset_info_columns(r->info, lt->kind);
                tc->columns[tc->count - 1].extra =
                    analysed ? json_pack("{s:s, s:f, s:I, s:b}", "semantic_type", semantic,
                                         "null_ratio", sc->null_ratio, "distinct",
                                         (json_int_t)sc->distinct, "distinct_exact",
                                         sc->distinct_exact)
                             : json_pack("{s:s}", "semantic_type", semantic);
            }
            if (!rc && strcmp(semantic, "datetime") == 0 &&
                !dataset_strlist_contains(&r->info->datetime_columns, lt->fields[c].name, false))
                rc = dataset_strlist_add(&r->info->datetime_columns, lt->fields[c].name);
        }
        size_t row;
        if (!rc && !(rc = mdm_batch_add_row(st, &row))) {
            mdm_batch_set_text(st, STAT_TABLE, row, lt->kind, strlen(lt->kind));
            mdm_batch_set_int64(st, STAT_ROWS, row, (int64_t)lt->rows);
            mdm_batch_set_int64(st, STAT_COLUMNS, row, (int64_t)lt->nfields);
            if (!r->opt->skip_analysis) {
                mdm_batch_set_int64(st, STAT_MEMORY, row, (int64_t)lt->stats->memory_bytes);
                mdm_batch_set_int64(st, STAT_MISSING, row, (int64_t)lt->stats->missing_cells);
                mdm_batch_set_float64(st, STAT_COMPLETENESS, row, lt->stats->completeness);
            }
            for (size_t k = 0; k < NSEMANTIC_KINDS; k++)
                mdm_batch_set_text(st, STAT_KIND_LISTS + k, row, kinds[k].data ? kinds[k].data : "",
                                   kinds[k].len);
            mdm_batch_set_timestamp(st, STAT_COMPUTED_AT, row, now);
        }
        for (size_t k = 0; k < NSEMANTIC_KINDS; k++)
            strbuf_free(&kinds[k]);
    }
    if (!rc)
        rc = mdm_conn_append(conn, "_columns", cols);
    if (!rc)
        rc = mdm_conn_append(conn, "_statistics", st);
    if (!rc) {
        char *json = NULL;
        size_t len = 0;
        rc = dataset_info_to_json(&json, &len, r->info);
        if (!rc)
            rc = mdm_conn_metadata_set(conn, "dataset_info", json);
        free(json);
    }
    strbuf_free(&sb);
    mdm_batch_free(cols);
    mdm_batch_free(st);
    mdm_store_checkin(staging_store(r->stage), conn);
    return rc;
}

/* <datasets_path>/<name>/metadata/statistics.json: what `mdm dataset stats` reads. */
int register_write_statistics_file(reg *r, const char *computed_at)
{
    strbuf path = STRBUF_INIT;
    strbuf_appendf(&path, "%s/metadata", r->place.dir);
    int rc;
    /* On a fresh home a PostgreSQL dataset is the first to need <datasets_path>. */
    rc = strbuf_cstr(&path) ? mdm_mkdirs(path.data) : MDM_ENOMEM;
    stats_table_entry *entries = calloc(r->ntables + 1, sizeof *entries);
    if (!rc && !entries)
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < r->ntables; i++)
        entries[i] = (stats_table_entry){r->tables[i].kind, r->tables[i].kind, r->tables[i].stats};
    if (!rc) {
        strbuf_append(&path, "/statistics.json");
        stats_document doc = {.dataset_name = r->place.name, .computed_at = computed_at, .full = false,
                              .tables = entries, .ntables = r->ntables};
        rc = strbuf_cstr(&path) ? stats_export_file(path.data, &doc) : MDM_ENOMEM;
    }
    free(entries);
    strbuf_free(&path);
    return rc;
}
