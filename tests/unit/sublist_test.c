/* Tests for core/sublist.c.
 *
 * Besides tables of match semantics, a randomized test checks the index
 * against a brute-force scan with subject_match(), and a threaded test
 * has readers match with their own caches while a writer changes the
 * index, checking that no reader ever gets a result older than a change
 * it has seen completed.
 *
 * Allocation failures are injected when the program is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc;
 * without those flags that test only says it was skipped. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <natsd/error.h>

#include "alloc_fail.h"

#include "sub.h"
#include "subject.h"
#include "sublist.h"
#include "../suites.h"

/* ---- test subscriptions ---- */

struct tsub {
	struct sub s;
	uint32_t id;
};

static struct tsub *tsub_new(const char *subject, const char *queue,
			     uint32_t id)
{
	struct tsub *t = calloc(1, sizeof(*t));

	if (t == NULL)
		abort();
	t->s.subject = strdup(subject);
	t->s.subject_len = (uint32_t)strlen(subject);
	if (queue != NULL) {
		t->s.queue = strdup(queue);
		t->s.queue_len = (uint32_t)strlen(queue);
		if (t->s.queue == NULL)
			abort();
	}
	if (t->s.subject == NULL)
		abort();
	t->id = id;
	return t;
}

static void tsub_free(struct tsub *t)
{
	if (t == NULL)
		return;
	free(t->s.subject);
	free(t->s.queue);
	free(t);
}

static struct tsub *tsub_of(struct sub *s)
{
	return (struct tsub *)((char *)s - offsetof(struct tsub, s));
}

/* A small deterministic generator, so that a failure can be replayed. */
static uint64_t rng_state = 0x853c49e6748fea9bull;

static uint32_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return (uint32_t)(x >> 32);
}

static const struct sublist_result *
match(struct sublist *sl, struct sublist_cache *c, const char *subj)
{
	return sublist_match(sl, subj, strlen(subj), c);
}

static size_t res_total(const struct sublist_result *r)
{
	size_t n = r->npsubs;
	uint32_t i;

	for (i = 0; i < r->nqgroups; i++)
		n += r->qgroups[i].n;
	return n;
}

static bool res_has(const struct sublist_result *r, const struct tsub *t)
{
	uint32_t i, j;

	for (i = 0; i < r->npsubs; i++)
		if (r->psubs[i] == &t->s)
			return true;
	for (i = 0; i < r->nqgroups; i++)
		for (j = 0; j < r->qgroups[i].n; j++)
			if (r->qgroups[i].subs[j] == &t->s)
				return true;
	return false;
}

static const struct sublist_qgroup *res_group(const struct sublist_result *r,
					      const char *name)
{
	uint32_t i;

	for (i = 0; i < r->nqgroups; i++)
		if (r->qgroups[i].name_len == strlen(name) &&
		    memcmp(r->qgroups[i].name, name, strlen(name)) == 0)
			return &r->qgroups[i];
	return NULL;
}

/* Does r hold exactly the subs of want[0..n-1]? */
static bool res_is(const struct sublist_result *r, struct tsub *const *want,
		   size_t n)
{
	size_t i;

	if (r == NULL || res_total(r) != n)
		return false;
	for (i = 0; i < n; i++)
		if (!res_has(r, want[i]))
			return false;
	return true;
}

/* ---- semantics ---- */

enum {
	S_FOO,
	S_FOO_BAR,
	S_FOO_STAR,
	S_FOO_GT,
	S_GT,
	S_STAR,
	S_STAR_BAR,
	S_FOO_BAR_BAZ,
	S_FOO_STARBAR,
	S_FOO_STAR_BAZ,
	S_COUNT
};

static const char *const basic_subjects[S_COUNT] = {
	[S_FOO] = "foo",
	[S_FOO_BAR] = "foo.bar",
	[S_FOO_STAR] = "foo.*",
	[S_FOO_GT] = "foo.>",
	[S_GT] = ">",
	[S_STAR] = "*",
	[S_STAR_BAR] = "*.bar",
	[S_FOO_BAR_BAZ] = "foo.bar.baz",
	[S_FOO_STARBAR] = "foo.*bar",
	[S_FOO_STAR_BAZ] = "foo.*.baz",
};

struct basic_case {
	const char *subj;
	int want[S_COUNT + 1]; /* ends with -1 */
};

static const struct basic_case basic_cases[] = {
	{ "foo", { S_FOO, S_GT, S_STAR, -1 } },
	{ "foo.bar",
	  { S_FOO_BAR, S_FOO_STAR, S_FOO_GT, S_GT, S_STAR_BAR, -1 } },
	{ "foo.baz", { S_FOO_STAR, S_FOO_GT, S_GT, -1 } },
	{ "foo.bar.baz",
	  { S_FOO_BAR_BAZ, S_FOO_GT, S_GT, S_FOO_STAR_BAZ, -1 } },
	{ "foo.x.baz", { S_FOO_GT, S_GT, S_FOO_STAR_BAZ, -1 } },
	{ "bar", { S_GT, S_STAR, -1 } },
	{ "x.bar", { S_GT, S_STAR_BAR, -1 } },
	{ "foo.bar.baz.qux", { S_FOO_GT, S_GT, -1 } },
	{ "fo", { S_GT, S_STAR, -1 } },
	{ "foo.*bar", { S_FOO_STARBAR, S_FOO_STAR, S_FOO_GT, S_GT, -1 } },
	{ "foo.xbar", { S_FOO_STAR, S_FOO_GT, S_GT, -1 } },
	/* Published wildcards are literal tokens (PROTOCOL.md 1.6). */
	{ "foo.*", { S_FOO_STAR, S_FOO_GT, S_GT, -1 } },
	{ "foo.>", { S_FOO_STAR, S_FOO_GT, S_GT, -1 } },
	{ "*", { S_STAR, S_GT, -1 } },
	{ ">", { S_STAR, S_GT, -1 } },
	{ "*.bar", { S_STAR_BAR, S_GT, -1 } },
	{ "foo.*.baz", { S_FOO_STAR_BAZ, S_FOO_GT, S_GT, -1 } },
	/* An empty token matches nothing, not even ">". */
	{ "foo..bar", { -1 } },
	{ "foo.", { -1 } },
	{ ".foo", { -1 } },
	{ ".", { -1 } },
	{ "", { -1 } },
};

static void test_basic(void)
{
	struct sublist *sl = sublist_new();
	struct sublist_cache *c = sublist_cache_new(64);
	struct tsub *subs[S_COUNT], *want[S_COUNT];
	const struct sublist_result *r;
	const struct basic_case *bc;
	size_t i, n, pass;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (i = 0; i < S_COUNT; i++) {
		subs[i] = tsub_new(basic_subjects[i], NULL, (uint32_t)i);
		CU_ASSERT_EQUAL(sublist_insert(sl, &subs[i]->s), 0);
	}
	/* Twice: the second pass is answered from the cache. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < sizeof(basic_cases) / sizeof(basic_cases[0]);
		     i++) {
			bc = &basic_cases[i];
			for (n = 0; bc->want[n] >= 0; n++)
				want[n] = subs[bc->want[n]];
			r = match(sl, c, bc->subj);
			CU_ASSERT_PTR_NOT_NULL(r);
			if (!res_is(r, want, n))
				fprintf(stderr,
					"\n\"%s\": %zu subs, want %zu\n",
					bc->subj, r ? res_total(r) : 0, n);
			CU_ASSERT_TRUE(res_is(r, want, n));
			if (r != NULL)
				CU_ASSERT_EQUAL(r->nqgroups, 0);
		}
	}
	for (i = 0; i < S_COUNT; i++) {
		CU_ASSERT_EQUAL(sublist_remove(sl, &subs[i]->s), 0);
		tsub_free(subs[i]);
	}
	sublist_cache_free(c);
	sublist_free(sl);
}

static void test_queues(void)
{
	struct sublist *sl = sublist_new();
	struct sublist_cache *c = sublist_cache_new(64);
	const struct sublist_qgroup *g;
	const struct sublist_result *r;
	struct tsub *t[8], *many[60];
	char name[16];
	uint32_t i, j;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	t[0] = tsub_new("foo.bar", "q1", 0);
	t[1] = tsub_new("foo.*", "q1", 1);
	t[2] = tsub_new("foo.>", "q1", 2);
	t[3] = tsub_new("foo.bar", "q2", 3);
	t[4] = tsub_new("foo.bar", NULL, 4);
	t[5] = tsub_new("foo.bar", "q1", 5);
	t[6] = tsub_new("foo.bar", "q12", 6); /* a prefix is another name */
	t[7] = tsub_new("foo.baz", "q2", 7);
	for (i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(sublist_insert(sl, &t[i]->s), 0);

	r = match(sl, c, "foo.bar");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->npsubs, 1);
	CU_ASSERT_PTR_EQUAL(r->psubs[0], &t[4]->s);
	CU_ASSERT_EQUAL(r->nqgroups, 3);
	g = res_group(r, "q1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_EQUAL(g->n, 4);
	CU_ASSERT_EQUAL(res_total(r), 7);
	CU_ASSERT_TRUE(res_has(r, t[0]) && res_has(r, t[1]) &&
		       res_has(r, t[2]) && res_has(r, t[5]));
	g = res_group(r, "q2");
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_EQUAL(g->n, 1);
	CU_ASSERT_PTR_EQUAL(g->subs[0], &t[3]->s);
	g = res_group(r, "q12");
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_EQUAL(g->n, 1);
	CU_ASSERT_PTR_EQUAL(g->subs[0], &t[6]->s);

	r = match(sl, c, "foo.baz");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->npsubs, 0);
	CU_ASSERT_EQUAL(r->nqgroups, 2);
	CU_ASSERT_EQUAL(res_group(r, "q1")->n, 2);
	CU_ASSERT_EQUAL(res_group(r, "q2")->n, 1);

	/* Emptying a group at one node leaves the others. */
	CU_ASSERT_EQUAL(sublist_remove(sl, &t[3]->s), 0);
	r = match(sl, c, "foo.bar");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_PTR_NULL(res_group(r, "q2"));
	CU_ASSERT_EQUAL(res_total(r), 6);
	/* A queue sub is removed by its group, not as a plain one. */
	t[3]->s.queue[1] = '9';
	CU_ASSERT_EQUAL(sublist_remove(sl, &t[3]->s), NATSD_ENOENT);
	t[3]->s.queue[1] = '2';

	/* Many groups (more than the merge scan handles linearly), each
	 * at three nodes. */
	for (i = 0; i < 60; i++) {
		snprintf(name, sizeof(name), "g%u", i / 3);
		many[i] = tsub_new(i % 3 == 0   ? "x.y"
				   : i % 3 == 1 ? "x.*"
						: "x.>",
				   name, 100 + i);
		CU_ASSERT_EQUAL(sublist_insert(sl, &many[i]->s), 0);
	}
	r = match(sl, c, "x.y");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->nqgroups, 20);
	for (i = 0; i < r->nqgroups; i++) {
		CU_ASSERT_EQUAL(r->qgroups[i].n, 3);
		for (j = 0; j < r->qgroups[i].n; j++)
			CU_ASSERT_EQUAL(r->qgroups[i].subs[j]->queue_len,
					r->qgroups[i].name_len);
	}
	for (i = 0; i < 60; i++) {
		CU_ASSERT_EQUAL(sublist_remove(sl, &many[i]->s), 0);
		tsub_free(many[i]);
	}
	for (i = 0; i < 8; i++) {
		if (i != 3)
			CU_ASSERT_EQUAL(sublist_remove(sl, &t[i]->s), 0);
		tsub_free(t[i]);
	}
	sublist_cache_free(c);
	sublist_free(sl);
}

static void test_errors(void)
{
	static const char *const bad[] = { "",     "foo..bar",  ".foo",
					   "foo.", "foo.>.bar", "a b",
					   "a\tb", ">.>" };
	struct sublist *sl = sublist_new();
	struct sublist_stats st;
	struct tsub *t, *q, *other;
	uint64_t gen;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sl);
	CU_ASSERT_EQUAL(sublist_generation(sl), 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = tsub_new(bad[i], NULL, 0);
		CU_ASSERT_EQUAL(sublist_insert(sl, &t->s), NATSD_EINVAL);
		CU_ASSERT_EQUAL(sublist_remove(sl, &t->s), NATSD_ENOENT);
		tsub_free(t);
	}
	t = tsub_new("foo", "", 0);
	CU_ASSERT_EQUAL(sublist_insert(sl, &t->s), NATSD_EINVAL);
	tsub_free(t);
	sublist_stats(sl, &st);
	CU_ASSERT_EQUAL(st.nnodes, 0);
	CU_ASSERT_EQUAL(st.nsubs, 0);
	CU_ASSERT_EQUAL(sublist_generation(sl), 1);

	t = tsub_new("a.b.c", NULL, 1);
	q = tsub_new("a.b.c", "q", 2);
	other = tsub_new("a.b.c", NULL, 3);
	CU_ASSERT_EQUAL(sublist_insert(sl, &t->s), 0);
	CU_ASSERT_EQUAL(sublist_insert(sl, &q->s), 0);
	gen = sublist_generation(sl);
	CU_ASSERT_EQUAL(gen, 3);
	CU_ASSERT_EQUAL(sublist_insert(sl, &t->s), NATSD_EEXIST);
	CU_ASSERT_EQUAL(sublist_insert(sl, &q->s), NATSD_EEXIST);
	CU_ASSERT_EQUAL(sublist_remove(sl, &other->s), NATSD_ENOENT);
	CU_ASSERT_EQUAL(sublist_generation(sl), gen);
	sublist_stats(sl, &st);
	CU_ASSERT_EQUAL(st.nnodes, 3);
	CU_ASSERT_EQUAL(st.nsubs, 2);
	CU_ASSERT_EQUAL(st.ninserts, 2);
	CU_ASSERT_EQUAL(sublist_remove(sl, &t->s), 0);
	CU_ASSERT_EQUAL(sublist_remove(sl, &t->s), NATSD_ENOENT);
	CU_ASSERT_EQUAL(sublist_remove(sl, &q->s), 0);
	CU_ASSERT_EQUAL(sublist_generation(sl), gen + 2);
	sublist_stats(sl, &st);
	CU_ASSERT_EQUAL(st.nnodes, 0);
	CU_ASSERT_EQUAL(st.nsubs, 0);
	CU_ASSERT_EQUAL(st.nremoves, 2);
	tsub_free(t);
	tsub_free(q);
	tsub_free(other);
	sublist_free(sl);
	sublist_free(NULL);
	sublist_cache_free(NULL);
}

/* Removal of one sub among many, in random order, and pruning of the
 * nodes left empty. */
static void test_remove_prune(void)
{
	enum { N = 1500 };
	struct sublist *sl = sublist_new();
	struct sublist_cache *c = sublist_cache_new(256);
	struct tsub *same[N], *kids[N], *tmp;
	const struct sublist_result *r;
	struct sublist_stats st;
	char subj[32];
	uint32_t i, j, left, bad = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (i = 0; i < N; i++) {
		same[i] = tsub_new("big.subject", i % 2 ? "workers" : NULL, i);
		snprintf(subj, sizeof(subj), "k.%u.leaf", i);
		kids[i] = tsub_new(subj, NULL, i);
		CU_ASSERT_EQUAL(sublist_insert(sl, &same[i]->s), 0);
		CU_ASSERT_EQUAL(sublist_insert(sl, &kids[i]->s), 0);
	}
	sublist_stats(sl, &st);
	CU_ASSERT_EQUAL(st.nsubs, 2 * N);
	CU_ASSERT_EQUAL(st.nnodes, 2 + 1 + 2 * N);
	for (i = N - 1; i > 0; i--) {
		j = rng() % (i + 1);
		tmp = same[i];
		same[i] = same[j];
		same[j] = tmp;
		tmp = kids[i];
		kids[i] = kids[j];
		kids[j] = tmp;
	}
	for (i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(sublist_remove(sl, &same[i]->s), 0);
		CU_ASSERT_EQUAL(sublist_remove(sl, &kids[i]->s), 0);
		if (i % 100 != 0 && i < N - 3)
			continue;
		left = N - i - 1;
		r = match(sl, c, "big.subject");
		if (r == NULL || res_total(r) != left)
			bad++;
		for (j = i + 1; r != NULL && j < N; j++)
			if (!res_has(r, same[j]))
				bad++;
		for (j = 0; j < N; j++) {
			snprintf(subj, sizeof(subj), "k.%u.leaf", kids[j]->id);
			r = match(sl, c, subj);
			if (r == NULL || res_total(r) != (j > i))
				bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	sublist_stats(sl, &st);
	CU_ASSERT_EQUAL(st.nsubs, 0);
	CU_ASSERT_EQUAL(st.nnodes, 0);
	r = match(sl, c, "big.subject");
	CU_ASSERT_TRUE(r != NULL && res_total(r) == 0);

	/* Removing one of two subs keeps the shared path; removing a
	 * wildcard sub prunes only its own branch. */
	same[0]->s.subject_len = 5;
	memcpy(same[0]->s.subject, "a.*.c", 6);
	kids[0]->s.subject_len = 5;
	memcpy(kids[0]->s.subject, "a.b.c", 6);
	CU_ASSERT_EQUAL(sublist_insert(sl, &same[0]->s), 0);
	CU_ASSERT_EQUAL(sublist_insert(sl, &kids[0]->s), 0);
	sublist_stats(sl, &st);
	CU_ASSERT_EQUAL(st.nnodes, 5);
	CU_ASSERT_EQUAL(sublist_remove(sl, &same[0]->s), 0);
	sublist_stats(sl, &st);
	CU_ASSERT_EQUAL(st.nnodes, 3);
	r = match(sl, c, "a.b.c");
	CU_ASSERT_TRUE(res_is(r, &kids[0], 1));
	CU_ASSERT_EQUAL(sublist_remove(sl, &kids[0]->s), 0);
	sublist_stats(sl, &st);
	CU_ASSERT_EQUAL(st.nnodes, 0);
	for (i = 0; i < N; i++) {
		tsub_free(same[i]);
		tsub_free(kids[i]);
	}
	sublist_cache_free(c);
	sublist_free(sl);
}

/* A cached result is never returned after a change. */
static void test_cache(void)
{
	struct sublist *sl = sublist_new();
	struct sublist_cache *c = sublist_cache_new(1024);
	struct sublist_cache *tiny = sublist_cache_new(1);
	const struct sublist_result *r, *r2;
	struct tsub *a = tsub_new("foo", NULL, 1);
	struct tsub *b = tsub_new("foo.*", NULL, 2);
	struct tsub *d = tsub_new("foo", "q", 3);
	struct tsub *e = tsub_new("foo", NULL, 4);
	struct tsub *subs[64];
	struct sublist_stats st;
	char subj[32];
	uint32_t i, round, bad = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tiny);

	r = match(sl, c, "foo");
	CU_ASSERT_TRUE(r != NULL && res_total(r) == 0);
	CU_ASSERT_EQUAL(sublist_insert(sl, &a->s), 0);
	r = match(sl, c, "foo");
	CU_ASSERT_TRUE(res_is(r, &a, 1));
	r2 = match(sl, c, "foo");
	CU_ASSERT_PTR_EQUAL(r2, r); /* a hit */
	CU_ASSERT_EQUAL(sublist_insert(sl, &b->s), 0);
	r = match(sl, c, "foo");
	CU_ASSERT_TRUE(res_is(r, &a, 1));
	r = match(sl, c, "foo.x");
	CU_ASSERT_TRUE(res_is(r, &b, 1));
	CU_ASSERT_EQUAL(sublist_insert(sl, &d->s), 0);
	r = match(sl, c, "foo");
	CU_ASSERT_TRUE(r != NULL && r->npsubs == 1 && r->nqgroups == 1 &&
		       res_has(r, d));
	CU_ASSERT_EQUAL(sublist_remove(sl, &a->s), 0);
	r = match(sl, c, "foo");
	CU_ASSERT_TRUE(r != NULL && r->npsubs == 0 && r->nqgroups == 1);
	CU_ASSERT_EQUAL(sublist_remove(sl, &d->s), 0);
	r = match(sl, c, "foo");
	CU_ASSERT_TRUE(r != NULL && res_total(r) == 0);
	r = match(sl, c, "foo.x");
	CU_ASSERT_TRUE(res_is(r, &b, 1));
	CU_ASSERT_EQUAL(sublist_remove(sl, &b->s), 0);
	r = match(sl, c, "foo.x");
	CU_ASSERT_TRUE(r != NULL && res_total(r) == 0);

	/* One cache, two indexes at the same generation: results may not
	 * mix. */
	{
		struct sublist *s1 = sublist_new(), *s2 = sublist_new();

		CU_ASSERT_FATAL(s1 != NULL && s2 != NULL);
		CU_ASSERT_EQUAL(sublist_insert(s1, &a->s), 0);
		CU_ASSERT_EQUAL(sublist_insert(s2, &e->s), 0);
		CU_ASSERT_EQUAL(sublist_generation(s1), sublist_generation(s2));
		for (i = 0; i < 3; i++) {
			r = match(s1, c, "foo");
			CU_ASSERT_TRUE(res_is(r, &a, 1));
			r = match(s2, c, "foo");
			CU_ASSERT_TRUE(res_is(r, &e, 1));
		}
		CU_ASSERT_EQUAL(sublist_remove(s1, &a->s), 0);
		CU_ASSERT_EQUAL(sublist_remove(s2, &e->s), 0);
		sublist_free(s2);
		/* A new index, maybe at the freed one's address, at the
		 * generation the cache saw there. */
		CU_ASSERT_EQUAL(sublist_insert(s1, &a->s), 0);
		r = match(s1, c, "foo");
		CU_ASSERT_TRUE(res_is(r, &a, 1));
		CU_ASSERT_EQUAL(sublist_remove(s1, &a->s), 0);
		sublist_free(s1);
		s2 = sublist_new();
		CU_ASSERT_PTR_NOT_NULL_FATAL(s2);
		CU_ASSERT_EQUAL(sublist_insert(s2, &e->s), 0);
		CU_ASSERT_EQUAL(sublist_insert(s2, &b->s), 0);
		CU_ASSERT_EQUAL(sublist_remove(s2, &b->s), 0);
		r = match(s2, c, "foo");
		CU_ASSERT_TRUE(res_is(r, &e, 1));
		CU_ASSERT_EQUAL(sublist_remove(s2, &e->s), 0);
		sublist_free(s2);
	}

	/* Counters: a miss reports at once, hits in batches of 64. */
	sublist_stats(sl, &st);
	CU_ASSERT_EQUAL(sublist_insert(sl, &a->s), 0);
	{
		struct sublist_stats st2;
		struct sublist_cache *c2 = sublist_cache_new(16);

		CU_ASSERT_PTR_NOT_NULL_FATAL(c2);
		for (i = 0; i < 65; i++)
			match(sl, c2, "foo");
		sublist_stats(sl, &st2);
		CU_ASSERT_EQUAL(st2.nmatches - st.nmatches, 65);
		CU_ASSERT_EQUAL(st2.ncache_hits - st.ncache_hits, 64);
		CU_ASSERT_EQUAL(st2.ncache_entries, 1);
		CU_ASSERT_EQUAL(st2.max_fanout, 1);
		CU_ASSERT_DOUBLE_EQUAL(st2.avg_fanout, 1.0, 1e-9);
		sublist_cache_free(c2);
	}
	CU_ASSERT_EQUAL(sublist_remove(sl, &a->s), 0);
	sublist_stats(sl, &st);
	CU_ASSERT_EQUAL(st.ncache_entries, 0);

	/* Many subjects through a tiny cache (constant eviction) and a big
	 * one, with changes in between. */
	for (i = 0; i < 64; i++) {
		snprintf(subj, sizeof(subj), "s.%u", i);
		subs[i] = tsub_new(subj, i % 4 ? NULL : "g", i);
	}
	for (round = 0; round < 4; round++) {
		for (i = round; i < 64; i += 4)
			CU_ASSERT_EQUAL(sublist_insert(sl, &subs[i]->s), 0);
		for (i = 0; i < 64 * 3; i++) {
			uint32_t k = rng() % 64;
			bool in = k % 4 <= round;

			snprintf(subj, sizeof(subj), "s.%u", k);
			r = match(sl, tiny, subj);
			if (r == NULL || res_total(r) != in ||
			    (in && !res_has(r, subs[k])))
				bad++;
			r = match(sl, c, subj);
			if (r == NULL || res_total(r) != in ||
			    (in && !res_has(r, subs[k])))
				bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	for (i = 0; i < 64; i++) {
		CU_ASSERT_EQUAL(sublist_remove(sl, &subs[i]->s), 0);
		tsub_free(subs[i]);
	}
	tsub_free(a);
	tsub_free(b);
	tsub_free(d);
	tsub_free(e);
	sublist_cache_free(tiny);
	sublist_cache_free(c);
	sublist_free(sl);
}

/* A result with more subs than a cache keeps is still right. */
static void test_big_result(void)
{
	enum { N = 40000 };
	struct sublist *sl = sublist_new();
	struct sublist_cache *c = sublist_cache_new(4);
	const struct sublist_result *r;
	struct tsub **t = calloc(N, sizeof(*t));
	uint32_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (i = 0; i < N; i++) {
		t[i] = tsub_new(i % 2 ? "wide.>" : "wide.open",
				i % 5 == 0 ? "q" : NULL, i);
		CU_ASSERT_EQUAL(sublist_insert(sl, &t[i]->s), 0);
	}
	for (i = 0; i < 3; i++) {
		r = match(sl, c, "wide.open");
		CU_ASSERT_TRUE(r != NULL && res_total(r) == N);
		CU_ASSERT_TRUE(r != NULL && r->nqgroups == 1 &&
			       r->qgroups[0].n == N / 5);
		r = match(sl, c, "wide.shut");
		CU_ASSERT_TRUE(r != NULL && res_total(r) == N / 2);
	}
	for (i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(sublist_remove(sl, &t[i]->s), 0);
		tsub_free(t[i]);
	}
	free(t);
	sublist_cache_free(c);
	sublist_free(sl);
}

static int count_visit(struct sub *s, void *arg)
{
	uint32_t *seen = arg;

	seen[tsub_of(s)->id]++;
	return 0;
}

static int stop_visit(struct sub *s, void *arg)
{
	int *n = arg;

	(void)s;
	return ++*n == 10 ? 42 : 0;
}

static void test_foreach(void)
{
	enum { N = 300 };
	static const char *const pats[] = { "a", "a.b", "a.*",   "a.>",
					    ">", "*",   "b.c.d", "*.*.d" };
	struct sublist *sl = sublist_new();
	struct tsub *t[N];
	uint32_t seen[N] = { 0 }, i, bad = 0;
	int n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sl);
	CU_ASSERT_EQUAL(sublist_foreach(sl, count_visit, seen), 0);
	for (i = 0; i < N; i++) {
		t[i] = tsub_new(pats[i % 8], i % 3 ? NULL : "q", i);
		CU_ASSERT_EQUAL(sublist_insert(sl, &t[i]->s), 0);
	}
	CU_ASSERT_EQUAL(sublist_foreach(sl, count_visit, seen), 0);
	for (i = 0; i < N; i++)
		if (seen[i] != 1)
			bad++;
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(sublist_foreach(sl, stop_visit, &n), 42);
	CU_ASSERT_EQUAL(n, 10);
	for (i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(sublist_remove(sl, &t[i]->s), 0);
		tsub_free(t[i]);
	}
	sublist_free(sl);
}

/* ---- randomized comparison with a brute-force scan ---- */

static const char *const rnd_tokens[] = { "a", "b", "c", "d", "e", "foo" };
#define NRND_TOKENS (sizeof(rnd_tokens) / sizeof(rnd_tokens[0]))

/* A random subscription subject: mostly literal, some "*", some ">". */
static void rnd_pattern(char *buf, size_t size)
{
	uint32_t n = 1 + rng() % 5, i, kind = rng() % 10;
	uint32_t star = kind == 0 ? rng() % n : UINT32_MAX;
	size_t off = 0;

	for (i = 0; i < n; i++) {
		const char *tok = rnd_tokens[rng() % NRND_TOKENS];

		if (i == star || (kind == 1 && rng() % 3 == 0))
			tok = "*";
		if (kind == 2 && i == n - 1)
			tok = ">";
		off += (size_t)snprintf(buf + off, size - off, "%s%s",
					i ? "." : "", tok);
	}
}

/* A random published subject; sometimes with literal wildcards or an
 * empty token. */
static void rnd_subject(char *buf, size_t size)
{
	uint32_t n = 1 + rng() % 6, i, kind = rng() % 20;
	size_t off = 0;

	for (i = 0; i < n; i++) {
		const char *tok = rnd_tokens[rng() % NRND_TOKENS];

		if (kind == 0 && rng() % 3 == 0)
			tok = rng() % 2 ? "*" : ">";
		if (kind == 1 && i == n - 1)
			tok = "";
		off += (size_t)snprintf(buf + off, size - off, "%s%s",
					i ? "." : "", tok);
	}
}

/* Compares one match with the brute force; returns the mismatches. */
static uint32_t check_subject(struct sublist *sl, struct sublist_cache *c,
			      struct tsub **all, const bool *in, uint32_t n,
			      uint8_t *seen, const char *subj)
{
	const struct sublist_result *r = match(sl, c, subj);
	const struct sublist_qgroup *g;
	uint32_t i, j, k, bad = 0;
	struct tsub *t;
	bool want;

	if (r == NULL)
		return 1;
	memset(seen, 0, n);
	for (i = 0; i < r->npsubs; i++) {
		t = tsub_of(r->psubs[i]);
		if (seen[t->id]++ || t->s.queue != NULL)
			bad++;
	}
	for (i = 0; i < r->nqgroups; i++) {
		g = &r->qgroups[i];
		for (k = 0; k < i; k++)
			if (r->qgroups[k].name_len == g->name_len &&
			    memcmp(r->qgroups[k].name, g->name, g->name_len) ==
				    0)
				bad++; /* the same name twice */
		if (g->n == 0)
			bad++;
		for (j = 0; j < g->n; j++) {
			t = tsub_of(g->subs[j]);
			if (seen[t->id]++ || t->s.queue == NULL ||
			    t->s.queue_len != g->name_len ||
			    memcmp(t->s.queue, g->name, g->name_len) != 0)
				bad++;
		}
	}
	for (i = 0; i < n; i++) {
		want = in[i] &&
		       subject_match(all[i]->s.subject, all[i]->s.subject_len,
				     subj, strlen(subj));
		if (want != (seen[i] != 0)) {
			if (bad < 5)
				fprintf(stderr, "\n\"%s\" vs sub \"%s\": %d\n",
					subj, all[i]->s.subject, seen[i]);
			bad++;
		}
	}
	return bad;
}

static void test_random(void)
{
	enum { NSUBS = 3000, NSUBJ = 800 };
	static const char *const qnames[] = { "q1", "q2", "q3" };
	struct sublist *sl = sublist_new();
	struct sublist_cache *big = sublist_cache_new(4096);
	struct sublist_cache *small = sublist_cache_new(16);
	struct tsub **all = calloc(NSUBS, sizeof(*all));
	bool *in = calloc(NSUBS, sizeof(*in));
	uint8_t *seen = calloc(NSUBS, 1);
	char(*subjects)[48] = calloc(NSUBJ, sizeof(*subjects));
	struct sublist_stats st;
	uint32_t i, round, bad = 0, nin = 0;
	char buf[48];

	CU_ASSERT_PTR_NOT_NULL_FATAL(sl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	CU_ASSERT_PTR_NOT_NULL_FATAL(small);
	CU_ASSERT_FATAL(all != NULL && in != NULL && seen != NULL &&
			subjects != NULL);
	for (i = 0; i < NSUBS; i++) {
		rnd_pattern(buf, sizeof(buf));
		all[i] = tsub_new(buf,
				  rng() % 5 == 0 ? qnames[rng() % 3] : NULL, i);
	}
	for (i = 0; i < NSUBJ; i++)
		rnd_subject(subjects[i], sizeof(subjects[i]));
	for (round = 0; round < 4; round++) {
		/* Round 0 inserts everything; later rounds flip a third. */
		for (i = 0; i < NSUBS; i++) {
			if (round > 0 && rng() % 3 != 0)
				continue;
			if (in[i]) {
				if (sublist_remove(sl, &all[i]->s) != 0)
					bad++;
				nin--;
			} else {
				if (sublist_insert(sl, &all[i]->s) != 0)
					bad++;
				nin++;
			}
			in[i] = !in[i];
		}
		/* Each subject twice, so the second answer is a hit. */
		for (i = 0; i < 2 * NSUBJ; i++) {
			bad += check_subject(sl, big, all, in, NSUBS, seen,
					     subjects[i % NSUBJ]);
			bad += check_subject(sl, small, all, in, NSUBS, seen,
					     subjects[rng() % NSUBJ]);
		}
		sublist_stats(sl, &st);
		if (st.nsubs != nin)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	for (i = 0; i < NSUBS; i++) {
		if (in[i])
			CU_ASSERT_EQUAL(sublist_remove(sl, &all[i]->s), 0);
		tsub_free(all[i]);
	}
	sublist_stats(sl, &st);
	CU_ASSERT_EQUAL(st.nnodes, 0);
	free(all);
	free(in);
	free(seen);
	free(subjects);
	sublist_cache_free(big);
	sublist_cache_free(small);
	sublist_free(sl);
}

/* ---- threads ---- */

enum {
	T_READERS = 3,
	T_PERM = 1500,        /* subs the writer adds and keeps */
	T_CHURN = 200,        /* subs the writer keeps adding and removing */
	T_CHURN_OPS = 8,      /* churn operations per kept sub */
	T_MAX_LOOPS = 2000000 /* bound on each reader's loop */
};

struct tshared {
	struct sublist *sl;
	struct tsub *perm[T_PERM];
	struct tsub *churn[T_CHURN];
	_Atomic uint32_t published; /* perm[0..published-1] are in */
	_Atomic int done;
	_Atomic uint64_t errors;
	_Atomic uint64_t checks;
};

/* Every sub in r matches subj, none twice (checked by id). */
static bool thr_result_ok(const struct sublist_result *r, const char *subj)
{
	const struct sub *s;
	uint32_t i, j, n = 0;
	const struct sub *list[64];

	if (r == NULL)
		return false;
	for (i = 0; i < r->npsubs + r->nqgroups; i++) {
		const struct sublist_qgroup *g =
			i < r->npsubs ? NULL : &r->qgroups[i - r->npsubs];
		uint32_t cnt = g != NULL ? g->n : 1;

		for (j = 0; j < cnt; j++) {
			s = g != NULL ? g->subs[j] : r->psubs[i];
			if (!subject_match(s->subject, s->subject_len, subj,
					   strlen(subj)))
				return false;
			if (n < 64)
				list[n++] = s;
		}
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (list[i] == list[j])
				return false;
	return true;
}

static void *reader(void *arg)
{
	struct tshared *sh = arg;
	struct sublist_cache *c = sublist_cache_new(64);
	const struct sublist_result *r;
	uint32_t loops, n, j, seed = (uint32_t)(uintptr_t)&c;
	char subj[32];

	if (c == NULL) {
		atomic_fetch_add(&sh->errors, 1);
		return NULL;
	}
	for (loops = 0; loops < T_MAX_LOOPS && !atomic_load(&sh->done);
	     loops++) {
		seed = seed * 1103515245u + 12345u;
		n = atomic_load_explicit(&sh->published, memory_order_acquire);
		/* The next one is probably absent: this caches that. */
		snprintf(subj, sizeof(subj), "p.%u", n);
		if (!thr_result_ok(match(sh->sl, c, subj), subj))
			atomic_fetch_add(&sh->errors, 1);
		if (n == 0)
			continue;
		/* Published before we looked: must be in the result. */
		j = (seed >> 8) % 4 == 0 ? (seed >> 12) % n : n - 1;
		snprintf(subj, sizeof(subj), "p.%u", j);
		r = match(sh->sl, c, subj);
		if (!thr_result_ok(r, subj) || !res_has(r, sh->perm[j]))
			atomic_fetch_add(&sh->errors, 1);
		atomic_fetch_add_explicit(&sh->checks, 1, memory_order_relaxed);
	}
	sublist_cache_free(c);
	return NULL;
}

static void *writer(void *arg)
{
	struct tshared *sh = arg;
	bool churn_in[T_CHURN] = { false };
	uint32_t i, k, op;

	for (i = 0; i < T_PERM; i++) {
		if (sublist_insert(sh->sl, &sh->perm[i]->s) != 0)
			atomic_fetch_add(&sh->errors, 1);
		atomic_store_explicit(&sh->published, i + 1,
				      memory_order_release);
		for (op = 0; op < T_CHURN_OPS; op++) {
			k = (i * 7919u + op * 104729u) % T_CHURN;
			if (churn_in[k])
				sublist_remove(sh->sl, &sh->churn[k]->s);
			else if (sublist_insert(sh->sl, &sh->churn[k]->s) != 0)
				atomic_fetch_add(&sh->errors, 1);
			churn_in[k] = !churn_in[k];
		}
	}
	for (k = 0; k < T_CHURN; k++)
		if (churn_in[k])
			sublist_remove(sh->sl, &sh->churn[k]->s);
	atomic_store(&sh->done, 1);
	return NULL;
}

static void test_threads(void)
{
	static const char *const churn_pats[] = { "p.*", "p.>", ">", "*",
						  "p.",  "c.",  "*." };
	struct tshared *sh = calloc(1, sizeof(*sh));
	pthread_t rd[T_READERS], wr;
	struct sublist_stats st;
	char subj[32];
	uint32_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sh);
	sh->sl = sublist_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(sh->sl);
	for (i = 0; i < T_PERM; i++) {
		snprintf(subj, sizeof(subj), "p.%u", i);
		sh->perm[i] = tsub_new(subj, i % 3 ? NULL : "workers", i);
	}
	for (i = 0; i < T_CHURN; i++) {
		if (i % 7 < 4)
			snprintf(subj, sizeof(subj), "%s", churn_pats[i % 7]);
		else
			snprintf(subj, sizeof(subj), "%s%u", churn_pats[i % 7],
				 i % 50);
		sh->churn[i] =
			tsub_new(subj, i % 4 ? NULL : "workers", T_PERM + i);
	}
	for (i = 0; i < T_READERS; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&rd[i], NULL, reader, sh),
				      0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&wr, NULL, writer, sh), 0);
	pthread_join(wr, NULL);
	for (i = 0; i < T_READERS; i++)
		pthread_join(rd[i], NULL);
	CU_ASSERT_EQUAL(atomic_load(&sh->errors), 0);
	CU_ASSERT_TRUE(atomic_load(&sh->checks) > 0);
	sublist_stats(sh->sl, &st);
	CU_ASSERT_EQUAL(st.nsubs, T_PERM);
	for (i = 0; i < T_PERM; i++) {
		CU_ASSERT_EQUAL(sublist_remove(sh->sl, &sh->perm[i]->s), 0);
		tsub_free(sh->perm[i]);
	}
	for (i = 0; i < T_CHURN; i++)
		tsub_free(sh->churn[i]);
	sublist_stats(sh->sl, &st);
	CU_ASSERT_EQUAL(st.nnodes, 0);
	sublist_free(sh->sl);
	free(sh);
}

/* ---- allocation failures ---- */

/* Builds an index with some structure: kids past the hash index
 * threshold, wildcards and queue groups. */
static void fault_setup(struct sublist *sl, struct tsub **pre, uint32_t n)
{
	char subj[32];
	uint32_t i;

	for (i = 0; i < n; i++) {
		snprintf(subj, sizeof(subj), i % 4 == 3 ? "k.*.%u" : "k.%u", i);
		pre[i] = tsub_new(subj, i % 5 == 0 ? "q" : NULL, i);
		if (sublist_insert(sl, &pre[i]->s) != 0)
			abort();
	}
}

static void test_alloc_failure(void)
{
	enum { NPRE = 8, NNEW = 3 };
	static const char *const news[NNEW][2] = {
		{ "k.8", NULL }, /* the 9th kid: the hash index is built */
		{ "k.x.y.z.w", "q" },
		{ "k.*.>", "q2" },
	};
	struct sublist *sl;
	struct sublist_cache *c;
	const struct sublist_result *r;
	struct tsub *pre[NPRE], *t;
	struct sublist_stats before, after;
	unsigned long calls;
	uint32_t i, k;
	long n;
	bool done;
	int rc;

	calls = alloc_fail_calls();
	sl = sublist_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(sl);
	if (alloc_fail_calls() == calls) {
		sublist_free(sl);
		fprintf(stderr, "\n  (skipped: not linked with --wrap)\n");
		return;
	}
	sublist_free(sl);
	for (k = 0; k < NNEW; k++) {
		done = false;
		for (n = 0; n < 100 && !done; n++) {
			sl = sublist_new();
			c = sublist_cache_new(16);
			CU_ASSERT_FATAL(sl != NULL && c != NULL);
			fault_setup(sl, pre, NPRE);
			t = tsub_new(news[k][0], news[k][1], 100);
			sublist_stats(sl, &before);
			alloc_fail_start(n);
			rc = sublist_insert(sl, &t->s);
			done = !alloc_fail_stop(); /* nothing failed */
			sublist_stats(sl, &after);
			if (rc == 0) {
				CU_ASSERT_EQUAL(after.nsubs, before.nsubs + 1);
				r = match(sl, c,
					  news[k][0][2] == '*' ? "k.a.b"
							       : news[k][0]);
				CU_ASSERT_TRUE(r != NULL && res_has(r, t));
				CU_ASSERT_EQUAL(sublist_remove(sl, &t->s), 0);
				sublist_stats(sl, &after);
			} else {
				CU_ASSERT_EQUAL(rc, NATSD_ENOMEM);
			}
			/* Failed or undone, nothing may be left behind. */
			CU_ASSERT_EQUAL(after.nsubs, before.nsubs);
			CU_ASSERT_EQUAL(after.nnodes, before.nnodes);
			for (i = 0; i < NPRE; i++) {
				r = match(sl, c,
					  pre[i]->s.subject[2] == '*'
						  ? "k.zz.3"
						  : pre[i]->s.subject);
				if (i % 4 != 3 || i == 3)
					CU_ASSERT_TRUE(r != NULL &&
						       res_has(r, pre[i]));
			}
			for (i = 0; i < NPRE; i++) {
				CU_ASSERT_EQUAL(sublist_remove(sl, &pre[i]->s),
						0);
				tsub_free(pre[i]);
			}
			tsub_free(t);
			sublist_cache_free(c);
			sublist_free(sl);
		}
		CU_ASSERT_TRUE(done);
	}

	/* A match that fails returns NULL, and the next one works. */
	sl = sublist_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(sl);
	fault_setup(sl, pre, NPRE);
	done = false;
	for (n = 0; n < 100 && !done; n++) {
		c = sublist_cache_new(16);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		alloc_fail_start(n);
		r = match(sl, c, "k.1");
		done = !alloc_fail_stop();
		CU_ASSERT_TRUE(r == NULL || res_is(r, &pre[1], 1));
		r = match(sl, c, "k.1");
		CU_ASSERT_TRUE(res_is(r, &pre[1], 1));
		sublist_cache_free(c);
	}
	CU_ASSERT_TRUE(done);
	for (i = 0; i < NPRE; i++) {
		CU_ASSERT_EQUAL(sublist_remove(sl, &pre[i]->s), 0);
		tsub_free(pre[i]);
	}
	sublist_free(sl);

	/* Creation failures. */
	for (n = 0; n < 4; n++) {
		alloc_fail_start(n);
		sl = sublist_new();
		c = sublist_cache_new(16);
		alloc_fail_stop();
		sublist_cache_free(c);
		sublist_free(sl);
	}
}

/* Subjects that never repeat make the cache step aside; answers stay
 * right meanwhile (a change included), and once subjects repeat again
 * the cache hits again. */
static void test_cache_bypass(void)
{
	enum { NS = 64 };
	struct sublist *sl = sublist_new();
	struct sublist_cache *c = sublist_cache_new(64);
	struct tsub *lit[NS], *wild = tsub_new("k.*", NULL, 999), *late;
	const struct sublist_result *r;
	struct sublist_stats before, after;
	char subj[32];
	uint32_t i, bad = 0;

	CU_ASSERT_FATAL(sl != NULL && c != NULL && wild != NULL);
	for (i = 0; i < NS; i++) {
		snprintf(subj, sizeof(subj), "k.%u", i);
		lit[i] = tsub_new(subj, NULL, i);
		CU_ASSERT_EQUAL(sublist_insert(sl, &lit[i]->s), 0);
	}
	CU_ASSERT_EQUAL(sublist_insert(sl, &wild->s), 0);
	/* 20,000 distinct subjects: k.<n> matches wild, and lit[n] too
	 * when n < NS. */
	for (i = 0; i < 20000; i++) {
		snprintf(subj, sizeof(subj), "k.%u", i * 7919 % 20000);
		r = match(sl, c, subj);
		if (r == NULL || !res_has(r, wild) ||
		    res_total(r) != (i * 7919 % 20000 < NS ? 2u : 1u))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* A change is seen at once, cache or not. */
	late = tsub_new("k.5", NULL, 1000);
	CU_ASSERT_EQUAL(sublist_insert(sl, &late->s), 0);
	r = match(sl, c, "k.5");
	CU_ASSERT_TRUE(r != NULL && res_has(r, late) && res_total(r) == 3);
	/* One subject over and over: while the cache still steps aside
	 * only sampled lookups hit (so not all 100,000), and within a
	 * window of them it is back (so most do). */
	sublist_stats(sl, &before);
	for (i = 0; i < 100000; i++) {
		r = match(sl, c, "k.5");
		if (r == NULL || res_total(r) != 3)
			bad++;
	}
	sublist_stats(sl, &after);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(after.ncache_hits - before.ncache_hits > 80000);
	CU_ASSERT_TRUE(after.ncache_hits - before.ncache_hits < 99000);
	for (i = 0; i < NS; i++) {
		CU_ASSERT_EQUAL(sublist_remove(sl, &lit[i]->s), 0);
		tsub_free(lit[i]);
	}
	CU_ASSERT_EQUAL(sublist_remove(sl, &wild->s), 0);
	CU_ASSERT_EQUAL(sublist_remove(sl, &late->s), 0);
	tsub_free(wild);
	tsub_free(late);
	sublist_cache_free(c);
	sublist_free(sl);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "basic matching", test_basic },
		{ "queue groups", test_queues },
		{ "errors", test_errors },
		{ "removal and pruning", test_remove_prune },
		{ "cache invalidation", test_cache },
		{ "cache steps aside for unrepeated subjects",
		  test_cache_bypass },
		{ "big results", test_big_result },
		{ "foreach", test_foreach },
		{ "random vs brute force", test_random },
		{ "threads", test_threads },
		{ "allocation failure", test_alloc_failure },
	};
	static const struct suite suite = {
		"sublist", NULL, NULL, tests, SUITE_COUNT(tests),
	};
	int rc;

	rc = suites_run(&suite, 1);
	if (rc < 0)
		return 99;
	return rc == 0 ? 0 : 1;
}
