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

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <nats/nats.h>

#include "harness.h"
#include "itest.h"

#define WAIT_MS      ITEST_WAIT_MS
#define RECONNECT_MS 5000 /* upper bound for a reconnect after restart */
#define WATCHDOG_S   60

static struct hserver srv;

/* What one reconnecting client saw. */
struct watcher {
	struct itest_tally disconnected;
	struct itest_tally reconnected;
	struct itest_tally msgs;
};

static void watcher_init(struct watcher *w)
{
	itest_tally_init(&w->disconnected);
	itest_tally_init(&w->reconnected);
	itest_tally_init(&w->msgs);
}

static void watcher_fini(struct watcher *w)
{
	itest_tally_fini(&w->disconnected);
	itest_tally_fini(&w->reconnected);
	itest_tally_fini(&w->msgs);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	struct watcher *w = closure;

	(void)nc;
	itest_tally_add(&w->disconnected, 1);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	struct watcher *w = closure;

	(void)nc;
	itest_tally_add(&w->reconnected, 1);
}

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m,
		   void *closure)
{
	struct watcher *w = closure;

	(void)nc;
	(void)sub;
	natsMsg_Destroy(m);
	itest_tally_add(&w->msgs, 1);
}

/* A client that retries quickly (every 50 ms, no jitter) for longer than
 * any restart here takes. w may be NULL for a plain short-lived client. */
static natsConnection *conn_open(int port, struct watcher *w)
{
	natsOptions *o = itest_opts(port);
	natsStatus s = o != NULL ? NATS_OK : NATS_NO_MEMORY;

	if (s == NATS_OK && w != NULL)
		s = natsOptions_SetAllowReconnect(o, true);
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
	return itest_connect(o, s, NULL);
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
	CU_ASSERT_EQUAL(itest_tally_wait(&w.msgs, 1, WAIT_MS), 1);

	CU_ASSERT(itest_stop(&srv));
	CU_ASSERT_EQUAL(itest_tally_wait(&w.disconnected, 1, WAIT_MS), 1);
	/* Buffered by the client until it is connected again. */
	CU_ASSERT(natsConnection_PublishString(nc, "rc.buffered", "b") ==
		  NATS_OK);

	CU_ASSERT_FATAL(start_on(port) == 0);
	CU_ASSERT_EQUAL(srv.port, port);
	CU_ASSERT_EQUAL(itest_tally_wait(&w.reconnected, 1, RECONNECT_MS), 1);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	CU_ASSERT_EQUAL(itest_tally_wait(&w.msgs, 2, WAIT_MS), 2);
	publish_once(port, "rc.after");
	CU_ASSERT_EQUAL(itest_tally_wait(&w.msgs, 3, WAIT_MS), 3);
	CU_ASSERT_EQUAL(natsConnection_Status(nc), NATS_CONN_STATUS_CONNECTED);

	natsSubscription_Destroy(sub);
	natsConnection_Destroy(nc);
	CU_ASSERT(itest_stop(&srv));
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
	CU_ASSERT_EQUAL(itest_tally_wait(&w.msgs, 1, WAIT_MS), 1);
	natsConnection_Destroy(other);

	for (round = 1; round <= 3; round++) {
		harness_kill(&srv);
		/* Only removes the dead server's temp files. */
		harness_stop(&srv);
		/* The client saw this crash before the next server is up. */
		CU_ASSERT_EQUAL(itest_tally_wait(&w.disconnected, round,
						 RECONNECT_MS),
				round);
		CU_ASSERT_FATAL(start_on(port) == 0);
		CU_ASSERT_EQUAL(
			itest_tally_wait(&w.reconnected, round, RECONNECT_MS),
			round);
		CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
		publish_once(port, "rk.x");
		CU_ASSERT_EQUAL(itest_tally_wait(&w.msgs, round + 1, WAIT_MS),
				round + 1);
	}
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(nc);
	CU_ASSERT(itest_stop(&srv));
	watcher_fini(&w);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "restart after SIGTERM", test_restart_after_stop },
		{ "restart at once after SIGKILL", test_restart_after_kill },
	};
	static const struct suite suite = {
		"reconnect", NULL, NULL, tests, SUITE_COUNT(tests),
	};
	int rc;

	itest_init("reconnect_test", WATCHDOG_S, &srv.pid);
	rc = suites_run(&suite, 1);
	if (srv.pid > 0)
		harness_stop(&srv);
	nats_CloseAndWait(WAIT_MS);
	return rc == 0 ? 0 : 1;
}
