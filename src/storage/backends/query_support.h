/* What the backends' read-only query slots share.
 *
 * A watchdog, for a query whose engine can only be interrupted from another
 * thread (DuckDB's duckdb_interrupt, PostgreSQL's PQcancel): a thread of its own calls
 * `interrupt` once, when the deadline passes or when `canceled` (polled every few
 * milliseconds) says so.
 *
 *   query_watch *w;
 *   query_watch_start(&w, deadline_ns, req->canceled, req->cancel_ctx, fire, con);
 *   ... run the query ...
 *   int fired = query_watch_stop(w);   0, MDM_ETIMEOUT or MDM_ECANCELED
 *
 * After query_watch_stop returns, `interrupt` is never called again. */
#ifndef MDM_STORAGE_BACKENDS_QUERY_SUPPORT_H
#define MDM_STORAGE_BACKENDS_QUERY_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct query_watch query_watch;

/* Nothing to watch (no deadline, no canceled): *out is NULL and no thread starts.
 * `deadline_ns` is on mdm_now_ns()'s clock, 0 for none. */
int query_watch_start(query_watch **out, uint64_t deadline_ns, bool (*canceled)(void *),
                      void *cancel_ctx, void (*interrupt)(void *), void *interrupt_ctx);
/* Stops and frees the watch (NULL: 0); what fired, if anything. */
int query_watch_stop(query_watch *w);

/* The deadline of a time limit from now (0: none). */
uint64_t query_deadline(uint64_t timeout_ms);

/* Sets the error of an interrupted query: MDM_ETIMEOUT "query exceeded its time limit
 * of N ms" or MDM_ECANCELED "query cancelled". Returns the code. */
int query_interrupted(int fired, uint64_t timeout_ms);

/* The first two keywords of a statement, upper-cased, skipping whitespace, comments
 * and opening parentheses ("" when there is none). */
void query_leading_keywords(const char *sql, char *first, char *second, size_t size);

/* Length of `sql` without what follows its last token (spaces, comments, semicolons),
 * and whether a second statement follows a semicolon. Quoted strings and identifiers
 * ('', "", PostgreSQL's $tag$ ... $tag$ and E'' escapes) count as tokens. */
size_t query_statement_length(const char *sql, bool *more);

#endif
