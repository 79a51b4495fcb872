#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Request/reply and message headers through a real server, driven by the
 * NATS C client (libnats); raw sockets check the exact HMSG bytes a
 * subscriber sees. One server serves the whole program; each test uses its
 * own connections and subjects.
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
#define WATCHDOG_S 60

static struct hserver srv;

/* A raw client that sent CONNECT (with the given headers flag) and
 * extra, and had them processed. Returns the socket, or -1. */
static int raw_open(bool headers, const char *extra)
{
	char json[128];

	snprintf(json, sizeof(json),
		 "{\"verbose\":false,\"pedantic\":false,"
		 "\"headers\":%s,\"protocol\":1}",
		 headers ? "true" : "false");
	return itest_raw_open(srv.port, json, extra);
}

static int suite_init(void)
{
	return itest_start(&srv, NULL, NULL);
}

static int suite_fini(void)
{
	return itest_stop(&srv) ? 0 : -1;
}

/* Shared by responders: how many requests each one answered. */
struct responder {
	struct itest_tally handled;
	bool silent;       /* receive but never answer */
	bool echo_headers; /* copy the request's X-Req header back */
};

static void responder_init(struct responder *r)
{
	memset(r, 0, sizeof(*r));
	itest_tally_init(&r->handled);
}

static long responder_handled(struct responder *r)
{
	return itest_tally_get(&r->handled);
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
	itest_tally_add(&r->handled, 1);
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
	svc = itest_client(srv.port);
	cli = itest_client(srv.port);
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
	itest_tally_fini(&r.handled);
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

	cli = itest_client(srv.port);
	CU_ASSERT_FATAL(cli != NULL);
	for (i = 0; i < 3; i++) {
		responder_init(&r[i]);
		svc[i] = itest_client(srv.port);
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
		itest_tally_fini(&r[i].handled);
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
	svc = itest_client(srv.port);
	cli = itest_client(srv.port);
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
	itest_tally_fini(&r.handled);
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

	cli = itest_client(srv.port);
	CU_ASSERT_FATAL(cli != NULL);
	start = nats_Now();
	CU_ASSERT(natsConnection_RequestString(&rep, cli, "rr.nobody", "x",
					       5000) == NATS_NO_RESPONDERS);
	CU_ASSERT(nats_Now() - start < 1000);
	CU_ASSERT(rep == NULL);
	natsConnection_Destroy(cli);

	/* On the wire: an empty HMSG to the reply subject, status 503. */
	fd = itest_raw_connect(srv.port, NULL, 0);
	CU_ASSERT_FATAL(fd >= 0);
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

	nc = itest_client(srv.port);
	svc = itest_client(srv.port);
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
	itest_tally_fini(&r.handled);
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
	nc = itest_client(srv.port);
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
	static const struct suite_test tests[] = {
		{ "request/reply", test_request_reply },
		{ "queue group responders", test_queue_responders },
		{ "request timeout", test_request_timeout },
		{ "no responders", test_no_responders },
		{ "headers round trip", test_headers },
		{ "headers on the wire", test_headers_on_wire },
	};
	static const struct suite suite = {
		"request", suite_init, suite_fini, tests, SUITE_COUNT(tests),
	};
	int rc;

	itest_init("request_test", WATCHDOG_S, &srv.pid);
	rc = suites_run(&suite, 1);
	nats_CloseAndWait(WAIT_MS);
	return rc == 0 ? 0 : 1;
}
