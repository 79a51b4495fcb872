/* Tests for the sid table of core/conn.c (sidmap_get/put/del/fini): the
 * per-connection map from a client's subscription id to its sub.
 *
 * The table is open addressing with tombstones. What a caller relies on:
 * every live sid is found, a deleted one is not, deleting one entry of a
 * probe chain does not hide the entries after it, and a long run of
 * SUB/UNSUB on few live sids neither grows the table without bound nor
 * fills it with tombstones until lookups cannot stop. The tests check
 * these against a plain array model; the collision tests build sids that
 * share a home slot (the table hashes with FNV-1a, per its comment), but
 * only the behaviour is asserted, so another hash would still pass. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "conn.h"
#include "natsd/error.h"
#include "sub.h"
#include "../suites.h"

static struct sub *mksub(const char *sid)
{
	struct sub *s;

	s = sub_new(NULL, "foo", 3, NULL, 0, sid, strlen(sid));
	if (s == NULL)
		abort();
	return s;
}

static struct sub *get(const struct sidmap *m, const char *sid)
{
	return sidmap_get(m, sid, strlen(sid));
}

/* The structural promises: a power-of-two size, the counts right, and
 * at least a quarter of the slots empty so that every probe ends. */
static bool table_sane(const struct sidmap *m)
{
	uint32_t i, live = 0, tombs = 0, empty = 0;

	if (m->cap == 0)
		return m->n == 0 && m->tombs == 0;
	if ((m->cap & (m->cap - 1)) != 0)
		return false;
	for (i = 0; i < m->cap; i++) {
		if (m->slots[i] == NULL)
			empty++;
		else if (m->slots[i] == SIDMAP_TOMB)
			tombs++;
		else
			live++;
	}
	return live == m->n && tombs == m->tombs && empty * 4 >= m->cap;
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void test_empty(void)
{
	struct sidmap m = { 0 };
	struct sub *s = mksub("1");

	CU_ASSERT_PTR_NULL(get(&m, "1"));
	CU_ASSERT_PTR_NULL(sidmap_get(&m, "", 0));
	sidmap_del(&m, s); /* not there: nothing happens */
	CU_ASSERT(table_sane(&m));
	sidmap_fini(&m);
	sidmap_fini(&m);
	CU_ASSERT_EQUAL(m.cap, 0);
	sub_free(s);
}

static void test_basic(void)
{
	struct sidmap m = { 0 };
	struct sub *a = mksub("1"), *b = mksub("2"), *c = mksub("10");

	CU_ASSERT_EQUAL(sidmap_put(&m, a), 0);
	CU_ASSERT_EQUAL(sidmap_put(&m, b), 0);
	CU_ASSERT_EQUAL(sidmap_put(&m, c), 0);
	CU_ASSERT_EQUAL(m.n, 3);
	CU_ASSERT(table_sane(&m));
	CU_ASSERT_PTR_EQUAL(get(&m, "1"), a);
	CU_ASSERT_PTR_EQUAL(get(&m, "2"), b);
	CU_ASSERT_PTR_EQUAL(get(&m, "10"), c);
	CU_ASSERT_PTR_NULL(get(&m, "3"));
	CU_ASSERT_PTR_NULL(get(&m, "01"));
	CU_ASSERT_PTR_NULL(get(&m, ""));
	/* The length is what counts: "10" is not "1", "1x" with length 1
	 * is. */
	CU_ASSERT_PTR_EQUAL(sidmap_get(&m, "1x", 1), a);
	CU_ASSERT_PTR_EQUAL(sidmap_get(&m, "100", 2), c);

	sidmap_del(&m, b);
	CU_ASSERT_EQUAL(m.n, 2);
	CU_ASSERT_PTR_NULL(get(&m, "2"));
	CU_ASSERT_PTR_EQUAL(get(&m, "1"), a);
	CU_ASSERT_PTR_EQUAL(get(&m, "10"), c);
	CU_ASSERT(table_sane(&m));
	/* Deleting it again changes nothing. */
	sidmap_del(&m, b);
	CU_ASSERT_EQUAL(m.n, 2);
	CU_ASSERT(table_sane(&m));
	/* Back again. */
	CU_ASSERT_EQUAL(sidmap_put(&m, b), 0);
	CU_ASSERT_PTR_EQUAL(get(&m, "2"), b);
	CU_ASSERT(table_sane(&m));
	sidmap_fini(&m);
	CU_ASSERT_EQUAL(m.cap, 0);
	CU_ASSERT_EQUAL(m.n, 0);
	CU_ASSERT_PTR_NULL(m.slots);
	sub_free(a);
	sub_free(b);
	sub_free(c);
}

/* Deletion works on the sub pointer: another sub with the same sid
 * text (not in the table) is not removed in its place. */
static void test_delete_by_pointer(void)
{
	struct sidmap m = { 0 };
	struct sub *a = mksub("7"), *twin = mksub("7");

	CU_ASSERT_EQUAL(sidmap_put(&m, a), 0);
	sidmap_del(&m, twin);
	CU_ASSERT_PTR_EQUAL(get(&m, "7"), a);
	CU_ASSERT_EQUAL(m.n, 1);
	sidmap_del(&m, a);
	CU_ASSERT_PTR_NULL(get(&m, "7"));
	sidmap_fini(&m);
	sub_free(a);
	sub_free(twin);
}

/* Sids sharing a home slot form one probe chain; removing any of them
 * must leave the others reachable, and a new one may reuse the hole. */
static void test_collisions(void)
{
	struct sidmap m = { 0 };
	struct sub *subs[5];
	char sids[5][16];
	uint32_t home = 0;
	int i, k, found = 0;

	/* Five sids with the same slot in a table of 16. */
	for (i = 0; found < 5 && i < 100000; i++) {
		char buf[16];

		snprintf(buf, sizeof(buf), "s%d", i);
		if (found == 0)
			home = fnv1a(buf) & 15;
		if ((fnv1a(buf) & 15) != home)
			continue;
		snprintf(sids[found], sizeof(sids[found]), "%s", buf);
		found++;
	}
	CU_ASSERT_EQUAL_FATAL(found, 5);
	for (i = 0; i < 5; i++)
		subs[i] = mksub(sids[i]);

	/* Delete each position of the chain in turn. */
	for (k = 0; k < 5; k++) {
		for (i = 0; i < 5; i++)
			CU_ASSERT_EQUAL_FATAL(sidmap_put(&m, subs[i]), 0);
		sidmap_del(&m, subs[k]);
		for (i = 0; i < 5; i++) {
			struct sub *want = i == k ? NULL : subs[i];

			CU_ASSERT_PTR_EQUAL(get(&m, sids[i]), want);
		}
		CU_ASSERT(table_sane(&m));
		/* Put it back (into the tombstone or elsewhere). */
		CU_ASSERT_EQUAL(sidmap_put(&m, subs[k]), 0);
		for (i = 0; i < 5; i++)
			CU_ASSERT_PTR_EQUAL(get(&m, sids[i]), subs[i]);
		CU_ASSERT(table_sane(&m));
		for (i = 0; i < 5; i++)
			sidmap_del(&m, subs[i]);
		CU_ASSERT_EQUAL(m.n, 0);
		for (i = 0; i < 5; i++)
			CU_ASSERT_PTR_NULL(get(&m, sids[i]));
		CU_ASSERT(table_sane(&m));
	}
	sidmap_fini(&m);
	for (i = 0; i < 5; i++)
		sub_free(subs[i]);
}

/* Many inserts: the table grows, stays a power of two with room to
 * spare, and everything stays reachable across every regrowth. */
static void test_growth(void)
{
	enum { N = 5000 };
	struct sidmap m = { 0 };
	static struct sub *subs[N];
	char sid[32];
	uint32_t lastcap = 0;
	int i, k, grew = 0;

	for (i = 0; i < N; i++) {
		snprintf(sid, sizeof(sid), "%d", i);
		subs[i] = mksub(sid);
		CU_ASSERT_EQUAL_FATAL(sidmap_put(&m, subs[i]), 0);
		if (m.cap != lastcap) {
			grew++;
			lastcap = m.cap;
			CU_ASSERT_FATAL(table_sane(&m));
			/* Right after a regrowth: all there. */
			for (k = 0; k <= i; k++)
				CU_ASSERT_PTR_EQUAL(
					sidmap_get(&m, subs[k]->sid,
						   subs[k]->sid_len),
					subs[k]);
		}
	}
	CU_ASSERT_EQUAL(m.n, N);
	CU_ASSERT(grew >= 8);
	CU_ASSERT(m.cap >= N + N / 3);
	CU_ASSERT(m.cap <= 4 * N);
	CU_ASSERT(table_sane(&m));
	for (i = 0; i < N; i++)
		CU_ASSERT_PTR_EQUAL(
			sidmap_get(&m, subs[i]->sid, subs[i]->sid_len),
			subs[i]);
	CU_ASSERT_PTR_NULL(get(&m, "5000"));
	CU_ASSERT_PTR_NULL(get(&m, "-1"));

	/* Delete the odd ones; the even ones remain. */
	for (i = 1; i < N; i += 2)
		sidmap_del(&m, subs[i]);
	CU_ASSERT_EQUAL(m.n, N / 2);
	CU_ASSERT(table_sane(&m));
	for (i = 0; i < N; i++) {
		struct sub *want = i % 2 ? NULL : subs[i];

		CU_ASSERT_PTR_EQUAL(
			sidmap_get(&m, subs[i]->sid, subs[i]->sid_len), want);
	}
	sidmap_fini(&m);
	for (i = 0; i < N; i++)
		sub_free(subs[i]);
}

/* SUB/UNSUB churn over few live sids: tombstones are cleaned up by
 * rehashing, the table does not keep doubling, and lookups of absent
 * sids still terminate (the test would hang otherwise; the step count
 * bounds it). */
static void test_churn(void)
{
	enum { LIVE = 10, STEPS = 200000 };
	struct sidmap m = { 0 };
	struct sub *live[LIVE] = { 0 };
	char sid[32];
	uint32_t maxcap = 0;
	int i, k;

	for (i = 0; i < STEPS; i++) {
		k = i % LIVE;
		if (live[k] != NULL) {
			sidmap_del(&m, live[k]);
			CU_ASSERT_PTR_NULL_FATAL(
				sidmap_get(&m, live[k]->sid, live[k]->sid_len));
			sub_free(live[k]);
		}
		snprintf(sid, sizeof(sid), "%d", i);
		live[k] = mksub(sid);
		CU_ASSERT_EQUAL_FATAL(sidmap_put(&m, live[k]), 0);
		if (m.cap > maxcap)
			maxcap = m.cap;
		/* Checked before the lookup below, which would not stop in
		 * a table without an empty slot. */
		CU_ASSERT_FATAL(table_sane(&m));
		/* An absent sid: the probe must stop. */
		snprintf(sid, sizeof(sid), "x%d", i);
		CU_ASSERT_PTR_NULL_FATAL(get(&m, sid));
	}
	CU_ASSERT_EQUAL(m.n, LIVE);
	CU_ASSERT(table_sane(&m));
	/* Ten live entries need no more than a few dozen slots. */
	CU_ASSERT(maxcap <= 64);
	for (k = 0; k < LIVE; k++)
		CU_ASSERT_PTR_EQUAL(
			sidmap_get(&m, live[k]->sid, live[k]->sid_len),
			live[k]);
	sidmap_fini(&m);
	for (k = 0; k < LIVE; k++)
		sub_free(live[k]);
}

static uint32_t rng_state = 2463534242u;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* Random puts and deletes against a model array of every sid ever
 * used. */
static void test_random(void)
{
	enum { SIDS = 3000, STEPS = 100000 };
	struct sidmap m = { 0 };
	static struct sub *subs[SIDS];
	static bool in[SIDS];
	char sid[32];
	uint32_t n = 0;
	int i, k;

	for (i = 0; i < SIDS; i++) {
		snprintf(sid, sizeof(sid), "sid-%d", i * 7919);
		subs[i] = mksub(sid);
	}
	for (i = 0; i < STEPS; i++) {
		uint32_t r = rnd();

		k = (int)((r >> 4) % SIDS);
		/* Bias towards filling up, then towards emptying, so the
		 * table grows and shrinks through its whole range. */
		if (!in[k] && ((i / 20000) % 2 == 0 || r % 4 == 0)) {
			CU_ASSERT_EQUAL_FATAL(sidmap_put(&m, subs[k]), 0);
			in[k] = true;
			n++;
		} else if (in[k]) {
			sidmap_del(&m, subs[k]);
			in[k] = false;
			n--;
		}
		CU_ASSERT_EQUAL_FATAL(m.n, n);
		k = (int)((r >> 16) % SIDS);
		CU_ASSERT_PTR_EQUAL_FATAL(
			sidmap_get(&m, subs[k]->sid, subs[k]->sid_len),
			in[k] ? subs[k] : NULL);
		if (i % 5000 == 0) {
			CU_ASSERT_FATAL(table_sane(&m));
			for (k = 0; k < SIDS; k++)
				CU_ASSERT_PTR_EQUAL_FATAL(
					sidmap_get(&m, subs[k]->sid,
						   subs[k]->sid_len),
					in[k] ? subs[k] : NULL);
		}
	}
	CU_ASSERT(table_sane(&m));
	sidmap_fini(&m);
	for (i = 0; i < SIDS; i++)
		sub_free(subs[i]);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "empty table", test_empty },
		{ "put get del", test_basic },
		{ "delete by pointer", test_delete_by_pointer },
		{ "collisions and tombstones", test_collisions },
		{ "growth", test_growth },
		{ "SUB/UNSUB churn", test_churn },
		{ "random against a model", test_random },
	};
	static const struct suite suite = { "conn_sidmap", NULL, NULL, tests,
					    SUITE_COUNT(tests) };
	int rc;

	/* A broken table can make a lookup probe forever: fail, not hang. */
	alarm(60);
	rc = suites_run(&suite, 1);
	return rc < 0 ? 99 : rc;
}
