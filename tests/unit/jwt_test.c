/* Tests for plugins/auth/jwt_claims.c: decoding, signatures, times,
 * issuers, revocations, scoped signing keys and the connection checks,
 * with tokens made by @nats-io/jwt (tests/fixtures/jwt). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <natsd/error.h>

#include "../../plugins/auth/jwt_claims.h"
#include "../fixtures/jwt/jwt_fx.h"
#include "../suites.h"

static char err[256];

static struct jwt *decode_ok(const char *token)
{
	struct jwt *j = NULL;
	int rc = jwt_decode(token, &j, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "decode: %s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	return j;
}

static int64_t now(void)
{
	return (int64_t)time(NULL);
}

/* Decoding                                                             */

static void test_decode_types(void)
{
	struct jwt *op = decode_ok(OPER("op")->jwt);
	struct jwt *acc = decode_ok(ACC("a")->jwt);
	struct jwt *u = decode_ok(USER("good")->jwt);

	CU_ASSERT_EQUAL(op->type, JWT_OPERATOR);
	CU_ASSERT_EQUAL(op->version, 2);
	CU_ASSERT_STRING_EQUAL(op->iss, OPER("op")->public_key);
	CU_ASSERT_STRING_EQUAL(op->sub, OPER("op")->public_key);
	CU_ASSERT_EQUAL(op->op_signing_keys.n, 1);
	CU_ASSERT_STRING_EQUAL(op->system_account, ACC("sys")->public_key);
	CU_ASSERT_EQUAL(acc->type, JWT_ACCOUNT);
	CU_ASSERT_STRING_EQUAL(acc->sub, ACC("a")->public_key);
	CU_ASSERT_EQUAL(acc->nsks, 2);
	CU_ASSERT_FALSE(acc->sks[0].scoped);
	CU_ASSERT_TRUE(acc->sks[1].scoped);
	CU_ASSERT_EQUAL(acc->nrevs, 1);
	CU_ASSERT_EQUAL(u->type, JWT_USER);
	CU_ASSERT_STRING_EQUAL(u->sub, USER("good")->public_key);
	CU_ASSERT_STRING_EQUAL(u->iss, ACC("a")->public_key);
	CU_ASSERT_STRING_EQUAL(u->name, "good");
	CU_ASSERT_TRUE(u->iat >= JWT_FX_MADE_AT - 5);
	CU_ASSERT_EQUAL(u->user.subs, -1);
	CU_ASSERT_EQUAL(u->user.payload, -1);
	CU_ASSERT_FALSE(u->user.perms);
	jwt_free(op);
	jwt_free(acc);
	jwt_free(u);
}

static void test_decode_v1(void)
{
	struct jwt *u = decode_ok(USER("v1")->jwt);

	CU_ASSERT_EQUAL(u->version, 1);
	CU_ASSERT_EQUAL(u->type, JWT_USER);
	jwt_free(u);
}

static void test_decode_user_claims(void)
{
	struct jwt *u = decode_ok(USER("perms")->jwt);

	CU_ASSERT_EQUAL(u->user.pub_allow.n, 2);
	CU_ASSERT_STRING_EQUAL(u->user.pub_allow.v[0], "foo.>");
	CU_ASSERT_EQUAL(u->user.pub_deny.n, 1);
	CU_ASSERT_STRING_EQUAL(u->user.pub_deny.v[0], "foo.secret");
	CU_ASSERT_EQUAL(u->user.sub_deny.n, 1);
	CU_ASSERT_TRUE(u->user.perms);
	jwt_free(u);
	u = decode_ok(USER("resp")->jwt);
	CU_ASSERT_TRUE(u->user.resp);
	CU_ASSERT_EQUAL(u->user.resp_max, 1);
	CU_ASSERT_EQUAL(u->user.resp_ttl, 5000000000LL);
	jwt_free(u);
	u = decode_ok(USER("user_limits")->jwt);
	CU_ASSERT_EQUAL(u->user.subs, 1);
	CU_ASSERT_EQUAL(u->user.payload, 16);
	jwt_free(u);
	u = decode_ok(USER("bearer")->jwt);
	CU_ASSERT_TRUE(u->user.bearer);
	jwt_free(u);
}

static void test_decode_account_limits(void)
{
	struct jwt *b = decode_ok(ACC("b")->jwt);
	struct jwt *old = decode_ok(ACC("old")->jwt);

	CU_ASSERT_EQUAL(b->acc_conn, 1);
	CU_ASSERT_EQUAL(b->acc_subs, 3);
	CU_ASSERT_EQUAL(b->acc_payload, 64);
	CU_ASSERT_STRING_EQUAL(
		b->iss, jwt_fx(jwt_fx_keys, "op_signing_key")->public_key);
	CU_ASSERT_TRUE(old->disallow_bearer);
	jwt_free(b);
	jwt_free(old);
}

static void expect_bad(const char *token, int want)
{
	struct jwt *j = NULL;

	CU_ASSERT_EQUAL(jwt_decode(token, &j, err, sizeof(err)), want);
	CU_ASSERT_PTR_NULL(j);
	CU_ASSERT_TRUE(err[0] != '\0');
}

static void test_decode_tampered(void)
{
	expect_bad(USER("tampered")->jwt, NATSD_EACCES);
}

/* A copy of token with the character at i changed. */
static char *mutate(const char *token, size_t i, char ch)
{
	char *t = strdup(token);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	t[i] = ch;
	return t;
}

static void test_decode_malformed(void)
{
	const char *good = USER("good")->jwt;
	const char *sig = strrchr(good, '.') + 1;
	char *t, buf[8192];

	expect_bad("", NATSD_EINVAL);
	expect_bad("abc", NATSD_EINVAL);
	expect_bad("a.b", NATSD_EINVAL);
	expect_bad("a.b.c.d", NATSD_EINVAL);
	expect_bad("!!!.b.c", NATSD_EINVAL);
	/* The signature truncated, then one bit off. */
	snprintf(buf, sizeof(buf), "%.*s", (int)(strlen(good) - 10), good);
	expect_bad(buf, NATSD_EINVAL);
	t = mutate(good, (size_t)(sig - good) + 3, sig[3] == 'A' ? 'B' : 'A');
	expect_bad(t, NATSD_EACCES);
	free(t);
	/* Claims that are not JSON, and a header with another alg. */
	snprintf(buf, sizeof(buf), "%.*s.bm90IGpzb24.%s",
		 (int)(strchr(good, '.') - good), good, sig);
	expect_bad(buf, NATSD_EINVAL);
	/* {"typ":"JWT","alg":"HS256"} */
	snprintf(buf, sizeof(buf), "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9%s",
		 strchr(good, '.'));
	expect_bad(buf, NATSD_EINVAL);
}

/* Every one-character change and every truncation of tokens of each
 * kind is refused cleanly (under the sanitizers: no crash, no leak), or
 * decodes to a token whose signature still holds (base64 slack bits
 * are refused, so none should). */
static void test_decode_mutations(void)
{
	const char *tokens[] = { OPER("op")->jwt, ACC("a")->jwt,
				 ACC("imp")->jwt, USER("perms")->jwt,
				 USER("scoped")->jwt };
	static const char subst[] = "A_-.=!{";
	struct jwt *j;
	size_t t, i, k, len, bad = 0, n = 0;
	char *m;

	for (t = 0; t < sizeof(tokens) / sizeof(tokens[0]); t++) {
		len = strlen(tokens[t]);
		for (i = 0; i < len; i += 3) {
			for (k = 0; k < sizeof(subst) - 1; k++) {
				if (tokens[t][i] == subst[k])
					continue;
				m = mutate(tokens[t], i, subst[k]);
				j = NULL;
				n++;
				if (jwt_decode(m, &j, err, sizeof(err)) == 0)
					bad++;
				jwt_free(j);
				m[i] = '\0';
				j = NULL;
				if (jwt_decode(m, &j, err, sizeof(err)) == 0)
					bad++;
				jwt_free(j);
				free(m);
			}
		}
	}
	CU_ASSERT(n > 1000);
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_b64url(void)
{
	unsigned char out[16];

	CU_ASSERT_EQUAL(jwt_b64url_decode("aGk", 3, out, sizeof(out)), 2);
	CU_ASSERT_EQUAL(memcmp(out, "hi", 2), 0);
	CU_ASSERT_EQUAL(jwt_b64url_decode("aGk=", 4, out, sizeof(out)), 2);
	CU_ASSERT_EQUAL(jwt_b64url_decode("_-8", 3, out, sizeof(out)), 2);
	CU_ASSERT_EQUAL(out[0], 0xff);
	CU_ASSERT_EQUAL(jwt_b64url_decode("a", 1, out, sizeof(out)),
			NATSD_EINVAL);
	CU_ASSERT_EQUAL(jwt_b64url_decode("a*b", 3, out, sizeof(out)),
			NATSD_EINVAL);
	/* Non-zero bits past the end. */
	CU_ASSERT_EQUAL(jwt_b64url_decode("aGl", 3, out, sizeof(out)),
			NATSD_EINVAL);
	CU_ASSERT_EQUAL(jwt_b64url_decode("aGVsbG8", 7, out, 2), NATSD_EINVAL);
}

/* Validation                                                           */

static void test_times(void)
{
	struct jwt *u;

	u = decode_ok(USER("good")->jwt);
	CU_ASSERT_EQUAL(jwt_check_times(u, now(), err, sizeof(err)), 0);
	jwt_free(u);
	u = decode_ok(USER("expired")->jwt);
	CU_ASSERT_EQUAL(jwt_check_times(u, now(), err, sizeof(err)),
			NATSD_EACCES);
	CU_ASSERT_STRING_EQUAL(err, "expired");
	/* Before it expired, it was good. */
	CU_ASSERT_EQUAL(jwt_check_times(u, u->exp - 1, err, sizeof(err)), 0);
	jwt_free(u);
	u = decode_ok(USER("notyet")->jwt);
	CU_ASSERT_EQUAL(jwt_check_times(u, now(), err, sizeof(err)),
			NATSD_EACCES);
	CU_ASSERT_STRING_EQUAL(err, "not yet valid");
	CU_ASSERT_EQUAL(jwt_check_times(u, u->nbf, err, sizeof(err)), 0);
	jwt_free(u);
	u = decode_ok(ACC("expired")->jwt);
	CU_ASSERT_EQUAL(jwt_check_times(u, now(), err, sizeof(err)),
			NATSD_EACCES);
	jwt_free(u);
}

static void test_operator_trust(void)
{
	struct jwt *op = decode_ok(OPER("op")->jwt);
	struct jwt *a = decode_ok(ACC("a")->jwt);
	struct jwt *b = decode_ok(ACC("b")->jwt);
	struct jwt *x = decode_ok(ACC("x")->jwt);

	CU_ASSERT_TRUE(jwt_operator_trusts(op, a->iss));
	/* Signed by the operator's signing key. */
	CU_ASSERT_TRUE(jwt_operator_trusts(op, b->iss));
	/* Another operator's account: wrong issuer. */
	CU_ASSERT_FALSE(jwt_operator_trusts(op, x->iss));
	CU_ASSERT_FALSE(jwt_operator_trusts(op, NULL));
	jwt_free(op);
	jwt_free(a);
	jwt_free(b);
	jwt_free(x);
}

static void test_account_signers(void)
{
	struct jwt *a = decode_ok(ACC("a")->jwt);
	struct jwt *sk = decode_ok(USER("sk")->jwt);
	struct jwt *unk = decode_ok(USER("unknown_sk")->jwt);
	const struct jwt_signing_key *k;

	CU_ASSERT_STRING_EQUAL(sk->issuer_account, a->sub);
	k = jwt_account_signer(a, sk->iss);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FALSE(k->scoped);
	/* issuer_account names A, but A does not list the key. */
	CU_ASSERT_STRING_EQUAL(unk->issuer_account, a->sub);
	CU_ASSERT_PTR_NULL(jwt_account_signer(a, unk->iss));
	CU_ASSERT_PTR_NULL(jwt_account_signer(a, a->sub));
	jwt_free(a);
	jwt_free(sk);
	jwt_free(unk);
}

static void test_revocations(void)
{
	struct jwt *a = decode_ok(ACC("a")->jwt);
	struct jwt *old = decode_ok(ACC("old")->jwt);
	struct jwt *rev = decode_ok(USER("revoked")->jwt);
	struct jwt *good = decode_ok(USER("good")->jwt);
	struct jwt *ou = decode_ok(USER("old_user")->jwt);

	CU_ASSERT_TRUE(jwt_account_revoked(a, rev->sub, rev->iat));
	CU_ASSERT_FALSE(jwt_account_revoked(a, good->sub, good->iat));
	/* A token issued after the revocation is good again. */
	CU_ASSERT_FALSE(jwt_account_revoked(a, rev->sub, rev->iat + 7200));
	/* "*" revokes everyone issued before. */
	CU_ASSERT_TRUE(jwt_account_revoked(old, ou->sub, ou->iat));
	CU_ASSERT_FALSE(jwt_account_revoked(old, ou->sub, ou->iat + 7200));
	jwt_free(a);
	jwt_free(old);
	jwt_free(rev);
	jwt_free(good);
	jwt_free(ou);
}

static void test_scoped(void)
{
	struct jwt *a = decode_ok(ACC("a")->jwt);
	struct jwt *u = decode_ok(USER("scoped")->jwt);
	struct jwt *bad = decode_ok(USER("scoped_with_perms")->jwt);
	const struct jwt_signing_key *k = jwt_account_signer(a, u->iss);

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_TRUE(k->scoped);
	CU_ASSERT_STRING_EQUAL(k->role, "scoped");
	CU_ASSERT_EQUAL(jwt_apply_scope(u, a, k, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(u->user.pub_allow.n, 1);
	CU_ASSERT_STRING_EQUAL(u->user.pub_allow.v[0], "scoped.scoped.>");
	CU_ASSERT_EQUAL(u->user.sub_allow.n, 2);
	CU_ASSERT_EQUAL(u->user.subs, 5);
	/* A scoped key's user must not bring permissions of its own. */
	CU_ASSERT_EQUAL(jwt_apply_scope(bad, a, k, err, sizeof(err)),
			NATSD_EACCES);
	jwt_free(a);
	jwt_free(u);
	jwt_free(bad);
}

static void test_src(void)
{
	struct jwt *bad = decode_ok(USER("src_bad")->jwt);
	struct jwt *ok = decode_ok(USER("src_ok")->jwt);
	struct jwt_user_limits l = { 0 };
	char *v6[] = { "2001:db8::/32", "junk", "10.1.2.3" };

	CU_ASSERT_FALSE(jwt_src_allowed(&bad->user, "127.0.0.1"));
	CU_ASSERT_TRUE(jwt_src_allowed(&bad->user, "10.200.0.1"));
	CU_ASSERT_TRUE(jwt_src_allowed(&bad->user, "192.0.2.1"));
	CU_ASSERT_FALSE(jwt_src_allowed(&bad->user, "192.0.2.2"));
	CU_ASSERT_TRUE(jwt_src_allowed(&ok->user, "127.0.0.1"));
	CU_ASSERT_FALSE(jwt_src_allowed(&ok->user, NULL));
	CU_ASSERT_TRUE(jwt_src_allowed(&l, "127.0.0.1"));
	l.src.v = v6;
	l.src.n = 3;
	CU_ASSERT_TRUE(jwt_src_allowed(&l, "2001:db8:1::5"));
	CU_ASSERT_FALSE(jwt_src_allowed(&l, "2001:db9::5"));
	CU_ASSERT_TRUE(jwt_src_allowed(&l, "10.1.2.3"));
	CU_ASSERT_FALSE(jwt_src_allowed(&l, "10.1.2.4"));
	jwt_free(bad);
	jwt_free(ok);
}

static void test_conn_types(void)
{
	struct jwt *ws = decode_ok(USER("ws_only")->jwt);
	struct jwt *std = decode_ok(USER("std_only")->jwt);
	struct jwt_user_limits l = { 0 };
	char *odd[] = { "CARRIER_PIGEON" };

	CU_ASSERT_FALSE(jwt_conn_type_allowed(&ws->user, "STANDARD"));
	CU_ASSERT_TRUE(jwt_conn_type_allowed(&ws->user, "WEBSOCKET"));
	CU_ASSERT_TRUE(jwt_conn_type_allowed(&std->user, "STANDARD"));
	CU_ASSERT_TRUE(jwt_conn_type_allowed(&l, "STANDARD"));
	l.conn_types.v = odd;
	l.conn_types.n = 1;
	CU_ASSERT_FALSE(jwt_conn_type_allowed(&l, "STANDARD"));
	jwt_free(ws);
	jwt_free(std);
}

static void test_connect_times(void)
{
	struct jwt *bad = decode_ok(USER("times_bad")->jwt);
	struct jwt_user_limits l = { 0 };
	struct jwt_time_range r = { 3600, 7200 }, wrap = { 82800, 3600 };
	/* 2024-01-01 01:30:00 UTC */
	int64_t t = 1704072600;
	int64_t until;
	bool ok;

	CU_ASSERT_EQUAL(jwt_times_allowed(&bad->user, t, &ok, &until), 0);
	CU_ASSERT_FALSE(ok);
	l.times_location = "UTC";
	l.times = &r;
	l.ntimes = 1;
	CU_ASSERT_EQUAL(jwt_times_allowed(&l, t, &ok, &until), 0);
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_EQUAL(until, t + 1800);
	CU_ASSERT_EQUAL(jwt_times_allowed(&l, t + 3600, &ok, &until), 0);
	CU_ASSERT_FALSE(ok);
	l.times = &wrap;
	CU_ASSERT_EQUAL(jwt_times_allowed(&l, t, &ok, &until), 0);
	CU_ASSERT_FALSE(ok);
	CU_ASSERT_EQUAL(jwt_times_allowed(&l, t - 3600, &ok, &until), 0);
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_EQUAL(until, t - 1800);
	l.times_location = "Mars/Olympus_Mons";
	CU_ASSERT_EQUAL(jwt_times_allowed(&l, t, &ok, &until), NATSD_ENOTSUP);
	l.times_location = "../../etc/passwd";
	CU_ASSERT_EQUAL(jwt_times_allowed(&l, t, &ok, &until), NATSD_ENOTSUP);
	jwt_free(bad);
}

static void test_subject_within(void)
{
	CU_ASSERT_TRUE(jwt_subject_within("a.b", "a.b"));
	CU_ASSERT_TRUE(jwt_subject_within("a.b", "a.*"));
	CU_ASSERT_TRUE(jwt_subject_within("a.*", "a.>"));
	CU_ASSERT_TRUE(jwt_subject_within("a.b.c", "a.>"));
	CU_ASSERT_TRUE(jwt_subject_within("a.>", "a.>"));
	CU_ASSERT_FALSE(jwt_subject_within("a.>", "a.*"));
	CU_ASSERT_FALSE(jwt_subject_within("a", "a.>"));
	CU_ASSERT_FALSE(jwt_subject_within("a.*", "a.b"));
	CU_ASSERT_FALSE(jwt_subject_within("a.b.c", "a.*"));
	CU_ASSERT_FALSE(jwt_subject_within("b.c", "a.>"));
	CU_ASSERT_FALSE(jwt_subject_within("", "a"));
}

static void test_exports_imports(void)
{
	struct jwt *e = decode_ok(ACC("exp")->jwt);
	struct jwt *i = decode_ok(ACC("imp")->jwt);
	struct jwt *bad = decode_ok(ACC("imp_bad")->jwt);
	struct jwt *a = decode_ok(ACC("a")->jwt);
	const struct jwt_export *x;

	CU_ASSERT_EQUAL(e->nexports, 5);
	CU_ASSERT_EQUAL(i->nimports, 6);
	CU_ASSERT_EQUAL(jwt_account_validate(e, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(jwt_account_validate(i, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(jwt_account_validate(a, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(jwt_account_validate(bad, err, sizeof(err)),
			NATSD_EINVAL);
	CU_ASSERT(strstr(err, "being included in") != NULL);
	/* Exports by kind and subject. */
	CU_ASSERT_PTR_NOT_NULL(jwt_find_export(e, "pub.x", false));
	CU_ASSERT_PTR_NULL(jwt_find_export(e, "pub.x", true));
	CU_ASSERT_PTR_NULL(jwt_find_export(e, "other", false));
	x = jwt_find_export(e, "priv.>", false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_TRUE(x->token_req);
	/* The priv activation: good for I and priv.>, not for A. */
	CU_ASSERT_EQUAL(jwt_check_activation(i->imports[1].token, e, x, i->sub,
					     "priv.>", now(), err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(jwt_check_activation(i->imports[1].token, e, x, a->sub,
					     "priv.>", now(), err, sizeof(err)),
			NATSD_EACCES);
	CU_ASSERT_EQUAL(jwt_check_activation(i->imports[1].token, e, x, i->sub,
					     "pub.>", now(), err, sizeof(err)),
			NATSD_EACCES);
	CU_ASSERT_EQUAL(jwt_check_activation(NULL, e, x, i->sub, "priv.>",
					     now(), err, sizeof(err)),
			NATSD_EACCES);
	/* Signed by another account than the exporter. */
	CU_ASSERT_EQUAL(jwt_check_activation(i->imports[1].token, a, x, i->sub,
					     "priv.>", now(), err, sizeof(err)),
			NATSD_EACCES);
	/* gone.> revokes I's activation. */
	x = jwt_find_export(e, "gone.>", false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(jwt_check_activation(i->imports[2].token, e, x, i->sub,
					     "gone.>", now(), err, sizeof(err)),
			NATSD_EACCES);
	CU_ASSERT_STRING_EQUAL(err, "activation token revoked");
	jwt_free(e);
	jwt_free(i);
	jwt_free(bad);
	jwt_free(a);
}

/* IANA zones from /usr/share/zoneinfo (Debian's tzdata). */
static void test_time_zones(void)
{
	struct jwt_user_limits l = { 0 };
	struct jwt_time_range r = { 3600, 7200 };
	/* 2024-01-01 00:30 UTC is 01:30 in Berlin, 2024-07-01 00:30 UTC
	 * is 02:30 there. */
	int64_t winter = 1704069000, summer = 1719793800, until;
	bool ok;
	int off;

	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0) {
		fprintf(stderr, "no tzdata: zones not tested\n");
		return;
	}
	CU_ASSERT_EQUAL(jwt_tz_offset("Europe/Berlin", winter, &off), 0);
	CU_ASSERT_EQUAL(off, 3600);
	CU_ASSERT_EQUAL(jwt_tz_offset("Europe/Berlin", summer, &off), 0);
	CU_ASSERT_EQUAL(off, 7200);
	CU_ASSERT_EQUAL(jwt_tz_offset("America/New_York", winter, &off), 0);
	CU_ASSERT_EQUAL(off, -18000);
	CU_ASSERT_EQUAL(jwt_tz_offset("Etc/UTC", winter, &off), 0);
	CU_ASSERT_EQUAL(off, 0);
	CU_ASSERT_EQUAL(jwt_tz_offset("No/Such_Zone", winter, &off),
			NATSD_ENOENT);
	CU_ASSERT_EQUAL(jwt_tz_offset("/etc/passwd", winter, &off),
			NATSD_EINVAL);
	l.times = &r;
	l.ntimes = 1;
	l.times_location = "Europe/Berlin";
	CU_ASSERT_EQUAL(jwt_times_allowed(&l, winter, &ok, &until), 0);
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_EQUAL(until, winter + 1800);
	CU_ASSERT_EQUAL(jwt_times_allowed(&l, summer, &ok, &until), 0);
	CU_ASSERT_FALSE(ok);
}

static const struct suite_test decode_tests[] = {
	{ "types", test_decode_types },
	{ "v1", test_decode_v1 },
	{ "user claims", test_decode_user_claims },
	{ "account limits", test_decode_account_limits },
	{ "tampered", test_decode_tampered },
	{ "malformed", test_decode_malformed },
	{ "base64url", test_b64url },
	{ "mutations", test_decode_mutations },
};

static const struct suite_test validate_tests[] = {
	{ "exp and nbf", test_times },
	{ "operator and its signing keys", test_operator_trust },
	{ "account signing keys", test_account_signers },
	{ "revocations", test_revocations },
	{ "scoped signing key", test_scoped },
	{ "src", test_src },
	{ "connection types", test_conn_types },
	{ "connect times", test_connect_times },
	{ "time zones", test_time_zones },
	{ "subject containment", test_subject_within },
	{ "exports, imports, activations", test_exports_imports },
};

int main(void)
{
	const struct suite suites[] = {
		{ "jwt decode", NULL, NULL, decode_tests,
		  SUITE_COUNT(decode_tests) },
		{ "jwt validate", NULL, NULL, validate_tests,
		  SUITE_COUNT(validate_tests) },
	};

	return suites_run(suites, SUITE_COUNT(suites)) == 0 ? 0 : 1;
}
