#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * nkey users through a real natsd (the auth_nkey plugin, loaded by the
 * core for nkey entries in authorization.users) and, for comparison, a
 * real nats-server with the same users. The clients are libnats, which
 * signs the nonce with its own Ed25519 code, and raw sockets; the keys come
 * from tests/fixtures/nkeys, made with @nats-io/nkeys. So neither the keys
 * nor the signatures are natsd's own.
 *
 * Every case runs against both servers and the outcomes (who gets in, the
 * error text) must be the same, and the expected one.
 */

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <nats/nats.h>

#include "harness.h"
#include "itest.h"
#include "fixtures/nkeys/nkey_fixtures.h"

#define WAIT_MS    ITEST_WAIT_MS
#define WATCHDOG_S 60

/* The users: [0] anything, [1] limited permissions, [2] in its own
 * account (natsd only: nats-server wants an accounts block for that),
 * [3] unknown to the servers. */
#define U_FREE    (&nkey_fixture_users[0])
#define U_LIMITED (&nkey_fixture_users[1])
#define U_ACCOUNT (&nkey_fixture_users[2])
#define U_UNKNOWN (&nkey_fixture_users[3])

static struct hserver natsd_srv, ns_srv;
static bool have_ns;
static char seed_dir[] = "/tmp/nkey_test.XXXXXX";

static int conf_natsd(char *buf, size_t len)
{
	return snprintf(
		buf, len,
		"authorization = {\n"
		"  users = (\n"
		"    { nkey = \"%s\"; },\n"
		"    { nkey = \"%s\";\n"
		"      permissions = {\n"
		"        publish = { allow = [\"ok.>\"]; deny = \"ok.no\"; };\n"
		"        subscribe = [\"ok.>\", \"_INBOX.>\"];\n"
		"      };\n"
		"    },\n"
		"    { nkey = \"%s\"; account = \"other\"; },\n"
		"    { user = \"pw\"; password = \"secret\"; }\n"
		"  );\n"
		"};\n",
		U_FREE->public_key, U_LIMITED->public_key,
		U_ACCOUNT->public_key);
}

static int conf_nats_server(char *buf, size_t len)
{
	return snprintf(
		buf, len,
		"authorization {\n"
		"  users = [\n"
		"    { nkey: \"%s\" },\n"
		"    { nkey: \"%s\",\n"
		"      permissions: {\n"
		"        publish: { allow: [\"ok.>\"], deny: \"ok.no\" },\n"
		"        subscribe: [\"ok.>\", \"_INBOX.>\"]\n"
		"      }\n"
		"    },\n"
		"    { user: \"pw\", password: \"secret\" }\n"
		"  ]\n"
		"}\n",
		U_FREE->public_key, U_LIMITED->public_key);
}

static int suite_init(void)
{
	static const char *const debug[] = { "-D", NULL };
	char conf[4096];

	if (mkdtemp(seed_dir) == NULL)
		return -1;
	conf_natsd(conf, sizeof(conf));
	if (harness_start(&natsd_srv, "natsd", conf, debug) != 0)
		return -1;
	itest_watch_pid(&natsd_srv.pid);
	have_ns = getenv("NATS_SERVER_BIN") != NULL &&
		  getenv("NATS_SERVER_BIN")[0] != '\0';
	if (!have_ns) {
		fprintf(stderr, "nats-server not found: natsd only\n");
		return 0;
	}
	conf_nats_server(conf, sizeof(conf));
	if (harness_start(&ns_srv, "nats-server", conf, NULL) != 0)
		return -1;
	itest_watch_pid(&ns_srv.pid);
	return 0;
}

static int suite_fini(void)
{
	bool ok = itest_stop(&natsd_srv);

	/* nats-server exits with 1 on SIGTERM. */
	if (have_ns)
		ok = harness_stop(&ns_srv) == 1 && ok;
	rmdir(seed_dir);
	return ok ? 0 : -1;
}

/* Clients                                                              */

/* How to sign: with the key's own seed, another seed, or a tampered
 * signature. */
enum signing {
	SIGN_OWN = 1,
	SIGN_OTHER = 2,
	SIGN_TAMPERED = 3,
};

struct signer {
	const char *seed;
	bool tamper;
};

/* libnats' signature callback: nats_Sign() (libnats' own Ed25519). */
static natsStatus sign_nonce(char **err, unsigned char **sig, int *siglen,
			     const char *nonce, void *closure)
{
	const struct signer *sg = closure;
	natsStatus s;

	(void)err;
	s = nats_Sign(sg->seed, nonce, sig, siglen);
	if (s == NATS_OK && sg->tamper && *siglen > 0)
		(*sig)[*siglen / 2] ^= 0x01;
	return s;
}

/* Connects to port as nkey user f. Returns the connection or NULL with
 * the status in *st. */
static natsConnection *conn_nkey_once(int port, const struct nkey_fixture *f,
				      enum signing how, struct itest_errlog *e,
				      natsStatus *st)
{
	static struct signer signers[3];
	natsOptions *o = itest_opts(port);
	natsStatus s = o != NULL ? NATS_OK : NATS_NO_MEMORY;
	struct signer *sg = &signers[how - 1];

	sg->seed = how == SIGN_OTHER ? U_UNKNOWN->seed : f->seed;
	sg->tamper = how == SIGN_TAMPERED;
	if (s == NATS_OK)
		s = natsOptions_SetNKey(o, f->public_key, sign_nonce, sg);
	if (s == NATS_OK && e != NULL)
		s = itest_errlog_attach(o, e);
	return itest_connect(o, s, st);
}

/* A connect signed with the key's own seed is tried twice: libnats 3.4
 * now and then sends a CONNECT without the signature (nats-server
 * refuses those too), and a loaded machine may time a connect out. */
static natsConnection *conn_nkey(int port, const struct nkey_fixture *f,
				 enum signing how, struct itest_errlog *e,
				 natsStatus *st)
{
	natsConnection *nc = conn_nkey_once(port, f, how, e, st);

	if (nc == NULL && how == SIGN_OWN)
		nc = conn_nkey_once(port, f, how, e, st);
	return nc;
}

/* Connects as f with natsOptions_SetNKeyFromSeed and a seed file. */
static natsConnection *conn_seed_file(int port, const struct nkey_fixture *f,
				      natsStatus *st)
{
	natsOptions *o = itest_opts(port);
	natsStatus s = o != NULL ? NATS_OK : NATS_NO_MEMORY;
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/user.nk", seed_dir);
	fp = fopen(path, "w");
	if (fp == NULL)
		return NULL;
	fprintf(fp, "%s\n", f->seed);
	fclose(fp);
	if (s == NATS_OK)
		s = natsOptions_SetNKeyFromSeed(o, f->public_key, path);
	natsConnection *nc = itest_connect(o, s, st);
	unlink(path);
	return nc;
}

/* The outcome of one connect attempt: the status and, on failure, the
 * error text libnats kept. */
struct outcome {
	natsStatus st;
	char err[256];
};

static void outcome_of(natsConnection *nc, natsStatus st, struct outcome *o)
{
	const char *txt;

	o->st = nc != NULL ? NATS_OK : st;
	o->err[0] = '\0';
	if (nc == NULL) {
		txt = nats_GetLastError(NULL);
		snprintf(o->err, sizeof(o->err), "%s", txt ? txt : "");
	}
	natsConnection_Destroy(nc);
}

static void try_nkey(int port, const struct nkey_fixture *f, enum signing how,
		     struct outcome *o)
{
	natsStatus st = NATS_OK;
	natsConnection *nc = conn_nkey(port, f, how, NULL, &st);

	outcome_of(nc, st, o);
}

/* Worth one more try: a connect that timed out on a loaded machine says
 * nothing about keys, and libnats 3.4 now and then sends a CONNECT
 * without the nonce's signature (about 1 in 300; nats-server refuses
 * those too), so a refusal of a good key is tried again as well. */
static bool transient(natsStatus st, natsStatus want)
{
	return st == NATS_TIMEOUT || st == NATS_NO_SERVER ||
	       (want == NATS_OK && st != NATS_OK);
}

/* Runs attempt against both servers and checks both outcomes are want
 * (NATS_OK, or refused with "Authorization Violation"). */
static void compare(void (*attempt)(int port, struct outcome *o),
		    natsStatus want)
{
	struct outcome a, b;

	attempt(natsd_srv.port, &a);
	if (transient(a.st, want))
		attempt(natsd_srv.port, &a);
	if (a.st != want)
		fprintf(stderr, "natsd: %s (%s)\n", natsStatus_GetText(a.st),
			a.err);
	CU_ASSERT_EQUAL(a.st, want);
	if (want != NATS_OK)
		CU_ASSERT(strstr(a.err, "Authorization Violation") != NULL);
	if (!have_ns)
		return;
	attempt(ns_srv.port, &b);
	if (transient(b.st, want))
		attempt(ns_srv.port, &b);
	if (b.st != want)
		fprintf(stderr, "nats-server: %s (%s)\n",
			natsStatus_GetText(b.st), b.err);
	CU_ASSERT_EQUAL(b.st, want);
	CU_ASSERT_EQUAL(a.st, b.st);
	CU_ASSERT(strstr(b.err, "Authorization Violation") != NULL ||
		  want == NATS_OK);
}

static void att_good(int port, struct outcome *o)
{
	try_nkey(port, U_FREE, SIGN_OWN, o);
}

static void att_good_seed_file(int port, struct outcome *o)
{
	natsStatus st = NATS_OK;
	natsConnection *nc = conn_seed_file(port, U_LIMITED, &st);

	outcome_of(nc, st, o);
}

static void att_wrong_key(int port, struct outcome *o)
{
	try_nkey(port, U_FREE, SIGN_OTHER, o);
}

static void att_unknown(int port, struct outcome *o)
{
	try_nkey(port, U_UNKNOWN, SIGN_OWN, o);
}

static void att_tampered(int port, struct outcome *o)
{
	try_nkey(port, U_FREE, SIGN_TAMPERED, o);
}

static void att_nothing(int port, struct outcome *o)
{
	natsStatus st = NATS_OK;
	natsConnection *nc = itest_connect(itest_opts(port), NATS_OK, &st);

	outcome_of(nc, st, o);
}

static void att_password(int port, struct outcome *o)
{
	natsOptions *opts = itest_opts(port);
	natsStatus st = natsOptions_SetUserInfo(opts, "pw", "secret");
	natsConnection *nc = itest_connect(opts, st, &st);

	outcome_of(nc, st, o);
}

static void att_bad_password(int port, struct outcome *o)
{
	natsOptions *opts = itest_opts(port);
	natsStatus st = natsOptions_SetUserInfo(opts, "pw", "nope");
	natsConnection *nc = itest_connect(opts, st, &st);

	outcome_of(nc, st, o);
}

static void test_good_key(void)
{
	compare(att_good, NATS_OK);
}

static void test_seed_file(void)
{
	compare(att_good_seed_file, NATS_OK);
}

static void test_wrong_key(void)
{
	compare(att_wrong_key, NATS_CONNECTION_AUTH_FAILED);
	CU_ASSERT(
		itest_log_wait(&natsd_srv, "signature not verified", WAIT_MS));
}

static void test_unknown_key(void)
{
	compare(att_unknown, NATS_CONNECTION_AUTH_FAILED);
	CU_ASSERT(itest_log_wait(&natsd_srv, "no such nkey user", WAIT_MS));
}

static void test_tampered(void)
{
	compare(att_tampered, NATS_CONNECTION_AUTH_FAILED);
}

static void test_no_credentials(void)
{
	compare(att_nothing, NATS_CONNECTION_AUTH_FAILED);
}

static void test_password_users_too(void)
{
	compare(att_password, NATS_OK);
	compare(att_bad_password, NATS_CONNECTION_AUTH_FAILED);
}

/* Raw protocol                                                         */

/* The nonce of an INFO line, into out. */
static bool info_nonce(const char *info, char *out, size_t cap)
{
	const char *p = strstr(info, "\"nonce\":\"");
	size_t n;

	if (p == NULL)
		return false;
	p += 9;
	n = strcspn(p, "\"");
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

static void b64(const unsigned char *in, int len, bool url, char *out)
{
	static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno"
				  "pqrstuvwxyz0123456789+/";
	static const char urla[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
				   "nopqrstuvwxyz0123456789-_";
	const char *a = url ? urla : std;
	unsigned int v;
	int i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
		out[o++] = a[v & 63];
	}
	if (len - i == 1) {
		v = (unsigned)in[i] << 16;
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		if (!url) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (len - i == 2) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
		if (!url)
			out[o++] = '=';
	}
	out[o] = '\0';
}

/* A raw CONNECT as user f with the nonce signed by libnats, the
 * signature written in the URL (url) or the padded standard alphabet, or
 * sig_override. Returns the server's answer to PING (or its -ERR). */
static void raw_nkey(int port, const struct nkey_fixture *f, bool url,
		     const char *sig_override, char *reply, size_t cap)
{
	char info[2048], nonce[64], sig[128], line[512];
	unsigned char *raw = NULL;
	int rawlen = 0, fd;
	bool eof;
	ssize_t n;

	reply[0] = '\0';
	fd = itest_raw_connect(port, info, sizeof(info));
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(strstr(info, "\"auth_required\":true") != NULL);
	CU_ASSERT_FATAL(info_nonce(info, nonce, sizeof(nonce)));
	CU_ASSERT_FATAL(nats_Sign(f->seed, nonce, &raw, &rawlen) == NATS_OK);
	b64(raw, rawlen, url, sig);
	free(raw);
	snprintf(line, sizeof(line),
		 "CONNECT {\"verbose\":false,\"nkey\":\"%s\",\"sig\":\"%s\"}"
		 "\r\nPING\r\n",
		 f->public_key, sig_override ? sig_override : sig);
	CU_ASSERT(harness_sendstr(fd, line) == 0);
	n = harness_read_until(fd, reply, cap, "\r\n", WAIT_MS, &eof);
	if (n < 0)
		reply[0] = '\0';
	close(fd);
}

static void check_raw(const struct nkey_fixture *f, bool url, const char *sig,
		      const char *want)
{
	char a[512], b[512];

	raw_nkey(natsd_srv.port, f, url, sig, a, sizeof(a));
	CU_ASSERT_STRING_EQUAL(a, want);
	if (!have_ns)
		return;
	raw_nkey(ns_srv.port, f, url, sig, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, want);
}

static void test_raw_signatures(void)
{
	static const char av[] = "-ERR 'Authorization Violation'\r\n";
	char padded_url[100];

	check_raw(U_FREE, true, NULL, "PONG\r\n");
	/* Padded standard base64: accepted as a fallback. */
	check_raw(U_FREE, false, NULL, "PONG\r\n");
	check_raw(U_FREE, true, "", av);
	check_raw(U_FREE, true, "not base64 at all!", av);
	/* A valid signature of another nonce. */
	check_raw(U_FREE, true, U_FREE->sig, av);
	snprintf(padded_url, sizeof(padded_url), "%s==", U_FREE->sig);
	check_raw(U_FREE, true, padded_url, av);
}

/* No sig at all, and an nkey that is not a user key. */
static void test_raw_missing(void)
{
	static const char av[] = "-ERR 'Authorization Violation'\r\n";
	const struct hserver *servers[2] = { &natsd_srv, &ns_srv };
	char reply[512], line[512];
	bool eof;
	int i, fd;

	for (i = 0; i < (have_ns ? 2 : 1); i++) {
		fd = itest_raw_connect(servers[i]->port, NULL, 0);
		CU_ASSERT_FATAL(fd >= 0);
		snprintf(line, sizeof(line),
			 "CONNECT {\"nkey\":\"%s\"}\r\nPING\r\n",
			 U_FREE->public_key);
		harness_sendstr(fd, line);
		harness_read_until(fd, reply, sizeof(reply), "\r\n", WAIT_MS,
				   &eof);
		CU_ASSERT_STRING_EQUAL(reply, av);
		close(fd);
		fd = itest_raw_connect(servers[i]->port, NULL, 0);
		CU_ASSERT_FATAL(fd >= 0);
		snprintf(line, sizeof(line),
			 "CONNECT {\"nkey\":\"%s\",\"sig\":\"%s\"}\r\n"
			 "PING\r\n",
			 nkey_fixture_accounts[0].public_key,
			 nkey_fixture_accounts[0].sig);
		harness_sendstr(fd, line);
		harness_read_until(fd, reply, sizeof(reply), "\r\n", WAIT_MS,
				   &eof);
		CU_ASSERT_STRING_EQUAL(reply, av);
		close(fd);
	}
}

/* Permissions and accounts                                             */

static void check_limited(int port)
{
	struct itest_errlog e;
	natsConnection *nc, *admin;
	natsSubscription *watch = NULL, *sub = NULL;
	natsMsg *m = NULL;
	natsStatus st;

	itest_errlog_init(&e);
	nc = conn_nkey(port, U_LIMITED, SIGN_OWN, &e, &st);
	CU_ASSERT_FATAL(nc != NULL);
	admin = conn_nkey(port, U_FREE, SIGN_OWN, NULL, &st);
	CU_ASSERT_FATAL(admin != NULL);
	CU_ASSERT(natsConnection_SubscribeSync(&watch, admin, ">") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(admin, WAIT_MS) == NATS_OK);

	CU_ASSERT(natsConnection_PublishString(nc, "ok.no", "x") == NATS_OK);
	CU_ASSERT(itest_errlog_wait(
		&e, "Permissions Violation for Publish to \"ok.no\"", WAIT_MS));
	CU_ASSERT(natsConnection_PublishString(nc, "else", "x") == NATS_OK);
	CU_ASSERT(itest_errlog_wait(
		&e, "Permissions Violation for Publish to \"else\"", WAIT_MS));
	CU_ASSERT(natsConnection_SubscribeSync(&sub, nc, "secret") == NATS_OK);
	CU_ASSERT(itest_errlog_wait(
		&e, "Permissions Violation for Subscription to \"secret\"",
		WAIT_MS));
	CU_ASSERT(natsConnection_PublishString(nc, "ok.yes", "y") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	CU_ASSERT_FATAL(natsSubscription_NextMsg(&m, watch, WAIT_MS) ==
			NATS_OK);
	CU_ASSERT_STRING_EQUAL(natsMsg_GetSubject(m), "ok.yes");
	natsMsg_Destroy(m);
	CU_ASSERT_EQUAL(natsConnection_Status(nc), NATS_CONN_STATUS_CONNECTED);
	natsSubscription_Destroy(sub);
	natsSubscription_Destroy(watch);
	natsConnection_Destroy(admin);
	natsConnection_Destroy(nc);
	itest_errlog_fini(&e);
}

static void test_permissions(void)
{
	check_limited(natsd_srv.port);
	if (have_ns)
		check_limited(ns_srv.port);
}

/* U_ACCOUNT lives in account "other": it does not see $G's messages, and
 * its own reach only its account. natsd only. */
static void test_account(void)
{
	natsConnection *g, *o;
	natsSubscription *gs = NULL, *os = NULL;
	natsMsg *m = NULL;
	natsStatus st;

	g = conn_nkey(natsd_srv.port, U_FREE, SIGN_OWN, NULL, &st);
	o = conn_nkey(natsd_srv.port, U_ACCOUNT, SIGN_OWN, NULL, &st);
	CU_ASSERT_FATAL(g != NULL && o != NULL);
	CU_ASSERT(natsConnection_SubscribeSync(&gs, g, "x") == NATS_OK);
	CU_ASSERT(natsConnection_SubscribeSync(&os, o, "x") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(g, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(o, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_PublishString(g, "x", "from-g") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(g, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsSubscription_NextMsg(&m, gs, WAIT_MS) == NATS_OK);
	natsMsg_Destroy(m);
	m = NULL;
	CU_ASSERT(natsSubscription_NextMsg(&m, os, 200) == NATS_TIMEOUT);
	natsMsg_Destroy(m);
	m = NULL;
	CU_ASSERT(natsConnection_PublishString(o, "x", "from-o") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(o, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsSubscription_NextMsg(&m, os, WAIT_MS) == NATS_OK);
	if (m != NULL)
		CU_ASSERT_STRING_EQUAL(natsMsg_GetData(m), "from-o");
	natsMsg_Destroy(m);
	m = NULL;
	CU_ASSERT(natsSubscription_NextMsg(&m, gs, 200) == NATS_TIMEOUT);
	natsMsg_Destroy(m);
	natsSubscription_Destroy(gs);
	natsSubscription_Destroy(os);
	natsConnection_Destroy(g);
	natsConnection_Destroy(o);
}

/* nkey users listed in accounts { NAME { users } } log into NAME, on
 * both servers; a key listed nowhere is refused. */
static void test_account_block(void)
{
	static const char *const kinds[] = { "natsd", "nats-server" };
	struct hserver srv;
	natsConnection *nc, *g;
	natsSubscription *sub = NULL;
	natsMsg *m = NULL;
	natsStatus st;
	char conf[1024];
	int k;

	for (k = 0; k < (have_ns ? 2 : 1); k++) {
		memset(&srv, 0, sizeof(srv));
		if (k == 0)
			snprintf(conf, sizeof(conf),
				 "accounts = { A = { users = ( { nkey = \"%s\"; "
				 "}, { nkey = \"%s\"; } ); }; };\n",
				 U_ACCOUNT->public_key, U_FREE->public_key);
		else
			snprintf(conf, sizeof(conf),
				 "accounts { A { users [ { nkey: \"%s\" }, "
				 "{ nkey: \"%s\" } ] } }\n",
				 U_ACCOUNT->public_key, U_FREE->public_key);
		CU_ASSERT_FATAL(harness_start(&srv, kinds[k], conf, NULL) == 0);
		nc = conn_nkey(srv.port, U_ACCOUNT, SIGN_OWN, NULL, &st);
		if (nc == NULL && transient(st, NATS_OK))
			nc = conn_nkey(srv.port, U_ACCOUNT, SIGN_OWN, NULL, &st);
		g = conn_nkey(srv.port, U_FREE, SIGN_OWN, NULL, &st);
		if (g == NULL && transient(st, NATS_OK))
			g = conn_nkey(srv.port, U_FREE, SIGN_OWN, NULL, &st);
		CU_ASSERT(nc != NULL && g != NULL);
		/* Both in A: they see each other. */
		if (nc != NULL && g != NULL) {
			CU_ASSERT(natsConnection_SubscribeSync(&sub, nc, "x") ==
				  NATS_OK);
			CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) ==
				  NATS_OK);
			CU_ASSERT(natsConnection_PublishString(g, "x", "hi") ==
				  NATS_OK);
			CU_ASSERT(natsSubscription_NextMsg(&m, sub, WAIT_MS) ==
				  NATS_OK);
			natsMsg_Destroy(m);
			m = NULL;
			natsSubscription_Destroy(sub);
			sub = NULL;
		}
		natsConnection_Destroy(nc);
		natsConnection_Destroy(g);
		nc = conn_nkey(srv.port, U_LIMITED, SIGN_OWN, NULL, &st);
		CU_ASSERT_PTR_NULL(nc);
		CU_ASSERT_EQUAL(st, NATS_CONNECTION_AUTH_FAILED);
		natsConnection_Destroy(nc);
		if (k == 0) {
			CU_ASSERT(itest_stop(&srv));
		} else {
			harness_stop(&srv);
		}
	}
}

/* Copies text into buf with every "KEY" replaced by key. */
static void with_key(char *buf, size_t cap, const char *text, const char *key)
{
	const char *p;
	size_t n = 0, klen = strlen(key);

	for (p = text; *p != '\0' && n + klen + 1 < cap;) {
		if (strncmp(p, "KEY", 3) == 0) {
			memcpy(buf + n, key, klen);
			n += klen;
			p += 3;
		} else {
			buf[n++] = *p++;
		}
	}
	buf[n] = '\0';
}

/* Bad nkey entries stop natsd with the file and line, as nats-server. */
static void test_bad_config(void)
{
	static const struct {
		const char *conf;
		const char *want;
	} t[] = {
		{ "authorization = { users = ( { nkey = \"UNOTAKEY\"; } ); "
		  "};\n",
		  "Not a valid public nkey for a user" },
		{ "authorization = { users = ( { nkey = \"KEY\"; user = \"x\"; "
		  "} ); };\n",
		  "Nkey users do not take usernames or passwords" },
		{ "authorization = { users = ( { nkey = \"KEY\"; }, { nkey = "
		  "\"KEY\"; } ); };\n",
		  "Duplicate nkey" },
	};
	char conf[1024];
	size_t i;

	/* natsd -t checks a config and exits. */
	for (i = 0; i < SUITE_COUNT(t); i++) {
		char path[] = "/tmp/nkey_conf.XXXXXX", cmd[512], out[1024];
		const char *bin = getenv("NATSD_BIN");
		FILE *p;
		size_t n;
		int fd = mkstemp(path);

		CU_ASSERT_FATAL(fd >= 0);
		with_key(conf, sizeof(conf), t[i].conf, U_FREE->public_key);
		CU_ASSERT(write(fd, conf, strlen(conf)) ==
			  (ssize_t)strlen(conf));
		close(fd);
		snprintf(cmd, sizeof(cmd), "%s -t -c %s 2>&1",
			 bin ? bin : "./natsd", path);
		p = popen(cmd, "r");
		CU_ASSERT_FATAL(p != NULL);
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = '\0';
		pclose(p);
		unlink(path);
		if (strstr(out, t[i].want) == NULL)
			fprintf(stderr, "want \"%s\", got: %s\n", t[i].want,
				out);
		CU_ASSERT(strstr(out, t[i].want) != NULL);
		CU_ASSERT(strstr(out, ":1:") != NULL);
	}
}

static bool rewrite(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (f == NULL)
		return false;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

/* SIGHUP with U_UNKNOWN added and U_FREE gone, on both servers; then
 * back to the first users. Runs last but one: it changes the users. */
static void test_reload(void)
{
	char natsd_conf[1024], ns_conf[1024];
	struct outcome a;
	int i;

	snprintf(natsd_conf, sizeof(natsd_conf),
		 "authorization = { users = ( { nkey = \"%s\"; } ); };\n",
		 U_UNKNOWN->public_key);
	snprintf(ns_conf, sizeof(ns_conf),
		 "authorization { users = [ { nkey: \"%s\" } ] }\n",
		 U_UNKNOWN->public_key);
	for (i = 0; i < (have_ns ? 2 : 1); i++) {
		struct hserver *s = i == 0 ? &natsd_srv : &ns_srv;

		CU_ASSERT_FATAL(
			rewrite(s->conf_path, i == 0 ? natsd_conf : ns_conf));
		CU_ASSERT(kill(s->pid, SIGHUP) == 0);
		CU_ASSERT(itest_log_wait(s, "eloaded server configuration",
					 WAIT_MS));
		try_nkey(s->port, U_UNKNOWN, SIGN_OWN, &a);
		CU_ASSERT_EQUAL(a.st, NATS_OK);
		try_nkey(s->port, U_FREE, SIGN_OWN, &a);
		CU_ASSERT_EQUAL(a.st, NATS_CONNECTION_AUTH_FAILED);
	}
	/* A broken nkey in the file: the reload fails as a whole and the
	 * users stay. */
	snprintf(natsd_conf, sizeof(natsd_conf),
		 "authorization = { users = ( { nkey = \"UBROKEN\"; } ); };\n");
	CU_ASSERT_FATAL(rewrite(natsd_srv.conf_path, natsd_conf));
	CU_ASSERT(kill(natsd_srv.pid, SIGHUP) == 0);
	CU_ASSERT(itest_log_wait(
		&natsd_srv, "Not a valid public nkey for a user", WAIT_MS));
	try_nkey(natsd_srv.port, U_UNKNOWN, SIGN_OWN, &a);
	CU_ASSERT_EQUAL(a.st, NATS_OK);
}

/* The server's log says why, and holds no seed. */
static void test_log(void)
{
	const char *log = harness_log(&natsd_srv);

	CU_ASSERT(strstr(log, "signature not verified") != NULL);
	CU_ASSERT(strstr(log, U_FREE->seed) == NULL);
	CU_ASSERT(strstr(log, U_UNKNOWN->seed) == NULL);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "good key (signature callback)", test_good_key },
		{ "good key (seed file)", test_seed_file },
		{ "key signed by another seed", test_wrong_key },
		{ "unknown key", test_unknown_key },
		{ "tampered signature", test_tampered },
		{ "no credentials", test_no_credentials },
		{ "password users next to nkey users",
		  test_password_users_too },
		{ "raw: signature encodings", test_raw_signatures },
		{ "raw: missing signature, account key", test_raw_missing },
		{ "permissions", test_permissions },
		{ "account", test_account },
		{ "users in accounts {}", test_account_block },
		{ "bad config", test_bad_config },
		{ "log", test_log },
		{ "SIGHUP reloads the users", test_reload },
	};
	static const struct suite suites[] = {
		{ "nkey users, natsd and nats-server", suite_init, suite_fini,
		  tests, SUITE_COUNT(tests) },
	};
	int rc;

	itest_init("nkey_test", WATCHDOG_S, NULL);
	rc = suites_run(suites, SUITE_COUNT(suites));
	nats_CloseAndWait(WAIT_MS);
	return rc == 0 ? 0 : 1;
}
