/* Serialised forms of dataset statistics: JSON (the statistics.json document, keys laid
 * out as the Python mdm writes them where the meaning is the same), YAML (the same
 * document) and CSV (one row per column).
 *
 * Numbers never lose precision: integers stay integers, doubles carry 17 significant
 * digits. NaN and ±Inf, which JSON cannot hold, are the strings "NaN", "Infinity" and
 * "-Infinity" (in YAML too, so both forms hold the same document). Dates are
 * "YYYY-MM-DD", timestamps "YYYY-MM-DDTHH:MM:SS[.ffffff]". A top value of which only a
 * prefix was kept ends in "…" and carries its full length in bytes. */
#ifndef MDM_DATASET_STATS_EXPORT_H
#define MDM_DATASET_STATS_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/strbuf.h"
#include "dataset/stats.h"

typedef struct stats_table_entry {
    const char *kind;             /* key under "tables": "train", "test", "data", ... */
    const char *table;            /* the table's name in the database */
    const stats_result *result;
} stats_table_entry;

typedef struct stats_document {
    const char *dataset_name;
    const char *computed_at;      /* ISO 8601; NULL: now, UTC */
    bool full;                    /* "mode": "full" or "basic" */
    const stats_table_entry *tables;
    size_t ntables;
} stats_document;

/* The whole document as a JSON tree; caller releases with json_decref. */
int stats_export_json(json_t **out, const stats_document *doc);
/* One table's object (what goes under "tables"), e.g. for the _statistics table. */
int stats_export_table_json(json_t **out, const char *table, const stats_result *r);

/* Text forms; caller frees with free(). JSON is indented by 2 as the Python mdm does. */
int stats_export_json_text(char **out, const stats_document *doc);
int stats_export_yaml_text(char **out, const stats_document *doc);
int stats_export_csv_text(char **out, const stats_document *doc);

/* Writes the document to `path` in the form its extension names (.yaml/.yml, .csv,
 * anything else JSON), through a temporary file renamed into place. */
int stats_export_file(const char *path, const stats_document *doc);
/* The same from a document already made (metadata/statistics.json as read back): YAML
 * or JSON; CSV is MDM_ENOTSUP (it is written from results). */
int stats_export_tree_file(const char *path, const json_t *root);
/* A JSON document as YAML text; caller frees. */
int stats_yaml_from_json(char **out, const json_t *root);

/* Appends a value's text form, as in CSV cells and value_counts keys. */
void stats_scalar_append(strbuf *sb, const stats_scalar *v);
/* Length of the valid UTF-8 character at s (1..4), or 0 when the bytes are not one. */
size_t stats_utf8_sequence(const unsigned char *s, size_t len);
/* "YYYY-MM-DDTHH:MM:SS[.ffffff]" into buf (>= 40 bytes). */
void stats_timestamp_iso(char *buf, size_t size, int64_t micros);

#endif
