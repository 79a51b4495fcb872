/* The monitoring data over NATS: $SYS.REQ.SERVER.PING[.<X>] and
 * $SYS.REQ.SERVER.<id>.<X> requests in the system account, answered with
 * nats-server's {"server": ..., "data": ...} envelope, so that `nats
 * server ...` commands work against natsd.
 *
 * An internal connection of kind system, in account $SYS, sits on one
 * end of a socketpair on an I/O thread like any other connection: it
 * subscribes, gets MSG frames and publishes answers through the normal
 * parser and router. The other end belongs to a thread of the monitor,
 * which speaks the client protocol and builds the answers with the same
 * code as the HTTP endpoints (the request's JSON options stand in for the
 * query parameters). Rejected: an in-core subscriber callback, which would
 * have put the monitor's work (and its waits for worker snapshots) on
 * the I/O thread that delivers the request. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <natsd/plugin.h>
#include <openssl/rand.h>

#include "account.h"
#include "conn.h"
#include "log.h"
#include "monitor.h"
#include "monitor_int.h"
#include "server.h"

/* Events waiting for the system thread beyond this are dropped: a
 * stalled thread must not hold memory without bound. */
#define SYS_MAX_EVENTS 10000
/* Largest request payload (JSON options) taken. */
#define SYS_MAX_REQ (64 * 1024)
/* $SYS.SERVER.<id>.STATSZ is published every so often: first after
 * 250 ms, then twice as long each time up to 30 s, as nats-server. */
#define SYS_STATSZ_FIRST_MS 250
#define SYS_STATSZ_MAX_MS   30000

/* ---- the internal connection's stream: a plain fd ------------------ */

static ssize_t sysfd_read(void *sctx, struct natsd_stream *below, void *buf,
			  size_t len)
{
	ssize_t n = read((int)(intptr_t)sctx, buf, len);

	(void)below;
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EWOULDBLOCK ? NATSD_EAGAIN : -errno;
}

static ssize_t sysfd_writev(void *sctx, struct natsd_stream *below,
			    const struct iovec *iov, int iovcnt)
{
	ssize_t n = writev((int)(intptr_t)sctx, iov, iovcnt);

	(void)below;
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EWOULDBLOCK ? NATSD_EAGAIN : -errno;
}

static void sysfd_close(void *sctx, struct natsd_stream *below)
{
	(void)below;
	close((int)(intptr_t)sctx);
}

static const struct natsd_transport_ops sysfd_ops = {
	.struct_size = sizeof(struct natsd_transport_ops),
	.name = "system",
	.read = sysfd_read,
	.writev = sysfd_writev,
	.close = sysfd_close,
};

struct sys_adopt {
	struct server *srv;
	int fd;
};

/* On a worker: the connection, already "connected" into $SYS (it never
 * sends CONNECT, gets no INFO, no ping and no auth timer). */
static void sys_adopt_task(struct loop *l, void *arg)
{
	struct sys_adopt *a = arg;
	struct worker *w = server_current_worker();
	struct natsd_stream *top;
	struct conn *c;

	(void)l;
	top = calloc(1, sizeof(*top));
	if (top == NULL) {
		close(a->fd);
		free(a);
		return;
	}
	top->ops = &sysfd_ops;
	top->sctx = (void *)(intptr_t)a->fd;
	c = conn_new(w, NATSD_KIND_SYSTEM, a->fd, top);
	if (c == NULL) {
		close(a->fd);
		free(top);
		free(a);
		return;
	}
	c->acc = a->srv->sysacc;
	c->flags |= CONN_F_CONNECTED | CONN_F_HEADERS;
	c->max_payload = -1; /* answers may be large, as nats-server's */
	c->protocol = 1;
	snprintf(c->ip, sizeof(c->ip), "%s", "internal");
	free(a);
}

/* ---- the monitor side ------------------------------------------------ */

struct sysreq {
	char *subject, *reply;
	char *payload;
	size_t len;
};

/* Writes all of buf to fd; false when the connection is gone. */
static bool put(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static json_t *server_info(struct server *s)
{
	static _Atomic uint64_t seq;
	const struct opts *o = server_opts(s);
	json_t *j = json_object();

	mon_set(j, "name", json_string(s->server_name));
	mon_set(j, "host", json_string(o->host ? o->host : "0.0.0.0"));
	mon_set(j, "id", json_string(s->server_id));
	mon_set(j, "ver", json_string(NATSD_COMPAT_VERSION));
	mon_set(j, "seq",
		json_integer((json_int_t)atomic_fetch_add(&seq, 1) + 1));
	mon_set(j, "jetstream", json_false());
	mon_set(j, "time", mon_time(mon_now_ns()));
	return j;
}

/* The statsz object (PING and STATSZ). */
static json_t *statsz(struct monitor *m)
{
	struct mon_varz v;
	json_t *j, *p;
	long active = 0;

	if (mon_varz_collect(m, &v) != 0)
		return NULL;
	p = mon_accstatz_list(m, false);
	if (p != NULL)
		active = (long)json_array_size(p);
	json_decref(p);
	j = json_object();
	mon_set(j, "start", mon_time(v.start_ns));
	mon_set(j, "mem", json_integer(v.mem));
	mon_set(j, "cores", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	mon_set(j, "cpu", mon_num(v.cpu));
	mon_set(j, "connections",
		json_integer((json_int_t)v.t.nkind[NATSD_KIND_CLIENT]));
	mon_set(j, "total_connections",
		json_integer((json_int_t)v.total_conns));
	mon_set(j, "active_accounts", json_integer(active));
	mon_set(j, "subscriptions", json_integer((json_int_t)v.t.nsubs));
	p = json_object();
	mon_set(p, "msgs", json_integer((json_int_t)v.t.out_msgs));
	mon_set(p, "bytes", json_integer((json_int_t)v.t.out_bytes));
	mon_set(j, "sent", p);
	p = json_object();
	mon_set(p, "msgs", json_integer((json_int_t)v.t.in_msgs));
	mon_set(p, "bytes", json_integer((json_int_t)v.t.in_bytes));
	mon_set(j, "received", p);
	mon_set(j, "slow_consumers",
		json_integer((json_int_t)v.slow_consumers));
	mon_set(j, "active_servers", json_integer(1));
	return j;
}

struct sys_endpoint {
	const char *name;
	void (*fn)(struct mon_req *r);
};

static const struct sys_endpoint sys_endpoints[] = {
	{ "VARZ", mon_varz },         { "CONNZ", mon_connz },
	{ "SUBSZ", mon_subsz },       { "ROUTEZ", mon_routez },
	{ "GATEWAYZ", mon_gatewayz }, { "LEAFZ", mon_leafz },
	{ "ACCOUNTZ", mon_accountz }, { "HEALTHZ", mon_healthz },
	{ "ACCSTATZ", mon_accstatz },
};

/* $SYS.REQ.ACCOUNT.<acc>.<X>: the endpoint each X uses, the account set
 * as its filter. INFO, STATZ and CONNS keep a part of the answer. */
static const char *const acc_requests[][2] = {
	{ "CONNZ", "CONNZ" },    { "SUBSZ", "SUBSZ" },
	{ "LEAFZ", "LEAFZ" },    { "INFO", "ACCOUNTZ" },
	{ "STATZ", "ACCSTATZ" }, { "CONNS", "ACCSTATZ" },
};

/* The account_statz entry of acc in an accstatz answer, or a zeroed one
 * (an account without connections is left out of the list). */
static json_t *acc_line(json_t *data, const char *acc)
{
	json_t *e, *z;
	size_t i;

	json_array_foreach(json_object_get(data, "account_statz"), i, e)
	{
		const char *name = json_string_value(json_object_get(e, "acc"));

		if (name != NULL && strcmp(name, acc) == 0)
			return json_incref(e);
	}
	z = json_object();
	mon_set(z, "acc", json_string(acc));
	mon_set(z, "conns", json_integer(0));
	mon_set(z, "leafnodes", json_integer(0));
	mon_set(z, "total_conns", json_integer(0));
	return z;
}

/* Cuts an endpoint's answer down to what an account request returns. */
static json_t *acc_data(json_t *data, const char *x, const char *acc)
{
	json_t *part = NULL, *list;

	if (strcmp(x, "INFO") == 0) {
		part = json_incref(json_object_get(data, "account_detail"));
	} else if (strcmp(x, "CONNS") == 0) {
		part = acc_line(data, acc);
	} else if (strcmp(x, "STATZ") == 0) {
		list = json_array();
		json_array_append_new(list, acc_line(data, acc));
		json_object_set_new(data, "account_statz", list);
		return data;
	} else {
		return data;
	}
	json_decref(data);
	return part;
}

/* The request's filter ("server_name", "host"): does it name us? */
static bool for_us(struct server *s, json_t *opts)
{
	const char *name =
		json_string_value(json_object_get(opts, "server_name"));
	const char *host = json_string_value(json_object_get(opts, "host"));
	const struct opts *o = server_opts(s);

	if (name != NULL && name[0] != '\0' &&
	    strcmp(name, s->server_name) != 0)
		return false;
	if (host != NULL && host[0] != '\0' &&
	    strcmp(host, o->host ? o->host : "0.0.0.0") != 0)
		return false;
	return true;
}

/* Builds the answer to what (VARZ ... or STATSZ), for account request
 * x about acc when acc is not NULL; NULL: no answer. */
static char *answer(struct monitor *m, const char *what, json_t *opts,
		    const char *x, const char *acc)
{
	struct mon_req r = { .m = m, .opts = opts };
	json_t *env, *data = NULL;
	char *txt;
	size_t i;

	env = json_object();
	mon_set(env, "server", server_info(m->srv));
	if (strcmp(what, "STATSZ") == 0) {
		data = statsz(m);
		if (data == NULL) {
			json_decref(env);
			return NULL;
		}
		mon_set(env, "statsz", data);
		goto out;
	}
	for (i = 0; i < sizeof(sys_endpoints) / sizeof(sys_endpoints[0]); i++)
		if (strcmp(what, sys_endpoints[i].name) == 0)
			break;
	if (i == sizeof(sys_endpoints) / sizeof(sys_endpoints[0])) {
		json_decref(env);
		return NULL;
	}
	r.path = what;
	sys_endpoints[i].fn(&r);
	if (r.status == 200 && r.body != NULL)
		data = json_loads(r.body, 0, NULL);
	if (data != NULL && acc != NULL)
		data = acc_data(data, x, acc);
	if (data != NULL) {
		mon_set(env, "data", data);
	} else {
		/* nats-server says 500 whatever went wrong, with the text
		 * the HTTP endpoint would give. */
		json_t *e = json_object();

		mon_set(env, "data", json_null());
		mon_set(e, "code", json_integer(500));
		mon_set(e, "description", json_string(r.body ? r.body : ""));
		mon_set(env, "error", e);
	}
	free(r.body);
out:
	txt = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(env);
	return txt;
}

/* Publishes the server's statistics on $SYS.SERVER.<id>.STATSZ. */
static void publish_statsz(struct monitor *m, int fd)
{
	char head[256], *txt;
	int n;

	pthread_mutex_lock(&m->req_lock);
	txt = answer(m, "STATSZ", NULL, NULL, NULL);
	pthread_mutex_unlock(&m->req_lock);
	if (txt == NULL)
		return;
	n = snprintf(head, sizeof(head), "PUB $SYS.SERVER.%s.STATSZ %zu\r\n",
		     m->srv->server_id, strlen(txt));
	if (n > 0 && (size_t)n < sizeof(head) && put(fd, head, (size_t)n))
		if (put(fd, txt, strlen(txt)))
			put(fd, "\r\n", 2);
	free(txt);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connect and disconnect events ----------------------------------- */

void mon_event_push(struct monitor *m, struct mon_conn *c, bool connect)
{
	struct mon_event *e;
	uint64_t one = 1;

	if (c == NULL || c->kind != NATSD_KIND_CLIENT || !c->connected ||
	    c->acc == NULL || strcmp(c->acc, "$G") == 0)
		return;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return;
	atomic_fetch_add(&c->refs, 1);
	e->c = c;
	e->connect = connect;
	pthread_mutex_lock(&m->ev_lock);
	if (!m->ev_open || m->nev >= SYS_MAX_EVENTS) {
		pthread_mutex_unlock(&m->ev_lock);
		mon_conn_unref(c);
		free(e);
		return;
	}
	*m->ev_tail = e;
	m->ev_tail = &e->next;
	m->nev++;
	pthread_mutex_unlock(&m->ev_lock);
	if (write(m->ev_fd, &one, sizeof(one)) < 0)
		return; /* the counter is full: a wake-up is pending anyway */
}

void monitor_conn_connected(struct monitor *m, struct conn *c)
{
	struct mon_conn *mc;

	if (c->kind != NATSD_KIND_CLIENT || c->acc == NULL ||
	    strcmp(c->acc->name, "$G") == 0)
		return;
	mc = mon_conn_copy(c, false, 0);
	mon_event_push(m, mc, true);
	mon_conn_unref(mc);
}

/* A random event id, like a NUID: 22 letters and digits. */
static json_t *event_id(void)
{
	static const char abc[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz";
	unsigned char r[22];
	char id[23];
	int i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		memset(r, 0, sizeof(r));
	for (i = 0; i < 22; i++)
		id[i] = abc[r[i] % (sizeof(abc) - 1)];
	id[22] = '\0';
	return json_string(id);
}

static json_t *pair_of(uint64_t msgs, uint64_t bytes)
{
	json_t *o = json_object();

	mon_set(o, "msgs", json_integer((json_int_t)msgs));
	mon_set(o, "bytes", json_integer((json_int_t)bytes));
	return o;
}

static json_t *server_info(struct server *s);

/* io.nats.server.advisory.v1.client_connect / client_disconnect. */
static char *event_json(struct monitor *m, const struct mon_event *e)
{
	const struct mon_conn *c = e->c;
	json_t *j = json_object(), *ci = json_object();
	char *txt;

	mon_set(j, "type",
		json_string(
			e->connect ? "io.nats.server.advisory.v1.client_connect"
				   : "io.nats.server.advisory.v1.client_"
				     "disconnect"));
	mon_set(j, "id", event_id());
	mon_set(j, "timestamp", mon_time(mon_now_ns()));
	mon_set(j, "server", server_info(m->srv));
	/* nats-server's field order; empty strings are left out, and so
	 * is rtt, which natsd does not measure. */
	mon_set(ci, "start", mon_time(c->start_ns));
	mon_set(ci, "host", json_string(c->ip));
	mon_set(ci, "id", json_integer((json_int_t)c->cid));
	mon_set(ci, "acc", json_string(c->acc));
	if (c->user != NULL && c->user[0] != '\0')
		mon_set(ci, "user", json_string(c->user));
	if (c->name != NULL && c->name[0] != '\0')
		mon_set(ci, "name", json_string(c->name));
	if (c->lang != NULL && c->lang[0] != '\0')
		mon_set(ci, "lang", json_string(c->lang));
	if (c->version != NULL && c->version[0] != '\0')
		mon_set(ci, "ver", json_string(c->version));
	if (!e->connect)
		mon_set(ci, "stop", mon_time(c->stop_ns));
	mon_set(ci, "kind", json_string("Client"));
	mon_set(ci, "client_type", json_string("nats"));
	mon_set(j, "client", ci);
	if (!e->connect) {
		mon_set(j, "sent", pair_of(c->out_msgs, c->out_bytes));
		mon_set(j, "received", pair_of(c->in_msgs, c->in_bytes));
		mon_set(j, "reason",
			json_string(conn_close_text(
				(enum conn_close_reason)c->reason)));
	}
	txt = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return txt;
}

/* Publishes the queued events. */
static void publish_events(struct monitor *m, int fd)
{
	struct mon_event *e, *next;
	char head[512], *txt;
	uint64_t n;
	int k;

	if (read(m->ev_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&m->ev_lock);
	e = m->ev_head;
	m->ev_head = NULL;
	m->ev_tail = &m->ev_head;
	m->nev = 0;
	pthread_mutex_unlock(&m->ev_lock);
	for (; e != NULL; e = next) {
		next = e->next;
		txt = event_json(m, e);
		k = txt ? snprintf(head, sizeof(head),
				   "PUB $SYS.ACCOUNT.%s.%s %zu\r\n", e->c->acc,
				   e->connect ? "CONNECT" : "DISCONNECT",
				   strlen(txt))
			: -1;
		if (k > 0 && (size_t)k < sizeof(head) &&
		    put(fd, head, (size_t)k))
			if (put(fd, txt, strlen(txt)))
				put(fd, "\r\n", 2);
		free(txt);
		mon_conn_unref(e->c);
		free(e);
	}
}

/* Drops what is queued; no more is taken. */
static void events_close(struct monitor *m)
{
	struct mon_event *e, *next;

	pthread_mutex_lock(&m->ev_lock);
	m->ev_open = false;
	e = m->ev_head;
	m->ev_head = NULL;
	m->ev_tail = &m->ev_head;
	m->nev = 0;
	pthread_mutex_unlock(&m->ev_lock);
	for (; e != NULL; e = next) {
		next = e->next;
		mon_conn_unref(e->c);
		free(e);
	}
}

/* "$SYS.REQ.SERVER.PING" -> STATSZ, "...PING.X" and "...<id>.X" -> X. */
static const char *request_kind(struct server *s, const char *subj)
{
	static const char ping[] = "$SYS.REQ.SERVER.PING";
	static const char pre[] = "$SYS.REQ.SERVER.";
	size_t idl = strlen(s->server_id);

	if (strcmp(subj, ping) == 0)
		return "STATSZ";
	if (strncmp(subj, ping, sizeof(ping) - 1) == 0 &&
	    subj[sizeof(ping) - 1] == '.')
		return subj + sizeof(ping);
	if (strncmp(subj, pre, sizeof(pre) - 1) == 0 &&
	    strncmp(subj + sizeof(pre) - 1, s->server_id, idl) == 0 &&
	    subj[sizeof(pre) - 1 + idl] == '.')
		return subj + sizeof(pre) + idl;
	return NULL;
}

/* "$SYS.REQ.ACCOUNT.<acc>.<X>": the endpoint, with *x and acc (in buf)
 * set; NULL when it is not such a request. */
static const char *acc_request(const char *subj, char *acc, size_t cap,
			       const char **x)
{
	static const char pre[] = "$SYS.REQ.ACCOUNT.";
	const char *a = subj + sizeof(pre) - 1, *dot;
	size_t i;

	if (strncmp(subj, pre, sizeof(pre) - 1) != 0)
		return NULL;
	dot = strchr(a, '.');
	if (dot == NULL || dot == a || (size_t)(dot - a) >= cap)
		return NULL;
	memcpy(acc, a, (size_t)(dot - a));
	acc[dot - a] = '\0';
	for (i = 0; i < sizeof(acc_requests) / sizeof(acc_requests[0]); i++) {
		if (strcmp(dot + 1, acc_requests[i][0]) == 0) {
			*x = acc_requests[i][0];
			return acc_requests[i][1];
		}
	}
	return NULL;
}

static void handle(struct monitor *m, int fd, struct sysreq *q)
{
	const char *what = request_kind(m->srv, q->subject), *x = NULL;
	json_t *opts = NULL;
	char head[512], acc[256], *txt;
	bool for_acc = false;
	int n;

	if (what == NULL) {
		what = acc_request(q->subject, acc, sizeof(acc), &x);
		for_acc = what != NULL;
		/* $SYS.REQ.ACCOUNT.PING.STATZ and .CONNZ ask about every
		 * account. */
		if (for_acc && strcmp(acc, "PING") == 0) {
			for_acc = false;
			if (strcmp(x, "STATZ") != 0 && strcmp(x, "CONNZ") != 0)
				what = NULL;
		}
	}
	if (what == NULL || q->reply == NULL)
		return;
	if (q->len > 0) {
		opts = json_loadb(q->payload, q->len, 0, NULL);
		if (opts != NULL && !json_is_object(opts)) {
			json_decref(opts);
			opts = NULL;
		}
	}
	if (!for_us(m->srv, opts)) {
		json_decref(opts);
		return;
	}
	if (for_acc) {
		/* The account in the subject is the filter. */
		if (opts == NULL)
			opts = json_object();
		json_object_set_new(opts, "acc", json_string(acc));
		json_object_set_new(opts, "account", json_string(acc));
		if (strcmp(x, "SUBSZ") == 0)
			json_object_set_new(opts, "subscriptions", json_true());
		if (strcmp(what, "ACCSTATZ") == 0)
			json_object_set_new(opts, "include_unused",
					    json_true());
	}
	pthread_mutex_lock(&m->req_lock);
	txt = answer(m, what, opts, x, for_acc ? acc : NULL);
	pthread_mutex_unlock(&m->req_lock);
	json_decref(opts);
	if (txt == NULL)
		return;
	n = snprintf(head, sizeof(head), "PUB %s %zu\r\n", q->reply,
		     strlen(txt));
	if (n > 0 && (size_t)n < sizeof(head) && put(fd, head, (size_t)n))
		if (put(fd, txt, strlen(txt)))
			put(fd, "\r\n", 2);
	free(txt);
}

/* Splits the arguments of a MSG/HMSG line (at most 5). */
static int split(char *line, char **v, int max)
{
	int n = 0;
	char *p = line;

	while (*p != '\0' && n < max) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			break;
		v[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
	}
	return n;
}

/* Takes one operation from buf[0..*len); returns the bytes used, 0 when
 * incomplete, -1 on a protocol error. A request too big to answer sets
 * *skip to its size (to be dropped unread) and returns 0. */
static ssize_t take_op(struct monitor *m, int fd, char *buf, size_t len,
		       size_t *skip)
{
	char *eol = memchr(buf, '\n', len), *v[6];
	size_t ll, hdr = 0, total;
	struct sysreq q = { 0 };
	char *end;
	int n;

	if (eol == NULL)
		return len > 4096 ? -1 : 0;
	ll = (size_t)(eol - buf) + 1;
	*eol = '\0';
	if (eol > buf && eol[-1] == '\r')
		eol[-1] = '\0';
	if (strncmp(buf, "PING", 4) == 0)
		return put(fd, "PONG\r\n", 6) ? (ssize_t)ll : -1;
	if (strncmp(buf, "MSG ", 4) != 0 && strncmp(buf, "HMSG ", 5) != 0)
		return (ssize_t)ll; /* +OK, PONG, INFO, -ERR: nothing to do */
	n = split(buf + (buf[0] == 'H' ? 5 : 4), v, 6);
	if (buf[0] == 'H') {
		if (n != 4 && n != 5)
			return -1;
		hdr = strtoul(v[n - 2], &end, 10);
	} else if (n != 3 && n != 4) {
		return -1;
	}
	total = strtoul(v[n - 1], &end, 10);
	if (*end != '\0' || hdr > total)
		return -1;
	if (total > SYS_MAX_REQ) {
		*skip = ll + total + 2;
		return 0;
	}
	if (len < ll + total + 2) {
		/* Not all here yet: undo the cut, wait for more. */
		*eol = '\n';
		if (eol[-1] == '\0')
			eol[-1] = '\r';
		for (end = buf; end < eol; end++)
			if (*end == '\0')
				*end = ' ';
		return 0;
	}
	q.subject = v[0];
	q.reply = (buf[0] == 'H' ? n == 5 : n == 4) ? v[2] : NULL;
	q.payload = buf + ll + hdr;
	q.len = total - hdr;
	handle(m, fd, &q);
	return (ssize_t)(ll + total + 2);
}

static void *sys_main(void *arg)
{
	struct monitor *m = arg;
	size_t cap = SYS_MAX_REQ + 8192, len = 0;
	char *buf = malloc(cap);
	char subs[512];
	size_t skip = 0;
	int64_t every = SYS_STATSZ_FIRST_MS, next = mono_ms() + every;
	struct pollfd pfd[2] = { { .fd = m->sys_fd, .events = POLLIN },
				 { .fd = m->ev_fd, .events = POLLIN } };
	ssize_t n;

	if (buf == NULL)
		return NULL;
	snprintf(subs, sizeof(subs),
		 "SUB $SYS.REQ.SERVER.PING 1\r\n"
		 "SUB $SYS.REQ.SERVER.PING.* 2\r\n"
		 "SUB $SYS.REQ.SERVER.%s.* 3\r\n"
		 "SUB $SYS.REQ.ACCOUNT.*.* 4\r\n",
		 m->srv->server_id);
	if (!put(m->sys_fd, subs, strlen(subs))) {
		free(buf);
		return NULL;
	}
	for (;;) {
		int64_t now = mono_ms();

		if (now >= next) {
			publish_statsz(m, m->sys_fd);
			every = every * 2 > SYS_STATSZ_MAX_MS
					? SYS_STATSZ_MAX_MS
					: every * 2;
			next = now + every;
		}
		n = poll(pfd, 2, (int)(next - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && (pfd[1].revents & POLLIN))
			publish_events(m, m->sys_fd);
		if (n <= 0 || !(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(m->sys_fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		for (;;) {
			if (skip > 0) {
				size_t k = skip < len ? skip : len;

				memmove(buf, buf + k, len - k);
				len -= k;
				skip -= k;
				if (skip > 0)
					break;
			}
			n = take_op(m, m->sys_fd, buf, len, &skip);
			if (n == 0 && skip > 0)
				continue;
			if (n < 0) {
				log_error("system requests: protocol error, "
					  "stopped");
				goto out;
			}
			if (n == 0)
				break;
			memmove(buf, buf + n, len - (size_t)n);
			len -= (size_t)n;
		}
		if (len == cap)
			break;
	}
out:
	free(buf);
	return NULL;
}

int mon_sys_start(struct monitor *m)
{
	struct sys_adopt *a;
	int sv[2];

	m->ev_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->ev_fd == -1)
		return -errno;
	m->ev_tail = &m->ev_head;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -errno;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		goto out_close;
	/* The worker's end is non-blocking, like every connection's. */
	if (fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) == -1)
		goto out_free;
	a->srv = m->srv;
	a->fd = sv[0];
	m->sys_fd = sv[1];
	if (loop_post(server_pick_worker(m->srv)->loop, sys_adopt_task, a) != 0)
		goto out_free;
	if (pthread_create(&m->sys_thread, NULL, sys_main, m) != 0) {
		/* The worker owns sv[0] now; closing ours ends it. */
		close(sv[1]);
		m->sys_fd = -1;
		return NATSD_ENOMEM;
	}
	m->sys_started = true;
	pthread_mutex_lock(&m->ev_lock);
	m->ev_open = true;
	pthread_mutex_unlock(&m->ev_lock);
	return 0;

out_free:
	free(a);
out_close:
	close(sv[0]);
	close(sv[1]);
	m->sys_fd = -1;
	return NATSD_ENOMEM;
}

void mon_sys_stop(struct monitor *m)
{
	if (!m->sys_started)
		return;
	events_close(m);
	/* EOF for the thread's read, and for the internal connection. */
	shutdown(m->sys_fd, SHUT_RDWR);
	pthread_join(m->sys_thread, NULL);
	close(m->sys_fd);
	m->sys_fd = -1;
	m->sys_started = false;
}
