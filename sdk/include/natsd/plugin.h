/* natsd plugin ABI, version 1.
 *
 * This header set is the whole contract between the natsd server (the
 * host) and its plugins: a plugin includes nothing else of natsd, and the
 * host reaches plugin code only through what is declared here.
 *
 * A plugin is a shared object that exports one symbol, natsd_plugin_entry().
 * It only returns the plugin's descriptor; the host checks the magic and the
 * ABI numbers before it runs any other plugin code, then calls init() with
 * the host function table. init() registers what the plugin provides: a
 * transport, an authenticator or a link kind (or several).
 *
 * Rules that keep the ABI stable across minor versions:
 * - every struct that crosses the boundary starts with struct_size, or is
 *   opaque and reached through host functions;
 * - fields and host functions are only appended, never reordered or
 *   removed; a retired host function stays in the table as NULL;
 * - the host copies a plugin's ops table into a zeroed one of its own size,
 *   so ops an older plugin does not know are NULL ("use the default");
 * - a plugin tests NATSD_HAS(api, fn) before it calls a host function added
 *   after the minor it was built for.
 *
 * History:
 *   1.0  transports (stackable streams), authenticators, links.
 *   1.1  cfg_sections_len, cfg_sections_at: lists of groups in settings;
 *        natsd_auth_ops.reload_settings: the re-read settings on SIGHUP.
 *        metrics: metric_register, metric_add, metric_set (counters and
 *        gauges shown in /varz "plugins" and /metrics).
 *        transports: flags() (TLS facts for INFO, layers pushed after
 *        INFO) and reload() (SIGHUP); stream queries NATSD_Q_HANDSHAKE and
 *        NATSD_Q_HANDSHAKE_TIMEOUT; host: auth_peer_cert(), conn_push().
 *        transports: shutdown() and handshake_ms() ops, query keys
 *        NATSD_Q_JWT_COOKIE and NATSD_Q_PEER_ADDR; listeners pass a
 *        layer its section to push().
 *   1.2  cfg_key_at: the key names of a group; account_limit and
 *        NATSD_LIMIT_CONN: an account's limits; account_imports and
 *        struct natsd_import: an account's imports (JWT accounts);
 *        account_subscribe, account_unsubscribe: messages of an account
 *        to a plugin (claim updates on $SYS.ACCOUNT.<id>.CLAIMS.UPDATE);
 *        clients_close: closes an account's (or a user's) clients.
 *   1.3  transports: reconfigure(): new settings on SIGHUP (the tls
 *        block as the re-read config file has it).
 */
#ifndef NATSD_PLUGIN_H
#define NATSD_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <natsd/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NATSD_ABI_MAJOR	   1 /* changed: older plugins are refused */
#define NATSD_ABI_MINOR     3 /* changed: something was appended */
#define NATSD_PLUGIN_MAGIC 0x4e415453u /* "NATS" */
#define NATSD_PLUGIN_EXPORT __attribute__((visibility("default")))

/* Does the peer's copy of *s, which says how big it is, contain member m? */
#define NATSD_HAS(s, m) \
	((s)->struct_size >= offsetof(__typeof__(*(s)), m) + sizeof((s)->m))

struct natsd_host;	/* one per server */
struct natsd_cfg;	/* a config section: read with the cfg_* functions */
struct natsd_stream;	/* one layer of a connection's byte stream */
struct natsd_conn;	/* a connection, of any kind */
struct natsd_auth_req;	/* one authentication attempt */
struct natsd_metric;	/* a counter or gauge a plugin publishes (1.1) */

/* Metric types (ABI 1.1). */
enum natsd_metric_type {
	NATSD_METRIC_COUNTER = 0, /* only grows */
	NATSD_METRIC_GAUGE = 1,	  /* goes up and down */
};

enum natsd_log_level {
	NATSD_LOG_FATAL = 0,
	NATSD_LOG_ERROR = 1,
	NATSD_LOG_WARN = 2,
	NATSD_LOG_INFO = 3,
	NATSD_LOG_DEBUG = 4,
	NATSD_LOG_TRACE = 5,
};

/* Connection kinds. The core's forwarding rules (what may be sent where,
 * so that messages never loop) are keyed by these, as in nats-server. */
enum natsd_conn_kind {
	NATSD_KIND_CLIENT = 0,
	NATSD_KIND_ROUTE = 1,
	NATSD_KIND_GATEWAY = 2,
	NATSD_KIND_LEAF = 3,
	NATSD_KIND_SYSTEM = 4,
};

/* ------------------------------------------------------------------ */
/* Transports                                                          */

/* Readiness a stream layer needs from the socket to make progress. */
#define NATSD_WANT_READ	 0x1
#define NATSD_WANT_WRITE 0x2

/* What the host asks a bottom transport to listen on. */
struct natsd_listen_spec {
	uint32_t struct_size;
	const char *host;	/* "0.0.0.0", "::", a name; never NULL */
	int port;		/* 0 = any free port */
	int backlog;
	const struct natsd_cfg *cfg; /* the transport's settings, may be NULL */
};

/* Keys for natsd_transport_ops.query(). */
enum natsd_stream_query {
	NATSD_Q_TLS_VERSION = 1,   /* out: const char * ("1.3") */
	NATSD_Q_TLS_CIPHER = 2,    /* out: const char * */
	NATSD_Q_PEER_CERT_DER = 3, /* out: const unsigned char *, *len */
	NATSD_Q_CONN_TYPE = 4,     /* out: const char * ("websocket") */
	NATSD_Q_REMOTE_IP = 5, /* out: const char * (e.g. X-Forwarded-For) */
	/* 1.1: a layer with a handshake: *len = 1 while it runs, 0 once it
	 * is done; out: the reason a failed one failed (const char *), else
	 * NULL. */
	NATSD_Q_HANDSHAKE = 6,
	/* 1.1: *len = the milliseconds the handshake may take (0: no
	 * limit). The host now takes the deadline from handshake_ms()
	 * only; a layer may still answer this for older hosts. */
	NATSD_Q_HANDSHAKE_TIMEOUT = 7,
	NATSD_Q_JWT_COOKIE = 8, /* out: const char * (websocket jwt_cookie) */
	NATSD_Q_PEER_ADDR = 9,  /* out: const char * "ip:port" of the socket */
};

/* 1.1: what natsd_transport_ops.flags() says about a layer. */
#define NATSD_TF_AFTER_INFO                                                    \
	0x1                        /* on a client listener, push this          \
				      layer on the live connection once        \
				      INFO is written (NATS's TLS upgrade) */
#define NATSD_TF_TLS_REQUIRED  0x2 /* INFO: "tls_required":true */
#define NATSD_TF_TLS_VERIFY    0x4 /* INFO: "tls_verify":true */
#define NATSD_TF_TLS_AVAILABLE 0x8 /* INFO: "tls_available":true */
#define NATSD_TF_TLS_MAP                                                       \
	0x10 /* verify_and_map: the client                                     \
	       certificate names the user */

/* A transport: a byte stream under a connection. A bottom transport (tcp)
 * owns a socket: it implements listen/accept/dial and the stream ops with
 * below == NULL. A layer (tls, websocket) implements push and the stream
 * ops, and reaches the stream under it with the host's stream_* functions.
 * Stream ops run on the connection's I/O thread and never block: they
 * return NATSD_EAGAIN and say through want() what they wait for. */
struct natsd_transport_ops {
	uint32_t struct_size;
	const char *name; /* "tcp", "tls", "websocket": unique */

	/* Bottom transports. listen() opens a non-blocking listening socket
	 * and returns its fd (the host polls it) and a context. */
	int (*listen)(void *pctx, const struct natsd_listen_spec *spec,
		      void **lctx, int *fd, char *err, size_t errlen);
	/* Accepts one connection: 0 and *sctx, *fd (non-blocking), or
	 * NATSD_EAGAIN when none is waiting, or another negative code. */
	int (*accept)(void *lctx, void **sctx, int *fd);
	/* Port the listener is bound to (for port 0). */
	int (*listen_port)(void *lctx);
	void (*unlisten)(void *lctx);
	/* Starts a non-blocking connect; the stream is usable once the fd
	 * turns writable (the host then calls want()/writev as usual). */
	int (*dial)(void *pctx, const char *host, int port,
		    const struct natsd_cfg *cfg, void **sctx, int *fd,
		    char *err, size_t errlen);

	/* Layers: wrap the live stream below (which stays owned by the
	 * host); on success the new layer is on top of the connection. cfg
	 * is the section the listener gives this layer (since 1.1: the
	 * websocket block for "websocket"), or NULL. Runs on the thread
	 * that accepts, not the connection's I/O thread. */
	int (*push)(void *pctx, struct natsd_stream *below,
		    const struct natsd_cfg *cfg, void **sctx);

	/* Stream ops. read: > 0 bytes, 0 at end of stream, NATSD_EAGAIN, or
	 * another negative code. writev: bytes taken (>= 0, may be short),
	 * NATSD_EAGAIN or a negative code. */
	ssize_t (*read)(void *sctx, struct natsd_stream *below, void *buf,
			size_t len);
	ssize_t (*writev)(void *sctx, struct natsd_stream *below,
			  const struct iovec *iov, int iovcnt);
	/* Readiness needed to progress (NATSD_WANT_*), 0 for "whatever the
	 * host wants". TLS may need to read in order to write. */
	int (*want)(void *sctx);
	/* Bytes this layer holds decoded and ready to read, which the
	 * socket's readiness will not announce. */
	size_t (*pending)(void *sctx);
	/* Answers a natsd_stream_query; NATSD_ENOTSUP passes the question
	 * down the stack. */
	int (*query)(void *sctx, int key, const void **out, size_t *len);
	/* Releases the layer; the host closes the layers below after it. */
	void (*close)(void *sctx, struct natsd_stream *below);

	/* ABI 1.1. What the layer, with the settings cfg (NULL: the
	 * plugin's own), means for a listener: NATSD_TF_* flags. */
	uint32_t (*flags)(void *pctx, const struct natsd_cfg *cfg);
	/* SIGHUP: re-read what the plugin keeps (certificates). Streams
	 * already up keep what they have; new ones get the new state. 0,
	 * or a negative code with a line in err, the old state staying in
	 * force. */
	int (*reload)(void *pctx, char *err, size_t errlen);
	/* ABI 1.1. The host is about to close the connection for reason
	 * (nats-server's closed-state text: "Client Closed", "Stale
	 * Connection", ...), after flushing what was queued: a layer may
	 * say goodbye on the stream below (a WebSocket close frame). May be
	 * NULL. */
	void (*shutdown)(void *sctx, struct natsd_stream *below,
			 const char *reason);
	/* ABI 1.1. Milliseconds the layer's handshake may still take, 0
	 * when its time is up, or -1 once it is done (or it has none). The
	 * host asks when the connection starts and again when that time
	 * has passed, on the I/O thread, and closes a connection whose
	 * layer is still handshaking then (a layer without a time limit
	 * returns INT32_MAX while it runs). May be NULL. A client starts
	 * (INFO, auth timer) once every layer's handshake is done, unless
	 * the only one still running is the top layer and it answers
	 * NATSD_Q_HANDSHAKE itself: that is a TLS layer, which keeps INFO
	 * until it is up, and whose failures and timeouts the host logs
	 * as TLS handshake errors. */
	int64_t (*handshake_ms)(void *sctx);
	/* ABI 1.3. SIGHUP with new settings: those the plugin got at init
	 * (key NULL), or those of the section key that push() is given,
	 * are replaced by cfg, which is valid only during the call (the
	 * plugin copies what it keeps; push() goes on getting key). cfg
	 * NULL drops them (key's tree is about to be freed, or TLS is off).
	 * Streams already up keep their settings; new ones get the new.
	 * 0, or a negative code with a line in err, the old settings
	 * staying in force. May be NULL. */
	int (*reconfigure)(void *pctx, const struct natsd_cfg *key,
			   const struct natsd_cfg *cfg, char *err,
			   size_t errlen);
};

/* ------------------------------------------------------------------ */
/* Authentication                                                      */

/* What authenticate() returns (and auth_done() takes). */
enum natsd_auth_verdict {
	NATSD_AUTH_ACCEPT = 0,	/* accepted: identity set on the request */
	NATSD_AUTH_PENDING = 1, /* answer later through auth_done() */
	NATSD_AUTH_REJECT = 2,	/* "Authorization Violation", closed */
	NATSD_AUTH_NEXT = 3,	/* not mine: the next authenticator decides */
};

/* Request fields, read with auth_field(). NULL when absent. */
enum natsd_auth_field {
	NATSD_AF_USER = 1,
	NATSD_AF_PASS = 2,
	NATSD_AF_TOKEN = 3,
	NATSD_AF_NKEY = 4,
	NATSD_AF_SIG = 5,
	NATSD_AF_JWT = 6,
	NATSD_AF_NONCE = 7,	  /* the nonce sent in INFO */
	NATSD_AF_NAME = 8,	  /* client's connection name */
	NATSD_AF_LANG = 9,
	NATSD_AF_VERSION = 10,
	NATSD_AF_REMOTE_IP = 11,
	NATSD_AF_CONN_TYPE = 12,  /* "STANDARD", "WEBSOCKET", "LEAFNODE" */
	NATSD_AF_TRANSPORT = 13,  /* top transport name: "tcp", "tls" */
};

/* Permission lists set with auth_permit(). Deny wins over allow; without
 * any allow entry everything is allowed, unless auth_permit() was called
 * with a NULL subject for that list, which makes an empty list deny all.
 * Subscribe entries may be "subject queue". */
enum natsd_perm_list {
	NATSD_PERM_PUB_ALLOW = 1,
	NATSD_PERM_PUB_DENY = 2,
	NATSD_PERM_SUB_ALLOW = 3,
	NATSD_PERM_SUB_DENY = 4,
};

/* Per-user limits set with auth_limit(); -1 = unlimited. */
enum natsd_limit {
	NATSD_LIMIT_SUBS = 1,
	NATSD_LIMIT_PAYLOAD = 2,
	NATSD_LIMIT_DATA = 3,
	NATSD_LIMIT_CONN = 4, /* 1.2: account_limit() only */
};

#define NATSD_AUTH_F_NONCE    0x1 /* INFO must carry a nonce */
#define NATSD_AUTH_F_REQUIRED 0x2 /* clients must authenticate */

/* An authenticator in the chain. authenticate() runs on the client's I/O
 * thread and must not block: to answer later (a resolver fetching a JWT)
 * it returns NATSD_AUTH_PENDING and calls auth_done() once, from any
 * thread, unless cancel() came first (the client went away). */
struct natsd_auth_ops {
	uint32_t struct_size;
	const char *name; /* the name auth_chain refers to */
	uint32_t flags;	  /* NATSD_AUTH_F_* */
	int (*authenticate)(void *pctx, struct natsd_auth_req *req);
	void (*cancel)(void *pctx, struct natsd_auth_req *req);
	/* SIGHUP: re-read what the plugin keeps (files, keys). 0 or a
	 * negative code; on failure the old state stays in force. */
	int (*reload)(void *pctx);
	/* 1.1: SIGHUP, with the plugin's settings section as the re-read
	 * config file has it (NULL when it has none). cfg is valid only
	 * during the call: copy what you keep. Called before reload(). 0 or
	 * a negative code; on failure the old state stays in force. */
	int (*reload_settings)(void *pctx, const struct natsd_cfg *cfg);
};

/* 1.2: an import an account declares (JWT accounts), for
 * account_imports(). Pointers live for the call. */
enum natsd_resp_type {
	NATSD_RESP_SINGLETON = 0,
	NATSD_RESP_STREAM = 1,
	NATSD_RESP_CHUNKED = 2,
};

struct natsd_import {
	uint32_t struct_size;
	const char *account; /* the exporting account */
	const char *subject; /* as the exporter publishes or serves it */
	bool service;
	/* Streams: delivered under prefix + "." + subject, or under local
	 * (its wildcards taking the subject's), or as subject. Services:
	 * requests published on local (NULL: subject) go to the exporter as
	 * subject, and its responses come back. */
	const char *prefix;
	const char *local;
	int resp_type;       /* services: enum natsd_resp_type */
	int64_t resp_ttl_ns; /* services: 0 takes the default (2 min) */
};

/* ------------------------------------------------------------------ */
/* Links                                                               */

/* An interest change in an account. Fired when the first subscription
 * on a subject (or a queue group on it) appears, when the last one goes,
 * and for queue groups whenever the member count (weight) changes. */
struct natsd_interest {
	uint32_t struct_size;
	const char *account;
	const char *subject;
	const char *queue;	/* NULL for plain interest */
	int32_t weight;		/* queue members; 0 with add == false */
	bool add;
};

/* A message as it crosses the link boundary. Pointers live for the call. */
struct natsd_msg {
	uint32_t struct_size;
	const char *account;
	const char *subject;
	uint32_t subject_len;
	uint32_t reply_len;
	const char *reply;	/* NULL when none */
	const char *hdr;	/* header block "NATS/1.0\r\n...\r\n\r\n" or NULL */
	uint32_t hdr_len;
	uint32_t data_len;
	const char *data;
	/* Queue groups picked for the receiving side: deliver to one member
	 * of each, plus to every plain subscriber. */
	const char *const *queues;
	uint32_t nqueues;
	const char *origin;	/* leaf origin cluster, or NULL */
};

/* A link kind: route, gateway, leafnode. The plugin owns its handshake,
 * parser and frame encoder; the host owns sockets, buffers and routing.
 * on_open/on_data/on_close run on the connection's I/O thread. interest()
 * and forward() run on whatever thread changed interest or published,
 * possibly concurrently for different connections: write with conn_send(),
 * which is thread-safe. interest() calls for one account are serialized. */
struct natsd_link_ops {
	uint32_t struct_size;
	const char *name;	/* "route", "gateway", "leafnode" */
	int kind;		/* enum natsd_conn_kind */
	/* The server is up: open listeners, dial peers. */
	int (*start)(void *pctx);
	/* A connection of this kind exists (accepted: dialed == false). Set
	 * *cctx to per-connection state. Non-zero closes it. */
	int (*on_open)(void *pctx, struct natsd_conn *c, bool dialed,
		       void **cctx);
	/* Bytes arrived: return how many were consumed (the rest is kept and
	 * offered again with more), or a negative code to close. */
	ssize_t (*on_data)(void *pctx, struct natsd_conn *c, void *cctx,
			   const char *buf, size_t len);
	void (*on_close)(void *pctx, struct natsd_conn *c, void *cctx,
			 const char *reason);
	/* Local interest changed (only for connections marked up). */
	void (*interest)(void *pctx, struct natsd_conn *c, void *cctx,
			 const struct natsd_interest *ev);
	/* A message is to be sent on this connection. */
	void (*forward)(void *pctx, struct natsd_conn *c, void *cctx,
			const struct natsd_msg *m);
	/* Periodic tick, about once a second, on the I/O thread. */
	void (*tick)(void *pctx, struct natsd_conn *c, void *cctx);
};

/* ------------------------------------------------------------------ */
/* The host function table                                             */

typedef void (*natsd_timer_fn)(void *arg);
/* 1.2: a message for account_subscribe(); m lives for the call. */
typedef void (*natsd_msg_fn)(void *arg, const struct natsd_msg *m);

struct natsd_host_api {
	uint32_t struct_size; /* as the host was built */
	uint16_t abi_major;
	uint16_t abi_minor;

	/* Logging, with nats-server's line format. */
	void (*log)(struct natsd_host *h, int level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	bool (*log_enabled)(struct natsd_host *h, int level);

	/* Config: this plugin's section. 0, NATSD_ENOENT when the key is
	 * absent, NATSD_EINVAL when it has another type. Strings live as
	 * long as the section. Durations in ns, sizes in bytes. */
	int (*cfg_string)(const struct natsd_cfg *c, const char *key,
			  const char **out);
	int (*cfg_int)(const struct natsd_cfg *c, const char *key,
		       int64_t *out);
	int (*cfg_bool)(const struct natsd_cfg *c, const char *key,
			bool *out);
	int (*cfg_duration)(const struct natsd_cfg *c, const char *key,
			    int64_t *ns);
	int (*cfg_size)(const struct natsd_cfg *c, const char *key,
			int64_t *bytes);
	int (*cfg_list_len)(const struct natsd_cfg *c, const char *key,
			    size_t *n);
	int (*cfg_list_string)(const struct natsd_cfg *c, const char *key,
			       size_t i, const char **out);
	int (*cfg_section)(const struct natsd_cfg *c, const char *key,
			   const struct natsd_cfg **out);
	/* Where a key is, for error messages: "file:line". */
	int (*cfg_where)(const struct natsd_cfg *c, const char *key,
			 const char **file, int *line);

	/* Registration, from init() only. ops is copied; ctx is passed back
	 * to every op. Names must be unique per kind (NATSD_EEXIST). */
	int (*register_transport)(struct natsd_host *h,
				  const struct natsd_transport_ops *ops,
				  void *ctx);
	int (*register_auth)(struct natsd_host *h,
			     const struct natsd_auth_ops *ops, void *ctx);
	int (*register_link)(struct natsd_host *h,
			     const struct natsd_link_ops *ops, void *ctx);

	/* Streams: for a layer to use the stream below it. */
	ssize_t (*stream_read)(struct natsd_stream *s, void *buf, size_t len);
	ssize_t (*stream_writev)(struct natsd_stream *s,
				 const struct iovec *iov, int iovcnt);
	int (*stream_want)(struct natsd_stream *s);
	size_t (*stream_pending)(struct natsd_stream *s);
	int (*stream_query)(struct natsd_stream *s, int key, const void **out,
			    size_t *len);

	/* Authentication requests (valid until auth_done() or cancel()). */
	const char *(*auth_field)(struct natsd_auth_req *r, int field);
	int (*auth_set_user)(struct natsd_auth_req *r, const char *name);
	int (*auth_set_account)(struct natsd_auth_req *r, const char *acc);
	int (*auth_permit)(struct natsd_auth_req *r, int list,
			   const char *subject);
	/* allow_responses: max replies per request within expires_ns; 0
	 * takes the defaults (1, 2 minutes), negative is unlimited. */
	int (*auth_set_responses)(struct natsd_auth_req *r, int64_t max,
				  int64_t expires_ns);
	int (*auth_limit)(struct natsd_auth_req *r, int limit, int64_t value);
	/* Disconnect at this time (unix ns) with "... Expired". */
	int (*auth_set_expiry)(struct natsd_auth_req *r, int64_t unix_ns);
	/* Completes a NATSD_AUTH_PENDING request, from any thread. */
	void (*auth_done)(struct natsd_auth_req *r, int verdict);

	/* Links: connections. listen() accepts connections of the link's
	 * kind through the named transport stack ("tcp", or "tcp,tls");
	 * each accepted one gets on_open(dialed = false). */
	int (*link_listen)(struct natsd_host *h, const char *link_name,
			   const char *transports,
			   const struct natsd_listen_spec *spec, int *port,
			   char *err, size_t errlen);
	/* Dials host:port; on_open(dialed = true) once connected, or
	 * on_close(reason) if it fails. */
	int (*link_dial)(struct natsd_host *h, const char *link_name,
			 const char *transports, const char *host, int port,
			 void *arg, char *err, size_t errlen);
	/* The argument given to link_dial, for on_open. */
	void *(*conn_dial_arg)(struct natsd_conn *c);
	/* Queues bytes on the connection; thread-safe. 0 or a negative code
	 * (the connection is closing). */
	int (*conn_send)(struct natsd_conn *c, const void *buf, size_t len);
	int (*conn_sendv)(struct natsd_conn *c, const struct iovec *iov,
			  int iovcnt);
	/* Closes the connection after what is queued is written. */
	void (*conn_close)(struct natsd_conn *c, const char *reason);
	uint64_t (*conn_id)(struct natsd_conn *c);
	/* "ip:port" of the peer. */
	const char *(*conn_peer)(struct natsd_conn *c);
	/* Handshake done: the host replays current interest to interest()
	 * and from now on forwards messages to this connection. */
	int (*link_up)(struct natsd_conn *c);
	/* Remote interest: registered for this connection, removed with it. */
	int (*interest_add)(struct natsd_conn *c, const char *account,
			    const char *subject, const char *queue,
			    int32_t weight);
	int (*interest_remove)(struct natsd_conn *c, const char *account,
			       const char *subject, const char *queue);
	/* A message arrived on the connection: route it by the core's rules
	 * for this connection's kind. Call on the connection's thread. */
	int (*inject)(struct natsd_conn *c, const struct natsd_msg *m);

	/* Server facts. */
	const char *(*server_id)(struct natsd_host *h);
	const char *(*server_name)(struct natsd_host *h);
	/* The client INFO fields the host would send, as a JSON object. */
	int (*server_info_json)(struct natsd_host *h, char *buf, size_t len);

	/* A one-shot timer on the host's main loop (not an I/O thread). */
	int (*timer_add)(struct natsd_host *h, int64_t delay_ms,
			 natsd_timer_fn fn, void *arg);

	/* ABI 1.1 and later: append here; never reorder or remove. */

	/* 1.1: a list of groups, ( { ... }, { ... } ): how many there are,
	 * and the i-th (NATSD_ENOENT past the end). NATSD_EINVAL when key
	 * holds something else. */
	int (*cfg_sections_len)(const struct natsd_cfg *c, const char *key,
				size_t *n);
	int (*cfg_sections_at)(const struct natsd_cfg *c, const char *key,
			       size_t i, const struct natsd_cfg **out);

	/* 1.1: metrics. name is a Prometheus metric name
	 * ([a-zA-Z_][a-zA-Z0-9_]*, under 64 bytes), shown in /varz under
	 * "plugins" and in /metrics as natsd_plugin_<name>; type is an enum
	 * natsd_metric_type. Registering a name again with the same type
	 * gives the same metric. 0 and *out, NATSD_EINVAL, NATSD_EEXIST
	 * (another type), NATSD_ENOSPC (the host's table is full). The
	 * metric lives as long as the process; add and set are lock-free
	 * and may be called from any thread. */
	int (*metric_register)(struct natsd_host *h, const char *name,
			       const char *help, int type,
			       struct natsd_metric **out);
	void (*metric_add)(struct natsd_metric *m, int64_t delta);
	void (*metric_set)(struct natsd_metric *m, int64_t value);

	/* 1.1: the client's TLS certificate (DER), for verify_and_map:
	 * 0 and *der, *len (valid while the request is), or NATSD_ENOENT
	 * when the client showed none. */
	int (*auth_peer_cert)(struct natsd_auth_req *r,
			      const unsigned char **der, size_t *len);
	/* 1.1: pushes the layer transport (a registered one that can
	 * be stacked, "tls") with the settings cfg (NULL: its plugin's own)
	 * on the live connection c, from c's I/O thread (on_open, on_data):
	 * a link that starts TLS after a clear-text exchange, or the dialing
	 * side (cfg with client = true). Bytes queued from then on go through
	 * the new layer. 0 or a negative code. */
	int (*conn_push)(struct natsd_conn *c, const char *transport,
			 const struct natsd_cfg *cfg);

	/* 1.2: the name of the i-th member of group c (NATSD_ENOENT past
	 * the end), to read maps such as resolver_preload. */
	int (*cfg_key_at)(const struct natsd_cfg *c, size_t i,
			  const char **name);
	/* 1.2: sets a limit of an account (created when new), for the
	 * connections that come after: NATSD_LIMIT_CONN, _SUBS or _PAYLOAD
	 * (NATSD_EINVAL for others); -1 is unlimited. */
	int (*account_limit)(struct natsd_host *h, const char *account,
			     int limit, int64_t value);
	/* 1.2: replaces the imports of account (created when new, as the
	 * exporters are) made by earlier calls for it with these n. The
	 * caller has checked the exports and activations. 0, NATSD_EINVAL
	 * (a bad subject), NATSD_ENOMEM. */
	int (*account_imports)(struct natsd_host *h, const char *account,
			       const struct natsd_import *imps, size_t n);
	/* 1.2: fn gets the messages published in account (created when
	 * new) on subject (wildcards allowed), on the publisher's thread:
	 * it must not block. *handle is for account_unsubscribe(), which
	 * the plugin calls before its fini() returns. 0, NATSD_EINVAL,
	 * NATSD_ENOMEM. */
	int (*account_subscribe)(struct natsd_host *h, const char *account,
				 const char *subject, natsd_msg_fn fn,
				 void *arg, void **handle);
	void (*account_unsubscribe)(struct natsd_host *h, void *handle);
	/* 1.2: closes the clients of account, only those authenticated as
	 * user when it is not NULL, with -ERR '<err>' (e.g. "User
	 * Authentication Revoked"); from any thread, done on the clients'
	 * threads soon after. 0 or NATSD_ENOMEM. */
	int (*clients_close)(struct natsd_host *h, const char *account,
			     const char *user, const char *err);
};

/* The plugin's descriptor. The first four fields never change. */
struct natsd_plugin {
	uint32_t magic;	     /* NATSD_PLUGIN_MAGIC */
	uint16_t abi_major;  /* NATSD_ABI_MAJOR the plugin was built with */
	uint16_t abi_minor;
	uint32_t struct_size;
	const char *name;    /* unique among loaded plugins */
	const char *version;
	/* Registers what the plugin provides. cfg is its settings section
	 * (may be NULL). 0, or a negative code with a line in err. */
	int (*init)(struct natsd_host *h, const struct natsd_host_api *api,
		    const struct natsd_cfg *cfg, void **ctx, char *err,
		    size_t errlen);
	/* Called once at shutdown, after every connection is closed. */
	void (*fini)(void *ctx);
};

/* The one exported symbol. It only returns the descriptor: the host checks
 * the ABI numbers before any other plugin code runs. */
typedef const struct natsd_plugin *(*natsd_plugin_entry_fn)(
	uint16_t host_major, uint16_t host_minor);
NATSD_PLUGIN_EXPORT const struct natsd_plugin *
natsd_plugin_entry(uint16_t host_major, uint16_t host_minor);

/* Fills a descriptor's fixed fields. */
#define NATSD_PLUGIN_INIT                                                  \
	.magic = NATSD_PLUGIN_MAGIC, .abi_major = NATSD_ABI_MAJOR,         \
	.abi_minor = NATSD_ABI_MINOR,                                      \
	.struct_size = sizeof(struct natsd_plugin)

#ifdef __cplusplus
}
#endif

#endif
