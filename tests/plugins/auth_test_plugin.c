/* Test plugin "authtest": an authenticator that exercises the whole auth
 * part of the ABI through a real server.
 *
 * Settings (all optional):
 *   user, password  CONNECT with this user and password is accepted into
 *                   `account`, allowed to publish on "allowed.>" and to
 *                   subscribe to "allowed.>" and "_INBOX.>"; the user with
 *                   another password is rejected;
 *   account         the account those users land in (default: the host's);
 *   later_user      CONNECT with this user is answered later: accepted into
 *                   `account` after later_ms, from a host timer;
 *   later_ms        the delay of that answer (default 100);
 *   expire_user     CONNECT with this user is accepted (any password) with
 *                   credentials that expire AUTHTEST_EXPIRE_MS later.
 * Any other user (or none) is "not mine". Clients must authenticate.
 *
 * The host has no way to cancel a timer, so an answer-later request is a
 * record that the timer always frees; cancel() only marks it, under the
 * same lock the timer takes before it answers, so a cancelled request is
 * never answered. Both outcomes are logged for the test to see. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <natsd/plugin.h>

#define AUTHTEST_NAME	     "authtest"
#define AUTHTEST_DEFAULT_MS  100
#define AUTHTEST_MAX_MS	     600000
#define AUTHTEST_EXPIRE_MS   400

struct authtest_pending;

struct authtest {
	struct natsd_host *h;
	const struct natsd_host_api *api;
	const char *user;
	const char *password;
	const char *account;
	const char *later_user;
	const char *expire_user;
	int64_t later_ms;
	/* Guards pending and the records on it. */
	pthread_mutex_t lock;
	struct authtest_pending *pending; /* timers not yet fired */
};

/* One answer-later request, from authenticate() until its timer fires. */
struct authtest_pending {
	struct authtest *at;
	struct natsd_auth_req *req; /* NULL once the host cancelled it */
	struct authtest_pending *next;
};

/* Compares secrets in time that depends only on the lengths. */
static bool authtest_secret_equal(const char *a, const char *b)
{
	size_t la, lb, i;
	unsigned char d;

	if (a == NULL || b == NULL)
		return false;
	la = strlen(a);
	lb = strlen(b);
	d = la != lb;
	for (i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* Sets the identity of an accepted request. 0 or a negative code. */
static int authtest_identity(struct authtest *at, struct natsd_auth_req *r,
			     const char *user)
{
	const struct natsd_host_api *api = at->api;
	int rc;

	rc = api->auth_set_user(r, user);
	if (rc == 0 && at->account != NULL)
		rc = api->auth_set_account(r, at->account);
	return rc;
}

static int authtest_permissions(struct authtest *at, struct natsd_auth_req *r)
{
	const struct natsd_host_api *api = at->api;
	int rc;

	rc = api->auth_permit(r, NATSD_PERM_PUB_ALLOW, "allowed.>");
	if (rc == 0)
		rc = api->auth_permit(r, NATSD_PERM_SUB_ALLOW, "allowed.>");
	if (rc == 0)
		rc = api->auth_permit(r, NATSD_PERM_SUB_ALLOW, "_INBOX.>");
	return rc;
}

/* Removes p from the pending list; called with the lock held. */
static void authtest_unlink(struct authtest *at, struct authtest_pending *p)
{
	struct authtest_pending **pp;

	for (pp = &at->pending; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			return;
		}
	}
}

/* On the host's main loop, later_ms after authenticate(). */
static void authtest_answer(void *arg)
{
	struct authtest_pending *p = arg;
	struct authtest *at = p->at;
	const char *user;
	int verdict;

	pthread_mutex_lock(&at->lock);
	authtest_unlink(at, p);
	if (p->req == NULL) {
		pthread_mutex_unlock(&at->lock);
		at->api->log(at->h, NATSD_LOG_INFO,
			     "authtest: timer fired for a cancelled request");
		free(p);
		return;
	}
	user = at->api->auth_field(p->req, NATSD_AF_USER);
	verdict = authtest_identity(at, p->req, user) == 0 ? NATSD_AUTH_ACCEPT
							   : NATSD_AUTH_REJECT;
	/* Logged first: the request and its fields are gone once the host
	 * has the verdict. */
	at->api->log(at->h, NATSD_LOG_INFO,
		     "authtest: answering \"%s\" later: %s", user,
		     verdict == NATSD_AUTH_ACCEPT ? "accept" : "reject");
	/* Answered under the lock: cancel() cannot slip in between our
	 * check and the host taking the verdict. */
	at->api->auth_done(p->req, verdict);
	pthread_mutex_unlock(&at->lock);
	free(p);
}

static int authtest_later(struct authtest *at, struct natsd_auth_req *r)
{
	struct authtest_pending *p;

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NATSD_AUTH_REJECT;
	p->at = at;
	p->req = r;
	pthread_mutex_lock(&at->lock);
	p->next = at->pending;
	at->pending = p;
	pthread_mutex_unlock(&at->lock);
	if (at->api->timer_add(at->h, at->later_ms, authtest_answer, p) != 0) {
		pthread_mutex_lock(&at->lock);
		authtest_unlink(at, p);
		pthread_mutex_unlock(&at->lock);
		free(p);
		return NATSD_AUTH_REJECT;
	}
	return NATSD_AUTH_PENDING;
}

static int authtest_authenticate(void *pctx, struct natsd_auth_req *r)
{
	struct authtest *at = pctx;
	const char *user = at->api->auth_field(r, NATSD_AF_USER);
	const char *pass = at->api->auth_field(r, NATSD_AF_PASS);

	if (user == NULL)
		return NATSD_AUTH_NEXT;
	if (at->later_user != NULL && strcmp(user, at->later_user) == 0)
		return authtest_later(at, r);
	if (at->expire_user != NULL && strcmp(user, at->expire_user) == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		if (authtest_identity(at, r, user) != 0 ||
		    at->api->auth_set_expiry(
			    r, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec +
				       AUTHTEST_EXPIRE_MS * 1000000LL) != 0)
			return NATSD_AUTH_REJECT;
		return NATSD_AUTH_ACCEPT;
	}
	if (at->user == NULL || strcmp(user, at->user) != 0)
		return NATSD_AUTH_NEXT;
	if (!authtest_secret_equal(at->password, pass))
		return NATSD_AUTH_REJECT;
	if (authtest_identity(at, r, user) != 0 ||
	    authtest_permissions(at, r) != 0)
		return NATSD_AUTH_REJECT;
	return NATSD_AUTH_ACCEPT;
}

/* The client went away while its answer was pending: forget the request,
 * which the host frees when we return. The timer still fires and frees
 * the record. */
static void authtest_cancel(void *pctx, struct natsd_auth_req *r)
{
	struct authtest *at = pctx;
	struct authtest_pending *p;
	bool found = false;

	pthread_mutex_lock(&at->lock);
	for (p = at->pending; p != NULL; p = p->next) {
		if (p->req == r) {
			p->req = NULL;
			found = true;
		}
	}
	pthread_mutex_unlock(&at->lock);
	at->api->log(at->h, NATSD_LOG_INFO, "authtest: request cancelled%s",
		     found ? "" : " (unknown request)");
}

static const struct natsd_auth_ops authtest_ops = {
	.struct_size = sizeof(struct natsd_auth_ops),
	.name = AUTHTEST_NAME,
	.flags = NATSD_AUTH_F_REQUIRED,
	.authenticate = authtest_authenticate,
	.cancel = authtest_cancel,
};

/* Reads an optional string setting. 0 (absent leaves *out), or a negative
 * code with a line in err. */
static int authtest_str(const struct natsd_host_api *api,
			const struct natsd_cfg *cfg, const char *key,
			const char **out, char *err, size_t errlen)
{
	int rc;

	if (cfg == NULL)
		return 0;
	rc = api->cfg_string(cfg, key, out);
	if (rc == NATSD_ENOENT)
		return 0;
	if (rc != 0)
		snprintf(err, errlen, "authtest: setting %s must be a string",
			 key);
	return rc;
}

static int authtest_settings(struct authtest *at, const struct natsd_cfg *cfg,
			     char *err, size_t errlen)
{
	const struct natsd_host_api *api = at->api;
	int rc;

	rc = authtest_str(api, cfg, "user", &at->user, err, errlen);
	if (rc == 0)
		rc = authtest_str(api, cfg, "password", &at->password, err,
				  errlen);
	if (rc == 0)
		rc = authtest_str(api, cfg, "account", &at->account, err,
				  errlen);
	if (rc == 0)
		rc = authtest_str(api, cfg, "later_user", &at->later_user, err,
				  errlen);
	if (rc == 0)
		rc = authtest_str(api, cfg, "expire_user", &at->expire_user,
				  err, errlen);
	if (rc != 0 || cfg == NULL)
		return rc;
	rc = api->cfg_int(cfg, "later_ms", &at->later_ms);
	if (rc == NATSD_ENOENT)
		return 0;
	if (rc != 0 || at->later_ms < 0 || at->later_ms > AUTHTEST_MAX_MS) {
		snprintf(err, errlen,
			 "authtest: later_ms must be an integer from 0 to %d",
			 AUTHTEST_MAX_MS);
		return NATSD_EINVAL;
	}
	return 0;
}

static int authtest_init(struct natsd_host *h,
			 const struct natsd_host_api *api,
			 const struct natsd_cfg *cfg, void **ctx, char *err,
			 size_t errlen)
{
	struct authtest *at;
	int rc;

	at = calloc(1, sizeof(*at));
	if (at == NULL)
		return NATSD_ENOMEM;
	at->h = h;
	at->api = api;
	at->later_ms = AUTHTEST_DEFAULT_MS;
	rc = authtest_settings(at, cfg, err, errlen);
	if (rc != 0)
		goto out_free;
	pthread_mutex_init(&at->lock, NULL);
	rc = api->register_auth(h, &authtest_ops, at);
	if (rc != 0) {
		snprintf(err, errlen, "authtest: cannot register: error %d",
			 rc);
		goto out_lock;
	}
	*ctx = at;
	return 0;

out_lock:
	pthread_mutex_destroy(&at->lock);
out_free:
	free(at);
	return rc;
}

/* Every connection is closed and the main loop has stopped, so no timer
 * will fire any more: the records still waiting for theirs go here. */
static void authtest_fini(void *ctx)
{
	struct authtest *at = ctx;
	struct authtest_pending *p, *next;

	for (p = at->pending; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
	pthread_mutex_destroy(&at->lock);
	free(at);
}

static const struct natsd_plugin authtest_plugin = {
	NATSD_PLUGIN_INIT,
	.name = AUTHTEST_NAME,
	.version = "1.0.0",
	.init = authtest_init,
	.fini = authtest_fini,
};

const struct natsd_plugin *natsd_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	(void)host_major;
	(void)host_minor;
	return &authtest_plugin;
}
