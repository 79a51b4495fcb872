/* Tests for core/auth.c and core/auth_builtin.c: the authentication
 * chain and the built-in authenticator.
 *
 * No server is started: a struct server gets only what the chain reads
 * (options, the registry, accounts), and a struct conn only what a
 * request is built from. Clients "connect" through auth_start() with a
 * CONNECT parsed by proto_parse_connect(), so the built-in authenticator
 * is reached through its ops table exactly as in the server. A second
 * authenticator, "probe", sits after it in the chain: when the probe is
 * asked, the built-in one said "not mine"; when it is not, the built-in
 * one decided. The probe also plays a plugin for the chain's own tests.
 *
 * Expected decisions are nats-server 2.9.10's: wrong password for a known
 * user is a rejection, an unknown user is left to the next authenticator
 * (and rejected when nobody takes it and authentication is required). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <crypt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "account.h"
#include "auth.h"
#include "conn.h"
#include "host.h"
#include "natsd/error.h"
#include "natsd/plugin.h"
#include "opts.h"
#include "perms.h"
#include "proto.h"
#include "server.h"
#include "../suites.h"

/* ------------------------------------------------------------------ */
/* The probe authenticator                                             */

struct probe {
	int verdict; /* what authenticate() returns */
	int calls;
	int cancels;
	struct natsd_auth_req *last; /* the request of the last call */
	struct natsd_auth_req *cancelled;
	char *fields[NATSD_AF_TRANSPORT + 2];
	bool done_inside; /* PENDING: call auth_done() before returning */
	int done_verdict;
	bool set_identity; /* set user, account, perms, limits */
	int limit_rc;      /* auth_limit with an unknown limit */
};

static struct probe probe;

static void probe_reset(void)
{
	size_t i;

	for (i = 0; i < sizeof(probe.fields) / sizeof(probe.fields[0]); i++)
		free(probe.fields[i]);
	memset(&probe, 0, sizeof(probe));
	probe.verdict = NATSD_AUTH_REJECT;
}

static void probe_identity(struct natsd_auth_req *r)
{
	const struct natsd_host_api *api = host_api();

	api->auth_set_user(r, "probed");
	api->auth_set_account(r, "PACC");
	api->auth_permit(r, NATSD_PERM_PUB_ALLOW, "p.>");
	api->auth_permit(r, NATSD_PERM_SUB_DENY, "p.secret");
	api->auth_limit(r, NATSD_LIMIT_SUBS, 5);
	api->auth_limit(r, NATSD_LIMIT_PAYLOAD, 100);
	probe.limit_rc = api->auth_limit(r, 99, 1);
}

static int probe_authenticate(void *pctx, struct natsd_auth_req *r)
{
	const struct natsd_host_api *api = host_api();
	int f;

	(void)pctx;
	probe.calls++;
	probe.last = r;
	/* Field 0 and one past the last are out of range. */
	for (f = 0; f <= NATSD_AF_TRANSPORT + 1; f++) {
		const char *v = api->auth_field(r, f);

		free(probe.fields[f]);
		probe.fields[f] = v ? strdup(v) : NULL;
	}
	if (probe.set_identity)
		probe_identity(r);
	if (probe.verdict == NATSD_AUTH_PENDING && probe.done_inside)
		api->auth_done(r, probe.done_verdict);
	return probe.verdict;
}

static void probe_cancel(void *pctx, struct natsd_auth_req *r)
{
	(void)pctx;
	probe.cancels++;
	probe.cancelled = r;
}

static const struct natsd_auth_ops probe_ops = {
	.struct_size = sizeof(struct natsd_auth_ops),
	.name = "probe",
	.authenticate = probe_authenticate,
	.cancel = probe_cancel,
};

/* ------------------------------------------------------------------ */
/* A server and connections, without threads                           */

static struct server *srv_new(void)
{
	struct server *s = calloc(1, sizeof(*s));

	if (s == NULL)
		abort();
	if (opts_init(&s->opts) != 0)
		abort();
	pthread_mutex_init(&s->opts_lock, NULL);
	s->reg = registry_new();
	s->accounts = accounts_new(s);
	if (s->reg == NULL || s->accounts == NULL)
		abort();
	probe_reset();
	return s;
}

/* Registers the built-in authenticator (which reads the options now)
 * and, with_probe, the probe after it; then builds the chain. */
static void srv_start(struct server *s, bool with_probe)
{
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(auth_builtin_register(s), 0);
	if (with_probe)
		CU_ASSERT_EQUAL_FATAL(host_register_auth(s, &probe_ops, NULL),
				      0);
	CU_ASSERT_EQUAL_FATAL(auth_chain_build(s, err, sizeof(err)), 0);
}

static void srv_free(struct server *s)
{
	auth_builtin_fini();
	registry_free(s->reg);
	accounts_free(s->accounts);
	opts_fini(&s->opts);
	pthread_mutex_destroy(&s->opts_lock);
	free(s);
	probe_reset();
}

/* The worker a connection belongs to. No loop runs here: only an
 * answer given after authenticate() returned would be posted to one, and
 * these tests give none (that path ends in client.c, on a live client). */
static struct worker fake_worker;

static struct conn *conn_make(struct server *s)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		abort();
	c->srv = s;
	c->w = &fake_worker;
	c->kind = NATSD_KIND_CLIENT;
	c->max_payload = 1024 * 1024;
	snprintf(c->ip, sizeof(c->ip), "127.0.0.1");
	return c;
}

static void conn_drop(struct conn *c)
{
	perms_free(c->perms);
	free(c->user);
	free(c);
}

/* Runs the chain for a client whose CONNECT is json (NULL: no CONNECT at
 * all). Returns the verdict; *out gets the connection (or NULL: it is
 * dropped here). */
static int try_connect(struct server *s, const char *json, struct conn **out)
{
	struct proto_connect ci;
	struct conn *c = conn_make(s);
	int v;

	proto_connect_init(&ci);
	if (json != NULL && proto_parse_connect(json, strlen(json), &ci) != 0) {
		CU_FAIL("bad CONNECT JSON in the test");
		proto_connect_fini(&ci);
		conn_drop(c);
		return -1;
	}
	v = auth_start(c, json ? &ci : NULL);
	proto_connect_fini(&ci);
	if (out != NULL)
		*out = c;
	else
		conn_drop(c);
	return v;
}

/* Connects user with password pw, which must be accepted; returns the
 * connection. */
static struct conn *login(struct server *s, const char *user, const char *pw)
{
	struct conn *c = NULL;
	char json[256];

	snprintf(json, sizeof(json), "{\"user\":\"%s\",\"pass\":\"%s\"}", user,
		 pw);
	CU_ASSERT_EQUAL_FATAL(try_connect(s, json, &c), NATSD_AUTH_ACCEPT);
	return c;
}

static int verdict(struct server *s, const char *json)
{
	return try_connect(s, json, NULL);
}

static void set_str(char **dst, const char *v)
{
	CU_ASSERT_EQUAL_FATAL(opts_set_str(dst, v), 0);
}

/* A bcrypt hash of pw made with libcrypt ("$2b$", the lowest cost). */
static char *bcrypt_of(const char *pw)
{
	struct crypt_data cd;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *h;

	if (crypt_gensalt_rn("$2b$", 4, NULL, 0, setting, sizeof(setting)) ==
	    NULL)
		return NULL;
	memset(&cd, 0, sizeof(cd));
	h = crypt_r(pw, setting, &cd);
	if (h == NULL || h[0] == '*')
		return NULL;
	return strdup(h);
}

/* ------------------------------------------------------------------ */
/* The built-in authenticator                                          */

static void test_no_auth(void)
{
	struct server *s = srv_new();
	struct conn *c;

	srv_start(s, true);
	CU_ASSERT(!s->auth_required);
	CU_ASSERT(!s->auth_enforced);
	/* Nothing configured: the built-in authenticator claims nobody,
	 * and an unclaimed client is let in. */
	probe.verdict = NATSD_AUTH_NEXT;
	CU_ASSERT_EQUAL(try_connect(s, NULL, &c), NATSD_AUTH_ACCEPT);
	CU_ASSERT_EQUAL(probe.calls, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->acc);
	CU_ASSERT_STRING_EQUAL(c->acc->name, "$G");
	CU_ASSERT_PTR_NULL(c->perms);
	CU_ASSERT_PTR_NULL(c->user);
	conn_drop(c);
	/* Credentials nobody asked for change nothing. */
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"x\",\"pass\":\"y\"}"),
			NATSD_AUTH_ACCEPT);
	srv_free(s);
}

static void test_user_password(void)
{
	struct server *s = srv_new();
	struct conn *c;

	set_str(&s->opts.user, "derek");
	set_str(&s->opts.password, "s3cr3t");
	srv_start(s, true);
	CU_ASSERT(s->auth_required);
	CU_ASSERT(s->auth_enforced);

	CU_ASSERT_EQUAL(
		try_connect(s, "{\"user\":\"derek\",\"pass\":\"s3cr3t\"}", &c),
		NATSD_AUTH_ACCEPT);
	CU_ASSERT_EQUAL(probe.calls, 0);
	CU_ASSERT_PTR_NOT_NULL(c->user);
	if (c->user != NULL)
		CU_ASSERT_STRING_EQUAL(c->user, "derek");
	CU_ASSERT_PTR_NULL(c->perms);
	CU_ASSERT_STRING_EQUAL(c->acc->name, "$G");
	conn_drop(c);

	/* Known user, wrong password: rejected by the built-in one. */
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\",\"pass\":\"nope\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\",\"pass\":\"s3cr3\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\",\"pass\":\"s3cr3tt\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\",\"pass\":\"\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\"}"), NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(probe.calls, 0);

	/* Another user, or none: not its business; the probe rejects. */
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"other\",\"pass\":\"s3cr3t\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(probe.calls, 1);
	CU_ASSERT_EQUAL(verdict(s, "{}"), NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(verdict(s, NULL), NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(probe.calls, 3);
	/* The user name is compared exactly. */
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"Derek\",\"pass\":\"s3cr3t\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(probe.calls, 4);
	/* The probe may take what the built-in one leaves. */
	probe.verdict = NATSD_AUTH_ACCEPT;
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"other\",\"pass\":\"x\"}"),
			NATSD_AUTH_ACCEPT);
	srv_free(s);
}

/* Without the probe: "not mine" from the only authenticator means
 * rejected, since authentication is required. */
static void test_unclaimed_is_rejected(void)
{
	struct server *s = srv_new();

	set_str(&s->opts.user, "derek");
	set_str(&s->opts.password, "pw");
	srv_start(s, false);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"x\",\"pass\":\"pw\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(verdict(s, NULL), NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\",\"pass\":\"pw\"}"),
			NATSD_AUTH_ACCEPT);
	srv_free(s);
}

static void test_bcrypt(void)
{
	struct server *s = srv_new();
	char *hash = bcrypt_of("correct horse");
	char json[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(hash);
	CU_ASSERT(strncmp(hash, "$2b$04$", 7) == 0);
	set_str(&s->opts.user, "derek");
	set_str(&s->opts.password, hash);
	srv_start(s, true);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\","
				   "\"pass\":\"correct horse\"}"),
			NATSD_AUTH_ACCEPT);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\","
				   "\"pass\":\"correct horsE\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\",\"pass\":\"\"}"),
			NATSD_AUTH_REJECT);
	/* The hash itself is not the password. */
	snprintf(json, sizeof(json), "{\"user\":\"derek\",\"pass\":\"%s\"}",
		 hash);
	CU_ASSERT_EQUAL(verdict(s, json), NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(probe.calls, 0);
	srv_free(s);
	free(hash);

	/* A "$2a$" hash, as nats-server's tooling writes them: the
	 * crypt_blowfish test vector for the password "U*U". */
	s = srv_new();
	set_str(&s->opts.user, "u");
	set_str(&s->opts.password, "$2a$05$CCCCCCCCCCCCCCCCCCCCC."
				   "E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW");
	srv_start(s, true);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"u\",\"pass\":\"U*U\"}"),
			NATSD_AUTH_ACCEPT);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"u\",\"pass\":\"U*V\"}"),
			NATSD_AUTH_REJECT);
	srv_free(s);

	/* A broken hash accepts nothing. */
	s = srv_new();
	set_str(&s->opts.user, "u");
	set_str(&s->opts.password, "$2b$04$short");
	srv_start(s, true);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"u\",\"pass\":\"\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(
		verdict(s, "{\"user\":\"u\",\"pass\":\"$2b$04$short\"}"),
		NATSD_AUTH_REJECT);
	srv_free(s);
}

static void test_token(void)
{
	struct server *s = srv_new();
	char *hash;

	set_str(&s->opts.token, "t0ken");
	srv_start(s, true);
	CU_ASSERT(s->auth_required);
	CU_ASSERT_EQUAL(verdict(s, "{\"auth_token\":\"t0ken\"}"),
			NATSD_AUTH_ACCEPT);
	CU_ASSERT_EQUAL(verdict(s, "{\"auth_token\":\"t0ke\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(verdict(s, "{\"auth_token\":\"\"}"), NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(probe.calls, 0);
	/* No token at all: someone else's client. */
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"a\",\"pass\":\"t0ken\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(probe.calls, 1);
	CU_ASSERT_EQUAL(verdict(s, NULL), NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(probe.calls, 2);
	srv_free(s);

	/* A bcrypt token. */
	hash = bcrypt_of("t0ken");
	CU_ASSERT_PTR_NOT_NULL_FATAL(hash);
	s = srv_new();
	set_str(&s->opts.token, hash);
	srv_start(s, true);
	CU_ASSERT_EQUAL(verdict(s, "{\"auth_token\":\"t0ken\"}"),
			NATSD_AUTH_ACCEPT);
	CU_ASSERT_EQUAL(verdict(s, "{\"auth_token\":\"t0kem\"}"),
			NATSD_AUTH_REJECT);
	srv_free(s);
	free(hash);
}

static struct opts_user *add_user(struct server *s, const char *name,
				  const char *pw, const char *account)
{
	struct opts_user *u = opts_user_add(&s->opts);

	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	set_str(&u->user, name);
	set_str(&u->password, pw);
	if (account != NULL)
		set_str(&u->account, account);
	return u;
}

static struct opts_perms *add_perms(struct opts_perms **pp)
{
	*pp = opts_perms_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(*pp);
	return *pp;
}

static void list_add(struct opts_strlist *l, const char *v)
{
	CU_ASSERT_EQUAL_FATAL(opts_strlist_add(l, v), 0);
}

/* alice: plain password and permissions; bob: bcrypt, account ACC;
 * carol: no permissions of her own. */
static char *users_setup(struct server *s)
{
	struct opts_perms *p;
	char *hash = bcrypt_of("bobpw");

	CU_ASSERT_PTR_NOT_NULL_FATAL(hash);
	p = add_perms(&add_user(s, "alice", "alicepw", NULL)->perms);
	list_add(&p->pub_allow, "a.>");
	list_add(&p->pub_deny, "a.secret");
	list_add(&p->sub_allow, "a.>");
	list_add(&p->sub_allow, "q.* grp");
	list_add(&p->sub_deny, "a.secret");
	add_user(s, "bob", hash, "ACC");
	add_user(s, "carol", "carolpw", NULL);
	return hash;
}

static void test_users(void)
{
	struct server *s = srv_new();
	char *hash = users_setup(s);
	struct conn *c;

	srv_start(s, true);
	CU_ASSERT(s->auth_required);

	c = login(s, "alice", "alicepw");
	CU_ASSERT_STRING_EQUAL(c->user, "alice");
	CU_ASSERT_STRING_EQUAL(c->acc->name, "$G");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->perms);
	CU_ASSERT(perms_can_pub(c->perms, "a.x", 3));
	CU_ASSERT(!perms_can_pub(c->perms, "a.secret", 8));
	CU_ASSERT(!perms_can_pub(c->perms, "b", 1));
	CU_ASSERT(perms_can_sub(c->perms, "a.x", 3, NULL, 0));
	CU_ASSERT(!perms_can_sub(c->perms, "a.secret", 8, NULL, 0));
	CU_ASSERT(perms_can_sub(c->perms, "q.x", 3, "grp", 3));
	CU_ASSERT(!perms_can_sub(c->perms, "q.x", 3, "other", 5));
	CU_ASSERT(!perms_can_sub(c->perms, "q.x", 3, NULL, 0));
	conn_drop(c);

	c = login(s, "bob", "bobpw");
	CU_ASSERT_STRING_EQUAL(c->user, "bob");
	CU_ASSERT_STRING_EQUAL(c->acc->name, "ACC");
	CU_ASSERT_PTR_EQUAL(c->acc, accounts_get(s->accounts, "ACC", false));
	CU_ASSERT_EQUAL(c->acc->nconns, 1);
	CU_ASSERT_PTR_NULL(c->perms);
	conn_drop(c);

	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"carol\",\"pass\":\"carolpw\"}"),
			NATSD_AUTH_ACCEPT);
	CU_ASSERT_EQUAL(probe.calls, 0);

	/* Known users with a wrong password: rejected here. Another user's
	 * password does not do. */
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"alice\",\"pass\":\"bobpw\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"bob\",\"pass\":\"alicepw\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"bob\"}"), NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(probe.calls, 0);

	/* Unknown user, or no user: not mine. */
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"mallory\",\"pass\":\"x\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(probe.calls, 1);
	CU_ASSERT_EQUAL(verdict(s, "{\"pass\":\"alicepw\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(probe.calls, 2);
	CU_ASSERT_EQUAL(verdict(s, NULL), NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(probe.calls, 3);
	srv_free(s);
	free(hash);
}

/* default_permissions apply to users without their own, allow_responses
 * without a publish allow list allows publishing nothing else. */
static void test_users_default_perms_and_responses(void)
{
	struct server *s = srv_new();
	struct opts_perms *p;
	char *hash = users_setup(s);
	struct conn *c;

	p = add_perms(&s->opts.default_permissions);
	list_add(&p->pub_allow, "default.>");
	p = add_perms(&add_user(s, "dave", "davepw", NULL)->perms);
	p->has_resp = true;
	p->resp_max = 3;
	p->resp_expires = 5 * OPTS_NS_PER_SEC;
	srv_start(s, true);

	c = login(s, "carol", "carolpw");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->perms);
	CU_ASSERT(perms_can_pub(c->perms, "default.x", 9));
	CU_ASSERT(!perms_can_pub(c->perms, "a.x", 3));
	conn_drop(c);
	/* alice keeps her own. */
	c = login(s, "alice", "alicepw");
	CU_ASSERT(perms_can_pub(c->perms, "a.x", 3));
	CU_ASSERT(!perms_can_pub(c->perms, "default.x", 9));
	conn_drop(c);

	c = login(s, "dave", "davepw");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->perms);
	CU_ASSERT(c->perms->resp);
	CU_ASSERT_EQUAL(c->perms->resp_max, 3);
	CU_ASSERT_EQUAL(c->perms->resp_expires, 5 * OPTS_NS_PER_SEC);
	CU_ASSERT(!perms_can_pub(c->perms, "anything", 8));
	CU_ASSERT(perms_can_sub(c->perms, "anything", 8, NULL, 0));
	conn_drop(c);
	srv_free(s);
	free(hash);
}

static void test_no_auth_user(void)
{
	struct server *s = srv_new();
	char *hash = users_setup(s);
	struct conn *c;

	set_str(&s->opts.no_auth_user, "alice");
	srv_start(s, true);
	/* INFO says no auth required, but credentials are still checked. */
	CU_ASSERT(!s->auth_required);
	CU_ASSERT(s->auth_enforced);

	CU_ASSERT_EQUAL_FATAL(try_connect(s, NULL, &c), NATSD_AUTH_ACCEPT);
	CU_ASSERT_STRING_EQUAL(c->user, "alice");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->perms);
	CU_ASSERT(perms_can_pub(c->perms, "a.x", 3));
	CU_ASSERT(!perms_can_pub(c->perms, "b", 1));
	conn_drop(c);
	CU_ASSERT_EQUAL_FATAL(try_connect(s, "{\"verbose\":true}", &c),
			      NATSD_AUTH_ACCEPT);
	CU_ASSERT_STRING_EQUAL(c->user, "alice");
	conn_drop(c);

	/* Credentials given: they decide, no fallback. */
	c = login(s, "bob", "bobpw");
	CU_ASSERT_STRING_EQUAL(c->user, "bob");
	conn_drop(c);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"alice\",\"pass\":\"bad\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"bob\",\"pass\":\"bad\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(verdict(s, "{\"auth_token\":\"x\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(probe.calls, 1);
	srv_free(s);
	free(hash);
}

/* SIGHUP: the built-in authenticator re-reads the options. */
static void test_reload(void)
{
	struct server *s = srv_new();
	char err[128];

	srv_start(s, true);
	CU_ASSERT(!s->auth_enforced);
	probe.verdict = NATSD_AUTH_NEXT;
	CU_ASSERT_EQUAL(verdict(s, NULL), NATSD_AUTH_ACCEPT);

	set_str(&s->opts.user, "derek");
	set_str(&s->opts.password, "one");
	auth_reload(s);
	CU_ASSERT_EQUAL(auth_chain_build(s, err, sizeof(err)), 0);
	CU_ASSERT(s->auth_enforced);
	CU_ASSERT(s->auth_required);
	CU_ASSERT_EQUAL(verdict(s, NULL), NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\",\"pass\":\"one\"}"),
			NATSD_AUTH_ACCEPT);

	set_str(&s->opts.password, "two");
	auth_reload(s);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\",\"pass\":\"one\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\",\"pass\":\"two\"}"),
			NATSD_AUTH_ACCEPT);

	set_str(&s->opts.user, NULL);
	set_str(&s->opts.password, NULL);
	auth_reload(s);
	CU_ASSERT_EQUAL(auth_chain_build(s, err, sizeof(err)), 0);
	CU_ASSERT(!s->auth_enforced);
	CU_ASSERT_EQUAL(verdict(s, NULL), NATSD_AUTH_ACCEPT);
	srv_free(s);
}

/* ------------------------------------------------------------------ */
/* The chain                                                           */

static void test_chain_order(void)
{
	struct server *s = srv_new();
	char err[256] = "";

	set_str(&s->opts.user, "derek");
	set_str(&s->opts.password, "pw");
	list_add(&s->opts.auth_chain, "probe");
	list_add(&s->opts.auth_chain, "builtin");
	srv_start(s, true);
	CU_ASSERT_EQUAL(s->reg->nchain, 2);

	/* The probe is asked first and its answer stands. */
	probe.verdict = NATSD_AUTH_REJECT;
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\",\"pass\":\"pw\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(probe.calls, 1);
	/* "Not mine" passes it on to the built-in one. */
	probe.verdict = NATSD_AUTH_NEXT;
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\",\"pass\":\"pw\"}"),
			NATSD_AUTH_ACCEPT);
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\",\"pass\":\"px\"}"),
			NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(probe.calls, 3);
	/* A verdict the ABI does not know counts as a rejection. */
	probe.verdict = 42;
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\",\"pass\":\"pw\"}"),
			NATSD_AUTH_REJECT);

	/* A chain without the built-in one never asks it. */
	opts_strlist_clear(&s->opts.auth_chain);
	list_add(&s->opts.auth_chain, "probe");
	CU_ASSERT_EQUAL(auth_chain_build(s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(s->reg->nchain, 1);
	CU_ASSERT(!s->auth_enforced); /* the probe did not ask for it */
	probe.verdict = NATSD_AUTH_NEXT;
	CU_ASSERT_EQUAL(verdict(s, "{\"user\":\"derek\",\"pass\":\"bad\"}"),
			NATSD_AUTH_ACCEPT);

	/* An unknown name is an error that names it. */
	list_add(&s->opts.auth_chain, "ldap");
	CU_ASSERT_EQUAL(auth_chain_build(s, err, sizeof(err)), NATSD_ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"ldap\""));
	srv_free(s);
}

static void test_chain_flags(void)
{
	struct server *s = srv_new();
	struct natsd_auth_ops ops = probe_ops;
	char err[256];

	srv_start(s, false);
	ops.flags = NATSD_AUTH_F_REQUIRED | NATSD_AUTH_F_NONCE;
	CU_ASSERT_EQUAL(host_register_auth(s, &ops, NULL), 0);
	/* The same name twice is refused. */
	CU_ASSERT_EQUAL(host_register_auth(s, &ops, NULL), NATSD_EEXIST);
	CU_ASSERT_EQUAL(auth_chain_build(s, err, sizeof(err)), 0);
	CU_ASSERT(s->auth_enforced);
	CU_ASSERT(s->auth_required);
	CU_ASSERT(s->nonce_required);
	/* Required: a client nobody claims is rejected. */
	probe.verdict = NATSD_AUTH_NEXT;
	CU_ASSERT_EQUAL(verdict(s, NULL), NATSD_AUTH_REJECT);
	CU_ASSERT_EQUAL(probe.calls, 1);
	srv_free(s);
}

/* What an authenticator reads from a request. */
static void test_request_fields(void)
{
	struct server *s = srv_new();
	struct conn *c = NULL;
	struct proto_connect ci;
	static const char json[] =
		"{\"user\":\"u1\",\"pass\":\"p1\",\"auth_token\":\"t1\","
		"\"nkey\":\"UABC\",\"sig\":\"s1\",\"jwt\":\"j1\","
		"\"name\":\"n1\",\"lang\":\"go\",\"version\":\"1.2.3\"}";

	srv_start(s, true);
	probe.verdict = NATSD_AUTH_ACCEPT;
	c = conn_make(s);
	snprintf(c->nonce, sizeof(c->nonce), "PcGb4nEx2jBxLD8");
	snprintf(c->ip, sizeof(c->ip), "10.1.2.3");
	proto_connect_init(&ci);
	CU_ASSERT_EQUAL_FATAL(proto_parse_connect(json, strlen(json), &ci), 0);
	CU_ASSERT_EQUAL(auth_start(c, &ci), NATSD_AUTH_ACCEPT);
	proto_connect_fini(&ci);
	conn_drop(c);
	CU_ASSERT_EQUAL_FATAL(probe.calls, 1);
#define FIELD_IS(f, v)                                                         \
	do {                                                                   \
		CU_ASSERT_PTR_NOT_NULL(probe.fields[f]);                       \
		if (probe.fields[f] != NULL)                                   \
			CU_ASSERT_STRING_EQUAL(probe.fields[f], v);            \
	} while (0)
	FIELD_IS(NATSD_AF_USER, "u1");
	FIELD_IS(NATSD_AF_PASS, "p1");
	FIELD_IS(NATSD_AF_TOKEN, "t1");
	FIELD_IS(NATSD_AF_NKEY, "UABC");
	FIELD_IS(NATSD_AF_SIG, "s1");
	FIELD_IS(NATSD_AF_JWT, "j1");
	FIELD_IS(NATSD_AF_NONCE, "PcGb4nEx2jBxLD8");
	FIELD_IS(NATSD_AF_NAME, "n1");
	FIELD_IS(NATSD_AF_LANG, "go");
	FIELD_IS(NATSD_AF_VERSION, "1.2.3");
	FIELD_IS(NATSD_AF_REMOTE_IP, "10.1.2.3");
	FIELD_IS(NATSD_AF_CONN_TYPE, "STANDARD");
#undef FIELD_IS
	/* No transport stack here; out-of-range fields are NULL. */
	CU_ASSERT_PTR_NULL(probe.fields[NATSD_AF_TRANSPORT]);
	CU_ASSERT_PTR_NULL(probe.fields[0]);
	CU_ASSERT_PTR_NULL(probe.fields[NATSD_AF_TRANSPORT + 1]);

	/* No CONNECT, no nonce: the credentials are absent (NULL), not
	 * empty. */
	CU_ASSERT_EQUAL(verdict(s, NULL), NATSD_AUTH_ACCEPT);
	CU_ASSERT_PTR_NULL(probe.fields[NATSD_AF_USER]);
	CU_ASSERT_PTR_NULL(probe.fields[NATSD_AF_PASS]);
	CU_ASSERT_PTR_NULL(probe.fields[NATSD_AF_TOKEN]);
	CU_ASSERT_PTR_NULL(probe.fields[NATSD_AF_NONCE]);
	CU_ASSERT_PTR_NOT_NULL(probe.fields[NATSD_AF_REMOTE_IP]);
	srv_free(s);
}

/* The identity an authenticator sets lands on the connection. */
static void test_identity_applied(void)
{
	struct server *s = srv_new();
	struct conn *c;

	srv_start(s, true);
	probe.verdict = NATSD_AUTH_ACCEPT;
	probe.set_identity = true;
	CU_ASSERT_EQUAL_FATAL(try_connect(s, "{\"user\":\"x\"}", &c),
			      NATSD_AUTH_ACCEPT);
	CU_ASSERT_EQUAL(probe.limit_rc, NATSD_EINVAL);
	CU_ASSERT_STRING_EQUAL(c->user, "probed");
	CU_ASSERT_STRING_EQUAL(c->acc->name, "PACC");
	CU_ASSERT_EQUAL(c->max_subs, 5);
	CU_ASSERT_EQUAL(c->max_payload, 100);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->perms);
	CU_ASSERT(perms_can_pub(c->perms, "p.x", 3));
	CU_ASSERT(!perms_can_pub(c->perms, "q", 1));
	CU_ASSERT(!perms_can_sub(c->perms, "p.secret", 8, NULL, 0));
	CU_ASSERT(perms_can_sub(c->perms, "other", 5, NULL, 0));
	conn_drop(c);

	/* A rejected client gets nothing. */
	probe.verdict = NATSD_AUTH_REJECT;
	CU_ASSERT_EQUAL_FATAL(try_connect(s, "{\"user\":\"x\"}", &c),
			      NATSD_AUTH_REJECT);
	CU_ASSERT_PTR_NULL(c->user);
	CU_ASSERT_PTR_NULL(c->perms);
	CU_ASSERT_PTR_NULL(c->acc);
	CU_ASSERT_EQUAL(c->max_payload, 1024 * 1024);
	conn_drop(c);
	srv_free(s);
}

struct resp_case {
	int64_t max, expires;
};

static struct resp_case resp_case;

static int responses_authenticate(void *pctx, struct natsd_auth_req *r)
{
	(void)pctx;
	host_api()->auth_set_responses(r, resp_case.max, resp_case.expires);
	return NATSD_AUTH_ACCEPT;
}

/* auth_set_responses: 0 takes nats-server's defaults, and publishing is
 * then limited to responses. A payload limit above the server's does not
 * raise it. */
static void test_responses_and_limits(void)
{
	struct server *s = srv_new();
	struct natsd_auth_ops ops = {
		.struct_size = sizeof(ops),
		.name = "responses",
		.authenticate = responses_authenticate,
	};
	struct conn *c;

	srv_start(s, false);
	CU_ASSERT_EQUAL(host_register_auth(s, &ops, NULL), 0);
	{
		char err[64];

		list_add(&s->opts.auth_chain, "responses");
		CU_ASSERT_EQUAL(auth_chain_build(s, err, sizeof(err)), 0);
	}
	resp_case.max = 0;
	resp_case.expires = 0;
	CU_ASSERT_EQUAL_FATAL(try_connect(s, NULL, &c), NATSD_AUTH_ACCEPT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->perms);
	CU_ASSERT(c->perms->resp);
	CU_ASSERT_EQUAL(c->perms->resp_max, 1);
	CU_ASSERT_EQUAL(c->perms->resp_expires, 120 * OPTS_NS_PER_SEC);
	CU_ASSERT(!perms_can_pub(c->perms, "foo", 3));
	conn_drop(c);
	resp_case.max = -1;
	resp_case.expires = 7;
	CU_ASSERT_EQUAL_FATAL(try_connect(s, NULL, &c), NATSD_AUTH_ACCEPT);
	CU_ASSERT_EQUAL(c->perms->resp_max, -1);
	CU_ASSERT_EQUAL(c->perms->resp_expires, 7);
	conn_drop(c);
	srv_free(s);

	s = srv_new();
	srv_start(s, true);
	probe.verdict = NATSD_AUTH_ACCEPT;
	probe.set_identity = true; /* payload limit 100 */
	c = conn_make(s);
	c->max_payload = 50;
	CU_ASSERT_EQUAL(auth_start(c, NULL), NATSD_AUTH_ACCEPT);
	CU_ASSERT_EQUAL(c->max_payload, 50);
	conn_drop(c);
	srv_free(s);
}

/* An answer-later authenticator that answers before it returns: the
 * verdict is taken at once. */
static void test_pending_answered_inside(void)
{
	struct server *s = srv_new();
	struct conn *c;

	srv_start(s, true);
	probe.verdict = NATSD_AUTH_PENDING;
	probe.done_inside = true;
	probe.done_verdict = NATSD_AUTH_ACCEPT;
	probe.set_identity = true;
	CU_ASSERT_EQUAL_FATAL(try_connect(s, NULL, &c), NATSD_AUTH_ACCEPT);
	CU_ASSERT_PTR_NULL(c->auth);
	CU_ASSERT_STRING_EQUAL(c->user, "probed");
	conn_drop(c);

	probe.done_verdict = NATSD_AUTH_REJECT;
	CU_ASSERT_EQUAL_FATAL(try_connect(s, NULL, &c), NATSD_AUTH_REJECT);
	CU_ASSERT_PTR_NULL(c->auth);
	CU_ASSERT_PTR_NULL(c->user);
	conn_drop(c);
	CU_ASSERT_EQUAL(probe.cancels, 0);
	srv_free(s);
}

/* Pending, then the client goes away: the authenticator is told, with
 * the same request, and the request is freed (ASan checks). */
static void test_pending_cancelled(void)
{
	struct server *s = srv_new();
	struct conn *c;

	srv_start(s, true);
	probe.verdict = NATSD_AUTH_PENDING;
	CU_ASSERT_EQUAL_FATAL(try_connect(s, "{\"user\":\"slow\"}", &c),
			      NATSD_AUTH_PENDING);
	CU_ASSERT_PTR_NOT_NULL(c->auth);
	CU_ASSERT_PTR_EQUAL(c->auth, probe.last);
	CU_ASSERT_PTR_NULL(c->acc);
	auth_cancel(c);
	CU_ASSERT_EQUAL(probe.cancels, 1);
	CU_ASSERT_PTR_EQUAL(probe.cancelled, probe.last);
	CU_ASSERT_PTR_NULL(c->auth);
	/* Nothing pending: cancelling again does nothing. */
	auth_cancel(c);
	CU_ASSERT_EQUAL(probe.cancels, 1);
	conn_drop(c);
	srv_free(s);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "no authentication configured", test_no_auth },
		{ "user and password", test_user_password },
		{ "unclaimed client rejected", test_unclaimed_is_rejected },
		{ "bcrypt passwords", test_bcrypt },
		{ "token", test_token },
		{ "users list", test_users },
		{ "default permissions, allow_responses",
		  test_users_default_perms_and_responses },
		{ "no_auth_user", test_no_auth_user },
		{ "reload", test_reload },
		{ "chain order and auth_chain", test_chain_order },
		{ "chain flags", test_chain_flags },
		{ "request fields", test_request_fields },
		{ "identity applied", test_identity_applied },
		{ "responses and limits", test_responses_and_limits },
		{ "pending answered inside", test_pending_answered_inside },
		{ "pending cancelled", test_pending_cancelled },
	};
	static const struct suite suite = {
		"auth", NULL, NULL, tests, SUITE_COUNT(tests),
	};
	int rc;

	rc = suites_run(&suite, 1);
	probe_reset();
	return rc == 0 ? 0 : 1;
}
