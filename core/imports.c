/* Accounts from the config: limits, imports, and the response mappings of
 * service imports. See imports.h for the model.
 *
 * Imports live on one list, under one lock, which only changes when the
 * config is applied, a request crosses a service import, or a response
 * mapping goes: the publish path itself only reads an import through the
 * sub that the subject index returned. A removed import is retired like a
 * sub (loop_retire), so a thread still routing through it in this turn
 * reads valid memory. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <natsd/error.h>
#include <natsd/plugin.h>

#include "account.h"
#include "imports.h"
#include "loop.h"
#include "opts.h"
#include "server.h"
#include "sub.h"
#include "subject.h"

#define IMPORTS_SWEEP_MS 1000
#define RESP_DEFAULT_TTL (120 * OPTS_NS_PER_SEC) /* nats-server's 2 min */

struct imports {
	struct server *srv;
	pthread_mutex_t lock;
	struct import *head;
	struct loop_timer sweep;
};

static void import_free(void *p)
{
	struct import *imp = p;

	if (imp == NULL)
		return;
	sub_free(imp->sub);
	free(imp->prefix);
	free(imp->dst_pat);
	free(imp);
}

/* Takes imp out of the index; the memory goes once nobody can read it.
 * With the lock held by the caller, or at shutdown. */
static void import_drop(struct import *imp, bool now)
{
	account_sub_remove(imp->src, imp->sub);
	if (now)
		import_free(imp);
	else
		loop_retire(imp, import_free);
}

static void unlink_import(struct imports *im, struct import *imp)
{
	struct import **pp;

	for (pp = &im->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == imp) {
			*pp = imp->next;
			return;
		}
	}
}

/* A new import of sub pattern pat in src's index, delivering into dst;
 * linked, with the lock held. NULL when out of memory. */
static struct import *import_add(struct imports *im, int kind,
				 struct account *src, struct account *dst,
				 const char *pat, size_t len)
{
	struct import *imp = calloc(1, sizeof(*imp));

	if (imp == NULL)
		return NULL;
	imp->kind = kind;
	imp->src = src;
	imp->dst = dst;
	imp->sub = sub_new(NULL, pat, len, NULL, 0, NULL, 0);
	if (imp->sub == NULL)
		goto fail;
	imp->sub->imp = imp;
	imp->sub->acc = src;
	if (account_sub_add(src, imp->sub) != 0)
		goto fail;
	imp->next = im->head;
	im->head = imp;
	return imp;
fail:
	import_free(imp);
	return NULL;
}

static void sweep_timer(struct loop *l, void *arg)
{
	struct imports *im = arg;

	imports_sweep(im);
	loop_timer_arm(l, &im->sweep, IMPORTS_SWEEP_MS, sweep_timer, im);
}

struct imports *imports_new(struct server *srv)
{
	struct imports *im = calloc(1, sizeof(*im));

	if (im == NULL)
		return NULL;
	im->srv = srv;
	pthread_mutex_init(&im->lock, NULL);
	loop_timer_arm(srv->main_loop, &im->sweep, IMPORTS_SWEEP_MS,
		       sweep_timer, im);
	return im;
}

void imports_free(struct imports *im)
{
	struct import *imp, *next;

	if (im == NULL)
		return;
	loop_timer_cancel(im->srv->main_loop, &im->sweep);
	for (imp = im->head; imp != NULL; imp = next) {
		next = imp->next;
		import_drop(imp, true);
	}
	pthread_mutex_destroy(&im->lock);
	free(im);
}

static int reset_limits(struct account *a, void *arg)
{
	(void)arg;
	atomic_store(&a->max_conns, -1);
	atomic_store(&a->max_subs, -1);
	atomic_store(&a->max_payload, -1);
	return 0;
}

/* The export of x that covers a service import of subject. */
static const struct opts_export *service_export(const struct opts_account *x,
						const char *subject)
{
	size_t i;

	for (i = 0; i < x->nexports; i++)
		if (x->exports[i].service &&
		    subject_subset(subject, strlen(subject),
				   x->exports[i].subject,
				   strlen(x->exports[i].subject)))
			return &x->exports[i];
	return NULL;
}

static int add_config_import(struct imports *im, struct account *a,
			     const struct opts *o, const struct opts_import *c)
{
	struct accounts *as = im->srv->accounts;
	const struct opts_export *e;
	struct account *x;
	struct import *imp;
	const char *pat;

	x = accounts_get(as, c->account, true);
	if (x == NULL)
		return NATSD_ENOMEM;
	if (!c->service) {
		imp = import_add(im, IMPORT_STREAM, x, a, c->subject,
				 strlen(c->subject));
		if (imp == NULL)
			return NATSD_ENOMEM;
		if ((c->prefix && !(imp->prefix = strdup(c->prefix))) ||
		    (c->to && !(imp->dst_pat = strdup(c->to))))
			return NATSD_ENOMEM;
		return 0;
	}
	pat = c->to != NULL ? c->to : c->subject;
	imp = import_add(im, IMPORT_SERVICE, a, x, pat, strlen(pat));
	if (imp == NULL)
		return NATSD_ENOMEM;
	if (c->to != NULL && !(imp->dst_pat = strdup(c->subject)))
		return NATSD_ENOMEM;
	e = service_export(opts_account_find(o, c->account), c->subject);
	imp->resp_type = e != NULL ? e->resp_type : OPTS_RESP_SINGLETON;
	imp->resp_ttl_ns = e != NULL && e->resp_threshold > 0
				   ? e->resp_threshold
				   : RESP_DEFAULT_TTL;
	return 0;
}

int imports_configure(struct imports *im, const struct opts *o)
{
	struct accounts *as = im->srv->accounts;
	const struct opts_account *c;
	struct import **pp, *imp;
	struct account *a;
	size_t i, j;
	int rc = 0;

	accounts_foreach(as, reset_limits, NULL);
	pthread_mutex_lock(&im->lock);
	for (pp = &im->head; (imp = *pp) != NULL;) {
		/* Responses in flight and JWT accounts' imports stay. */
		if (imp->kind == IMPORT_RESPONSE || imp->owner != NULL ||
		    imp->kind == IMPORT_NOTIFY) {
			pp = &imp->next;
			continue;
		}
		*pp = imp->next;
		import_drop(imp, false);
	}
	for (i = 0; i < o->naccounts && rc == 0; i++) {
		c = &o->accounts[i];
		a = accounts_get(as, c->name, true);
		if (a == NULL) {
			rc = NATSD_ENOMEM;
			break;
		}
		atomic_store(&a->max_conns, c->max_connections);
		atomic_store(&a->max_subs, c->max_subscriptions);
		atomic_store(&a->max_payload, c->max_payload);
		for (j = 0; j < c->nimports && rc == 0; j++)
			rc = add_config_import(im, a, o, &c->imports[j]);
	}
	pthread_mutex_unlock(&im->lock);
	return rc;
}

/* ABI 1.2: imports of JWT accounts, set by the auth_jwt plugin. */
static int add_owned_import(struct imports *im, struct account *a,
			    const struct natsd_import *c)
{
	struct accounts *as = im->srv->accounts;
	struct import *imp;
	struct account *x;
	const char *pat;

	if (c->account == NULL || c->subject == NULL ||
	    !subject_valid(c->subject, strlen(c->subject)))
		return NATSD_EINVAL;
	x = accounts_get(as, c->account, true);
	if (x == NULL)
		return NATSD_ENOMEM;
	if (!c->service) {
		imp = import_add(im, IMPORT_STREAM, x, a, c->subject,
				 strlen(c->subject));
		if (imp == NULL)
			return NATSD_ENOMEM;
		imp->owner = a;
		if ((c->prefix && !(imp->prefix = strdup(c->prefix))) ||
		    (!c->prefix && c->local &&
		     !(imp->dst_pat = strdup(c->local))))
			return NATSD_ENOMEM;
		return 0;
	}
	pat = c->local != NULL ? c->local : c->subject;
	if (!subject_valid(pat, strlen(pat)))
		return NATSD_EINVAL;
	imp = import_add(im, IMPORT_SERVICE, a, x, pat, strlen(pat));
	if (imp == NULL)
		return NATSD_ENOMEM;
	imp->owner = a;
	if (c->local != NULL && !(imp->dst_pat = strdup(c->subject)))
		return NATSD_ENOMEM;
	imp->resp_type = c->resp_type == NATSD_RESP_STREAM ? OPTS_RESP_STREAM
			 : c->resp_type == NATSD_RESP_CHUNKED
				 ? OPTS_RESP_CHUNKED
				 : OPTS_RESP_SINGLETON;
	imp->resp_ttl_ns =
		c->resp_ttl_ns > 0 ? c->resp_ttl_ns : RESP_DEFAULT_TTL;
	return 0;
}

int imports_set_account(struct imports *im, const char *name,
			const struct natsd_import *v, size_t n)
{
	struct import **pp, *imp;
	struct account *a;
	size_t i;
	int rc = 0;

	a = accounts_get(im->srv->accounts, name, true);
	if (a == NULL)
		return NATSD_ENOMEM;
	pthread_mutex_lock(&im->lock);
	for (pp = &im->head; (imp = *pp) != NULL;) {
		if (imp->owner != a || imp->kind == IMPORT_NOTIFY) {
			pp = &imp->next;
			continue;
		}
		*pp = imp->next;
		import_drop(imp, false);
	}
	for (i = 0; i < n && rc == 0; i++)
		rc = add_owned_import(im, a, &v[i]);
	pthread_mutex_unlock(&im->lock);
	return rc;
}

int imports_notify_add(struct imports *im, const char *name,
		       const char *subject,
		       void (*fn)(void *arg, const struct natsd_msg *m),
		       void *arg, struct import **out)
{
	struct import *imp;
	struct account *a;

	if (name == NULL || subject == NULL || fn == NULL ||
	    !subject_valid(subject, strlen(subject)))
		return NATSD_EINVAL;
	a = accounts_get(im->srv->accounts, name, true);
	if (a == NULL)
		return NATSD_ENOMEM;
	pthread_mutex_lock(&im->lock);
	imp = import_add(im, IMPORT_NOTIFY, a, a, subject, strlen(subject));
	if (imp != NULL) {
		imp->fn = fn;
		imp->arg = arg;
	}
	pthread_mutex_unlock(&im->lock);
	if (imp == NULL)
		return NATSD_ENOMEM;
	*out = imp;
	return 0;
}

/* The plugin is going (its fini): nothing more is delivered to it. The
 * import stays on the list until imports_free(), as a retired one would
 * not be freed once the loops have stopped. */
void imports_notify_remove(struct imports *im, struct import *imp)
{
	(void)im;
	if (imp != NULL)
		atomic_store(&imp->sub->dead, 1);
}

/* Appends n bytes of p at *o, within end; false when they do not fit. */
static bool put(char **o, const char *end, const char *p, size_t n)
{
	if ((size_t)(end - *o) < n)
		return false;
	memcpy(*o, p, n);
	*o += n;
	return true;
}

/* Next token of s from offset *i: sets *tok and *n; false at the end. */
static bool next_token(const char *s, size_t len, size_t *i, const char **tok,
		       size_t *n)
{
	const char *dot;

	if (*i > len)
		return false;
	*tok = s + *i;
	dot = memchr(*tok, '.', len - *i);
	*n = dot != NULL ? (size_t)(dot - *tok) : len - *i;
	*i += *n + 1;
	return true;
}

/* dst_pat with its wildcards replaced by the tokens of subj that the
 * sub's pattern matched with its own, in order ('>' takes the rest). */
static size_t map_wildcards(const struct import *imp, const char *subj,
			    size_t len, char *out, size_t cap)
{
	const char *pat = imp->sub->subject, *dst = imp->dst_pat;
	const char *stars[32], *rest = NULL, *pt, *st, *dt;
	size_t starn[32], nstars = 0, used = 0, restn = 0;
	size_t pi = 0, si = 0, di = 0, pn, sn, dn;
	char *o = out, *end = out + cap;
	bool first = true;

	while (next_token(pat, imp->sub->subject_len, &pi, &pt, &pn) &&
	       next_token(subj, len, &si, &st, &sn)) {
		if (pn == 1 && pt[0] == '>') {
			rest = st;
			restn = len - (size_t)(st - subj);
			break;
		}
		if (pn == 1 && pt[0] == '*' && nstars < 32) {
			stars[nstars] = st;
			starn[nstars++] = sn;
		}
	}
	while (next_token(dst, strlen(dst), &di, &dt, &dn)) {
		if (!first && !put(&o, end, ".", 1))
			return 0;
		first = false;
		if (dn == 1 && dt[0] == '*' && used < nstars) {
			if (!put(&o, end, stars[used], starn[used]))
				return 0;
			used++;
		} else if (dn == 1 && dt[0] == '>' && rest != NULL) {
			if (!put(&o, end, rest, restn))
				return 0;
		} else if (!put(&o, end, dt, dn)) {
			return 0;
		}
	}
	return (size_t)(o - out);
}

size_t import_subject(const struct import *imp, const char *subj, size_t len,
		      char *out, size_t cap)
{
	char *o = out, *end = out + cap;

	if (imp->kind == IMPORT_RESPONSE) {
		if (!put(&o, end, imp->dst_pat, strlen(imp->dst_pat)))
			return 0;
		return (size_t)(o - out);
	}
	if (imp->prefix != NULL) {
		if (!put(&o, end, imp->prefix, strlen(imp->prefix)) ||
		    !put(&o, end, ".", 1) || !put(&o, end, subj, len))
			return 0;
		return (size_t)(o - out);
	}
	if (imp->dst_pat != NULL)
		return map_wildcards(imp, subj, len, out, cap);
	if (!put(&o, end, subj, len))
		return 0;
	return len;
}

static uint64_t rand64(void)
{
	static __thread uint64_t x;

	if (x == 0 && (getrandom(&x, sizeof(x), 0) != sizeof(x) || x == 0))
		x = (uint64_t)(uintptr_t)&x | 1;
	/* xorshift64: reply subjects need to be unique, not secret. */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

static void put_random(char *p, size_t n)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz"
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	uint64_t r = rand64();
	size_t i;

	for (i = 0; i < n; i++) {
		p[i] = digits[r % 62];
		r /= 62;
	}
}

size_t import_response_map(struct imports *im, const struct import *imp,
			   const char *reply, size_t len, char *out, size_t cap)
{
	struct import *resp;
	struct timespec ts;

	/* "_R_." + 6 + "." + 6, as nats-server's. */
	if (cap < 17)
		return 0;
	memcpy(out, "_R_.", 4);
	put_random(out + 4, 6);
	out[10] = '.';
	put_random(out + 11, 6);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&im->lock);
	resp = import_add(im, IMPORT_RESPONSE, imp->dst, imp->src, out, 17);
	if (resp != NULL) {
		resp->dst_pat = strndup(reply, len);
		resp->resp_type = imp->resp_type;
		resp->expires_ns = ts.tv_sec * OPTS_NS_PER_SEC + ts.tv_nsec +
				   imp->resp_ttl_ns;
		if (resp->dst_pat == NULL) {
			unlink_import(im, resp);
			import_drop(resp, false);
			resp = NULL;
		}
	}
	pthread_mutex_unlock(&im->lock);
	return resp != NULL ? 17 : 0;
}

bool import_response_take(struct imports *im, struct import *imp)
{
	if (imp->resp_type != OPTS_RESP_SINGLETON)
		return true;
	if (atomic_exchange(&imp->done, 1) != 0)
		return false;
	pthread_mutex_lock(&im->lock);
	unlink_import(im, imp);
	import_drop(imp, false);
	pthread_mutex_unlock(&im->lock);
	return true;
}

void imports_sweep(struct imports *im)
{
	struct import **pp, *imp;
	struct timespec ts;
	int64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * OPTS_NS_PER_SEC + ts.tv_nsec;
	pthread_mutex_lock(&im->lock);
	for (pp = &im->head; (imp = *pp) != NULL;) {
		if (imp->kind != IMPORT_RESPONSE || imp->expires_ns > now) {
			pp = &imp->next;
			continue;
		}
		*pp = imp->next;
		atomic_store(&imp->done, 1);
		import_drop(imp, false);
	}
	pthread_mutex_unlock(&im->lock);
}
