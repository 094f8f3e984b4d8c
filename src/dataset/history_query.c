/* Reading the operation history (mdm_history_list, mdm_history_summary) as the JSON
 * documents of GET /api/history and /api/history/summary. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/history_db.h"
#include "mdm/dataset.h"

static int dump(char **out, json_t *doc)
{
    *out = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    return *out ? 0 : mdm_error_set(MDM_ENOMEM, "out of memory");
}

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);
    return s ? json_string(s) : json_null();
}

static json_t *int_or_null(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL
               ? json_null()
               : json_integer(sqlite3_column_int64(st, col));
}

static json_t *iso_time(int64_t micros)
{
    char buf[64];
    mdm_time_format(buf, sizeof buf, micros);
    return json_string(buf);
}

static int fail(sqlite3 *db, const char *what)
{
    return mdm_error_set(MDM_EBACKEND, "history: %s: %s", what, sqlite3_errmsg(db));
}

/* Opens the history for reading; *db NULL (and 0) when there is none yet. */
static int open_existing(sqlite3 **db, const mdm_config *cfg)
{
    int rc = history_db_open(db, cfg, false);
    return rc == MDM_ENOTFOUND ? 0 : rc;
}

int mdm_history_list(char **json, const mdm_config *cfg, const mdm_history_filter *f)
{
    *json = NULL;
    mdm_history_filter none = {0};
    if (!f)
        f = &none;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    json_t *ops = json_array();
    int rc = ops ? open_existing(&db, cfg) : mdm_error_set(MDM_ENOMEM, "out of memory");
    if (rc || !db)
        goto cleanup;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, type, dataset, started_at, duration_ms, rows, bytes, "
                           "outcome, error FROM mdm_history "
                           "WHERE (?1 IS NULL OR dataset = lower(?1)) AND (?2 IS NULL OR type = ?2) "
                           "ORDER BY id DESC LIMIT ?3",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = fail(db, "prepare");
        goto cleanup;
    }
    if (f->dataset)
        sqlite3_bind_text(st, 1, f->dataset, -1, SQLITE_STATIC);
    if (f->type)
        sqlite3_bind_text(st, 2, f->type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, f->limit ? (int64_t)f->limit : -1);
    int e;
    while ((e = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *op = json_object();
        json_object_set_new(op, "id", json_integer(sqlite3_column_int64(st, 0)));
        json_object_set_new(op, "type", text_or_null(st, 1));
        json_object_set_new(op, "dataset", text_or_null(st, 2));
        json_object_set_new(op, "started_at", iso_time(sqlite3_column_int64(st, 3)));
        json_object_set_new(op, "duration_ms", json_real(sqlite3_column_double(st, 4)));
        json_object_set_new(op, "rows", int_or_null(st, 5));
        json_object_set_new(op, "bytes", int_or_null(st, 6));
        json_object_set_new(op, "outcome", text_or_null(st, 7));
        json_object_set_new(op, "error", text_or_null(st, 8));
        json_array_append_new(ops, op);
    }
    if (e != SQLITE_DONE)
        rc = fail(db, "read");
cleanup:
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (rc) {
        json_decref(ops);
        return rc;
    }
    return dump(json, json_pack("{s:o}", "operations", ops));
}

/* Adds `SELECT key, COUNT(*) ... GROUP BY key` rows to `obj`. */
static int count_by(json_t *obj, sqlite3 *db, const char *column, const char *dataset)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT %s, COUNT(*) FROM mdm_history WHERE (?1 IS NULL OR dataset = lower(?1)) "
             "GROUP BY 1 ORDER BY 2 DESC, 1",
             column);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail(db, "prepare");
    if (dataset)
        sqlite3_bind_text(st, 1, dataset, -1, SQLITE_STATIC);
    int e;
    while ((e = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        json_object_set_new(obj, k ? k : "", json_integer(sqlite3_column_int64(st, 1)));
    }
    int rc = e == SQLITE_DONE ? 0 : fail(db, "read");
    sqlite3_finalize(st);
    return rc;
}

static int totals(json_t *doc, sqlite3 *db, const char *dataset)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT COUNT(*), COUNT(DISTINCT dataset), MIN(started_at), "
                           "MAX(started_at), COALESCE(SUM(duration_ms), 0), "
                           "COALESCE(AVG(duration_ms), 0), COALESCE(SUM(rows), 0), "
                           "COALESCE(SUM(bytes), 0) FROM mdm_history "
                           "WHERE (?1 IS NULL OR dataset = lower(?1))",
                           -1, &st, NULL) != SQLITE_OK)
        return fail(db, "prepare");
    if (dataset)
        sqlite3_bind_text(st, 1, dataset, -1, SQLITE_STATIC);
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        json_object_set_new(doc, "total", json_integer(sqlite3_column_int64(st, 0)));
        json_object_set_new(doc, "datasets", json_integer(sqlite3_column_int64(st, 1)));
        json_object_set_new(doc, "first", sqlite3_column_type(st, 2) == SQLITE_NULL
                                              ? json_null()
                                              : iso_time(sqlite3_column_int64(st, 2)));
        json_object_set_new(doc, "last", sqlite3_column_type(st, 3) == SQLITE_NULL
                                             ? json_null()
                                             : iso_time(sqlite3_column_int64(st, 3)));
        json_object_set_new(doc, "total_duration_ms", json_real(sqlite3_column_double(st, 4)));
        json_object_set_new(doc, "mean_duration_ms", json_real(sqlite3_column_double(st, 5)));
        json_object_set_new(doc, "rows", json_integer(sqlite3_column_int64(st, 6)));
        json_object_set_new(doc, "bytes", json_integer(sqlite3_column_int64(st, 7)));
    } else {
        rc = fail(db, "read");
    }
    sqlite3_finalize(st);
    return rc;
}

int mdm_history_summary(char **json, const mdm_config *cfg, const char *dataset)
{
    *json = NULL;
    sqlite3 *db = NULL;
    json_t *doc = json_object(), *by_type = json_object(), *by_outcome = json_object();
    int rc = doc && by_type && by_outcome ? open_existing(&db, cfg)
                                          : mdm_error_set(MDM_ENOMEM, "out of memory");
    if (!rc && dataset)
        json_object_set_new(doc, "dataset", json_string(dataset));
    json_object_set_new(doc, "total", json_integer(0));
    json_object_set_new(doc, "by_type", by_type);
    json_object_set_new(doc, "by_outcome", by_outcome);
    json_object_set_new(doc, "datasets", json_integer(0));
    if (!rc && db)
        rc = count_by(by_type, db, "type", dataset);
    if (!rc && db)
        rc = count_by(by_outcome, db, "outcome", dataset);
    if (!rc && db)
        rc = totals(doc, db, dataset);
    sqlite3_close(db);
    if (rc) {
        json_decref(doc);
        return rc;
    }
    return dump(json, doc);
}
