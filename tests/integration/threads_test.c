#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Many publishers at once. Each publisher thread has its own connection and
 * sends a numbered sequence on its own subject th.p<i>. Subscribers on other
 * connections listen on every publisher's literal subject, on the shared
 * wildcards th.* and th.>, and in a queue group on th.*. Every subscriber
 * checks that no message is lost or duplicated and that each publisher's
 * order is kept; queue members check their share is in order and that the
 * group together got everything exactly once.
 *
 * Client-side pending limits are lifted so that a slow callback thread can
 * never make the client library drop messages: any loss seen is the
 * server's.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <nats/nats.h>

#include "harness.h"
#include "itest.h"

#define NPUB       8
#define NMSG       20000
#define NQUEUE     2
#define WAIT_MS    ITEST_WAIT_MS /* upper bound for control operations */
#define DELIVER_MS 15000         /* upper bound for all deliveries */
#define WATCHDOG_S 60

static struct hserver srv;

/* One subscription's view. In strict mode every publisher's messages must
 * arrive as 0, 1, 2, ...; otherwise (a queue member) they must only rise,
 * and each is marked in the group's shared seen table. */
struct stream {
	struct itest_tally received;
	pthread_mutex_t mu;
	bool strict;
	int next[NPUB]; /* strict: expected; else: lowest allowed */
	long bad;       /* malformed, lost, duplicated, reordered */
	struct group *group;
};

struct group {
	pthread_mutex_t mu;
	unsigned char seen[NPUB][NMSG];
	long dups;
};

static void stream_init(struct stream *s, bool strict, struct group *g)
{
	memset(s, 0, sizeof(*s));
	itest_tally_init(&s->received);
	pthread_mutex_init(&s->mu, NULL);
	s->strict = strict;
	s->group = g;
}

static void stream_fini(struct stream *s)
{
	itest_tally_fini(&s->received);
	pthread_mutex_destroy(&s->mu);
}

/* Payload is "<publisher> <sequence>". Returns false if malformed. */
static bool parse_payload(natsMsg *m, int *pub, int *seq)
{
	char buf[32];
	char *end;
	long p, q;
	int len = natsMsg_GetDataLength(m);

	if (len <= 0 || len >= (int)sizeof(buf))
		return false;
	memcpy(buf, natsMsg_GetData(m), (size_t)len);
	buf[len] = '\0';
	p = strtol(buf, &end, 10);
	if (*end != ' ')
		return false;
	q = strtol(end + 1, &end, 10);
	if (*end != '\0' || p < 0 || p >= NPUB || q < 0 || q >= NMSG)
		return false;
	*pub = (int)p;
	*seq = (int)q;
	return true;
}

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m,
		   void *closure)
{
	struct stream *s = closure;
	int pub, seq;
	bool ok;

	(void)nc;
	(void)sub;
	ok = parse_payload(m, &pub, &seq);
	natsMsg_Destroy(m);
	pthread_mutex_lock(&s->mu);
	if (!ok) {
		s->bad++;
	} else if (s->strict) {
		if (seq != s->next[pub])
			s->bad++;
		s->next[pub] = seq + 1;
	} else {
		if (seq < s->next[pub])
			s->bad++;
		s->next[pub] = seq + 1;
	}
	pthread_mutex_unlock(&s->mu);
	if (ok && s->group != NULL) {
		pthread_mutex_lock(&s->group->mu);
		if (s->group->seen[pub][seq]++ != 0)
			s->group->dups++;
		pthread_mutex_unlock(&s->group->mu);
	}
	itest_tally_add(&s->received, 1);
}

struct publisher {
	pthread_t thread;
	natsConnection *nc;
	pthread_barrier_t *start;
	int id;
	int failures;
};

static void *publish_run(void *arg)
{
	struct publisher *p = arg;
	char subject[32], payload[32];
	int i;

	snprintf(subject, sizeof(subject), "th.p%d", p->id);
	pthread_barrier_wait(p->start);
	for (i = 0; i < NMSG; i++) {
		snprintf(payload, sizeof(payload), "%d %d", p->id, i);
		if (natsConnection_PublishString(p->nc, subject, payload) !=
		    NATS_OK)
			p->failures++;
	}
	if (natsConnection_FlushTimeout(p->nc, DELIVER_MS) != NATS_OK)
		p->failures++;
	return NULL;
}

static natsSubscription *subscribe(natsConnection *nc, const char *subject,
				   const char *queue, struct stream *s)
{
	natsSubscription *sub = NULL;
	natsStatus st;

	if (queue != NULL)
		st = natsConnection_QueueSubscribe(&sub, nc, subject, queue,
						   on_msg, s);
	else
		st = natsConnection_Subscribe(&sub, nc, subject, on_msg, s);
	if (st == NATS_OK)
		st = natsSubscription_SetPendingLimits(sub, -1, -1);
	if (st != NATS_OK) {
		natsSubscription_Destroy(sub);
		return NULL;
	}
	return sub;
}

/* Waits until s has received want messages or the deadline passes. */
static void wait_received(struct stream *s, long want, int64_t deadline)
{
	int64_t left = deadline - nats_Now();

	itest_tally_wait(&s->received, want, left > 0 ? (int)left : 0);
}

static int suite_init(void)
{
	return itest_start(&srv, NULL, NULL);
}

static int suite_fini(void)
{
	return itest_stop(&srv) ? 0 : -1;
}

/* The subscribers' side of the test: connections and what they saw. */
struct receivers {
	natsConnection *each_nc, *star_nc, *fwc_nc, *queue_nc[NQUEUE];
	natsSubscription *each_sub[NPUB], *star_sub, *fwc_sub;
	natsSubscription *queue_sub[NQUEUE];
	struct stream each[NPUB], star, fwc, queue[NQUEUE];
	struct group group;
};

static void receivers_open(struct receivers *r)
{
	char subject[32];
	int i;

	r->each_nc = itest_client(srv.port);
	r->star_nc = itest_client(srv.port);
	r->fwc_nc = itest_client(srv.port);
	CU_ASSERT_FATAL(r->each_nc != NULL && r->star_nc != NULL &&
			r->fwc_nc != NULL);
	pthread_mutex_init(&r->group.mu, NULL);
	for (i = 0; i < NPUB; i++) {
		stream_init(&r->each[i], true, NULL);
		snprintf(subject, sizeof(subject), "th.p%d", i);
		r->each_sub[i] =
			subscribe(r->each_nc, subject, NULL, &r->each[i]);
		CU_ASSERT_FATAL(r->each_sub[i] != NULL);
	}
	stream_init(&r->star, true, NULL);
	stream_init(&r->fwc, true, NULL);
	r->star_sub = subscribe(r->star_nc, "th.*", NULL, &r->star);
	r->fwc_sub = subscribe(r->fwc_nc, "th.>", NULL, &r->fwc);
	CU_ASSERT_FATAL(r->star_sub != NULL && r->fwc_sub != NULL);
	for (i = 0; i < NQUEUE; i++) {
		r->queue_nc[i] = itest_client(srv.port);
		CU_ASSERT_FATAL(r->queue_nc[i] != NULL);
		stream_init(&r->queue[i], false, &r->group);
		r->queue_sub[i] =
			subscribe(r->queue_nc[i], "th.*", "tq", &r->queue[i]);
		CU_ASSERT_FATAL(r->queue_sub[i] != NULL);
		CU_ASSERT(natsConnection_FlushTimeout(r->queue_nc[i],
						      WAIT_MS) == NATS_OK);
	}
	CU_ASSERT(natsConnection_FlushTimeout(r->each_nc, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(r->star_nc, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(r->fwc_nc, WAIT_MS) == NATS_OK);
}

static void receivers_flush(struct receivers *r)
{
	int i;

	CU_ASSERT(natsConnection_FlushTimeout(r->each_nc, DELIVER_MS) ==
		  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(r->star_nc, DELIVER_MS) ==
		  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(r->fwc_nc, DELIVER_MS) ==
		  NATS_OK);
	for (i = 0; i < NQUEUE; i++)
		CU_ASSERT(natsConnection_FlushTimeout(r->queue_nc[i],
						      DELIVER_MS) == NATS_OK);
}

/* A strict stream must hold all of publisher only's messages, or all of
 * every publisher's when only is -1, and nothing else. */
static void check_strict(struct stream *s, const char *what, int only)
{
	long want = only < 0 ? (long)NPUB * NMSG : NMSG;
	long received = itest_tally_get(&s->received);
	int i;

	if (received != want || s->bad != 0)
		fprintf(stderr, "%s: received %ld of %ld, %ld out of order\n",
			what, received, want, s->bad);
	CU_ASSERT_EQUAL(received, want);
	CU_ASSERT_EQUAL(s->bad, 0);
	for (i = 0; i < NPUB; i++)
		CU_ASSERT_EQUAL(s->next[i], only < 0 || only == i ? NMSG : 0);
}

static void receivers_check(struct receivers *r)
{
	long queue_total = 0, missing = 0, received;
	char what[32];
	int i, j;

	for (i = 0; i < NPUB; i++) {
		snprintf(what, sizeof(what), "th.p%d", i);
		check_strict(&r->each[i], what, i);
	}
	check_strict(&r->star, "th.*", -1);
	check_strict(&r->fwc, "th.>", -1);
	for (i = 0; i < NQUEUE; i++) {
		received = itest_tally_get(&r->queue[i].received);
		queue_total += received;
		CU_ASSERT_EQUAL(r->queue[i].bad, 0);
		CU_ASSERT(received > 0);
	}
	for (i = 0; i < NPUB; i++)
		for (j = 0; j < NMSG; j++)
			if (r->group.seen[i][j] == 0)
				missing++;
	if (queue_total != (long)NPUB * NMSG || missing != 0 ||
	    r->group.dups != 0)
		fprintf(stderr, "queue: %ld received, %ld missing, %ld dups\n",
			queue_total, missing, r->group.dups);
	CU_ASSERT_EQUAL(queue_total, (long)NPUB * NMSG);
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_EQUAL(r->group.dups, 0);
}

static void receivers_close(struct receivers *r)
{
	int i;

	for (i = 0; i < NPUB; i++) {
		natsSubscription_Destroy(r->each_sub[i]);
		stream_fini(&r->each[i]);
	}
	natsSubscription_Destroy(r->star_sub);
	natsSubscription_Destroy(r->fwc_sub);
	for (i = 0; i < NQUEUE; i++) {
		natsSubscription_Destroy(r->queue_sub[i]);
		natsConnection_Destroy(r->queue_nc[i]);
		stream_fini(&r->queue[i]);
	}
	natsConnection_Destroy(r->each_nc);
	natsConnection_Destroy(r->star_nc);
	natsConnection_Destroy(r->fwc_nc);
	stream_fini(&r->star);
	stream_fini(&r->fwc);
	pthread_mutex_destroy(&r->group.mu);
}

static void test_many_publishers(void)
{
	struct publisher pubs[NPUB];
	pthread_barrier_t start;
	struct receivers *r;
	int64_t t0, deadline;
	int i, started = 0;

	r = calloc(1, sizeof(*r));
	CU_ASSERT_FATAL(r != NULL);
	receivers_open(r);
	pthread_barrier_init(&start, NULL, NPUB + 1);
	for (i = 0; i < NPUB; i++) {
		pubs[i].id = i;
		pubs[i].start = &start;
		pubs[i].failures = 0;
		pubs[i].nc = itest_client(srv.port);
		CU_ASSERT_FATAL(pubs[i].nc != NULL);
	}
	for (i = 0; i < NPUB; i++) {
		if (pthread_create(&pubs[i].thread, NULL, publish_run,
				   &pubs[i]) != 0)
			break;
		started++;
	}
	CU_ASSERT_FATAL(started == NPUB);
	t0 = nats_Now();
	pthread_barrier_wait(&start);
	for (i = 0; i < NPUB; i++) {
		pthread_join(pubs[i].thread, NULL);
		CU_ASSERT_EQUAL(pubs[i].failures, 0);
	}

	/* Every publisher's PING came back, so the server has queued all
	 * deliveries; the subscribers' PINGs come back behind them. */
	receivers_flush(r);
	deadline = nats_Now() + DELIVER_MS;
	for (i = 0; i < NPUB; i++)
		wait_received(&r->each[i], NMSG, deadline);
	wait_received(&r->star, (long)NPUB * NMSG, deadline);
	wait_received(&r->fwc, (long)NPUB * NMSG, deadline);
	for (i = 0; i < NQUEUE; i++)
		wait_received(&r->queue[i], 1, deadline);
	/* The queue members' sum is known only once both are done. */
	while (nats_Now() < deadline) {
		long sum = 0;

		for (i = 0; i < NQUEUE; i++)
			sum += itest_tally_get(&r->queue[i].received);
		if (sum >= (long)NPUB * NMSG)
			break;
		nats_Sleep(5);
	}
	printf("\n  %d x %d messages, %ld deliveries in %lld ms\n", NPUB, NMSG,
	       (long)NPUB * NMSG * 4, (long long)(nats_Now() - t0));
	receivers_check(r);

	for (i = 0; i < NPUB; i++)
		natsConnection_Destroy(pubs[i].nc);
	pthread_barrier_destroy(&start);
	receivers_close(r);
	free(r);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "publishers and subscribers in parallel",
		  test_many_publishers },
	};
	static const struct suite suite = {
		"threads", suite_init, suite_fini, tests, SUITE_COUNT(tests),
	};
	int rc;

	itest_init("threads_test", WATCHDOG_S, &srv.pid);
	rc = suites_run(&suite, 1);
	nats_CloseAndWait(WAIT_MS);
	return rc == 0 ? 0 : 1;
}
