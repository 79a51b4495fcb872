#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Slow consumer: a raw-socket client subscribes and then never reads, while
 * libnats publishers flood its subject. Once the server holds more than
 * max_pending bytes for it, the server must cut it off (close the socket,
 * without an -ERR, as nats-server does) and carry on: a normal subscriber on
 * the same subject still gets every message and the publishers stay
 * connected. max_pending is set to 1 MiB so that a few MiB of traffic
 * suffice; the raw client's receive buffer is shrunk for the same reason.
 */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <nats/nats.h>

#include "harness.h"
#include "itest.h"

#define WAIT_MS    ITEST_WAIT_MS /* upper bound for control operations */
#define DELIVER_MS 15000         /* upper bound for the flood's delivery */
#define WATCHDOG_S 60
#define NPUB       2
#define NMSG       8000 /* per publisher */
#define MSG_SIZE   1024
#define PACE       200 /* a publisher flushes every PACE messages */

static struct hserver srv;

/* nats-server stalls a fast producer (100 ms to 1 s per message) once a
 * consumer it feeds holds more than half of max_pending, so the pending
 * limit is reached only slowly; what cuts the client off there is the write
 * deadline, shortened here from its 10 s default to keep the test quick. */
static const char conf_natsd[] = "max_pending = 1048576;\n";
static const char conf_nats_server[] = "max_pending: 1MB\n"
				       "write_deadline: \"2s\"\n";

static int suite_init(void)
{
	const char *conf = itest_is_natsd() ? conf_natsd : conf_nats_server;

	return itest_start(&srv, conf, NULL);
}

static int suite_fini(void)
{
	return itest_stop(&srv) ? 0 : -1;
}

/* The normal subscriber: counts messages and checks each publisher's
 * sequence numbers arrive as 0, 1, 2, ... */
struct counter {
	struct itest_tally received;
	pthread_mutex_t mu;
	long bad;
	int next[NPUB];
};

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m,
		   void *closure)
{
	struct counter *c = closure;
	const char *d = natsMsg_GetData(m);
	int pub = -1, seq = -1;

	(void)nc;
	(void)sub;
	/* Payload starts with "<pub> <seq>|", padded to MSG_SIZE. */
	if (natsMsg_GetDataLength(m) == MSG_SIZE &&
	    sscanf(d, "%d %d|", &pub, &seq) != 2)
		pub = -1;
	natsMsg_Destroy(m);
	pthread_mutex_lock(&c->mu);
	if (pub < 0 || pub >= NPUB || seq != c->next[pub])
		c->bad++;
	else
		c->next[pub]++;
	pthread_mutex_unlock(&c->mu);
	itest_tally_add(&c->received, 1);
}

/* A raw client subscribed to subject, with a small receive buffer, that
 * will never read again once this returns. */
static int raw_subscriber(const char *subject)
{
	char extra[256];
	int rcvbuf = 256 * 1024;
	int fd;

	fd = harness_connect(srv.port);
	if (fd < 0)
		return -1;
	/* Keeps the kernel from soaking up megabytes on the slow side, yet
	 * stays above the loopback MSS (64 KiB): a smaller window would be
	 * held back by silly-window avoidance, and the reads at the end
	 * would crawl along on zero-window probes. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	snprintf(extra, sizeof(extra), "SUB %s 1\r\n", subject);
	if (itest_read_info(fd, NULL, 0) != 0 ||
	    itest_raw_handshake(fd, "{\"verbose\":false,\"pedantic\":false}",
				extra) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads what the server left for the raw client until it closes (or
 * timeout_ms pass). Returns whether it was closed, the byte count, and
 * whether an -ERR was anywhere in the stream. */
static bool raw_read_to_close(int fd, int timeout_ms, long *bytes,
			      bool *saw_err)
{
	int64_t end = nats_Now() + timeout_ms;
	static char buf[65536 + 8];
	size_t carry = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	*bytes = 0;
	*saw_err = false;
	while (nats_Now() < end) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(fd, buf + carry, sizeof(buf) - 8 - carry, 0);
		if (n == 0)
			return true;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == ECONNRESET;
		}
		*bytes += n;
		n += (ssize_t)carry;
		buf[n] = '\0';
		if (strstr(buf, "-ERR") != NULL)
			*saw_err = true;
		/* Keep the last bytes: a marker may straddle two reads. */
		carry = n < 4 ? (size_t)n : 4;
		memmove(buf, buf + n - (ssize_t)carry, carry);
	}
	return false;
}

struct flooder {
	pthread_t thread;
	natsConnection *nc;
	int id;
	int failures;
	struct counter *sub;
};

/* Messages published by all flooders, to pace them by the subscriber. */
static _Atomic long published;

static void pace(struct counter *c)
{
	int64_t deadline = nats_Now() + DELIVER_MS;

	while (published - itest_tally_get(&c->received) > 2 * PACE &&
	       nats_Now() < deadline)
		nats_Sleep(1);
}

static void *flood_run(void *arg)
{
	struct flooder *f = arg;
	char *payload;
	int i, len;

	payload = malloc(MSG_SIZE);
	if (payload == NULL) {
		f->failures++;
		return NULL;
	}
	memset(payload, 'z', MSG_SIZE);
	for (i = 0; i < NMSG; i++) {
		len = snprintf(payload, MSG_SIZE, "%d %d|", f->id, i);
		payload[len] = 'z';
		if (natsConnection_Publish(f->nc, "sc.data", payload,
					   MSG_SIZE) != NATS_OK)
			f->failures++;
		/* Pacing keeps the normal subscriber well within its own
		 * max_pending: only the client that never reads falls
		 * behind. */
		published++;
		if ((i + 1) % PACE == 0 &&
		    natsConnection_FlushTimeout(f->nc, DELIVER_MS) != NATS_OK)
			f->failures++;
		/* natsd never slows a publisher down for a subscriber, so
		 * on a loaded machine the flood could outrun even the normal
		 * subscriber: keep it within 2 * PACE messages of it. */
		if ((i + 1) % PACE == 0)
			pace(f->sub);
	}
	if (natsConnection_FlushTimeout(f->nc, DELIVER_MS) != NATS_OK)
		f->failures++;
	free(payload);
	return NULL;
}

static void test_slow_consumer_cut_off(void)
{
	struct counter c = { .bad = 0 };
	struct flooder pubs[NPUB];
	natsSubscription *sub = NULL;
	natsConnection *nc;
	int64_t t0;
	long bytes = 0, total = (long)NPUB * NMSG, received;
	bool closed, saw_err;
	int fd, fd2, i;

	itest_tally_init(&c.received);
	pthread_mutex_init(&c.mu, NULL);
	fd = raw_subscriber("sc.data");
	CU_ASSERT_FATAL(fd >= 0);
	nc = itest_client(srv.port);
	CU_ASSERT_FATAL(nc != NULL);
	CU_ASSERT_FATAL(natsConnection_Subscribe(&sub, nc, "sc.data", on_msg,
						 &c) == NATS_OK);
	CU_ASSERT(natsSubscription_SetPendingLimits(sub, -1, -1) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);

	t0 = nats_Now();
	for (i = 0; i < NPUB; i++) {
		pubs[i].id = i;
		pubs[i].failures = 0;
		pubs[i].sub = &c;
		pubs[i].nc = itest_client(srv.port);
		CU_ASSERT_FATAL(pubs[i].nc != NULL);
		CU_ASSERT_FATAL(pthread_create(&pubs[i].thread, NULL, flood_run,
					       &pubs[i]) == 0);
	}
	for (i = 0; i < NPUB; i++) {
		pthread_join(pubs[i].thread, NULL);
		CU_ASSERT_EQUAL(pubs[i].failures, 0);
	}
	CU_ASSERT(natsConnection_FlushTimeout(nc, DELIVER_MS) == NATS_OK);
	itest_tally_wait(&c.received, total, DELIVER_MS);
	printf("\n  flood of %ld x %d bytes delivered in %lld ms\n", total,
	       MSG_SIZE, (long long)(nats_Now() - t0));

	/* The normal subscriber got everything, in order. */
	received = itest_tally_get(&c.received);
	pthread_mutex_lock(&c.mu);
	if (received != total || c.bad != 0)
		fprintf(stderr, "subscriber: %ld of %ld, %ld bad\n", received,
			total, c.bad);
	CU_ASSERT_EQUAL(received, total);
	CU_ASSERT_EQUAL(c.bad, 0);
	pthread_mutex_unlock(&c.mu);

	/* The raw client was cut off, silently, long before it got it all:
	 * what it can still read is what the kernel buffered, then EOF. */
	closed = raw_read_to_close(fd, 5000, &bytes, &saw_err);
	CU_ASSERT(closed);
	CU_ASSERT(!saw_err);
	CU_ASSERT(bytes < total * MSG_SIZE / 2);
	printf("  slow consumer closed: %s after %ld bytes\n",
	       closed ? "yes" : "no", bytes);
	close(fd);

	/* Everyone else is still connected and the server still serves. */
	CU_ASSERT_EQUAL(natsConnection_Status(nc), NATS_CONN_STATUS_CONNECTED);
	for (i = 0; i < NPUB; i++) {
		CU_ASSERT_EQUAL(natsConnection_Status(pubs[i].nc),
				NATS_CONN_STATUS_CONNECTED);
		natsConnection_Destroy(pubs[i].nc);
	}
	fd2 = raw_subscriber("sc.after");
	CU_ASSERT(fd2 >= 0);
	if (fd2 >= 0)
		close(fd2);

	natsSubscription_Destroy(sub);
	natsConnection_Destroy(nc);
	pthread_mutex_destroy(&c.mu);
	itest_tally_fini(&c.received);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "non-reading client is cut off", test_slow_consumer_cut_off },
	};
	static const struct suite suite = {
		"slow consumer", suite_init,         suite_fini,
		tests,           SUITE_COUNT(tests),
	};
	int rc;

	itest_init("slowcons_test", WATCHDOG_S, &srv.pid);
	rc = suites_run(&suite, 1);
	nats_CloseAndWait(WAIT_MS);
	return rc == 0 ? 0 : 1;
}
