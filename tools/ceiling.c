/*
 * ceiling: what this machine's loopback can do at best, as a yardstick for
 * natsd-bench figures. Three measurements, one line each:
 *
 *   tcp_mb_per_s       bytes moved through one loopback TCP connection by
 *                      a writer thread doing 1 MiB writes and a reader
 *                      thread doing 1 MiB reads (MB = 10^6 bytes);
 *   small_write_ns     the cost of one 16-byte write() on a TCP_NODELAY
 *                      loopback socket whose peer is drained by another
 *                      thread, which is what a server pays per flush;
 *   pingpong_rtt_us    round trip of one byte between two threads over
 *                      loopback TCP, median and mean.
 *
 * Usage: ceiling [--seconds S] [--json]
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BIG_CHUNK   (1 << 20)
#define SMALL_WRITE 16
#define PINGPONGS   20000

struct pair {
	int a, b;	/* connected loopback TCP sockets */
};

struct drain {
	int fd;
	_Atomic uint64_t bytes;
	double stop_at;	/* tcp test: the reader stops at this time */
	double t0, t1;	/* first and last byte seen */
};

static bool json;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void emit(const char *name, double v, const char *unit)
{
	if (json)
		printf("{\"figure\":\"%s\",\"value\":%.3f,\"unit\":\"%s\"}\n",
		       name, v, unit);
	else
		printf("%s=%.1f %s\n", name, v, unit);
	fflush(stdout);
}

/* Connects a to b over 127.0.0.1, both with TCP_NODELAY. Returns 0 or
 * -errno. */
static int pair_open(struct pair *p)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);
	int l, one = 1, rc = 0;

	p->a = p->b = -1;
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l == -1)
		return -errno;
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(l, 1) == -1 ||
	    getsockname(l, (struct sockaddr *)&sa, &len) == -1) {
		rc = -errno;
		goto out_close_listener;
	}
	p->a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->a == -1 ||
	    connect(p->a, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		rc = -errno;
		goto out_close_listener;
	}
	p->b = accept(l, NULL, NULL);
	if (p->b == -1) {
		rc = -errno;
		goto out_close_listener;
	}
	setsockopt(p->a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(p->b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
out_close_listener:
	close(l);
	if (rc != 0 && p->a != -1)
		close(p->a);
	return rc;
}

static void pair_close(struct pair *p)
{
	close(p->a);
	close(p->b);
}

/* Reads until end of stream, counting bytes. */
static void *drain_main(void *arg)
{
	struct drain *d = arg;
	char *buf = malloc(BIG_CHUNK);
	ssize_t n;

	if (buf == NULL)
		return NULL;
	for (;;) {
		n = read(d->fd, buf, BIG_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (d->t0 == 0)
			d->t0 = now_s();
		atomic_fetch_add_explicit(&d->bytes, (uint64_t)n,
					  memory_order_relaxed);
		d->t1 = now_s();
	}
	free(buf);
	return NULL;
}

static int write_full(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Large writes for `seconds`; the rate is what the reader saw between its
 * first and last byte. */
static int measure_tcp(double seconds)
{
	struct drain d = { 0 };
	struct pair p;
	pthread_t thr;
	double end;
	char *buf;
	int rc = -1;

	buf = calloc(1, BIG_CHUNK);
	if (buf == NULL || pair_open(&p) != 0)
		goto out_free;
	d.fd = p.b;
	if (pthread_create(&thr, NULL, drain_main, &d) != 0)
		goto out_close;
	end = now_s() + seconds;
	while (now_s() < end)
		if (write_full(p.a, buf, BIG_CHUNK) != 0)
			break;
	shutdown(p.a, SHUT_WR);
	pthread_join(thr, NULL);
	if (d.t1 > d.t0)
		emit("tcp_mb_per_s", (double)d.bytes / (d.t1 - d.t0) / 1e6,
		     "MB/s");
	rc = 0;
out_close:
	pair_close(&p);
out_free:
	free(buf);
	return rc;
}

/* Many 16-byte writes while a thread drains the peer. */
static int measure_small_write(double seconds)
{
	char msg[SMALL_WRITE];
	struct drain d = { 0 };
	struct pair p;
	pthread_t thr;
	uint64_t n = 0;
	double t0, t1, end;

	memset(msg, 'x', sizeof(msg));
	if (pair_open(&p) != 0)
		return -1;
	d.fd = p.b;
	if (pthread_create(&thr, NULL, drain_main, &d) != 0) {
		pair_close(&p);
		return -1;
	}
	t0 = now_s();
	end = t0 + seconds;
	for (;;) {
		if (write_full(p.a, msg, sizeof(msg)) != 0)
			break;
		/* Reading the clock costs about as much as the write:
		 * look at it only every 256 writes. */
		if ((++n & 255) == 0 && now_s() >= end)
			break;
	}
	t1 = now_s();
	shutdown(p.a, SHUT_WR);
	pthread_join(thr, NULL);
	pair_close(&p);
	emit("small_write_ns", (t1 - t0) * 1e9 / (double)n, "ns");
	return 0;
}

static void *echo_main(void *arg)
{
	int fd = *(int *)arg;
	char c;

	while (read(fd, &c, 1) == 1)
		if (write(fd, &c, 1) != 1)
			break;
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One byte there and back, PINGPONGS times. */
static int measure_pingpong(void)
{
	double *rtt, t, sum = 0;
	struct pair p;
	pthread_t thr;
	char c = 'p';
	int i, n = 0;

	rtt = calloc(PINGPONGS, sizeof(*rtt));
	if (rtt == NULL || pair_open(&p) != 0) {
		free(rtt);
		return -1;
	}
	if (pthread_create(&thr, NULL, echo_main, &p.b) != 0)
		goto out_close;
	for (i = 0; i < PINGPONGS; i++) {
		t = now_s();
		if (write(p.a, &c, 1) != 1 || read(p.a, &c, 1) != 1)
			break;
		rtt[n++] = (now_s() - t) * 1e6;
	}
	shutdown(p.a, SHUT_RDWR);
	pthread_join(thr, NULL);
	if (n > 0) {
		for (i = 0; i < n; i++)
			sum += rtt[i];
		qsort(rtt, (size_t)n, sizeof(*rtt), cmp_double);
		emit("pingpong_rtt_us_p50", rtt[n / 2], "us");
		emit("pingpong_rtt_us_mean", sum / n, "us");
	}
out_close:
	pair_close(&p);
	free(rtt);
	return n == PINGPONGS ? 0 : -1;
}

int main(int argc, char **argv)
{
	double seconds = 1.0;
	char *end;
	int i, rc = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = strtod(argv[++i], &end);
			if (*end != '\0' || seconds <= 0 || seconds > 600) {
				fprintf(stderr, "ceiling: bad --seconds\n");
				return 2;
			}
		} else {
			fprintf(stderr,
				"usage: ceiling [--seconds S] [--json]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (measure_tcp(seconds) != 0)
		rc = 1;
	if (measure_small_write(seconds) != 0)
		rc = 1;
	if (measure_pingpong() != 0)
		rc = 1;
	if (rc != 0)
		fprintf(stderr, "ceiling: a measurement failed\n");
	return rc;
}
