/* The built-in authenticator, registered through the same auth ABI a
 * plugin uses: a single user/password (--user/--pass), a token (--auth),
 * an authorization users list with permissions and accounts, and
 * no_auth_user. Passwords and tokens may be bcrypt hashes ("$2a$..."),
 * checked with libcrypt; plain ones are compared in constant time.
 *
 * The settings are copied out of the options into a snapshot that a
 * reload swaps under a lock, so a client authenticating on an I/O thread
 * never sees half of an old and half of a new user list. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <crypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "auth.h"
#include "host.h"
#include "log.h"
#include "opts.h"
#include "perms.h"
#include "server.h"

struct builtin_user {
	char *user;
	char *password;
	char *account;
	struct perms *perms;
	char **conn_types; /* allowed_connection_types; NULL: all */
	size_t nconn_types;
};

struct builtin_snap {
	char *user, *password, *token, *no_auth_user;
	/* The websocket block's authorization, in force for websocket
	 * clients instead of the above when ws_override. */
	bool ws_override;
	char *ws_user, *ws_password, *ws_token, *ws_no_auth_user;
	struct builtin_user *users;
	size_t nusers;
	struct perms *default_perms;
	int refs;
};

struct builtin {
	struct server *srv;
	pthread_mutex_t lock;
	struct builtin_snap *snap;
};

static struct builtin builtin_state;

static void snap_unref(struct builtin_snap *s)
{
	size_t i, k;

	if (s == NULL || --s->refs > 0)
		return;
	free(s->user);
	if (s->password)
		OPENSSL_cleanse(s->password, strlen(s->password));
	free(s->password);
	if (s->token)
		OPENSSL_cleanse(s->token, strlen(s->token));
	free(s->token);
	free(s->no_auth_user);
	free(s->ws_user);
	if (s->ws_password)
		OPENSSL_cleanse(s->ws_password, strlen(s->ws_password));
	free(s->ws_password);
	if (s->ws_token)
		OPENSSL_cleanse(s->ws_token, strlen(s->ws_token));
	free(s->ws_token);
	free(s->ws_no_auth_user);
	for (i = 0; i < s->nusers; i++) {
		free(s->users[i].user);
		if (s->users[i].password)
			OPENSSL_cleanse(s->users[i].password,
					strlen(s->users[i].password));
		free(s->users[i].password);
		free(s->users[i].account);
		perms_free(s->users[i].perms);
		for (k = 0; k < s->users[i].nconn_types; k++)
			free(s->users[i].conn_types[k]);
		free(s->users[i].conn_types);
	}
	free(s->users);
	perms_free(s->default_perms);
	free(s);
}

static char *dup_or_null(const char *v)
{
	return v ? strdup(v) : NULL;
}

static int perms_from_opts(const struct opts_perms *op, struct perms **out)
{
	struct perms *p;
	size_t i;
	int rc = 0;

	*out = NULL;
	if (op == NULL)
		return 0;
	p = perms_new();
	if (p == NULL)
		return NATSD_ENOMEM;
	/* An empty list in the file counts as absent, as in nats-server
	 * (publish = { allow = [] } allows everything). */
#define ADD_LIST(field, kind)                                        \
	do {                                                         \
		for (i = 0; rc == 0 && i < op->field.n; i++)         \
			rc = perms_add(p, kind, op->field.v[i]);     \
	} while (0)
	ADD_LIST(pub_allow, NATSD_PERM_PUB_ALLOW);
	ADD_LIST(pub_deny, NATSD_PERM_PUB_DENY);
	ADD_LIST(sub_allow, NATSD_PERM_SUB_ALLOW);
	ADD_LIST(sub_deny, NATSD_PERM_SUB_DENY);
#undef ADD_LIST
	if (op->has_resp) {
		p->resp = true;
		/* A negative max means unlimited, as in nats-server. */
		p->resp_max = op->resp_max != 0 ? op->resp_max : 1;
		p->resp_expires = op->resp_expires > 0 ? op->resp_expires
						       : 120000000000LL;
		/* allow_responses without a publish allow list: only
		 * responses may be published. */
		p->pub_allow.set = true;
	}
	if (rc != 0) {
		perms_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

static int copy_conn_types(struct builtin_user *u,
			   const struct opts_strlist *l)
{
	size_t i;

	if (l->n == 0)
		return 0;
	u->conn_types = calloc(l->n, sizeof(*u->conn_types));
	if (u->conn_types == NULL)
		return NATSD_ENOMEM;
	for (i = 0; i < l->n; i++) {
		u->conn_types[i] = strdup(l->v[i]);
		if (u->conn_types[i] == NULL)
			return NATSD_ENOMEM;
		u->nconn_types++;
	}
	return 0;
}

/* allowed_connection_types: may this user come in over this kind of
 * connection ("STANDARD", "WEBSOCKET", ...)? */
static bool conn_type_allowed(const struct builtin_user *u, const char *type)
{
	size_t i;

	if (u->nconn_types == 0)
		return true;
	for (i = 0; type != NULL && i < u->nconn_types; i++)
		if (strcasecmp(u->conn_types[i], type) == 0)
			return true;
	return false;
}

static struct builtin_snap *snap_from_opts(const struct opts *o)
{
	struct builtin_snap *s;
	size_t i;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->refs = 1;
	s->user = dup_or_null(o->user);
	s->password = dup_or_null(o->password);
	s->token = dup_or_null(o->token);
	s->no_auth_user = dup_or_null(o->no_auth_user);
	s->ws_override = opts_ws_auth_override(o);
	s->ws_user = dup_or_null(o->websocket.user);
	s->ws_password = dup_or_null(o->websocket.password);
	s->ws_token = dup_or_null(o->websocket.token);
	s->ws_no_auth_user = dup_or_null(o->websocket.no_auth_user);
	if ((o->websocket.user && !s->ws_user) ||
	    (o->websocket.password && !s->ws_password) ||
	    (o->websocket.token && !s->ws_token) ||
	    (o->websocket.no_auth_user && !s->ws_no_auth_user))
		goto out_free;
	if (perms_from_opts(o->default_permissions, &s->default_perms) != 0)
		goto out_free;
	if (o->nusers > 0) {
		s->users = calloc(o->nusers, sizeof(*s->users));
		if (s->users == NULL)
			goto out_free;
	}
	for (i = 0; i < o->nusers; i++) {
		struct builtin_user *u = &s->users[s->nusers++];

		u->user = dup_or_null(o->users[i].user);
		u->password = dup_or_null(o->users[i].password);
		u->account = dup_or_null(o->users[i].account);
		if (copy_conn_types(u, &o->users[i].conn_types) != 0)
			goto out_free;
		if (perms_from_opts(o->users[i].perms, &u->perms) != 0)
			goto out_free;
		if (u->perms == NULL && s->default_perms != NULL) {
			u->perms = perms_dup(s->default_perms);
			if (u->perms == NULL)
				goto out_free;
		}
	}
	return s;

out_free:
	snap_unref(s);
	return NULL;
}

static bool secret_equal(const char *stored, const char *given)
{
	struct crypt_data cd;
	const char *h;
	size_t a, b;

	if (stored == NULL || given == NULL)
		return false;
	if (strncmp(stored, "$2", 2) == 0) {
		memset(&cd, 0, sizeof(cd));
		h = crypt_r(given, stored, &cd);
		return h != NULL && h[0] != '*' && strlen(h) == strlen(stored) &&
		       CRYPTO_memcmp(h, stored, strlen(stored)) == 0;
	}
	a = strlen(stored);
	b = strlen(given);
	return a == b && CRYPTO_memcmp(stored, given, a) == 0;
}

static struct builtin_snap *snap_get(struct builtin *b)
{
	struct builtin_snap *s;

	pthread_mutex_lock(&b->lock);
	s = b->snap;
	if (s != NULL)
		s->refs++;
	pthread_mutex_unlock(&b->lock);
	return s;
}

static void snap_put(struct builtin *b, struct builtin_snap *s)
{
	pthread_mutex_lock(&b->lock);
	snap_unref(s);
	pthread_mutex_unlock(&b->lock);
}

static int accept_user(struct natsd_auth_req *r,
		       const struct builtin_user *u)
{
	const struct natsd_host_api *api = host_api();
	const struct perms *p = u->perms;
	const struct perm_list *lists[4];
	static const int kinds[4] = { NATSD_PERM_PUB_ALLOW,
				      NATSD_PERM_PUB_DENY,
				      NATSD_PERM_SUB_ALLOW,
				      NATSD_PERM_SUB_DENY };
	char entry[1024];
	size_t i, k;

	if (!conn_type_allowed(u, api->auth_field(r, NATSD_AF_CONN_TYPE)))
		return NATSD_AUTH_REJECT;
	api->auth_set_user(r, u->user);
	if (u->account != NULL)
		api->auth_set_account(r, u->account);
	if (p == NULL)
		return NATSD_AUTH_ACCEPT;
	lists[0] = &p->pub_allow;
	lists[1] = &p->pub_deny;
	lists[2] = &p->sub_allow;
	lists[3] = &p->sub_deny;
	for (k = 0; k < 4; k++) {
		if (lists[k]->set)
			api->auth_permit(r, kinds[k], NULL);
		for (i = 0; i < lists[k]->n; i++) {
			const struct perm_entry *e = &lists[k]->v[i];

			if (e->queue != NULL)
				snprintf(entry, sizeof(entry), "%s %s",
					 e->subject, e->queue);
			else
				snprintf(entry, sizeof(entry), "%s",
					 e->subject);
			api->auth_permit(r, kinds[k], entry);
		}
	}
	if (p->resp)
		api->auth_set_responses(r, p->resp_max, p->resp_expires);
	return NATSD_AUTH_ACCEPT;
}

static const struct builtin_user *find_user(const struct builtin_snap *s,
					    const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < s->nusers; i++)
		if (s->users[i].user && strcmp(s->users[i].user, name) == 0)
			return &s->users[i];
	return NULL;
}

static const struct builtin_user *find_user_n(const struct builtin_snap *s,
					      const char *name, size_t len)
{
	size_t i;

	for (i = 0; name != NULL && i < s->nusers; i++)
		if (s->users[i].user && strlen(s->users[i].user) == len &&
		    memcmp(s->users[i].user, name, len) == 0)
			return &s->users[i];
	return NULL;
}

/* verify_and_map: the configured user the client certificate names, by
 * its email, DNS or URI subject alternative names, in that order, then
 * by its subject in RFC 2253 form ("CN=alice,O=Acme"). NULL when none. */
static const struct builtin_user *map_user(const struct builtin_snap *s,
					   struct natsd_auth_req *r)
{
	static const int kinds[3] = { GEN_EMAIL, GEN_DNS, GEN_URI };
	const struct builtin_user *u = NULL;
	const unsigned char *der, *p;
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	size_t len;
	char *dn;
	long n;
	BIO *b;
	X509 *x;
	int i, k;

	if (host_api()->auth_peer_cert(r, &der, &len) != 0)
		return NULL;
	p = der;
	x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL)
		return NULL;
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (k = 0; k < 3 && u == NULL; k++) {
		for (i = 0;
		     gens != NULL && i < sk_GENERAL_NAME_num(gens) && u == NULL;
		     i++) {
			g = sk_GENERAL_NAME_value(gens, i);
			if (g->type != kinds[k])
				continue;
			u = find_user_n(
				s,
				(const char *)ASN1_STRING_get0_data(g->d.ia5),
				(size_t)ASN1_STRING_length(g->d.ia5));
		}
	}
	GENERAL_NAMES_free(gens);
	b = u == NULL ? BIO_new(BIO_s_mem()) : NULL;
	if (b != NULL) {
		if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
				       XN_FLAG_RFC2253) >= 0) {
			n = BIO_get_mem_data(b, &dn);
			if (n > 0)
				u = find_user_n(s, dn, (size_t)n);
		}
		BIO_free(b);
	}
	X509_free(x);
	return u;
}

static bool no_credentials(struct natsd_auth_req *r)
{
	const struct natsd_host_api *api = host_api();

	return api->auth_field(r, NATSD_AF_USER) == NULL &&
	       api->auth_field(r, NATSD_AF_PASS) == NULL &&
	       api->auth_field(r, NATSD_AF_TOKEN) == NULL &&
	       api->auth_field(r, NATSD_AF_NKEY) == NULL &&
	       api->auth_field(r, NATSD_AF_JWT) == NULL;
}

/* The single credentials in force for a client: the server's, or for a
 * websocket client those of the websocket block when it has any (as
 * nats-server's websocket auth override). */
struct builtin_creds {
	const char *user, *password, *token, *no_auth_user;
};

static int builtin_decide(const struct builtin_snap *s,
			  struct natsd_auth_req *r, bool tls_map)
{
	const struct natsd_host_api *api = host_api();
	const char *user = api->auth_field(r, NATSD_AF_USER);
	const char *pass = api->auth_field(r, NATSD_AF_PASS);
	const char *token = api->auth_field(r, NATSD_AF_TOKEN);
	const char *type = api->auth_field(r, NATSD_AF_CONN_TYPE);
	struct builtin_creds k = { s->user, s->password, s->token,
				   s->no_auth_user };
	const struct builtin_user *u;

	/* The certificate is the credential: no password is asked, and a
	 * certificate that names nobody is refused. */
	if (tls_map && s->nusers > 0) {
		u = map_user(s, r);
		return u != NULL ? accept_user(r, u) : NATSD_AUTH_REJECT;
	}

	if (s->ws_override && type != NULL && strcmp(type, "WEBSOCKET") == 0) {
		k.user = s->ws_user;
		k.password = s->ws_password;
		k.token = s->ws_token;
		k.no_auth_user = s->ws_no_auth_user;
	}
	if (k.no_auth_user != NULL && no_credentials(r)) {
		u = find_user(s, k.no_auth_user);
		if (u != NULL)
			return accept_user(r, u);
		if (k.user != NULL && strcmp(k.user, k.no_auth_user) == 0)
			return NATSD_AUTH_ACCEPT;
	}
	if (s->nusers > 0) {
		u = find_user(s, user);
		if (u == NULL)
			return NATSD_AUTH_NEXT;
		if (!secret_equal(u->password, pass))
			return NATSD_AUTH_REJECT;
		return accept_user(r, u);
	}
	if (k.token != NULL) {
		if (token == NULL)
			return NATSD_AUTH_NEXT;
		return secret_equal(k.token, token) ? NATSD_AUTH_ACCEPT
						    : NATSD_AUTH_REJECT;
	}
	if (k.user != NULL) {
		if (user == NULL || strcmp(user, k.user) != 0)
			return NATSD_AUTH_NEXT;
		if (!secret_equal(k.password, pass))
			return NATSD_AUTH_REJECT;
		api->auth_set_user(r, user);
		return NATSD_AUTH_ACCEPT;
	}
	return NATSD_AUTH_NEXT;
}

/* verify_and_map is the listener's: a websocket client's certificate is
 * mapped when the websocket block's tls says so, as in nats-server. */
static uint32_t builtin_listener_tf(const struct builtin *b,
				    struct natsd_auth_req *r)
{
	const char *type = host_api()->auth_field(r, NATSD_AF_CONN_TYPE);

	if (type != NULL && strcmp(type, "WEBSOCKET") == 0)
		return b->srv->ws_tf;
	return b->srv->client_tf;
}

static int builtin_authenticate(void *pctx, struct natsd_auth_req *r)
{
	struct builtin *b = pctx;
	struct builtin_snap *s;
	int v;

	s = snap_get(b);
	if (s == NULL)
		return NATSD_AUTH_NEXT;
	v = builtin_decide(s, r,
			   (builtin_listener_tf(b, r) & NATSD_TF_TLS_MAP) != 0);
	snap_put(b, s);
	return v;
}

static bool snap_requires(const struct builtin_snap *s)
{
	return s->nusers > 0 || s->token != NULL || s->user != NULL;
}

static int builtin_reload(void *pctx)
{
	struct builtin *b = pctx;
	struct builtin_snap *ns, *old;
	struct authn *a;

	pthread_mutex_lock(&b->srv->opts_lock);
	ns = snap_from_opts(&b->srv->opts);
	pthread_mutex_unlock(&b->srv->opts_lock);
	if (ns == NULL)
		return NATSD_ENOMEM;
	a = registry_auth(b->srv->reg, "builtin");
	if (a != NULL)
		a->ops.flags = snap_requires(ns) ? NATSD_AUTH_F_REQUIRED : 0;
	pthread_mutex_lock(&b->lock);
	old = b->snap;
	b->snap = ns;
	snap_unref(old);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static const struct natsd_auth_ops builtin_ops = {
	.struct_size = sizeof(struct natsd_auth_ops),
	.name = "builtin",
	.authenticate = builtin_authenticate,
	.reload = builtin_reload,
};

int auth_builtin_register(struct server *s)
{
	struct builtin *b = &builtin_state;
	int rc;

	b->srv = s;
	pthread_mutex_init(&b->lock, NULL);
	rc = host_register_auth(s, &builtin_ops, b);
	if (rc != 0)
		return rc;
	return builtin_reload(b);
}

void auth_builtin_fini(void)
{
	struct builtin *b = &builtin_state;

	if (b->srv == NULL)
		return;
	snap_unref(b->snap);
	b->snap = NULL;
	pthread_mutex_destroy(&b->lock);
	b->srv = NULL;
}
