#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Bad input over raw sockets: whatever one client sends, the server answers
 * it as nats-server does and keeps serving everyone else. Each test ends by
 * checking that a fresh client still gets a PONG and a message round trip,
 * and the log is checked for sanitizer reports when the server stops.
 */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "itest.h"

#define WAIT_MS	   ITEST_WAIT_MS
#define WATCHDOG_S 60

static struct hserver srv;

/* Connects and reads INFO; returns the fd or -1. */
static int raw_client(void)
{
	return itest_raw_connect(srv.port, NULL, 0);
}

/* A new client that has sent CONNECT (verbose off) and then more;
 * returns its fd. */
static int client_sending(const char *more)
{
	char buf[256];
	int fd = raw_client();
	int n;

	CU_ASSERT_FATAL(fd >= 0);
	n = snprintf(buf, sizeof(buf), "CONNECT {\"verbose\":false}\r\n%s",
		     more);
	if (n < 0 || (size_t)n >= sizeof(buf))
		abort(); /* a test's text too long for buf */
	harness_sendstr(fd, buf);
	return fd;
}

/* The server still works: a new client subscribes, publishes to itself
 * and gets the message and a PONG. */
static void assert_serving(void)
{
	char buf[4096];
	bool eof = false;
	int fd = client_sending("SUB ok 1\r\nPUB ok 2\r\nhi\r\nPING\r\n");

	harness_read_until(fd, buf, sizeof(buf), "PONG\r\n", WAIT_MS, &eof);
	CU_ASSERT_STRING_EQUAL(buf, "MSG ok 1 2\r\nhi\r\nPONG\r\n");
	close(fd);
}

static int start_default(void)
{
	return itest_start(&srv, NULL, NULL);
}

static void stop_server(void)
{
	CU_ASSERT(itest_stop(&srv));
}

/* fd reads want (up to and with until), then the server closes it. */
static void expect_reply_then_close(int fd, const char *until, const char *want)
{
	char buf[4096];
	bool eof = false;

	harness_read_until(fd, buf, sizeof(buf), until, WAIT_MS, &eof);
	CU_ASSERT_STRING_EQUAL(buf, want);
	CU_ASSERT(harness_is_closed(fd, WAIT_MS));
	close(fd);
}

/* Writes "PUB subj size\r\n", size bytes of fill and CRLF into buf of
 * cap bytes (which must hold them); returns the frame's length. */
static size_t pub_frame(char *buf, size_t cap, const char *subj, size_t size,
			char fill)
{
	int n = snprintf(buf, cap, "PUB %s %zu\r\n", subj, size);

	if (n < 0 || (size_t)n + size + 2 > cap)
		abort();
	memset(buf + n, fill, size);
	memcpy(buf + n + size, "\r\n", 2);
	return (size_t)n + size + 2;
}

/* A client that half-closes after its requests still gets its answers,
 * then the server closes it. */
static void test_half_closed(void)
{
	int fd;

	CU_ASSERT_FATAL(start_default() == 0);
	fd = client_sending("SUB a 1\r\nPUB a 2\r\nhi\r\nPING\r\n");
	shutdown(fd, SHUT_WR);
	expect_reply_then_close(fd, "PONG\r\n", "MSG a 1 2\r\nhi\r\nPONG\r\n");
	assert_serving();
	stop_server();
}

/* Random bytes: the client is dropped, the others are not. */
static void test_garbage(void)
{
	unsigned char junk[8192];
	unsigned int seed = 12345;
	size_t i;
	int fd, k;

	CU_ASSERT_FATAL(start_default() == 0);
	for (k = 0; k < 20; k++) {
		fd = raw_client();
		CU_ASSERT_FATAL(fd >= 0);
		for (i = 0; i < sizeof(junk); i++)
			junk[i] = (unsigned char)(rand_r(&seed) & 0xff);
		harness_send(fd, junk, sizeof(junk));
		CU_ASSERT(harness_is_closed(fd, WAIT_MS));
		close(fd);
	}
	assert_serving();
	stop_server();
}

/* A control line that never ends is cut at max_control_line, even in
 * pieces. */
static void test_endless_line(void)
{
	char chunk[1024];
	int fd, i;

	CU_ASSERT_FATAL(start_default() == 0);
	fd = client_sending("SUB ");
	memset(chunk, 'x', sizeof(chunk));
	for (i = 0; i < 8; i++)
		harness_send(fd, chunk, sizeof(chunk));
	expect_reply_then_close(fd, "\r\n",
				"-ERR 'maximum control line exceeded'\r\n");
	assert_serving();
	stop_server();
}

/* Text after PING is ignored, but a line that never ends is not kept
 * without end: natsd closes the client past 1 MiB (nats-server reads and
 * drops it). */
static void test_endless_ping(void)
{
	char chunk[65536];
	int fd, i;

	if (!itest_is_natsd())
		return;
	CU_ASSERT_FATAL(start_default() == 0);
	fd = client_sending("PING ");
	memset(chunk, ' ', sizeof(chunk));
	for (i = 0; i < 24; i++)
		if (harness_send(fd, chunk, sizeof(chunk)) != 0)
			break;
	CU_ASSERT(harness_is_closed(fd, WAIT_MS));
	close(fd);
	assert_serving();
	stop_server();
}

/* A payload larger than max_payload is refused on its control line,
 * before any of it is buffered. */
static void test_oversize_payload(void)
{
	int fd;

	CU_ASSERT_FATAL(start_default() == 0);
	fd = client_sending("PUB big 104857600\r\n");
	expect_reply_then_close(fd, "\r\n",
				"-ERR 'Maximum Payload Violation'\r\n");
	assert_serving();
	stop_server();
}

/* More connections than max_connections: the extra ones get INFO, the
 * -ERR and are closed; those admitted keep working, and a slot freed is
 * usable again. */
static void test_connection_flood(void)
{
	static const char natsd_conf[] = "max_connections = 10;\n";
	static const char nats_conf[] = "max_connections: 10\n";
	int fds[60], i, admitted = 0, refused = 0;
	char buf[4096];
	bool eof;

	CU_ASSERT_FATAL(itest_start(&srv,
				    itest_is_natsd() ? natsd_conf : nats_conf,
				    NULL) == 0);
	/* Let the harness's readiness probe go away first. */
	usleep(200000);
	for (i = 0; i < 60; i++) {
		fds[i] = harness_connect(srv.port);
		CU_ASSERT_FATAL(fds[i] >= 0);
		harness_sendstr(fds[i], "CONNECT {\"verbose\":false}\r\nPING\r\n");
	}
	/* INFO and the answer may come in one read: look at all of it. */
	for (i = 0; i < 60; i++) {
		eof = false;
		harness_read_until(fds[i], buf, sizeof(buf), "PONG\r\n",
				   WAIT_MS, &eof);
		if (strstr(buf, "PONG\r\n") != NULL) {
			admitted++;
		} else {
			CU_ASSERT_PTR_NOT_NULL(strstr(
				buf, "\r\n-ERR 'maximum connections exceeded'"
				     "\r\n"));
			CU_ASSERT(eof || harness_is_closed(fds[i], WAIT_MS));
			refused++;
			close(fds[i]);
			fds[i] = -1;
		}
	}
	CU_ASSERT_EQUAL(admitted, 10);
	CU_ASSERT_EQUAL(refused, 50);
	for (i = 0; i < 60; i++) {
		if (fds[i] < 0)
			continue;
		eof = false;
		harness_sendstr(fds[i], "PING\r\n");
		harness_read_until(fds[i], buf, sizeof(buf), "\r\n", WAIT_MS,
				   &eof);
		CU_ASSERT_STRING_EQUAL(buf, "PONG\r\n");
	}
	/* Free one slot: a new client gets in. */
	for (i = 0; i < 60 && fds[i] < 0; i++)
		;
	close(fds[i]);
	fds[i] = -1;
	usleep(200000);
	assert_serving();
	for (i = 0; i < 60; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	stop_server();
}

/* Clients that vanish with a reset while messages flow to them. */
static void test_reset_while_receiving(void)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char payload[1024 + 64];
	int subs[10], pub, i, k;
	size_t len;

	CU_ASSERT_FATAL(start_default() == 0);
	for (i = 0; i < 10; i++)
		subs[i] = client_sending("SUB flow 1\r\n");
	pub = client_sending("");
	len = pub_frame(payload, sizeof(payload), "flow", 1024, 'p');
	for (k = 0; k < 200; k++) {
		harness_send(pub, payload, len);
		if (k % 20 == 0 && k / 20 < 10) {
			i = k / 20;
			setsockopt(subs[i], SOL_SOCKET, SO_LINGER, &lg,
				   sizeof(lg));
			close(subs[i]);
		}
	}
	close(pub);
	assert_serving();
	stop_server();
}

/* A subscriber that stops reading is cut off once a write has waited
 * write_deadline, while its queue is still far below max_pending; the
 * publisher is not held up. */
static void test_write_deadline(void)
{
	static const char natsd_conf[] = "write_deadline = \"1s\";\n";
	static const char nats_conf[] = "write_deadline: \"1s\"\n";
	int rcvbuf = 65536, sub, pub, k;
	size_t len;
	char payload[4096 + 64], buf[256];
	bool eof = false;

	CU_ASSERT_FATAL(itest_start(&srv,
				    itest_is_natsd() ? natsd_conf : nats_conf,
				    NULL) == 0);
	sub = raw_client();
	CU_ASSERT_FATAL(sub >= 0);
	setsockopt(sub, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	harness_sendstr(sub, "CONNECT {\"verbose\":false}\r\nSUB slow 1\r\n"
			     "PING\r\n");
	harness_read_until(sub, buf, sizeof(buf), "PONG\r\n", WAIT_MS, &eof);
	pub = client_sending("");
	len = pub_frame(payload, sizeof(payload), "slow", 4096, 'w');
	/* 16 MiB: far more than the socket buffers hold. */
	for (k = 0; k < 4096; k++)
		harness_send(pub, payload, len);
	/* Reading would unblock the server: wait first, then look. */
	sleep(3);
	CU_ASSERT(harness_is_closed(sub, 3000));
	close(sub);
	/* natsd never stalls a publisher for a slow subscriber (nats-server
	 * slows fast producers down instead, so this is natsd's own). */
	if (itest_is_natsd()) {
		harness_sendstr(pub, "PING\r\n");
		eof = false;
		harness_read_until(pub, buf, sizeof(buf), "PONG\r\n", WAIT_MS,
				   &eof);
		CU_ASSERT_STRING_EQUAL(buf, "PONG\r\n");
	}
	close(pub);
	stop_server();
}

/* natsd's own --io_threads: one thread, and more than it runs (capped
 * with a warning, not a failed start). */
static void test_io_threads(void)
{
	static const char *const one[] = { "--io_threads", "1", NULL };
	static const char *const many[] = { "--io_threads", "200", NULL };

	if (!itest_is_natsd())
		return; /* not a nats-server flag */
	CU_ASSERT_FATAL(harness_start(&srv, "natsd", NULL, one) == 0);
	assert_serving();
	stop_server();
	CU_ASSERT_FATAL(harness_start(&srv, "natsd", NULL, many) == 0);
	assert_serving();
	CU_ASSERT_PTR_NOT_NULL(strstr(harness_log(&srv), "io_threads 200"));
	stop_server();
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "half-closed client", test_half_closed },
		{ "garbage bytes", test_garbage },
		{ "endless control line", test_endless_line },
		{ "oversize payload", test_oversize_payload },
		{ "endless PING line", test_endless_ping },
		{ "connection flood", test_connection_flood },
		{ "reset while receiving", test_reset_while_receiving },
		{ "write deadline", test_write_deadline },
		{ "io threads", test_io_threads },
	};
	static const struct suite suite = {
		"badinput", NULL, NULL, tests, SUITE_COUNT(tests),
	};

	itest_init("badinput_test", WATCHDOG_S, &srv.pid);
	return suites_run(&suite, 1) == 0 ? 0 : 1;
}
