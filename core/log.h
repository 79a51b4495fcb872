/* Logging, in nats-server's line shapes.
 *
 *   [1234] 2006/01/02 15:04:05.000000 [INF] message      (timestamps on)
 *   [1234] [INF] message                                  (timestamps off)
 *
 * Labels FTL ERR WRN INF DBG TRC; on a terminal the label is coloured as
 * nats-server does. Output goes to one place, chosen as nats-server
 * chooses: a file if one is set, else remote syslog, else local syslog,
 * else stderr. Before log_configure() everything from INF up goes to
 * stderr with timestamps.
 *
 * Every function may be called from any thread. A line is written with a
 * single writev() (or one datagram), so lines of different threads never
 * mix. Not async-signal-safe: signal handlers should only note the signal.
 * Writing to a closed pipe raises SIGPIPE; the server ignores it. */
#ifndef NATSD_LOG_H
#define NATSD_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_FATAL = 0,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_TRACE,
};

struct log_opts {
	const char *file;          /* NULL or "": not a file */
	bool timestamps;           /* -T, on by default in nats-server */
	bool debug;                /* -D: DBG lines */
	bool trace;                /* -V: TRC lines (independent of debug) */
	bool syslog;               /* -s: syslog(3), facility daemon */
	const char *remote_syslog; /* -r: udp://h:p, tcp://h:p, unix:///p */
	int64_t size_limit; /* bytes; rotate the file past it; <= 0 none */
};

/* Sets (or, on reload, replaces) where and what is logged. The new output
 * is opened before the old one is closed: on failure (a file that cannot
 * be opened, a bad or unreachable remote_syslog) logging goes on as before
 * and a negative NATSD_E* code is returned, with the reason in err. */
int log_configure(const struct log_opts *o, char *err, size_t errlen);

/* SIGUSR1: opens the log file again (after an external rotation) and logs
 * "File log re-opened", or logs why it did nothing. Returns 0 or the
 * negative NATSD_E* code of a failed open (the old file stays in use). */
int log_reopen(void);

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Whether lines of lvl are written now: one atomic load, for guarding the
 * formatting of trace lines on hot paths. */
/* Inline: tracing checks it for every operation. */
extern _Atomic unsigned int log_mask;
static inline bool log_enabled(enum log_level lvl)
{
	unsigned int l = (unsigned int)lvl;

	return l < 32 &&
	       (atomic_load_explicit(&log_mask, memory_order_relaxed) >> l & 1);
}

/* FTL only logs (nats-server's Fatalf also exits): the caller exits. */
#define log_fatal(...) log_msg(LOG_LEVEL_FATAL, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_trace(...) log_msg(LOG_LEVEL_TRACE, __VA_ARGS__)

#endif
