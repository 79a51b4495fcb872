#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Monitoring compared with nats-server: the same scenario (three named
 * libnats clients, subscriptions, a queue subscription, messages, one
 * client gone) runs against nats-server -m and natsd -m, then every
 * endpoint's JSON is compared key by key, recursively (objects, and the
 * objects inside arrays), together with the values that must agree:
 * counts, subjects, names, the order of connections by cid and by a sort
 * key, and the error answers to bad query values.
 *
 * nats-server has internal clients and system subscriptions natsd has
 * not (cids start higher, $SYS and the $G service imports hold
 * subscriptions): counts that include them are compared on what the
 * scenario itself created. Skipped (77) without nats-server.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "itest.h"
#include "monhttp.h"

#define WATCHDOG_S 90
#define WAIT_MS    2000

struct side {
	const char *kind;
	struct hserver s;
	int mport;
	natsConnection *nc[3];
	natsSubscription *sub[2];
};

static struct side sides[2] = { { .kind = "nats-server" },
				{ .kind = "natsd" } };

/* Keys one server has and the other need not. natsd's own additions:
 * plugin metrics. nats-server's: the service imports of the system
 * account that every account gets (natsd has none), and the measured
 * round-trip time of the events (natsd does not measure it; Go leaves
 * a zero out). Everything else must match. */
static const char *const natsd_only[] = { "plugins", NULL };
static const char *const nats_server_only[] = { "imports", "rtt", NULL };

static int start(struct side *d)
{
	char mp[16];
	const char *args[] = { "-m", mp, NULL };

	d->mport = harness_free_port();
	snprintf(mp, sizeof(mp), "%d", d->mport);
	if (harness_start(&d->s, d->kind, NULL, args) != 0)
		return -1;
	itest_watch_pid(&d->s.pid);
	return 0;
}

static natsConnection *named(int port, const char *name)
{
	natsOptions *o = itest_opts(port);

	return itest_connect(o, natsOptions_SetName(o, name), NULL);
}

static json_t *get(struct side *d, const char *path, int *status, char **text)
{
	struct monhttp_resp r;
	json_t *j = NULL;

	if (monhttp_get(d->mport, path, WAIT_MS * 3, &r) != 0)
		return NULL;
	*status = r.status;
	if (r.status == 200 && strstr(r.ctype, "json") != NULL)
		j = json_loads(r.body, 0, NULL);
	if (text != NULL)
		*text = strdup(r.body);
	monhttp_free(&r);
	return j;
}

/* The scenario, the same on both servers. */
static int scenario(struct side *d)
{
	static const char *const names[] = { "alpha", "bravo", "charlie" };
	int i, k;

	for (i = 0; i < 3; i++) {
		d->nc[i] = named(d->s.port, names[i]);
		if (d->nc[i] == NULL)
			return -1;
	}
	if (natsConnection_SubscribeSync(&d->sub[0], d->nc[0], "foo") !=
		    NATS_OK ||
	    natsConnection_QueueSubscribeSync(&d->sub[1], d->nc[0], "bar",
					      "q") != NATS_OK ||
	    natsConnection_FlushTimeout(d->nc[0], WAIT_MS) != NATS_OK)
		return -1;
	for (k = 0; k < 3; k++)
		natsConnection_PublishString(d->nc[1], "foo", "hello");
	natsConnection_PublishString(d->nc[2], "bar", "world!");
	natsConnection_PublishString(d->nc[2], "nobody", "x");
	if (natsConnection_FlushTimeout(d->nc[1], WAIT_MS) != NATS_OK ||
	    natsConnection_FlushTimeout(d->nc[2], WAIT_MS) != NATS_OK ||
	    natsConnection_FlushTimeout(d->nc[0], WAIT_MS) != NATS_OK)
		return -1;
	natsConnection_Destroy(d->nc[2]);
	d->nc[2] = NULL;
	/* Wait until the server has seen charlie go. */
	for (k = 0; k < 200; k++) {
		int st = 0;
		json_t *j = get(d, "/connz", &st, NULL);
		long long n = json_integer_value(
			json_object_get(j, "num_connections"));

		json_decref(j);
		if (n == 2)
			break;
		usleep(10000);
	}
	return 0;
}

static bool listed(const char *const *list, const char *k)
{
	int i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], k) == 0)
			return true;
	return false;
}

/* strcmp() that takes NULL (a missing string) as unequal. */
static bool same_str(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Compares the key sets of a (nats-server) and b (natsd) under path,
 * recursively; counts and prints each difference. */
static int keys_diff(const char *path, json_t *a, json_t *b)
{
	const char *k;
	json_t *v;
	char sub[512];
	size_t i;
	int bad = 0;

	if (json_is_object(a) && json_is_object(b)) {
		json_object_foreach(a, k, v)
		{
			snprintf(sub, sizeof(sub), "%s.%s", path, k);
			if (json_object_get(b, k) == NULL &&
			    listed(nats_server_only, k))
				continue;
			if (json_object_get(b, k) == NULL) {
				fprintf(stderr, "  %s: natsd lacks it\n", sub);
				bad++;
				continue;
			}
			bad += keys_diff(sub, v, json_object_get(b, k));
		}
		json_object_foreach(b, k, v)
		{
			if (json_object_get(a, k) == NULL &&
			    !listed(natsd_only, k)) {
				fprintf(stderr, "  %s.%s: only natsd has it\n",
					path, k);
				bad++;
			}
		}
		return bad;
	}
	if (json_is_array(a) && json_is_array(b)) {
		for (i = 0; i < json_array_size(a) && i < json_array_size(b);
		     i++) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			bad += keys_diff(sub, json_array_get(a, i),
					 json_array_get(b, i));
		}
		return bad;
	}
	/* Same JSON type (numbers: integer and real are both numbers;
	 * null and an empty list are not the same). */
	if (json_typeof(a) != json_typeof(b) &&
	    !(json_is_number(a) && json_is_number(b)) &&
	    !(json_is_boolean(a) && json_is_boolean(b))) {
		fprintf(stderr, "  %s: types differ\n", path);
		return 1;
	}
	return 0;
}

/* Subscription lists have no order in either server: sort them by
 * subject (then sid) so that entries are compared with their peers. */
static const char *sub_key(json_t *e, const char *k)
{
	const char *v = json_is_string(e)
				? json_string_value(e)
				: json_string_value(json_object_get(e, k));

	return v != NULL ? v : "";
}

static int cmp_sub(const void *pa, const void *pb)
{
	json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	int d = strcmp(sub_key(a, "subject"), sub_key(b, "subject"));

	return d != 0 ? d : strcmp(sub_key(a, "sid"), sub_key(b, "sid"));
}

static void sort_subs(json_t *j)
{
	const char *k;
	json_t *v, *e;
	size_t i, n;

	if (json_is_array(j)) {
		json_array_foreach(j, i, e)
		{
			sort_subs(e);
		}
		return;
	}
	json_object_foreach(j, k, v)
	{
		json_t **tmp;

		if (!json_is_array(v) ||
		    (strcmp(k, "subscriptions_list") != 0 &&
		     strcmp(k, "subscriptions_list_detail") != 0)) {
			sort_subs(v);
			continue;
		}
		n = json_array_size(v);
		tmp = calloc(n + 1, sizeof(*tmp));
		if (tmp == NULL)
			continue;
		for (i = 0; i < n; i++)
			tmp[i] = json_incref(json_array_get(v, i));
		qsort(tmp, n, sizeof(*tmp), cmp_sub);
		json_array_clear(v);
		for (i = 0; i < n; i++)
			json_array_append_new(v, tmp[i]);
		free(tmp);
	}
}

static json_t *both(const char *path, json_t **j1)
{
	int s0 = 0, s1 = 0;
	json_t *j0 = get(&sides[0], path, &s0, NULL);

	*j1 = get(&sides[1], path, &s1, NULL);
	CU_ASSERT_EQUAL(s0, 200);
	CU_ASSERT_EQUAL(s1, 200);
	if (j0 == NULL || *j1 == NULL)
		fprintf(stderr, "%s: no JSON from %s\n", path,
			j0 == NULL ? "nats-server" : "natsd");
	CU_ASSERT_PTR_NOT_NULL(j0);
	CU_ASSERT_PTR_NOT_NULL(*j1);
	sort_subs(j0);
	sort_subs(*j1);
	return j0;
}

static void same_keys(const char *path)
{
	json_t *a, *b;
	int d;

	a = both(path, &b);
	d = keys_diff(path, a, b);
	if (d != 0)
		fprintf(stderr, "%s: %d key differences\n", path, d);
	CU_ASSERT_EQUAL(d, 0);
	json_decref(a);
	json_decref(b);
}

static void test_key_sets(void)
{
	static const char *const paths[] = {
		"/varz",
		"/connz",
		"/connz?subs=1",
		"/connz?subs=detail",
		"/connz?state=closed",
		"/connz?state=all&subs=detail&sort=cid",
		"/connz?auth=1",
		"/connz?limit=1&offset=1",
		"/routez",
		"/gatewayz",
		"/leafz",
		"/subsz",
		"/subsz?subs=1&test=foo",
		"/subsz?subs=1&test=nomatch",
		"/subsz?subs=1&test=bar",
		"/accountz",
		"/accountz?acc=$G",
		"/accstatz",
		"/accstatz?unused=1",
	};
	size_t i;

	for (i = 0; i < SUITE_COUNT(paths); i++)
		same_keys(paths[i]);
}

static long long geti(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void test_varz_values(void)
{
	static const char *const keys[] = {
		"connections",   "in_msgs",          "out_msgs",
		"in_bytes",      "out_bytes",        "slow_consumers",
		"routes",        "remotes",          "leafnodes",
		"max_payload",   "max_pending",      "max_control_line",
		"ping_interval", "write_deadline",   "max_connections",
		"proto",         "total_connections"
	};
	json_t *a, *b;
	size_t i;

	a = both("/varz", &b);
	for (i = 0; i < SUITE_COUNT(keys); i++) {
		if (geti(a, keys[i]) != geti(b, keys[i]))
			fprintf(stderr, "varz %s: %lld vs %lld\n", keys[i],
				geti(a, keys[i]), geti(b, keys[i]));
		CU_ASSERT_EQUAL(geti(a, keys[i]), geti(b, keys[i]));
	}
	CU_ASSERT(same_str(json_string_value(json_object_get(a, "version")),
			   json_string_value(json_object_get(b, "version"))));
	CU_ASSERT(same_str(
		json_string_value(json_object_get(a, "system_account")),
		json_string_value(json_object_get(b, "system_account"))));
	json_decref(a);
	json_decref(b);
}

/* The names of the connections in /connz order, and their counters. */
static void test_connz_values(void)
{
	static const char *const paths[] = {
		"/connz",
		"/connz?sort=msgs_from",
		"/connz?sort=msgs_to",
		"/connz?sort=subs&subs=1",
		"/connz?sort=bytes_to",
		"/connz?state=all",
		"/connz?state=closed",
		"/connz?sort=start",
	};
	static const char *const nums[] = { "in_msgs",       "out_msgs",
					    "in_bytes",      "out_bytes",
					    "subscriptions", "pending_bytes" };
	json_t *a, *b, *ca, *cb;
	size_t i, k, n;

	for (i = 0; i < SUITE_COUNT(paths); i++) {
		a = both(paths[i], &b);
		ca = json_object_get(a, "connections");
		cb = json_object_get(b, "connections");
		CU_ASSERT_EQUAL(geti(a, "num_connections"),
				geti(b, "num_connections"));
		CU_ASSERT_EQUAL(geti(a, "total"), geti(b, "total"));
		CU_ASSERT_EQUAL(geti(a, "limit"), geti(b, "limit"));
		CU_ASSERT_EQUAL(json_array_size(ca), json_array_size(cb));
		n = json_array_size(ca) < json_array_size(cb)
			    ? json_array_size(ca)
			    : json_array_size(cb);
		for (k = 0; k < n; k++) {
			json_t *x = json_array_get(ca, k);
			json_t *y = json_array_get(cb, k);
			const char *nx =
				json_string_value(json_object_get(x, "name"));
			const char *ny =
				json_string_value(json_object_get(y, "name"));
			size_t f;

			if ((nx || ny) && (!nx || !ny || strcmp(nx, ny) != 0)) {
				fprintf(stderr, "%s [%zu]: %s vs %s\n",
					paths[i], k, nx ? nx : "-",
					ny ? ny : "-");
				CU_FAIL("connection order differs");
			}
			for (f = 0; f < SUITE_COUNT(nums); f++) {
				if (geti(x, nums[f]) == geti(y, nums[f]))
					continue;
				fprintf(stderr, "%s [%zu] %s: %lld vs %lld\n",
					paths[i], k, nums[f], geti(x, nums[f]),
					geti(y, nums[f]));
				CU_FAIL("connection counter differs");
			}
		}
		json_decref(a);
		json_decref(b);
	}
}

/* What the scenario subscribed, as both list it. */
static void test_subs_values(void)
{
	json_t *a, *b, *x, *y;

	a = both("/subsz?subs=1&test=foo", &b);
	CU_ASSERT_EQUAL(geti(a, "total"), 1);
	CU_ASSERT_EQUAL(geti(b, "total"), 1);
	x = json_array_get(json_object_get(a, "subscriptions_list"), 0);
	y = json_array_get(json_object_get(b, "subscriptions_list"), 0);
	CU_ASSERT(same_str(json_string_value(json_object_get(x, "subject")),
			   json_string_value(json_object_get(y, "subject"))));
	CU_ASSERT_EQUAL(geti(x, "msgs"), geti(y, "msgs"));
	json_decref(a);
	json_decref(b);
	a = both("/connz?subs=detail", &b);
	x = json_object_get(
		json_array_get(json_object_get(a, "connections"), 0),
		"subscriptions_list_detail");
	y = json_object_get(
		json_array_get(json_object_get(b, "connections"), 0),
		"subscriptions_list_detail");
	CU_ASSERT_EQUAL(json_array_size(x), 2);
	CU_ASSERT_EQUAL(json_array_size(y), 2);
	json_decref(a);
	json_decref(b);
	a = both("/accstatz", &b);
	x = json_array_get(json_object_get(a, "account_statz"), 0);
	y = json_array_get(json_object_get(b, "account_statz"), 0);
	CU_ASSERT(same_str(json_string_value(json_object_get(x, "acc")),
			   json_string_value(json_object_get(y, "acc"))));
	CU_ASSERT_EQUAL(geti(x, "conns"), geti(y, "conns"));
	CU_ASSERT_EQUAL(geti(json_object_get(x, "received"), "msgs"),
			geti(json_object_get(y, "received"), "msgs"));
	CU_ASSERT_EQUAL(geti(json_object_get(x, "sent"), "msgs"),
			geti(json_object_get(y, "sent"), "msgs"));
	json_decref(a);
	json_decref(b);
}

/* Errors and plain answers: the same status and the same text. */
static void test_same_answers(void)
{
	static const char *const paths[] = {
		"/connz?sort=foo",
		"/connz?sort=stop",
		"/connz?sort=reason",
		"/connz?state=bogus",
		"/connz?limit=abc",
		"/connz?offset=x1",
		"/connz?cid=abc",
		"/connz?subs=bogus",
		"/connz?auth=2",
		"/subsz?test=foo.*",
		"/subsz?limit=x",
		"/accountz?acc=nope",
		"/nope",
		"/healthz",
		"/healthz?callback=cb",
		"/accstatz?unused=maybe",
	};
	size_t i;

	for (i = 0; i < SUITE_COUNT(paths); i++) {
		int s0 = 0, s1 = 0;
		char *t0 = NULL, *t1 = NULL;
		json_t *j0 = get(&sides[0], paths[i], &s0, &t0);
		json_t *j1 = get(&sides[1], paths[i], &s1, &t1);

		if (s0 != s1 || !t0 || !t1 || strcmp(t0, t1) != 0)
			fprintf(stderr, "%s: %d [%s] vs %d [%s]\n", paths[i],
				s0, t0 ? t0 : "", s1, t1 ? t1 : "");
		CU_ASSERT_EQUAL(s0, s1);
		CU_ASSERT(t0 && t1 && strcmp(t0, t1) == 0);
		free(t0);
		free(t1);
		json_decref(j0);
		json_decref(j1);
	}
}

static int suite_init(void)
{
	int i;

	for (i = 0; i < 2; i++)
		if (start(&sides[i]) != 0 || scenario(&sides[i]) != 0)
			return -1;
	return 0;
}

static int suite_fini(void)
{
	int i, k;
	bool ok = true;

	for (i = 0; i < 2; i++) {
		for (k = 0; k < 2; k++)
			natsSubscription_Destroy(sides[i].sub[k]);
		for (k = 0; k < 3; k++)
			natsConnection_Destroy(sides[i].nc[k]);
		if (i == 1)
			ok = itest_log_clean(&sides[i].s);
		harness_stop(&sides[i].s);
	}
	return ok ? 0 : -1;
}

/* ---- the system account requests ------------------------------------ */

/* Both servers with a system user: nats-server names its system account
 * in the config, natsd's is $SYS. */
static struct hserver sys_srv[2];
static int sys_mport[2];
static natsConnection *sys_nc[2];

static const char sys_conf_ns[] =
	"accounts {\n"
	"  SYS { users = [ { user: sys, password: s } ] }\n"
	"  B { users = [ { user: bee, password: b } ] }\n"
	"}\n"
	"system_account: SYS\n";
static const char sys_conf_natsd[] =
	"authorization = { users = (\n"
	"  { user = \"sys\"; password = \"s\"; account = \"$SYS\"; },\n"
	"  { user = \"bee\"; password = \"b\"; account = \"B\"; } ); };\n";

static int sys_init(void)
{
	int i;

	for (i = 0; i < 2; i++) {
		char mp[16];
		const char *args[] = { "-m", mp, NULL };
		natsOptions *o;

		sys_mport[i] = harness_free_port();
		snprintf(mp, sizeof(mp), "%d", sys_mport[i]);
		if (harness_start(&sys_srv[i], i == 0 ? "nats-server" : "natsd",
				  i == 0 ? sys_conf_ns : sys_conf_natsd,
				  args) != 0)
			return -1;
		itest_watch_pid(&sys_srv[i].pid);
		o = itest_opts(sys_srv[i].port);
		sys_nc[i] = itest_connect(
			o, natsOptions_SetUserInfo(o, "sys", "s"), NULL);
		if (sys_nc[i] == NULL)
			return -1;
	}
	return 0;
}

static int sys_fini(void)
{
	bool ok;
	int i;

	for (i = 0; i < 2; i++)
		natsConnection_Destroy(sys_nc[i]);
	ok = itest_log_clean(&sys_srv[1]);
	for (i = 0; i < 2; i++)
		harness_stop(&sys_srv[i]);
	return ok ? 0 : -1;
}

static json_t *sys_ask(int i, const char *subj, const char *body)
{
	natsMsg *m = NULL;
	json_t *j;

	if (natsConnection_RequestString(&m, sys_nc[i], subj, body, WAIT_MS) !=
	    NATS_OK) {
		fprintf(stderr, "%s: no answer from %s\n", subj,
			i == 0 ? "nats-server" : "natsd");
		return NULL;
	}
	j = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0,
		       NULL);
	natsMsg_Destroy(m);
	return j;
}

/* The envelope and the data, key by key. */
static void test_sys_envelopes(void)
{
	static const char *const reqs[][2] = {
		{ "$SYS.REQ.SERVER.PING", "" },
		{ "$SYS.REQ.SERVER.PING.VARZ", "" },
		{ "$SYS.REQ.SERVER.PING.CONNZ", "{\"subscriptions\":true}" },
		{ "$SYS.REQ.SERVER.PING.ROUTEZ", "" },
		{ "$SYS.REQ.SERVER.PING.LEAFZ", "" },
		{ "$SYS.REQ.SERVER.PING.HEALTHZ", "" },
		{ "$SYS.REQ.SERVER.PING.CONNZ", "{\"sort\":\"bogus\"}" },
	};
	size_t i;

	for (i = 0; i < SUITE_COUNT(reqs); i++) {
		json_t *a = sys_ask(0, reqs[i][0], reqs[i][1]);
		json_t *b = sys_ask(1, reqs[i][0], reqs[i][1]);
		int d;

		CU_ASSERT_PTR_NOT_NULL(a);
		CU_ASSERT_PTR_NOT_NULL(b);
		d = keys_diff(reqs[i][0], a, b);
		if (d != 0)
			fprintf(stderr, "%s %s: %d key differences\n",
				reqs[i][0], reqs[i][1], d);
		CU_ASSERT_EQUAL(d, 0);
		json_decref(a);
		json_decref(b);
	}
}

/* One client of account B comes and goes on server i; returns the
 * CONNECT and DISCONNECT events. */
static int sys_events(int i, json_t **ev)
{
	natsSubscription *sub = NULL;
	natsConnection *bee;
	natsOptions *o;
	int k, n = 0;

	if (natsConnection_SubscribeSync(&sub, sys_nc[i], "$SYS.ACCOUNT.B.*") !=
		    NATS_OK ||
	    natsConnection_FlushTimeout(sys_nc[i], WAIT_MS) != NATS_OK)
		return -1;
	o = itest_opts(sys_srv[i].port);
	bee = itest_connect(o, natsOptions_SetUserInfo(o, "bee", "b"), NULL);
	if (bee != NULL) {
		natsConnection_PublishString(bee, "x", "y");
		natsConnection_FlushTimeout(bee, WAIT_MS);
	}
	natsConnection_Destroy(bee);
	for (k = 0; k < 2; k++) {
		natsMsg *m = NULL;

		if (natsSubscription_NextMsg(&m, sub, WAIT_MS) != NATS_OK)
			break;
		ev[n++] = json_loadb(natsMsg_GetData(m),
				     (size_t)natsMsg_GetDataLength(m), 0, NULL);
		natsMsg_Destroy(m);
	}
	natsSubscription_Destroy(sub);
	return n;
}

static void test_sys_events(void)
{
	json_t *a[2] = { NULL, NULL }, *b[2] = { NULL, NULL };
	int k, d;

	CU_ASSERT_EQUAL(sys_events(0, a), 2);
	CU_ASSERT_EQUAL(sys_events(1, b), 2);
	for (k = 0; k < 2; k++) {
		d = keys_diff(k == 0 ? "connect event" : "disconnect event",
			      a[k], b[k]);
		CU_ASSERT_EQUAL(d, 0);
		CU_ASSERT(same_str(
			json_string_value(json_object_get(a[k], "type")),
			json_string_value(json_object_get(b[k], "type"))));
		json_decref(a[k]);
		json_decref(b[k]);
	}
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "same keys, every endpoint", test_key_sets },
		{ "varz values agree", test_varz_values },
		{ "connz order and counters agree", test_connz_values },
		{ "subscriptions and accounts agree", test_subs_values },
		{ "same errors and plain answers", test_same_answers },
	};
	static const struct suite_test sys_tests[] = {
		{ "same envelopes and data", test_sys_envelopes },
		{ "same connect and disconnect events", test_sys_events },
	};
	static const struct suite suites[] = {
		{ "monitoring vs nats-server", suite_init, suite_fini, tests,
		  SUITE_COUNT(tests) },
		{ "system account requests vs nats-server", sys_init, sys_fini,
		  sys_tests, SUITE_COUNT(sys_tests) },
	};
	const char *ns = getenv("NATS_SERVER_BIN");
	int rc;

	itest_init("monitor_compat_test", WATCHDOG_S, NULL);
	if (ns == NULL || ns[0] == '\0' || access(ns, X_OK) != 0) {
		fprintf(stderr, "monitor_compat_test: no nats-server\n");
		return 77;
	}
	rc = suites_run(suites, SUITE_COUNT(suites));
	nats_CloseAndWait(WAIT_MS);
	return rc == 0 ? 0 : 1;
}
