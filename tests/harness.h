/*
 * Test harness shared by the integration and compat test programs: starts
 * natsd or nats-server on a free loopback port, stops it again, and talks
 * to it over raw TCP sockets with bounded reads.
 *
 * Every wait in here has a deadline, every process started is reaped, and
 * SIGPIPE is ignored from the first harness_start() or harness_connect()
 * on (writes to a closed peer fail with EPIPE instead of killing the test).
 *
 * Environment:
 *   NATSD_BIN        natsd binary, default "./natsd". May carry a command
 *                    prefix split at spaces ("valgrind -q ./natsd"); the
 *                    last word must exec the server in the same process.
 *   NATS_SERVER_BIN  nats-server binary, default "nats-server" from PATH.
 *   NATSD_TEST_SERVER  what harness_kind() returns: "natsd" (default) or
 *                    "nats-server".
 *   NATSD_TEST_KEEP  when set to a non-empty value, harness_stop() leaves
 *                    the config and log files in place (their paths are
 *                    printed on stderr).
 *   TMPDIR           where the config and log files go (default /tmp).
 */
#ifndef NATSD_TESTS_HARNESS_H
#define NATSD_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hserver {
	pid_t pid;       /* 0 when not running */
	int port;        /* client port on 127.0.0.1 */
	char *conf_path; /* temp config file, NULL if none */
	char *log_path;  /* temp file holding stdout and stderr */
};

/* Binds 127.0.0.1:0, reads the port the kernel chose, closes the socket.
 * Returns the port, or -1. */
int harness_free_port(void);

/*
 * Starts a server of kind "natsd" or "nats-server" with
 * `-a 127.0.0.1 -p <free port>`, then `-c <file>` if conf is not NULL
 * (conf is written verbatim to a temp file: libconfig syntax for natsd,
 * nats-server syntax for nats-server), then the NULL-terminated args
 * (args may be NULL). stdout and stderr go to a temp log file.
 *
 * Returns 0 once the port accepts a TCP connection and the server sent its
 * INFO line (at most 10 s), with *s filled in. The probe connection is
 * closed before returning; the server may take a moment to notice, so a
 * test of max_connections should allow for it. A server that exits while
 * starting (for example because another process took the port) is retried
 * on a new port, twice. Returns -1 with a message on stderr, including the
 * tail of the log, on failure; *s is then left with pid 0.
 */
int harness_start(struct hserver *s, const char *kind, const char *conf,
		  const char *const *args);

/* As harness_start(), on a given port (restart tests); no retries. */
int harness_start_port(struct hserver *s, const char *kind, int port,
		       const char *conf, const char *const *args);

/*
 * Sends SIGTERM, waits up to 5 s, then SIGKILL; reaps the process and
 * removes the temp files. Returns the exit code (0-255) if the process
 * exited, 128 + signal number if a signal ended it, -1 if *s had no
 * process. nats-server exits with 1 on SIGTERM. Safe to call twice.
 */
int harness_stop(struct hserver *s);

/* SIGKILL and reap; the temp files stay until harness_stop(). */
void harness_kill(struct hserver *s);

/*
 * Returns the server's log (at most its last 64 KiB), read from the log
 * file at each call, NUL-terminated. The buffer is static and thread-local:
 * it is overwritten by the next call in the same thread. Returns "" when
 * there is no log.
 */
const char *harness_log(struct hserver *s);

/* Connects a blocking TCP socket to 127.0.0.1:port (SO_RCVTIMEO and
 * SO_SNDTIMEO 5 s, close-on-exec). Returns the fd, or -1. */
int harness_connect(int port);

/* Writes all len bytes (EINTR handled, no SIGPIPE). Returns 0 or -1. */
int harness_send(int fd, const void *buf, size_t len);
int harness_sendstr(int fd, const char *s);

/*
 * Reads into buf until what was read contains `until` (NULL: never; "":
 * any data at all), the peer closes, cap - 1 bytes were read, or
 * timeout_ms pass. buf is always NUL-terminated (cap must be >= 1); the
 * data may itself contain NULs.
 * Returns the number of bytes read (0 or more), or -1 on a socket error
 * other than a reset. *eof (may be NULL) is set to whether the peer closed
 * the connection (EOF or reset).
 */
ssize_t harness_read_until(int fd, char *buf, size_t cap, const char *until,
			   int timeout_ms, bool *eof);

/* Reads whatever arrives within timeout_ms (waits the whole time unless
 * the peer closes or buf fills). Same returns as harness_read_until(). */
ssize_t harness_read_for(int fd, char *buf, size_t cap, int timeout_ms,
			 bool *eof);

/* Whether the peer closes the connection (EOF or reset) within
 * timeout_ms. Data that arrives meanwhile is read and discarded. */
bool harness_is_closed(int fd, int timeout_ms);

/* Milliseconds on the monotonic clock, for deadlines. */
long long harness_now_ms(void);

/* Sleeps ms milliseconds, the whole time even when a signal comes. */
void harness_sleep_ms(int ms);

/* The server integration tests should run against: env NATSD_TEST_SERVER,
 * "nats-server" if it says so, otherwise "natsd". */
const char *harness_kind(void);

#endif /* NATSD_TESTS_HARNESS_H */
