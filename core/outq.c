/* Outbound queue. Chunks are sized for the common small message and grow
 * for big payloads, so a message is never split across more chunks than
 * needed and writev sees few, large iovecs. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <natsd/error.h>

#include "outq.h"

#define OUTQ_CHUNK 16384

struct outq_chunk {
	struct outq_chunk *next;
	size_t off; /* first unwritten byte */
	size_t len; /* bytes filled */
	size_t cap;
	char data[];
};

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
		free(c);
	}
	outq_init(q);
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
	if (q->tail != NULL)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	return c;
}

int outq_appendv(struct outq *q, const struct iovec *iov, int iovcnt)
{
	struct outq_chunk *c;
	size_t need = 0;
	int i;

	for (i = 0; i < iovcnt; i++)
		need += iov[i].iov_len;
	if (need == 0)
		return 0; /* an idle queue keeps no chunk */
	c = outq_room(q, need);
	if (c == NULL)
		return NATSD_ENOMEM;
	for (i = 0; i < iovcnt; i++) {
		memcpy(c->data + c->len, iov[i].iov_base, iov[i].iov_len);
		c->len += iov[i].iov_len;
	}
	q->pending += need;
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
		iov[n].iov_base = (char *)c->data + c->off;
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
		free(c);
	}
	/* Keep no empty chunk at the head: an idle connection holds none. */
	c = q->head;
	if (c != NULL && c->off == c->len && c->next == NULL) {
		free(c);
		q->head = q->tail = NULL;
	}
}
