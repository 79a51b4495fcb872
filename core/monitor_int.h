/* Shared by the monitor_*.c files only.
 *
 * How data is read without slowing the I/O threads: a connection's
 * strings and subscriptions belong to its worker, so an endpoint that
 * lists connections posts a task to every worker (loop_post) that copies
 * what is asked into a snapshot, and waits for the copies. The worker
 * spends a short copy per connection and never waits for the HTTP
 * thread; the HTTP thread never takes a lock a worker holds while it
 * routes messages (only each connection's out_lock, briefly, to read the
 * pending byte count, as any publisher does). Reading the counters
 * directly with relaxed atomics was rejected for the lists: the worker's
 * connection array is reallocated as connections come and go, and the
 * strings are freed with them. Server-wide counters (totals, slow
 * consumers, account sums) are read with relaxed atomic loads. */
#ifndef NATSD_MONITOR_INT_H
#define NATSD_MONITOR_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct server;
struct conn;
struct MHD_Daemon;
struct MHD_Connection;
struct monitor;

/* nats-server keeps this many closed connections for /connz. */
#define MON_CLOSED_MAX 10000
/* Subscriptions kept with each closed connection. */
#define MON_CLOSED_SUBS_MAX 1024
/* The most entries a paged list (connz, subsz) reports at once. */
#define MON_LIMIT_MAX     100000
#define MON_LIMIT_DEFAULT 1024

struct mon_sub {
	char *acc;
	char *subject;
	char *queue; /* NULL: not a queue subscription */
	char *sid;
	uint64_t msgs;
	uint64_t max;
	uint64_t cid;
};

/* One connection as seen at snapshot (or close) time. Reference counted:
 * the closed ring and the requests reading it share entries. */
struct mon_conn {
	_Atomic int refs;
	uint64_t cid;
	int kind;
	char ip[46];
	int port;
	int64_t start_ns, last_ns, stop_ns; /* wall clock */
	int reason;
	bool closed;
	bool connected; /* its CONNECT was accepted */
	uint64_t pending;
	uint64_t in_msgs, out_msgs, in_bytes, out_bytes;
	int64_t rtt_ns; /* 0 until a PING got its PONG */
	uint32_t nsubs;
	char *name, *lang, *version, *user, *acc;
	char tls_version[8], tls_cipher[64]; /* "" without TLS */
	struct mon_sub *subs; /* when asked for */
	uint32_t nsubl;
};

void mon_conn_unref(struct mon_conn *c);
/* Copies c on its owner thread (subscriptions too when subs, at most
 * max); NULL when out of memory. */
struct mon_conn *mon_conn_copy(struct conn *c, bool subs, uint32_t max);

/* Queues a connect or disconnect event for the system account about c
 * (a reference is taken); any thread. Only clients of accounts other
 * than $G are announced, as nats-server 2.9 does. */
void mon_event_push(struct monitor *m, struct mon_conn *c, bool connect);

/* Sums over the live connections. */
struct mon_totals {
	uint64_t in_msgs, in_bytes, out_msgs, out_bytes;
	uint64_t nkind[5]; /* by enum natsd_conn_kind */
	uint64_t nsubs;
	uint64_t pending;
};

/* What a snapshot copies. kind < 0: every kind; cid 0: every cid; acc
 * NULL: every account. */
struct mon_query {
	bool conns;
	bool subs;
	int kind;
	uint64_t cid;
	const char *acc;
};

struct mon_snap {
	struct mon_conn **v;
	size_t n;
	struct mon_totals t;
};

struct mon_event {
	struct mon_event *next;
	struct mon_conn *c;
	bool connect;
};

struct monitor {
	struct server *srv;
	struct MHD_Daemon *d;
	int fd;
	int port;
	bool https; /* https_port: TLS with the server's certificate */
	char *tls_cert, *tls_key; /* their PEM text, which MHD uses */
	char *base; /* http_base_path without a trailing '/', or "" */
	/* The listener's settings as started: a reload (SIGHUP) frees the
	 * option strings it replaces, and the listener does not move. */
	char *host_cfg, *base_cfg;

	/* One request is built at a time, HTTP or system account: the
	 * builders share the cpu sample below. */
	pthread_mutex_t req_lock;
	pthread_mutex_t ring_lock;
	struct mon_conn **ring; /* MON_CLOSED_MAX slots */
	size_t ring_n, ring_next;

	/* System account requests and events (monitor_sys.c). */
	pthread_mutex_t ev_lock;
	struct mon_event *ev_head, **ev_tail;
	size_t nev;
	bool ev_open; /* the system thread takes events */
	int ev_fd;    /* eventfd: events queued */
	int sys_fd;
	pthread_t sys_thread;
	bool sys_started;

	/* For the cpu field: the previous sample. */
	int64_t cpu_wall_ns, cpu_used_ns;
	double cpu_pct;
};

/* A request being answered: the handler fills status, type and body. */
struct mon_req {
	struct monitor *m;
	struct MHD_Connection *hc;
	const char *path; /* without the base path */
	/* A system account request: its JSON options stand in for the
	 * query (hc is NULL then). */
	json_t *opts;
	char argbuf[8][64];
	int nargbuf;
	int status;
	const char *type;
	char *body; /* malloc()ed */
	size_t len;
};

/* Snapshot of the live connections, through the workers. 0 or a
 * negative code; mon_snap_fini() frees it either way. */
int mon_snapshot(struct monitor *m, const struct mon_query *q,
		 struct mon_snap *out);
/* The closed connections, oldest first (references taken). */
int mon_closed(struct monitor *m, struct mon_snap *out);
void mon_snap_fini(struct mon_snap *s);

/* Query arguments, parsed as nats-server does. On a bad value they set a
 * 400 answer with nats-server's text and return NATSD_EINVAL. */
const char *mon_arg(struct mon_req *r, const char *name);
int mon_arg_int(struct mon_req *r, const char *name, int64_t *v);
int mon_arg_u64(struct mon_req *r, const char *name, uint64_t *v);
int mon_arg_bool(struct mon_req *r, const char *name, bool *v);
/* Answers with status and a plain text body. */
void mon_text(struct mon_req *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Answers with j (pretty JSON, or JSONP with callback=); steals j. */
void mon_json(struct mon_req *r, json_t *j);
/* The same on one line (as nats-server writes /healthz). */
void mon_json_compact(struct mon_req *r, json_t *j);

/* Adds v to o under k, dropping v when o is NULL; so a builder can chain
 * additions and check for out of memory once at the end. */
void mon_set(json_t *o, const char *k, json_t *v);
/* A number as Go's encoder writes it: whole values without ".0". */
json_t *mon_num(double v);
json_t *mon_time(int64_t wall_ns); /* RFC 3339, ns, UTC */
json_t *mon_uptime(int64_t ns);    /* "1d2h3m4s" */
json_t *mon_gotime(int64_t ns);    /* Go time.Duration.String() */
int64_t mon_now_ns(void);

/* $SYS.REQ.SERVER requests: start (after the workers) and stop (before
 * they stop). */
int mon_sys_start(struct monitor *m);
void mon_sys_stop(struct monitor *m);

/* Endpoints. */
void mon_varz(struct mon_req *r);
void mon_connz(struct mon_req *r);
void mon_routez(struct mon_req *r);
void mon_gatewayz(struct mon_req *r);
void mon_leafz(struct mon_req *r);
void mon_subsz(struct mon_req *r);
void mon_accountz(struct mon_req *r);
void mon_accstatz(struct mon_req *r);
void mon_healthz(struct mon_req *r);
void mon_metrics(struct mon_req *r);

/* The varz data the metrics endpoint shares. */
struct mon_varz {
	struct mon_totals t;
	uint64_t total_conns, slow_consumers;
	int64_t mem;
	double cpu;
	int64_t start_ns, now_ns;
};
int mon_varz_collect(struct monitor *m, struct mon_varz *v);
/* The account_statz array (accstatz, metrics); NULL on failure. */
json_t *mon_accstatz_list(struct monitor *m, bool unused);
/* The requests counted per path, for varz. */
json_t *mon_http_req_stats(void);

#endif
