/* auth_jwt: NATS decentralized authentication (operator mode), as
 * nats-server 2.9 does it (../shared/PROTOCOL.md sections 2.3 and 2.4).
 *
 * Trust starts at operators: their JWTs (`operator`, a file or the token
 * itself) or bare keys (`trusted_keys`). An operator (or one of its
 * signing keys) signs account JWTs; an account (or one of its signing
 * keys, possibly scoped by a permission template) signs user JWTs. A
 * client sends its user JWT in CONNECT and signs the server's nonce with
 * the user's seed (a creds file holds both); bearer tokens need no
 * signature. Account JWTs come from a resolver: MEMORY (the JWTs of
 * resolver_preload) or URL(http://...) (GET <url>/<account key>, cached).
 *
 * Settings (the root of the config file when the core loads the plugin
 * for the top-level keys, or the plugins entry's settings):
 *   operator = "/path/op.jwt";          or a list; or the JWT itself
 *   trusted_keys = [ "O..." ];          instead of, or with, operator
 *   resolver = "MEMORY";                or "URL(http://host:port/path/)"
 *   resolver_preload = { A...: "eyJ..."; };
 *   resolver_timeout = "1900ms";        URL fetch deadline (natsd's own)
 *   resolver_cache_ttl = "2m";          how long a fetched JWT is kept
 *
 * A fetch never runs on an I/O thread: authenticate() answers
 * NATSD_AUTH_PENDING and one of the plugin's fetch threads completes the
 * request with auth_done() once the account JWT is in (or not). Every
 * refusal is "Authorization Violation" for that client and a log line
 * with the reason; tokens and signatures are never logged. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include <natsd/plugin.h>

#include "jwt_claims.h"
#include "jwt_http.h"
#include "nkey.h"

#define JWTAUTH_NAME               "jwt"
#define JWTAUTH_FETCH_THREADS      2
#define JWTAUTH_MAX_JWT            (256 * 1024)
#define JWTAUTH_DEFAULT_TIMEOUT_MS 1900
#define JWTAUTH_DEFAULT_TTL_S      120
#define JWTAUTH_MAX_CACHE          4096
#define JWTAUTH_MAX_SEEN           65536

enum jwtauth_resolver {
	JWTAUTH_MEMORY = 1,
	JWTAUTH_URL = 2,
};

/* A decoded account JWT, shared by readers. */
struct jwtauth_acc {
	atomic_int refs;
	struct jwt *j;
	int64_t fetched_ms;       /* monotonic; URL cache age */
	atomic_bool imports_done; /* its imports were given to the host */
};

/* What one reading of the settings trusts; never changed once built. */
struct jwtauth_trust {
	int refs;    /* under jwtauth.lock */
	char **keys; /* operators and their signing keys */
	size_t nkeys;
	enum jwtauth_resolver resolver;
	struct jwtauth_acc **mem; /* resolver_preload */
	size_t nmem;
	struct jwt_http_url url;
	int64_t timeout_ms, ttl_ms;
	char *sys_account; /* the first operator's system_account */
	char **pinned;     /* resolver_pinned_accounts; none: any */
	size_t npinned;
};

/* Users let in, with the issue times of their JWTs: a claims update
 * that revokes a user closes its clients when every JWT it came with is
 * revoked. */
struct jwtauth_seen {
	char acc[NKEY_PUBLIC_LEN + 1];
	char user[NKEY_PUBLIC_LEN + 1];
	int64_t min_iat, max_iat;
};

/* A client waiting for its account's JWT. */
struct jwtauth_wait {
	struct jwtauth_wait *next;
	struct natsd_auth_req *r;
	struct jwt *user;
	char acc[NKEY_PUBLIC_LEN + 1];
	int64_t since; /* unix seconds */
};

/* An account JWT to fetch. */
struct jwtauth_job {
	struct jwtauth_job *next;
	char acc[NKEY_PUBLIC_LEN + 1];
};

struct jwtauth {
	struct natsd_host *h;
	const struct natsd_host_api *api;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct jwtauth_trust *trust;
	/* URL resolver: cache, waiting clients, jobs, threads. */
	struct jwtauth_acc **cache;
	size_t ncache;
	struct jwtauth_wait *waits;
	struct jwtauth_job *jobs;
	char (*busy)[NKEY_PUBLIC_LEN + 1]; /* accounts being fetched */
	size_t nbusy;
	pthread_t threads[JWTAUTH_FETCH_THREADS];
	size_t nthreads;
	bool stop;
	/* Account JWTs from $SYS.ACCOUNT.<id>.CLAIMS.UPDATE: they take the
	 * place of the resolver's until the next reload. */
	struct jwtauth_acc **updates;
	size_t nupdates;
	void *subs[2]; /* account_subscribe handles */
	char *sys_account;
	pthread_mutex_t seen_lock; /* grant() may run under lock */
	struct jwtauth_seen *seen;
	size_t nseen;
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* Cache ages in milliseconds: in whole seconds a "1s" entry could
 * expire a moment after it was fetched. */
static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Accounts                                                             */

static void acc_put(struct jwtauth_acc *a)
{
	if (a != NULL && atomic_fetch_sub(&a->refs, 1) == 1) {
		jwt_free(a->j);
		free(a);
	}
}

static struct jwtauth_acc *acc_get(struct jwtauth_acc *a)
{
	atomic_fetch_add(&a->refs, 1);
	return a;
}

/* Decodes an account JWT that should be for id. 0 and *out, or a
 * negative code with err. */
static int acc_decode(const char *token, const char *id,
		      struct jwtauth_acc **out, char *err, size_t errlen)
{
	struct jwtauth_acc *a;
	struct jwt *j = NULL;
	char why[200];
	int rc;

	rc = jwt_decode(token, &j, why, sizeof(why));
	if (rc != 0) {
		snprintf(err, errlen, "account JWT: %s", why);
		return rc;
	}
	if (j->type != JWT_ACCOUNT) {
		snprintf(err, errlen, "not an account JWT");
		rc = NATSD_EINVAL;
	} else if (id != NULL && (j->sub == NULL || strcmp(j->sub, id) != 0)) {
		snprintf(err, errlen, "account JWT is for another account");
		rc = NATSD_EINVAL;
	}
	a = rc == 0 ? calloc(1, sizeof(*a)) : NULL;
	if (rc == 0 && a == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = NATSD_ENOMEM;
	}
	if (rc != 0) {
		jwt_free(j);
		return rc;
	}
	atomic_init(&a->refs, 1);
	a->j = j;
	a->fetched_ms = mono_ms();
	*out = a;
	return 0;
}

/* Reading the settings                                                 */

static void trust_free(struct jwtauth_trust *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nkeys; i++)
		free(t->keys[i]);
	free(t->keys);
	for (i = 0; i < t->nmem; i++)
		acc_put(t->mem[i]);
	free(t->mem);
	jwt_http_url_fini(&t->url);
	free(t->sys_account);
	for (i = 0; i < t->npinned; i++)
		free(t->pinned[i]);
	free(t->pinned);
	free(t);
}

static int add_key(struct jwtauth_trust *t, const char *key)
{
	char **nv;
	size_t i;

	for (i = 0; i < t->nkeys; i++)
		if (strcmp(t->keys[i], key) == 0)
			return 0;
	nv = realloc(t->keys, (t->nkeys + 1) * sizeof(*nv));
	if (nv == NULL)
		return NATSD_ENOMEM;
	t->keys = nv;
	nv[t->nkeys] = strdup(key);
	if (nv[t->nkeys] == NULL)
		return NATSD_ENOMEM;
	t->nkeys++;
	return 0;
}

static bool trusted(const struct jwtauth_trust *t, const char *key)
{
	size_t i;

	for (i = 0; key != NULL && i < t->nkeys; i++)
		if (strcmp(t->keys[i], key) == 0)
			return true;
	return false;
}

/* Says where in the file a bad setting is. */
__attribute__((format(printf, 6, 7))) static void
set_err(struct jwtauth *ja, const struct natsd_cfg *c, const char *key,
	char *err, size_t errlen, const char *fmt, ...)
{
	char what[512];
	const char *file;
	va_list ap;
	int line;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c != NULL && ja->api->cfg_where(c, key, &file, &line) == 0)
		snprintf(err, errlen, "%s:%d: %s", file, line, what);
	else
		snprintf(err, errlen, "auth_jwt: %s", what);
}

/* The JWT in a file: the whole (trimmed) text, or the first
 * "-----BEGIN ...-----" block's body as nsc writes them. */
static char *read_jwt_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf, *s, *e;
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 strerror(errno));
		return NULL;
	}
	buf = malloc(JWTAUTH_MAX_JWT + 1);
	if (buf == NULL) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, JWTAUTH_MAX_JWT + 1, f);
	fclose(f);
	if (n > JWTAUTH_MAX_JWT) {
		free(buf);
		snprintf(err, errlen, "%s is too big for a JWT", path);
		return NULL;
	}
	buf[n] = '\0';
	s = buf;
	if ((e = strstr(s, "-----BEGIN")) != NULL) {
		s = strchr(e, '\n');
		s = s ? s + 1 : e + strlen(e);
		e = strstr(s, "---");
		if (e != NULL)
			*e = '\0';
	}
	s += strspn(s, " \t\r\n");
	n = strcspn(s, " \t\r\n");
	memmove(buf, s, n);
	buf[n] = '\0';
	return buf;
}

/* One operator: a JWT given inline, or a file with one. */
static int read_operator(struct jwtauth *ja, struct jwtauth_trust *t,
			 const struct natsd_cfg *c, const char *key,
			 const char *v, char *err, size_t errlen)
{
	char why[300], *token;
	struct jwt *op = NULL;
	size_t i;
	int rc;

	if (strncmp(v, "eyJ", 3) == 0)
		token = strdup(v);
	else
		token = read_jwt_file(v, why, sizeof(why));
	if (token == NULL) {
		set_err(ja, c, key, err, errlen, "operator: %s", why);
		return NATSD_EINVAL;
	}
	rc = jwt_decode(token, &op, why, sizeof(why));
	free(token);
	if (rc != 0) {
		set_err(ja, c, key, err, errlen, "operator JWT: %s", why);
		return NATSD_EINVAL;
	}
	rc = NATSD_EINVAL;
	if (op->type != JWT_OPERATOR)
		set_err(ja, c, key, err, errlen, "%s", "not an operator JWT");
	else if (!jwt_operator_trusts(op, op->iss))
		set_err(ja, c, key, err, errlen, "%s",
			"operator JWT is not self-signed nor signed by one "
			"of its signing keys");
	else if (jwt_check_times(op, now_s(), why, sizeof(why)) != 0)
		set_err(ja, c, key, err, errlen, "operator JWT %s", why);
	/* With strict_signing_key_usage only the signing keys sign
	 * accounts. */
	else if (!op->strict_signing)
		rc = add_key(t, op->sub);
	else
		rc = 0;
	if (rc == 0 && t->sys_account == NULL && op->system_account != NULL &&
	    (t->sys_account = strdup(op->system_account)) == NULL)
		rc = NATSD_ENOMEM;
	for (i = 0; rc == 0 && i < op->op_signing_keys.n; i++)
		rc = add_key(t, op->op_signing_keys.v[i]);
	jwt_free(op);
	return rc;
}

static int read_operators(struct jwtauth *ja, struct jwtauth_trust *t,
			  const struct natsd_cfg *c, char *err, size_t errlen)
{
	static const char *const op_keys[] = { "operator", "operators", NULL };
	static const char *const tk_keys[] = { "trusted_keys", "trusted",
					       NULL };
	unsigned char raw[32];
	const char *const *k;
	const char *v;
	size_t i, n;
	int rc;

	for (k = op_keys; *k != NULL; k++) {
		rc = ja->api->cfg_list_len(c, *k, &n);
		if (rc == NATSD_ENOENT)
			continue;
		for (i = 0; rc == 0 && i < n; i++) {
			rc = ja->api->cfg_list_string(c, *k, i, &v);
			if (rc == 0)
				rc = read_operator(ja, t, c, *k, v, err,
						   errlen);
			else
				set_err(ja, c, *k, err, errlen, "%s",
					"operator must be a string or a list "
					"of strings");
		}
		if (rc != 0)
			return rc;
	}
	for (k = tk_keys; *k != NULL; k++) {
		rc = ja->api->cfg_list_len(c, *k, &n);
		if (rc == NATSD_ENOENT)
			continue;
		for (i = 0; rc == 0 && i < n; i++) {
			v = "";
			rc = ja->api->cfg_list_string(c, *k, i, &v);
			if (rc == 0 &&
			    nkey_decode_public(NKEY_OPERATOR, v, raw) != 0)
				rc = NATSD_EINVAL;
			if (rc == 0)
				rc = add_key(t, v);
			else
				set_err(ja, c, *k, err, errlen,
					"trusted key %s is not an operator "
					"public key",
					v);
		}
		if (rc != 0)
			return rc;
	}
	if (t->nkeys == 0) {
		set_err(ja, c, NULL, err, errlen, "%s",
			"operator mode needs trusted operators: operator or "
			"trusted_keys");
		return NATSD_EINVAL;
	}
	return 0;
}

static int read_preload(struct jwtauth *ja, struct jwtauth_trust *t,
			const struct natsd_cfg *c, char *err, size_t errlen)
{
	const struct natsd_cfg *g;
	struct jwtauth_acc **nv;
	const char *name, *token;
	unsigned char raw[32];
	char why[300];
	size_t i;
	int rc;

	rc = ja->api->cfg_section(c, "resolver_preload", &g);
	if (rc == NATSD_ENOENT)
		return 0;
	if (rc != 0) {
		set_err(ja, c, "resolver_preload", err, errlen, "%s",
			"resolver_preload must be a group of "
			"account key = JWT");
		return rc;
	}
	if (!NATSD_HAS(ja->api, cfg_key_at)) {
		snprintf(err, errlen,
			 "auth_jwt: resolver_preload needs natsd "
			 "plugin ABI 1.2 or later");
		return NATSD_ENOTSUP;
	}
	for (i = 0; ja->api->cfg_key_at(g, i, &name) == 0; i++) {
		if (nkey_decode_public(NKEY_ACCOUNT, name, raw) != 0) {
			set_err(ja, g, name, err, errlen,
				"resolver_preload: %s is not an account "
				"public key",
				name);
			return NATSD_EINVAL;
		}
		if (ja->api->cfg_string(g, name, &token) != 0) {
			set_err(ja, g, name, err, errlen, "%s",
				"resolver_preload: the value must be the "
				"account JWT");
			return NATSD_EINVAL;
		}
		nv = realloc(t->mem, (t->nmem + 1) * sizeof(*nv));
		if (nv == NULL)
			return NATSD_ENOMEM;
		t->mem = nv;
		rc = acc_decode(token, name, &t->mem[t->nmem], why,
				sizeof(why));
		if (rc != 0) {
			set_err(ja, g, name, err, errlen,
				"resolver_preload: %s", why);
			return rc;
		}
		t->nmem++;
	}
	return 0;
}

static int read_resolver(struct jwtauth *ja, struct jwtauth_trust *t,
			 const struct natsd_cfg *c, char *err, size_t errlen)
{
	const char *v;
	char url[1024];
	size_t len;
	int rc;

	rc = ja->api->cfg_string(c, "resolver", &v);
	if (rc == NATSD_ENOENT)
		rc = ja->api->cfg_string(c, "account_resolver", &v);
	if (rc != 0) {
		set_err(ja, c, "resolver", err, errlen, "%s",
			rc == NATSD_ENOENT
				? "operator mode needs a resolver: MEMORY or "
				  "URL(http://...)"
				: "resolver must be \"MEMORY\" or "
				  "\"URL(http://...)\" (the NATS-based "
				  "resolvers are not supported)");
		return NATSD_EINVAL;
	}
	if (strcasecmp(v, "MEMORY") == 0 || strcasecmp(v, "MEM") == 0) {
		t->resolver = JWTAUTH_MEMORY;
		return read_preload(ja, t, c, err, errlen);
	}
	len = strlen(v);
	if (strncasecmp(v, "URL(", 4) != 0 || v[len - 1] != ')' ||
	    len - 5 >= sizeof(url)) {
		set_err(ja, c, "resolver", err, errlen,
			"resolver \"%s\": expected MEMORY or URL(http://...)",
			v);
		return NATSD_EINVAL;
	}
	memcpy(url, v + 4, len - 5);
	url[len - 5] = '\0';
	rc = jwt_http_parse_url(url, &t->url);
	if (rc != 0) {
		set_err(ja, c, "resolver", err, errlen,
			"resolver URL %s: only http://host[:port]/path is "
			"supported",
			url);
		return rc;
	}
	t->resolver = JWTAUTH_URL;
	/* Preloaded accounts are served from memory with a URL too. */
	return read_preload(ja, t, c, err, errlen);
}

/* resolver_pinned_accounts: users of other accounts are refused. */
static int read_pinned(struct jwtauth *ja, struct jwtauth_trust *t,
		       const struct natsd_cfg *c, char *err, size_t errlen)
{
	unsigned char raw[32];
	const char *v;
	size_t i, n;
	int rc;

	rc = ja->api->cfg_list_len(c, "resolver_pinned_accounts", &n);
	if (rc == NATSD_ENOENT)
		return 0;
	t->pinned = rc == 0 ? calloc(n ? n : 1, sizeof(*t->pinned)) : NULL;
	if (rc == 0 && t->pinned == NULL)
		return NATSD_ENOMEM;
	for (i = 0; rc == 0 && i < n; i++) {
		v = "";
		rc = ja->api->cfg_list_string(c, "resolver_pinned_accounts", i,
					      &v);
		if (rc == 0 && nkey_decode_public(NKEY_ACCOUNT, v, raw) != 0)
			rc = NATSD_EINVAL;
		if (rc == 0 && (t->pinned[t->npinned] = strdup(v)) == NULL)
			return NATSD_ENOMEM;
		if (rc == 0)
			t->npinned++;
	}
	if (rc != 0)
		set_err(ja, c, "resolver_pinned_accounts", err, errlen,
			"resolver_pinned_accounts: %s is not an account "
			"public key",
			v);
	return rc;
}

static bool pinned_ok(const struct jwtauth_trust *t, const char *id)
{
	size_t i;

	for (i = 0; i < t->npinned; i++)
		if (strcmp(t->pinned[i], id) == 0)
			return true;
	return t->npinned == 0;
}

static int trust_read(struct jwtauth *ja, const struct natsd_cfg *c,
		      struct jwtauth_trust **out, char *err, size_t errlen)
{
	struct jwtauth_trust *t;
	int64_t ns;
	int rc;

	if (c == NULL) {
		snprintf(err, errlen,
			 "auth_jwt: no settings: operator, "
			 "resolver and resolver_preload are needed");
		return NATSD_EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NATSD_ENOMEM;
	t->refs = 1;
	t->timeout_ms = JWTAUTH_DEFAULT_TIMEOUT_MS;
	t->ttl_ms = JWTAUTH_DEFAULT_TTL_S * 1000;
	rc = read_operators(ja, t, c, err, errlen);
	if (rc == 0)
		rc = read_resolver(ja, t, c, err, errlen);
	if (rc == 0)
		rc = read_pinned(ja, t, c, err, errlen);
	if (rc == 0 && ja->api->cfg_duration(c, "resolver_timeout", &ns) == 0)
		t->timeout_ms = ns / 1000000 > 0 ? ns / 1000000 : 1;
	if (rc == 0 && ja->api->cfg_duration(c, "resolver_cache_ttl", &ns) == 0)
		t->ttl_ms = ns / 1000000;
	if (rc == NATSD_ENOMEM)
		snprintf(err, errlen, "auth_jwt: out of memory");
	if (rc != 0) {
		trust_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

static struct jwtauth_trust *trust_get(struct jwtauth *ja)
{
	struct jwtauth_trust *t;

	pthread_mutex_lock(&ja->lock);
	t = ja->trust;
	t->refs++;
	pthread_mutex_unlock(&ja->lock);
	return t;
}

static void trust_put(struct jwtauth *ja, struct jwtauth_trust *t)
{
	bool last;

	pthread_mutex_lock(&ja->lock);
	last = --t->refs == 0;
	pthread_mutex_unlock(&ja->lock);
	if (last)
		trust_free(t);
}

/* Authentication                                                       */

/* Rejects r with a log line saying why (never a token or signature). */
__attribute__((format(printf, 4, 5))) static int
refuse(struct jwtauth *ja, struct natsd_auth_req *r, const struct jwt *u,
       const char *fmt, ...)
{
	const char *ip = ja->api->auth_field(r, NATSD_AF_REMOTE_IP);
	char why[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	ja->api->log(ja->h, NATSD_LOG_INFO, "auth_jwt: %s - user %s: %s",
		     ip ? ip : "?", u && u->sub ? u->sub : "-", why);
	return NATSD_AUTH_REJECT;
}

static int permit_list(struct jwtauth *ja, struct natsd_auth_req *r, int list,
		       const struct jwt_strv *sv)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < sv->n; i++)
		rc = ja->api->auth_permit(r, list, sv->v[i]);
	return rc;
}

static int64_t earliest(int64_t a, int64_t b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

/* Notes that u got in to acc. */
static void seen_add(struct jwtauth *ja, const struct jwt *u,
		     const struct jwt *acc)
{
	struct jwtauth_seen *s = NULL, *nv;
	size_t i;

	pthread_mutex_lock(&ja->seen_lock);
	for (i = 0; i < ja->nseen; i++) {
		s = &ja->seen[i];
		if (strcmp(s->user, u->sub) == 0 &&
		    strcmp(s->acc, acc->sub) == 0)
			break;
	}
	if (i == ja->nseen && ja->nseen < JWTAUTH_MAX_SEEN) {
		nv = realloc(ja->seen, (ja->nseen + 1) * sizeof(*nv));
		if (nv != NULL) {
			ja->seen = nv;
			s = &nv[ja->nseen++];
			snprintf(s->acc, sizeof(s->acc), "%s", acc->sub);
			snprintf(s->user, sizeof(s->user), "%s", u->sub);
			s->min_iat = s->max_iat = u->iat;
		}
	} else if (i < ja->nseen) {
		if (u->iat < s->min_iat)
			s->min_iat = u->iat;
		if (u->iat > s->max_iat)
			s->max_iat = u->iat;
	}
	pthread_mutex_unlock(&ja->seen_lock);
}

/* Gives r the user's identity, permissions and limits. */
static int grant(struct jwtauth *ja, struct natsd_auth_req *r,
		 const struct jwt *u, const struct jwt *acc, int64_t until)
{
	const struct natsd_host_api *api = ja->api;
	const struct jwt_user_limits *p = &u->user;
	int64_t exp;
	int rc;

	/* A user without permissions gets the account's defaults. */
	if (!p->perms && acc->has_defaults)
		p = &acc->defaults;
	rc = api->auth_set_user(r, u->sub);
	if (rc == 0)
		rc = api->auth_set_account(r, acc->sub);
	if (rc == 0)
		rc = permit_list(ja, r, NATSD_PERM_PUB_ALLOW, &p->pub_allow);
	if (rc == 0)
		rc = permit_list(ja, r, NATSD_PERM_PUB_DENY, &p->pub_deny);
	if (rc == 0)
		rc = permit_list(ja, r, NATSD_PERM_SUB_ALLOW, &p->sub_allow);
	if (rc == 0)
		rc = permit_list(ja, r, NATSD_PERM_SUB_DENY, &p->sub_deny);
	if (rc == 0 && p->resp)
		rc = api->auth_set_responses(r, p->resp_max, p->resp_ttl);
	p = &u->user;
	if (rc == 0 && p->subs >= 0)
		rc = api->auth_limit(r, NATSD_LIMIT_SUBS, p->subs);
	if (rc == 0 && p->payload >= 0)
		rc = api->auth_limit(r, NATSD_LIMIT_PAYLOAD, p->payload);
	if (rc == 0 && p->data >= 0)
		rc = api->auth_limit(r, NATSD_LIMIT_DATA, p->data);
	/* The account is named by its key; its JWT has its limits. */
	if (rc == 0 && NATSD_HAS(api, account_limit)) {
		rc = api->account_limit(ja->h, acc->sub, NATSD_LIMIT_CONN,
					acc->acc_conn);
		if (rc == 0)
			rc = api->account_limit(ja->h, acc->sub,
						NATSD_LIMIT_SUBS,
						acc->acc_subs);
		if (rc == 0)
			rc = api->account_limit(ja->h, acc->sub,
						NATSD_LIMIT_PAYLOAD,
						acc->acc_payload);
	}
	exp = earliest(earliest(u->exp, acc->exp), until);
	if (rc == 0 && exp > 0)
		rc = api->auth_set_expiry(r, exp * 1000000000LL);
	if (rc != 0)
		return refuse(ja, r, u, "%s", "cannot apply the permissions");
	seen_add(ja, u, acc);
	return NATSD_AUTH_ACCEPT;
}

/* Checks the nonce signature with the user's key. */
static bool nonce_signed(struct jwtauth *ja, struct natsd_auth_req *r,
			 const struct jwt *u)
{
	const char *nonce = ja->api->auth_field(r, NATSD_AF_NONCE);
	const char *sig = ja->api->auth_field(r, NATSD_AF_SIG);
	unsigned char pub[32], raw[NKEY_SIG_LEN];

	if (nonce == NULL || sig == NULL)
		return false;
	if (nkey_decode_public(NKEY_USER, u->sub, pub) != 0 ||
	    nkey_sig_decode(sig, raw) != 0)
		return false;
	return nkey_verify(pub, nonce, strlen(nonce), raw) == 0;
}

static struct jwtauth_acc *
lookup(struct jwtauth *ja, const struct jwtauth_trust *t, const char *id);

/* The exporter of an import, trusted and current, or NULL. */
static struct jwtauth_acc *exporter_of(struct jwtauth *ja,
				       const struct jwtauth_trust *t,
				       const char *id, bool locked)
{
	struct jwtauth_acc *x;
	char why[100];

	if (!locked)
		pthread_mutex_lock(&ja->lock);
	x = lookup(ja, t, id);
	if (!locked)
		pthread_mutex_unlock(&ja->lock);
	if (x != NULL && (!trusted(t, x->j->iss) ||
			  jwt_check_times(x->j, now_s(), why, sizeof(why)))) {
		acc_put(x);
		x = NULL;
	}
	return x;
}

/* One import of acc, checked against its exporter as nats-server does;
 * false (and a log line) when it is not to be made. */
static int queue_fetch(struct jwtauth *ja, const char *id);

/* With a URL resolver, an exporter not fetched yet is fetched now, and
 * the imports are made again when the next user of the account comes. */
static void fetch_exporter(struct jwtauth *ja, const struct jwtauth_trust *t,
			   const char *id, bool locked, bool *retry)
{
	unsigned char raw[32];

	if (t->resolver != JWTAUTH_URL ||
	    nkey_decode_public(NKEY_ACCOUNT, id, raw) != 0)
		return;
	if (!locked)
		pthread_mutex_lock(&ja->lock);
	if (!ja->stop && queue_fetch(ja, id) == 0)
		*retry = true;
	if (!locked)
		pthread_mutex_unlock(&ja->lock);
}

static bool import_of(struct jwtauth *ja, const struct jwtauth_trust *t,
		      const struct jwt *acc, const struct jwt_import *m,
		      bool locked, struct natsd_import *out, bool *retry)
{
	const struct jwt_export *exp;
	struct jwtauth_acc *x;
	const char *xsubj = m->subject, *local = NULL, *prefix = NULL;
	char why[200] = "";

	/* The exporter's subject and the importer's, as nats-server 2.9
	 * reads `local_subject` and the older `to`. */
	if (!m->service) {
		local = m->local_subject;
		prefix = local == NULL ? m->to : NULL;
	} else if (m->local_subject != NULL) {
		local = m->local_subject;
	} else if (m->to != NULL) {
		local = m->subject;
		xsubj = m->to;
	}
	x = exporter_of(ja, t, m->account, locked);
	if (x == NULL) {
		snprintf(why, sizeof(why), "exporting account not found");
		fetch_exporter(ja, t, m->account, locked, retry);
	} else if ((exp = jwt_find_export(x->j, xsubj, m->service)) == NULL)
		snprintf(why, sizeof(why), "not exported");
	else if (exp->token_req &&
		 jwt_check_activation(m->token, x->j, exp, acc->sub, xsubj,
				      now_s(), why, sizeof(why)) != 0)
		; /* why says it */
	else {
		memset(out, 0, sizeof(*out));
		out->struct_size = sizeof(*out);
		out->account = m->account;
		out->subject = xsubj;
		out->service = m->service;
		out->prefix = prefix;
		out->local = local;
		out->resp_type = exp->resp_type;
		out->resp_ttl_ns = exp->resp_threshold;
	}
	acc_put(x);
	if (why[0] != '\0')
		ja->api->log(ja->h, NATSD_LOG_DEBUG,
			     "auth_jwt: account %s: %s import %s from %s: %s",
			     acc->sub, m->service ? "service" : "stream",
			     m->subject, m->account, why);
	return why[0] == '\0';
}

/* Gives the host the imports of the account, once per account JWT. */
static void apply_imports(struct jwtauth *ja, const struct jwtauth_trust *t,
			  struct jwtauth_acc *aa, bool locked)
{
	const struct jwt *acc = aa->j;
	struct natsd_import *v;
	size_t i, n = 0;
	bool retry = false;
	int rc;

	if (!NATSD_HAS(ja->api, account_imports) ||
	    atomic_exchange(&aa->imports_done, true))
		return;
	v = calloc(acc->nimports ? acc->nimports : 1, sizeof(*v));
	if (v == NULL) {
		atomic_store(&aa->imports_done, false);
		return;
	}
	for (i = 0; i < acc->nimports; i++)
		if (import_of(ja, t, acc, &acc->imports[i], locked, &v[n],
			      &retry))
			n++;
	rc = ja->api->account_imports(ja->h, acc->sub, v, n);
	if (retry)
		atomic_store(&aa->imports_done, false);
	if (rc != 0)
		ja->api->log(ja->h, NATSD_LOG_WARN,
			     "auth_jwt: account %s: imports not all made (%d)",
			     acc->sub, rc);
	free(v);
}

/* The checks once the account is known; u may be changed (a scoped
 * signing key's template replaces its permissions). */
static int finish(struct jwtauth *ja, const struct jwtauth_trust *t,
		  struct natsd_auth_req *r, struct jwt *u,
		  struct jwtauth_acc *aa, bool locked)
{
	const struct jwt *acc = aa->j;
	const struct jwt_signing_key *sk = NULL;
	int64_t now = now_s(), until;
	char why[200];
	bool ok;
	int rc;

	if (!trusted(t, acc->iss))
		return refuse(ja, r, u, "%s",
			      "account JWT is not signed by a trusted "
			      "operator");
	if (jwt_check_times(acc, now, why, sizeof(why)) != 0)
		return refuse(ja, r, u, "account JWT %s", why);
	if (jwt_account_validate(acc, why, sizeof(why)) != 0)
		return refuse(ja, r, u, "account JWT: %s", why);
	if (strcmp(u->iss, acc->sub) != 0) {
		sk = jwt_account_signer(acc, u->iss);
		if (sk == NULL)
			return refuse(ja, r, u, "%s",
				      "user JWT issuer is not the account "
				      "nor one of its signing keys");
		if (sk->scoped &&
		    jwt_apply_scope(u, acc, sk, why, sizeof(why)) != 0)
			return refuse(ja, r, u, "user JWT: %s", why);
	}
	if (u->user.bearer) {
		if (acc->disallow_bearer)
			return refuse(ja, r, u, "%s",
				      "account does not allow bearer tokens");
	} else if (!nonce_signed(ja, r, u)) {
		return refuse(ja, r, u, "%s",
			      "nonce signature missing or not verified");
	}
	if (jwt_account_revoked(acc, u->sub, u->iat))
		return refuse(ja, r, u, "%s", "user JWT is revoked");
	if (!jwt_src_allowed(&u->user,
			     ja->api->auth_field(r, NATSD_AF_REMOTE_IP)))
		return refuse(ja, r, u, "%s",
			      "client address is not in the user's src");
	rc = jwt_times_allowed(&u->user, now, &ok, &until);
	if (rc == NATSD_ENOTSUP)
		return refuse(ja, r, u,
			      "times_location %s: no such time zone in "
			      "/usr/share/zoneinfo",
			      u->user.times_location);
	if (!ok)
		return refuse(ja, r, u, "%s",
			      "outside the user's connect times");
	apply_imports(ja, t, aa, locked);
	return grant(ja, r, u, acc, until);
}

static struct jwtauth_acc *find_acc(struct jwtauth_acc **v, size_t n,
				    const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i]->j->sub, id) == 0)
			return v[i];
	return NULL;
}

/* The account for id from memory or the URL cache (a reference), or
 * NULL. Under ja->lock. */
static struct jwtauth_acc *lookup(struct jwtauth *ja,
				  const struct jwtauth_trust *t, const char *id)
{
	struct jwtauth_acc *a = find_acc(ja->updates, ja->nupdates, id);

	if (a == NULL)
		a = find_acc(t->mem, t->nmem, id);
	if (a == NULL && t->resolver == JWTAUTH_URL) {
		a = find_acc(ja->cache, ja->ncache, id);
		if (a != NULL && mono_ms() - a->fetched_ms >= t->ttl_ms)
			a = NULL;
	}
	return a != NULL ? acc_get(a) : NULL;
}

static bool busy_has(const struct jwtauth *ja, const char *id)
{
	size_t i;

	for (i = 0; i < ja->nbusy; i++)
		if (strcmp(ja->busy[i], id) == 0)
			return true;
	return false;
}

/* Queues a fetch of id unless one is queued or running. Under lock. */
static int queue_fetch(struct jwtauth *ja, const char *id)
{
	struct jwtauth_job *j, **tail;

	if (busy_has(ja, id))
		return 0;
	for (tail = &ja->jobs; *tail != NULL; tail = &(*tail)->next)
		if (strcmp((*tail)->acc, id) == 0)
			return 0;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NATSD_ENOMEM;
	snprintf(j->acc, sizeof(j->acc), "%s", id);
	*tail = j;
	pthread_cond_signal(&ja->cond);
	return 0;
}

static int jwtauth_authenticate(void *pctx, struct natsd_auth_req *r)
{
	struct jwtauth *ja = pctx;
	const char *token = ja->api->auth_field(r, NATSD_AF_JWT);
	struct jwtauth_trust *t;
	struct jwtauth_wait *w;
	struct jwtauth_acc *a;
	struct jwt *u = NULL;
	const char *id;
	unsigned char raw[32];
	char why[200];
	int v;

	if (token == NULL)
		return refuse(ja, r, NULL, "%s", "no user JWT (operator mode)");
	if (jwt_decode(token, &u, why, sizeof(why)) != 0)
		return refuse(ja, r, NULL, "user JWT: %s", why);
	if (u->type != JWT_USER || u->sub == NULL ||
	    nkey_decode_public(NKEY_USER, u->sub, raw) != 0) {
		v = refuse(ja, r, u, "%s", "not a user JWT");
		goto out;
	}
	if (jwt_check_times(u, now_s(), why, sizeof(why)) != 0) {
		v = refuse(ja, r, u, "user JWT %s", why);
		goto out;
	}
	if (!jwt_conn_type_allowed(
		    &u->user, ja->api->auth_field(r, NATSD_AF_CONN_TYPE))) {
		v = refuse(ja, r, u, "%s", "connection type not allowed");
		goto out;
	}
	id = u->issuer_account != NULL ? u->issuer_account : u->iss;
	if (nkey_decode_public(NKEY_ACCOUNT, id, raw) != 0) {
		v = refuse(ja, r, u, "%s", "user JWT issuer is not an account");
		goto out;
	}
	t = trust_get(ja);
	if (!pinned_ok(t, id)) {
		v = refuse(ja, r, u, "account %s is not pinned", id);
		trust_put(ja, t);
		goto out;
	}
	pthread_mutex_lock(&ja->lock);
	a = lookup(ja, t, id);
	w = NULL;
	if (a == NULL && t->resolver == JWTAUTH_URL && !ja->stop) {
		w = calloc(1, sizeof(*w));
		if (w != NULL && queue_fetch(ja, id) == 0) {
			w->r = r;
			w->user = u;
			w->since = now_s();
			snprintf(w->acc, sizeof(w->acc), "%s", id);
			w->next = ja->waits;
			ja->waits = w;
			u = NULL;
		} else {
			free(w);
			w = NULL;
		}
	}
	pthread_mutex_unlock(&ja->lock);
	if (w != NULL)
		v = NATSD_AUTH_PENDING;
	else if (a == NULL)
		v = refuse(ja, r, u, "account %s not found by the resolver",
			   id);
	else
		v = finish(ja, t, r, u, a, false);
	acc_put(a);
	trust_put(ja, t);
out:
	jwt_free(u);
	return v;
}

/* The client went away: its wait ends without an answer. */
static void jwtauth_cancel(void *pctx, struct natsd_auth_req *r)
{
	struct jwtauth *ja = pctx;
	struct jwtauth_wait **pp, *w = NULL;

	pthread_mutex_lock(&ja->lock);
	for (pp = &ja->waits; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->r == r) {
			w = *pp;
			*pp = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&ja->lock);
	if (w != NULL) {
		jwt_free(w->user);
		free(w);
	}
}

/* The URL resolver's fetch threads                                     */

static void cache_put(struct jwtauth *ja, struct jwtauth_acc *a)
{
	struct jwtauth_acc **nv;
	size_t i;

	for (i = 0; i < ja->ncache; i++) {
		if (strcmp(ja->cache[i]->j->sub, a->j->sub) == 0) {
			acc_put(ja->cache[i]);
			ja->cache[i] = acc_get(a);
			return;
		}
	}
	/* Full: the oldest goes. */
	if (ja->ncache >= JWTAUTH_MAX_CACHE) {
		acc_put(ja->cache[0]);
		memmove(ja->cache, ja->cache + 1,
			(ja->ncache - 1) * sizeof(*ja->cache));
		ja->ncache--;
	}
	nv = realloc(ja->cache, (ja->ncache + 1) * sizeof(*nv));
	if (nv == NULL)
		return;
	ja->cache = nv;
	nv[ja->ncache++] = acc_get(a);
}

/* GETs and decodes the account JWT of id. */
static struct jwtauth_acc *fetch(struct jwtauth *ja,
				 const struct jwtauth_trust *t, const char *id)
{
	struct jwtauth_acc *a = NULL;
	char err[300], *body = NULL, *s;
	int status = 0, rc;
	size_t n;

	rc = jwt_http_get(&t->url, id, t->timeout_ms, JWTAUTH_MAX_JWT, &status,
			  &body, err, sizeof(err));
	if (rc == 0 && status != 200) {
		snprintf(err, sizeof(err), "HTTP status %d", status);
		rc = NATSD_ENOENT;
	}
	if (rc == 0) {
		s = body + strspn(body, " \t\r\n");
		n = strcspn(s, " \t\r\n");
		s[n] = '\0';
		rc = acc_decode(s, id, &a, err, sizeof(err));
	}
	free(body);
	if (rc != 0)
		ja->api->log(ja->h, NATSD_LOG_WARN,
			     "auth_jwt: resolver %s:%s: account %s: %s",
			     t->url.host, t->url.port, id, err);
	return a;
}

static void busy_remove(struct jwtauth *ja, const char *id)
{
	size_t i;

	for (i = 0; i < ja->nbusy; i++) {
		if (strcmp(ja->busy[i], id) == 0) {
			memmove(ja->busy[i], ja->busy[ja->nbusy - 1],
				sizeof(ja->busy[i]));
			ja->nbusy--;
			return;
		}
	}
}

/* Answers every client waiting for id, with a (or a refusal). */
static void complete(struct jwtauth *ja, const struct jwtauth_trust *t,
		     const char *id, struct jwtauth_acc *a)
{
	struct jwtauth_wait **pp, *w;
	int v;

	pthread_mutex_lock(&ja->lock);
	if (a != NULL)
		cache_put(ja, a);
	/* From here a new client for id queues a fetch of its own. */
	busy_remove(ja, id);
	for (pp = &ja->waits; *pp != NULL;) {
		w = *pp;
		if (strcmp(w->acc, id) != 0) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		/* Under the lock, so that cancel() cannot come between. */
		if (a == NULL)
			v = refuse(ja, w->r, w->user,
				   "account %s not found by the resolver", id);
		else
			v = finish(ja, t, w->r, w->user, a, true);
		ja->api->auth_done(w->r, v);
		jwt_free(w->user);
		free(w);
	}
	pthread_mutex_unlock(&ja->lock);
}

static void *fetch_thread(void *arg)
{
	struct jwtauth *ja = arg;
	struct jwtauth_trust *t;
	struct jwtauth_job *j;
	struct jwtauth_acc *a;

	pthread_mutex_lock(&ja->lock);
	for (;;) {
		while (!ja->stop && ja->jobs == NULL)
			pthread_cond_wait(&ja->cond, &ja->lock);
		if (ja->stop)
			break;
		j = ja->jobs;
		ja->jobs = j->next;
		/* One account per thread: nbusy stays within the count. */
		memcpy(ja->busy[ja->nbusy++], j->acc, sizeof(j->acc));
		t = ja->trust;
		t->refs++;
		pthread_mutex_unlock(&ja->lock);

		a = fetch(ja, t, j->acc);
		complete(ja, t, j->acc, a);
		acc_put(a);
		trust_put(ja, t);

		pthread_mutex_lock(&ja->lock);
		free(j);
	}
	pthread_mutex_unlock(&ja->lock);
	return NULL;
}

static int start_threads(struct jwtauth *ja, char *err, size_t errlen)
{
	size_t i;

	ja->busy = calloc(JWTAUTH_FETCH_THREADS, sizeof(*ja->busy));
	if (ja->busy == NULL)
		return NATSD_ENOMEM;
	for (i = 0; i < JWTAUTH_FETCH_THREADS; i++) {
		if (pthread_create(&ja->threads[i], NULL, fetch_thread, ja) !=
		    0) {
			snprintf(err, errlen,
				 "auth_jwt: cannot start the "
				 "resolver threads");
			return NATSD_ENOMEM;
		}
		ja->nthreads++;
	}
	return 0;
}

/* SIGHUP                                                               */

static void cache_clear(struct jwtauth *ja)
{
	size_t i;

	for (i = 0; i < ja->ncache; i++)
		acc_put(ja->cache[i]);
	ja->ncache = 0;
	for (i = 0; i < ja->nupdates; i++)
		acc_put(ja->updates[i]);
	ja->nupdates = 0;
}

/* Claim updates                                                        */

/* The account key of "$SYS.ACCOUNT.<id>.CLAIMS.UPDATE" or
 * "$SYS.REQ.ACCOUNT.<id>.CLAIMS.UPDATE", into id. */
static bool update_subject(const struct natsd_msg *m, char *id, size_t cap)
{
	char subj[256], *p;
	size_t n;

	if (m->subject_len >= sizeof(subj))
		return false;
	memcpy(subj, m->subject, m->subject_len);
	subj[m->subject_len] = '\0';
	if (strncmp(subj, "$SYS.ACCOUNT.", 13) == 0)
		p = subj + 13;
	else if (strncmp(subj, "$SYS.REQ.ACCOUNT.", 17) == 0)
		p = subj + 17;
	else
		return false;
	n = strcspn(p, ".");
	if (n == 0 || n >= cap || strcmp(p + n, ".CLAIMS.UPDATE") != 0)
		return false;
	memcpy(id, p, n);
	id[n] = '\0';
	return true;
}

/* Puts a in the updates in place of an older JWT of its account. Under
 * the lock. */
static int updates_put(struct jwtauth *ja, struct jwtauth_acc *a)
{
	struct jwtauth_acc **nv;
	size_t i;

	for (i = 0; i < ja->nupdates; i++) {
		if (strcmp(ja->updates[i]->j->sub, a->j->sub) == 0) {
			acc_put(ja->updates[i]);
			ja->updates[i] = acc_get(a);
			return 0;
		}
	}
	nv = realloc(ja->updates, (ja->nupdates + 1) * sizeof(*nv));
	if (nv == NULL)
		return NATSD_ENOMEM;
	ja->updates = nv;
	nv[ja->nupdates++] = acc_get(a);
	return 0;
}

/* Closes the clients of users the update revokes, as nats-server does:
 * those whose every JWT seen is revoked (a user with both revoked and
 * newer JWTs connected is left alone, and logged). */
static void close_revoked(struct jwtauth *ja, const struct jwt *acc)
{
	struct jwtauth_seen *s;
	size_t i, k;
	bool all, some;

	if (!NATSD_HAS(ja->api, clients_close))
		return;
	pthread_mutex_lock(&ja->seen_lock);
	for (i = 0; i < ja->nseen; i++) {
		s = &ja->seen[i];
		if (strcmp(s->acc, acc->sub) != 0)
			continue;
		all = some = false;
		for (k = 0; k < acc->nrevs; k++) {
			if (strcmp(acc->revs[k].key, "*") != 0 &&
			    strcmp(acc->revs[k].key, s->user) != 0)
				continue;
			all = all || acc->revs[k].at >= s->max_iat;
			some = some || acc->revs[k].at >= s->min_iat;
		}
		if (all)
			ja->api->clients_close(ja->h, acc->sub, s->user,
					       "User Authentication Revoked");
		else if (some)
			ja->api->log(ja->h, NATSD_LOG_WARN,
				     "auth_jwt: user %s has revoked and valid "
				     "JWTs: its clients stay connected",
				     s->user);
	}
	pthread_mutex_unlock(&ja->seen_lock);
}

/* An account JWT published on a claims update subject of the system
 * account: on the publisher's I/O thread, so only decoding and checks.
 * As nats-server, only accounts already known are updated; the new JWT
 * serves the connections that come after, and its imports and limits
 * are applied at once. */
static void claims_update(void *arg, const struct natsd_msg *m)
{
	struct jwtauth *ja = arg;
	struct jwtauth_trust *t;
	struct jwtauth_acc *a = NULL, *old;
	char id[NKEY_PUBLIC_LEN + 1], err[300], *token;
	int rc;

	if (!update_subject(m, id, sizeof(id)) || m->data_len > JWTAUTH_MAX_JWT)
		return;
	token = strndup(m->data != NULL ? m->data : "", m->data_len);
	if (token == NULL)
		return;
	rc = acc_decode(token, id, &a, err, sizeof(err));
	free(token);
	if (rc != 0) {
		ja->api->log(ja->h, NATSD_LOG_WARN,
			     "auth_jwt: claims update for %s refused: %s", id,
			     err);
		return;
	}
	t = trust_get(ja);
	if (!trusted(t, a->j->iss))
		snprintf(err, sizeof(err), "not signed by a trusted operator");
	else if (jwt_account_validate(a->j, err, sizeof(err)) == 0)
		err[0] = '\0';
	if (err[0] == '\0') {
		pthread_mutex_lock(&ja->lock);
		old = lookup(ja, t, id);
		rc = old != NULL ? updates_put(ja, a) : NATSD_ENOENT;
		pthread_mutex_unlock(&ja->lock);
		acc_put(old);
		if (rc == NATSD_ENOENT)
			snprintf(err, sizeof(err),
				 "account not loaded: skipped");
		else if (rc != 0)
			snprintf(err, sizeof(err), "out of memory");
	}
	if (err[0] != '\0') {
		ja->api->log(ja->h, NATSD_LOG_WARN,
			     "auth_jwt: claims update for %s: %s", id, err);
	} else {
		apply_imports(ja, t, a, false);
		close_revoked(ja, a->j);
		if (NATSD_HAS(ja->api, account_limit)) {
			ja->api->account_limit(ja->h, id, NATSD_LIMIT_CONN,
					       a->j->acc_conn);
			ja->api->account_limit(ja->h, id, NATSD_LIMIT_SUBS,
					       a->j->acc_subs);
			ja->api->account_limit(ja->h, id, NATSD_LIMIT_PAYLOAD,
					       a->j->acc_payload);
		}
		ja->api->log(ja->h, NATSD_LOG_INFO,
			     "auth_jwt: account %s updated from a claims "
			     "update",
			     id);
	}
	acc_put(a);
	trust_put(ja, t);
}

/* Listens for claim updates in the system account, once the server
 * runs (the host's accounts come after the plugins). */
static void subscribe_updates(void *arg)
{
	static const char *const subjects[2] = {
		"$SYS.ACCOUNT.*.CLAIMS.UPDATE",
		"$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE",
	};
	struct jwtauth *ja = arg;
	int i, rc;

	for (i = 0; i < 2; i++) {
		rc = ja->api->account_subscribe(ja->h, ja->sys_account,
						subjects[i], claims_update, ja,
						&ja->subs[i]);
		if (rc != 0)
			ja->api->log(ja->h, NATSD_LOG_ERROR,
				     "auth_jwt: cannot subscribe to %s: %d",
				     subjects[i], rc);
	}
}

/* The system account: the operator's system_account, or the settings'
 * system_account; claim updates are listened for there. */
static int updates_start(struct jwtauth *ja, const struct natsd_cfg *cfg,
			 char *err, size_t errlen)
{
	const char *sys = ja->trust->sys_account;

	if (sys == NULL && cfg != NULL)
		ja->api->cfg_string(cfg, "system_account", &sys);
	if (sys == NULL || !NATSD_HAS(ja->api, account_subscribe))
		return 0;
	ja->sys_account = strdup(sys);
	if (ja->sys_account == NULL ||
	    ja->api->timer_add(ja->h, 0, subscribe_updates, ja) != 0) {
		snprintf(err, errlen,
			 "auth_jwt: cannot listen for claims "
			 "updates");
		return NATSD_ENOMEM;
	}
	return 0;
}

static int jwtauth_reload_settings(void *pctx, const struct natsd_cfg *cfg)
{
	struct jwtauth *ja = pctx;
	struct jwtauth_trust *t, *old;
	char err[512];
	int rc;

	rc = trust_read(ja, cfg, &t, err, sizeof(err));
	if (rc != 0) {
		ja->api->log(ja->h, NATSD_LOG_ERROR,
			     "auth_jwt: keeping the old settings: %s", err);
		return rc;
	}
	if (t->resolver == JWTAUTH_URL && ja->nthreads == 0) {
		ja->api->log(ja->h, NATSD_LOG_ERROR,
			     "auth_jwt: keeping the old settings: a URL "
			     "resolver takes effect after a restart");
		trust_free(t);
		return NATSD_ENOTSUP;
	}
	pthread_mutex_lock(&ja->lock);
	old = ja->trust;
	ja->trust = t;
	/* Account JWTs are fetched again: they may have changed. */
	cache_clear(ja);
	pthread_mutex_unlock(&ja->lock);
	trust_put(ja, old);
	return 0;
}

static const struct natsd_auth_ops jwtauth_ops = {
	.struct_size = sizeof(struct natsd_auth_ops),
	.name = JWTAUTH_NAME,
	.flags = NATSD_AUTH_F_NONCE | NATSD_AUTH_F_REQUIRED,
	.authenticate = jwtauth_authenticate,
	.cancel = jwtauth_cancel,
	.reload_settings = jwtauth_reload_settings,
};

/* The plugin                                                           */

static void jwtauth_fini(void *ctx)
{
	struct jwtauth *ja = ctx;
	struct jwtauth_wait *w;
	struct jwtauth_job *j;
	size_t i;

	if (ja == NULL)
		return;
	for (i = 0; i < 2; i++)
		if (ja->subs[i] != NULL)
			ja->api->account_unsubscribe(ja->h, ja->subs[i]);
	pthread_mutex_lock(&ja->lock);
	ja->stop = true;
	pthread_cond_broadcast(&ja->cond);
	pthread_mutex_unlock(&ja->lock);
	for (i = 0; i < ja->nthreads; i++)
		pthread_join(ja->threads[i], NULL);
	while ((j = ja->jobs) != NULL) {
		ja->jobs = j->next;
		free(j);
	}
	/* Every connection is closed by now, so every wait was cancelled;
	 * this is for a failed init. */
	while ((w = ja->waits) != NULL) {
		ja->waits = w->next;
		jwt_free(w->user);
		free(w);
	}
	cache_clear(ja);
	free(ja->cache);
	free(ja->updates);
	free(ja->sys_account);
	free(ja->busy);
	trust_free(ja->trust);
	free(ja->seen);
	pthread_cond_destroy(&ja->cond);
	pthread_mutex_destroy(&ja->seen_lock);
	pthread_mutex_destroy(&ja->lock);
	free(ja);
}

static int jwtauth_init(struct natsd_host *h, const struct natsd_host_api *api,
			const struct natsd_cfg *cfg, void **ctx, char *err,
			size_t errlen)
{
	struct jwtauth *ja;
	int rc;

	ja = calloc(1, sizeof(*ja));
	if (ja == NULL)
		return NATSD_ENOMEM;
	ja->h = h;
	ja->api = api;
	pthread_mutex_init(&ja->lock, NULL);
	pthread_mutex_init(&ja->seen_lock, NULL);
	pthread_cond_init(&ja->cond, NULL);
	rc = trust_read(ja, cfg, &ja->trust, err, errlen);
	if (rc == 0 && ja->trust->resolver == JWTAUTH_URL)
		rc = start_threads(ja, err, errlen);
	if (rc == 0)
		rc = updates_start(ja, cfg, err, errlen);
	if (rc == 0) {
		rc = api->register_auth(h, &jwtauth_ops, ja);
		if (rc != 0)
			snprintf(err, errlen,
				 "auth_jwt: cannot register the "
				 "authenticator");
	}
	if (rc != 0) {
		jwtauth_fini(ja);
		return rc;
	}
	api->log(h, NATSD_LOG_INFO,
		 "auth_jwt: operator mode, %zu trusted key%s, %s resolver, "
		 "%zu preloaded account%s",
		 ja->trust->nkeys, ja->trust->nkeys == 1 ? "" : "s",
		 ja->trust->resolver == JWTAUTH_URL ? "URL" : "MEMORY",
		 ja->trust->nmem, ja->trust->nmem == 1 ? "" : "s");
	*ctx = ja;
	return 0;
}

static const struct natsd_plugin jwtauth_plugin = {
	NATSD_PLUGIN_INIT,    .name = "auth_jwt",   .version = PACKAGE_VERSION,
	.init = jwtauth_init, .fini = jwtauth_fini,
};

NATSD_PLUGIN_EXPORT const struct natsd_plugin *
natsd_plugin_entry(uint16_t host_major, uint16_t host_minor)
{
	(void)host_major;
	(void)host_minor;
	return &jwtauth_plugin;
}
