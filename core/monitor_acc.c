/* /subsz, /accountz and /accstatz: the subject indexes and accounts.
 *
 * Index counters come from sublist_stats() (its read lock, for four
 * plain loads); subscription lists come from the workers' snapshot of
 * their connections, so no index lock is held while a list is built. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <natsd/plugin.h>

#include "account.h"
#include "monitor_int.h"
#include "server.h"
#include "subject.h"
#include "sublist.h"

struct stats_sum {
	const char *only; /* one account, or NULL */
	bool found;
	struct sublist_stats st;
	uint64_t nresults; /* for the average fanout */
};

static int sum_stats(struct account *a, void *arg)
{
	struct stats_sum *s = arg;
	struct sublist_stats st;

	if (s->only != NULL && strcmp(a->name, s->only) != 0)
		return 0;
	s->found = true;
	sublist_stats(a->sl, &st);
	s->st.nsubs += st.nsubs;
	s->st.ninserts += st.ninserts;
	s->st.nremoves += st.nremoves;
	s->st.nmatches += st.nmatches;
	s->st.ncache_hits += st.ncache_hits;
	s->st.ncache_entries += st.ncache_entries;
	if (st.max_fanout > s->st.max_fanout)
		s->st.max_fanout = st.max_fanout;
	/* Weighted by cached results, as a merged average would be. */
	s->st.avg_fanout += st.avg_fanout * (double)st.ncache_entries;
	s->nresults += st.ncache_entries;
	return 0;
}

/* The sublist_stats fields, as nats-server names them, added to o. */
static void stats_fields(json_t *o, const struct stats_sum *s)
{
	const struct sublist_stats *st = &s->st;
	double hit = st->nmatches
			     ? (double)st->ncache_hits / (double)st->nmatches
			     : 0;
	double avg = s->nresults ? st->avg_fanout / (double)s->nresults : 0;

	mon_set(o, "num_subscriptions", json_integer((json_int_t)st->nsubs));
	mon_set(o, "num_cache", json_integer((json_int_t)st->ncache_entries));
	mon_set(o, "num_inserts", json_integer((json_int_t)st->ninserts));
	mon_set(o, "num_removes", json_integer((json_int_t)st->nremoves));
	mon_set(o, "num_matches", json_integer((json_int_t)st->nmatches));
	mon_set(o, "cache_hit_rate", mon_num(hit));
	mon_set(o, "max_fanout", json_integer(st->max_fanout));
	mon_set(o, "avg_fanout", mon_num(avg));
}

static json_t *sub_json(const struct mon_sub *s)
{
	json_t *d = json_object();

	mon_set(d, "account", json_string(s->acc ? s->acc : "$G"));
	mon_set(d, "subject", json_string(s->subject));
	if (s->queue != NULL)
		mon_set(d, "qgroup", json_string(s->queue));
	mon_set(d, "sid", json_string(s->sid ? s->sid : ""));
	mon_set(d, "msgs", json_integer((json_int_t)s->msgs));
	if (s->max > 0)
		mon_set(d, "max", json_integer((json_int_t)s->max));
	mon_set(d, "cid", json_integer((json_int_t)s->cid));
	return d;
}

/* The subscription list of subsz?subs=1. */
static int subs_list(struct mon_req *r, json_t *j, const char *acc,
		     const char *test, int64_t offset, int64_t limit)
{
	struct mon_query q = {
		.conns = true, .subs = true, .kind = -1, .acc = acc
	};
	struct mon_snap snap;
	json_t *list = json_array();
	int64_t total = 0;
	size_t i;
	uint32_t k;

	if (mon_snapshot(r->m, &q, &snap) != 0) {
		mon_snap_fini(&snap);
		json_decref(list);
		return -1;
	}
	for (i = 0; i < snap.n; i++) {
		const struct mon_conn *c = snap.v[i];

		for (k = 0; k < c->nsubl; k++) {
			const struct mon_sub *s = &c->subs[k];

			if (test != NULL &&
			    !subject_match(s->subject, strlen(s->subject), test,
					   strlen(test)))
				continue;
			if (total++ < offset ||
			    (int64_t)json_array_size(list) >= limit)
				continue;
			json_array_append_new(list, sub_json(s));
		}
	}
	mon_snap_fini(&snap);
	mon_set(j, "total", json_integer(total));
	mon_set(j, "offset", json_integer(offset));
	mon_set(j, "limit", json_integer(limit));
	mon_set(j, "subscriptions_list", list);
	return 0;
}

void mon_subsz(struct mon_req *r)
{
	struct stats_sum sum = { 0 };
	const char *test = mon_arg(r, "test");
	const char *acc = mon_arg(r, "acc");
	int64_t offset = 0, limit = MON_LIMIT_DEFAULT;
	bool subs = false;
	json_t *j, *list;

	if (mon_arg_bool(r, "subs", &subs) != 0 ||
	    mon_arg_int(r, "offset", &offset) != 0 ||
	    mon_arg_int(r, "limit", &limit) != 0)
		return;
	if (test != NULL && test[0] == '\0')
		test = NULL;
	if (acc != NULL && acc[0] == '\0')
		acc = NULL;
	if (test != NULL && !subject_literal(test, strlen(test))) {
		mon_text(r, 400,
			 "invalid test subject, must be valid publish "
			 "subject: %s",
			 test);
		return;
	}
	if (offset < 0)
		offset = 0;
	if (limit <= 0)
		limit = MON_LIMIT_DEFAULT;
	if (limit > MON_LIMIT_MAX)
		limit = MON_LIMIT_MAX;
	sum.only = acc;
	accounts_foreach(r->m->srv->accounts, sum_stats, &sum);
	j = json_object();
	mon_set(j, "server_id", json_string(r->m->srv->server_id));
	mon_set(j, "now", mon_time(mon_now_ns()));
	stats_fields(j, &sum);
	if (subs && subs_list(r, j, acc, test, offset, limit) != 0) {
		json_decref(j);
		mon_text(r, 503, "monitoring data unavailable");
		return;
	}
	/* nats-server answers with the counters alone unless the list it
	 * built has entries (subs=1 that lists nothing included). */
	list = json_object_get(j, "subscriptions_list");
	if (list == NULL || json_array_size(list) == 0) {
		json_t *plain = json_object();
		const char *k;
		json_t *v;

		json_object_foreach(j, k, v)
		{
			if (strcmp(k, "server_id") == 0 ||
			    strcmp(k, "now") == 0)
				continue;
			if (strcmp(k, "total") == 0)
				break;
			mon_set(plain, k, json_incref(v));
		}
		json_decref(j);
		j = plain;
	}
	mon_json(r, j);
}

static int add_name(struct account *a, void *arg)
{
	json_array_append_new(arg, json_string(a->name));
	return 0;
}

static json_t *account_detail(struct monitor *m, struct account *a)
{
	struct stats_sum sum = { .only = a->name };
	json_t *d = json_object(), *st = json_object();

	sum_stats(a, &sum);
	mon_set(d, "account_name", json_string(a->name));
	mon_set(d, "update_time", mon_time(m->srv->start_ns));
	if (a->is_system)
		mon_set(d, "is_system", json_true());
	mon_set(d, "expired", json_false());
	mon_set(d, "complete", json_true());
	mon_set(d, "jetstream_enabled", json_false());
	mon_set(d, "leafnode_connections", json_integer(0));
	mon_set(d, "client_connections", json_integer(atomic_load(&a->nconns)));
	mon_set(d, "subscriptions", json_integer((json_int_t)sum.st.nsubs));
	stats_fields(st, &sum);
	mon_set(d, "sublist_stats", st);
	return d;
}

void mon_accountz(struct mon_req *r)
{
	struct server *s = r->m->srv;
	const char *acc = mon_arg(r, "acc");
	struct account *a = NULL;
	json_t *j, *names;

	if (acc != NULL && acc[0] != '\0') {
		a = accounts_get(s->accounts, acc, false);
		if (a == NULL) {
			mon_text(r, 400, "Account %s does not exist", acc);
			return;
		}
	}
	j = json_object();
	mon_set(j, "server_id", json_string(s->server_id));
	mon_set(j, "now", mon_time(mon_now_ns()));
	mon_set(j, "system_account", json_string("$SYS"));
	if (a != NULL) {
		mon_set(j, "account_detail", account_detail(r->m, a));
	} else {
		names = json_array();
		accounts_foreach(s->accounts, add_name, names);
		mon_set(j, "accounts", names);
	}
	mon_json(r, j);
}

/* An account's closed-connection totals, read before the snapshot of
 * the live ones (see mon_varz_collect() for why that order). */
struct statz_acc {
	struct account *a;
	uint64_t in_m, in_b, out_m, out_b;
};

struct statz_ctx {
	struct statz_acc *v;
	size_t n, cap;
};

static int statz_take(struct account *a, void *arg)
{
	struct statz_ctx *x = arg;
	struct statz_acc *e;

	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;

		e = realloc(x->v, cap * sizeof(*e));
		if (e == NULL)
			return -1;
		x->v = e;
		x->cap = cap;
	}
	e = &x->v[x->n++];
	e->a = a;
	e->in_m = atomic_load_explicit(&a->in_msgs, memory_order_relaxed);
	e->in_b = atomic_load_explicit(&a->in_bytes, memory_order_relaxed);
	e->out_m = atomic_load_explicit(&a->out_msgs, memory_order_relaxed);
	e->out_b = atomic_load_explicit(&a->out_bytes, memory_order_relaxed);
	return 0;
}

static json_t *pair(uint64_t msgs, uint64_t bytes)
{
	json_t *o = json_object();

	mon_set(o, "msgs", json_integer((json_int_t)msgs));
	mon_set(o, "bytes", json_integer((json_int_t)bytes));
	return o;
}

/* One account's line: closed connections' traffic, plus the live
 * connections' from the snapshot. NULL when it has no connection and
 * unused ones are not wanted. */
static json_t *statz_line(struct statz_acc *e, const struct mon_snap *snap,
			  bool unused)
{
	uint64_t conns = 0, leafs = 0;
	json_t *o;
	size_t i;

	for (i = 0; i < snap->n; i++) {
		const struct mon_conn *c = snap->v[i];

		if (c->acc == NULL || strcmp(c->acc, e->a->name) != 0)
			continue;
		if (c->kind == NATSD_KIND_CLIENT)
			conns++;
		else if (c->kind == NATSD_KIND_LEAF)
			leafs++;
		else
			continue;
		e->in_m += c->in_msgs;
		e->in_b += c->in_bytes;
		e->out_m += c->out_msgs;
		e->out_b += c->out_bytes;
	}
	if (conns + leafs == 0 && !unused)
		return NULL;
	o = json_object();
	mon_set(o, "acc", json_string(e->a->name));
	mon_set(o, "conns", json_integer((json_int_t)conns));
	mon_set(o, "leafnodes", json_integer((json_int_t)leafs));
	mon_set(o, "total_conns", json_integer((json_int_t)(conns + leafs)));
	mon_set(o, "sent", pair(e->out_m, e->out_b));
	mon_set(o, "received", pair(e->in_m, e->in_b));
	mon_set(o, "slow_consumers",
		json_integer((json_int_t)atomic_load_explicit(
			&e->a->slow_consumers, memory_order_relaxed)));
	return o;
}

json_t *mon_accstatz_list(struct monitor *m, bool unused)
{
	struct mon_query q = { .conns = true, .kind = -1 };
	struct statz_ctx x = { 0 };
	struct mon_snap snap;
	json_t *list = NULL, *o;
	size_t i;

	if (accounts_foreach(m->srv->accounts, statz_take, &x) != 0)
		goto out;
	if (mon_snapshot(m, &q, &snap) != 0) {
		mon_snap_fini(&snap);
		goto out;
	}
	list = json_array();
	for (i = 0; list != NULL && i < x.n; i++) {
		o = statz_line(&x.v[i], &snap, unused);
		if (o != NULL)
			json_array_append_new(list, o);
	}
	mon_snap_fini(&snap);
out:
	free(x.v);
	return list;
}

void mon_accstatz(struct mon_req *r)
{
	bool unused = false;
	json_t *j, *list;

	if (mon_arg_bool(r, "unused", &unused) != 0)
		return;
	list = mon_accstatz_list(r->m, unused);
	if (list == NULL) {
		mon_text(r, 503, "monitoring data unavailable");
		return;
	}
	j = json_object();
	mon_set(j, "server_id", json_string(r->m->srv->server_id));
	mon_set(j, "now", mon_time(mon_now_ns()));
	mon_set(j, "account_statz", list);
	mon_json(r, j);
}
