/*
 * Helpers for the integration test programs (tests/integration/), on top
 * of harness.h: the watchdog every program arms, the server checks they
 * share, raw-socket and libnats clients of a test server, and the
 * counters and error logs that client callbacks fill. suites.h, included
 * here, runs their CUnit suites.
 *
 * Every wait in here is bounded; the programs' own test logic stays in the
 * programs.
 */
#ifndef NATSD_TESTS_ITEST_H
#define NATSD_TESTS_ITEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <nats/nats.h>

#include "harness.h"
#include "suites.h"

/* Upper bound for anything that should work: a connect, an INFO, a
 * flush, an answer. */
#define ITEST_WAIT_MS 2000

/* ------------------------------------------------------------------ */
/* The program                                                         */

/*
 * Ignores SIGPIPE and arms a watchdog: if the program still runs after
 * seconds, every watched process is SIGKILLed, "<prog>: watchdog expired"
 * is printed and the program exits with 1. pid (may be NULL) is watched,
 * as by itest_watch_pid().
 */
void itest_init(const char *prog, unsigned int seconds, pid_t *pid);

/* Adds a process to those the watchdog kills: the one *pid names when it
 * fires, if > 0 (a struct hserver's pid, say). At most 4. */
void itest_watch_pid(pid_t *pid);

/* ------------------------------------------------------------------ */
/* Servers                                                             */

/* Whether harness_kind() is natsd (else nats-server). */
bool itest_is_natsd(void);

/* harness_start() of harness_kind(); says so on stderr (with conf) when
 * it fails. Returns 0 or -1. */
int itest_start(struct hserver *s, const char *conf, const char *const *args);

/* Stops the server with SIGTERM and tells whether it exited as it should
 * (1, as both servers exit on SIGTERM, or 0 when it had stopped by
 * itself) with a log free of
 * sanitizer reports, leak reports at exit included; then harness_stop()
 * removes its files. */
bool itest_stop(struct hserver *s);

/* Whether the server's log so far is free of sanitizer reports; prints
 * the log when it is not. */
bool itest_log_clean(struct hserver *s);

/* Waits until the server's log contains text; says so on stderr when it
 * does not within timeout_ms. */
bool itest_log_wait(struct hserver *s, const char *text, int timeout_ms);

/* Non-overlapping occurrences of needle in hay. */
int itest_count(const char *hay, const char *needle);

/* CLOCK_MONOTONIC in milliseconds. */
long long itest_mono_ms(void);

/* ------------------------------------------------------------------ */
/* Raw-socket clients                                                  */

/* Reads the INFO line a server sends first (within ITEST_WAIT_MS) and,
 * when info is not NULL, copies it there. Returns 0, or -1 when no INFO
 * line came. */
int itest_read_info(int fd, char *info, size_t cap);

/* harness_connect() to port, then itest_read_info(). Returns the socket,
 * or -1. */
int itest_raw_connect(int port, char *info, size_t cap);

/* Sends "CONNECT <json>\r\n<extra>PING\r\n" in one write and waits for
 * the PONG. Returns 0, or -1 when none came. */
int itest_raw_handshake(int fd, const char *json, const char *extra);

/* itest_raw_connect() and itest_raw_handshake(): a raw client that has
 * sent extra and had it processed. Returns the socket, or -1. */
int itest_raw_open(int port, const char *json, const char *extra);

/* ------------------------------------------------------------------ */
/* libnats clients                                                     */

/* Options for a client of 127.0.0.1:port: connect timeout ITEST_WAIT_MS,
 * no reconnect. NULL on failure. */
natsOptions *itest_opts(int port);

/*
 * Connects with o, then destroys it. setup is the status of the caller's
 * own settings on o: unless it is NATS_OK, no connect is tried. Returns the
 * connection, or NULL with the status in *st; when st is NULL, a failure
 * is printed on stderr instead.
 */
natsConnection *itest_connect(natsOptions *o, natsStatus setup, natsStatus *st);

/* A plain client of 127.0.0.1:port: itest_connect(itest_opts(port),
 * NATS_OK, NULL). */
natsConnection *itest_client(int port);

/* Whether a subscription on nc gets what nc publishes on subject. */
bool itest_conn_usable(natsConnection *nc, const char *subject);

/* ------------------------------------------------------------------ */
/* What client callbacks saw                                           */

/* A counter that callbacks bump and the test thread reads or waits on. */
struct itest_tally {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long n;
};

void itest_tally_init(struct itest_tally *t);
void itest_tally_fini(struct itest_tally *t);
void itest_tally_add(struct itest_tally *t, long k);
long itest_tally_get(struct itest_tally *t);
/* Waits until the count reaches target or timeout_ms pass; returns it. */
long itest_tally_wait(struct itest_tally *t, long target, int timeout_ms);

/* Errors a client library reported asynchronously, with the server's
 * text for each, all kept so that a later one cannot hide an earlier. */
struct itest_errlog {
	pthread_mutex_t mu;
	int n;
	natsStatus last;
	char text[4096];
};

void itest_errlog_init(struct itest_errlog *e);
void itest_errlog_fini(struct itest_errlog *e);
/* Makes the clients of o report their asynchronous errors to e. */
natsStatus itest_errlog_attach(natsOptions *o, struct itest_errlog *e);
/* Waits until an error whose text contains want was reported; says what
 * there was on stderr when none was within timeout_ms. */
bool itest_errlog_wait(struct itest_errlog *e, const char *want,
		       int timeout_ms);
int itest_errlog_count(struct itest_errlog *e);

#endif /* NATSD_TESTS_ITEST_H */
