/* /varz and the small endpoints: /healthz, /routez, /gatewayz, /leafz.
 *
 * Server-wide counts come from relaxed atomic loads of the server and
 * account counters and from a totals-only snapshot of the workers (no
 * connection is copied for /varz). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <natsd/plugin.h>

#include "account.h"
#include "monitor_int.h"
#include "pmetric.h"
#include "server.h"
#include "sublist.h"

struct acc_sums {
	uint64_t in_msgs, in_bytes, out_msgs, out_bytes, nsubs;
};

static int sum_account(struct account *a, void *arg)
{
	struct acc_sums *s = arg;
	struct sublist_stats st;

	s->in_msgs += atomic_load_explicit(&a->in_msgs, memory_order_relaxed);
	s->in_bytes += atomic_load_explicit(&a->in_bytes, memory_order_relaxed);
	s->out_msgs += atomic_load_explicit(&a->out_msgs, memory_order_relaxed);
	s->out_bytes +=
		atomic_load_explicit(&a->out_bytes, memory_order_relaxed);
	sublist_stats(a->sl, &st);
	s->nsubs += st.nsubs;
	return 0;
}

static int64_t resident_bytes(void)
{
	unsigned long size = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return (int64_t)rss * sysconf(_SC_PAGESIZE);
}

/* CPU use in percent since the previous call (or since the start). */
static double cpu_percent(struct monitor *m, int64_t now_ns)
{
	struct rusage ru;
	int64_t used, dw;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	used = ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
	if (m->cpu_wall_ns == 0)
		m->cpu_wall_ns = m->srv->start_ns;
	dw = now_ns - m->cpu_wall_ns;
	/* Short intervals say little: keep the last value for 1 s. */
	if (dw >= 1000000000) {
		m->cpu_pct =
			(double)(used - m->cpu_used_ns) * 100.0 / (double)dw;
		m->cpu_pct = (double)(int64_t)(m->cpu_pct * 100) / 100;
		m->cpu_wall_ns = now_ns;
		m->cpu_used_ns = used;
	}
	return m->cpu_pct;
}

int mon_varz_collect(struct monitor *m, struct mon_varz *v)
{
	struct server *s = m->srv;
	struct acc_sums a = { 0 };
	struct mon_query q = { .kind = -1 };
	struct mon_snap snap;
	int rc;

	memset(v, 0, sizeof(*v));
	/* Closed connections' traffic first, then the live connections':
	 * one that closes in between is missed until the next call, never
	 * counted twice, so counters never appear to go backwards. */
	accounts_foreach(s->accounts, sum_account, &a);
	rc = mon_snapshot(m, &q, &snap);
	if (rc != 0) {
		mon_snap_fini(&snap);
		return rc;
	}
	v->t = snap.t;
	mon_snap_fini(&snap);
	v->t.in_msgs += a.in_msgs;
	v->t.in_bytes += a.in_bytes;
	v->t.out_msgs += a.out_msgs;
	v->t.out_bytes += a.out_bytes;
	/* The subject index counts every subscription, remote interest
	 * included, as nats-server's varz does. */
	v->t.nsubs = a.nsubs;
	v->total_conns =
		atomic_load_explicit(&s->total_conns, memory_order_relaxed);
	v->slow_consumers =
		atomic_load_explicit(&s->slow_consumers, memory_order_relaxed);
	v->now_ns = mon_now_ns();
	v->start_ns = s->start_ns;
	v->mem = resident_bytes();
	v->cpu = cpu_percent(m, v->now_ns);
	return 0;
}

static json_t *plugins_object(void)
{
	json_t *o = json_object();
	size_t i, n = pmetric_count();

	for (i = 0; i < n; i++) {
		const struct natsd_metric *pm = pmetric_get(i);

		mon_set(o, pm->name,
			json_integer(atomic_load_explicit(
				&pm->v, memory_order_relaxed)));
	}
	return o;
}

static const char *str_or(const char *s, const char *def)
{
	return s != NULL ? s : def;
}

/* nats-server's WebsocketOptsVarz: what is set, empty when the block is
 * off (tls_pinned_certs not shown). */
static json_t *varz_websocket(struct server *s, const struct opts *o)
{
	const struct opts_websocket *w = &o->websocket;
	json_t *j = json_object(), *a;
	size_t i;

	if (s->ws_listener == NULL)
		return j;
	mon_set(j, "host", json_string(str_or(w->host, "0.0.0.0")));
	mon_set(j, "port", json_integer(s->ws_port));
	if (w->advertise != NULL)
		mon_set(j, "advertise", json_string(w->advertise));
	if (w->no_auth_user != NULL)
		mon_set(j, "no_auth_user", json_string(w->no_auth_user));
	if (w->jwt_cookie != NULL)
		mon_set(j, "jwt_cookie", json_string(w->jwt_cookie));
	if (w->handshake_timeout > 0)
		mon_set(j, "handshake_timeout",
			json_integer(w->handshake_timeout));
	if (w->auth_timeout > 0)
		mon_set(j, "auth_timeout",
			mon_num((double)w->auth_timeout / 1e9));
	if (w->no_tls)
		mon_set(j, "no_tls", json_true());
	if (s->ws_tf & NATSD_TF_TLS_MAP)
		mon_set(j, "tls_map", json_true());
	if (w->same_origin)
		mon_set(j, "same_origin", json_true());
	if (w->allowed_origins.n > 0) {
		a = json_array();
		for (i = 0; i < w->allowed_origins.n; i++)
			json_array_append_new(
				a, json_string(w->allowed_origins.v[i]));
		mon_set(j, "allowed_origins", a);
	}
	if (w->compression)
		mon_set(j, "compression", json_true());
	return j;
}

void mon_varz(struct mon_req *r)
{
	struct server *s = r->m->srv;
	const struct opts *o = server_opts(s);
	struct mon_varz v;
	json_t *j;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (mon_varz_collect(r->m, &v) != 0) {
		mon_text(r, 503, "monitoring data unavailable");
		return;
	}
	j = json_object();
	mon_set(j, "server_id", json_string(s->server_id));
	mon_set(j, "server_name", json_string(s->server_name));
	mon_set(j, "version", json_string(NATSD_COMPAT_VERSION));
	mon_set(j, "proto", json_integer(1));
	mon_set(j, "go", json_string("natsd " PACKAGE_VERSION));
	mon_set(j, "host", json_string(str_or(o->host, "0.0.0.0")));
	mon_set(j, "port", json_integer(s->client_port));
	if (s->auth_required)
		mon_set(j, "auth_required", json_true());
	mon_set(j, "max_connections",
		json_integer(o->max_connections > 0 ? o->max_connections : 0));
	if (o->max_subscriptions > 0)
		mon_set(j, "max_subscriptions",
			json_integer(o->max_subscriptions));
	mon_set(j, "ping_interval", json_integer(o->ping_interval));
	mon_set(j, "ping_max", json_integer(o->ping_max));
	/* host stays as started across reloads (server.c keeps it); the
	 * monitor's own strings are copies taken at start. */
	mon_set(j, "http_host", json_string(r->m->host_cfg));
	mon_set(j, "http_port", json_integer(r->m->https ? 0 : r->m->port));
	mon_set(j, "http_base_path", json_string(r->m->base_cfg));
	mon_set(j, "https_port", json_integer(r->m->https ? r->m->port : 0));
	mon_set(j, "auth_timeout", mon_num((double)o->auth_timeout / 1e9));
	mon_set(j, "max_control_line", json_integer(o->max_control_line));
	mon_set(j, "max_payload", json_integer(o->max_payload));
	mon_set(j, "max_pending", json_integer(o->max_pending));
	mon_set(j, "cluster", json_object());
	mon_set(j, "gateway", json_object());
	mon_set(j, "leaf", json_object());
	mon_set(j, "mqtt", json_object());
	mon_set(j, "websocket", varz_websocket(s, o));
	mon_set(j, "jetstream", json_object());
	mon_set(j, "tls_timeout", json_integer(2));
	mon_set(j, "write_deadline", json_integer(o->write_deadline));
	mon_set(j, "start", mon_time(v.start_ns));
	mon_set(j, "now", mon_time(v.now_ns));
	mon_set(j, "uptime", mon_uptime(v.now_ns - v.start_ns));
	mon_set(j, "mem", json_integer(v.mem));
	mon_set(j, "cores", json_integer(cores > 0 ? cores : 1));
	mon_set(j, "gomaxprocs", json_integer(s->nworkers));
	mon_set(j, "cpu", mon_num(v.cpu));
	mon_set(j, "connections",
		json_integer((json_int_t)v.t.nkind[NATSD_KIND_CLIENT]));
	mon_set(j, "total_connections",
		json_integer((json_int_t)v.total_conns));
	mon_set(j, "routes",
		json_integer((json_int_t)v.t.nkind[NATSD_KIND_ROUTE]));
	mon_set(j, "remotes",
		json_integer((json_int_t)v.t.nkind[NATSD_KIND_GATEWAY]));
	mon_set(j, "leafnodes",
		json_integer((json_int_t)v.t.nkind[NATSD_KIND_LEAF]));
	mon_set(j, "in_msgs", json_integer((json_int_t)v.t.in_msgs));
	mon_set(j, "out_msgs", json_integer((json_int_t)v.t.out_msgs));
	mon_set(j, "in_bytes", json_integer((json_int_t)v.t.in_bytes));
	mon_set(j, "out_bytes", json_integer((json_int_t)v.t.out_bytes));
	mon_set(j, "slow_consumers",
		json_integer((json_int_t)v.slow_consumers));
	mon_set(j, "subscriptions", json_integer((json_int_t)v.t.nsubs));
	mon_set(j, "http_req_stats", mon_http_req_stats());
	mon_set(j, "config_load_time", mon_time(v.start_ns));
	mon_set(j, "system_account", json_string("$SYS"));
	if (pmetric_count() > 0)
		mon_set(j, "plugins", plugins_object());
	mon_json(r, j);
}

void mon_healthz(struct mon_req *r)
{
	json_t *j = json_object();

	mon_set(j, "status", json_string("ok"));
	mon_json_compact(r, j);
}

/* The fields routez and leafz show of a link connection. */
static json_t *link_json(const struct mon_conn *c, int64_t now, bool route,
			 bool subs)
{
	json_t *o = json_object();
	uint32_t i;

	if (route) {
		mon_set(o, "rid", json_integer((json_int_t)c->cid));
		mon_set(o, "remote_id", json_string(""));
		mon_set(o, "did_solicit", json_false());
		mon_set(o, "is_configured", json_false());
	} else {
		mon_set(o, "account", json_string(c->acc ? c->acc : "$G"));
	}
	mon_set(o, "ip", json_string(c->ip));
	mon_set(o, "port", json_integer(c->port));
	if (route) {
		mon_set(o, "start", mon_time(c->start_ns));
		mon_set(o, "last_activity", mon_time(c->last_ns));
	}
	mon_set(o, "rtt", mon_gotime(0));
	if (route) {
		mon_set(o, "uptime", mon_uptime(now - c->start_ns));
		mon_set(o, "idle", mon_uptime(now - c->last_ns));
		mon_set(o, "pending_size",
			json_integer((json_int_t)c->pending));
	}
	mon_set(o, "in_msgs", json_integer((json_int_t)c->in_msgs));
	mon_set(o, "out_msgs", json_integer((json_int_t)c->out_msgs));
	mon_set(o, "in_bytes", json_integer((json_int_t)c->in_bytes));
	mon_set(o, "out_bytes", json_integer((json_int_t)c->out_bytes));
	mon_set(o, "subscriptions", json_integer(c->nsubs));
	if (subs && c->nsubl > 0) {
		json_t *l = json_array();

		for (i = 0; i < c->nsubl; i++)
			json_array_append_new(l,
					      json_string(c->subs[i].subject));
		mon_set(o, "subscriptions_list", l);
	}
	return o;
}

/* Lists the connections of one link kind: routez and leafz. */
static void links_endpoint(struct mon_req *r, int kind)
{
	struct mon_query q = { .conns = true, .kind = kind };
	struct mon_snap snap;
	bool subs = false;
	const char *sv = mon_arg(r, "subs");
	json_t *j, *list;
	int64_t now;
	size_t i;

	if (sv != NULL && strcmp(sv, "detail") == 0)
		subs = true;
	else if (mon_arg_bool(r, "subs", &subs) != 0)
		return;
	q.subs = subs;
	if (mon_snapshot(r->m, &q, &snap) != 0) {
		mon_snap_fini(&snap);
		mon_text(r, 503, "monitoring data unavailable");
		return;
	}
	now = mon_now_ns();
	j = json_object();
	mon_set(j, "server_id", json_string(r->m->srv->server_id));
	mon_set(j, "now", mon_time(now));
	list = snap.n > 0 || kind == NATSD_KIND_ROUTE ? json_array()
						      : json_null();
	for (i = 0; i < snap.n; i++)
		json_array_append_new(list, link_json(snap.v[i], now,
						      kind == NATSD_KIND_ROUTE,
						      subs));
	if (kind == NATSD_KIND_ROUTE) {
		mon_set(j, "num_routes", json_integer((json_int_t)snap.n));
		mon_set(j, "routes", list);
	} else {
		mon_set(j, "leafnodes", json_integer((json_int_t)snap.n));
		mon_set(j, "leafs", list);
	}
	mon_snap_fini(&snap);
	mon_json(r, j);
}

void mon_routez(struct mon_req *r)
{
	links_endpoint(r, NATSD_KIND_ROUTE);
}

void mon_leafz(struct mon_req *r)
{
	links_endpoint(r, NATSD_KIND_LEAF);
}

/* No gateway link reports its gateways yet: the maps are empty, as on a
 * nats-server without a gateway block. */
void mon_gatewayz(struct mon_req *r)
{
	json_t *j = json_object();
	bool accs = false;

	if (mon_arg_bool(r, "accs", &accs) != 0) {
		json_decref(j);
		return;
	}
	mon_set(j, "server_id", json_string(r->m->srv->server_id));
	mon_set(j, "now", mon_time(mon_now_ns()));
	mon_set(j, "outbound_gateways", json_object());
	mon_set(j, "inbound_gateways", json_object());
	mon_json(r, j);
}
