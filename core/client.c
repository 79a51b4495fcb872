/* Client connections: the NATS client protocol as nats-server 2.9 speaks
 * it, byte for byte (../shared/PROTOCOL.md section 1).
 *
 * Operations are parsed in place (proto.c) and run at once; a PUB is
 * routed before the next operation is parsed, so per-connection order is
 * kept. Errors that nats-server answers with -ERR are answered the same
 * way, and the connection is closed where it closes it. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "account.h"
#include "auth.h"
#include "client.h"
#include "conn.h"
#include "host.h"
#include "log.h"
#include "perms.h"
#include "proto.h"
#include "router.h"
#include "server.h"
#include "sub.h"
#include "subject.h"
#include "sublist.h"

/* allow_responses: reply subjects this connection may publish to. */
struct resp_entry {
	char *subject;
	int64_t left;	    /* publishes left */
	int64_t expires_ms; /* monotonic */
	struct resp_entry *next;
};

struct resp_map {
	struct resp_entry *head;
	uint32_t n;
};

#define RESP_MAX_ENTRIES 4096

static void client_ping_timer(struct loop *l, void *arg);

static void client_send_info(struct conn *c)
{
	struct server *s = c->srv;
	char tail[160], *prefix;
	struct iovec iov[2];
	int n;

	if (c->nonce[0] != '\0')
		n = snprintf(tail, sizeof(tail),
			     ",\"nonce\":\"%s\",\"client_id\":%llu,"
			     "\"client_ip\":\"%s\"} \r\n",
			     c->nonce, (unsigned long long)c->cid, c->ip);
	else
		n = snprintf(tail, sizeof(tail),
			     ",\"client_id\":%llu,\"client_ip\":\"%s\"} \r\n",
			     (unsigned long long)c->cid, c->ip);
	pthread_mutex_lock(&s->info_lock);
	prefix = s->info_prefix;
	/* Websocket clients with authorization of their own are told so. */
	if ((c->flags & CONN_F_WEBSOCKET) && s->ws_info_prefix != NULL)
		prefix = s->ws_info_prefix;
	iov[0].iov_base = prefix;
	iov[0].iov_len = strlen(prefix);
	iov[1].iov_base = tail;
	iov[1].iov_len = (size_t)n;
	conn_sendv(c, iov, 2);
	pthread_mutex_unlock(&s->info_lock);
}

void client_send_async_info(struct conn *c)
{
	if (c->kind == NATSD_KIND_CLIENT && c->protocol >= 1 &&
	    (c->flags & CONN_F_CONNECTED) && !(c->flags & CONN_F_CLOSED))
		client_send_info(c);
}

static void client_make_nonce(struct conn *c)
{
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[11];
	uint32_t v;
	int i, j, o = 0;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return;
	/* 11 bytes -> 15 base64url characters, no padding. */
	for (i = 0; i < 9; i += 3) {
		v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 |
		    raw[i + 2];
		for (j = 3; j >= 0; j--)
			c->nonce[o++] = b64url[(v >> (6 * j)) & 63];
	}
	v = (uint32_t)raw[9] << 16 | (uint32_t)raw[10] << 8;
	for (j = 3; j >= 1; j--)
		c->nonce[o++] = b64url[(v >> (6 * j)) & 63];
	c->nonce[o] = '\0';
}

static void client_auth_timeout(struct loop *l, void *arg)
{
	struct conn *c = arg;

	(void)l;
	conn_fail(c, "Authentication Timeout", CONN_CLOSE_AUTH_TIMEOUT);
}

static int64_t client_first_ping_ms(const struct conn *c)
{
	int64_t ms = server_opts(c->srv)->ping_interval / 1000000;
	uint32_t r;

	/* nats-server pings a new client early (2 s, or the interval if
	 * shorter) with up to 20 % jitter. */
	if (ms > 2000)
		ms = 2000;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) == 1 && ms >= 5)
		ms += (int64_t)(r % (uint32_t)(ms / 5));
	return ms;
}

/* Whether the stream under c is a websocket (NATSD_Q_CONN_TYPE). */
static bool client_is_websocket(struct conn *c)
{
	struct natsd_stream *s;
	const void *out = NULL;
	size_t len = 0;
	int rc;

	for (s = c->top; s != NULL; s = s->below) {
		if (s->ops->query == NULL)
			continue;
		rc = s->ops->query(s->sctx, NATSD_Q_CONN_TYPE, &out, &len);
		if (rc != NATSD_ENOTSUP)
			return rc == 0 && out != NULL &&
			       strcmp(out, "websocket") == 0;
	}
	return false;
}

void client_start(struct conn *c)
{
	struct server *s = c->srv;
	const struct opts *o = server_opts(s);
	int64_t n, hs_ms, auth_ms;

	c->flags |= CONN_F_VERBOSE | CONN_F_PEDANTIC;
	if (client_is_websocket(c))
		c->flags |= CONN_F_WEBSOCKET;
	c->max_payload = o->max_payload;
	c->max_subs = o->max_subscriptions;
	n = atomic_fetch_add(&s->nclients, 1) + 1;
	if (s->nonce_required)
		client_make_nonce(c);
	/* As in nats-server: logged before the TLS handshake starts, and not
	 * for a client over max_connections. */
	if (o->max_connections <= 0 || n <= o->max_connections)
		log_debug("%s:%d - cid:%llu - Client connection created", c->ip,
			  c->port, (unsigned long long)c->cid);
	client_send_info(c);
	/* NATS's TLS upgrade: INFO in clear text, then the handshake. */
	if (c->nlate > 0 && conn_push_late(c) != 0)
		return;
	hs_ms = conn_handshake_start(c);
	if (o->max_connections > 0 && n > o->max_connections) {
		log_error("%s:%d - cid:%llu - Maximum Connections Exceeded "
			  "(max_connections %lld)",
			  c->ip, c->port, (unsigned long long)c->cid,
			  (long long)o->max_connections);
		conn_fail(c, "maximum connections exceeded",
			  CONN_CLOSE_MAX_CONNECTIONS);
		return;
	}
	if (s->auth_required ||
	    ((c->flags & CONN_F_WEBSOCKET) && s->ws_auth_required)) {
		int64_t t =
			o->auth_timeout > 0 ? o->auth_timeout : 2000000000LL;

		/* The websocket block may have a timeout of its own. */
		if ((c->flags & CONN_F_WEBSOCKET) &&
		    o->websocket.auth_timeout > 0)
			t = o->websocket.auth_timeout;
		c->flags |= CONN_F_AUTH_REQUIRED;
		/* nats-server's default gives a TLS handshake its time plus
		 * a second. */
		auth_ms = o->auth_timeout_set || hs_ms == 0 ? t / 1000000
							    : hs_ms + 1000;
		loop_timer_arm(c->w->loop, &c->auth_timer, auth_ms,
			       client_auth_timeout, c);
	}
	loop_timer_arm(c->w->loop, &c->ping_timer, client_first_ping_ms(c),
		       client_ping_timer, c);
}

static void client_ping_timer(struct loop *l, void *arg)
{
	struct conn *c = arg;
	const struct opts *o = server_opts(c->srv);
	int64_t interval = o->ping_interval / 1000000;

	if (c->pings_out + 1 > o->ping_max) {
		conn_fail(c, "Stale Connection", CONN_CLOSE_STALE);
		return;
	}
	/* Traffic from the client within the interval proves it alive. */
	if (c->pings_out == 0 && (c->flags & CONN_F_CONNECTED) &&
	    loop_now_ms() - c->last_in_ms < interval) {
		loop_timer_arm(l, &c->ping_timer, interval, client_ping_timer,
			       c);
		return;
	}
	if (c->pings_out++ == 0)
		c->ping_sent_ns = loop_mono_ns();
	if (conn_tracing())
		conn_trace(c, "->>", "PING", 4);
	conn_send(c, "PING\r\n", 6);
	loop_timer_arm(l, &c->ping_timer, interval, client_ping_timer, c);
}

static void client_expired(struct loop *l, void *arg)
{
	struct conn *c = arg;

	(void)l;
	conn_fail(c, "User Authentication Expired", CONN_CLOSE_AUTH_EXPIRED);
}

void client_expire_at(struct conn *c, int64_t unix_ns)
{
	int64_t ms = (unix_ns - host_wall_ns()) / 1000000;

	loop_timer_arm(c->w->loop, &c->expiry_timer, ms > 0 ? ms : 0,
		       client_expired, c);
}

void client_closed(struct conn *c)
{
	atomic_fetch_sub(&c->srv->nclients, 1);
	if (c->acc != NULL)
		atomic_fetch_sub(&c->acc->nconns, 1);
	log_debug("%s:%d - cid:%llu - Client connection closed: %s", c->ip,
		  c->port, (unsigned long long)c->cid,
		  conn_close_text(c->reason));
}

static void client_ok(struct conn *c)
{
	if (!(c->flags & CONN_F_VERBOSE))
		return;
	if (conn_tracing())
		conn_trace(c, "->>", "OK", 2);
	conn_send(c, "+OK\r\n", 5);
}

/* Traces an operation read from the client: its control line, and the
 * payload of a PUB/HPUB as nats-server shows it. */
static void client_trace_in(struct conn *c, const char *op, size_t n,
			    const struct proto_cmd *cmd)
{
	const char *nl = memchr(op, '\n', n);
	int max = server_opts(c->srv)->max_traced_msg_len;
	int len;

	conn_trace(c, "<<-", op, nl ? (size_t)(nl - op) : n);
	if (cmd->op != PROTO_OP_PUB && cmd->op != PROTO_OP_HPUB)
		return;
	len = (int)cmd->size;
	if (max > 0 && len > max)
		log_trace("%s:%d - cid:%llu - <<- MSG_PAYLOAD: [\"%.*s...\"]",
			  c->ip, c->port, (unsigned long long)c->cid, max,
			  cmd->payload);
	else
		log_trace("%s:%d - cid:%llu - <<- MSG_PAYLOAD: [\"%.*s\"]",
			  c->ip, c->port, (unsigned long long)c->cid, len,
			  cmd->payload);
}

/* Sends a permissions error, as nats-server does: logged and answered,
 * the connection stays. */
static void client_perm_err(struct conn *c, const char *text)
{
	log_error("%s:%d - cid:%llu - \"%s\"", c->ip, c->port,
		  (unsigned long long)c->cid, text);
	conn_send_err(c, text);
}

static void perm_pub_err(struct conn *c, const struct proto_str *subj)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "Permissions Violation for Publish to \"%.*s\"",
		 (int)subj->len, subj->p);
	client_perm_err(c, buf);
}

/* allow_responses bookkeeping, under out_lock (deliveries come from any
 * thread). */
void client_resp_grant(struct conn *c, const char *reply, size_t len)
{
	struct resp_entry *e;
	struct resp_map *m;
	const struct perms *p = c->perms;

	pthread_mutex_lock(&c->out_lock);
	m = c->resp;
	if (m == NULL) {
		m = c->resp = calloc(1, sizeof(*m));
		if (m == NULL)
			goto out;
	}
	if (m->n >= RESP_MAX_ENTRIES)
		goto out;
	e = malloc(sizeof(*e));
	if (e == NULL)
		goto out;
	e->subject = strndup(reply, len);
	if (e->subject == NULL) {
		free(e);
		goto out;
	}
	/* Negative limits are unlimited. */
	e->left = p->resp_max < 0 ? INT64_MAX : p->resp_max > 0 ? p->resp_max : 1;
	e->expires_ms = p->resp_expires < 0
				? INT64_MAX
				: loop_now_ms() + (p->resp_expires > 0
							   ? p->resp_expires / 1000000
							   : 120000);
	e->next = m->head;
	m->head = e;
	m->n++;
out:
	pthread_mutex_unlock(&c->out_lock);
}

/* May c publish to subj as a response? Uses up one grant. */
static bool client_resp_allowed(struct conn *c, const char *subj,
				size_t len)
{
	struct resp_entry **pp, *e;
	int64_t now = loop_now_ms();
	bool ok = false;

	pthread_mutex_lock(&c->out_lock);
	if (c->resp == NULL)
		goto out;
	pp = &c->resp->head;
	while ((e = *pp) != NULL) {
		if (e->expires_ms < now) {
			*pp = e->next;
			c->resp->n--;
			free(e->subject);
			free(e);
			continue;
		}
		if (!ok && strlen(e->subject) == len &&
		    memcmp(e->subject, subj, len) == 0) {
			ok = true;
			if (--e->left <= 0) {
				*pp = e->next;
				c->resp->n--;
				free(e->subject);
				free(e);
				continue;
			}
		}
		pp = &e->next;
	}
out:
	pthread_mutex_unlock(&c->out_lock);
	return ok;
}

void client_resp_free(struct conn *c)
{
	struct resp_entry *e, *next;

	if (c->resp == NULL)
		return;
	for (e = c->resp->head; e != NULL; e = next) {
		next = e->next;
		free(e->subject);
		free(e);
	}
	free(c->resp);
	c->resp = NULL;
}

static bool has_prefix(const struct proto_str *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return s->len >= n && memcmp(s->p, prefix, n) == 0;
}

static void client_no_responders(struct conn *c, const struct pubmsg *m)
{
	const struct sublist_result *r;
	struct sub *s;
	char line[600];
	int n;
	uint32_t i;

	if (m->reply_len > 512)
		return;
	r = account_match(c->acc, m->reply, m->reply_len);
	for (i = 0; r != NULL && i < r->npsubs; i++) {
		s = r->psubs[i];
		if (s->conn != c || atomic_load(&s->dead))
			continue;
		n = snprintf(line, sizeof(line),
			     "HMSG %.*s %s 16 16\r\nNATS/1.0 503\r\n\r\n\r\n",
			     (int)m->reply_len, m->reply, s->sid);
		conn_send(c, line, (size_t)n);
		return;
	}
}

static void client_pub(struct conn *c, const struct proto_cmd *cmd)
{
	struct pubmsg m = { 0 };
	bool hpub = cmd->op == PROTO_OP_HPUB;

	if (hpub && !(c->flags & CONN_F_HEADERS)) {
		conn_close(c, CONN_CLOSE_PROTOCOL_VIOLATION);
		return;
	}
	CONN_STAT_ADD(c->in_msgs, 1);
	CONN_STAT_ADD(c->in_bytes, cmd->size);
	if ((c->flags & CONN_F_PEDANTIC) &&
	    !subject_literal(cmd->subject.p, cmd->subject.len)) {
		/* nats-server reports it and routes the message anyway. */
		conn_send_err(c, "Invalid Publish Subject");
	}
	if (has_prefix(&cmd->subject, "_GR_.")) {
		perm_pub_err(c, &cmd->subject);
		return;
	}
	if (cmd->reply.p != NULL &&
	    (has_prefix(&cmd->reply, "_R_.") ||
	     has_prefix(&cmd->reply, "$JS.ACK.") ||
	     has_prefix(&cmd->reply, "_GR_."))) {
		char buf[1024];

		snprintf(buf, sizeof(buf),
			 "Permissions Violation for Publish with Reply of "
			 "\"%.*s\"",
			 (int)cmd->reply.len, cmd->reply.p);
		client_perm_err(c, buf);
		return;
	}
	if (!perms_can_pub(c->perms, cmd->subject.p, cmd->subject.len) &&
	    !(c->perms->resp &&
	      client_resp_allowed(c, cmd->subject.p, cmd->subject.len))) {
		perm_pub_err(c, &cmd->subject);
		return;
	}
	client_ok(c);
	m.subject = cmd->subject.p;
	m.subject_len = cmd->subject.len;
	if (cmd->reply.p != NULL) {
		m.reply = cmd->reply.p;
		m.reply_len = cmd->reply.len;
	}
	if (hpub && cmd->hdr_len > 0) {
		m.hdr = cmd->payload;
		m.hdr_len = cmd->hdr_len;
	}
	m.data = cmd->payload + (hpub ? cmd->hdr_len : 0);
	m.data_len = cmd->size - (hpub ? cmd->hdr_len : 0);
	if (router_publish(c, c->acc, &m) == 0 && m.reply != NULL &&
	    (c->flags & CONN_F_NO_RESPONDERS))
		client_no_responders(c, &m);
}

static void client_sub_err(struct conn *c, const struct proto_cmd *cmd,
			   const struct proto_str *q, const char *tail)
{
	char buf[1024];

	if (q != NULL)
		snprintf(buf, sizeof(buf),
			 "Permissions Violation for Subscription to \"%.*s\" "
			 "using queue \"%.*s\"%s",
			 (int)cmd->subject.len, cmd->subject.p, (int)q->len,
			 q->p, tail);
	else
		snprintf(buf, sizeof(buf),
			 "Permissions Violation for Subscription to \"%.*s\"%s",
			 (int)cmd->subject.len, cmd->subject.p, tail);
	client_perm_err(c, buf);
}

static void client_sub(struct conn *c, const struct proto_cmd *cmd)
{
	const struct opts *o = server_opts(c->srv);
	const struct proto_str *q = cmd->queue.p ? &cmd->queue : NULL;
	struct sub *s;

	if (!subject_valid(cmd->subject.p, cmd->subject.len)) {
		conn_send_err(c, "Invalid Subject");
		return;
	}
	if (!perms_can_sub(c->perms, cmd->subject.p, cmd->subject.len,
			   q ? q->p : NULL, q ? q->len : 0) ||
	    (q != NULL && q->len == 5 && memcmp(q->p, "_sys_", 5) == 0)) {
		client_sub_err(c, cmd, q, "");
		return;
	}
	if (o->max_sub_tokens > 0 &&
	    subject_tokens(cmd->subject.p, cmd->subject.len) >
		    (size_t)o->max_sub_tokens) {
		client_sub_err(c, cmd, NULL, ", too many tokens");
		return;
	}
	if (sidmap_get(&c->subs, cmd->sid.p, cmd->sid.len) != NULL) {
		client_ok(c); /* a known sid is ignored, as nats-server does */
		return;
	}
	if (c->max_subs > 0 && c->nsubs >= c->max_subs) {
		log_error("%s:%d - cid:%llu - maximum subscriptions exceeded",
			  c->ip, c->port, (unsigned long long)c->cid);
		conn_send_err(c, "maximum subscriptions exceeded");
		return;
	}
	s = sub_new(c, cmd->subject.p, cmd->subject.len, q ? q->p : NULL,
		    q ? q->len : 0, cmd->sid.p, cmd->sid.len);
	if (s == NULL || sidmap_put(&c->subs, s) != 0) {
		sub_free(s);
		conn_close(c, CONN_CLOSE_READ_ERROR);
		return;
	}
	s->acc = c->acc;
	if (account_sub_add(c->acc, s) != 0) {
		sidmap_del(&c->subs, s);
		sub_free(s);
		conn_send_err(c, "Invalid Subject");
		return;
	}
	c->nsubs++;
	client_ok(c);
}

static void client_unsub_now(struct conn *c, struct sub *s)
{
	int expect = 0;

	sidmap_del(&c->subs, s);
	c->nsubs--;
	/* Lost the race to a publisher that hit the auto-unsubscribe
	 * limit: its task removes and frees the sub. */
	if (!atomic_compare_exchange_strong(&s->dead, &expect, 1)) {
		c->nsubs++;
		return;
	}
	account_sub_remove(s->acc, s);
	loop_retire(s, sub_free);
}

static void client_unsub(struct conn *c, const struct proto_cmd *cmd)
{
	struct sub *s;

	s = sidmap_get(&c->subs, cmd->sid.p, cmd->sid.len);
	if (s != NULL) {
		if (cmd->max > 0 && atomic_load(&s->nmsgs) < cmd->max)
			atomic_store(&s->max, cmd->max);
		else
			client_unsub_now(c, s);
	}
	client_ok(c);
}

/* The rest of CONNECT once authentication accepted the client. */
static void client_connect_done(struct conn *c)
{
	c->flags |= CONN_F_CONNECTED;
	loop_timer_cancel(c->w->loop, &c->auth_timer);
	if (c->srv->connect_hook != NULL)
		c->srv->connect_hook(c->srv->monitor, c);
	client_ok(c);
}

void client_auth_finished(struct conn *c, int verdict)
{
	bool was_pending = c->flags & CONN_F_AUTH_PENDING;

	c->flags &= ~CONN_F_AUTH_PENDING;
	if (verdict == AUTH_ACCOUNT_FULL) {
		log_error("%s:%d - cid:%llu - maximum account active "
			  "connections exceeded",
			  c->ip, c->port, (unsigned long long)c->cid);
		conn_fail(c, "maximum account active connections exceeded",
			  CONN_CLOSE_MAX_ACCOUNT_CONNECTIONS);
		return;
	}
	if (verdict != NATSD_AUTH_ACCEPT) {
		log_error("%s:%d - cid:%llu - authentication error", c->ip,
			  c->port, (unsigned long long)c->cid);
		conn_fail(c, "Authorization Violation",
			  CONN_CLOSE_AUTH_FAILURE);
		return;
	}
	if (c->pending_connect) {
		c->pending_connect = false;
		client_connect_done(c);
	}
	if (was_pending) {
		loop_io_mod(c->w->loop, &c->io,
			    EPOLLIN | ((c->flags & CONN_F_WANT_WRITE)
					       ? EPOLLOUT
					       : 0));
		conn_refeed(c);
	}
}

static void client_apply_connect(struct conn *c,
				 const struct proto_connect *ci)
{
#define CONNECT_FLAG(field, flag)                          \
	do {                                               \
		if (ci->has_##field) {                     \
			if (ci->field)                     \
				c->flags |= (flag);        \
			else                               \
				c->flags &= ~(uint32_t)(flag); \
		}                                          \
	} while (0)
	CONNECT_FLAG(verbose, CONN_F_VERBOSE);
	CONNECT_FLAG(pedantic, CONN_F_PEDANTIC);
	CONNECT_FLAG(headers, CONN_F_HEADERS);
	CONNECT_FLAG(no_responders, CONN_F_NO_RESPONDERS);
#undef CONNECT_FLAG
	if (ci->has_echo) {
		if (ci->echo)
			c->flags &= ~(uint32_t)CONN_F_NO_ECHO;
		else
			c->flags |= CONN_F_NO_ECHO;
	}
	if (server_opts(c->srv)->no_header_support)
		c->flags &= ~(uint32_t)CONN_F_HEADERS;
	if (ci->has_protocol)
		c->protocol = (int)ci->protocol;
#define CONNECT_STR(field)                              \
	do {                                            \
		if (ci->field.s != NULL) {              \
			free(c->field);                 \
			c->field = strdup(ci->field.s); \
		}                                       \
	} while (0)
	CONNECT_STR(name);
	CONNECT_STR(lang);
	CONNECT_STR(version);
#undef CONNECT_STR
}

/* Returns false when the connection was closed. */
static bool client_connect(struct conn *c, const struct proto_cmd *cmd)
{
	struct proto_connect ci;
	int verdict;

	proto_connect_init(&ci);
	if (proto_parse_connect(cmd->arg.p, cmd->arg.len, &ci) != 0) {
		proto_connect_fini(&ci);
		conn_close(c, CONN_CLOSE_PARSE_ERROR);
		return false;
	}
	client_apply_connect(c, &ci);
	if (c->acc == NULL) {
		verdict = auth_start(c, &ci);
	} else {
		verdict = NATSD_AUTH_ACCEPT; /* a second CONNECT */
	}
	if (verdict == NATSD_AUTH_REJECT || verdict == NATSD_AUTH_NEXT ||
	    verdict == AUTH_ACCOUNT_FULL) {
		proto_connect_fini(&ci);
		client_auth_finished(c, verdict == AUTH_ACCOUNT_FULL
						? verdict
						: NATSD_AUTH_REJECT);
		return false;
	}
	if (ci.account.len > 0 || (ci.has_new_account && ci.new_account)) {
		proto_connect_fini(&ci);
		conn_fail(c, "Authorization Violation",
			  CONN_CLOSE_AUTH_FAILURE);
		return false;
	}
	if (ci.has_protocol && (ci.protocol < 0 || ci.protocol > 1)) {
		proto_connect_fini(&ci);
		conn_fail(c, "invalid client protocol",
			  CONN_CLOSE_BAD_PROTOCOL);
		return false;
	}
	if ((c->flags & CONN_F_NO_RESPONDERS) &&
	    !(c->flags & CONN_F_HEADERS)) {
		proto_connect_fini(&ci);
		conn_fail(c, "no responders requires headers support",
			  CONN_CLOSE_NO_RESPONDERS_HEADERS);
		return false;
	}
	proto_connect_fini(&ci);
	if (verdict == NATSD_AUTH_PENDING) {
		c->pending_connect = true;
		c->flags |= CONN_F_AUTH_PENDING;
		loop_io_mod(c->w->loop, &c->io,
			    EPOLLRDHUP |
				    ((c->flags & CONN_F_WANT_WRITE) ? EPOLLOUT
								    : 0));
		return true;
	}
	client_connect_done(c);
	return true;
}

/* A first operation other than CONNECT: without required auth the client
 * is let in (as no_auth_user, or into the global account). */
static bool client_implicit_auth(struct conn *c)
{
	int verdict;

	if (c->flags & CONN_F_AUTH_REQUIRED) {
		log_error("%s:%d - cid:%llu - Authorization Violation: "
			  "operation before CONNECT",
			  c->ip, c->port, (unsigned long long)c->cid);
		conn_fail(c, "Authorization Violation",
			  CONN_CLOSE_AUTH_FAILURE);
		return false;
	}
	verdict = auth_start(c, NULL);
	if (verdict != NATSD_AUTH_ACCEPT) {
		client_auth_finished(c, verdict == AUTH_ACCOUNT_FULL
						? verdict
						: NATSD_AUTH_REJECT);
		return false;
	}
	return true;
}

static bool client_info_valid(const struct proto_cmd *cmd)
{
	json_t *j;
	bool ok;

	if (cmd->arg.len == 0)
		return false;
	j = json_loadb(cmd->arg.p, cmd->arg.len, JSON_DECODE_ANY, NULL);
	ok = j != NULL && (json_is_object(j) || json_is_null(j));
	json_decref(j);
	return ok;
}

/* Runs one parsed operation. Returns false when reading must stop (the
 * connection closed, or waits for an authenticator). */
static bool client_run(struct conn *c, const struct proto_cmd *cmd)
{
	/* With authentication required, nats-server takes nothing but
	 * CONNECT first, not even PING. */
	if (c->acc == NULL && cmd->op != PROTO_OP_CONNECT &&
	    (c->flags & CONN_F_AUTH_REQUIRED))
		return client_implicit_auth(c);
	switch (cmd->op) {
	case PROTO_OP_PING:
		if (conn_tracing())
			conn_trace(c, "->>", "PONG", 4);
		conn_send(c, "PONG\r\n", 6);
		return true;
	case PROTO_OP_PONG:
		c->pings_out = 0;
		if (c->ping_sent_ns != 0) {
			c->rtt_ns = loop_mono_ns() - c->ping_sent_ns;
			c->ping_sent_ns = 0;
		}
		return true;
	case PROTO_OP_CONNECT:
		return client_connect(c, cmd) &&
		       !(c->flags & CONN_F_AUTH_PENDING);
	case PROTO_OP_INFO:
		/* nats-server decodes a client's INFO and closes on bad JSON. */
		if (!client_info_valid(cmd)) {
			conn_close(c, CONN_CLOSE_PARSE_ERROR);
			return false;
		}
		return true;
	case PROTO_OP_OK:
		return true;
	case PROTO_OP_ERR:
		conn_close(c, CONN_CLOSE_CLIENT_CLOSED);
		return false;
	default:
		break;
	}
	if (c->acc == NULL && !client_implicit_auth(c))
		return false;
	switch (cmd->op) {
	case PROTO_OP_PUB:
	case PROTO_OP_HPUB:
		client_pub(c, cmd);
		break;
	case PROTO_OP_SUB:
		client_sub(c, cmd);
		break;
	case PROTO_OP_UNSUB:
		client_unsub(c, cmd);
		break;
	default:
		break;
	}
	return !(c->flags & CONN_F_CLOSED);
}

ssize_t client_feed(struct conn *c, char *buf, size_t len, size_t *need)
{
	struct proto_limits lim;
	struct proto_cmd cmd;
	size_t off = 0;
	int n;

	lim.max_control_line = (uint32_t)server_opts(c->srv)->max_control_line;
	*need = 0;
	while (off < len) {
		/* A CONNECT earlier in this buffer may change these. */
		lim.max_payload = c->max_payload;
		lim.hpub_refused = !(c->flags & CONN_F_HEADERS);
		n = proto_parse(buf + off, len - off, &lim, &cmd, need);
		if (n == PROTO_MORE)
			return (ssize_t)off;
		if (n < 0) {
			switch (n) {
			case PROTO_E_UNKNOWN_OP:
				conn_fail(c, "Unknown Protocol Operation",
					  CONN_CLOSE_PROTOCOL_VIOLATION);
				break;
			case PROTO_E_CONTROL_LINE:
				conn_fail(c,
					  "maximum control line "
					  "exceeded",
					  CONN_CLOSE_MAX_CONTROL_LINE);
				break;
			case PROTO_E_MAX_PAYLOAD:
				conn_fail(c, "Maximum Payload Violation",
					  CONN_CLOSE_MAX_PAYLOAD);
				break;
			default:
				conn_close(c, CONN_CLOSE_PARSE_ERROR);
				break;
			}
			return (ssize_t)off;
		}
		if (conn_tracing())
			client_trace_in(c, buf + off, (size_t)n, &cmd);
		off += (size_t)n;
		if (!client_run(c, &cmd))
			return (ssize_t)off;
	}
	return (ssize_t)off;
}
