/* Feeding batches to a DuckDB statement as an Arrow stream: the statement (an INSERT
 * into a table, a COPY to a Parquet file) reads a view over the stream and runs on a
 * thread of the feed's own, while the caller pushes batches; DuckDB's threads take
 * them in turn, so the statement runs in parallel and keeps the batches' order (each
 * array of the stream gets a batch index, which INSERT and COPY preserve).
 *
 *   mdm_duckdb_feed *feed;
 *   rc = mdm_duckdb_feed_start(&feed, con, fields, n,
 *                              "INSERT INTO t SELECT * FROM {batches}", "loading t");
 *   while (...) rc = mdm_duckdb_feed_push(feed, batch);   (copied: the batch is free)
 *   rc = mdm_duckdb_feed_finish(feed);     or  mdm_duckdb_feed_abandon(feed);
 *
 * The connection belongs to the feed's thread until finish or abandon returns. A
 * statement that fails ends early: the next push (or finish) returns its error, as
 * "<what>: <DuckDB's message>". Abandoning fails the stream, so the statement ends
 * with an error: the caller rolls back what it did. Every batch's columns must be
 * `fields`' types (the caller checks). */
#ifndef MDM_STORAGE_DUCKDB_FEED_H
#define MDM_STORAGE_DUCKDB_FEED_H

#include <duckdb.h>

#include "mdm/mdm.h"

typedef struct mdm_duckdb_feed mdm_duckdb_feed;

/* `sql` reads the batches as the relation {batches} (replaced by the view's name). */
int mdm_duckdb_feed_start(mdm_duckdb_feed **out, duckdb_connection con, const mdm_field *fields,
                          size_t nfields, const char *sql, const char *what);
int mdm_duckdb_feed_push(mdm_duckdb_feed *feed, const mdm_batch *batch);
/* Ends the stream, waits for the statement and returns its outcome; frees the feed. */
int mdm_duckdb_feed_finish(mdm_duckdb_feed *feed);
/* Fails the stream, waits for the statement to end; frees the feed (NULL: nothing). */
void mdm_duckdb_feed_abandon(mdm_duckdb_feed *feed);

#endif
