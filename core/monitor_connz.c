/* /connz: client connections, open (a worker snapshot) and recently
 * closed (the ring), filtered, sorted and paged as nats-server 2.9 does:
 * sort keys, their directions and their errors are nats-server's. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <natsd/plugin.h>

#include "conn.h"
#include "monitor_int.h"
#include "server.h"

enum connz_state { ST_OPEN = 0, ST_CLOSED = 1, ST_ALL = 2 };

enum connz_sort {
	BY_CID = 0,
	BY_START,
	BY_SUBS,
	BY_PENDING,
	BY_MSGS_TO,
	BY_MSGS_FROM,
	BY_BYTES_TO,
	BY_BYTES_FROM,
	BY_LAST,
	BY_IDLE,
	BY_UPTIME,
	BY_STOP,
	BY_REASON,
	BY_COUNT
};

static const char *const sort_names[] = {
	[BY_CID] = "cid",           [BY_START] = "start",
	[BY_SUBS] = "subs",         [BY_PENDING] = "pending",
	[BY_MSGS_TO] = "msgs_to",   [BY_MSGS_FROM] = "msgs_from",
	[BY_BYTES_TO] = "bytes_to", [BY_BYTES_FROM] = "bytes_from",
	[BY_LAST] = "last",         [BY_IDLE] = "idle",
	[BY_UPTIME] = "uptime",     [BY_STOP] = "stop",
	[BY_REASON] = "reason",
};
_Static_assert(sizeof(sort_names) / sizeof(sort_names[0]) == BY_COUNT,
	       "a sort key lacks its name");

/* qsort has no context argument: the sort's "now" for idle and uptime. */
static __thread int64_t sort_now;

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int64_t conn_end(const struct mon_conn *c)
{
	return c->closed ? c->stop_ns : sort_now;
}

#define CMP_FN(name, expr)                                                     \
	static int name(const void *pa, const void *pb)                        \
	{                                                                      \
		const struct mon_conn *a = *(struct mon_conn *const *)pa;      \
		const struct mon_conn *b = *(struct mon_conn *const *)pb;      \
		int d = (expr);                                                \
		return d != 0 ? d : cmp_u64(a->cid, b->cid);                   \
	}

/* Ascending: cid, start, reason; the others put the largest first. */
CMP_FN(by_cid, cmp_u64(a->cid, b->cid))
CMP_FN(by_start, cmp_i64(a->start_ns, b->start_ns))
CMP_FN(by_subs, cmp_u64(b->nsubs, a->nsubs))
CMP_FN(by_pending, cmp_u64(b->pending, a->pending))
CMP_FN(by_msgs_to, cmp_u64(b->out_msgs, a->out_msgs))
CMP_FN(by_msgs_from, cmp_u64(b->in_msgs, a->in_msgs))
CMP_FN(by_bytes_to, cmp_u64(b->out_bytes, a->out_bytes))
CMP_FN(by_bytes_from, cmp_u64(b->in_bytes, a->in_bytes))
CMP_FN(by_last, cmp_i64(b->last_ns, a->last_ns))
CMP_FN(by_idle, cmp_i64(conn_end(b) - b->last_ns, conn_end(a) - a->last_ns))
CMP_FN(by_uptime, cmp_i64(conn_end(b) - b->start_ns, conn_end(a) - a->start_ns))
CMP_FN(by_stop, cmp_i64(b->stop_ns, a->stop_ns))
CMP_FN(by_reason, strcmp(conn_close_text((enum conn_close_reason)a->reason),
			 conn_close_text((enum conn_close_reason)b->reason)))

static int (*const sort_fns[])(const void *, const void *) = {
	[BY_CID] = by_cid,           [BY_START] = by_start,
	[BY_SUBS] = by_subs,         [BY_PENDING] = by_pending,
	[BY_MSGS_TO] = by_msgs_to,   [BY_MSGS_FROM] = by_msgs_from,
	[BY_BYTES_TO] = by_bytes_to, [BY_BYTES_FROM] = by_bytes_from,
	[BY_LAST] = by_last,         [BY_IDLE] = by_idle,
	[BY_UPTIME] = by_uptime,     [BY_STOP] = by_stop,
	[BY_REASON] = by_reason,
};
_Static_assert(sizeof(sort_fns) / sizeof(sort_fns[0]) == BY_COUNT,
	       "a sort key lacks its function");

struct connz_opts {
	enum connz_sort sort;
	enum connz_state state;
	bool auth, subs, detail;
	int64_t offset, limit;
	uint64_t cid;
	const char *user, *acc;
};

static int parse_opts(struct mon_req *r, struct connz_opts *o)
{
	const char *sort = mon_arg(r, "sort");
	const char *state = mon_arg(r, "state");
	const char *subs = mon_arg(r, "subs");
	int i;

	memset(o, 0, sizeof(*o));
	o->limit = MON_LIMIT_DEFAULT;
	if (sort != NULL && sort[0] != '\0') {
		for (i = 0; i < BY_COUNT; i++)
			if (strcmp(sort, sort_names[i]) == 0)
				break;
		if (i == BY_COUNT) {
			mon_text(r, 400, "invalid sorting option: %s", sort);
			return -1;
		}
		o->sort = (enum connz_sort)i;
	}
	if (mon_arg_bool(r, "auth", &o->auth) != 0)
		return -1;
	if (subs != NULL && strcmp(subs, "detail") == 0)
		o->subs = o->detail = true;
	else if (mon_arg_bool(r, "subs", &o->subs) != 0)
		return -1;
	if (mon_arg_int(r, "offset", &o->offset) != 0 ||
	    mon_arg_int(r, "limit", &o->limit) != 0 ||
	    mon_arg_u64(r, "cid", &o->cid) != 0)
		return -1;
	if (state == NULL || state[0] == '\0' || strcmp(state, "open") == 0)
		o->state = ST_OPEN;
	else if (strcmp(state, "closed") == 0)
		o->state = ST_CLOSED;
	else if (strcmp(state, "any") == 0 || strcmp(state, "all") == 0)
		o->state = ST_ALL;
	else {
		mon_text(r, 400, "Error decoding state for %s", state);
		return -1;
	}
	if ((o->sort == BY_STOP || o->sort == BY_REASON) &&
	    o->state != ST_CLOSED) {
		mon_text(r, 400, "sort by %s only valid on closed connections",
			 sort_names[o->sort]);
		return -1;
	}
	if (o->offset < 0)
		o->offset = 0;
	if (o->limit <= 0)
		o->limit = MON_LIMIT_DEFAULT;
	/* A huge limit asks for no more than there is; the cap only keeps
	 * the reported value honest. */
	if (o->limit > MON_LIMIT_MAX)
		o->limit = MON_LIMIT_MAX;
	o->user = mon_arg(r, "user");
	o->acc = mon_arg(r, "acc");
	if (o->user != NULL && o->user[0] == '\0')
		o->user = NULL;
	if (o->acc != NULL && o->acc[0] == '\0')
		o->acc = NULL;
	/* mqtt_client: natsd has no MQTT connections; nothing matches it
	 * that would not match without it, so it is ignored. */
	return 0;
}

/* Appends the closed connections that pass the filters to all. */
static int add_closed(struct monitor *m, const struct connz_opts *o,
		      struct mon_snap *all)
{
	struct mon_snap cl;
	struct mon_conn **nv;
	size_t i;

	if (mon_closed(m, &cl) != 0)
		return -1;
	nv = realloc(all->v, (all->n + cl.n + 1) * sizeof(*nv));
	if (nv == NULL) {
		mon_snap_fini(&cl);
		return -1;
	}
	all->v = nv;
	for (i = 0; i < cl.n; i++) {
		struct mon_conn *c = cl.v[i];

		if ((o->cid != 0 && c->cid != o->cid) ||
		    (o->acc != NULL &&
		     (c->acc == NULL || strcmp(c->acc, o->acc) != 0))) {
			mon_conn_unref(c);
			continue;
		}
		all->v[all->n++] = c;
	}
	free(cl.v);
	return 0;
}

static json_t *subs_json(const struct mon_conn *c, bool detail)
{
	json_t *l = json_array();
	uint32_t i;

	for (i = 0; i < c->nsubl; i++) {
		const struct mon_sub *s = &c->subs[i];
		json_t *d;

		if (!detail) {
			json_array_append_new(l, json_string(s->subject));
			continue;
		}
		d = json_object();
		mon_set(d, "subject", json_string(s->subject));
		if (s->queue != NULL)
			mon_set(d, "qgroup", json_string(s->queue));
		mon_set(d, "sid", json_string(s->sid ? s->sid : ""));
		mon_set(d, "msgs", json_integer((json_int_t)s->msgs));
		if (s->max > 0)
			mon_set(d, "max", json_integer((json_int_t)s->max));
		mon_set(d, "cid", json_integer((json_int_t)s->cid));
		json_array_append_new(l, d);
	}
	return l;
}

static json_t *conn_json(const struct mon_conn *c, const struct connz_opts *o,
			 int64_t now)
{
	json_t *j = json_object();
	int64_t end = c->closed ? c->stop_ns : now;

	mon_set(j, "cid", json_integer((json_int_t)c->cid));
	mon_set(j, "kind", json_string("Client"));
	mon_set(j, "type", json_string("nats"));
	mon_set(j, "ip", json_string(c->ip));
	mon_set(j, "port", json_integer(c->port));
	mon_set(j, "start", mon_time(c->start_ns));
	mon_set(j, "last_activity", mon_time(c->last_ns));
	if (c->closed) {
		mon_set(j, "stop", mon_time(c->stop_ns));
		mon_set(j, "reason",
			json_string(conn_close_text(
				(enum conn_close_reason)c->reason)));
	}
	mon_set(j, "rtt", mon_gotime(c->rtt_ns));
	mon_set(j, "uptime", mon_uptime(end - c->start_ns));
	mon_set(j, "idle", mon_uptime(end - c->last_ns));
	mon_set(j, "pending_bytes", json_integer((json_int_t)c->pending));
	mon_set(j, "in_msgs", json_integer((json_int_t)c->in_msgs));
	mon_set(j, "out_msgs", json_integer((json_int_t)c->out_msgs));
	mon_set(j, "in_bytes", json_integer((json_int_t)c->in_bytes));
	mon_set(j, "out_bytes", json_integer((json_int_t)c->out_bytes));
	mon_set(j, "subscriptions", json_integer(c->nsubs));
	if (c->name != NULL && c->name[0] != '\0')
		mon_set(j, "name", json_string(c->name));
	if (c->lang != NULL && c->lang[0] != '\0')
		mon_set(j, "lang", json_string(c->lang));
	if (c->version != NULL && c->version[0] != '\0')
		mon_set(j, "version", json_string(c->version));
	if (c->tls_version[0] != '\0') {
		mon_set(j, "tls_version", json_string(c->tls_version));
		mon_set(j, "tls_cipher_suite", json_string(c->tls_cipher));
	}
	if (o->auth && c->user != NULL && c->user[0] != '\0')
		mon_set(j, "authorized_user", json_string(c->user));
	/* nats-server names the account only when it is not the global
	 * one. */
	if (o->auth && c->acc != NULL && strcmp(c->acc, "$G") != 0)
		mon_set(j, "account", json_string(c->acc));
	if (o->subs && c->nsubl > 0)
		mon_set(j,
			o->detail ? "subscriptions_list_detail"
				  : "subscriptions_list",
			subs_json(c, o->detail));
	return j;
}

void mon_connz(struct mon_req *r)
{
	struct connz_opts o;
	struct mon_query q = { .conns = true, .kind = NATSD_KIND_CLIENT };
	struct mon_snap all = { 0 };
	json_t *j, *list;
	int64_t now, i, total, shown = 0;

	if (parse_opts(r, &o) != 0)
		return;
	q.subs = o.subs;
	q.cid = o.cid;
	q.acc = o.acc;
	/* A cid is looked up among the open connections, then the closed
	 * ones, whatever the state asked for (nats-server does so). */
	if (o.cid != 0 || o.state != ST_CLOSED) {
		if (mon_snapshot(r->m, &q, &all) != 0) {
			mon_snap_fini(&all);
			mon_text(r, 503, "monitoring data unavailable");
			return;
		}
	}
	if ((o.cid != 0 && all.n == 0) || (o.cid == 0 && o.state != ST_OPEN)) {
		if (add_closed(r->m, &o, &all) != 0) {
			mon_snap_fini(&all);
			mon_text(r, 500, "out of memory");
			return;
		}
	}
	if (o.cid != 0)
		o.limit = 1;
	now = mon_now_ns();
	sort_now = now;
	if (all.n > 1)
		qsort(all.v, all.n, sizeof(all.v[0]), sort_fns[o.sort]);
	total = (int64_t)all.n;
	j = json_object();
	mon_set(j, "server_id", json_string(r->m->srv->server_id));
	mon_set(j, "now", mon_time(now));
	list = json_array();
	/* The user filter applies after the total is counted, as in
	 * nats-server. */
	for (i = 0; i < total; i++) {
		const struct mon_conn *c = all.v[i];

		if (o.user != NULL &&
		    (c->user == NULL || strcmp(c->user, o.user) != 0))
			continue;
		if (shown++ < o.offset)
			continue;
		if ((int64_t)json_array_size(list) >= o.limit)
			break;
		json_array_append_new(list, conn_json(c, &o, now));
	}
	mon_set(j, "num_connections",
		json_integer((json_int_t)json_array_size(list)));
	mon_set(j, "total", json_integer(total));
	mon_set(j, "offset", json_integer(o.offset));
	mon_set(j, "limit", json_integer(o.limit));
	mon_set(j, "connections", list);
	mon_snap_fini(&all);
	mon_json(r, j);
}
