/* Connections: one struct for every kind (client, route, gateway, leaf).
 *
 * A connection belongs to one worker (I/O thread) for its whole life: only
 * that thread reads it, parses, changes its subscriptions and closes it.
 * Other threads only append to its outbound queue, under out_lock, and ask
 * the owner to flush. Its memory is retired (loop_retire), never freed
 * directly, so a publisher on another thread that still holds a pointer
 * from a match result may keep using it until the end of its turn. */
#ifndef NATSD_CONN_H
#define NATSD_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <natsd/plugin.h>

#include "log.h"
#include "loop.h"
#include "outq.h"

struct server;
struct worker;
struct account;
struct perms;
struct sub;
struct link;
struct natsd_auth_req;
struct transport;

/* A layer of the byte stream (the SDK's opaque natsd_stream). */
struct natsd_stream {
	const struct natsd_transport_ops *ops;
	void *sctx;
	struct natsd_stream *below;
};

enum conn_flag {
	CONN_F_CONNECTED = 1u << 0, /* CONNECT accepted */
	CONN_F_VERBOSE = 1u << 1,
	CONN_F_PEDANTIC = 1u << 2,
	CONN_F_NO_ECHO = 1u << 3,
	CONN_F_HEADERS = 1u << 4,
	CONN_F_NO_RESPONDERS = 1u << 5,
	CONN_F_AUTH_PENDING = 1u << 6, /* authenticator answers later */
	CONN_F_CLOSING = 1u << 7,      /* conn_close() is running */
	CONN_F_CLOSED = 1u << 8,
	CONN_F_WANT_WRITE = 1u << 9, /* socket full: EPOLLOUT armed */
	CONN_F_LINK_UP = 1u << 10,   /* link handshake done */
	CONN_F_DIALING = 1u << 11,   /* outbound connect in progress */
	CONN_F_AUTH_REQUIRED = 1u << 13,
	CONN_F_HANDSHAKE = 1u << 14, /* a layer's handshake runs */
	CONN_F_WEBSOCKET = 1u << 15, /* a websocket client */
	CONN_F_LAYER_HS = 1u << 16,  /* a layer handshakes: not started */
};

/* Closing reasons, as nats-server names them (monitoring, events). */
#define CONN_CLOSE_REASONS(X)                                                  \
	X(CLIENT_CLOSED, "Client Closed")                                      \
	X(AUTH_TIMEOUT, "Authentication Timeout")                              \
	X(AUTH_FAILURE, "Authentication Failure")                              \
	X(SLOW_PENDING, "Slow Consumer (Pending Bytes)")                       \
	X(SLOW_DEADLINE, "Slow Consumer (Write Deadline)")                     \
	X(WRITE_ERROR, "Write Error")                                          \
	X(READ_ERROR, "Read Error")                                            \
	X(PARSE_ERROR, "Parse Error")                                          \
	X(STALE, "Stale Connection")                                           \
	X(PROTOCOL_VIOLATION, "Protocol Violation")                            \
	X(BAD_PROTOCOL, "Bad Client Protocol Version")                         \
	X(MAX_CONNECTIONS, "Maximum Connections Exceeded")                     \
	X(MAX_PAYLOAD, "Maximum Message Payload Exceeded")                     \
	X(MAX_CONTROL_LINE, "Maximum Control Line Exceeded")                   \
	X(SERVER_SHUTDOWN, "Server Shutdown")                                  \
	X(AUTH_EXPIRED, "Authentication Expired")                              \
	X(NO_RESPONDERS_HEADERS, "No Responders Requires Headers")             \
	X(LINK_CLOSED, "Link Closed")                                          \
	X(MAX_ACCOUNT_CONNECTIONS, "Maximum Account Connections Exceeded")     \
	X(TLS_HANDSHAKE, "TLS Handshake Failure")                              \
	X(REVOKED, "Credentials Revoked")

enum conn_close_reason {
#define CONN_CLOSE_ENUM(id, text) CONN_CLOSE_##id,
	CONN_CLOSE_REASONS(CONN_CLOSE_ENUM)
#undef CONN_CLOSE_ENUM
	CONN_CLOSE_COUNT
};

const char *conn_close_text(enum conn_close_reason r);

/* Adds v to a counter that only one thread (or one lock holder) writes:
 * no locked instruction needed, readers still see whole values. */
#define CONN_STAT_ADD(field, v)                                                \
	atomic_store_explicit(                                                 \
		&(field),                                                      \
		atomic_load_explicit(&(field), memory_order_relaxed) + (v),    \
		memory_order_relaxed)

/* Subscriptions by sid: a small open-addressing table per connection. */
struct sidmap {
	struct sub **slots;
	uint32_t cap; /* power of two, or 0 */
	uint32_t n;
	uint32_t tombs;
};

/* Marks a deleted slot so that probing goes on past it. */
#define SIDMAP_TOMB ((struct sub *)(uintptr_t)1)

struct conn {
	uint64_t cid;
	int kind; /* enum natsd_conn_kind */
	uint32_t flags;
	struct server *srv;
	struct worker *w;
	uint32_t widx; /* position in the worker's list */
	struct loop_io io;
	struct natsd_stream *top; /* stream stack, top layer */

	/* Bytes of an unfinished operation, kept between reads. */
	char *rbuf;
	size_t rlen, rcap;

	pthread_mutex_t out_lock;
	struct outq out;	/* under out_lock */
	bool flush_queued;	/* under out_lock: on the owner's list */
	bool slow;		/* under out_lock: hit max_pending, or closed */
	bool blocked;		/* under out_lock: socket full, owner waits */
	/* Other threads may write to the socket directly (under out_lock):
	 * true while the stream is a bare socket, whose writev is
	 * thread-safe (a TLS layer is not). */
	bool direct_ok;
	struct conn *flush_next;
	/* Reply subjects this connection may publish to (allow_responses),
	 * recorded as requests are delivered to it; under out_lock. */
	struct resp_map *resp;

	struct account *acc;
	struct perms *perms; /* NULL: everything allowed */
	struct sidmap subs;
	uint32_t nsubs;
	int64_t max_subs;    /* 0 = unlimited */
	int64_t max_payload;
	int protocol;

	struct loop_timer ping_timer;
	struct loop_timer auth_timer;
	struct loop_timer write_timer;
	struct loop_timer expiry_timer;
	/* Layered streams: a layer's handshake deadline, and reading on
	 * when a layer still holds decoded bytes after a full turn (see
	 * conn_reread_later()). */
	struct loop_timer hs_timer;
	struct loop_timer read_timer;
	int pings_out;
	/* Round trip: when the outstanding PING went (monotonic ns, 0 when
	 * none), and the last PING to PONG time measured. */
	int64_t ping_sent_ns;
	int64_t rtt_ns;
	int64_t last_in_ms;
	int64_t start_ns; /* wall clock, for monitoring */

	/* in_*: written by the owner only; out_*: under out_lock. Atomic
	 * so that monitoring may read them from any thread. */
	_Atomic uint64_t in_msgs, in_bytes, out_msgs, out_bytes;

	char *name, *lang, *version, *user;
	char nonce[16];
	char ip[46];
	int port;
	enum conn_close_reason reason;

	struct natsd_auth_req *auth;
	bool pending_connect; /* CONNECT waits for an authenticator */

	/* Layers to push once INFO is written (NATSD_TF_AFTER_INFO). */
	struct transport *late[2];
	uint8_t nlate;

	/* Links only. */
	const struct link *link;
	void *link_ctx;
	void *dial_arg;
};

/* Creates a connection on worker w over the stack whose top is top (the
 * connection owns it). Runs on w's thread. */
struct conn *conn_new(struct worker *w, int kind, int fd,
		      struct natsd_stream *top);

/* Starts the protocol: a client gets INFO and its timers, a link gets
 * on_open. */
void conn_start(struct conn *c);

/* Appends bytes for the peer; any thread. Returns 0, or NATSD_EPIPE when
 * the connection is closing (the bytes are dropped). A connection whose
 * queue would pass max_pending is cut off as a slow consumer. */
int conn_sendv(struct conn *c, const struct iovec *iov, int iovcnt);
/* The same for one message of `bytes` payload bytes (need: all the
 * iovecs' bytes) for subscription sub: counted in out_msgs, out_bytes and sub's
 * nmsgs under the lock it already takes, so no counter needs a locked
 * instruction of its own. Returns sub's count with this message, or 0 when sub
 * had reached its max already (nothing queued). With share, the last two iovecs
 * are the payload and CRLF of a message that several connections get: when they
 * cannot be written at once, they are queued by reference to *share, a
 * blob made from them by the first connection that needs it (the caller
 * drops its reference). */
uint64_t conn_sendmsg(struct conn *c, struct sub *sub, const struct iovec *iov,
		      int iovcnt, size_t need, size_t bytes,
		      struct outq_blob **share);
int conn_send(struct conn *c, const void *buf, size_t len);

/* Logs a protocol trace line, as nats-server's -V does: dir is "<<-"
 * (received) or "->>" (sent); text is the operation without its CRLF. */
void conn_trace(const struct conn *c, const char *dir, const char *text,
		size_t len);
#define conn_tracing() log_enabled(LOG_LEVEL_TRACE)

/* Owner thread: -ERR '<text>' and, with close_after, close. */
void conn_send_err(struct conn *c, const char *text);

/* Owner thread: logs text, sends it as -ERR and closes with reason r:
 * how every error that ends a connection is answered. */
void conn_fail(struct conn *c, const char *text, enum conn_close_reason r);

/* Owner thread: close now (flushes what it can first, without waiting). */
void conn_close(struct conn *c, enum conn_close_reason r);
/* Any thread: ask the owner to close after flushing. */
void conn_close_async(struct conn *c, enum conn_close_reason r);

/* Owner thread: flush queued bytes (one writev). */
void conn_flush(struct conn *c);

/* Worker turn end: flush every connection that got bytes, its own and
 * those of other workers it queued bytes for. */
void conn_flush_pending(struct worker *w);

/* Owner thread, after INFO was queued: writes it, then pushes the layers
 * that come after INFO (a TLS upgrade). 0, or a negative code after
 * which c is closed. */
int conn_push_late(struct conn *c);

/* Owner thread: starts the handshake time limit of the stack's layers,
 * if one has a handshake running. Returns the limit in ms (0: none; a
 * layer's handshake_ms() of CONN_HS_NO_LIMIT_MS or more means none). */
#define CONN_HS_NO_LIMIT_MS ((int64_t)1 << 30) /* about 12 days */
int64_t conn_handshake_start(struct conn *c);

/* Re-offers bytes kept while reading was paused (answer-later auth). */
void conn_refeed(struct conn *c);

/* The sid table. */
struct sub *sidmap_get(const struct sidmap *m, const char *sid, size_t len);
int sidmap_put(struct sidmap *m, struct sub *s);
void sidmap_del(struct sidmap *m, struct sub *s);
void sidmap_fini(struct sidmap *m);

#endif
