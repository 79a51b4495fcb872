#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Request/reply and message headers through a real server, driven by the
 * NATS C client (libnats); raw sockets check the exact HMSG bytes a
 * subscriber sees. One server serves the whole program; each test uses its
 * own connections and subjects.
 */

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <nats/nats.h>

#include "harness.h"

#define WAIT_MS    2000 /* upper bound for anything that should work */
#define QUIET_MS   100  /* how long "nothing more arrives" is checked */
#define WATCHDOG_S 60

static struct hserver srv;

static void watchdog_fire(int sig)
{
	static const char msg[] = "request_test: watchdog expired\n";

	(void)sig;
	if (srv.pid > 0)
		kill(srv.pid, SIGKILL);
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

/* nats-server exits with 1 on SIGTERM; natsd is expected to exit 0. */
static bool stopped_cleanly(int rc)
{
	return rc == 0 || (strcmp(harness_kind(), "natsd") != 0 && rc == 1);
}

/* Connects a client with short bounded timeouts and no reconnect. */
static natsConnection *conn_open(void)
{
	natsConnection *nc = NULL;
	natsOptions *o = NULL;
	natsStatus s;
	char url[64];

	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", srv.port);
	if (natsOptions_Create(&o) != NATS_OK)
		return NULL;
	s = natsOptions_SetURL(o, url);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, WAIT_MS);
	if (s == NATS_OK)
		s = natsOptions_SetAllowReconnect(o, false);
	if (s == NATS_OK)
		s = natsConnection_Connect(&nc, o);
	natsOptions_Destroy(o);
	if (s != NATS_OK) {
		fprintf(stderr, "connect: %s\n", natsStatus_GetText(s));
		return NULL;
	}
	return nc;
}

/* Reads INFO on a raw socket, sends CONNECT (with the given headers flag)
 * and extra protocol, and waits for the PONG of a trailing PING. */
static int raw_open(bool headers, const char *extra)
{
	char buf[4096];
	char out[1024];
	bool eof = false;
	ssize_t n;
	int fd;

	fd = harness_connect(srv.port);
	if (fd < 0)
		return -1;
	n = harness_read_until(fd, buf, sizeof(buf) - 1, "\r\n", WAIT_MS, &eof);
	if (n <= 0 || strncmp(buf, "INFO ", 5) != 0)
		goto out_close;
	snprintf(out, sizeof(out),
		 "CONNECT {\"verbose\":false,\"pedantic\":false,"
		 "\"headers\":%s,\"protocol\":1}\r\n%sPING\r\n",
		 headers ? "true" : "false", extra);
	if (harness_sendstr(fd, out) != 0)
		goto out_close;
	n = harness_read_until(fd, buf, sizeof(buf) - 1, "PONG\r\n", WAIT_MS,
			       &eof);
	if (n <= 0)
		goto out_close;
	buf[n] = '\0';
	if (strstr(buf, "PONG\r\n") == NULL)
		goto out_close;
	return fd;

out_close:
	close(fd);
	return -1;
}

static int suite_init(void)
{
	if (harness_start(&srv, harness_kind(), NULL, NULL) != 0) {
		fprintf(stderr, "cannot start %s\n", harness_kind());
		return -1;
	}
	return 0;
}

static int suite_fini(void)
{
	return stopped_cleanly(harness_stop(&srv)) ? 0 : -1;
}

/* Shared by responders: how many requests each one answered. */
struct responder {
	pthread_mutex_t mu;
	int handled;
	bool silent;       /* receive but never answer */
	bool echo_headers; /* copy the request's X-Req header back */
};

static void responder_init(struct responder *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
}

static int responder_handled(struct responder *r)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = r->handled;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static void reply_with_headers(natsConnection *nc, natsMsg *req,
			       const char *body)
{
	const char *v = NULL;
	natsMsg *rep = NULL;

	if (natsMsg_Create(&rep, natsMsg_GetReply(req), NULL, body,
			   (int)strlen(body)) != NATS_OK)
		return;
	if (natsMsgHeader_Get(req, "X-Req", &v) == NATS_OK)
		natsMsgHeader_Set(rep, "X-Rep", v);
	natsMsgHeader_Set(rep, "X-Served-By", "responder");
	natsConnection_PublishMsg(nc, rep);
	natsMsg_Destroy(rep);
}

/* Answers "re:<request payload>" to the request's reply subject. */
static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *m,
		       void *closure)
{
	struct responder *r = closure;
	char body[128];
	int len = natsMsg_GetDataLength(m);

	(void)sub;
	pthread_mutex_lock(&r->mu);
	r->handled++;
	pthread_mutex_unlock(&r->mu);
	if (!r->silent && natsMsg_GetReply(m) != NULL) {
		if (len > 100)
			len = 100;
		snprintf(body, sizeof(body), "re:%.*s", len,
			 natsMsg_GetData(m));
		if (r->echo_headers)
			reply_with_headers(nc, m, body);
		else
			natsConnection_PublishString(nc, natsMsg_GetReply(m),
						     body);
	}
	natsMsg_Destroy(m);
}

/* Many requests in a row each get their own answer. */
static void test_request_reply(void)
{
	struct responder r;
	natsSubscription *sub = NULL;
	natsConnection *svc, *cli;
	natsMsg *rep;
	char req[32], want[40];
	int i;

	responder_init(&r);
	svc = conn_open();
	cli = conn_open();
	CU_ASSERT_FATAL(svc != NULL && cli != NULL);
	CU_ASSERT_FATAL(natsConnection_Subscribe(&sub, svc, "rr.echo",
						 on_request, &r) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(svc, WAIT_MS) == NATS_OK);
	for (i = 0; i < 100; i++) {
		snprintf(req, sizeof(req), "q%d", i);
		snprintf(want, sizeof(want), "re:q%d", i);
		rep = NULL;
		if (natsConnection_RequestString(&rep, cli, "rr.echo", req,
						 WAIT_MS) != NATS_OK) {
			CU_FAIL("request failed");
			break;
		}
		CU_ASSERT_EQUAL(natsMsg_GetDataLength(rep), (int)strlen(want));
		CU_ASSERT_NSTRING_EQUAL(natsMsg_GetData(rep), want,
					strlen(want));
		CU_ASSERT(strncmp(natsMsg_GetSubject(rep), "_INBOX.", 7) == 0);
		natsMsg_Destroy(rep);
	}
	CU_ASSERT_EQUAL(responder_handled(&r), 100);

	/* A responder on the requester's own connection works too. */
	rep = NULL;
	natsSubscription_Destroy(sub);
	sub = NULL;
	CU_ASSERT_FATAL(natsConnection_Subscribe(&sub, cli, "rr.self",
						 on_request, &r) == NATS_OK);
	CU_ASSERT(natsConnection_RequestString(&rep, cli, "rr.self", "me",
					       WAIT_MS) == NATS_OK);
	if (rep != NULL)
		CU_ASSERT_NSTRING_EQUAL(natsMsg_GetData(rep), "re:me", 5);
	natsMsg_Destroy(rep);

	natsSubscription_Destroy(sub);
	natsConnection_Destroy(cli);
	natsConnection_Destroy(svc);
	pthread_mutex_destroy(&r.mu);
}

#define QR_REQS 60

/* Responders in one queue group: every request is handled exactly once,
 * and spread over the members. */
static void test_queue_responders(void)
{
	struct responder r[3];
	natsSubscription *subs[3] = { NULL };
	natsConnection *svc[3] = { NULL };
	natsConnection *cli;
	natsMsg *rep;
	int i, total = 0;

	cli = conn_open();
	CU_ASSERT_FATAL(cli != NULL);
	for (i = 0; i < 3; i++) {
		responder_init(&r[i]);
		svc[i] = conn_open();
		CU_ASSERT_FATAL(svc[i] != NULL);
		CU_ASSERT_FATAL(natsConnection_QueueSubscribe(
					&subs[i], svc[i], "rr.q", "workers",
					on_request, &r[i]) == NATS_OK);
		CU_ASSERT(natsConnection_FlushTimeout(svc[i], WAIT_MS) ==
			  NATS_OK);
	}
	for (i = 0; i < QR_REQS; i++) {
		rep = NULL;
		CU_ASSERT(natsConnection_RequestString(&rep, cli, "rr.q", "w",
						       WAIT_MS) == NATS_OK);
		natsMsg_Destroy(rep);
	}
	for (i = 0; i < 3; i++) {
		/* Make sure no late duplicate is still on its way. */
		CU_ASSERT(natsConnection_FlushTimeout(svc[i], WAIT_MS) ==
			  NATS_OK);
		total += responder_handled(&r[i]);
		CU_ASSERT(responder_handled(&r[i]) > 0);
	}
	CU_ASSERT_EQUAL(total, QR_REQS);
	for (i = 0; i < 3; i++) {
		natsSubscription_Destroy(subs[i]);
		natsConnection_Destroy(svc[i]);
		pthread_mutex_destroy(&r[i].mu);
	}
	natsConnection_Destroy(cli);
}

/* A subscriber that never answers makes the request time out, which is
 * not the same as having no responders. */
static void test_request_timeout(void)
{
	struct responder r;
	natsSubscription *sub = NULL;
	natsConnection *svc, *cli;
	natsMsg *rep = NULL;
	int64_t start, took;

	responder_init(&r);
	r.silent = true;
	svc = conn_open();
	cli = conn_open();
	CU_ASSERT_FATAL(svc != NULL && cli != NULL);
	CU_ASSERT_FATAL(natsConnection_Subscribe(&sub, svc, "rr.silent",
						 on_request, &r) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(svc, WAIT_MS) == NATS_OK);
	start = nats_Now();
	CU_ASSERT(natsConnection_RequestString(&rep, cli, "rr.silent", "x",
					       300) == NATS_TIMEOUT);
	took = nats_Now() - start;
	CU_ASSERT(took >= 250 && took < 1500);
	CU_ASSERT(rep == NULL);
	CU_ASSERT(natsConnection_FlushTimeout(svc, WAIT_MS) == NATS_OK);
	CU_ASSERT_EQUAL(responder_handled(&r), 1);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(cli);
	natsConnection_Destroy(svc);
	pthread_mutex_destroy(&r.mu);
}

/* A request nobody listens to fails at once with "no responders", long
 * before its timeout; the server signals it with a 503 status message. */
static void test_no_responders(void)
{
	natsConnection *cli;
	natsMsg *rep = NULL;
	char buf[1024];
	bool eof = false;
	int64_t start;
	ssize_t n;
	int fd;

	cli = conn_open();
	CU_ASSERT_FATAL(cli != NULL);
	start = nats_Now();
	CU_ASSERT(natsConnection_RequestString(&rep, cli, "rr.nobody", "x",
					       5000) == NATS_NO_RESPONDERS);
	CU_ASSERT(nats_Now() - start < 1000);
	CU_ASSERT(rep == NULL);
	natsConnection_Destroy(cli);

	/* On the wire: an empty HMSG to the reply subject, status 503. */
	fd = harness_connect(srv.port);
	CU_ASSERT_FATAL(fd >= 0);
	n = harness_read_until(fd, buf, sizeof(buf) - 1, "\r\n", WAIT_MS, &eof);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT(harness_sendstr(fd, "CONNECT {\"verbose\":false,"
				      "\"headers\":true,\"no_responders\":true,"
				      "\"protocol\":1}\r\n"
				      "SUB rr.inbox.1 7\r\n"
				      "PUB rr.nobody2 rr.inbox.1 0\r\n\r\n"
				      "PING\r\n") == 0);
	n = harness_read_until(fd, buf, sizeof(buf) - 1, "PONG\r\n", WAIT_MS,
			       &eof);
	CU_ASSERT_FATAL(n > 0);
	buf[n] = '\0';
	CU_ASSERT(strstr(buf, "HMSG rr.inbox.1 7 16 16\r\n"
			      "NATS/1.0 503\r\n\r\n\r\n") != NULL);
	close(fd);
}

/* Headers survive the trip both ways: single values, repeated keys, an
 * empty payload, and a request whose reply carries headers back. */
static void test_headers(void)
{
	struct responder r;
	natsSubscription *sub = NULL, *svc_sub = NULL;
	natsConnection *nc, *svc;
	const char **vals = NULL;
	const char *v = NULL;
	natsMsg *m = NULL, *got = NULL, *rep = NULL;
	int count = 0;

	nc = conn_open();
	svc = conn_open();
	CU_ASSERT_FATAL(nc != NULL && svc != NULL);
	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&sub, nc, "hdr.t") ==
			NATS_OK);
	CU_ASSERT(natsMsg_Create(&m, "hdr.t", NULL, "body", 4) == NATS_OK);
	CU_ASSERT(natsMsgHeader_Set(m, "X-One", "1") == NATS_OK);
	CU_ASSERT(natsMsgHeader_Add(m, "X-Multi", "a") == NATS_OK);
	CU_ASSERT(natsMsgHeader_Add(m, "X-Multi", "b c") == NATS_OK);
	CU_ASSERT(natsConnection_PublishMsg(nc, m) == NATS_OK);
	natsMsg_Destroy(m);
	m = NULL;
	CU_ASSERT(natsMsg_Create(&m, "hdr.t", NULL, NULL, 0) == NATS_OK);
	CU_ASSERT(natsMsgHeader_Set(m, "X-Empty-Body", "yes") == NATS_OK);
	CU_ASSERT(natsConnection_PublishMsg(nc, m) == NATS_OK);
	natsMsg_Destroy(m);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);

	CU_ASSERT_FATAL(natsSubscription_NextMsg(&got, sub, WAIT_MS) ==
			NATS_OK);
	CU_ASSERT_EQUAL(natsMsg_GetDataLength(got), 4);
	CU_ASSERT_NSTRING_EQUAL(natsMsg_GetData(got), "body", 4);
	CU_ASSERT(natsMsgHeader_Get(got, "X-One", &v) == NATS_OK);
	if (v != NULL)
		CU_ASSERT_STRING_EQUAL(v, "1");
	CU_ASSERT(natsMsgHeader_Values(got, "X-Multi", &vals, &count) ==
		  NATS_OK);
	CU_ASSERT_EQUAL(count, 2);
	if (vals != NULL && count == 2) {
		CU_ASSERT_STRING_EQUAL(vals[0], "a");
		CU_ASSERT_STRING_EQUAL(vals[1], "b c");
	}
	free((void *)vals);
	CU_ASSERT(natsMsgHeader_Get(got, "X-Absent", &v) == NATS_NOT_FOUND);
	natsMsg_Destroy(got);

	got = NULL;
	CU_ASSERT_FATAL(natsSubscription_NextMsg(&got, sub, WAIT_MS) ==
			NATS_OK);
	CU_ASSERT_EQUAL(natsMsg_GetDataLength(got), 0);
	v = NULL;
	CU_ASSERT(natsMsgHeader_Get(got, "X-Empty-Body", &v) == NATS_OK);
	if (v != NULL)
		CU_ASSERT_STRING_EQUAL(v, "yes");
	natsMsg_Destroy(got);

	responder_init(&r);
	r.echo_headers = true;
	CU_ASSERT_FATAL(natsConnection_Subscribe(&svc_sub, svc, "hdr.req",
						 on_request, &r) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(svc, WAIT_MS) == NATS_OK);
	m = NULL;
	CU_ASSERT(natsMsg_Create(&m, "hdr.req", NULL, "ask", 3) == NATS_OK);
	CU_ASSERT(natsMsgHeader_Set(m, "X-Req", "42") == NATS_OK);
	CU_ASSERT(natsConnection_RequestMsg(&rep, nc, m, WAIT_MS) == NATS_OK);
	natsMsg_Destroy(m);
	if (rep != NULL) {
		CU_ASSERT_NSTRING_EQUAL(natsMsg_GetData(rep), "re:ask", 6);
		v = NULL;
		CU_ASSERT(natsMsgHeader_Get(rep, "X-Rep", &v) == NATS_OK);
		if (v != NULL)
			CU_ASSERT_STRING_EQUAL(v, "42");
		v = NULL;
		CU_ASSERT(natsMsgHeader_Get(rep, "X-Served-By", &v) == NATS_OK);
		if (v != NULL)
			CU_ASSERT_STRING_EQUAL(v, "responder");
	}
	natsMsg_Destroy(rep);

	natsSubscription_Destroy(svc_sub);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(svc);
	natsConnection_Destroy(nc);
	pthread_mutex_destroy(&r.mu);
}

/* The bytes a raw subscriber gets for a message with headers: HMSG with
 * the header block untouched, or, for a client that did not ask for
 * headers, a plain MSG with the header block removed. */
static void test_headers_on_wire(void)
{
	static const char want_h[] = "HMSG hdr.raw 1 22 26\r\n"
				     "NATS/1.0\r\nX-Key: v\r\n\r\n"
				     "data\r\n";
	static const char want_p[] = "MSG hdr.raw 2 4\r\ndata\r\n";
	natsConnection *nc;
	natsMsg *m = NULL;
	char buf[1024];
	bool eof = false;
	ssize_t n;
	int fh, fp;

	fh = raw_open(true, "SUB hdr.raw 1\r\n");
	fp = raw_open(false, "SUB hdr.raw 2\r\n");
	nc = conn_open();
	CU_ASSERT_FATAL(fh >= 0 && fp >= 0 && nc != NULL);
	CU_ASSERT(natsMsg_Create(&m, "hdr.raw", NULL, "data", 4) == NATS_OK);
	CU_ASSERT(natsMsgHeader_Set(m, "X-Key", "v") == NATS_OK);
	CU_ASSERT(natsConnection_PublishMsg(nc, m) == NATS_OK);
	natsMsg_Destroy(m);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);

	n = harness_read_until(fh, buf, sizeof(buf) - 1, "data\r\n", WAIT_MS,
			       &eof);
	CU_ASSERT_FATAL(n > 0);
	buf[n] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, want_h);
	n = harness_read_until(fp, buf, sizeof(buf) - 1, "data\r\n", WAIT_MS,
			       &eof);
	CU_ASSERT_FATAL(n > 0);
	buf[n] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, want_p);
	close(fh);
	close(fp);
	natsConnection_Destroy(nc);
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "request/reply", test_request_reply },
		{ "queue group responders", test_queue_responders },
		{ "request timeout", test_request_timeout },
		{ "no responders", test_no_responders },
		{ "headers round trip", test_headers },
		{ "headers on the wire", test_headers_on_wire },
	};
	CU_pSuite suite;
	unsigned int failed;
	size_t i;

	signal(SIGALRM, watchdog_fire);
	alarm(WATCHDOG_S);
	signal(SIGPIPE, SIG_IGN);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("request", suite_init, suite_fini);
	if (suite == NULL)
		goto out_registry;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			goto out_registry;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	nats_CloseAndWait(WAIT_MS);
	return failed == 0 ? 0 : 1;

out_registry:
	CU_cleanup_registry();
	return 1;
}
