/* The authentication chain and its requests.
 *
 * A request copies what the authenticators may read (CONNECT fields,
 * nonce, peer) so that an answer-later authenticator can keep it while the
 * client's read buffer moves on. The verdict comes back to the client's
 * own thread: auth_done() from another thread posts it there. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "auth.h"
#include "client.h"
#include "conn.h"
#include "host.h"
#include "log.h"
#include "perms.h"
#include "proto.h"
#include "server.h"

#define AUTH_NFIELDS (NATSD_AF_TRANSPORT + 1)

enum auth_state {
	AUTH_RUNNING = 0,
	AUTH_WAITING = 1, /* an authenticator answers later */
	AUTH_ANSWERED = 2,
	AUTH_CANCELLED = 3, /* the client went away first */
};

struct natsd_auth_req {
	struct conn *c; /* NULL once the client went away */
	struct server *srv;
	char *fields[AUTH_NFIELDS];
	size_t pos; /* index in the chain */
	_Atomic int state;
	int verdict;
	/* The identity an authenticator set. */
	char *user;
	char *account;
	struct perms *perms;
	int64_t expiry_ns;
	int64_t max_subs, max_payload;
};

static void auth_req_free(struct natsd_auth_req *r)
{
	int i;

	for (i = 0; i < AUTH_NFIELDS; i++)
		free(r->fields[i]);
	free(r->user);
	free(r->account);
	perms_free(r->perms);
	free(r);
}

static int set_field(struct natsd_auth_req *r, int f, const char *v)
{
	if (v == NULL)
		return 0;
	r->fields[f] = strdup(v);
	return r->fields[f] ? 0 : NATSD_ENOMEM;
}

/* The JWT a websocket layer found in the jwt_cookie, or NULL. */
static const char *auth_cookie_jwt(struct conn *c)
{
	struct natsd_stream *s;
	const void *out = NULL;
	size_t len = 0;

	for (s = c->top; s != NULL; s = s->below)
		if (s->ops->query != NULL &&
		    s->ops->query(s->sctx, NATSD_Q_JWT_COOKIE, &out, &len) == 0)
			return out;
	return NULL;
}

static struct natsd_auth_req *auth_req_new(struct conn *c,
					   const struct proto_connect *ci)
{
	struct natsd_auth_req *r;
	int rc = 0;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->c = c;
	r->srv = c->srv;
	r->max_subs = -2; /* unset */
	r->max_payload = -2;
	if (ci != NULL) {
		rc |= set_field(r, NATSD_AF_USER, ci->user.s);
		rc |= set_field(r, NATSD_AF_PASS, ci->pass.s);
		rc |= set_field(r, NATSD_AF_TOKEN, ci->auth_token.s);
		rc |= set_field(r, NATSD_AF_NKEY, ci->nkey.s);
		rc |= set_field(r, NATSD_AF_SIG, ci->sig.s);
		rc |= set_field(r, NATSD_AF_JWT, ci->jwt.s);
		rc |= set_field(r, NATSD_AF_NAME, ci->name.s);
		rc |= set_field(r, NATSD_AF_LANG, ci->lang.s);
		rc |= set_field(r, NATSD_AF_VERSION, ci->version.s);
	}
	if (c->nonce[0] != '\0')
		rc |= set_field(r, NATSD_AF_NONCE, c->nonce);
	rc |= set_field(r, NATSD_AF_REMOTE_IP, c->ip);
	rc |= set_field(r, NATSD_AF_CONN_TYPE,
			(c->flags & CONN_F_WEBSOCKET) ? "WEBSOCKET"
						      : "STANDARD");
	/* A websocket client's JWT may come in the jwt_cookie instead. */
	if ((c->flags & CONN_F_WEBSOCKET) && r->fields[NATSD_AF_JWT] == NULL)
		rc |= set_field(r, NATSD_AF_JWT, auth_cookie_jwt(c));
	if (c->top != NULL && c->top->ops->name != NULL)
		rc |= set_field(r, NATSD_AF_TRANSPORT, c->top->ops->name);
	if (rc != 0) {
		auth_req_free(r);
		return NULL;
	}
	return r;
}

/* Gives c the identity r settled on. */
static int auth_apply(struct conn *c, struct natsd_auth_req *r)
{
	struct account *acc;

	acc = accounts_get(c->srv->accounts,
			   r->account ? r->account : "$G", true);
	if (acc == NULL)
		return NATSD_ENOMEM;
	if (!account_conn_add(acc))
		return NATSD_ENOSPC;
	c->acc = acc;
	c->perms = r->perms;
	r->perms = NULL;
	free(c->user);
	c->user = r->user;
	r->user = NULL;
	if (r->max_subs >= 0)
		c->max_subs = r->max_subs;
	if (r->max_payload >= 0 && r->max_payload < c->max_payload)
		c->max_payload = r->max_payload;
	account_limit_conn(acc, &c->max_subs, &c->max_payload);
	if (r->expiry_ns > 0)
		client_expire_at(c, r->expiry_ns);
	return 0;
}

/* Walks the chain from r->pos. Returns the verdict; PENDING leaves r
 * waiting in c->auth. */
static int auth_run(struct conn *c, struct natsd_auth_req *r)
{
	struct registry *reg = c->srv->reg;
	struct authn *a;
	int v;

	for (; r->pos < reg->nchain; r->pos++) {
		a = reg->chain[r->pos];
		atomic_store(&r->state, AUTH_RUNNING);
		v = a->ops.authenticate(a->pctx, r);
		if (v == NATSD_AUTH_PENDING) {
			int expect = AUTH_RUNNING;

			/* auth_done() may already have come, from another
			 * thread, while authenticate() ran. */
			if (atomic_compare_exchange_strong(&r->state, &expect,
							   AUTH_WAITING)) {
				c->auth = r;
				return NATSD_AUTH_PENDING;
			}
			v = r->verdict;
		}
		if (v == NATSD_AUTH_NEXT)
			continue;
		return v == NATSD_AUTH_ACCEPT ? NATSD_AUTH_ACCEPT
					      : NATSD_AUTH_REJECT;
	}
	/* Nobody claimed the client: fine unless authentication is
	 * required. */
	if (c->srv->auth_enforced ||
	    ((c->flags & CONN_F_WEBSOCKET) &&
	     opts_ws_auth_override(server_opts(c->srv))))
		return NATSD_AUTH_REJECT;
	return NATSD_AUTH_ACCEPT;
}

static int auth_finish(struct conn *c, struct natsd_auth_req *r, int v)
{
	int rc;

	if (v == NATSD_AUTH_ACCEPT && (rc = auth_apply(c, r)) != 0)
		v = rc == NATSD_ENOSPC ? AUTH_ACCOUNT_FULL : NATSD_AUTH_REJECT;
	auth_req_free(r);
	return v;
}

int auth_start(struct conn *c, const struct proto_connect *ci)
{
	struct natsd_auth_req *r;
	int v;

	r = auth_req_new(c, ci);
	if (r == NULL)
		return NATSD_AUTH_REJECT;
	v = auth_run(c, r);
	if (v == NATSD_AUTH_PENDING)
		return v;
	return auth_finish(c, r, v);
}

/* On the client's thread, after auth_done(). */
static void auth_answer_task(struct loop *l, void *arg)
{
	struct natsd_auth_req *r = arg;
	struct conn *c = r->c;
	int v = r->verdict;

	(void)l;
	if (c == NULL) {
		auth_req_free(r);
		return;
	}
	c->auth = NULL;
	if (v == NATSD_AUTH_NEXT) {
		r->pos++;
		v = auth_run(c, r);
		if (v == NATSD_AUTH_PENDING)
			return;
	}
	v = auth_finish(c, r, v == NATSD_AUTH_ACCEPT ? NATSD_AUTH_ACCEPT
						     : NATSD_AUTH_REJECT);
	client_auth_finished(c, v);
}

void auth_cancel(struct conn *c)
{
	struct natsd_auth_req *r = c->auth;
	struct authn *a;

	if (r == NULL)
		return;
	c->auth = NULL;
	if (atomic_load(&r->state) != AUTH_ANSWERED) {
		a = c->srv->reg->chain[r->pos];
		/* Once cancel() returns the plugin answers no more... */
		if (a->ops.cancel != NULL)
			a->ops.cancel(a->pctx, r);
		/* ...but it may have answered just before. */
		if (atomic_exchange(&r->state, AUTH_CANCELLED) != AUTH_ANSWERED) {
			auth_req_free(r);
			return;
		}
	}
	r->c = NULL; /* the answer task, already posted, frees it */
}

/* Host API: an answer-later authenticator's verdict, from any thread. */
void host_auth_done(struct natsd_auth_req *r, int verdict);
void host_auth_done(struct natsd_auth_req *r, int verdict)
{
	/* Read before the exchange: afterwards the client's thread may
	 * cancel and forget the connection. */
	struct loop *l = r->c->w->loop;
	int prev;

	r->verdict = verdict;
	prev = atomic_exchange(&r->state, AUTH_ANSWERED);
	/* Still inside authenticate(): auth_run picks the verdict up. */
	if (prev == AUTH_RUNNING)
		return;
	loop_post(l, auth_answer_task, r);
}

const char *host_auth_field(struct natsd_auth_req *r, int field);
const char *host_auth_field(struct natsd_auth_req *r, int field)
{
	if (field <= 0 || field >= AUTH_NFIELDS)
		return NULL;
	return r->fields[field];
}

static int replace_str(char **dst, const char *v)
{
	char *n = v ? strdup(v) : NULL;

	if (v != NULL && n == NULL)
		return NATSD_ENOMEM;
	free(*dst);
	*dst = n;
	return 0;
}

int host_auth_peer_cert(struct natsd_auth_req *r, const unsigned char **der,
			size_t *len);
int host_auth_peer_cert(struct natsd_auth_req *r, const unsigned char **der,
			size_t *len)
{
	const void *p = NULL;
	size_t n = 0;

	/* Only on the client's thread, while the client is there: the
	 * stream is the owner's. */
	if (r->c == NULL || r->c->top == NULL ||
	    server_current_worker() != r->c->w)
		return NATSD_ENOENT;
	if (host_stream_query(r->c->top, NATSD_Q_PEER_CERT_DER, &p, &n) != 0 ||
	    p == NULL)
		return NATSD_ENOENT;
	*der = p;
	*len = n;
	return 0;
}

int host_auth_set_user(struct natsd_auth_req *r, const char *name);
int host_auth_set_user(struct natsd_auth_req *r, const char *name)
{
	return replace_str(&r->user, name);
}

int host_auth_set_account(struct natsd_auth_req *r, const char *acc);
int host_auth_set_account(struct natsd_auth_req *r, const char *acc)
{
	return replace_str(&r->account, acc);
}

static struct perms *req_perms(struct natsd_auth_req *r)
{
	if (r->perms == NULL)
		r->perms = perms_new();
	return r->perms;
}

int host_auth_permit(struct natsd_auth_req *r, int list, const char *subj);
int host_auth_permit(struct natsd_auth_req *r, int list, const char *subj)
{
	struct perms *p = req_perms(r);

	return p ? perms_add(p, list, subj) : NATSD_ENOMEM;
}

int host_auth_set_responses(struct natsd_auth_req *r, int64_t max,
			    int64_t expires_ns);
int host_auth_set_responses(struct natsd_auth_req *r, int64_t max,
			    int64_t expires_ns)
{
	struct perms *p = req_perms(r);

	if (p == NULL)
		return NATSD_ENOMEM;
	p->resp = true;
	/* 0 takes nats-server's default; negative means unlimited. */
	p->resp_max = max != 0 ? max : 1;
	p->resp_expires = expires_ns != 0 ? expires_ns : 120000000000LL;
	/* With allow_responses and no publish allow list, nats-server
	 * allows publishing to nothing else. */
	p->pub_allow.set = true;
	return 0;
}

int host_auth_limit(struct natsd_auth_req *r, int limit, int64_t value);
int host_auth_limit(struct natsd_auth_req *r, int limit, int64_t value)
{
	switch (limit) {
	case NATSD_LIMIT_SUBS:
		r->max_subs = value < 0 ? 0 : value;
		return 0;
	case NATSD_LIMIT_PAYLOAD:
		r->max_payload = value;
		return 0;
	case NATSD_LIMIT_DATA:
		return 0; /* accepted; enforced with accounts */
	default:
		return NATSD_EINVAL;
	}
}

int host_auth_set_expiry(struct natsd_auth_req *r, int64_t unix_ns);
int host_auth_set_expiry(struct natsd_auth_req *r, int64_t unix_ns)
{
	r->expiry_ns = unix_ns;
	return 0;
}

int auth_chain_build(struct server *s, char *err, size_t errlen)
{
	struct registry *reg = s->reg;
	const struct opts *o = &s->opts;
	struct authn *a, **chain;
	size_t i, n = 0;

	free(reg->chain);
	reg->chain = NULL;
	reg->nchain = 0;
	if (o->auth_chain.n > 0) {
		chain = calloc(o->auth_chain.n, sizeof(*chain));
		if (chain == NULL)
			return NATSD_ENOMEM;
		for (i = 0; i < o->auth_chain.n; i++) {
			a = registry_auth(reg, o->auth_chain.v[i]);
			if (a == NULL) {
				snprintf(err, errlen,
					 "auth_chain: no authenticator named "
					 "\"%s\" is loaded",
					 o->auth_chain.v[i]);
				free(chain);
				return NATSD_ENOENT;
			}
			chain[n++] = a;
		}
	} else {
		chain = calloc(reg->nauths ? reg->nauths : 1, sizeof(*chain));
		if (chain == NULL)
			return NATSD_ENOMEM;
		for (i = 0; i < reg->nauths; i++)
			chain[n++] = reg->auths[i];
	}
	reg->chain = chain;
	reg->nchain = n;
	s->auth_enforced = false;
	s->nonce_required = false;
	for (i = 0; i < n; i++) {
		if (chain[i]->ops.flags & NATSD_AUTH_F_REQUIRED)
			s->auth_enforced = true;
		if (chain[i]->ops.flags & NATSD_AUTH_F_NONCE)
			s->nonce_required = true;
	}
	/* With no_auth_user, clients without credentials get in: INFO
	 * shows no auth_required, as nats-server does. */
	s->auth_required = s->auth_enforced && o->no_auth_user == NULL;
	/* nats-server: a websocket block with authorization of its own
	 * makes its clients' INFO say auth_required. */
	s->ws_auth_required = s->auth_required || opts_ws_auth_override(o);
	return 0;
}

/* a's settings in fresh: its plugins entry (the first with its load), or
 * the authorization section. */
static const struct natsd_cfg *fresh_settings(const struct authn *a,
					      const struct opts *fresh)
{
	size_t i;

	if (a->authz)
		return fresh->nkey_settings;
	if (a->jwt_root)
		return fresh->jwt_settings;
	for (i = 0; a->load != NULL && i < fresh->nplugins; i++)
		if (strcmp(fresh->plugins[i].load, a->load) == 0)
			return fresh->plugins[i].settings;
	return NULL;
}

void auth_reload_settings(struct server *s, const struct opts *fresh)
{
	struct registry *reg = s->reg;
	struct authn *a;
	size_t i;
	int rc;

	for (i = 0; i < reg->nauths; i++) {
		a = reg->auths[i];
		if (a->ops.reload_settings == NULL)
			continue;
		rc = a->ops.reload_settings(a->pctx, fresh_settings(a, fresh));
		if (rc != 0)
			log_error("Reloading authenticator %s failed: %s",
				  a->ops.name, strerror(-rc));
	}
}

void auth_reload(struct server *s)
{
	struct registry *reg = s->reg;
	size_t i;
	int rc;

	for (i = 0; i < reg->nauths; i++) {
		if (reg->auths[i]->ops.reload == NULL)
			continue;
		rc = reg->auths[i]->ops.reload(reg->auths[i]->pctx);
		if (rc != 0)
			log_error("Reloading authenticator %s failed: %s",
				  reg->auths[i]->ops.name, strerror(-rc));
	}
}
