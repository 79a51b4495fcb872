#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Operator mode (auth_jwt) through a real natsd and, for comparison, a
 * real nats-server 2.9 with the equivalent config (operator file,
 * resolver MEMORY, resolver_preload). The operator, accounts and users
 * come from tests/fixtures/jwt (made with @nats-io/jwt and
 * @nats-io/nkeys), written here as an operator JWT file and creds files;
 * the clients are libnats with natsOptions_SetUserCredentialsFromFiles
 * and raw sockets. Every case runs against both servers: who gets in must
 * be the same, and the expected.
 *
 * A second natsd takes its settings from a plugins entry with
 * trusted_keys, and a third uses a URL resolver served by a small HTTP
 * server in this program, which can also hang or answer garbage.
 */

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <nats/nats.h>

#include "fixtures/jwt/jwt_fx.h"
#include "harness.h"
#include "itest.h"

#define WAIT_MS    ITEST_WAIT_MS
#define WATCHDOG_S 90

static struct hserver natsd_srv, ns_srv, tk_srv, url_srv;
static bool have_ns;
static char dir[] = "/tmp/jwt_test.XXXXXX";

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

/* <dir>/<name>.creds, in the format nsc writes. */
static bool write_creds(const struct jwt_fixture *u)
{
	char path[256], text[8192];

	snprintf(path, sizeof(path), "%s/%s.creds", dir, u->name);
	snprintf(text, sizeof(text),
		 "-----BEGIN NATS USER JWT-----\n%s\n"
		 "------END NATS USER JWT------\n\n"
		 "************************* IMPORTANT "
		 "*************************\n"
		 "NKEY Seed printed below can be used to sign and prove "
		 "identity.\n\n"
		 "-----BEGIN USER NKEY SEED-----\n%s\n"
		 "------END USER NKEY SEED------\n",
		 u->jwt, u->seed);
	return write_file(path, text);
}

/* The preload map, in natsd's (libconfig) or nats-server's syntax. */
static void preload(char *buf, size_t len, bool natsd)
{
	const struct jwt_fixture *a;
	size_t o = 0;

	for (a = jwt_fx_accounts; a->name != NULL && o < len; a++)
		o += (size_t)snprintf(buf + o, len - o,
				      natsd ? "  %s = \"%s\";\n"
					    : "  %s: \"%s\"\n",
				      a->public_key, a->jwt);
}

static char pre_natsd[65536], pre_ns[65536];

/* The URL resolver's HTTP server                                       */

enum http_mode {
	HTTP_SERVE = 0,
	HTTP_HANG = 1,
	HTTP_GARBAGE = 2,
};

static int http_fd = -1, http_port;
static atomic_int http_mode, http_gets;
static atomic_bool http_stop;
static pthread_t http_thread;

/* Answers GET /jwt/v1/accounts/<key> from the fixtures, one request per
 * connection, as nats-account-server does. */
static void http_answer(int fd)
{
	char req[2048], resp[16384], *p;
	const struct jwt_fixture *a;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	size_t got = 0;

	while (got < sizeof(req) - 1 && poll(&pfd, 1, WAIT_MS) == 1) {
		n = recv(fd, req + got, sizeof(req) - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[got] = '\0';
	atomic_fetch_add(&http_gets, 1);
	if (atomic_load(&http_mode) == HTTP_HANG) {
		/* Say nothing until the mode changes, the test ends or
		 * 5 s pass. */
		for (int i = 0; i < 100 && !atomic_load(&http_stop) &&
				atomic_load(&http_mode) == HTTP_HANG;
		     i++)
			usleep(50000);
		return;
	}
	if (atomic_load(&http_mode) == HTTP_GARBAGE) {
		harness_sendstr(fd, "HTTP/1.0 200 OK\r\n\r\nnot.a.jwt");
		return;
	}
	p = strstr(req, "/jwt/v1/accounts/");
	for (a = jwt_fx_accounts; p != NULL && a->name != NULL; a++) {
		if (strncmp(p + 17, a->public_key, 56) == 0) {
			snprintf(resp, sizeof(resp),
				 "HTTP/1.0 200 OK\r\nContent-Type: "
				 "application/jwt\r\n\r\n%s",
				 a->jwt);
			harness_sendstr(fd, resp);
			return;
		}
	}
	harness_sendstr(fd, "HTTP/1.0 404 Not Found\r\n\r\n");
}

static void *http_main(void *arg)
{
	struct pollfd pfd = { .events = POLLIN };
	int fd;

	(void)arg;
	pfd.fd = http_fd;
	while (!atomic_load(&http_stop)) {
		if (poll(&pfd, 1, 100) != 1)
			continue;
		fd = accept(http_fd, NULL, NULL);
		if (fd < 0)
			continue;
		http_answer(fd);
		close(fd);
	}
	return NULL;
}

static int http_start(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	http_fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (http_fd < 0 || bind(http_fd, (void *)&sa, sizeof(sa)) != 0 ||
	    listen(http_fd, 16) != 0 ||
	    getsockname(http_fd, (void *)&sa, &len) != 0)
		return -1;
	http_port = ntohs(sa.sin_port);
	return pthread_create(&http_thread, NULL, http_main, NULL) == 0 ? 0
									: -1;
}

static void http_end(void)
{
	if (http_fd < 0)
		return;
	atomic_store(&http_stop, true);
	pthread_join(http_thread, NULL);
	close(http_fd);
	http_fd = -1;
}

/* Suite                                                                */

static int suite_init(void)
{
	static const char *const debug[] = { "-D", NULL };
	char conf[200000], op_path[256];
	const struct jwt_fixture *u;

	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(op_path, sizeof(op_path), "%s/op.jwt", dir);
	if (!write_file(op_path, OPER("op")->jwt))
		return -1;
	for (u = jwt_fx_users; u->name != NULL; u++)
		if (!write_creds(u))
			return -1;
	preload(pre_natsd, sizeof(pre_natsd), true);
	preload(pre_ns, sizeof(pre_ns), false);

	/* nats-server's keys at the top of natsd's file. */
	snprintf(conf, sizeof(conf),
		 "operator = \"%s\";\nresolver = \"MEMORY\";\n"
		 "resolver_preload = {\n%s};\n",
		 op_path, pre_natsd);
	if (harness_start(&natsd_srv, "natsd", conf, debug) != 0)
		return -1;
	itest_watch_pid(&natsd_srv.pid);

	/* The plugins entry, with the operator's key only. */
	snprintf(conf, sizeof(conf),
		 "plugins = ( { load = \"auth_jwt\"; settings = {\n"
		 "  trusted_keys = [ \"%s\" ];\n  resolver = \"MEMORY\";\n"
		 "  resolver_preload = {\n%s  };\n}; } );\n",
		 OPER("op")->public_key, pre_natsd);
	if (harness_start(&tk_srv, "natsd", conf, debug) != 0)
		return -1;
	itest_watch_pid(&tk_srv.pid);

	if (http_start() != 0)
		return -1;
	snprintf(
		conf, sizeof(conf),
		"operator = \"%s\";\n"
		"resolver = \"URL(http://127.0.0.1:%d/jwt/v1/accounts/)\";\n"
		"resolver_timeout = \"500ms\";\nresolver_cache_ttl = \"1s\";\n",
		op_path, http_port);
	if (harness_start(&url_srv, "natsd", conf, debug) != 0)
		return -1;
	itest_watch_pid(&url_srv.pid);

	have_ns = getenv("NATS_SERVER_BIN") != NULL &&
		  getenv("NATS_SERVER_BIN")[0] != '\0';
	if (!have_ns) {
		fprintf(stderr, "nats-server not found: natsd only\n");
		return 0;
	}
	snprintf(conf, sizeof(conf),
		 "operator: \"%s\"\nresolver: MEMORY\n"
		 "resolver_preload: {\n%s}\n",
		 op_path, pre_ns);
	if (harness_start(&ns_srv, "nats-server", conf, NULL) != 0)
		return -1;
	itest_watch_pid(&ns_srv.pid);
	return 0;
}

static int suite_fini(void)
{
	const struct jwt_fixture *u;
	char path[256];
	bool ok = itest_stop(&natsd_srv);

	ok = itest_stop(&tk_srv) && ok;
	ok = itest_stop(&url_srv) && ok;
	http_end();
	if (have_ns)
		ok = harness_stop(&ns_srv) == 1 && ok;
	for (u = jwt_fx_users; u->name != NULL; u++) {
		snprintf(path, sizeof(path), "%s/%s.creds", dir, u->name);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/op.jwt", dir);
	unlink(path);
	rmdir(dir);
	return ok ? 0 : -1;
}

/* Clients                                                              */

/* One connect as user with its creds file. */
static natsConnection *conn_creds_once(int port, const char *user,
				       struct itest_errlog *e, natsStatus *st)
{
	natsOptions *o = itest_opts(port);
	natsStatus s = o != NULL ? NATS_OK : NATS_NO_MEMORY;
	char path[256];

	snprintf(path, sizeof(path), "%s/%s.creds", dir, user);
	if (s == NATS_OK)
		s = natsOptions_SetUserCredentialsFromFiles(o, path, NULL);
	if (s == NATS_OK && e != NULL)
		s = itest_errlog_attach(o, e);
	return itest_connect(o, s, st);
}

/* Connects as user. libnats 3.4.1 now and then sends a CONNECT without
 * the nonce signature (nats-server logs "Signature missing" for about 1
 * in 300 of its connects too), so a refusal is tried once more: a user
 * that is to be refused is refused twice. */
static natsConnection *conn_creds(int port, const char *user,
				  struct itest_errlog *e, natsStatus *st)
{
	natsConnection *nc = conn_creds_once(port, user, e, st);

	if (nc == NULL && *st == NATS_CONNECTION_AUTH_FAILED)
		nc = conn_creds_once(port, user, e, st);
	return nc;
}

/* Connects as user; true when it got in. */
static bool gets_in(int port, const char *user)
{
	natsStatus st = NATS_OK;
	natsConnection *nc = conn_creds(port, user, NULL, &st);
	const char *txt;
	bool in = nc != NULL;

	if (!in) {
		txt = nats_GetLastError(NULL);
		/* Refusals are Authorization Violations. */
		CU_ASSERT(
			st == NATS_CONNECTION_AUTH_FAILED ||
			(txt != NULL && strstr(txt, "Authorization") != NULL));
	}
	natsConnection_Destroy(nc);
	return in;
}

/* Both servers let user in, or both do not, as want says. */
static void compare(const char *user, bool want)
{
	bool a = gets_in(natsd_srv.port, user);

	if (a != want)
		fprintf(stderr, "natsd: %s %s (%s)\n", user,
			a ? "got in" : "was refused",
			nats_GetLastError(NULL) ? nats_GetLastError(NULL) : "");
	CU_ASSERT_EQUAL(a, want);
	if (!have_ns)
		return;
	a = gets_in(ns_srv.port, user);
	if (a != want)
		fprintf(stderr, "nats-server: %s %s (%s)\n", user,
			a ? "got in" : "was refused",
			nats_GetLastError(NULL) ? nats_GetLastError(NULL) : "");
	CU_ASSERT_EQUAL(a, want);
}

/* A raw CONNECT with jwt (and sig when not NULL); the reply to PING. */
static void raw_jwt(int port, const char *jwt, const char *sig, char *reply,
		    size_t cap)
{
	char line[8192];
	bool eof;
	int fd;

	reply[0] = '\0';
	fd = itest_raw_connect(port, NULL, 0);
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(line, sizeof(line),
		 "CONNECT {\"verbose\":false,\"jwt\":\"%s\"%s%s%s}\r\n"
		 "PING\r\n",
		 jwt, sig ? ",\"sig\":\"" : "", sig ? sig : "",
		 sig ? "\"" : "");
	harness_sendstr(fd, line);
	if (harness_read_until(fd, reply, cap, "\r\n", WAIT_MS, &eof) < 0)
		reply[0] = '\0';
	close(fd);
}

static void check_raw(const char *jwt, const char *sig, const char *want)
{
	char a[512];

	raw_jwt(natsd_srv.port, jwt, sig, a, sizeof(a));
	CU_ASSERT_STRING_EQUAL(a, want);
	if (!have_ns)
		return;
	raw_jwt(ns_srv.port, jwt, sig, a, sizeof(a));
	CU_ASSERT_STRING_EQUAL(a, want);
}

static const char av[] = "-ERR 'Authorization Violation'\r\n";

/* Tests                                                                */

static void test_good(void)
{
	compare("good", true);
	compare("expires", true);
	compare("std_only", true);
	compare("src_ok", true);
	compare("times_ok", true);
}

static void test_signing_keys(void)
{
	compare("sk", true);
	compare("unknown_sk", false);
	compare("scoped", true);
	compare("scoped_with_perms", false);
	/* Account B is signed by the operator's signing key. */
	compare("limited", true);
}

static void test_refused(void)
{
	compare("expired", false);
	compare("notyet", false);
	compare("revoked", false);
	compare("old_user", false);
	compare("of_expired_account", false);
	compare("tampered", false);
	compare("src_bad", false);
	compare("ws_only", false);
	compare("times_bad", false);
	CU_ASSERT(itest_log_wait(&natsd_srv, "user JWT is revoked", WAIT_MS));
	CU_ASSERT(itest_log_wait(&natsd_srv, "user JWT expired", WAIT_MS));
}

static void test_wrong_operator(void)
{
	compare("wrong_op", false);
	CU_ASSERT(itest_log_wait(&natsd_srv,
				 "account JWT is not signed by a trusted "
				 "operator",
				 WAIT_MS));
}

static void test_bearer(void)
{
	check_raw(USER("bearer")->jwt, NULL, "PONG\r\n");
	/* Not a bearer token: the nonce must be signed. */
	check_raw(USER("good")->jwt, NULL, av);
	check_raw(USER("good")->jwt, "AAAA", av);
	/* The account disallows bearer tokens. */
	check_raw(USER("old_bearer")->jwt, NULL, av);
	/* Garbage. */
	check_raw("eyJhbGciOiJub25lIn0.e30.", NULL, av);
	check_raw("not a jwt", NULL, av);
	check_raw(ACC("a")->jwt, NULL, av);
}

static void test_permissions(void)
{
	const int ports[2] = { natsd_srv.port, ns_srv.port };
	natsSubscription *watch = NULL, *sub = NULL;
	natsConnection *nc, *admin;
	struct itest_errlog e;
	natsMsg *m = NULL;
	natsStatus st;
	int i;

	for (i = 0; i < (have_ns ? 2 : 1); i++) {
		itest_errlog_init(&e);
		nc = conn_creds(ports[i], "perms", &e, &st);
		CU_ASSERT_FATAL(nc != NULL);
		admin = conn_creds(ports[i], "good", NULL, &st);
		CU_ASSERT_FATAL(admin != NULL);
		CU_ASSERT(natsConnection_SubscribeSync(&watch, admin, ">") ==
			  NATS_OK);
		CU_ASSERT(natsConnection_FlushTimeout(admin, WAIT_MS) ==
			  NATS_OK);
		CU_ASSERT(natsConnection_PublishString(nc, "foo.secret", "x") ==
			  NATS_OK);
		CU_ASSERT(itest_errlog_wait(&e,
					    "Permissions Violation for Publish "
					    "to \"foo.secret\"",
					    WAIT_MS));
		CU_ASSERT(natsConnection_PublishString(nc, "bar", "x") ==
			  NATS_OK);
		CU_ASSERT(itest_errlog_wait(
			&e, "Permissions Violation for Publish to \"bar\"",
			WAIT_MS));
		CU_ASSERT(natsConnection_SubscribeSync(
				  &sub, nc, "foo.hidden") == NATS_OK);
		CU_ASSERT(itest_errlog_wait(&e,
					    "Permissions Violation for "
					    "Subscription to \"foo.hidden\"",
					    WAIT_MS));
		CU_ASSERT(natsConnection_PublishString(nc, "foo.ok", "y") ==
			  NATS_OK);
		CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
		CU_ASSERT(natsSubscription_NextMsg(&m, watch, WAIT_MS) ==
			  NATS_OK);
		if (m != NULL)
			CU_ASSERT_STRING_EQUAL(natsMsg_GetSubject(m), "foo.ok");
		natsMsg_Destroy(m);
		m = NULL;
		natsSubscription_Destroy(sub);
		natsSubscription_Destroy(watch);
		sub = watch = NULL;
		natsConnection_Destroy(nc);
		natsConnection_Destroy(admin);
		itest_errlog_fini(&e);
	}
}

/* Accounts are isolated: A's users do not see B's messages. */
static void test_accounts(void)
{
	natsConnection *a, *b;
	natsSubscription *sub = NULL;
	natsMsg *m = NULL;
	natsStatus st;

	a = conn_creds(natsd_srv.port, "good", NULL, &st);
	b = conn_creds(natsd_srv.port, "limited", NULL, &st);
	CU_ASSERT_FATAL(a != NULL && b != NULL);
	CU_ASSERT(natsConnection_SubscribeSync(&sub, a, "x") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(a, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_PublishString(b, "x", "from b") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(b, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsSubscription_NextMsg(&m, sub, 300) == NATS_TIMEOUT);
	natsMsg_Destroy(m);
	natsSubscription_Destroy(sub);
	CU_ASSERT(itest_conn_usable(a, "in.a"));
	CU_ASSERT(itest_conn_usable(b, "in.b"));
	natsConnection_Destroy(a);
	natsConnection_Destroy(b);
}

/* Account B allows one connection: a second is refused, on both. */
static void test_account_limits(void)
{
	const int ports[2] = { natsd_srv.port, ns_srv.port };
	natsConnection *first;
	natsStatus st;
	int i;

	for (i = 0; i < (have_ns ? 2 : 1); i++) {
		first = conn_creds(ports[i], "limited", NULL, &st);
		CU_ASSERT_FATAL(first != NULL);
		CU_ASSERT_PTR_NULL(conn_creds(ports[i], "limited", NULL, &st));
		natsConnection_Destroy(first);
	}
}

/* Answers a request with the subject it came on. */
static void respond_ok(natsConnection *nc, natsSubscription *sub, natsMsg *m,
		       void *arg)
{
	(void)sub;
	(void)arg;
	if (natsMsg_GetReply(m) != NULL)
		natsConnection_PublishString(nc, natsMsg_GetReply(m),
					     natsMsg_GetSubject(m));
	natsMsg_Destroy(m);
}

/* A legacy v1 user JWT ("alg":"ed25519"), signed by a v2 account. */
static void test_v1(void)
{
	compare("v1", true);
}

/* base64url without padding, as clients send signatures. */
static void b64url(const unsigned char *in, int len, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
				"tuvwxyz0123456789-_";
	unsigned int v;
	int i, o = 0, k;

	for (i = 0; i < len; i += 3) {
		v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		k = len - i >= 3 ? 4 : len - i + 1;
		for (int j = 0; j < k; j++)
			out[o++] = a[(v >> (18 - 6 * j)) & 63];
	}
	out[o] = '\0';
}

/* A raw client of user (nonce signed by libnats) sends cmds then PING;
 * out gets what came back within a short while, INFO lines left out
 * (nats-server sends one with a lowered max_payload, natsd does not). */
static void raw_session(int port, const char *user, const char *cmds, char *out,
			size_t cap)
{
	const struct jwt_fixture *u = USER(user);
	char info[2048], nonce[64], sig[128], *line, *p, *nl, buf[8192];
	unsigned char *raw = NULL;
	int rawlen = 0, fd;
	size_t o = 0, n;
	bool eof;
	ssize_t got;

	out[0] = '\0';
	fd = itest_raw_connect(port, info, sizeof(info));
	CU_ASSERT_FATAL(fd >= 0);
	p = strstr(info, "\"nonce\":\"");
	CU_ASSERT_FATAL(p != NULL);
	p += 9;
	n = strcspn(p, "\"");
	CU_ASSERT_FATAL(n < sizeof(nonce));
	memcpy(nonce, p, n);
	nonce[n] = '\0';
	CU_ASSERT_FATAL(nats_Sign(u->seed, nonce, &raw, &rawlen) == NATS_OK);
	b64url(raw, rawlen, sig);
	free(raw);
	line = malloc(16384);
	CU_ASSERT_FATAL(line != NULL);
	snprintf(line, 16384,
		 "CONNECT {\"verbose\":false,\"protocol\":1,\"jwt\":\"%s\","
		 "\"sig\":\"%s\"}\r\nPING\r\n%sPING\r\n",
		 u->jwt, sig, cmds);
	harness_sendstr(fd, line);
	free(line);
	got = harness_read_for(fd, buf, sizeof(buf) - 1, 400, &eof);
	close(fd);
	if (got < 0)
		return;
	buf[got] = '\0';
	for (p = buf; *p != '\0'; p = nl) {
		nl = strstr(p, "\r\n");
		nl = nl ? nl + 2 : p + strlen(p);
		if (strncmp(p, "INFO ", 5) == 0)
			continue;
		n = (size_t)(nl - p);
		if (o + n < cap) {
			memcpy(out + o, p, n);
			o += n;
			out[o] = '\0';
		}
	}
}

/* Both servers answer cmds of user with want. */
static void check_session(const char *user, const char *cmds, const char *want)
{
	char a[1024];

	raw_session(natsd_srv.port, user, cmds, a, sizeof(a));
	CU_ASSERT_STRING_EQUAL(a, want);
	if (!have_ns)
		return;
	raw_session(ns_srv.port, user, cmds, a, sizeof(a));
	CU_ASSERT_STRING_EQUAL(a, want);
}

/* The user's subs 1 and payload 16, account B's subs 3 and payload 64. */
static void test_limits(void)
{
	static const char subs[] = "PONG\r\n-ERR 'maximum subscriptions "
				   "exceeded'\r\nPONG\r\n";
	static const char pay[] = "PONG\r\n-ERR 'Maximum Payload "
				  "Violation'\r\n";

	check_session("user_limits", "SUB a 1\r\nSUB b 2\r\n", subs);
	check_session("user_limits", "PUB x 17\r\n01234567890123456\r\n", pay);
	check_session("user_limits", "PUB x 16\r\n0123456789012345\r\n",
		      "PONG\r\nPONG\r\n");
	check_session("limited", "SUB a 1\r\nSUB b 2\r\nSUB c 3\r\n",
		      "PONG\r\nPONG\r\n");
	check_session("limited", "SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nSUB d 4\r\n",
		      subs);
	check_session("limited",
		      "PUB x 65\r\n"
		      "01234567890123456789012345678901234567890123456789"
		      "012345678901234\r\n",
		      pay);
}

/* resp: the user may answer one request on its reply subject. */
static void check_resp(int port)
{
	natsConnection *svc, *req;
	natsSubscription *sub = NULL;
	struct itest_errlog e;
	natsMsg *m = NULL, *reply = NULL;
	natsStatus st;

	itest_errlog_init(&e);
	svc = conn_creds(port, "resp", &e, &st);
	req = conn_creds(port, "good", NULL, &st);
	CU_ASSERT_FATAL(svc != NULL && req != NULL);
	CU_ASSERT(natsConnection_SubscribeSync(&sub, svc, "svc.echo") ==
		  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(svc, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_PublishRequestString(req, "svc.echo", "r.1",
						      "hi") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(req, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsSubscription_NextMsg(&m, sub, WAIT_MS) == NATS_OK);
	if (m != NULL) {
		CU_ASSERT(natsConnection_PublishString(svc, natsMsg_GetReply(m),
						       "ok") == NATS_OK);
		CU_ASSERT(natsConnection_FlushTimeout(svc, WAIT_MS) == NATS_OK);
	}
	natsMsg_Destroy(m);
	natsMsg_Destroy(reply);
	/* Anything else stays forbidden. */
	CU_ASSERT(natsConnection_PublishString(svc, "other", "x") == NATS_OK);
	CU_ASSERT(itest_errlog_wait(
		&e, "Permissions Violation for Publish to \"other\"", WAIT_MS));
	CU_ASSERT(itest_errlog_count(&e) == 1);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(svc);
	natsConnection_Destroy(req);
	itest_errlog_fini(&e);
}

static void test_responses(void)
{
	check_resp(natsd_srv.port);
	if (have_ns)
		check_resp(ns_srv.port);
}

/* Account JWT imports and exports: E exports streams and services,
 * public and private; I imports them (activation tokens for the private
 * ones, one of them revoked, one service without its token). */
static void check_imports(int port)
{
	natsConnection *e, *i;
	natsSubscription *in = NULL, *help = NULL, *psvc = NULL;
	natsMsg *m = NULL;
	natsStatus st;
	const char *subjs[3] = { "pub.x", "priv.y", "gone.z" };
	const char *got[2] = { "pub.x", "fromE.priv.y" };
	int k;

	e = conn_creds(port, "exporter", NULL, &st);
	i = conn_creds(port, "importer", NULL, &st);
	CU_ASSERT_FATAL(e != NULL && i != NULL);
	/* Streams: pub.> as is, priv.> under the prefix, gone.> revoked. */
	CU_ASSERT(natsConnection_SubscribeSync(&in, i, ">") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(i, WAIT_MS) == NATS_OK);
	for (k = 0; k < 3; k++)
		CU_ASSERT(natsConnection_PublishString(e, subjs[k], "s") ==
			  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(e, WAIT_MS) == NATS_OK);
	for (k = 0; k < 2; k++) {
		CU_ASSERT(natsSubscription_NextMsg(&m, in, WAIT_MS) == NATS_OK);
		if (m != NULL)
			CU_ASSERT_STRING_EQUAL(natsMsg_GetSubject(m), got[k]);
		natsMsg_Destroy(m);
		m = NULL;
	}
	CU_ASSERT(natsSubscription_NextMsg(&m, in, 200) == NATS_TIMEOUT);
	natsMsg_Destroy(m);
	m = NULL;
	natsSubscription_Destroy(in);
	/* Services: "ask" reaches help.me, psvc.b with its token; psvc.a
	 * (no token) has no responders in I. */
	CU_ASSERT(natsConnection_Subscribe(&help, e, "help.>", respond_ok,
					   NULL) == NATS_OK);
	CU_ASSERT(natsConnection_Subscribe(&psvc, e, "psvc.>", respond_ok,
					   NULL) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(e, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_RequestString(&m, i, "ask", "q", WAIT_MS) ==
		  NATS_OK);
	if (m != NULL)
		CU_ASSERT_STRING_EQUAL(natsMsg_GetData(m), "help.me");
	natsMsg_Destroy(m);
	m = NULL;
	CU_ASSERT(natsConnection_RequestString(&m, i, "psvc.b", "q", WAIT_MS) ==
		  NATS_OK);
	if (m != NULL)
		CU_ASSERT_STRING_EQUAL(natsMsg_GetData(m), "psvc.b");
	natsMsg_Destroy(m);
	m = NULL;
	CU_ASSERT(natsConnection_RequestString(&m, i, "psvc.a", "q", 300) !=
		  NATS_OK);
	natsMsg_Destroy(m);
	natsSubscription_Destroy(help);
	natsSubscription_Destroy(psvc);
	natsConnection_Destroy(e);
	natsConnection_Destroy(i);
}

static void test_imports(void)
{
	check_imports(natsd_srv.port);
	if (have_ns)
		check_imports(ns_srv.port);
	/* An activation made for another account: the account JWT does not
	 * validate, its users are refused. */
	compare("importer_bad", false);
	CU_ASSERT(itest_log_wait(&natsd_srv, "activation token doesn't match",
				 WAIT_MS));
}

/* trusted_keys without the operator JWT: its signing key is unknown, so
 * account B (signed by it) is not trusted; the plugins entry works. */
static void test_trusted_keys(void)
{
	CU_ASSERT(gets_in(tk_srv.port, "good"));
	CU_ASSERT(gets_in(tk_srv.port, "sk"));
	CU_ASSERT_FALSE(gets_in(tk_srv.port, "limited"));
	CU_ASSERT_FALSE(gets_in(tk_srv.port, "wrong_op"));
}

static void test_url_resolver(void)
{
	int before;

	atomic_store(&http_mode, HTTP_SERVE);
	before = atomic_load(&http_gets);
	CU_ASSERT(gets_in(url_srv.port, "good"));
	CU_ASSERT(atomic_load(&http_gets) > before);
	/* Cached: no second GET. */
	before = atomic_load(&http_gets);
	CU_ASSERT(gets_in(url_srv.port, "perms"));
	CU_ASSERT_EQUAL(atomic_load(&http_gets), before);
	CU_ASSERT_FALSE(gets_in(url_srv.port, "revoked"));
	CU_ASSERT_FALSE(gets_in(url_srv.port, "wrong_op"));
	CU_ASSERT(gets_in(url_srv.port, "limited"));
}

/* With a URL resolver the exporter is fetched when an importer's user
 * first comes; the next user of the importer gets the imports. */
static void test_url_imports(void)
{
	natsConnection *e, *i1, *i2;
	natsSubscription *sub = NULL;
	natsMsg *m = NULL;
	natsStatus st;
	long long end;
	int gets;

	atomic_store(&http_mode, HTTP_SERVE);
	gets = atomic_load(&http_gets);
	i1 = conn_creds(url_srv.port, "importer", NULL, &st);
	CU_ASSERT_FATAL(i1 != NULL);
	/* The exporter's JWT comes in the background: a second GET. */
	end = itest_mono_ms() + WAIT_MS;
	while (atomic_load(&http_gets) < gets + 2 && itest_mono_ms() < end)
		usleep(20000);
	CU_ASSERT(atomic_load(&http_gets) >= gets + 2);
	e = conn_creds(url_srv.port, "exporter", NULL, &st);
	CU_ASSERT_FATAL(e != NULL);
	CU_ASSERT(natsConnection_SubscribeSync(&sub, i1, "pub.>") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(i1, WAIT_MS) == NATS_OK);
	/* The fetched exporter is put to use in the background after its
	 * GET: a later user of the importer brings the imports in. Bounded
	 * tries, for a loaded machine. */
	end = itest_mono_ms() + 2 * WAIT_MS;
	do {
		i2 = conn_creds(url_srv.port, "importer", NULL, &st);
		CU_ASSERT_FATAL(i2 != NULL);
		CU_ASSERT(natsConnection_PublishString(e, "pub.url", "x") ==
			  NATS_OK);
		CU_ASSERT(natsConnection_FlushTimeout(e, WAIT_MS) == NATS_OK);
		st = natsSubscription_NextMsg(&m, sub, 200);
		natsConnection_Destroy(i2);
	} while (st != NATS_OK && itest_mono_ms() < end);
	CU_ASSERT_EQUAL(st, NATS_OK);
	natsMsg_Destroy(m);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(e);
	natsConnection_Destroy(i1);
}

static void test_url_bad_resolver(void)
{
	long long t0;

	/* Past the cache's 1 s, every account is fetched again. */
	usleep(1100000);
	atomic_store(&http_mode, HTTP_GARBAGE);
	CU_ASSERT_FALSE(gets_in(url_srv.port, "good"));
	CU_ASSERT(itest_log_wait(&url_srv, "account JWT: ", WAIT_MS));
	atomic_store(&http_mode, HTTP_HANG);
	t0 = itest_mono_ms();
	CU_ASSERT_FALSE(gets_in(url_srv.port, "sk"));
	/* Refused after the 500 ms resolver timeout, not stalled. */
	CU_ASSERT(itest_mono_ms() - t0 < 1900);
	CU_ASSERT(itest_log_wait(&url_srv, "timeout after 500 ms", WAIT_MS));
	/* The server kept serving: once the resolver is fine, all is. */
	atomic_store(&http_mode, HTTP_SERVE);
	CU_ASSERT(gets_in(url_srv.port, "good"));
}

/* The log says why, and holds no seed nor token. */
static void test_log(void)
{
	const char *log = harness_log(&natsd_srv);
	const struct jwt_fixture *u;

	CU_ASSERT(strstr(log, "nonce signature missing") != NULL);
	for (u = jwt_fx_users; u->name != NULL; u++) {
		CU_ASSERT(strstr(log, u->seed) == NULL);
		CU_ASSERT(strstr(log, u->jwt) == NULL);
	}
}

/* Waits until the log has text n times. */
static bool log_count_wait(struct hserver *srv, const char *text, int n)
{
	long long end = itest_mono_ms() + WAIT_MS;

	while (itest_count(harness_log(srv), text) < n) {
		if (itest_mono_ms() > end)
			return false;
		usleep(20000);
	}
	return true;
}

/* SIGHUP re-reads the root's operator mode keys: without account A in
 * the preload, A's users are refused; a broken file keeps the old trust;
 * then back to the first file. Runs last: it changes the config. */
static void test_reload(void)
{
	static char conf[200000], saved[200000];
	const struct jwt_fixture *b = ACC("b");
	FILE *f;
	size_t n;

	f = fopen(natsd_srv.conf_path, "r");
	CU_ASSERT_FATAL(f != NULL);
	n = fread(saved, 1, sizeof(saved) - 1, f);
	fclose(f);
	saved[n] = '\0';
	snprintf(conf, sizeof(conf),
		 "operator = \"%s/op.jwt\";\nresolver = \"MEMORY\";\n"
		 "resolver_preload = {\n  %s = \"%s\";\n};\n",
		 dir, b->public_key, b->jwt);
	CU_ASSERT_FATAL(write_file(natsd_srv.conf_path, conf));
	CU_ASSERT(kill(natsd_srv.pid, SIGHUP) == 0);
	CU_ASSERT(itest_log_wait(&natsd_srv, "Reloaded server configuration",
				 WAIT_MS));
	CU_ASSERT_FALSE(gets_in(natsd_srv.port, "good"));
	CU_ASSERT(gets_in(natsd_srv.port, "limited"));
	/* A preload entry that is not an account JWT: the old trust stays. */
	snprintf(conf, sizeof(conf),
		 "operator = \"%s/op.jwt\";\nresolver = \"MEMORY\";\n"
		 "resolver_preload = {\n  %s = \"garbage\";\n};\n",
		 dir, b->public_key);
	CU_ASSERT_FATAL(write_file(natsd_srv.conf_path, conf));
	CU_ASSERT(kill(natsd_srv.pid, SIGHUP) == 0);
	CU_ASSERT(itest_log_wait(&natsd_srv, "auth_jwt: keeping the old",
				 WAIT_MS));
	CU_ASSERT(gets_in(natsd_srv.port, "limited"));
	CU_ASSERT_FATAL(write_file(natsd_srv.conf_path, saved));
	CU_ASSERT(kill(natsd_srv.pid, SIGHUP) == 0);
	CU_ASSERT(
		log_count_wait(&natsd_srv, "Reloaded server configuration", 3));
	CU_ASSERT(gets_in(natsd_srv.port, "good"));
}

/* Publishes A's updated JWT (it revokes "good") on the claims update
 * subject as a user of user's account. */
static void publish_update(int port, const char *user)
{
	const struct jwt_fixture *upd = jwt_fx(jwt_fx_updates, "a");
	natsConnection *nc;
	natsStatus st;
	char subj[128];

	nc = conn_creds(port, user, NULL, &st);
	CU_ASSERT_FATAL(nc != NULL);
	snprintf(subj, sizeof(subj), "$SYS.ACCOUNT.%s.CLAIMS.UPDATE",
		 upd->public_key);
	CU_ASSERT(natsConnection_PublishString(nc, subj, upd->jwt) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	natsConnection_Destroy(nc);
}

/* An account JWT update published in the system account takes effect
 * without a restart, on both servers; published in another account it
 * does nothing. Runs last: it revokes "good". */
static void test_claims_update(void)
{
	const int ports[2] = { natsd_srv.port, ns_srv.port };
	int i;

	struct itest_errlog e;
	natsConnection *live;
	const char *txt;
	long long end;
	natsStatus st;

	for (i = 0; i < (have_ns ? 2 : 1); i++) {
		publish_update(ports[i], "sk");
		usleep(100000);
		CU_ASSERT(gets_in(ports[i], "good"));
		itest_errlog_init(&e);
		live = conn_creds(ports[i], "good", &e, &st);
		CU_ASSERT_FATAL(live != NULL);
		publish_update(ports[i], "sys_user");
		/* The connected "good" is told and closed. */
		end = itest_mono_ms() + WAIT_MS;
		while (!natsConnection_IsClosed(live) && itest_mono_ms() < end)
			usleep(20000);
		CU_ASSERT(natsConnection_IsClosed(live));
		txt = NULL;
		natsConnection_GetLastError(live, &txt);
		if (txt == NULL ||
		    strstr(txt, "User Authentication Revoked") == NULL)
			fprintf(stderr, "port %d: closed with \"%s\"\n",
				ports[i], txt ? txt : "");
		CU_ASSERT(txt != NULL &&
			  strstr(txt, "User Authentication Revoked") != NULL);
		CU_ASSERT_FALSE(gets_in(ports[i], "good"));
		CU_ASSERT(gets_in(ports[i], "perms"));
		natsConnection_Destroy(live);
		itest_errlog_fini(&e);
	}
	CU_ASSERT(itest_log_wait(&natsd_srv, "updated from a claims update",
				 WAIT_MS));
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "good users", test_good },
		{ "signing keys", test_signing_keys },
		{ "refused users", test_refused },
		{ "wrong operator", test_wrong_operator },
		{ "bearer tokens, raw", test_bearer },
		{ "permissions", test_permissions },
		{ "accounts", test_accounts },
		{ "account limits", test_account_limits },
		{ "v1 user JWT", test_v1 },
		{ "user and account limits", test_limits },
		{ "allow_responses", test_responses },
		{ "account imports and exports", test_imports },
		{ "trusted_keys in a plugins entry", test_trusted_keys },
		{ "URL resolver", test_url_resolver },
		{ "URL resolver: imports", test_url_imports },
		{ "URL resolver: garbage, hang", test_url_bad_resolver },
		{ "log", test_log },
		{ "SIGHUP", test_reload },
		{ "claims update", test_claims_update },
	};
	static const struct suite suites[] = {
		{ "operator mode, natsd and nats-server", suite_init,
		  suite_fini, tests, SUITE_COUNT(tests) },
	};
	int rc;

	itest_init("jwt_test", WATCHDOG_S, NULL);
	rc = suites_run(suites, SUITE_COUNT(suites));
	nats_CloseAndWait(WAIT_MS);
	return rc == 0 ? 0 : 1;
}
