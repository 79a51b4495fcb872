#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Authentication and authorization through a real server, driven by the
 * NATS C client (libnats) and raw sockets. Each suite starts its own server:
 * user/password and token from the command line, users with permissions
 * and no_auth_user from a config file. Config texts come in two dialects,
 * natsd's libconfig and nats-server's, chosen by harness_kind(), so the
 * same checks run against both servers.
 */

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
	static const char msg[] = "auth_test: watchdog expired\n";

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

/* User "a" may publish under ok. except ok.no and subscribe to ok.> and
 * inboxes; "svc" may only subscribe under svc. (not svc.secret) and answer
 * requests; "admin" may do anything. */
static const char users_natsd[] =
	"authorization = {\n"
	"  users = (\n"
	"    { user = \"a\"; password = \"b\";\n"
	"      permissions = {\n"
	"        publish = { allow = [\"ok.>\"]; deny = [\"ok.no\"]; };\n"
	"        subscribe = [\"ok.>\", \"_INBOX.>\"];\n"
	"        allow_responses = true;\n"
	"      };\n"
	"    },\n"
	"    { user = \"svc\"; password = \"svcpw\";\n"
	"      permissions = {\n"
	"        subscribe = { allow = [\"svc.>\"];\n"
	"                      deny = [\"svc.secret\"]; };\n"
	"        allow_responses = true;\n"
	"      };\n"
	"    },\n"
	"    { user = \"admin\"; password = \"adminpw\"; }\n"
	"  );\n"
	"};\n";

static const char users_nats_server[] =
	"authorization {\n"
	"  users = [\n"
	"    { user: \"a\", password: \"b\",\n"
	"      permissions: {\n"
	"        publish: { allow: [\"ok.>\"], deny: [\"ok.no\"] },\n"
	"        subscribe: [\"ok.>\", \"_INBOX.>\"],\n"
	"        allow_responses: true\n"
	"      }\n"
	"    },\n"
	"    { user: \"svc\", password: \"svcpw\",\n"
	"      permissions: {\n"
	"        subscribe: { allow: [\"svc.>\"], deny: [\"svc.secret\"] },\n"
	"        allow_responses: true\n"
	"      }\n"
	"    },\n"
	"    { user: \"admin\", password: \"adminpw\" }\n"
	"  ]\n"
	"}\n";

static const char no_auth_natsd[] = "no_auth_user = \"a\";\n";
static const char no_auth_nats_server[] = "no_auth_user: \"a\"\n";

static bool is_natsd(void)
{
	return strcmp(harness_kind(), "natsd") == 0;
}

/* Errors the client library reported asynchronously, with the server's
 * text for each, all kept so a later error cannot hide an earlier one. */
struct errlog {
	pthread_mutex_t mu;
	int n;
	natsStatus last;
	char text[2048];
};

static void errlog_init(struct errlog *e)
{
	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->mu, NULL);
}

static void on_async_error(natsConnection *nc, natsSubscription *sub,
			   natsStatus err, void *closure)
{
	struct errlog *e = closure;
	const char *txt = NULL;
	size_t used;

	(void)sub;
	natsConnection_GetLastError(nc, &txt);
	pthread_mutex_lock(&e->mu);
	e->n++;
	e->last = err;
	used = strlen(e->text);
	snprintf(e->text + used, sizeof(e->text) - used, "%s\n",
		 txt != NULL ? txt : "");
	pthread_mutex_unlock(&e->mu);
}

/* Waits until an error whose text contains want has been reported. */
static bool errlog_wait(struct errlog *e, const char *want, int timeout_ms)
{
	int64_t end = nats_Now() + timeout_ms;
	bool found;

	for (;;) {
		pthread_mutex_lock(&e->mu);
		found = strstr(e->text, want) != NULL;
		pthread_mutex_unlock(&e->mu);
		if (found || nats_Now() >= end)
			break;
		nats_Sleep(5);
	}
	if (!found) {
		pthread_mutex_lock(&e->mu);
		fprintf(stderr, "wanted error \"%s\", have \"%s\"\n", want,
			e->text);
		pthread_mutex_unlock(&e->mu);
	}
	return found;
}

static int errlog_count(struct errlog *e)
{
	int n;

	pthread_mutex_lock(&e->mu);
	n = e->n;
	pthread_mutex_unlock(&e->mu);
	return n;
}

/* Connects with credentials (any may be NULL) and an optional error log.
 * On failure returns NULL and stores the status in *st if st != NULL. */
static natsConnection *conn_auth(const char *user, const char *pass,
				 const char *token, struct errlog *e,
				 natsStatus *st)
{
	natsConnection *nc = NULL;
	natsOptions *o = NULL;
	natsStatus s;
	char url[64];

	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", srv.port);
	s = natsOptions_Create(&o);
	if (s == NATS_OK)
		s = natsOptions_SetURL(o, url);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, WAIT_MS);
	if (s == NATS_OK)
		s = natsOptions_SetAllowReconnect(o, false);
	if (s == NATS_OK && user != NULL)
		s = natsOptions_SetUserInfo(o, user, pass);
	if (s == NATS_OK && token != NULL)
		s = natsOptions_SetToken(o, token);
	if (s == NATS_OK && e != NULL)
		s = natsOptions_SetErrorHandler(o, on_async_error, e);
	if (s == NATS_OK)
		s = natsConnection_Connect(&nc, o);
	natsOptions_Destroy(o);
	if (st != NULL)
		*st = s;
	return s == NATS_OK ? nc : NULL;
}

/* Connects to a URL that carries its own credentials. */
static natsStatus conn_url(const char *userinfo)
{
	natsConnection *nc = NULL;
	natsOptions *o = NULL;
	natsStatus s;
	char url[256];

	snprintf(url, sizeof(url), "nats://%s@127.0.0.1:%d", userinfo,
		 srv.port);
	s = natsOptions_Create(&o);
	if (s == NATS_OK)
		s = natsOptions_SetURL(o, url);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, WAIT_MS);
	if (s == NATS_OK)
		s = natsOptions_SetAllowReconnect(o, false);
	if (s == NATS_OK)
		s = natsConnection_Connect(&nc, o);
	natsOptions_Destroy(o);
	natsConnection_Destroy(nc);
	return s;
}

/* A connect attempt that must be refused as an authorization failure. */
static void assert_refused(const char *user, const char *pass,
			   const char *token)
{
	natsConnection *nc;
	natsStatus st = NATS_OK;
	const char *txt;

	nc = conn_auth(user, pass, token, NULL, &st);
	CU_ASSERT(nc == NULL);
	natsConnection_Destroy(nc);
	if (st != NATS_CONNECTION_AUTH_FAILED)
		fprintf(stderr, "refused with %s\n", natsStatus_GetText(st));
	CU_ASSERT_EQUAL(st, NATS_CONNECTION_AUTH_FAILED);
	txt = nats_GetLastError(NULL);
	CU_ASSERT(txt != NULL &&
		  strstr(txt, "Authorization Violation") != NULL);
}

/* A raw client: reads INFO into info (if not NULL), sends connect_line,
 * returns what the server answers to a trailing PING (or the -ERR) and
 * whether it then closed the connection. */
static void raw_connect(const char *connect_line, char *info, size_t infocap,
			char *reply, size_t replycap, bool *closed)
{
	char buf[4096];
	char out[512];
	bool eof = false;
	ssize_t n;
	int fd;

	reply[0] = '\0';
	*closed = false;
	fd = harness_connect(srv.port);
	CU_ASSERT_FATAL(fd >= 0);
	n = harness_read_until(fd, buf, sizeof(buf) - 1, "\r\n", WAIT_MS, &eof);
	CU_ASSERT_FATAL(n > 0);
	buf[n] = '\0';
	if (info != NULL)
		snprintf(info, infocap, "%s", buf);
	snprintf(out, sizeof(out), "%s\r\nPING\r\n", connect_line);
	CU_ASSERT(harness_sendstr(fd, out) == 0);
	n = harness_read_until(fd, reply, replycap - 1, "\r\n", WAIT_MS, &eof);
	if (n > 0)
		reply[n] = '\0';
	*closed = eof || harness_is_closed(fd, 500);
	close(fd);
}

/* Suites: each one a server of its own. */

static int start_args(const char *const *args)
{
	if (harness_start(&srv, harness_kind(), NULL, args) != 0) {
		fprintf(stderr, "cannot start %s\n", harness_kind());
		return -1;
	}
	return 0;
}

static int start_conf(bool no_auth_user)
{
	char conf[4096];

	snprintf(conf, sizeof(conf), "%s%s",
		 is_natsd() ? users_natsd : users_nats_server,
		 !no_auth_user ? ""
		 : is_natsd()  ? no_auth_natsd
			       : no_auth_nats_server);
	if (harness_start(&srv, harness_kind(), conf, NULL) != 0) {
		fprintf(stderr, "cannot start %s with:\n%s", harness_kind(),
			conf);
		return -1;
	}
	return 0;
}

static int init_userpass(void)
{
	static const char *const args[] = { "--user", "alice", "--pass",
					    "s3cret", NULL };

	return start_args(args);
}

static int init_token(void)
{
	static const char *const args[] = { "--auth", "tok123", NULL };

	return start_args(args);
}

static int init_users(void)
{
	return start_conf(false);
}

static int init_no_auth_user(void)
{
	return start_conf(true);
}

static int suite_fini(void)
{
	return stopped_cleanly(harness_stop(&srv)) ? 0 : -1;
}

/* Publishes on nc and checks the message comes back on a subscription of
 * the same connection: the connection is fully usable. */
static void assert_usable(natsConnection *nc, const char *subject)
{
	natsSubscription *sub = NULL;
	natsMsg *m = NULL;

	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&sub, nc, subject) ==
			NATS_OK);
	CU_ASSERT(natsConnection_PublishString(nc, subject, "hi") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsSubscription_NextMsg(&m, sub, WAIT_MS) == NATS_OK);
	natsMsg_Destroy(m);
	natsSubscription_Destroy(sub);
}

static void test_userpass_ok(void)
{
	natsConnection *nc;

	nc = conn_auth("alice", "s3cret", NULL, NULL, NULL);
	CU_ASSERT_FATAL(nc != NULL);
	assert_usable(nc, "up.x");
	natsConnection_Destroy(nc);
	CU_ASSERT_EQUAL(conn_url("alice:s3cret"), NATS_OK);
}

static void test_userpass_refused(void)
{
	char info[4096], reply[512];
	bool closed;

	assert_refused("alice", "wrong", NULL);
	assert_refused("bob", "s3cret", NULL);
	assert_refused(NULL, NULL, NULL);
	assert_refused(NULL, NULL, "s3cret");
	CU_ASSERT_EQUAL(conn_url("alice:nope"), NATS_CONNECTION_AUTH_FAILED);

	raw_connect("CONNECT {\"verbose\":false,\"user\":\"alice\","
		    "\"pass\":\"bad\"}",
		    info, sizeof(info), reply, sizeof(reply), &closed);
	CU_ASSERT(strstr(info, "\"auth_required\":true") != NULL);
	CU_ASSERT_STRING_EQUAL(reply, "-ERR 'Authorization Violation'\r\n");
	CU_ASSERT(closed);

	raw_connect("CONNECT {\"verbose\":false,\"user\":\"alice\","
		    "\"pass\":\"s3cret\"}",
		    NULL, 0, reply, sizeof(reply), &closed);
	CU_ASSERT_STRING_EQUAL(reply, "PONG\r\n");
	CU_ASSERT(!closed);
}

static void test_token_ok(void)
{
	natsConnection *nc;

	nc = conn_auth(NULL, NULL, "tok123", NULL, NULL);
	CU_ASSERT_FATAL(nc != NULL);
	assert_usable(nc, "tok.x");
	natsConnection_Destroy(nc);
	CU_ASSERT_EQUAL(conn_url("tok123"), NATS_OK);
}

static void test_token_refused(void)
{
	char reply[512];
	bool closed;

	assert_refused(NULL, NULL, "tok124");
	assert_refused(NULL, NULL, NULL);
	assert_refused("tok123", "x", NULL);
	CU_ASSERT_EQUAL(conn_url("nottok"), NATS_CONNECTION_AUTH_FAILED);

	raw_connect("CONNECT {\"verbose\":false,\"auth_token\":\"tok12\"}",
		    NULL, 0, reply, sizeof(reply), &closed);
	CU_ASSERT_STRING_EQUAL(reply, "-ERR 'Authorization Violation'\r\n");
	CU_ASSERT(closed);
}

static void test_users_login(void)
{
	natsConnection *nc;

	nc = conn_auth("admin", "adminpw", NULL, NULL, NULL);
	CU_ASSERT(nc != NULL);
	natsConnection_Destroy(nc);
	nc = conn_auth("a", "b", NULL, NULL, NULL);
	CU_ASSERT(nc != NULL);
	natsConnection_Destroy(nc);
	assert_refused("a", "adminpw", NULL);
	assert_refused("admin", "b", NULL);
	assert_refused(NULL, NULL, NULL);
}

/* Publishing outside the allow list, or on the deny list, is reported as
 * an async error with the server's text, the message goes nowhere, and
 * the connection stays up. */
static void check_publish_denied(natsConnection *nc, struct errlog *e)
{
	natsSubscription *watch = NULL;
	natsConnection *admin;
	natsMsg *m = NULL;

	admin = conn_auth("admin", "adminpw", NULL, NULL, NULL);
	CU_ASSERT_FATAL(admin != NULL);
	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&watch, admin, ">") ==
			NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(admin, WAIT_MS) == NATS_OK);

	CU_ASSERT(natsConnection_PublishString(nc, "ok.no", "x") == NATS_OK);
	CU_ASSERT(errlog_wait(e,
			      "Permissions Violation for Publish to "
			      "\"ok.no\"",
			      WAIT_MS));
	CU_ASSERT_EQUAL(e->last, NATS_NOT_PERMITTED);
	CU_ASSERT(natsConnection_PublishString(nc, "other.x", "x") == NATS_OK);
	CU_ASSERT(errlog_wait(e,
			      "Permissions Violation for Publish to "
			      "\"other.x\"",
			      WAIT_MS));
	CU_ASSERT(natsConnection_PublishString(nc, "ok.yes", "y") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(admin, WAIT_MS) == NATS_OK);
	CU_ASSERT_EQUAL(natsConnection_Status(nc), NATS_CONN_STATUS_CONNECTED);

	/* Only the allowed message reached the admin's catch-all. */
	CU_ASSERT_FATAL(natsSubscription_NextMsg(&m, watch, WAIT_MS) ==
			NATS_OK);
	CU_ASSERT_STRING_EQUAL(natsMsg_GetSubject(m), "ok.yes");
	natsMsg_Destroy(m);
	CU_ASSERT(natsSubscription_NextMsg(&m, watch, QUIET_MS) ==
		  NATS_TIMEOUT);
	natsSubscription_Destroy(watch);
	natsConnection_Destroy(admin);
}

static void test_publish_denied(void)
{
	struct errlog e;
	natsConnection *nc;

	errlog_init(&e);
	nc = conn_auth("a", "b", NULL, &e, NULL);
	CU_ASSERT_FATAL(nc != NULL);
	check_publish_denied(nc, &e);
	natsConnection_Destroy(nc);
	pthread_mutex_destroy(&e.mu);
}

/* Subscribing outside the allow list, or on the deny list, is reported,
 * and that subscription never receives anything; allowed ones do. */
static void test_subscribe_denied(void)
{
	natsSubscription *bad = NULL, *good = NULL, *secret = NULL;
	natsConnection *nc, *svc, *admin;
	struct errlog e, es;
	natsMsg *m = NULL;

	errlog_init(&e);
	errlog_init(&es);
	nc = conn_auth("a", "b", NULL, &e, NULL);
	svc = conn_auth("svc", "svcpw", NULL, &es, NULL);
	admin = conn_auth("admin", "adminpw", NULL, NULL, NULL);
	CU_ASSERT_FATAL(nc != NULL && svc != NULL && admin != NULL);

	CU_ASSERT(natsConnection_SubscribeSync(&bad, nc, "secret.x") ==
		  NATS_OK);
	CU_ASSERT(natsConnection_SubscribeSync(&good, nc, "ok.sub") == NATS_OK);
	CU_ASSERT(natsConnection_SubscribeSync(&secret, svc, "svc.secret") ==
		  NATS_OK);
	CU_ASSERT(errlog_wait(&e,
			      "Permissions Violation for Subscription to "
			      "\"secret.x\"",
			      WAIT_MS));
	CU_ASSERT_EQUAL(e.last, NATS_NOT_PERMITTED);
	CU_ASSERT(errlog_wait(&es,
			      "Permissions Violation for Subscription "
			      "to \"svc.secret\"",
			      WAIT_MS));

	CU_ASSERT(natsConnection_PublishString(admin, "secret.x", "s") ==
		  NATS_OK);
	CU_ASSERT(natsConnection_PublishString(admin, "svc.secret", "s") ==
		  NATS_OK);
	CU_ASSERT(natsConnection_PublishString(admin, "ok.sub", "g") ==
		  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(admin, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(svc, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsSubscription_NextMsg(&m, good, WAIT_MS) == NATS_OK);
	natsMsg_Destroy(m);
	m = NULL;
	CU_ASSERT(natsSubscription_NextMsg(&m, bad, QUIET_MS) != NATS_OK);
	CU_ASSERT(m == NULL);
	CU_ASSERT(natsSubscription_NextMsg(&m, secret, QUIET_MS) != NATS_OK);
	CU_ASSERT(m == NULL);
	CU_ASSERT_EQUAL(natsConnection_Status(nc), NATS_CONN_STATUS_CONNECTED);

	natsSubscription_Destroy(bad);
	natsSubscription_Destroy(good);
	natsSubscription_Destroy(secret);
	natsConnection_Destroy(admin);
	natsConnection_Destroy(svc);
	natsConnection_Destroy(nc);
	pthread_mutex_destroy(&e.mu);
	pthread_mutex_destroy(&es.mu);
}

/* The service answers each request on its reply subject, twice. */
static void on_service(natsConnection *nc, natsSubscription *sub, natsMsg *m,
		       void *closure)
{
	(void)sub;
	(void)closure;
	if (natsMsg_GetReply(m) != NULL) {
		natsConnection_PublishString(nc, natsMsg_GetReply(m), "one");
		natsConnection_PublishString(nc, natsMsg_GetReply(m), "two");
	}
	natsMsg_Destroy(m);
}

/* allow_responses lets a user with no publish rights answer a request,
 * once per request (the default), and nothing else. */
static void test_allow_responses(void)
{
	natsSubscription *svc_sub = NULL, *inbox = NULL;
	natsConnection *svc, *admin, *a;
	struct errlog e;
	natsMsg *rep = NULL;

	errlog_init(&e);
	svc = conn_auth("svc", "svcpw", NULL, &e, NULL);
	admin = conn_auth("admin", "adminpw", NULL, NULL, NULL);
	a = conn_auth("a", "b", NULL, NULL, NULL);
	CU_ASSERT_FATAL(svc != NULL && admin != NULL && a != NULL);
	CU_ASSERT_FATAL(natsConnection_Subscribe(&svc_sub, svc, "svc.echo",
						 on_service, NULL) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(svc, WAIT_MS) == NATS_OK);

	CU_ASSERT(natsConnection_RequestString(&rep, admin, "svc.echo", "q",
					       WAIT_MS) == NATS_OK);
	if (rep != NULL)
		CU_ASSERT_NSTRING_EQUAL(natsMsg_GetData(rep), "one", 3);
	natsMsg_Destroy(rep);

	/* The second answer to the same request is refused. */
	CU_ASSERT_FATAL(natsConnection_SubscribeSync(&inbox, admin,
						     "reply.admin") == NATS_OK);
	CU_ASSERT(natsConnection_PublishRequestString(
			  admin, "svc.echo", "reply.admin", "q") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(admin, WAIT_MS) == NATS_OK);
	rep = NULL;
	CU_ASSERT(natsSubscription_NextMsg(&rep, inbox, WAIT_MS) == NATS_OK);
	if (rep != NULL)
		CU_ASSERT_NSTRING_EQUAL(natsMsg_GetData(rep), "one", 3);
	natsMsg_Destroy(rep);
	CU_ASSERT(errlog_wait(&e,
			      "Permissions Violation for Publish to "
			      "\"reply.admin\"",
			      WAIT_MS));
	CU_ASSERT(natsConnection_FlushTimeout(svc, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(admin, WAIT_MS) == NATS_OK);
	rep = NULL;
	CU_ASSERT(natsSubscription_NextMsg(&rep, inbox, QUIET_MS) ==
		  NATS_TIMEOUT);
	natsMsg_Destroy(rep);

	/* A user who may not publish to svc.echo gets no answer: the
	 * denied request is dropped, so it times out. */
	rep = NULL;
	CU_ASSERT(natsConnection_RequestString(&rep, a, "svc.echo", "q", 300) ==
		  NATS_TIMEOUT);
	CU_ASSERT(rep == NULL);
	natsMsg_Destroy(rep);

	/* Outside of a reply, svc may publish nothing. */
	CU_ASSERT(natsConnection_PublishString(svc, "free.x", "x") == NATS_OK);
	CU_ASSERT(errlog_wait(&e,
			      "Permissions Violation for Publish to "
			      "\"free.x\"",
			      WAIT_MS));

	natsSubscription_Destroy(inbox);
	natsSubscription_Destroy(svc_sub);
	natsConnection_Destroy(a);
	natsConnection_Destroy(admin);
	natsConnection_Destroy(svc);
	pthread_mutex_destroy(&e.mu);
}

/* Without credentials a client is logged in as no_auth_user and gets that
 * user's permissions; presented credentials are still checked. */
static void test_no_auth_user(void)
{
	char info[4096], reply[512];
	natsConnection *nc, *admin;
	struct errlog e;
	bool closed;

	errlog_init(&e);
	nc = conn_auth(NULL, NULL, NULL, &e, NULL);
	CU_ASSERT_FATAL(nc != NULL);
	check_publish_denied(nc, &e);
	natsConnection_Destroy(nc);

	admin = conn_auth("admin", "adminpw", NULL, NULL, NULL);
	CU_ASSERT(admin != NULL);
	if (admin != NULL)
		assert_usable(admin, "anything.at.all");
	natsConnection_Destroy(admin);
	assert_refused("admin", "wrong", NULL);
	assert_refused("nobody", "b", NULL);

	/* INFO does not ask for credentials when there is a default user. */
	raw_connect("CONNECT {\"verbose\":false}", info, sizeof(info), reply,
		    sizeof(reply), &closed);
	CU_ASSERT(strstr(info, "\"auth_required\":true") == NULL);
	CU_ASSERT_STRING_EQUAL(reply, "PONG\r\n");
	CU_ASSERT(!closed);
	CU_ASSERT(errlog_count(&e) >= 2);
	pthread_mutex_destroy(&e.mu);
}

struct test_def {
	const char *name;
	void (*fn)(void);
};

static int add_suite(const char *name, CU_InitializeFunc init,
		     const struct test_def *tests, size_t n)
{
	CU_pSuite suite;
	size_t i;

	suite = CU_add_suite(name, init, suite_fini);
	if (suite == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			return -1;
	return 0;
}

int main(void)
{
	static const struct test_def userpass[] = {
		{ "user/password accepted", test_userpass_ok },
		{ "wrong user/password refused", test_userpass_refused },
	};
	static const struct test_def token[] = {
		{ "token accepted", test_token_ok },
		{ "wrong token refused", test_token_refused },
	};
	static const struct test_def users[] = {
		{ "users log in", test_users_login },
		{ "publish denied", test_publish_denied },
		{ "subscribe denied", test_subscribe_denied },
		{ "allow_responses", test_allow_responses },
	};
	static const struct test_def no_auth[] = {
		{ "no_auth_user", test_no_auth_user },
	};
	unsigned int failed;

	signal(SIGALRM, watchdog_fire);
	alarm(WATCHDOG_S);
	signal(SIGPIPE, SIG_IGN);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (add_suite("user/password", init_userpass, userpass,
		      sizeof(userpass) / sizeof(userpass[0])) != 0 ||
	    add_suite("token", init_token, token,
		      sizeof(token) / sizeof(token[0])) != 0 ||
	    add_suite("users and permissions", init_users, users,
		      sizeof(users) / sizeof(users[0])) != 0 ||
	    add_suite("no_auth_user", init_no_auth_user, no_auth,
		      sizeof(no_auth) / sizeof(no_auth[0])) != 0) {
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	nats_CloseAndWait(WAIT_MS);
	return failed == 0 ? 0 : 1;
}
