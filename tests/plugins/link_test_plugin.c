/* Test plugin "linktest": a route-kind link with a line protocol of its
 * own, to exercise the link part of the ABI between two real servers.
 *
 * Settings (all optional):
 *   listen_port  int     listen on 127.0.0.1:listen_port (0: any port)
 *   port_file    string  where the bound port is written, for the test
 *   peer_port    int     dial 127.0.0.1:peer_port, every 200 ms until it
 *                        answers (at most 100 tries)
 *   tls_listen   bool    listen through "tcp,tls" (the tls plugin's own
 *                        settings make the server side)
 *   tls_dial     group   once a dial connects, push the tls layer with
 *                        these settings (client = true; ca_file; ...)
 *
 * The protocol, one frame per line, the same in both directions:
 *   HELLO <server_id>                  sent by both sides on open; after
 *                                      the peer's, the link is up
 *   + <account> <subject> [<queue> <weight>]      interest appeared or a
 *                                                 queue's weight changed
 *   - <account> <subject> [<queue>]               interest went away
 *   M <account> <subject> <reply|-> <hdrlen> <datalen> [<queue>...]
 *   <hdrlen bytes of headers><datalen bytes of data>\n
 * The queues of an M frame are the groups the sender picked this server
 * for; the receiver delivers to one local member of each.
 *
 * interest() and forward() run on any thread, possibly while the
 * connection closes on its own: they touch only the plugin's settings and
 * the host's thread-safe conn_send, never the per-connection state, which
 * belongs to the connection's I/O thread. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <natsd/plugin.h>

#define LT_NAME		"linktest"
#define LT_HOST		"127.0.0.1"
#define LT_RETRY_MS	200
#define LT_MAX_TRIES	100
#define LT_MAX_LINE	4096 /* a control line, without the '\n' */
#define LT_MAX_TOKENS	(6 + LT_MAX_QUEUES)
#define LT_MAX_QUEUES	64
#define LT_MAX_PAYLOAD	(64 * 1024 * 1024)

struct linktest {
	struct natsd_host *h;
	const struct natsd_host_api *api;
	int64_t listen_port; /* -1: do not listen */
	int64_t peer_port;   /* -1: do not dial */
	const char *port_file;
	int tries; /* dial attempts so far; main loop only */
	bool tls_listen;
	const struct natsd_cfg *tls_dial;
};

/* Per connection, used on its I/O thread only. */
struct lt_conn {
	bool up; /* the peer's HELLO arrived */
};

/* A control line split at spaces, in a NUL-terminated copy. */
struct lt_line {
	char buf[LT_MAX_LINE + 1];
	char *tok[LT_MAX_TOKENS];
	int ntok;
};

static void lt_dial(struct linktest *lt);

/* Splits line[0..len) into words. 0, or NATSD_EPROTO when the line is
 * too long or has too many words. */
static int lt_split(struct lt_line *l, const char *line, size_t len)
{
	char *p;

	if (len > LT_MAX_LINE)
		return NATSD_EPROTO;
	memcpy(l->buf, line, len);
	l->buf[len] = '\0';
	if (len > 0 && l->buf[len - 1] == '\r')
		l->buf[len - 1] = '\0';
	l->ntok = 0;
	p = l->buf;
	for (;;) {
		while (*p == ' ')
			*p++ = '\0';
		if (*p == '\0')
			return 0;
		if (l->ntok == LT_MAX_TOKENS)
			return NATSD_EPROTO;
		l->tok[l->ntok++] = p;
		while (*p != '\0' && *p != ' ')
			p++;
	}
}

/* Parses a decimal number in [0, max]. 0 or NATSD_EPROTO. */
static int lt_number(const char *s, long long max, long long *out)
{
	long long v = 0;

	if (*s == '\0')
		return NATSD_EPROTO;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return NATSD_EPROTO;
		v = v * 10 + (*s - '0');
		if (v > max)
			return NATSD_EPROTO;
	}
	*out = v;
	return 0;
}

/* Dialing. */

static void lt_retry_fire(void *arg)
{
	lt_dial(arg);
}

/* Any thread: the attempt itself runs on the main loop. */
static void lt_retry(struct linktest *lt)
{
	if (lt->api->timer_add(lt->h, LT_RETRY_MS, lt_retry_fire, lt) != 0)
		lt->api->log(lt->h, NATSD_LOG_ERROR,
			     "linktest: cannot schedule a dial retry");
}

/* On the main loop (start() or a retry timer), so tries needs no lock. A
 * dial that fails later comes back through on_close() without a
 * connection context. */
static void lt_dial(struct linktest *lt)
{
	char err[256] = "";
	int rc;

	if (lt->tries >= LT_MAX_TRIES) {
		lt->api->log(lt->h, NATSD_LOG_ERROR,
			     "linktest: giving up on %s:%lld after %d tries",
			     LT_HOST, (long long)lt->peer_port, lt->tries);
		return;
	}
	lt->tries++;
	rc = lt->api->link_dial(lt->h, LT_NAME, "tcp", LT_HOST,
				(int)lt->peer_port, lt, err, sizeof(err));
	if (rc == 0)
		return;
	lt->api->log(lt->h, NATSD_LOG_DEBUG, "linktest: dial failed: %s",
		     err[0] != '\0' ? err : "no reason given");
	lt_retry(lt);
}

/* Writes the port to port_file through a temporary file, so that the
 * test never reads a half-written number. */
static int lt_write_port(struct linktest *lt, int port)
{
	char tmp[4096];
	FILE *f;
	int n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", lt->port_file);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return NATSD_ERANGE;
	f = fopen(tmp, "w");
	if (f == NULL)
		return NATSD_EIO;
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0 || rename(tmp, lt->port_file) != 0) {
		remove(tmp);
		return NATSD_EIO;
	}
	return 0;
}

static int lt_start(void *pctx)
{
	struct linktest *lt = pctx;
	struct natsd_listen_spec spec = { .struct_size = sizeof(spec) };
	char err[256] = "";
	int port = 0, rc;

	if (lt->listen_port >= 0) {
		spec.host = LT_HOST;
		spec.port = (int)lt->listen_port;
		spec.backlog = 16;
		rc = lt->api->link_listen(lt->h, LT_NAME,
					  lt->tls_listen ? "tcp,tls" : "tcp",
					  &spec, &port, err, sizeof(err));
		if (rc != 0) {
			lt->api->log(lt->h, NATSD_LOG_ERROR,
				     "linktest: cannot listen: %s", err);
			return rc;
		}
		lt->api->log(lt->h, NATSD_LOG_INFO,
			     "linktest: listening on %s:%d", LT_HOST, port);
		if (lt->port_file != NULL) {
			rc = lt_write_port(lt, port);
			if (rc != 0) {
				lt->api->log(lt->h, NATSD_LOG_ERROR,
					     "linktest: cannot write %s",
					     lt->port_file);
				return rc;
			}
		}
	}
	if (lt->peer_port >= 0)
		lt_dial(lt);
	return 0;
}

/* Connections. */

static int lt_on_open(void *pctx, struct natsd_conn *c, bool dialed,
		      void **cctx)
{
	struct linktest *lt = pctx;
	struct lt_conn *lc;
	char hello[128];
	int n;

	lc = calloc(1, sizeof(*lc));
	if (lc == NULL)
		return NATSD_ENOMEM;
	*cctx = lc;
	lt->api->log(lt->h, NATSD_LOG_DEBUG, "linktest: %s %s",
		     dialed ? "connected to" : "accepted",
		     lt->api->conn_peer(c));
	if (dialed && lt->tls_dial != NULL) {
		n = lt->api->conn_push(c, "tls", lt->tls_dial);
		if (n != 0) {
			lt->api->log(lt->h, NATSD_LOG_ERROR,
				     "linktest: cannot start TLS: error %d", n);
			return n;
		}
	}
	n = snprintf(hello, sizeof(hello), "HELLO %s\n",
		     lt->api->server_id(lt->h));
	return lt->api->conn_send(c, hello, (size_t)n);
}

static int lt_hello(struct linktest *lt, struct natsd_conn *c,
		    struct lt_conn *lc, const struct lt_line *l)
{
	int rc;

	if (lc->up || l->ntok != 2)
		return NATSD_EPROTO;
	if (strcmp(l->tok[1], lt->api->server_id(lt->h)) == 0) {
		lt->api->log(lt->h, NATSD_LOG_WARN,
			     "linktest: connected to myself, closing");
		return NATSD_EPROTO;
	}
	lc->up = true;
	lt->api->log(lt->h, NATSD_LOG_INFO, "linktest: link up with %s (%s)",
		     l->tok[1], lt->api->conn_peer(c));
	/* Replays our interest through interest(), after our HELLO. */
	rc = lt->api->link_up(c);
	return rc;
}

static int lt_interest_in(struct linktest *lt, struct natsd_conn *c,
			  const struct lt_line *l)
{
	long long w = 1;
	int rc;

	if (l->tok[0][0] == '+') {
		if (l->ntok == 3)
			return lt->api->interest_add(c, l->tok[1], l->tok[2],
						     NULL, 0);
		if (l->ntok != 5 || lt_number(l->tok[4], INT32_MAX, &w) != 0)
			return NATSD_EPROTO;
		return lt->api->interest_add(c, l->tok[1], l->tok[2],
					     l->tok[3], (int32_t)w);
	}
	if (l->ntok != 3 && l->ntok != 4)
		return NATSD_EPROTO;
	rc = lt->api->interest_remove(c, l->tok[1], l->tok[2],
				      l->ntok == 4 ? l->tok[3] : NULL);
	/* A replay may announce a removal twice. */
	return rc == NATSD_ENOENT ? 0 : rc;
}

/* An M frame whose control line is l. Returns the bytes of payload and
 * trailer consumed (0: not all here yet), or a negative code. */
static ssize_t lt_msg_in(struct linktest *lt, struct natsd_conn *c,
			 const struct lt_line *l, const char *p, size_t avail)
{
	struct natsd_msg m = { .struct_size = sizeof(m) };
	const char *queues[LT_MAX_QUEUES];
	long long hlen, dlen;
	size_t need;
	int i, rc;

	if (l->ntok < 6 || l->ntok - 6 > LT_MAX_QUEUES ||
	    lt_number(l->tok[4], LT_MAX_PAYLOAD, &hlen) != 0 ||
	    lt_number(l->tok[5], LT_MAX_PAYLOAD, &dlen) != 0)
		return NATSD_EPROTO;
	need = (size_t)hlen + (size_t)dlen + 1;
	if (avail < need)
		return 0;
	if (p[need - 1] != '\n')
		return NATSD_EPROTO;
	for (i = 6; i < l->ntok; i++)
		queues[i - 6] = l->tok[i];
	m.account = l->tok[1];
	m.subject = l->tok[2];
	m.subject_len = (uint32_t)strlen(l->tok[2]);
	if (strcmp(l->tok[3], "-") != 0) {
		m.reply = l->tok[3];
		m.reply_len = (uint32_t)strlen(l->tok[3]);
	}
	m.hdr = hlen > 0 ? p : NULL;
	m.hdr_len = (uint32_t)hlen;
	m.data = p + hlen;
	m.data_len = (uint32_t)dlen;
	m.queues = queues;
	m.nqueues = (uint32_t)(l->ntok - 6);
	rc = lt->api->inject(c, &m);
	/* An account the peer knows and we do not has no one to deliver
	 * to here. */
	if (rc != 0 && rc != NATSD_ENOENT)
		return rc;
	return (ssize_t)need;
}

/* Handles the frame at buf[0..len). Returns the bytes it takes (0: not
 * complete yet), or a negative code to close the link. */
static ssize_t lt_frame(struct linktest *lt, struct natsd_conn *c,
			struct lt_conn *lc, const char *buf, size_t len)
{
	struct lt_line l;
	const char *nl;
	size_t linelen;
	ssize_t n;
	int rc;

	nl = memchr(buf, '\n', len);
	if (nl == NULL)
		return len > LT_MAX_LINE ? NATSD_EPROTO : 0;
	linelen = (size_t)(nl - buf);
	rc = lt_split(&l, buf, linelen);
	if (rc != 0 || l.ntok == 0)
		return NATSD_EPROTO;
	if (strcmp(l.tok[0], "HELLO") == 0) {
		rc = lt_hello(lt, c, lc, &l);
		return rc != 0 ? rc : (ssize_t)(linelen + 1);
	}
	if (!lc->up)
		return NATSD_EPROTO;
	if (strcmp(l.tok[0], "+") == 0 || strcmp(l.tok[0], "-") == 0) {
		rc = lt_interest_in(lt, c, &l);
		return rc != 0 ? rc : (ssize_t)(linelen + 1);
	}
	if (strcmp(l.tok[0], "M") != 0)
		return NATSD_EPROTO;
	n = lt_msg_in(lt, c, &l, nl + 1, len - linelen - 1);
	if (n <= 0)
		return n;
	return (ssize_t)(linelen + 1) + n;
}

static ssize_t lt_on_data(void *pctx, struct natsd_conn *c, void *cctx,
			  const char *buf, size_t len)
{
	struct linktest *lt = pctx;
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = lt_frame(lt, c, cctx, buf + off, len - off);
		if (n < 0) {
			lt->api->log(lt->h, NATSD_LOG_ERROR,
				     "linktest: protocol error from %s",
				     lt->api->conn_peer(c));
			return n;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	return (ssize_t)off;
}

static void lt_on_close(void *pctx, struct natsd_conn *c, void *cctx,
			const char *reason)
{
	struct linktest *lt = pctx;
	struct lt_conn *lc = cctx;

	if (lc == NULL) {
		/* Never opened: a dial of ours that did not connect. */
		if (lt->api->conn_dial_arg(c) == lt)
			lt_retry(lt);
		return;
	}
	lt->api->log(lt->h, NATSD_LOG_INFO, "linktest: link closed (%s): %s",
		     lt->api->conn_peer(c), reason != NULL ? reason : "?");
	free(lc);
}

/* Outbound frames: any thread. */

static void lt_interest(void *pctx, struct natsd_conn *c, void *cctx,
			const struct natsd_interest *ev)
{
	struct linktest *lt = pctx;
	char line[LT_MAX_LINE];
	int n;

	(void)cctx;
	if (ev->queue == NULL)
		n = snprintf(line, sizeof(line), "%c %s %s\n",
			     ev->add ? '+' : '-', ev->account, ev->subject);
	else if (ev->add)
		n = snprintf(line, sizeof(line), "+ %s %s %s %d\n",
			     ev->account, ev->subject, ev->queue,
			     (int)ev->weight);
	else
		n = snprintf(line, sizeof(line), "- %s %s %s\n", ev->account,
			     ev->subject, ev->queue);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		lt->api->log(lt->h, NATSD_LOG_ERROR,
			     "linktest: interest in %s too long to send",
			     ev->subject);
		return;
	}
	lt->api->conn_send(c, line, (size_t)n);
}

/* Formats the control line of m into buf. Returns its length, or -1 when
 * it does not fit in cap. */
static int lt_msg_line(char *buf, size_t cap, const struct natsd_msg *m)
{
	size_t used;
	uint32_t i;
	int n;

	n = snprintf(buf, cap, "M %s %.*s %.*s %u %u", m->account,
		     (int)m->subject_len, m->subject,
		     m->reply != NULL ? (int)m->reply_len : 1,
		     m->reply != NULL ? m->reply : "-",
		     m->hdr != NULL ? m->hdr_len : 0u, m->data_len);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	used = (size_t)n;
	for (i = 0; i < m->nqueues; i++) {
		n = snprintf(buf + used, cap - used, " %s", m->queues[i]);
		if (n < 0 || (size_t)n >= cap - used)
			return -1;
		used += (size_t)n;
	}
	if (used + 1 >= cap)
		return -1;
	buf[used++] = '\n';
	buf[used] = '\0';
	return (int)used;
}

static void lt_forward(void *pctx, struct natsd_conn *c, void *cctx,
		       const struct natsd_msg *m)
{
	struct linktest *lt = pctx;
	char line[LT_MAX_LINE];
	struct iovec iov[4];
	int n, cnt = 0;

	(void)cctx;
	n = lt_msg_line(line, sizeof(line), m);
	if (n < 0) {
		lt->api->log(lt->h, NATSD_LOG_ERROR,
			     "linktest: message on %.*s too big to frame",
			     (int)m->subject_len, m->subject);
		return;
	}
	iov[cnt].iov_base = line;
	iov[cnt++].iov_len = (size_t)n;
	if (m->hdr != NULL && m->hdr_len > 0) {
		iov[cnt].iov_base = (void *)m->hdr;
		iov[cnt++].iov_len = m->hdr_len;
	}
	iov[cnt].iov_base = (void *)m->data;
	iov[cnt++].iov_len = m->data_len;
	iov[cnt].iov_base = "\n";
	iov[cnt++].iov_len = 1;
	lt->api->conn_sendv(c, iov, cnt);
}

static const struct natsd_link_ops lt_ops = {
	.struct_size = sizeof(struct natsd_link_ops),
	.name = LT_NAME,
	.kind = NATSD_KIND_ROUTE,
	.start = lt_start,
	.on_open = lt_on_open,
	.on_data = lt_on_data,
	.on_close = lt_on_close,
	.interest = lt_interest,
	.forward = lt_forward,
};

/* Reads an optional port setting into *out (-1 when absent). */
static int lt_port_setting(struct linktest *lt, const struct natsd_cfg *cfg,
			   const char *key, int64_t *out, char *err,
			   size_t errlen)
{
	int rc;

	*out = -1;
	if (cfg == NULL)
		return 0;
	rc = lt->api->cfg_int(cfg, key, out);
	if (rc == NATSD_ENOENT) {
		*out = -1;
		return 0;
	}
	if (rc != 0 || *out < 0 || *out > 65535) {
		snprintf(err, errlen,
			 "linktest: %s must be an integer from 0 to 65535",
			 key);
		return NATSD_EINVAL;
	}
	return 0;
}

static int lt_settings(struct linktest *lt, const struct natsd_cfg *cfg,
		       char *err, size_t errlen)
{
	int rc;

	rc = lt_port_setting(lt, cfg, "listen_port", &lt->listen_port, err,
			     errlen);
	if (rc == 0)
		rc = lt_port_setting(lt, cfg, "peer_port", &lt->peer_port, err,
				     errlen);
	if (rc != 0 || cfg == NULL)
		return rc;
	rc = lt->api->cfg_bool(cfg, "tls_listen", &lt->tls_listen);
	if (rc != 0 && rc != NATSD_ENOENT) {
		snprintf(err, errlen, "linktest: tls_listen must be a bool");
		return rc;
	}
	rc = lt->api->cfg_section(cfg, "tls_dial", &lt->tls_dial);
	if (rc != 0 && rc != NATSD_ENOENT) {
		snprintf(err, errlen, "linktest: tls_dial must be a group");
		return rc;
	}
	if (lt->tls_dial != NULL && !NATSD_HAS(lt->api, conn_push)) {
		snprintf(err, errlen, "linktest: tls_dial needs ABI 1.1");
		return NATSD_ENOTSUP;
	}
	rc = lt->api->cfg_string(cfg, "port_file", &lt->port_file);
	if (rc == NATSD_ENOENT)
		return 0;
	if (rc != 0)
		snprintf(err, errlen, "linktest: port_file must be a string");
	return rc;
}

static int lt_init(struct natsd_host *h, const struct natsd_host_api *api,
		   const struct natsd_cfg *cfg, void **ctx, char *err,
		   size_t errlen)
{
	struct linktest *lt;
	int rc;

	lt = calloc(1, sizeof(*lt));
	if (lt == NULL)
		return NATSD_ENOMEM;
	lt->h = h;
	lt->api = api;
	rc = lt_settings(lt, cfg, err, errlen);
	if (rc == 0 && lt->peer_port == 0) {
		snprintf(err, errlen, "linktest: peer_port cannot be 0");
		rc = NATSD_EINVAL;
	}
	if (rc == 0) {
		rc = api->register_link(h, &lt_ops, lt);
		if (rc != 0)
			snprintf(err, errlen,
				 "linktest: cannot register: error %d", rc);
	}
	if (rc != 0) {
		free(lt);
		return rc;
	}
	*ctx = lt;
	return 0;
}

static void lt_fini(void *ctx)
{
	free(ctx);
}

static const struct natsd_plugin lt_plugin = {
	NATSD_PLUGIN_INIT,
	.name = LT_NAME,
	.version = "1.0.0",
	.init = lt_init,
	.fini = lt_fini,
};

const struct natsd_plugin *natsd_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	(void)host_major;
	(void)host_minor;
	return &lt_plugin;
}
