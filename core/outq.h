/* A connection's outbound byte queue: a list of chunks, appended to by
 * any thread (under the connection's lock) and drained by its owner with
 * writev. Memory is held only while bytes wait: an idle connection keeps
 * no chunk. */
#ifndef NATSD_OUTQ_H
#define NATSD_OUTQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct outq_chunk;

/* Bytes shared by the queues of several connections: the payload of a
 * large message fanned out, queued by reference instead of copied into
 * each queue. Reference counted; any thread may drop a reference. */
struct outq_blob;

struct outq {
	struct outq_chunk *head, *tail;
	size_t pending; /* bytes queued and not yet written */
};

void outq_init(struct outq *q);
void outq_fini(struct outq *q); /* drops what is queued */

/* Appends the iovec's bytes as one run. 0 or NATSD_ENOMEM. */
int outq_appendv(struct outq *q, const struct iovec *iov, int iovcnt);
/* The same, when the caller has summed the iovecs' lengths (need). */
int outq_appendv_len(struct outq *q, const struct iovec *iov, int iovcnt,
		     size_t need);
int outq_append(struct outq *q, const void *buf, size_t len);

/* A blob holding a copy of len bytes of data and "\r\n", with one
 * reference; NULL when out of memory. */
struct outq_blob *outq_blob_new(const void *data, size_t len);
/* Its bytes (data and CRLF) and their count. */
const char *outq_blob_data(const struct outq_blob *b);
size_t outq_blob_len(const struct outq_blob *b);
void outq_blob_put(struct outq_blob *b);

/* Appends the iovec's bytes (copied), then b's bytes by reference, as
 * one run; takes a reference to b. 0 or NATSD_ENOMEM (nothing queued). */
int outq_appendv_blob(struct outq *q, const struct iovec *iov, int iovcnt,
		      struct outq_blob *b);

/* Fills at most max iovecs with queued bytes, oldest first; returns the
 * count. */
int outq_peek(const struct outq *q, struct iovec *iov, int max);

/* Drops n written bytes from the front; frees emptied chunks. */
void outq_consume(struct outq *q, size_t n);

#endif
