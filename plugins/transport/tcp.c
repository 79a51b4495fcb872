/* The tcp transport: the bottom of every connection's stream.
 *
 * It owns the socket and nothing else, so its stream context is the file
 * descriptor itself, carried in the pointer value (see tcp_box()). A boxed
 * fd would cost a malloc of 4 bytes, which glibc rounds up to a 32-byte
 * chunk, per connection, and a pointer chase on every read and write;
 * idle connections are where a NATS server spends its memory, so the tcp
 * layer adds none.
 *
 * Settings, in the plugin's section (defaults for every listener and dial)
 * and in a listener's transport section (overrides for that listener):
 *   keepalive           bool      TCP keepalive probes (default true)
 *   keepalive_idle      duration  idle time before the first probe (15s)
 *   keepalive_interval  duration  time between probes (15s)
 *   keepalive_count     int       unanswered probes before reset (9)
 * 15s is what Go's net package uses when keepalive is on, and 9 is the
 * Linux default count. Note that nats-server 2.9 itself turns TCP
 * keepalive off on its NATS listeners and relies on PING/PONG: set
 * keepalive = false to match it exactly.
 *
 * Names are resolved with getaddrinfo(), which may block on DNS: listen()
 * runs at start-up, and callers of dial() that care pass numeric
 * addresses. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4() */
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <natsd/plugin.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define TCP_NS_PER_S             1000000000LL
#define TCP_KEEPALIVE_IDLE_S     15
#define TCP_KEEPALIVE_INTERVAL_S 15
#define TCP_KEEPALIVE_COUNT      9
/* Kernel limits for TCP_KEEPIDLE/TCP_KEEPINTVL and TCP_KEEPCNT. */
#define TCP_KEEPALIVE_MAX_S     32767
#define TCP_KEEPALIVE_MAX_COUNT 127
/* Retries of a call that failed for a reason that is not the socket's:
 * EINTR, or an accept() whose connection died while queued. */
#define TCP_RETRIES 8

struct tcp_keepalive {
	bool on;
	int idle_s;
	int interval_s;
	int count;
};

struct tcp_plugin {
	struct natsd_host *h;
	const struct natsd_host_api *api;
	struct tcp_keepalive ka; /* from the plugin's own section */
};

struct tcp_listener {
	int fd;
	int port;
	struct tcp_keepalive ka; /* applied to every accepted socket */
};

/* The stream context is fd + 1 stored in the pointer, so that it is never
 * NULL (a host may reasonably read NULL as "no context"). */
static void *tcp_box(int fd)
{
	return (void *)((uintptr_t)(unsigned int)fd + 1u);
}

static int tcp_fd(void *sctx)
{
	return (int)((uintptr_t)sctx - 1u);
}

/* ------------------------------------------------------------------ */
/* Settings                                                            */

/* Writes "<file>:<line>: tcp: <key> <what>" (without the location when the
 * host cannot tell) and returns NATSD_EINVAL. */
static int tcp_cfg_err(const struct natsd_host_api *api,
		       const struct natsd_cfg *cfg, const char *key,
		       const char *what, char *err, size_t errlen)
{
	const char *file = NULL;
	int line = 0;

	if (api->cfg_where != NULL &&
	    api->cfg_where(cfg, key, &file, &line) == 0 && file != NULL)
		snprintf(err, errlen, "%s:%d: tcp: %s %s", file, line, key,
			 what);
	else
		snprintf(err, errlen, "tcp: %s %s", key, what);
	return NATSD_EINVAL;
}

/* Reads a keepalive duration in whole seconds (rounded up) into *s,
 * leaving it alone when the key is absent. */
static int tcp_cfg_seconds(const struct natsd_host_api *api,
			   const struct natsd_cfg *cfg, const char *key, int *s,
			   char *err, size_t errlen)
{
	int64_t ns;
	int rc;

	rc = api->cfg_duration(cfg, key, &ns);
	if (rc == NATSD_ENOENT)
		return 0;
	if (rc != 0 || ns < TCP_NS_PER_S ||
	    ns > TCP_KEEPALIVE_MAX_S * TCP_NS_PER_S)
		return tcp_cfg_err(api, cfg, key,
				   "must be a duration from 1s to 32767s", err,
				   errlen);
	*s = (int)((ns + TCP_NS_PER_S - 1) / TCP_NS_PER_S);
	return 0;
}

/* Overrides *ka with what section cfg (may be NULL) says. 0, or
 * NATSD_EINVAL with a line in err; *ka may then be partly changed. */
static int tcp_read_keepalive(const struct natsd_host_api *api,
			      const struct natsd_cfg *cfg,
			      struct tcp_keepalive *ka, char *err,
			      size_t errlen)
{
	int64_t count;
	bool on;
	int rc;

	if (cfg == NULL)
		return 0;
	rc = api->cfg_bool(cfg, "keepalive", &on);
	if (rc == 0)
		ka->on = on;
	else if (rc != NATSD_ENOENT)
		return tcp_cfg_err(api, cfg, "keepalive",
				   "must be true or false", err, errlen);
	rc = tcp_cfg_seconds(api, cfg, "keepalive_idle", &ka->idle_s, err,
			     errlen);
	if (rc == 0)
		rc = tcp_cfg_seconds(api, cfg, "keepalive_interval",
				     &ka->interval_s, err, errlen);
	if (rc != 0)
		return rc;
	rc = api->cfg_int(cfg, "keepalive_count", &count);
	if (rc == 0 && count >= 1 && count <= TCP_KEEPALIVE_MAX_COUNT)
		ka->count = (int)count;
	else if (rc != NATSD_ENOENT)
		return tcp_cfg_err(api, cfg, "keepalive_count",
				   "must be a number from 1 to 127", err,
				   errlen);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Sockets                                                             */

static void tcp_setopt(int fd, int level, int name, int value)
{
	/* Failures are ignored, as Go does: the kernel refuses these only
	 * for a socket that is already dead, and the next read says so. */
	(void)setsockopt(fd, level, name, &value, sizeof(value));
}

/* Options every connection gets, accepted or dialed. Messages are small
 * and latency matters more than packet count, so Nagle is off. */
static void tcp_conn_setup(int fd, const struct tcp_keepalive *ka)
{
	tcp_setopt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	if (!ka->on)
		return;
	tcp_setopt(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
	tcp_setopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, ka->idle_s);
	tcp_setopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, ka->interval_s);
	tcp_setopt(fd, IPPROTO_TCP, TCP_KEEPCNT, ka->count);
}

/* "host:port", or "[host]:port" for an IPv6 literal, for messages. */
static void tcp_hostport(char *buf, size_t len, const char *host, int port)
{
	if (strchr(host, ':') != NULL)
		snprintf(buf, len, "[%s]:%d", host, port);
	else
		snprintf(buf, len, "%s:%d", host, port);
}

/* Resolves host:port; flags are getaddrinfo()'s ai_flags. 0 and *res
 * (freeaddrinfo() it), or a negative code with a line in err. */
static int tcp_resolve(const char *host, int port, int flags,
		       struct addrinfo **res, char *err, size_t errlen)
{
	struct addrinfo hints;
	char service[8];
	int rc;

	if (port < 0 || port > 65535) {
		snprintf(err, errlen, "tcp: port %d is out of range 0-65535",
			 port);
		return NATSD_EINVAL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = flags | AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%d", port);
	rc = getaddrinfo(host[0] != '\0' ? host : NULL, service, &hints, res);
	if (rc == 0)
		return 0;
	if (rc == EAI_SYSTEM) {
		rc = errno != 0 ? -errno : NATSD_EIO;
		snprintf(err, errlen, "tcp: cannot resolve \"%s\": %s", host,
			 strerror(-rc));
		return rc;
	}
	snprintf(err, errlen, "tcp: cannot resolve \"%s\": %s", host,
		 gai_strerror(rc));
	return rc == EAI_MEMORY ? NATSD_ENOMEM : NATSD_ENOENT;
}

/* Opens a listening socket on one address. The socket or -errno. */
static int tcp_listen_on(const struct addrinfo *ai, int backlog)
{
	const struct sockaddr_in6 *a6;
	int fd, e;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd == -1)
		return -errno;
	/* A server killed with SIGKILL leaves its connections in TIME_WAIT;
	 * without SO_REUSEADDR it could not bind its port for a minute. */
	tcp_setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (ai->ai_family == AF_INET6) {
		/* "::" means every address, IPv4 included, whatever the
		 * net.ipv6.bindv6only sysctl says. */
		a6 = (const struct sockaddr_in6 *)ai->ai_addr;
		if (IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr))
			tcp_setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
	}
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, backlog) == -1) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* The port a socket is bound to, or a negative code. */
static int tcp_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return NATSD_EINVAL;
}

/* Tries the addresses of one family (AF_UNSPEC: any other than skip).
 * The socket, or -1 with the failure of the last address tried in *e
 * (left alone when none was tried). */
static int tcp_listen_family(const struct addrinfo *res, int family, int skip,
			     int backlog, int *e)
{
	const struct addrinfo *ai;
	int fd;

	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == skip ||
		    (family != AF_UNSPEC && ai->ai_family != family))
			continue;
		fd = tcp_listen_on(ai, backlog);
		if (fd >= 0)
			return fd;
		*e = fd;
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* Transport ops                                                       */

static int tcp_listen(void *pctx, const struct natsd_listen_spec *spec,
		      void **lctx, int *fd, char *err, size_t errlen)
{
	struct tcp_plugin *tp = pctx;
	struct tcp_keepalive ka = tp->ka;
	struct tcp_listener *l;
	struct addrinfo *res;
	char where[300];
	int rc, s, prefer, backlog;

	rc = tcp_read_keepalive(tp->api, spec->cfg, &ka, err, errlen);
	if (rc != 0)
		return rc;
	backlog = spec->backlog > 0 ? spec->backlog : SOMAXCONN;
	s = -1;
	/* nats-server (Go) serves "0.0.0.0" with one dual-stack socket, so
	 * IPv6 clients reach it too: do the same, and fall back to IPv4 alone
	 * where the machine has no IPv6. */
	if (strcmp(spec->host, "0.0.0.0") == 0 &&
	    tcp_resolve("::", spec->port, AI_PASSIVE, &res, err, errlen) == 0) {
		rc = NATSD_ENOENT;
		s = tcp_listen_family(res, AF_INET6, AF_UNSPEC, backlog, &rc);
		freeaddrinfo(res);
	}
	if (s < 0) {
		rc = tcp_resolve(spec->host, spec->port, AI_PASSIVE, &res, err,
				 errlen);
		if (rc != 0)
			return rc;
		/* A name may have several addresses but a listener has one
		 * socket. Like Go, prefer IPv4 for a name; an empty host
		 * means everything, which a dual-stack IPv6 socket covers. */
		prefer = spec->host[0] == '\0' ? AF_INET6 : AF_INET;
		rc = NATSD_ENOENT; /* getaddrinfo() never returns an empty list */
		s = tcp_listen_family(res, prefer, AF_UNSPEC, backlog, &rc);
		if (s < 0)
			s = tcp_listen_family(res, AF_UNSPEC, prefer, backlog,
					      &rc);
		freeaddrinfo(res);
	}
	if (s < 0) {
		tcp_hostport(where, sizeof(where), spec->host, spec->port);
		snprintf(err, errlen, "tcp: cannot listen on %s: %s", where,
			 strerror(-rc));
		return rc;
	}
	l = malloc(sizeof(*l));
	if (l == NULL) {
		snprintf(err, errlen, "tcp: out of memory");
		rc = NATSD_ENOMEM;
		goto out_close;
	}
	l->fd = s;
	l->ka = ka;
	l->port = tcp_local_port(s);
	if (l->port < 0) {
		rc = l->port;
		snprintf(err, errlen, "tcp: getsockname: %s", strerror(-rc));
		goto out_free;
	}
	*lctx = l;
	*fd = s;
	return 0;

out_free:
	free(l);
out_close:
	close(s);
	return rc;
}

/* Errors accept() reports for the connection it was about to return, not
 * for the listener: Linux passes pending network errors of the new socket
 * on, and accept(2) says to treat them like EAGAIN and retry. */
static bool tcp_accept_retry(int e)
{
	switch (e) {
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
	case ENOPROTOOPT:
	case ENETDOWN:
	case ENETUNREACH:
	case EHOSTDOWN:
	case EHOSTUNREACH:
	case ENONET:
	case EOPNOTSUPP:
		return true;
	default:
		return false;
	}
}

static int tcp_accept(void *lctx, void **sctx, int *fd)
{
	struct tcp_listener *l = lctx;
	int i, s;

	for (i = 0; i < TCP_RETRIES; i++) {
		s = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s != -1) {
			tcp_conn_setup(s, &l->ka);
			*sctx = tcp_box(s);
			*fd = s;
			return 0;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return NATSD_EAGAIN;
		if (!tcp_accept_retry(errno))
			return -errno; /* EMFILE and the like: host decides */
	}
	return NATSD_EAGAIN;
}

static int tcp_listen_port(void *lctx)
{
	const struct tcp_listener *l = lctx;

	return l->port;
}

static void tcp_unlisten(void *lctx)
{
	struct tcp_listener *l = lctx;

	if (l == NULL)
		return;
	close(l->fd);
	free(l);
}

/* Starts a connect to one address. The socket, or -errno. */
static int tcp_dial_one(const struct addrinfo *ai,
			const struct tcp_keepalive *ka)
{
	int fd, e;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd == -1)
		return -errno;
	tcp_conn_setup(fd, ka);
	/* EINTR: the connect goes on in the background, as EINPROGRESS. */
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
	    errno == EINPROGRESS || errno == EINTR)
		return fd;
	e = errno;
	close(fd);
	return -e;
}

/* Only failures known at once move on to the next address: a connect that
 * is in progress is the host's to wait for, and its failure shows up as
 * an error from the first read or write. */
static int tcp_dial(void *pctx, const char *host, int port,
		    const struct natsd_cfg *cfg, void **sctx, int *fd,
		    char *err, size_t errlen)
{
	struct tcp_plugin *tp = pctx;
	struct tcp_keepalive ka = tp->ka;
	const struct addrinfo *ai;
	struct addrinfo *res;
	char where[300];
	int rc, s = NATSD_ENOENT;

	rc = tcp_read_keepalive(tp->api, cfg, &ka, err, errlen);
	if (rc != 0)
		return rc;
	rc = tcp_resolve(host, port, 0, &res, err, errlen);
	if (rc != 0)
		return rc;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		s = tcp_dial_one(ai, &ka);
		if (s >= 0)
			break;
	}
	freeaddrinfo(res);
	if (s < 0) {
		tcp_hostport(where, sizeof(where), host, port);
		snprintf(err, errlen, "tcp: cannot connect to %s: %s", where,
			 strerror(-s));
		return s;
	}
	*sctx = tcp_box(s);
	*fd = s;
	return 0;
}

static ssize_t tcp_read(void *sctx, struct natsd_stream *below, void *buf,
			size_t len)
{
	ssize_t n;
	int i;

	(void)below;
	/* recv() of 0 bytes returns 0, which would read as end of stream. */
	if (len == 0)
		return NATSD_EINVAL;
	for (i = 0; i < TCP_RETRIES; i++) {
		n = recv(tcp_fd(sctx), buf, len, 0);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			break;
	}
	if (i == TCP_RETRIES || errno == EAGAIN || errno == EWOULDBLOCK)
		return NATSD_EAGAIN;
	return -errno;
}

static ssize_t tcp_writev(void *sctx, struct natsd_stream *below,
			  const struct iovec *iov, int iovcnt)
{
	struct msghdr msg;
	ssize_t n;
	int i;

	(void)below;
	if (iovcnt <= 0)
		return 0;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = (struct iovec *)iov;
	/* Longer vectors are refused by the kernel; a short write is
	 * allowed, and the host writes the rest next time. */
	msg.msg_iovlen = (size_t)(iovcnt < IOV_MAX ? iovcnt : IOV_MAX);
	for (i = 0; i < TCP_RETRIES; i++) {
		/* MSG_NOSIGNAL: a peer that went away gives EPIPE here, not a
		 * SIGPIPE that would kill the server. */
		n = sendmsg(tcp_fd(sctx), &msg, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			break;
	}
	if (i == TCP_RETRIES || errno == EAGAIN || errno == EWOULDBLOCK)
		return NATSD_EAGAIN;
	return -errno;
}

/* TCP buffers nothing of its own: the socket's readiness tells it all. */
static int tcp_want(void *sctx)
{
	(void)sctx;
	return 0;
}

static size_t tcp_pending(void *sctx)
{
	(void)sctx;
	return 0;
}

/* The host takes the peer address from getpeername() itself; layers
 * above ask for it (NATSD_Q_PEER_ADDR) to name the peer in their logs.
 * The answer lives in a per-thread buffer until the next such query. */
static int tcp_query(void *sctx, int key, const void **out, size_t *len)
{
	static __thread char addr[INET6_ADDRSTRLEN + 8];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ip[INET6_ADDRSTRLEN];
	const void *a;
	int port, n;

	if (key != NATSD_Q_PEER_ADDR)
		return NATSD_ENOTSUP;
	if (getpeername(tcp_fd(sctx), (struct sockaddr *)&ss, &sl) == -1)
		return -errno;
	if (ss.ss_family == AF_INET) {
		a = &((struct sockaddr_in *)&ss)->sin_addr;
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		port = ntohs(in6->sin6_port);
		a = &in6->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			a = &in6->sin6_addr.s6_addr[12];
			ss.ss_family = AF_INET;
		}
	} else {
		return NATSD_ENOTSUP;
	}
	if (inet_ntop(ss.ss_family, a, ip, sizeof(ip)) == NULL)
		return -errno;
	n = snprintf(addr, sizeof(addr),
		     ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip, port);
	*out = addr;
	if (len != NULL)
		*len = (size_t)n;
	return 0;
}

static void tcp_close(void *sctx, struct natsd_stream *below)
{
	(void)below;
	close(tcp_fd(sctx));
}

static const struct natsd_transport_ops tcp_ops = {
	.struct_size = sizeof(struct natsd_transport_ops),
	.name = "tcp",
	.listen = tcp_listen,
	.accept = tcp_accept,
	.listen_port = tcp_listen_port,
	.unlisten = tcp_unlisten,
	.dial = tcp_dial,
	.read = tcp_read,
	.writev = tcp_writev,
	.want = tcp_want,
	.pending = tcp_pending,
	.query = tcp_query,
	.close = tcp_close,
};

/* ------------------------------------------------------------------ */
/* Plugin                                                              */

static int tcp_init(struct natsd_host *h, const struct natsd_host_api *api,
		    const struct natsd_cfg *cfg, void **ctx, char *err,
		    size_t errlen)
{
	struct tcp_plugin *tp;
	int rc;

	tp = calloc(1, sizeof(*tp));
	if (tp == NULL) {
		snprintf(err, errlen, "tcp: out of memory");
		return NATSD_ENOMEM;
	}
	tp->h = h;
	tp->api = api;
	tp->ka.on = true;
	tp->ka.idle_s = TCP_KEEPALIVE_IDLE_S;
	tp->ka.interval_s = TCP_KEEPALIVE_INTERVAL_S;
	tp->ka.count = TCP_KEEPALIVE_COUNT;
	rc = tcp_read_keepalive(api, cfg, &tp->ka, err, errlen);
	if (rc != 0)
		goto out_free;
	rc = api->register_transport(h, &tcp_ops, tp);
	if (rc != 0) {
		snprintf(err, errlen, "tcp: cannot register transport: %s",
			 strerror(-rc));
		goto out_free;
	}
	*ctx = tp;
	return 0;

out_free:
	free(tp);
	return rc;
}

static void tcp_fini(void *ctx)
{
	free(ctx);
}

static const struct natsd_plugin tcp_plugin = {
	NATSD_PLUGIN_INIT,
	.name = "tcp",
	.version = PACKAGE_VERSION,
	.init = tcp_init,
	.fini = tcp_fini,
};

const struct natsd_plugin *natsd_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	(void)host_major;
	(void)host_minor;
	return &tcp_plugin;
}
