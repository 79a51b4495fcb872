/* Tests for core/outq.c: a connection's outbound byte queue.
 *
 * Every test keeps a plain byte array of what should be queued and
 * compares it with what outq_peek() shows, so bytes lost, duplicated or
 * reordered at a chunk boundary show up. An emptied queue must hold no
 * chunk (head and tail NULL); run under ASan, a chunk that is dropped
 * without being freed is also reported as a leak.
 *
 * Allocation failure: the program is linked with -Wl,--wrap=malloc, so
 * outq.c's malloc() calls go through alloc_fail.c and can be made to
 * fail. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <CUnit/Basic.h>

#include "alloc_fail.h"
#include "natsd/error.h"
#include "outq.h"
#include "../suites.h"

#define CHUNK  16384 /* outq.c's usual chunk size */
#define MAXIOV 1024

/* The model: bytes that should be queued, oldest first. */
struct model {
	unsigned char *b;
	size_t len, cap;
};

static void model_append(struct model *m, const void *p, size_t n)
{
	if (m->len + n > m->cap) {
		m->cap = (m->len + n) * 2;
		m->b = realloc(m->b, m->cap);
		if (m->b == NULL)
			abort();
	}
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void model_consume(struct model *m, size_t n)
{
	memmove(m->b, m->b + n, m->len - n);
	m->len -= n;
}

static uint32_t rng_state = 12345;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* Bytes that differ from position to position, so that a shifted or
 * repeated run does not compare equal. */
static void fill(unsigned char *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)((seed * 31 + i * 7 + (i >> 8)) & 0xff);
}

/* Does the queue show exactly the model's bytes? */
static bool same_as_model(const struct outq *q, const struct model *m)
{
	static struct iovec iov[MAXIOV];
	size_t off = 0;
	int i, n;

	if (q->pending != m->len)
		return false;
	n = outq_peek(q, iov, MAXIOV);
	for (i = 0; i < n; i++) {
		if (iov[i].iov_len == 0 || off + iov[i].iov_len > m->len)
			return false;
		if (memcmp(iov[i].iov_base, m->b + off, iov[i].iov_len) != 0)
			return false;
		off += iov[i].iov_len;
	}
	return off == m->len;
}

static bool holds_nothing(const struct outq *q)
{
	struct iovec iov[1];

	return q->head == NULL && q->tail == NULL && q->pending == 0 &&
	       outq_peek(q, iov, 1) == 0;
}

static void test_empty(void)
{
	struct outq q;
	struct iovec iov[4];

	outq_init(&q);
	CU_ASSERT(holds_nothing(&q));
	outq_consume(&q, 0);
	CU_ASSERT(holds_nothing(&q));
	CU_ASSERT_EQUAL(outq_peek(&q, iov, 4), 0);
	outq_fini(&q);
	CU_ASSERT(holds_nothing(&q));
	/* fini twice, and fini of a never-used queue, are harmless. */
	outq_fini(&q);
	CU_ASSERT(holds_nothing(&q));
}

static void test_small_appends_share_a_chunk(void)
{
	struct outq q;
	struct iovec iov[4];
	int n;

	outq_init(&q);
	CU_ASSERT_EQUAL(outq_append(&q, "PING\r\n", 6), 0);
	CU_ASSERT_EQUAL(outq_append(&q, "PONG\r\n", 6), 0);
	CU_ASSERT_EQUAL(q.pending, 12);
	n = outq_peek(&q, iov, 4);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(iov[0].iov_len, 12);
	CU_ASSERT(memcmp(iov[0].iov_base, "PING\r\nPONG\r\n", 12) == 0);
	/* Peeking does not take anything. */
	CU_ASSERT_EQUAL(outq_peek(&q, iov, 4), 1);
	CU_ASSERT_EQUAL(q.pending, 12);
	outq_consume(&q, 12);
	CU_ASSERT(holds_nothing(&q));
	outq_fini(&q);
}

static void test_appendv(void)
{
	struct outq q;
	struct iovec in[4], out[4];
	int n;

	in[0].iov_base = (void *)"MSG a 1 ";
	in[0].iov_len = 8;
	in[1].iov_base = (void *)"";
	in[1].iov_len = 0;
	in[2].iov_base = (void *)"5\r\n";
	in[2].iov_len = 3;
	in[3].iov_base = (void *)"hello\r\n";
	in[3].iov_len = 7;
	outq_init(&q);
	CU_ASSERT_EQUAL(outq_appendv(&q, in, 4), 0);
	CU_ASSERT_EQUAL(q.pending, 18);
	n = outq_peek(&q, out, 4);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(out[0].iov_len, 18);
	CU_ASSERT(memcmp(out[0].iov_base, "MSG a 1 5\r\nhello\r\n", 18) == 0);
	outq_fini(&q);
	CU_ASSERT(holds_nothing(&q));
}

/* Records of 1000 bytes over several chunks: none is split, the bytes
 * come out in order, and consuming at a chunk boundary frees it. */
static void test_across_chunks(void)
{
	struct model m = { 0 };
	struct outq q;
	static struct iovec iov[MAXIOV];
	unsigned char rec[1000];
	size_t off, first;
	int i, n;

	outq_init(&q);
	for (i = 0; i < 100; i++) {
		fill(rec, sizeof(rec), (uint32_t)i);
		CU_ASSERT_EQUAL_FATAL(outq_append(&q, rec, sizeof(rec)), 0);
		model_append(&m, rec, sizeof(rec));
	}
	CU_ASSERT(same_as_model(&q, &m));
	n = outq_peek(&q, iov, MAXIOV);
	CU_ASSERT(n >= (int)(100 * sizeof(rec) / CHUNK));
	CU_ASSERT(n < 100);
	/* Every iovec holds whole records: none was split. */
	for (i = 0, off = 0; i < n; i++) {
		CU_ASSERT_EQUAL(iov[i].iov_len % sizeof(rec), 0);
		CU_ASSERT(iov[i].iov_len <= CHUNK);
		off += iov[i].iov_len;
	}
	CU_ASSERT_EQUAL(off, m.len);

	/* Consume exactly the first chunk: the second comes to the front. */
	first = iov[0].iov_len;
	outq_consume(&q, first);
	model_consume(&m, first);
	CU_ASSERT(same_as_model(&q, &m));
	CU_ASSERT_EQUAL(outq_peek(&q, iov, MAXIOV), n - 1);

	/* One byte short of the next boundary, then across it. */
	outq_consume(&q, iov[0].iov_len - 1);
	model_consume(&m, iov[0].iov_len - 1);
	CU_ASSERT(same_as_model(&q, &m));
	CU_ASSERT_EQUAL(outq_peek(&q, iov, MAXIOV), n - 1);
	outq_consume(&q, 2);
	model_consume(&m, 2);
	CU_ASSERT(same_as_model(&q, &m));
	CU_ASSERT_EQUAL(outq_peek(&q, iov, MAXIOV), n - 2);

	/* Everything in one go, spanning several chunks. */
	outq_consume(&q, m.len);
	CU_ASSERT(holds_nothing(&q));
	outq_fini(&q);
	free(m.b);
}

static void test_big_appends(void)
{
	struct model m = { 0 };
	struct outq q;
	struct iovec iov[8];
	unsigned char *big;
	size_t bigsz = 1024 * 1024 + 3;
	int n;

	big = malloc(bigsz);
	CU_ASSERT_FATAL(big != NULL);
	fill(big, bigsz, 7);
	outq_init(&q);

	/* Alone in the queue: one iovec of exactly its size. */
	CU_ASSERT_EQUAL_FATAL(outq_append(&q, big, bigsz), 0);
	model_append(&m, big, bigsz);
	n = outq_peek(&q, iov, 8);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(iov[0].iov_len, bigsz);
	CU_ASSERT(same_as_model(&q, &m));

	/* After small bytes, and followed by small bytes: the big run stays
	 * whole in its own iovec. */
	CU_ASSERT_EQUAL(outq_append(&q, "tail", 4), 0);
	model_append(&m, "tail", 4);
	CU_ASSERT_EQUAL_FATAL(outq_append(&q, big, bigsz), 0);
	model_append(&m, big, bigsz);
	CU_ASSERT_EQUAL(outq_append(&q, "end", 3), 0);
	model_append(&m, "end", 3);
	CU_ASSERT(same_as_model(&q, &m));
	n = outq_peek(&q, iov, 8);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_EQUAL(iov[0].iov_len, bigsz);
	CU_ASSERT_EQUAL(iov[1].iov_len, 4);
	CU_ASSERT_EQUAL(iov[2].iov_len, bigsz);
	CU_ASSERT_EQUAL(iov[3].iov_len, 3);

	/* Just over one chunk, and exactly one chunk. */
	CU_ASSERT_EQUAL(outq_append(&q, big, CHUNK + 1), 0);
	model_append(&m, big, CHUNK + 1);
	CU_ASSERT_EQUAL(outq_append(&q, big + 1, CHUNK), 0);
	model_append(&m, big + 1, CHUNK);
	CU_ASSERT(same_as_model(&q, &m));

	/* Drained in uneven pieces. */
	while (m.len > 0) {
		size_t k = 100000 < m.len ? 100000 : m.len;

		outq_consume(&q, k);
		model_consume(&m, k);
		CU_ASSERT_FATAL(same_as_model(&q, &m));
	}
	CU_ASSERT(holds_nothing(&q));
	outq_fini(&q);
	free(m.b);
	free(big);
}

/* Interleaved appends and partial consumes of random sizes, as a
 * connection writing to a slow socket sees them. */
static void test_random_stream(void)
{
	struct model m = { 0 };
	struct outq q;
	static unsigned char buf[3 * CHUNK];
	struct iovec in[3];
	int step, emptied = 0;
	size_t n;

	outq_init(&q);
	for (step = 0; step < 20000; step++) {
		uint32_t r = rnd();

		if (r % 3 != 0) {
			/* Mostly small, sometimes bigger than a chunk. */
			n = (r >> 8) % 16 == 0 ? (r >> 12) % (2 * CHUNK)
					       : (r >> 12) % 300;
			fill(buf, n, (uint32_t)step);
			if (r & 0x80) {
				size_t a = n / 3, b = n / 2;

				in[0].iov_base = buf;
				in[0].iov_len = a;
				in[1].iov_base = buf + a;
				in[1].iov_len = b - a;
				in[2].iov_base = buf + b;
				in[2].iov_len = n - b;
				CU_ASSERT_EQUAL_FATAL(outq_appendv(&q, in, 3),
						      0);
			} else {
				CU_ASSERT_EQUAL_FATAL(outq_append(&q, buf, n),
						      0);
			}
			model_append(&m, buf, n);
		} else {
			n = m.len ? (r >> 8) % (m.len + 1) : 0;
			outq_consume(&q, n);
			model_consume(&m, n);
		}
		if (!same_as_model(&q, &m)) {
			CU_FAIL_FATAL("queue differs from the model");
		}
		if (m.len == 0) {
			emptied++;
			CU_ASSERT_FATAL(q.head == NULL && q.tail == NULL);
		}
	}
	/* The walk must have drained the queue now and then. */
	CU_ASSERT(emptied > 10);
	outq_consume(&q, m.len);
	CU_ASSERT(holds_nothing(&q));
	outq_fini(&q);
	free(m.b);
}

static void test_peek_limit(void)
{
	static unsigned char big[CHUNK + 10];
	struct outq q;
	struct iovec iov[8];
	int i;

	outq_init(&q);
	/* Each append bigger than a chunk: one chunk per append. */
	for (i = 0; i < 5; i++) {
		fill(big, sizeof(big), (uint32_t)i);
		CU_ASSERT_EQUAL_FATAL(outq_append(&q, big, sizeof(big)), 0);
	}
	CU_ASSERT_EQUAL(outq_peek(&q, iov, 0), 0);
	CU_ASSERT_EQUAL(outq_peek(&q, iov, 3), 3);
	fill(big, sizeof(big), 0);
	CU_ASSERT(memcmp(iov[0].iov_base, big, sizeof(big)) == 0);
	fill(big, sizeof(big), 2);
	CU_ASSERT(memcmp(iov[2].iov_base, big, sizeof(big)) == 0);
	CU_ASSERT_EQUAL(outq_peek(&q, iov, 8), 5);
	/* fini with bytes queued frees them (ASan checks). */
	outq_fini(&q);
	CU_ASSERT(holds_nothing(&q));
}

/* Bytes that fill the last chunk exactly still go into it. */
static void test_exact_fill(void)
{
	static unsigned char buf[CHUNK];
	struct outq q;
	struct iovec iov[4];

	fill(buf, sizeof(buf), 9);
	outq_init(&q);
	CU_ASSERT_EQUAL(outq_append(&q, buf, CHUNK - 3), 0);
	CU_ASSERT_EQUAL(outq_append(&q, buf + CHUNK - 3, 3), 0);
	CU_ASSERT_EQUAL_FATAL(outq_peek(&q, iov, 4), 1);
	CU_ASSERT_EQUAL(iov[0].iov_len, CHUNK);
	CU_ASSERT(memcmp(iov[0].iov_base, buf, CHUNK) == 0);
	/* The chunk is full: one more byte starts the next. */
	CU_ASSERT_EQUAL(outq_append(&q, "x", 1), 0);
	CU_ASSERT_EQUAL(outq_peek(&q, iov, 4), 2);
	outq_consume(&q, CHUNK + 1);
	CU_ASSERT(holds_nothing(&q));
	outq_fini(&q);
}

/* Appending nothing queues nothing and allocates nothing: an idle
 * connection holds no chunk. */
static void test_append_nothing(void)
{
	struct outq q;
	struct iovec iov[2];
	unsigned long before = alloc_fail_calls();

	outq_init(&q);
	CU_ASSERT_EQUAL(outq_append(&q, "", 0), 0);
	CU_ASSERT_EQUAL(outq_appendv(&q, iov, 0), 0);
	CU_ASSERT(holds_nothing(&q));
	CU_ASSERT_EQUAL(alloc_fail_calls(), before);
	/* Nothing after something: the queue is unchanged. */
	CU_ASSERT_EQUAL(outq_append(&q, "ab", 2), 0);
	CU_ASSERT_EQUAL(outq_append(&q, "", 0), 0);
	CU_ASSERT_EQUAL(q.pending, 2);
	CU_ASSERT_EQUAL(outq_peek(&q, iov, 2), 1);
	outq_consume(&q, 2);
	CU_ASSERT(holds_nothing(&q));
	outq_fini(&q);
}

/* A write of 0 bytes (socket full) changes nothing. */
static void test_consume_zero(void)
{
	struct outq q;
	struct iovec iov[2];

	outq_init(&q);
	CU_ASSERT_EQUAL(outq_append(&q, "abc", 3), 0);
	outq_consume(&q, 0);
	CU_ASSERT_EQUAL(q.pending, 3);
	CU_ASSERT_EQUAL_FATAL(outq_peek(&q, iov, 2), 1);
	CU_ASSERT_EQUAL(iov[0].iov_len, 3);
	outq_consume(&q, 1);
	outq_consume(&q, 0);
	CU_ASSERT_EQUAL_FATAL(outq_peek(&q, iov, 2), 1);
	CU_ASSERT(memcmp(iov[0].iov_base, "bc", 2) == 0);
	outq_consume(&q, 2);
	CU_ASSERT(holds_nothing(&q));
	outq_fini(&q);
}

/* Out of memory: NATSD_ENOMEM and the queue exactly as before; bytes that
 * fit in the last chunk need no allocation and still go in. */
static void test_nomem(void)
{
	struct model m = { 0 };
	struct outq q;
	static unsigned char big[2 * CHUNK];
	unsigned long before;

	outq_init(&q);
	alloc_fail_start(0);
	CU_ASSERT_EQUAL(outq_append(&q, "abc", 3), NATSD_ENOMEM);
	alloc_fail_stop();
	CU_ASSERT(holds_nothing(&q));

	CU_ASSERT_EQUAL(outq_append(&q, "abc", 3), 0);
	model_append(&m, "abc", 3);
	fill(big, sizeof(big), 3);
	alloc_fail_start(0);
	CU_ASSERT_EQUAL(outq_append(&q, big, sizeof(big)), NATSD_ENOMEM);
	CU_ASSERT(same_as_model(&q, &m));
	before = alloc_fail_calls();
	CU_ASSERT_EQUAL(outq_append(&q, "def", 3), 0); /* fits: no malloc */
	alloc_fail_stop();
	model_append(&m, "def", 3);
	CU_ASSERT_EQUAL(alloc_fail_calls(), before);
	CU_ASSERT(same_as_model(&q, &m));

	/* And it works again once memory is back. */
	CU_ASSERT_EQUAL(outq_append(&q, big, sizeof(big)), 0);
	model_append(&m, big, sizeof(big));
	CU_ASSERT(same_as_model(&q, &m));
	outq_consume(&q, m.len);
	CU_ASSERT(holds_nothing(&q));
	outq_fini(&q);
	free(m.b);
}

/* A blob shared by several queues: each shows its own header bytes, then
 * the blob's, and stays readable until the last queue has written it or
 * was dropped (ASan reports a blob freed early or never freed). */
static void test_shared_blob(void)
{
	enum { NQ = 3 };
	static unsigned char payload[3 * CHUNK];
	struct model m[NQ] = { 0 };
	struct outq q[NQ];
	struct outq_blob *b;
	struct iovec hdr;
	char line[32];
	size_t step;
	int i, n;

	fill(payload, sizeof(payload), 9);
	b = outq_blob_new(payload, sizeof(payload));
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(outq_blob_len(b), sizeof(payload) + 2);
	CU_ASSERT_EQUAL(memcmp(outq_blob_data(b) + sizeof(payload), "\r\n", 2),
			0);
	for (i = 0; i < NQ; i++) {
		outq_init(&q[i]);
		n = snprintf(line, sizeof(line), "MSG s %d %zu\r\n", i,
			     sizeof(payload));
		hdr.iov_base = line;
		hdr.iov_len = (size_t)n;
		CU_ASSERT_EQUAL(outq_appendv_blob(&q[i], &hdr, 1, b), 0);
		model_append(&m[i], line, (size_t)n);
		model_append(&m[i], outq_blob_data(b), outq_blob_len(b));
		/* Small bytes after the blob go into a chunk of their own. */
		CU_ASSERT_EQUAL(outq_append(&q[i], "PING\r\n", 6), 0);
		model_append(&m[i], "PING\r\n", 6);
		CU_ASSERT(same_as_model(&q[i], &m[i]));
	}
	outq_blob_put(b); /* the router's own reference */
	/* Queue 0 drains in odd steps across the blob's edges, queue 1 is
	 * dropped whole, queue 2 drains at once. */
	step = 1000;
	while (m[0].len > 0) {
		if (step > m[0].len)
			step = m[0].len;
		outq_consume(&q[0], step);
		model_consume(&m[0], step);
		CU_ASSERT(same_as_model(&q[0], &m[0]));
		step = step * 3 + 1;
	}
	CU_ASSERT(holds_nothing(&q[0]));
	outq_fini(&q[1]);
	CU_ASSERT(same_as_model(&q[2], &m[2]));
	outq_consume(&q[2], m[2].len);
	CU_ASSERT(holds_nothing(&q[2]));
	for (i = 0; i < NQ; i++) {
		outq_fini(&q[i]);
		free(m[i].b);
	}

	/* Out of memory: nothing queued, and the blob's count unchanged. */
	b = outq_blob_new("x", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	outq_init(&q[0]);
	hdr.iov_base = "h";
	hdr.iov_len = 1;
	alloc_fail_start(0);
	CU_ASSERT_EQUAL(outq_appendv_blob(&q[0], &hdr, 1, b), NATSD_ENOMEM);
	alloc_fail_stop();
	CU_ASSERT(holds_nothing(&q[0]));
	alloc_fail_start(1);
	CU_ASSERT_EQUAL(outq_appendv_blob(&q[0], &hdr, 1, b), NATSD_ENOMEM);
	alloc_fail_stop();
	CU_ASSERT(holds_nothing(&q[0]));
	outq_blob_put(b); /* the last reference: freed, or ASan tells */
	outq_fini(&q[0]);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "empty queue", test_empty },
		{ "small appends share a chunk",
		  test_small_appends_share_a_chunk },
		{ "appendv is one run", test_appendv },
		{ "across chunk boundaries", test_across_chunks },
		{ "big appends", test_big_appends },
		{ "random appends and consumes", test_random_stream },
		{ "peek limit", test_peek_limit },
		{ "exact fill", test_exact_fill },
		{ "append nothing", test_append_nothing },
		{ "consume zero", test_consume_zero },
		{ "out of memory", test_nomem },
		{ "shared blob", test_shared_blob },
	};
	static const struct suite suite = {
		"outq", NULL, NULL, tests, SUITE_COUNT(tests),
	};

	return suites_run(&suite, 1) == 0 ? 0 : 1;
}
