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

#include "fixtures/jwt/jwt_fixtures.h"
#include "harness.h"
#include "itest.h"

#define WAIT_MS    ITEST_WAIT_MS
#define WATCHDOG_S 90

static struct hserver natsd_srv, ns_srv, tk_srv, url_srv;
static bool have_ns;
static char dir[] = "/tmp/jwt_test.XXXXXX";

static const struct jwt_fixture *fx(const struct jwt_fixture *t,
				    const char *name)
{
	for (; t->name != NULL; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	fprintf(stderr, "no fixture %s\n", name);
	abort();
}

#define USER(n) fx(jwt_fx_users, (n))
#define ACC(n)  fx(jwt_fx_accounts, (n))
#define OPER(n) fx(jwt_fx_operators, (n))

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

static natsConnection *conn_creds(int port, const char *user,
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
		{ "trusted_keys in a plugins entry", test_trusted_keys },
		{ "URL resolver", test_url_resolver },
		{ "URL resolver: garbage, hang", test_url_bad_resolver },
		{ "log", test_log },
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
