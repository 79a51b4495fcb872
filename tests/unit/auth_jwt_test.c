/* Tests for plugins/auth/jwt.c, with no server around.
 *
 * The plugin's source is compiled into this program and driven through
 * the fake host of fake_host.h: the config getters are the core's (a
 * natsd.conf text read by conffile, the operator mode keys at its top),
 * the request accessors are fakes that record what the plugin granted. The tokens
 * come from tests/fixtures/jwt (@nats-io/jwt). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <natsd/plugin.h>

#include "../../plugins/auth/jwt.c"
#include "../fixtures/jwt/jwt_fx.h"
#include "../suites.h"
#include "fake_host.h"
#include "opts.h"

static struct opts o;
static char acc_limits[1024];

static int fake_account_limit(struct natsd_host *h, const char *account,
			      int limit, int64_t value)
{
	(void)h;
	fake_host_append(acc_limits, sizeof(acc_limits), "%.8s:%d:%lld",
			 account, limit, (long long)value);
	return 0;
}

static char imports_made[2048];
static int nimports_calls;

static int fake_account_imports(struct natsd_host *h, const char *account,
				const struct natsd_import *v, size_t n)
{
	size_t i;

	(void)h;
	(void)account;
	nimports_calls++;
	imports_made[0] = '\0';
	for (i = 0; i < n; i++)
		fake_host_append(imports_made, sizeof(imports_made),
				 "%s:%s:%s:%s", v[i].service ? "svc" : "str",
				 v[i].subject, v[i].prefix ? v[i].prefix : "-",
				 v[i].local ? v[i].local : "-");
	return 0;
}

/* The plugin's timer and subscriptions, run by hand. */
static natsd_timer_fn timer_fn;
static void *timer_arg;
static natsd_msg_fn sub_fn[4];
static void *sub_arg[4];
static char sub_where[4][200];
static int nsubs, nunsubs;

static int fake_timer_add(struct natsd_host *h, int64_t delay_ms,
			  natsd_timer_fn fn, void *arg)
{
	(void)h;
	(void)delay_ms;
	timer_fn = fn;
	timer_arg = arg;
	return 0;
}

static int fake_account_subscribe(struct natsd_host *h, const char *account,
				  const char *subject, natsd_msg_fn fn,
				  void *arg, void **handle)
{
	(void)h;
	if (nsubs >= 4)
		return NATSD_ENOMEM;
	sub_fn[nsubs] = fn;
	sub_arg[nsubs] = arg;
	snprintf(sub_where[nsubs], sizeof(sub_where[nsubs]), "%s %s", account,
		 subject);
	*handle = &sub_fn[nsubs];
	nsubs++;
	return 0;
}

static void fake_account_unsubscribe(struct natsd_host *h, void *handle)
{
	(void)h;
	(void)handle;
	nunsubs++;
}

static char closed[512];

static int fake_clients_close(struct natsd_host *h, const char *account,
			      const char *user, const char *err)
{
	(void)h;
	snprintf(closed, sizeof(closed), "%.8s %.8s %s", account,
		 user ? user : "-", err);
	return 0;
}

/* The host as the fake one, with what the plugin uses beyond a request
 * and the log. */
static void setup_api(void)
{
	fake_host_setup();
	fake_host_api.account_limit = fake_account_limit;
	fake_host_api.account_imports = fake_account_imports;
	fake_host_api.timer_add = fake_timer_add;
	fake_host_api.account_subscribe = fake_account_subscribe;
	fake_host_api.account_unsubscribe = fake_account_unsubscribe;
	fake_host_api.clients_close = fake_clients_close;
	acc_limits[0] = '\0';
	closed[0] = '\0';
	timer_fn = NULL;
	nsubs = nunsubs = 0;
}

/* Loads conf as natsd.conf and inits the plugin with the settings the
 * core would give it. Returns init's result; err gets its message. */
static int load(const char *conf, char *err, size_t errlen)
{
	int rc;

	rc = fake_host_conf(&o, conf, NULL, 0, err, errlen);
	if (rc != 0)
		return rc;
	setup_api();
	rc = fake_host_init(o.jwt_settings, err, errlen);
	if (rc != 0)
		opts_fini(&o);
	return rc;
}

static void unload(void)
{
	fake_host_fini();
	opts_fini(&o);
}

/* The standard config: the operator inline, accounts a, b and sys
 * preloaded. */
static int load_standard(void)
{
	static char conf[65536];
	char err[512];

	snprintf(conf, sizeof(conf),
		 "operator = \"%s\";\nresolver = \"MEMORY\";\n"
		 "resolver_preload = {\n  %s = \"%s\";\n  %s = \"%s\";\n"
		 "  %s = \"%s\";\n};\n",
		 OPER("op")->jwt, ACC("a")->public_key, ACC("a")->jwt,
		 ACC("b")->public_key, ACC("b")->jwt, ACC("old")->public_key,
		 ACC("old")->jwt);
	return load(conf, err, sizeof(err));
}

/* A request from user u with the nonce signed by its seed (or not). */
static void req_init(struct natsd_auth_req *r, const struct jwt_fixture *u,
		     bool sign)
{
	static const char nonce[] = "pX3lCz0cbmNQVw8";
	unsigned char seed[32], raw[NKEY_SIG_LEN];
	enum nkey_type t;

	fake_host_req_init(r);
	r->fields[NATSD_AF_JWT] = u->jwt;
	r->fields[NATSD_AF_NONCE] = nonce;
	if (!sign)
		return;
	CU_ASSERT_FATAL(nkey_decode_seed(u->seed, &t, seed) == 0);
	CU_ASSERT_FATAL(nkey_sign(seed, nonce, strlen(nonce), raw) == 0);
	OPENSSL_cleanse(seed, sizeof(seed));
	/* base64url of the signature: the JWT module has no encoder. */
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst"
				"uvwxyz0123456789-_";
	size_t i, pos = 0;

	for (i = 0; i < NKEY_SIG_LEN; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16;
		int k = NKEY_SIG_LEN - i >= 3 ? 4 : (int)(NKEY_SIG_LEN - i) + 1;

		if (i + 1 < NKEY_SIG_LEN)
			v |= (uint32_t)raw[i + 1] << 8;
		if (i + 2 < NKEY_SIG_LEN)
			v |= raw[i + 2];
		for (int j = 0; j < k; j++)
			r->sig[pos++] = a[(v >> (18 - 6 * j)) & 63];
	}
	r->sig[pos] = '\0';
	r->fields[NATSD_AF_SIG] = r->sig;
}

static int auth_as(struct natsd_auth_req *r, const char *user, bool sign)
{
	req_init(r, USER(user), sign);
	return fake_host_authenticate(r);
}

/* Settings                                                             */

static void expect_init_error(const char *conf, const char *want)
{
	char err[512];

	if (load(conf, err, sizeof(err)) == 0) {
		unload();
		CU_FAIL("init succeeded");
		return;
	}
	if (strstr(err, want) == NULL)
		fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, want);
	CU_ASSERT(strstr(err, want) != NULL);
}

static void test_settings_errors(void)
{
	char conf[8192];

	expect_init_error("resolver = \"MEMORY\";\n",
			  "needs trusted operators");
	expect_init_error("operator = \"/nonexistent/op.jwt\";\n"
			  "resolver = \"MEMORY\";\n",
			  "cannot open /nonexistent/op.jwt");
	expect_init_error("operator = \"eyJnot.a.jwt\";\n"
			  "resolver = \"MEMORY\";\n",
			  "operator JWT:");
	snprintf(conf, sizeof(conf),
		 "operator = \"%s\";\nresolver = \"MEMORY\";\n", ACC("a")->jwt);
	expect_init_error(conf, "not an operator JWT");
	expect_init_error("trusted_keys = [\"OXYZ\"];\nresolver = "
			  "\"MEMORY\";\n",
			  "not an operator public key");
	snprintf(conf, sizeof(conf), "trusted_keys = \"%s\";\n",
		 OPER("op")->public_key);
	expect_init_error(conf, "needs a resolver");
	snprintf(conf, sizeof(conf),
		 "trusted_keys = \"%s\";\nresolver = \"FULL\";\n",
		 OPER("op")->public_key);
	expect_init_error(conf, "expected MEMORY or URL");
	snprintf(conf, sizeof(conf),
		 "trusted_keys = \"%s\";\nresolver = "
		 "\"URL(https://x/)\";\n",
		 OPER("op")->public_key);
	expect_init_error(conf, "only http://");
	snprintf(conf, sizeof(conf),
		 "trusted_keys = \"%s\";\nresolver = \"MEMORY\";\n"
		 "resolver_preload = { %s = \"garbage\"; };\n",
		 OPER("op")->public_key, ACC("a")->public_key);
	expect_init_error(conf, "resolver_preload: account JWT");
	/* The JWT of account b under a's key. */
	snprintf(conf, sizeof(conf),
		 "trusted_keys = \"%s\";\nresolver = \"MEMORY\";\n"
		 "resolver_preload = { %s = \"%s\"; };\n",
		 OPER("op")->public_key, ACC("a")->public_key, ACC("b")->jwt);
	expect_init_error(conf, "for another account");
	snprintf(conf, sizeof(conf),
		 "trusted_keys = \"%s\";\nresolver = \"MEMORY\";\n"
		 "resolver_preload = { Users = \"x\"; };\n",
		 OPER("op")->public_key);
	expect_init_error(conf, "not an account public key");
}

/* Grants                                                               */

static void test_grant_permissions(void)
{
	struct natsd_auth_req r;

	CU_ASSERT_EQUAL_FATAL(load_standard(), 0);
	CU_ASSERT_STRING_EQUAL(fake_host_auth.name, "jwt");
	CU_ASSERT_EQUAL(fake_host_auth.flags,
			NATSD_AUTH_F_NONCE | NATSD_AUTH_F_REQUIRED);
	CU_ASSERT_EQUAL(auth_as(&r, "perms", true), NATSD_AUTH_ACCEPT);
	CU_ASSERT_STRING_EQUAL(r.user, USER("perms")->public_key);
	CU_ASSERT_STRING_EQUAL(r.account, ACC("a")->public_key);
	CU_ASSERT_STRING_EQUAL(r.permits, "1:foo.> 1:_INBOX.> 2:foo.secret "
					  "3:foo.> 3:_INBOX.> 4:foo.hidden");
	CU_ASSERT_FALSE(r.resp);
	CU_ASSERT_EQUAL(r.expiry, 0);
	CU_ASSERT(strstr(acc_limits, ":1:-1") != NULL);
	CU_ASSERT_EQUAL(auth_as(&r, "resp", true), NATSD_AUTH_ACCEPT);
	CU_ASSERT_TRUE(r.resp);
	CU_ASSERT_EQUAL(r.resp_max, 1);
	CU_ASSERT_EQUAL(r.resp_expires, 5000000000LL);
	unload();
}

static void test_grant_limits_expiry(void)
{
	struct natsd_auth_req r;
	const struct jwt_fixture *b = ACC("b");
	char want[64];

	CU_ASSERT_EQUAL_FATAL(load_standard(), 0);
	CU_ASSERT_EQUAL(auth_as(&r, "user_limits", true), NATSD_AUTH_ACCEPT);
	CU_ASSERT_EQUAL(r.limits[NATSD_LIMIT_SUBS], 1);
	CU_ASSERT_EQUAL(r.limits[NATSD_LIMIT_PAYLOAD], 16);
	acc_limits[0] = '\0';
	CU_ASSERT_EQUAL(auth_as(&r, "limited", true), NATSD_AUTH_ACCEPT);
	CU_ASSERT_STRING_EQUAL(r.account, b->public_key);
	snprintf(want, sizeof(want), "%.8s:4:1 %.8s:1:3 %.8s:2:64",
		 b->public_key, b->public_key, b->public_key);
	CU_ASSERT_STRING_EQUAL(acc_limits, want);
	/* Disconnect at the JWT's exp. */
	CU_ASSERT_EQUAL(auth_as(&r, "expires", true), NATSD_AUTH_ACCEPT);
	CU_ASSERT(r.expiry >
		  (JWT_FX_MADE_AT + 19LL * 365 * 86400) * 1000000000LL);
	CU_ASSERT_EQUAL(r.expiry % 1000000000LL, 0);
	/* Or at the end of the connect window, within a day. */
	CU_ASSERT_EQUAL(auth_as(&r, "times_ok", true), NATSD_AUTH_ACCEPT);
	CU_ASSERT(r.expiry > (int64_t)time(NULL) * 1000000000LL);
	CU_ASSERT(r.expiry <= ((int64_t)time(NULL) + 86400) * 1000000000LL);
	unload();
}

static void test_scoped_template(void)
{
	struct natsd_auth_req r;

	CU_ASSERT_EQUAL_FATAL(load_standard(), 0);
	CU_ASSERT_EQUAL(auth_as(&r, "scoped", true), NATSD_AUTH_ACCEPT);
	CU_ASSERT_STRING_EQUAL(r.permits,
			       "1:scoped.scoped.> 3:scoped.> 3:_INBOX.>");
	CU_ASSERT_EQUAL(r.limits[NATSD_LIMIT_SUBS], 5);
	CU_ASSERT_EQUAL(auth_as(&r, "scoped_with_perms", true),
			NATSD_AUTH_REJECT);
	CU_ASSERT(fake_host_logged("scoped users require no permissions"));
	unload();
}

/* Refusals                                                             */

static void expect_refusal(const char *user, bool sign, const char *why)
{
	struct natsd_auth_req r;

	fake_host_log_clear();
	CU_ASSERT_EQUAL(auth_as(&r, user, sign), NATSD_AUTH_REJECT);
	if (!fake_host_logged(why))
		fprintf(stderr, "%s: log \"%s\" lacks \"%s\"\n", user,
			fake_host_log(), why);
	CU_ASSERT(fake_host_logged(why));
	/* The log never holds the token or the signature. */
	CU_ASSERT(!fake_host_logged(USER(user)->jwt));
	CU_ASSERT(r.sig[0] == '\0' || !fake_host_logged(r.sig));
}

static void test_refusals(void)
{
	struct natsd_auth_req r;

	CU_ASSERT_EQUAL_FATAL(load_standard(), 0);
	expect_refusal("good", false, "nonce signature missing");
	expect_refusal("expired", true, "user JWT expired");
	expect_refusal("notyet", true, "user JWT not yet valid");
	expect_refusal("revoked", true, "user JWT is revoked");
	expect_refusal("old_user", true, "user JWT is revoked");
	expect_refusal("old_bearer", false, "does not allow bearer");
	expect_refusal("unknown_sk", true, "not the account nor one of its");
	expect_refusal("wrong_op", true, "not found by the resolver");
	expect_refusal("tampered", true, "signature does not verify");
	expect_refusal("src_bad", true, "not in the user's src");
	expect_refusal("ws_only", true, "connection type not allowed");
	expect_refusal("times_bad", true, "outside the user's connect times");
	expect_refusal("of_expired_account", true, "not found");
	/* A valid signature by another key. */
	req_init(&r, USER("good"), false);
	req_init(&r, USER("perms"), true);
	r.fields[NATSD_AF_JWT] = USER("good")->jwt;
	CU_ASSERT_EQUAL(fake_host_authenticate(&r), NATSD_AUTH_REJECT);
	/* No JWT at all, and one that is not a user's. */
	req_init(&r, USER("good"), true);
	r.fields[NATSD_AF_JWT] = NULL;
	CU_ASSERT_EQUAL(fake_host_authenticate(&r), NATSD_AUTH_REJECT);
	CU_ASSERT(fake_host_logged("no user JWT"));
	r.fields[NATSD_AF_JWT] = ACC("a")->jwt;
	CU_ASSERT_EQUAL(fake_host_authenticate(&r), NATSD_AUTH_REJECT);
	CU_ASSERT(fake_host_logged("not a user JWT"));
	/* Bearer: no signature needed. */
	CU_ASSERT_EQUAL(auth_as(&r, "bearer", false), NATSD_AUTH_ACCEPT);
	unload();
}

/* Imports of an account JWT, checked against the exporter's exports and
 * the activation tokens, go to the host once per account JWT. */
static void test_imports(void)
{
	static char conf[65536];
	struct natsd_auth_req r;
	char err[512];

	snprintf(conf, sizeof(conf),
		 "operator = \"%s\";\nresolver = \"MEMORY\";\n"
		 "resolver_preload = {\n  %s = \"%s\";\n  %s = \"%s\";\n"
		 "  %s = \"%s\";\n};\n",
		 OPER("op")->jwt, ACC("exp")->public_key, ACC("exp")->jwt,
		 ACC("imp")->public_key, ACC("imp")->jwt,
		 ACC("imp_bad")->public_key, ACC("imp_bad")->jwt);
	CU_ASSERT_EQUAL_FATAL(load(conf, err, sizeof(err)), 0);
	nimports_calls = 0;
	CU_ASSERT_EQUAL(auth_as(&r, "importer", true), NATSD_AUTH_ACCEPT);
	CU_ASSERT_EQUAL(nimports_calls, 1);
	CU_ASSERT_STRING_EQUAL(imports_made,
			       "str:pub.>:-:- str:priv.>:fromE:- "
			       "svc:help.me:-:ask svc:psvc.b:-:-");
	CU_ASSERT(fake_host_logged("activation token revoked"));
	CU_ASSERT(fake_host_logged("no activation token"));
	/* Once per account JWT. */
	CU_ASSERT_EQUAL(auth_as(&r, "importer", true), NATSD_AUTH_ACCEPT);
	CU_ASSERT_EQUAL(nimports_calls, 1);
	expect_refusal("importer_bad", true, "activation token doesn't match");
	unload();
}

/* Publishes text on subject to the plugin's first subscription. */
static void publish_update(const char *subject, const char *text)
{
	struct natsd_msg m = { .struct_size = sizeof(m) };

	m.account = ACC("sys")->public_key;
	m.subject = subject;
	m.subject_len = (uint32_t)strlen(subject);
	m.data = text;
	m.data_len = (uint32_t)strlen(text);
	sub_fn[0](sub_arg[0], &m);
}

/* $SYS.ACCOUNT.<id>.CLAIMS.UPDATE in the operator's system account
 * replaces a known account's JWT for the connections that follow. */
static void test_claims_update(void)
{
	const struct jwt_fixture *upd = jwt_fx(jwt_fx_updates, "a");
	struct natsd_auth_req r;
	char subj[128], want[128];

	CU_ASSERT_EQUAL_FATAL(load_standard(), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(timer_fn);
	timer_fn(timer_arg);
	CU_ASSERT_EQUAL_FATAL(nsubs, 2);
	snprintf(want, sizeof(want), "%s $SYS.ACCOUNT.*.CLAIMS.UPDATE",
		 ACC("sys")->public_key);
	CU_ASSERT_STRING_EQUAL(sub_where[0], want);
	CU_ASSERT_EQUAL(auth_as(&r, "good", true), NATSD_AUTH_ACCEPT);
	/* Garbage, a JWT for another account, an unknown account: no
	 * change. */
	snprintf(subj, sizeof(subj), "$SYS.ACCOUNT.%s.CLAIMS.UPDATE",
		 upd->public_key);
	publish_update(subj, "garbage");
	CU_ASSERT(fake_host_logged("claims update for"));
	publish_update(subj, ACC("b")->jwt);
	CU_ASSERT(fake_host_logged("for another account"));
	snprintf(subj, sizeof(subj), "$SYS.ACCOUNT.%s.CLAIMS.UPDATE",
		 ACC("x")->public_key);
	publish_update(subj, ACC("x")->jwt);
	CU_ASSERT(fake_host_logged("not signed by a trusted operator"));
	CU_ASSERT_EQUAL(auth_as(&r, "good", true), NATSD_AUTH_ACCEPT);
	/* The update revokes "good". */
	snprintf(subj, sizeof(subj), "$SYS.ACCOUNT.%s.CLAIMS.UPDATE",
		 upd->public_key);
	publish_update(subj, upd->jwt);
	CU_ASSERT(fake_host_logged("updated from a claims update"));
	/* Its clients are closed; "perms" is not revoked. */
	snprintf(want, sizeof(want), "%.8s %.8s User Authentication Revoked",
		 upd->public_key, USER("good")->public_key);
	CU_ASSERT_STRING_EQUAL(closed, want);
	CU_ASSERT_EQUAL(auth_as(&r, "good", true), NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(auth_as(&r, "perms", true), NATSD_AUTH_ACCEPT);
	unload();
	CU_ASSERT_EQUAL(nunsubs, 2);
}

/* resolver_pinned_accounts: only their users get in. */
static void test_pinned(void)
{
	static char conf[65536];
	struct natsd_auth_req r;
	char err[512];

	snprintf(conf, sizeof(conf),
		 "operator = \"%s\";\nresolver = \"MEMORY\";\n"
		 "resolver_preload = {\n  %s = \"%s\";\n  %s = \"%s\";\n};\n"
		 "resolver_pinned_accounts = [ \"%s\" ];\n",
		 OPER("op")->jwt, ACC("a")->public_key, ACC("a")->jwt,
		 ACC("b")->public_key, ACC("b")->jwt, ACC("a")->public_key);
	CU_ASSERT_EQUAL_FATAL(load(conf, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(auth_as(&r, "good", true), NATSD_AUTH_ACCEPT);
	expect_refusal("limited", true, "is not pinned");
	unload();
	snprintf(conf, sizeof(conf),
		 "operator = \"%s\";\nresolver = \"MEMORY\";\n"
		 "resolver_pinned_accounts = [ \"%s\" ];\n",
		 OPER("op")->jwt, OPER("op")->public_key);
	expect_init_error(conf, "is not an account public key");
}

/* An account JWT signed by another operator, preloaded: not trusted. */
static void test_untrusted_account(void)
{
	static char conf[16384];
	char err[512];

	snprintf(conf, sizeof(conf),
		 "operator = \"%s\";\nresolver = \"MEMORY\";\n"
		 "resolver_preload = { %s = \"%s\"; %s = \"%s\"; };\n",
		 OPER("op")->jwt, ACC("x")->public_key, ACC("x")->jwt,
		 ACC("expired")->public_key, ACC("expired")->jwt);
	CU_ASSERT_EQUAL_FATAL(load(conf, err, sizeof(err)), 0);
	expect_refusal("wrong_op", true, "not signed by a trusted operator");
	expect_refusal("of_expired_account", true, "account JWT expired");
	unload();
}

/* URL resolver: answers later, and cancel() stops an answer            */

/* A listener that accepts connections (the kernel does) and never
 * answers: a hanging resolver. */
static int hang_listener(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (void *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 8) != 0 || getsockname(fd, (void *)&sa, &len) != 0)
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

static int done_of(struct natsd_auth_req *r, int *verdict)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = r->done;
	*verdict = r->verdict;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static void test_url_pending_cancel(void)
{
	struct natsd_auth_req r1, r2;
	char conf[8192], err[512];
	int fd, port = 0, v, i;

	fd = hang_listener(&port);
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(conf, sizeof(conf),
		 "operator = \"%s\";\n"
		 "resolver = \"URL(http://127.0.0.1:%d/jwt/v1/accounts)\";\n"
		 "resolver_timeout = \"300ms\";\n",
		 OPER("op")->jwt, port);
	CU_ASSERT_EQUAL_FATAL(load(conf, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(auth_as(&r1, "good", true), NATSD_AUTH_PENDING);
	CU_ASSERT_EQUAL(auth_as(&r2, "perms", true), NATSD_AUTH_PENDING);
	fake_host_auth.cancel(fake_host_auth_ctx, &r1);
	for (i = 0; i < 200 && done_of(&r2, &v) == 0; i++)
		usleep(10000);
	CU_ASSERT_EQUAL(done_of(&r2, &v), 1);
	CU_ASSERT_EQUAL(v, NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(done_of(&r1, &v), 0);
	CU_ASSERT(fake_host_logged("timeout after 300 ms"));
	/* Pending at fini: cancelled first, as the host does. */
	CU_ASSERT_EQUAL(auth_as(&r1, "good", true), NATSD_AUTH_PENDING);
	fake_host_auth.cancel(fake_host_auth_ctx, &r1);
	unload();
	CU_ASSERT_EQUAL(done_of(&r1, &v), 0);
	close(fd);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "settings errors", test_settings_errors },
		{ "permissions", test_grant_permissions },
		{ "limits and expiry", test_grant_limits_expiry },
		{ "scoped signing key", test_scoped_template },
		{ "refusals", test_refusals },
		{ "untrusted and expired accounts", test_untrusted_account },
		{ "imports and exports", test_imports },
		{ "claims updates", test_claims_update },
		{ "pinned accounts", test_pinned },
		{ "URL resolver: pending, cancel", test_url_pending_cancel },
	};
	static const struct suite suites[] = {
		{ "auth_jwt", NULL, NULL, tests, SUITE_COUNT(tests) },
	};

	return suites_run(suites, SUITE_COUNT(suites)) == 0 ? 0 : 1;
}
