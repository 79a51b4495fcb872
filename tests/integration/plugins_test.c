#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * The auth and link parts of the plugin ABI, through real natsd processes
 * that load the test plugins tests/plugins/auth_test_plugin.c ("authtest")
 * and tests/plugins/link_test_plugin.c ("linktest"), driven by the NATS C
 * client and raw sockets.
 *
 * Whether one server knows of interest on the other is asked the way a
 * client can see it: a request from a headers-capable client to a subject
 * no one is interested in is answered at once with "no responders" by its
 * own server, while one the server forwards over the link times out (or is
 * answered). That needs no sleeps and no monitoring endpoint. Probe
 * requests carry the payload "probe"; subscribers skip them.
 *
 * The plugins are found in env NATSD_TEST_PLUGIN_DIR (the build tree's
 * tests/plugins/.libs). natsd only: against another server the program
 * exits 77 (skipped).
 */

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <nats/nats.h>

#include "harness.h"
#include "monhttp.h"
#include "itest.h"

#define WAIT_MS		ITEST_WAIT_MS
#define QUIET_MS	150   /* how long "nothing more arrives" is checked */
#define PROBE_MS	100   /* a probe request's timeout */
#define LINK_WAIT_MS	10000
#define STOP_WAIT_MS	15000 /* a sanitizer's exit report takes a while */
#define WATCHDOG_S	180
#define LATER_MS	300   /* authtest's later_ms */
#define CANCEL_LATER_MS 1500  /* later_ms of the cancellation suite */

static char plugin_dir[PATH_MAX];
static char auth_so[PATH_MAX + 32];
static char link_so[PATH_MAX + 32];
static char port_file[PATH_MAX];

static struct hserver asrv;  /* the auth suites' server */
static struct hserver lsrv_a, lsrv_b; /* the link suite's pair */

static void kill_all(void)
{
	if (asrv.pid > 0)
		kill(asrv.pid, SIGKILL);
	if (lsrv_a.pid > 0)
		kill(lsrv_a.pid, SIGKILL);
	if (lsrv_b.pid > 0)
		kill(lsrv_b.pid, SIGKILL);
}

/* Server logs. */

static bool log_has(struct hserver *s, const char *text)
{
	return strstr(harness_log(s), text) != NULL;
}

static int log_count(struct hserver *s, const char *text)
{
	return itest_count(harness_log(s), text);
}


/* Connects to 127.0.0.1:port with optional credentials and error log,
 * without reconnecting. NULL on failure, with the status in *st. */
static natsConnection *conn_to(int port, const char *user, const char *pass,
			       struct itest_errlog *e, natsStatus *st)
{
	natsOptions *o = itest_opts(port);
	natsStatus s = o != NULL ? NATS_OK : NATS_NO_MEMORY;

	if (s == NATS_OK && user != NULL)
		s = natsOptions_SetUserInfo(o, user, pass);
	if (s == NATS_OK && e != NULL)
		s = itest_errlog_attach(o, e);
	return itest_connect(o, s, st);
}

static bool is_probe(natsMsg *m)
{
	return natsMsg_GetDataLength(m) == 5 &&
	       memcmp(natsMsg_GetData(m), "probe", 5) == 0;
}

/* Next message on sub that is not a probe, or NULL after timeout_ms. */
static natsMsg *next_real(natsSubscription *sub, int timeout_ms)
{
	long long end = itest_mono_ms() + timeout_ms;
	natsMsg *m = NULL;
	long long left;

	for (;;) {
		left = end - itest_mono_ms();
		if (left < 1)
			left = 1;
		if (natsSubscription_NextMsg(&m, sub, left) != NATS_OK)
			return NULL;
		if (!is_probe(m))
			return m;
		natsMsg_Destroy(m);
		m = NULL;
		if (itest_mono_ms() >= end)
			return NULL;
	}
}

/* Waits until the server nc is connected to does (want) or does not
 * (!want) forward subject somewhere. */
static bool wait_interest(natsConnection *nc, const char *subject, bool want,
			  int timeout_ms)
{
	long long end = itest_mono_ms() + timeout_ms;
	natsMsg *reply = NULL;
	natsStatus s;
	bool has;

	for (;;) {
		s = natsConnection_RequestString(&reply, nc, subject, "probe",
						 PROBE_MS);
		natsMsg_Destroy(reply);
		reply = NULL;
		has = s != NATS_NO_RESPONDERS;
		if (has == want)
			return true;
		if (itest_mono_ms() >= end)
			break;
		nats_Sleep(10);
	}
	fprintf(stderr, "interest in %s: still %s after %d ms\n", subject,
		want ? "none" : "there", timeout_ms);
	return false;
}

/* ------------------------------------------------------------------ */
/* Authentication                                                      */

static int start_auth_server(int later_ms, const char *extra)
{
	char conf[4 * PATH_MAX];

	snprintf(conf, sizeof(conf),
		 "authorization = {\n"
		 "  users = ( { user = \"g\"; password = \"g\"; } );\n"
		 "%s"
		 "};\n"
		 "plugins = (\n"
		 "  { load = \"%s\";\n"
		 "    settings = { user = \"pu\"; password = \"pp\";\n"
		 "      account = \"PA\"; later_user = \"late\";\n"
		 "      expire_user = \"brief\";\n"
		 "      later_ms = %d; };\n"
		 "  }\n"
		 ");\n",
		 extra, auth_so, later_ms);
	if (harness_start(&asrv, "natsd", conf, NULL) != 0) {
		fprintf(stderr, "cannot start natsd with:\n%s", conf);
		return -1;
	}
	return 0;
}

static int init_auth(void)
{
	return start_auth_server(LATER_MS, "");
}

/* The answer comes long after the auth timeout cuts the client off. */
static int init_auth_cancel(void)
{
	return start_auth_server(CANCEL_LATER_MS, "  timeout = \"300ms\";\n");
}

static int fini_auth(void)
{
	harness_stop(&asrv);
	return 0;
}

static natsConnection *aconn(const char *user, const char *pass,
			     struct itest_errlog *e, natsStatus *st)
{
	return conn_to(asrv.port, user, pass, e, st);
}

/* Sends one CONNECT for user (and a PING) on a raw socket, returns the
 * socket with INFO read, or -1. */
static int raw_connect(const char *user, const char *pass, char *info,
		       size_t infocap)
{
	char line[512];
	int fd;

	fd = itest_raw_connect(asrv.port, info, infocap);
	if (fd == -1)
		return -1;
	snprintf(line, sizeof(line),
		 "CONNECT {\"verbose\":false,\"user\":\"%s\",\"pass\":\"%s\"}"
		 "\r\nPING\r\n",
		 user, pass);
	if (harness_sendstr(fd, line) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_auth_accept(void)
{
	natsSubscription *sub = NULL, *bad = NULL;
	natsConnection *nc;
	struct itest_errlog e;
	natsMsg *m = NULL;

	itest_errlog_init(&e);
	nc = aconn("pu", "pp", &e, NULL);
	CU_ASSERT_FATAL(nc != NULL);
	/* allowed.> both ways */
	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&sub, nc, "allowed.>") ==
			NATS_OK);
	CU_ASSERT(natsConnection_PublishString(nc, "allowed.x", "ok") ==
		  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsSubscription_NextMsg(&m, sub, WAIT_MS) == NATS_OK);
	if (m != NULL)
		CU_ASSERT_STRING_EQUAL(natsMsg_GetSubject(m), "allowed.x");
	natsMsg_Destroy(m);
	m = NULL;

	/* Anything else is refused, and the connection stays. */
	CU_ASSERT(natsConnection_PublishString(nc, "other.x", "no") ==
		  NATS_OK);
	CU_ASSERT(itest_errlog_wait(&e,
				    "Permissions Violation for Publish to "
				    "\"other.x\"",
				    WAIT_MS));
	CU_ASSERT(natsConnection_SubscribeSync(&bad, nc, "other.>") ==
		  NATS_OK);
	CU_ASSERT(itest_errlog_wait(&e,
				    "Permissions Violation for Subscription to "
				    "\"other.>\"",
				    WAIT_MS));
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	CU_ASSERT_EQUAL(natsConnection_Status(nc), NATS_CONN_STATUS_CONNECTED);
	natsSubscription_Destroy(bad);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(nc);
	itest_errlog_fini(&e);
}

static void test_auth_wrong_password(void)
{
	char reply[512];
	natsConnection *nc;
	natsStatus st = NATS_OK;
	const char *txt;
	bool eof = false;
	int fd;

	nc = aconn("pu", "wrong", NULL, &st);
	CU_ASSERT(nc == NULL);
	natsConnection_Destroy(nc);
	CU_ASSERT_EQUAL(st, NATS_CONNECTION_AUTH_FAILED);
	txt = nats_GetLastError(NULL);
	CU_ASSERT(txt != NULL &&
		  strstr(txt, "Authorization Violation") != NULL);

	fd = raw_connect("pu", "nope", NULL, 0);
	CU_ASSERT_FATAL(fd >= 0);
	harness_read_until(fd, reply, sizeof(reply), "\r\n", WAIT_MS, &eof);
	CU_ASSERT_STRING_EQUAL(reply, "-ERR 'Authorization Violation'\r\n");
	CU_ASSERT(eof || harness_is_closed(fd, WAIT_MS));
	close(fd);
}

/* Credentials with an expiry (auth_set_expiry): the client is told and
 * closed when they run out, as nats-server does for an expiring JWT. */
static void test_auth_expiry(void)
{
	char buf[512];
	bool eof = false;
	int fd;

	fd = raw_connect("brief", "x", NULL, 0);
	CU_ASSERT_FATAL(fd >= 0);
	harness_read_until(fd, buf, sizeof(buf), "PONG\r\n", WAIT_MS, &eof);
	CU_ASSERT_STRING_EQUAL(buf, "PONG\r\n");
	eof = false;
	harness_read_until(fd, buf, sizeof(buf), "\r\n", WAIT_MS, &eof);
	CU_ASSERT_STRING_EQUAL(buf, "-ERR 'User Authentication Expired'\r\n");
	CU_ASSERT(eof || harness_is_closed(fd, WAIT_MS));
	close(fd);
}

/* A user no authenticator claims: the chain ends, and since authtest
 * requires authentication, the client is refused. */
static void test_auth_unknown_user(void)
{
	char info[4096], reply[512];
	natsConnection *nc;
	natsStatus st = NATS_OK;
	bool eof = false;
	int fd;

	nc = aconn("stranger", "pp", NULL, &st);
	CU_ASSERT(nc == NULL);
	natsConnection_Destroy(nc);
	CU_ASSERT_EQUAL(st, NATS_CONNECTION_AUTH_FAILED);
	nc = aconn(NULL, NULL, NULL, &st);
	CU_ASSERT(nc == NULL);
	natsConnection_Destroy(nc);
	CU_ASSERT_EQUAL(st, NATS_CONNECTION_AUTH_FAILED);

	fd = raw_connect("stranger", "x", info, sizeof(info));
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(strstr(info, "\"auth_required\":true") != NULL);
	harness_read_until(fd, reply, sizeof(reply), "\r\n", WAIT_MS, &eof);
	CU_ASSERT_STRING_EQUAL(reply, "-ERR 'Authorization Violation'\r\n");
	CU_ASSERT(eof || harness_is_closed(fd, WAIT_MS));
	close(fd);

	/* The built-in users still get in. */
	nc = aconn("g", "g", NULL, NULL);
	CU_ASSERT(nc != NULL);
	if (nc != NULL)
		CU_ASSERT(itest_conn_usable(nc, "g.unknown"));
	natsConnection_Destroy(nc);
}

/* "late" is accepted by a timer, later_ms after its CONNECT, into PA. */
static void test_auth_later(void)
{
	natsSubscription *sub = NULL;
	natsConnection *nc, *pu;
	natsMsg *m = NULL;
	long long t0, dt;

	pu = aconn("pu", "pp", NULL, NULL);
	CU_ASSERT_FATAL(pu != NULL);
	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&sub, pu,
						     "allowed.late") ==
			NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(pu, WAIT_MS) == NATS_OK);

	t0 = itest_mono_ms();
	nc = aconn("late", "whatever", NULL, NULL);
	dt = itest_mono_ms() - t0;
	CU_ASSERT_FATAL(nc != NULL);
	CU_ASSERT(dt >= LATER_MS - 50);
	CU_ASSERT(dt < LATER_MS + WAIT_MS);
	CU_ASSERT(log_has(&asrv, "authtest: answering \"late\" later: "
				 "accept"));
	CU_ASSERT(itest_conn_usable(nc, "late.own"));

	/* Its account was set from the timer: it shares PA with pu. */
	CU_ASSERT(natsConnection_PublishString(nc, "allowed.late", "hi") ==
		  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsSubscription_NextMsg(&m, sub, WAIT_MS) == NATS_OK);
	natsMsg_Destroy(m);
	natsConnection_Destroy(nc);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(pu);
}

/* A "late" client that goes away while its answer is pending, with a
 * FIN or (reset) an RST: cancel() is called, auth_done() is not, and the
 * server carries on. */
static void later_gone(bool reset)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	natsConnection *nc;
	int answered, cancelled, fired, fd;

	answered = log_count(&asrv, "authtest: answering \"late\"");
	cancelled = log_count(&asrv, "authtest: request cancelled");
	fired = log_count(&asrv, "authtest: timer fired for a cancelled");
	fd = raw_connect("late", "x", NULL, 0);
	CU_ASSERT_FATAL(fd >= 0);
	nats_Sleep(50);
	if (reset)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);

	/* Past the timer: the request was cancelled, never answered. */
	nats_Sleep(LATER_MS + 200);
	CU_ASSERT(itest_log_wait(&asrv, "authtest: timer fired for a cancelled",
				 WAIT_MS));
	CU_ASSERT_EQUAL(log_count(&asrv, "authtest: request cancelled"),
			cancelled + 1);
	CU_ASSERT_EQUAL(log_count(&asrv,
				  "authtest: timer fired for a cancelled"),
			fired + 1);
	CU_ASSERT_EQUAL(log_count(&asrv, "authtest: answering \"late\""),
			answered);

	nc = aconn("pu", "pp", NULL, NULL);
	CU_ASSERT(nc != NULL);
	if (nc != NULL)
		CU_ASSERT(itest_conn_usable(nc, "allowed.after"));
	natsConnection_Destroy(nc);
	CU_ASSERT(itest_log_clean(&asrv));
}

static void test_auth_later_gone(void)
{
	later_gone(false);
}

static void test_auth_later_reset(void)
{
	later_gone(true);
}

/* Messages do not cross accounts: pu is in PA, g in $G. */
static void test_auth_accounts(void)
{
	natsSubscription *pa_sub = NULL, *g_sub = NULL, *pa2_sub = NULL;
	natsConnection *pu, *pu2, *g;
	natsMsg *m = NULL;

	pu = aconn("pu", "pp", NULL, NULL);
	pu2 = aconn("pu", "pp", NULL, NULL);
	g = aconn("g", "g", NULL, NULL);
	CU_ASSERT_FATAL(pu != NULL && pu2 != NULL && g != NULL);
	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&pa_sub, pu,
						     "allowed.>") == NATS_OK);
	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&pa2_sub, pu2,
						     "allowed.>") == NATS_OK);
	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&g_sub, g, "allowed.>") ==
			NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(pu, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(pu2, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(g, WAIT_MS) == NATS_OK);

	/* From $G: g's own subscriber only. */
	CU_ASSERT(natsConnection_PublishString(g, "allowed.fromg", "g") ==
		  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(g, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsSubscription_NextMsg(&m, g_sub, WAIT_MS) == NATS_OK);
	natsMsg_Destroy(m);
	m = NULL;
	CU_ASSERT(natsConnection_FlushTimeout(pu, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsSubscription_NextMsg(&m, pa_sub, QUIET_MS) ==
		  NATS_TIMEOUT);
	natsMsg_Destroy(m);
	m = NULL;

	/* From PA: both PA subscribers, not g. */
	CU_ASSERT(natsConnection_PublishString(pu2, "allowed.frompa", "p") ==
		  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(pu2, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsSubscription_NextMsg(&m, pa_sub, WAIT_MS) == NATS_OK);
	if (m != NULL)
		CU_ASSERT_STRING_EQUAL(natsMsg_GetSubject(m), "allowed.frompa");
	natsMsg_Destroy(m);
	m = NULL;
	CU_ASSERT(natsSubscription_NextMsg(&m, pa2_sub, WAIT_MS) == NATS_OK);
	natsMsg_Destroy(m);
	m = NULL;
	CU_ASSERT(natsConnection_FlushTimeout(g, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsSubscription_NextMsg(&m, g_sub, QUIET_MS) ==
		  NATS_TIMEOUT);
	natsMsg_Destroy(m);

	natsSubscription_Destroy(g_sub);
	natsSubscription_Destroy(pa2_sub);
	natsSubscription_Destroy(pa_sub);
	natsConnection_Destroy(g);
	natsConnection_Destroy(pu2);
	natsConnection_Destroy(pu);
}

static void test_auth_stop_clean(void)
{
	CU_ASSERT(itest_stop(&asrv));
}

/* The auth timeout closes a client whose answer is still pending: the
 * plugin is told, and its timer, when it fires, answers nothing. */
static void test_cancel_on_timeout(void)
{
	char reply[512];
	natsConnection *nc;
	bool eof = false;
	long long t0;
	int fd;

	t0 = itest_mono_ms();
	fd = raw_connect("late", "x", NULL, 0);
	CU_ASSERT_FATAL(fd >= 0);
	harness_read_until(fd, reply, sizeof(reply), "\r\n", WAIT_MS, &eof);
	CU_ASSERT_STRING_EQUAL(reply, "-ERR 'Authentication Timeout'\r\n");
	CU_ASSERT(eof || harness_is_closed(fd, WAIT_MS));
	close(fd);
	CU_ASSERT(itest_mono_ms() - t0 < CANCEL_LATER_MS);
	CU_ASSERT(
		itest_log_wait(&asrv, "authtest: request cancelled", WAIT_MS));
	CU_ASSERT(!log_has(&asrv, "(unknown request)"));
	CU_ASSERT(itest_log_wait(&asrv, "authtest: timer fired for a cancelled",
				 CANCEL_LATER_MS + WAIT_MS));
	CU_ASSERT(!log_has(&asrv, "authtest: answering"));

	nc = aconn("pu", "pp", NULL, NULL);
	CU_ASSERT(nc != NULL);
	if (nc != NULL)
		CU_ASSERT(itest_conn_usable(nc, "allowed.after"));
	natsConnection_Destroy(nc);
}

/* Shutting down with an answer pending cancels it; the plugin frees
 * what its timer would have freed. */
static void test_cancel_on_shutdown(void)
{
	int fd;

	fd = raw_connect("late", "x", NULL, 0);
	CU_ASSERT_FATAL(fd >= 0);
	nats_Sleep(50);
	CU_ASSERT(itest_stop(&asrv));
	close(fd);
}

/* ------------------------------------------------------------------ */
/* Links                                                               */

static natsConnection *link_a_nc, *link_b_nc;
static int link_a_http;    /* server A's monitoring port */
static long link_a_total0; /* its total_connections before the link */

/* Reads the port linktest wrote, waiting for the file to appear. */
static int read_port_file(const char *path, int timeout_ms)
{
	long long end = itest_mono_ms() + timeout_ms;
	char buf[32], *endp;
	long v;
	FILE *f;

	for (;;) {
		f = fopen(path, "r");
		if (f != NULL) {
			buf[0] = '\0';
			if (fgets(buf, sizeof(buf), f) == NULL)
				buf[0] = '\0';
			fclose(f);
			errno = 0;
			v = strtol(buf, &endp, 10);
			if (errno == 0 && endp != buf && v > 0 && v < 65536)
				return (int)v;
		}
		if (itest_mono_ms() >= end)
			return -1;
		nats_Sleep(10);
	}
}

/* The integer after "key": in a JSON text, or -1. */
static long json_int_after(const char *json, const char *key)
{
	const char *p = strstr(json, key);

	if (p == NULL)
		return -1;
	p += strlen(key);
	p += strspn(p, "\": \t");
	return strtol(p, NULL, 10);
}

/* /varz total_connections of the server at monitoring port, or -1. */
static long varz_total(int port)
{
	struct monhttp_resp r;
	long v;

	if (monhttp_get(port, "/varz", WAIT_MS, &r) != 0)
		return -1;
	v = r.status == 200 ? json_int_after(r.body, "\"total_connections\"")
			    : -1;
	monhttp_free(&r);
	return v;
}

static int init_link(void)
{
	const char *tmp = getenv("TMPDIR");
	char conf[4 * PATH_MAX];
	int port;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(port_file, sizeof(port_file), "%s/plugins_test-%ld.port",
		 tmp, (long)getpid());
	unlink(port_file);
	link_a_http = harness_free_port();
	snprintf(conf, sizeof(conf),
		 "http_port = %d;\n"
		 "plugins = ( { load = \"%s\";\n"
		 "  settings = { listen_port = 0;\n"
		 "    port_file = \"%s\"; }; } );\n",
		 link_a_http, link_so, port_file);
	if (harness_start(&lsrv_a, "natsd", conf, NULL) != 0) {
		fprintf(stderr, "cannot start server A with:\n%s", conf);
		return -1;
	}
	port = read_port_file(port_file, LINK_WAIT_MS);
	if (port < 0) {
		fprintf(stderr, "server A wrote no port to %s\n", port_file);
		return -1;
	}
	/* The start-up probes were clients: counted before any link. */
	link_a_total0 = varz_total(link_a_http);
	snprintf(conf, sizeof(conf),
		 "plugins = ( { load = \"%s\";\n"
		 "  settings = { peer_port = %d; }; } );\n",
		 link_so, port);
	if (harness_start(&lsrv_b, "natsd", conf, NULL) != 0) {
		fprintf(stderr, "cannot start server B with:\n%s", conf);
		return -1;
	}
	if (!itest_log_wait(&lsrv_a, "linktest: link up with", LINK_WAIT_MS) ||
	    !itest_log_wait(&lsrv_b, "linktest: link up with", LINK_WAIT_MS))
		return -1;
	link_a_nc = conn_to(lsrv_a.port, NULL, NULL, NULL, NULL);
	link_b_nc = conn_to(lsrv_b.port, NULL, NULL, NULL, NULL);
	if (link_a_nc == NULL || link_b_nc == NULL) {
		fprintf(stderr, "cannot connect to the linked servers\n");
		return -1;
	}
	return 0;
}

static int fini_link(void)
{
	natsConnection_Destroy(link_a_nc);
	natsConnection_Destroy(link_b_nc);
	link_a_nc = NULL;
	link_b_nc = NULL;
	harness_stop(&lsrv_b);
	harness_stop(&lsrv_a);
	unlink(port_file);
	return 0;
}

/* Publishes n messages "<prefix>.<i>" with payload "m<i>" on nc. */
static void publish_n(natsConnection *nc, const char *prefix, int n)
{
	char subj[128], data[32];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(subj, sizeof(subj), "%s.%d", prefix, i);
		snprintf(data, sizeof(data), "m%d", i);
		CU_ASSERT(natsConnection_PublishString(nc, subj, data) ==
			  NATS_OK);
	}
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
}

/* Index of a "m<i>" payload, or -1. */
static int msg_index(natsMsg *m)
{
	char buf[32], *end;
	int len = natsMsg_GetDataLength(m);
	long v;

	if (len < 2 || len >= (int)sizeof(buf))
		return -1;
	memcpy(buf, natsMsg_GetData(m), (size_t)len);
	buf[len] = '\0';
	if (buf[0] != 'm')
		return -1;
	v = strtol(buf + 1, &end, 10);
	return *end == '\0' && v >= 0 && v < INT_MAX ? (int)v : -1;
}

/* Receives n messages on sub, in order, then checks nothing follows. */
static void expect_in_order(natsSubscription *sub, const char *prefix, int n)
{
	char subj[128];
	natsMsg *m;
	int i;

	for (i = 0; i < n; i++) {
		m = next_real(sub, WAIT_MS);
		CU_ASSERT_FATAL(m != NULL);
		snprintf(subj, sizeof(subj), "%s.%d", prefix, i);
		CU_ASSERT_STRING_EQUAL(natsMsg_GetSubject(m), subj);
		CU_ASSERT_EQUAL(msg_index(m), i);
		natsMsg_Destroy(m);
	}
	m = next_real(sub, QUIET_MS);
	CU_ASSERT(m == NULL);
	natsMsg_Destroy(m);
}

/* A message with a header and a reply subject, published on nc, arrives
 * on sub (on the other server) with both intact. */
static void expect_header(natsConnection *nc, natsSubscription *sub)
{
	natsMsg *out = NULL, *in;
	const char *v = NULL;

	CU_ASSERT_FATAL(natsMsg_Create(&out, "x.hdr", "x.reply.to", "body",
				       4) == NATS_OK);
	CU_ASSERT(natsMsgHeader_Set(out, "K", "v1") == NATS_OK);
	CU_ASSERT(natsConnection_PublishMsg(nc, out) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	natsMsg_Destroy(out);
	in = next_real(sub, WAIT_MS);
	CU_ASSERT_FATAL(in != NULL);
	CU_ASSERT_STRING_EQUAL(natsMsg_GetSubject(in), "x.hdr");
	CU_ASSERT(natsMsg_GetReply(in) != NULL &&
		  strcmp(natsMsg_GetReply(in), "x.reply.to") == 0);
	CU_ASSERT(natsMsgHeader_Get(in, "K", &v) == NATS_OK);
	CU_ASSERT(v != NULL && strcmp(v, "v1") == 0);
	CU_ASSERT_EQUAL(natsMsg_GetDataLength(in), 4);
	natsMsg_Destroy(in);
}

/* A subscriber on one server gets each message published on the other
 * once, in order; both directions. */
static void test_link_plain(void)
{
	natsSubscription *sa = NULL, *sb = NULL;

	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&sa, link_a_nc, "x.>") ==
			NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(link_a_nc, WAIT_MS) == NATS_OK);
	CU_ASSERT_FATAL(wait_interest(link_b_nc, "x.probe", true,
				      LINK_WAIT_MS));
	publish_n(link_b_nc, "x.n", 20);
	expect_in_order(sa, "x.n", 20);

	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&sb, link_b_nc, "y.>") ==
			NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(link_b_nc, WAIT_MS) == NATS_OK);
	CU_ASSERT_FATAL(wait_interest(link_a_nc, "y.probe", true,
				      LINK_WAIT_MS));
	publish_n(link_a_nc, "y.n", 20);
	expect_in_order(sb, "y.n", 20);

	expect_header(link_b_nc, sa);
	natsSubscription_Destroy(sb);
	natsSubscription_Destroy(sa);
}

#define QN 60

/* Takes messages from the queue members until want arrived (or time is
 * up), counting them per member in got[] and per index in seen[], then
 * checks for stragglers. Returns how many arrived. */
static int drain_queue(natsSubscription **subs, int nsubs, int *got,
		       int *seen, int want)
{
	long long end = itest_mono_ms() + WAIT_MS * 2;
	int total = 0, i, idx;
	natsMsg *m;

	while (total < want && itest_mono_ms() < end) {
		for (i = 0; i < nsubs; i++) {
			m = next_real(subs[i], 20);
			if (m == NULL)
				continue;
			idx = msg_index(m);
			if (idx >= 0 && idx < QN)
				seen[idx]++;
			got[i]++;
			total++;
			natsMsg_Destroy(m);
		}
	}
	/* Nothing more may come. */
	for (i = 0; i < nsubs; i++) {
		m = next_real(subs[i], QUIET_MS);
		if (m != NULL) {
			total++;
			got[i]++;
			natsMsg_Destroy(m);
		}
	}
	return total;
}

/* A marker subscription on a, seen by b's server: everything a's
 * connection sent before it has been processed there (the link is one
 * ordered stream). */
static void link_barrier(natsConnection *a, natsConnection *b,
			 const char *marker)
{
	natsSubscription *s = NULL;

	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&s, a, marker) ==
			NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(a, WAIT_MS) == NATS_OK);
	CU_ASSERT(wait_interest(b, marker, true, LINK_WAIT_MS));
	natsSubscription_Destroy(s);
}

/* A queue group with members on both servers: each message published
 * on B reaches exactly one member, wherever it is. */
/* /varz counts clients in connections and total_connections, as
 * nats-server does: the link is not one. (First in its suite: since
 * the link came up, one client.) */
static void test_link_varz(void)
{
	struct monhttp_resp r;

	CU_ASSERT_FATAL(link_a_total0 >= 0);
	CU_ASSERT_FATAL(monhttp_get(link_a_http, "/varz", WAIT_MS, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(json_int_after(r.body, "\"connections\""), 1);
	CU_ASSERT_EQUAL(json_int_after(r.body, "\"total_connections\""),
			link_a_total0 + 1);
	monhttp_free(&r);
}

static void test_link_queue(void)
{
	natsSubscription *subs[3] = { NULL, NULL, NULL };
	int got[3] = { 0, 0, 0 }, seen[QN], i, total;

	memset(seen, 0, sizeof(seen));
	CU_ASSERT_FATAL(natsConnection_QueueSubscribeSync(&subs[0], link_a_nc,
							  "q.>", "workers") ==
			NATS_OK);
	CU_ASSERT_FATAL(natsConnection_QueueSubscribeSync(&subs[1], link_a_nc,
							  "q.>", "workers") ==
			NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(link_a_nc, WAIT_MS) == NATS_OK);
	CU_ASSERT_FATAL(wait_interest(link_b_nc, "q.probe", true,
				      LINK_WAIT_MS));
	/* Both of A's members are known to B before B's own joins. */
	link_barrier(link_a_nc, link_b_nc, "qb.barrier1");
	CU_ASSERT_FATAL(natsConnection_QueueSubscribeSync(&subs[2], link_b_nc,
							  "q.>", "workers") ==
			NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(link_b_nc, WAIT_MS) == NATS_OK);

	publish_n(link_b_nc, "q.n", QN);
	total = drain_queue(subs, 3, got, seen, QN);
	CU_ASSERT_EQUAL(total, QN);
	for (i = 0; i < QN; i++)
		if (seen[i] != 1)
			fprintf(stderr, "queue message %d seen %d times\n", i,
				seen[i]);
	for (i = 0; i < QN; i++)
		CU_ASSERT_EQUAL(seen[i], 1);
	CU_ASSERT(got[0] + got[1] > 0); /* A was picked */
	CU_ASSERT(got[2] > 0);		/* and B */

	/* A's members leave: everything goes to B's. */
	natsSubscription_Unsubscribe(subs[0]);
	natsSubscription_Unsubscribe(subs[1]);
	link_barrier(link_a_nc, link_b_nc, "qb.barrier2");
	memset(seen, 0, sizeof(seen));
	memset(got, 0, sizeof(got));
	publish_n(link_b_nc, "q.n", 20);
	total = drain_queue(&subs[2], 1, &got[2], seen, 20);
	CU_ASSERT_EQUAL(total, 20);
	for (i = 0; i < 20; i++)
		CU_ASSERT_EQUAL(seen[i], 1);
	for (i = 0; i < 3; i++)
		natsSubscription_Destroy(subs[i]);
}

/* Unsubscribing on A withdraws the interest from B. */
static void test_link_unsubscribe(void)
{
	natsSubscription *sa = NULL;
	natsMsg *m;

	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&sa, link_a_nc,
						     "u.only") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(link_a_nc, WAIT_MS) == NATS_OK);
	CU_ASSERT_FATAL(wait_interest(link_b_nc, "u.only", true,
				      LINK_WAIT_MS));
	CU_ASSERT(natsConnection_PublishString(link_b_nc, "u.only", "m0") ==
		  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(link_b_nc, WAIT_MS) == NATS_OK);
	m = next_real(sa, WAIT_MS);
	CU_ASSERT(m != NULL && msg_index(m) == 0);
	natsMsg_Destroy(m);

	CU_ASSERT(natsSubscription_Unsubscribe(sa) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(link_a_nc, WAIT_MS) == NATS_OK);
	CU_ASSERT(wait_interest(link_b_nc, "u.only", false, LINK_WAIT_MS));
	natsSubscription_Destroy(sa);
}

/* B dies: A drops the interest B had registered and keeps serving. */
static void test_link_peer_killed(void)
{
	natsSubscription *sb = NULL;

	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&sb, link_b_nc,
						     "k.onb") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(link_b_nc, WAIT_MS) == NATS_OK);
	CU_ASSERT_FATAL(wait_interest(link_a_nc, "k.onb", true,
				      LINK_WAIT_MS));
	natsSubscription_Destroy(sb);
	natsConnection_Destroy(link_b_nc);
	link_b_nc = NULL;
	harness_kill(&lsrv_b);

	CU_ASSERT(
		itest_log_wait(&lsrv_a, "linktest: link closed", LINK_WAIT_MS));
	CU_ASSERT(wait_interest(link_a_nc, "k.onb", false, LINK_WAIT_MS));
	CU_ASSERT(itest_conn_usable(link_a_nc, "k.local"));
	CU_ASSERT(itest_log_clean(&lsrv_a));
}

static void test_link_stop_clean(void)
{
	natsConnection_Destroy(link_a_nc);
	link_a_nc = NULL;
	CU_ASSERT(itest_stop(&lsrv_a));
}

/* ------------------------------------------------------------------ */

/* Finds the plugins; returns 0, or -1 with a message. */
static int find_plugins(void)
{
	const char *dir = getenv("NATSD_TEST_PLUGIN_DIR");

	if (dir == NULL || dir[0] == '\0')
		dir = "tests/plugins/.libs";
	if (realpath(dir, plugin_dir) == NULL) {
		fprintf(stderr, "plugins_test: plugin dir %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	snprintf(auth_so, sizeof(auth_so), "%s/auth_test_plugin.so",
		 plugin_dir);
	snprintf(link_so, sizeof(link_so), "%s/link_test_plugin.so",
		 plugin_dir);
	if (access(auth_so, R_OK) != 0 || access(link_so, R_OK) != 0) {
		fprintf(stderr, "plugins_test: %s or %s missing\n", auth_so,
			link_so);
		return -1;
	}
	return 0;
}

int main(void)
{
	static const struct suite_test auth[] = {
		{ "accepted user and its permissions", test_auth_accept },
		{ "wrong password rejected", test_auth_wrong_password },
		{ "unknown user: chain ends, rejected",
		  test_auth_unknown_user },
		{ "answer later", test_auth_later },
		{ "credentials expire", test_auth_expiry },
		{ "accounts are isolated", test_auth_accounts },
		{ "stops cleanly", test_auth_stop_clean },
	};
	static const struct suite_test gone[] = {
		{ "client closes before the answer", test_auth_later_gone },
		{ "client resets before the answer", test_auth_later_reset },
		{ "stops cleanly", test_auth_stop_clean },
	};
	static const struct suite_test cancel[] = {
		{ "auth timeout cancels a pending answer",
		  test_cancel_on_timeout },
		{ "shutdown with an answer pending", test_cancel_on_shutdown },
	};
	static const struct suite_test link[] = {
		{ "/varz counts clients, not links", test_link_varz },
		{ "plain interest, both directions", test_link_plain },
		{ "queue group across servers", test_link_queue },
		{ "unsubscribe withdraws interest", test_link_unsubscribe },
		{ "killed peer's interest removed", test_link_peer_killed },
		{ "stops cleanly", test_link_stop_clean },
	};
	static const struct suite suites[] = {
		{ "authtest", init_auth, fini_auth, auth, SUITE_COUNT(auth) },
		{ "authtest: client gone", init_auth, fini_auth, gone,
		  SUITE_COUNT(gone) },
		{ "authtest: cancel", init_auth_cancel, fini_auth, cancel,
		  SUITE_COUNT(cancel) },
		{ "linktest", init_link, fini_link, link, SUITE_COUNT(link) },
	};
	int rc;

	if (!itest_is_natsd()) {
		printf("plugins_test: natsd plugins only, skipped\n");
		return 77;
	}
	if (find_plugins() != 0)
		return 99;
	itest_init("plugins_test", WATCHDOG_S, &asrv.pid);
	itest_watch_pid(&lsrv_a.pid);
	itest_watch_pid(&lsrv_b.pid);
	rc = suites_run(suites, SUITE_COUNT(suites));
	if (rc < 0)
		return 99;
	nats_CloseAndWait(WAIT_MS);
	kill_all();
	return rc;
}
