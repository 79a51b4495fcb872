/* The subject index: which subscriptions does a published subject reach?
 *
 * One sublist per account. Writers (insert, remove) take its lock for
 * writing; matching goes through a per-thread cache that answers repeated
 * subjects without taking any lock, and recomputes under the read lock
 * after any change (a generation counter, bumped on every insert and
 * remove, tells it that its results are stale).
 *
 * The index reads only subject, subject_len, queue and queue_len of a
 * struct sub, and never frees a sub: the caller keeps each sub alive, and
 * unchanged, while it is in the index and until every thread that may
 * hold a match result naming it is done with that result. */
#ifndef NATSD_SUBLIST_H
#define NATSD_SUBLIST_H

#include <stddef.h>
#include <stdint.h>

struct sub;
struct sublist;
struct sublist_cache; /* per-thread match cache; single-threaded use */

/* All the members of one queue group that a subject reaches, merged over
 * the patterns they subscribed with ("foo.*" q and "foo.bar" q). */
struct sublist_qgroup {
	const char *name; /* not NUL-terminated */
	uint32_t name_len;
	uint32_t n;
	struct sub **subs;
};

/* What a subject reaches. Each sub appears once; order is unspecified. */
struct sublist_result {
	uint32_t npsubs;
	struct sub **psubs; /* plain subscriptions */
	uint32_t nqgroups;
	struct sublist_qgroup *qgroups; /* one per queue name */
};

/* Returns an empty index, or NULL when out of memory. */
struct sublist *sublist_new(void);

/* Frees sl and its nodes, not the subs in it. NULL does nothing. */
void sublist_free(struct sublist *sl);

/* Adds s (borrowed; see above) under s->subject, in queue group s->queue
 * when that is not NULL. Returns 0, NATSD_EINVAL (not a valid subject, or
 * an empty queue name), NATSD_EEXIST (s is already in) or NATSD_ENOMEM. */
int sublist_insert(struct sublist *sl, struct sub *s);

/* Takes s out, and the nodes it leaves empty. 0 or NATSD_ENOENT. */
int sublist_remove(struct sublist *sl, struct sub *s);

/* A cache for one thread (or callers that serialize). max_entries is
 * rounded up to a power of two, at least 8. Results too big for the
 * cache's memory budget are computed again each time. NULL when out of
 * memory. A cache may be used with one sublist after another, but each
 * switch drops what it holds; free it with sublist_cache_free(). */
struct sublist_cache *sublist_cache_new(size_t max_entries);
void sublist_cache_free(struct sublist_cache *c);

/* Matches the published subject subj against the index (wildcard tokens
 * in subj are literal; see subject.h). The result is owned by c and valid
 * until the next sublist_match() with c; the subs it names are as alive
 * as the caller's own rules keep them. A result is never older than the
 * generation read at the start of the call. A subject with an empty token
 * matches nothing. Returns NULL only when out of memory. */
const struct sublist_result *sublist_match(struct sublist *sl, const char *subj,
					   size_t len, struct sublist_cache *c);

/* The change counter: starts at 1, grows by one per successful insert
 * and remove. */
uint64_t sublist_generation(const struct sublist *sl);

/* Counters for monitoring. nsubs and nnodes (trie nodes, the root not
 * counted) are exact. nmatches and ncache_hits count every
 * sublist_match(), but a cache reports its hits in batches, so they may
 * trail by up to 63 per cache. ncache_entries, max_fanout and avg_fanout
 * describe the results that all caches computed since the last insert or
 * remove (fanout: subs in one result, queue members included). */
struct sublist_stats {
	uint64_t nsubs;
	uint64_t ninserts;
	uint64_t nremoves;
	uint64_t nmatches;
	uint64_t ncache_hits;
	uint64_t ncache_entries;
	uint32_t max_fanout;
	double avg_fanout;
	uint64_t nnodes;
};

void sublist_stats(struct sublist *sl, struct sublist_stats *st);

/* Calls fn for every sub in sl, under the read lock: fn must not call
 * any sublist function on sl (a writer waiting for the lock would make
 * even a match deadlock). Stops when fn returns non-zero, and returns
 * that value; 0 when every sub was visited. */
int sublist_foreach(struct sublist *sl, int (*fn)(struct sub *s, void *arg),
		    void *arg);

#endif
