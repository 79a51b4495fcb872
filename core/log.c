/* Logging, in nats-server's line shapes (see log.h).
 *
 * One output at a time, kept in a struct log_sink behind one mutex. The
 * message is formatted before the lock is taken; under it only the prefix
 * (which depends on the output) is built and the line written with one
 * writev()/sendmsg(), so the lock is held for a system call, not for
 * formatting. The levels that are on live in an atomic bit mask, so a
 * disabled trace line costs one load.
 *
 * What nats-server 2.9.10 does and this copies: local time with
 * microseconds, the pid prefix, coloured labels only when stderr is a
 * terminal, a log file opened O_APPEND with mode 0660, size rotation that
 * renames the file to <file>.YYYY.MM.DD.hh.mm.ss.nnnnnnnnn and starts the
 * new one with 'Rotated log, backup saved as "<backup>"', local syslog
 * with facility daemon, and remote syslog lines in Go's log/syslog network
 * form, "<sev>2006-01-02T15:04:05Z07:00 host tag[pid]: msg\n", facility 0. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* program_invocation_short_name */
#endif

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "natsd/error.h"
#include "log.h"

#define LOG_BODY_STACK   2048 /* longer messages are formatted on the heap */
#define LOG_PREFIX_MAX   512  /* remote prefix: host name up to 255 */
#define LOG_CONNECT_SECS 2    /* remote TCP connect and send timeout */

enum log_sink_kind {
	LOG_SINK_STDERR = 1,
	LOG_SINK_FILE,
	LOG_SINK_SYSLOG,
	LOG_SINK_REMOTE,
};

struct log_sink {
	enum log_sink_kind kind;
	int fd; /* stderr, the file or the remote socket */
	bool timestamps;
	bool colors;
	/* LOG_SINK_FILE */
	char *path;
	int64_t size_limit; /* 0 = none */
	int64_t written;    /* bytes in the current file */
	/* LOG_SINK_REMOTE */
	bool local_form; /* unix socket: Go's local line, no host name */
	int family, socktype;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char host[256];
};

static const char *const log_labels[] = {
	[LOG_LEVEL_FATAL] = "FTL", [LOG_LEVEL_ERROR] = "ERR",
	[LOG_LEVEL_WARN] = "WRN",  [LOG_LEVEL_INFO] = "INF",
	[LOG_LEVEL_DEBUG] = "DBG", [LOG_LEVEL_TRACE] = "TRC",
};

static const char *const log_colors[] = {
	[LOG_LEVEL_FATAL] = "31",  [LOG_LEVEL_ERROR] = "31",
	[LOG_LEVEL_WARN] = "0;93", [LOG_LEVEL_INFO] = "32",
	[LOG_LEVEL_DEBUG] = "36",  [LOG_LEVEL_TRACE] = "33",
};

/* nats-server traces at notice and calls fatal "critical". */
static const int log_severity[] = {
	[LOG_LEVEL_FATAL] = LOG_CRIT,   [LOG_LEVEL_ERROR] = LOG_ERR,
	[LOG_LEVEL_WARN] = LOG_WARNING, [LOG_LEVEL_INFO] = LOG_NOTICE,
	[LOG_LEVEL_DEBUG] = LOG_DEBUG,  [LOG_LEVEL_TRACE] = LOG_NOTICE,
};

#define LOG_NLEVELS (LOG_LEVEL_TRACE + 1)
_Static_assert(sizeof(log_labels) / sizeof(log_labels[0]) == LOG_NLEVELS,
	       "a label per level");
_Static_assert(sizeof(log_colors) / sizeof(log_colors[0]) == LOG_NLEVELS,
	       "a colour per level");
_Static_assert(sizeof(log_severity) / sizeof(log_severity[0]) == LOG_NLEVELS,
	       "a severity per level");

#define LOG_MASK_DEFAULT                                                       \
	(1u << LOG_LEVEL_FATAL | 1u << LOG_LEVEL_ERROR |                       \
	 1u << LOG_LEVEL_WARN | 1u << LOG_LEVEL_INFO)

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
_Atomic unsigned int log_mask = LOG_MASK_DEFAULT;
/* Under log_mu: */
static struct log_sink log_cur = {
	.kind = LOG_SINK_STDERR,
	.fd = STDERR_FILENO,
	.timestamps = true,
};
static bool log_started; /* pid and default colours known */
static int log_pid;

/* Called under log_mu before the first line of the default output. */
static void log_start(void)
{
	if (log_started)
		return;
	log_pid = (int)getpid();
	if (log_cur.kind == LOG_SINK_STDERR)
		log_cur.colors = isatty(STDERR_FILENO) == 1;
	log_started = true;
}

/* snprintf that appends at *n and never moves *n past cap - 1. */
__attribute__((format(printf, 4, 5))) static void
log_append(char *b, size_t cap, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (*n >= cap - 1)
		return;
	va_start(ap, fmt);
	r = vsnprintf(b + *n, cap - *n, fmt, ap);
	va_end(ap);
	if (r > 0)
		*n = *n + (size_t)r < cap - 1 ? *n + (size_t)r : cap - 1;
}

/* "[pid] 2006/01/02 15:04:05.000000 [INF] " for stderr and files. */
static size_t log_prefix_line(char *b, size_t cap, const struct log_sink *s,
			      enum log_level lvl, const struct timespec *ts)
{
	struct tm tm;
	size_t n = 0;

	log_append(b, cap, &n, "[%d] ", log_pid);
	if (s->timestamps) {
		localtime_r(&ts->tv_sec, &tm);
		log_append(b, cap, &n, "%04d/%02d/%02d %02d:%02d:%02d.%06ld ",
			   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			   tm.tm_hour, tm.tm_min, tm.tm_sec,
			   ts->tv_nsec / 1000);
	}
	if (s->colors)
		log_append(b, cap, &n, "[\x1b[%sm%s\x1b[0m] ", log_colors[lvl],
			   log_labels[lvl]);
	else
		log_append(b, cap, &n, "[%s] ", log_labels[lvl]);
	return n;
}

/* Go's log/syslog prefix: "<sev>RFC3339 host tag[pid]: " on the network,
 * "<sev>Jan _2 15:04:05 tag[pid]: " on a unix socket. */
static size_t log_prefix_remote(char *b, size_t cap, const struct log_sink *s,
				enum log_level lvl, const struct timespec *ts)
{
	struct tm tm;
	char when[64];
	size_t n = 0;
	long off;

	localtime_r(&ts->tv_sec, &tm);
	if (s->local_form) {
		strftime(when, sizeof(when), "%b %e %H:%M:%S", &tm);
		log_append(b, cap, &n, "<%d>%s %s[%d]: ", log_severity[lvl],
			   when, program_invocation_short_name, log_pid);
		return n;
	}
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	off = tm.tm_gmtoff / 60;
	log_append(b, cap, &n, "<%d>%s", log_severity[lvl], when);
	if (off == 0)
		log_append(b, cap, &n, "Z");
	else
		log_append(b, cap, &n, "%c%02ld:%02ld", off < 0 ? '-' : '+',
			   labs(off) / 60, labs(off) % 60);
	log_append(b, cap, &n, " %s %s[%d]: ", s->host,
		   program_invocation_short_name, log_pid);
	return n;
}

/* Skips the n bytes of iov[0..*cnt) that a short write sent: returns
 * where the rest starts, with *cnt and a partly sent entry adjusted. */
static struct iovec *log_iov_advance(struct iovec *iov, int *cnt, size_t n)
{
	while (*cnt > 0 && n >= iov->iov_len) {
		n -= iov->iov_len;
		iov++;
		(*cnt)--;
	}
	if (*cnt > 0) {
		iov->iov_base = (char *)iov->iov_base + n;
		iov->iov_len -= n;
	}
	return iov;
}

/* Writes all of iov to fd, going on after a short write (rare: a full
 * disk, a pipe). Returns the bytes written or -1. */
static ssize_t log_writev_all(int fd, struct iovec *iov, int cnt)
{
	ssize_t total = 0, n;

	while (cnt > 0) {
		n = writev(fd, iov, cnt);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		total += n;
		iov = log_iov_advance(iov, &cnt, (size_t)n);
	}
	return total;
}

/* As log_writev_all() for a socket: one datagram, or a stream write that
 * does not raise SIGPIPE. */
static ssize_t log_send_all(const struct log_sink *s, struct iovec *iov,
			    int cnt)
{
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };
	ssize_t total = 0, n;

	while (cnt > 0) {
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)cnt;
		n = sendmsg(s->fd, &m, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		total += n;
		if (s->socktype == SOCK_DGRAM)
			return total;
		iov = log_iov_advance(iov, &cnt, (size_t)n);
	}
	return total;
}

/* Appends s quoted as Go's %q does for the plain text of a path. */
static void log_quote(char *b, size_t cap, size_t *np, const char *s)
{
	size_t n = *np;

	log_append(b, cap, &n, "\"");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			log_append(b, cap, &n, "\\%c", c);
		else if (c == '\n')
			log_append(b, cap, &n, "\\n");
		else if (c == '\t')
			log_append(b, cap, &n, "\\t");
		else if (c < 0x20 || c == 0x7f)
			log_append(b, cap, &n, "\\x%02x", c);
		else
			log_append(b, cap, &n, "%c", c);
	}
	log_append(b, cap, &n, "\"");
	*np = n;
}

static int log_open_path(const char *path, int64_t *size)
{
	struct stat st;
	int fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0660);
	if (fd == -1)
		return -errno;
	*size = fstat(fd, &st) == 0 ? (int64_t)st.st_size : 0;
	return fd;
}

/* Under log_mu, after the file passed its size limit: rename it aside,
 * start a new one and say so in it. A failure leaves the old file in
 * use, to be tried again after another size_limit bytes. */
static void log_rotate(struct log_sink *s, const struct timespec *ts)
{
	char bak[4096], pre[LOG_PREFIX_MAX], msg[4200];
	struct iovec iov[2];
	struct tm tm;
	int64_t size;
	ssize_t w;
	size_t n;
	int fd;

	s->written = 0;
	localtime_r(&ts->tv_sec, &tm);
	if (snprintf(bak, sizeof(bak), "%s.%04d.%02d.%02d.%02d.%02d.%02d.%09ld",
		     s->path, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		     tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts->tv_nsec) >= (int)sizeof(bak))
		return;
	if (rename(s->path, bak) == -1)
		return;
	fd = log_open_path(s->path, &size);
	if (fd < 0)
		return;
	close(s->fd);
	s->fd = fd;
	s->written = size;

	n = 0;
	log_append(msg, sizeof(msg), &n, "Rotated log, backup saved as ");
	log_quote(msg, sizeof(msg), &n, bak);
	log_append(msg, sizeof(msg), &n, "\n");
	iov[0].iov_base = pre;
	iov[0].iov_len =
		log_prefix_line(pre, sizeof(pre), s, LOG_LEVEL_INFO, ts);
	iov[1].iov_base = msg;
	iov[1].iov_len = n;
	w = log_writev_all(s->fd, iov, 2);
	if (w > 0)
		s->written += w;
}

/* (Re)connects a remote sink's socket to its saved address. */
static int log_remote_connect(struct log_sink *s)
{
	struct timeval tv = { .tv_sec = LOG_CONNECT_SECS };
	int fd, rc;

	fd = socket(s->family, s->socktype | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	/* Bounds connect() and send() on a stream: a stuck syslog server
	 * must not hold up an I/O thread for long. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&s->addr, s->addrlen) == -1) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = fd;
	return 0;
}

/* Under log_mu: writes one line to the current output. */
static void log_emit(struct log_sink *s, enum log_level lvl,
		     const struct timespec *ts, const char *body, size_t len)
{
	char pre[LOG_PREFIX_MAX];
	struct iovec iov[3];
	int cnt = 2;
	ssize_t w;

	if (s->kind == LOG_SINK_SYSLOG) {
		syslog(log_severity[lvl], "%.*s", (int)len, body);
		return;
	}
	iov[1].iov_base = (void *)body;
	iov[1].iov_len = len;
	/* Like Go's log package: a newline unless the text has one. */
	if (len == 0 || body[len - 1] != '\n') {
		iov[2].iov_base = (void *)"\n";
		iov[2].iov_len = 1;
		cnt = 3;
	}
	iov[0].iov_base = pre;
	if (s->kind == LOG_SINK_REMOTE) {
		struct iovec again[3];

		iov[0].iov_len =
			log_prefix_remote(pre, sizeof(pre), s, lvl, ts);
		memcpy(again, iov, sizeof(iov));
		/* One retry after a failure, reconnecting a stream, as
		 * Go's syslog writer does. */
		if (log_send_all(s, iov, cnt) == -1 &&
		    (s->socktype != SOCK_STREAM || log_remote_connect(s) == 0))
			(void)log_send_all(s, again, cnt);
		return;
	}
	iov[0].iov_len = log_prefix_line(pre, sizeof(pre), s, lvl, ts);
	w = log_writev_all(s->fd, iov, cnt);
	if (s->kind == LOG_SINK_FILE && s->size_limit > 0 && w > 0) {
		s->written += w;
		if (s->written > s->size_limit)
			log_rotate(s, ts);
	}
}

/* Formats into stack (cap bytes), or into a heap buffer when the text is
 * longer (the caller frees it if it is not stack). */
__attribute__((format(printf, 3, 0))) static char *
log_format(char *stack, size_t cap, const char *fmt, va_list ap, size_t *len)
{
	va_list aq;
	char *big;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(stack, cap, fmt, aq);
	va_end(aq);
	if (n < 0) {
		*len = 0;
		return stack;
	}
	if ((size_t)n < cap) {
		*len = (size_t)n;
		return stack;
	}
	big = malloc((size_t)n + 1);
	if (big == NULL) {
		*len = cap - 1; /* truncated rather than lost */
		return stack;
	}
	(void)vsnprintf(big, (size_t)n + 1, fmt, ap);
	*len = (size_t)n;
	return big;
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	char stack[LOG_BODY_STACK];
	struct timespec ts;
	size_t len;
	char *body;

	if (!log_enabled(lvl))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	body = log_format(stack, sizeof(stack), fmt, ap, &len);
	pthread_mutex_lock(&log_mu);
	log_start();
	log_emit(&log_cur, lvl, &ts, body, len);
	pthread_mutex_unlock(&log_mu);
	if (body != stack)
		free(body);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

static int log_open_file(struct log_sink *s, const char *path,
			 int64_t size_limit, char *err, size_t errlen)
{
	int fd = log_open_path(path, &s->written);

	if (fd < 0) {
		snprintf(err, errlen, "error opening file: open %s: %s", path,
			 strerror(-fd));
		return fd;
	}
	s->path = strdup(path);
	if (s->path == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NATSD_ENOMEM;
	}
	s->kind = LOG_SINK_FILE;
	s->fd = fd;
	s->size_limit = size_limit > 0 ? size_limit : 0;
	return 0;
}

/* Splits "host:port", "[v6]:port" or "host" (port 514) in place. */
static int log_split_hostport(char *hp, const char **host, const char **port)
{
	char *colon;

	*port = "514";
	if (hp[0] == '[') {
		char *end = strchr(hp, ']');

		if (end == NULL)
			return NATSD_EINVAL;
		*end = '\0';
		*host = hp + 1;
		if (end[1] == ':')
			*port = end + 2;
		else if (end[1] != '\0')
			return NATSD_EINVAL;
		return 0;
	}
	*host = hp;
	colon = strrchr(hp, ':');
	if (colon != NULL) {
		*colon = '\0';
		*port = colon + 1;
	}
	return **host != '\0' && **port != '\0' ? 0 : NATSD_EINVAL;
}

static int log_open_inet(struct log_sink *s, char *hostport, int socktype,
			 char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = socktype }, *res, *ai;
	const char *host, *port;
	int rc, grc;

	if (log_split_hostport(hostport, &host, &port) != 0) {
		snprintf(err, errlen, "invalid syslog address");
		return NATSD_EINVAL;
	}
	grc = getaddrinfo(host, port, &hints, &res);
	if (grc != 0) {
		snprintf(err, errlen, "error connecting to syslog: %s",
			 gai_strerror(grc));
		return NATSD_ENOENT;
	}
	rc = NATSD_EINVAL;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(s->addr))
			continue;
		s->family = ai->ai_family;
		s->socktype = socktype;
		memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
		s->addrlen = ai->ai_addrlen;
		rc = log_remote_connect(s);
		if (rc == 0)
			break;
	}
	freeaddrinfo(res);
	if (rc != 0)
		snprintf(err, errlen, "error connecting to syslog: %s",
			 strerror(-rc));
	return rc;
}

static int log_open_unix(struct log_sink *s, const char *path, char *err,
			 size_t errlen)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&s->addr;
	int rc;

	if (strlen(path) >= sizeof(un->sun_path)) {
		snprintf(err, errlen, "syslog socket path too long");
		return NATSD_EINVAL;
	}
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, path, strlen(path) + 1);
	s->addrlen = sizeof(*un);
	s->family = AF_UNIX;
	s->local_form = true;
	/* /dev/log is a datagram socket; Go dials "unix" as a stream. */
	s->socktype = SOCK_DGRAM;
	rc = log_remote_connect(s);
	if (rc == -EPROTOTYPE) {
		s->socktype = SOCK_STREAM;
		rc = log_remote_connect(s);
	}
	if (rc != 0)
		snprintf(err, errlen, "error connecting to syslog: %s",
			 strerror(-rc));
	return rc;
}

/* udp://host:port, tcp://host:port or unix:///path. */
static int log_open_remote(struct log_sink *s, const char *url, char *err,
			   size_t errlen)
{
	char *copy, *rest, *slash;
	int rc;

	copy = strdup(url);
	if (copy == NULL) {
		snprintf(err, errlen, "out of memory");
		return NATSD_ENOMEM;
	}
	s->fd = -1;
	s->kind = LOG_SINK_REMOTE;
	if (gethostname(s->host, sizeof(s->host) - 1) == -1)
		snprintf(s->host, sizeof(s->host), "localhost");
	if (strncmp(copy, "unix://", 7) == 0) {
		rc = log_open_unix(s, copy + 7, err, errlen);
	} else if (strncmp(copy, "udp://", 6) == 0 ||
		   strncmp(copy, "tcp://", 6) == 0) {
		rest = copy + 6;
		slash = strchr(rest, '/');
		if (slash != NULL)
			*slash = '\0';
		rc = log_open_inet(s, rest,
				   copy[0] == 'u' ? SOCK_DGRAM : SOCK_STREAM,
				   err, errlen);
	} else {
		snprintf(err, errlen, "error invalid network type: \"%s\"",
			 url);
		rc = NATSD_EINVAL;
	}
	free(copy);
	return rc;
}

static void log_sink_release(struct log_sink *s)
{
	if ((s->kind == LOG_SINK_FILE || s->kind == LOG_SINK_REMOTE) &&
	    s->fd >= 0)
		close(s->fd);
	free(s->path);
	s->path = NULL;
	s->fd = -1;
}

int log_configure(const struct log_opts *o, char *err, size_t errlen)
{
	struct log_sink ns = { .fd = -1 }, old;
	unsigned int mask = LOG_MASK_DEFAULT;
	char dummy[1];
	int rc = 0;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	ns.timestamps = o->timestamps;
	/* nats-server's order: a file, else remote, else local syslog. */
	if (o->file != NULL && o->file[0] != '\0') {
		rc = log_open_file(&ns, o->file, o->size_limit, err, errlen);
	} else if (o->remote_syslog != NULL && o->remote_syslog[0] != '\0') {
		rc = log_open_remote(&ns, o->remote_syslog, err, errlen);
	} else if (o->syslog) {
		ns.kind = LOG_SINK_SYSLOG;
	} else {
		ns.kind = LOG_SINK_STDERR;
		ns.fd = STDERR_FILENO;
		ns.colors = isatty(STDERR_FILENO) == 1;
	}
	if (rc != 0) {
		log_sink_release(&ns);
		return rc;
	}
	if (o->debug)
		mask |= 1u << LOG_LEVEL_DEBUG;
	if (o->trace)
		mask |= 1u << LOG_LEVEL_TRACE;

	pthread_mutex_lock(&log_mu);
	old = log_cur;
	if (old.kind == LOG_SINK_SYSLOG && ns.kind != LOG_SINK_SYSLOG)
		closelog();
	if (ns.kind == LOG_SINK_SYSLOG && old.kind != LOG_SINK_SYSLOG)
		openlog(program_invocation_short_name, LOG_PID, LOG_DAEMON);
	log_cur = ns;
	log_pid = (int)getpid();
	log_started = true;
	atomic_store_explicit(&log_mask, mask, memory_order_relaxed);
	pthread_mutex_unlock(&log_mu);
	log_sink_release(&old);
	return 0;
}

int log_reopen(void)
{
	int64_t size;
	int fd, old;

	pthread_mutex_lock(&log_mu);
	if (log_cur.kind != LOG_SINK_FILE) {
		pthread_mutex_unlock(&log_mu);
		log_info("File log re-open ignored, not a file logger");
		return 0;
	}
	fd = log_open_path(log_cur.path, &size);
	if (fd < 0) {
		pthread_mutex_unlock(&log_mu);
		log_error("File log re-open failed: %s", strerror(-fd));
		return fd;
	}
	old = log_cur.fd;
	log_cur.fd = fd;
	log_cur.written = size;
	pthread_mutex_unlock(&log_mu);
	close(old);
	log_info("File log re-opened");
	return 0;
}
