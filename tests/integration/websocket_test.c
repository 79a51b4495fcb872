#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem() */
#endif

/*
 * WebSocket clients, over raw sockets for exact bytes: the upgrade reply
 * and the HTTP error replies, frames (split and fragmented NATS commands,
 * ping, close), protocol errors, compression and a deflate bomb, the
 * handshake timeout, the websocket block's own authorization and
 * allowed_connection_types, and start-up. Where nats-server's behaviour
 * is deterministic, the same bytes go to natsd and to nats-server
 * started with the equivalent config, and the replies are compared (the
 * Date header masked); where nats-server races (it may close before its
 * close frame is out) natsd's close frame is checked alone.
 *
 * wss:// (a tls block in the websocket block): the same client over
 * OpenSSL, with certificates made at start by tests/tls/make-certs.sh:
 * the upgrade and INFO, plain HTTP to the wss port, handshakes that never
 * end, client certificates (verify, verify_and_map), a bad upgrade inside
 * TLS, same_origin with a Host without a port, start-up and ports file.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <zlib.h>

#include "harness.h"
#include "itest.h"
#include "monhttp.h"

#define WATCHDOG_S 90
#define WAIT_MS    ITEST_WAIT_MS
#define KEY        "dGhlIHNhbXBsZSBub25jZQ=="

#ifndef TLS_CERT_SCRIPT
#define TLS_CERT_SCRIPT "tests/tls/make-certs.sh"
#endif

/* The certificates of the wss cases (made once, in main()). */
static char certs[64];

/* natsd and nats-server, each with a websocket listener. */
struct pair {
	struct hserver s[2];
	int ws[2];
};

static const char *const kinds[2] = { "natsd", "nats-server" };
static struct pair gp;
static struct hserver single;

/* Starts both servers, each on a free websocket port: natsd with
 * "<top> websocket = { port = N; <nd> };", nats-server with
 * "<top_ns> websocket { port: N <ns> }". */
static bool pair_launch(struct pair *p, const char *top, const char *nd,
			const char *top_ns, const char *ns)
{
	char conf[4096];
	int k;

	memset(p, 0, sizeof(*p));
	for (k = 0; k < 2; k++) {
		p->ws[k] = harness_free_port();
		if (k == 0)
			snprintf(conf, sizeof(conf),
				 "%s\nwebsocket = { port = %d; %s };\n",
				 top ? top : "", p->ws[k], nd);
		else
			snprintf(conf, sizeof(conf),
				 "%s\nwebsocket {\nport: %d\n%s\n}\n",
				 top_ns ? top_ns : "", p->ws[k], ns);
		if (harness_start(&p->s[k], kinds[k], conf, NULL) != 0)
			return false;
	}
	return true;
}

/* Starts both servers with no_tls and nd / ns in their websocket
 * blocks, after top (natsd) / top_ns. */
static bool pair_start(struct pair *p, const char *top, const char *nd,
		       const char *top_ns, const char *ns)
{
	char a[2048], b[2048];

	snprintf(a, sizeof(a), "no_tls = true; %s", nd ? nd : "");
	snprintf(b, sizeof(b), "no_tls: true, %s", ns ? ns : "");
	return pair_launch(p, top, a, top_ns, b);
}

static void pair_stop(struct pair *p)
{
	CU_ASSERT(itest_stop(&p->s[0]));
	harness_stop(&p->s[1]);
}

/* ------------------------------------------------------------------ */
/* A raw websocket client                                              */

struct wsc {
	int fd;
	SSL_CTX *ctx; /* wss: the TLS session over fd */
	SSL *ssl;
	uint8_t buf[1 << 20];
	size_t len;
	bool eof;
	z_stream z;
	bool zinit;
};

/* Reads more into c->buf; false at end of stream or after timeout_ms. */
static bool wsc_fill(struct wsc *c, int timeout_ms)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	ssize_t n;

	if (c->eof || c->len == sizeof(c->buf))
		return false;
	if ((c->ssl == NULL || SSL_pending(c->ssl) == 0) &&
	    poll(&pfd, 1, timeout_ms) <= 0)
		return false;
	if (c->ssl != NULL) {
		int r = SSL_read(c->ssl, c->buf + c->len,
				 (int)(sizeof(c->buf) - c->len));

		/* A record not yet whole: more comes. */
		if (r <= 0 && SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ)
			return true;
		n = r;
	} else {
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	}
	if (n <= 0) {
		c->eof = true;
		return false;
	}
	c->len += (size_t)n;
	return true;
}

static void wsc_drop(struct wsc *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* Writes all of p: over TLS when the client has it. */
static int wsc_write(struct wsc *c, const void *p, size_t n)
{
	if (c->ssl == NULL)
		return harness_send(c->fd, p, n);
	return SSL_write(c->ssl, p, (int)n) == (int)n ? 0 : -1;
}

static void wsc_free(struct wsc *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static struct wsc *wsc_request(struct wsc *c, const char *req, char *head,
			       size_t cap);

/* Sends req and reads the HTTP reply head into head (NUL-terminated).
 * Returns the socket's struct, or NULL when nothing came. */
static struct wsc *wsc_open(int port, const char *req, char *head, size_t cap)
{
	struct wsc *c = calloc(1, sizeof(*c));

	CU_ASSERT_FATAL(c != NULL);
	c->fd = harness_connect(port);
	if (c->fd < 0) {
		free(c);
		return NULL;
	}
	return wsc_request(c, req, head, cap);
}

/* A TLS client of port trusting the test CA, with the client certificate
 * cert (base name; NULL: none). NULL when the handshake fails, with
 * OpenSSL's reason in why (may be NULL). */
static struct wsc *wsc_tls(int port, const char *cert, char *why, size_t whylen)
{
	struct wsc *c = calloc(1, sizeof(*c));
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
	char a[256], b[256];
	int r;

	CU_ASSERT_FATAL(c != NULL);
	if (why != NULL)
		why[0] = '\0';
	c->fd = harness_connect(port);
	c->ctx = SSL_CTX_new(TLS_client_method());
	CU_ASSERT_FATAL(c->fd >= 0 && c->ctx != NULL);
	/* Blocking, but bounded: the handshake of a test client. */
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(a, sizeof(a), "%s/ca.pem", certs);
	SSL_CTX_load_verify_locations(c->ctx, a, NULL);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (cert != NULL) {
		snprintf(a, sizeof(a), "%s/%s.pem", certs, cert);
		snprintf(b, sizeof(b), "%s/%s.key", certs, cert);
		CU_ASSERT_FATAL(
			SSL_CTX_use_certificate_chain_file(c->ctx, a) == 1 &&
			SSL_CTX_use_PrivateKey_file(c->ctx, b,
						    SSL_FILETYPE_PEM) == 1);
	}
	c->ssl = SSL_new(c->ctx);
	CU_ASSERT_FATAL(c->ssl != NULL);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, "localhost");
	ERR_clear_error();
	r = SSL_connect(c->ssl);
	if (r == 1) {
		/* TLS 1.3: a refused client certificate shows only on the
		 * first read, as an alert; a good one gives a timeout. */
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int fl = fcntl(c->fd, F_GETFL);
		char byte;

		if (poll(&pfd, 1, 300) <= 0)
			return c;
		/* Session tickets are read, no application data waited
		 * for. */
		fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
		r = SSL_peek(c->ssl, &byte, 1);
		fcntl(c->fd, F_SETFL, fl);
		if (r > 0 || SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ)
			return c;
	}
	if (why != NULL)
		snprintf(
			why, whylen, "%s",
			ERR_peek_last_error() != 0
				? ERR_reason_error_string(ERR_peek_last_error())
				: "closed");
	wsc_free(c);
	return NULL;
}

/* wss: the upgrade request req over a new TLS client. */
static struct wsc *wsc_open_tls(int port, const char *cert, const char *req,
				char *head, size_t cap)
{
	struct wsc *c = wsc_tls(port, cert, NULL, 0);

	head[0] = '\0';
	if (c == NULL)
		return NULL;
	return wsc_request(c, req, head, cap);
}

static struct wsc *wsc_request(struct wsc *c, const char *req, char *head,
			       size_t cap)
{
	long long end = itest_mono_ms() + WAIT_MS;
	uint8_t *e;
	size_t n;

	if (wsc_write(c, req, strlen(req)) != 0) {
		wsc_free(c);
		return NULL;
	}
	head[0] = '\0';
	for (;;) {
		e = c->len >= 4 ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
		if (e != NULL)
			break;
		if (itest_mono_ms() > end ||
		    !wsc_fill(c, (int)(end - itest_mono_ms()))) {
			/* Whatever came (an error body without CRLFCRLF). */
			n = c->len < cap - 1 ? c->len : cap - 1;
			memcpy(head, c->buf, n);
			head[n] = '\0';
			c->len = 0;
			return c;
		}
	}
	n = (size_t)(e + 4 - c->buf);
	if (n > cap - 1)
		n = cap - 1;
	memcpy(head, c->buf, n);
	head[n] = '\0';
	wsc_drop(c, (size_t)(e + 4 - c->buf));
	return c;
}

static void wsc_close(struct wsc *c)
{
	if (c == NULL)
		return;
	if (c->zinit)
		inflateEnd(&c->z);
	wsc_free(c);
}

static char *upgrade_req(char *buf, size_t cap, const char *extra)
{
	snprintf(buf, cap,
		 "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
		 "Sec-WebSocket-Version: 13\r\n%s\r\n",
		 extra ? extra : "");
	return buf;
}

/* Sends one client frame: masked unless unmasked, with rsv bits. */
static void wsc_send(struct wsc *c, int op, bool fin, int rsv, const void *p,
		     size_t n, bool unmasked)
{
	static const uint8_t key[4] = { 0x11, 0x22, 0x33, 0x44 };
	uint8_t *f = malloc(n + 14);
	size_t h = 0, i;

	CU_ASSERT_FATAL(f != NULL);
	f[h++] = (uint8_t)((fin ? 0x80 : 0) | rsv | op);
	if (n < 126) {
		f[h++] = (uint8_t)((unmasked ? 0 : 0x80) | n);
	} else if (n < 65536) {
		f[h++] = (uint8_t)((unmasked ? 0 : 0x80) | 126);
		f[h++] = (uint8_t)(n >> 8);
		f[h++] = (uint8_t)n;
	} else {
		f[h++] = (uint8_t)((unmasked ? 0 : 0x80) | 127);
		for (i = 0; i < 8; i++)
			f[h++] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
	}
	if (!unmasked) {
		memcpy(f + h, key, 4);
		h += 4;
	}
	for (i = 0; i < n; i++)
		f[h + i] =
			((const uint8_t *)p)[i] ^ (unmasked ? 0 : key[i & 3]);
	wsc_write(c, f, h + n);
	free(f);
}

static void wsc_send_str(struct wsc *c, const char *s)
{
	wsc_send(c, 2, true, 0, s, strlen(s), false);
}

/* Compresses p as one permessage-deflate message and sends it. */
static void wsc_send_z(struct wsc *c, const void *p, size_t n)
{
	z_stream z = { 0 };
	size_t cap = n + n / 100 + 64;
	uint8_t *out = malloc(cap);

	CU_ASSERT_FATAL(out != NULL);
	deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (uint8_t *)p;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	deflate(&z, Z_SYNC_FLUSH);
	wsc_send(c, 2, true, 0x40, out, cap - z.avail_out - 4, false);
	deflateEnd(&z);
	free(out);
}

/* Reads one server frame: its opcode (-1: none within timeout, -2: end
 * of stream), its payload (inflated when compressed) in out. */
static int wsc_frame(struct wsc *c, char *out, size_t cap, size_t *len,
		     bool *compressed, int timeout_ms)
{
	long long end = itest_mono_ms() + timeout_ms;
	uint64_t n;
	size_t h;
	int op;

	*len = 0;
	for (;;) {
		if (c->len >= 2) {
			n = c->buf[1] & 0x7f;
			h = 2;
			if (n == 126 && c->len >= 4) {
				n = (uint64_t)c->buf[2] << 8 | c->buf[3];
				h = 4;
			} else if (n == 127 && c->len >= 10) {
				n = 0;
				for (h = 2; h < 10; h++)
					n = n << 8 | c->buf[h];
			} else if (n >= 126) {
				n = UINT64_MAX;
			}
			if (n != UINT64_MAX && c->len >= h + n)
				break;
		}
		if (itest_mono_ms() >= end)
			return -1;
		if (!wsc_fill(c, (int)(end - itest_mono_ms())))
			return c->eof ? -2 : -1;
	}
	op = c->buf[0] & 0x0f;
	if (compressed != NULL)
		*compressed = (c->buf[0] & 0x40) != 0;
	if (c->buf[0] & 0x40) {
		static const uint8_t tail[4] = { 0, 0, 0xff, 0xff };
		uint8_t *in = malloc(n + 4);

		CU_ASSERT_FATAL(in != NULL);
		memcpy(in, c->buf + h, n);
		memcpy(in + n, tail, 4);
		if (!c->zinit) {
			inflateInit2(&c->z, -15);
			c->zinit = true;
		}
		c->z.next_in = in;
		c->z.avail_in = (uInt)(n + 4);
		c->z.next_out = (uint8_t *)out;
		c->z.avail_out = (uInt)cap;
		inflate(&c->z, Z_SYNC_FLUSH);
		*len = cap - c->z.avail_out;
		inflateReset(&c->z);
		free(in);
	} else {
		*len = n < cap ? n : cap;
		memcpy(out, c->buf + h, *len);
	}
	wsc_drop(c, h + n);
	return op;
}

/* Reads frames for timeout_ms, until the end, or until what was read
 * contains until (may be NULL), describing each as "op:payload|" in out
 * (payload bytes that are not printable as \xNN; consecutive data
 * frames as one), INFO frames as "INFO|". Ends with "EOF" when the
 * server closed. */
static void wsc_transcript_until(struct wsc *c, char *out, size_t cap,
				 int timeout_ms, const char *until)
{
	static char p[1 << 20];
	size_t len, i, o = 0;
	int op, last = -1;

	out[0] = '\0';
	for (;;) {
		op = wsc_frame(c, p, sizeof(p), &len, NULL, timeout_ms);
		if (op == -1)
			break;
		if (op == -2) {
			snprintf(out + o, cap - o, "EOF");
			return;
		}
		if (len >= 5 && memcmp(p, "INFO ", 5) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "INFO|");
			last = -1;
			continue;
		}
		/* Data frames are one stream: where a server cuts it
		 * depends on timing, not on the protocol. */
		if (op == 2 && last == 2 && o > 0)
			o--; /* drop the "|", go on with the payload */
		else
			o += (size_t)snprintf(out + o, cap - o, "%d:", op);
		last = op;
		for (i = 0; i < len && o + 8 < cap; i++) {
			unsigned char ch = (unsigned char)p[i];

			if (ch >= 0x20 && ch < 0x7f && ch != '\\')
				out[o++] = (char)ch;
			else
				o += (size_t)snprintf(out + o, cap - o,
						      "\\x%02x", ch);
		}
		o += (size_t)snprintf(out + o, cap - o, "|");
		if (until != NULL && strstr(out, until) != NULL)
			break;
	}
}

static void wsc_transcript(struct wsc *c, char *out, size_t cap, int timeout_ms)
{
	wsc_transcript_until(c, out, cap, timeout_ms, NULL);
}

#define PONG "PONG\\x0d\\x0a|"

/* Masks the value of the Date header (it differs by the second). */
static void mask_date(char *s)
{
	char *d = strstr(s, "\r\nDate: ");

	if (d == NULL)
		return;
	for (d += 8; *d != '\r' && *d != '\0'; d++)
		*d = 'D';
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void test_upgrade_reply(void)
{
	static const char *const extras[] = {
		"",
		"Sec-WebSocket-Extensions: permessage-deflate; "
		"client_max_window_bits\r\n",
		"Nats-No-Masking: true\r\n",
		"Nats-No-Masking: TRUE\r\nOrigin: http://x.example\r\n",
	};
	char req[1024], head[2][2048], info[2][64];
	struct wsc *c;
	size_t i, len;
	bool z;
	int k;

	CU_ASSERT_FATAL(pair_start(&gp, NULL, "compression = true;", NULL,
				   "compression: true"));
	for (i = 0; i < sizeof(extras) / sizeof(extras[0]); i++) {
		for (k = 0; k < 2; k++) {
			c = wsc_open(gp.ws[k],
				     upgrade_req(req, sizeof(req), extras[i]),
				     head[k], sizeof(head[k]));
			CU_ASSERT_FATAL(c != NULL);
			/* INFO comes first, compressed when negotiated. */
			CU_ASSERT_EQUAL(wsc_frame(c, info[k], sizeof(info[k]),
						  &len, &z, WAIT_MS),
					2);
			CU_ASSERT(len >= 5 && memcmp(info[k], "INFO ", 5) == 0);
			CU_ASSERT_EQUAL(z, i == 1);
			wsc_close(c);
		}
		CU_ASSERT_STRING_EQUAL(head[0], head[1]);
	}
	CU_ASSERT(strstr(head[0], "Sec-WebSocket-Accept: "
				  "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != NULL);
	pair_stop(&gp);
}

static void test_http_errors(void)
{
	static const char *const reqs[] = {
		"POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: " KEY
		"\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
		"Sec-WebSocket-Key: " KEY
		"\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
		"Connection: keep-alive, Upgrade\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
		"Sec-WebSocket-Version: 12\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: localhost:8080\r\nUpgrade: "
		"websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
		"Sec-WebSocket-Version: 13\r\nOrigin: "
		"http://evil.example\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: good.example:8080\r\n"
		"Upgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n"
		"Origin: https://good.example:8080\r\n\r\n",
		"GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: "
		"Upgrade\r\n"
		"Sec-WebSocket-Key: " KEY
		"\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: "
		"Upgrade\r\n"
		"Sec-WebSocket-Key: " KEY
		"\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"garbage\r\n\r\n",
	};
	static const char *const logged[] = {
		"websocket handshake error: request method must be GET",
		"websocket handshake error: invalid value for header 'Upgrade'",
		"websocket handshake error: invalid value for header "
		"'Connection'",
		"websocket handshake error: key missing",
		"websocket handshake error: invalid version",
		"websocket handshake error: origin not allowed: not same "
		"origin",
	};
	char head[2][2048];
	struct wsc *c;
	size_t i;
	int k;

	CU_ASSERT_FATAL(pair_start(&gp, NULL,
				   "same_origin = true; allowed_origins = "
				   "[\"http://good.example:8080\"];",
				   NULL,
				   "same_origin: true, allowed_origins: "
				   "[\"http://good.example:8080\"]"));
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		for (k = 0; k < 2; k++) {
			c = wsc_open(gp.ws[k], reqs[i], head[k],
				     sizeof(head[k]));
			CU_ASSERT_FATAL(c != NULL);
			/* The body follows the head. */
			while (c->len < 64 && wsc_fill(c, 100))
				;
			snprintf(head[k] + strlen(head[k]),
				 sizeof(head[k]) - strlen(head[k]), "%.*s",
				 (int)c->len, (char *)c->buf);
			mask_date(head[k]);
			/* natsd closes after an error reply. */
			if (k == 0) {
				CU_ASSERT(harness_is_closed(c->fd, WAIT_MS));
			}
			wsc_close(c);
		}
		if (strcmp(head[0], head[1]) != 0)
			fprintf(stderr,
				"request %zu:\nnatsd: %s\nnats-server: "
				"%s\n",
				i, head[0], head[1]);
		CU_ASSERT_STRING_EQUAL(head[0], head[1]);
		CU_ASSERT(strncmp(head[0], "HTTP/1.", 7) == 0);
	}
	for (i = 0; i < sizeof(logged) / sizeof(logged[0]); i++)
		CU_ASSERT(strstr(harness_log(&gp.s[0]), logged[i]) != NULL);
	pair_stop(&gp);
}

/* Bytes after the request, before the reply: closed without one. */
static void test_data_before_handshake(void)
{
	char req[1024], head[2048];
	struct wsc *c;
	int k;

	CU_ASSERT_FATAL(pair_start(&gp, NULL, "", NULL, ""));
	upgrade_req(req, sizeof(req), NULL);
	strcat(req, "PING\r\n");
	for (k = 0; k < 2; k++) {
		c = wsc_open(gp.ws[k], req, head, sizeof(head));
		CU_ASSERT_FATAL(c != NULL);
		CU_ASSERT_STRING_EQUAL(head, "");
		CU_ASSERT(c->eof || harness_is_closed(c->fd, WAIT_MS));
		wsc_close(c);
	}
	CU_ASSERT(strstr(harness_log(&gp.s[0]),
			 "websocket handshake error: client sent data before "
			 "handshake is complete") != NULL);
	pair_stop(&gp);
}

/* Opens an upgraded client that sent CONNECT and got its PONG. */
static struct wsc *ws_client(int port, const char *connect)
{
	char req[1024], head[2048], out[4096];
	struct wsc *c;

	c = wsc_open(port, upgrade_req(req, sizeof(req), NULL), head,
		     sizeof(head));
	if (c == NULL || strncmp(head, "HTTP/1.1 101 ", 13) != 0) {
		wsc_close(c);
		return NULL;
	}
	snprintf(req, sizeof(req), "CONNECT %s\r\nPING\r\n",
		 connect ? connect : "{\"verbose\":false}");
	wsc_send_str(c, req);
	wsc_transcript_until(c, out, sizeof(out), WAIT_MS, PONG);
	if (strstr(out, "PONG") == NULL) {
		wsc_close(c);
		return NULL;
	}
	return c;
}

/* The same frames to both servers; the transcripts compared. */
static void test_frames(void)
{
	char out[2][8192];
	struct wsc *c;
	int k, step;

	CU_ASSERT_FATAL(pair_start(&gp, NULL, "", NULL, ""));
	for (step = 0; step < 7; step++) {
		for (k = 0; k < 2; k++) {
			c = ws_client(gp.ws[k], NULL);
			CU_ASSERT_FATAL(c != NULL);
			switch (step) {
			case 0: /* a command split across frames */
				wsc_send_str(c, "SUB a 1\r\nPU");
				wsc_send_str(c, "B a 5\r\nhel");
				wsc_send_str(c, "lo\r\nPING\r\n");
				break;
			case 1: /* one message in fragments, a ping inside */
				wsc_send(c, 2, false, 0, "SUB b 1\r\nPUB b 2\r",
					 17, false);
				wsc_send(c, 9, true, 0, "hey", 3, false);
				wsc_send(c, 0, false, 0, "\nok", 3, false);
				wsc_send(c, 0, true, 0, "\r\nPING\r\n", 8,
					 false);
				break;
			case 2: /* ping with and without payload, a pong */
				wsc_send(c, 9, true, 0, "hello", 5, false);
				wsc_send(c, 9, true, 0, "", 0, false);
				wsc_send(c, 10, true, 0, "x", 1, false);
				wsc_send_str(c, "PING\r\n");
				break;
			case 3: /* close with a status and a reason */
				wsc_send(c, 8, true, 0,
					 "\x03\xe8"
					 "bye",
					 5, false);
				break;
			case 4: /* close without a status */
				wsc_send(c, 8, true, 0, "", 0, false);
				break;
			case 5: /* a text frame works too */
				wsc_send(c, 1, true, 0, "PING\r\n", 6, false);
				break;
			case 6: /* a large message, 70000 bytes */
			{
				static char big[70100];

				snprintf(big, sizeof(big),
					 "SUB c 1\r\nPUB c 70000\r\n");
				memset(big + strlen(big), 'x', 70000);
				strcpy(big + 70022, "\r\nPING\r\n");
				wsc_send(c, 2, true, 0, big, 70030, false);
				break;
			}
			}
			/* Every step ends with a PONG or the end. */
			wsc_transcript_until(c, out[k], sizeof(out[k]), WAIT_MS,
					     PONG);
			wsc_close(c);
		}
		if (strcmp(out[0], out[1]) != 0)
			fprintf(stderr,
				"step %d:\nnatsd: %.300s\nnats-server: "
				"%.300s\n",
				step, out[0], out[1]);
		CU_ASSERT_STRING_EQUAL(out[0], out[1]);
	}
	pair_stop(&gp);
}

/* Frames that break the protocol: natsd sends a close frame with 1002
 * and nats-server's text, then closes; nats-server closes too (its close
 * frame may or may not make it out first). */
static void test_protocol_errors(void)
{
	static const struct {
		int op, rsv;
		bool fin, unmasked;
		const char *payload;
		size_t len;
		const char *want;
	} cases[] = {
		{ 2, 0, true, true, "PING\r\n", 6,
		  "8:\\x03\\xeamask bit missing|EOF" },
		{ 2, 0x20, true, false, "PING\r\n", 6,
		  "8:\\x03\\xeareserved bits set|EOF" },
		{ 2, 0x40, true, false, "PING\r\n", 6,
		  "8:\\x03\\xeacompression bit set without negotiated "
		  "compression|EOF" },
		{ 3, 0, true, false, "a", 1,
		  "8:\\x03\\xeaunknown opcode 3|EOF" },
		{ 0, 0, true, false, "PING\r\n", 6,
		  "8:\\x03\\xeainvalid continuation frame|EOF" },
		{ 9, 0, false, false, "a", 1,
		  "8:\\x03\\xeacontrol frame does not have final bit set|EOF" },
	};
	char out[4096], big[200];
	struct wsc *c;
	size_t i;
	int k;

	CU_ASSERT_FATAL(pair_start(&gp, NULL, "", NULL, ""));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (k = 0; k < 2; k++) {
			c = ws_client(gp.ws[k], NULL);
			CU_ASSERT_FATAL(c != NULL);
			wsc_send(c, cases[i].op, cases[i].fin, cases[i].rsv,
				 cases[i].payload, cases[i].len,
				 cases[i].unmasked);
			wsc_transcript(c, out, sizeof(out),
				       k == 0 ? WAIT_MS : 500);
			if (k == 0) {
				CU_ASSERT_STRING_EQUAL(out, cases[i].want);
			} else if (i != 1) {
				/* nats-server ignores RSV2 and RSV3. */
				CU_ASSERT(strstr(out, "EOF") != NULL);
			}
			wsc_close(c);
		}
	}
	/* A control frame over 125 bytes. */
	memset(big, 'p', sizeof(big));
	c = ws_client(gp.ws[0], NULL);
	CU_ASSERT_FATAL(c != NULL);
	wsc_send(c, 9, true, 0, big, 126, false);
	wsc_transcript(c, out, sizeof(out), WAIT_MS);
	CU_ASSERT_STRING_EQUAL(out, "8:\\x03\\xeacontrol frame length bigger "
				    "than maximum allowed of 125 bytes|EOF");
	wsc_close(c);
	/* Everybody else is still served. */
	c = ws_client(gp.ws[0], NULL);
	CU_ASSERT(c != NULL);
	wsc_close(c);
	CU_ASSERT(strstr(harness_log(&gp.s[0]),
			 "read error: mask bit missing") != NULL);
	pair_stop(&gp);
}

/* NATS errors that close a websocket client end with a close frame
 * carrying nats-server's status and reason. */
static void test_close_reasons(void)
{
	char out[2][4096];
	struct wsc *c;
	int k;

	CU_ASSERT_FATAL(pair_start(&gp, NULL, "", NULL, ""));
	for (k = 0; k < 2; k++) {
		c = ws_client(gp.ws[k], NULL);
		CU_ASSERT_FATAL(c != NULL);
		wsc_send_str(c, "PUB a 2000000\r\n");
		wsc_transcript(c, out[k], sizeof(out[k]), WAIT_MS);
		wsc_close(c);
	}
	CU_ASSERT_STRING_EQUAL(out[0],
			       "2:-ERR 'Maximum Payload Violation'\\x0d\\x0a|"
			       "8:\\x03\\xf1Maximum Message Payload Exceeded|"
			       "EOF");
	/* nats-server may close before its close frame is out. */
	CU_ASSERT(strncmp(out[1], "2:-ERR 'Maximum Payload Violation'", 34) ==
		  0);
	pair_stop(&gp);
}

static void test_compression(void)
{
	char req[1024], head[2048], buf[256];
	static char big[200000];
	struct wsc *c, *d;
	size_t len, i;
	bool z;
	int k, op;

	CU_ASSERT_FATAL(pair_start(&gp, NULL, "compression = true;", NULL,
				   "compression: true"));
	upgrade_req(req, sizeof(req),
		    "Sec-WebSocket-Extensions: permessage-deflate\r\n");
	for (k = 0; k < 2; k++) {
		c = wsc_open(gp.ws[k], req, head, sizeof(head));
		CU_ASSERT_FATAL(c != NULL);
		CU_ASSERT(strstr(head, "permessage-deflate; "
				       "server_no_context_takeover; "
				       "client_no_context_takeover") != NULL);
		op = wsc_frame(c, big, sizeof(big), &len, &z, WAIT_MS);
		CU_ASSERT(op == 2 && z);
		/* Compressed commands; a large message comes back whole. */
		snprintf(big, sizeof(big),
			 "CONNECT {\"verbose\":false}\r\n"
			 "SUB a 1\r\nPUB a 100000\r\n");
		len = strlen(big);
		for (i = 0; i < 100000; i++)
			big[len + i] = (char)('a' + i % 26);
		memcpy(big + len + 100000, "\r\nPING\r\n", 8);
		wsc_send_z(c, big, len + 100008);
		op = wsc_frame(c, big, sizeof(big), &len, &z, WAIT_MS);
		CU_ASSERT_EQUAL(op, 2);
		CU_ASSERT(z);
		CU_ASSERT(len > 100000 &&
			  strncmp(big, "MSG a 1 100000\r\nabc", 19) == 0);
		wsc_close(c);
	}
	/* A deflate bomb: natsd stops inflating past 64 MiB and closes,
	 * with memory bounded; others go on. */
	c = wsc_open(gp.ws[0], req, head, sizeof(head));
	CU_ASSERT_FATAL(c != NULL);
	wsc_frame(c, big, sizeof(big), &len, &z, WAIT_MS);
	d = ws_client(gp.ws[0], NULL);
	CU_ASSERT_FATAL(d != NULL);
	{
		z_stream zs = { 0 };
		static uint8_t pongs[1 << 20], zout[1 << 20];
		int r;

		/* PONGs, which the NATS parser takes without a word:
		 * 80 MiB of them inflate from a few hundred KiB. */
		for (r = 0; r + 6 <= (int)sizeof(pongs); r += 6)
			memcpy(pongs + r, "PONG\r\n", 6);
		deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
		zs.next_out = zout;
		zs.avail_out = sizeof(zout);
		wsc_send_str(c, "CONNECT {\"verbose\":false}\r\n");
		for (r = 0; r < 80; r++) {
			zs.next_in = pongs;
			zs.avail_in = (uInt)(sizeof(pongs) / 6 * 6);
			deflate(&zs, r == 79 ? Z_SYNC_FLUSH : Z_NO_FLUSH);
		}
		wsc_send(c, 2, true, 0x40, zout,
			 sizeof(zout) - zs.avail_out - 4, false);
		deflateEnd(&zs);
	}
	wsc_transcript(c, buf, sizeof(buf), 5000);
	CU_ASSERT_STRING_EQUAL(buf, "8:\\x03\\xf1decompressed message too "
				    "big|EOF");
	wsc_close(c);
	wsc_send_str(d, "PING\r\n");
	wsc_transcript_until(d, buf, sizeof(buf), WAIT_MS, PONG);
	CU_ASSERT_STRING_EQUAL(buf, "2:PONG\\x0d\\x0a|");
	wsc_close(d);
	pair_stop(&gp);
}

static void test_handshake_timeout(void)
{
	char head[2048];
	struct wsc *c;
	long long t0;
	int k;

	CU_ASSERT_FATAL(pair_start(&gp, NULL, "handshake_timeout = \"1s\";",
				   NULL, "handshake_timeout: \"1s\""));
	for (k = 0; k < 2; k++) {
		t0 = itest_mono_ms();
		c = wsc_open(gp.ws[k], "GET / HTTP/1.1\r\nHost: x\r\n", head,
			     sizeof(head));
		CU_ASSERT_FATAL(c != NULL);
		CU_ASSERT(c->eof || harness_is_closed(c->fd, 4000));
		CU_ASSERT(itest_mono_ms() - t0 >= 900);
		CU_ASSERT(itest_mono_ms() - t0 < 4000);
		CU_ASSERT_STRING_EQUAL(head, "");
		wsc_close(c);
	}
	pair_stop(&gp);
}

/* The websocket block's own authorization: a token for websocket
 * clients only; INFO says auth_required to them alone. */
static void test_auth_override(void)
{
	char req[1024], head[2048], out[2][4096], info[4096];
	struct wsc *c;
	size_t len;
	int k, fd;

	CU_ASSERT_FATAL(pair_start(
		&gp, NULL,
		"authorization = { token = \"wstok\"; timeout = 1; };", NULL,
		"authorization { token: wstok, timeout: 1 }"));
	for (k = 0; k < 2; k++) {
		fd = itest_raw_connect(gp.s[k].port, info, sizeof(info));
		CU_ASSERT(fd >= 0 && strstr(info, "auth_required") == NULL);
		close(fd);
		c = wsc_open(gp.ws[k], upgrade_req(req, sizeof(req), NULL),
			     head, sizeof(head));
		CU_ASSERT_FATAL(c != NULL);
		CU_ASSERT_EQUAL(wsc_frame(c, info, sizeof(info) - 1, &len, NULL,
					  WAIT_MS),
				2);
		info[len] = '\0';
		CU_ASSERT(strstr(info, "\"auth_required\":true") != NULL);
		wsc_send_str(c, "CONNECT {\"verbose\":false,\"auth_token\":"
				"\"bad\"}\r\nPING\r\n");
		wsc_transcript(c, out[k], sizeof(out[k]), WAIT_MS);
		wsc_close(c);
		c = ws_client(gp.ws[k], "{\"verbose\":false,"
					"\"auth_token\":\"wstok\"}");
		CU_ASSERT(c != NULL);
		wsc_close(c);
	}
	CU_ASSERT_STRING_EQUAL(out[0], "2:-ERR 'Authorization Violation'"
				       "\\x0d\\x0a|"
				       "8:\\x03\\xf0Authentication Failure|"
				       "EOF");
	CU_ASSERT(strncmp(out[1], "2:-ERR 'Authorization Violation'", 32) == 0);
	pair_stop(&gp);
}

/* allowed_connection_types: WEBSOCKET users only over websocket. */
static void test_connection_types(void)
{
	char out[4096];
	struct wsc *c;
	int k, fd;

	CU_ASSERT_FATAL(
		pair_start(&gp,
			   "authorization = { users = ("
			   "{ user = \"w\"; password = \"p\"; "
			   "allowed_connection_types = [\"WEBSOCKET\"]; },"
			   "{ user = \"s\"; password = \"p\"; "
			   "allowed_connection_types = [\"STANDARD\"]; }); };",
			   "",
			   "authorization { users: ["
			   "{ user: w, password: p, allowed_connection_types: "
			   "[\"WEBSOCKET\"] },"
			   "{ user: s, password: p, allowed_connection_types: "
			   "[\"STANDARD\"] }] }",
			   ""));
	for (k = 0; k < 2; k++) {
		c = ws_client(gp.ws[k], "{\"verbose\":false,\"user\":\"w\","
					"\"pass\":\"p\"}");
		CU_ASSERT(c != NULL);
		wsc_close(c);
		c = ws_client(gp.ws[k], "{\"verbose\":false,\"user\":\"s\","
					"\"pass\":\"p\"}");
		CU_ASSERT(c == NULL);
		wsc_close(c);
		fd = itest_raw_open(gp.s[k].port,
				    "{\"verbose\":false,\"user\":\"s\","
				    "\"pass\":\"p\"}",
				    "");
		CU_ASSERT(fd >= 0);
		close(fd);
		fd = itest_raw_connect(gp.s[k].port, out, sizeof(out));
		CU_ASSERT_FATAL(fd >= 0);
		harness_sendstr(fd, "CONNECT {\"verbose\":false,\"user\":\"w\","
				    "\"pass\":\"p\"}\r\nPING\r\n");
		harness_read_until(fd, out, sizeof(out), "\r\n", WAIT_MS, NULL);
		CU_ASSERT_STRING_EQUAL(out,
				       "-ERR 'Authorization Violation'\r\n");
		close(fd);
	}
	pair_stop(&gp);
}

/* Start-up: the log line, the ports file, and the refusal of a block
 * with neither tls nor no_tls. */
static void test_startup(void)
{
	char conf[512], dir[] = "/tmp/natsd-ws-XXXXXX", cmd[600], buf[2048];
	int port = harness_free_port();
	FILE *f;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(
		conf, sizeof(conf),
		"ports_file_dir = \"%s\";\nwebsocket = { host = \"127.0.0.1\"; "
		"port = %d; no_tls = true; };\n",
		dir, port);
	CU_ASSERT_FATAL(harness_start(&single, "natsd", conf, NULL) == 0);
	snprintf(buf, sizeof(buf),
		 "[INF] Listening for websocket clients on ws://127.0.0.1:%d",
		 port);
	CU_ASSERT(strstr(harness_log(&single), buf) != NULL);
	CU_ASSERT(strstr(harness_log(&single), "[WRN] Websocket not configured "
					       "with TLS. DO NOT USE IN "
					       "PRODUCTION!") != NULL);
	snprintf(cmd, sizeof(cmd), "cat %s/*.ports", dir);
	f = popen(cmd, "r");
	CU_ASSERT_FATAL(f != NULL);
	buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
	pclose(f);
	snprintf(conf, sizeof(conf), "\"websocket\":[\"ws://127.0.0.1:%d\"]}",
		 port);
	CU_ASSERT(strstr(buf, conf) != NULL);
	CU_ASSERT(itest_stop(&single));
	rmdir(dir);

	/* Neither tls nor no_tls: nats-server's refusal. */
	snprintf(conf, sizeof(conf), "websocket = { port = %d; };\n", port);
	CU_ASSERT(harness_start(&single, "natsd", conf, NULL) != 0);
}

static void test_startup_refusal_log(void)
{
	char cmd[1024], out[1024], path[] = "/tmp/natsd-ws-conf-XXXXXX";
	const char *bin = getenv("NATSD_BIN");
	int fd = mkstemp(path);
	FILE *f;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, "websocket = { port = 8080; };\n", 30) == 30);
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s -c %s 2>&1", bin ? bin : "./natsd",
		 path);
	f = popen(cmd, "r");
	CU_ASSERT_FATAL(f != NULL);
	out[fread(out, 1, sizeof(out) - 1, f)] = '\0';
	CU_ASSERT(pclose(f) != 0);
	CU_ASSERT(strstr(out, "websocket requires TLS configuration") != NULL);
	unlink(path);
}

/* ------------------------------------------------------------------ */
/* wss://                                                              */

/* Starts both servers with a websocket block that has a tls block: the
 * server certificate and the test CA, then tls_nd / tls_ns inside the
 * tls block, nd / ns in the websocket block, top / top_ns at the top. */
static bool wss_pair_start(struct pair *p, const char *top, const char *tls_nd,
			   const char *nd, const char *top_ns,
			   const char *tls_ns, const char *ns)
{
	char a[2048], b[2048];

	snprintf(a, sizeof(a),
		 "tls = { cert_file = \"%s/server.pem\"; key_file = "
		 "\"%s/server.key\"; ca_file = \"%s/ca.pem\"; %s }; %s",
		 certs, certs, certs, tls_nd ? tls_nd : "", nd ? nd : "");
	snprintf(b, sizeof(b),
		 "tls {\ncert_file: \"%s/server.pem\"\nkey_file: "
		 "\"%s/server.key\"\nca_file: \"%s/ca.pem\"\n%s\n}\n%s",
		 certs, certs, certs, tls_ns ? tls_ns : "", ns ? ns : "");
	return pair_launch(p, top, a, top_ns, b);
}

/* A wss client with certificate cert that sent CONNECT and PING: what
 * came back ("INFO|2:PONG..." or the error), or "tls: <reason>" when the
 * TLS handshake failed. INFO itself in info (may be NULL). */
static void wss_outcome(int port, const char *cert, const char *connect,
			char *out, size_t cap, char *info, size_t icap)
{
	char req[1024], head[2048], why[256], first[4096];
	struct wsc *c = wsc_tls(port, cert, why, sizeof(why));
	size_t len;

	out[0] = '\0';
	if (info == NULL) {
		info = first;
		icap = sizeof(first);
	}
	info[0] = '\0';
	if (c == NULL) {
		snprintf(out, cap, "tls: %s", why[0] ? "refused" : "none");
		return;
	}
	c = wsc_request(c, upgrade_req(req, sizeof(req), NULL), head,
			sizeof(head));
	if (c == NULL || strncmp(head, "HTTP/1.1 101 ", 13) != 0) {
		snprintf(out, cap, "upgrade: %.40s", head);
		wsc_close(c);
		return;
	}
	snprintf(req, sizeof(req), "CONNECT %s\r\nPING\r\n",
		 connect ? connect : "{\"verbose\":false}");
	if (wsc_frame(c, info, icap - 1, &len, NULL, WAIT_MS) == 2)
		info[len] = '\0';
	wsc_send_str(c, req);
	wsc_transcript_until(c, out, cap, WAIT_MS, PONG);
	wsc_close(c);
}

/* The upgrade over TLS, the INFO a wss client gets (nats-server's: the
 * client port's TLS facts, none of the websocket block's), and pub/sub
 * through it, with and without compression. */
static void test_wss_upgrade(void)
{
	char out[2][4096], info[2][4096], head[2][2048], req[1024];
	const char *topn = NULL, *topns = NULL;
	struct wsc *c;
	int k, round;

	for (round = 0; round < 2; round++) {
		if (round == 1) {
			/* TLS on the client port too: INFO says so. */
			snprintf(req, sizeof(req),
				 "tls = { cert_file = \"%s/server.pem\"; "
				 "key_file = \"%s/server.key\"; };",
				 certs, certs);
			topn = strdup(req);
			snprintf(req, sizeof(req),
				 "tls { cert_file: \"%s/server.pem\", "
				 "key_file: \"%s/server.key\" }",
				 certs, certs);
			topns = strdup(req);
		}
		CU_ASSERT_FATAL(wss_pair_start(&gp, topn, NULL,
					       "compression = true;", topns,
					       NULL, "compression: true"));
		for (k = 0; k < 2; k++) {
			wss_outcome(gp.ws[k], NULL, NULL, out[k],
				    sizeof(out[k]), info[k], sizeof(info[k]));
			CU_ASSERT_STRING_EQUAL(out[k], "2:" PONG);
			CU_ASSERT(strncmp(info[k], "INFO {", 6) == 0);
			CU_ASSERT_EQUAL(strstr(info[k], "\"tls_required\":"
							"true") != NULL,
					round == 1);
			CU_ASSERT(strstr(info[k], "tls_verify") == NULL);
			/* A message through the TLS and websocket layers. */
			c = wsc_open_tls(
				gp.ws[k], NULL,
				upgrade_req(req, sizeof(req),
					    "Sec-WebSocket-Extensions: "
					    "permessage-deflate\r\n"),
				head[k], sizeof(head[k]));
			CU_ASSERT_FATAL(c != NULL);
			wsc_send_str(c, "CONNECT {\"verbose\":false}\r\nSUB "
					"a 1\r\nPUB a 5\r\nhello\r\nPING\r\n");
			wsc_transcript_until(c, out[k], sizeof(out[k]), WAIT_MS,
					     PONG);
			CU_ASSERT(strstr(out[k], "MSG a 1 5\\x0d\\x0ahello") !=
				  NULL);
			wsc_close(c);
		}
		CU_ASSERT_STRING_EQUAL(head[0], head[1]);
		CU_ASSERT(strstr(head[0], "permessage-deflate") != NULL);
		pair_stop(&gp);
		free((void *)topn);
		free((void *)topns);
	}
}

/* Plain HTTP to the wss port: Go's reply, nothing logged; a plain
 * websocket client that never speaks TLS is closed at the handshake
 * timeout, as is one that sends half a ClientHello; others are served
 * meanwhile. */
static void test_wss_bad_tls(void)
{
	static const char hello[] = "\x16\x03\x01\x00\xff\x01";
	char req[1024], head[2][2048], out[4096];
	struct wsc *c;
	long long t0;
	int k, fd[2];

	CU_ASSERT_FATAL(wss_pair_start(&gp, NULL, NULL,
				       "handshake_timeout = \"1s\";", NULL,
				       NULL, "handshake_timeout: \"1s\""));
	for (k = 0; k < 2; k++) {
		c = wsc_open(gp.ws[k], upgrade_req(req, sizeof(req), NULL),
			     head[k], sizeof(head[k]));
		CU_ASSERT_FATAL(c != NULL);
		/* The body after the head, to the end. */
		while (wsc_fill(c, WAIT_MS))
			;
		snprintf(head[k] + strlen(head[k]),
			 sizeof(head[k]) - strlen(head[k]), "%.*s", (int)c->len,
			 (const char *)c->buf);
		CU_ASSERT(c->eof);
		wsc_close(c);
	}
	CU_ASSERT_STRING_EQUAL(head[0],
			       "HTTP/1.0 400 Bad Request\r\n\r\nClient sent "
			       "an HTTP request to an HTTPS server.\n");
	CU_ASSERT_STRING_EQUAL(head[0], head[1]);
	CU_ASSERT(strstr(harness_log(&gp.s[0]), "TLS handshake error") == NULL);
	for (k = 0; k < 2; k++) {
		t0 = itest_mono_ms();
		fd[0] = harness_connect(gp.ws[k]);
		fd[1] = harness_connect(gp.ws[k]);
		CU_ASSERT_FATAL(fd[0] >= 0 && fd[1] >= 0);
		harness_send(fd[1], hello, sizeof(hello) - 1);
		/* Served while those two wait. */
		wss_outcome(gp.ws[k], NULL, NULL, out, sizeof(out), NULL, 0);
		CU_ASSERT_STRING_EQUAL(out, "2:" PONG);
		CU_ASSERT(harness_is_closed(fd[0], 4000));
		CU_ASSERT(harness_is_closed(fd[1], 4000));
		CU_ASSERT(itest_mono_ms() - t0 >= 900);
		CU_ASSERT(itest_mono_ms() - t0 < 4000);
		close(fd[0]);
		close(fd[1]);
	}
	CU_ASSERT(itest_log_wait(&gp.s[0],
				 "[ERR] websocket: TLS handshake error from "
				 "127.0.0.1:",
				 WAIT_MS));
	/* Go's words for it: read tcp LOCAL->PEER: i/o timeout. */
	for (k = 0; k < 2; k++) {
		snprintf(out, sizeof(out),
			 ": read tcp 127.0.0.1:%d->127.0.0.1:", gp.ws[k]);
		CU_ASSERT(itest_log_wait(&gp.s[k], out, WAIT_MS));
		CU_ASSERT(itest_count(harness_log(&gp.s[k]),
				      ": i/o timeout\n") == 2);
	}
	pair_stop(&gp);
}

/* A good TLS handshake, then a bad upgrade request: the HTTP error
 * reply inside TLS; and same_origin over TLS, where a Host without a
 * port means 443. */
static void test_wss_bad_upgrade(void)
{
	static const char *const reqs[] = {
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
		"Sec-WebSocket-Version: 13\r\nOrigin: https://127.0.0.1\r\n"
		"\r\n",
		"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
		"Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1\r\n"
		"\r\n",
	};
	char head[2][2048];
	struct wsc *c;
	size_t i;
	int k;

	CU_ASSERT_FATAL(wss_pair_start(&gp, NULL, NULL, "same_origin = true;",
				       NULL, NULL, "same_origin: true"));
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		for (k = 0; k < 2; k++) {
			c = wsc_open_tls(gp.ws[k], NULL, reqs[i], head[k],
					 sizeof(head[k]));
			CU_ASSERT_FATAL(c != NULL);
			mask_date(head[k]);
			wsc_close(c);
		}
		CU_ASSERT_STRING_EQUAL(head[0], head[1]);
		/* https://127.0.0.1 is the same origin, http:// is not. */
		CU_ASSERT_EQUAL(strncmp(head[0], "HTTP/1.1 101 ", 13) == 0,
				i == 2);
	}
	CU_ASSERT(strstr(harness_log(&gp.s[0]),
			 "websocket handshake error: invalid value for "
			 "header 'Upgrade'") != NULL);
	pair_stop(&gp);
}

/* verify: a client certificate the CA signed is served; none, one of
 * another CA and an expired one are refused in the TLS handshake. */
static void test_wss_verify(void)
{
	static const char *const who[] = { "alice", NULL, "rogue", "expired" };
	char out[2][4096];
	size_t i;
	int k;

	CU_ASSERT_FATAL(wss_pair_start(&gp, NULL, "verify = true;", NULL, NULL,
				       "verify: true", NULL));
	for (i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
		for (k = 0; k < 2; k++)
			wss_outcome(gp.ws[k], who[i], NULL, out[k],
				    sizeof(out[k]), NULL, 0);
		CU_ASSERT_STRING_EQUAL(out[0], out[1]);
		CU_ASSERT_STRING_EQUAL(out[0],
				       i == 0 ? "2:" PONG : "tls: refused");
	}
	CU_ASSERT(strstr(harness_log(&gp.s[0]),
			 "[ERR] websocket: TLS handshake error from "
			 "127.0.0.1:") != NULL);
	pair_stop(&gp);
}

/* verify_and_map: the certificate names the user of authorization, for
 * websocket clients as the websocket block's tls says. */
static void test_wss_map(void)
{
	static const char *const who[] = { "alice", "bob", "carol" };
	char out[2][4096];
	size_t i;
	int k;

	CU_ASSERT_FATAL(wss_pair_start(
		&gp,
		"authorization = { users = ({ user = \"alice@example.com\"; "
		"permissions = { publish = [\"alice.>\"]; }; }, "
		"{ user = \"CN=carol,O=Acme\"; }); };",
		"verify_and_map = true;", NULL,
		"authorization { users = [{ user: \"alice@example.com\", "
		"permissions: { publish: [\"alice.>\"] } }, "
		"{ user: \"CN=carol,O=Acme\" }] }",
		"verify_and_map: true", NULL));
	for (i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
		for (k = 0; k < 2; k++)
			wss_outcome(gp.ws[k], who[i],
				    "{\"verbose\":false,\"pedantic\":false}",
				    out[k], sizeof(out[k]), NULL, 0);
		CU_ASSERT_STRING_EQUAL(out[0], out[1]);
		CU_ASSERT_EQUAL(strcmp(out[0], "2:" PONG) == 0, i != 1);
	}
	CU_ASSERT(strstr(out[0], "Authorization Violation") == NULL);
	pair_stop(&gp);
}

/* Start-up over TLS: the wss:// line, no warning, the ports file. */
static void test_wss_startup(void)
{
	char conf[1024], dir[] = "/tmp/natsd-ws-XXXXXX", cmd[600], buf[2048];
	int port = harness_free_port();
	FILE *f;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(conf, sizeof(conf),
		 "ports_file_dir = \"%s\";\nwebsocket = { host = "
		 "\"127.0.0.1\"; port = %d; tls = { cert_file = "
		 "\"%s/server.pem\"; key_file = \"%s/server.key\"; }; };\n",
		 dir, port, certs, certs);
	CU_ASSERT_FATAL(harness_start(&single, "natsd", conf, NULL) == 0);
	snprintf(buf, sizeof(buf),
		 "[INF] Listening for websocket clients on wss://127.0.0.1:%d",
		 port);
	CU_ASSERT(strstr(harness_log(&single), buf) != NULL);
	CU_ASSERT(strstr(harness_log(&single), "DO NOT USE IN PRODUCTION") ==
		  NULL);
	snprintf(cmd, sizeof(cmd), "cat %s/*.ports", dir);
	f = popen(cmd, "r");
	CU_ASSERT_FATAL(f != NULL);
	buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
	pclose(f);
	snprintf(conf, sizeof(conf), "\"websocket\":[\"wss://127.0.0.1:%d\"]}",
		 port);
	CU_ASSERT(strstr(buf, conf) != NULL);
	CU_ASSERT(itest_stop(&single));
	rmdir(dir);

	/* A tls block the plugin refuses stops start-up. */
	snprintf(conf, sizeof(conf),
		 "websocket = { port = %d; tls = { cert_file = "
		 "\"%s/server.pem\"; }; };\n",
		 port, certs);
	CU_ASSERT(harness_start(&single, "natsd", conf, NULL) != 0);
}

/* Copies file a of the certificates to path b. */
static void cert_copy(const char *a, const char *b)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cp %s/%s %s", certs, a, b);
	CU_ASSERT_FATAL(system(cmd) == 0);
}

/* Reload: certificate files edited in place are read again on SIGHUP by
 * both servers (a client trusting only the test CA is refused once the
 * server certificate is one of another CA); a tls block naming other
 * files is refused by natsd (nats-server 2.9.10 takes it). */
/* Writes text over the config file server h started with. */
static void rewrite_conf(struct hserver *h, const char *text)
{
	FILE *f = fopen(h->conf_path, "w");

	CU_ASSERT_FATAL(f != NULL);
	fputs(text, f);
	fclose(f);
}

/* Waits (bounded) until the server's log holds text n times. */
static bool log_count_wait(struct hserver *h, const char *text, int n)
{
	long long end = itest_mono_ms() + WAIT_MS;

	while (itest_count(harness_log(h), text) < n) {
		if (itest_mono_ms() > end) {
			fprintf(stderr, "log: \"%s\" not %d times\n", text, n);
			return false;
		}
		harness_sleep_ms(20);
	}
	return true;
}

static void test_wss_reload(void)
{
	char conf[2][1024], dir[] = "/tmp/natsd-wssr-XXXXXX", a[256], b[256];
	char out[2][4096];
	int k, round;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	memset(&gp, 0, sizeof(gp));
	for (k = 0; k < 2; k++) {
		snprintf(a, sizeof(a), "%s/%d.pem", dir, k);
		snprintf(b, sizeof(b), "%s/%d.key", dir, k);
		cert_copy("server.pem", a);
		cert_copy("server.key", b);
		gp.ws[k] = harness_free_port();
		if (k == 0)
			snprintf(conf[k], sizeof(conf[k]),
				 "websocket = { port = %d; tls = { cert_file "
				 "= \"%s\"; key_file = \"%s\"; }; };\n",
				 gp.ws[k], a, b);
		else
			snprintf(conf[k], sizeof(conf[k]),
				 "websocket {\nport: %d\ntls {\ncert_file: "
				 "\"%s\"\nkey_file: \"%s\"\n}\n}\n",
				 gp.ws[k], a, b);
		CU_ASSERT_FATAL(
			harness_start(&gp.s[k], kinds[k], conf[k], NULL) == 0);
	}
	for (round = 0; round < 2; round++) {
		for (k = 0; k < 2; k++) {
			wss_outcome(gp.ws[k], NULL, NULL, out[k],
				    sizeof(out[k]), NULL, 0);
			CU_ASSERT_STRING_EQUAL(out[k],
					       round == 0 ? "2:" PONG
							  : "tls: refused");
			if (round == 1)
				continue;
			snprintf(a, sizeof(a), "%s/%d.pem", dir, k);
			snprintf(b, sizeof(b), "%s/%d.key", dir, k);
			cert_copy("server2.pem", a);
			cert_copy("server2.key", b);
			CU_ASSERT(kill(gp.s[k].pid, SIGHUP) == 0);
			CU_ASSERT(itest_log_wait(
				&gp.s[k], "Reloaded server configuration",
				WAIT_MS));
		}
	}
	/* Other file names (the first certificate again), then a file
	 * that is not there: both servers take the first, refuse the
	 * second as a whole and keep serving. */
	for (k = 0; k < 2; k++) {
		const char *bad = "/nonexistent/server.pem";

		for (round = 0; round < 2; round++) {
			snprintf(a, sizeof(a), "%s/new%d.pem", dir, k);
			snprintf(b, sizeof(b), "%s/new%d.key", dir, k);
			cert_copy("server.pem", a);
			cert_copy("server.key", b);
			if (k == 0)
				snprintf(conf[k], sizeof(conf[k]),
					 "websocket = { port = %d; tls = { "
					 "cert_file = \"%s\"; key_file = "
					 "\"%s\"; }; };\n",
					 gp.ws[k], round ? bad : a, b);
			else
				snprintf(conf[k], sizeof(conf[k]),
					 "websocket {\nport: %d\ntls {\n"
					 "cert_file: \"%s\"\nkey_file: "
					 "\"%s\"\n}\n}\n",
					 gp.ws[k], round ? bad : a, b);
			rewrite_conf(&gp.s[k], conf[k]);
			CU_ASSERT(kill(gp.s[k].pid, SIGHUP) == 0);
			CU_ASSERT(log_count_wait(&gp.s[k],
						 round ? "Failed to reload"
						       : "Reloaded server "
							 "configuration",
						 round ? 1 : 2));
			wss_outcome(gp.ws[k], NULL, NULL, out[k],
				    sizeof(out[k]), NULL, 0);
			CU_ASSERT_STRING_EQUAL(out[k], "2:" PONG);
		}
	}
	pair_stop(&gp);
	snprintf(a, sizeof(a), "rm -rf %s", dir);
	CU_ASSERT(system(a) == 0);
}

/* The "websocket" object of /varz at monitoring port mport, keys sorted,
 * compact, into out; its port must be port (then left out). */
static void varz_ws(int mport, int port, char *out, size_t cap)
{
	struct monhttp_resp r;
	json_t *root, *w;
	char *txt;

	out[0] = '\0';
	if (monhttp_get(mport, "/varz", WAIT_MS, &r) != 0)
		return;
	root = json_loads(r.body, 0, NULL);
	monhttp_free(&r);
	w = root != NULL ? json_object_get(root, "websocket") : NULL;
	CU_ASSERT(json_integer_value(json_object_get(w, "port")) == port);
	json_object_del(w, "port");
	txt = w != NULL ? json_dumps(w, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
	if (txt != NULL)
		snprintf(out, cap, "%s", txt);
	free(txt);
	json_decref(root);
}

/* /varz "websocket" as nats-server shows it, over TLS with
 * verify_and_map (tls_map) and the block's other settings. */
static void test_wss_varz(void)
{
	char top[2][512], out[2][2048];
	int mport[2], k;

	for (k = 0; k < 2; k++)
		mport[k] = harness_free_port();
	snprintf(top[0], sizeof(top[0]),
		 "http_port = %d;\nauthorization = { users = ({ user = "
		 "\"alice@example.com\"; }); };",
		 mport[0]);
	snprintf(top[1], sizeof(top[1]),
		 "http: %d\nauthorization { users = [{ user: "
		 "\"alice@example.com\" }] }",
		 mport[1]);
	CU_ASSERT_FATAL(wss_pair_start(
		&gp, top[0], "verify_and_map = true;",
		"advertise = \"ws.example.com:443\"; compression = true; "
		"same_origin = true; allowed_origins = "
		"[\"https://a.example.com\"]; handshake_timeout = \"3s\";",
		top[1], "verify_and_map: true",
		"advertise: \"ws.example.com:443\"\ncompression: true\n"
		"same_origin: true\nallowed_origins: "
		"[\"https://a.example.com\"]\nhandshake_timeout: \"3s\""));
	for (k = 0; k < 2; k++)
		varz_ws(mport[k], gp.ws[k], out[k], sizeof(out[k]));
	CU_ASSERT_STRING_EQUAL(out[0], out[1]);
	CU_ASSERT(strstr(out[0], "\"host\":\"0.0.0.0\"") != NULL);
	CU_ASSERT(strstr(out[0], "\"tls_map\":true") != NULL);
	CU_ASSERT(strstr(out[0], "\"handshake_timeout\":3000000000") != NULL);
	pair_stop(&gp);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "upgrade reply", test_upgrade_reply },
		{ "HTTP error replies", test_http_errors },
		{ "data before the handshake", test_data_before_handshake },
		{ "frames", test_frames },
		{ "protocol errors", test_protocol_errors },
		{ "close reasons", test_close_reasons },
		{ "compression and a deflate bomb", test_compression },
		{ "handshake timeout", test_handshake_timeout },
		{ "websocket authorization", test_auth_override },
		{ "allowed_connection_types", test_connection_types },
		{ "start-up", test_startup },
		{ "start-up refusal", test_startup_refusal_log },
		{ "wss: upgrade, INFO, pub/sub", test_wss_upgrade },
		{ "wss: plain HTTP, stalled handshakes", test_wss_bad_tls },
		{ "wss: bad upgrade, same_origin", test_wss_bad_upgrade },
		{ "wss: verify", test_wss_verify },
		{ "wss: verify_and_map", test_wss_map },
		{ "wss: start-up", test_wss_startup },
		{ "wss: reload", test_wss_reload },
		{ "wss: /varz", test_wss_varz },
	};
	static const struct suite suite = {
		"websocket", NULL, NULL, tests, SUITE_COUNT(tests),
	};

	char cmd[512];
	int rc;

	itest_init("websocket_test", WATCHDOG_S, &gp.s[0].pid);
	itest_watch_pid(&gp.s[1].pid);
	itest_watch_pid(&single.pid);
	snprintf(certs, sizeof(certs), "/tmp/natsd-wss-XXXXXX");
	if (mkdtemp(certs) == NULL)
		return 1;
	snprintf(cmd, sizeof(cmd), "sh %s %s", TLS_CERT_SCRIPT, certs);
	if (system(cmd) != 0) {
		fprintf(stderr, "websocket_test: cannot make certificates\n");
		return 1;
	}
	rc = suites_run(&suite, 1) == 0 ? 0 : 1;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", certs);
	if (system(cmd) != 0)
		fprintf(stderr, "websocket_test: cannot remove %s\n", certs);
	return rc;
}
