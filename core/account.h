/* Accounts: isolated subject spaces. Each has its own subject index, the
 * per-worker match caches for it, and the interest counts that drive link
 * interest events (first subscriber of a subject or queue appears, last
 * one leaves, queue weight changes). */
#ifndef NATSD_ACCOUNT_H
#define NATSD_ACCOUNT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct sub;
struct sublist;
struct sublist_cache;
struct sublist_result;
struct server;
struct worker;
struct conn;
struct interest_map;

struct account {
	char *name;
	struct server *srv;
	struct sublist *sl;
	struct sublist_cache **caches; /* one per worker, + 1 for others */
	pthread_mutex_t other_cache_lock;
	pthread_mutex_t interest_lock;
	struct interest_map *interest;
	bool is_system;
	_Atomic int64_t nconns;
	/* Traffic of the account's connections that have closed; live
	 * connections keep their own counts (summed when asked), so that
	 * publishing touches no counter shared between threads. */
	_Atomic uint64_t in_msgs, in_bytes, out_msgs, out_bytes;
	_Atomic uint64_t slow_consumers;
	/* Limits from accounts {}; -1 = unlimited. */
	_Atomic int max_conns;
	_Atomic int max_subs;
	_Atomic int64_t max_payload;
};

struct accounts;

struct accounts *accounts_new(struct server *srv);
void accounts_free(struct accounts *as);
/* Finds an account by name, creating it when create is true. */
struct account *accounts_get(struct accounts *as, const char *name,
			     bool create);
/* Visits every account; fn returns non-zero to stop. */
int accounts_foreach(struct accounts *as,
		     int (*fn)(struct account *a, void *arg), void *arg);

/* Counts a new connection unless the account is at its limit. */
bool account_conn_add(struct account *a);
/* Lowers a connection's subscription and payload limits (0 and -1 mean
 * unlimited) to the account's. */
void account_limit_conn(struct account *a, int64_t *max_subs,
			int64_t *max_payload);

/* Adds s (s->conn set, or NULL for an import's sub) to the index; fires link
 * interest events for interest of local origin. 0, NATSD_EINVAL (bad subject),
 * NATSD_ENOMEM. */
int account_sub_add(struct account *a, struct sub *s);
/* Removes s from the index (the caller retires it). */
void account_sub_remove(struct account *a, struct sub *s);

/* Matches subj with the calling worker's cache for this account. The
 * result is valid until the next match by the same thread. */
const struct sublist_result *account_match(struct account *a,
					   const char *subj, size_t len);

/* Replays the current local interest of every account to link conn c. */
void accounts_replay_interest(struct accounts *as, struct conn *c);

#endif
