/* Tests for plugins/transport/tcp.c.
 *
 * The plugin's source is compiled into this program and driven through a
 * fake host table, as the server would drive it, with no server around:
 * register_transport() keeps the ops table and the tests call its ops on
 * real loopback sockets. Everything binds 127.0.0.1 or ::1 on port 0. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* before any system header: tcp.c needs accept4() */
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <natsd/plugin.h>

#include "../../plugins/transport/tcp.c"
#include "../suites.h"

#define WAIT_MS 2000 /* for events that take microseconds on loopback */

/* A config section: a few typed keys, each with its line number. */
enum kv_type {
	KV_BOOL = 1,
	KV_INT = 2,
	KV_DURATION = 3,
	KV_STRING = 4,
};

struct kv {
	const char *key;
	enum kv_type type;
	int64_t i;
	const char *s;
	int line;
};

struct natsd_cfg {
	const struct kv *kv;
	size_t n;
};

static struct natsd_transport_ops ops; /* what the plugin registered */
static void *pctx;
static int registrations;
static void *plugin_ctx;

static const struct kv *kv_find(const struct natsd_cfg *c, const char *key)
{
	size_t i;

	for (i = 0; c != NULL && i < c->n; i++) {
		if (strcmp(c->kv[i].key, key) == 0)
			return &c->kv[i];
	}
	return NULL;
}

static const struct kv *kv_typed(const struct natsd_cfg *c, const char *key,
				 enum kv_type type, int *rc)
{
	const struct kv *kv = kv_find(c, key);

	*rc = kv == NULL ? NATSD_ENOENT : kv->type != type ? NATSD_EINVAL : 0;
	return *rc == 0 ? kv : NULL;
}

static int fake_cfg_string(const struct natsd_cfg *c, const char *key,
			   const char **out)
{
	const struct kv *kv;
	int rc;

	kv = kv_typed(c, key, KV_STRING, &rc);
	if (kv != NULL)
		*out = kv->s;
	return rc;
}

static int fake_cfg_int(const struct natsd_cfg *c, const char *key,
			int64_t *out)
{
	const struct kv *kv;
	int rc;

	kv = kv_typed(c, key, KV_INT, &rc);
	if (kv != NULL)
		*out = kv->i;
	return rc;
}

static int fake_cfg_bool(const struct natsd_cfg *c, const char *key, bool *out)
{
	const struct kv *kv;
	int rc;

	kv = kv_typed(c, key, KV_BOOL, &rc);
	if (kv != NULL)
		*out = kv->i != 0;
	return rc;
}

static int fake_cfg_duration(const struct natsd_cfg *c, const char *key,
			     int64_t *ns)
{
	const struct kv *kv;
	int rc;

	kv = kv_typed(c, key, KV_DURATION, &rc);
	if (kv != NULL)
		*ns = kv->i;
	return rc;
}

static int fake_cfg_where(const struct natsd_cfg *c, const char *key,
			  const char **file, int *line)
{
	const struct kv *kv = kv_find(c, key);

	if (kv == NULL)
		return NATSD_ENOENT;
	*file = "test.conf";
	*line = kv->line;
	return 0;
}

static void fake_log(struct natsd_host *h, int level, const char *fmt, ...)
{
	(void)h;
	(void)level;
	(void)fmt;
}

static int fake_register_transport(struct natsd_host *h,
				   const struct natsd_transport_ops *o,
				   void *ctx)
{
	(void)h;
	/* As the host does: copy into a zeroed table of our own size. */
	memset(&ops, 0, sizeof(ops));
	memcpy(&ops, o,
	       o->struct_size < sizeof(ops) ? o->struct_size : sizeof(ops));
	pctx = ctx;
	registrations++;
	return 0;
}

static const struct natsd_host_api fake_api = {
	.struct_size = sizeof(struct natsd_host_api),
	.abi_major = NATSD_ABI_MAJOR,
	.abi_minor = NATSD_ABI_MINOR,
	.log = fake_log,
	.cfg_string = fake_cfg_string,
	.cfg_int = fake_cfg_int,
	.cfg_bool = fake_cfg_bool,
	.cfg_duration = fake_cfg_duration,
	.cfg_where = fake_cfg_where,
	.register_transport = fake_register_transport,
};

static struct natsd_host *const fake_host = (struct natsd_host *)&fake_api;

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static bool wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, WAIT_MS) == 1;
}

static int getopt_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, level, name, &v, &len) == -1)
		return -1;
	return v;
}

static bool has_flags(int fd)
{
	return (fcntl(fd, F_GETFL) & O_NONBLOCK) &&
	       (fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

static int do_listen(const char *host, const struct natsd_cfg *cfg, void **l,
		     int *fd, char *err, size_t errlen)
{
	struct natsd_listen_spec spec = {
		.struct_size = sizeof(spec),
		.host = host,
		.port = 0,
		.backlog = 16,
		.cfg = cfg,
	};

	return ops.listen(pctx, &spec, l, fd, err, errlen);
}

static int do_listen_port(const char *host, int port, void **l, int *fd,
			  char *err, size_t errlen)
{
	struct natsd_listen_spec spec = {
		.struct_size = sizeof(spec),
		.host = host,
		.port = port,
		.backlog = 16,
	};

	return ops.listen(pctx, &spec, l, fd, err, errlen);
}

/* A plain blocking client socket connected to addr:port. */
static int client_connect(int family, const char *addr, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &a4->sin_addr);
		len = sizeof(*a4);
	} else {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &a6->sin6_addr);
		len = sizeof(*a6);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Waits for a connection on the listener and accepts it. */
static int accept_one(void *l, int lfd, void **sctx, int *fd)
{
	int rc = NATSD_EAGAIN, i;

	/* Readiness is not a promise: retry a few times. */
	for (i = 0; i < 5 && rc == NATSD_EAGAIN; i++) {
		if (!wait_fd(lfd, POLLIN))
			break;
		rc = ops.accept(l, sctx, fd);
	}
	return rc;
}

/* Reads through the transport until len bytes came, the stream ended (0)
 * or failed (its code); NATSD_ETIMEDOUT when nothing came in time. */
static ssize_t read_all(void *sctx, int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int i;

	for (i = 0; i < 100 && got < len; i++) {
		if (!wait_fd(fd, POLLIN))
			break;
		n = ops.read(sctx, NULL, buf + got, len - got);
		if (n == NATSD_EAGAIN)
			continue;
		if (n <= 0)
			return n;
		got += (size_t)n;
	}
	return got > 0 ? (ssize_t)got : NATSD_ETIMEDOUT;
}

/* A port nothing listens on (closed right after the kernel picked it). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd, port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool ipv6_loopback_works(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
	int fd, rc;

	a.sin6_addr = in6addr_loopback;
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return false;
	rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	return rc == 0;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void test_descriptor(void)
{
	const struct natsd_plugin *d;

	d = natsd_plugin_entry(NATSD_ABI_MAJOR, NATSD_ABI_MINOR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(d->magic, NATSD_PLUGIN_MAGIC);
	CU_ASSERT_EQUAL(d->abi_major, NATSD_ABI_MAJOR);
	CU_ASSERT_EQUAL(d->abi_minor, NATSD_ABI_MINOR);
	CU_ASSERT_EQUAL(d->struct_size, sizeof(struct natsd_plugin));
	CU_ASSERT_STRING_EQUAL(d->name, "tcp");
	CU_ASSERT_EQUAL(registrations, 1);
	CU_ASSERT_STRING_EQUAL(ops.name, "tcp");
	CU_ASSERT_PTR_NULL(ops.push); /* a bottom transport */
	CU_ASSERT(ops.listen && ops.accept && ops.listen_port && ops.unlisten &&
		  ops.dial && ops.read && ops.writev && ops.want &&
		  ops.pending && ops.query && ops.close);
}

/* Accept, both directions, EAGAIN, EOF: one connection on host. */
static void roundtrip(const char *host, int family, const char *addr)
{
	struct iovec iov[2] = {
		{ .iov_base = "INFO ", .iov_len = 5 },
		{ .iov_base = "{}\r\n", .iov_len = 4 },
	};
	void *l = NULL, *sctx = NULL;
	int lfd = -1, fd = -1, port, c;
	char err[256] = "", buf[64];
	ssize_t n;

	CU_ASSERT_EQUAL_FATAL(do_listen(host, NULL, &l, &lfd, err, sizeof(err)),
			      0);
	CU_ASSERT(has_flags(lfd));
	CU_ASSERT_EQUAL(getopt_int(lfd, SOL_SOCKET, SO_REUSEADDR), 1);
	port = ops.listen_port(l);
	CU_ASSERT(port > 0 && port < 65536);
	CU_ASSERT_EQUAL(ops.accept(l, &sctx, &fd), NATSD_EAGAIN);

	c = client_connect(family, addr, port);
	CU_ASSERT_FATAL(c != -1);
	CU_ASSERT_EQUAL_FATAL(accept_one(l, lfd, &sctx, &fd), 0);
	CU_ASSERT_PTR_NOT_NULL(sctx);
	CU_ASSERT(has_flags(fd));
	CU_ASSERT_EQUAL(getopt_int(fd, IPPROTO_TCP, TCP_NODELAY), 1);
	CU_ASSERT_EQUAL(getopt_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
	CU_ASSERT_EQUAL(getopt_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 15);
	CU_ASSERT_EQUAL(getopt_int(fd, IPPROTO_TCP, TCP_KEEPINTVL), 15);
	CU_ASSERT_EQUAL(getopt_int(fd, IPPROTO_TCP, TCP_KEEPCNT), 9);

	/* Nothing sent yet: would block. */
	CU_ASSERT_EQUAL(ops.read(sctx, NULL, buf, sizeof(buf)), NATSD_EAGAIN);
	CU_ASSERT_EQUAL(ops.want(sctx), 0);
	CU_ASSERT_EQUAL(ops.pending(sctx), 0);

	CU_ASSERT_EQUAL(send(c, "PING\r\n", 6, 0), 6);
	n = read_all(sctx, fd, buf, 6);
	CU_ASSERT_EQUAL(n, 6);
	CU_ASSERT(memcmp(buf, "PING\r\n", 6) == 0);

	CU_ASSERT_EQUAL(ops.writev(sctx, NULL, iov, 2), 9);
	CU_ASSERT_EQUAL(recv(c, buf, 9, MSG_WAITALL), 9);
	CU_ASSERT(memcmp(buf, "INFO {}\r\n", 9) == 0);

	close(c);
	CU_ASSERT_EQUAL(read_all(sctx, fd, buf, sizeof(buf)), 0);

	ops.close(sctx, NULL);
	CU_ASSERT_EQUAL(fcntl(fd, F_GETFD), -1); /* closed */
	ops.unlisten(l);
	CU_ASSERT_EQUAL(fcntl(lfd, F_GETFD), -1);
}

static void test_ipv4(void)
{
	roundtrip("127.0.0.1", AF_INET, "127.0.0.1");
}

static void test_ipv6(void)
{
	if (!ipv6_loopback_works()) {
		fprintf(stderr, "(no IPv6 loopback: not tested) ");
		return;
	}
	roundtrip("::1", AF_INET6, "::1");
}

/* A name is resolved, and of its addresses IPv4 is preferred. */
static void test_name(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	void *l = NULL;
	int lfd = -1;
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(
		do_listen("localhost", NULL, &l, &lfd, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(getsockname(lfd, (struct sockaddr *)&ss, &len), 0);
	CU_ASSERT_EQUAL(ss.ss_family, AF_INET);
	ops.unlisten(l);
}

/* Stream contexts are fds carried in the pointer: fd 0 must work too. */
static void test_fd_zero(void)
{
	void *l = NULL, *sctx = NULL;
	int lfd = -1, fd = -1, c, saved, hold;
	char err[256], buf[8];

	saved = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	close(STDIN_FILENO);
	hold = open("/dev/null", O_RDONLY | O_CLOEXEC); /* takes fd 0 */
	CU_ASSERT_EQUAL(hold, 0);
	CU_ASSERT_EQUAL_FATAL(
		do_listen("127.0.0.1", NULL, &l, &lfd, err, sizeof(err)), 0);
	c = client_connect(AF_INET, "127.0.0.1", ops.listen_port(l));
	CU_ASSERT_FATAL(c != -1);
	close(hold); /* now the accepted socket gets fd 0 */
	CU_ASSERT_EQUAL_FATAL(accept_one(l, lfd, &sctx, &fd), 0);
	CU_ASSERT_EQUAL(fd, 0);
	CU_ASSERT_PTR_NOT_NULL(sctx);
	CU_ASSERT_EQUAL(send(c, "x", 1, 0), 1);
	CU_ASSERT_EQUAL(read_all(sctx, fd, buf, 1), 1);
	CU_ASSERT_EQUAL(buf[0], 'x');
	ops.close(sctx, NULL);
	CU_ASSERT_EQUAL(fcntl(0, F_GETFD), -1);
	close(c);
	ops.unlisten(l);
	if (saved != -1) {
		dup2(saved, STDIN_FILENO);
		close(saved);
	}
}

static void test_dial(void)
{
	void *l = NULL, *sctx = NULL, *dctx = NULL;
	int lfd = -1, fd = -1, dfd = -1, rc;
	char err[256] = "", buf[16];
	struct iovec iov = { .iov_base = "PONG\r\n", .iov_len = 6 };

	CU_ASSERT_EQUAL_FATAL(
		do_listen("127.0.0.1", NULL, &l, &lfd, err, sizeof(err)), 0);
	rc = ops.dial(pctx, "127.0.0.1", ops.listen_port(l), NULL, &dctx, &dfd,
		      err, sizeof(err));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(dctx);
	CU_ASSERT(has_flags(dfd));
	CU_ASSERT_EQUAL(getopt_int(dfd, IPPROTO_TCP, TCP_NODELAY), 1);
	CU_ASSERT(wait_fd(dfd, POLLOUT));
	CU_ASSERT_EQUAL(getopt_int(dfd, SOL_SOCKET, SO_ERROR), 0);
	CU_ASSERT_EQUAL_FATAL(accept_one(l, lfd, &sctx, &fd), 0);

	CU_ASSERT_EQUAL(ops.writev(dctx, NULL, &iov, 1), 6);
	CU_ASSERT_EQUAL(read_all(sctx, fd, buf, 6), 6);
	CU_ASSERT(memcmp(buf, "PONG\r\n", 6) == 0);
	CU_ASSERT_EQUAL(ops.writev(sctx, NULL, &iov, 1), 6);
	CU_ASSERT_EQUAL(read_all(dctx, dfd, buf, 6), 6);

	ops.close(dctx, NULL);
	CU_ASSERT_EQUAL(read_all(sctx, fd, buf, sizeof(buf)), 0);
	ops.close(sctx, NULL);
	ops.unlisten(l);
}

/* A refused connect fails at once or on the first read. */
static void test_dial_refused(void)
{
	void *dctx = NULL;
	int dfd = -1, rc, port = free_port();
	char err[256] = "", want[128], buf[8];
	ssize_t n;

	CU_ASSERT_FATAL(port > 0);
	rc = ops.dial(pctx, "127.0.0.1", port, NULL, &dctx, &dfd, err,
		      sizeof(err));
	if (rc != 0) {
		snprintf(want, sizeof(want),
			 "tcp: cannot connect to 127.0.0.1:%d: %s", port,
			 strerror(ECONNREFUSED));
		CU_ASSERT_EQUAL(rc, -ECONNREFUSED);
		CU_ASSERT_STRING_EQUAL(err, want);
		return;
	}
	CU_ASSERT(wait_fd(dfd, POLLOUT));
	n = ops.read(dctx, NULL, buf, sizeof(buf));
	CU_ASSERT_EQUAL(n, -ECONNREFUSED);
	ops.close(dctx, NULL);
}

static void test_bad_addresses(void)
{
	void *l = NULL, *s = NULL;
	int fd = -1, rc;
	char err[256] = "";
	const char *want = "tcp: cannot resolve \"no.such.host.invalid\": ";

	rc = do_listen("no.such.host.invalid", NULL, &l, &fd, err, sizeof(err));
	CU_ASSERT(rc < 0);
	CU_ASSERT(strncmp(err, want, strlen(want)) == 0);
	CU_ASSERT(strlen(err) > strlen(want));
	CU_ASSERT_PTR_NULL(l);

	/* TEST-NET-1: valid, but not an address of this machine. */
	rc = do_listen("192.0.2.1", NULL, &l, &fd, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, -EADDRNOTAVAIL);
	CU_ASSERT_STRING_EQUAL(err, "tcp: cannot listen on 192.0.2.1:0: Cannot "
				    "assign requested address");

	rc = do_listen_port("127.0.0.1", 65536, &l, &fd, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, NATSD_EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "tcp: port 65536 is out of range 0-65535");

	rc = ops.dial(pctx, "no.such.host.invalid", 4222, NULL, &s, &fd, err,
		      sizeof(err));
	CU_ASSERT(rc < 0);
	CU_ASSERT(strncmp(err, want, strlen(want)) == 0);
	CU_ASSERT_PTR_NULL(l);
	CU_ASSERT_PTR_NULL(s);
}

/* A port in use is refused; once free, it can be bound again at once,
 * even with the old server's connections still in TIME_WAIT. */
static void test_port_reuse(void)
{
	void *l = NULL, *l2 = NULL, *sctx = NULL;
	int lfd = -1, lfd2 = -1, fd = -1, port, c, rc;
	char err[256] = "", want[128], buf[8];

	CU_ASSERT_EQUAL_FATAL(
		do_listen("127.0.0.1", NULL, &l, &lfd, err, sizeof(err)), 0);
	port = ops.listen_port(l);
	rc = do_listen_port("127.0.0.1", port, &l2, &lfd2, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, -EADDRINUSE);
	snprintf(want, sizeof(want),
		 "tcp: cannot listen on 127.0.0.1:%d: Address already in use",
		 port);
	CU_ASSERT_STRING_EQUAL(err, want);

	/* The server side closes first, so its socket ends in TIME_WAIT. */
	c = client_connect(AF_INET, "127.0.0.1", port);
	CU_ASSERT_FATAL(c != -1);
	CU_ASSERT_EQUAL_FATAL(accept_one(l, lfd, &sctx, &fd), 0);
	ops.close(sctx, NULL);
	CU_ASSERT_EQUAL(recv(c, buf, sizeof(buf), 0), 0);
	close(c);
	ops.unlisten(l);

	rc = do_listen_port("127.0.0.1", port, &l2, &lfd2, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, 0);
	if (rc == 0) {
		CU_ASSERT_EQUAL(ops.listen_port(l2), port);
		ops.unlisten(l2);
	} else {
		fprintf(stderr, "\n  %s\n", err);
	}
}

static void test_keepalive_settings(void)
{
	static const struct kv tuned[] = {
		{ "keepalive_idle", KV_DURATION, 30 * TCP_NS_PER_S, NULL, 3 },
		{ "keepalive_interval", KV_DURATION, 2500000000LL, NULL, 4 },
		{ "keepalive_count", KV_INT, 3, NULL, 5 },
	};
	static const struct kv off[] = {
		{ "keepalive", KV_BOOL, 0, NULL, 2 },
	};
	const struct natsd_cfg tuned_cfg = { tuned, 3 }, off_cfg = { off, 1 };
	void *l = NULL, *sctx = NULL, *dctx = NULL;
	int lfd = -1, fd = -1, dfd = -1, c;
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(
		do_listen("127.0.0.1", &tuned_cfg, &l, &lfd, err, sizeof(err)),
		0);
	c = client_connect(AF_INET, "127.0.0.1", ops.listen_port(l));
	CU_ASSERT_FATAL(c != -1);
	CU_ASSERT_EQUAL_FATAL(accept_one(l, lfd, &sctx, &fd), 0);
	CU_ASSERT_EQUAL(getopt_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
	CU_ASSERT_EQUAL(getopt_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 30);
	CU_ASSERT_EQUAL(getopt_int(fd, IPPROTO_TCP, TCP_KEEPINTVL), 3);
	CU_ASSERT_EQUAL(getopt_int(fd, IPPROTO_TCP, TCP_KEEPCNT), 3);
	ops.close(sctx, NULL);
	close(c);
	ops.unlisten(l);

	CU_ASSERT_EQUAL_FATAL(
		do_listen("127.0.0.1", &off_cfg, &l, &lfd, err, sizeof(err)),
		0);
	c = client_connect(AF_INET, "127.0.0.1", ops.listen_port(l));
	CU_ASSERT_FATAL(c != -1);
	CU_ASSERT_EQUAL_FATAL(accept_one(l, lfd, &sctx, &fd), 0);
	CU_ASSERT_EQUAL(getopt_int(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
	CU_ASSERT_EQUAL(getopt_int(fd, IPPROTO_TCP, TCP_NODELAY), 1);
	ops.close(sctx, NULL);
	close(c);

	/* Dial takes its own section too. */
	CU_ASSERT_EQUAL_FATAL(ops.dial(pctx, "127.0.0.1", ops.listen_port(l),
				       &off_cfg, &dctx, &dfd, err, sizeof(err)),
			      0);
	CU_ASSERT_EQUAL(getopt_int(dfd, SOL_SOCKET, SO_KEEPALIVE), 0);
	ops.close(dctx, NULL);
	ops.unlisten(l);
}

static void test_bad_settings(void)
{
	static const struct kv short_idle[] = {
		{ "keepalive_idle", KV_DURATION, 500000000LL, NULL, 7 },
	};
	static const struct kv not_bool[] = {
		{ "keepalive", KV_STRING, 0, "yes", 9 },
	};
	static const struct kv bad_count[] = {
		{ "keepalive_count", KV_INT, 0, NULL, 11 },
	};
	const struct natsd_cfg c1 = { short_idle, 1 }, c2 = { not_bool, 1 },
			       c3 = { bad_count, 1 };
	void *l = NULL, *ctx = NULL;
	int lfd = -1, rc, before = registrations;
	char err[256] = "";

	rc = do_listen("127.0.0.1", &c1, &l, &lfd, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, NATSD_EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "test.conf:7: tcp: keepalive_idle must be "
				    "a duration from 1s to 32767s");
	rc = do_listen("127.0.0.1", &c2, &l, &lfd, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, NATSD_EINVAL);
	CU_ASSERT_STRING_EQUAL(
		err, "test.conf:9: tcp: keepalive must be true or false");
	CU_ASSERT_PTR_NULL(l);

	/* At init, a bad setting fails the plugin and registers nothing. */
	rc = tcp_plugin.init(fake_host, &fake_api, &c3, &ctx, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, NATSD_EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "test.conf:11: tcp: keepalive_count must "
				    "be a number from 1 to 127");
	CU_ASSERT_PTR_NULL(ctx);
	CU_ASSERT_EQUAL(registrations, before);
}

/* Writing to a peer that is gone gives an error, never a SIGPIPE (which
 * would kill this program: SIGPIPE is left at its default). The first
 * write after the peer's reset gives ECONNRESET, the next EPIPE, which is
 * the one that raises the signal without MSG_NOSIGNAL. */
static void test_no_sigpipe(void)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct iovec iov = { .iov_base = "MSG x 1 1\r\nx\r\n", .iov_len = 14 };
	void *l = NULL, *sctx = NULL;
	int lfd = -1, fd = -1, c, i;
	char err[256] = "";
	ssize_t n = 0;

	CU_ASSERT_EQUAL_FATAL(
		do_listen("127.0.0.1", NULL, &l, &lfd, err, sizeof(err)), 0);
	c = client_connect(AF_INET, "127.0.0.1", ops.listen_port(l));
	CU_ASSERT_FATAL(c != -1);
	CU_ASSERT_EQUAL_FATAL(accept_one(l, lfd, &sctx, &fd), 0);
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c); /* RST */
	for (i = 0; i < 100; i++) {
		n = ops.writev(sctx, NULL, &iov, 1);
		if (n == -EPIPE)
			break;
		CU_ASSERT(n >= 0 || n == NATSD_EAGAIN || n == -ECONNRESET);
		poll(NULL, 0, 1);
	}
	CU_ASSERT_EQUAL(n, -EPIPE);
	ops.close(sctx, NULL);
	ops.unlisten(l);
}

/* A full socket gives EAGAIN; a vector longer than IOV_MAX a short write. */
static void test_write_limits(void)
{
	static char chunk[65536];
	struct iovec iov = { .iov_base = chunk, .iov_len = sizeof(chunk) };
	struct iovec *many;
	void *l = NULL, *sctx = NULL;
	int lfd = -1, fd = -1, c, i;
	char err[256] = "", buf[4];
	ssize_t n = 0;
	const void *out = NULL;
	size_t len = 0;

	CU_ASSERT_EQUAL_FATAL(
		do_listen("127.0.0.1", NULL, &l, &lfd, err, sizeof(err)), 0);
	c = client_connect(AF_INET, "127.0.0.1", ops.listen_port(l));
	CU_ASSERT_FATAL(c != -1);
	CU_ASSERT_EQUAL_FATAL(accept_one(l, lfd, &sctx, &fd), 0);

	many = calloc(IOV_MAX * 2, sizeof(*many));
	CU_ASSERT_FATAL(many != NULL);
	for (i = 0; i < IOV_MAX * 2; i++) {
		many[i].iov_base = chunk;
		many[i].iov_len = 1;
	}
	n = ops.writev(sctx, NULL, many, IOV_MAX * 2);
	CU_ASSERT(n > 0 && n <= IOV_MAX);
	free(many);

	/* Socket buffers hold a few MB at most: 4096 * 64 KB is plenty. */
	for (i = 0; i < 4096; i++) {
		n = ops.writev(sctx, NULL, &iov, 1);
		if (n < 0)
			break;
	}
	CU_ASSERT_EQUAL(n, NATSD_EAGAIN);
	CU_ASSERT_EQUAL(ops.writev(sctx, NULL, &iov, 0), 0);

	CU_ASSERT_EQUAL(ops.read(sctx, NULL, buf, 0), NATSD_EINVAL);
	CU_ASSERT_EQUAL(ops.query(sctx, NATSD_Q_REMOTE_IP, &out, &len),
			NATSD_ENOTSUP);
	CU_ASSERT_EQUAL(ops.query(sctx, NATSD_Q_TLS_VERSION, &out, &len),
			NATSD_ENOTSUP);
	CU_ASSERT_PTR_NULL(out);

	ops.close(sctx, NULL);
	close(c);
	ops.unlisten(l);
}

static int suite_init(void)
{
	const struct natsd_plugin *d;
	char err[256] = "";

	d = natsd_plugin_entry(NATSD_ABI_MAJOR, NATSD_ABI_MINOR);
	if (d->init(fake_host, &fake_api, NULL, &plugin_ctx, err,
		    sizeof(err)) != 0) {
		fprintf(stderr, "init: %s\n", err);
		return -1;
	}
	return 0;
}

static int suite_fini(void)
{
	natsd_plugin_entry(NATSD_ABI_MAJOR, NATSD_ABI_MINOR)->fini(plugin_ctx);
	return 0;
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "descriptor and registration", test_descriptor },
		{ "IPv4 listen, accept, read, write, EOF", test_ipv4 },
		{ "IPv6 loopback", test_ipv6 },
		{ "host name", test_name },
		{ "fd 0 as a stream context", test_fd_zero },
		{ "dial", test_dial },
		{ "dial refused", test_dial_refused },
		{ "bad addresses", test_bad_addresses },
		{ "port in use, reuse after close", test_port_reuse },
		{ "keepalive settings", test_keepalive_settings },
		{ "bad settings", test_bad_settings },
		{ "no SIGPIPE", test_no_sigpipe },
		{ "write limits", test_write_limits },
	};
	static const struct suite suite = { "transport_tcp", suite_init,
					    suite_fini, tests,
					    SUITE_COUNT(tests) };
	int rc;

	signal(SIGPIPE, SIG_DFL);
	/* A socket call that blocks by mistake fails the test, not the run. */
	alarm(60);
	rc = suites_run(&suite, 1);
	return rc < 0 ? 99 : rc;
}
