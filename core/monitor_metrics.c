/* /metrics: the Prometheus text exposition format (version 0.0.4).
 *
 * Names follow prometheus-nats-exporter (gnatsd_varz_*, gnatsd_subsz_*,
 * gnatsd_accstatz_*, each with a server_id label), so dashboards built on
 * the exporter read natsd directly; what the exporter has no name for is
 * natsd_*. The exporter types everything as a gauge; here counters that
 * only grow are typed counter (same names, so queries keep working). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <natsd/plugin.h>

#include "account.h"
#include "monitor_int.h"
#include "pmetric.h"
#include "server.h"
#include "sublist.h"

/* Writes s as a label value: backslash, quote and newline escaped. */
static void put_label(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void head(FILE *f, const char *name, const char *help, const char *type)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, const char *sid, const char *lk,
		   const char *lv, double v)
{
	fprintf(f, "%s{server_id=\"", name);
	put_label(f, sid);
	if (lk != NULL) {
		fprintf(f, "\",%s=\"", lk);
		put_label(f, lv);
	}
	if (v == (double)(long long)v)
		fprintf(f, "\"} %lld\n", (long long)v);
	else
		fprintf(f, "\"} %.15g\n", v);
}

static void one(FILE *f, const char *name, const char *help, const char *type,
		const char *sid, double v)
{
	head(f, name, help, type);
	sample(f, name, sid, NULL, NULL, v);
}

static void varz_metrics(FILE *f, struct monitor *m, const struct mon_varz *v)
{
	const struct opts *o = server_opts(m->srv);
	const char *sid = m->srv->server_id;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

#define G(n, h, x) one(f, "gnatsd_varz_" n, h, "gauge", sid, (double)(x))
#define C(n, h, x) one(f, "gnatsd_varz_" n, h, "counter", sid, (double)(x))
	G("connections", "Client connections now open",
	  v->t.nkind[NATSD_KIND_CLIENT]);
	C("total_connections", "Connections accepted since start",
	  v->total_conns);
	G("routes", "Route connections", v->t.nkind[NATSD_KIND_ROUTE]);
	G("remotes", "Gateway connections", v->t.nkind[NATSD_KIND_GATEWAY]);
	G("leafnodes", "Leafnode connections", v->t.nkind[NATSD_KIND_LEAF]);
	C("in_msgs", "Messages received", v->t.in_msgs);
	C("out_msgs", "Messages sent", v->t.out_msgs);
	C("in_bytes", "Payload bytes received", v->t.in_bytes);
	C("out_bytes", "Payload bytes sent", v->t.out_bytes);
	C("slow_consumers", "Connections cut off as slow consumers",
	  v->slow_consumers);
	G("subscriptions", "Subscriptions in all subject indexes", v->t.nsubs);
	G("mem", "Resident memory in bytes", v->mem);
	G("cpu", "CPU use in percent", v->cpu);
	G("cores", "Processor cores", cores > 0 ? cores : 1);
	G("uptime", "Seconds since start",
	  (double)((v->now_ns - v->start_ns) / 1000000000));
	G("start", "Start time, seconds since the epoch",
	  (double)(v->start_ns / 1000000000));
	G("max_connections", "Configured connection limit",
	  o->max_connections > 0 ? o->max_connections : 0);
	G("max_payload", "Configured payload limit", o->max_payload);
	G("max_pending", "Configured pending bytes limit", o->max_pending);
	G("max_control_line", "Configured control line limit",
	  o->max_control_line);
#undef G
#undef C
	head(f, "natsd_connections", "Open connections by kind", "gauge");
	static const char *const kinds[] = { "client", "route", "gateway",
					     "leaf", "system" };
	for (int k = 0; k < 5; k++)
		sample(f, "natsd_connections", sid, "kind", kinds[k],
		       (double)v->t.nkind[k]);
	one(f, "natsd_pending_bytes", "Bytes queued to connections", "gauge",
	    sid, (double)v->t.pending);
}

struct sl_sum {
	struct sublist_stats st;
	uint64_t nres;
	double fan;
};

static int sum_sl(struct account *a, void *arg)
{
	struct sl_sum *s = arg;
	struct sublist_stats st;

	sublist_stats(a->sl, &st);
	s->st.nsubs += st.nsubs;
	s->st.ninserts += st.ninserts;
	s->st.nremoves += st.nremoves;
	s->st.nmatches += st.nmatches;
	s->st.ncache_hits += st.ncache_hits;
	s->st.ncache_entries += st.ncache_entries;
	if (st.max_fanout > s->st.max_fanout)
		s->st.max_fanout = st.max_fanout;
	s->fan += st.avg_fanout * (double)st.ncache_entries;
	s->nres += st.ncache_entries;
	return 0;
}

static void subsz_metrics(FILE *f, struct monitor *m)
{
	const char *sid = m->srv->server_id;
	struct sl_sum s = { 0 };

	accounts_foreach(m->srv->accounts, sum_sl, &s);
	one(f, "gnatsd_subsz_num_subscriptions", "Subscriptions", "gauge", sid,
	    (double)s.st.nsubs);
	one(f, "gnatsd_subsz_num_cache", "Cached match results", "gauge", sid,
	    (double)s.st.ncache_entries);
	one(f, "gnatsd_subsz_num_inserts", "Subscriptions inserted", "counter",
	    sid, (double)s.st.ninserts);
	one(f, "gnatsd_subsz_num_removes", "Subscriptions removed", "counter",
	    sid, (double)s.st.nremoves);
	one(f, "gnatsd_subsz_num_matches", "Subject matches", "counter", sid,
	    (double)s.st.nmatches);
	one(f, "gnatsd_subsz_cache_hit_rate", "Match cache hit ratio", "gauge",
	    sid,
	    s.st.nmatches ? (double)s.st.ncache_hits / (double)s.st.nmatches
			  : 0);
	one(f, "gnatsd_subsz_max_fanout", "Largest match result", "gauge", sid,
	    s.st.max_fanout);
	one(f, "gnatsd_subsz_avg_fanout", "Average match result size", "gauge",
	    sid, s.nres ? s.fan / (double)s.nres : 0);
}

static void acc_metric(FILE *f, const char *sid, json_t *list, const char *name,
		       const char *help, const char *type, const char *k1,
		       const char *k2)
{
	size_t i;
	json_t *e;

	head(f, name, help, type);
	json_array_foreach(list, i, e)
	{
		json_t *v = json_object_get(e, k1);

		if (k2 != NULL)
			v = json_object_get(v, k2);
		sample(f, name, sid, "account",
		       json_string_value(json_object_get(e, "acc")),
		       (double)json_integer_value(v));
	}
}

static void accstatz_metrics(FILE *f, struct monitor *m)
{
	const char *sid = m->srv->server_id;
	json_t *l = mon_accstatz_list(m, true);

	if (l == NULL)
		return;
	acc_metric(f, sid, l, "gnatsd_accstatz_current_connections",
		   "Client connections of the account", "gauge", "conns", NULL);
	acc_metric(f, sid, l, "gnatsd_accstatz_leaf_nodes",
		   "Leafnode connections of the account", "gauge", "leafnodes",
		   NULL);
	acc_metric(f, sid, l, "gnatsd_accstatz_total_connections",
		   "Connections of the account", "gauge", "total_conns", NULL);
	acc_metric(f, sid, l, "gnatsd_accstatz_sent_messages",
		   "Messages sent to the account's connections", "counter",
		   "sent", "msgs");
	acc_metric(f, sid, l, "gnatsd_accstatz_sent_bytes",
		   "Bytes sent to the account's connections", "counter", "sent",
		   "bytes");
	acc_metric(f, sid, l, "gnatsd_accstatz_received_messages",
		   "Messages received from the account's connections",
		   "counter", "received", "msgs");
	acc_metric(f, sid, l, "gnatsd_accstatz_received_bytes",
		   "Bytes received from the account's connections", "counter",
		   "received", "bytes");
	acc_metric(f, sid, l, "gnatsd_accstatz_slow_consumers",
		   "Slow consumers of the account", "counter", "slow_consumers",
		   NULL);
	json_decref(l);
}

static void plugin_metrics(FILE *f, struct monitor *m)
{
	size_t i, n = pmetric_count();
	char name[PMETRIC_NAME_MAX + 16];

	for (i = 0; i < n; i++) {
		const struct natsd_metric *pm = pmetric_get(i);

		snprintf(name, sizeof(name), "natsd_plugin_%s", pm->name);
		one(f, name, pm->help,
		    pm->type == NATSD_METRIC_COUNTER ? "counter" : "gauge",
		    m->srv->server_id,
		    (double)atomic_load_explicit(&pm->v, memory_order_relaxed));
	}
}

void mon_metrics(struct mon_req *r)
{
	struct mon_varz v;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (mon_varz_collect(r->m, &v) != 0) {
		mon_text(r, 503, "monitoring data unavailable");
		return;
	}
	f = open_memstream(&buf, &len);
	if (f == NULL) {
		mon_text(r, 500, "out of memory");
		return;
	}
	varz_metrics(f, r->m, &v);
	subsz_metrics(f, r->m);
	accstatz_metrics(f, r->m);
	plugin_metrics(f, r->m);
	if (fclose(f) != 0 || buf == NULL) {
		free(buf);
		mon_text(r, 500, "out of memory");
		return;
	}
	free(r->body);
	r->body = buf;
	r->len = len;
	r->status = 200;
	r->type = "text/plain; version=0.0.4; charset=utf-8";
}
