/* The monitoring HTTP server: libmicrohttpd with its internal polling
 * thread, so requests are answered one at a time on a thread of their
 * own, never on an I/O thread. This file opens the socket, routes paths,
 * parses query values the way nats-server does (Go's strconv) and writes
 * the answers; the endpoints live in monitor_*.c. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include <natsd/error.h>

#include "conffile.h"
#include "conn.h"
#include "log.h"
#include "monitor.h"
#include "monitor_int.h"
#include "server.h"

/* One request at a time is served; these bound what waits for a turn
 * and how long an idle client may hold a slot. */
#define MON_CONN_LIMIT   64
#define MON_PEM_MAX      (1024 * 1024) /* a certificate chain or key */
#define MON_CONN_TIMEOUT 10 /* seconds */

struct mon_route {
	const char *path;
	void (*fn)(struct mon_req *r);
};

static void mon_index(struct mon_req *r);

static const struct mon_route mon_routes[] = {
	{ "/", mon_index },
	{ "/varz", mon_varz },
	{ "/connz", mon_connz },
	{ "/routez", mon_routez },
	{ "/gatewayz", mon_gatewayz },
	{ "/leafz", mon_leafz },
	{ "/subsz", mon_subsz },
	{ "/subscriptionsz", mon_subsz },
	{ "/accountz", mon_accountz },
	{ "/accstatz", mon_accstatz },
	{ "/healthz", mon_healthz },
	{ "/metrics", mon_metrics },
};
#define MON_NROUTES (sizeof(mon_routes) / sizeof(mon_routes[0]))

/* Requests per path, for varz's http_req_stats (one server per process,
 * like the routes above). */
static _Atomic uint64_t mon_hits[MON_NROUTES];

json_t *mon_http_req_stats(void)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < MON_NROUTES; i++) {
		uint64_t n = atomic_load_explicit(&mon_hits[i],
						  memory_order_relaxed);

		if (n > 0)
			mon_set(o, mon_routes[i].path,
				json_integer((json_int_t)n));
	}
	return o;
}

/* ---- formatting ---------------------------------------------------- */

int64_t mon_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void mon_set(json_t *o, const char *k, json_t *v)
{
	if (o == NULL || v == NULL) {
		json_decref(v);
		return;
	}
	json_object_set_new(o, k, v);
}

json_t *mon_num(double v)
{
	if (v == (double)(json_int_t)v && v > -9e15 && v < 9e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

json_t *mon_time(int64_t wall_ns)
{
	char buf[64], frac[16];
	struct tm tm;
	time_t t = (time_t)(wall_ns / 1000000000);
	long ns = (long)(wall_ns % 1000000000);
	size_t n;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	/* RFC 3339 with nanoseconds, trailing zeros dropped (Go's
	 * RFC3339Nano). */
	frac[0] = '\0';
	if (ns > 0) {
		snprintf(frac, sizeof(frac), ".%09ld", ns);
		n = strlen(frac);
		while (n > 1 && frac[n - 1] == '0')
			frac[--n] = '\0';
	}
	n = strlen(buf);
	snprintf(buf + n, sizeof(buf) - n, "%sZ", frac);
	return json_string(buf);
}

json_t *mon_uptime(int64_t ns)
{
	int64_t s = ns < 0 ? 0 : ns / 1000000000;
	int64_t m = s / 60, h = m / 60, d = h / 24, y = d / 365;
	char buf[96];

	if (y > 0)
		snprintf(buf, sizeof(buf),
			 "%" PRId64 "y%" PRId64 "d%" PRId64 "h%" PRId64
			 "m%" PRId64 "s",
			 y, d % 365, h % 24, m % 60, s % 60);
	else if (d > 0)
		snprintf(buf, sizeof(buf),
			 "%" PRId64 "d%" PRId64 "h%" PRId64 "m%" PRId64 "s", d,
			 h % 24, m % 60, s % 60);
	else if (h > 0)
		snprintf(buf, sizeof(buf),
			 "%" PRId64 "h%" PRId64 "m%" PRId64 "s", h, m % 60,
			 s % 60);
	else if (m > 0)
		snprintf(buf, sizeof(buf), "%" PRId64 "m%" PRId64 "s", m,
			 s % 60);
	else
		snprintf(buf, sizeof(buf), "%" PRId64 "s", s);
	return json_string(buf);
}

/* v / unit with up to `digits` decimals, trailing zeros dropped. */
static void fmt_frac(char *buf, size_t len, int64_t v, int64_t unit, int digits,
		     const char *suffix)
{
	char frac[24];
	size_t n;

	snprintf(frac, sizeof(frac), "%0*" PRId64, digits, v % unit);
	n = strlen(frac);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	snprintf(buf, len, "%" PRId64 "%s%s%s", v / unit, n ? "." : "", frac,
		 suffix);
}

json_t *mon_gotime(int64_t ns)
{
	char buf[64], sec[32];
	int64_t s;

	if (ns <= 0)
		return json_string("0s");
	if (ns < 1000)
		snprintf(buf, sizeof(buf), "%" PRId64 "ns", ns);
	else if (ns < 1000000)
		fmt_frac(buf, sizeof(buf), ns, 1000, 3, "\xc2\xb5s");
	else if (ns < 1000000000)
		fmt_frac(buf, sizeof(buf), ns, 1000000, 6, "ms");
	else {
		s = ns / 1000000000;
		fmt_frac(sec, sizeof(sec), ns % 60000000000, 1000000000, 9,
			 "s");
		if (s >= 3600)
			snprintf(buf, sizeof(buf), "%" PRId64 "h%" PRId64 "m%s",
				 s / 3600, s / 60 % 60, sec);
		else if (s >= 60)
			snprintf(buf, sizeof(buf), "%" PRId64 "m%s", s / 60,
				 sec);
		else
			snprintf(buf, sizeof(buf), "%s", sec);
	}
	return json_string(buf);
}

/* ---- answers ------------------------------------------------------- */

void mon_text(struct mon_req *r, int status, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n >= 0)
		s = malloc((size_t)n + 1);
	if (s != NULL) {
		va_start(ap, fmt);
		vsnprintf(s, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	free(r->body);
	r->body = s;
	r->len = s == NULL ? 0 : (size_t)n;
	r->status = status;
	r->type = "text/plain; charset=utf-8";
}

/* A JSONP callback name is used as given by nats-server; keep it to the
 * characters a JavaScript identifier path uses, so the answer cannot be
 * turned into other script. */
static bool callback_ok(const char *cb)
{
	size_t i;

	for (i = 0; cb[i] != '\0'; i++) {
		char c = cb[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '$' ||
		      c == '.'))
			return false;
	}
	return i > 0 && i < 256;
}

static void mon_json_flags(struct mon_req *r, json_t *j, size_t flags)
{
	const char *cb = mon_arg(r, "callback");
	char *txt;

	if (j == NULL) {
		mon_text(r, 500, "out of memory");
		return;
	}
	txt = json_dumps(j, flags | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (txt == NULL) {
		mon_text(r, 500, "out of memory");
		return;
	}
	if (cb != NULL && cb[0] != '\0') {
		if (!callback_ok(cb)) {
			free(txt);
			mon_text(r, 400, "invalid callback name");
			return;
		}
		mon_text(r, 200, "%s(%s)", cb, txt);
		free(txt);
		r->type = "application/javascript";
		return;
	}
	free(r->body);
	r->body = txt;
	r->len = strlen(txt);
	r->status = 200;
	r->type = "application/json";
}

void mon_json(struct mon_req *r, json_t *j)
{
	mon_json_flags(r, j, JSON_INDENT(2));
}

void mon_json_compact(struct mon_req *r, json_t *j)
{
	mon_json_flags(r, j, JSON_COMPACT);
}

/* ---- query values, as Go's strconv reports them ---------------------- */

/* Query parameter names and the JSON option names a system account
 * request uses for them (nats-server's *Options structs). */
static const char *const mon_optnames[][2] = {
	{ "sort", "sort" },          { "auth", "auth" },
	{ "subs", "subscriptions" }, { "offset", "offset" },
	{ "limit", "limit" },        { "cid", "cid" },
	{ "user", "user" },          { "acc", "acc" },
	{ "test", "test" },          { "unused", "include_unused" },
	{ "accs", "accounts" },
};

/* An option of a system account request, as a query value would be. */
static const char *mon_opt(struct mon_req *r, const char *name)
{
	const char *key = NULL;
	char *buf;
	json_t *v;
	size_t i;

	if (r->opts == NULL || r->nargbuf == 8)
		return NULL;
	buf = r->argbuf[r->nargbuf];
	if (strcmp(name, "subs") == 0 &&
	    json_is_true(json_object_get(r->opts, "subscriptions_detail")))
		return "detail";
	if (strcmp(name, "state") == 0) {
		/* ConnState: 0 open, 1 closed, 2 all. */
		v = json_object_get(r->opts, "state");
		if (!json_is_integer(v))
			return NULL;
		return json_integer_value(v) == 1   ? "closed"
		       : json_integer_value(v) == 2 ? "all"
						    : "open";
	}
	if (strcmp(name, "acc") == 0 && json_object_get(r->opts, "acc") == NULL)
		key = "account";
	for (i = 0;
	     key == NULL && i < sizeof(mon_optnames) / sizeof(mon_optnames[0]);
	     i++)
		if (strcmp(mon_optnames[i][0], name) == 0)
			key = mon_optnames[i][1];
	v = key ? json_object_get(r->opts, key) : NULL;
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, 64, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, 64, "%s", json_is_true(v) ? "true" : "false");
	else
		return NULL;
	r->nargbuf++;
	return buf;
}

const char *mon_arg(struct mon_req *r, const char *name)
{
	if (r->hc == NULL)
		return mon_opt(r, name);
	return MHD_lookup_connection_value(r->hc, MHD_GET_ARGUMENT_KIND, name);
}

/* A query argument Go's strconv refused: nats-server's 400 reply. */
static int arg_err(struct mon_req *r, const char *name, const char *type,
		   const char *fn, const char *s, bool range)
{
	mon_text(r, 400, "Error decoding %s for '%s': %s: parsing \"%s\": %s",
		 type, name, fn, s,
		 range ? "value out of range" : "invalid syntax");
	return NATSD_EINVAL;
}

int mon_arg_int(struct mon_req *r, const char *name, int64_t *v)
{
	const char *s = mon_arg(r, name);
	char *end;
	long long x;

	if (s == NULL || s[0] == '\0')
		return 0;
	errno = 0;
	x = strtoll(s, &end, 10);
	/* strtoll skips leading blanks; Atoi does not. */
	if (*end != '\0' || end == s || s[0] == ' ' || s[0] == '\t' ||
	    s[0] == '\n')
		return arg_err(r, name, "int", "strconv.Atoi", s, false);
	if (errno == ERANGE)
		return arg_err(r, name, "int", "strconv.Atoi", s, true);
	*v = x;
	return 0;
}

int mon_arg_u64(struct mon_req *r, const char *name, uint64_t *v)
{
	const char *s = mon_arg(r, name);
	unsigned long long x;
	char *end;

	if (s == NULL || s[0] == '\0')
		return 0;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (*end != '\0' || s[0] < '0' || s[0] > '9')
		return arg_err(r, name, "uint64", "strconv.ParseUint", s,
			       false);
	if (errno == ERANGE)
		return arg_err(r, name, "uint64", "strconv.ParseUint", s, true);
	*v = x;
	return 0;
}

int mon_arg_bool(struct mon_req *r, const char *name, bool *v)
{
	static const char *const yes[] = {
		"1", "t", "T", "TRUE", "true", "True"
	};
	static const char *const no[] = { "0",     "f",     "F",
					  "FALSE", "false", "False" };
	const char *s = mon_arg(r, name);
	size_t i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*v = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*v = false;
			return 0;
		}
	}
	mon_text(r, 400,
		 "Error decoding boolean for '%s': strconv.ParseBool: "
		 "parsing \"%s\": invalid syntax",
		 name, s);
	return NATSD_EINVAL;
}

/* ---- the index page -------------------------------------------------- */

static void mon_index(struct mon_req *r)
{
	static const char *const links[][2] = {
		{ "varz", "General" },         { "connz", "Connections" },
		{ "accountz", "Accounts" },    { "accstatz", "Account Stats" },
		{ "subsz", "Subscriptions" },  { "routez", "Routes" },
		{ "leafz", "LeafNodes" },      { "gatewayz", "Gateways" },
		{ "healthz", "Health Probe" }, { "metrics", "Metrics" },
	};
	size_t cap = 4096, n = 0, i;
	char *b = malloc(cap);
	int k;

	if (b == NULL) {
		mon_text(r, 500, "out of memory");
		return;
	}
	k = snprintf(b, cap,
		     "<html lang=\"en\">\n\t<head>\n\t<title>natsd</title>\n"
		     "\t<style type=\"text/css\">\n\t\tbody { font-family: "
		     "sans-serif; margin-left: 32px }\n\t\ta { display:block; "
		     "padding-bottom: 6px }\n\t</style>\n\t</head>\n\t<body>"
		     "\n\t<h1>natsd</h1>\n\t<a href=https://github.com/"
		     "nats-io/nats-server class='version'>v%s</a>\n\t<br/>\n",
		     NATSD_COMPAT_VERSION);
	n = (size_t)k;
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		k = snprintf(b + n, cap - n, "\t<a href=./%s%s>%s</a>\n",
			     links[i][0],
			     i + 1 == sizeof(links) / sizeof(links[0])
				     ? " class=last"
				     : "",
			     links[i][1]);
		n += (size_t)k;
	}
	k = snprintf(b + n, cap - n,
		     "    <a href=https://docs.nats.io/running-a-nats-service/"
		     "nats_admin/monitoring class=\"help\">Help</a>\n  </body>"
		     "\n</html>\n");
	n += (size_t)k;
	free(r->body);
	r->body = b;
	r->len = n;
	r->status = 200;
	r->type = "text/html; charset=utf-8";
}

/* ---- the HTTP side ------------------------------------------------- */

static void mon_route(struct mon_req *r, const char *url)
{
	struct monitor *m = r->m;
	size_t bl = strlen(m->base), i;
	const char *path = url;

	if (bl > 0) {
		if (strncmp(url, m->base, bl) != 0 ||
		    (url[bl] != '/' && url[bl] != '\0')) {
			mon_text(r, 404, "404 page not found\n");
			return;
		}
		path = url[bl] == '\0' ? "/" : url + bl;
	}
	r->path = path;
	for (i = 0; i < MON_NROUTES; i++) {
		if (strcmp(path, mon_routes[i].path) != 0)
			continue;
		atomic_fetch_add_explicit(&mon_hits[i], 1,
					  memory_order_relaxed);
		pthread_mutex_lock(&m->req_lock);
		mon_routes[i].fn(r);
		pthread_mutex_unlock(&m->req_lock);
		return;
	}
	mon_text(r, 404, "404 page not found\n");
}

static enum MHD_Result mon_handler(void *cls, struct MHD_Connection *hc,
				   const char *url, const char *method,
				   const char *version, const char *upload,
				   size_t *upload_len, void **state)
{
	struct mon_req r = { .m = cls, .hc = hc };
	struct MHD_Response *resp;
	enum MHD_Result ret;
	static int first;

	(void)version;
	(void)upload;
	/* The first call only announces the request (headers read). */
	if (*state == NULL) {
		*state = &first;
		return MHD_YES;
	}
	if (*upload_len != 0) {
		*upload_len = 0; /* a body is not looked at */
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		mon_text(&r, 405, "Method Not Allowed\n");
	else
		mon_route(&r, url);
	if (r.body == NULL) {
		r.status = 500;
		r.type = "text/plain; charset=utf-8";
	}
	resp = MHD_create_response_from_buffer(
		r.len, r.body ? r.body : (void *)"",
		r.body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(r.body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", r.type);
	if (r.status == 404)
		MHD_add_response_header(resp, "X-Content-Type-Options",
					"nosniff");
	ret = MHD_queue_response(hc, (unsigned)r.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int mon_listen(const char *host, int port, int *fd_out, int *port_out)
{
	struct addrinfo hints = { 0 }, *res = NULL, *a;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ps[16];
	int fd = -1, one = 1, rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(ps, sizeof(ps), "%d", port < 0 ? 0 : port);
	rc = getaddrinfo(host, ps, &hints, &res);
	if (rc != 0)
		return NATSD_EINVAL;
	rc = NATSD_EINVAL;
	for (a = res; a != NULL; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
			    a->ai_protocol);
		if (fd == -1) {
			rc = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 &&
		    listen(fd, 128) == 0)
			break;
		rc = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return rc;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*port_out = ss.ss_family == AF_INET6
			    ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
			    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	*fd_out = fd;
	return 0;
}

/* "/a/b/" -> "/a/b"; "" and "/" -> "". */
static char *base_path(const char *p)
{
	size_t n;
	char *b;

	if (p == NULL)
		return strdup("");
	while (*p == '/')
		p++;
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	b = malloc(n + 2);
	if (b == NULL)
		return NULL;
	if (n == 0) {
		b[0] = '\0';
		return b;
	}
	b[0] = '/';
	memcpy(b + 1, p, n);
	b[n + 1] = '\0';
	return b;
}

/* A PEM file's text, NUL-terminated, or NULL (errno set). */
static char *read_pem(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return NULL;
	buf = malloc(MON_PEM_MAX + 1);
	if (buf != NULL)
		len = fread(buf, 1, MON_PEM_MAX, f);
	if (buf != NULL && (ferror(f) || len == MON_PEM_MAX)) {
		free(buf);
		buf = NULL;
		errno = EFBIG;
	}
	fclose(f);
	if (buf != NULL)
		buf[len] = '\0';
	return buf;
}

/* https_port serves with the client port's certificate, from the tls
 * block or the --tlscert/--tlskey flags, as nats-server does. */
static int https_pems(const struct opts *o, char **cert, char **key)
{
	const char *cf = NULL, *kf = NULL;

	if (o->tls_flags) {
		cf = o->tls_cert;
		kf = o->tls_key;
	} else if (o->tls != NULL) {
		conffile_cfg_string(o->tls, "cert_file", &cf);
		conffile_cfg_string(o->tls, "key_file", &kf);
	}
	if (cf == NULL || kf == NULL) {
		log_fatal("Can't start monitoring: TLS cert and key required "
			  "for HTTPS");
		return NATSD_EINVAL;
	}
	*cert = read_pem(cf);
	*key = *cert != NULL ? read_pem(kf) : NULL;
	if (*key == NULL) {
		log_fatal("Can't start monitoring: %s: %s",
			  *cert == NULL ? cf : kf, strerror(errno));
		free(*cert);
		return NATSD_EINVAL;
	}
	return 0;
}

int monitor_start(struct server *s, struct monitor **out)
{
	const struct opts *o = server_opts(s);
	const char *host =
		o->http_host ? o->http_host : (o->host ? o->host : "0.0.0.0");
	char *cert = NULL, *key = NULL;
	struct monitor *m;
	int rc, port;

	if (o->http_port != 0 && o->https_port != 0) {
		log_fatal("Can't start monitoring: can't specify both HTTP "
			  "(%d) and HTTPs (%d) ports",
			  o->http_port, o->https_port);
		return NATSD_EINVAL;
	}
	port = o->https_port != 0 ? o->https_port : o->http_port;
	if (o->https_port != 0 && (rc = https_pems(o, &cert, &key)) != 0)
		return rc;

	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		free(cert);
		free(key);
		return NATSD_ENOMEM;
	}
	m->srv = s;
	m->fd = -1;
	m->sys_fd = -1;
	m->ev_fd = -1;
	pthread_mutex_init(&m->ev_lock, NULL);
	pthread_mutex_init(&m->ring_lock, NULL);
	pthread_mutex_init(&m->req_lock, NULL);
	m->ring = calloc(MON_CLOSED_MAX, sizeof(*m->ring));
	m->base = base_path(o->http_base_path);
	m->host_cfg = strdup(host);
	m->base_cfg = strdup(o->http_base_path ? o->http_base_path : "");
	if (m->ring == NULL || m->base == NULL || m->host_cfg == NULL ||
	    m->base_cfg == NULL) {
		rc = NATSD_ENOMEM;
		goto out_free;
	}
	m->https = cert != NULL;
	m->tls_cert = cert;
	m->tls_key = key;
	/* Without a port there is no HTTP listener; the system account's
	 * requests are served all the same, as in nats-server. */
	if (port == 0)
		goto sys;
	rc = mon_listen(host, port, &m->fd, &m->port);
	if (rc != 0) {
		log_fatal("Can't listen to the monitor port: listen tcp "
			  "%s:%d: %s",
			  host, port < 0 ? 0 : port, strerror(-rc));
		goto out_free;
	}
	log_info("Starting %s monitor on %s:%d", m->https ? "https" : "http",
		 host, m->port);
	/* ITC: so that MHD_quiesce_daemon() can hand the socket back. MHD
	 * copies neither PEM: they must outlive the daemon. */
	if (m->https)
		m->d = MHD_start_daemon(
			MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
				MHD_USE_ITC | MHD_USE_TLS,
			0, NULL, NULL, mon_handler, m, MHD_OPTION_LISTEN_SOCKET,
			m->fd, MHD_OPTION_CONNECTION_LIMIT,
			(unsigned)MON_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
			(unsigned)MON_CONN_TIMEOUT, MHD_OPTION_HTTPS_MEM_KEY,
			key, MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_END);
	else
		m->d = MHD_start_daemon(
			MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
				MHD_USE_ITC,
			0, NULL, NULL, mon_handler, m, MHD_OPTION_LISTEN_SOCKET,
			m->fd, MHD_OPTION_CONNECTION_LIMIT,
			(unsigned)MON_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
			(unsigned)MON_CONN_TIMEOUT, MHD_OPTION_END);

	if (m->d == NULL) {
		log_fatal("Cannot start the http monitor");
		rc = NATSD_ENOMEM;
		goto out_free;
	}
sys:
	/* Without it the HTTP side still works: say so and go on. */
	rc = mon_sys_start(m);
	if (rc != 0)
		log_error("System account monitoring requests unavailable: %s",
			  strerror(-rc));
	*out = m;
	return 0;

out_free:
	if (m->fd != -1)
		close(m->fd);
	free(m->ring);
	free(m->base);
	free(m->host_cfg);
	free(m->base_cfg);
	free(m->tls_cert);
	if (m->tls_key != NULL) {
		explicit_bzero(m->tls_key, strlen(m->tls_key));
		free(m->tls_key);
	}
	pthread_mutex_destroy(&m->ring_lock);
	pthread_mutex_destroy(&m->req_lock);
	pthread_mutex_destroy(&m->ev_lock);
	free(m);
	return rc;
}

int monitor_port(const struct monitor *m)
{
	return m->port;
}

bool monitor_https(const struct monitor *m)
{
	return m->https;
}

void monitor_stop(struct monitor *m)
{
	if (m == NULL)
		return;
	mon_sys_stop(m);
	if (m->d == NULL)
		return;
	/* The socket is ours: quiesce first so that MHD leaves it to us. */
	MHD_quiesce_daemon(m->d);
	MHD_stop_daemon(m->d);
	m->d = NULL;
	close(m->fd);
	m->fd = -1;
}

void monitor_free(struct monitor *m)
{
	size_t i;

	if (m == NULL)
		return;
	monitor_stop(m);
	if (m->ev_fd != -1)
		close(m->ev_fd);
	for (i = 0; i < MON_CLOSED_MAX; i++)
		if (m->ring[i] != NULL)
			mon_conn_unref(m->ring[i]);
	free(m->ring);
	free(m->base);
	free(m->host_cfg);
	free(m->base_cfg);
	free(m->tls_cert);
	if (m->tls_key != NULL) {
		explicit_bzero(m->tls_key, strlen(m->tls_key));
		free(m->tls_key);
	}
	pthread_mutex_destroy(&m->ring_lock);
	pthread_mutex_destroy(&m->req_lock);
	pthread_mutex_destroy(&m->ev_lock);
	free(m);
}
