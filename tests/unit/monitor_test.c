/* Unit tests of the monitor's pieces that need no HTTP: Go-compatible
 * time and duration formatting, numbers as Go writes them, the ring of
 * closed connections (it keeps the newest MON_CLOSED_MAX, oldest first)
 * and the plugin metric table's rules. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <natsd/plugin.h>

#include "conn.h"
#include "monitor.h"
#include "monitor_int.h"
#include "pmetric.h"
#include "../suites.h"

static void check_str(json_t *j, const char *want)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	if (strcmp(json_string_value(j), want) != 0)
		fprintf(stderr, "got %s, want %s\n", json_string_value(j),
			want);
	CU_ASSERT_STRING_EQUAL(json_string_value(j), want);
	json_decref(j);
}

static void test_uptime(void)
{
	const int64_t s = 1000000000;

	check_str(mon_uptime(0), "0s");
	check_str(mon_uptime(-5), "0s");
	check_str(mon_uptime(59 * s + 999999999), "59s");
	check_str(mon_uptime(61 * s), "1m1s");
	check_str(mon_uptime(3600 * s), "1h0m0s");
	check_str(mon_uptime((86400 + 3661) * s), "1d1h1m1s");
	check_str(mon_uptime((int64_t)366 * 86400 * s), "1y1d0h0m0s");
}

static void test_go_duration(void)
{
	check_str(mon_gotime(0), "0s");
	check_str(mon_gotime(999), "999ns");
	check_str(mon_gotime(440000), "440\xc2\xb5s");
	check_str(mon_gotime(1500), "1.5\xc2\xb5s");
	check_str(mon_gotime(1234567), "1.234567ms");
	check_str(mon_gotime(2000000000), "2s");
	check_str(mon_gotime(90500000000), "1m30.5s");
	check_str(mon_gotime((int64_t)3723 * 1000000000), "1h2m3s");
}

static void test_time(void)
{
	/* 2021-01-02T03:04:05Z */
	const int64_t t = (int64_t)1609556645 * 1000000000;

	check_str(mon_time(t), "2021-01-02T03:04:05Z");
	check_str(mon_time(t + 120000000), "2021-01-02T03:04:05.12Z");
	check_str(mon_time(t + 1), "2021-01-02T03:04:05.000000001Z");
}

static void test_numbers(void)
{
	json_t *j = mon_num(2);

	CU_ASSERT(json_is_integer(j));
	json_decref(j);
	j = mon_num(0.75);
	CU_ASSERT(json_is_real(j));
	CU_ASSERT_DOUBLE_EQUAL(json_real_value(j), 0.75, 1e-12);
	json_decref(j);
}

/* A connection as the ring sees it: only what it copies is set. */
static struct conn *fake_conn(uint64_t cid)
{
	struct conn *c = calloc(1, sizeof(*c));

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	c->cid = cid;
	c->kind = NATSD_KIND_CLIENT;
	c->reason = CONN_CLOSE_CLIENT_CLOSED;
	pthread_mutex_init(&c->out_lock, NULL);
	return c;
}

static void test_closed_ring(void)
{
	struct monitor m = { 0 };
	struct mon_snap snap;
	struct conn *c;
	uint64_t i, n = MON_CLOSED_MAX + 5;

	pthread_mutex_init(&m.ring_lock, NULL);
	m.ring = calloc(MON_CLOSED_MAX, sizeof(*m.ring));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m.ring);
	c = fake_conn(0);
	c->kind = NATSD_KIND_ROUTE; /* not a client: not kept */
	monitor_conn_closed(&m, c);
	CU_ASSERT_EQUAL(m.ring_n, 0);
	for (i = 1; i <= n; i++) {
		c->kind = NATSD_KIND_CLIENT;
		c->cid = i;
		monitor_conn_closed(&m, c);
	}
	CU_ASSERT_EQUAL(mon_closed(&m, &snap), 0);
	CU_ASSERT_EQUAL(snap.n, MON_CLOSED_MAX);
	CU_ASSERT_EQUAL(snap.v[0]->cid, 6);
	CU_ASSERT_EQUAL(snap.v[snap.n - 1]->cid, n);
	CU_ASSERT(snap.v[0]->closed);
	CU_ASSERT_EQUAL(snap.v[0]->reason, CONN_CLOSE_CLIENT_CLOSED);
	/* The snapshot holds its own references: freeing the ring first
	 * leaves it readable. */
	for (i = 0; i < MON_CLOSED_MAX; i++)
		mon_conn_unref(m.ring[i]);
	free(m.ring);
	CU_ASSERT_EQUAL(snap.v[1]->cid, 7);
	mon_snap_fini(&snap);
	pthread_mutex_destroy(&c->out_lock);
	free(c);
	pthread_mutex_destroy(&m.ring_lock);
}

static void test_pmetric_rules(void)
{
	struct natsd_metric *a = NULL, *b = NULL;
	size_t n0 = pmetric_count();

	CU_ASSERT_EQUAL(pmetric_register("unit_a", "help\nwith newline",
					 NATSD_METRIC_COUNTER, &a),
			0);
	CU_ASSERT_PTR_NOT_NULL(a);
	CU_ASSERT_PTR_NULL(strchr(a->help, '\n'));
	CU_ASSERT_EQUAL(
		pmetric_register("unit_a", NULL, NATSD_METRIC_COUNTER, &b), 0);
	CU_ASSERT_PTR_EQUAL(a, b);
	CU_ASSERT_EQUAL(
		pmetric_register("unit_a", NULL, NATSD_METRIC_GAUGE, &b),
		NATSD_EEXIST);
	CU_ASSERT_EQUAL(
		pmetric_register("9lives", NULL, NATSD_METRIC_GAUGE, &b),
		NATSD_EINVAL);
	CU_ASSERT_EQUAL(pmetric_register("a.b", NULL, NATSD_METRIC_GAUGE, &b),
			NATSD_EINVAL);
	CU_ASSERT_EQUAL(pmetric_register("", NULL, NATSD_METRIC_GAUGE, &b),
			NATSD_EINVAL);
	CU_ASSERT_EQUAL(pmetric_register("ok", NULL, 5, &b), NATSD_EINVAL);
	CU_ASSERT_EQUAL(pmetric_count(), n0 + 1);
	pmetric_add(a, 5);
	pmetric_add(a, 2);
	CU_ASSERT_EQUAL(atomic_load(&a->v), 7);
	pmetric_set(a, 1);
	CU_ASSERT_EQUAL(atomic_load(&a->v), 1);
	pmetric_add(NULL, 1); /* ignored */
}

static void test_pmetric_full(void)
{
	struct natsd_metric *m;
	char name[32];
	size_t i;
	int rc = 0;

	for (i = 0; i < PMETRIC_MAX + 1 && rc == 0; i++) {
		snprintf(name, sizeof(name), "fill_%zu", i);
		rc = pmetric_register(name, NULL, NATSD_METRIC_GAUGE, &m);
	}
	CU_ASSERT_EQUAL(rc, NATSD_ENOSPC);
	CU_ASSERT_EQUAL(pmetric_count(), PMETRIC_MAX);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "uptime as nats-server", test_uptime },
		{ "Go durations", test_go_duration },
		{ "RFC 3339 times", test_time },
		{ "numbers", test_numbers },
		{ "closed connection ring", test_closed_ring },
		{ "plugin metric rules", test_pmetric_rules },
		{ "plugin metric table full", test_pmetric_full },
	};
	static const struct suite suite = {
		"monitor", NULL, NULL, tests, SUITE_COUNT(tests),
	};

	return suites_run(&suite, 1) == 0 ? 0 : 1;
}
