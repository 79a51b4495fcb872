/* Tests for core/loop.c: timers, cross-thread tasks, stop and wake, file
 * descriptors, and deferred frees between loops.
 *
 * A loop that runs on the test's own thread is stopped from one of its
 * own callbacks, or by a watchdog thread after a few seconds (a failure);
 * one that runs on a helper thread is stopped with loop_stop() and joined
 * with a deadline. Waits for something another thread does poll with a
 * short sleep and give up after a few seconds, and alarm() ends the
 * program if a broken loop never returns.
 *
 * Loop slots are global (loop.c keeps at most 64, for the whole process),
 * so the program creates few loops: one, "loop 0", runs idle on its own
 * thread from start to end, as the server's main loop does; it receives
 * what loop_retire() is given by threads that run no loop. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2, pthread_timedjoin_np */
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "../suites.h"
#include "loop.h"
#include "natsd/error.h"

#define WAIT_MS 5000 /* the longest a test waits for another thread */

static struct loop *loop0;
static pthread_t loop0_thread;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Polls flag until it is true or WAIT_MS passed. */
static bool wait_true(_Atomic bool *flag)
{
	int64_t end = loop_mono_ns() + (int64_t)WAIT_MS * 1000000;

	while (!atomic_load(flag)) {
		if (loop_mono_ns() > end)
			return false;
		sleep_ms(1);
	}
	return true;
}

static void *run_thread(void *arg)
{
	loop_run(arg);
	return NULL;
}

/* Stops l from this (other) thread and joins its thread with a
 * deadline. */
static bool stop_and_join(struct loop *l, pthread_t t)
{
	struct timespec ts;

	loop_stop(l);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_MS / 1000;
	return pthread_timedjoin_np(t, NULL, &ts) == 0;
}

static void stop_task(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

struct watchdog {
	struct loop *l;
	_Atomic bool done;
	_Atomic bool fired;
};

static void *watchdog_main(void *arg)
{
	struct watchdog *w = arg;
	int64_t end = loop_mono_ns() + (int64_t)WAIT_MS * 1000000;

	while (!atomic_load(&w->done)) {
		if (loop_mono_ns() > end) {
			atomic_store(&w->fired, true);
			loop_stop(w->l);
			break;
		}
		sleep_ms(1);
	}
	return NULL;
}

/* Runs l on this thread; a watchdog stops it if it has not stopped by
 * itself within WAIT_MS. True when it stopped by itself. */
static bool run_guarded(struct loop *l)
{
	struct watchdog w = { .l = l };
	pthread_t t;

	if (pthread_create(&t, NULL, watchdog_main, &w) != 0)
		return false;
	loop_run(l);
	atomic_store(&w.done, true);
	pthread_join(t, NULL);
	return !atomic_load(&w.fired);
}

/* ------------------------------------------------------------------ */
/* Timers                                                              */

#define MAXFIRED 16384

struct fired {
	int n;
	int who[MAXFIRED];
	int64_t at_ms[MAXFIRED]; /* loop_now_ms() in the callback */
	int64_t at_ns[MAXFIRED];
	bool on_loop[MAXFIRED]; /* loop_current() was the loop */
	int stop_after;         /* loop_stop() once this many fired */
};

static struct fired fired;

struct tmr {
	struct loop_timer t;
	int id;
	int64_t armed_ns;
	int64_t delay;
};

static void on_timer(struct loop *l, void *arg)
{
	struct tmr *t = arg;
	int i = fired.n;

	if (i < MAXFIRED) {
		fired.who[i] = t->id;
		fired.at_ms[i] = loop_now_ms();
		fired.at_ns[i] = loop_mono_ns();
		fired.on_loop[i] = loop_current() == l;
		fired.n++;
	}
	if (fired.stop_after > 0 && fired.n == fired.stop_after)
		loop_stop(l);
}

static void arm(struct loop *l, struct tmr *t, int id, int64_t delay)
{
	t->id = id;
	t->delay = delay;
	t->armed_ns = loop_mono_ns();
	loop_timer_arm(l, &t->t, delay, on_timer, t);
}

/* Timers fire in the order of their deadlines. The deadlines are read
 * back rather than assumed: on a busy machine the test thread may be
 * preempted between two arms, which moves the later one's deadline. */
static void test_timers_in_order(void)
{
	static const int64_t delays[] = { 30, 10, 20, 0, 5, 25, 15 };
	struct tmr t[7];
	int64_t when[7], last = 0;
	bool seen[7] = { false };
	struct loop *l;
	int i;

	memset(&fired, 0, sizeof(fired));
	memset(t, 0, sizeof(t));
	l = loop_new(1);
	CU_ASSERT_FATAL(l != NULL);
	for (i = 0; i < 7; i++) {
		arm(l, &t[i], i, delays[i]);
		CU_ASSERT(t[i].t.idx != 0); /* armed */
		when[i] = t[i].t.when;
	}
	fired.stop_after = 7;
	CU_ASSERT(run_guarded(l));
	CU_ASSERT_PTR_NULL(loop_current());
	CU_ASSERT_EQUAL_FATAL(fired.n, 7);
	for (i = 0; i < 7; i++) {
		int k = fired.who[i];

		CU_ASSERT_FATAL(k >= 0 && k < 7 && !seen[k]);
		seen[k] = true;
		CU_ASSERT(when[k] >= last);
		last = when[k];
		CU_ASSERT(fired.on_loop[i]);
		/* Not early: the loop's clock is in whole ms. */
		CU_ASSERT(fired.at_ms[i] >= t[k].t.when);
		CU_ASSERT(fired.at_ns[i] - t[k].armed_ns >=
			  (t[k].delay - 1) * 1000000);
		CU_ASSERT_EQUAL(t[k].t.idx, 0); /* fired: not armed */
	}
	loop_free(l);
}

static struct loop_timer periodic, victim, chained;
static int periodic_runs, victim_runs, chained_runs;

static void on_victim(struct loop *l, void *arg)
{
	(void)l;
	(void)arg;
	victim_runs++;
}

static void on_chained(struct loop *l, void *arg)
{
	(void)arg;
	chained_runs++;
	loop_stop(l);
}

/* Re-arms itself four times; on its last run it cancels the victim and
 * arms a zero-delay timer that stops the loop. */
static void on_periodic(struct loop *l, void *arg)
{
	(void)arg;
	periodic_runs++;
	if (periodic_runs < 5) {
		loop_timer_arm(l, &periodic, 3, on_periodic, NULL);
		return;
	}
	loop_timer_cancel(l, &victim);
	loop_timer_arm(l, &chained, 0, on_chained, NULL);
}

static void test_timer_cancel_rearm(void)
{
	struct tmr a, b, c;
	struct loop *l;

	memset(&fired, 0, sizeof(fired));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	l = loop_new(2);
	CU_ASSERT_FATAL(l != NULL);

	/* Cancelled before it is due: never fires. */
	arm(l, &a, 1, 5);
	loop_timer_cancel(l, &a.t);
	CU_ASSERT_EQUAL(a.t.idx, 0);
	/* Cancelling again, or a timer never armed, does nothing. */
	loop_timer_cancel(l, &a.t);
	loop_timer_cancel(l, &c.t);
	/* Re-armed from far away to near: fires once, at the new time. */
	arm(l, &b, 2, 100000);
	arm(l, &b, 2, 3);
	/* Re-armed from near to later: not at the old time. */
	arm(l, &c, 3, 0);
	arm(l, &c, 3, 8);

	periodic_runs = victim_runs = chained_runs = 0;
	memset(&periodic, 0, sizeof(periodic));
	memset(&victim, 0, sizeof(victim));
	memset(&chained, 0, sizeof(chained));
	loop_timer_arm(l, &periodic, 1, on_periodic, NULL);
	loop_timer_arm(l, &victim, 60000, on_victim, NULL);
	CU_ASSERT(run_guarded(l));

	CU_ASSERT_EQUAL(periodic_runs, 5);
	CU_ASSERT_EQUAL(victim_runs, 0);
	CU_ASSERT_EQUAL(victim.idx, 0);
	CU_ASSERT_EQUAL(chained_runs, 1);
	/* b once, c once; a never. */
	CU_ASSERT_EQUAL_FATAL(fired.n, 2);
	CU_ASSERT_EQUAL(fired.who[0], 2);
	CU_ASSERT_EQUAL(fired.who[1], 3);
	CU_ASSERT(fired.at_ns[1] - c.armed_ns >= 7 * 1000000);
	loop_free(l);
}

static uint32_t rng_state = 88172645u;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static int storm_io_at = -1; /* timers fired when the fd was served */
static int storm_fd;

static void on_storm_io(struct loop *l, void *arg, uint32_t events)
{
	struct loop_io *io = arg;
	char c;

	(void)events;
	if (storm_io_at < 0)
		storm_io_at = fired.n;
	if (read(storm_fd, &c, 1) != 1)
		CU_FAIL("read");
	loop_io_del(l, io);
}

/* Many timers armed, re-armed and cancelled in random order, with due
 * times in the past (so they all fire at once, in due order) or far in
 * the future (so they never fire). More are due than one turn runs, so
 * the order must also hold across turns; and a ready fd is served before
 * the storm is over (timers are bounded per turn). */
static void test_timer_heap_random(void)
{
	enum { N = 10000 };
	static struct tmr t[N];
	static bool due[N];    /* armed in the past: to fire */
	static bool future[N]; /* armed to fire much later */
	static bool seen[N];
	struct loop_io io;
	struct loop *l;
	int i, k, expect = 0, p[2];

	memset(&fired, 0, sizeof(fired));
	memset(t, 0, sizeof(t));
	l = loop_new(3);
	CU_ASSERT_FATAL(l != NULL);
	for (i = 0; i < 5 * N; i++) {
		uint32_t r = rnd();

		k = (int)((r >> 3) % N);
		switch (r % 4) {
		case 0:
		case 1:
			arm(l, &t[k], k, -(int64_t)((r >> 16) % 100000));
			due[k] = true;
			future[k] = false;
			break;
		case 2:
			arm(l, &t[k], k, 10000000 + (int64_t)(r >> 16));
			due[k] = false;
			future[k] = true;
			break;
		default:
			loop_timer_cancel(l, &t[k].t);
			due[k] = false;
			future[k] = false;
			break;
		}
	}
	for (i = 0; i < N; i++)
		if (due[i])
			expect++;
	/* More than one turn's worth (4096), and no more than recorded. */
	CU_ASSERT(expect > 4096 && expect <= MAXFIRED);
	fired.stop_after = expect;
	CU_ASSERT_FATAL(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	CU_ASSERT(write(p[1], "x", 1) == 1);
	storm_fd = p[0];
	storm_io_at = -1;
	CU_ASSERT_EQUAL(loop_io_add(l, &io, p[0], EPOLLIN, on_storm_io, &io),
			0);
	/* Not FATAL up to loop_free: a loop left behind would hold back
	 * the deferred frees of the later tests. */
	if (expect > 0 && expect <= MAXFIRED)
		CU_ASSERT(run_guarded(l));
	CU_ASSERT(storm_io_at > 0 && storm_io_at < expect);
	close(p[0]);
	close(p[1]);

	CU_ASSERT_EQUAL(fired.n, expect);
	for (i = 0; i < fired.n; i++) {
		k = fired.who[i];
		if (!due[k] || seen[k]) {
			CU_FAIL("fired a timer not due, or twice");
			break;
		}
		seen[k] = true;
		/* Due times may tie when the clock ticked while arming. */
		if (i > 0 && t[fired.who[i - 1]].t.when > t[k].t.when) {
			CU_FAIL("fired out of order");
			break;
		}
	}
	/* The far-future ones are still armed; cancel them all. */
	for (i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(t[i].t.idx != 0, future[i]);
		loop_timer_cancel(l, &t[i].t);
		CU_ASSERT_EQUAL(t[i].t.idx, 0);
	}
	loop_free(l);
}

/* ------------------------------------------------------------------ */
/* Tasks posted from other threads                                     */

enum { POSTERS = 4, POSTS = 5000 };

struct post_state {
	struct loop *l;
	pthread_t loop_thread;
	int next[POSTERS]; /* next sequence number expected per poster */
	int out_of_order;
	int off_thread;
	int total;
	_Atomic int rc_errors;
};

struct post_arg {
	struct post_state *st;
	int poster;
	int seq;
};

static struct post_arg post_args[POSTERS][POSTS];

static void post_task(struct loop *l, void *arg)
{
	struct post_arg *a = arg;
	struct post_state *st = a->st;

	if (loop_current() != l ||
	    !pthread_equal(pthread_self(), st->loop_thread))
		st->off_thread++;
	if (st->next[a->poster] != a->seq)
		st->out_of_order++;
	st->next[a->poster] = a->seq + 1;
	st->total++;
}

struct poster {
	struct post_state *st;
	int id;
	pthread_t thread;
};

static void *poster_main(void *arg)
{
	struct poster *p = arg;
	int i;

	for (i = 0; i < POSTS; i++) {
		struct post_arg *a = &post_args[p->id][i];

		a->st = p->st;
		a->poster = p->id;
		a->seq = i;
		if (loop_post(p->st->l, post_task, a) != 0)
			atomic_fetch_add(&p->st->rc_errors, 1);
		if (i % 512 == 0)
			sched_yield();
	}
	return NULL;
}

static void test_post_from_threads(void)
{
	static struct post_state st;
	struct poster p[POSTERS];
	int i;

	memset(&st, 0, sizeof(st));
	st.l = loop_new(4);
	CU_ASSERT_FATAL(st.l != NULL);
	CU_ASSERT_FATAL(
		pthread_create(&st.loop_thread, NULL, run_thread, st.l) == 0);
	for (i = 0; i < POSTERS; i++) {
		p[i].st = &st;
		p[i].id = i;
		CU_ASSERT_FATAL(pthread_create(&p[i].thread, NULL, poster_main,
					       &p[i]) == 0);
	}
	for (i = 0; i < POSTERS; i++)
		pthread_join(p[i].thread, NULL);
	/* A stop task after everything: all posted tasks run first. */
	CU_ASSERT_EQUAL(loop_post(st.l, stop_task, NULL), 0);
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += WAIT_MS / 1000;
		CU_ASSERT_FATAL(
			pthread_timedjoin_np(st.loop_thread, NULL, &ts) == 0);
	}
	CU_ASSERT_EQUAL(atomic_load(&st.rc_errors), 0);
	CU_ASSERT_EQUAL(st.total, POSTERS * POSTS);
	CU_ASSERT_EQUAL(st.out_of_order, 0);
	CU_ASSERT_EQUAL(st.off_thread, 0);
	for (i = 0; i < POSTERS; i++)
		CU_ASSERT_EQUAL(st.next[i], POSTS);
	loop_free(st.l);
}

static _Atomic int ran_before_stop;

static void count_task(struct loop *l, void *arg)
{
	(void)l;
	(void)arg;
	atomic_fetch_add(&ran_before_stop, 1);
}

/* Tasks posted and the loop stopped before it ever ran: loop_run still
 * runs them and returns. Tasks never run are freed by loop_free (ASan
 * checks). */
static void test_post_then_stop(void)
{
	struct loop *l;

	l = loop_new(5);
	CU_ASSERT_FATAL(l != NULL);
	atomic_store(&ran_before_stop, 0);
	CU_ASSERT_EQUAL(loop_post(l, count_task, NULL), 0);
	CU_ASSERT_EQUAL(loop_post(l, count_task, NULL), 0);
	loop_stop(l);
	CU_ASSERT(run_guarded(l));
	CU_ASSERT_EQUAL(atomic_load(&ran_before_stop), 2);
	CU_ASSERT_PTR_NULL(loop_current());
	CU_ASSERT_EQUAL(loop_post(l, count_task, NULL), 0);
	loop_free(l); /* the last task is dropped, not leaked */
	CU_ASSERT_EQUAL(atomic_load(&ran_before_stop), 2);
}

/* ------------------------------------------------------------------ */
/* Stop and wake from another thread                                   */

struct idle_state {
	struct loop *l;
	_Atomic bool returned;
	_Atomic bool current_cleared;
};

static void *idle_thread(void *arg)
{
	struct idle_state *st = arg;

	loop_run(st->l);
	atomic_store(&st->current_cleared, loop_current() == NULL);
	atomic_store(&st->returned, true);
	return NULL;
}

static void test_stop_and_wake_from_thread(void)
{
	struct idle_state st;
	pthread_t t;
	uint64_t turns;
	int i;

	memset(&st, 0, sizeof(st));
	st.l = loop_new(6);
	CU_ASSERT_FATAL(st.l != NULL);
	CU_ASSERT_EQUAL(loop_id(st.l), 6);
	CU_ASSERT_FATAL(pthread_create(&t, NULL, idle_thread, &st) == 0);
	/* Nothing to do: it sleeps in epoll_wait with no timeout. */
	sleep_ms(20);
	CU_ASSERT(!atomic_load(&st.returned));

	/* loop_wake makes it turn once more, without a task. */
	for (i = 0; i < 3; i++) {
		int64_t end = loop_mono_ns() + (int64_t)WAIT_MS * 1000000;

		turns = loop_turns(st.l);
		loop_wake(st.l);
		while (loop_turns(st.l) == turns && loop_mono_ns() < end)
			sleep_ms(1);
		CU_ASSERT(loop_turns(st.l) > turns);
	}
	CU_ASSERT(!atomic_load(&st.returned));

	CU_ASSERT_FATAL(stop_and_join(st.l, t));
	CU_ASSERT(atomic_load(&st.returned));
	CU_ASSERT(atomic_load(&st.current_cleared));
	loop_free(st.l);
}

/* ------------------------------------------------------------------ */
/* File descriptors                                                    */

struct io_state {
	int rfd, wfd, wfd2;
	struct loop_io rio, wio;
	char got[64];
	size_t ngot;
	int reads, writes, hups;
	uint32_t last_events;
};

static void on_read(struct loop *l, void *arg, uint32_t events)
{
	struct io_state *st = arg;
	ssize_t n;

	st->reads++;
	st->last_events = events;
	n = read(st->rfd, st->got + st->ngot, sizeof(st->got) - st->ngot);
	if (n > 0)
		st->ngot += (size_t)n;
	if (events & EPOLLHUP) {
		st->hups++;
		loop_io_del(l, &st->rio);
		loop_stop(l);
	}
}

/* The second write end: once is enough. It is closed here, so that
 * the reader sees a hangup when the writer thread closes the other. */
static void on_writable(struct loop *l, void *arg, uint32_t events)
{
	struct io_state *st = arg;

	st->writes++;
	st->last_events = events;
	loop_io_del(l, &st->wio);
	close(st->wfd2);
	st->wfd2 = -1;
}

struct writer {
	int fd;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	sleep_ms(10);
	if (write(w->fd, "hello", 5) != 5)
		return NULL;
	sleep_ms(10);
	if (write(w->fd, " world", 6) != 6)
		return NULL;
	sleep_ms(10);
	close(w->fd); /* the reader sees EPOLLHUP */
	return NULL;
}

static void test_io_pipe(void)
{
	struct io_state st;
	struct writer w;
	struct loop *l;
	pthread_t t;
	int p[2];

	memset(&st, 0, sizeof(st));
	l = loop_new(7);
	CU_ASSERT_FATAL(l != NULL);
	CU_ASSERT_FATAL(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	st.rfd = p[0];
	st.wfd = p[1];
	CU_ASSERT_EQUAL_FATAL(
		loop_io_add(l, &st.rio, st.rfd, EPOLLIN, on_read, &st), 0);
	CU_ASSERT_EQUAL(st.rio.fd, st.rfd);
	CU_ASSERT_EQUAL(st.rio.events, EPOLLIN);
	/* The same fd twice is refused. */
	{
		struct loop_io dup;

		CU_ASSERT_EQUAL(
			loop_io_add(l, &dup, st.rfd, EPOLLIN, on_read, &st),
			-EEXIST);
	}

	/* A second write end, registered for nothing, then for EPOLLOUT:
	 * only the change makes it fire. */
	st.wfd2 = dup(st.wfd);
	CU_ASSERT_FATAL(st.wfd2 >= 0);
	CU_ASSERT_EQUAL_FATAL(
		loop_io_add(l, &st.wio, st.wfd2, 0, on_writable, &st), 0);
	CU_ASSERT_EQUAL(loop_io_mod(l, &st.wio, 0), 0); /* no change */
	CU_ASSERT_EQUAL(loop_io_mod(l, &st.wio, EPOLLOUT), 0);
	CU_ASSERT_EQUAL(st.wio.events, EPOLLOUT);

	/* The writer thread owns p[1] and closes it at the end. */
	w.fd = st.wfd;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, writer_main, &w) == 0);
	CU_ASSERT(run_guarded(l));
	pthread_join(t, NULL);

	CU_ASSERT_EQUAL(st.writes, 1);
	CU_ASSERT_EQUAL(st.wfd2, -1);
	CU_ASSERT_EQUAL(st.wio.fd, -1);
	CU_ASSERT_EQUAL(st.ngot, 11);
	CU_ASSERT(memcmp(st.got, "hello world", 11) == 0);
	CU_ASSERT(st.reads >= 2);
	CU_ASSERT_EQUAL(st.hups, 1);
	CU_ASSERT_EQUAL(st.rio.fd, -1);
	loop_io_del(l, &st.wio); /* again: harmless */
	close(st.rfd);
	loop_free(l);
}

static void on_hup_read(struct loop *l, void *arg, uint32_t events)
{
	struct io_state *st = arg;
	char buf[16];

	st->reads++;
	st->last_events = events;
	while (read(st->rfd, buf, sizeof(buf)) > 0)
		;
	if (events & EPOLLHUP) {
		st->hups++;
		loop_io_del(l, &st->rio);
		loop_stop(l);
	}
}

static void test_io_errors_and_del(void)
{
	struct loop_io io;
	struct io_state st;
	struct loop_timer stop;
	struct loop *l;
	char path[] = "/tmp/loop_test.XXXXXX";
	int p[2], fd;

	memset(&st, 0, sizeof(st));
	memset(&stop, 0, sizeof(stop));
	l = loop_new(8);
	CU_ASSERT_FATAL(l != NULL);
	CU_ASSERT_EQUAL(loop_io_add(l, &io, -1, EPOLLIN, on_hup_read, &st),
			-EBADF);
	/* epoll cannot watch a regular file. */
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	unlink(path);
	CU_ASSERT_EQUAL(loop_io_add(l, &io, fd, EPOLLIN, on_hup_read, &st),
			-EPERM);
	close(fd);

	/* Removed before anything arrives: no callback, even when data
	 * and a hangup are waiting. */
	CU_ASSERT_FATAL(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	st.rfd = p[0];
	CU_ASSERT_EQUAL_FATAL(
		loop_io_add(l, &st.rio, p[0], EPOLLIN, on_hup_read, &st), 0);
	loop_io_del(l, &st.rio);
	CU_ASSERT_EQUAL(st.rio.fd, -1);
	/* Modifying an fd the loop does not watch fails. */
	st.rio.fd = p[0];
	st.rio.events = EPOLLIN;
	CU_ASSERT_EQUAL(loop_io_mod(l, &st.rio, EPOLLOUT), -ENOENT);
	CU_ASSERT_EQUAL(st.rio.events, EPOLLIN);
	st.rio.fd = -1;
	CU_ASSERT(write(p[1], "x", 1) == 1);
	close(p[1]);
	loop_timer_arm(l, &stop, 20, stop_task, NULL);
	CU_ASSERT(run_guarded(l));
	CU_ASSERT_EQUAL(st.reads, 0);

	close(p[0]);
	loop_free(l);
}

/* ------------------------------------------------------------------ */
/* The after hook                                                      */

struct after_state {
	int calls;
	bool task_ran;
	int calls_when_task_ran;
	bool saw_task;
	int calls_when_saw;
};

static void after_task(struct loop *l, void *arg)
{
	struct after_state *st = arg;

	(void)l;
	st->task_ran = true;
	st->calls_when_task_ran = st->calls;
}

static void after_hook(struct loop *l, void *arg)
{
	struct after_state *st = arg;

	st->calls++;
	if (st->task_ran && !st->saw_task) {
		st->saw_task = true;
		st->calls_when_saw = st->calls;
		loop_stop(l);
	}
}

static void test_after_hook(void)
{
	struct after_state st;
	struct loop *l;

	memset(&st, 0, sizeof(st));
	l = loop_new(9);
	CU_ASSERT_FATAL(l != NULL);
	loop_set_after(l, after_hook, &st);
	CU_ASSERT_EQUAL(loop_post(l, after_task, &st), 0);
	CU_ASSERT(run_guarded(l));
	/* The first hook call after the task saw it, and the hook ran
	 * once more before loop_run returned. */
	CU_ASSERT(st.task_ran);
	CU_ASSERT(st.saw_task);
	CU_ASSERT_EQUAL(st.calls_when_saw, st.calls_when_task_ran + 1);
	CU_ASSERT(st.calls > st.calls_when_saw);
	loop_free(l);
}

/* ------------------------------------------------------------------ */
/* Deferred frees                                                      */

struct victim {
	_Atomic bool freed;
	_Atomic bool freed_early;    /* while the other loop was mid-turn */
	_Atomic bool freed_off_loop; /* not on expected's thread */
	pthread_t expected;
	_Atomic bool *release; /* NULL: no other loop holds it */
};

static void victim_free(void *ptr)
{
	struct victim *v = ptr;

	if (v->release != NULL && !atomic_load(v->release))
		atomic_store(&v->freed_early, true);
	if (!pthread_equal(pthread_self(), v->expected))
		atomic_store(&v->freed_off_loop, true);
	atomic_store(&v->freed, true);
}

struct blocker {
	_Atomic bool in_turn;
	_Atomic bool release;
	_Atomic bool gave_up;
};

/* Holds its loop mid-turn until released (bounded). */
static void block_task(struct loop *l, void *arg)
{
	struct blocker *b = arg;
	int64_t end = loop_mono_ns() + (int64_t)WAIT_MS * 1000000;

	(void)l;
	atomic_store(&b->in_turn, true);
	while (!atomic_load(&b->release)) {
		if (loop_mono_ns() > end) {
			atomic_store(&b->gave_up, true);
			return;
		}
		sleep_ms(1);
	}
}

static void retire_task(struct loop *l, void *arg)
{
	(void)l;
	loop_retire(arg, victim_free);
}

/* An object retired on loop A while loop B is in the middle of a turn
 * (B may still hold a pointer to it) is not freed until B's turn ends,
 * and is freed soon after. Then the same for an object retired by a
 * thread that runs no loop (it goes through loop 0). */
static void test_retire_waits_for_busy_loop(void)
{
	struct blocker b;
	struct victim v, w;
	struct loop *la, *lb;
	pthread_t ta, tb;

	memset(&b, 0, sizeof(b));
	memset(&v, 0, sizeof(v));
	memset(&w, 0, sizeof(w));
	la = loop_new(10);
	lb = loop_new(11);
	CU_ASSERT_FATAL(la != NULL && lb != NULL);
	CU_ASSERT_FATAL(pthread_create(&ta, NULL, run_thread, la) == 0);
	CU_ASSERT_FATAL(pthread_create(&tb, NULL, run_thread, lb) == 0);

	CU_ASSERT_EQUAL(loop_post(lb, block_task, &b), 0);
	CU_ASSERT_FATAL(wait_true(&b.in_turn));

	v.expected = ta;
	v.release = &b.release;
	CU_ASSERT_EQUAL(loop_post(la, retire_task, &v), 0);
	w.expected = loop0_thread;
	w.release = &b.release;
	loop_retire(&w, victim_free);

	/* Plenty of turns of A and of loop 0 (both come back every 10 ms
	 * while something waits to be freed). */
	sleep_ms(150);
	CU_ASSERT(!atomic_load(&v.freed));
	CU_ASSERT(!atomic_load(&w.freed));

	atomic_store(&b.release, true);
	CU_ASSERT(wait_true(&v.freed));
	CU_ASSERT(wait_true(&w.freed));
	CU_ASSERT(!atomic_load(&v.freed_early));
	CU_ASSERT(!atomic_load(&w.freed_early));
	CU_ASSERT(!atomic_load(&v.freed_off_loop));
	CU_ASSERT(!atomic_load(&w.freed_off_loop));
	CU_ASSERT(!atomic_load(&b.gave_up));

	CU_ASSERT_FATAL(stop_and_join(la, ta));
	CU_ASSERT_FATAL(stop_and_join(lb, tb));
	loop_free(la);
	loop_free(lb);
}

/* A loop that is idle (waiting in epoll) does not hold frees back. */
static void test_retire_idle_loop(void)
{
	struct victim v;
	struct loop *la, *lb;
	pthread_t ta, tb;

	memset(&v, 0, sizeof(v));
	la = loop_new(12);
	lb = loop_new(13);
	CU_ASSERT_FATAL(la != NULL && lb != NULL);
	CU_ASSERT_FATAL(pthread_create(&ta, NULL, run_thread, la) == 0);
	CU_ASSERT_FATAL(pthread_create(&tb, NULL, run_thread, lb) == 0);
	sleep_ms(10); /* B reaches epoll_wait and stays there */

	v.expected = ta;
	CU_ASSERT_EQUAL(loop_post(la, retire_task, &v), 0);
	CU_ASSERT(wait_true(&v.freed));
	CU_ASSERT(!atomic_load(&v.freed_off_loop));

	CU_ASSERT_FATAL(stop_and_join(la, ta));
	CU_ASSERT_FATAL(stop_and_join(lb, tb));
	loop_free(la);
	loop_free(lb);
}

static void retire_and_stop_task(struct loop *l, void *arg)
{
	loop_retire(arg, victim_free);
	loop_stop(l);
}

static void retire_in_after(struct loop *l, void *arg)
{
	(void)l;
	loop_retire(arg, victim_free);
}

/* What is still waiting when a loop is freed is freed with it, whether
 * retired in a turn (a closed batch) or as the loop returned; NULL is
 * not retired at all. */
static void test_retire_at_free(void)
{
	struct victim v;
	struct loop *l;

	memset(&v, 0, sizeof(v));
	l = loop_new(14);
	CU_ASSERT_FATAL(l != NULL);
	v.expected = pthread_self();
	CU_ASSERT_EQUAL(loop_post(l, retire_and_stop_task, &v), 0);
	CU_ASSERT(run_guarded(l));
	loop_free(l);
	CU_ASSERT(atomic_load(&v.freed));
	CU_ASSERT(!atomic_load(&v.freed_off_loop));

	memset(&v, 0, sizeof(v));
	v.expected = pthread_self();
	l = loop_new(15);
	CU_ASSERT_FATAL(l != NULL);
	loop_set_after(l, retire_in_after, &v);
	loop_stop(l);
	CU_ASSERT(run_guarded(l)); /* runs the after hook once */
	CU_ASSERT(!atomic_load(&v.freed));
	loop_free(l);
	CU_ASSERT(atomic_load(&v.freed));

	loop_retire(NULL, victim_free); /* must not call it */
}

/* With no loop left (loop 0 freed), a thread that runs no loop frees
 * at once: nothing can be reading the object. Runs last. */
static void test_retire_without_loops(void)
{
	struct victim v;

	memset(&v, 0, sizeof(v));
	v.expected = pthread_self();
	CU_ASSERT_FATAL(stop_and_join(loop0, loop0_thread));
	loop_free(loop0);
	loop0 = NULL;
	loop_retire(&v, victim_free);
	CU_ASSERT(atomic_load(&v.freed));
	CU_ASSERT(!atomic_load(&v.freed_off_loop));
}

/* ------------------------------------------------------------------ */
/* Slots                                                               */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n++;
	closedir(d);
	return n;
}

/* loop_new refuses a loop beyond its fixed table, and leaks nothing
 * doing so (no fd here, no memory under ASan). Runs last: the slots it
 * uses are not given back. */
static void test_too_many_loops(void)
{
	struct loop *ls[100];
	int i, n = 0, fds;
	bool refused = false;

	for (i = 0; i < 100; i++) {
		fds = count_fds();
		ls[n] = loop_new(100 + i);
		if (ls[n] == NULL) {
			refused = true;
			CU_ASSERT_EQUAL(count_fds(), fds);
			break;
		}
		n++;
	}
	CU_ASSERT(refused);
	CU_ASSERT(n < 64);
	for (i = 0; i < n; i++)
		loop_free(ls[i]);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "timers fire in order", test_timers_in_order },
		{ "timer cancel and re-arm", test_timer_cancel_rearm },
		{ "timer heap, random arm/cancel", test_timer_heap_random },
		{ "loop_post from threads", test_post_from_threads },
		{ "loop_post then stop", test_post_then_stop },
		{ "stop and wake from a thread",
		  test_stop_and_wake_from_thread },
		{ "io: pipe", test_io_pipe },
		{ "io: errors and removal", test_io_errors_and_del },
		{ "after hook", test_after_hook },
		{ "retire waits for a busy loop",
		  test_retire_waits_for_busy_loop },
		{ "retire with an idle loop", test_retire_idle_loop },
		{ "retire at loop_free", test_retire_at_free },
		{ "too many loops", test_too_many_loops },
		{ "retire without loops", test_retire_without_loops },
	};
	static const struct suite suite = {
		"loop", NULL, NULL, tests, SUITE_COUNT(tests),
	};
	int rc;

	/* A loop that never returns must fail the test, not hang it. */
	alarm(60);
	loop0 = loop_new(0);
	if (loop0 == NULL ||
	    pthread_create(&loop0_thread, NULL, run_thread, loop0) != 0)
		return 1;
	rc = suites_run(&suite, 1);
	if (loop0 != NULL) {
		/* The last test did not get to it. */
		if (!stop_and_join(loop0, loop0_thread))
			return 1;
		loop_free(loop0);
	}
	return rc == 0 ? 0 : 1;
}
