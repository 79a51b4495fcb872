/* Tests for core/proto.c: the client-protocol parser and CONNECT reader.
 *
 * Expected results were taken from nats-server 2.9.10 by sending the same
 * bytes to it (see the comments on the odd cases). Every parse runs on a
 * heap copy of exactly the input's size, so under ASan an over-read is a
 * crash, not a silent pass. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <jansson.h>

#include "natsd/error.h"
#include "proto.h"
#include "../suites.h"

static char *g_buf;
static size_t g_len;
static struct proto_cmd g_cmd;
static size_t g_need;
static struct proto_limits g_lim = { 4096, 1048576, false };

/* Parses s[0..n) from an exact-size heap copy kept until the next call. */
static int parse_n(const char *s, size_t n)
{
	free(g_buf);
	g_buf = malloc(n ? n : 1);
	if (g_buf == NULL)
		abort();
	memcpy(g_buf, s, n);
	g_len = n;
	memset(&g_cmd, 0, sizeof(g_cmd));
	g_need = 12345;
	return proto_parse(g_buf, n, &g_lim, &g_cmd, &g_need);
}

static int parse(const char *s)
{
	return parse_n(s, strlen(s));
}

static bool str_is(struct proto_str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.p != NULL && s.len == n && memcmp(s.p, lit, n) == 0;
}

static bool str_absent(struct proto_str s)
{
	return s.p == NULL && s.len == 0;
}

static void reset_limits(void)
{
	g_lim = (struct proto_limits){ 4096, 1048576, false };
}

/* ---- operations ---------------------------------------------------- */

static void test_pub(void)
{
	reset_limits();
	CU_ASSERT_EQUAL(parse("PUB foo 5\r\nhello\r\n"), 18);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_PUB);
	CU_ASSERT(str_is(g_cmd.subject, "foo"));
	CU_ASSERT(str_absent(g_cmd.reply));
	CU_ASSERT_EQUAL(g_cmd.size, 5);
	CU_ASSERT(g_cmd.payload == g_buf + 11);
	CU_ASSERT(memcmp(g_cmd.payload, "hello", 5) == 0);

	CU_ASSERT_EQUAL(parse("PUB foo bar 2\r\nhi\r\nPING\r\n"), 19);
	CU_ASSERT(str_is(g_cmd.subject, "foo"));
	CU_ASSERT(str_is(g_cmd.reply, "bar"));
	CU_ASSERT_EQUAL(g_cmd.size, 2);

	/* Zero-length payload. */
	CU_ASSERT_EQUAL(parse("PUB foo 0\r\n\r\n"), 13);
	CU_ASSERT_EQUAL(g_cmd.size, 0);
	CU_ASSERT(g_cmd.payload == g_buf + 11);
	CU_ASSERT(str_absent(g_cmd.queue));
	CU_ASSERT(str_absent(g_cmd.sid));
	CU_ASSERT(str_absent(g_cmd.arg));
}

static void test_hpub(void)
{
	static const char m[] =
		"HPUB foo 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\n";

	reset_limits();
	CU_ASSERT_EQUAL(parse(m), (int)sizeof(m) - 1);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_HPUB);
	CU_ASSERT(str_is(g_cmd.subject, "foo"));
	CU_ASSERT(str_absent(g_cmd.reply));
	CU_ASSERT_EQUAL(g_cmd.hdr_len, 18);
	CU_ASSERT_EQUAL(g_cmd.size, 23);
	CU_ASSERT(memcmp(g_cmd.payload, "NATS/1.0\r\nA: b\r\n\r\nhello", 23) ==
		  0);

	CU_ASSERT_EQUAL(parse("HPUB foo r 2 2\r\nab\r\n"), 20);
	CU_ASSERT(str_is(g_cmd.reply, "r"));
	CU_ASSERT_EQUAL(g_cmd.hdr_len, 2);
	CU_ASSERT_EQUAL(g_cmd.size, 2);

	CU_ASSERT_EQUAL(parse("HPUB foo 0 0\r\n\r\n"), 16);
	CU_ASSERT_EQUAL(g_cmd.hdr_len, 0);

	/* Header size larger than the total: closes without -ERR. */
	CU_ASSERT_EQUAL(parse("HPUB foo 5 3\r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("HPUB foo 2\r\nab\r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("HPUB foo x 2\r\nab\r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("HPUB foo r 2 2 2\r\nab\r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("HPUB \r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("HPUB\r\n"), PROTO_E_UNKNOWN_OP);
}

static void test_hpub_refused(void)
{
	reset_limits();
	g_lim.hpub_refused = true;
	/* Without headers:true, HPUB closes silently, even when its size is
	 * over max_payload ... */
	CU_ASSERT_EQUAL(parse("HPUB foo 0 0\r\n\r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("HPUB foo 0 99999999\r\n"), PROTO_E_PARSE);
	/* ... but the control-line limit is checked first. */
	g_lim.max_control_line = 8;
	CU_ASSERT_EQUAL(parse("HPUB foo 0 99999999\r\n"), PROTO_E_CONTROL_LINE);
	/* And only a complete line is judged. */
	CU_ASSERT_EQUAL(parse("HPUB foo 0"), PROTO_MORE);
	reset_limits();
}

static void test_sub_unsub(void)
{
	reset_limits();
	CU_ASSERT_EQUAL(parse("SUB foo 1\r\n"), 11);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_SUB);
	CU_ASSERT(str_is(g_cmd.subject, "foo"));
	CU_ASSERT(str_absent(g_cmd.queue));
	CU_ASSERT(str_is(g_cmd.sid, "1"));

	CU_ASSERT_EQUAL(parse("SUB foo q1 2\r\n"), 14);
	CU_ASSERT(str_is(g_cmd.queue, "q1"));
	CU_ASSERT(str_is(g_cmd.sid, "2"));

	CU_ASSERT_EQUAL(parse("UNSUB 1\r\n"), 9);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_UNSUB);
	CU_ASSERT(str_is(g_cmd.sid, "1"));
	CU_ASSERT_EQUAL(g_cmd.max, 0);

	CU_ASSERT_EQUAL(parse("UNSUB 1 2\r\n"), 11);
	CU_ASSERT_EQUAL(g_cmd.max, 2);

	/* A max that is not a size is "no max" (nats-server removes the
	 * subscription at once), never an error. */
	CU_ASSERT_EQUAL(parse("UNSUB 1 abc\r\n"), 13);
	CU_ASSERT_EQUAL(g_cmd.max, 0);
	CU_ASSERT_EQUAL(parse("UNSUB 1 -5\r\n"), 12);
	CU_ASSERT_EQUAL(g_cmd.max, 0);
	CU_ASSERT_EQUAL(parse("UNSUB 1 0\r\n"), 11);
	CU_ASSERT_EQUAL(g_cmd.max, 0);
	CU_ASSERT_EQUAL(parse("UNSUB 1 1234567890\r\n"), 20);
	CU_ASSERT_EQUAL(g_cmd.max, 0);
	CU_ASSERT_EQUAL(parse("UNSUB 1 999999999\r\n"), 19);
	CU_ASSERT_EQUAL(g_cmd.max, 999999999);

	/* Wrong argument counts close without -ERR. */
	CU_ASSERT_EQUAL(parse("SUB foo\r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("SUB a b c d\r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("UNSUB 1 2 3\r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("UNSUB \r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("SUB \r\n"), PROTO_E_PARSE);
}

static void test_bare_ops(void)
{
	reset_limits();
	CU_ASSERT_EQUAL(parse("PING\r\n"), 6);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_PING);
	CU_ASSERT_EQUAL(parse("PONG\r\n"), 6);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_PONG);
	CU_ASSERT_EQUAL(parse("+OK\r\n"), 5);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_OK);

	/* Anything up to LF is ignored. */
	CU_ASSERT_EQUAL(parse("PING xyz\r\n"), 10);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_PING);
	CU_ASSERT_EQUAL(parse("PINGPONG\r\nPONG\r\n"), 10);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_PING);
	CU_ASSERT_EQUAL(parse("PING\r\r\n"), 7);
	CU_ASSERT_EQUAL(parse("+okxyz\r\n"), 8);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_OK);
	CU_ASSERT_EQUAL(parse("PONG whatever\n"), 14);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_PONG);

	CU_ASSERT_EQUAL(parse("PIN\r\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("PONX"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("+O\r\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("+\r\n"), PROTO_E_UNKNOWN_OP);
}

static void test_err_info_connect(void)
{
	reset_limits();
	CU_ASSERT_EQUAL(parse("-ERR 'x y'\r\nPING\r\n"), 12);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_ERR);
	CU_ASSERT(str_is(g_cmd.arg, "'x y'"));
	CU_ASSERT_EQUAL(parse("-err\t'x'\n"), 9);
	CU_ASSERT(str_is(g_cmd.arg, "'x'"));
	CU_ASSERT_EQUAL(parse("-ERR\r\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("-ERRX"), PROTO_E_UNKNOWN_OP);

	CU_ASSERT_EQUAL(parse("INFO {\"a\":1}\r\n"), 14);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_INFO);
	CU_ASSERT(str_is(g_cmd.arg, "{\"a\":1}"));
	/* No blank needed after CONNECT or INFO. */
	CU_ASSERT_EQUAL(parse("INFO{}\r\n"), 8);
	CU_ASSERT(str_is(g_cmd.arg, "{}"));

	CU_ASSERT_EQUAL(parse("CONNECT {\"verbose\":false}\r\n"), 27);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_CONNECT);
	CU_ASSERT(str_is(g_cmd.arg, "{\"verbose\":false}"));
	CU_ASSERT_EQUAL(parse("CONNECT{}\r\n"), 11);
	CU_ASSERT(str_is(g_cmd.arg, "{}"));
	CU_ASSERT_EQUAL(parse("CONNECT  \t {\"a\":1} \t \r\nPING\r\n"), 23);
	CU_ASSERT(str_is(g_cmd.arg, "{\"a\":1}"));
	/* The byte after the blanks starts the argument even when it is an
	 * LF: nats-server accepts "CONNECT\n{}\n". */
	CU_ASSERT_EQUAL(parse("CONNECT\n{}\nPING\r\n"), 11);
	CU_ASSERT(str_is(g_cmd.arg, "{}"));
	/* Empty JSON: the caller's JSON check closes silently, as
	 * nats-server does for "CONNECT\r\n" and "INFO\r\n". */
	CU_ASSERT_EQUAL(parse("CONNECT\r\n"), 9);
	CU_ASSERT_EQUAL(g_cmd.arg.len, 0);
	CU_ASSERT_EQUAL(parse("INFO\r\n"), 6);
	CU_ASSERT_EQUAL(g_cmd.arg.len, 0);
	CU_ASSERT_EQUAL(parse("CONNECTX\r\n"), 10);
	CU_ASSERT(str_is(g_cmd.arg, "X"));
	CU_ASSERT_EQUAL(parse("CONNECX"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("INFX"), PROTO_E_UNKNOWN_OP);
}

static void test_case_insensitive(void)
{
	reset_limits();
	CU_ASSERT_EQUAL(parse("pub foo 1\r\nx\r\n"), 14);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_PUB);
	CU_ASSERT_EQUAL(parse("pUb foo 1\r\nx\r\n"), 14);
	CU_ASSERT_EQUAL(parse("Sub foo 1\r\n"), 11);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_SUB);
	CU_ASSERT_EQUAL(parse("uNsUb 1\r\n"), 9);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_UNSUB);
	CU_ASSERT_EQUAL(parse("PiNg\r\n"), 6);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_PING);
	CU_ASSERT_EQUAL(parse("pong\r\n"), 6);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_PONG);
	CU_ASSERT_EQUAL(parse("hPuB foo 0 0\r\n\r\n"), 16);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_HPUB);
	CU_ASSERT_EQUAL(parse("connect {}\r\n"), 12);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_CONNECT);
	CU_ASSERT_EQUAL(parse("info {}\r\n"), 9);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_INFO);
	CU_ASSERT_EQUAL(parse("+ok\r\n"), 5);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_OK);
	CU_ASSERT_EQUAL(parse("-eRr x\r\n"), 8);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_ERR);
}

static void test_line_ends_and_blanks(void)
{
	reset_limits();
	/* LF alone ends a line. */
	CU_ASSERT_EQUAL(parse("SUB foo 1\n"), 10);
	CU_ASSERT(str_is(g_cmd.sid, "1"));
	CU_ASSERT_EQUAL(parse("PUB foo 1\nx\r\n"), 13);
	CU_ASSERT_EQUAL(g_cmd.size, 1);
	CU_ASSERT_EQUAL(parse("PING\n"), 5);

	/* Spaces and tabs, in runs, separate arguments. */
	CU_ASSERT_EQUAL(parse("PUB\tfoo\t1\r\nx\r\n"), 14);
	CU_ASSERT(str_is(g_cmd.subject, "foo"));
	CU_ASSERT_EQUAL(parse("PUB \t foo \t 1 \t \r\nx\r\n"), 21);
	CU_ASSERT(str_is(g_cmd.subject, "foo"));
	CU_ASSERT_EQUAL(g_cmd.size, 1);
	CU_ASSERT_EQUAL(parse("SUB  foo\t\tq  7  \r\n"), 18);
	CU_ASSERT(str_is(g_cmd.subject, "foo"));
	CU_ASSERT(str_is(g_cmd.queue, "q"));
	CU_ASSERT(str_is(g_cmd.sid, "7"));

	/* Blanks after the op name are not limited (nats-server skips them
	 * outside the argument state). */
	{
		size_t n = 3 + 8000 + 9;
		char *s = malloc(n + 1);

		memcpy(s, "PUB", 3);
		memset(s + 3, ' ', 8000);
		memcpy(s + 8003, "foo 0\r\n\r\n", 9);
		CU_ASSERT_EQUAL(parse_n(s, n), (int)n);
		CU_ASSERT(str_is(g_cmd.subject, "foo"));
		free(s);
	}
}

/* The parts of the state machine a grammar would not predict. */
static void test_quirks(void)
{
	reset_limits();
	/* "SUB \n": the LF starts the argument and SUB splits on it. */
	CU_ASSERT_EQUAL(parse("SUB \nfoo 1\nPING\r\n"), 11);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_SUB);
	CU_ASSERT(str_is(g_cmd.subject, "foo"));
	CU_ASSERT(str_is(g_cmd.sid, "1"));
	/* PUB splits on blanks only: the subject is "\nfoo". */
	CU_ASSERT_EQUAL(parse("PUB \nfoo 1\nx\r\n"), 14);
	CU_ASSERT(str_is(g_cmd.subject, "\nfoo"));

	/* A CR in the argument drops the line's last byte: the sid is 1,
	 * not X (nats-server: MSG foo 1 1). */
	CU_ASSERT_EQUAL(parse("SUB foo 1 \rX\n"), 13);
	CU_ASSERT(str_is(g_cmd.subject, "foo"));
	CU_ASSERT(str_absent(g_cmd.queue));
	CU_ASSERT(str_is(g_cmd.sid, "1"));
	CU_ASSERT_EQUAL(parse("SUB foo 1 \rX\r\n"), 14);
	CU_ASSERT(str_is(g_cmd.queue, "1"));
	CU_ASSERT(str_is(g_cmd.sid, "X"));
	CU_ASSERT_EQUAL(parse("SUB foo 1 2\rX\n"), 14);
	CU_ASSERT(str_is(g_cmd.queue, "1"));
	CU_ASSERT(str_is(g_cmd.sid, "2"));
	CU_ASSERT_EQUAL(parse("SUB foo\r1\r\n"), 11);
	CU_ASSERT(str_is(g_cmd.subject, "foo"));
	CU_ASSERT(str_is(g_cmd.sid, "1"));
	/* PUB: CR is not a separator, the drop takes the trailing blank. */
	CU_ASSERT_EQUAL(parse("PUB foo\r 1 \nx\r\n"), 15);
	CU_ASSERT(str_is(g_cmd.subject, "foo\r"));
	CU_ASSERT_EQUAL(g_cmd.size, 1);
	CU_ASSERT_EQUAL(parse("PUB foo 1\r2\nx\r\n"), PROTO_E_PARSE);
	/* "SUB \r\n": the CR is the argument, not dropped. */
	CU_ASSERT_EQUAL(parse("SUB \r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("PUB \r\n"), PROTO_E_PARSE);
}

static void test_unknown_vs_parse(void)
{
	reset_limits();
	/* Conformance 5: unknown op vs silent close. */
	CU_ASSERT_EQUAL(parse("UNSUB\r\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("PUB foo\r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("PUB\r\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("SUB\r\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("SUBfoo 1\r\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("PUB foo 1 2 3\r\nxx\r\n"), PROTO_E_PARSE);

	/* Not client operations. */
	CU_ASSERT_EQUAL(parse("MSG foo 1 1\r\nx\r\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("M"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("RS+ $G foo\r\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("R"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("LS+ $G foo\r\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("A+ foo\r\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("X"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("\r\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse(" PING\r\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("\tPING\r\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse_n("\0PING\r\n", 7), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("PX"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("HX"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("PUX"), PROTO_E_UNKNOWN_OP);

	/* HMSG is read to its line end, then refused. */
	CU_ASSERT_EQUAL(parse("H"), PROTO_MORE);
	CU_ASSERT_EQUAL(parse("HM"), PROTO_MORE);
	CU_ASSERT_EQUAL(parse("HMSG foo 1 2 3"), PROTO_MORE);
	CU_ASSERT_EQUAL(parse("HMSG foo 1 2 3\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("HMSG\r\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("HMX"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("HMSX"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("HMSGX"), PROTO_E_UNKNOWN_OP);
}

static void test_sizes(void)
{
	reset_limits();
	CU_ASSERT_EQUAL(parse("PUB foo -1\r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("PUB foo +1\r\nx\r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("PUB foo 1a\r\nx\r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("PUB foo bar\r\n"), PROTO_E_PARSE);
	/* At most 9 digits, leading zeros included. */
	CU_ASSERT_EQUAL(parse("PUB foo 0000000001\r\nx\r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("PUB foo 000000001\r\nx\r\n"), 22);
	CU_ASSERT_EQUAL(g_cmd.size, 1);
	CU_ASSERT_EQUAL(parse("PUB foo 99999999999999999999\r\n"),
			PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("HPUB foo -1 2\r\nab\r\n"), PROTO_E_PARSE);
	CU_ASSERT_EQUAL(parse("HPUB foo 1 1234567890\r\n"), PROTO_E_PARSE);
}

static void test_max_payload(void)
{
	reset_limits();
	/* Conformance 7: refused on the control line, before any payload. */
	CU_ASSERT_EQUAL(parse("PUB foo 2000000\r\n"), PROTO_E_MAX_PAYLOAD);
	CU_ASSERT_EQUAL(parse("PUB foo 1048577\r\n"), PROTO_E_MAX_PAYLOAD);
	CU_ASSERT_EQUAL(parse("PUB foo 1048576\r\n"), PROTO_MORE);
	CU_ASSERT_EQUAL(g_need, 17 + 1048576 + 2);
	CU_ASSERT_EQUAL(parse("HPUB foo 0 1048577\r\n"), PROTO_E_MAX_PAYLOAD);
	CU_ASSERT_EQUAL(parse("HPUB foo 1048577 1048577\r\n"),
			PROTO_E_MAX_PAYLOAD);
	/* A bad size is a parse error before the payload limit. */
	CU_ASSERT_EQUAL(parse("HPUB foo 9 2000000x\r\n"), PROTO_E_PARSE);

	g_lim.max_payload = 0;
	CU_ASSERT_EQUAL(parse("PUB foo 0\r\n\r\n"), 13);
	CU_ASSERT_EQUAL(parse("PUB foo 1\r\nx\r\n"), PROTO_E_MAX_PAYLOAD);

	g_lim.max_payload = -1;
	CU_ASSERT_EQUAL(parse("PUB foo 999999999\r\n"), PROTO_MORE);
	CU_ASSERT_EQUAL(g_need, 19 + 999999999 + 2);

	/* No limits at all. */
	{
		struct proto_cmd c;
		size_t need;
		char *s = strdup("PUB foo 999999999\r\n");

		CU_ASSERT_EQUAL(proto_parse(s, strlen(s), NULL, &c, &need),
				PROTO_MORE);
		CU_ASSERT_EQUAL(need, 19 + 999999999 + 2);
		free(s);
	}
	reset_limits();
}

static void test_payload_framing(void)
{
	reset_limits();
	/* Conformance 8: a payload needs exactly CRLF after it. */
	CU_ASSERT_EQUAL(parse("PUB foo 1\r\nxy\r\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("PUB foo 1\r\nx\n"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("PUB foo 1\r\nx\r\r"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("PUB foo 1\r\nx\rz"), PROTO_E_UNKNOWN_OP);
	/* Reported on the first wrong byte, without waiting for more. */
	CU_ASSERT_EQUAL(parse("PUB foo 1\r\nxy"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("PUB foo 1\r\nx\r"), PROTO_MORE);
	CU_ASSERT_EQUAL(g_need, 14);
	/* The control line is reported with the missing payload (for
	 * nats-server's pedantic check, done before the payload). */
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_PUB);
	CU_ASSERT(str_is(g_cmd.subject, "foo"));
	CU_ASSERT_EQUAL(g_cmd.size, 1);
	CU_ASSERT_PTR_NULL(g_cmd.payload);
	CU_ASSERT_EQUAL(parse("PUB foo.* r 1\r\nxy"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_PUB);
	CU_ASSERT(str_is(g_cmd.subject, "foo.*"));
	CU_ASSERT(str_is(g_cmd.reply, "r"));
	CU_ASSERT_PTR_NULL(g_cmd.payload);
	CU_ASSERT_EQUAL(parse("HPUB h 2 3\r\nab"), PROTO_MORE);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_HPUB);
	CU_ASSERT(str_is(g_cmd.subject, "h"));
	CU_ASSERT_EQUAL(g_cmd.hdr_len, 2);
	CU_ASSERT_PTR_NULL(g_cmd.payload);
	/* Not before the line is complete. */
	CU_ASSERT_EQUAL(parse("PUB foo 1"), PROTO_MORE);
	CU_ASSERT_EQUAL(g_cmd.op, 0);
	CU_ASSERT_EQUAL(parse("PUB foo 1\r\nx"), PROTO_MORE);
	CU_ASSERT_EQUAL(g_need, 14);
	CU_ASSERT_EQUAL(parse("PUB foo 12\r\nx\r\nPING\r\n"), PROTO_MORE);
	CU_ASSERT_EQUAL(g_need, 12 + 12 + 2);
	CU_ASSERT_EQUAL(parse("HPUB foo 0 0\r\nab"), PROTO_E_UNKNOWN_OP);
	CU_ASSERT_EQUAL(parse("PING"), PROTO_MORE);
	CU_ASSERT_EQUAL(g_need, 0);
}

/* Builds op + n times fill + tail. */
static char *build(const char *op, size_t n, char fill, const char *tail,
		   size_t *len)
{
	size_t a = strlen(op), t = strlen(tail);
	char *s = malloc(a + n + t + 1);

	memcpy(s, op, a);
	memset(s + a, fill, n);
	memcpy(s + a + n, tail, t + 1);
	*len = a + n + t;
	return s;
}

/* What parse_built() returns when the parser took the whole input. */
#define WHOLE INT_MAX

/* Parses build()'s op + n times fill + tail: the parser's result, or
 * WHOLE when that is the input's full length. */
static int parse_built(const char *op, size_t n, char fill, const char *tail)
{
	size_t len;
	char *s = build(op, n, fill, tail, &len);
	int rc = parse_n(s, len);

	free(s);
	return rc == (int)len ? WHOLE : rc;
}

static void test_control_line(void)
{
	reset_limits();
	/* "PUB " + 4094 + " 0": an argument of exactly 4096 bytes. */
	CU_ASSERT_EQUAL(parse_built("PUB ", 4094, 'a', " 0\r\n\r\n"), WHOLE);
	CU_ASSERT_EQUAL(parse_built("PUB ", 4095, 'a', " 0\r\n\r\n"),
			PROTO_E_CONTROL_LINE);
	CU_ASSERT_EQUAL(parse_built("PUB ", 4094, 'a', " 0\n\r\n"), WHOLE);
	CU_ASSERT_EQUAL(parse_built("PUB ", 4095, 'a', " 0\n\r\n"),
			PROTO_E_CONTROL_LINE);

	/* A partial line longer than the limit fails at once. */
	CU_ASSERT_EQUAL(parse_built("PUB ", 4097, 'a', ""),
			PROTO_E_CONTROL_LINE);
	CU_ASSERT_EQUAL(parse_built("PUB ", 4096, 'a', ""), PROTO_MORE);
	/* A partial CR is not counted (the drop): 4096 + CR waits. */
	CU_ASSERT_EQUAL(parse_built("PUB ", 4096, 'a', "\r"), PROTO_MORE);
	CU_ASSERT_EQUAL(parse_built("PUB ", 4097, 'a', "\r"),
			PROTO_E_CONTROL_LINE);
	/* ... nor a complete line's CR. */
	CU_ASSERT_EQUAL(parse_built("SUB ", 4094, 'a', " 1\r\n"), WHOLE);

	/* Every operation with an argument has the limit. */
	{
		static const char *const ops[] = { "SUB ",  "UNSUB ",
						   "HPUB ", "CONNECT ",
						   "INFO ", "-ERR ",
						   "HMSG ", "PUB " };
		size_t i;

		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			CU_ASSERT_EQUAL(parse_built(ops[i], 5000, 'a', ""),
					PROTO_E_CONTROL_LINE);
			CU_ASSERT_EQUAL(parse_built(ops[i], 5000, 'a', "\n"),
					PROTO_E_CONTROL_LINE);
		}
	}

	/* PING/PONG/+OK text is not an argument: no limit. */
	CU_ASSERT_EQUAL(parse_built("PING", 8000, 'x', "\r\n"), WHOLE);
	CU_ASSERT_EQUAL(parse_built("PING", 8000, 'x', ""), PROTO_MORE);

	/* Conformance 17: max_control_line 256, a long SUB. */
	g_lim.max_control_line = 256;
	CU_ASSERT_EQUAL(parse_built("SUB ", 300, 'a', " 1\r\n"),
			PROTO_E_CONTROL_LINE);
	CU_ASSERT_EQUAL(parse_built("SUB ", 254, 'a', " 1\r\n"), WHOLE);

	/* 0 means no limit (route-like connections). */
	g_lim.max_control_line = 0;
	CU_ASSERT_EQUAL(parse_built("SUB ", 100000, 'a', " 1\r\n"), WHOLE);
	CU_ASSERT_EQUAL(g_cmd.subject.len, 100000);
	CU_ASSERT_EQUAL(parse_built("SUB ", 100000, 'a', ""), PROTO_MORE);
	reset_limits();
}

/* Conformance checks of PROTOCOL.md section 12 that the parser decides. */
static void test_conformance(void)
{
	reset_limits();
	/* 1 */
	CU_ASSERT_EQUAL(parse("PING xyz\r\n"), 10);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_PING);
	/* 2 */
	CU_ASSERT_EQUAL(parse("pub foo 1\r\nx\r\n"), 14);
	CU_ASSERT_EQUAL(g_cmd.op, PROTO_OP_PUB);
	/* 10 */
	CU_ASSERT_EQUAL(parse("PUB nobody _INBOX.x 0\r\n\r\n"), 25);
	CU_ASSERT(str_is(g_cmd.reply, "_INBOX.x"));
	/* 12 */
	CU_ASSERT_EQUAL(parse("SUB a 1\r\nUNSUB 1 2\r\n"), 9);
	CU_ASSERT_EQUAL(parse("UNSUB 1 2\r\n"), 11);
	CU_ASSERT_EQUAL(g_cmd.max, 2);
	/* 14: a wildcard publish subject parses; pedantic is the caller's. */
	CU_ASSERT_EQUAL(parse("PUB foo.* 1\r\nx\r\n"), 16);
	CU_ASSERT(str_is(g_cmd.subject, "foo.*"));
}

/* ---- split reads ----------------------------------------------------- */

static const char *const valid_ops[] = {
	"PUB foo 5\r\nhello\r\n",
	"PUB foo bar 2\r\nhi\r\n",
	"PUB foo 0\r\n\r\n",
	"pub\tfoo\t\t3\nabc\r\n",
	"HPUB foo 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\n",
	"HPUB foo rep 12 12\r\nNATS/1.0\r\n\r\n\r\n",
	"SUB foo 1\r\n",
	"SUB foo q 22\n",
	"UNSUB 1\r\n",
	"UNSUB 1 10\r\n",
	"PING\r\n",
	"PONG\r\n",
	"PING extra\r\n",
	"+OK\r\n",
	"-ERR 'Stale Connection'\r\n",
	"CONNECT {\"verbose\":false,\"pedantic\":false}\r\n",
	"INFO {\"server_id\":\"x\"} \r\n",
	"SUB \nfoo 1\n",
};

/* Every strict prefix of an operation is PROTO_MORE (with the right
 * need once the control line is complete), the whole is consumed, and
 * the same with bytes following. */
static void test_split_reads(void)
{
	size_t i, k, n, line;
	struct proto_cmd whole;

	reset_limits();
	for (i = 0; i < sizeof(valid_ops) / sizeof(valid_ops[0]); i++) {
		const char *op = valid_ops[i];
		char *more;

		n = strlen(op);
		CU_ASSERT_EQUAL_FATAL(parse(op), (int)n);
		whole = g_cmd;
		line = (size_t)(strchr(op + 1, '\n') - op) + 1;
		for (k = 0; k < n; k++) {
			int rc = parse_n(op, k);

			CU_ASSERT_EQUAL(rc, PROTO_MORE);
			if (rc != PROTO_MORE)
				fprintf(stderr, "\nprefix %zu of %s: %d\n", k,
					op, rc);
			if ((whole.op == PROTO_OP_PUB ||
			     whole.op == PROTO_OP_HPUB) &&
			    k >= line)
				CU_ASSERT_EQUAL(g_need, n);
			if (k < line)
				CU_ASSERT_EQUAL(g_need, 0);
		}
		more = malloc(n + 6);
		memcpy(more, op, n);
		memcpy(more + n, "PING\r\n", 6);
		CU_ASSERT_EQUAL(parse_n(more, n + 6), (int)n);
		CU_ASSERT_EQUAL(g_cmd.op, whole.op);
		CU_ASSERT_EQUAL(g_cmd.size, whole.size);
		CU_ASSERT_EQUAL(g_cmd.subject.len, whole.subject.len);
		CU_ASSERT_EQUAL(g_cmd.sid.len, whole.sid.len);
		free(more);
	}
}

/* Parses a stream of operations in chunks, as a connection would. */
static void test_stream(void)
{
	static const char stream[] =
		"CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nSUB foo q 2\r\n"
		"PUB foo 5\r\nhello\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
		"UNSUB 1 3\r\nPING\r\n";
	static const enum proto_op want[] = {
		PROTO_OP_CONNECT, PROTO_OP_SUB,   PROTO_OP_SUB,  PROTO_OP_PUB,
		PROTO_OP_HPUB,    PROTO_OP_UNSUB, PROTO_OP_PING,
	};
	size_t total = sizeof(stream) - 1, chunk;

	reset_limits();
	for (chunk = 1; chunk <= total; chunk++) {
		size_t have = 0, off = 0, nops = 0, rounds = 0;
		bool ok = true;

		while (off < total && rounds++ < 4 * total) {
			int rc;

			if (have < total)
				have = have + chunk > total ? total
							    : have + chunk;
			for (;;) {
				rc = parse_n(stream + off, have - off);
				if (rc <= 0)
					break;
				if (nops >= sizeof(want) / sizeof(want[0]) ||
				    g_cmd.op != want[nops])
					ok = false;
				nops++;
				off += (size_t)rc;
			}
			if (rc < 0)
				ok = false;
			if (!ok)
				break;
		}
		CU_ASSERT(ok);
		CU_ASSERT_EQUAL(nops, sizeof(want) / sizeof(want[0]));
		CU_ASSERT_EQUAL(off, total);
	}
}

/* ---- robustness -------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Checks what proto_parse() said about b[0..n). */
static bool result_sane(int rc, const char *b, size_t n,
			const struct proto_cmd *c)
{
	const struct proto_str *f[] = { &c->subject, &c->reply, &c->queue,
					&c->sid, &c->arg };
	size_t i;

	if (rc < PROTO_E_MAX_PAYLOAD || (rc > 0 && (size_t)rc > n))
		return false;
	if (rc <= 0)
		return true;
	if (c->op < PROTO_OP_CONNECT || c->op > PROTO_OP_ERR)
		return false;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i]->p == NULL)
			continue;
		if (f[i]->p < b || f[i]->p + f[i]->len > b + rc)
			return false;
	}
	if (c->payload != NULL &&
	    (c->payload < b || c->payload + c->size > b + rc))
		return false;
	return true;
}

static void fuzz_one(const char *src, size_t n)
{
	int rc = parse_n(src, n);

	CU_ASSERT(result_sane(rc, g_buf, g_len, &g_cmd));
}

static void test_fuzz_random(void)
{
	static const char alphabet[] = "PUBSHINGOCTE+-KRMpubs \t\r\n0123456789"
				       "{}\"";
	char tmp[256];
	int i;
	size_t j, n;

	reset_limits();
	g_lim.max_control_line = 64;
	g_lim.max_payload = 100;
	for (i = 0; i < 200000; i++) {
		n = rng() % sizeof(tmp);
		for (j = 0; j < n; j++) {
			uint64_t r = rng();

			tmp[j] = r & 1 ? (char)(r >> 8)
				       : alphabet[(r >> 8) %
						  (sizeof(alphabet) - 1)];
		}
		fuzz_one(tmp, n);
	}
	reset_limits();
}

static void test_fuzz_mutations(void)
{
	char tmp[128];
	size_t i, k, n, pos;
	int m;

	reset_limits();
	for (i = 0; i < sizeof(valid_ops) / sizeof(valid_ops[0]); i++) {
		n = strlen(valid_ops[i]);
		for (m = 0; m < 3000; m++) {
			memcpy(tmp, valid_ops[i], n);
			for (k = 0; k < 1 + rng() % 3; k++) {
				pos = rng() % n;
				tmp[pos] = (char)rng();
			}
			/* Every prefix too: partial-line paths. */
			fuzz_one(tmp, rng() % (n + 1));
			fuzz_one(tmp, n);
		}
	}
}

/* Splits a[0..n) byte by byte, as nats-server does; returns the count. */
static int ref_split(const char *a, size_t n, bool cr_sep, struct proto_str *t,
		     int max)
{
	int nt = 0;
	size_t i = 0, start;

	for (;;) {
		while (i < n && (a[i] == ' ' || a[i] == '\t' ||
				 (cr_sep && a[i] == '\r')))
			i++;
		if (i == n)
			return nt;
		start = i;
		while (i < n && !(a[i] == ' ' || a[i] == '\t' ||
				  (cr_sep && a[i] == '\r')))
			i++;
		if (nt < max) {
			t[nt].p = a + start;
			t[nt].len = (uint32_t)(i - start);
		}
		nt++;
	}
}

static bool same_str(struct proto_str a, struct proto_str b, const char *abuf,
		     const char *bbuf)
{
	return a.len == b.len && (a.len == 0 || (a.p - abuf == b.p - bbuf));
}

/* The word-at-a-time tokenizer against a byte-at-a-time one, with
 * control bytes, CRs and high bytes at every alignment. */
static void test_tokenizer_reference(void)
{
	static const char alpha[] = "ab. \t\r\x01\x1f\x7f\x80\xff!~";
	char line[96];
	struct proto_str ref[4];
	int i, nt, rc;
	size_t j, n;

	reset_limits();
	for (i = 0; i < 20000; i++) {
		bool sub = i & 1;
		size_t pre = 4, alen = 1 + rng() % 60;

		memcpy(line, sub ? "SUB " : "PUB ", 4);
		/* The argument starts with a non-blank, ends before CRLF. */
		line[pre] = 'x';
		for (j = 1; j < alen; j++)
			line[pre + j] = alpha[rng() % (sizeof(alpha) - 1)];
		n = pre + alen;
		if (!sub) {
			memcpy(line + n, " 0", 2);
			n += 2;
			alen += 2;
		}
		memcpy(line + n, "\r\n\r\n", 4);
		n += sub ? 2 : 4;
		nt = ref_split(line + pre, alen, sub, ref, 4);
		rc = parse_n(line, n);
		if (nt < 2 || nt > 3) {
			CU_ASSERT_EQUAL(rc, PROTO_E_PARSE);
			continue;
		}
		CU_ASSERT_EQUAL(rc, (int)n);
		CU_ASSERT(same_str(g_cmd.subject, ref[0], g_buf, line));
		if (sub) {
			CU_ASSERT(
				same_str(g_cmd.sid, ref[nt - 1], g_buf, line));
		} else if (nt == 3) {
			CU_ASSERT(same_str(g_cmd.reply, ref[1], g_buf, line));
		}
	}
}

/* ---- CONNECT ------------------------------------------------------------ */

static int connect_str(const char *json, struct proto_connect *c)
{
	size_t n = strlen(json);
	char *b = malloc(n ? n : 1);
	int rc;

	memcpy(b, json, n);
	rc = proto_parse_connect(b, n, c);
	free(b);
	return rc;
}

static bool cstr_is(struct proto_cstr s, const char *lit, size_t n)
{
	return s.s != NULL && s.len == n && memcmp(s.s, lit, n) == 0 &&
	       s.s[n] == '\0';
}

static void test_connect_fields(void)
{
	struct proto_connect c;

	proto_connect_init(&c);
	CU_ASSERT(c.verbose && c.pedantic && c.echo);
	CU_ASSERT(!c.has_verbose && !c.has_protocol && c.user.s == NULL);
	CU_ASSERT_EQUAL(
		connect_str("{\"verbose\":false,\"pedantic\":false,"
			    "\"tls_required\":true,\"auth_token\":\"tok\","
			    "\"user\":\"u\",\"pass\":\"p\",\"nkey\":\"UAB\","
			    "\"sig\":\"s1\",\"jwt\":\"e.y.j\",\"name\":\"n\","
			    "\"lang\":\"c\",\"version\":\"3.0\","
			    "\"protocol\":1,\"echo\":false,\"headers\":true,"
			    "\"no_responders\":true,\"account\":\"A\","
			    "\"new_account\":true,"
			    "\"import\":{\"allow\":[\"x\"]},"
			    "\"export\":null,\"unknown\":[1,{\"a\":2}]}",
			    &c),
		0);
	CU_ASSERT(!c.verbose && c.has_verbose);
	CU_ASSERT(!c.pedantic && c.has_pedantic);
	CU_ASSERT(c.tls_required && c.has_tls_required);
	CU_ASSERT(!c.echo && c.has_echo);
	CU_ASSERT(c.headers && c.has_headers);
	CU_ASSERT(c.no_responders && c.has_no_responders);
	CU_ASSERT(c.new_account && c.has_new_account);
	CU_ASSERT(c.protocol == 1 && c.has_protocol);
	CU_ASSERT(cstr_is(c.auth_token, "tok", 3));
	CU_ASSERT(cstr_is(c.user, "u", 1));
	CU_ASSERT(cstr_is(c.pass, "p", 1));
	CU_ASSERT(cstr_is(c.nkey, "UAB", 3));
	CU_ASSERT(cstr_is(c.sig, "s1", 2));
	CU_ASSERT(cstr_is(c.jwt, "e.y.j", 5));
	CU_ASSERT(cstr_is(c.name, "n", 1));
	CU_ASSERT(cstr_is(c.lang, "c", 1));
	CU_ASSERT(cstr_is(c.version, "3.0", 3));
	CU_ASSERT(cstr_is(c.account, "A", 1));

	/* A later CONNECT keeps what it omits; null is "omitted". */
	CU_ASSERT_EQUAL(connect_str("{\"user\":\"v\",\"verbose\":null,"
				    "\"name\":null,\"protocol\":null}",
				    &c),
			0);
	CU_ASSERT(cstr_is(c.user, "v", 1));
	CU_ASSERT(cstr_is(c.pass, "p", 1));
	CU_ASSERT(cstr_is(c.name, "n", 1));
	CU_ASSERT(!c.verbose && c.protocol == 1);
	proto_connect_fini(&c);
	CU_ASSERT(c.user.s == NULL && c.pass.s == NULL);
	proto_connect_fini(&c);
}

static void test_connect_defaults(void)
{
	struct proto_connect c;

	/* Conformance: CONNECT {} keeps verbose/pedantic/echo true. */
	proto_connect_init(&c);
	CU_ASSERT_EQUAL(connect_str("{}", &c), 0);
	CU_ASSERT(c.verbose && c.pedantic && c.echo && !c.has_verbose);
	CU_ASSERT_EQUAL(connect_str(" \t{ }\r\n ", &c), 0);
	/* null decodes as "no change". */
	CU_ASSERT_EQUAL(connect_str("null", &c), 0);
	CU_ASSERT(c.verbose);
	/* Conformance 3 and 4: the caller judges these values. */
	CU_ASSERT_EQUAL(connect_str("{\"protocol\":2}", &c), 0);
	CU_ASSERT_EQUAL(c.protocol, 2);
	CU_ASSERT_EQUAL(connect_str("{\"protocol\":-1}", &c), 0);
	CU_ASSERT_EQUAL(c.protocol, -1);
	CU_ASSERT_EQUAL(connect_str("{\"protocol\":-0}", &c), 0);
	CU_ASSERT_EQUAL(c.protocol, 0);
	CU_ASSERT_EQUAL(connect_str("{\"no_responders\":true}", &c), 0);
	CU_ASSERT(c.no_responders && !c.headers);
	CU_ASSERT_EQUAL(connect_str("{\"account\":\"\"}", &c), 0);
	CU_ASSERT(cstr_is(c.account, "", 0));
	proto_connect_fini(&c);
}

static void test_connect_types(void)
{
	/* Each closes nats-server 2.9.10 without -ERR. */
	static const char *const bad[] = {
		"",
		"[]",
		"1",
		"true",
		"\"x\"",
		"{} x",
		"{\"verbose\":false}{}",
		"{\"verbose\":false,}",
		"{\"verbose\":\"yes\"}",
		"{\"verbose\":1}",
		"{\"VERBOSE\":0}",
		"{\"echo\":0}",
		"{\"headers\":\"x\"}",
		"{\"tls_required\":\"x\"}",
		"{\"pedantic\":[]}",
		"{\"no_responders\":\"x\"}",
		"{\"new_account\":\"x\"}",
		"{\"name\":5}",
		"{\"sig\":1}",
		"{\"jwt\":1}",
		"{\"nkey\":{}}",
		"{\"auth_token\":1}",
		"{\"user\":true}",
		"{\"pass\":1}",
		"{\"version\":1}",
		"{\"lang\":1}",
		"{\"account\":1}",
		"{\"protocol\":1.5}",
		"{\"protocol\":1.0}",
		"{\"protocol\":1e0}",
		"{\"protocol\":\"1\"}",
		"{\"protocol\":99999999999999999999}",
		"{\"protocol\":1e999}",
		"{\"import\":\"x\"}",
		"{\"import\":{\"allow\":\"x\"}}",
		"{\"import\":{\"allow\":[1]}}",
		"{\"export\":[]}",
		"{\"name\":\"a\001b\"}",
		"{\"verbose\":false}\xff",
		"{\"name\":\"x\",\"name\":6}",
		/* Go checks every duplicate, not only the last. */
		"{\"name\":6,\"name\":\"x\"}",
		"{\"headers\":99999999999999999999,\"headers\":false}",
		"{\"import\":{\"allow\":1,\"allow\":[\"x\"]}}",
		"{\"x\":{\"a\":1,\"a\":2},\"echo\":1}",
	};
	struct proto_connect c;
	size_t i;

	proto_connect_init(&c);
	CU_ASSERT_EQUAL(connect_str("{\"user\":\"keep\"}", &c), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = proto_parse_connect(bad[i], strlen(bad[i]), &c);

		CU_ASSERT_EQUAL(rc, NATSD_EINVAL);
		if (rc != NATSD_EINVAL)
			fprintf(stderr, "\naccepted: %s\n", bad[i]);
	}
	/* A NUL after the object. */
	CU_ASSERT_EQUAL(proto_parse_connect("{\"verbose\":false}\0", 18, &c),
			NATSD_EINVAL);
	/* Nothing was applied. */
	CU_ASSERT(c.verbose && !c.has_verbose);
	CU_ASSERT(cstr_is(c.user, "keep", 4));
	proto_connect_fini(&c);
}

/* What Go's encoding/json accepts and jansson alone would not. */
static void test_connect_go_json(void)
{
	struct proto_connect c;

	proto_connect_init(&c);
	/* Keys match case-insensitively; the last one wins. */
	CU_ASSERT_EQUAL(connect_str("{\"VERBOSE\":false}", &c), 0);
	CU_ASSERT(!c.verbose);
	CU_ASSERT_EQUAL(connect_str("{\"Verbose\":false,\"verbose\":true}", &c),
			0);
	CU_ASSERT(c.verbose);
	CU_ASSERT_EQUAL(connect_str("{\"verbose\":true,\"VERBOSE\":false}", &c),
			0);
	CU_ASSERT(!c.verbose);
	CU_ASSERT_EQUAL(connect_str("{\"verbose\":false,\"verbose\":true}", &c),
			0);
	CU_ASSERT(c.verbose);
	CU_ASSERT_EQUAL(connect_str("{\"verbose\":true,\"VERBOSE\":false,"
				    "\"verbose\":false,\"Verbose\":true}",
				    &c),
			0);
	CU_ASSERT(c.verbose);
	CU_ASSERT_EQUAL(connect_str("{\"verbose\":true,\"VERBOSE\":true,"
				    "\"verbose\":false}",
				    &c),
			0);
	CU_ASSERT(!c.verbose);
	CU_ASSERT_EQUAL(connect_str("{\"name\":\"a\",\"x\":{\"name\":1},"
				    "\"name\":\"b\",\"y\":[{\"name\":2}]}",
				    &c),
			0);
	CU_ASSERT(cstr_is(c.name, "b", 1));
	/* Escaped quotes and braces inside strings are not structure. */
	CU_ASSERT_EQUAL(
		connect_str("{\"x\":\"}\\\",{\",\"name\":\"q\\\"\"}", &c), 0);
	CU_ASSERT(cstr_is(c.name, "q\"", 2));
	CU_ASSERT_EQUAL(connect_str("{\"Tls_Required\":true}", &c), 0);
	CU_ASSERT(c.tls_required);
	/* Escaped keys, and Go's Unicode folds: U+212A is K, U+017F s. */
	CU_ASSERT_EQUAL(connect_str("{\"\\u0076erbose\":false}", &c), 0);
	CU_ASSERT(!c.verbose);
	CU_ASSERT_EQUAL(connect_str("{\"n\\u212aey\":\"UK\"}", &c), 0);
	CU_ASSERT(cstr_is(c.nkey, "UK", 2));
	CU_ASSERT_EQUAL(connect_str("{\"u\xc5\xbf"
				    "er\":\"w\"}",
				    &c),
			0);
	CU_ASSERT(cstr_is(c.user, "w", 1));
	/* Not a match: "tls_required" needs the underscore. */
	CU_ASSERT_EQUAL(connect_str("{\"tlsxrequired\":\"x\"}", &c), 0);
	CU_ASSERT_EQUAL(connect_str("{\"verbose_\":\"x\",\"verbos\":1}", &c),
			0);

	/* Invalid UTF-8 becomes U+FFFD, one per bad byte. */
	CU_ASSERT_EQUAL(connect_str("{\"name\":\"a\xff\xfe"
				    "b\"}",
				    &c),
			0);
	CU_ASSERT(cstr_is(c.name,
			  "a\xef\xbf\xbd\xef\xbf\xbd"
			  "b",
			  8));
	CU_ASSERT_EQUAL(connect_str("{\"name\":\"\xc0\x80\"}", &c), 0);
	CU_ASSERT(cstr_is(c.name, "\xef\xbf\xbd\xef\xbf\xbd", 6));
	CU_ASSERT_EQUAL(connect_str("{\"name\":\"\xed\xa0\x80\"}", &c), 0);
	CU_ASSERT_EQUAL(c.name.len, 9);
	CU_ASSERT_EQUAL(connect_str("{\"name\":\"\xe2\x82\xac\"}", &c), 0);
	CU_ASSERT(cstr_is(c.name, "\xe2\x82\xac", 3));
	CU_ASSERT_EQUAL(connect_str("{\"\xff\":1}", &c), 0);
	/* Lone surrogate escapes too; a valid pair stays. */
	CU_ASSERT_EQUAL(connect_str("{\"name\":\"a\\ud800b\"}", &c), 0);
	CU_ASSERT(cstr_is(c.name,
			  "a\xef\xbf\xbd"
			  "b",
			  5));
	CU_ASSERT_EQUAL(connect_str("{\"name\":\"\\udc00\\ud83d\\ude00\"}", &c),
			0);
	CU_ASSERT(cstr_is(c.name, "\xef\xbf\xbd\xf0\x9f\x98\x80", 7));
	CU_ASSERT_EQUAL(connect_str("{\"name\":\"\\ud83d\\ud83d\\ude00\"}", &c),
			0);
	CU_ASSERT(cstr_is(c.name, "\xef\xbf\xbd\xf0\x9f\x98\x80", 7));
	CU_ASSERT_EQUAL(connect_str("{\"name\":\"\\\\ud800\"}", &c), 0);
	CU_ASSERT(cstr_is(c.name, "\\ud800", 6));
	/* \u0000 is kept: compare with len. */
	CU_ASSERT_EQUAL(connect_str("{\"pass\":\"a\\u0000b\"}", &c), 0);
	CU_ASSERT(cstr_is(c.pass, "a\0b", 3));

	/* Numbers Go only skips in unknown fields. */
	CU_ASSERT_EQUAL(connect_str("{\"x\":1e999,\"y\":-1e999,"
				    "\"z\":99999999999999999999,"
				    "\"w\":[1e400],\"v\":1e-400}",
				    &c),
			0);
	CU_ASSERT_EQUAL(connect_str("{\"protocol\":9223372036854775807}", &c),
			0);
	CU_ASSERT_EQUAL(c.protocol, INT64_MAX);
	CU_ASSERT_EQUAL(connect_str("{\"protocol\":-9223372036854775808}", &c),
			0);
	CU_ASSERT_EQUAL(c.protocol, INT64_MIN);
	CU_ASSERT_EQUAL(connect_str("{\"protocol\":9223372036854775808}", &c),
			NATSD_EINVAL);
	/* Strings that look like numbers are not touched. */
	CU_ASSERT_EQUAL(connect_str("{\"name\":\"1e999\"}", &c), 0);
	CU_ASSERT(cstr_is(c.name, "1e999", 5));

	/* Subject permissions: nulls are fine. */
	CU_ASSERT_EQUAL(connect_str("{\"import\":{\"allow\":[null],"
				    "\"deny\":null,\"other\":1}}",
				    &c),
			0);
	proto_connect_fini(&c);
}

static int fail_after = -1;

static void *failing_malloc(size_t n)
{
	if (fail_after == 0)
		return NULL;
	if (fail_after > 0)
		fail_after--;
	return malloc(n);
}

/* Allocation failures inside jansson: an error, nothing applied, no
 * leak (ASan's leak check runs at exit). */
static void test_connect_nomem(void)
{
	struct proto_connect c;
	int i, rc;

	proto_connect_init(&c);
	json_set_alloc_funcs(failing_malloc, free);
	for (i = 0; i < 50; i++) {
		fail_after = i;
		rc = connect_str("{\"user\":\"a\",\"verbose\":false,"
				 "\"import\":{\"allow\":[\"x\",\"y\"]}}",
				 &c);
		if (rc == 0)
			break;
		CU_ASSERT(c.verbose && c.user.s == NULL);
	}
	fail_after = -1;
	json_set_alloc_funcs(malloc, free);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(cstr_is(c.user, "a", 1));
	proto_connect_fini(&c);
}

static void test_connect_fuzz(void)
{
	static const char alphabet[] = "{}[]\":,\\u0123456789eE.-+ tfnrl"
				       "verbose\xff\xc5";
	struct proto_connect c;
	char tmp[64];
	int i;
	size_t j, n;

	proto_connect_init(&c);
	for (i = 0; i < 20000; i++) {
		n = rng() % sizeof(tmp);
		for (j = 0; j < n; j++)
			tmp[j] = alphabet[rng() % (sizeof(alphabet) - 1)];
		if (n > 0)
			tmp[0] = '{';
		(void)proto_parse_connect(tmp, n, &c);
	}
	proto_connect_fini(&c);
}

static void test_names(void)
{
	CU_ASSERT_STRING_EQUAL(proto_op_name(PROTO_OP_HPUB), "HPUB");
	CU_ASSERT_STRING_EQUAL(proto_op_name(PROTO_OP_ERR), "-ERR");
	CU_ASSERT_STRING_EQUAL(proto_op_name((enum proto_op)0), "?");
	CU_ASSERT_STRING_EQUAL(proto_op_name((enum proto_op)99), "?");
	CU_ASSERT_STRING_EQUAL(proto_err_text(PROTO_E_UNKNOWN_OP),
			       "Unknown Protocol Operation");
	CU_ASSERT_STRING_EQUAL(proto_err_text(PROTO_E_CONTROL_LINE),
			       "maximum control line exceeded");
	CU_ASSERT_STRING_EQUAL(proto_err_text(PROTO_E_MAX_PAYLOAD),
			       "Maximum Payload Violation");
	CU_ASSERT_PTR_NULL(proto_err_text(PROTO_E_PARSE));
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "PUB", test_pub },
		{ "HPUB", test_hpub },
		{ "HPUB without headers", test_hpub_refused },
		{ "SUB and UNSUB", test_sub_unsub },
		{ "PING PONG +OK", test_bare_ops },
		{ "-ERR INFO CONNECT", test_err_info_connect },
		{ "case-insensitive names", test_case_insensitive },
		{ "line ends and blanks", test_line_ends_and_blanks },
		{ "state-machine quirks", test_quirks },
		{ "unknown op vs parse error", test_unknown_vs_parse },
		{ "size fields", test_sizes },
		{ "max_payload", test_max_payload },
		{ "payload framing", test_payload_framing },
		{ "max_control_line", test_control_line },
		{ "conformance", test_conformance },
		{ "split reads", test_split_reads },
		{ "stream in chunks", test_stream },
		{ "fuzz random", test_fuzz_random },
		{ "fuzz mutations", test_fuzz_mutations },
		{ "tokenizer vs reference", test_tokenizer_reference },
		{ "CONNECT fields", test_connect_fields },
		{ "CONNECT defaults", test_connect_defaults },
		{ "CONNECT bad types", test_connect_types },
		{ "CONNECT Go JSON rules", test_connect_go_json },
		{ "CONNECT out of memory", test_connect_nomem },
		{ "CONNECT fuzz", test_connect_fuzz },
		{ "names", test_names },
	};
	static const struct suite suite = {
		"proto", NULL, NULL, tests, SUITE_COUNT(tests),
	};
	int rc;

	rc = suites_run(&suite, 1);
	free(g_buf);
	return rc == 0 ? 0 : 1;
}
