/* An event loop: one per I/O thread.
 *
 * epoll for file descriptors, a binary heap of timers, and a queue of
 * tasks that other threads post (woken through an eventfd, once per batch:
 * a poster only writes to the eventfd when the queue was empty). At the
 * end of each turn the loop runs its "after" hooks (the connection layer
 * flushes outbound queues there, one writev per connection per turn). */
#ifndef NATSD_LOOP_H
#define NATSD_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;

/* Called with the epoll events that fired on fd. */
typedef void (*loop_io_fn)(struct loop *l, void *arg, uint32_t events);
typedef void (*loop_task_fn)(struct loop *l, void *arg);

struct loop_io {
	int fd;
	uint32_t events; /* EPOLLIN | EPOLLOUT ... as registered */
	loop_io_fn fn;
	void *arg;
};

struct loop_timer {
	int64_t when;	  /* monotonic ms */
	uint32_t idx;	  /* position in the heap + 1; 0 = not armed */
	loop_task_fn fn;
	void *arg;
};

struct loop *loop_new(int id);
void loop_free(struct loop *l);
int loop_id(const struct loop *l);

int loop_io_add(struct loop *l, struct loop_io *io, int fd, uint32_t events,
		loop_io_fn fn, void *arg);
int loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events);
void loop_io_del(struct loop *l, struct loop_io *io);

/* Timers: owned by the caller, used only on the loop's own thread. */
void loop_timer_arm(struct loop *l, struct loop_timer *t, int64_t delay_ms,
		    loop_task_fn fn, void *arg);
void loop_timer_cancel(struct loop *l, struct loop_timer *t);

/* Posts fn(arg) to run on l's thread; safe from any thread. Returns 0 or
 * NATSD_ENOMEM. */
int loop_post(struct loop *l, loop_task_fn fn, void *arg);

/* Runs fn at the end of every turn (before waiting again). */
void loop_set_after(struct loop *l, loop_task_fn fn, void *arg);

/* Runs until loop_stop(); returns after the current turn. */
void loop_run(struct loop *l);
void loop_stop(struct loop *l); /* any thread */

/* Wakes l from epoll_wait without posting a task; any thread. */
void loop_wake(struct loop *l);

/* The loop the calling thread runs, or NULL. */
struct loop *loop_current(void);

/* Monotonic milliseconds and nanoseconds; cached per turn by loop_now_ms. */
int64_t loop_now_ms(void);
int64_t loop_mono_ns(void);

/* Number of turns completed; read by other threads (quiescence). */
uint64_t loop_turns(const struct loop *l);



/* Deferred free (quiescent-state reclamation): fn(ptr) runs once every
 * loop has finished the turn it was in when ptr was retired, or was idle.
 * A sub or connection removed by one thread may still be read by another
 * for the rest of that thread's turn; retiring it makes that safe. Call
 * from a loop thread; from another thread it is posted to loop 0. */
void loop_retire(void *ptr, void (*fn)(void *ptr));

#endif
