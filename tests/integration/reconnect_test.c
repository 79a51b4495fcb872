#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Reconnect: a libnats client keeps its subscriptions across server
 * restarts on the same port, after a clean stop (SIGTERM) and after a crash
 * (SIGKILL). After SIGKILL the old server's accepted sockets linger in
 * TIME_WAIT on the server port, so the new server must be able to bind it
 * again at once (SO_REUSEADDR) for the restart to succeed.
 */

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <nats/nats.h>

#include "harness.h"

#define WAIT_MS      2000 /* upper bound for anything that should work */
#define RECONNECT_MS 5000 /* upper bound for a reconnect after restart */
#define WATCHDOG_S   60

static struct hserver srv;

static void watchdog_fire(int sig)
{
	static const char msg[] = "reconnect_test: watchdog expired\n";

	(void)sig;
	if (srv.pid > 0)
		kill(srv.pid, SIGKILL);
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

/* nats-server exits with 1 on SIGTERM; natsd is expected to exit 0. */
static bool stopped_cleanly(int rc)
{
	return rc == 0 || (strcmp(harness_kind(), "natsd") != 0 && rc == 1);
}

/* A counter that callbacks bump and the test thread waits on. */
struct tally {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int n;
};

static void tally_init(struct tally *t)
{
	pthread_condattr_t a;

	pthread_mutex_init(&t->mu, NULL);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &a);
	pthread_condattr_destroy(&a);
	t->n = 0;
}

static void tally_fini(struct tally *t)
{
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
}

static void tally_add(struct tally *t, int k)
{
	pthread_mutex_lock(&t->mu);
	t->n += k;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

/* Waits until the count reaches target or timeout_ms pass; returns it. */
static int tally_wait(struct tally *t, int target, int timeout_ms)
{
	struct timespec end;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&t->mu);
	while (t->n < target &&
	       pthread_cond_timedwait(&t->cv, &t->mu, &end) == 0)
		;
	n = t->n;
	pthread_mutex_unlock(&t->mu);
	return n;
}

/* What one reconnecting client saw. */
struct watcher {
	struct tally disconnected;
	struct tally reconnected;
	struct tally msgs;
};

static void watcher_init(struct watcher *w)
{
	tally_init(&w->disconnected);
	tally_init(&w->reconnected);
	tally_init(&w->msgs);
}

static void watcher_fini(struct watcher *w)
{
	tally_fini(&w->disconnected);
	tally_fini(&w->reconnected);
	tally_fini(&w->msgs);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	struct watcher *w = closure;

	(void)nc;
	tally_add(&w->disconnected, 1);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	struct watcher *w = closure;

	(void)nc;
	tally_add(&w->reconnected, 1);
}

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m,
		   void *closure)
{
	struct watcher *w = closure;

	(void)nc;
	(void)sub;
	natsMsg_Destroy(m);
	tally_add(&w->msgs, 1);
}

/* A client that retries quickly (every 50 ms, no jitter) for longer than
 * any restart here takes. w may be NULL for a plain short-lived client. */
static natsConnection *conn_open(int port, struct watcher *w)
{
	natsConnection *nc = NULL;
	natsOptions *o = NULL;
	natsStatus s;
	char url[64];

	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", port);
	s = natsOptions_Create(&o);
	if (s == NATS_OK)
		s = natsOptions_SetURL(o, url);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, WAIT_MS);
	if (s == NATS_OK && w == NULL)
		s = natsOptions_SetAllowReconnect(o, false);
	if (s == NATS_OK && w != NULL)
		s = natsOptions_SetMaxReconnect(o, 200);
	if (s == NATS_OK && w != NULL)
		s = natsOptions_SetReconnectWait(o, 50);
	if (s == NATS_OK && w != NULL)
		s = natsOptions_SetReconnectJitter(o, 0, 0);
	if (s == NATS_OK && w != NULL)
		s = natsOptions_SetDisconnectedCB(o, on_disconnected, w);
	if (s == NATS_OK && w != NULL)
		s = natsOptions_SetReconnectedCB(o, on_reconnected, w);
	if (s == NATS_OK)
		s = natsConnection_Connect(&nc, o);
	natsOptions_Destroy(o);
	if (s != NATS_OK) {
		fprintf(stderr, "connect: %s\n", natsStatus_GetText(s));
		return NULL;
	}
	return nc;
}

/* Publishes one message from a separate, fresh connection. */
static void publish_once(int port, const char *subject)
{
	natsConnection *nc;

	nc = conn_open(port, NULL);
	CU_ASSERT_FATAL(nc != NULL);
	CU_ASSERT(natsConnection_PublishString(nc, subject, "x") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	natsConnection_Destroy(nc);
}

static int start_on(int port)
{
	int rc;

	/* A test that failed half-way may have left its server running. */
	if (srv.pid > 0 && port == 0)
		harness_stop(&srv);
	if (port == 0)
		rc = harness_start(&srv, harness_kind(), NULL, NULL);
	else
		rc = harness_start_port(&srv, harness_kind(), port, NULL, NULL);
	if (rc != 0)
		fprintf(stderr, "cannot start %s on port %d\n", harness_kind(),
			port);
	return rc;
}

/* Clean stop, restart on the same port: the client reconnects, resends
 * its subscription, delivers what it buffered meanwhile, and the
 * subscription keeps receiving from other clients. */
static void test_restart_after_stop(void)
{
	natsSubscription *sub = NULL;
	struct watcher w;
	natsConnection *nc;
	int port;

	watcher_init(&w);
	CU_ASSERT_FATAL(start_on(0) == 0);
	port = srv.port;
	nc = conn_open(port, &w);
	CU_ASSERT_FATAL(nc != NULL);
	CU_ASSERT_FATAL(natsConnection_Subscribe(&sub, nc, "rc.>", on_msg,
						 &w) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	publish_once(port, "rc.before");
	CU_ASSERT_EQUAL(tally_wait(&w.msgs, 1, WAIT_MS), 1);

	CU_ASSERT(stopped_cleanly(harness_stop(&srv)));
	CU_ASSERT_EQUAL(tally_wait(&w.disconnected, 1, WAIT_MS), 1);
	/* Buffered by the client until it is connected again. */
	CU_ASSERT(natsConnection_PublishString(nc, "rc.buffered", "b") ==
		  NATS_OK);

	CU_ASSERT_FATAL(start_on(port) == 0);
	CU_ASSERT_EQUAL(srv.port, port);
	CU_ASSERT_EQUAL(tally_wait(&w.reconnected, 1, RECONNECT_MS), 1);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	CU_ASSERT_EQUAL(tally_wait(&w.msgs, 2, WAIT_MS), 2);
	publish_once(port, "rc.after");
	CU_ASSERT_EQUAL(tally_wait(&w.msgs, 3, WAIT_MS), 3);
	CU_ASSERT_EQUAL(natsConnection_Status(nc), NATS_CONN_STATUS_CONNECTED);

	natsSubscription_Destroy(sub);
	natsConnection_Destroy(nc);
	CU_ASSERT(stopped_cleanly(harness_stop(&srv)));
	watcher_fini(&w);
}

/* Crash, restart at once on the same port, three times in a row: every
 * restart binds the port and the client is back each time. */
static void test_restart_after_kill(void)
{
	natsSubscription *sub = NULL;
	struct watcher w;
	natsConnection *nc, *other;
	int port, round;

	watcher_init(&w);
	CU_ASSERT_FATAL(start_on(0) == 0);
	port = srv.port;
	nc = conn_open(port, &w);
	other = conn_open(port, NULL);
	CU_ASSERT_FATAL(nc != NULL && other != NULL);
	CU_ASSERT_FATAL(natsConnection_Subscribe(&sub, nc, "rk.x", on_msg,
						 &w) == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	/* The established connections make sure TIME_WAIT sockets are
	 * left on the server port when it dies. */
	CU_ASSERT(natsConnection_PublishString(other, "rk.x", "x") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(other, WAIT_MS) == NATS_OK);
	CU_ASSERT_EQUAL(tally_wait(&w.msgs, 1, WAIT_MS), 1);
	natsConnection_Destroy(other);

	for (round = 1; round <= 3; round++) {
		harness_kill(&srv);
		/* Only removes the dead server's temp files. */
		harness_stop(&srv);
		CU_ASSERT_FATAL(start_on(port) == 0);
		CU_ASSERT_EQUAL(tally_wait(&w.reconnected, round, RECONNECT_MS),
				round);
		CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
		publish_once(port, "rk.x");
		CU_ASSERT_EQUAL(tally_wait(&w.msgs, round + 1, WAIT_MS),
				round + 1);
	}
	CU_ASSERT_EQUAL(tally_wait(&w.disconnected, 3, WAIT_MS), 3);

	natsSubscription_Destroy(sub);
	natsConnection_Destroy(nc);
	CU_ASSERT(stopped_cleanly(harness_stop(&srv)));
	watcher_fini(&w);
}

int main(void)
{
	CU_pSuite suite;
	unsigned int failed;

	signal(SIGALRM, watchdog_fire);
	alarm(WATCHDOG_S);
	signal(SIGPIPE, SIG_IGN);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("reconnect", NULL, NULL);
	if (suite == NULL ||
	    CU_add_test(suite, "restart after SIGTERM",
			test_restart_after_stop) == NULL ||
	    CU_add_test(suite, "restart at once after SIGKILL",
			test_restart_after_kill) == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	if (srv.pid > 0)
		harness_stop(&srv);
	nats_CloseAndWait(WAIT_MS);
	return failed == 0 ? 0 : 1;
}
