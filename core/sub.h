/* A subscription: what the subject index stores.
 *
 * The subject index (sublist.c) reads only subject, queue and their
 * lengths; everything else belongs to the connection and router layers.
 * A sub is freed only after every I/O thread has passed a quiescent
 * point (qsbr.c), so a match result taken in one loop turn stays safe to
 * read for the rest of that turn even if another thread removes the sub. */
#ifndef NATSD_SUB_H
#define NATSD_SUB_H

#include <stdatomic.h>
#include <stdint.h>

struct conn;
struct account;
struct import;

struct sub {
	char *subject;		/* NUL-terminated, owned */
	uint32_t subject_len;
	uint32_t queue_len;
	char *queue;		/* NULL for a plain subscription; owned */
	struct conn *conn;      /* the connection that owns it, or NULL */
	struct import *imp;     /* an import's sub (imports.h), or NULL */
	struct account *acc;	/* the index it is in */
	char *sid;		/* client's subscription id, NUL-terminated */
	uint32_t sid_len;
	int32_t weight;		/* queue weight of remote interest, else 1 */
	_Atomic uint64_t max;	/* auto-unsubscribe after this many, 0 = none */
	_Atomic uint64_t nmsgs; /* messages delivered */
	_Atomic int dead;	/* removed: deliver nothing more */
	struct sub *next;	/* the owner's list or the retire list */
};

/* Allocates a sub with its strings in one block. queue and sid may be
 * NULL. Returns NULL when out of memory. */
struct sub *sub_new(struct conn *c, const char *subject, size_t len,
		    const char *queue, size_t qlen, const char *sid,
		    size_t sidlen);
/* Frees a sub; the signature suits loop_retire(). */
void sub_free(void *s);

#endif
