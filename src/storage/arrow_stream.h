/* An Arrow C stream (https://arrow.apache.org/docs/format/CStreamInterface.html) over
 * batches that a producer pushes into a sink: a table read, a query.
 *
 * Reads push and a stream is pulled, so the producer runs on a thread of the stream's
 * own and hands its batches over as Arrow record batches through a queue of two: memory
 * stays bounded whatever the result's size, and the producer waits while the consumer
 * does not read.
 *
 *   static int produce(void *ctx, mdm_batch_sink sink, void *sink_ctx)
 *   {   ... check a connection out; mdm_conn_read(conn, &req, sink, sink_ctx);
 *       check it in; return rc;   }
 *   arrow_stream_start(&stream, produce, ctx, free_ctx);
 *
 * arrow_stream_start returns once the producer has delivered its first batch (whose
 * columns are the stream's schema) or has ended: a producer that fails before its first
 * batch fails the start with its error, and no stream is made. A later failure reaches
 * the consumer through get_next and get_last_error. Releasing the stream early stops the
 * producer: its sink returns ARROW_STREAM_RELEASED from then on (a query can also poll
 * arrow_stream_released to interrupt its engine), and release returns once the producer
 * has ended (its connection back in its pool) and `free_ctx(ctx)` has run.
 *
 * Types: int64 "l", float64 "g", bool "b", text "u", date "tdD", timestamp "tsu:",
 * every column nullable. Batches without rows make no array: an empty result is the
 * schema and then the end. A column's type must not change from one batch to the next
 * (the stream fails, naming it). */
#ifndef MDM_STORAGE_ARROW_STREAM_H
#define MDM_STORAGE_ARROW_STREAM_H

#include "mdm/mdm.h"
#include "storage/arrow_build.h"

/* What the stream's sink returns once the stream has been released. */
#define ARROW_STREAM_RELEASED 0x41525257 /* "ARRW" */

typedef int (*arrow_producer)(void *ctx, mdm_batch_sink sink, void *sink_ctx);

int arrow_stream_start(struct ArrowArrayStream *out, arrow_producer produce, void *ctx,
                       void (*free_ctx)(void *ctx));

/* True once the consumer has released the stream; `sink_ctx` is the producer's. Safe
 * from any thread (a query's `canceled` callback). */
bool arrow_stream_released(void *sink_ctx);

#endif
