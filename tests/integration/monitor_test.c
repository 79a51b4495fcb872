#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * The monitoring listener of natsd (-m): every endpoint answers with the
 * shapes and error texts of nats-server 2.9, /connz sorts, pages and
 * keeps closed connections, /varz counts what clients did, /metrics is
 * valid Prometheus text (checked by the strict parser below), plugin
 * metrics show up in both, a random port and the ports file, the base
 * path, the refused https_port, and polling under load (the message rate
 * is printed with and without polling; only loss and a collapse to zero
 * fail the test, never a time threshold).
 *
 * natsd only: nats-server is compared with natsd by monitor_compat_test.
 */

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "itest.h"
#include "monhttp.h"

#define WATCHDOG_S 120
#define WAIT_MS    2000

static struct hserver srv;
static int mport;
static char plugin_so[1024];

/* ---- helpers ------------------------------------------------------- */

/* GETs path and parses the JSON answer; NULL (and a failed assertion)
 * unless it is 200 application/json. */
static json_t *get_json(int port, const char *path)
{
	struct monhttp_resp r;
	json_error_t e;
	json_t *j;

	if (monhttp_get(port, path, WAIT_MS * 3, &r) != 0) {
		CU_FAIL("GET failed");
		return NULL;
	}
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.ctype, "application/json");
	j = json_loads(r.body, 0, &e);
	if (j == NULL)
		fprintf(stderr, "GET %s: not JSON: %s\n%s\n", path, e.text,
			r.body);
	CU_ASSERT_PTR_NOT_NULL(j);
	monhttp_free(&r);
	return j;
}

/* GETs path; checks the status and, unless NULL, the exact body. */
static void expect(int port, const char *path, int status, const char *body)
{
	struct monhttp_resp r;

	if (monhttp_get(port, path, WAIT_MS * 3, &r) != 0) {
		CU_FAIL("GET failed");
		return;
	}
	if (r.status != status || (body && strcmp(r.body, body) != 0))
		fprintf(stderr, "GET %s: %d [%s], want %d [%s]\n", path,
			r.status, r.body, status, body ? body : "");
	CU_ASSERT_EQUAL(r.status, status);
	if (body != NULL)
		CU_ASSERT_STRING_EQUAL(r.body, body);
	monhttp_free(&r);
}

static long long jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* Waits until /connz lists n open connections (a client closed just
 * before may not have been seen yet). */
static void wait_conns(long long n)
{
	int k;

	for (k = 0; k < 200; k++) {
		json_t *j = get_json(mport, "/connz");
		long long have = jint(j, "num_connections");

		json_decref(j);
		if (have == n)
			return;
		usleep(10000);
	}
	CU_FAIL("connections did not settle");
}

static int suite_init(void)
{
	const char *dir = getenv("NATSD_TEST_PLUGIN_DIR");
	char conf[2048], mp[16];
	const char *args[] = { "-m", mp, NULL };

	if (dir == NULL)
		dir = "tests/plugins/.libs";
	snprintf(plugin_so, sizeof(plugin_so), "%s/metric_test_plugin.so", dir);
	mport = harness_free_port();
	snprintf(mp, sizeof(mp), "%d", mport);
	snprintf(conf, sizeof(conf), "plugins = ( { load = \"%s\"; } );\n",
		 plugin_so);
	return itest_start(&srv, conf, args) == 0 ? 0 : -1;
}

static int suite_fini(void)
{
	return itest_stop(&srv) ? 0 : -1;
}

/* ---- endpoints ----------------------------------------------------- */

static void test_endpoints(void)
{
	static const char *const paths[] = {
		"/varz",
		"/connz",
		"/routez",
		"/gatewayz",
		"/leafz",
		"/subsz",
		"/subscriptionsz",
		"/accountz",
		"/accstatz",
		"/subsz?subs=1",
		"/connz?state=all&subs=detail",
		"/accountz?acc=$G",
	};
	struct monhttp_resp r;
	json_t *j;
	size_t i;

	for (i = 0; i < SUITE_COUNT(paths); i++) {
		j = get_json(mport, paths[i]);
		json_decref(j);
	}
	expect(mport, "/healthz", 200, "{\"status\":\"ok\"}");
	expect(mport, "/nope", 404, "404 page not found\n");
	expect(mport, "/varz/", 404, "404 page not found\n");
	CU_ASSERT_FATAL(monhttp_get(mport, "/", WAIT_MS, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "<a href=./connz>"));
	monhttp_free(&r);
	CU_ASSERT_FATAL(
		monhttp_get(mport, "/healthz?callback=cb", WAIT_MS, &r) == 0);
	CU_ASSERT_STRING_EQUAL(r.ctype, "application/javascript");
	CU_ASSERT_STRING_EQUAL(r.body, "cb({\"status\":\"ok\"})");
	monhttp_free(&r);
	j = get_json(mport, "/leafz");
	CU_ASSERT(json_is_null(json_object_get(j, "leafs")));
	json_decref(j);
	j = get_json(mport, "/varz");
	CU_ASSERT_EQUAL(jint(j, "http_port"), mport);
	CU_ASSERT(jint(json_object_get(j, "http_req_stats"), "/varz") >= 1);
	json_decref(j);
}

static void test_bad_queries(void)
{
	expect(mport, "/connz?sort=foo", 400, "invalid sorting option: foo");
	expect(mport, "/connz?sort=rtt", 400, "invalid sorting option: rtt");
	expect(mport, "/connz?sort=stop", 400,
	       "sort by stop only valid on closed connections");
	expect(mport, "/connz?sort=reason&state=all", 400,
	       "sort by reason only valid on closed connections");
	expect(mport, "/connz?state=bogus", 400,
	       "Error decoding state for bogus");
	expect(mport, "/connz?limit=abc", 400,
	       "Error decoding int for 'limit': strconv.Atoi: parsing "
	       "\"abc\": invalid syntax");
	expect(mport, "/connz?offset=99999999999999999999", 400,
	       "Error decoding int for 'offset': strconv.Atoi: parsing "
	       "\"99999999999999999999\": value out of range");
	expect(mport, "/connz?cid=abc", 400,
	       "Error decoding uint64 for 'cid': strconv.ParseUint: parsing "
	       "\"abc\": invalid syntax");
	expect(mport, "/connz?subs=bogus", 400,
	       "Error decoding boolean for 'subs': strconv.ParseBool: "
	       "parsing \"bogus\": invalid syntax");
	expect(mport, "/subsz?test=foo.*", 400,
	       "invalid test subject, must be valid publish subject: foo.*");
	expect(mport, "/accountz?acc=nope", 400, "Account nope does not exist");
	expect(mport, "/varz?callback=a(b)", 400, NULL);
	/* Fine values that nats-server takes too. */
	expect(mport, "/connz?offset=-1&limit=-5&subs=t&auth=FALSE", 200, NULL);
	expect(mport, "/connz?state=closed&sort=stop", 200, NULL);
	expect(mport, "/connz?mqtt_client=x", 200, NULL);
}

static void test_huge_limit_capped(void)
{
	natsConnection *nc = itest_client(srv.port);
	natsSubscription *sub = NULL;
	json_t *j;

	CU_ASSERT_FATAL(nc != NULL);
	wait_conns(1);
	/* subsz lists (and so shows its limit) only when there is a
	 * subscription to list. */
	CU_ASSERT(natsConnection_SubscribeSync(&sub, nc, "cap.x") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	j = get_json(mport, "/connz?limit=100000000");
	CU_ASSERT(jint(j, "limit") > 0 && jint(j, "limit") <= 100000);
	CU_ASSERT_EQUAL(jint(j, "num_connections"), 1);
	json_decref(j);
	j = get_json(mport, "/subsz?subs=1&acc=$G&limit=2000000000");
	CU_ASSERT(jint(j, "limit") > 0 && jint(j, "limit") <= 100000);
	CU_ASSERT_EQUAL(jint(j, "total"), 1);
	json_decref(j);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(nc);
}

/* ---- connz --------------------------------------------------------- */

static natsConnection *named_client(const char *name)
{
	natsOptions *o = itest_opts(srv.port);

	return itest_connect(o, natsOptions_SetName(o, name), NULL);
}

static long long cid_of(natsConnection *nc)
{
	uint64_t id = 0;

	CU_ASSERT(natsConnection_GetClientID(nc, &id) == NATS_OK);
	return (long long)id;
}

/* The cids of /connz at path, in order. */
static int cids(const char *path, long long *out, int max)
{
	json_t *j = get_json(mport, path), *c;
	size_t i;
	int n = 0;

	json_array_foreach(json_object_get(j, "connections"), i, c)
	{
		if (n < max)
			out[n++] = jint(c, "cid");
	}
	json_decref(j);
	return n;
}

static void test_connz(void)
{
	natsConnection *nc[3];
	natsSubscription *sub = NULL;
	long long id[3], got[8];
	char path[256];
	json_t *j, *c, *l;
	int i, k;

	wait_conns(0);
	for (i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "cz%d", i);
		nc[i] = named_client(name);
		CU_ASSERT_FATAL(nc[i] != NULL);
		id[i] = cid_of(nc[i]);
		/* Client i publishes i + 1 messages. */
		for (k = 0; k <= i; k++)
			natsConnection_PublishString(nc[i], "cz.x", "hello");
		CU_ASSERT(natsConnection_FlushTimeout(nc[i], WAIT_MS) ==
			  NATS_OK);
	}
	CU_ASSERT(natsConnection_SubscribeSync(&sub, nc[0], "cz.sub") ==
		  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc[0], WAIT_MS) == NATS_OK);

	/* Default: by cid, ascending. */
	CU_ASSERT_EQUAL(cids("/connz", got, 8), 3);
	CU_ASSERT(got[0] == id[0] && got[1] == id[1] && got[2] == id[2]);
	/* msgs_from and bytes_from: most first. */
	CU_ASSERT_EQUAL(cids("/connz?sort=msgs_from", got, 8), 3);
	CU_ASSERT(got[0] == id[2] && got[1] == id[1] && got[2] == id[0]);
	CU_ASSERT_EQUAL(cids("/connz?sort=bytes_from", got, 8), 3);
	CU_ASSERT(got[0] == id[2] && got[2] == id[0]);
	CU_ASSERT_EQUAL(cids("/connz?sort=subs", got, 8), 3);
	CU_ASSERT(got[0] == id[0]);
	CU_ASSERT_EQUAL(cids("/connz?sort=start", got, 8), 3);
	CU_ASSERT(got[0] == id[0] && got[2] == id[2]);
	/* Every key sorts. */
	CU_ASSERT_EQUAL(cids("/connz?sort=pending", got, 8), 3);
	CU_ASSERT_EQUAL(cids("/connz?sort=msgs_to", got, 8), 3);
	CU_ASSERT_EQUAL(cids("/connz?sort=bytes_to", got, 8), 3);
	CU_ASSERT_EQUAL(cids("/connz?sort=last", got, 8), 3);
	CU_ASSERT_EQUAL(cids("/connz?sort=idle", got, 8), 3);
	CU_ASSERT_EQUAL(cids("/connz?sort=uptime", got, 8), 3);
	/* Paging. */
	CU_ASSERT_EQUAL(cids("/connz?limit=1&offset=1", got, 8), 1);
	CU_ASSERT(got[0] == id[1]);
	j = get_json(mport, "/connz?limit=1&offset=1");
	CU_ASSERT_EQUAL(jint(j, "total"), 3);
	CU_ASSERT_EQUAL(jint(j, "num_connections"), 1);
	CU_ASSERT_EQUAL(jint(j, "offset"), 1);
	CU_ASSERT_EQUAL(jint(j, "limit"), 1);
	json_decref(j);
	/* One connection by cid, with its subscriptions. */
	snprintf(path, sizeof(path), "/connz?cid=%lld&subs=1", id[0]);
	j = get_json(mport, path);
	CU_ASSERT_EQUAL(jint(j, "num_connections"), 1);
	c = json_array_get(json_object_get(j, "connections"), 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c, "name")),
			       "cz0");
	CU_ASSERT_EQUAL(jint(c, "in_msgs"), 1);
	CU_ASSERT_EQUAL(jint(c, "in_bytes"), 5);
	CU_ASSERT_EQUAL(jint(c, "subscriptions"), 1);
	l = json_object_get(c, "subscriptions_list");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(l, 0)),
			       "cz.sub");
	json_decref(j);
	snprintf(path, sizeof(path), "/connz?cid=%lld&subs=detail", id[0]);
	j = get_json(mport, path);
	c = json_array_get(json_object_get(j, "connections"), 0);
	l = json_array_get(json_object_get(c, "subscriptions_list_detail"), 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l, "subject")),
			       "cz.sub");
	CU_ASSERT_EQUAL(jint(l, "cid"), id[0]);
	json_decref(j);

	/* Closed: kept with the reason, sortable by stop and reason. */
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(nc[1]);
	for (k = 0; k < 100; k++) {
		if (cids("/connz", got, 8) == 2)
			break;
		usleep(20000);
	}
	CU_ASSERT_EQUAL(cids("/connz", got, 8), 2);
	snprintf(path, sizeof(path), "/connz?state=closed&cid=%lld", id[1]);
	j = get_json(mport, path);
	c = json_array_get(json_object_get(j, "connections"), 0);
	CU_ASSERT_EQUAL(jint(c, "cid"), id[1]);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c, "reason")),
			       "Client Closed");
	CU_ASSERT_PTR_NOT_NULL(json_object_get(c, "stop"));
	CU_ASSERT_EQUAL(jint(c, "in_msgs"), 2);
	json_decref(j);
	k = cids("/connz?state=closed&sort=stop", got, 8);
	CU_ASSERT(k >= 1 && got[0] == id[1]);
	CU_ASSERT(cids("/connz?state=closed&sort=reason", got, 8) >= 1);
	j = get_json(mport, "/connz?state=all");
	CU_ASSERT(jint(j, "total") >= 3);
	json_decref(j);
	natsConnection_Destroy(nc[0]);
	natsConnection_Destroy(nc[2]);
}

/* ---- varz, subsz, accounts ----------------------------------------- */

static void test_counts(void)
{
	natsConnection *pub = itest_client(srv.port);
	natsConnection *sub = itest_client(srv.port);
	natsSubscription *s = NULL;
	json_t *a, *b, *l, *e;
	size_t i;
	int k;

	CU_ASSERT_FATAL(pub != NULL && sub != NULL);
	wait_conns(2);
	a = get_json(mport, "/varz");
	CU_ASSERT(natsConnection_SubscribeSync(&s, sub, "cnt.x") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(sub, WAIT_MS) == NATS_OK);
	for (k = 0; k < 10; k++)
		natsConnection_PublishString(pub, "cnt.x", "0123456789");
	CU_ASSERT(natsConnection_FlushTimeout(pub, WAIT_MS) == NATS_OK);
	for (k = 0; k < 10; k++) {
		natsMsg *m = NULL;

		CU_ASSERT(natsSubscription_NextMsg(&m, s, WAIT_MS) == NATS_OK);
		natsMsg_Destroy(m);
	}
	b = get_json(mport, "/varz");
	CU_ASSERT_EQUAL(jint(b, "in_msgs") - jint(a, "in_msgs"), 10);
	CU_ASSERT_EQUAL(jint(b, "in_bytes") - jint(a, "in_bytes"), 100);
	CU_ASSERT_EQUAL(jint(b, "out_msgs") - jint(a, "out_msgs"), 10);
	CU_ASSERT_EQUAL(jint(b, "out_bytes") - jint(a, "out_bytes"), 100);
	CU_ASSERT_EQUAL(jint(b, "connections"), 2);
	CU_ASSERT(jint(b, "total_connections") >= 2);
	/* The system account's own subscriptions (its request service)
	 * count too, as in nats-server. */
	CU_ASSERT(jint(b, "subscriptions") >= 1);
	/* The plugin's metrics: the gauge it set, the counter it bumps. */
	l = json_object_get(b, "plugins");
	CU_ASSERT_EQUAL(jint(l, "metrictest_level"), 42);
	CU_ASSERT(jint(l, "metrictest_ticks") >= 1);
	json_decref(a);
	json_decref(b);

	a = get_json(mport, "/subsz?subs=1&acc=$G&test=cnt.x");
	CU_ASSERT_EQUAL(jint(a, "num_subscriptions"), 1);
	CU_ASSERT_EQUAL(jint(a, "total"), 1);
	e = json_array_get(json_object_get(a, "subscriptions_list"), 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e, "subject")),
			       "cnt.x");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e, "account")),
			       "$G");
	json_decref(a);
	a = get_json(mport, "/subsz?subs=1&test=cnt.y");
	CU_ASSERT_EQUAL(jint(a, "total"), 0);
	json_decref(a);
	a = get_json(mport, "/accountz");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(a, "accounts")), 2);
	json_decref(a);
	a = get_json(mport, "/accountz?acc=$G");
	b = json_object_get(a, "account_detail");
	CU_ASSERT_EQUAL(jint(b, "client_connections"), 2);
	CU_ASSERT_EQUAL(jint(b, "subscriptions"), 1);
	json_decref(a);
	a = get_json(mport, "/accstatz");
	l = json_object_get(a, "account_statz");
	CU_ASSERT_EQUAL(json_array_size(l), 1);
	json_array_foreach(l, i, e)
	{
		CU_ASSERT_STRING_EQUAL(
			json_string_value(json_object_get(e, "acc")), "$G");
		CU_ASSERT_EQUAL(jint(e, "conns"), 2);
		CU_ASSERT(jint(json_object_get(e, "received"), "msgs") >= 10);
	}
	json_decref(a);
	natsSubscription_Destroy(s);
	natsConnection_Destroy(pub);
	natsConnection_Destroy(sub);
}

/* ---- /metrics and its strict parser ---------------------------------- */

struct family {
	char name[128];
	char type[16];
	bool help, samples;
};

struct expo {
	struct family fam[256];
	int nfam;
	char series[1024][256]; /* name{labels}: each only once */
	int nseries;
};

static bool name_char(int c, bool first)
{
	return isalpha(c) || c == '_' || c == ':' || (!first && isdigit(c));
}

static struct family *family_of(struct expo *x, const char *name)
{
	int i;

	for (i = 0; i < x->nfam; i++)
		if (strcmp(x->fam[i].name, name) == 0)
			return &x->fam[i];
	return NULL;
}

/* Reads a metric name at *p; false when there is none. */
static bool parse_name(const char **p, char *out, size_t cap)
{
	size_t n = 0;

	if (!name_char((unsigned char)**p, true))
		return false;
	while (name_char((unsigned char)**p, n == 0) && n + 1 < cap)
		out[n++] = *(*p)++;
	out[n] = '\0';
	return true;
}

/* {name="value",...}: label names valid, values with \\ \" \n escapes
 * only, no name twice. */
static bool parse_labels(const char **p)
{
	char seen[16][64], ln[64];
	int ns = 0, i;

	if (**p != '{')
		return true;
	(*p)++;
	while (**p != '}') {
		size_t n = 0;

		if (!isalpha((unsigned char)**p) && **p != '_')
			return false;
		while ((isalnum((unsigned char)**p) || **p == '_') && n < 63)
			ln[n++] = *(*p)++;
		ln[n] = '\0';
		if (strncmp(ln, "__", 2) == 0 || ns == 16)
			return false;
		for (i = 0; i < ns; i++)
			if (strcmp(seen[i], ln) == 0)
				return false;
		memcpy(seen[ns++], ln, n + 1);
		if (*(*p)++ != '=' || *(*p)++ != '"')
			return false;
		while (**p != '"') {
			if (**p == '\0' || **p == '\n')
				return false;
			if (**p == '\\') {
				(*p)++;
				if (**p != '\\' && **p != '"' && **p != 'n')
					return false;
			}
			(*p)++;
		}
		(*p)++;
		if (**p == ',')
			(*p)++;
		else if (**p != '}')
			return false;
	}
	(*p)++;
	return true;
}

static bool parse_value(const char *s)
{
	char *end;

	if (strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0 ||
	    strcmp(s, "NaN") == 0)
		return true;
	strtod(s, &end);
	return end != s && *end == '\0';
}

/* A comment line: # HELP name text / # TYPE name type; HELP and TYPE
 * once per family, before its samples. */
static bool parse_comment(struct expo *x, const char *line)
{
	const char *p = line + 2;
	char name[128];
	struct family *f;
	bool help;

	if (strncmp(line, "# HELP ", 7) != 0 &&
	    strncmp(line, "# TYPE ", 7) != 0)
		return true; /* other comments are allowed */
	help = line[2] == 'H';
	p = line + 7;
	if (!parse_name(&p, name, sizeof(name)) || *p != ' ')
		return false;
	p++;
	f = family_of(x, name);
	if (f == NULL) {
		if (x->nfam == 256)
			return false;
		f = &x->fam[x->nfam++];
		memset(f, 0, sizeof(*f));
		snprintf(f->name, sizeof(f->name), "%s", name);
	}
	if (f->samples || (help ? f->help : f->type[0] != '\0'))
		return false;
	if (help) {
		f->help = true;
		return true;
	}
	if (strcmp(p, "counter") && strcmp(p, "gauge") &&
	    strcmp(p, "histogram") && strcmp(p, "summary") &&
	    strcmp(p, "untyped"))
		return false;
	snprintf(f->type, sizeof(f->type), "%s", p);
	return true;
}

static bool parse_sample(struct expo *x, const char *line, int lastfam)
{
	const char *p = line, *ls;
	char name[128], series[256];
	struct family *f;
	int i;

	if (!parse_name(&p, name, sizeof(name)))
		return false;
	ls = p;
	if (!parse_labels(&p) || *p != ' ')
		return false;
	f = family_of(x, name);
	/* Samples of a family follow its TYPE line, without another
	 * family in between. */
	if (f == NULL || f->type[0] == '\0' || lastfam < 0 ||
	    f != &x->fam[lastfam])
		return false;
	f->samples = true;
	if (!parse_value(p + 1))
		return false;
	snprintf(series, sizeof(series), "%s%.*s", name, (int)(p - ls), ls);
	for (i = 0; i < x->nseries; i++)
		if (strcmp(x->series[i], series) == 0)
			return false;
	if (x->nseries < 1024)
		snprintf(x->series[x->nseries++], 256, "%s", series);
	return true;
}

/* Checks text line by line; prints the first bad line. */
static bool expo_parse(struct expo *x, char *text)
{
	char *line, *next;
	int lastfam = -1, ln = 0;

	memset(x, 0, sizeof(*x));
	if (text[0] == '\0' || text[strlen(text) - 1] != '\n')
		return false;
	for (line = text; *line != '\0'; line = next) {
		bool ok;

		next = strchr(line, '\n');
		*next++ = '\0';
		ln++;
		if (line[0] == '#') {
			ok = parse_comment(x, line);
			/* A HELP or TYPE line opens its family's block. */
			if (ok && (line[2] == 'H' || line[2] == 'T')) {
				const char *p = line + 7;
				char nm[128];

				if (parse_name(&p, nm, sizeof(nm)))
					lastfam = (int)(family_of(x, nm) -
							x->fam);
			}
		} else {
			ok = line[0] != '\0' && parse_sample(x, line, lastfam);
		}
		if (!ok) {
			fprintf(stderr, "metrics line %d is not valid: %s\n",
				ln, line);
			return false;
		}
	}
	return true;
}

/* The value of the sample "series" (name and labels as written). */
static double expo_value(const char *text, const char *series)
{
	const char *p = text;
	size_t n = strlen(series);

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return NAN;
}

static void test_metrics(void)
{
	static struct expo x;
	struct monhttp_resp r;
	char series[256], *copy;
	json_t *v;
	double t1;

	v = get_json(mport, "/varz");
	CU_ASSERT_FATAL(monhttp_get(mport, "/metrics", WAIT_MS, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.ctype, "text/plain"));
	copy = strdup(r.body);
	CU_ASSERT_FATAL(copy != NULL);
	CU_ASSERT(expo_parse(&x, copy));
	free(copy);
	CU_ASSERT_PTR_NOT_NULL(family_of(&x, "gnatsd_varz_connections"));
	CU_ASSERT_PTR_NOT_NULL(family_of(&x, "gnatsd_varz_in_msgs"));
	CU_ASSERT_PTR_NOT_NULL(family_of(&x, "gnatsd_varz_slow_consumers"));
	CU_ASSERT_PTR_NOT_NULL(family_of(&x, "gnatsd_subsz_num_subscriptions"));
	CU_ASSERT_PTR_NOT_NULL(family_of(&x, "gnatsd_accstatz_sent_messages"));
	CU_ASSERT_PTR_NOT_NULL(family_of(&x, "natsd_connections"));
	CU_ASSERT_PTR_NOT_NULL(family_of(&x, "natsd_plugin_metrictest_ticks"));
	CU_ASSERT_STRING_EQUAL(
		family_of(&x, "natsd_plugin_metrictest_ticks")->type,
		"counter");
	CU_ASSERT_STRING_EQUAL(
		family_of(&x, "natsd_plugin_metrictest_level")->type, "gauge");
	/* Values agree with /varz (nothing ran in between). */
	snprintf(series, sizeof(series),
		 "gnatsd_varz_in_msgs{server_id=\"%s\"}",
		 json_string_value(json_object_get(v, "server_id")));
	CU_ASSERT_EQUAL(expo_value(r.body, series), (double)jint(v, "in_msgs"));
	snprintf(series, sizeof(series),
		 "gnatsd_accstatz_current_connections{server_id=\"%s\","
		 "account=\"$G\"}",
		 json_string_value(json_object_get(v, "server_id")));
	CU_ASSERT_FALSE(isnan(expo_value(r.body, series)));
	snprintf(series, sizeof(series),
		 "natsd_plugin_metrictest_level{server_id=\"%s\"}",
		 json_string_value(json_object_get(v, "server_id")));
	CU_ASSERT_EQUAL(expo_value(r.body, series), 42);
	snprintf(series, sizeof(series),
		 "natsd_plugin_metrictest_ticks{server_id=\"%s\"}",
		 json_string_value(json_object_get(v, "server_id")));
	t1 = expo_value(r.body, series);
	monhttp_free(&r);
	/* The counter grows. */
	usleep(200000);
	CU_ASSERT_FATAL(monhttp_get(mport, "/metrics", WAIT_MS, &r) == 0);
	CU_ASSERT(expo_value(r.body, series) > t1);
	monhttp_free(&r);
	json_decref(v);
}

/* The parser must be able to say no. */
static void test_metrics_parser_rejects(void)
{
	static const char *const bad[] = {
		"x 1\n",                                  /* no TYPE */
		"# TYPE x gauge\nx{a=\"1\"} one\n",       /* value */
		"# TYPE x gauge\nx{a=1} 1\n",             /* quotes */
		"# TYPE x gauge\nx 1\nx 2\n",             /* twice */
		"# TYPE x gauge\n# TYPE y gauge\nx 1\n",  /* order */
		"# TYPE x gaug\nx 1\n",                   /* type */
		"# TYPE 1x gauge\n1x 1\n",                /* name */
		"# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n", /* label */
		"# TYPE x gauge\nx 1",                    /* no LF */
	};
	static struct expo x;
	char buf[256];
	size_t i;

	for (i = 0; i < SUITE_COUNT(bad); i++) {
		snprintf(buf, sizeof(buf), "%s", bad[i]);
		CU_ASSERT_FALSE(expo_parse(&x, buf));
	}
	snprintf(buf, sizeof(buf),
		 "# HELP x h\n# TYPE x gauge\nx{a=\"q\\\"\"} 1.5e3\nx 2\n");
	CU_ASSERT(expo_parse(&x, buf));
}

/* ---- other servers: random port, ports file, base path, https -------- */

#define MON_LINE "Starting http monitor on 127.0.0.1:"

static void test_random_port_and_ports_file(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[512], path[1024], want[64], buf[4096];
	const char *args[] = { "-m", "-1", "--ports_file_dir", dir, NULL };
	struct hserver s = { 0 };
	const char *log, *p;
	FILE *f;
	int port = 0;
	size_t n;

	snprintf(dir, sizeof(dir), "%s/monports.XXXXXX", tmp);
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	CU_ASSERT_FATAL(itest_start(&s, NULL, args) == 0);
	/* The monitor binds the client host (-a) when http_host is not
	 * set, as nats-server does. */
	CU_ASSERT(itest_log_wait(&s, MON_LINE, WAIT_MS));
	log = harness_log(&s);
	p = strstr(log, MON_LINE);
	if (p != NULL)
		port = (int)strtol(p + strlen(MON_LINE), NULL, 10);
	CU_ASSERT(port > 0);
	expect(port, "/healthz", 200, "{\"status\":\"ok\"}");
	snprintf(path, sizeof(path), "%s/natsd_%d.ports", dir, (int)s.pid);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL(f);
	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		snprintf(want, sizeof(want), ":%d\"", port);
		CU_ASSERT_PTR_NOT_NULL(
			strstr(buf, "\"monitoring\":[\"http://127.0.0.1:"));
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, want));
	}
	CU_ASSERT(itest_stop(&s));
	rmdir(dir);
}

static void test_base_path(void)
{
	struct hserver s = { 0 };
	char mp[16];
	const char *args[] = { "-m", mp, NULL };
	int port = harness_free_port();
	json_t *j;

	snprintf(mp, sizeof(mp), "%d", port);
	CU_ASSERT_FATAL(
		itest_start(&s, "http_base_path = \"/mon/\";\n", args) == 0);
	j = get_json(port, "/mon/varz");
	CU_ASSERT_STRING_EQUAL(
		json_string_value(json_object_get(j, "http_base_path")),
		"/mon/");
	json_decref(j);
	expect(port, "/mon/healthz", 200, "{\"status\":\"ok\"}");
	expect(port, "/varz", 404, NULL);
	expect(port, "/monvarz", 404, NULL);
	expect(port, "/mon", 200, NULL);
	/* A reload frees the option strings it replaces: the monitor keeps
	 * its own copies and goes on answering. */
	CU_ASSERT(kill(s.pid, SIGHUP) == 0);
	CU_ASSERT(itest_log_wait(&s, "Reloaded server configuration", WAIT_MS));
	j = get_json(port, "/mon/varz");
	CU_ASSERT_STRING_EQUAL(
		json_string_value(json_object_get(j, "http_base_path")),
		"/mon/");
	json_decref(j);
	CU_ASSERT(itest_stop(&s));
}

/* -ms without a certificate stops start-up. */
static void test_https_refused(void)
{
	const char *bin = getenv("NATSD_BIN") ? getenv("NATSD_BIN") : "./natsd";
	char cmd[1200], out[4096];
	size_t n;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s -a 127.0.0.1 -p %d -ms %d 2>&1", bin,
		 harness_free_port(), harness_free_port());
	p = popen(cmd, "r");
	CU_ASSERT_FATAL(p != NULL);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	CU_ASSERT(st != 0);
	/* nats-server's words; tls_test serves HTTPS with a certificate. */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Can't start monitoring: TLS cert "
					   "and key required for HTTPS"));
}

/* ---- the same data over NATS, in the system account ----------------- */

/* Sends a request as the system user and parses the answer. */
static json_t *sys_request(natsConnection *nc, const char *subj,
			   const char *body)
{
	natsMsg *reply = NULL;
	json_t *j = NULL;

	if (natsConnection_RequestString(&reply, nc, subj, body, WAIT_MS) !=
	    NATS_OK) {
		fprintf(stderr, "no answer to %s\n", subj);
		CU_FAIL("no answer");
		return NULL;
	}
	j = json_loadb(natsMsg_GetData(reply),
		       (size_t)natsMsg_GetDataLength(reply), 0, NULL);
	CU_ASSERT_PTR_NOT_NULL(j);
	natsMsg_Destroy(reply);
	return j;
}

/* The next message on sub within timeout_ms, parsed; NULL when none came
 * or it is no JSON. With subject, the message must have come on it. */
static json_t *next_json(natsSubscription *sub, int timeout_ms,
			 const char *subject)
{
	natsMsg *m = NULL;
	json_t *j;

	CU_ASSERT(natsSubscription_NextMsg(&m, sub, timeout_ms) == NATS_OK);
	if (m == NULL)
		return NULL;
	if (subject != NULL)
		CU_ASSERT_STRING_EQUAL(natsMsg_GetSubject(m), subject);
	j = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0,
		       NULL);
	CU_ASSERT_PTR_NOT_NULL(j);
	natsMsg_Destroy(m);
	return j;
}

/* The system account's requests need no monitoring port, as in
 * nats-server; there is no HTTP listener then. */
static void test_system_requests_without_port(void)
{
	static const char conf[] =
		"authorization = { users = (\n"
		"  { user = \"sys\"; password = \"s\"; account = \"$SYS\"; } "
		"); };\n";
	struct hserver s = { 0 };
	natsConnection *sys;
	natsOptions *o;
	json_t *j;

	CU_ASSERT_FATAL(itest_start(&s, conf, NULL) == 0);
	o = itest_opts(s.port);
	sys = itest_connect(o, natsOptions_SetUserInfo(o, "sys", "s"), NULL);
	CU_ASSERT_FATAL(sys != NULL);
	j = sys_request(sys, "$SYS.REQ.SERVER.PING.VARZ", "");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(
				json_object_get(j, "data"), "http_port")),
			0);
	CU_ASSERT_PTR_NOT_NULL(json_object_get(json_object_get(j, "data"),
					       "server_id"));
	json_decref(j);
	CU_ASSERT(itest_log_clean(&s));
	CU_ASSERT_PTR_NULL(strstr(harness_log(&s), "monitor on"));
	natsConnection_Destroy(sys);
	CU_ASSERT(itest_stop(&s));
}

static void test_system_requests(void)
{
	static const char conf[] =
		"authorization = { users = (\n"
		"  { user = \"sys\"; password = \"s\"; account = \"$SYS\"; },\n"
		"  { user = \"app\"; password = \"a\"; },\n"
		"  { user = \"bee\"; password = \"b\"; account = \"B\"; } ); "
		"};\n";
	struct hserver s = { 0 };
	char mp[16], subj[256];
	const char *args[] = { "-m", mp, NULL };
	natsConnection *sys, *app;
	natsOptions *o;
	natsMsg *reply = NULL;
	const char *id;
	json_t *j, *v, *d;
	int port = harness_free_port();

	snprintf(mp, sizeof(mp), "%d", port);
	CU_ASSERT_FATAL(itest_start(&s, conf, args) == 0);
	o = itest_opts(s.port);
	sys = itest_connect(o, natsOptions_SetUserInfo(o, "sys", "s"), NULL);
	o = itest_opts(s.port);
	app = itest_connect(o, natsOptions_SetUserInfo(o, "app", "a"), NULL);
	CU_ASSERT_FATAL(sys != NULL && app != NULL);
	v = get_json(port, "/varz");
	id = json_string_value(json_object_get(v, "server_id"));

	/* The periodic statistics: every 250 ms at first, then less
	 * often. */
	{
		natsSubscription *ss = NULL;

		CU_ASSERT(natsConnection_SubscribeSync(
				  &ss, sys, "$SYS.SERVER.*.STATSZ") == NATS_OK);
		j = next_json(ss, 5000, NULL);
		if (j != NULL)
			CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "statsz"));
		json_decref(j);
		natsSubscription_Destroy(ss);
	}
	/* PING: statsz, in the envelope. */
	j = sys_request(sys, "$SYS.REQ.SERVER.PING", "");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
				       json_object_get(j, "server"), "id")),
			       id);
	d = json_object_get(j, "statsz");
	CU_ASSERT_EQUAL(jint(d, "connections"), 2);
	json_decref(j);
	/* PING.VARZ and the per-server form. */
	j = sys_request(sys, "$SYS.REQ.SERVER.PING.VARZ", "");
	d = json_object_get(j, "data");
	CU_ASSERT_STRING_EQUAL(
		json_string_value(json_object_get(d, "server_id")), id);
	CU_ASSERT_EQUAL(jint(d, "connections"), 2);
	json_decref(j);
	snprintf(subj, sizeof(subj), "$SYS.REQ.SERVER.%s.CONNZ", id);
	j = sys_request(sys, subj, "{\"subscriptions\":true,\"auth\":true}");
	d = json_object_get(j, "data");
	CU_ASSERT_EQUAL(jint(d, "num_connections"), 2);
	json_decref(j);
	j = sys_request(sys, "$SYS.REQ.SERVER.PING.HEALTHZ", NULL);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
				       json_object_get(j, "data"), "status")),
			       "ok");
	json_decref(j);
	j = sys_request(sys, "$SYS.REQ.SERVER.PING.SUBSZ",
			"{\"subscriptions\":true,\"account\":\"$G\"}");
	CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "data"));
	json_decref(j);
	/* Per account: the account in the subject is the filter. */
	j = sys_request(sys, "$SYS.REQ.ACCOUNT.$G.CONNZ", "");
	CU_ASSERT_EQUAL(jint(json_object_get(j, "data"), "num_connections"), 1);
	json_decref(j);
	j = sys_request(sys, "$SYS.REQ.ACCOUNT.$G.INFO", "");
	CU_ASSERT_STRING_EQUAL(
		json_string_value(json_object_get(json_object_get(j, "data"),
						  "account_name")),
		"$G");
	json_decref(j);
	j = sys_request(sys, "$SYS.REQ.ACCOUNT.$G.CONNS", "");
	CU_ASSERT_EQUAL(jint(json_object_get(j, "data"), "conns"), 1);
	json_decref(j);
	j = sys_request(sys, "$SYS.REQ.ACCOUNT.PING.STATZ", "");
	CU_ASSERT(json_is_array(
		json_object_get(json_object_get(j, "data"), "account_statz")));
	json_decref(j);
	/* A bad option: nats-server's error envelope. */
	j = sys_request(sys, "$SYS.REQ.SERVER.PING.CONNZ", "{\"sort\":\"x\"}");
	CU_ASSERT(json_is_null(json_object_get(j, "data")));
	d = json_object_get(j, "error");
	CU_ASSERT_EQUAL(jint(d, "code"), 500);
	CU_ASSERT_STRING_EQUAL(
		json_string_value(json_object_get(d, "description")),
		"invalid sorting option: x");
	json_decref(j);
	/* Another server's id, or another server name: no answer. */
	CU_ASSERT(natsConnection_RequestString(&reply, sys,
					       "$SYS.REQ.SERVER.NOTME.VARZ", "",
					       300) != NATS_OK);
	CU_ASSERT(natsConnection_RequestString(
			  &reply, sys, "$SYS.REQ.SERVER.PING.VARZ",
			  "{\"server_name\":\"other\"}", 300) != NATS_OK);
	/* A request too big to take is dropped; the next is answered. */
	{
		char *big = malloc(70000);

		CU_ASSERT_FATAL(big != NULL);
		memset(big, ' ', 69999);
		big[69999] = '\0';
		CU_ASSERT(natsConnection_RequestString(&reply, sys,
						       "$SYS.REQ.SERVER.PING",
						       big, 300) != NATS_OK);
		free(big);
		j = sys_request(sys, "$SYS.REQ.SERVER.PING.HEALTHZ", "");
		CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "data"));
		json_decref(j);
	}
	/* Clients of accounts other than $G are announced. */
	{
		natsSubscription *es = NULL;
		natsConnection *bee;
		json_t *c;

		CU_ASSERT(natsConnection_SubscribeSync(
				  &es, sys, "$SYS.ACCOUNT.*.*") == NATS_OK);
		CU_ASSERT(natsConnection_FlushTimeout(sys, WAIT_MS) == NATS_OK);
		o = itest_opts(s.port);
		bee = itest_connect(o, natsOptions_SetUserInfo(o, "bee", "b"),
				    NULL);
		CU_ASSERT_FATAL(bee != NULL);
		j = next_json(es, WAIT_MS, "$SYS.ACCOUNT.B.CONNECT");
		if (j != NULL) {
			CU_ASSERT_STRING_EQUAL(
				json_string_value(json_object_get(j, "type")),
				"io.nats.server.advisory.v1.client_connect");
			c = json_object_get(j, "client");
			CU_ASSERT_STRING_EQUAL(
				json_string_value(json_object_get(c, "user")),
				"bee");
			json_decref(j);
		}
		natsConnection_Destroy(bee);
		j = next_json(es, WAIT_MS, "$SYS.ACCOUNT.B.DISCONNECT");
		if (j != NULL) {
			CU_ASSERT_STRING_EQUAL(
				json_string_value(json_object_get(j, "reason")),
				"Client Closed");
			json_decref(j);
		}
		natsSubscription_Destroy(es);
	}
	/* Only the system account reaches them. */
	CU_ASSERT(natsConnection_RequestString(&reply, app,
					       "$SYS.REQ.SERVER.PING", "",
					       300) != NATS_OK);
	/* The internal connection is no client. */
	j = get_json(port, "/connz");
	CU_ASSERT_EQUAL(jint(j, "num_connections"), 2);
	json_decref(j);
	json_decref(v);
	natsConnection_Destroy(sys);
	natsConnection_Destroy(app);
	CU_ASSERT(itest_stop(&s));
}

/* ---- polling under load ------------------------------------------- */

struct load {
	natsConnection *pub, *sub;
	natsSubscription *s;
	_Atomic long got;
};

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m,
		   void *arg)
{
	struct load *l = arg;

	(void)nc;
	(void)sub;
	l->got++;
	natsMsg_Destroy(m);
}

/* Publishes for ms milliseconds, flushing every 1000 messages, then
 * waits for the subscriber to have everything. Returns msgs/s. */
static double run_load(struct load *l, int ms, long *sent, bool *lost)
{
	long long t0 = itest_mono_ms(), t;
	long n = 0, base = l->got;
	int k;

	do {
		for (k = 0; k < 1000; k++)
			natsConnection_PublishString(l->pub, "load.x",
						     "0123456789abcdef");
		n += 1000;
		natsConnection_FlushTimeout(l->pub, WAIT_MS);
		t = itest_mono_ms();
	} while (t - t0 < ms);
	for (k = 0; k < 200 && l->got - base < n; k++)
		usleep(10000);
	*sent = n;
	*lost = l->got - base != n;
	t = itest_mono_ms();
	return (double)n * 1000.0 / (double)(t - t0 > 0 ? t - t0 : 1);
}

static _Atomic bool polling;
static _Atomic long polls;

static void *poller(void *arg)
{
	static const char *const paths[] = { "/connz?subs=1", "/varz",
					     "/connz?sort=msgs_to&limit=10",
					     "/metrics" };
	struct monhttp_resp r;
	int i = 0;

	(void)arg;
	/* Bounded: the load runs about a second. */
	while (polling && polls < 100000) {
		if (monhttp_get(mport, paths[i++ % 4], WAIT_MS, &r) == 0) {
			if (r.status == 200)
				polls++;
			monhttp_free(&r);
		}
	}
	return NULL;
}

static void test_polling_under_load(void)
{
	struct load l = { 0 };
	pthread_t th;
	double quiet, polled;
	long sent1, sent2;
	bool lost1, lost2;
	json_t *a, *b;

	l.pub = itest_client(srv.port);
	l.sub = itest_client(srv.port);
	CU_ASSERT_FATAL(l.pub != NULL && l.sub != NULL);
	CU_ASSERT_FATAL(natsConnection_Subscribe(&l.s, l.sub, "load.x", on_msg,
						 &l) == NATS_OK);
	natsSubscription_SetPendingLimits(l.s, -1, -1);
	CU_ASSERT(natsConnection_FlushTimeout(l.sub, WAIT_MS) == NATS_OK);
	a = get_json(mport, "/varz");
	quiet = run_load(&l, 1000, &sent1, &lost1);
	polling = true;
	CU_ASSERT_FATAL(pthread_create(&th, NULL, poller, NULL) == 0);
	polled = run_load(&l, 1000, &sent2, &lost2);
	polling = false;
	pthread_join(th, NULL);
	b = get_json(mport, "/varz");
	printf("\n    monitor load: %.0f msgs/s quiet, %.0f msgs/s while "
	       "polling (%ld requests answered, %.0f%% of the quiet rate)\n",
	       quiet, polled, (long)polls,
	       quiet > 0 ? polled * 100.0 / quiet : 0);
	CU_ASSERT_FALSE(lost1);
	CU_ASSERT_FALSE(lost2);
	CU_ASSERT(polled > 0);
	CU_ASSERT(polls > 0);
	/* What the requests allocate is freed: the sanitizer build's leak
	 * check at exit (itest_stop) says so; resident memory is printed,
	 * not asserted (outbound queues and the allocator keep pages). */
	printf("    resident memory %lld -> %lld bytes\n", jint(a, "mem"),
	       jint(b, "mem"));
	json_decref(a);
	json_decref(b);
	natsSubscription_Destroy(l.s);
	natsConnection_Destroy(l.pub);
	natsConnection_Destroy(l.sub);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "every endpoint answers", test_endpoints },
		{ "bad query values", test_bad_queries },
		{ "huge limits are capped", test_huge_limit_capped },
		{ "connz sorts, pages, keeps closed", test_connz },
		{ "varz, subsz, accounts count", test_counts },
		{ "metrics parse strictly", test_metrics },
		{ "the metrics parser can fail", test_metrics_parser_rejects },
		{ "random port, ports file", test_random_port_and_ports_file },
		{ "http_base_path", test_base_path },
		{ "https_port without a certificate", test_https_refused },
		{ "$SYS requests without a monitoring port",
		  test_system_requests_without_port },
		{ "$SYS.REQ.SERVER requests", test_system_requests },
		{ "polling under load", test_polling_under_load },
	};
	static const struct suite suite = {
		"monitoring", suite_init, suite_fini, tests, SUITE_COUNT(tests),
	};
	int rc;

	itest_init("monitor_test", WATCHDOG_S, &srv.pid);
	if (!itest_is_natsd()) {
		fprintf(stderr, "monitor_test: natsd only\n");
		return 77;
	}
	rc = suites_run(&suite, 1);
	nats_CloseAndWait(WAIT_MS);
	return rc == 0 ? 0 : 1;
}
