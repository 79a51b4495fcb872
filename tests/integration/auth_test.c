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

static struct hserver srv;

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

/* Connects with credentials (any may be NULL) and an optional error log.
 * On failure returns NULL and stores the status in *st if st != NULL. */
static natsConnection *conn_auth(const char *user, const char *pass,
				 const char *token, struct itest_errlog *e,
				 natsStatus *st)
{
	natsOptions *o = itest_opts(srv.port);
	natsStatus s = o != NULL ? NATS_OK : NATS_NO_MEMORY;

	if (s == NATS_OK && user != NULL)
		s = natsOptions_SetUserInfo(o, user, pass);
	if (s == NATS_OK && token != NULL)
		s = natsOptions_SetToken(o, token);
	if (s == NATS_OK && e != NULL)
		s = itest_errlog_attach(o, e);
	return itest_connect(o, s, st);
}

/* Connects to a URL that carries its own credentials. */
static natsStatus conn_url(const char *userinfo)
{
	natsOptions *o = itest_opts(srv.port);
	natsStatus s = o != NULL ? NATS_OK : NATS_NO_MEMORY;
	char url[256];

	snprintf(url, sizeof(url), "nats://%s@127.0.0.1:%d", userinfo,
		 srv.port);
	if (s == NATS_OK)
		s = natsOptions_SetURL(o, url);
	natsConnection_Destroy(itest_connect(o, s, &s));
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
	char out[512];
	bool eof = false;
	ssize_t n;
	int fd;

	reply[0] = '\0';
	*closed = false;
	fd = itest_raw_connect(srv.port, info, infocap);
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(out, sizeof(out), "%s\r\nPING\r\n", connect_line);
	CU_ASSERT(harness_sendstr(fd, out) == 0);
	n = harness_read_until(fd, reply, replycap - 1, "\r\n", WAIT_MS, &eof);
	if (n > 0)
		reply[n] = '\0';
	*closed = eof || harness_is_closed(fd, 500);
	close(fd);
}

/* Suites: each one a server of its own. */

static int start_conf(bool no_auth_user)
{
	char conf[4096];

	snprintf(conf, sizeof(conf), "%s%s",
		 itest_is_natsd() ? users_natsd : users_nats_server,
		 !no_auth_user      ? ""
		 : itest_is_natsd() ? no_auth_natsd
				    : no_auth_nats_server);
	return itest_start(&srv, conf, NULL);
}

static int init_userpass(void)
{
	static const char *const args[] = { "--user", "alice", "--pass",
					    "s3cret", NULL };

	return itest_start(&srv, NULL, args);
}

static int init_token(void)
{
	static const char *const args[] = { "--auth", "tok123", NULL };

	return itest_start(&srv, NULL, args);
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
	return itest_stop(&srv) ? 0 : -1;
}

static void test_userpass_ok(void)
{
	natsConnection *nc;

	nc = conn_auth("alice", "s3cret", NULL, NULL, NULL);
	CU_ASSERT_FATAL(nc != NULL);
	CU_ASSERT(itest_conn_usable(nc, "up.x"));
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
	CU_ASSERT(itest_conn_usable(nc, "tok.x"));
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
static void check_publish_denied(natsConnection *nc, struct itest_errlog *e)
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
	CU_ASSERT(itest_errlog_wait(e,
				    "Permissions Violation for Publish to "
				    "\"ok.no\"",
				    WAIT_MS));
	CU_ASSERT_EQUAL(e->last, NATS_NOT_PERMITTED);
	CU_ASSERT(natsConnection_PublishString(nc, "other.x", "x") == NATS_OK);
	CU_ASSERT(itest_errlog_wait(e,
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
	struct itest_errlog e;
	natsConnection *nc;

	itest_errlog_init(&e);
	nc = conn_auth("a", "b", NULL, &e, NULL);
	CU_ASSERT_FATAL(nc != NULL);
	check_publish_denied(nc, &e);
	natsConnection_Destroy(nc);
	itest_errlog_fini(&e);
}

/* Subscribing outside the allow list, or on the deny list, is reported,
 * and that subscription never receives anything; allowed ones do. */
static void test_subscribe_denied(void)
{
	natsSubscription *bad = NULL, *good = NULL, *secret = NULL;
	natsConnection *nc, *svc, *admin;
	struct itest_errlog e, es;
	natsMsg *m = NULL;

	itest_errlog_init(&e);
	itest_errlog_init(&es);
	nc = conn_auth("a", "b", NULL, &e, NULL);
	svc = conn_auth("svc", "svcpw", NULL, &es, NULL);
	admin = conn_auth("admin", "adminpw", NULL, NULL, NULL);
	CU_ASSERT_FATAL(nc != NULL && svc != NULL && admin != NULL);

	CU_ASSERT(natsConnection_SubscribeSync(&bad, nc, "secret.x") ==
		  NATS_OK);
	CU_ASSERT(natsConnection_SubscribeSync(&good, nc, "ok.sub") == NATS_OK);
	CU_ASSERT(natsConnection_SubscribeSync(&secret, svc, "svc.secret") ==
		  NATS_OK);
	CU_ASSERT(itest_errlog_wait(&e,
				    "Permissions Violation for Subscription to "
				    "\"secret.x\"",
				    WAIT_MS));
	CU_ASSERT_EQUAL(e.last, NATS_NOT_PERMITTED);
	CU_ASSERT(itest_errlog_wait(&es,
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
	itest_errlog_fini(&e);
	itest_errlog_fini(&es);
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
	struct itest_errlog e;
	natsMsg *rep = NULL;

	itest_errlog_init(&e);
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
	CU_ASSERT(itest_errlog_wait(&e,
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
	CU_ASSERT(itest_errlog_wait(&e,
				    "Permissions Violation for Publish to "
				    "\"free.x\"",
				    WAIT_MS));

	natsSubscription_Destroy(inbox);
	natsSubscription_Destroy(svc_sub);
	natsConnection_Destroy(a);
	natsConnection_Destroy(admin);
	natsConnection_Destroy(svc);
	itest_errlog_fini(&e);
}

/* Without credentials a client is logged in as no_auth_user and gets that
 * user's permissions; presented credentials are still checked. */
static void test_no_auth_user(void)
{
	char info[4096], reply[512];
	natsConnection *nc, *admin;
	struct itest_errlog e;
	bool closed;

	itest_errlog_init(&e);
	nc = conn_auth(NULL, NULL, NULL, &e, NULL);
	CU_ASSERT_FATAL(nc != NULL);
	check_publish_denied(nc, &e);
	natsConnection_Destroy(nc);

	admin = conn_auth("admin", "adminpw", NULL, NULL, NULL);
	CU_ASSERT(admin != NULL);
	if (admin != NULL)
		CU_ASSERT(itest_conn_usable(admin, "anything.at.all"));
	natsConnection_Destroy(admin);
	assert_refused("admin", "wrong", NULL);
	assert_refused("nobody", "b", NULL);

	/* INFO does not ask for credentials when there is a default user. */
	raw_connect("CONNECT {\"verbose\":false}", info, sizeof(info), reply,
		    sizeof(reply), &closed);
	CU_ASSERT(strstr(info, "\"auth_required\":true") == NULL);
	CU_ASSERT_STRING_EQUAL(reply, "PONG\r\n");
	CU_ASSERT(!closed);
	CU_ASSERT(itest_errlog_count(&e) >= 2);
	itest_errlog_fini(&e);
}

int main(void)
{
	static const struct suite_test userpass[] = {
		{ "user/password accepted", test_userpass_ok },
		{ "wrong user/password refused", test_userpass_refused },
	};
	static const struct suite_test token[] = {
		{ "token accepted", test_token_ok },
		{ "wrong token refused", test_token_refused },
	};
	static const struct suite_test users[] = {
		{ "users log in", test_users_login },
		{ "publish denied", test_publish_denied },
		{ "subscribe denied", test_subscribe_denied },
		{ "allow_responses", test_allow_responses },
	};
	static const struct suite_test no_auth[] = {
		{ "no_auth_user", test_no_auth_user },
	};
	static const struct suite suites[] = {
		{ "user/password", init_userpass, suite_fini, userpass,
		  SUITE_COUNT(userpass) },
		{ "token", init_token, suite_fini, token, SUITE_COUNT(token) },
		{ "users and permissions", init_users, suite_fini, users,
		  SUITE_COUNT(users) },
		{ "no_auth_user", init_no_auth_user, suite_fini, no_auth,
		  SUITE_COUNT(no_auth) },
	};
	int rc;

	itest_init("auth_test", WATCHDOG_S, &srv.pid);
	rc = suites_run(suites, SUITE_COUNT(suites));
	nats_CloseAndWait(WAIT_MS);
	return rc == 0 ? 0 : 1;
}
