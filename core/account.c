/* Accounts and their interest counts.
 *
 * The subject index answers "who gets this message"; link plugins need
 * another view: "does this account have any interest in subject S (and
 * how many members in queue Q)". The interest map keeps that count per
 * (subject, queue) for subscriptions of local origin, and the transitions
 * become natsd_interest events for every link connection that is up. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <natsd/plugin.h>

#include "account.h"
#include "conn.h"
#include "host.h"
#include "server.h"
#include "sub.h"
#include "sublist.h"

#define ACCOUNT_CACHE_ENTRIES 4096

struct interest {
	char *subject;
	char *queue; /* NULL: plain */
	uint32_t hash;
	int32_t count;
	struct interest *next;
};

struct interest_map {
	struct interest **buckets;
	uint32_t nbuckets; /* power of two */
	uint32_t n;
};

struct accounts {
	struct server *srv;
	pthread_mutex_t lock;
	struct account **v;
	size_t n;
};

static uint32_t interest_hash(const char *subj, const char *queue)
{
	uint32_t h = 2166136261u;
	const char *p;

	for (p = subj; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (p = queue; p && *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

static bool str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int interest_grow(struct interest_map *m)
{
	struct interest **nb, *e, *next;
	uint32_t i, n = m->nbuckets ? m->nbuckets * 2 : 64;

	nb = calloc(n, sizeof(*nb));
	if (nb == NULL)
		return NATSD_ENOMEM;
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = n;
	return 0;
}

/* Adds delta to the count of (subj, queue); returns the new count, or -1
 * when out of memory. */
static int32_t interest_update(struct interest_map *m, const char *subj,
			       const char *queue, int32_t delta)
{
	uint32_t h = interest_hash(subj, queue);
	struct interest **pp, *e;
	int32_t n;

	if (m->nbuckets == 0 || m->n >= m->nbuckets) {
		if (interest_grow(m) != 0 && m->nbuckets == 0)
			return -1;
	}
	for (pp = &m->buckets[h & (m->nbuckets - 1)]; (e = *pp) != NULL;
	     pp = &e->next) {
		if (e->hash == h && strcmp(e->subject, subj) == 0 &&
		    str_eq(e->queue, queue))
			break;
	}
	if (e == NULL) {
		if (delta <= 0)
			return 0;
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return -1;
		e->subject = strdup(subj);
		e->queue = queue ? strdup(queue) : NULL;
		if (e->subject == NULL || (queue && e->queue == NULL)) {
			free(e->subject);
			free(e->queue);
			free(e);
			return -1;
		}
		e->hash = h;
		*pp = e;
		m->n++;
	}
	e->count += delta;
	n = e->count;
	if (n <= 0) {
		*pp = e->next;
		free(e->subject);
		free(e->queue);
		free(e);
		m->n--;
		n = 0;
	}
	return n;
}

static void interest_free(struct interest_map *m)
{
	struct interest *e, *next;
	uint32_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e->subject);
			free(e->queue);
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}

static struct account *account_new(struct server *srv, const char *name)
{
	struct account *a;
	int i;

	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->srv = srv;
	a->name = strdup(name);
	a->sl = sublist_new();
	a->interest = calloc(1, sizeof(*a->interest));
	a->caches = calloc((size_t)srv->nworkers + 1, sizeof(*a->caches));
	if (a->name == NULL || a->sl == NULL || a->interest == NULL ||
	    a->caches == NULL)
		goto out_free;
	for (i = 0; i <= srv->nworkers; i++) {
		a->caches[i] = sublist_cache_new(ACCOUNT_CACHE_ENTRIES);
		if (a->caches[i] == NULL)
			goto out_free;
	}
	pthread_mutex_init(&a->interest_lock, NULL);
	pthread_mutex_init(&a->other_cache_lock, NULL);
	atomic_init(&a->max_conns, -1);
	atomic_init(&a->max_subs, -1);
	atomic_init(&a->max_payload, -1);
	return a;

out_free:
	if (a->caches != NULL)
		for (i = 0; i <= srv->nworkers; i++)
			sublist_cache_free(a->caches[i]);
	free(a->caches);
	interest_free(a->interest);
	sublist_free(a->sl);
	free(a->name);
	free(a);
	return NULL;
}

static void account_free(struct account *a)
{
	int i;

	for (i = 0; i <= a->srv->nworkers; i++)
		sublist_cache_free(a->caches[i]);
	free(a->caches);
	interest_free(a->interest);
	sublist_free(a->sl);
	pthread_mutex_destroy(&a->interest_lock);
	pthread_mutex_destroy(&a->other_cache_lock);
	free(a->name);
	free(a);
}

struct accounts *accounts_new(struct server *srv)
{
	struct accounts *as;

	as = calloc(1, sizeof(*as));
	if (as == NULL)
		return NULL;
	as->srv = srv;
	pthread_mutex_init(&as->lock, NULL);
	return as;
}

void accounts_free(struct accounts *as)
{
	size_t i;

	if (as == NULL)
		return;
	for (i = 0; i < as->n; i++)
		account_free(as->v[i]);
	free(as->v);
	pthread_mutex_destroy(&as->lock);
	free(as);
}

struct account *accounts_get(struct accounts *as, const char *name,
			     bool create)
{
	struct account *a = NULL, **nv;
	size_t i;

	pthread_mutex_lock(&as->lock);
	for (i = 0; i < as->n; i++) {
		if (strcmp(as->v[i]->name, name) == 0) {
			a = as->v[i];
			goto out;
		}
	}
	if (!create)
		goto out;
	nv = realloc(as->v, (as->n + 1) * sizeof(*nv));
	if (nv == NULL)
		goto out;
	as->v = nv;
	a = account_new(as->srv, name);
	if (a != NULL)
		as->v[as->n++] = a;
out:
	pthread_mutex_unlock(&as->lock);
	return a;
}

int accounts_foreach(struct accounts *as,
		     int (*fn)(struct account *a, void *arg), void *arg)
{
	size_t i, n;
	int rc = 0;

	/* Accounts are never removed while the server runs, and the array
	 * only grows under the lock: take the count, then visit. */
	pthread_mutex_lock(&as->lock);
	n = as->n;
	pthread_mutex_unlock(&as->lock);
	for (i = 0; i < n && rc == 0; i++) {
		struct account *a;

		pthread_mutex_lock(&as->lock);
		a = as->v[i];
		pthread_mutex_unlock(&as->lock);
		rc = fn(a, arg);
	}
	return rc;
}

/* Only interest of local origin is announced to links; what a link
 * registered is that peer's business. Without any link kind loaded there
 * is nobody to tell, and the counts (a copy of every subject) are not
 * kept at all. */
static bool counted(const struct account *a, const struct sub *s)
{
	int k = s->conn != NULL ? s->conn->kind : NATSD_KIND_CLIENT;

	if (a->srv->reg->nlinks == 0)
		return false;
	return k == NATSD_KIND_CLIENT || k == NATSD_KIND_SYSTEM ||
	       k == NATSD_KIND_LEAF;
}

static void account_announce(struct account *a, struct sub *s, int32_t n,
			     bool added)
{
	struct natsd_interest ev = { .struct_size = sizeof(ev) };

	ev.account = a->name;
	ev.subject = s->subject;
	ev.queue = s->queue;
	if (s->queue != NULL) {
		ev.weight = n;
		ev.add = n > 0;
	} else {
		/* Plain interest is binary: only 0 <-> 1 matters. */
		if ((added && n != 1) || (!added && n != 0))
			return;
		ev.weight = n;
		ev.add = added;
	}
	host_links_interest(a->srv, s->conn, &ev);
}

bool account_conn_add(struct account *a)
{
	int64_t n = atomic_load(&a->nconns);
	int max = atomic_load(&a->max_conns);

	do {
		if (max >= 0 && n >= max)
			return false;
	} while (!atomic_compare_exchange_weak(&a->nconns, &n, n + 1));
	return true;
}

void account_limit_conn(struct account *a, int64_t *max_subs,
			int64_t *max_payload)
{
	int subs = atomic_load(&a->max_subs);
	int64_t pay = atomic_load(&a->max_payload);

	if (subs > 0 && (*max_subs <= 0 || *max_subs > subs))
		*max_subs = subs;
	if (pay >= 0 && pay < *max_payload)
		*max_payload = pay;
}

int account_sub_add(struct account *a, struct sub *s)
{
	int32_t n;
	int rc;

	rc = sublist_insert(a->sl, s);
	if (rc != 0)
		return rc;
	if (!counted(a, s))
		return 0;
	pthread_mutex_lock(&a->interest_lock);
	n = interest_update(a->interest, s->subject, s->queue, 1);
	if (n > 0)
		account_announce(a, s, n, true);
	pthread_mutex_unlock(&a->interest_lock);
	return 0;
}

void account_sub_remove(struct account *a, struct sub *s)
{
	int32_t n;

	if (sublist_remove(a->sl, s) != 0)
		return;
	if (!counted(a, s))
		return;
	pthread_mutex_lock(&a->interest_lock);
	n = interest_update(a->interest, s->subject, s->queue, -1);
	account_announce(a, s, n, false);
	pthread_mutex_unlock(&a->interest_lock);
}

const struct sublist_result *account_match(struct account *a,
					   const char *subj, size_t len)
{
	struct worker *w = server_current_worker();
	const struct sublist_result *r;

	if (w != NULL)
		return sublist_match(a->sl, subj, len, a->caches[w->id]);
	/* Threads that are not workers share one cache; the result must
	 * be used before the next such call, which they serialize. */
	pthread_mutex_lock(&a->other_cache_lock);
	r = sublist_match(a->sl, subj, len, a->caches[a->srv->nworkers]);
	pthread_mutex_unlock(&a->other_cache_lock);
	return r;
}

static int replay_account(struct account *a, void *arg)
{
	struct conn *c = arg;
	struct natsd_interest ev = { .struct_size = sizeof(ev) };
	struct interest *e;
	uint32_t i;

	pthread_mutex_lock(&a->interest_lock);
	for (i = 0; i < a->interest->nbuckets; i++) {
		for (e = a->interest->buckets[i]; e != NULL; e = e->next) {
			ev.account = a->name;
			ev.subject = e->subject;
			ev.queue = e->queue;
			ev.weight = e->queue ? e->count : 1;
			ev.add = true;
			host_link_interest_one(c, &ev);
		}
	}
	pthread_mutex_unlock(&a->interest_lock);
	return 0;
}

void accounts_replay_interest(struct accounts *as, struct conn *c)
{
	accounts_foreach(as, replay_account, c);
}
