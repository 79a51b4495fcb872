/* auth_nkey: nkey users, as nats-server has them.
 *
 * A user is known by its public nkey ("U..."). The server sends a nonce in
 * INFO (NATSD_AUTH_F_NONCE); the client signs the nonce's ASCII bytes
 * with its seed and sends nkey and sig in CONNECT; this plugin checks the
 * Ed25519 signature with the configured public key (lib/nkey.c, OpenSSL)
 * and gives the user its account and permissions. The server holds no
 * secret at all.
 *
 * Settings: a users list of groups, in natsd's authorization.users shape,
 * where the entries with an nkey are this plugin's (others are skipped):
 *   users = ( { nkey = "U..."; account = "A";
 *               permissions = { publish = ...; subscribe = ...;
 *                               allow_responses = ...; };
 *               allowed_connection_types = [ "STANDARD" ]; }, ... );
 *   default_permissions = { ... };   for users without permissions
 * The core loads this plugin by itself, with the authorization section as
 * settings, when authorization.users has nkey entries; the core has then
 * checked the entries already. On SIGHUP the host hands over the
 * re-read section (reload_settings): the new users replace the old ones
 * as a whole, in an immutable, reference-counted table, so that an
 * authentication on an I/O thread sees either the old users or the new.
 *
 * A CONNECT without nkey is not ours (the next authenticator decides);
 * one with an nkey that is unknown, without a nonce or signature, or with
 * a signature that does not verify, is rejected ("Authorization
 * Violation"), with a debug line saying why. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include <natsd/plugin.h>

#include "nkey.h"

#define NKEYAUTH_NAME "nkey"

enum { NKEYAUTH_NLISTS = 4 };

/* Permissions of one user, as auth_permit() takes them. */
struct nkeyauth_perms {
	bool present;
	char **subjects[NKEYAUTH_NLISTS]; /* by enum natsd_perm_list - 1 */
	size_t n[NKEYAUTH_NLISTS];
	bool resp;
	int64_t resp_max, resp_expires;
};

struct nkeyauth_user {
	unsigned char pub[32];
	char *key; /* the text, as the user's name */
	char *account;
	struct nkeyauth_perms perms;
	char **conn_types; /* allowed_connection_types; none: all */
	size_t nconn_types;
};

/* The users of one reading of the settings; never changed once built. */
struct nkeyauth_table {
	struct nkeyauth_user *users;
	size_t nusers;
	struct nkeyauth_perms defaults;
	int refs; /* under nkeyauth.lock */
};

struct nkeyauth {
	struct natsd_host *h;
	const struct natsd_host_api *api;
	pthread_mutex_t lock;
	struct nkeyauth_table *table;
};

/* Reading the settings                                                 */

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void perms_fini(struct nkeyauth_perms *p)
{
	int k;

	for (k = 0; k < NKEYAUTH_NLISTS; k++)
		strv_free(p->subjects[k], p->n[k]);
	memset(p, 0, sizeof(*p));
}

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (nv == NULL)
		return NATSD_ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (nv[*n] == NULL)
		return NATSD_ENOMEM;
	(*n)++;
	return 0;
}

/* Appends the string list at key (a string or a list of strings). */
static int read_strings(struct nkeyauth *na, const struct natsd_cfg *c,
			const char *key, char ***v, size_t *n)
{
	const char *s;
	size_t i, len;
	int rc;

	rc = na->api->cfg_list_len(c, key, &len);
	if (rc != 0)
		return rc;
	for (i = 0; i < len; i++) {
		rc = na->api->cfg_list_string(c, key, i, &s);
		if (rc == 0)
			rc = strv_push(v, n, s);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* publish / subscribe: subjects (the allow list) or { allow; deny; }. */
static int read_subject_perm(struct nkeyauth *na, const struct natsd_cfg *c,
			     const char *key, struct nkeyauth_perms *p,
			     int allow, int deny)
{
	const struct natsd_cfg *g;
	int rc;

	rc = read_strings(na, c, key, &p->subjects[allow - 1],
			  &p->n[allow - 1]);
	if (rc != NATSD_EINVAL)
		return rc;
	rc = na->api->cfg_section(c, key, &g);
	if (rc != 0)
		return rc;
	rc = read_strings(na, g, "allow", &p->subjects[allow - 1],
			  &p->n[allow - 1]);
	if (rc != 0 && rc != NATSD_ENOENT)
		return rc;
	rc = read_strings(na, g, "deny", &p->subjects[deny - 1],
			  &p->n[deny - 1]);
	return rc == NATSD_ENOENT ? 0 : rc;
}

/* The first of names that c has, or NULL. */
static const char *first_key(struct nkeyauth *na, const struct natsd_cfg *c,
			     const char *const *names)
{
	const char *file;
	int line;

	for (; *names != NULL; names++)
		if (na->api->cfg_where(c, *names, &file, &line) == 0)
			return *names;
	return NULL;
}

/* allow_responses = true, or { max = N; expires = "1m"; }. */
static int read_responses(struct nkeyauth *na, const struct natsd_cfg *c,
			  const char *key, struct nkeyauth_perms *p)
{
	static const char *const max_keys[] = { "max", "max_msgs",
						"max_messages", "max_responses",
						NULL };
	static const char *const exp_keys[] = { "expires", "expiration", "ttl",
						NULL };
	const struct natsd_cfg *g;
	const char *k;
	bool on;
	int rc;

	if (na->api->cfg_bool(c, key, &on) == 0) {
		p->resp = on;
		return 0;
	}
	rc = na->api->cfg_section(c, key, &g);
	if (rc != 0)
		return rc;
	p->resp = true;
	k = first_key(na, g, max_keys);
	if (k != NULL && na->api->cfg_int(g, k, &p->resp_max) != 0)
		return NATSD_EINVAL;
	k = first_key(na, g, exp_keys);
	if (k != NULL && na->api->cfg_duration(g, k, &p->resp_expires) != 0)
		return NATSD_EINVAL;
	return 0;
}

static int read_perms(struct nkeyauth *na, const struct natsd_cfg *c,
		      struct nkeyauth_perms *p)
{
	static const char *const pub[] = { "publish", "pub", NULL };
	static const char *const sub[] = { "subscribe", "sub", NULL };
	static const char *const resp[] = { "allow_responses", "allow_response",
					    NULL };
	const char *k;
	int rc = 0;

	p->present = true;
	k = first_key(na, c, pub);
	if (k != NULL)
		rc = read_subject_perm(na, c, k, p, NATSD_PERM_PUB_ALLOW,
				       NATSD_PERM_PUB_DENY);
	k = first_key(na, c, sub);
	if (rc == 0 && k != NULL)
		rc = read_subject_perm(na, c, k, p, NATSD_PERM_SUB_ALLOW,
				       NATSD_PERM_SUB_DENY);
	k = first_key(na, c, resp);
	if (rc == 0 && k != NULL)
		rc = read_responses(na, c, k, p);
	return rc;
}

/* Reads the permissions group named by one of names, if c has one. */
static int read_perms_at(struct nkeyauth *na, const struct natsd_cfg *c,
			 const char *const *names, struct nkeyauth_perms *p)
{
	const struct natsd_cfg *g;
	const char *k = first_key(na, c, names);

	if (k == NULL)
		return 0;
	if (na->api->cfg_section(c, k, &g) != 0)
		return NATSD_EINVAL;
	return read_perms(na, g, p);
}

static int perms_copy(struct nkeyauth_perms *dst,
		      const struct nkeyauth_perms *src)
{
	size_t i;
	int k, rc;

	*dst = *src;
	for (k = 0; k < NKEYAUTH_NLISTS; k++) {
		dst->subjects[k] = NULL;
		dst->n[k] = 0;
		for (i = 0; i < src->n[k]; i++) {
			rc = strv_push(&dst->subjects[k], &dst->n[k],
				       src->subjects[k][i]);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

static void user_fini(struct nkeyauth_user *u)
{
	free(u->key);
	free(u->account);
	perms_fini(&u->perms);
	strv_free(u->conn_types, u->nconn_types);
}

/* Says where in the file a bad entry is. */
static void entry_err(struct nkeyauth *na, const struct natsd_cfg *c,
		      const char *key, const char *what, char *err,
		      size_t errlen)
{
	const char *file;
	int line;

	if (na->api->cfg_where(c, key, &file, &line) == 0)
		snprintf(err, errlen, "%s:%d: %s", file, line, what);
	else
		snprintf(err, errlen, "auth_nkey: %s", what);
}

static int read_user(struct nkeyauth *na, const struct nkeyauth_table *t,
		     const struct natsd_cfg *c, const char *in_account,
		     struct nkeyauth_user *u, char *err, size_t errlen)
{
	static const char *const perm_keys[] = { "permissions", "permission",
						 "authorization", NULL };
	static const char *const ct_keys[] = { "allowed_connection_types",
					       "connection_types", "clients",
					       NULL };
	const char *key, *acc, *k;
	int rc;

	if (na->api->cfg_string(c, "nkey", &key) != 0 ||
	    nkey_decode_public(NKEY_USER, key, u->pub) != 0) {
		entry_err(na, c, "nkey", "Not a valid public nkey for a user",
			  err, errlen);
		return NATSD_EINVAL;
	}
	u->key = strdup(key);
	if (u->key == NULL)
		return NATSD_ENOMEM;
	/* A user listed in accounts { NAME { users } } belongs to NAME. */
	if (in_account != NULL ||
	    na->api->cfg_string(c, "account", &acc) == 0) {
		u->account = strdup(in_account != NULL ? in_account : acc);
		if (u->account == NULL)
			return NATSD_ENOMEM;
	}
	rc = read_perms_at(na, c, perm_keys, &u->perms);
	if (rc == 0 && !u->perms.present && t->defaults.present)
		rc = perms_copy(&u->perms, &t->defaults);
	k = first_key(na, c, ct_keys);
	if (rc == 0 && k != NULL)
		rc = read_strings(na, c, k, &u->conn_types, &u->nconn_types);
	if (rc == NATSD_EINVAL)
		entry_err(na, c, NULL, "bad permissions or connection types",
			  err, errlen);
	return rc;
}

/* Is the last user's key among the ones before it? */
static bool seen_before(const struct nkeyauth_table *t)
{
	const struct nkeyauth_user *last = &t->users[t->nusers - 1];
	size_t i;

	for (i = 0; i + 1 < t->nusers; i++)
		if (memcmp(t->users[i].pub, last->pub, 32) == 0)
			return true;
	return false;
}

/* Adds the nkey entries of cfg's users list (users of account
 * in_account when not NULL). */
static int read_user_list(struct nkeyauth *na, struct nkeyauth_table *t,
			  const struct natsd_cfg *cfg, const char *in_account,
			  char *err, size_t errlen)
{
	const struct natsd_cfg *c;
	struct nkeyauth_user *nu;
	const char *key;
	size_t i, n;
	int rc;

	rc = na->api->cfg_sections_len(cfg, "users", &n);
	if (rc == NATSD_ENOENT)
		return 0;
	if (rc != 0) {
		entry_err(na, cfg, "users", "users must be a list of groups",
			  err, errlen);
		return rc;
	}
	nu = realloc(t->users, (t->nusers + n + 1) * sizeof(*nu));
	if (nu == NULL)
		return NATSD_ENOMEM;
	t->users = nu;
	memset(t->users + t->nusers, 0, (n + 1) * sizeof(*nu));
	for (i = 0; i < n; i++) {
		rc = na->api->cfg_sections_at(cfg, "users", i, &c);
		if (rc != 0)
			return rc;
		/* Users with a password are the builtin authenticator's. */
		if (na->api->cfg_string(c, "nkey", &key) == NATSD_ENOENT)
			continue;
		rc = read_user(na, t, c, in_account, &t->users[t->nusers++],
			       err, errlen);
		if (rc != 0)
			return rc;
		if (seen_before(t)) {
			entry_err(na, c, "nkey", "Duplicate nkey", err, errlen);
			return NATSD_EINVAL;
		}
	}
	return 0;
}

/* The users of accounts { NAME { users } }, which need the ABI's key
 * names (1.2). */
static int read_account_users(struct nkeyauth *na, struct nkeyauth_table *t,
			      const struct natsd_cfg *root, char *err,
			      size_t errlen)
{
	const struct natsd_cfg *accs, *acc;
	const char *name;
	size_t i;
	int rc;

	if (na->api->cfg_section(root, "accounts", &accs) != 0)
		return 0;
	if (!NATSD_HAS(na->api, cfg_key_at)) {
		snprintf(err, errlen,
			 "auth_nkey: nkey users in accounts need natsd plugin "
			 "ABI 1.2 or later");
		return NATSD_ENOTSUP;
	}
	for (i = 0; na->api->cfg_key_at(accs, i, &name) == 0; i++) {
		if (na->api->cfg_section(accs, name, &acc) != 0)
			continue;
		rc = read_user_list(na, t, acc, name, err, errlen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* cfg is the authorization section (or this plugin's own settings), or
 * the whole file when the server loads the plugin by itself: then the
 * users are in authorization.users and accounts.<NAME>.users. */
static int read_users(struct nkeyauth *na, struct nkeyauth_table *t,
		      const struct natsd_cfg *cfg, char *err, size_t errlen)
{
	static const char *const def_keys[] = { "default_permissions",
						"default_permission",
						"permissions", NULL };
	const struct natsd_cfg *root = NULL, *auth;
	int rc;

	if (cfg == NULL)
		return 0;
	if (!NATSD_HAS(na->api, cfg_sections_at)) {
		snprintf(err, errlen,
			 "auth_nkey needs natsd plugin ABI 1.1 "
			 "or later");
		return NATSD_ENOTSUP;
	}
	if (na->api->cfg_section(cfg, "authorization", &auth) == 0 ||
	    na->api->cfg_section(cfg, "accounts", &auth) == 0) {
		root = cfg;
		if (na->api->cfg_section(root, "authorization", &auth) != 0)
			auth = NULL;
	} else {
		auth = cfg;
	}
	if (auth != NULL) {
		rc = read_perms_at(na, auth, def_keys, &t->defaults);
		if (rc != 0) {
			entry_err(na, auth, NULL, "bad default_permissions",
				  err, errlen);
			return rc;
		}
		rc = read_user_list(na, t, auth, NULL, err, errlen);
		if (rc != 0)
			return rc;
	}
	return root != NULL ? read_account_users(na, t, root, err, errlen)
			    : 0;
}

static void table_free(struct nkeyauth_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nusers; i++)
		user_fini(&t->users[i]);
	free(t->users);
	perms_fini(&t->defaults);
	free(t);
}

/* Reads the users of cfg into a new table *out. 0, or a negative code
 * with err set. */
static int table_read(struct nkeyauth *na, const struct natsd_cfg *cfg,
		      struct nkeyauth_table **out, char *err, size_t errlen)
{
	struct nkeyauth_table *t;
	int rc;

	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		snprintf(err, errlen, "auth_nkey: out of memory");
		return NATSD_ENOMEM;
	}
	t->refs = 1;
	rc = read_users(na, t, cfg, err, errlen);
	if (rc == NATSD_ENOMEM)
		snprintf(err, errlen, "auth_nkey: out of memory");
	if (rc != 0) {
		table_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

static struct nkeyauth_table *table_get(struct nkeyauth *na)
{
	struct nkeyauth_table *t;

	pthread_mutex_lock(&na->lock);
	t = na->table;
	t->refs++;
	pthread_mutex_unlock(&na->lock);
	return t;
}

static void table_put(struct nkeyauth *na, struct nkeyauth_table *t)
{
	bool last;

	pthread_mutex_lock(&na->lock);
	last = --t->refs == 0;
	pthread_mutex_unlock(&na->lock);
	if (last)
		table_free(t);
}

/* Authentication                                                       */

/* Finds the user whose key is pub. Every entry is compared, in constant
 * time, so the time taken tells nothing about the keys. */
static const struct nkeyauth_user *find_user(const struct nkeyauth_table *t,
					     const unsigned char pub[32])
{
	const struct nkeyauth_user *found = NULL;
	size_t i;

	for (i = 0; i < t->nusers; i++)
		if (CRYPTO_memcmp(t->users[i].pub, pub, 32) == 0)
			found = &t->users[i];
	return found;
}

static bool conn_type_allowed(const struct nkeyauth_user *u, const char *t)
{
	size_t i;

	if (u->nconn_types == 0)
		return true;
	for (i = 0; t != NULL && i < u->nconn_types; i++)
		if (strcasecmp(u->conn_types[i], t) == 0)
			return true;
	return false;
}

static int grant(struct nkeyauth *na, struct natsd_auth_req *r,
		 const struct nkeyauth_user *u)
{
	const struct nkeyauth_perms *p = &u->perms;
	size_t i;
	int k, rc;

	rc = na->api->auth_set_user(r, u->key);
	if (rc == 0 && u->account != NULL)
		rc = na->api->auth_set_account(r, u->account);
	for (k = 0; rc == 0 && k < NKEYAUTH_NLISTS; k++)
		for (i = 0; rc == 0 && i < p->n[k]; i++)
			rc = na->api->auth_permit(r, k + 1, p->subjects[k][i]);
	if (rc == 0 && p->resp)
		rc = na->api->auth_set_responses(r, p->resp_max,
						 p->resp_expires);
	return rc == 0 ? NATSD_AUTH_ACCEPT : NATSD_AUTH_REJECT;
}

/* Rejects r, logging why at debug level (never the signature). */
static int refuse(struct nkeyauth *na, struct natsd_auth_req *r,
		  const char *nkey, const char *why)
{
	const char *ip = na->api->auth_field(r, NATSD_AF_REMOTE_IP);

	na->api->log(na->h, NATSD_LOG_DEBUG, "%s - nkey %s: %s", ip ? ip : "?",
		     nkey, why);
	return NATSD_AUTH_REJECT;
}

/* Checks r against the users of t. */
static int check(struct nkeyauth *na, const struct nkeyauth_table *t,
		 struct natsd_auth_req *r, const char *nkey)
{
	const struct natsd_host_api *api = na->api;
	const char *nonce, *sig;
	const struct nkeyauth_user *u;
	unsigned char pub[32], raw[NKEY_SIG_LEN];
	int rc;

	if (nkey_decode_public(NKEY_USER, nkey, pub) != 0)
		return refuse(na, r, nkey, "not a valid user nkey");
	u = find_user(t, pub);
	if (u == NULL)
		return refuse(na, r, nkey, "no such nkey user");
	nonce = api->auth_field(r, NATSD_AF_NONCE);
	if (nonce == NULL)
		return refuse(na, r, nkey, "no nonce was sent to the client");
	sig = api->auth_field(r, NATSD_AF_SIG);
	if (sig == NULL)
		return refuse(na, r, nkey, "signature missing");
	if (nkey_sig_decode(sig, raw) != 0)
		return refuse(na, r, nkey, "signature not valid base64");
	rc = nkey_verify(u->pub, nonce, strlen(nonce), raw);
	if (rc != 0)
		return refuse(na, r, nkey, "signature not verified");
	if (!conn_type_allowed(u, api->auth_field(r, NATSD_AF_CONN_TYPE)))
		return refuse(na, r, nkey, "connection type not allowed");
	return grant(na, r, u);
}

static int nkeyauth_authenticate(void *pctx, struct natsd_auth_req *r)
{
	struct nkeyauth *na = pctx;
	const char *nkey = na->api->auth_field(r, NATSD_AF_NKEY);
	struct nkeyauth_table *t;
	int v;

	/* A user JWT carries its own key: the JWT authenticator's. */
	if (nkey == NULL || na->api->auth_field(r, NATSD_AF_JWT) != NULL)
		return NATSD_AUTH_NEXT;
	t = table_get(na);
	v = check(na, t, r, nkey);
	table_put(na, t);
	return v;
}

/* SIGHUP: the users of the re-read settings replace ours as a whole. */
static int nkeyauth_reload_settings(void *pctx, const struct natsd_cfg *cfg)
{
	struct nkeyauth *na = pctx;
	struct nkeyauth_table *t, *old;
	char err[512];
	int rc;

	rc = table_read(na, cfg, &t, err, sizeof(err));
	if (rc != 0) {
		na->api->log(na->h, NATSD_LOG_ERROR,
			     "auth_nkey: keeping the old users: %s", err);
		return rc;
	}
	pthread_mutex_lock(&na->lock);
	old = na->table;
	na->table = t;
	pthread_mutex_unlock(&na->lock);
	table_put(na, old);
	na->api->log(na->h, NATSD_LOG_DEBUG, "auth_nkey: %zu nkey user%s",
		     t->nusers, t->nusers == 1 ? "" : "s");
	return 0;
}

static const struct natsd_auth_ops nkeyauth_ops = {
	.struct_size = sizeof(struct natsd_auth_ops),
	.name = NKEYAUTH_NAME,
	.flags = NATSD_AUTH_F_NONCE | NATSD_AUTH_F_REQUIRED,
	.authenticate = nkeyauth_authenticate,
	.reload_settings = nkeyauth_reload_settings,
};

/* The plugin                                                           */

static void nkeyauth_fini(void *ctx)
{
	struct nkeyauth *na = ctx;

	if (na == NULL)
		return;
	table_free(na->table);
	pthread_mutex_destroy(&na->lock);
	free(na);
}

static int nkeyauth_init(struct natsd_host *h, const struct natsd_host_api *api,
			 const struct natsd_cfg *cfg, void **ctx, char *err,
			 size_t errlen)
{
	struct nkeyauth *na;
	int rc;

	na = calloc(1, sizeof(*na));
	if (na == NULL)
		return NATSD_ENOMEM;
	na->h = h;
	na->api = api;
	pthread_mutex_init(&na->lock, NULL);
	rc = table_read(na, cfg, &na->table, err, errlen);
	if (rc == 0) {
		rc = api->register_auth(h, &nkeyauth_ops, na);
		if (rc != 0)
			snprintf(err, errlen,
				 "auth_nkey: cannot register the "
				 "authenticator");
	}
	if (rc != 0) {
		nkeyauth_fini(na);
		return rc;
	}
	api->log(h, NATSD_LOG_DEBUG, "auth_nkey: %zu nkey user%s",
		 na->table->nusers, na->table->nusers == 1 ? "" : "s");
	*ctx = na;
	return 0;
}

static const struct natsd_plugin nkeyauth_plugin = {
	NATSD_PLUGIN_INIT,          .name = "auth_nkey",
	.version = PACKAGE_VERSION, .init = nkeyauth_init,
	.fini = nkeyauth_fini,
};

NATSD_PLUGIN_EXPORT const struct natsd_plugin *
natsd_plugin_entry(uint16_t host_major, uint16_t host_minor)
{
	(void)host_major;
	(void)host_minor;
	return &nkeyauth_plugin;
}
