#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Service exports and imports between accounts through a real server:
 * requests cross from the importing account to the exporter under the
 * exported subject with a fresh "_R_." reply, and the responses come back
 * to the requester's own inbox, once for a singleton service and as many
 * as are sent for a stream service. The C client (libnats) makes requests
 * as an application would; raw sockets see the exact frames. The program
 * passes against nats-server too (NATSD_TEST_SERVER=nats-server).
 */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <nats/nats.h>

#include "harness.h"
#include "itest.h"

#define WAIT_MS    ITEST_WAIT_MS
#define WATCHDOG_S 60

static struct hserver srv;

static const char natsd_conf[] =
	"accounts = {\n"
	"  SVC = { users = ( { user = \"svc\"; password = \"s\"; } );\n"
	"          exports = ( { service = \"echo.>\"; },\n"
	"                      { service = \"multi\"; response_type = "
	"\"stream\"; },\n"
	"                      { service = \"nobody\"; } ); };\n"
	"  APP = { users = ( { user = \"app\"; password = \"a\"; } );\n"
	"          imports = ( { service = { account = \"SVC\"; subject = "
	"\"echo.>\"; }; },\n"
	"                      { service = { account = \"SVC\"; subject = "
	"\"multi\"; }; to = \"many\"; },\n"
	"                      { service = { account = \"SVC\"; subject = "
	"\"nobody\"; }; } ); };\n"
	"};\n";

static const char nats_conf[] =
	"accounts {\n"
	"  SVC { users [ {user: svc, password: s} ]\n"
	"        exports [ {service: \"echo.>\"},\n"
	"                  {service: multi, response_type: stream},\n"
	"                  {service: nobody} ] }\n"
	"  APP { users [ {user: app, password: a} ]\n"
	"        imports [ {service: {account: SVC, subject: \"echo.>\"}},\n"
	"                  {service: {account: SVC, subject: multi}, to: "
	"many},\n"
	"                  {service: {account: SVC, subject: nobody}} ] }\n"
	"}\n";

static int suite_init(void)
{
	return itest_start(&srv, itest_is_natsd() ? natsd_conf : nats_conf,
			   NULL);
}

static int suite_fini(void)
{
	return itest_stop(&srv) ? 0 : -1;
}

/* A raw client of user/pass that sent extra and had it processed. */
static int raw_user(const char *user, const char *pass, const char *extra)
{
	char json[160];

	snprintf(json, sizeof(json),
		 "{\"verbose\":false,\"pedantic\":false,\"user\":\"%s\","
		 "\"pass\":\"%s\",\"headers\":true,\"no_responders\":true,"
		 "\"protocol\":1}",
		 user, pass);
	return itest_raw_open(srv.port, json, extra);
}

/* The reply subject of the first MSG/HMSG line in buf (into out). */
static bool reply_of(const char *buf, char *out, size_t cap)
{
	char op[8], subj[128], sid[16], reply[128];

	if (sscanf(buf, "%7s %127s %15s %127s", op, subj, sid, reply) != 4)
		return false;
	snprintf(out, cap, "%s", reply);
	return true;
}

static natsConnection *client_of(const char *user, const char *pass)
{
	natsOptions *o = itest_opts(srv.port);
	natsStatus st = NATS_OK;

	if (o == NULL)
		return NULL;
	st = natsOptions_SetUserInfo(o, user, pass);
	return itest_connect(o, st, NULL);
}

/* An application in APP asks the echo service in SVC with libnats. */
static void on_echo(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
		    void *closure)
{
	char body[128];

	(void)sub;
	(void)closure;
	snprintf(body, sizeof(body), "%s:%.*s", natsMsg_GetSubject(msg),
		 natsMsg_GetDataLength(msg), natsMsg_GetData(msg));
	if (natsMsg_GetReply(msg) != NULL)
		natsConnection_PublishString(nc, natsMsg_GetReply(msg), body);
	natsMsg_Destroy(msg);
}

static void test_request_across_accounts(void)
{
	natsConnection *svc = client_of("svc", "s"), *app;
	natsSubscription *sub = NULL;
	natsMsg *rep = NULL;
	natsStatus st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
	CU_ASSERT_EQUAL(
		natsConnection_Subscribe(&sub, svc, "echo.>", on_echo, NULL),
		NATS_OK);
	CU_ASSERT_EQUAL(natsConnection_Flush(svc), NATS_OK);
	app = client_of("app", "a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(app);
	st = natsConnection_RequestString(&rep, app, "echo.hello", "hi",
					  WAIT_MS);
	CU_ASSERT_EQUAL(st, NATS_OK);
	if (rep != NULL) {
		CU_ASSERT_STRING_EQUAL(natsMsg_GetData(rep), "echo.hello:hi");
		natsMsg_Destroy(rep);
	}
	/* The exporter's own subjects are not the importer's: without an
	 * import of "other", nobody answers. */
	rep = NULL;
	st = natsConnection_RequestString(&rep, app, "other", "x", WAIT_MS);
	CU_ASSERT_EQUAL(st, NATS_NO_RESPONDERS);
	natsMsg_Destroy(rep);
	/* An imported service without a responder: the import itself
	 * takes the request, so there is no "no responders", only the
	 * timeout, as with nats-server. */
	rep = NULL;
	st = natsConnection_RequestString(&rep, app, "nobody", "x", 300);
	CU_ASSERT_EQUAL(st, NATS_TIMEOUT);
	natsMsg_Destroy(rep);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(app);
	natsConnection_Destroy(svc);
}

/* Sends two answers to the request the service got; returns how many
 * MSG frames for inbox the requester sees. */
static int answers_seen(const char *req_subject, const char *svc_subject)
{
	char buf[4096], reply[128], out[512];
	int svc, app, n = -1;

	svc = raw_user("svc", "s", "");
	app = raw_user("app", "a", "SUB inbox.> 1\r\n");
	if (svc < 0 || app < 0)
		goto out;
	snprintf(out, sizeof(out), "SUB %s 7\r\nPING\r\n", svc_subject);
	harness_sendstr(svc, out);
	harness_read_until(svc, buf, sizeof(buf), "PONG\r\n", WAIT_MS, NULL);
	snprintf(out, sizeof(out), "PUB %s inbox.r1 3\r\nreq\r\n", req_subject);
	harness_sendstr(app, out);
	harness_read_until(svc, buf, sizeof(buf), "req\r\n", WAIT_MS, NULL);
	if (!reply_of(buf, reply, sizeof(reply))) {
		fprintf(stderr, "no request reached the service: %s\n", buf);
		goto out;
	}
	CU_ASSERT_EQUAL(strncmp(reply, "_R_.", 4), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, svc_subject));
	/* Who asked, as a header for a service that reads headers. */
	CU_ASSERT_EQUAL(strncmp(buf, "HMSG ", 5), 0);
	CU_ASSERT_PTR_NOT_NULL(
		strstr(buf, "\r\nNATS/1.0\r\nNats-Request-Info: {\"acc\":\"APP\""));
	snprintf(out, sizeof(out),
		 "PUB %s 2\r\nr1\r\nPUB %s 2\r\nr2\r\nPING\r\n", reply, reply);
	harness_sendstr(svc, out);
	harness_read_until(svc, buf, sizeof(buf), "PONG\r\n", WAIT_MS, NULL);
	harness_sendstr(app, "PING\r\n");
	harness_read_until(app, buf, sizeof(buf), "PONG\r\n", WAIT_MS, NULL);
	n = itest_count(buf, "MSG inbox.r1 1 2\r\n");
	/* Both answers, if both came, in order. */
	if (n == 2)
		CU_ASSERT_PTR_NOT_NULL(
			strstr(buf, "r1\r\nMSG inbox.r1 1 2\r\nr2"));
out:
	if (svc >= 0)
		close(svc);
	if (app >= 0)
		close(app);
	return n;
}

static void test_singleton_answers_once(void)
{
	CU_ASSERT_EQUAL(answers_seen("echo.one", "echo.one"), 1);
}

static void test_stream_service_answers_many(void)
{
	/* Imported as "many", delivered to the exporter as "multi". */
	CU_ASSERT_EQUAL(answers_seen("many", "multi"), 2);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "request across accounts", test_request_across_accounts },
		{ "singleton service answers once",
		  test_singleton_answers_once },
		{ "stream service answers many",
		  test_stream_service_answers_many },
	};
	static const struct suite suite = {
		"accounts", suite_init, suite_fini, tests, SUITE_COUNT(tests),
	};
	int rc;

	itest_init("accounts_test", WATCHDOG_S, &srv.pid);
	rc = suites_run(&suite, 1);
	nats_CloseAndWait(WAIT_MS);
	return rc == 0 ? 0 : 1;
}
