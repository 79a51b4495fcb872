/*
 * natsd-bench: a load generator for NATS servers, natsd and nats-server alike.
 *
 * It speaks the client protocol over raw sockets. A publisher builds many
 * PUB frames in one buffer (or one iovec array for large payloads) and hands
 * them to the kernel in one write; every connection that receives has its
 * own blocking reader thread that parses frames in place out of a large
 * buffer. Each payload carries a sequence number in its first eight bytes,
 * and every receiving connection marks the numbers it saw in a bitmap, so
 * loss and duplicates are counted exactly, for fan-out and queue groups too.
 *
 * Flow control keeps a run in steady state instead of measuring how much a
 * server can buffer: the publisher stays at most --window messages ahead of
 * what the subscribers have counted and at most a few PINGs ahead of the
 * server, so neither server nears its slow-consumer limit.
 *
 * With --tls CAFILE every connection upgrades to TLS after INFO, as a NATS
 * client does, trusting CAFILE. OpenSSL's SSL object is not safe for a
 * read and a write at once, so in that mode the socket is non-blocking
 * and each SSL call is made under a per-connection lock, waiting in
 * poll() outside it.
 *
 * Rejected: libnats (its per-message callbacks and locks would be measured
 * along with the server); one epoll thread for all connections (a blocking
 * reader per connection wakes as soon as data arrives and costs no extra
 * syscalls, and a scenario has at most a few dozen such connections).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define SEQ_BYTES	  8	      /* sequence number at payload start */
#define RBUF_BIG	  (4u << 20)  /* reader buffer: many frames a read */
#define RBUF_SMALL	  4096	      /* publishers' and idle connections */
#define BENCH_STALLED_MAX 16          /* --stalled */
#define RBUF_MAX	  (64u << 20) /* a larger frame is refused */
#define LARGE_PAYLOAD	  2048	      /* from here on, writev, not copy */
#define IOV_BATCH	  340	      /* messages per writev: 3 iovecs each */
#define SEQMAP_DURATION	  (1ull << 32) /* bitmap size without --msgs */
#define HANDSHAKE_TIMEOUT 10	      /* seconds */

/* With --headers, every message carries this header block (HPUB/HMSG). */
static const char bench_hdr[] = "NATS/1.0\r\nBench: 1\r\n\r\n";
#define BENCH_HDR_LEN (sizeof(bench_hdr) - 1)

enum scenario {
	SC_PUB = 0,
	SC_PUBSUB,
	SC_FANOUT,
	SC_QUEUE,
	SC_SUBLIST,
	SC_REQREP_LAT,
	SC_REQREP,
	SC_IDLE,
	SC_SUBS_MEM,
	SC_COUNT
};

static const char *const scenario_names[] = {
	[SC_PUB] = "pub",
	[SC_PUBSUB] = "pubsub",
	[SC_FANOUT] = "fanout",
	[SC_QUEUE] = "queue",
	[SC_SUBLIST] = "sublist",
	[SC_REQREP_LAT] = "reqrep-lat",
	[SC_REQREP] = "reqrep",
	[SC_IDLE] = "idle",
	[SC_SUBS_MEM] = "subs-mem",
};
_Static_assert(sizeof(scenario_names) / sizeof(scenario_names[0]) == SC_COUNT,
	       "one name per scenario");

struct opts {
	enum scenario sc;
	char host[256];
	char port[16];
	uint64_t msgs;		/* 0: duration or scenario default */
	size_t size;
	int subs;		/* 0: scenario default */
	double duration;	/* seconds; 0: run --msgs */
	bool json;
	bool headers;		/* HPUB with bench_hdr instead of PUB */
	pid_t pid;		/* server pid for CPU and memory; 0: none */
	uint64_t window;	/* messages; 0: from window_bytes */
	size_t window_bytes;
	size_t batch_bytes;
	int max_pings;
	int clients;		/* reqrep requesters */
	int responders;		/* reqrep responders, in one queue group */
	int conns;		/* idle connections */
	double timeout;		/* seconds without progress: give up */
	int settle_ms;		/* memory: wait before reading RSS */
	const char *label;
	bool progress;
	const char *tls_ca; /* --tls: CA file; NULL: plain TCP */
	int stalled;        /* subscribers that never read (pubsub, fanout) */
};

/* A bitmap of the sequence numbers one connection has seen. Anonymous
 * memory that is never touched costs nothing, so a duration run can map
 * room for billions of messages. */
struct seqmap {
	uint64_t *w;
	uint64_t nbits;
	size_t bytes;
};

enum role {
	ROLE_PUB = 0,	/* publisher: sees only PONGs */
	ROLE_SUB,	/* counts MSG frames */
	ROLE_RESPONDER,	/* answers each request with its own payload */
	ROLE_REQUESTER,	/* notes the sequence number of each reply */
	ROLE_IDLE,
};

struct bench;

struct bconn {
	int fd;
	enum role role;
	struct bench *b;
	pthread_t thr;
	bool thr_started;
	_Atomic bool stopping;
	pthread_mutex_t wlock;	/* the owner's writes and the reader's */
	char *rbuf;
	size_t rcap, rlen;
	char *obuf;		/* PONGs and replies built while parsing */
	size_t ocap, olen;
	uint64_t nrecv;		/* reader thread only */
	uint64_t nreads;	/* reads that returned data, and their bytes: */
	uint64_t nbytes;	/* how well the server batches its writes */
	_Atomic uint64_t received;	/* nrecv, published after each read */
	_Atomic uint64_t pongs;
	struct seqmap seen;
	uint64_t dups;		/* seen twice on this connection */
	uint64_t bad;		/* short payload or number out of range */
	uint64_t last_seq;	/* requester: payload of the last reply */
	bool got_reply;
	size_t max_payload;	/* from INFO */
	SSL *ssl;               /* --tls */
	pthread_mutex_t tlock;  /* every SSL call on ssl */
	int tmo_s;              /* --tls: read timeout, 0: none */
	char *wbuf;             /* --tls: iovecs gathered for SSL_write */
	size_t wcap;
};

static SSL_CTX *tls_ctx;

struct bench {
	const struct opts *o;
	struct bconn **subs;	/* receiving connections */
	int nsubs;
	bool sum_subs;		/* queue group: members share messages */
	_Atomic uint64_t sent;	/* for progress */
	_Atomic int waiters;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	_Atomic bool failed;
	char err[256];		/* first failure, under mu */
};

struct kv {
	char key[32];
	char val[64];
	bool quote;
};

struct result {
	int n;
	struct kv kv[48];
};

/* ---- small helpers ---------------------------------------------------- */

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("natsd-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Writes v in decimal at p; returns the number of bytes written. */
static size_t put_u64(char *p, uint64_t v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes all of iov[0..cnt); the array is modified on partial writes. */
static int writev_all(int fd, struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		ssize_t n = writev(fd, iov, cnt);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_double(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* ---- /proc readings --------------------------------------------------- */

/* Reads utime + stime of every thread of pid, in seconds. */
static int proc_cpu(pid_t pid, double *out)
{
	char path[64], buf[2048], *p, *end;
	unsigned long long ut, st;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: fields are
	 * counted from the last ')'. utime and stime are fields 14 and 15,
	 * the 12th and 13th after it. */
	p = strrchr(buf, ')');
	if (p == NULL)
		return -EPROTO;
	p++;
	for (i = 0; i < 11; i++) {
		p = strchr(p + 1, ' ');
		if (p == NULL)
			return -EPROTO;
	}
	ut = strtoull(p + 1, &end, 10);
	st = strtoull(end, &end, 10);
	*out = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

/* Reads a field of /proc/PID/status given in kB ("VmRSS:", "VmHWM:"),
 * in bytes. */
static int proc_status_bytes(pid_t pid, const char *field, uint64_t *out)
{
	char path[64], line[256];
	size_t n = strlen(field);
	FILE *f;
	int rc = -EPROTO;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, n) == 0) {
			*out = strtoull(line + n, NULL, 10) * 1024;
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

/* The server's resident set now, and its peak (VmHWM). */
static int proc_rss(pid_t pid, uint64_t *out)
{
	return proc_status_bytes(pid, "VmRSS:", out);
}

static int proc_peak_rss(pid_t pid, uint64_t *out)
{
	return proc_status_bytes(pid, "VmHWM:", out);
}

/* ---- results ---------------------------------------------------------- */

static void res_add(struct result *r, const char *key, bool quote,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void res_add(struct result *r, const char *key, bool quote,
		    const char *fmt, ...)
{
	struct kv *kv;
	va_list ap;

	if (r->n == (int)(sizeof(r->kv) / sizeof(r->kv[0])))
		return;
	kv = &r->kv[r->n++];
	snprintf(kv->key, sizeof(kv->key), "%s", key);
	kv->quote = quote;
	va_start(ap, fmt);
	vsnprintf(kv->val, sizeof(kv->val), fmt, ap);
	va_end(ap);
}

static void res_begin(struct result *r, const struct opts *o)
{
	r->n = 0;
	res_add(r, "scenario", true, "%s", scenario_names[o->sc]);
	if (o->label != NULL)
		res_add(r, "server", true, "%s", o->label);
}

/* Values are our own numbers and names: nothing to escape but what a
 * --label might bring, which is replaced. */
static bool res_printed;

static void res_print(const struct result *r, bool json)
{
	int i;

	res_printed = true;
	if (json)
		fputc('{', stdout);
	for (i = 0; i < r->n; i++) {
		const struct kv *kv = &r->kv[i];
		char v[sizeof(kv->val)];
		size_t j;

		snprintf(v, sizeof(v), "%s", kv->val);
		for (j = 0; v[j] != '\0'; j++) {
			if (v[j] == '"' || v[j] == '\\' || v[j] == ' ' ||
			    (unsigned char)v[j] < 0x20)
				v[j] = '_';
		}
		if (json)
			printf("%s\"%s\":%s%s%s", i ? "," : "", kv->key,
			       kv->quote ? "\"" : "", v, kv->quote ? "\"" : "");
		else
			printf("%s%s=%s", i ? " " : "", kv->key, v);
	}
	fputs(json ? "}\n" : "\n", stdout);
	fflush(stdout);
}

/* ---- sequence bitmaps ------------------------------------------------- */

static int seqmap_init(struct seqmap *m, uint64_t nbits)
{
	void *p;

	m->bytes = (size_t)((nbits + 63) / 64 * 8);
	p = mmap(NULL, m->bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	m->w = p;
	m->nbits = nbits;
	return 0;
}

static void seqmap_fini(struct seqmap *m)
{
	if (m->w != NULL)
		munmap(m->w, m->bytes);
	m->w = NULL;
}

/* Returns 1 if seq is new, 0 if it was seen before, -1 if out of range. */
static inline int seqmap_set(struct seqmap *m, uint64_t seq)
{
	uint64_t bit, *w;

	if (seq >= m->nbits)
		return -1;
	w = &m->w[seq / 64];
	bit = 1ull << (seq % 64);
	if (*w & bit)
		return 0;
	*w |= bit;
	return 1;
}

/* Number of bits set among the first n. */
static uint64_t seqmap_count(const struct seqmap *m, uint64_t n)
{
	uint64_t i, c = 0;

	if (n > m->nbits)
		n = m->nbits;
	for (i = 0; i < n / 64; i++)
		c += (uint64_t)__builtin_popcountll(m->w[i]);
	if (n % 64)
		c += (uint64_t)__builtin_popcountll(m->w[n / 64] &
						    ((1ull << (n % 64)) - 1));
	return c;
}

/* ---- shared state and waiting ----------------------------------------- */

static void bench_init(struct bench *b, const struct opts *o)
{
	memset(b, 0, sizeof(*b));
	b->o = o;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
}

static void bench_fini(struct bench *b)
{
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
}

/* Wakes whoever waits for progress. Readers call it after each read, so it
 * costs a lock only while someone is waiting. */
static void bench_notify(struct bench *b)
{
	if (atomic_load(&b->waiters) == 0)
		return;
	pthread_mutex_lock(&b->mu);
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

static void bench_fail(struct bench *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void bench_fail(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&b->mu);
	if (!atomic_load(&b->failed)) {
		va_start(ap, fmt);
		vsnprintf(b->err, sizeof(b->err), fmt, ap);
		va_end(ap);
		atomic_store(&b->failed, true);
		msg("%s", b->err);
	}
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Messages every subscriber has counted (fan-out: the slowest one; queue
 * group: all members together). */
static uint64_t bench_delivered(struct bench *b)
{
	uint64_t v = 0, r;
	int i;

	for (i = 0; i < b->nsubs; i++) {
		r = atomic_load_explicit(&b->subs[i]->received,
					 memory_order_acquire);
		if (b->sum_subs)
			v += r;
		else if (i == 0 || r < v)
			v = r;
	}
	return v;
}

static uint64_t bench_received_total(struct bench *b)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < b->nsubs; i++)
		v += atomic_load_explicit(&b->subs[i]->received,
					  memory_order_relaxed);
	return v;
}

/*
 * Waits until done(arg) is true. progress(arg) is any counter that moves
 * while the run is healthy; if it stays put for o->timeout seconds, gives
 * up. Returns 0, -ETIMEDOUT, or -EIO after a failure.
 */
static int bench_wait(struct bench *b, bool (*done)(void *),
		      uint64_t (*progress)(void *), void *arg)
{
	uint64_t last = progress(arg), cur;
	double since = now_s();
	struct timespec ts;
	int rc = 0;

	atomic_fetch_add(&b->waiters, 1);
	pthread_mutex_lock(&b->mu);
	while (!done(arg)) {
		if (atomic_load(&b->failed)) {
			rc = -EIO;
			break;
		}
		cur = progress(arg);
		if (cur != last) {
			last = cur;
			since = now_s();
		} else if (now_s() - since > b->o->timeout) {
			rc = -ETIMEDOUT;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 2000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&b->cv, &b->mu, &ts);
	}
	pthread_mutex_unlock(&b->mu);
	atomic_fetch_sub(&b->waiters, 1);
	return rc;
}

/* ---- progress on a terminal ------------------------------------------- */

struct progress {
	struct bench *b;
	pthread_t thr;
	bool started;
	_Atomic bool stop;
	double t0;
};

static void *progress_main(void *arg)
{
	struct progress *p = arg;
	uint64_t last = 0, cur;
	double lt = p->t0, t;
	bool shown = false;

	while (!atomic_load(&p->stop)) {
		sleep_ms(100);
		t = now_s();
		if (t - p->t0 < 2.0 || t - lt < 0.5)
			continue;
		cur = p->b->nsubs ? bench_received_total(p->b)
				  : atomic_load(&p->b->sent);
		fprintf(stderr, "\r  %s: %.1fs sent %" PRIu64
			" received %" PRIu64 " (%.0f/s)\033[K",
			scenario_names[p->b->o->sc], t - p->t0,
			(uint64_t)atomic_load(&p->b->sent),
			bench_received_total(p->b),
			(double)(cur - last) / (t - lt));
		last = cur;
		lt = t;
		shown = true;
	}
	if (shown)
		fputs("\r\033[K", stderr);
	return NULL;
}

static void progress_start(struct progress *p, struct bench *b)
{
	memset(p, 0, sizeof(*p));
	p->b = b;
	p->t0 = now_s();
	if (b->o->progress &&
	    pthread_create(&p->thr, NULL, progress_main, p) == 0)
		p->started = true;
}

static void progress_stop(struct progress *p)
{
	if (!p->started)
		return;
	atomic_store(&p->stop, true);
	pthread_join(p->thr, NULL);
	p->started = false;
}

/* ---- TLS (--tls) ------------------------------------------------------ */

static int tls_wait(struct bconn *c, short ev, int timeout_s)
{
	struct pollfd pfd = { .fd = c->fd, .events = ev };
	int r;

	do
		r = poll(&pfd, 1, timeout_s > 0 ? timeout_s * 1000 : -1);
	while (r == -1 && errno == EINTR);
	if (r == 0)
		return -EAGAIN;
	return r == -1 ? -errno : 0;
}

/* read() for either kind of connection: bytes, 0 at EOF, -1 and errno. */
static ssize_t io_read(struct bconn *c, void *buf, size_t len)
{
	int n, e;

	if (c->ssl == NULL)
		return read(c->fd, buf, len);
	for (;;) {
		pthread_mutex_lock(&c->tlock);
		n = SSL_read(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
		e = n > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, n);
		pthread_mutex_unlock(&c->tlock);
		if (n > 0)
			return n;
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			errno = EIO;
			return -1;
		}
		if (tls_wait(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			     c->tmo_s) != 0) {
			errno = EAGAIN;
			return -1;
		}
	}
}

static int io_write_all(struct bconn *c, const char *p, size_t len)
{
	int n, e;

	if (c->ssl == NULL)
		return write_all(c->fd, p, len);
	while (len > 0) {
		pthread_mutex_lock(&c->tlock);
		n = SSL_write(c->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
		e = n > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, n);
		pthread_mutex_unlock(&c->tlock);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			return -EIO;
		}
		if (tls_wait(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			     0) != 0)
			return -EIO;
	}
	return 0;
}

/* TLS has no writev: the iovecs are gathered into one buffer. */
static int io_writev_all(struct bconn *c, struct iovec *iov, int cnt)
{
	size_t total = 0, off = 0;
	char *nb;
	int i;

	if (c->ssl == NULL)
		return writev_all(c->fd, iov, cnt);
	for (i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	if (total > c->wcap) {
		nb = realloc(c->wbuf, total);
		if (nb == NULL)
			return -ENOMEM;
		c->wbuf = nb;
		c->wcap = total;
	}
	for (i = 0; i < cnt; i++) {
		memcpy(c->wbuf + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	return io_write_all(c, c->wbuf, total);
}

static int tls_setup(const char *ca)
{
	tls_ctx = SSL_CTX_new(TLS_client_method());
	if (tls_ctx == NULL)
		return -ENOMEM;
	SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_load_verify_locations(tls_ctx, ca, NULL) != 1) {
		msg("--tls %s: cannot load the CA file", ca);
		return -EINVAL;
	}
	SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, NULL);
	return 0;
}

/* After INFO: the TLS handshake, blocking, then a non-blocking socket. */
static int tls_start(struct bconn *c)
{
	char e[256];

	c->ssl = SSL_new(tls_ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return -ENOMEM;
	if (SSL_connect(c->ssl) != 1) {
		ERR_error_string_n(ERR_get_error(), e, sizeof(e));
		msg("TLS handshake with the server failed: %s", e);
		return -EPROTO;
	}
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

/* ---- connections ------------------------------------------------------ */

static int obuf_reserve(struct bconn *c, size_t more)
{
	size_t cap = c->ocap ? c->ocap : 4096;
	char *p;

	if (c->olen + more <= c->ocap)
		return 0;
	while (cap < c->olen + more)
		cap *= 2;
	p = realloc(c->obuf, cap);
	if (p == NULL)
		return -ENOMEM;
	c->obuf = p;
	c->ocap = cap;
	return 0;
}

static int obuf_append(struct bconn *c, const char *p, size_t len)
{
	if (obuf_reserve(c, len) != 0)
		return -ENOMEM;
	memcpy(c->obuf + c->olen, p, len);
	c->olen += len;
	return 0;
}

static int obuf_flush(struct bconn *c)
{
	int rc;

	if (c->olen == 0)
		return 0;
	pthread_mutex_lock(&c->wlock);
	rc = io_write_all(c, c->obuf, c->olen);
	pthread_mutex_unlock(&c->wlock);
	c->olen = 0;
	return rc;
}

static int conn_write(struct bconn *c, const char *p, size_t len)
{
	int rc;

	pthread_mutex_lock(&c->wlock);
	rc = io_write_all(c, p, len);
	pthread_mutex_unlock(&c->wlock);
	return rc;
}

static void conn_free(struct bconn *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	if (c->fd != -1)
		close(c->fd);
	seqmap_fini(&c->seen);
	pthread_mutex_destroy(&c->wlock);
	pthread_mutex_destroy(&c->tlock);
	free(c->wbuf);
	free(c->rbuf);
	free(c->obuf);
	free(c);
}

static int tcp_connect(const struct opts *o)
{
	struct addrinfo hints = { 0 }, *res, *ai;
	int fd = -1, one = 1, rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(o->host, o->port, &hints, &res);
	if (rc != 0) {
		msg("%s:%s: %s", o->host, o->port, gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		rc = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		msg("connect %s:%s: %s", o->host, o->port,
		    strerror(rc ? -rc : ECONNREFUSED));
		return rc ? rc : -ECONNREFUSED;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void set_rcvtimeo(struct bconn *c, int seconds)
{
	struct timeval tv = { seconds, 0 };

	c->tmo_s = seconds;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/*
 * Returns the next line (without CR LF) from c's buffer, reading more as
 * needed; *len gets its length. The line stays valid until the next call.
 * Used only before the reader thread runs. Returns NULL on error or EOF.
 */
static char *conn_read_line(struct bconn *c, size_t *consumed, size_t *len)
{
	char *nl;
	ssize_t n;

	if (*consumed > 0) {
		memmove(c->rbuf, c->rbuf + *consumed, c->rlen - *consumed);
		c->rlen -= *consumed;
		*consumed = 0;
	}
	while ((nl = memchr(c->rbuf, '\n', c->rlen)) == NULL) {
		if (c->rlen == c->rcap)
			return NULL;
		n = io_read(c, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		c->rlen += (size_t)n;
	}
	*consumed = (size_t)(nl - c->rbuf) + 1;
	*len = (size_t)(nl - c->rbuf);
	if (*len > 0 && c->rbuf[*len - 1] == '\r')
		(*len)--;
	return c->rbuf;
}

/* Reads lines until PONG; -ERR or anything but INFO, PING, +OK fails. */
static int conn_wait_pong(struct bconn *c)
{
	size_t used = 0, len;
	char *l;

	for (;;) {
		l = conn_read_line(c, &used, &len);
		if (l == NULL) {
			msg("server closed the connection or timed out "
			    "during setup");
			return -EIO;
		}
		if (len == 4 && memcmp(l, "PONG", 4) == 0)
			break;
		if (len == 4 && memcmp(l, "PING", 4) == 0) {
			if (io_write_all(c, "PONG\r\n", 6) != 0)
				return -EIO;
			continue;
		}
		if (len >= 4 && memcmp(l, "INFO", 4) == 0)
			continue;
		if (len == 3 && memcmp(l, "+OK", 3) == 0)
			continue;
		msg("server: %.*s", (int)len, l);
		return -EPROTO;
	}
	memmove(c->rbuf, c->rbuf + used, c->rlen - used);
	c->rlen -= used;
	return 0;
}

static const char connect_line[] =
	"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,"
	"\"protocol\":1,\"name\":\"natsd-bench\",\"lang\":\"c\","
	"\"version\":\"1\"}\r\nPING\r\n";

/* Reads INFO, sends CONNECT and PING, waits for PONG. */
static int conn_handshake(struct bconn *c)
{
	size_t used = 0, len;
	const char *mp;
	char *l;

	l = conn_read_line(c, &used, &len);
	if (l == NULL || len < 5 || memcmp(l, "INFO ", 5) != 0) {
		msg("no INFO from the server");
		return -EPROTO;
	}
	l[len] = '\0';
	mp = strstr(l, "\"max_payload\":");
	c->max_payload = mp ? strtoul(mp + 14, NULL, 10) : 1024 * 1024;
	memmove(c->rbuf, c->rbuf + used, c->rlen - used);
	c->rlen -= used;
	if (tls_ctx != NULL && tls_start(c) != 0)
		return -EPROTO;
	if (io_write_all(c, connect_line, sizeof(connect_line) - 1) != 0)
		return -EIO;
	return conn_wait_pong(c);
}

/* Opens a connection and completes the handshake. rcap is the size of its
 * read buffer. Returns NULL with a message on failure. */
static struct bconn *conn_open(struct bench *b, enum role role, size_t rcap)
{
	struct bconn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->fd = -1;
	c->b = b;
	c->role = role;
	pthread_mutex_init(&c->wlock, NULL);
	pthread_mutex_init(&c->tlock, NULL);
	c->rcap = rcap;
	c->rbuf = malloc(rcap);
	if (c->rbuf == NULL)
		goto out_free;
	c->fd = tcp_connect(b->o);
	if (c->fd < 0)
		goto out_free;
	set_rcvtimeo(c, HANDSHAKE_TIMEOUT);
	if (conn_handshake(c) != 0)
		goto out_free;
	return c;

out_free:
	conn_free(c);
	return NULL;
}

/* ---- the frame parser ------------------------------------------------- */

/*
 * Reads the size (and for HMSG the header size) from the end of a MSG or
 * HMSG control line [p, e). Returns 0, or -EPROTO.
 */
static int parse_sizes(const char *p, const char *e, bool hmsg,
		       uint64_t *total, uint64_t *hdr)
{
	uint64_t v = 0, mul = 1;
	const char *q = e;

	while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
		q--;
	while (q > p && q[-1] >= '0' && q[-1] <= '9') {
		v += (uint64_t)(q[-1] - '0') * mul;
		mul *= 10;
		q--;
	}
	if (mul == 1 || mul > 1000000000000ull)
		return -EPROTO;
	*total = v;
	*hdr = 0;
	if (!hmsg)
		return 0;
	v = 0;
	mul = 1;
	while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
		q--;
	while (q > p && q[-1] >= '0' && q[-1] <= '9') {
		v += (uint64_t)(q[-1] - '0') * mul;
		mul *= 10;
		q--;
	}
	if (mul == 1 || v > *total)
		return -EPROTO;
	*hdr = v;
	return 0;
}

/* Splits the control line [p, e) into at most max tokens. */
static int split_tokens(const char *p, const char *e, const char **tok,
			size_t *tlen, int max)
{
	int n = 0;

	while (p < e && n < max) {
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p == e)
			break;
		tok[n] = p;
		while (p < e && *p != ' ' && *p != '\t')
			p++;
		tlen[n] = (size_t)(p - tok[n]);
		n++;
	}
	return n;
}

/* Answers a request on the responder: PUB <reply> <len> with the same
 * payload, queued in obuf and written after the whole read is parsed. */
static int respond(struct bconn *c, const char *line, const char *le,
		   const char *payload, uint64_t len)
{
	const char *tok[6];
	size_t tlen[6], n = 0;
	int nt;
	char *w;

	/* MSG <subject> <sid> <reply> <size>, HMSG with one more size. */
	nt = split_tokens(line, le, tok, tlen, 6);
	if (nt != (line[0] == 'H' ? 6 : 5))
		return -EPROTO;
	if (obuf_reserve(c, tlen[3] + 32 + len) != 0)
		return -ENOMEM;
	w = c->obuf + c->olen;
	memcpy(w, "PUB ", 4);
	n = 4;
	memcpy(w + n, tok[3], tlen[3]);
	n += tlen[3];
	w[n++] = ' ';
	n += put_u64(w + n, len);
	memcpy(w + n, "\r\n", 2);
	n += 2;
	memcpy(w + n, payload, len);
	n += len;
	memcpy(w + n, "\r\n", 2);
	c->olen += n + 2;
	return 0;
}

static int on_msg(struct bconn *c, const char *line, const char *le,
		  const char *payload, uint64_t len)
{
	uint64_t seq;

	c->nrecv++;
	if (len < SEQ_BYTES) {
		c->bad++;
		return 0;
	}
	memcpy(&seq, payload, SEQ_BYTES);
	switch (c->role) {
	case ROLE_SUB:
		switch (seqmap_set(&c->seen, seq)) {
		case 0:
			c->dups++;
			break;
		case -1:
			c->bad++;
			break;
		default:
			break;
		}
		return 0;
	case ROLE_RESPONDER:
		return respond(c, line, le, payload, len);
	case ROLE_REQUESTER:
		c->last_seq = seq;
		c->got_reply = true;
		return 0;
	default:
		c->bad++;
		return 0;
	}
}

static void on_err(struct bconn *c, const char *p, const char *e)
{
	bench_fail(c->b, "server: %.*s", (int)(e - p), p);
}

/*
 * Handles every complete frame at the start of c->rbuf. Returns the number
 * of bytes consumed, or a negative code on a protocol error. MSG frames are
 * sized from the end of their control line: the subject and sid are never
 * looked at unless a reply is needed.
 */
static ssize_t conn_parse(struct bconn *c)
{
	char *p = c->rbuf, *end = c->rbuf + c->rlen, *nl, *le;
	uint64_t total, hdr;
	size_t need;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		le = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
		switch (p[0]) {
		case 'M':
		case 'H':
			if (parse_sizes(p, le, p[0] == 'H', &total, &hdr) != 0)
				return -EPROTO;
			need = (size_t)(nl + 1 - p) + total + 2;
			if ((size_t)(end - p) < need)
				goto incomplete;
			if (on_msg(c, p, le, nl + 1 + hdr, total - hdr) != 0)
				return -EPROTO;
			p += need;
			continue;
		case 'P':
			if (p[1] == 'I' &&
			    obuf_append(c, "PONG\r\n", 6) != 0)
				return -ENOMEM;
			if (p[1] == 'O')
				atomic_fetch_add(&c->pongs, 1);
			break;
		case '-':
			on_err(c, p, le);
			break;
		case '+':
		case 'I':
			break;
		default:
			return -EPROTO;
		}
		p = nl + 1;
	}
incomplete:
	return p - c->rbuf;
}

/* Reads once and parses what came in. Returns 0, or a negative code with
 * -ECONNRESET for end of stream. */
static int conn_read_parse(struct bconn *c)
{
	ssize_t n, used;
	size_t cap;
	char *p;

	if (c->rlen == c->rcap) {
		cap = c->rcap * 2;
		if (cap > RBUF_MAX)
			return -E2BIG;
		p = realloc(c->rbuf, cap);
		if (p == NULL)
			return -ENOMEM;
		c->rbuf = p;
		c->rcap = cap;
	}
	n = io_read(c, c->rbuf + c->rlen, c->rcap - c->rlen);
	if (n == -1)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	c->nreads++;
	c->nbytes += (uint64_t)n;
	c->rlen += (size_t)n;
	used = conn_parse(c);
	if (used < 0)
		return (int)used;
	if ((size_t)used < c->rlen)
		memmove(c->rbuf, c->rbuf + used, c->rlen - (size_t)used);
	c->rlen -= (size_t)used;
	atomic_store_explicit(&c->received, c->nrecv, memory_order_release);
	return obuf_flush(c);
}

static void *reader_main(void *arg)
{
	struct bconn *c = arg;
	int rc;

	for (;;) {
		rc = conn_read_parse(c);
		if (rc != 0) {
			if (!atomic_load(&c->stopping))
				bench_fail(c->b, "%s", rc == -ECONNRESET ?
					   "server closed a connection" :
					   rc == -EPROTO ?
					   "protocol error from the server" :
					   strerror(-rc));
			break;
		}
		bench_notify(c->b);
	}
	bench_notify(c->b);
	return NULL;
}

static int conn_start_reader(struct bconn *c)
{
	int rc;

	set_rcvtimeo(c, 0);
	/* Frames left over from the handshake are parsed by the first read. */
	rc = pthread_create(&c->thr, NULL, reader_main, c);
	if (rc != 0)
		return -rc;
	c->thr_started = true;
	return 0;
}

static void conn_stop(struct bconn *c)
{
	if (c == NULL)
		return;
	atomic_store(&c->stopping, true);
	shutdown(c->fd, SHUT_RDWR);
	if (c->thr_started)
		pthread_join(c->thr, NULL);
	c->thr_started = false;
}

/* ---- subscriptions ---------------------------------------------------- */

/*
 * The subject table of the sublist scenarios: of n entries, 80% literal,
 * 10% matched through a `*` and 10% through a `>`. Each published subject
 * matches exactly one subscription, so deliveries equal publishes; every
 * literal publish still walks the `*` branch at the second level.
 */
static void sublist_entry(uint32_t k, uint32_t n, char *subj, size_t ssz,
			  char *sub, size_t bsz)
{
	uint32_t lit = n / 10 * 8, star = n / 10;

	if (k < lit) {
		snprintf(subj, ssz, "bench.%u.v", k);
		snprintf(sub, bsz, "bench.%u.v", k);
	} else if (k < lit + star) {
		snprintf(subj, ssz, "bench.%u.s%u", k, k);
		snprintf(sub, bsz, "bench.*.s%u", k);
	} else {
		snprintf(subj, ssz, "bench.g%u.a.b", k);
		snprintf(sub, bsz, "bench.g%u.>", k);
	}
}

/* Sends all subscriptions of the sublist table on c, then PING, and waits
 * for the PONG. */
static int subscribe_table(struct bconn *c, uint32_t n)
{
	char subj[64], sub[64], *buf;
	size_t len = 0, cap = 1 << 20;
	uint32_t k;
	int rc = 0, w;

	buf = malloc(cap);
	if (buf == NULL)
		return -ENOMEM;
	for (k = 0; k < n && rc == 0; k++) {
		sublist_entry(k, n, subj, sizeof(subj), sub, sizeof(sub));
		w = snprintf(buf + len, cap - len, "SUB %s %u\r\n", sub, k + 1);
		len += (size_t)w;
		if (cap - len < 256 || k + 1 == n) {
			rc = io_write_all(c, buf, len);
			len = 0;
		}
	}
	free(buf);
	if (rc == 0)
		rc = io_write_all(c, "PING\r\n", 6);
	return rc == 0 ? conn_wait_pong(c) : rc;
}

static int subscribe(struct bconn *c, const char *subj, const char *queue,
		     int sid)
{
	char line[256];
	int n;

	n = snprintf(line, sizeof(line), "SUB %s%s%s %d\r\nPING\r\n", subj,
		     queue ? " " : "", queue ? queue : "", sid);
	if (io_write_all(c, line, (size_t)n) != 0)
		return -EIO;
	return conn_wait_pong(c);
}

/* ---- publishing ------------------------------------------------------- */

struct publisher {
	struct bconn *c;
	char *hdrs;		/* "PUB <subject> <size>\r\n" per subject */
	uint32_t *hoff;		/* nsubj + 1 offsets into hdrs */
	uint32_t nsubj;
	size_t size;
	size_t max_frame;
	char *payload;		/* size bytes then CR LF */
	char *buf;		/* small payloads: the batch */
	size_t cap;
	struct iovec *iov;	/* large payloads */
	uint64_t *seqs;
	uint64_t batch;		/* messages per write */
	uint64_t window;
	uint64_t pings;
};

static int publisher_init(struct publisher *p, struct bconn *c,
			  const struct opts *o, uint32_t nsubj,
			  const char *subject, uint64_t window)
{
	char subj[64], sub[64];
	size_t cap = 0, len = 0, hl;
	uint32_t k;
	size_t i;

	memset(p, 0, sizeof(*p));
	p->c = c;
	p->nsubj = nsubj;
	p->size = o->size;
	p->hoff = calloc(nsubj + 1, sizeof(*p->hoff));
	p->payload = malloc(o->size + 2);
	if (p->hoff == NULL || p->payload == NULL)
		return -ENOMEM;
	for (i = 0; i < o->size; i++)
		p->payload[i] = (char)('a' + i % 26);
	memcpy(p->payload + o->size, "\r\n", 2);
	for (k = 0; k < nsubj; k++) {
		if (cap - len < 128 + BENCH_HDR_LEN) {
			char *n2;

			cap = cap ? cap * 2 : 4096;
			n2 = realloc(p->hdrs, cap);
			if (n2 == NULL)
				return -ENOMEM;
			p->hdrs = n2;
		}
		if (subject != NULL)
			snprintf(subj, sizeof(subj), "%s", subject);
		else
			sublist_entry(k, nsubj, subj, sizeof(subj), sub,
				      sizeof(sub));
		if (o->headers)
			hl = (size_t)snprintf(p->hdrs + len, cap - len,
					      "HPUB %s %zu %zu\r\n%s", subj,
					      BENCH_HDR_LEN,
					      BENCH_HDR_LEN + o->size,
					      bench_hdr);
		else
			hl = (size_t)snprintf(p->hdrs + len, cap - len,
					      "PUB %s %zu\r\n", subj, o->size);
		p->hoff[k] = (uint32_t)len;
		len += hl;
		if (hl + o->size + 2 > p->max_frame)
			p->max_frame = hl + o->size + 2;
	}
	p->hoff[nsubj] = (uint32_t)len;
	p->window = window;
	p->batch = o->batch_bytes / p->max_frame;
	if (o->size >= LARGE_PAYLOAD && p->batch > IOV_BATCH)
		p->batch = IOV_BATCH;
	if (p->batch > window / 2)
		p->batch = window / 2;
	if (p->batch == 0)
		p->batch = 1;
	if (o->size >= LARGE_PAYLOAD) {
		p->iov = calloc(p->batch * 3 + 1, sizeof(*p->iov));
		p->seqs = calloc(p->batch, sizeof(*p->seqs));
		return p->iov && p->seqs ? 0 : -ENOMEM;
	}
	p->cap = p->batch * p->max_frame + 8;
	p->buf = malloc(p->cap);
	return p->buf ? 0 : -ENOMEM;
}

static void publisher_fini(struct publisher *p)
{
	free(p->hdrs);
	free(p->hoff);
	free(p->payload);
	free(p->buf);
	free(p->iov);
	free(p->seqs);
}

/* Writes messages seq .. seq+n-1 and a PING in one write. */
static int publish_batch(struct publisher *p, uint64_t seq, uint64_t n)
{
	uint32_t k = (uint32_t)(seq % p->nsubj);
	size_t hl, len = 0;
	uint64_t i;
	int cnt = 0, rc;
	char *w = p->buf;

	for (i = 0; i < n; i++, seq++) {
		hl = p->hoff[k + 1] - p->hoff[k];
		if (p->iov != NULL) {
			p->seqs[i] = seq;
			p->iov[cnt++] = (struct iovec){ p->hdrs + p->hoff[k],
							hl };
			p->iov[cnt++] = (struct iovec){ &p->seqs[i],
							SEQ_BYTES };
			p->iov[cnt++] = (struct iovec){
				p->payload + SEQ_BYTES,
				p->size - SEQ_BYTES + 2 };
		} else {
			memcpy(w + len, p->hdrs + p->hoff[k], hl);
			len += hl;
			memcpy(w + len, &seq, SEQ_BYTES);
			memcpy(w + len + SEQ_BYTES, p->payload + SEQ_BYTES,
			       p->size - SEQ_BYTES + 2);
			len += p->size + 2;
		}
		if (++k == p->nsubj)
			k = 0;
	}
	p->pings++;
	if (p->iov == NULL) {
		memcpy(w + len, "PING\r\n", 6);
		return conn_write(p->c, w, len + 6);
	}
	p->iov[cnt++] = (struct iovec){ (char *)"PING\r\n", 6 };
	pthread_mutex_lock(&p->c->wlock);
	rc = io_writev_all(p->c, p->iov, cnt);
	pthread_mutex_unlock(&p->c->wlock);
	return rc;
}

struct flow {
	struct bench *b;
	struct publisher *p;
	uint64_t seq;		/* next to publish */
	uint64_t want;		/* messages about to be published */
};

static bool flow_ready(void *arg)
{
	struct flow *f = arg;
	uint64_t del, inflight = 0;

	if (f->p->pings - atomic_load(&f->p->c->pongs) >=
	    (uint64_t)f->b->o->max_pings)
		return false;
	if (f->b->nsubs == 0)
		return true;
	del = bench_delivered(f->b);
	if (f->seq > del)
		inflight = f->seq - del;
	return inflight + f->want <= f->p->window;
}

static uint64_t flow_progress(void *arg)
{
	struct flow *f = arg;

	return bench_received_total(f->b) + atomic_load(&f->p->c->pongs);
}

static bool flow_done(void *arg)
{
	struct flow *f = arg;

	return atomic_load(&f->p->c->pongs) >= f->p->pings &&
	       (f->b->nsubs == 0 || bench_delivered(f->b) >= f->seq);
}

/*
 * Publishes total messages (or, with a duration, as many as fit in it),
 * then waits until the server answered every PING and the subscribers
 * counted every message. Returns the number published in *sent and the
 * time from first write to last delivery in *elapsed.
 */
static int publish_run(struct bench *b, struct publisher *p, uint64_t total,
		       double duration, uint64_t *sent, double *elapsed)
{
	struct flow f = { b, p, 0, 0 };
	double t0 = now_s();
	int rc = 0;

	for (;;) {
		if (duration > 0 && now_s() - t0 >= duration)
			break;
		if (f.seq >= total)
			break;
		f.want = total - f.seq < p->batch ? total - f.seq : p->batch;
		if (!flow_ready(&f)) {
			rc = bench_wait(b, flow_ready, flow_progress, &f);
			if (rc != 0)
				break;
		}
		rc = publish_batch(p, f.seq, f.want);
		if (rc != 0) {
			bench_fail(b, "publish: %s", strerror(-rc));
			break;
		}
		f.seq += f.want;
		atomic_store(&b->sent, f.seq);
	}
	if (rc == 0)
		rc = bench_wait(b, flow_done, flow_progress, &f);
	*elapsed = now_s() - t0;
	*sent = f.seq;
	if (rc == -ETIMEDOUT)
		msg("no progress for %.0f s: %" PRIu64 " sent, %" PRIu64
		    " counted by the slowest subscriber",
		    b->o->timeout, f.seq, bench_delivered(b));
	return rc;
}

/* ---- pub, pubsub, fanout, queue, sublist ------------------------------ */

struct tally {
	uint64_t deliveries, lost, dups, bad, reads, bytes;
};

/* Counts loss and duplicates against sent messages. */
static int tally_subs(struct bench *b, uint64_t sent, struct tally *t)
{
	struct seqmap u = { 0 };
	uint64_t uniq = 0, sum = 0, n;
	size_t w;
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < b->nsubs; i++) {
		t->deliveries += b->subs[i]->nrecv;
		t->reads += b->subs[i]->nreads;
		t->bytes += b->subs[i]->nbytes;
		t->dups += b->subs[i]->dups;
		t->bad += b->subs[i]->bad;
	}
	if (b->nsubs == 0)
		return 0;
	if (!b->sum_subs) {
		for (i = 0; i < b->nsubs; i++)
			t->lost += sent - seqmap_count(&b->subs[i]->seen, sent);
		return 0;
	}
	/* A queue group: each message to exactly one member. */
	if (seqmap_init(&u, sent ? sent : 1) != 0)
		return -ENOMEM;
	for (i = 0; i < b->nsubs; i++) {
		n = seqmap_count(&b->subs[i]->seen, sent);
		sum += n;
		for (w = 0; w < u.bytes / 8; w++)
			u.w[w] |= b->subs[i]->seen.w[w];
	}
	uniq = seqmap_count(&u, sent);
	seqmap_fini(&u);
	t->dups += sum - uniq;
	t->lost = sent - uniq;
	return 0;
}

static uint64_t default_msgs(const struct opts *o, uint64_t fan)
{
	uint64_t n = 5000000 / fan, cap = (2ull << 30) / o->size;

	if (o->sc == SC_SUBLIST)
		n = 2000000;
	return n < cap ? n : cap;
}

/* Opens the receiving connections of a scenario and subscribes them. */
static int open_subs(struct bench *b, int nsubs, uint64_t mapbits)
{
	const struct opts *o = b->o;
	struct bconn *c;
	int i, rc;

	b->subs = calloc((size_t)nsubs, sizeof(*b->subs));
	if (b->subs == NULL)
		return -ENOMEM;
	for (i = 0; i < nsubs; i++) {
		c = conn_open(b, ROLE_SUB, RBUF_BIG);
		if (c == NULL)
			return -EIO;
		b->subs[b->nsubs++] = c;
		rc = seqmap_init(&c->seen, mapbits);
		if (rc != 0)
			return rc;
		if (o->sc == SC_SUBLIST)
			rc = subscribe_table(c, (uint32_t)o->subs);
		else
			rc = subscribe(c, "bench.data",
				       o->sc == SC_QUEUE ? "bench.q" : NULL, 1);
		if (rc != 0)
			return rc;
	}
	/* Readers start only once all are subscribed: conn_wait_pong()
	 * reads on the thread that set up the connection. */
	for (i = 0; i < b->nsubs; i++) {
		rc = conn_start_reader(b->subs[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static void close_subs(struct bench *b)
{
	int i;

	for (i = 0; i < b->nsubs; i++)
		conn_stop(b->subs[i]);
	for (i = 0; i < b->nsubs; i++)
		conn_free(b->subs[i]);
	free(b->subs);
	b->subs = NULL;
	b->nsubs = 0;
}

/* CPU seconds this process has used so far, all threads. */
static double self_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Adds the server's CPU time since cpu0 (and the rate per CPU-second), and
 * ours since self0: on a small machine the generator competes with the
 * server, and this shows by how much. */
static void add_cpu(struct result *r, const struct opts *o, double cpu0,
		    double self0, uint64_t count, const char *per)
{
	double cpu1, cpu;
	char key[48];

	res_add(r, "bench_cpu_s", false, "%.2f", self_cpu() - self0);

	if (o->pid == 0 || proc_cpu(o->pid, &cpu1) != 0)
		return;
	cpu = cpu1 - cpu0;
	res_add(r, "server_cpu_s", false, "%.2f", cpu);
	snprintf(key, sizeof(key), "cpu_s_per_m%s", per);
	res_add(r, key, false, "%.4f",
		count ? cpu / ((double)count / 1e6) : 0.0);
	snprintf(key, sizeof(key), "%ss_per_cpu_s", per);
	res_add(r, key, false, "%.0f", cpu > 0 ? (double)count / cpu : 0.0);
}

/*
 * --stalled: subscribers on the flow's subject that never read, so that
 * once the socket buffers are full the server's queue for each grows
 * until it cuts the subscriber off as a slow consumer. (Their receive
 * buffers keep the default size: a tiny window drains so slowly at the
 * end, through the peer's backed-off zero-window probes, that the
 * server's close could not be seen in time.) The others' rate, with
 * and without them, shows whether one stalled subscriber slows the rest.
 */
static int open_stalled(struct bench *b, struct bconn **st, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		st[i] = conn_open(b, ROLE_IDLE, RBUF_SMALL);
		if (st[i] == NULL)
			return -EIO;
		if (subscribe(st[i], "bench.data", NULL, 1) != 0)
			return -EIO;
	}
	return 0;
}

/* How many of the stalled subscribers the server closed: each is read
 * to its end, for at most a few seconds in all (an open one that was
 * not cut off may hold up to the server's max_pending). */
static int count_cut(struct bconn **st, int n)
{
	char buf[65536];
	double end = now_s() + 3.0;
	struct pollfd pfd;
	int i, cut = 0;
	ssize_t r;

	for (i = 0; i < n; i++) {
		pfd.fd = st[i]->fd;
		pfd.events = POLLIN;
		/* Gaps are normal: after a long zero window the peer's
		 * probes back off. */
		while (now_s() < end) {
			if (poll(&pfd, 1, 100) != 1)
				continue;
			r = recv(st[i]->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno == ECONNRESET)) {
				cut++;
				break;
			}
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				break;
		}
	}
	return cut;
}

static int run_flow(const struct opts *o)
{
	struct bench b;
	struct publisher p = { 0 };
	struct bconn *pc = NULL;
	struct progress prog;
	struct tally t = { 0 };
	struct result r;
	struct bconn *stalled[BENCH_STALLED_MAX] = { NULL };
	uint64_t total, sent = 0, window, fan, peak = 0;
	double elapsed = 0, cpu0 = 0, self0;
	int nsubs, rc;

	bench_init(&b, o);
	nsubs = o->sc == SC_PUB ? 0 :
		o->sc == SC_PUBSUB || o->sc == SC_SUBLIST ? 1 : o->subs;
	b.sum_subs = o->sc == SC_QUEUE;
	fan = o->sc == SC_FANOUT ? (uint64_t)o->subs : 1;
	total = o->msgs ? o->msgs :
		o->duration > 0 ? SEQMAP_DURATION : default_msgs(o, fan);
	window = o->window ? o->window :
		 o->window_bytes / (o->size + 48) + 1;
	if (window < 2)
		window = 2;
	rc = open_subs(&b, nsubs, total);
	if (rc == 0)
		rc = open_stalled(&b, stalled, o->stalled);
	if (rc != 0)
		goto out;
	pc = conn_open(&b, ROLE_PUB, RBUF_SMALL);
	if (pc == NULL) {
		rc = -EIO;
		goto out;
	}
	if (o->size > pc->max_payload) {
		msg("--size %zu is over the server's max_payload %zu", o->size,
		    pc->max_payload);
		rc = -EINVAL;
		goto out;
	}
	rc = publisher_init(&p, pc, o,
			    o->sc == SC_SUBLIST ? (uint32_t)o->subs : 1,
			    o->sc == SC_SUBLIST ? NULL : "bench.data", window);
	if (rc == 0)
		rc = conn_start_reader(pc);
	if (rc != 0)
		goto out;
	if (o->pid)
		proc_cpu(o->pid, &cpu0);
	self0 = self_cpu();
	progress_start(&prog, &b);
	rc = publish_run(&b, &p, total, o->duration, &sent, &elapsed);
	progress_stop(&prog);

	res_begin(&r, o);
	res_add(&r, "size", false, "%zu", o->size);
	if (o->headers)
		res_add(&r, "headers", false, "%zu", BENCH_HDR_LEN);
	if (nsubs > 0)
		res_add(&r, "subs", false, "%d",
			o->sc == SC_SUBLIST ? o->subs : nsubs);
	res_add(&r, "msgs", false, "%" PRIu64, sent);
	res_add(&r, "elapsed_s", false, "%.3f", elapsed);
	res_add(&r, "msgs_per_s", false, "%.0f", (double)sent / elapsed);
	add_cpu(&r, o, cpu0, self0, sent, "msg");

	/* Stop the readers before reading their counters and bitmaps. */
	conn_stop(pc);
	for (int i = 0; i < b.nsubs; i++)
		conn_stop(b.subs[i]);
	if (tally_subs(&b, sent, &t) != 0)
		rc = -ENOMEM;
	if (nsubs > 0)
		res_add(&r, "deliveries_per_s", false, "%.0f",
			(double)t.deliveries / elapsed);
	res_add(&r, "mb_per_s", false, "%.1f",
		(double)(nsubs ? t.deliveries : sent) * (double)o->size /
			elapsed / 1e6);
	res_add(&r, "deliveries", false, "%" PRIu64, t.deliveries);
	res_add(&r, "lost", false, "%" PRIu64, t.lost);
	res_add(&r, "dup", false, "%" PRIu64, t.dups);
	if (t.bad)
		res_add(&r, "bad", false, "%" PRIu64, t.bad);
	if (t.reads)
		res_add(&r, "sub_bytes_per_read", false, "%.0f",
			(double)t.bytes / (double)t.reads);
	if (o->stalled > 0) {
		res_add(&r, "stalled", false, "%d", o->stalled);
		res_add(&r, "stalled_cut", false, "%d",
			count_cut(stalled, o->stalled));
	}
	if (o->pid && proc_peak_rss(o->pid, &peak) == 0)
		res_add(&r, "server_peak_mb", false, "%.1f",
			(double)peak / 1e6);
	if (rc == 0 && (t.lost || t.dups || t.bad))
		rc = -EPROTO;
	res_add(&r, "status", true, "%s", rc == 0 ? "ok" :
		rc == -EPROTO ? "loss" : "error");
	res_print(&r, o->json);
out:
	for (int i = 0; i < o->stalled; i++)
		conn_free(stalled[i]);
	conn_free(pc);
	publisher_fini(&p);
	close_subs(&b);
	bench_fini(&b);
	return rc;
}

/* ---- request/reply ---------------------------------------------------- */

struct requester {
	struct bench *b;
	struct bconn *c;
	int id;
	uint64_t count;		/* requests to make; 0: until deadline */
	double deadline;
	uint64_t *lat;		/* latencies in ns, when recording */
	uint64_t lat_cap;
	uint64_t done;
	uint64_t mismatched;
	pthread_t thr;
	int rc;
};

static int request_once(struct requester *q, char *req, size_t len,
			size_t seq_off, uint64_t seq, uint64_t *ns)
{
	struct bconn *c = q->c;
	uint64_t t0;
	int rc;

	memcpy(req + seq_off, &seq, SEQ_BYTES);
	c->got_reply = false;
	t0 = now_ns();
	rc = io_write_all(c, req, len);
	while (rc == 0 && !c->got_reply)
		rc = conn_read_parse(c);
	*ns = now_ns() - t0;
	if (rc != 0)
		return rc;
	if (c->last_seq != seq)
		q->mismatched++;
	return 0;
}

static void *requester_main(void *arg)
{
	struct requester *q = arg;
	const struct opts *o = q->b->o;
	char *req, inbox[64];
	size_t len, off;
	uint64_t i, ns;
	int rc = 0;

	req = malloc(o->size + 160 + BENCH_HDR_LEN);
	if (req == NULL) {
		q->rc = -ENOMEM;
		return NULL;
	}
	snprintf(inbox, sizeof(inbox), "bench.rep.%d", q->id);
	if (o->headers)
		off = (size_t)snprintf(req, 160 + BENCH_HDR_LEN,
				       "HPUB bench.req %s %zu %zu\r\n%s", inbox,
				       BENCH_HDR_LEN, BENCH_HDR_LEN + o->size,
				       bench_hdr);
	else
		off = (size_t)snprintf(req, 160, "PUB bench.req %s %zu\r\n",
				       inbox, o->size);
	memset(req + off, 'r', o->size);
	memcpy(req + off + o->size, "\r\n", 2);
	len = off + o->size + 2;
	for (i = 0; q->count == 0 || i < q->count; i++) {
		if (q->count == 0 && (i & 15) == 0 && now_s() >= q->deadline)
			break;
		if (atomic_load(&q->b->failed))
			break;
		rc = request_once(q, req, len, off, i, &ns);
		if (rc != 0)
			break;
		if (i < q->lat_cap)
			q->lat[i] = ns;
		q->done++;
		atomic_fetch_add_explicit(&q->b->sent, 1, memory_order_relaxed);
	}
	if (rc != 0)
		bench_fail(q->b, "request %" PRIu64 " on requester %d: %s", i,
			   q->id, rc == -EAGAIN ? "no reply in time" :
			   rc == -ECONNRESET ? "server closed the connection" :
			   strerror(-rc));
	q->rc = rc;
	free(req);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_us(const uint64_t *v, uint64_t n, double q)
{
	uint64_t i;

	if (n == 0)
		return 0;
	i = (uint64_t)(q * (double)(n - 1) + 0.5);
	return (double)v[i] / 1000.0;
}

static void add_latency(struct result *r, uint64_t *lat, uint64_t n)
{
	double sum = 0;
	uint64_t i;

	if (n == 0)
		return;
	qsort(lat, n, sizeof(*lat), cmp_u64);
	for (i = 0; i < n; i++)
		sum += (double)lat[i];
	res_add(r, "p50_us", false, "%.1f", pct_us(lat, n, 0.50));
	res_add(r, "p90_us", false, "%.1f", pct_us(lat, n, 0.90));
	res_add(r, "p99_us", false, "%.1f", pct_us(lat, n, 0.99));
	res_add(r, "p99_9_us", false, "%.1f", pct_us(lat, n, 0.999));
	res_add(r, "max_us", false, "%.1f", (double)lat[n - 1] / 1000.0);
	res_add(r, "mean_us", false, "%.1f", sum / (double)n / 1000.0);
}

static int open_responders(struct bench *b, int n)
{
	struct bconn *c;
	int i, rc;

	b->subs = calloc((size_t)n, sizeof(*b->subs));
	if (b->subs == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		c = conn_open(b, ROLE_RESPONDER, RBUF_BIG);
		if (c == NULL)
			return -EIO;
		b->subs[b->nsubs++] = c;
		rc = subscribe(c, "bench.req", n > 1 ? "bench.rq" : NULL, 1);
		if (rc == 0)
			rc = conn_start_reader(c);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* A requester keeps its socket: replies are read on its own thread, with a
 * receive timeout so that a lost reply ends the run instead of hanging. */
static int open_requester(struct bench *b, struct requester *q, int id)
{
	char inbox[64];
	int rc;

	q->b = b;
	q->id = id;
	q->c = conn_open(b, ROLE_REQUESTER, 65536 + b->o->size * 2);
	if (q->c == NULL)
		return -EIO;
	snprintf(inbox, sizeof(inbox), "bench.rep.%d", id);
	rc = subscribe(q->c, inbox, NULL, 1);
	if (rc == 0)
		set_rcvtimeo(q->c, (int)b->o->timeout + 1);
	return rc;
}

static int run_reqrep(const struct opts *o)
{
	bool lat = o->sc == SC_REQREP_LAT;
	int nreq = lat ? 1 : o->clients, i, rc, started = 0;
	uint64_t total, done = 0, mism = 0, nlat = 0, per;
	struct requester *q;
	struct progress prog;
	struct result r;
	struct bench b;
	double t0, elapsed, cpu0 = 0, self0;

	bench_init(&b, o);
	total = o->msgs ? o->msgs : o->duration > 0 ? 0 : lat ? 20000 : 200000;
	q = calloc((size_t)nreq, sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	rc = open_responders(&b, lat ? 1 : o->responders);
	for (i = 0; rc == 0 && i < nreq; i++)
		rc = open_requester(&b, &q[i], i);
	if (rc != 0)
		goto out;
	/* A few hundred requests first, so connections and caches are warm. */
	if (lat) {
		q[0].count = 500;
		requester_main(&q[0]);
		if (q[0].rc != 0 || q[0].mismatched) {
			rc = q[0].rc ? q[0].rc : -EPROTO;
			goto out;
		}
		q[0].done = 0;
		atomic_store(&b.sent, 0);
	}
	per = total / (uint64_t)nreq;
	for (i = 0; i < nreq; i++) {
		q[i].count = total ? per + (i < (int)(total % (uint64_t)nreq))
				   : 0;
		q[i].lat_cap = lat ? (total ? total : 10000000) : 0;
		q[i].lat = lat ? calloc(q[i].lat_cap, sizeof(uint64_t)) : NULL;
		if (lat && q[i].lat == NULL) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (o->pid)
		proc_cpu(o->pid, &cpu0);
	self0 = self_cpu();
	progress_start(&prog, &b);
	t0 = now_s();
	for (i = 0; i < nreq; i++) {
		q[i].deadline = t0 + o->duration;
		if (pthread_create(&q[i].thr, NULL, requester_main, &q[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(q[i].thr, NULL);
	elapsed = now_s() - t0;
	progress_stop(&prog);
	for (i = 0; i < nreq; i++) {
		done += q[i].done;
		mism += q[i].mismatched;
		if (q[i].rc != 0 && rc == 0)
			rc = q[i].rc;
	}
	if (started < nreq && rc == 0)
		rc = -EAGAIN;
	res_begin(&r, o);
	res_add(&r, "size", false, "%zu", o->size);
	res_add(&r, "requesters", false, "%d", nreq);
	res_add(&r, "requests", false, "%" PRIu64, done);
	res_add(&r, "elapsed_s", false, "%.3f", elapsed);
	res_add(&r, "requests_per_s", false, "%.0f", (double)done / elapsed);
	if (lat) {
		nlat = q[0].done < q[0].lat_cap ? q[0].done : q[0].lat_cap;
		add_latency(&r, q[0].lat, nlat);
	}
	add_cpu(&r, o, cpu0, self0, done, "req");
	res_add(&r, "lost", false, "%" PRIu64,
		total && done < total ? total - done : 0);
	res_add(&r, "mismatched", false, "%" PRIu64, mism);
	if (rc == 0 && (mism || (total && done < total)))
		rc = -EPROTO;
	res_add(&r, "status", true, "%s", rc == 0 ? "ok" :
		rc == -EPROTO ? "loss" : "error");
	res_print(&r, o->json);
out:
	for (i = 0; i < nreq; i++) {
		conn_free(q[i].c);
		free(q[i].lat);
	}
	free(q);
	close_subs(&b);
	bench_fini(&b);
	return rc;
}

/* ---- memory ----------------------------------------------------------- */

static int run_idle(const struct opts *o)
{
	struct bconn **cs;
	struct result r;
	struct bench b;
	uint64_t before, after;
	int i, n = 0, rc = 0;

	if (o->pid == 0) {
		msg("idle needs --pid");
		return -EINVAL;
	}
	bench_init(&b, o);
	cs = calloc((size_t)o->conns, sizeof(*cs));
	if (cs == NULL)
		return -ENOMEM;
	sleep_ms(o->settle_ms);
	rc = proc_rss(o->pid, &before);
	for (; rc == 0 && n < o->conns; n++) {
		cs[n] = conn_open(&b, ROLE_IDLE, RBUF_SMALL);
		if (cs[n] == NULL) {
			msg("connection %d of %d failed", n + 1, o->conns);
			rc = -EIO;
			break;
		}
	}
	if (rc == 0) {
		sleep_ms(o->settle_ms);
		rc = proc_rss(o->pid, &after);
	}
	if (rc == 0) {
		res_begin(&r, o);
		res_add(&r, "conns", false, "%d", n);
		res_add(&r, "rss_before_kb", false, "%" PRIu64, before / 1024);
		res_add(&r, "rss_after_kb", false, "%" PRIu64, after / 1024);
		res_add(&r, "bytes_per_conn", false, "%.0f",
			((double)after - (double)before) / n);
		res_add(&r, "status", true, "ok");
		res_print(&r, o->json);
	}
	for (i = 0; i < n; i++)
		conn_free(cs[i]);
	free(cs);
	bench_fini(&b);
	return rc;
}

static int run_subs_mem(const struct opts *o)
{
	struct bconn *c = NULL;
	struct result r;
	struct bench b;
	uint64_t before, after;
	int rc;

	if (o->pid == 0) {
		msg("subs-mem needs --pid");
		return -EINVAL;
	}
	bench_init(&b, o);
	c = conn_open(&b, ROLE_SUB, RBUF_SMALL);
	if (c == NULL) {
		rc = -EIO;
		goto out;
	}
	sleep_ms(o->settle_ms);
	rc = proc_rss(o->pid, &before);
	if (rc == 0)
		rc = subscribe_table(c, (uint32_t)o->subs);
	if (rc == 0) {
		sleep_ms(o->settle_ms);
		rc = proc_rss(o->pid, &after);
	}
	if (rc == 0) {
		res_begin(&r, o);
		res_add(&r, "subs", false, "%d", o->subs);
		res_add(&r, "rss_before_kb", false, "%" PRIu64, before / 1024);
		res_add(&r, "rss_after_kb", false, "%" PRIu64, after / 1024);
		res_add(&r, "bytes_per_sub", false, "%.0f",
			((double)after - (double)before) / o->subs);
		res_add(&r, "status", true, "ok");
		res_print(&r, o->json);
	}
out:
	conn_free(c);
	bench_fini(&b);
	return rc;
}

/* ---- command line ----------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("usage: natsd-bench <scenario> [options]\n"
	      "\n"
	      "scenarios:\n"
	      "  pub         publish only\n"
	      "  pubsub      one publisher, one subscriber\n"
	      "  fanout      one publisher, --subs subscribers (8)\n"
	      "  queue       one publisher, a queue group of --subs (8)\n"
	      "  sublist     --subs subscriptions on one connection (100000):\n"
	      "              80% literal, 10% with *, 10% with >; publishes\n"
	      "              round-robin to as many subjects, one match each\n"
	      "  reqrep-lat  sequential request/reply: latency percentiles\n"
	      "  reqrep      request/reply throughput, --clients requesters\n"
	      "  idle        server memory per idle connection (--conns)\n"
	      "  subs-mem    server memory per subscription (--subs)\n"
	      "\n"
	      "options:\n"
	      "  -s, --url HOST:PORT    server (nats://127.0.0.1:4222)\n"
	      "  -n, --msgs N           messages (or requests) to send\n"
	      "  -d, --duration SEC     publish for SEC seconds instead\n"
	      "  -z, --size BYTES       payload size, at least 8 (16)\n"
	      "      --subs N           subscribers or subscriptions\n"
	      "      --clients N        reqrep: concurrent requesters (8)\n"
	      "      --responders N     reqrep: responders in a group (1)\n"
	      "      --conns N          idle: connections (2000)\n"
	      "  -p, --pid PID          server pid: CPU and memory figures\n"
	      "      --window N         messages in flight (from 8 MiB)\n"
	      "      --batch BYTES      bytes per write (262144)\n"
	      "      --pings N          PINGs in flight (8)\n"
	      "      --timeout SEC      give up after SEC without progress "
	      "(10)\n"
	      "      --settle MS        memory: wait before reading RSS "
	      "(500)\n"
	      "      --headers          send HPUB with a small header block\n"
	      "      --tls CAFILE       TLS after INFO, trusting CAFILE\n"
	      "      --stalled N        pubsub, fanout: N more subscribers "
	      "that\n"
	      "                         never read (slow consumers to cut "
	      "off)\n"
	      "      --label NAME       add server=NAME to each result\n"
	      "      --json             one JSON object per result line\n"
	      "  -q, --quiet            no progress on the terminal\n"
	      "\n"
	      "Exit status: 0 ok, 1 messages lost or an error, 2 usage.\n",
	      f);
}

static int parse_url(struct opts *o, const char *url)
{
	const char *p = url, *colon;
	size_t hl;

	if (strncmp(p, "nats://", 7) == 0)
		p += 7;
	colon = strrchr(p, ':');
	if (colon == NULL) {
		snprintf(o->host, sizeof(o->host), "%s", p);
		return 0;
	}
	hl = (size_t)(colon - p);
	if (hl >= sizeof(o->host) || strlen(colon + 1) >= sizeof(o->port) ||
	    colon[1] == '\0')
		return -EINVAL;
	if (hl > 0) {
		memcpy(o->host, p, hl);
		o->host[hl] = '\0';
	}
	/* [::1]:4222 */
	if (o->host[0] == '[' && hl > 1 && o->host[hl - 1] == ']') {
		memmove(o->host, o->host + 1, hl - 2);
		o->host[hl - 2] = '\0';
	}
	snprintf(o->port, sizeof(o->port), "%s", colon + 1);
	return 0;
}

enum {
	OPT_SUBS = 256,
	OPT_CLIENTS,
	OPT_RESPONDERS,
	OPT_CONNS,
	OPT_WINDOW,
	OPT_BATCH,
	OPT_PINGS,
	OPT_TIMEOUT,
	OPT_SETTLE,
	OPT_LABEL,
	OPT_JSON,
	OPT_HEADERS,
	OPT_TLS,
	OPT_STALLED,
};

static const struct option long_opts[] = {
	{ "url", required_argument, NULL, 's' },
	{ "msgs", required_argument, NULL, 'n' },
	{ "duration", required_argument, NULL, 'd' },
	{ "size", required_argument, NULL, 'z' },
	{ "pid", required_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "subs", required_argument, NULL, OPT_SUBS },
	{ "clients", required_argument, NULL, OPT_CLIENTS },
	{ "responders", required_argument, NULL, OPT_RESPONDERS },
	{ "conns", required_argument, NULL, OPT_CONNS },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "pings", required_argument, NULL, OPT_PINGS },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "settle", required_argument, NULL, OPT_SETTLE },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "headers", no_argument, NULL, OPT_HEADERS },
	{ "tls", required_argument, NULL, OPT_TLS },
	{ "stalled", required_argument, NULL, OPT_STALLED },
	{ NULL, 0, NULL, 0 },
};

/* Parses a count option into an int within [lo, hi]. */
static int opt_int(const char *s, int lo, int hi, int *out)
{
	uint64_t v;

	if (parse_u64(s, &v) != 0 || v < (uint64_t)lo || v > (uint64_t)hi)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int parse_opt(struct opts *o, int c, const char *arg)
{
	uint64_t v;
	int iv;

	switch (c) {
	case 's':
		return parse_url(o, arg);
	case 'n':
		return parse_u64(arg, &o->msgs) == 0 && o->msgs > 0 ? 0
								    : -EINVAL;
	case 'd':
		return parse_double(arg, &o->duration);
	case 'z':
		if (parse_u64(arg, &v) != 0 || v < SEQ_BYTES ||
		    v > 64u * 1024 * 1024)
			return -EINVAL;
		o->size = (size_t)v;
		return 0;
	case 'p':
		if (opt_int(arg, 1, INT_MAX, &iv) != 0)
			return -EINVAL;
		o->pid = (pid_t)iv;
		return 0;
	case 'q':
		o->progress = false;
		return 0;
	case OPT_SUBS:
		return opt_int(arg, 1, 10000000, &o->subs);
	case OPT_CLIENTS:
		return opt_int(arg, 1, 1000, &o->clients);
	case OPT_RESPONDERS:
		return opt_int(arg, 1, 100, &o->responders);
	case OPT_CONNS:
		return opt_int(arg, 1, 1000000, &o->conns);
	case OPT_WINDOW:
		return parse_u64(arg, &o->window) == 0 && o->window > 1
			       ? 0 : -EINVAL;
	case OPT_BATCH:
		if (parse_u64(arg, &v) != 0 || v < 64 || v > (256u << 20))
			return -EINVAL;
		o->batch_bytes = (size_t)v;
		return 0;
	case OPT_PINGS:
		return opt_int(arg, 1, 100000, &o->max_pings);
	case OPT_TIMEOUT:
		return parse_double(arg, &o->timeout) == 0 && o->timeout > 0
			       ? 0 : -EINVAL;
	case OPT_SETTLE:
		return opt_int(arg, 0, 600000, &o->settle_ms);
	case OPT_LABEL:
		o->label = arg;
		return 0;
	case OPT_STALLED:
		return opt_int(arg, 1, BENCH_STALLED_MAX, &o->stalled);
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_HEADERS:
		o->headers = true;
		return 0;
	case OPT_TLS:
		o->tls_ca = arg;
		return 0;
	default:
		return -EINVAL;
	}
}

static int parse_args(struct opts *o, int argc, char **argv)
{
	int c, i, li;

	memset(o, 0, sizeof(*o));
	snprintf(o->host, sizeof(o->host), "127.0.0.1");
	snprintf(o->port, sizeof(o->port), "4222");
	o->size = 16;
	o->clients = 8;
	o->responders = 1;
	o->conns = 2000;
	o->window_bytes = 8u << 20;
	o->batch_bytes = 256u << 10;
	o->max_pings = 8;
	o->timeout = 10;
	o->settle_ms = 500;
	o->progress = isatty(STDERR_FILENO);
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
				  strcmp(argv[1], "--help") == 0)) {
			usage(stdout);
			exit(0);
		}
		usage(stderr);
		return -EINVAL;
	}
	for (i = 0; i < SC_COUNT; i++)
		if (strcmp(argv[1], scenario_names[i]) == 0)
			break;
	if (i == SC_COUNT) {
		msg("unknown scenario '%s'", argv[1]);
		return -EINVAL;
	}
	o->sc = (enum scenario)i;
	optind = 2;
	while ((li = -1, c = getopt_long(argc, argv, "s:n:d:z:p:qh", long_opts,
					 &li)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (c == '?' || parse_opt(o, c, optarg) != 0) {
			if (c != '?' && li >= 0)
				msg("bad value for --%s: '%s'",
				    long_opts[li].name, optarg);
			else if (c != '?')
				msg("bad value for -%c: '%s'", c, optarg);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		msg("unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (o->stalled > 0 && o->sc != SC_PUBSUB && o->sc != SC_FANOUT) {
		msg("--stalled goes with pubsub and fanout");
		return -EINVAL;
	}
	if (o->subs == 0)
		o->subs = o->sc == SC_SUBLIST || o->sc == SC_SUBS_MEM ? 100000
								     : 8;
	return 0;
}

/* Idle and fan-out runs need many descriptors: take what we may. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc;

	if (parse_args(&o, argc, argv) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (o.tls_ca != NULL && tls_setup(o.tls_ca) != 0)
		return 2;
	switch (o.sc) {
	case SC_REQREP_LAT:
	case SC_REQREP:
		rc = run_reqrep(&o);
		break;
	case SC_IDLE:
		rc = run_idle(&o);
		break;
	case SC_SUBS_MEM:
		rc = run_subs_mem(&o);
		break;
	default:
		rc = run_flow(&o);
		break;
	}
	/* A run that failed before it had figures still says so on stdout,
	 * for whatever parses the result lines. */
	if (rc != 0 && !res_printed) {
		struct result r;

		res_begin(&r, &o);
		res_add(&r, "status", true, "error");
		res_print(&r, o.json);
	}
	return rc == 0 ? 0 : 1;
}
