/* Snapshots of connections for the monitor (see monitor_int.h for why
 * through the workers), and the ring of recently closed connections.
 *
 * A snapshot request is shared by the HTTP thread and a task on every
 * worker, and freed by whoever lets go of it last: a worker that is late
 * (the request timed out) still writes into live memory. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <natsd/error.h>

#include "account.h"
#include "conn.h"
#include "host.h"
#include "loop.h"
#include "monitor.h"
#include "monitor_int.h"
#include "server.h"
#include "sub.h"

/* How long the HTTP thread waits for the workers' copies. */
#define MON_SNAP_TIMEOUT_S 5

struct snap_res {
	struct mon_conn **v;
	size_t n, cap;
	struct mon_totals t;
	int rc;
};

struct snap_req;

struct snap_task {
	struct snap_req *req;
	struct worker *w;
	struct snap_res res;
};

struct snap_req {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;
	int pending;
	struct mon_query q;
	char *acc;
	int ntasks;
	struct snap_task tasks[];
};

static void mon_sub_fini(struct mon_sub *s)
{
	free(s->acc);
	free(s->subject);
	free(s->queue);
	free(s->sid);
}

void mon_conn_unref(struct mon_conn *c)
{
	uint32_t i;

	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	for (i = 0; i < c->nsubl; i++)
		mon_sub_fini(&c->subs[i]);
	free(c->subs);
	free(c->name);
	free(c->lang);
	free(c->version);
	free(c->user);
	free(c->acc);
	free(c);
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* Copies the subscriptions of c (its owner thread), at most max. */
static int copy_subs(struct mon_conn *mc, struct conn *c, uint32_t max)
{
	uint32_t i, k = 0, n = c->subs.n < max ? c->subs.n : max;
	struct sub *s;

	if (n == 0)
		return 0;
	mc->subs = calloc(n, sizeof(*mc->subs));
	if (mc->subs == NULL)
		return NATSD_ENOMEM;
	for (i = 0; i < c->subs.cap && k < n; i++) {
		struct mon_sub *ms = &mc->subs[k];

		s = c->subs.slots[i];
		if (s == NULL || s == SIDMAP_TOMB)
			continue;
		ms->acc = dup_or_null(s->acc ? s->acc->name : NULL);
		ms->subject = strdup(s->subject);
		ms->queue = dup_or_null(s->queue);
		ms->sid = dup_or_null(s->sid);
		ms->msgs =
			atomic_load_explicit(&s->nmsgs, memory_order_relaxed);
		ms->max = atomic_load_explicit(&s->max, memory_order_relaxed);
		ms->cid = c->cid;
		mc->nsubl = ++k;
		if (ms->subject == NULL)
			return NATSD_ENOMEM;
	}
	return 0;
}

/* A TLS layer's version and cipher suite, asked on the owner thread. */
static void snap_tls(struct mon_conn *mc, struct conn *c)
{
	const void *v = NULL, *cs = NULL;

	if (c->top == NULL || c->top->below == NULL ||
	    host_stream_query(c->top, NATSD_Q_TLS_VERSION, &v, NULL) != 0 ||
	    host_stream_query(c->top, NATSD_Q_TLS_CIPHER, &cs, NULL) != 0)
		return;
	snprintf(mc->tls_version, sizeof(mc->tls_version), "%s",
		 (const char *)v);
	snprintf(mc->tls_cipher, sizeof(mc->tls_cipher), "%s",
		 (const char *)cs);
}

/* Copies c; runs on c's owner thread. NULL when out of memory. */
struct mon_conn *mon_conn_copy(struct conn *c, bool subs, uint32_t max)
{
	struct mon_conn *mc = calloc(1, sizeof(*mc));
	int64_t idle_ms;

	if (mc == NULL)
		return NULL;
	atomic_init(&mc->refs, 1);
	mc->cid = c->cid;
	mc->kind = c->kind;
	memcpy(mc->ip, c->ip, sizeof(mc->ip));
	mc->port = c->port;
	mc->start_ns = c->start_ns;
	idle_ms = loop_now_ms() - c->last_in_ms;
	mc->last_ns = host_wall_ns() - (idle_ms > 0 ? idle_ms : 0) * 1000000;
	if (mc->last_ns < mc->start_ns)
		mc->last_ns = mc->start_ns;
	pthread_mutex_lock(&c->out_lock);
	mc->pending = c->out.pending;
	pthread_mutex_unlock(&c->out_lock);
	mc->in_msgs = atomic_load_explicit(&c->in_msgs, memory_order_relaxed);
	mc->in_bytes = atomic_load_explicit(&c->in_bytes, memory_order_relaxed);
	mc->out_msgs = atomic_load_explicit(&c->out_msgs, memory_order_relaxed);
	mc->out_bytes =
		atomic_load_explicit(&c->out_bytes, memory_order_relaxed);
	mc->nsubs = c->nsubs;
	mc->rtt_ns = c->rtt_ns;
	snap_tls(mc, c);
	mc->connected = (c->flags & CONN_F_CONNECTED) != 0;
	mc->name = dup_or_null(c->name);
	mc->lang = dup_or_null(c->lang);
	mc->version = dup_or_null(c->version);
	mc->user = dup_or_null(c->user);
	mc->acc = dup_or_null(c->acc ? c->acc->name : NULL);
	if ((subs && copy_subs(mc, c, max) != 0) || (c->name && !mc->name) ||
	    (c->lang && !mc->lang) || (c->version && !mc->version) ||
	    (c->user && !mc->user) || (c->acc && !mc->acc)) {
		mon_conn_unref(mc);
		return NULL;
	}
	return mc;
}

static bool wanted(const struct mon_query *q, const char *acc,
		   const struct conn *c)
{
	if (q->kind >= 0 && c->kind != q->kind)
		return false;
	if (q->cid != 0 && c->cid != q->cid)
		return false;
	if (acc != NULL && (c->acc == NULL || strcmp(c->acc->name, acc) != 0))
		return false;
	return true;
}

static void req_release(struct snap_req *req)
{
	int refs, i;
	size_t k;

	pthread_mutex_lock(&req->lock);
	refs = --req->refs;
	pthread_mutex_unlock(&req->lock);
	if (refs > 0)
		return;
	for (i = 0; i < req->ntasks; i++) {
		struct snap_res *res = &req->tasks[i].res;

		for (k = 0; k < res->n; k++)
			mon_conn_unref(res->v[k]);
		free(res->v);
	}
	free(req->acc);
	pthread_cond_destroy(&req->cond);
	pthread_mutex_destroy(&req->lock);
	free(req);
}

static int res_push(struct snap_res *res, struct mon_conn *mc)
{
	struct mon_conn **nv;

	if (res->n == res->cap) {
		size_t cap = res->cap ? res->cap * 2 : 64;

		nv = realloc(res->v, cap * sizeof(*nv));
		if (nv == NULL)
			return NATSD_ENOMEM;
		res->v = nv;
		res->cap = cap;
	}
	res->v[res->n++] = mc;
	return 0;
}

/* Adds c's counters to t (c's owner thread). */
static void totals_count(struct mon_totals *t, struct conn *c)
{
	if (c->kind >= 0 && c->kind < 5)
		t->nkind[c->kind]++;
	/* The system connection's own traffic (requests to it, its answers
	 * and statistics) is not counted, as nats-server does not count
	 * its internal clients'. */
	if (c->kind == NATSD_KIND_SYSTEM)
		return;
	t->in_msgs += atomic_load_explicit(&c->in_msgs, memory_order_relaxed);
	t->in_bytes += atomic_load_explicit(&c->in_bytes, memory_order_relaxed);
	t->out_msgs += atomic_load_explicit(&c->out_msgs, memory_order_relaxed);
	t->out_bytes +=
		atomic_load_explicit(&c->out_bytes, memory_order_relaxed);
	t->nsubs += c->nsubs;
	/* Other threads append under this lock; held for one load. */
	pthread_mutex_lock(&c->out_lock);
	t->pending += c->out.pending;
	pthread_mutex_unlock(&c->out_lock);
}

/* On the worker: sums, and copies of the connections asked for. */
static void snap_task_run(struct loop *l, void *arg)
{
	struct snap_task *t = arg;
	struct snap_req *req = t->req;
	struct snap_res *res = &t->res;
	struct worker *w = t->w;
	uint32_t i;

	(void)l;
	for (i = 0; i < w->nconns; i++) {
		struct conn *c = w->conns[i];
		struct mon_conn *mc;

		totals_count(&res->t, c);
		if (!req->q.conns || res->rc != 0 ||
		    !wanted(&req->q, req->acc, c))
			continue;
		mc = mon_conn_copy(c, req->q.subs, UINT32_MAX);
		if (mc == NULL || res_push(res, mc) != 0) {
			mon_conn_unref(mc);
			res->rc = NATSD_ENOMEM;
		}
	}
	pthread_mutex_lock(&req->lock);
	if (--req->pending == 0)
		pthread_cond_signal(&req->cond);
	pthread_mutex_unlock(&req->lock);
	req_release(req);
}

static void totals_add(struct mon_totals *a, const struct mon_totals *b)
{
	int k;

	a->in_msgs += b->in_msgs;
	a->in_bytes += b->in_bytes;
	a->out_msgs += b->out_msgs;
	a->out_bytes += b->out_bytes;
	a->nsubs += b->nsubs;
	a->pending += b->pending;
	for (k = 0; k < 5; k++)
		a->nkind[k] += b->nkind[k];
}

/* Moves the workers' results into out (the request keeps nothing). */
static int snap_gather(struct snap_req *req, struct mon_snap *out)
{
	size_t total = 0, k;
	int i;

	for (i = 0; i < req->ntasks; i++) {
		if (req->tasks[i].res.rc != 0)
			return req->tasks[i].res.rc;
		total += req->tasks[i].res.n;
	}
	out->v = total ? calloc(total, sizeof(*out->v)) : NULL;
	if (total && out->v == NULL)
		return NATSD_ENOMEM;
	for (i = 0; i < req->ntasks; i++) {
		struct snap_res *res = &req->tasks[i].res;

		totals_add(&out->t, &res->t);
		for (k = 0; k < res->n; k++)
			out->v[out->n++] = res->v[k];
		res->n = 0;
	}
	return 0;
}

int mon_snapshot(struct monitor *m, const struct mon_query *q,
		 struct mon_snap *out)
{
	struct server *s = m->srv;
	struct snap_req *req;
	struct timespec dl;
	int i, rc = 0, posted = 0;

	memset(out, 0, sizeof(*out));
	req = calloc(1, sizeof(*req) +
				(size_t)s->nworkers * sizeof(req->tasks[0]));
	if (req == NULL)
		return NATSD_ENOMEM;
	pthread_mutex_init(&req->lock, NULL);
	pthread_cond_init(&req->cond, NULL);
	req->q = *q;
	req->acc = q->acc ? strdup(q->acc) : NULL;
	req->q.acc = NULL;
	req->ntasks = s->nworkers;
	req->refs = 1;
	if (q->acc != NULL && req->acc == NULL) {
		req_release(req);
		return NATSD_ENOMEM;
	}
	pthread_mutex_lock(&req->lock);
	for (i = 0; i < s->nworkers; i++) {
		req->tasks[i].req = req;
		req->tasks[i].w = &s->workers[i];
		req->refs++;
		req->pending++;
		if (loop_post(s->workers[i].loop, snap_task_run,
			      &req->tasks[i]) != 0) {
			req->refs--;
			req->pending--;
			rc = NATSD_ENOMEM;
			break;
		}
		posted++;
	}
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += MON_SNAP_TIMEOUT_S;
	while (req->pending > 0 && rc == 0)
		if (pthread_cond_timedwait(&req->cond, &req->lock, &dl) ==
		    ETIMEDOUT)
			rc = NATSD_ETIMEDOUT;
	/* Tasks already posted finish on their own and drop their refs. */
	while (req->pending > 0 && rc != 0 && posted > 0 &&
	       rc != NATSD_ETIMEDOUT)
		pthread_cond_wait(&req->cond, &req->lock);
	pthread_mutex_unlock(&req->lock);
	if (rc == 0)
		rc = snap_gather(req, out);
	req_release(req);
	return rc;
}

void mon_snap_fini(struct mon_snap *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		mon_conn_unref(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

int mon_closed(struct monitor *m, struct mon_snap *out)
{
	size_t i, k;

	memset(out, 0, sizeof(*out));
	/* Only references are taken under the lock: a worker recording a
	 * close waits for a few thousand increments at most. */
	pthread_mutex_lock(&m->ring_lock);
	out->v = m->ring_n ? calloc(m->ring_n, sizeof(*out->v)) : NULL;
	if (m->ring_n && out->v == NULL) {
		pthread_mutex_unlock(&m->ring_lock);
		return NATSD_ENOMEM;
	}
	for (i = 0; i < m->ring_n; i++) {
		k = (m->ring_next + MON_CLOSED_MAX - m->ring_n + i) %
		    MON_CLOSED_MAX;
		atomic_fetch_add(&m->ring[k]->refs, 1);
		out->v[out->n++] = m->ring[k];
	}
	pthread_mutex_unlock(&m->ring_lock);
	return 0;
}

void monitor_conn_closed(struct monitor *m, struct conn *c)
{
	struct mon_conn *mc, *old;

	if (c->kind != NATSD_KIND_CLIENT)
		return;
	mc = mon_conn_copy(c, true, MON_CLOSED_SUBS_MAX);
	if (mc == NULL)
		return; /* out of memory: the record is lost, nothing else */
	mc->closed = true;
	mc->stop_ns = host_wall_ns();
	mc->reason = (int)c->reason;
	mc->pending = 0;
	pthread_mutex_lock(&m->ring_lock);
	old = m->ring[m->ring_next];
	m->ring[m->ring_next] = mc;
	m->ring_next = (m->ring_next + 1) % MON_CLOSED_MAX;
	if (m->ring_n < MON_CLOSED_MAX)
		m->ring_n++;
	pthread_mutex_unlock(&m->ring_lock);
	mon_conn_unref(old);
	mon_event_push(m, mc, false);
}
