/* Tests for plugins/transport/websocket.c.
 *
 * The plugin's source is compiled into this program. Its pieces that
 * stand alone are tested directly: the accept key, header token lists,
 * host and origin parsing, the origin checks, the upgrade request checks
 * in nats-server's order, cookies, close statuses and payloads, UTF-8.
 * Then the layer runs over a fake stream below (memory buffers behind a
 * fake host table): the upgrade, INFO written early, frames both ways,
 * ping, close, a protocol error. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <natsd/plugin.h>

#include "../../plugins/transport/websocket.c"
#include "../suites.h"

/* ------------------------------------------------------------------ */
/* The stream below: what the layer reads, and what it wrote           */

struct natsd_stream {
	uint8_t in[65536];
	size_t inlen, inpos;
	bool eof;
	uint8_t out[65536];
	size_t outlen;
	size_t outroom; /* how much more writev takes; SIZE_MAX: all */
};

static ssize_t fake_read(struct natsd_stream *s, void *buf, size_t len)
{
	size_t n = s->inlen - s->inpos;

	if (n == 0)
		return s->eof ? 0 : NATSD_EAGAIN;
	if (n > len)
		n = len;
	memcpy(buf, s->in + s->inpos, n);
	s->inpos += n;
	return (ssize_t)n;
}

static ssize_t fake_writev(struct natsd_stream *s, const struct iovec *iov,
			   int iovcnt)
{
	size_t total = 0, n;
	int i;

	for (i = 0; i < iovcnt; i++) {
		n = iov[i].iov_len;
		if (n > s->outroom - total)
			n = s->outroom - total;
		if (n > sizeof(s->out) - s->outlen)
			n = sizeof(s->out) - s->outlen;
		memcpy(s->out + s->outlen, iov[i].iov_base, n);
		s->outlen += n;
		total += n;
		if (n < iov[i].iov_len)
			break;
	}
	if (s->outroom != SIZE_MAX)
		s->outroom -= total;
	return total == 0 && iovcnt > 0 ? NATSD_EAGAIN : (ssize_t)total;
}

static int fake_query(struct natsd_stream *s, int key, const void **out,
		      size_t *len)
{
	(void)s;
	if (key != NATSD_Q_PEER_ADDR)
		return NATSD_ENOTSUP;
	*out = "127.0.0.1:5555";
	*len = 14;
	return 0;
}

static char last_log[1024];

static void fake_log(struct natsd_host *h, int level, const char *fmt, ...)
{
	va_list ap;

	(void)h;
	(void)level;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
}

static struct natsd_host_api api = {
	.struct_size = sizeof(struct natsd_host_api),
	.abi_major = NATSD_ABI_MAJOR,
	.abi_minor = NATSD_ABI_MINOR,
	.log = fake_log,
	.stream_read = fake_read,
	.stream_writev = fake_writev,
	.stream_query = fake_query,
};

static struct ws_plugin plugin = {
	.api = &api,
	.defaults = { .handshake_ms = WS_DEFAULT_HANDSHAKE_MS },
};

/* ------------------------------------------------------------------ */
/* Pieces                                                              */

static void test_accept_key(void)
{
	char out[29];

	/* RFC 6455 section 1.3. */
	ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out);
	CU_ASSERT_STRING_EQUAL(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	ws_accept_key("x3JJHMbDL1EzLkh9GBhXDw==", out);
	CU_ASSERT_STRING_EQUAL(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

static void test_tokens(void)
{
	CU_ASSERT(ws_has_token("Upgrade", "upgrade"));
	CU_ASSERT(ws_has_token("keep-alive, Upgrade", "Upgrade"));
	CU_ASSERT(ws_has_token(" keep-alive ,\tUPGRADE\t", "Upgrade"));
	CU_ASSERT(ws_has_token("12, 13", "13"));
	CU_ASSERT(!ws_has_token("12,130", "13"));
	CU_ASSERT(!ws_has_token("Upgraded", "Upgrade"));
	CU_ASSERT(!ws_has_token("", "websocket"));
	CU_ASSERT(!ws_has_token(NULL, "websocket"));
	CU_ASSERT(ws_pmc_offered("permessage-deflate"));
	CU_ASSERT(ws_pmc_offered("x-webkit-deflate-frame, PerMessage-Deflate;"
				 " client_max_window_bits"));
	CU_ASSERT(!ws_pmc_offered("permessage-deflater"));
	CU_ASSERT(!ws_pmc_offered(NULL));
}

static void test_host_port(void)
{
	char h[64], p[16], err[128];

	CU_ASSERT_EQUAL(ws_host_port("LocalHost:8080", false, h, sizeof(h), p,
				     sizeof(p), err, sizeof(err)),
			0);
	CU_ASSERT_STRING_EQUAL(h, "localhost");
	CU_ASSERT_STRING_EQUAL(p, "8080");
	CU_ASSERT_EQUAL(ws_host_port("example.com", true, h, sizeof(h), p,
				     sizeof(p), err, sizeof(err)),
			0);
	CU_ASSERT_STRING_EQUAL(p, "443");
	ws_host_port("example.com", false, h, sizeof(h), p, sizeof(p), err,
		     sizeof(err));
	CU_ASSERT_STRING_EQUAL(p, "80");
	CU_ASSERT_EQUAL(ws_host_port("[::1]:9", false, h, sizeof(h), p,
				     sizeof(p), err, sizeof(err)),
			0);
	CU_ASSERT_STRING_EQUAL(h, "::1");
	CU_ASSERT_STRING_EQUAL(p, "9");
	CU_ASSERT_EQUAL(ws_host_port("a:b:c", false, h, sizeof(h), p, sizeof(p),
				     err, sizeof(err)),
			-1);
	CU_ASSERT(strstr(err, "too many colons") != NULL);
}

static void test_origin_parse(void)
{
	char s[16], h[64], p[16], err[128];

	CU_ASSERT_EQUAL(ws_parse_origin("http://Good.Example:8080", s,
					sizeof(s), h, sizeof(h), p, sizeof(p),
					err, sizeof(err)),
			0);
	CU_ASSERT_STRING_EQUAL(s, "http");
	CU_ASSERT_STRING_EQUAL(h, "good.example");
	CU_ASSERT_STRING_EQUAL(p, "8080");
	CU_ASSERT_EQUAL(ws_parse_origin("https://sec.example", s, sizeof(s), h,
					sizeof(h), p, sizeof(p), err,
					sizeof(err)),
			0);
	CU_ASSERT_STRING_EQUAL(p, "443");
	CU_ASSERT_EQUAL(ws_parse_origin("http://[::1]:8080", s, sizeof(s), h,
					sizeof(h), p, sizeof(p), err,
					sizeof(err)),
			0);
	CU_ASSERT_STRING_EQUAL(h, "::1");
	CU_ASSERT_STRING_EQUAL(p, "8080");
	CU_ASSERT_EQUAL(ws_parse_origin("bad", s, sizeof(s), h, sizeof(h), p,
					sizeof(p), err, sizeof(err)),
			-1);
	CU_ASSERT_STRING_EQUAL(err, "parse \"bad\": invalid URI for request");
}

static void test_origin_check(void)
{
	struct ws_origin allowed[2] = {
		{ "http", "good.example", "8080" },
		{ "https", "sec.example", "443" },
	};
	struct ws_settings st = { 0 };
	char err[128];

	/* Neither same_origin nor a list: anything. */
	CU_ASSERT_EQUAL(ws_check_origin(&st, "http://x", "y", err, sizeof(err)),
			0);
	st.same_origin = true;
	CU_ASSERT_EQUAL(ws_check_origin(&st, NULL, "y", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(
		ws_check_origin(&st, "http://y:80", "y", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(
		ws_check_origin(&st, "http://y", "y:8080", err, sizeof(err)),
		-1);
	CU_ASSERT_STRING_EQUAL(err, "not same origin");
	CU_ASSERT_EQUAL(
		ws_check_origin(&st, "https://y", "y", err, sizeof(err)), -1);
	st.same_origin = false;
	st.origins = allowed;
	st.norigins = 2;
	CU_ASSERT_EQUAL(ws_check_origin(&st, "http://good.example:8080", "z",
					err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(ws_check_origin(&st, "https://sec.example", "z", err,
					sizeof(err)),
			0);
	CU_ASSERT_EQUAL(ws_check_origin(&st, "https://good.example:8080", "z",
					err, sizeof(err)),
			-1);
	CU_ASSERT_STRING_EQUAL(err, "not in the allowed list");
	CU_ASSERT_EQUAL(ws_check_origin(&st, "http://good.example", "z", err,
					sizeof(err)),
			-1);
	CU_ASSERT_EQUAL(ws_check_origin(&st, "bad", "z", err, sizeof(err)), -1);
}

/* A request with the given headers, "Name: value" each. */
static void req_make(struct ws_req *r, int method, const char *const *h)
{
	char name[64];
	const char *colon;
	int i;

	memset(r, 0, sizeof(*r));
	r->method = method;
	r->http_major = r->http_minor = 1;
	for (; *h != NULL; h++) {
		colon = strchr(*h, ':');
		snprintf(name, sizeof(name), "%.*s", (int)(colon - *h), *h);
		for (i = 0; i < H_COUNT; i++)
			if (strcasecmp(name, ws_hdr_names[i].name) == 0)
				break;
		CU_ASSERT_FATAL(i < H_COUNT);
		ws_req_append(r, i, colon + 2, strlen(colon + 2));
		r->seen[i] = true;
	}
}

static void test_request_check(void)
{
	static const char *const good[] = {
		"Host: localhost:8080",
		"Upgrade: websocket",
		"Connection: keep-alive, Upgrade",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-WebSocket-Version: 13",
		NULL,
	};
	static const struct {
		int drop; /* index of good[] left out, or -1 */
		int method;
		int status;
		const char *reason;
	} cases[] = {
		{ -1, HTTP_GET, 0, "" },
		{ -1, HTTP_POST, 405, "request method must be GET" },
		{ 0, HTTP_GET, 400, "'Host' missing in request" },
		{ 1, HTTP_GET, 400, "invalid value for header 'Upgrade'" },
		{ 2, HTTP_GET, 400, "invalid value for header 'Connection'" },
		{ 3, HTTP_GET, 400, "key missing" },
		{ 4, HTTP_GET, 400, "invalid version" },
	};
	const char *h[8];
	struct ws_settings st = { 0 };
	struct ws_req r;
	char reason[256];
	size_t i;
	int j, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (j = 0, k = 0; good[j] != NULL; j++)
			if (j != cases[i].drop)
				h[k++] = good[j];
		h[k] = NULL;
		req_make(&r, cases[i].method, h);
		reason[0] = '\0';
		CU_ASSERT_EQUAL(ws_req_check(&st, &r, reason, sizeof(reason)),
				cases[i].status);
		CU_ASSERT_STRING_EQUAL(reason, cases[i].reason);
		ws_req_free(&r);
	}
	/* Origin: checked last, against same_origin. */
	for (j = 0; good[j] != NULL; j++)
		h[j] = good[j];
	h[j++] = "Origin: http://evil.example";
	h[j] = NULL;
	st.same_origin = true;
	req_make(&r, HTTP_GET, h);
	CU_ASSERT_EQUAL(ws_req_check(&st, &r, reason, sizeof(reason)), 403);
	CU_ASSERT_STRING_EQUAL(reason, "origin not allowed: not same origin");
	ws_req_free(&r);
}

static void test_cookie(void)
{
	char v[64];

	CU_ASSERT(ws_cookie_get("a=b; jwt=XYZ; c=d", "jwt", v, sizeof(v)));
	CU_ASSERT_STRING_EQUAL(v, "XYZ");
	CU_ASSERT(ws_cookie_get("jwt=\"Q\"", "jwt", v, sizeof(v)));
	CU_ASSERT_STRING_EQUAL(v, "Q");
	CU_ASSERT(!ws_cookie_get("xjwt=1; jwtx=2", "jwt", v, sizeof(v)));
	CU_ASSERT(!ws_cookie_get(NULL, "jwt", v, sizeof(v)));
}

static void test_close_payload(void)
{
	char body[200];
	uint8_t p[125];
	size_t n;

	CU_ASSERT_EQUAL(ws_close_status("Client Closed"), 1000);
	CU_ASSERT_EQUAL(ws_close_status("Authentication Failure"), 1008);
	CU_ASSERT_EQUAL(ws_close_status("Protocol Violation"), 1002);
	CU_ASSERT_EQUAL(ws_close_status("Maximum Message Payload Exceeded"),
			1009);
	CU_ASSERT_EQUAL(ws_close_status("Server Shutdown"), 1001);
	CU_ASSERT_EQUAL(ws_close_status("Stale Connection"), 1006);
	CU_ASSERT_EQUAL(ws_close_status("Link Closed"), 1011);
	n = ws_close_payload(1000, "bye", p);
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT(memcmp(p,
			 "\x03\xe8"
			 "bye",
			 5) == 0);
	memset(body, 'a', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	n = ws_close_payload(1002, body, p);
	CU_ASSERT_EQUAL(n, 125);
	CU_ASSERT(memcmp(p + 122, "...", 3) == 0);
	CU_ASSERT(ws_utf8_valid((const uint8_t *)"h\xc3\xa9llo", 6));
	CU_ASSERT(ws_utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4));
	CU_ASSERT(!ws_utf8_valid((const uint8_t *)"\xff\xfe", 2));
	CU_ASSERT(!ws_utf8_valid((const uint8_t *)"\xc3", 1));
	CU_ASSERT(!ws_utf8_valid((const uint8_t *)"\xc0\x80", 2));
	CU_ASSERT(!ws_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));
}

/* ------------------------------------------------------------------ */
/* The layer over a fake stream                                        */

static void feed(struct natsd_stream *s, const void *p, size_t n)
{
	memcpy(s->in + s->inlen, p, n);
	s->inlen += n;
}

static void feed_frame(struct natsd_stream *s, uint8_t b0, const char *p,
		       size_t n, bool mask)
{
	static const uint8_t key[4] = { 1, 2, 3, 4 };
	uint8_t h[2] = { b0, (uint8_t)((mask ? 0x80 : 0) | n) };
	size_t i;

	feed(s, h, 2);
	if (mask)
		feed(s, key, 4);
	for (i = 0; i < n; i++)
		s->in[s->inlen++] = (uint8_t)p[i] ^ (mask ? key[i & 3] : 0);
}

static const char upgrade[] =
	"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
	"Connection: Upgrade\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Sec-WebSocket-Version: 13\r\n\r\n";

static void *layer_open(struct natsd_stream *s)
{
	void *sctx = NULL;

	memset(s, 0, sizeof(*s));
	s->outroom = SIZE_MAX;
	CU_ASSERT_FATAL(ws_push(&plugin, s, NULL, &sctx) == 0);
	return sctx;
}

static void test_layer(void)
{
	static const char reply[] =
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
	struct natsd_stream s;
	struct iovec iov;
	const void *out;
	size_t len;
	char buf[256];
	void *sctx = layer_open(&s);

	/* The host's INFO waits for the handshake. */
	iov.iov_base = "INFO {}\r\n";
	iov.iov_len = 9;
	CU_ASSERT_EQUAL(ws_writev(sctx, &s, &iov, 1), 9);
	CU_ASSERT_EQUAL(s.outlen, 0);
	CU_ASSERT(ws_handshake_ms(sctx) > 0);
	/* The request in two pieces. */
	feed(&s, upgrade, 20);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, sizeof(buf)), NATSD_EAGAIN);
	feed(&s, upgrade + 20, sizeof(upgrade) - 1 - 20);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, sizeof(buf)), NATSD_EAGAIN);
	CU_ASSERT_EQUAL(ws_handshake_ms(sctx), -1);
	CU_ASSERT_FATAL(s.outlen == sizeof(reply) - 1 + 2 + 9);
	CU_ASSERT(memcmp(s.out, reply, sizeof(reply) - 1) == 0);
	CU_ASSERT(memcmp(s.out + sizeof(reply) - 1, "\x82\x09INFO {}\r\n",
			 11) == 0);
	CU_ASSERT_EQUAL(ws_query(sctx, NATSD_Q_CONN_TYPE, &out, &len), 0);
	CU_ASSERT_STRING_EQUAL(out, "websocket");
	CU_ASSERT_EQUAL(ws_query(sctx, NATSD_Q_REMOTE_IP, &out, &len),
			NATSD_ENOTSUP);
	s.outlen = 0;

	/* A command in two frames, a ping between: one read each. */
	feed_frame(&s, 0x02, "PI", 2, true);
	feed_frame(&s, 0x89, "hi", 2, true);
	feed_frame(&s, 0x80, "NG\r\n", 4, true);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, sizeof(buf)), 6);
	CU_ASSERT(memcmp(buf, "PING\r\n", 6) == 0);
	CU_ASSERT_EQUAL(s.outlen, 4);
	CU_ASSERT(memcmp(s.out, "\x8a\x02hi", 4) == 0);
	s.outlen = 0;
	/* A short reader's buffer: the rest is pending. */
	feed_frame(&s, 0x82, "PONG\r\n", 6, true);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, 4), 4);
	CU_ASSERT(ws_pending(sctx) >= 2);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, sizeof(buf)), 2);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, sizeof(buf)), NATSD_EAGAIN);
	CU_ASSERT_EQUAL(ws_pending(sctx), 0);
	/* A read that fills the buffer exactly: whole frames may wait
	 * inside, which the socket will not announce. */
	feed_frame(&s, 0x82, "PING\r\n", 6, true);
	feed_frame(&s, 0x82, "PONG\r\n", 6, true);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, 6), 6);
	CU_ASSERT(ws_pending(sctx) > 0);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, 6), 6);
	CU_ASSERT(memcmp(buf, "PONG\r\n", 6) == 0);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, 6), NATSD_EAGAIN);
	CU_ASSERT_EQUAL(ws_pending(sctx), 0);

	/* Writes: a frame; a socket that takes part of it keeps the rest
	 * and says it wants to write. */
	iov.iov_base = "MSG a 1 2\r\nhi\r\n";
	iov.iov_len = 15;
	s.outroom = 5;
	CU_ASSERT_EQUAL(ws_writev(sctx, &s, &iov, 1), 15);
	CU_ASSERT_EQUAL(ws_want(sctx), NATSD_WANT_WRITE);
	CU_ASSERT_EQUAL(ws_writev(sctx, &s, &iov, 1), NATSD_EAGAIN);
	s.outroom = SIZE_MAX;
	CU_ASSERT_EQUAL(ws_writev(sctx, &s, NULL, 0), 0);
	CU_ASSERT_EQUAL(ws_want(sctx), 0);
	CU_ASSERT_EQUAL(s.outlen, 17);
	CU_ASSERT(memcmp(s.out, "\x82\x0fMSG a 1 2\r\nhi\r\n", 17) == 0);
	s.outlen = 0;

	/* The host closes: a close frame with nats-server's status. */
	ws_shutdown(sctx, &s, "Stale Connection");
	CU_ASSERT_EQUAL(s.outlen, 2 + 2 + 16);
	CU_ASSERT(memcmp(s.out, "\x88\x12\x03\xeeStale Connection", 20) == 0);
	ws_close(sctx, &s);
}

static void test_layer_errors(void)
{
	struct natsd_stream s;
	char buf[256];
	void *sctx;

	/* An unmasked frame: close 1002, then reads fail. */
	sctx = layer_open(&s);
	feed(&s, upgrade, sizeof(upgrade) - 1);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, sizeof(buf)), NATSD_EAGAIN);
	s.outlen = 0;
	feed_frame(&s, 0x82, "PING\r\n", 6, false);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, sizeof(buf)), NATSD_EPROTO);
	CU_ASSERT(memcmp(s.out, "\x88\x12\x03\xeamask bit missing", 20) == 0);
	CU_ASSERT_STRING_EQUAL(last_log,
			       "127.0.0.1:5555 - read error: mask bit missing");
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, sizeof(buf)), NATSD_EPROTO);
	ws_close(sctx, &s);

	/* A frame announcing 128 MiB: refused at its first bytes. */
	sctx = layer_open(&s);
	feed(&s, upgrade, sizeof(upgrade) - 1);
	ws_read(sctx, &s, buf, sizeof(buf));
	s.outlen = 0;
	feed(&s, "\x82\xff\0\0\0\0\x08\0\0\0\1\2\3\4abcd", 18);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, sizeof(buf)), NATSD_EPROTO);
	CU_ASSERT(memcmp(s.out,
			 "\x88\x0f\x03\xf1"
			 "frame too big",
			 17) == 0);
	ws_close(sctx, &s);

	/* A client's close: echoed, then end of stream. */
	sctx = layer_open(&s);
	feed(&s, upgrade, sizeof(upgrade) - 1);
	ws_read(sctx, &s, buf, sizeof(buf));
	s.outlen = 0;
	feed_frame(&s, 0x88, "\x03\xe8", 2, true);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, sizeof(buf)), 0);
	CU_ASSERT(memcmp(s.out, "\x88\x02\x03\xe8", 4) == 0);
	/* No second close frame when the host closes after it. */
	ws_shutdown(sctx, &s, "Client Closed");
	CU_ASSERT_EQUAL(s.outlen, 4);
	ws_close(sctx, &s);

	/* A bad request: 400 and an error. */
	sctx = layer_open(&s);
	feed(&s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, sizeof(buf)), NATSD_EPROTO);
	CU_ASSERT(strncmp((char *)s.out, "HTTP/1.1 400 Bad Request\r\n", 26) ==
		  0);
	CU_ASSERT(strstr(last_log, "invalid value for header 'Upgrade'") !=
		  NULL);
	ws_close(sctx, &s);

	/* A request over the cap: 431. */
	sctx = layer_open(&s);
	feed(&s, "GET / HTTP/1.1\r\nX: ", 19);
	memset(s.in + s.inlen, 'a', 65000);
	s.inlen += 65000;
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, sizeof(buf)), NATSD_EAGAIN);
	s.inlen = s.inpos = 0;
	memset(s.in, 'a', 2000);
	s.inlen = 2000;
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, sizeof(buf)), NATSD_EPROTO);
	CU_ASSERT(strncmp((char *)s.out,
			  "HTTP/1.1 431 Request Header Fields Too Large\r\n",
			  46) == 0);
	ws_close(sctx, &s);
}

/* Browsers get frames of at most 4096 bytes. */
static void test_layer_browser(void)
{
	static const char req[] =
		"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n"
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n\r\n";
	static char big[10000];
	struct natsd_stream s;
	struct iovec iov[2];
	char buf[64];
	void *sctx = layer_open(&s);

	feed(&s, req, sizeof(req) - 1);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, sizeof(buf)), NATSD_EAGAIN);
	s.outlen = 0;
	memset(big, 'b', sizeof(big));
	iov[0].iov_base = big;
	iov[0].iov_len = 3000;
	iov[1].iov_base = big + 3000;
	iov[1].iov_len = 7000;
	CU_ASSERT_EQUAL(ws_writev(sctx, &s, iov, 2), 10000);
	/* 4096 + 4096 + 1808, each a message of its own. */
	CU_ASSERT_EQUAL_FATAL(s.outlen, 3 * 4 + 10000);
	CU_ASSERT(memcmp(s.out, "\x82\x7e\x10\x00", 4) == 0);
	CU_ASSERT(memcmp(s.out + 4 + 4096, "\x82\x7e\x10\x00", 4) == 0);
	CU_ASSERT(memcmp(s.out + 8 + 8192, "\x82\x7e\x07\x10", 4) == 0);
	ws_close(sctx, &s);
}

/* X-Forwarded-For, the jwt cookie, Nats-No-Masking. */
static void test_layer_headers(void)
{
	static const char req[] =
		"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n"
		"X-Forwarded-For: 10.1.2.3, 192.0.2.1\r\n"
		"Cookie: a=b; jwt=eyJ0eXAi.x.y\r\n"
		"Nats-No-Masking: true\r\n\r\n";
	static char cookie_name[] = "jwt";
	struct natsd_stream s;
	const void *out;
	size_t len;
	char buf[64];
	void *sctx;

	plugin.defaults.jwt_cookie = cookie_name;
	sctx = layer_open(&s);
	feed(&s, req, sizeof(req) - 1);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, sizeof(buf)), NATSD_EAGAIN);
	plugin.defaults.jwt_cookie = NULL;
	CU_ASSERT(strstr((char *)s.out, "\r\nNats-No-Masking: true\r\n") !=
		  NULL);
	CU_ASSERT_EQUAL(ws_query(sctx, NATSD_Q_REMOTE_IP, &out, &len), 0);
	CU_ASSERT_STRING_EQUAL(out, "10.1.2.3");
	CU_ASSERT_EQUAL(ws_query(sctx, NATSD_Q_JWT_COOKIE, &out, &len), 0);
	CU_ASSERT_STRING_EQUAL(out, "eyJ0eXAi.x.y");
	/* Unmasked frames are fine now. */
	feed_frame(&s, 0x82, "PING\r\n", 6, false);
	CU_ASSERT_EQUAL(ws_read(sctx, &s, buf, sizeof(buf)), 6);
	CU_ASSERT(memcmp(buf, "PING\r\n", 6) == 0);
	ws_close(sctx, &s);
}

int main(void)
{
	static const struct suite_test pieces[] = {
		{ "accept key", test_accept_key },
		{ "header tokens", test_tokens },
		{ "host and port", test_host_port },
		{ "origin parsing", test_origin_parse },
		{ "origin checks", test_origin_check },
		{ "request checks", test_request_check },
		{ "cookies", test_cookie },
		{ "close statuses and payloads", test_close_payload },
	};
	static const struct suite_test layer[] = {
		{ "upgrade and frames", test_layer },
		{ "errors", test_layer_errors },
		{ "forwarded address, cookie, no masking", test_layer_headers },
		{ "browser frames", test_layer_browser },
	};
	static const struct suite suites[] = {
		{ "websocket pieces", NULL, NULL, pieces, SUITE_COUNT(pieces) },
		{ "websocket layer", NULL, NULL, layer, SUITE_COUNT(layer) },
	};

	return suites_run(suites, SUITE_COUNT(suites)) == 0 ? 0 : 1;
}
