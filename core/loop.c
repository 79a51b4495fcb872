/* Event loop: epoll, a timer heap, cross-thread tasks, deferred frees.
 *
 * Tasks posted from other threads go on a mutex-protected list; the poster
 * writes the eventfd only when it found the list empty, so a burst of
 * posts costs one wake-up. Deferred frees use quiescent states: every loop
 * counts "epochs" (odd while it waits in epoll, even while it works); an
 * object retired during a turn is freed once each other loop has either
 * moved to another epoch or was waiting when the object was retired. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <natsd/error.h>

#include "loop.h"

#define LOOP_MAX	64
#define LOOP_EVENTS	256

struct loop_task {
	loop_task_fn fn;
	void *arg;
	struct loop_task *next;
};

struct retired {
	void *ptr;
	void (*fn)(void *ptr);
	struct retired *next;
};

/* Objects retired during one turn, with the epochs of all loops then. */
struct retire_batch {
	struct retired *head;
	uint64_t seen[LOOP_MAX];
	struct retire_batch *next;
};

struct loop {
	int id;
	int epfd;
	int wakefd;
	_Atomic bool stop;
	_Atomic uint64_t epoch; /* odd: waiting in epoll */
	_Atomic uint64_t turns;

	pthread_mutex_t tasks_lock;
	struct loop_task *tasks_head, *tasks_tail;

	struct loop_timer **heap;
	uint32_t nheap, capheap;

	loop_task_fn after;
	void *after_arg;

	struct retired *retiring;      /* this turn's */
	struct retire_batch *batches;  /* oldest first */
	struct retire_batch **batches_tail;
	struct loop_io wake_io;
};

static struct loop *_Atomic loops[LOOP_MAX];
static _Atomic int nloops;
static __thread struct loop *current_loop;
static __thread int64_t cached_now_ms;

int64_t loop_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t loop_now_ms(void)
{
	if (current_loop != NULL && cached_now_ms != 0)
		return cached_now_ms;
	return loop_mono_ns() / 1000000;
}

struct loop *loop_current(void)
{
	return current_loop;
}

int loop_id(const struct loop *l)
{
	return l->id;
}

uint64_t loop_turns(const struct loop *l)
{
	return atomic_load_explicit(&l->turns, memory_order_relaxed);
}

static void loop_wake_read(struct loop *l, void *arg, uint32_t events)
{
	uint64_t v;

	(void)arg;
	(void)events;
	if (read(l->wakefd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		return;
}

struct loop *loop_new(int id)
{
	struct loop *l;
	int n;

	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->id = id;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd == -1)
		goto out_free;
	l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->wakefd == -1)
		goto out_epoll;
	pthread_mutex_init(&l->tasks_lock, NULL);
	l->batches_tail = &l->batches;
	if (loop_io_add(l, &l->wake_io, l->wakefd, EPOLLIN, loop_wake_read,
			NULL) != 0)
		goto out_wake;
	/* Take a slot only when one is free: nloops never passes LOOP_MAX,
	 * since other loops index their tables with it. */
	n = atomic_load(&nloops);
	do {
		if (n >= LOOP_MAX)
			goto out_wake;
	} while (!atomic_compare_exchange_weak(&nloops, &n, n + 1));
	atomic_store(&loops[n], l);
	return l;

out_wake:
	close(l->wakefd);
out_epoll:
	close(l->epfd);
out_free:
	free(l);
	return NULL;
}

static void loop_run_retired(struct retired *r)
{
	struct retired *next;

	for (; r != NULL; r = next) {
		next = r->next;
		r->fn(r->ptr);
		free(r);
	}
}

void loop_free(struct loop *l)
{
	struct loop_task *t, *tn;
	struct retire_batch *b, *bn;
	int i, n;

	if (l == NULL)
		return;
	n = atomic_load(&nloops);
	for (i = 0; i < n; i++)
		if (atomic_load(&loops[i]) == l)
			atomic_store(&loops[i], NULL);
	/* Other loops are stopped by now: everything retired can go. */
	loop_run_retired(l->retiring);
	for (b = l->batches; b != NULL; b = bn) {
		bn = b->next;
		loop_run_retired(b->head);
		free(b);
	}
	for (t = l->tasks_head; t != NULL; t = tn) {
		tn = t->next;
		free(t);
	}
	pthread_mutex_destroy(&l->tasks_lock);
	free(l->heap);
	close(l->wakefd);
	close(l->epfd);
	free(l);
}

int loop_io_add(struct loop *l, struct loop_io *io, int fd, uint32_t events,
		loop_io_fn fn, void *arg)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	io->fd = fd;
	io->events = events;
	io->fn = fn;
	io->arg = arg;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		return -errno;
	return 0;
}

int loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	if (io->events == events)
		return 0;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) == -1)
		return -errno;
	io->events = events;
	return 0;
}

void loop_io_del(struct loop *l, struct loop_io *io)
{
	if (io->fd >= 0)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->fd = -1;
}

/* Timer heap, 1-based positions kept in each timer for O(log n) cancel. */

static void heap_set(struct loop *l, uint32_t i, struct loop_timer *t)
{
	l->heap[i - 1] = t;
	t->idx = i;
}

static void heap_up(struct loop *l, uint32_t i)
{
	struct loop_timer *t = l->heap[i - 1];

	while (i > 1 && l->heap[i / 2 - 1]->when > t->when) {
		heap_set(l, i, l->heap[i / 2 - 1]);
		i /= 2;
	}
	heap_set(l, i, t);
}

static void heap_down(struct loop *l, uint32_t i)
{
	struct loop_timer *t = l->heap[i - 1];
	uint32_t c;

	for (;;) {
		c = i * 2;
		if (c > l->nheap)
			break;
		if (c < l->nheap && l->heap[c]->when < l->heap[c - 1]->when)
			c++;
		if (l->heap[c - 1]->when >= t->when)
			break;
		heap_set(l, i, l->heap[c - 1]);
		i = c;
	}
	heap_set(l, i, t);
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	uint32_t i = t->idx;
	struct loop_timer *last;

	if (i == 0)
		return;
	t->idx = 0;
	last = l->heap[--l->nheap];
	if (i - 1 == l->nheap)
		return;
	heap_set(l, i, last);
	heap_up(l, i);
	heap_down(l, last->idx);
}

void loop_timer_arm(struct loop *l, struct loop_timer *t, int64_t delay_ms,
		    loop_task_fn fn, void *arg)
{
	struct loop_timer **nh;
	uint32_t cap;

	loop_timer_cancel(l, t);
	t->when = loop_now_ms() + delay_ms;
	t->fn = fn;
	t->arg = arg;
	if (l->nheap == l->capheap) {
		cap = l->capheap ? l->capheap * 2 : 64;
		nh = realloc(l->heap, cap * sizeof(*nh));
		if (nh == NULL)
			abort(); /* timers back every limit: no way to go on */
		l->heap = nh;
		l->capheap = cap;
	}
	l->nheap++;
	heap_set(l, l->nheap, t);
	heap_up(l, l->nheap);
}

static int loop_run_timers(struct loop *l)
{
	struct loop_timer *t;
	int64_t now = loop_now_ms();
	int n = 0;

	/* Bounded per turn so a timer storm cannot starve I/O. */
	while (l->nheap > 0 && n < 4096) {
		t = l->heap[0];
		if (t->when > now)
			return (int)(t->when - now);
		loop_timer_cancel(l, t);
		t->fn(l, t->arg);
		n++;
	}
	return l->nheap > 0 ? 0 : -1;
}

int loop_post(struct loop *l, loop_task_fn fn, void *arg)
{
	struct loop_task *t;
	bool was_empty;
	uint64_t one = 1;

	t = malloc(sizeof(*t));
	if (t == NULL)
		return NATSD_ENOMEM;
	t->fn = fn;
	t->arg = arg;
	t->next = NULL;
	pthread_mutex_lock(&l->tasks_lock);
	was_empty = l->tasks_head == NULL;
	if (was_empty)
		l->tasks_head = t;
	else
		l->tasks_tail->next = t;
	l->tasks_tail = t;
	pthread_mutex_unlock(&l->tasks_lock);
	if (was_empty && write(l->wakefd, &one, sizeof(one)) == -1 &&
	    errno != EAGAIN)
		return -errno;
	return 0;
}

static void loop_run_tasks(struct loop *l)
{
	struct loop_task *t, *next;

	pthread_mutex_lock(&l->tasks_lock);
	t = l->tasks_head;
	l->tasks_head = l->tasks_tail = NULL;
	pthread_mutex_unlock(&l->tasks_lock);
	for (; t != NULL; t = next) {
		next = t->next;
		t->fn(l, t->arg);
		free(t);
	}
}

void loop_set_after(struct loop *l, loop_task_fn fn, void *arg)
{
	l->after = fn;
	l->after_arg = arg;
}

void loop_wake(struct loop *l)
{
	uint64_t one = 1;

	if (write(l->wakefd, &one, sizeof(one)) == -1)
		return; /* EAGAIN: the counter is full, a wake-up is due */
}

void loop_stop(struct loop *l)
{
	atomic_store(&l->stop, true);
	loop_wake(l);
}

/* Grace check: how many of the oldest batches may be freed now, i.e.
 * every other loop has left the turn it was in when the batch was closed,
 * or was idle then. */
static int loop_grace_ready(struct loop *l)
{
	struct retire_batch *b;
	struct loop *o;
	int i, k = 0, n = atomic_load(&nloops);

	for (b = l->batches; b != NULL; b = b->next, k++) {
		for (i = 0; i < n; i++) {
			o = atomic_load(&loops[i]);
			if (o == NULL || o == l || (b->seen[i] & 1))
				continue;
			if (atomic_load(&o->epoch) == b->seen[i])
				return k;
		}
	}
	return k;
}

static void loop_free_batches(struct loop *l, int k)
{
	struct retire_batch *b;

	while (k-- > 0 && (b = l->batches) != NULL) {
		l->batches = b->next;
		if (l->batches == NULL)
			l->batches_tail = &l->batches;
		loop_run_retired(b->head);
		free(b);
	}
}

/* Closes this turn's retire list into a batch stamped with every loop's
 * epoch. */
static void loop_close_batch(struct loop *l)
{
	struct retire_batch *b;
	struct loop *o;
	int i, n = atomic_load(&nloops);

	if (l->retiring == NULL)
		return;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return; /* try again next turn */
	b->head = l->retiring;
	l->retiring = NULL;
	for (i = 0; i < n; i++) {
		o = atomic_load(&loops[i]);
		b->seen[i] = o ? atomic_load(&o->epoch) : 1;
	}
	*l->batches_tail = b;
	l->batches_tail = &b->next;
}

static void loop_retire_task(struct loop *l, void *arg)
{
	struct retired *r = arg;

	r->next = l->retiring;
	l->retiring = r;
}

void loop_retire(void *ptr, void (*fn)(void *ptr))
{
	struct retired *r;
	struct loop *l = current_loop;

	if (ptr == NULL)
		return;
	r = malloc(sizeof(*r));
	if (r == NULL)
		abort(); /* freeing now would be a use-after-free elsewhere */
	r->ptr = ptr;
	r->fn = fn;
	if (l != NULL) {
		r->next = l->retiring;
		l->retiring = r;
		return;
	}
	l = atomic_load(&loops[0]);
	if (l == NULL || loop_post(l, loop_retire_task, r) != 0) {
		/* No loop runs: nothing can be reading it. */
		fn(ptr);
		free(r);
	}
}

void loop_run(struct loop *l)
{
	struct epoll_event evs[LOOP_EVENTS];
	struct loop_io *io;
	int i, n, timeout, ready;

	current_loop = l;
	while (!atomic_load(&l->stop)) {
		cached_now_ms = loop_mono_ns() / 1000000;
		timeout = loop_run_timers(l);
		/* Check the grace periods first, then drain what other threads
		 * posted, then free: a task or flush request posted before a
		 * peer left its turn is handled while its target still lives. */
		ready = loop_grace_ready(l);
		loop_run_tasks(l);
		if (l->after != NULL)
			l->after(l, l->after_arg);
		loop_free_batches(l, ready);
		loop_close_batch(l);
		if (l->batches != NULL && (timeout < 0 || timeout > 10))
			timeout = 10; /* come back to free what waits */
		atomic_fetch_add(&l->epoch, 1);
		cached_now_ms = 0;
		n = epoll_wait(l->epfd, evs, LOOP_EVENTS, timeout);
		atomic_fetch_add(&l->epoch, 1);
		cached_now_ms = loop_mono_ns() / 1000000;
		for (i = 0; i < n; i++) {
			io = evs[i].data.ptr;
			io->fn(l, io->arg, evs[i].events);
		}
		loop_run_tasks(l);
		atomic_fetch_add_explicit(&l->turns, 1, memory_order_relaxed);
	}
	loop_run_tasks(l);
	if (l->after != NULL)
		l->after(l, l->after_arg);
	cached_now_ms = 0;
	current_loop = NULL;
}
