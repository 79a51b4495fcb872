/* Outbound queue. Chunks are sized for the common small message and grow
 * for big payloads, so a message is never split across more chunks than
 * needed and writev sees few, large iovecs. A chunk may instead point at
 * a blob that other queues share: a large payload fanned out is copied
 * once, not once per subscriber. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <natsd/error.h>

#include "outq.h"

#define OUTQ_CHUNK 16384

struct outq_blob {
	_Atomic uint32_t refs;
	size_t len;
	char data[];
};

struct outq_chunk {
	struct outq_chunk *next;
	size_t off; /* first unwritten byte */
	size_t len; /* bytes filled */
	size_t cap; /* == len for a blob chunk: nothing is appended to it */
	struct outq_blob *blob; /* the bytes are blob's, or data's */
	char data[];
};

struct outq_blob *outq_blob_new(const void *data, size_t len)
{
	struct outq_blob *b = malloc(sizeof(*b) + len + 2);

	if (b == NULL)
		return NULL;
	atomic_init(&b->refs, 1);
	b->len = len + 2;
	memcpy(b->data, data, len);
	memcpy(b->data + len, "\r\n", 2);
	return b;
}

const char *outq_blob_data(const struct outq_blob *b)
{
	return b->data;
}

size_t outq_blob_len(const struct outq_blob *b)
{
	return b->len;
}

void outq_blob_put(struct outq_blob *b)
{
	if (b != NULL &&
	    atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
		free(b);
}

static const char *chunk_bytes(const struct outq_chunk *c)
{
	return c->blob != NULL ? c->blob->data : c->data;
}

static void chunk_free(struct outq_chunk *c)
{
	outq_blob_put(c->blob);
	free(c);
}

void outq_init(struct outq *q)
{
	q->head = q->tail = NULL;
	q->pending = 0;
}

void outq_fini(struct outq *q)
{
	struct outq_chunk *c, *next;

	for (c = q->head; c != NULL; c = next) {
		next = c->next;
		chunk_free(c);
	}
	outq_init(q);
}

static void chunk_link(struct outq *q, struct outq_chunk *c)
{
	if (q->tail != NULL)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
}

static struct outq_chunk *outq_room(struct outq *q, size_t need)
{
	struct outq_chunk *c = q->tail;
	size_t cap;

	if (c != NULL && c->cap - c->len >= need)
		return c;
	cap = need > OUTQ_CHUNK ? need : OUTQ_CHUNK;
	c = malloc(sizeof(*c) + cap);
	if (c == NULL)
		return NULL;
	c->next = NULL;
	c->off = c->len = 0;
	c->cap = cap;
	c->blob = NULL;
	chunk_link(q, c);
	return c;
}

/* memcpy() for the short pieces of a MSG line (sid, subject, a small
 * payload), inline: fixed-size copies compile to plain moves, where a
 * call costs as much as the copy. Overlapping halves cover every n. */
static inline void copy_piece(char *d, const char *s, size_t n)
{
	if (n > 32) {
		memcpy(d, s, n);
	} else if (n >= 16) {
		memcpy(d, s, 16);
		memcpy(d + n - 16, s + n - 16, 16);
	} else if (n >= 8) {
		memcpy(d, s, 8);
		memcpy(d + n - 8, s + n - 8, 8);
	} else if (n >= 4) {
		memcpy(d, s, 4);
		memcpy(d + n - 4, s + n - 4, 4);
	} else if (n > 0) {
		d[0] = s[0];
		d[n >> 1] = s[n >> 1];
		d[n - 1] = s[n - 1];
	}
}

int outq_appendv(struct outq *q, const struct iovec *iov, int iovcnt)
{
	size_t need = 0;
	int i;

	for (i = 0; i < iovcnt; i++)
		need += iov[i].iov_len;
	return outq_appendv_len(q, iov, iovcnt, need);
}

int outq_appendv_len(struct outq *q, const struct iovec *iov, int iovcnt,
		     size_t need)
{
	struct outq_chunk *c;
	char *p;
	int i;

	if (need == 0)
		return 0; /* an idle queue keeps no chunk */
	c = outq_room(q, need);
	if (c == NULL)
		return NATSD_ENOMEM;
	/* A local cursor: stores through memcpy() would make the compiler
	 * reload c->len after each piece. */
	p = c->data + c->len;
	for (i = 0; i < iovcnt; i++) {
		copy_piece(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	c->len += need;
	q->pending += need;
	return 0;
}

int outq_appendv_blob(struct outq *q, const struct iovec *iov, int iovcnt,
		      struct outq_blob *b)
{
	struct outq_chunk *c = malloc(sizeof(*c));

	if (c == NULL)
		return NATSD_ENOMEM;
	if (outq_appendv(q, iov, iovcnt) != 0) {
		free(c);
		return NATSD_ENOMEM;
	}
	atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
	c->next = NULL;
	c->off = 0;
	c->len = c->cap = b->len;
	c->blob = b;
	chunk_link(q, c);
	q->pending += b->len;
	return 0;
}

int outq_append(struct outq *q, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return outq_appendv(q, &iov, 1);
}

int outq_peek(const struct outq *q, struct iovec *iov, int max)
{
	const struct outq_chunk *c;
	int n = 0;

	for (c = q->head; c != NULL && n < max; c = c->next) {
		if (c->len == c->off)
			continue;
		iov[n].iov_base = (char *)chunk_bytes(c) + c->off;
		iov[n].iov_len = c->len - c->off;
		n++;
	}
	return n;
}

void outq_consume(struct outq *q, size_t n)
{
	struct outq_chunk *c;
	size_t k;

	q->pending -= n;
	while (n > 0 && (c = q->head) != NULL) {
		k = c->len - c->off;
		if (k > n)
			k = n;
		c->off += k;
		n -= k;
		if (c->off < c->len)
			break;
		q->head = c->next;
		if (q->head == NULL)
			q->tail = NULL;
		chunk_free(c);
	}
	/* Keep no empty chunk at the head: an idle connection holds none. */
	c = q->head;
	if (c != NULL && c->off == c->len && c->next == NULL) {
		chunk_free(c);
		q->head = q->tail = NULL;
	}
}
