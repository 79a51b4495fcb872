/* The client-protocol parser.
 *
 * nats-server parses with a byte-at-a-time state machine that keeps its
 * state between reads. This parser is stateless instead: each call starts
 * at an operation's first byte, matches the op name, finds the end of the
 * control line with memchr() and splits the arguments in one tight loop.
 * A partial line is scanned again when more bytes arrive, which costs a
 * memchr() per read and saves the caller all state handling; a partial
 * payload is never scanned, *need says how long to wait.
 *
 * What the state machine does that a clean grammar would not, and which is
 * reproduced here because clients can observe it (checked against
 * nats-server 2.9.10):
 *  - After PUB/HPUB/SUB/UNSUB/-ERR/HMSG a space or tab must follow the
 *    name ("UNSUB\r\n" is an unknown op), CONNECT and INFO need none.
 *  - The first byte after the blanks starts the argument whatever it is,
 *    even CR or LF: "SUB \nfoo 1\n" subscribes to foo.
 *  - A CR anywhere in the argument drops the line's last byte before LF,
 *    not the CR itself (the "drop" flag): "SUB foo 1 \rX\n" has sid 1.
 *  - PUB/HPUB split arguments on space and tab only; SUB/UNSUB also on CR
 *    and LF.
 *  - Sizes are 1-9 decimal digits; an UNSUB max that is not one means no
 *    max (immediate removal), not an error.
 *  - PING, PONG and +OK ignore everything up to LF, without a limit.
 *  - max_control_line counts the argument only (after the drop), also for
 *    a line still being received; the blanks before it are not counted.
 *  - HMSG from a client is accepted up to its LF (the control-line limit
 *    applies) and is then an unknown op. (nats-server in fact publishes an
 *    empty message when "\r\n" follows in the same read; not reproduced.)
 *
 * The CONNECT half reads the JSON with jansson, after a pre-pass that makes
 * jansson see what Go's encoding/json sees: invalid UTF-8 and lone UTF-16
 * surrogate escapes become U+FFFD, numbers too large for jansson (which Go
 * skips in unknown fields) become a harmless 0.5. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "natsd/error.h"
#include "proto.h"

/* Argument separators: PUB/HPUB use SEP_BLANK, SUB/UNSUB SEP_ANY. */
#define SEP_BLANK 0x01
#define SEP_ANY   0x02

static const unsigned char proto_sep[256] = {
	['\t'] = SEP_BLANK | SEP_ANY,
	[' '] = SEP_BLANK | SEP_ANY,
	['\r'] = SEP_ANY,
	['\n'] = SEP_ANY,
};

/* The size fields nats-server accepts: 1 to 9 decimal digits. */
#define PROTO_SIZE_DIGITS 9

struct proto_line {
	size_t as;   /* first byte of the argument */
	size_t aend; /* one past its last byte */
	size_t next; /* one past the LF */
};

static const struct proto_limits proto_nolimits = {
	.max_control_line = 0,
	.max_payload = -1,
	.hpub_refused = false,
};

static inline int proto_is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Matches buf[1..n) against the upper-case name (buf[0] was matched by
 * the caller). Returns 1, PROTO_MORE or PROTO_E_UNKNOWN_OP, as soon as
 * a byte differs: nats-server reports the error on that byte. */
static inline int proto_name(const unsigned char *b, size_t len,
			     const char *name, size_t n)
{
	size_t i, end = len < n ? len : n;

	for (i = 1; i < end; i++)
		if ((b[i] & 0xdf) != (unsigned char)name[i])
			return PROTO_E_UNKNOWN_OP;
	return len < n ? PROTO_MORE : 1;
}

/* As proto_name(), then a blank must follow the name. */
static inline int proto_name_sep(const unsigned char *b, size_t len,
				 const char *name, size_t n)
{
	int rc = proto_name(b, len, name, n);

	if (rc != 1)
		return rc;
	if (len == n)
		return PROTO_MORE;
	return proto_is_blank(b[n]) ? 1 : PROTO_E_UNKNOWN_OP;
}

/* Finds the argument of a control line whose blanks start at buf[at].
 * Returns 1 and fills *ln, PROTO_MORE or PROTO_E_CONTROL_LINE. */
static int proto_arg_line(const unsigned char *b, size_t len, size_t at,
			  uint32_t mcl, struct proto_line *ln)
{
	const unsigned char *nl;
	size_t as, to, n, drop;

	while (at < len && proto_is_blank(b[at]))
		at++;
	if (at >= len)
		return PROTO_MORE;
	as = at;
	/* b[as] belongs to the argument whatever it is, so the line end is
	 * searched after it. With a limit, a line end further than
	 * mcl + 1 bytes away is too far anyway: don't scan past it. */
	to = len;
	if (mcl != 0 && len - as > (size_t)mcl + 1)
		to = as + mcl + 2;
	nl = memchr(b + as + 1, '\n', to - as - 1);
	if (nl == NULL) {
		/* nats-server checks what it holds of a partial argument at
		 * the end of every read, less the dropped byte. */
		if (mcl != 0 && len - as > mcl &&
		    (len - as > (size_t)mcl + 1 ||
		     memchr(b + as + 1, '\r', len - as - 1) == NULL))
			return PROTO_E_CONTROL_LINE;
		return PROTO_MORE;
	}
	n = (size_t)(nl - b);
	drop = 0;
	if (n > as + 1 &&
	    (b[n - 1] == '\r' || memchr(b + as + 1, '\r', n - as - 2) != NULL))
		drop = 1;
	if (mcl != 0 && n - drop - as > mcl)
		return PROTO_E_CONTROL_LINE;
	ln->as = as;
	ln->aend = n - drop;
	ln->next = n + 1;
	return 1;
}

/* The end of the token at a[i], before a[n]. Every separator is a byte
 * <= 0x20, so eight bytes at a time are tested for one of those first
 * (subjects are mostly longer than a few bytes). */
static inline size_t proto_token_end(const unsigned char *a, size_t i, size_t n,
				     unsigned char sep)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t x, m;

	while (n - i >= 8) {
		memcpy(&x, a + i, 8);
		/* High bit of each byte below 0x21; the lowest one set is
		 * exactly the first such byte (borrows only go up). */
		m = (x - ones * 0x21) & ~x & (ones * 0x80);
		if (m == 0) {
			i += 8;
			continue;
		}
		i += (size_t)__builtin_ctzll(m) >> 3;
		if (proto_sep[a[i]] & sep)
			return i;
		i++; /* a control byte inside the token */
	}
#endif
	while (i < n && (a[i] > ' ' || !(proto_sep[a[i]] & sep)))
		i++;
	return i;
}

/* Splits a[0..n) into at most max tokens. Returns the token count, or
 * max + 1 when there are more. */
static inline int proto_split(const unsigned char *a, size_t n,
			      unsigned char sep, struct proto_str *tok, int max)
{
	size_t i = 0, start;
	int nt = 0;

	for (;;) {
		while (i < n && (proto_sep[a[i]] & sep))
			i++;
		if (i == n)
			return nt;
		if (nt == max)
			return max + 1;
		start = i;
		i = proto_token_end(a, i, n, sep);
		tok[nt].p = (const char *)a + start;
		tok[nt].len = (uint32_t)(i - start);
		nt++;
	}
}

/* A size field: 1 to 9 decimal digits, else -1. */
static inline int64_t proto_size(const struct proto_str *s)
{
	const unsigned char *p = (const unsigned char *)s->p;
	int64_t v = 0;
	uint32_t i;

	if (s->len == 0 || s->len > PROTO_SIZE_DIGITS)
		return -1;
	for (i = 0; i < s->len; i++) {
		unsigned int d = (unsigned int)p[i] - '0';

		if (d > 9)
			return -1;
		v = v * 10 + d;
	}
	return v;
}

/* The payload of size bytes at b[start] and its CRLF. Returns the bytes
 * the whole operation takes, PROTO_MORE or PROTO_E_UNKNOWN_OP (or
 * PROTO_E_PARSE for an operation too large for an int). */
static inline int proto_payload(const unsigned char *b, size_t len,
				size_t start, uint32_t size, size_t *need)
{
	size_t end = start + size;

	if (end > (size_t)INT_MAX - 2)
		return PROTO_E_PARSE;
	if (len >= end + 2) {
		if (b[end] != '\r' || b[end + 1] != '\n')
			return PROTO_E_UNKNOWN_OP;
		return (int)(end + 2);
	}
	/* Like nats-server, fail on a wrong terminator byte as soon as it
	 * is there. */
	if (len > end && b[end] != '\r')
		return PROTO_E_UNKNOWN_OP;
	if (need != NULL)
		*need = end + 2;
	return PROTO_MORE;
}

static inline int proto_consumed(size_t n)
{
	return n > (size_t)INT_MAX ? PROTO_E_PARSE : (int)n;
}

/* PING, PONG, +OK: anything up to the LF is ignored. */
static int proto_bare(const unsigned char *b, size_t len, const char *name,
		      size_t n, enum proto_op op, struct proto_cmd *cmd)
{
	const unsigned char *nl;
	int rc = proto_name(b, len, name, n);

	if (rc != 1)
		return rc;
	nl = memchr(b + n, '\n', len - n);
	if (nl == NULL)
		return PROTO_MORE;
	*cmd = (struct proto_cmd){ .op = op };
	return proto_consumed((size_t)(nl - b) + 1);
}

static int proto_pub(const unsigned char *b, size_t len,
		     const struct proto_limits *lim, struct proto_cmd *cmd,
		     size_t *need)
{
	struct proto_line ln;
	struct proto_str t[3];
	int64_t size;
	int rc, nt;

	rc = proto_name_sep(b, len, "PUB", 3);
	if (rc != 1)
		return rc;
	rc = proto_arg_line(b, len, 4, lim->max_control_line, &ln);
	if (rc != 1)
		return rc;
	nt = proto_split(b + ln.as, ln.aend - ln.as, SEP_BLANK, t, 3);
	if (nt != 2 && nt != 3)
		return PROTO_E_PARSE;
	size = proto_size(&t[nt - 1]);
	if (size < 0)
		return PROTO_E_PARSE;
	if (lim->max_payload >= 0 && size > lim->max_payload)
		return PROTO_E_MAX_PAYLOAD;
	rc = proto_payload(b, len, ln.next, (uint32_t)size, need);
	*cmd = (struct proto_cmd){
		.op = PROTO_OP_PUB,
		.subject = t[0],
		.reply = nt == 3 ? t[1] : (struct proto_str){ NULL, 0 },
		.size = (uint32_t)size,
		.payload = rc > 0 ? (const char *)b + ln.next : NULL,
	};
	return rc;
}

static int proto_hpub(const unsigned char *b, size_t len,
		      const struct proto_limits *lim, struct proto_cmd *cmd,
		      size_t *need)
{
	struct proto_line ln;
	struct proto_str t[4];
	int64_t hdr, size;
	int rc, nt;

	rc = proto_name_sep(b, len, "HPUB", 4);
	if (rc != 1)
		return rc;
	rc = proto_arg_line(b, len, 5, lim->max_control_line, &ln);
	if (rc != 1)
		return rc;
	if (lim->hpub_refused)
		return PROTO_E_PARSE;
	nt = proto_split(b + ln.as, ln.aend - ln.as, SEP_BLANK, t, 4);
	if (nt != 3 && nt != 4)
		return PROTO_E_PARSE;
	hdr = proto_size(&t[nt - 2]);
	size = proto_size(&t[nt - 1]);
	if (hdr < 0 || size < 0 || hdr > size)
		return PROTO_E_PARSE;
	if (lim->max_payload >= 0 && size > lim->max_payload)
		return PROTO_E_MAX_PAYLOAD;
	rc = proto_payload(b, len, ln.next, (uint32_t)size, need);
	*cmd = (struct proto_cmd){
		.op = PROTO_OP_HPUB,
		.subject = t[0],
		.reply = nt == 4 ? t[1] : (struct proto_str){ NULL, 0 },
		.hdr_len = (uint32_t)hdr,
		.size = (uint32_t)size,
		.payload = rc > 0 ? (const char *)b + ln.next : NULL,
	};
	return rc;
}

static int proto_sub(const unsigned char *b, size_t len,
		     const struct proto_limits *lim, struct proto_cmd *cmd)
{
	struct proto_line ln;
	struct proto_str t[3];
	int rc, nt;

	rc = proto_name_sep(b, len, "SUB", 3);
	if (rc != 1)
		return rc;
	rc = proto_arg_line(b, len, 4, lim->max_control_line, &ln);
	if (rc != 1)
		return rc;
	nt = proto_split(b + ln.as, ln.aend - ln.as, SEP_ANY, t, 3);
	if (nt != 2 && nt != 3)
		return PROTO_E_PARSE;
	*cmd = (struct proto_cmd){
		.op = PROTO_OP_SUB,
		.subject = t[0],
		.queue = nt == 3 ? t[1] : (struct proto_str){ NULL, 0 },
		.sid = t[nt - 1],
	};
	return proto_consumed(ln.next);
}

static int proto_unsub(const unsigned char *b, size_t len,
		       const struct proto_limits *lim, struct proto_cmd *cmd)
{
	struct proto_line ln;
	struct proto_str t[2];
	int64_t max = 0;
	int rc, nt;

	rc = proto_name_sep(b, len, "UNSUB", 5);
	if (rc != 1)
		return rc;
	rc = proto_arg_line(b, len, 6, lim->max_control_line, &ln);
	if (rc != 1)
		return rc;
	nt = proto_split(b + ln.as, ln.aend - ln.as, SEP_ANY, t, 2);
	if (nt != 1 && nt != 2)
		return PROTO_E_PARSE;
	/* A max that is not a size means "no max": nats-server then
	 * removes the subscription at once, as for 0. */
	if (nt == 2)
		max = proto_size(&t[1]);
	*cmd = (struct proto_cmd){
		.op = PROTO_OP_UNSUB,
		.sid = t[0],
		.max = max > 0 ? (uint64_t)max : 0,
	};
	return proto_consumed(ln.next);
}

static inline int proto_is_json_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* CONNECT and INFO: no blank needed after the name; the argument is the
 * JSON text without surrounding whitespace. */
static int proto_json_op(const unsigned char *b, size_t len,
			 const struct proto_limits *lim, const char *name,
			 size_t n, enum proto_op op, struct proto_cmd *cmd)
{
	struct proto_line ln;
	int rc;

	rc = proto_name(b, len, name, n);
	if (rc != 1)
		return rc;
	rc = proto_arg_line(b, len, n, lim->max_control_line, &ln);
	if (rc != 1)
		return rc;
	while (ln.as < ln.aend && proto_is_json_space(b[ln.as]))
		ln.as++;
	while (ln.aend > ln.as && proto_is_json_space(b[ln.aend - 1]))
		ln.aend--;
	*cmd = (struct proto_cmd){
		.op = op,
		.arg = { (const char *)b + ln.as, (uint32_t)(ln.aend - ln.as) },
	};
	return proto_consumed(ln.next);
}

static int proto_minus_err(const unsigned char *b, size_t len,
			   const struct proto_limits *lim,
			   struct proto_cmd *cmd)
{
	struct proto_line ln;
	int rc;

	rc = proto_name_sep(b, len, "-ERR", 4);
	if (rc != 1)
		return rc;
	rc = proto_arg_line(b, len, 5, lim->max_control_line, &ln);
	if (rc != 1)
		return rc;
	*cmd = (struct proto_cmd){
		.op = PROTO_OP_ERR,
		.arg = { (const char *)b + ln.as, (uint32_t)(ln.aend - ln.as) },
	};
	return proto_consumed(ln.next);
}

/* HMSG is a server-to-server op: a client's is read to its line end (so
 * the control-line limit comes first) and then refused. */
static int proto_hmsg(const unsigned char *b, size_t len,
		      const struct proto_limits *lim)
{
	struct proto_line ln;
	int rc;

	rc = proto_name_sep(b, len, "HMSG", 4);
	if (rc != 1)
		return rc;
	rc = proto_arg_line(b, len, 5, lim->max_control_line, &ln);
	if (rc != 1)
		return rc;
	return PROTO_E_UNKNOWN_OP;
}

int proto_parse(const char *buf, size_t len, const struct proto_limits *lim,
		struct proto_cmd *cmd, size_t *need)
{
	const unsigned char *b = (const unsigned char *)buf;

	if (need != NULL)
		*need = 0;
	if (len == 0)
		return PROTO_MORE;
	if (lim == NULL)
		lim = &proto_nolimits;

	switch (b[0]) {
	case 'P':
	case 'p':
		if (len < 2)
			return PROTO_MORE;
		switch (b[1]) {
		case 'U':
		case 'u':
			return proto_pub(b, len, lim, cmd, need);
		case 'I':
		case 'i':
			return proto_bare(b, len, "PING", 4, PROTO_OP_PING,
					  cmd);
		case 'O':
		case 'o':
			return proto_bare(b, len, "PONG", 4, PROTO_OP_PONG,
					  cmd);
		default:
			return PROTO_E_UNKNOWN_OP;
		}
	case 'H':
	case 'h':
		if (len < 2)
			return PROTO_MORE;
		if ((b[1] & 0xdf) == 'P')
			return proto_hpub(b, len, lim, cmd, need);
		if ((b[1] & 0xdf) == 'M')
			return proto_hmsg(b, len, lim);
		return PROTO_E_UNKNOWN_OP;
	case 'S':
	case 's':
		return proto_sub(b, len, lim, cmd);
	case 'U':
	case 'u':
		return proto_unsub(b, len, lim, cmd);
	case 'C':
	case 'c':
		return proto_json_op(b, len, lim, "CONNECT", 7,
				     PROTO_OP_CONNECT, cmd);
	case 'I':
	case 'i':
		return proto_json_op(b, len, lim, "INFO", 4, PROTO_OP_INFO,
				     cmd);
	case '+':
		return proto_bare(b, len, "+OK", 3, PROTO_OP_OK, cmd);
	case '-':
		return proto_minus_err(b, len, lim, cmd);
	default:
		/* MSG, RS+, LS+, A+ ... are not client operations. */
		return PROTO_E_UNKNOWN_OP;
	}
}

const char *proto_err_text(int err)
{
	switch (err) {
	case PROTO_E_UNKNOWN_OP:
		return "Unknown Protocol Operation";
	case PROTO_E_CONTROL_LINE:
		return "maximum control line exceeded";
	case PROTO_E_MAX_PAYLOAD:
		return "Maximum Payload Violation";
	default:
		return NULL;
	}
}

static const char *const proto_op_names[] = {
	[PROTO_OP_CONNECT] = "CONNECT", [PROTO_OP_PUB] = "PUB",
	[PROTO_OP_HPUB] = "HPUB",       [PROTO_OP_SUB] = "SUB",
	[PROTO_OP_UNSUB] = "UNSUB",     [PROTO_OP_PING] = "PING",
	[PROTO_OP_PONG] = "PONG",       [PROTO_OP_INFO] = "INFO",
	[PROTO_OP_OK] = "+OK",          [PROTO_OP_ERR] = "-ERR",
};

_Static_assert(sizeof(proto_op_names) / sizeof(proto_op_names[0]) ==
		       PROTO_OP_ERR + 1,
	       "proto_op_names must name every enum proto_op");

const char *proto_op_name(enum proto_op op)
{
	if ((unsigned int)op > PROTO_OP_ERR || proto_op_names[op] == NULL)
		return "?";
	return proto_op_names[op];
}

/* ---- CONNECT ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n), by the rules of Go's
 * utf8.DecodeRune (no overlongs, surrogates or values past U+10FFFF), or 0
 * when it is invalid. s[0] >= 0x80. */
static size_t json_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

static int json_hex4(const unsigned char *s, size_t n)
{
	int v = 0;
	size_t i;

	if (n < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		unsigned char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (c | 0x20) - 'a' + 10;
		else
			return -1;
	}
	return v;
}

/* Length of the JSON number at s[0..n), 0 if there is none; *real says
 * whether it has a fraction or exponent. */
static size_t json_number_len(const unsigned char *s, size_t n, int *real)
{
	size_t i = 0;

	*real = 0;
	if (i < n && s[i] == '-')
		i++;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return 0;
	if (s[i++] != '0')
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	if (i < n && s[i] == '.') {
		*real = 1;
		if (++i >= n || s[i] < '0' || s[i] > '9')
			return 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		*real = 1;
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i;
}

/* Would jansson refuse the number tok[0..n) (NUL at tok[n])? It fails on
 * integers outside long long and on reals that overflow a double. */
static int json_number_too_big(char *tok, size_t n, int real)
{
	static const char llmax[] = "9223372036854775807";
	static const char llmin[] = "9223372036854775808";
	size_t digits = tok[0] == '-' ? n - 1 : n;
	const char *d = tok + (n - digits);
	double v;

	if (!real) {
		if (digits != sizeof(llmax) - 1)
			return digits > sizeof(llmax) - 1;
		return memcmp(d, tok[0] == '-' ? llmin : llmax, digits) > 0;
	}
	errno = 0;
	v = strtod(tok, NULL);
	return errno == ERANGE && isinf(v);
}

/* The pre-pass over CONNECT JSON (see the file comment). It also gives
 * every object key a unique prefix of JSON_KEY_TAG hex digits: jansson
 * keeps one value per key, but Go type-checks every duplicate and lets the
 * last one win, so all of them must reach the field loop, in order. */
#define JSON_KEY_TAG   8
#define JSON_MAX_DEPTH 2048 /* jansson refuses deeper input anyway */

struct json_fix {
	const unsigned char *s;
	size_t len, i;
	char *out;
	size_t o;
	bool instr;
	bool expect_key;
	uint32_t nkeys;
	size_t depth;
	uint64_t is_obj[JSON_MAX_DEPTH / 64 + 1]; /* per depth */
};

static void json_fix_copy(struct json_fix *f, const void *p, size_t n)
{
	memcpy(f->out + f->o, p, n);
	f->o += n;
}

/* A byte >= 0x80: a valid sequence is copied, a bad byte is U+FFFD. */
static void json_fix_utf8(struct json_fix *f)
{
	size_t n = json_utf8_len(f->s + f->i, f->len - f->i);

	if (n == 0) {
		json_fix_copy(f, "\xef\xbf\xbd", 3);
		f->i++;
	} else {
		json_fix_copy(f, f->s + f->i, n);
		f->i += n;
	}
}

/* A backslash in a string. Go keeps a valid surrogate pair and turns any
 * other surrogate escape into U+FFFD; jansson refuses them. */
static void json_fix_escape(struct json_fix *f)
{
	const unsigned char *s = f->s + f->i;
	size_t left = f->len - f->i;
	int hi = -1, lo = -1;
	size_t n;

	if (left >= 2 && s[1] == 'u')
		hi = json_hex4(s + 2, left - 2);
	if (hi < 0xd800 || hi > 0xdfff) {
		/* The escaped byte goes with the backslash, so that an
		 * escaped quote does not end the string. */
		n = left >= 2 && s[1] < 0x80 ? 2 : 1;
		json_fix_copy(f, s, n);
		f->i += n;
		return;
	}
	if (left >= 12 && s[6] == '\\' && s[7] == 'u')
		lo = json_hex4(s + 8, left - 8);
	if (hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
		json_fix_copy(f, s, 12);
		f->i += 12;
		return;
	}
	json_fix_copy(f, "\\ufffd", 6);
	f->i += 6;
}

/* A number outside strings. One jansson would refuse is a value Go only
 * skips (in an unknown field); where Go reads it (a typed field) the 0.5
 * put in its place is as wrong as the original. Returns false if this is
 * not a number after all. */
static bool json_fix_number(struct json_fix *f)
{
	int real;
	size_t n = json_number_len(f->s + f->i, f->len - f->i, &real);
	char *tok = f->out + f->o;

	if (n == 0)
		return false;
	json_fix_copy(f, f->s + f->i, n);
	f->i += n;
	tok[n] = '\0'; /* room: the buffer has slack past any output */
	if (n >= 3 && json_number_too_big(tok, n, real)) {
		memset(tok, ' ', n);
		memcpy(tok, "0.5", 3);
	}
	return true;
}

/* Structure outside strings: tracks which containers are objects so
 * that the strings in key position can be tagged. */
static void json_fix_struct(struct json_fix *f, unsigned char c)
{
	size_t d;

	switch (c) {
	case '{':
	case '[':
		d = ++f->depth;
		if (d <= JSON_MAX_DEPTH) {
			if (c == '{')
				f->is_obj[d / 64] |= 1ull << (d % 64);
			else
				f->is_obj[d / 64] &= ~(1ull << (d % 64));
		}
		f->expect_key = c == '{';
		break;
	case '}':
	case ']':
		if (f->depth > 0)
			f->depth--;
		f->expect_key = false;
		break;
	case ',':
		d = f->depth;
		f->expect_key = d > 0 && d <= JSON_MAX_DEPTH &&
				(f->is_obj[d / 64] >> (d % 64) & 1);
		break;
	default:
		break;
	}
}

/* Copies the JSON in[0..len) to a new buffer that jansson reads as Go's
 * encoding/json reads the original. Returns it (*outlen set) or NULL when
 * out of memory. */
static char *json_sanitize(const char *in, size_t len, size_t *outlen)
{
	struct json_fix *f;
	char *out;

	/* Worst case: 3 bytes per bad byte, a tag per 2 input bytes. */
	if (len > (SIZE_MAX - 16) / 8)
		return NULL;
	f = calloc(1, sizeof(*f));
	out = malloc(len * 8 + 16);
	if (f == NULL || out == NULL)
		goto out_free;
	f->s = (const unsigned char *)in;
	f->len = len;
	f->out = out;
	while (f->i < len) {
		unsigned char c = f->s[f->i];

		if (c >= 0x80) {
			json_fix_utf8(f);
		} else if (f->instr && c == '\\') {
			json_fix_escape(f);
		} else if (c == '"') {
			json_fix_copy(f, "\"", 1);
			f->i++;
			if (!f->instr && f->expect_key) {
				snprintf(out + f->o, JSON_KEY_TAG + 1,
					 "%08" PRIx32, f->nkeys++);
				f->o += JSON_KEY_TAG;
				f->expect_key = false;
			}
			f->instr = !f->instr;
		} else if (f->instr || !((c == '-' || (c >= '0' && c <= '9')) &&
					 json_fix_number(f))) {
			if (!f->instr)
				json_fix_struct(f, c);
			json_fix_copy(f, &c, 1);
			f->i++;
		}
	}
	*outlen = f->o;
	free(f);
	return out;

out_free:
	free(out);
	free(f);
	return NULL;
}

/* Go's encoding/json key match for a lower-case ASCII field name: ASCII
 * letters fold, and since Go folds Unicode, U+017F matches s and U+212A
 * matches k. */
static int json_key_is(const char *key, size_t klen, const char *name)
{
	const unsigned char *k = (const unsigned char *)key;
	size_t i = 0;

	for (; *name != '\0'; name++) {
		unsigned char c = (unsigned char)*name;

		if (i >= klen)
			return 0;
		if (k[i] < 0x80) {
			if (k[i] != c &&
			    !(c >= 'a' && c <= 'z' && (k[i] | 0x20) == c))
				return 0;
			i++;
		} else if (c == 's' && klen - i >= 2 && k[i] == 0xc5 &&
			   k[i + 1] == 0xbf) {
			i += 2;
		} else if (c == 'k' && klen - i >= 3 && k[i] == 0xe2 &&
			   k[i + 1] == 0x84 && k[i + 2] == 0xaa) {
			i += 3;
		} else {
			return 0;
		}
	}
	return i == klen;
}

enum connect_kind {
	CONNECT_BOOL = 1,
	CONNECT_INT,
	CONNECT_STR,
	CONNECT_PERM, /* import/export: type-checked, not kept */
};

struct connect_field {
	const char *name;
	enum connect_kind kind;
	size_t off;     /* the value in struct proto_connect */
	size_t has_off; /* its has_ flag (bool and int fields) */
};

/* clang-format off */
#define CF_FLAG(n, k) \
	{ #n, k, offsetof(struct proto_connect, n), \
	  offsetof(struct proto_connect, has_##n) }
#define CF_STR(n) { #n, CONNECT_STR, offsetof(struct proto_connect, n), 0 }
/* clang-format on */

/* The fields of nats-server 2.9.10's ClientOpts. */
static const struct connect_field connect_fields[] = {
	CF_FLAG(verbose, CONNECT_BOOL),
	CF_FLAG(pedantic, CONNECT_BOOL),
	CF_FLAG(tls_required, CONNECT_BOOL),
	CF_FLAG(echo, CONNECT_BOOL),
	CF_FLAG(headers, CONNECT_BOOL),
	CF_FLAG(no_responders, CONNECT_BOOL),
	CF_FLAG(new_account, CONNECT_BOOL),
	CF_FLAG(protocol, CONNECT_INT),
	CF_STR(auth_token),
	CF_STR(user),
	CF_STR(pass),
	CF_STR(nkey),
	CF_STR(sig),
	CF_STR(jwt),
	CF_STR(name),
	CF_STR(lang),
	CF_STR(version),
	CF_STR(account),
	{ "import", CONNECT_PERM, 0, 0 },
	{ "export", CONNECT_PERM, 0, 0 },
};

#define CONNECT_NFIELDS (sizeof(connect_fields) / sizeof(connect_fields[0]))

/* json_key_is() for a key as json_sanitize() tagged it. */
static int json_tagged_key_is(const char *key, size_t klen, const char *name)
{
	return klen >= JSON_KEY_TAG &&
	       json_key_is(key + JSON_KEY_TAG, klen - JSON_KEY_TAG, name);
}

static const struct connect_field *connect_field_find(const char *key,
						      size_t klen)
{
	size_t i;

	for (i = 0; i < CONNECT_NFIELDS; i++)
		if (json_tagged_key_is(key, klen, connect_fields[i].name))
			return &connect_fields[i];
	return NULL;
}

/* A subject permission ({"allow":[...],"deny":[...]}): Go accepts null
 * anywhere, strings in the lists and nothing else. */
static int connect_check_perm(json_t *v)
{
	const char *key;
	size_t klen, i;
	json_t *list, *e;

	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return NATSD_EINVAL;
	json_object_keylen_foreach(v, key, klen, list)
	{
		if (!json_tagged_key_is(key, klen, "allow") &&
		    !json_tagged_key_is(key, klen, "deny"))
			continue;
		if (json_is_null(list))
			continue;
		if (!json_is_array(list))
			return NATSD_EINVAL;
		json_array_foreach(list, i, e)
		{
			if (!json_is_string(e) && !json_is_null(e))
				return NATSD_EINVAL;
		}
	}
	return 0;
}

/* Checks one field's value and records it in *tmp (flags, protocol) or
 * str[] (strings, borrowed from the JSON tree). */
static int connect_take(const struct connect_field *f, json_t *v,
			struct proto_connect *tmp, json_t **str)
{
	char *base = (char *)tmp;

	if (f->kind == CONNECT_PERM)
		return connect_check_perm(v);
	if (json_is_null(v))
		return 0; /* Go leaves the field as it was */
	switch (f->kind) {
	case CONNECT_BOOL:
		if (!json_is_boolean(v))
			return NATSD_EINVAL;
		*(bool *)(base + f->off) = json_is_true(v);
		*(bool *)(base + f->has_off) = true;
		return 0;
	case CONNECT_INT:
		if (!json_is_integer(v))
			return NATSD_EINVAL;
		*(int64_t *)(base + f->off) = json_integer_value(v);
		*(bool *)(base + f->has_off) = true;
		return 0;
	case CONNECT_STR:
		if (!json_is_string(v))
			return NATSD_EINVAL;
		str[f - connect_fields] = v;
		return 0;
	default:
		return NATSD_EINVAL;
	}
}

static void cstr_free(struct proto_cstr *c)
{
	if (c->s != NULL) {
		/* Some of these are secrets (pass, auth_token, jwt). */
		explicit_bzero(c->s, c->len);
		free(c->s);
	}
	c->s = NULL;
	c->len = 0;
}

static int cstr_dup(struct proto_cstr *c, json_t *v)
{
	size_t n = json_string_length(v);

	c->s = malloc(n + 1);
	if (c->s == NULL)
		return NATSD_ENOMEM;
	memcpy(c->s, json_string_value(v), n);
	c->s[n] = '\0';
	c->len = n;
	return 0;
}

/* Copies the strings recorded in str[] into *tmp, replacing (and freeing)
 * what *out had. Nothing changes on failure. */
static int connect_commit_strings(json_t **str, struct proto_connect *tmp,
				  struct proto_connect *out)
{
	struct proto_cstr fresh[CONNECT_NFIELDS] = { { NULL, 0 } };
	size_t i;

	for (i = 0; i < CONNECT_NFIELDS; i++) {
		if (str[i] != NULL && cstr_dup(&fresh[i], str[i]) != 0)
			goto out_free;
	}
	for (i = 0; i < CONNECT_NFIELDS; i++) {
		size_t off = connect_fields[i].off;

		if (str[i] == NULL)
			continue;
		cstr_free((struct proto_cstr *)((char *)out + off));
		*(struct proto_cstr *)((char *)tmp + off) = fresh[i];
	}
	return 0;

out_free:
	for (i = 0; i < CONNECT_NFIELDS; i++)
		cstr_free(&fresh[i]);
	return NATSD_ENOMEM;
}

void proto_connect_init(struct proto_connect *c)
{
	*c = (struct proto_connect){
		.verbose = true,
		.pedantic = true,
		.echo = true,
	};
}

int proto_parse_connect(const char *json, size_t len, struct proto_connect *out)
{
	json_t *str[CONNECT_NFIELDS] = { NULL };
	struct proto_connect tmp = *out;
	const struct connect_field *f;
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	size_t klen, n;
	char *text;
	int rc = 0;

	text = json_sanitize(json, len, &n);
	if (text == NULL)
		return NATSD_ENOMEM;
	root = json_loadb(text, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	free(text);
	if (root == NULL)
		return NATSD_EINVAL;
	/* Go decodes null into a struct as "no change". */
	if (json_is_null(root))
		goto out_put;
	if (!json_is_object(root)) {
		rc = NATSD_EINVAL;
		goto out_put;
	}
	json_object_keylen_foreach(root, key, klen, v)
	{
		f = connect_field_find(key, klen);
		if (f == NULL)
			continue;
		rc = connect_take(f, v, &tmp, str);
		if (rc != 0)
			goto out_put;
	}
	rc = connect_commit_strings(str, &tmp, out);
	if (rc == 0)
		*out = tmp;

out_put:
	json_decref(root);
	return rc;
}

void proto_connect_fini(struct proto_connect *c)
{
	size_t i;

	for (i = 0; i < CONNECT_NFIELDS; i++)
		if (connect_fields[i].kind == CONNECT_STR)
			cstr_free((struct proto_cstr *)((char *)c +
							connect_fields[i].off));
}
