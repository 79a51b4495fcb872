/* Connection machinery shared by every kind: reading and buffering,
 * the outbound queue and its flushing, closing, and the sid table.
 *
 * Reads go into the worker's scratch buffer; only the bytes of an
 * unfinished operation are copied into a per-connection buffer, so an idle
 * connection holds no buffer at all. Outbound bytes are flushed by the
 * owner at the end of its loop turn with one writev, whichever thread
 * queued them. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "account.h"
#include "auth.h"
#include "client.h"
#include "conn.h"
#include "host.h"
#include "log.h"
#include "perms.h"
#include "server.h"
#include "sub.h"

#define CONN_READS_PER_WAKE 8
#define CONN_IOV_MAX	    64
/* Messages this large are written at once when nothing is queued: the
 * copy would cost more than the system call. */
#define CONN_WRITE_NOW     8192
#define CONN_LARGE_MSG     4096        /* an operation this big ...      */
#define CONN_LARGE_READ    (256 << 10) /* ... reads this much after it */
#define CONN_WRITE_NOW_IOV 8
/* The most a client may send of an operation whose size is not known yet
 * (a control line is limited by max_control_line, but not what nats-server
 * ignores on a PING or +OK line). */
#define CONN_UNFINISHED_MAX (1024 * 1024)

static const char *const close_texts[] = {
#define CONN_CLOSE_TEXT(id, text) [CONN_CLOSE_##id] = text,
	CONN_CLOSE_REASONS(CONN_CLOSE_TEXT)
#undef CONN_CLOSE_TEXT
};
_Static_assert(sizeof(close_texts) / sizeof(close_texts[0]) ==
		       CONN_CLOSE_COUNT,
	       "a close reason lacks its text");

const char *conn_close_text(enum conn_close_reason r)
{
	return r < CONN_CLOSE_COUNT ? close_texts[r] : "Unknown";
}

static void conn_io(struct loop *l, void *arg, uint32_t events);
static void conn_to_owner(struct conn *c);
static void conn_reread_later(struct conn *c);
static void conn_read(struct conn *c);
static int64_t conn_handshake_left(struct conn *c);

/* A layer (websocket, tls) holds bytes of its own to write: a pong, a
 * close frame, a handshake reply, or frames the socket did not take. */
/* Whether a layer holds bytes for the socket: the top one, or one under
 * it (TLS records under a websocket, whose layer has none of its own). */
static bool conn_layer_wants_write(const struct conn *c)
{
	const struct natsd_stream *s;

	for (s = c->top; s != NULL && s->below != NULL; s = s->below)
		if (s->ops->want != NULL &&
		    (s->ops->want(s->sctx) & NATSD_WANT_WRITE))
			return true;
	return false;
}

/* An address as text; an IPv4 one of a dual-stack socket as IPv4, as
 * nats-server shows it. */
static void conn_addr_text(const struct sockaddr_storage *ss, char *ip,
			   size_t len, int *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)len);
		*port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip,
				  (socklen_t)len);
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, ip,
				  (socklen_t)len);
		*port = ntohs(in6->sin6_port);
	}
}

static void conn_peer_addr(struct conn *c, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	conn_addr_text(&ss, c->ip, sizeof(c->ip), &c->port);
}

struct conn *conn_new(struct worker *w, int kind, int fd,
		      struct natsd_stream *top)
{
	struct conn *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->srv = w->srv;
	c->w = w;
	c->kind = kind;
	c->top = top;
	c->direct_ok = top->below == NULL;
	c->cid = atomic_fetch_add(&w->srv->next_cid, 1) + 1;
	c->io.fd = -1;
	pthread_mutex_init(&c->out_lock, NULL);
	outq_init(&c->out);
	c->start_ns = host_wall_ns();
	c->last_in_ms = loop_now_ms();
	conn_peer_addr(c, fd);
	if (loop_io_add(w->loop, &c->io, fd, EPOLLIN, conn_io, c) != 0)
		goto out_free;
	if (worker_add_conn(w, c) != 0)
		goto out_io;
	/* /varz total_connections: clients, as nats-server counts them. */
	if (kind == NATSD_KIND_CLIENT)
		atomic_fetch_add(&w->srv->total_conns, 1);
	return c;

out_io:
	loop_io_del(w->loop, &c->io);
out_free:
	pthread_mutex_destroy(&c->out_lock);
	free(c);
	return NULL;
}

static void conn_free(void *ptr)
{
	struct conn *c = ptr;

	outq_fini(&c->out);
	client_resp_free(c);
	pthread_mutex_destroy(&c->out_lock);
	sidmap_fini(&c->subs);
	free(c->rbuf);
	free(c->name);
	free(c->lang);
	free(c->version);
	free(c->user);
	perms_free(c->perms);
	free(c);
}

static void stream_close_all(struct natsd_stream *s)
{
	struct natsd_stream *below;

	while (s != NULL) {
		below = s->below;
		if (s->ops->close != NULL)
			s->ops->close(s->sctx, below);
		free(s);
		s = below;
	}
}

/* A large message for a connection with nothing queued goes straight to
 * the socket, from the calling thread, instead of being copied into the
 * outbound queue first. Called under out_lock. Returns true when all of
 * it was written; else *iov, *iovcnt and *need describe what is left. */
static bool conn_write_now(struct conn *c, const struct iovec **iov,
			   int *iovcnt, size_t *need)
{
	static __thread struct iovec rest[CONN_WRITE_NOW_IOV];
	struct natsd_stream *s = c->top;
	ssize_t n;
	int i, k;

	if (!c->direct_ok || c->slow || c->blocked || c->out.pending != 0 ||
	    *iovcnt > CONN_WRITE_NOW_IOV)
		return false;
	n = s->ops->writev(s->sctx, s->below, *iov, *iovcnt);
	if (n <= 0)
		return false; /* EAGAIN, or an error the owner will meet */
	if ((size_t)n == *need)
		return true;
	/* Keep the unwritten tail, from the iovec it starts in. */
	*need -= (size_t)n;
	for (i = 0, k = 0; i < *iovcnt; i++) {
		if ((size_t)n >= (*iov)[i].iov_len) {
			n -= (ssize_t)(*iov)[i].iov_len;
			continue;
		}
		rest[k].iov_base = (char *)(*iov)[i].iov_base + n;
		rest[k++].iov_len = (*iov)[i].iov_len - (size_t)n;
		n = 0;
	}
	*iov = rest;
	*iovcnt = k;
	return false;
}

/* Queues bytes; tells the owner (now or at the end of this turn). With
 * msg, they are one message of `bytes` payload bytes, counted. */
static inline int conn_queue(struct conn *c, const struct iovec *iov,
			     int iovcnt, size_t need, bool msg, size_t bytes,
			     struct outq_blob **share, struct sub *sub,
			     uint64_t *count)
{
	const struct iovec *whole = iov;
	struct worker *cur;
	bool notify = false, slow = false;
	int rc = 0;

	pthread_mutex_lock(&c->out_lock);
	if (sub != NULL) {
		uint64_t max =
			atomic_load_explicit(&sub->max, memory_order_relaxed);

		*count = atomic_load_explicit(&sub->nmsgs,
					      memory_order_relaxed) +
			 1;
		atomic_store_explicit(&sub->nmsgs, *count,
				      memory_order_relaxed);
		if (max != 0 && *count > max) {
			pthread_mutex_unlock(&c->out_lock);
			return 0;
		}
	}
	if (msg) {
		CONN_STAT_ADD(c->out_msgs, 1);
		CONN_STAT_ADD(c->out_bytes, bytes);
	}
	if (need >= CONN_WRITE_NOW && conn_write_now(c, &iov, &iovcnt, &need)) {
		pthread_mutex_unlock(&c->out_lock);
		return 0;
	}
	if (c->slow) {
		rc = NATSD_EPIPE;
	} else if (c->kind == NATSD_KIND_CLIENT &&
		   c->out.pending + need >
			   (size_t)server_opts(c->srv)->max_pending) {
		c->slow = slow = true;
		rc = NATSD_EPIPE;
	} else if (share != NULL && iov == whole && iovcnt > 2 &&
		   (*share != NULL ||
		    (*share = outq_blob_new(iov[iovcnt - 2].iov_base,
					    iov[iovcnt - 2].iov_len)) !=
			    NULL)) {
		/* (After a partial write the rest is copied: rare.) */
		rc = outq_appendv_blob(&c->out, iov, iovcnt - 2, *share);
	} else {
		rc = outq_appendv_len(&c->out, iov, iovcnt, need);
	}
	if (!c->flush_queued && (rc == 0 || slow)) {
		c->flush_queued = true;
		notify = true;
	}
	pthread_mutex_unlock(&c->out_lock);
	if (slow) {
		atomic_fetch_add(&c->srv->slow_consumers, 1);
		if (c->acc != NULL)
			atomic_fetch_add(&c->acc->slow_consumers, 1);
	}
	if (!notify)
		return rc;
	cur = server_current_worker();
	if (cur == c->w) {
		c->flush_next = cur->flush_head;
		cur->flush_head = c;
		return rc;
	}
	if (cur != NULL && c->direct_ok && !slow) {
		c->flush_next = cur->direct_head;
		cur->direct_head = c;
		return rc;
	}
	conn_to_owner(c);
	return rc;
}

int conn_sendv(struct conn *c, const struct iovec *iov, int iovcnt)
{
	size_t need = 0;
	int i;

	for (i = 0; i < iovcnt; i++)
		need += iov[i].iov_len;
	return conn_queue(c, iov, iovcnt, need, false, 0, NULL, NULL, NULL);
}

uint64_t conn_sendmsg(struct conn *c, struct sub *sub, const struct iovec *iov,
		      int iovcnt, size_t need, size_t bytes,
		      struct outq_blob **share)
{
	uint64_t count = 0;

	conn_queue(c, iov, iovcnt, need, true, bytes, share, sub, &count);
	return count;
}

int conn_send(struct conn *c, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return conn_sendv(c, &iov, 1);
}

void conn_trace(const struct conn *c, const char *dir, const char *text,
		size_t len)
{
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	log_trace("%s:%d - cid:%llu - %s [%.*s]", c->ip, c->port,
		  (unsigned long long)c->cid, dir, (int)len, text);
}

void conn_send_err(struct conn *c, const char *text)
{
	if (conn_tracing()) {
		char line[600];
		int n = snprintf(line, sizeof(line), "-ERR %s", text);

		conn_trace(c, "->>", line, n > 0 ? (size_t)n : 0);
	}
	struct iovec iov[3] = {
		{ .iov_base = "-ERR '", .iov_len = 6 },
		{ .iov_base = (void *)text, .iov_len = strlen(text) },
		{ .iov_base = "'\r\n", .iov_len = 3 },
	};

	conn_sendv(c, iov, 3);
}

void conn_fail(struct conn *c, const char *text, enum conn_close_reason r)
{
	log_debug("%s:%d - cid:%llu - %s", c->ip, c->port,
		  (unsigned long long)c->cid, text);
	conn_send_err(c, text);
	conn_close(c, r);
}

static void conn_write_timeout(struct loop *l, void *arg)
{
	struct conn *c = arg;

	(void)l;
	log_debug("%s - cid:%llu - Slow Consumer Detected: WriteDeadline "
		  "exceeded",
		  c->ip, (unsigned long long)c->cid);
	atomic_fetch_add(&c->srv->slow_consumers, 1);
	conn_close(c, CONN_CLOSE_SLOW_DEADLINE);
}

static void conn_want_write(struct conn *c, bool want)
{
	uint32_t ev = EPOLLIN;

	if (want == !!(c->flags & CONN_F_WANT_WRITE))
		return;
	if (want) {
		c->flags |= CONN_F_WANT_WRITE;
		ev |= EPOLLOUT;
		loop_timer_arm(c->w->loop, &c->write_timer,
			       server_opts(c->srv)->write_deadline / 1000000,
			       conn_write_timeout, c);
	} else {
		c->flags &= ~CONN_F_WANT_WRITE;
		loop_timer_cancel(c->w->loop, &c->write_timer);
	}
	if (c->flags & CONN_F_AUTH_PENDING)
		ev = (ev & ~(uint32_t)EPOLLIN) | EPOLLRDHUP;
	loop_io_mod(c->w->loop, &c->io, ev);
}

/* One writev of what is queued, under out_lock: other threads append
 * meanwhile only after it, and may write to the socket themselves
 * (conn_flush_direct), so the lock keeps writes whole and in order. */
void conn_flush(struct conn *c)
{
	struct iovec iov[CONN_IOV_MAX];
	struct natsd_stream *s = c->top, *l;
	ssize_t n = 0;
	int cnt;
	bool empty;

	if (c->flags & CONN_F_CLOSED)
		return;
	/* A layer over the socket may hold bytes of its own that wait for
	 * the socket; a write of nothing hands them on. */
	pthread_mutex_lock(&c->out_lock);
	/* Older bytes of the layers under the top one go first. */
	for (l = s->below; l != NULL && l->below != NULL; l = l->below)
		if (l->ops->want != NULL &&
		    (l->ops->want(l->sctx) & NATSD_WANT_WRITE))
			(void)l->ops->writev(l->sctx, l->below, NULL, 0);
	cnt = outq_peek(&c->out, iov, CONN_IOV_MAX);
	if (cnt > 0 || conn_layer_wants_write(c)) {
		n = s->ops->writev(s->sctx, s->below, iov, cnt);
		if (n == NATSD_EAGAIN)
			n = 0;
		if (n > 0)
			outq_consume(&c->out, (size_t)n);
	}
	empty = c->out.pending == 0 && !conn_layer_wants_write(c);
	c->blocked = !empty;
	pthread_mutex_unlock(&c->out_lock);
	if (n < 0) {
		/* While closing, a failed last flush just ends it. */
		if (!(c->flags & CONN_F_CLOSING))
			conn_close(c, CONN_CLOSE_WRITE_ERROR);
		return;
	}
	conn_want_write(c, !empty);
}

/* Hands c to its owner (to flush what remains, or to close it). */
static void conn_to_owner(struct conn *c)
{
	c->flush_next = atomic_load(&c->w->remote_flush);
	while (!atomic_compare_exchange_weak(&c->w->remote_flush,
					     &c->flush_next, c))
		;
	worker_wake_later(c->w);
}

/* Another worker writes what it queued for c straight to the socket,
 * when the owner is not waiting for the socket itself. What is left, an
 * error, or a slow consumer goes to the owner. */
static void conn_flush_direct(struct conn *c)
{
	struct iovec iov[CONN_IOV_MAX];
	struct natsd_stream *s = c->top;
	ssize_t n = 0;
	bool owner;
	int cnt;

	pthread_mutex_lock(&c->out_lock);
	c->flush_queued = false;
	owner = c->slow; /* a slow consumer is closed by its owner */
	if (!owner && c->blocked) {
		pthread_mutex_unlock(&c->out_lock);
		return; /* the owner flushes on EPOLLOUT */
	}
	if (!owner) {
		cnt = outq_peek(&c->out, iov, CONN_IOV_MAX);
		if (cnt > 0) {
			n = s->ops->writev(s->sctx, s->below, iov, cnt);
			if (n > 0)
				outq_consume(&c->out, (size_t)n);
		}
		owner = n < 0 || c->out.pending > 0;
	}
	if (owner)
		c->flush_queued = true;
	pthread_mutex_unlock(&c->out_lock);
	if (owner)
		conn_to_owner(c);
}

static void conn_flush_one(struct conn *c)
{
	bool slow;

	pthread_mutex_lock(&c->out_lock);
	c->flush_queued = false;
	slow = c->slow;
	pthread_mutex_unlock(&c->out_lock);
	if (c->flags & CONN_F_CLOSED)
		return;
	if (slow) {
		log_debug("%s:%d - cid:%llu - Slow Consumer Detected: "
			  "MaxPending of %lld exceeded",
			  c->ip, c->port, (unsigned long long)c->cid,
			  (long long)server_opts(c->srv)->max_pending);
		conn_close(c, CONN_CLOSE_SLOW_PENDING);
		return;
	}
	if (!(c->flags & CONN_F_WANT_WRITE))
		conn_flush(c);
}

void conn_flush_pending(struct worker *w)
{
	struct conn *c, *next;

	/* Bounded: a connection queued again while flushing waits for the
	 * next turn. */
	c = w->flush_head;
	w->flush_head = NULL;
	for (; c != NULL; c = next) {
		next = c->flush_next;
		conn_flush_one(c);
	}
	c = atomic_exchange(&w->remote_flush, NULL);
	for (; c != NULL; c = next) {
		next = c->flush_next;
		conn_flush_one(c);
	}
	c = w->direct_head;
	w->direct_head = NULL;
	for (; c != NULL; c = next) {
		next = c->flush_next;
		conn_flush_direct(c);
	}
}

static void conn_close_task(struct loop *l, void *arg);

struct close_req {
	struct conn *c;
	enum conn_close_reason r;
};

static void conn_close_task(struct loop *l, void *arg)
{
	struct close_req *req = arg;

	(void)l;
	conn_close(req->c, req->r);
	free(req);
}

void conn_close_async(struct conn *c, enum conn_close_reason r)
{
	struct close_req *req;

	if (server_current_worker() == c->w) {
		conn_close(c, r);
		return;
	}
	req = malloc(sizeof(*req));
	if (req == NULL)
		return;
	req->c = c;
	req->r = r;
	if (loop_post(c->w->loop, conn_close_task, req) != 0)
		free(req);
}

static void conn_drop_subs(struct conn *c)
{
	uint32_t i;
	struct sub *s;
	int expect;

	for (i = 0; i < c->subs.cap; i++) {
		s = c->subs.slots[i];
		if (s == NULL || s == SIDMAP_TOMB)
			continue;
		c->subs.slots[i] = NULL;
		expect = 0;
		/* A publisher that reached an auto-unsubscribe limit owns
		 * the removal of that sub: leave it to its task. */
		if (!atomic_compare_exchange_strong(&s->dead, &expect, 1))
			continue;
		account_sub_remove(s->acc, s);
		loop_retire(s, sub_free);
	}
	c->subs.n = 0;
	c->nsubs = 0;
}

/* Layers may say goodbye (a websocket close frame with the reason). */
static void conn_layers_shutdown(struct conn *c, enum conn_close_reason r)
{
	struct natsd_stream *s;

	for (s = c->top; s != NULL && s->below != NULL; s = s->below)
		if (s->ops->shutdown != NULL)
			s->ops->shutdown(s->sctx, s->below, conn_close_text(r));
}

void conn_close(struct conn *c, enum conn_close_reason r)
{
	struct loop *l = c->w->loop;

	if (c->flags & (CONN_F_CLOSED | CONN_F_CLOSING))
		return;
	c->flags |= CONN_F_CLOSING;
	/* Best effort: what is queued (an -ERR) goes out if it fits. */
	if (!(c->flags & CONN_F_WANT_WRITE) && !(c->flags & CONN_F_DIALING))
		conn_flush(c);
	c->flags |= CONN_F_CLOSED;
	c->reason = r;
	if (c->srv->closed_hook != NULL)
		c->srv->closed_hook(c->srv->monitor, c);
	pthread_mutex_lock(&c->out_lock);
	c->slow = true; /* refuse further bytes */
	pthread_mutex_unlock(&c->out_lock);
	conn_layers_shutdown(c, r);
	loop_timer_cancel(l, &c->hs_timer);
	loop_timer_cancel(l, &c->read_timer);
	loop_timer_cancel(l, &c->ping_timer);
	loop_timer_cancel(l, &c->auth_timer);
	loop_timer_cancel(l, &c->write_timer);
	loop_timer_cancel(l, &c->expiry_timer);
	loop_io_del(l, &c->io);
	if (c->auth != NULL)
		auth_cancel(c);
	conn_drop_subs(c);
	if (c->link != NULL)
		host_link_closed(c, conn_close_text(r));
	else if (c->kind == NATSD_KIND_CLIENT && !(c->flags & CONN_F_LAYER_HS))
		client_closed(c);
	if (c->acc != NULL) {
		atomic_fetch_add(&c->acc->in_msgs, atomic_load(&c->in_msgs));
		atomic_fetch_add(&c->acc->in_bytes, atomic_load(&c->in_bytes));
		atomic_fetch_add(&c->acc->out_msgs, atomic_load(&c->out_msgs));
		atomic_fetch_add(&c->acc->out_bytes,
				 atomic_load(&c->out_bytes));
	}
	stream_close_all(c->top);
	c->top = NULL;
	worker_del_conn(c->w, c);
	loop_retire(c, conn_free);
}

/* Keeps buf[0..len) (the start of an unfinished operation) for the next
 * read; need is the total size it will have, when known. */
static int conn_keep(struct conn *c, const char *buf, size_t len,
		     size_t need)
{
	size_t cap;
	char *nb;

	if (buf == c->rbuf) {
		c->rlen = len;
		return 0;
	}
	cap = len > need ? len : need;
	if (cap < 512)
		cap = 512;
	/* A large message arriving in pieces: room for it and for a big
	 * read of what follows, so that the next reads (which go to this
	 * buffer) each bring several messages, as reads into the worker's
	 * buffer do. */
	if (need >= CONN_LARGE_MSG && cap < need + CONN_LARGE_READ)
		cap = need + CONN_LARGE_READ;
	if (c->rcap < cap) {
		nb = realloc(c->rbuf, cap);
		if (nb == NULL)
			return NATSD_ENOMEM;
		c->rbuf = nb;
		c->rcap = cap;
	}
	memmove(c->rbuf, buf, len);
	c->rlen = len;
	return 0;
}

/* Feeds bytes to the protocol handler; keeps the unfinished rest. */
static void conn_feed(struct conn *c, char *buf, size_t len)
{
	size_t used = 0, need = 0;
	ssize_t n;

	if (c->link != NULL)
		n = host_link_data(c, buf, len);
	else
		n = client_feed(c, buf, len, &need);
	if (c->flags & CONN_F_CLOSED)
		return;
	if (n < 0) {
		conn_close(c, CONN_CLOSE_PARSE_ERROR);
		return;
	}
	used = (size_t)n;
	if (used == len) {
		c->rlen = 0;
		/* A big buffer left from a large message is not kept. */
		if (c->rcap > 65536) {
			free(c->rbuf);
			c->rbuf = NULL;
			c->rcap = 0;
		}
		return;
	}
	/* An operation the parser still waits for may be long only by its
	 * payload: a client line that never ends (blanks after PING, say,
	 * which nats-server reads and drops) must not grow the buffer
	 * without end. */
	if (c->kind == NATSD_KIND_CLIENT && need == 0 &&
	    len - used > CONN_UNFINISHED_MAX) {
		log_error("%s:%d - cid:%llu - unfinished operation over %d "
			  "bytes, closing",
			  c->ip, c->port, (unsigned long long)c->cid,
			  CONN_UNFINISHED_MAX);
		conn_close(c, CONN_CLOSE_PROTOCOL_VIOLATION);
		return;
	}
	if (used > 0 && buf == c->rbuf) {
		memmove(c->rbuf, c->rbuf + used, len - used);
		buf = c->rbuf;
	} else {
		buf += used;
	}
	if (conn_keep(c, buf, len - used, need) != 0)
		conn_close(c, CONN_CLOSE_READ_ERROR);
	else if (need > c->rcap && c->rbuf != NULL) {
		char *nb = realloc(c->rbuf, need);

		if (nb == NULL) {
			conn_close(c, CONN_CLOSE_READ_ERROR);
			return;
		}
		c->rbuf = nb;
		c->rcap = need;
	}
}

/* Re-offers kept bytes (after an answer-later authentication). */
void conn_refeed(struct conn *c)
{
	if (c->rlen > 0 && !(c->flags & CONN_F_CLOSED))
		conn_feed(c, c->rbuf, c->rlen);
	if (!(c->flags & CONN_F_CLOSED))
		conn_reread_later(c);
}

/* Layer handshakes (TLS, a websocket upgrade) have one deadline
 * mechanism: each layer says through handshake_ms() how long its
 * handshake may still take, and hs_timer fires at the earliest of them.
 * A connection whose client has not started yet (CONN_F_LAYER_HS: the
 * layers handshake at accept, as on a websocket listener) starts it once
 * all are done; one whose client has started (CONN_F_HANDSHAKE: TLS
 * after INFO, or handshake_first) only stops waiting.
 *
 * A layer that answers NATSD_Q_HANDSHAKE directly is a TLS layer: its
 * failures and timeouts are logged as nats-server logs TLS handshake
 * errors, for a websocket connection as its HTTP server does. */

/* The lowest layer whose handshake still runs, or NULL. */
static struct natsd_stream *conn_hs_layer(struct conn *c)
{
	struct natsd_stream *s, *found = NULL;

	for (s = c->top; s != NULL && s->below != NULL; s = s->below)
		if (s->ops->handshake_ms != NULL &&
		    s->ops->handshake_ms(s->sctx) >= 0)
			found = s;
	return found;
}

/* Whether layer s is a TLS one; its failure, if any, in *why, and
 * whether its handshake runs in *running. */
static bool conn_layer_tls(struct natsd_stream *s, const char **why,
			   bool *running)
{
	const void *out = NULL;
	size_t run = 0;

	if (s == NULL || s->ops->query == NULL ||
	    s->ops->query(s->sctx, NATSD_Q_HANDSHAKE, &out, &run) != 0)
		return false;
	if (why != NULL)
		*why = out;
	if (running != NULL)
		*running = run != 0;
	return true;
}

static void conn_tls_error(struct conn *c, const char *why)
{
	bool v6 = strchr(c->ip, ':') != NULL;

	if (c->flags & CONN_F_LAYER_HS)
		log_error("websocket: TLS handshake error from %s%s%s:%d: %s",
			  v6 ? "[" : "", c->ip, v6 ? "]" : "", c->port, why);
	else
		log_error("%s:%d - cid:%llu - TLS handshake error: %s", c->ip,
			  c->port, (unsigned long long)c->cid, why);
}

/* Go's net error for a read past its deadline, as nats-server's
 * websocket HTTP server logs it: "read tcp LOCAL->PEER: i/o timeout". */
static void conn_timeout_text(struct conn *c, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "";
	bool v6 = strchr(c->ip, ':') != NULL;
	int port = 0;

	if (getsockname(c->io.fd, (struct sockaddr *)&ss, &sl) == 0)
		conn_addr_text(&ss, ip, sizeof(ip), &port);
	/* Both ends are of one family. */
	snprintf(buf, len, "read tcp %s%s%s:%d->%s%s%s:%d: i/o timeout",
		 v6 ? "[" : "", ip, v6 ? "]" : "", port, v6 ? "[" : "", c->ip,
		 v6 ? "]" : "", c->port);
}

/* The stream ended or failed while a layer handshook. A TLS layer that
 * failed (or saw the peer leave) is logged; one that answered the peer
 * itself leaves its reason empty. Other layers log their own errors. */
static void conn_handshake_failed(struct conn *c, ssize_t n)
{
	struct natsd_stream *s;
	const char *why = NULL;
	bool running = false;

	for (s = c->top; s != NULL && s->below != NULL; s = s->below) {
		if (!conn_layer_tls(s, &why, &running))
			continue;
		if (why == NULL && !running)
			break; /* this one is up: not a TLS failure */
		if (why == NULL || why[0] != '\0')
			conn_tls_error(c, why != NULL ? why : "EOF");
		conn_close(c, CONN_CLOSE_TLS_HANDSHAKE);
		return;
	}
	conn_close(c, n == 0 || n == NATSD_ECONNRESET ? CONN_CLOSE_CLIENT_CLOSED
						      : CONN_CLOSE_READ_ERROR);
}

/* A layer's handshake time is up. */
static void conn_handshake_expired(struct conn *c)
{
	struct natsd_stream *s = conn_hs_layer(c);

	if (!conn_layer_tls(s, NULL, NULL)) {
		log_debug("%s:%d - cid:%llu - handshake timeout", c->ip,
			  c->port, (unsigned long long)c->cid);
		conn_close(c, CONN_CLOSE_READ_ERROR);
		return;
	}
	if (c->flags & CONN_F_LAYER_HS) {
		char why[200];

		conn_timeout_text(c, why, sizeof(why));
		conn_tls_error(c, why);
	} else {
		conn_tls_error(c, "i/o timeout");
	}
	if (!(c->flags & CONN_F_LAYER_HS))
		log_error("%s:%d - cid:%llu - TLS handshake timeout", c->ip,
			  c->port, (unsigned long long)c->cid);
	conn_close(c, CONN_CLOSE_TLS_HANDSHAKE);
}

static void conn_handshake_check(struct loop *l, void *arg)
{
	struct conn *c = arg;
	int64_t left = conn_handshake_left(c);

	if (left == 0)
		conn_handshake_expired(c);
	else if (left > 0)
		loop_timer_arm(l, &c->hs_timer, left, conn_handshake_check, c);
}

int64_t conn_handshake_start(struct conn *c)
{
	int64_t left = conn_handshake_left(c);

	if (left < 0)
		return 0;
	c->flags |= CONN_F_HANDSHAKE;
	log_debug("%s:%d - cid:%llu - Starting TLS client connection handshake",
		  c->ip, c->port, (unsigned long long)c->cid);
	loop_timer_arm(c->w->loop, &c->hs_timer, left, conn_handshake_check, c);
	/* A layer without a time limit says so with weeks: then there is
	 * no limit for the auth timer to follow either. */
	return left >= CONN_HS_NO_LIMIT_MS ? 0 : left;
}

int conn_push_late(struct conn *c)
{
	int i, rc;

	if (c->nlate == 0)
		return 0;
	/* What is queued (INFO) goes in clear text, before the layer. */
	conn_flush(c);
	if (c->flags & CONN_F_CLOSED)
		return NATSD_EPIPE;
	if (c->out.pending != 0) {
		/* A new socket takes a few hundred bytes at once; one that
		 * does not is not worth a state of its own. */
		log_debug(
			"%s:%d - cid:%llu - INFO not written at once, closing",
			c->ip, c->port, (unsigned long long)c->cid);
		conn_close(c, CONN_CLOSE_WRITE_ERROR);
		return NATSD_EAGAIN;
	}
	for (i = 0; i < c->nlate; i++) {
		rc = host_push_layer(c, c->late[i], NULL);
		if (rc != 0) {
			log_error("%s:%d - cid:%llu - cannot start %s: %s",
				  c->ip, c->port, (unsigned long long)c->cid,
				  c->late[i]->ops.name, strerror(-rc));
			conn_close(c, CONN_CLOSE_TLS_HANDSHAKE);
			return rc;
		}
	}
	c->nlate = 0;
	return 0;
}

/* After reading: a layer's handshake may be over, and a layer may hold
 * bytes that wait for the socket (a handshake answer). */
static void conn_layers_progress(struct conn *c)
{
	struct natsd_stream *s = c->top;
	const void *ver = NULL, *cipher = NULL;

	if (s->below == NULL)
		return;
	if ((c->flags & CONN_F_HANDSHAKE) && conn_handshake_left(c) < 0) {
		c->flags &= ~CONN_F_HANDSHAKE;
		loop_timer_cancel(c->w->loop, &c->hs_timer);
		log_debug("%s:%d - cid:%llu - TLS handshake complete", c->ip,
			  c->port, (unsigned long long)c->cid);
		if (log_enabled(LOG_LEVEL_DEBUG) &&
		    host_stream_query(s, NATSD_Q_TLS_VERSION, &ver, NULL) ==
			    0 &&
		    host_stream_query(s, NATSD_Q_TLS_CIPHER, &cipher, NULL) ==
			    0)
			log_debug("%s:%d - cid:%llu - TLS version %s, cipher "
				  "suite %s",
				  c->ip, c->port, (unsigned long long)c->cid,
				  (const char *)ver, (const char *)cipher);
	}
	if (!(c->flags & CONN_F_WANT_WRITE) && conn_layer_wants_write(c))
		conn_want_write(c, true);
}

static void conn_read(struct conn *c);

static void conn_reread(struct loop *l, void *arg)
{
	(void)l;
	conn_read(arg);
}

/* Bytes a layer has already taken off the socket (TLS records read
 * ahead, websocket frames decoded) raise no readiness: when reading
 * stopped with some left, read again next turn, after the others. */
static void conn_reread_later(struct conn *c)
{
	struct natsd_stream *s;

	if (c->flags & (CONN_F_HANDSHAKE | CONN_F_AUTH_PENDING))
		return;
	/* Any layer: TLS records read ahead under a websocket too. */
	for (s = c->top; s != NULL && s->below != NULL; s = s->below)
		if (s->ops->pending != NULL && s->ops->pending(s->sctx) > 0)
			break;
	if (s == NULL || s->below == NULL)
		return;
	loop_timer_arm(c->w->loop, &c->read_timer, 0, conn_reread, c);
}

static void conn_read(struct conn *c)
{
	struct natsd_stream *s = c->top;
	char *buf;
	size_t room;
	ssize_t n;
	int i;

	for (i = 0; i < CONN_READS_PER_WAKE; i++) {
		if (c->flags & (CONN_F_CLOSED | CONN_F_AUTH_PENDING))
			return;
		if (c->rlen > 0) {
			if (c->rcap - c->rlen < 4096) {
				size_t cap = c->rcap * 2;
				char *nb = realloc(c->rbuf, cap);

				if (nb == NULL) {
					conn_close(c, CONN_CLOSE_READ_ERROR);
					return;
				}
				c->rbuf = nb;
				c->rcap = cap;
			}
			buf = c->rbuf + c->rlen;
			room = c->rcap - c->rlen;
		} else {
			buf = c->w->scratch;
			room = WORKER_SCRATCH;
		}
		n = s->ops->read(s->sctx, s->below, buf, room);
		if (n == NATSD_EAGAIN)
			break;
		if (n <= 0 &&
		    (c->flags & (CONN_F_HANDSHAKE | CONN_F_LAYER_HS))) {
			conn_handshake_failed(c, n);
			return;
		}
		if (n == 0) {
			conn_close(c, CONN_CLOSE_CLIENT_CLOSED);
			return;
		}
		if (n < 0) {
			conn_close(c, n == NATSD_ECONNRESET
					      ? CONN_CLOSE_CLIENT_CLOSED
					      : CONN_CLOSE_READ_ERROR);
			return;
		}
		c->last_in_ms = loop_now_ms();
		if (c->flags & CONN_F_HANDSHAKE)
			conn_layers_progress(c);
		if (c->rlen > 0)
			conn_feed(c, c->rbuf, c->rlen + (size_t)n);
		else
			conn_feed(c, buf, (size_t)n);
		if (c->flags & CONN_F_CLOSED)
			return; /* the stream is gone */
		if ((size_t)n < room &&
		    (s->ops->pending == NULL || s->ops->pending(s->sctx) == 0))
			break;
	}
	if (c->flags & CONN_F_CLOSED)
		return;
	conn_layers_progress(c);
	conn_reread_later(c);
}

static void conn_io(struct loop *l, void *arg, uint32_t events)
{
	struct conn *c = arg;

	(void)l;
	if (c->flags & CONN_F_CLOSED)
		return;
	if (c->flags & CONN_F_DIALING) {
		if (events & (EPOLLERR | EPOLLHUP)) {
			conn_close(c, CONN_CLOSE_LINK_CLOSED);
			return;
		}
		if (events & EPOLLOUT) {
			c->flags &= ~CONN_F_DIALING;
			conn_want_write(c, false);
			host_link_dialed(c);
		}
		return;
	}
	/* Not reading while an authenticator answers later, but a client
	 * that hangs up meanwhile is closed (and its request cancelled). */
	if ((c->flags & CONN_F_AUTH_PENDING) &&
	    (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
		conn_close(c, CONN_CLOSE_CLIENT_CLOSED);
		return;
	}
	if (events & EPOLLOUT)
		conn_flush(c);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_read(c);
	/* A client starts once its layers' handshakes are done, as
	 * nats-server creates a websocket client after the upgrade: INFO,
	 * auth and ping timers, the connection count. */
	if ((c->flags & CONN_F_LAYER_HS) && !(c->flags & CONN_F_CLOSED) &&
	    conn_handshake_left(c) < 0) {
		c->flags &= ~CONN_F_LAYER_HS;
		loop_timer_cancel(c->w->loop, &c->hs_timer);
		client_start(c);
	}
	/* Reading may have left a layer with bytes to send. */
	if (!(c->flags & (CONN_F_CLOSED | CONN_F_WANT_WRITE)) &&
	    conn_layer_wants_write(c))
		conn_flush(c);
}

/* The shortest handshake time the layers have left; -1: none. */
static int64_t conn_handshake_left(struct conn *c)
{
	struct natsd_stream *s;
	int64_t left = -1, v;

	for (s = c->top; s != NULL && s->below != NULL; s = s->below) {
		if (s->ops->handshake_ms == NULL)
			continue;
		v = s->ops->handshake_ms(s->sctx);
		if (v >= 0 && (left < 0 || v < left))
			left = v;
	}
	return left;
}

/* Whether a client waits for the layers' handshakes before it starts:
 * not when the only layer handshaking is a TLS one on top, which keeps
 * INFO until it is up (handshake_first), as nats-server creates such a
 * client before its handshake. */
static bool conn_client_waits(struct conn *c)
{
	struct natsd_stream *s = conn_hs_layer(c);

	return s != NULL && (s != c->top || !conn_layer_tls(s, NULL, NULL));
}

void conn_start(struct conn *c)
{
	if (c->link != NULL) {
		/* A layer pushed at accept (a TLS listener) has its time. */
		if (!(c->flags & CONN_F_DIALING))
			conn_handshake_start(c);
		if (c->flags & CONN_F_DIALING) {
			c->flags |= CONN_F_WANT_WRITE;
			loop_io_mod(c->w->loop, &c->io, EPOLLOUT);
			return;
		}
		host_link_opened(c, false);
		return;
	}
	if (conn_client_waits(c)) {
		c->flags |= CONN_F_LAYER_HS;
		loop_timer_arm(c->w->loop, &c->hs_timer, conn_handshake_left(c),
			       conn_handshake_check, c);
		return;
	}
	client_start(c);
}

/* The sid table: open addressing with tombstones, FNV-1a hashed. */

static uint32_t sid_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

struct sub *sidmap_get(const struct sidmap *m, const char *sid, size_t len)
{
	uint32_t i, mask;
	struct sub *s;

	if (m->cap == 0)
		return NULL;
	mask = m->cap - 1;
	for (i = sid_hash(sid, len) & mask;; i = (i + 1) & mask) {
		s = m->slots[i];
		if (s == NULL)
			return NULL;
		if (s != SIDMAP_TOMB && s->sid_len == len &&
		    memcmp(s->sid, sid, len) == 0)
			return s;
	}
}

static int sidmap_grow(struct sidmap *m)
{
	struct sidmap nm = { 0 };
	uint32_t i, j, mask;

	nm.cap = m->cap ? m->cap * 2 : 8;
	if (m->n * 2 < m->cap / 2)
		nm.cap = m->cap; /* mostly tombstones: rehash in place */
	nm.slots = calloc(nm.cap, sizeof(*nm.slots));
	if (nm.slots == NULL)
		return NATSD_ENOMEM;
	mask = nm.cap - 1;
	for (i = 0; i < m->cap; i++) {
		struct sub *s = m->slots[i];

		if (s == NULL || s == SIDMAP_TOMB)
			continue;
		for (j = sid_hash(s->sid, s->sid_len) & mask; nm.slots[j];
		     j = (j + 1) & mask)
			;
		nm.slots[j] = s;
		nm.n++;
	}
	free(m->slots);
	*m = nm;
	return 0;
}

int sidmap_put(struct sidmap *m, struct sub *s)
{
	uint32_t i, mask;

	if ((m->n + m->tombs + 1) * 4 > m->cap * 3) {
		if (sidmap_grow(m) != 0)
			return NATSD_ENOMEM;
		m->tombs = 0;
	}
	mask = m->cap - 1;
	for (i = sid_hash(s->sid, s->sid_len) & mask;
	     m->slots[i] != NULL && m->slots[i] != SIDMAP_TOMB;
	     i = (i + 1) & mask)
		;
	if (m->slots[i] == SIDMAP_TOMB)
		m->tombs--;
	m->slots[i] = s;
	m->n++;
	return 0;
}

void sidmap_del(struct sidmap *m, struct sub *s)
{
	uint32_t i, mask;

	if (m->cap == 0)
		return;
	mask = m->cap - 1;
	for (i = sid_hash(s->sid, s->sid_len) & mask; m->slots[i] != NULL;
	     i = (i + 1) & mask) {
		if (m->slots[i] == s) {
			m->slots[i] = SIDMAP_TOMB;
			m->n--;
			m->tombs++;
			return;
		}
	}
}

void sidmap_fini(struct sidmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = m->tombs = 0;
}
