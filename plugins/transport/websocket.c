/* The websocket transport: a layer that speaks WebSocket (RFC 6455) over
 * the stream below it, as nats-server's websocket listener does.
 *
 * On push it only sets up state; the first reads collect the HTTP upgrade
 * request (parsed by http-parser, size-capped), check it in nats-server's
 * order (PROTOCOL.md section 6) and answer "101 Switching Protocols" or
 * nats-server's HTTP error reply. From then on reads return the payload of
 * the client's data frames (framing by wslay's frame API, unmasked, with
 * permessage-deflate inflated by zlib), answer pings and close frames, and
 * writes are framed as binary messages (unmasked, compressed when that was
 * negotiated). What the host writes before the handshake is over (INFO) is
 * kept and sent right after the 101.
 *
 * The layer only uses the stream below through the host's stream_*
 * functions, so it runs over tcp as well as over tls.
 *
 * Memory per connection is bounded: the request by WS_MAX_REQUEST, input
 * by one buffer of WS_IBUF plus wslay's own, inflated output by the
 * caller's buffer plus one wslay chunk (inflation is streamed, never a
 * whole message at once), output by one write of WS_WRITE_MAX. A message
 * that inflates beyond WS_MAX_MESSAGE (a deflate bomb) and a frame
 * announcing more than WS_MAX_FRAME bytes are refused with a close frame.
 *
 * Settings come in the section the listener passes to push() (natsd's
 * websocket block): compression, same_origin, allowed_origins,
 * handshake_timeout, jwt_cookie. The parsed form is cached per section. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <http_parser.h>
#include <openssl/evp.h>
#include <wslay/wslay.h>
#include <zlib.h>

#include <natsd/plugin.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* The whole upgrade request; nats-server (Go) allows 1 MiB. */
#define WS_MAX_REQUEST (64 * 1024)
/* One header value we keep (Cookie may be long). */
#define WS_MAX_VALUE (16 * 1024)
#define WS_IBUF      (16 * 1024)
/* Host bytes taken per writev(): one or a few frames. */
#define WS_WRITE_MAX (1024 * 1024)
/* What the host may write before the handshake is over (INFO, PING). */
#define WS_EARLY_MAX   (256 * 1024)
#define WS_MAX_FRAME   (64LL * 1024 * 1024)
#define WS_MAX_MESSAGE (64LL * 1024 * 1024)
/* nats-server: frames for browsers are at most this large, and buffers
 * this small are not worth compressing. */
#define WS_BROWSER_FRAME        4096
#define WS_COMPRESS_THRESHOLD   64
#define WS_DEFAULT_HANDSHAKE_MS 10000
#define WS_DEFLATE_WBITS        12
#define WS_DEFLATE_MEMLEVEL     5

#define WS_CLOSE_NORMAL       1000
#define WS_CLOSE_GOING_AWAY   1001
#define WS_CLOSE_PROTOCOL     1002
#define WS_CLOSE_NO_STATUS    1005
#define WS_CLOSE_ABNORMAL     1006
#define WS_CLOSE_INVALID_DATA 1007
#define WS_CLOSE_POLICY       1008
#define WS_CLOSE_TOO_BIG      1009
#define WS_CLOSE_INTERNAL     1011
#define WS_CLOSE_TLS          1015

/* ------------------------------------------------------------------ */
/* Settings                                                            */

struct ws_origin {
	char *scheme;
	char *host;
	char *port;
};

struct ws_settings {
	bool compression;
	bool same_origin;
	bool tls; /* under tls: a Host without a port means 443 */
	struct ws_origin *origins;
	size_t norigins;
	int64_t handshake_ms;
	char *jwt_cookie;
};

struct ws_plugin {
	struct natsd_host *h;
	const struct natsd_host_api *api;
	/* Parsed settings per section; push() runs on the accepting
	 * thread only. */
	struct ws_cache_entry {
		const struct natsd_cfg *cfg;
		struct ws_settings *st;
	} * cache;
	size_t ncache;
	struct ws_settings defaults; /* no section */
};

/* ------------------------------------------------------------------ */
/* Small pieces, tested alone                                          */

/* Sec-WebSocket-Accept for key: base64(SHA-1(key + GUID)); out gets 28
 * characters and a NUL. */
static void ws_accept_key(const char *key, char out[29])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char in[256 + sizeof(WS_GUID)];
	int n;

	/* A longer key is cut: nothing but a hostile client sends one. */
	n = snprintf(in, sizeof(in), "%.256s%s", key, WS_GUID);
	EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

/* Whether the comma-separated list has token, case aside, as Go's
 * wsHeaderContains sees it. */
static bool ws_has_token(const char *list, const char *token)
{
	size_t tlen = strlen(token), n;
	const char *p = list, *e;

	if (list == NULL)
		return false;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		e = strchr(p, ',');
		n = e ? (size_t)(e - p) : strlen(p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == tlen && strncasecmp(p, token, tlen) == 0)
			return true;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return false;
}

/* Does the extensions list offer permessage-deflate? */
static bool ws_pmc_offered(const char *ext)
{
	char buf[1024], *tok, *save = NULL, *p;
	size_t n;

	if (ext == NULL)
		return false;
	snprintf(buf, sizeof(buf), "%s", ext);
	for (tok = strtok_r(buf, ",;", &save); tok != NULL;
	     tok = strtok_r(NULL, ",;", &save)) {
		p = tok;
		while (*p == ' ' || *p == '\t')
			p++;
		n = strlen(p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 18 && strncasecmp(p, "permessage-deflate", 18) == 0)
			return true;
	}
	return false;
}

/* Splits "host[:port]" (or "[v6]:port") as Go's wsGetHostAndPort does:
 * the host lowercased, the port defaulting to 443 or 80. 0, or -1 with
 * the reason in err. */
static int ws_host_port(const char *hp, bool tls, char *host, size_t hcap,
			char *port, size_t pcap, char *err, size_t errlen)
{
	const char *colon, *h = hp;
	size_t hlen, i;

	if (hp[0] == '[') {
		const char *rb = strchr(hp, ']');

		if (rb == NULL) {
			snprintf(err, errlen,
				 "address %s: missing ']' in "
				 "address",
				 hp);
			return -1;
		}
		h = hp + 1;
		hlen = (size_t)(rb - h);
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb[1] != '\0' && colon == NULL) {
			snprintf(err, errlen,
				 "address %s: unexpected text "
				 "after ']'",
				 hp);
			return -1;
		}
	} else {
		colon = strchr(hp, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			snprintf(err, errlen,
				 "address %s: too many colons "
				 "in address",
				 hp);
			return -1;
		}
		hlen = colon ? (size_t)(colon - hp) : strlen(hp);
	}
	if (hlen >= hcap)
		hlen = hcap - 1;
	for (i = 0; i < hlen; i++)
		host[i] = (char)tolower((unsigned char)h[i]);
	host[hlen] = '\0';
	if (colon != NULL)
		snprintf(port, pcap, "%s", colon + 1);
	else
		snprintf(port, pcap, "%s", tls ? "443" : "80");
	return 0;
}

/* Parses an origin URL ("https://host:port") into scheme, host and port,
 * as Go's url.ParseRequestURI and wsGetHostAndPort see it. */
static int ws_parse_origin(const char *url, char *scheme, size_t scap,
			   char *host, size_t hcap, char *port, size_t pcap,
			   char *err, size_t errlen)
{
	struct http_parser_url u;
	size_t i, n;

	http_parser_url_init(&u);
	if (url[0] == '\0' ||
	    http_parser_parse_url(url, strlen(url), 0, &u) != 0 ||
	    !(u.field_set & (1 << UF_SCHEMA)) ||
	    !(u.field_set & (1 << UF_HOST))) {
		snprintf(err, errlen, "parse \"%s\": invalid URI for request",
			 url);
		return -1;
	}
	snprintf(scheme, scap, "%.*s", (int)u.field_data[UF_SCHEMA].len,
		 url + u.field_data[UF_SCHEMA].off);
	for (i = 0; scheme[i] != '\0'; i++)
		scheme[i] = (char)tolower((unsigned char)scheme[i]);
	/* http-parser gives an IPv6 host without its brackets, as Go. */
	n = u.field_data[UF_HOST].len < hcap - 1 ? u.field_data[UF_HOST].len
						 : hcap - 1;
	for (i = 0; i < n; i++)
		host[i] = (char)tolower(
			(unsigned char)url[u.field_data[UF_HOST].off + i]);
	host[n] = '\0';
	if (u.field_set & (1 << UF_PORT))
		snprintf(port, pcap, "%.*s", (int)u.field_data[UF_PORT].len,
			 url + u.field_data[UF_PORT].off);
	else
		snprintf(port, pcap, "%s",
			 strcmp(scheme, "https") == 0 ? "443" : "80");
	return 0;
}

/* nats-server's checkOrigin: with neither same_origin nor an allowed
 * list, or without an Origin header, anything goes. 0, or -1 with the
 * reason in err. */
static int ws_check_origin(const struct ws_settings *st, const char *origin,
			   const char *req_host, char *err, size_t errlen)
{
	char scheme[32], oh[256], op[32], rh[256], rp[32];
	size_t i;

	if (!st->same_origin && st->norigins == 0)
		return 0;
	if (origin == NULL || origin[0] == '\0')
		return 0;
	if (ws_parse_origin(origin, scheme, sizeof(scheme), oh, sizeof(oh), op,
			    sizeof(op), err, errlen) != 0)
		return -1;
	if (st->same_origin) {
		if (ws_host_port(req_host ? req_host : "", st->tls, rh,
				 sizeof(rh), rp, sizeof(rp), err, errlen) != 0)
			return -1;
		if (strcmp(oh, rh) != 0 || strcmp(op, rp) != 0) {
			snprintf(err, errlen, "not same origin");
			return -1;
		}
	}
	if (st->norigins > 0) {
		for (i = 0; i < st->norigins; i++)
			if (strcmp(st->origins[i].host, oh) == 0)
				break;
		if (i == st->norigins ||
		    strcmp(st->origins[i].scheme, scheme) != 0 ||
		    strcmp(st->origins[i].port, op) != 0) {
			snprintf(err, errlen, "not in the allowed list");
			return -1;
		}
	}
	return 0;
}

/* The value of cookie name in a Cookie header, or false. */
static bool ws_cookie_get(const char *cookies, const char *name, char *out,
			  size_t cap)
{
	size_t nlen = strlen(name), vlen;
	const char *p = cookies, *e;

	if (cookies == NULL || nlen == 0)
		return false;
	while (*p != '\0') {
		while (*p == ' ' || *p == ';')
			p++;
		e = strchr(p, ';');
		if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			p += nlen + 1;
			vlen = e ? (size_t)(e - p) : strlen(p);
			while (vlen > 0 && p[vlen - 1] == ' ')
				vlen--;
			if (vlen >= 2 && p[0] == '"' && p[vlen - 1] == '"') {
				p++;
				vlen -= 2;
			}
			if (vlen >= cap)
				return false;
			memcpy(out, p, vlen);
			out[vlen] = '\0';
			return true;
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	return false;
}

/* The close status nats-server sends when it closes a connection for
 * reason (its closed-state text). */
static int ws_close_status(const char *reason)
{
	static const struct {
		const char *text;
		int status;
	} map[] = {
		{ "Client Closed", WS_CLOSE_NORMAL },
		{ "Authentication Timeout", WS_CLOSE_POLICY },
		{ "Authentication Failure", WS_CLOSE_POLICY },
		{ "Slow Consumer (Pending Bytes)", WS_CLOSE_POLICY },
		{ "Slow Consumer (Write Deadline)", WS_CLOSE_POLICY },
		{ "Maximum Account Connections Exceeded", WS_CLOSE_POLICY },
		{ "Maximum Connections Exceeded", WS_CLOSE_POLICY },
		{ "Maximum Control Line Exceeded", WS_CLOSE_POLICY },
		{ "Maximum Subscriptions Exceeded", WS_CLOSE_POLICY },
		{ "Missing Account", WS_CLOSE_POLICY },
		{ "Authentication Expired", WS_CLOSE_POLICY },
		{ "Credentials Revoked", WS_CLOSE_POLICY },
		{ "TLS Handshake Failure", WS_CLOSE_TLS },
		{ "Parse Error", WS_CLOSE_PROTOCOL },
		{ "Protocol Violation", WS_CLOSE_PROTOCOL },
		{ "Bad Client Protocol Version", WS_CLOSE_PROTOCOL },
		{ "Maximum Message Payload Exceeded", WS_CLOSE_TOO_BIG },
		{ "Server Shutdown", WS_CLOSE_GOING_AWAY },
		{ "Write Error", WS_CLOSE_ABNORMAL },
		{ "Read Error", WS_CLOSE_ABNORMAL },
		{ "Stale Connection", WS_CLOSE_ABNORMAL },
	};
	size_t i;

	for (i = 0; reason != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].text, reason) == 0)
			return map[i].status;
	return WS_CLOSE_INTERNAL;
}

/* A close frame's payload: the status and body, the body cut to fit a
 * control frame with "..." as nats-server does. Returns its length. */
static size_t ws_close_payload(int status, const char *body, uint8_t out[125])
{
	size_t n = body ? strlen(body) : 0;

	out[0] = (uint8_t)(status >> 8);
	out[1] = (uint8_t)status;
	if (n > 123) {
		memcpy(out + 2, body, 120);
		memcpy(out + 122, "...", 3);
		return 125;
	}
	if (n > 0)
		memcpy(out + 2, body, n);
	return 2 + n;
}

/* Whether buf is valid UTF-8 (a close frame's reason must be). */
static bool ws_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0, k, need;
	uint32_t cp;

	while (i < n) {
		uint8_t c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			need = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + need >= n)
			return false;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* The upgrade request                                                 */

enum ws_hdr {
	H_HOST,
	H_UPGRADE,
	H_CONNECTION,
	H_KEY,
	H_VERSION,
	H_ORIGIN,
	H_SEC_ORIGIN,
	H_EXTENSIONS,
	H_NO_MASKING,
	H_XFF,
	H_USER_AGENT,
	H_COOKIE,
	H_COUNT,
};

static const struct {
	const char *name;
	char sep; /* joins repeated headers; 0: the first one counts */
} ws_hdr_names[H_COUNT] = {
	[H_HOST] = { "Host", 0 },
	[H_UPGRADE] = { "Upgrade", ',' },
	[H_CONNECTION] = { "Connection", ',' },
	[H_KEY] = { "Sec-WebSocket-Key", 0 },
	[H_VERSION] = { "Sec-WebSocket-Version", ',' },
	[H_ORIGIN] = { "Origin", 0 },
	[H_SEC_ORIGIN] = { "Sec-WebSocket-Origin", 0 },
	[H_EXTENSIONS] = { "Sec-WebSocket-Extensions", ',' },
	[H_NO_MASKING] = { "Nats-No-Masking", 0 },
	[H_XFF] = { "X-Forwarded-For", 0 },
	[H_USER_AGENT] = { "User-Agent", 0 },
	[H_COOKIE] = { "Cookie", ';' },
};

/* A request as far as the checks need it. */
struct ws_req {
	int method; /* enum http_method */
	int http_major, http_minor;
	char *hdr[H_COUNT];
	size_t hlen[H_COUNT];
	bool seen[H_COUNT]; /* for first-only headers */
};

static void ws_req_free(struct ws_req *r)
{
	int i;

	for (i = 0; i < H_COUNT; i++) {
		free(r->hdr[i]);
		r->hdr[i] = NULL;
		r->hlen[i] = 0;
	}
}

/* Value of header h, trimmed, or NULL when absent. */
static const char *ws_req_get(struct ws_req *r, int h)
{
	char *v = r->hdr[h];
	size_t n;

	if (v == NULL)
		return NULL;
	n = r->hlen[h];
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		v[--n] = '\0';
	while (*v == ' ' || *v == '\t')
		v++;
	return v;
}

/* Appends to header h; 0 or -1 when it would pass WS_MAX_VALUE. */
static int ws_req_append(struct ws_req *r, int h, const char *s, size_t n)
{
	char *nv;

	if (r->hlen[h] + n + 1 > WS_MAX_VALUE)
		return -1;
	nv = realloc(r->hdr[h], r->hlen[h] + n + 1);
	if (nv == NULL)
		return -1;
	memcpy(nv + r->hlen[h], s, n);
	r->hlen[h] += n;
	nv[r->hlen[h]] = '\0';
	r->hdr[h] = nv;
	return 0;
}

/* Checks a complete request in nats-server's order. 0 when it may be
 * upgraded; else the HTTP status to answer and the reason (logged). */
static int ws_req_check(const struct ws_settings *st, struct ws_req *r,
			char *reason, size_t rlen)
{
	const char *origin;
	char err[256];

	if (r->method != HTTP_GET) {
		snprintf(reason, rlen, "request method must be GET");
		return 405;
	}
	if (ws_req_get(r, H_HOST) == NULL || ws_req_get(r, H_HOST)[0] == '\0') {
		snprintf(reason, rlen, "'Host' missing in request");
		return 400;
	}
	if (!ws_has_token(ws_req_get(r, H_UPGRADE), "websocket")) {
		snprintf(reason, rlen, "invalid value for header 'Upgrade'");
		return 400;
	}
	if (!ws_has_token(ws_req_get(r, H_CONNECTION), "Upgrade")) {
		snprintf(reason, rlen, "invalid value for header 'Connection'");
		return 400;
	}
	if (ws_req_get(r, H_KEY) == NULL || ws_req_get(r, H_KEY)[0] == '\0') {
		snprintf(reason, rlen, "key missing");
		return 400;
	}
	if (!ws_has_token(ws_req_get(r, H_VERSION), "13")) {
		snprintf(reason, rlen, "invalid version");
		return 400;
	}
	origin = ws_req_get(r, H_ORIGIN);
	if (origin == NULL || origin[0] == '\0')
		origin = ws_req_get(r, H_SEC_ORIGIN);
	if (ws_check_origin(st, origin, ws_req_get(r, H_HOST), err,
			    sizeof(err)) != 0) {
		snprintf(reason, rlen, "origin not allowed: %s", err);
		return 403;
	}
	return 0;
}

static const char *ws_status_text(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	default:
		return "Internal Server Error";
	}
}

/* nats-server's error reply (Go's http.Error with its headers). */
static int ws_http_error(char *buf, size_t cap, int major, int minor,
			 int status)
{
	const char *text = ws_status_text(status);
	char date[64];
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return snprintf(buf, cap,
			"HTTP/%d.%d %d %s\r\n"
			"Content-Type: text/plain; charset=utf-8\r\n"
			"Sec-Websocket-Version: 13\r\n"
			"X-Content-Type-Options: nosniff\r\n"
			"Date: %s\r\n"
			"Content-Length: %zu\r\n\r\n%s\n",
			major, minor, status, text, date, strlen(text) + 1,
			text);
}

/* Go's own reply to a request it cannot parse. */
static int ws_http_bad(char *buf, size_t cap, int status, const char *what)
{
	const char *text = ws_status_text(status);

	return snprintf(buf, cap,
			"HTTP/1.1 %d %s%s%s\r\n"
			"Content-Type: text/plain; charset=utf-8\r\n"
			"Connection: close\r\n\r\n%d %s%s%s",
			status, text, what ? ": " : "", what ? what : "",
			status, text, what ? ": " : "", what ? what : "");
}

/* ------------------------------------------------------------------ */
/* A connection                                                        */

enum ws_state {
	WS_HANDSHAKE = 0,
	WS_OPEN = 1,
	WS_DONE = 2,   /* the peer closed: reads give end of stream */
	WS_FAILED = 3, /* a protocol error: reads give fail */
};

struct ws_hs {
	http_parser hp;
	struct ws_req req;
	char field[64];
	size_t flen;
	bool in_value;
	int cur; /* header being read, or -1 */
	bool skip;
	bool done;
	bool too_big;
	size_t bytes;
};

/* Frames collected from wslay_frame_send(), written with one writev. */
#define WS_COL_IOV 160
struct ws_collect {
	struct iovec iov[WS_COL_IOV];
	int n;
	int nhdr;
	bool hdr_next;
	bool overflow;
	uint8_t hdr[WS_COL_IOV / 2][14]; /* last: not cleared */
};

struct ws_conn {
	const struct natsd_host_api *api;
	const struct ws_settings *st;
	struct natsd_stream *below;
	enum ws_state state;
	int fail; /* what reads return in WS_FAILED */
	struct ws_hs *hs;
	int64_t deadline_ms;

	wslay_frame_context_ptr wf;
	int below_rc; /* what the stream below said in the last recv */

	/* Input read from below, handed to wslay as it asks. ibase is the
	 * stream offset of ibuf[0]. */
	uint8_t *ibuf;
	size_t ilen, ipos;
	uint64_t ibase;

	/* The frame being read. */
	bool in_frame;
	uint8_t fop;
	uint64_t frame_left;
	uint64_t next_frame; /* stream offset of the next frame header */
	bool in_msg;         /* a fragmented data message goes on */
	bool msg_z;          /* it is compressed */
	uint64_t msg_bytes;  /* inflated so far */
	uint8_t ctl[125];
	size_t ctl_len;

	/* Payload decoded but not yet taken by the reader. */
	uint8_t *carry;
	size_t carry_len, carry_pos;

	/* Compressed input waiting for room in the reader's buffer. */
	z_stream zi;
	bool zi_init;
	uint8_t *zpend;
	size_t zpend_len, zpend_cap;
	bool zpend_last; /* ends the message */

	z_stream zo;
	bool zo_init;
	uint8_t *zout;
	size_t zout_cap;

	/* Framed bytes the stream below did not take yet. */
	uint8_t *obuf;
	size_t olen, opos, ocap;
	/* Host bytes written before the handshake was over. */
	uint8_t *early;
	size_t early_len;

	struct ws_collect *col;

	/* The last read filled the reader's buffer: wslay may hold whole
	 * frames that no socket readiness will announce. */
	bool more;
	bool compress;
	bool no_masking;
	bool browser;
	bool nocompfrag;
	bool close_sent;
	char *xff;
	char *cookie_jwt;
};

static int64_t ws_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *ws_peer(struct ws_conn *c)
{
	const void *out = NULL;
	size_t len = 0;

	if (c->below != NULL &&
	    c->api->stream_query(c->below, NATSD_Q_PEER_ADDR, &out, &len) ==
		    0 &&
	    out != NULL)
		return out;
	return "websocket";
}

/* Whether s is an IPv4 or IPv6 address. */
static bool inet_pton_any(const char *s, unsigned char tmp[16])
{
	return inet_pton(AF_INET, s, tmp) == 1 ||
	       inet_pton(AF_INET6, s, tmp) == 1;
}

/* Output. */

static int ws_obuf_add(struct ws_conn *c, const void *p, size_t n)
{
	size_t cap;
	uint8_t *nb;

	if (c->opos > 0 && c->opos == c->olen)
		c->opos = c->olen = 0;
	if (c->olen + n > c->ocap) {
		if (c->opos > 0) {
			memmove(c->obuf, c->obuf + c->opos, c->olen - c->opos);
			c->olen -= c->opos;
			c->opos = 0;
		}
		cap = c->ocap ? c->ocap : 4096;
		while (cap < c->olen + n)
			cap *= 2;
		if (cap > c->ocap) {
			nb = realloc(c->obuf, cap);
			if (nb == NULL)
				return NATSD_ENOMEM;
			c->obuf = nb;
			c->ocap = cap;
		}
	}
	memcpy(c->obuf + c->olen, p, n);
	c->olen += n;
	return 0;
}

/* Writes what waits in obuf. 0 (all written, or the rest waits for the
 * socket) or a negative code from below. */
static int ws_flush(struct ws_conn *c)
{
	struct iovec iov;
	ssize_t n;

	while (c->opos < c->olen) {
		iov.iov_base = c->obuf + c->opos;
		iov.iov_len = c->olen - c->opos;
		n = c->api->stream_writev(c->below, &iov, 1);
		if (n == NATSD_EAGAIN || n == 0)
			return 0;
		if (n < 0)
			return (int)n;
		c->opos += (size_t)n;
	}
	c->opos = c->olen = 0;
	if (c->ocap > 256 * 1024) {
		free(c->obuf);
		c->obuf = NULL;
		c->ocap = 0;
	}
	return 0;
}

static ssize_t ws_wslay_send(const uint8_t *data, size_t len, int flags,
			     void *ud)
{
	struct ws_conn *c = ud;
	struct ws_collect *col = c->col;

	(void)flags;
	if (col->n == WS_COL_IOV) {
		col->overflow = true;
		return (ssize_t)len;
	}
	if (col->hdr_next) {
		/* wslay's header buffer is reused for the next frame. */
		if (col->nhdr == WS_COL_IOV / 2 || len > 14) {
			col->overflow = true;
			return (ssize_t)len;
		}
		memcpy(col->hdr[col->nhdr], data, len);
		col->iov[col->n].iov_base = col->hdr[col->nhdr++];
		col->hdr_next = false;
	} else {
		col->iov[col->n].iov_base = (void *)data;
	}
	col->iov[col->n++].iov_len = len;
	return (ssize_t)len;
}

/* Adds one frame to the collection: opcode op (0 = continuation), fin,
 * rsv1, and its payload from iov. */
static int ws_frame(struct ws_conn *c, uint8_t op, bool fin, bool rsv1,
		    const struct iovec *iov, int iovcnt, size_t len)
{
	struct wslay_frame_iocb io = { 0 };
	ssize_t r;
	int i;

	io.fin = fin;
	io.rsv = rsv1 ? WSLAY_RSV1_BIT : WSLAY_RSV_NONE;
	io.opcode = op;
	io.mask = 0;
	io.payload_length = len;
	c->col->hdr_next = true;
	if (len == 0) {
		r = wslay_frame_send(c->wf, &io);
		return r < 0 ? NATSD_EIO : 0;
	}
	/* The iovecs may hold more than this frame takes. */
	for (i = 0; i < iovcnt && len > 0; i++) {
		if (iov[i].iov_len == 0)
			continue;
		io.data = iov[i].iov_base;
		io.data_length = iov[i].iov_len < len ? iov[i].iov_len : len;
		r = wslay_frame_send(c->wf, &io);
		if (r < 0 || (size_t)r != io.data_length)
			return NATSD_EIO;
		len -= io.data_length;
	}
	return 0;
}

/* Queues a control frame behind what waits and tries to send it. */
static int ws_control(struct ws_conn *c, uint8_t op, const uint8_t *p, size_t n)
{
	struct ws_collect col;
	struct iovec iov = { .iov_base = (void *)p, .iov_len = n };
	int i, rc;

	memset(&col, 0, sizeof(col));
	c->col = &col;
	rc = ws_frame(c, op, true, false, &iov, 1, n);
	c->col = NULL;
	for (i = 0; rc == 0 && i < col.n; i++)
		rc = ws_obuf_add(c, col.iov[i].iov_base, col.iov[i].iov_len);
	if (rc == 0)
		rc = ws_flush(c);
	return rc;
}

static void ws_send_close(struct ws_conn *c, int status, const char *body)
{
	uint8_t p[125];
	size_t n;

	if (c->close_sent || c->state == WS_HANDSHAKE)
		return;
	c->close_sent = true;
	n = ws_close_payload(status, body, p);
	ws_control(c, WSLAY_CONNECTION_CLOSE, p, n);
}

/* A protocol error: close frame with status and text, logged as
 * nats-server logs it; reads fail from now on. */
static int ws_fail(struct ws_conn *c, int status, const char *text)
{
	c->api->log(NULL, NATSD_LOG_ERROR, "%s - read error: %s", ws_peer(c),
		    text);
	ws_send_close(c, status, text);
	c->state = WS_FAILED;
	c->fail = NATSD_EPROTO;
	return NATSD_EPROTO;
}

/* Frames `take` bytes of iov into the collection: one binary message,
 * compressed when negotiated and worth it, in frames of at most 4096
 * bytes for browsers. */
static int ws_frame_message(struct ws_conn *c, const struct iovec *iov,
			    int iovcnt, size_t take)
{
	struct iovec one, part[WS_COL_IOV / 2];
	size_t left, flen, off, done;
	bool first = true;
	int i, k, rc;

	if (c->compress && take > WS_COMPRESS_THRESHOLD) {
		size_t need = deflateBound(&c->zo, take) + 16;

		if (c->zout_cap < need) {
			uint8_t *nb = realloc(c->zout, need);

			if (nb == NULL)
				return NATSD_ENOMEM;
			c->zout = nb;
			c->zout_cap = need;
		}
		c->zo.next_out = c->zout;
		c->zo.avail_out = (uInt)c->zout_cap;
		left = take;
		for (i = 0; i < iovcnt && left > 0; i++) {
			size_t n =
				iov[i].iov_len < left ? iov[i].iov_len : left;

			c->zo.next_in = iov[i].iov_base;
			c->zo.avail_in = (uInt)n;
			left -= n;
			if (deflate(&c->zo,
				    left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH) ==
			    Z_STREAM_ERROR)
				return NATSD_EIO;
		}
		/* No context takeover: each message starts afresh. */
		flen = c->zout_cap - c->zo.avail_out;
		deflateReset(&c->zo);
		if (flen >= 4)
			flen -= 4; /* the 00 00 ff ff of the sync flush */
		if (!c->browser || c->nocompfrag || flen <= WS_BROWSER_FRAME) {
			one.iov_base = c->zout;
			one.iov_len = flen;
			return ws_frame(c, WSLAY_BINARY_FRAME, true, true, &one,
					1, flen);
		}
		for (off = 0; off < flen; off += WS_BROWSER_FRAME) {
			size_t n = flen - off < WS_BROWSER_FRAME
					   ? flen - off
					   : WS_BROWSER_FRAME;

			one.iov_base = c->zout + off;
			one.iov_len = n;
			rc = ws_frame(c, first ? WSLAY_BINARY_FRAME : 0,
				      off + n == flen, first, &one, 1, n);
			if (rc != 0)
				return rc;
			first = false;
		}
		return 0;
	}
	if (!c->browser)
		return ws_frame(c, WSLAY_BINARY_FRAME, true, false, iov, iovcnt,
				take);
	/* Browsers: separate messages of at most 4096 bytes. */
	i = 0;
	off = 0;
	for (done = 0; done < take;) {
		flen = take - done < WS_BROWSER_FRAME ? take - done
						      : WS_BROWSER_FRAME;
		left = flen;
		for (k = 0; left > 0 && k < WS_COL_IOV / 2; k++) {
			size_t n = iov[i].iov_len - off;

			if (n > left)
				n = left;
			part[k].iov_base = (char *)iov[i].iov_base + off;
			part[k].iov_len = n;
			left -= n;
			off += n;
			if (off == iov[i].iov_len) {
				i++;
				off = 0;
			}
		}
		rc = ws_frame(c, WSLAY_BINARY_FRAME, true, false, part, k,
			      flen - left);
		if (rc != 0)
			return rc;
		done += flen - left;
		if (left > 0)
			break;
	}
	return 0;
}

/* Input. */

static ssize_t ws_wslay_recv(uint8_t *buf, size_t len, int flags, void *ud)
{
	struct ws_conn *c = ud;
	ssize_t n;
	size_t k;

	(void)flags;
	if (c->ipos == c->ilen) {
		if (c->ibuf == NULL) {
			c->ibuf = malloc(WS_IBUF);
			if (c->ibuf == NULL) {
				c->below_rc = NATSD_ENOMEM;
				return -1;
			}
		}
		n = c->api->stream_read(c->below, c->ibuf, WS_IBUF);
		if (n <= 0) {
			c->below_rc = n == 0 ? 1 : (int)n;
			return -1;
		}
		c->ibase += c->ilen;
		c->ilen = (size_t)n;
		c->ipos = 0;
	}
	k = c->ilen - c->ipos;
	if (k > len)
		k = len;
	memcpy(buf, c->ibuf + c->ipos, k);
	c->ipos += k;
	return (ssize_t)k;
}

static int ws_carry(struct ws_conn *c, const uint8_t *p, size_t n)
{
	uint8_t *nb;

	if (c->carry_pos == c->carry_len)
		c->carry_pos = c->carry_len = 0;
	nb = realloc(c->carry, c->carry_len + n);
	if (nb == NULL)
		return NATSD_ENOMEM;
	c->carry = nb;
	memcpy(c->carry + c->carry_len, p, n);
	c->carry_len += n;
	return 0;
}

static int ws_zpend_add(struct ws_conn *c, const uint8_t *p, size_t n)
{
	uint8_t *nb;

	if (c->zi.avail_in == 0)
		c->zpend_len = 0;
	else if (c->zi.next_in != c->zpend) {
		memmove(c->zpend, c->zi.next_in, c->zi.avail_in);
		c->zpend_len = c->zi.avail_in;
	}
	if (c->zpend_len + n > c->zpend_cap) {
		nb = realloc(c->zpend, c->zpend_len + n);
		if (nb == NULL)
			return NATSD_ENOMEM;
		c->zpend = nb;
		c->zpend_cap = c->zpend_len + n;
	}
	memcpy(c->zpend + c->zpend_len, p, n);
	c->zpend_len += n;
	c->zi.next_in = c->zpend;
	c->zi.avail_in = (uInt)c->zpend_len;
	return 0;
}

/* Inflates what waits into out; returns bytes produced or an error. */
static ssize_t ws_inflate(struct ws_conn *c, uint8_t *out, size_t room)
{
	size_t made;
	int zr;

	if (c->zi.avail_in == 0 && !c->zpend_last)
		return 0;
	c->zi.next_out = out;
	c->zi.avail_out = (uInt)room;
	zr = inflate(&c->zi, Z_SYNC_FLUSH);
	made = room - c->zi.avail_out;
	if (zr != Z_OK && zr != Z_BUF_ERROR && zr != Z_STREAM_END)
		return ws_fail(c, WS_CLOSE_INVALID_DATA,
			       "invalid compressed data");
	c->msg_bytes += made;
	if (c->msg_bytes > (uint64_t)WS_MAX_MESSAGE)
		return ws_fail(c, WS_CLOSE_TOO_BIG,
			       "decompressed message too big");
	/* The message's last bytes went in and nothing more comes out. */
	if (c->zpend_last && c->zi.avail_in == 0 && c->zi.avail_out > 0) {
		inflateReset(&c->zi);
		c->zpend_last = false;
		c->msg_bytes = 0;
	}
	return (ssize_t)made;
}

/* A complete control frame. Returns 0, 1 when the peer closed, or an
 * error. */
static int ws_on_control(struct ws_conn *c)
{
	int status = WS_CLOSE_NO_STATUS;
	const char *body = "";
	char text[128];

	switch (c->fop) {
	case WSLAY_PING:
		return ws_control(c, WSLAY_PONG, c->ctl, c->ctl_len);
	case WSLAY_PONG:
		return 0;
	default:
		break;
	}
	/* Close: echo the status, as nats-server does, then end. */
	if (c->ctl_len >= 2) {
		status = c->ctl[0] << 8 | c->ctl[1];
		if (c->ctl_len > 2) {
			if (ws_utf8_valid(c->ctl + 2, c->ctl_len - 2)) {
				snprintf(text, sizeof(text), "%.*s",
					 (int)(c->ctl_len - 2), c->ctl + 2);
				body = text;
			} else {
				status = WS_CLOSE_INVALID_DATA;
				body = "invalid utf8 body in close frame";
			}
		}
	}
	ws_send_close(c, status, body);
	c->state = WS_DONE;
	return 1;
}

/* The first chunk of a frame: checks its header as nats-server does. */
static int ws_on_frame_start(struct ws_conn *c,
			     const struct wslay_frame_iocb *io)
{
	char text[64];
	uint64_t hl;

	hl = 2 +
	     (io->payload_length >= 65536 ? 8
	      : io->payload_length >= 126 ? 2
					  : 0) +
	     (io->mask ? 4 : 0);
	c->next_frame += hl + io->payload_length;
	c->fop = io->opcode;
	c->frame_left = io->payload_length;
	c->ctl_len = 0;
	if (!io->mask && !c->no_masking)
		return ws_fail(c, WS_CLOSE_PROTOCOL, "mask bit missing");
	if (io->rsv & (WSLAY_RSV2_BIT | WSLAY_RSV3_BIT))
		return ws_fail(c, WS_CLOSE_PROTOCOL, "reserved bits set");
	switch (io->opcode) {
	case WSLAY_PING:
	case WSLAY_PONG:
	case WSLAY_CONNECTION_CLOSE:
		if (io->rsv)
			return ws_fail(c, WS_CLOSE_PROTOCOL,
				       "compressed control frame");
		return 0;
	case WSLAY_TEXT_FRAME:
	case WSLAY_BINARY_FRAME:
		if (c->in_msg)
			return ws_fail(c, WS_CLOSE_PROTOCOL,
				       "new message started before final "
				       "frame for previous message was "
				       "received");
		if ((io->rsv & WSLAY_RSV1_BIT) && !c->compress)
			return ws_fail(c, WS_CLOSE_PROTOCOL,
				       "compression bit set without "
				       "negotiated compression");
		c->in_msg = !io->fin;
		c->msg_z = (io->rsv & WSLAY_RSV1_BIT) != 0;
		c->msg_bytes = 0;
		break;
	case WSLAY_CONTINUATION_FRAME:
		if (!c->in_msg || io->rsv)
			return ws_fail(c, WS_CLOSE_PROTOCOL,
				       "invalid continuation frame");
		c->in_msg = !io->fin;
		break;
	default:
		snprintf(text, sizeof(text), "unknown opcode %d", io->opcode);
		return ws_fail(c, WS_CLOSE_PROTOCOL, text);
	}
	if (io->payload_length > (uint64_t)WS_MAX_FRAME)
		return ws_fail(c, WS_CLOSE_TOO_BIG, "frame too big");
	return 0;
}

/* wslay refused a frame header: say why as nats-server would, from the
 * header's first two bytes when they are still at hand. */
static int ws_on_bad_header(struct ws_conn *c)
{
	uint64_t at = c->next_frame;
	uint8_t b0, b1;

	if (at >= c->ibase && at + 2 <= c->ibase + c->ilen) {
		b0 = c->ibuf[at - c->ibase];
		b1 = c->ibuf[at - c->ibase + 1];
		if ((b0 & 0x08) && (b1 & 0x7f) > 125)
			return ws_fail(c, WS_CLOSE_PROTOCOL,
				       "control frame length bigger than "
				       "maximum allowed of 125 bytes");
		if ((b0 & 0x08) && !(b0 & 0x80))
			return ws_fail(c, WS_CLOSE_PROTOCOL,
				       "control frame does not have final "
				       "bit set");
	}
	return ws_fail(c, WS_CLOSE_PROTOCOL, "invalid frame length");
}

/* Reads frames into buf. */
static ssize_t ws_read_frames(struct ws_conn *c, uint8_t *buf, size_t len)
{
	struct wslay_frame_iocb io;
	size_t n = 0, k;
	ssize_t r;
	int rc;

	while (n < len) {
		if (c->carry_pos < c->carry_len) {
			k = c->carry_len - c->carry_pos;
			if (k > len - n)
				k = len - n;
			memcpy(buf + n, c->carry + c->carry_pos, k);
			c->carry_pos += k;
			n += k;
			continue;
		}
		if (c->zi.avail_in > 0 || c->zpend_last) {
			r = ws_inflate(c, buf + n, len - n);
			if (r < 0)
				return n > 0 ? (ssize_t)n : r;
			n += (size_t)r;
			if (n == len || c->zi.avail_in > 0)
				break;
			continue;
		}
		c->below_rc = 0;
		r = wslay_frame_recv(c->wf, &io);
		if (r == WSLAY_ERR_WANT_READ) {
			if (n > 0)
				return (ssize_t)n;
			if (c->below_rc == 1) {
				c->state = WS_DONE;
				return 0;
			}
			if (c->below_rc < 0 && c->below_rc != NATSD_EAGAIN)
				return c->below_rc;
			return NATSD_EAGAIN;
		}
		if (r == WSLAY_ERR_PROTO) {
			rc = ws_on_bad_header(c);
			return n > 0 ? (ssize_t)n : rc;
		}
		if (r < 0) {
			rc = ws_fail(c, WS_CLOSE_INTERNAL, "frame error");
			return n > 0 ? (ssize_t)n : rc;
		}
		if (!c->in_frame) {
			rc = ws_on_frame_start(c, &io);
			if (rc != 0)
				return n > 0 ? (ssize_t)n : rc;
			c->in_frame = true;
		}
		c->frame_left -= io.data_length;
		if (c->frame_left == 0)
			c->in_frame = false;
		if (wslay_is_ctrl_frame(c->fop)) {
			memcpy(c->ctl + c->ctl_len, io.data, io.data_length);
			c->ctl_len += io.data_length;
			if (c->in_frame)
				continue;
			rc = ws_on_control(c);
			if (rc < 0)
				return n > 0 ? (ssize_t)n : rc;
			if (rc == 1)
				return (ssize_t)n;
			continue;
		}
		if (c->msg_z) {
			rc = ws_zpend_add(c, io.data, io.data_length);
			if (rc == 0 && !c->in_frame && !c->in_msg) {
				static const uint8_t tail[4] = { 0, 0, 0xff,
								 0xff };

				rc = ws_zpend_add(c, tail, 4);
				c->zpend_last = true;
				c->msg_z = false;
			}
			if (rc != 0)
				return n > 0 ? (ssize_t)n : rc;
			continue;
		}
		k = io.data_length;
		if (k > len - n)
			k = len - n;
		memcpy(buf + n, io.data, k);
		n += k;
		if (k < io.data_length &&
		    ws_carry(c, io.data + k, io.data_length - k) != 0)
			return NATSD_ENOMEM;
	}
	return (ssize_t)n;
}

/* Handshake. */

static int ws_hp_field(http_parser *p, const char *at, size_t len)
{
	struct ws_hs *hs = p->data;

	if (hs->in_value) {
		hs->in_value = false;
		hs->flen = 0;
		hs->cur = -1;
	}
	if (hs->flen + len >= sizeof(hs->field)) {
		hs->flen = sizeof(hs->field) - 1; /* a name we do not need */
		hs->field[0] = '\0';
		return 0;
	}
	memcpy(hs->field + hs->flen, at, len);
	hs->flen += len;
	hs->field[hs->flen] = '\0';
	return 0;
}

static int ws_hp_value(http_parser *p, const char *at, size_t len)
{
	struct ws_hs *hs = p->data;
	struct ws_req *r = &hs->req;
	int i;

	if (!hs->in_value) {
		hs->in_value = true;
		hs->cur = -1;
		hs->skip = false;
		for (i = 0; i < H_COUNT; i++)
			if (strcasecmp(hs->field, ws_hdr_names[i].name) == 0)
				break;
		if (i == H_COUNT)
			return 0;
		hs->cur = i;
		if (r->seen[i]) {
			if (ws_hdr_names[i].sep == 0) {
				hs->skip = true;
				return 0;
			}
			if (ws_req_append(r, i, &ws_hdr_names[i].sep, 1) != 0)
				return -1;
		}
		r->seen[i] = true;
		if (r->hdr[i] == NULL && ws_req_append(r, i, "", 0) != 0)
			return -1;
	}
	if (hs->cur < 0 || hs->skip)
		return 0;
	return ws_req_append(r, hs->cur, at, len) == 0 ? 0 : -1;
}

static int ws_hp_headers_done(http_parser *p)
{
	struct ws_hs *hs = p->data;

	hs->done = true;
	hs->req.method = p->method;
	hs->req.http_major = p->http_major;
	hs->req.http_minor = p->http_minor;
	return 0;
}

static int ws_hp_message_done(http_parser *p)
{
	/* Stop at the end of the request; an upgrade stops by itself. */
	if (!p->upgrade)
		http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings ws_hp_settings = {
	.on_header_field = ws_hp_field,
	.on_header_value = ws_hp_value,
	.on_headers_complete = ws_hp_headers_done,
	.on_message_complete = ws_hp_message_done,
};

/* Sends bytes during the handshake, as far as the socket takes them. */
static void ws_hs_send(struct ws_conn *c, const char *p, size_t n)
{
	if (ws_obuf_add(c, p, n) == 0)
		ws_flush(c);
}

/* Over tls (wss://) a Host without a port means 443 for same_origin. */
static bool ws_under_tls(struct ws_conn *c)
{
	const void *out = NULL;
	size_t len = 0;

	return c->api->stream_query(c->below, NATSD_Q_TLS_VERSION, &out,
				    &len) == 0;
}

/* Builds the 101 reply, sends it with the host's early bytes framed. */
static int ws_upgrade(struct ws_conn *c)
{
	struct ws_req *r = &c->hs->req;
	const char *v;
	char accept[29], reply[512], cookie[4096];
	struct ws_collect col;
	struct iovec iov;
	int n, i, rc = 0;

	ws_accept_key(ws_req_get(r, H_KEY), accept);
	c->compress = c->st->compression &&
		      ws_pmc_offered(ws_req_get(r, H_EXTENSIONS));
	v = ws_req_get(r, H_NO_MASKING);
	c->no_masking = v != NULL && strcmp(v, "true") == 0;
	n = snprintf(reply, sizeof(reply),
		     "HTTP/1.1 101 Switching Protocols\r\n"
		     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Accept: %s\r\n%s%s\r\n",
		     accept,
		     c->compress ? "Sec-WebSocket-Extensions: "
				   "permessage-deflate; "
				   "server_no_context_takeover; "
				   "client_no_context_takeover\r\n"
				 : "",
		     c->no_masking ? "Nats-No-Masking: true\r\n" : "");
	if (c->compress) {
		/* A 4 KiB window and a small hash keep the compressor at
		 * about 24 KiB a connection instead of zlib's 256 KiB: with
		 * no context takeover a message is all it ever sees, and a
		 * client inflates any window up to 32 KiB. */
		if (deflateInit2(&c->zo, Z_BEST_SPEED, Z_DEFLATED,
				 -WS_DEFLATE_WBITS, WS_DEFLATE_MEMLEVEL,
				 Z_DEFAULT_STRATEGY) != Z_OK ||
		    inflateInit2(&c->zi, -15) != Z_OK)
			return NATSD_ENOMEM;
		c->zo_init = c->zi_init = true;
	}
	v = ws_req_get(r, H_XFF);
	if (v != NULL && v[0] != '\0') {
		/* The first address, when it is one. */
		size_t len = strcspn(v, ", ");
		char ip[64];
		unsigned char tmp[16];

		if (len < sizeof(ip)) {
			memcpy(ip, v, len);
			ip[len] = '\0';
			if (inet_pton_any(ip, tmp))
				c->xff = strdup(ip);
		}
	}
	v = ws_req_get(r, H_USER_AGENT);
	if (v != NULL && strncmp(v, "Mozilla/", 8) == 0) {
		c->browser = true;
		c->nocompfrag = c->compress && strstr(v, "Version/") &&
				strstr(v, "Safari/");
	}
	if (c->st->jwt_cookie != NULL &&
	    ws_cookie_get(ws_req_get(r, H_COOKIE), c->st->jwt_cookie, cookie,
			  sizeof(cookie)))
		c->cookie_jwt = strdup(cookie);
	ws_hs_send(c, reply, (size_t)n);
	c->state = WS_OPEN;
	if (c->early_len > 0) {
		memset(&col, 0, sizeof(col));
		c->col = &col;
		iov.iov_base = c->early;
		iov.iov_len = c->early_len;
		rc = ws_frame_message(c, &iov, 1, c->early_len);
		c->col = NULL;
		for (i = 0; rc == 0 && i < col.n; i++)
			rc = ws_obuf_add(c, col.iov[i].iov_base,
					 col.iov[i].iov_len);
		if (rc == 0)
			rc = ws_flush(c);
		free(c->early);
		c->early = NULL;
		c->early_len = 0;
	}
	return rc;
}

/* Reads and checks the upgrade request. 0 once upgraded, NATSD_EAGAIN
 * while it is incomplete, 1 when the peer left, else an error (after the
 * reply). */
static int ws_handshake(struct ws_conn *c)
{
	struct ws_hs *hs = c->hs;
	char buf[4096], reply[1024], reason[512];
	struct ws_settings tls_st = *c->st;
	size_t parsed;
	ssize_t n;
	int status, rlen;
	enum http_errno e;

	tls_st.tls = true;
	for (;;) {
		n = c->api->stream_read(c->below, buf, sizeof(buf));
		if (n == 0)
			return 1;
		if (n < 0)
			return (int)n;
		hs->bytes += (size_t)n;
		parsed = http_parser_execute(&hs->hp, &ws_hp_settings, buf,
					     (size_t)n);
		e = HTTP_PARSER_ERRNO(&hs->hp);
		if (e == HPE_HEADER_OVERFLOW ||
		    (!hs->done && hs->bytes > WS_MAX_REQUEST)) {
			rlen = ws_http_bad(reply, sizeof(reply), 431, NULL);
			ws_hs_send(c, reply, (size_t)rlen);
			return NATSD_EPROTO;
		}
		if (e != HPE_OK && e != HPE_PAUSED) {
			rlen = ws_http_bad(reply, sizeof(reply), 400, NULL);
			ws_hs_send(c, reply, (size_t)rlen);
			return NATSD_EPROTO;
		}
		if (!hs->done)
			continue;
		if (hs->req.http_major == 1 && hs->req.http_minor >= 1 &&
		    !hs->req.seen[H_HOST]) {
			rlen = ws_http_bad(reply, sizeof(reply), 400,
					   "missing required Host header");
			ws_hs_send(c, reply, (size_t)rlen);
			return NATSD_EPROTO;
		}
		status = ws_req_check(ws_under_tls(c) ? &tls_st : c->st,
				      &hs->req, reason, sizeof(reason));
		if (status != 0) {
			c->api->log(NULL, NATSD_LOG_ERROR,
				    "%s - websocket handshake error: %s",
				    ws_peer(c), reason);
			rlen = ws_http_error(reply, sizeof(reply),
					     hs->req.http_major,
					     hs->req.http_minor, status);
			ws_hs_send(c, reply, (size_t)rlen);
			return NATSD_EPROTO;
		}
		if (parsed < (size_t)n) {
			c->api->log(NULL, NATSD_LOG_ERROR,
				    "%s - websocket handshake error: client "
				    "sent data before handshake is complete",
				    ws_peer(c));
			return NATSD_EPROTO;
		}
		return ws_upgrade(c);
	}
}

/* ------------------------------------------------------------------ */
/* Stream ops                                                          */

static const struct wslay_frame_callbacks ws_wslay_cbs = {
	.send_callback = ws_wslay_send,
	.recv_callback = ws_wslay_recv,
	.genmask_callback = NULL, /* server frames are not masked */
};

static const struct ws_settings *ws_settings_for(struct ws_plugin *wp,
						 const struct natsd_cfg *cfg);

static int ws_push(void *pctx, struct natsd_stream *below,
		   const struct natsd_cfg *cfg, void **sctx)
{
	struct ws_plugin *wp = pctx;
	struct ws_conn *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NATSD_ENOMEM;
	c->api = wp->api;
	c->below = below;
	c->st = ws_settings_for(wp, cfg);
	c->hs = calloc(1, sizeof(*c->hs));
	if (c->st == NULL || c->hs == NULL ||
	    wslay_frame_context_init(&c->wf, &ws_wslay_cbs, c) != 0) {
		free(c->hs);
		free(c);
		return NATSD_ENOMEM;
	}
	http_parser_init(&c->hs->hp, HTTP_REQUEST);
	c->hs->hp.data = c->hs;
	c->hs->cur = -1;
	c->deadline_ms = ws_now_ms() + c->st->handshake_ms;
	*sctx = c;
	return 0;
}

static void ws_hs_free(struct ws_conn *c)
{
	if (c->hs == NULL)
		return;
	ws_req_free(&c->hs->req);
	free(c->hs);
	c->hs = NULL;
}

static ssize_t ws_read(void *sctx, struct natsd_stream *below, void *buf,
		       size_t len)
{
	struct ws_conn *c = sctx;
	ssize_t n;
	int rc;

	c->below = below;
	if (c->state == WS_HANDSHAKE) {
		rc = ws_handshake(c);
		if (rc == NATSD_EAGAIN)
			return rc;
		ws_hs_free(c);
		if (rc == 1)
			return 0;
		if (rc != 0) {
			c->state = WS_FAILED;
			c->fail = rc;
			return rc;
		}
		/* Frames come after the reply; the socket will say so. */
		return NATSD_EAGAIN;
	}
	if (c->state == WS_DONE)
		return 0;
	if (c->state == WS_FAILED)
		return c->fail;
	n = ws_read_frames(c, buf, len);
	c->more = n > 0 && ((size_t)n == len || c->ipos < c->ilen);
	/* Input fully handed over: its buffer is not kept while idle. */
	if (c->ipos == c->ilen && c->ibuf != NULL) {
		c->ibase += c->ilen;
		c->ilen = c->ipos = 0;
		free(c->ibuf);
		c->ibuf = NULL;
	}
	if (c->carry_pos == c->carry_len && c->carry != NULL) {
		free(c->carry);
		c->carry = NULL;
		c->carry_pos = c->carry_len = 0;
	}
	return n;
}

static ssize_t ws_writev(void *sctx, struct natsd_stream *below,
			 const struct iovec *iov, int iovcnt)
{
	struct ws_conn *c = sctx;
	struct ws_collect *col;
	size_t total = 0, take, sent, k;
	ssize_t n;
	int i, rc;

	c->below = below;
	for (i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (c->state == WS_HANDSHAKE) {
		uint8_t *nb;

		if (total == 0)
			return 0;
		if (c->early_len + total > WS_EARLY_MAX)
			return NATSD_EMSGSIZE;
		nb = realloc(c->early, c->early_len + total);
		if (nb == NULL)
			return NATSD_ENOMEM;
		c->early = nb;
		for (i = 0; i < iovcnt; i++) {
			memcpy(c->early + c->early_len, iov[i].iov_base,
			       iov[i].iov_len);
			c->early_len += iov[i].iov_len;
		}
		return (ssize_t)total;
	}
	/* After a close frame nothing more may be sent. */
	if (c->state != WS_OPEN || c->close_sent)
		return (ssize_t)total;
	rc = ws_flush(c);
	if (rc < 0)
		return rc;
	if (c->opos < c->olen)
		return NATSD_EAGAIN;
	if (total == 0)
		return 0;
	take = total < WS_WRITE_MAX ? total : WS_WRITE_MAX;
	if (c->browser && take > 64 * 1024)
		take = 64 * 1024;
	col = malloc(sizeof(*col));
	if (col == NULL)
		return NATSD_ENOMEM;
	memset(col, 0, offsetof(struct ws_collect, hdr));
	c->col = col;
	rc = ws_frame_message(c, iov, iovcnt, take);
	c->col = NULL;
	if (rc != 0 || col->overflow) {
		free(col);
		return rc != 0 ? rc : NATSD_EIO;
	}
	n = c->api->stream_writev(below, col->iov, col->n);
	if (n < 0 && n != NATSD_EAGAIN) {
		free(col);
		return n;
	}
	sent = n > 0 ? (size_t)n : 0;
	/* Whatever the socket did not take waits, whole frames only. */
	for (i = 0; i < col->n; i++) {
		k = col->iov[i].iov_len;
		if (sent >= k) {
			sent -= k;
			continue;
		}
		rc = ws_obuf_add(c, (uint8_t *)col->iov[i].iov_base + sent,
				 k - sent);
		sent = 0;
		if (rc != 0)
			break;
	}
	free(col);
	/* A large compressed write's buffer is not kept while idle. */
	if (c->zout_cap > 64 * 1024) {
		free(c->zout);
		c->zout = NULL;
		c->zout_cap = 0;
	}
	return rc != 0 ? rc : (ssize_t)take;
}

static int ws_want(void *sctx)
{
	struct ws_conn *c = sctx;

	return c->opos < c->olen ? NATSD_WANT_WRITE : 0;
}

static size_t ws_pending(void *sctx)
{
	struct ws_conn *c = sctx;

	/* An end or an error found after bytes that were returned must be
	 * read too: no socket readiness will announce it. */
	if (c->state == WS_DONE || c->state == WS_FAILED)
		return 1;
	if (c->state != WS_OPEN)
		return 0;
	return c->carry_len - c->carry_pos + c->zi.avail_in +
	       (c->zpend_last || c->more ? 1 : 0);
}

static int ws_query(void *sctx, int key, const void **out, size_t *len)
{
	struct ws_conn *c = sctx;
	const char *v = NULL;

	switch (key) {
	case NATSD_Q_CONN_TYPE:
		v = "websocket";
		break;
	case NATSD_Q_REMOTE_IP:
		v = c->xff;
		break;
	case NATSD_Q_JWT_COOKIE:
		v = c->cookie_jwt;
		break;
	default:
		break;
	}
	if (v == NULL)
		return NATSD_ENOTSUP;
	*out = v;
	if (len != NULL)
		*len = strlen(v);
	return 0;
}

static void ws_shutdown(void *sctx, struct natsd_stream *below,
			const char *reason)
{
	struct ws_conn *c = sctx;

	c->below = below;
	if (c->state == WS_OPEN)
		ws_send_close(c, ws_close_status(reason), reason);
}

static int64_t ws_handshake_ms(void *sctx)
{
	struct ws_conn *c = sctx;
	int64_t left;

	if (c->state != WS_HANDSHAKE)
		return -1;
	left = c->deadline_ms - ws_now_ms();
	return left > 0 ? left : 0;
}

static void ws_close(void *sctx, struct natsd_stream *below)
{
	struct ws_conn *c = sctx;

	(void)below;
	ws_hs_free(c);
	wslay_frame_context_free(c->wf);
	if (c->zi_init)
		inflateEnd(&c->zi);
	if (c->zo_init)
		deflateEnd(&c->zo);
	free(c->ibuf);
	free(c->carry);
	free(c->zpend);
	free(c->zout);
	free(c->obuf);
	free(c->early);
	free(c->xff);
	free(c->cookie_jwt);
	free(c);
}

static const struct natsd_transport_ops ws_ops = {
	.struct_size = sizeof(struct natsd_transport_ops),
	.name = "websocket",
	.push = ws_push,
	.read = ws_read,
	.writev = ws_writev,
	.want = ws_want,
	.pending = ws_pending,
	.query = ws_query,
	.close = ws_close,
	.shutdown = ws_shutdown,
	.handshake_ms = ws_handshake_ms,
};

/* ------------------------------------------------------------------ */
/* Settings and the plugin                                             */

static void ws_settings_free(struct ws_settings *st)
{
	size_t i;

	for (i = 0; i < st->norigins; i++) {
		free(st->origins[i].scheme);
		free(st->origins[i].host);
		free(st->origins[i].port);
	}
	free(st->origins);
	free(st->jwt_cookie);
}

/* Reads a websocket section. Entries of allowed_origins that do not
 * parse are logged and skipped, as nats-server does (the config reader
 * refused them already). */
static int ws_settings_read(const struct natsd_host_api *api,
			    const struct natsd_cfg *cfg, struct ws_settings *st)
{
	char scheme[32], host[256], port[32], err[256];
	const char *s;
	size_t i, n = 0;
	int64_t ns;

	st->handshake_ms = WS_DEFAULT_HANDSHAKE_MS;
	if (cfg == NULL)
		return 0;
	api->cfg_bool(cfg, "compression", &st->compression);
	api->cfg_bool(cfg, "same_origin", &st->same_origin);
	if (api->cfg_duration(cfg, "handshake_timeout", &ns) == 0 && ns > 0)
		st->handshake_ms = ns / 1000000 > 0 ? ns / 1000000 : 1;
	if (api->cfg_string(cfg, "jwt_cookie", &s) == 0 && s[0] != '\0') {
		st->jwt_cookie = strdup(s);
		if (st->jwt_cookie == NULL)
			return NATSD_ENOMEM;
	}
	if (api->cfg_list_len(cfg, "allowed_origins", &n) != 0)
		n = 0;
	if (n > 0) {
		st->origins = calloc(n, sizeof(*st->origins));
		if (st->origins == NULL)
			return NATSD_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct ws_origin *o = &st->origins[st->norigins];

		if (api->cfg_list_string(cfg, "allowed_origins", i, &s) != 0)
			continue;
		if (ws_parse_origin(s, scheme, sizeof(scheme), host,
				    sizeof(host), port, sizeof(port), err,
				    sizeof(err)) != 0) {
			api->log(NULL, NATSD_LOG_ERROR,
				 "error parsing allowed origin: %s", err);
			continue;
		}
		o->scheme = strdup(scheme);
		o->host = strdup(host);
		o->port = strdup(port);
		st->norigins++;
		if (o->scheme == NULL || o->host == NULL || o->port == NULL)
			return NATSD_ENOMEM;
	}
	return 0;
}

static const struct ws_settings *ws_settings_for(struct ws_plugin *wp,
						 const struct natsd_cfg *cfg)
{
	struct ws_cache_entry *nv;
	struct ws_settings *st;
	size_t i;

	if (cfg == NULL)
		return &wp->defaults;
	for (i = 0; i < wp->ncache; i++)
		if (wp->cache[i].cfg == cfg)
			return wp->cache[i].st;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	if (ws_settings_read(wp->api, cfg, st) != 0) {
		ws_settings_free(st);
		free(st);
		return NULL;
	}
	nv = realloc(wp->cache, (wp->ncache + 1) * sizeof(*nv));
	if (nv == NULL) {
		ws_settings_free(st);
		free(st);
		return NULL;
	}
	wp->cache = nv;
	wp->cache[wp->ncache].cfg = cfg;
	wp->cache[wp->ncache++].st = st;
	return st;
}

static int ws_init(struct natsd_host *h, const struct natsd_host_api *api,
		   const struct natsd_cfg *cfg, void **ctx, char *err,
		   size_t errlen)
{
	struct ws_plugin *wp;
	int rc;

	(void)cfg;
	/* shutdown(), handshake_ms() and the peer query came with 1.1. */
	if (api->abi_minor < 1) {
		snprintf(err, errlen,
			 "websocket: needs a host of ABI 1.1 or "
			 "later");
		return NATSD_ENOTSUP;
	}
	wp = calloc(1, sizeof(*wp));
	if (wp == NULL) {
		snprintf(err, errlen, "websocket: out of memory");
		return NATSD_ENOMEM;
	}
	wp->h = h;
	wp->api = api;
	wp->defaults.handshake_ms = WS_DEFAULT_HANDSHAKE_MS;
	rc = api->register_transport(h, &ws_ops, wp);
	if (rc != 0) {
		snprintf(err, errlen,
			 "websocket: cannot register transport: "
			 "%s",
			 strerror(-rc));
		free(wp);
		return rc;
	}
	*ctx = wp;
	return 0;
}

static void ws_fini(void *ctx)
{
	struct ws_plugin *wp = ctx;
	size_t i;

	for (i = 0; i < wp->ncache; i++) {
		ws_settings_free(wp->cache[i].st);
		free(wp->cache[i].st);
	}
	free(wp->cache);
	free(wp);
}

static const struct natsd_plugin ws_plugin = {
	NATSD_PLUGIN_INIT, .name = "websocket", .version = PACKAGE_VERSION,
	.init = ws_init,   .fini = ws_fini,
};

const struct natsd_plugin *natsd_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	(void)host_major;
	(void)host_minor;
	return &ws_plugin;
}
