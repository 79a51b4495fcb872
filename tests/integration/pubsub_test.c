#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Publish/subscribe through a real server, driven by the NATS C client
 * (libnats) and, where exact bytes or server-side enforcement matter, by a
 * raw socket. One server is started for the whole program; every test uses
 * its own connections and its own subject prefix so tests cannot see each
 * other's traffic.
 *
 * A message published on connection P is queued by the server for its
 * subscribers before the server answers P's PING; a subscriber connection's
 * own PING is then answered after those messages. So "flush the publisher,
 * then flush the subscriber" means every message is in the subscriber's
 * local queue, and counting needs no sleeps.
 */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <nats/nats.h>

#include "harness.h"
#include "itest.h"

#define WAIT_MS    ITEST_WAIT_MS
#define QUIET_MS   100 /* how long "nothing more arrives" is checked */
#define WATCHDOG_S 60

/* A raw client's CONNECT: headers on. */
#define RAW_CONNECT                                                            \
	"{\"verbose\":false,\"pedantic\":false,"                               \
	"\"headers\":true,\"protocol\":1}"

static struct hserver srv;

/* Takes up to max messages from a synchronous subscription, stopping at the
 * first wait longer than QUIET_MS. Returns how many were taken; each is
 * handed to check (if not NULL) before it is destroyed. */
static int drain_sync(natsSubscription *sub, int max,
		      void (*check)(natsMsg *m, void *arg), void *arg)
{
	natsMsg *m;
	int n = 0;

	while (n < max &&
	       natsSubscription_NextMsg(&m, sub, QUIET_MS) == NATS_OK) {
		if (check != NULL)
			check(m, arg);
		natsMsg_Destroy(m);
		n++;
	}
	return n;
}

static int suite_init(void)
{
	return itest_start(&srv, NULL, NULL);
}

static int suite_fini(void)
{
	return itest_stop(&srv) ? 0 : -1;
}

/* Messages arrive in publish order with subject and payload intact; after
 * an unsubscribe only the remaining subscription gets them. */
static void test_basic(void)
{
	natsSubscription *a = NULL, *b = NULL;
	natsConnection *nc;
	natsMsg *m;
	char want[32];
	int i;

	nc = itest_client(srv.port);
	CU_ASSERT_FATAL(nc != NULL);
	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&a, nc, "basic.s") ==
			NATS_OK);
	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&b, nc, "basic.s") ==
			NATS_OK);
	for (i = 0; i < 10; i++) {
		snprintf(want, sizeof(want), "m%d", i);
		CU_ASSERT(natsConnection_PublishString(nc, "basic.s", want) ==
			  NATS_OK);
	}
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	for (i = 0; i < 10; i++) {
		snprintf(want, sizeof(want), "m%d", i);
		if (natsSubscription_NextMsg(&m, a, WAIT_MS) != NATS_OK) {
			CU_FAIL("message missing");
			break;
		}
		CU_ASSERT_STRING_EQUAL(natsMsg_GetSubject(m), "basic.s");
		CU_ASSERT(natsMsg_GetReply(m) == NULL);
		CU_ASSERT_EQUAL(natsMsg_GetDataLength(m), (int)strlen(want));
		CU_ASSERT_NSTRING_EQUAL(natsMsg_GetData(m), want, strlen(want));
		natsMsg_Destroy(m);
	}
	CU_ASSERT(natsSubscription_NextMsg(&m, a, QUIET_MS) == NATS_TIMEOUT);
	CU_ASSERT_EQUAL(drain_sync(b, 100, NULL, NULL), 10);

	CU_ASSERT(natsSubscription_Unsubscribe(a) == NATS_OK);
	CU_ASSERT(natsConnection_PublishString(nc, "basic.s", "late") ==
		  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	CU_ASSERT_EQUAL(drain_sync(b, 100, NULL, NULL), 1);

	natsSubscription_Destroy(a);
	natsSubscription_Destroy(b);
	natsConnection_Destroy(nc);
}

struct wild_case {
	const char *filter;
	const char *want[6]; /* subjects expected, in publish order */
};

static void check_subject(natsMsg *m, void *arg)
{
	const char ***next = arg;

	if (**next == NULL) {
		CU_FAIL("unexpected extra message");
		return;
	}
	CU_ASSERT_STRING_EQUAL(natsMsg_GetSubject(m), **next);
	(*next)++;
}

/* '*' matches exactly one token, '>' one or more trailing tokens. */
static void test_wildcards(void)
{
	static const char *const pubs[] = {
		"w", "w.a", "w.a.b", "w.x.c", "w.a.b.c", "wx.a", "v.a",
	};
	static const struct wild_case cases[] = {
		{ "w.*", { "w.a", NULL } },
		{ "w.>", { "w.a", "w.a.b", "w.x.c", "w.a.b.c", NULL } },
		{ "w.*.c", { "w.x.c", NULL } },
		{ "w.a.>", { "w.a.b", "w.a.b.c", NULL } },
		{ "w.*.>", { "w.a.b", "w.x.c", "w.a.b.c", NULL } },
		{ "*.a", { "w.a", "wx.a", "v.a", NULL } },
		{ "w", { "w", NULL } },
		{ "w.a.b.c", { "w.a.b.c", NULL } },
	};
	enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
	natsSubscription *subs[NCASES] = { NULL };
	natsConnection *nc, *pub;
	size_t i;

	nc = itest_client(srv.port);
	pub = itest_client(srv.port);
	CU_ASSERT_FATAL(nc != NULL && pub != NULL);
	for (i = 0; i < NCASES; i++)
		CU_ASSERT_FATAL(natsConnection_SubscribeSync(&subs[i], nc,
							     cases[i].filter) ==
				NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	for (i = 0; i < sizeof(pubs) / sizeof(pubs[0]); i++)
		CU_ASSERT(natsConnection_PublishString(pub, pubs[i], "x") ==
			  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(pub, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);

	for (i = 0; i < NCASES; i++) {
		const char *const *next = cases[i].want;
		int want = 0, got;

		while (cases[i].want[want] != NULL)
			want++;
		got = drain_sync(subs[i], 100, check_subject, &next);
		if (got != want)
			fprintf(stderr, "filter %s: got %d, want %d\n",
				cases[i].filter, got, want);
		CU_ASSERT_EQUAL(got, want);
		natsSubscription_Destroy(subs[i]);
	}
	natsConnection_Destroy(pub);
	natsConnection_Destroy(nc);
}

#define QG_MSGS    300
#define QG_MEMBERS 3

struct qg_seen {
	int count[QG_MSGS];
};

static void qg_record(natsMsg *m, void *arg)
{
	struct qg_seen *seen = arg;
	char buf[16];
	char *end;
	long v;
	int len = natsMsg_GetDataLength(m);

	if (len <= 0 || len >= (int)sizeof(buf)) {
		CU_FAIL("bad payload");
		return;
	}
	memcpy(buf, natsMsg_GetData(m), (size_t)len);
	buf[len] = '\0';
	v = strtol(buf, &end, 10);
	if (*end != '\0' || v < 0 || v >= QG_MSGS) {
		CU_FAIL("bad payload");
		return;
	}
	seen->count[v]++;
}

/* Each message goes to exactly one member of a queue group, to exactly one
 * member of every other group, and to every plain subscriber. */
static void test_queue_groups(void)
{
	natsConnection *members[QG_MEMBERS] = { NULL };
	natsSubscription *q1[QG_MEMBERS] = { NULL };
	natsSubscription *q2[2] = { NULL };
	natsSubscription *plain = NULL;
	natsConnection *pub, *other;
	struct qg_seen *s1, *s2, *sp;
	char payload[16];
	int i, got;

	s1 = calloc(1, sizeof(*s1));
	s2 = calloc(1, sizeof(*s2));
	sp = calloc(1, sizeof(*sp));
	CU_ASSERT_FATAL(s1 != NULL && s2 != NULL && sp != NULL);
	pub = itest_client(srv.port);
	other = itest_client(srv.port);
	CU_ASSERT_FATAL(pub != NULL && other != NULL);
	for (i = 0; i < QG_MEMBERS; i++) {
		members[i] = itest_client(srv.port);
		CU_ASSERT_FATAL(members[i] != NULL);
		CU_ASSERT_FATAL(natsConnection_QueueSubscribeSync(
					&q1[i], members[i], "qg.work", "q1") ==
				NATS_OK);
		CU_ASSERT(natsSubscription_SetPendingLimits(q1[i], -1, -1) ==
			  NATS_OK);
		CU_ASSERT(natsConnection_FlushTimeout(members[i], WAIT_MS) ==
			  NATS_OK);
	}
	for (i = 0; i < 2; i++)
		CU_ASSERT_FATAL(
			natsConnection_QueueSubscribeSync(&q2[i], other, "qg.*",
							  "q2") == NATS_OK);
	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&plain, other,
						     "qg.work") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(other, WAIT_MS) == NATS_OK);

	for (i = 0; i < QG_MSGS; i++) {
		snprintf(payload, sizeof(payload), "%d", i);
		CU_ASSERT(natsConnection_PublishString(pub, "qg.work",
						       payload) == NATS_OK);
	}
	CU_ASSERT(natsConnection_FlushTimeout(pub, WAIT_MS) == NATS_OK);
	for (i = 0; i < QG_MEMBERS; i++)
		CU_ASSERT(natsConnection_FlushTimeout(members[i], WAIT_MS) ==
			  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(other, WAIT_MS) == NATS_OK);

	for (i = 0; i < QG_MEMBERS; i++) {
		got = drain_sync(q1[i], QG_MSGS + 1, qg_record, s1);
		/* A random or round-robin pick over 300 messages leaves no
		 * member idle. */
		CU_ASSERT(got > 0);
	}
	for (i = 0; i < 2; i++)
		drain_sync(q2[i], QG_MSGS + 1, qg_record, s2);
	CU_ASSERT_EQUAL(drain_sync(plain, QG_MSGS + 1, qg_record, sp), QG_MSGS);
	for (i = 0; i < QG_MSGS; i++) {
		if (s1->count[i] != 1 || s2->count[i] != 1 ||
		    sp->count[i] != 1) {
			fprintf(stderr, "msg %d: q1 %d q2 %d plain %d\n", i,
				s1->count[i], s2->count[i], sp->count[i]);
			CU_FAIL("queue group delivery not exactly once");
			break;
		}
	}

	for (i = 0; i < QG_MEMBERS; i++) {
		natsSubscription_Destroy(q1[i]);
		natsConnection_Destroy(members[i]);
	}
	natsSubscription_Destroy(q2[0]);
	natsSubscription_Destroy(q2[1]);
	natsSubscription_Destroy(plain);
	natsConnection_Destroy(other);
	natsConnection_Destroy(pub);
	free(s1);
	free(s2);
	free(sp);
}

/* The client's auto-unsubscribe delivers exactly N, and the server itself
 * stops after N when told "UNSUB <sid> <max>" (checked on a raw socket). */
static void test_auto_unsubscribe(void)
{
	natsSubscription *sub = NULL;
	natsConnection *nc;
	natsMsg *m;
	char buf[8192];
	bool eof = false;
	int64_t delivered = 0;
	ssize_t n;
	int i, got = 0, fd;

	nc = itest_client(srv.port);
	CU_ASSERT_FATAL(nc != NULL);
	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&sub, nc, "au.lib") ==
			NATS_OK);
	CU_ASSERT(natsSubscription_AutoUnsubscribe(sub, 5) == NATS_OK);
	for (i = 0; i < 20; i++)
		CU_ASSERT(natsConnection_PublishString(nc, "au.lib", "x") ==
			  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	while (got < 30 &&
	       natsSubscription_NextMsg(&m, sub, QUIET_MS) == NATS_OK) {
		natsMsg_Destroy(m);
		got++;
	}
	CU_ASSERT_EQUAL(got, 5);
	CU_ASSERT(natsSubscription_GetDelivered(sub, &delivered) != NATS_OK ||
		  delivered == 5);
	CU_ASSERT(!natsSubscription_IsValid(sub));
	natsSubscription_Destroy(sub);

	fd = itest_raw_open(srv.port, RAW_CONNECT,
			    "SUB au.raw 1\r\nUNSUB 1 3\r\n");
	CU_ASSERT_FATAL(fd >= 0);
	for (i = 0; i < 10; i++)
		CU_ASSERT(natsConnection_PublishString(nc, "au.raw", "y") ==
			  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	CU_ASSERT(harness_sendstr(fd, "PING\r\n") == 0);
	n = harness_read_until(fd, buf, sizeof(buf) - 1, "PONG\r\n", WAIT_MS,
			       &eof);
	CU_ASSERT_FATAL(n > 0);
	buf[n] = '\0';
	CU_ASSERT_EQUAL(itest_count(buf, "MSG au.raw 1 1\r\ny\r\n"), 3);
	CU_ASSERT(strstr(buf, "PONG\r\n") != NULL);
	close(fd);
	natsConnection_Destroy(nc);
}

struct slow_counter {
	struct itest_tally t;
	int delay_us;
};

static void on_slow_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m,
			void *closure)
{
	struct slow_counter *c = closure;

	(void)nc;
	(void)sub;
	if (c->delay_us > 0)
		usleep((useconds_t)c->delay_us);
	natsMsg_Destroy(m);
	itest_tally_add(&c->t, 1);
}

#define DRAIN_MSGS 200

/* Draining a subscription still hands over every message the server had
 * sent before the UNSUB, then delivers nothing more. */
static void test_drain_subscription(void)
{
	struct slow_counter c = { .delay_us = 500 };
	natsSubscription *sub = NULL;
	natsConnection *nc, *pub;
	int i;

	itest_tally_init(&c.t);
	nc = itest_client(srv.port);
	pub = itest_client(srv.port);
	CU_ASSERT_FATAL(nc != NULL && pub != NULL);
	CU_ASSERT_FATAL(natsConnection_Subscribe(&sub, nc, "drain.s",
						 on_slow_msg, &c) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	for (i = 0; i < DRAIN_MSGS; i++)
		CU_ASSERT(natsConnection_PublishString(pub, "drain.s", "d") ==
			  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(pub, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	/* The callback sleeps, so most messages are still queued here. */
	CU_ASSERT(natsSubscription_DrainTimeout(sub, 5000) == NATS_OK);
	CU_ASSERT(natsSubscription_WaitForDrainCompletion(sub, 5000) ==
		  NATS_OK);
	CU_ASSERT(natsSubscription_DrainCompletionStatus(sub) == NATS_OK);
	CU_ASSERT_EQUAL(itest_tally_get(&c.t), DRAIN_MSGS);

	for (i = 0; i < 10; i++)
		CU_ASSERT(natsConnection_PublishString(pub, "drain.s", "e") ==
			  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(pub, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	CU_ASSERT_EQUAL(itest_tally_get(&c.t), DRAIN_MSGS);

	natsSubscription_Destroy(sub);
	natsConnection_Destroy(pub);
	natsConnection_Destroy(nc);
	itest_tally_fini(&c.t);
}

static void on_closed(natsConnection *nc, void *closure)
{
	(void)nc;
	itest_tally_add(closure, 1);
}

/* Draining a connection delivers everything pending on all of its
 * subscriptions and then closes it. */
static void test_drain_connection(void)
{
	struct slow_counter c1 = { .delay_us = 300 }, c2 = { .delay_us = 0 };
	natsSubscription *s1 = NULL, *s2 = NULL;
	struct itest_tally closed;
	natsConnection *nc, *pub;
	natsOptions *o;
	int i;

	itest_tally_init(&c1.t);
	itest_tally_init(&c2.t);
	itest_tally_init(&closed);
	o = itest_opts(srv.port);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT(natsOptions_SetClosedCB(o, on_closed, &closed) == NATS_OK);
	nc = itest_connect(o, NATS_OK, NULL);
	pub = itest_client(srv.port);
	CU_ASSERT_FATAL(nc != NULL && pub != NULL);
	CU_ASSERT_FATAL(natsConnection_Subscribe(&s1, nc, "cdrain.a",
						 on_slow_msg, &c1) == NATS_OK);
	CU_ASSERT_FATAL(natsConnection_Subscribe(&s2, nc, "cdrain.*",
						 on_slow_msg, &c2) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	for (i = 0; i < DRAIN_MSGS; i++)
		CU_ASSERT(natsConnection_PublishString(pub, "cdrain.a", "d") ==
			  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(pub, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_DrainTimeout(nc, 5000) == NATS_OK);
	CU_ASSERT_EQUAL(itest_tally_wait(&closed, 1, 6000), 1);
	CU_ASSERT(natsConnection_IsClosed(nc));
	CU_ASSERT_EQUAL(itest_tally_get(&c1.t), DRAIN_MSGS);
	CU_ASSERT_EQUAL(itest_tally_get(&c2.t), DRAIN_MSGS);

	natsSubscription_Destroy(s1);
	natsSubscription_Destroy(s2);
	natsConnection_Destroy(nc);
	natsConnection_Destroy(pub);
	itest_tally_fini(&c1.t);
	itest_tally_fini(&c2.t);
	itest_tally_fini(&closed);
}

/* PING gets PONG: through the client's flush, and byte for byte. */
static void test_flush_ping(void)
{
	natsConnection *nc;
	char buf[256];
	bool eof = false;
	int64_t start;
	ssize_t n;
	int i, fd;

	nc = itest_client(srv.port);
	CU_ASSERT_FATAL(nc != NULL);
	start = nats_Now();
	for (i = 0; i < 200; i++)
		CU_ASSERT_FATAL(natsConnection_FlushTimeout(nc, WAIT_MS) ==
				NATS_OK);
	/* 200 loopback round trips take milliseconds, not seconds. */
	CU_ASSERT(nats_Now() - start < 2000);
	natsConnection_Destroy(nc);

	fd = itest_raw_open(srv.port, RAW_CONNECT, "");
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(harness_sendstr(fd, "PING\r\nPING\r\n") == 0);
	n = harness_read_until(fd, buf, sizeof(buf) - 1, "PONG\r\nPONG\r\n",
			       WAIT_MS, &eof);
	CU_ASSERT_FATAL(n > 0);
	buf[n] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, "PONG\r\nPONG\r\n");
	close(fd);
}

#define MAX_PAYLOAD (1024 * 1024)

/* A payload just under max_payload goes through intact; one over it is
 * refused by the client, and by the server when a raw client tries. */
static void test_large_payload(void)
{
	natsSubscription *sub = NULL;
	natsConnection *nc;
	natsMsg *m = NULL;
	char buf[512];
	bool eof = false;
	size_t len = MAX_PAYLOAD - 64;
	char *data;
	ssize_t n;
	size_t i;
	int fd;

	data = malloc(MAX_PAYLOAD + 1);
	CU_ASSERT_FATAL(data != NULL);
	for (i = 0; i < MAX_PAYLOAD + 1; i++)
		data[i] = (char)('a' + (i * 7 + i / 251) % 26);
	nc = itest_client(srv.port);
	CU_ASSERT_FATAL(nc != NULL);
	CU_ASSERT_EQUAL(natsConnection_GetMaxPayload(nc), MAX_PAYLOAD);
	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&sub, nc, "big.s") ==
			NATS_OK);
	CU_ASSERT(natsConnection_Publish(nc, "big.s", data, (int)len) ==
		  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	CU_ASSERT_FATAL(natsSubscription_NextMsg(&m, sub, WAIT_MS) == NATS_OK);
	CU_ASSERT_EQUAL(natsMsg_GetDataLength(m), (int)len);
	CU_ASSERT(memcmp(natsMsg_GetData(m), data, len) == 0);
	natsMsg_Destroy(m);

	CU_ASSERT(natsConnection_Publish(nc, "big.s", data, MAX_PAYLOAD) ==
		  NATS_OK);
	CU_ASSERT(natsConnection_Publish(nc, "big.s", data, MAX_PAYLOAD + 1) ==
		  NATS_MAX_PAYLOAD);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	CU_ASSERT_EQUAL(drain_sync(sub, 10, NULL, NULL), 1);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(nc);
	free(data);

	/* The server checks the size on the control line, before any
	 * payload byte, then closes. */
	fd = itest_raw_open(srv.port, RAW_CONNECT, "");
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(harness_sendstr(fd, "PUB big.raw 1048577\r\n") == 0);
	n = harness_read_until(fd, buf, sizeof(buf) - 1,
			       "'Maximum Payload Violation'\r\n", WAIT_MS,
			       &eof);
	CU_ASSERT_FATAL(n > 0);
	buf[n] = '\0';
	CU_ASSERT(strstr(buf, "-ERR 'Maximum Payload Violation'\r\n") != NULL);
	CU_ASSERT(harness_is_closed(fd, WAIT_MS));
	close(fd);
}

/* With echo off a connection does not get its own messages back; other
 * connections on the same subject still do. */
static void test_no_echo(void)
{
	natsSubscription *quiet_sub = NULL, *loud_sub = NULL;
	natsConnection *quiet, *loud;
	natsOptions *o;
	int i;

	o = itest_opts(srv.port);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT(natsOptions_SetNoEcho(o, true) == NATS_OK);
	quiet = itest_connect(o, NATS_OK, NULL);
	loud = itest_client(srv.port);
	CU_ASSERT_FATAL(quiet != NULL && loud != NULL);
	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&quiet_sub, quiet,
						     "echo.t") == NATS_OK);
	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&loud_sub, loud,
						     "echo.t") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(quiet, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(loud, WAIT_MS) == NATS_OK);

	for (i = 0; i < 5; i++)
		CU_ASSERT(natsConnection_PublishString(quiet, "echo.t", "q") ==
			  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(quiet, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(loud, WAIT_MS) == NATS_OK);
	CU_ASSERT_EQUAL(drain_sync(quiet_sub, 10, NULL, NULL), 0);
	CU_ASSERT_EQUAL(drain_sync(loud_sub, 10, NULL, NULL), 5);

	/* The echo-off connection still receives what others publish, and
	 * an echo-on connection receives its own messages. */
	for (i = 0; i < 3; i++)
		CU_ASSERT(natsConnection_PublishString(loud, "echo.t", "l") ==
			  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(loud, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(quiet, WAIT_MS) == NATS_OK);
	CU_ASSERT_EQUAL(drain_sync(quiet_sub, 10, NULL, NULL), 3);
	CU_ASSERT_EQUAL(drain_sync(loud_sub, 10, NULL, NULL), 3);

	natsSubscription_Destroy(quiet_sub);
	natsSubscription_Destroy(loud_sub);
	natsConnection_Destroy(quiet);
	natsConnection_Destroy(loud);
}

/* -V traces each MSG and HMSG line sent as the line alone, payload and
 * headers left out (the closing bracket right after the sizes), as
 * nats-server does. */
static struct hserver trace_srv;

static int trace_init(void)
{
	static const char *const args[] = { "-V", NULL };

	return itest_start(&trace_srv, NULL, args);
}

static int trace_fini(void)
{
	return itest_stop(&trace_srv) ? 0 : -1;
}

static void test_trace_msg(void)
{
	char buf[512];
	int fd;

	fd = harness_connect(trace_srv.port);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(itest_read_info(fd, NULL, 0) == 0);
	CU_ASSERT(harness_sendstr(fd, "CONNECT " RAW_CONNECT "\r\n"
				      "SUB trace.t 7\r\n"
				      "PUB trace.t r.1 5\r\nhello\r\n"
				      "HPUB trace.t 22 27\r\n"
				      "NATS/1.0\r\nA: bcdef\r\n\r\n"
				      "world\r\nPING\r\n") == 0);
	CU_ASSERT(harness_read_until(fd, buf, sizeof(buf), "PONG\r\n", WAIT_MS,
				     NULL) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "MSG trace.t 7 r.1 5\r\nhello\r\n"));
	CU_ASSERT(itest_log_wait(&trace_srv, "->> [MSG trace.t 7 r.1 5]",
				 WAIT_MS));
	CU_ASSERT(itest_log_wait(&trace_srv, "->> [HMSG trace.t 7 22 27]",
				 WAIT_MS));
	close(fd);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "basic pub/sub and unsubscribe", test_basic },
		{ "wildcards * and >", test_wildcards },
		{ "queue groups", test_queue_groups },
		{ "auto-unsubscribe", test_auto_unsubscribe },
		{ "drain subscription", test_drain_subscription },
		{ "drain connection", test_drain_connection },
		{ "flush and PING/PONG", test_flush_ping },
		{ "payload near and over max_payload", test_large_payload },
		{ "echo off", test_no_echo },
	};
	static const struct suite_test trace_tests[] = {
		{ "-V traces MSG lines without payloads", test_trace_msg },
	};
	static const struct suite suites[] = {
		{ "pubsub", suite_init, suite_fini, tests, SUITE_COUNT(tests) },
		{ "trace", trace_init, trace_fini, trace_tests,
		  SUITE_COUNT(trace_tests) },
	};
	int rc;

	itest_init("pubsub_test", WATCHDOG_S, &srv.pid);
	itest_watch_pid(&trace_srv.pid);
	rc = suites_run(suites, SUITE_COUNT(suites));
	nats_CloseAndWait(WAIT_MS);
	return rc == 0 ? 0 : 1;
}
