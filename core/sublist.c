/* The subject index: a trie over subject tokens.
 *
 * A node stands for a subject prefix. It holds its literal children (a
 * small array scanned linearly, plus an open-addressing hash index once
 * there are more than a few), a "*" child and a ">" child apart, and the
 * plain subscriptions and queue groups of the pattern that ends there.
 * The same array-plus-optional-index shape ("struct vec") holds the subs
 * of a node and of a queue group, so adding and removing one sub among
 * many costs O(1): removal swaps the last element into the hole and fixes
 * its index slot. The index only speeds
 * lookups up: if it cannot be allocated, a linear scan stays correct.
 *
 * Matching walks the literal path iteratively and keeps the "*" branches
 * still to visit on an explicit stack, so neither a deep subject nor a
 * deep trie can overflow the C stack. The nodes that match are gathered
 * first and their subs copied into one block owned by the cache entry:
 * results must not point into node arrays, which a writer may reallocate
 * while a reader is still using a result. Wildcard tokens in a published
 * subject need no special case: "*" and ">" are never stored as literal
 * children, so they only meet the "*" and ">" branches.
 *
 * The cache is set-associative (CACHE_WAYS entries per set, chosen by a
 * hash of the subject) with a byte budget, which bounds its memory without
 * any list upkeep on a hit. Each entry remembers the generation it was
 * computed at, so a change makes every entry stale at once without the
 * writer touching the caches. When subjects seldom repeat within the
 * cache's reach (under 1 hit in 16 lookups), the cache steps aside: a
 * match skips hashing, probing and storing (random memory touches that
 * bought nothing), and one match in 16 still looks up so that the cache
 * comes back when subjects start to repeat. A hit costs one hash of the subject, an
 * atomic load and a compare; counters for monitoring are batched so the
 * hit path writes no shared cache line.
 *
 * Rejected: a hash table of full subjects (no wildcards), a global lock
 * around the cache (every publisher would contend on it), recursion in the
 * match (stack depth chosen by the client). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <natsd/error.h>

#include "sub.h"
#include "subject.h"
#include "sublist.h"

#define QG_LINEAR_MAX     8    /* queue groups merged without an index */
#define CACHE_WAYS        8    /* the tags of a set fill one cache line */
#define CACHE_ENTRY_BYTES 1024 /* average budget per cache entry */
#define CACHE_MIN_BUDGET  (256 * 1024)
#define STATS_BATCH       64 /* matches a cache counts before reporting */
#define WINDOW            1024 /* cache lookups between hit-rate checks */
#define BYPASS_SAMPLE     16   /* while bypassing, one match in this many
				  still goes through the cache */

#define HASH_K1 0x9e3779b97f4a7c15ull
#define HASH_K2 0xd6e8feb86659fd93ull
#define HASH_K3 0xa0761d6478bd642full

/* An array with an optional hash index of its elements' positions. Each
 * index slot is hash << 32 | (position + 1), 0 when free; the index has
 * 2 * cap slots, so it is at most half full. */
struct vec {
	void **v;
	uint32_t *idx; /* NULL while small, or when it could not be made */
	uint32_t n;
	uint32_t cap; /* a power of two, or 0 */
};

typedef uint32_t vec_hash_fn(const void *e);
typedef bool vec_eq_fn(const void *e, const void *key);

/* What a vec holds: how to hash an element, and up to how many elements
 * a linear scan beats the index. */
struct vec_ops {
	vec_hash_fn *hash;
	uint32_t linear_max;
};

struct node {
	struct node *parent; /* NULL for the root */
	struct node *pwc;    /* the "*" child */
	struct node *fwc;    /* the ">" child */
	struct vec kids;     /* literal children, struct node * */
	struct vec psubs;    /* plain subscriptions, struct sub * */
	struct vec qgroups;  /* struct qgroup *, one per queue name */
	uint32_t hash;       /* of tok */
	uint32_t pos;        /* index in parent->kids, if a literal child */
	uint32_t len;
	char tok[];
};

struct qgroup {
	struct vec subs; /* struct sub * */
	uint32_t hash;   /* of name */
	uint32_t len;
	char name[];
};

struct sublist {
	pthread_rwlock_t lock;
	struct node *root;
	uint64_t seed; /* for token hashes, against chosen collisions */
	uint64_t nsubs, ninserts, nremoves, nnodes; /* under the lock */
	/* Every match reads these two; keep them off the lines that caches
	 * and writers dirty. */
	_Alignas(64) _Atomic uint64_t gen;
	uint64_t id; /* unique in the process, unlike the address */
	_Alignas(64) _Atomic uint64_t nmatches;
	_Atomic uint64_t nhits;
	/* About the results computed since the last change. */
	_Atomic uint64_t nresults;
	_Atomic uint64_t fanout_sum;
	_Atomic uint64_t ncached;
	_Atomic uint32_t fanout_max;
};

struct entry {
	uint64_t gen; /* computed at this generation; 0 = empty */
	uint32_t len; /* of the subject */
	size_t cap;   /* bytes at block */
	const char *subj;
	void *block; /* qgroups, sub pointers, queue names, subject */
	struct sublist_result res;
};

struct token {
	const char *p;
	uint32_t len;
	uint32_t hash;
};

struct walk {
	const struct node *nd;
	uint32_t i; /* the token to match at nd */
};

/* A queue group of the result being built. */
struct qscratch {
	const char *name;
	uint32_t len;
	uint32_t hash;
	uint32_t n;    /* members over all nodes */
	uint32_t fill; /* members copied so far */
};

struct sublist_cache {
	uint64_t sl_id; /* the entries' index; 0 = none yet */
	uint64_t seed;
	uint32_t setmask;
	uint32_t tick;  /* picks a victim when a set is full */
	uint64_t *tags; /* subject hash per entry, checked first */
	struct entry *ents;
	struct entry big; /* results over budget, not kept */
	size_t bytes;     /* held by the blocks of ents */
	size_t budget;
	uint32_t pend_matches, pend_hits; /* not yet added to sl */
	/* Hit rate of the last window of cache lookups. When it is low
	 * (subjects seldom repeat within the cache's reach), matches skip
	 * hashing, probing and storing: bypass, checked again on samples. */
	uint32_t win_lookups, win_hits, sample;
	bool bypass;
	/* Scratch space of a miss, kept for the next one. */
	struct token *toks;
	uint32_t toks_cap;
	struct walk *stack;
	uint32_t stack_cap;
	const struct node **nodes;
	uint32_t nnodes, nodes_cap;
	struct qscratch *qg;
	uint32_t nqg, qg_cap;
	uint32_t *qmap; /* qg index of each node queue group, in walk order */
	uint32_t nqmap, qmap_cap;
	uint32_t *qidx; /* hash index over qg, once there are many */
	uint32_t qidx_mask, qidx_cap;
};

static const struct sublist_result empty_result;

/* Ids tell a cache which index its entries came from: a new sublist can
 * have the address, and the generation, of one freed before. */
static _Atomic uint64_t last_sublist_id;

/* ---- hashing ---- */

#ifdef __SIZEOF_INT128__
static inline uint64_t mix(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}
#else
static inline uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t r = a * b;

	return r ^ (r >> 31) ^ ((a >> 32) * (b >> 32));
}
#endif

static inline uint64_t load64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t load32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* A fast seeded hash: 8 bytes per multiply, the tail read as two
 * overlapping words (or three bytes) so that short tokens, the common
 * case, take no loop at all. */
static inline uint64_t hash_bytes(const char *p, size_t n, uint64_t seed)
{
	uint64_t h = seed ^ ((uint64_t)n * HASH_K1);
	uint64_t w;

	while (n > 8) {
		h = mix(h ^ load64(p), HASH_K2);
		p += 8;
		n -= 8;
	}
	if (n >= 4)
		w = load32(p) << 32 | load32(p + n - 4);
	else if (n > 0)
		w = (uint64_t)(unsigned char)p[0] << 16 |
		    (uint64_t)(unsigned char)p[n >> 1] << 8 |
		    (unsigned char)p[n - 1];
	else
		w = 0;
	return mix(h ^ w, HASH_K3);
}

static inline uint32_t hash32(const char *p, size_t n, uint64_t seed)
{
	uint64_t h = hash_bytes(p, n, seed);

	return (uint32_t)(h ^ (h >> 32));
}

static uint64_t random_seed(void)
{
	struct timespec ts;
	uint64_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	/* Early boot: weaker, but the seed only resists chosen collisions. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return mix((uint64_t)ts.tv_nsec ^ HASH_K1,
		   (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&v);
}

/* ---- struct vec ---- */

/* Index slots are 4 bytes: (pos + 1) in the low idx_bits(cap) bits, the
 * high bits of the element's hash above them (0: free). The hash bits
 * filter out nearly every other element before it is loaded; a slot's
 * home (hash & mask) is taken from its element when a deletion needs
 * it. Half the size of a slot with the whole hash, which matters for a
 * node with a great many kids: its index is the one random access of
 * the lookup, and the smaller it is, the more of it stays in cache. */
static inline uint32_t idx_bits(uint32_t cap)
{
	return (uint32_t)__builtin_ctz(cap) + 1;
}

static inline uint32_t idx_posmask(const struct vec *vc)
{
	return (1u << idx_bits(vc->cap)) - 1;
}

static void idx_put(const struct vec *vc, uint32_t h, uint32_t pos)
{
	uint32_t mask = vc->cap * 2 - 1, pm = idx_posmask(vc);
	uint32_t i = h & mask;

	while (vc->idx[i] != 0)
		i = (i + 1) & mask;
	vc->idx[i] = (h & ~pm) | (pos + 1);
}

/* The slot that holds pos, which must be in the index under hash h. */
static uint32_t idx_slot(const struct vec *vc, uint32_t h, uint32_t pos)
{
	uint32_t mask = vc->cap * 2 - 1, pm = idx_posmask(vc);
	uint32_t i = h & mask;

	while ((vc->idx[i] & pm) != pos + 1)
		i = (i + 1) & mask;
	return i;
}

/* Frees slot i, moving later slots of the same probe run back so that
 * lookups never need tombstones. */
static void idx_del(const struct vec *vc, uint32_t i, const struct vec_ops *ops)
{
	uint32_t mask = vc->cap * 2 - 1, pm = idx_posmask(vc);
	uint32_t j = i, home;

	for (;;) {
		j = (j + 1) & mask;
		if (vc->idx[j] == 0)
			break;
		home = ops->hash(vc->v[(vc->idx[j] & pm) - 1]) & mask;
		/* Stays if its home lies cyclically within (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		vc->idx[i] = vc->idx[j];
		i = j;
	}
	vc->idx[i] = 0;
}

/* (Re)builds the index of vc for its current size, or drops it. */
static void vec_index(struct vec *vc, const struct vec_ops *ops)
{
	uint32_t i;

	free(vc->idx);
	vc->idx = NULL;
	if (vc->n <= ops->linear_max)
		return;
	vc->idx = calloc((size_t)vc->cap * 2, sizeof(*vc->idx));
	if (vc->idx == NULL)
		return; /* lookups scan; the next push tries again */
	for (i = 0; i < vc->n; i++)
		idx_put(vc, ops->hash(vc->v[i]), i);
}

static int vec_push(struct vec *vc, void *e, const struct vec_ops *ops)
{
	void **v;
	uint32_t cap;

	if (vc->n == vc->cap) {
		if (vc->cap > UINT32_MAX / 4)
			return NATSD_ENOMEM;
		cap = vc->cap != 0 ? vc->cap * 2 : 1;
		v = realloc(vc->v, (size_t)cap * sizeof(*v));
		if (v == NULL)
			return NATSD_ENOMEM;
		vc->v = v;
		vc->cap = cap;
		vc->v[vc->n++] = e;
		vec_index(vc, ops);
		return 0;
	}
	vc->v[vc->n++] = e;
	if (vc->idx != NULL)
		idx_put(vc, ops->hash(e), vc->n - 1);
	else if (vc->n > ops->linear_max)
		vec_index(vc, ops);
	return 0;
}

static void vec_fini(struct vec *vc)
{
	free(vc->v);
	free(vc->idx);
	memset(vc, 0, sizeof(*vc));
}

/* Gives memory back once vc is a quarter full; halving (not fitting)
 * keeps a push/remove cycle at the boundary from reallocating each time. */
static void vec_shrink(struct vec *vc, const struct vec_ops *ops)
{
	void **v;

	if (vc->n == 0) {
		vec_fini(vc);
		return;
	}
	if (vc->cap > 4 && vc->n <= vc->cap / 4) {
		v = realloc(vc->v, (size_t)(vc->cap / 2) * sizeof(*v));
		if (v == NULL)
			return;
		vc->v = v;
		vc->cap /= 2;
		vec_index(vc, ops);
	} else if (vc->idx != NULL && vc->n <= ops->linear_max / 2) {
		free(vc->idx);
		vc->idx = NULL;
	}
}

/* Removes the element at pos by moving the last one into its place.
 * Returns the moved element (now at pos), or NULL if none moved. */
static void *vec_del(struct vec *vc, uint32_t pos, const struct vec_ops *ops)
{
	uint32_t last = vc->n - 1, i;
	void *moved = NULL;

	if (vc->idx != NULL) {
		i = idx_slot(vc, ops->hash(vc->v[pos]), pos);
		idx_del(vc, i, ops);
		if (pos != last) {
			i = idx_slot(vc, ops->hash(vc->v[last]), last);
			vc->idx[i] =
				(vc->idx[i] & ~idx_posmask(vc)) | (pos + 1);
		}
	}
	if (pos != last)
		moved = vc->v[pos] = vc->v[last];
	vc->n = last;
	vec_shrink(vc, ops);
	return moved;
}

/* The position of the element equal to key (hash h), or -1. */
static int64_t vec_find(const struct vec *vc, uint32_t h, vec_eq_fn *eq,
			const void *key)
{
	uint32_t i, mask, pm, s;

	if (vc->idx == NULL) {
		for (i = 0; i < vc->n; i++)
			if (eq(vc->v[i], key))
				return i;
		return -1;
	}
	mask = vc->cap * 2 - 1;
	pm = idx_posmask(vc);
	for (i = h & mask; (s = vc->idx[i]) != 0; i = (i + 1) & mask)
		if (((s ^ h) & ~pm) == 0 && eq(vc->v[(s & pm) - 1], key))
			return (s & pm) - 1;
	return -1;
}

/* ---- what the vecs hold ---- */

static uint32_t node_hash(const void *e)
{
	return ((const struct node *)e)->hash;
}

static uint32_t qgroup_hash(const void *e)
{
	return ((const struct qgroup *)e)->hash;
}

static uint32_t sub_hash(const void *e)
{
	uint64_t h = (uint64_t)(uintptr_t)e * HASH_K1;

	return (uint32_t)(h >> 32);
}

/* A literal lookup scanning kids loads each kid node, a cache miss apiece
 * in a big trie; the index costs two (slot, node), so it pays from three
 * kids on. Subs and queue groups are looked up only to change them. */
static const struct vec_ops kid_ops = { node_hash, 2 };
static const struct vec_ops sub_ops = { sub_hash, 8 };
static const struct vec_ops qgroup_ops = { qgroup_hash, 8 };

static bool sub_eq(const void *e, const void *key)
{
	return e == key;
}

struct name_key {
	const char *p;
	uint32_t len;
	uint32_t hash;
};

static bool qgroup_eq(const void *e, const void *key)
{
	const struct qgroup *g = e;
	const struct name_key *k = key;

	return g->hash == k->hash && g->len == k->len &&
	       memcmp(g->name, k->p, k->len) == 0;
}

/* The literal child of nd for token p (hash h): the match hot path. */
static inline struct node *kid_find(const struct node *nd, const char *p,
				    uint32_t len, uint32_t h)
{
	const struct vec *vc = &nd->kids;
	struct node *k;
	uint32_t i, mask, pm, s;

	if (vc->idx == NULL) {
		for (i = 0; i < vc->n; i++) {
			k = vc->v[i];
			if (k->hash == h && k->len == len &&
			    memcmp(k->tok, p, len) == 0)
				return k;
		}
		return NULL;
	}
	mask = vc->cap * 2 - 1;
	pm = idx_posmask(vc);
	for (i = h & mask; (s = vc->idx[i]) != 0; i = (i + 1) & mask) {
		if ((s ^ h) & ~pm)
			continue;
		k = vc->v[(s & pm) - 1];
		if (k->hash == h && k->len == len &&
		    memcmp(k->tok, p, len) == 0)
			return k;
	}
	return NULL;
}

/* ---- nodes ---- */

static struct node *node_new(struct node *parent, const char *tok, uint32_t len,
			     uint32_t h)
{
	struct node *nd;

	nd = calloc(1, sizeof(*nd) + len);
	if (nd == NULL)
		return NULL;
	nd->parent = parent;
	nd->hash = h;
	nd->len = len;
	memcpy(nd->tok, tok, len);
	return nd;
}

static void qgroup_free(struct qgroup *g)
{
	vec_fini(&g->subs);
	free(g);
}

/* Frees nd alone; its children are freed or moved by the caller. */
static void node_free(struct node *nd)
{
	uint32_t i;

	for (i = 0; i < nd->qgroups.n; i++)
		qgroup_free(nd->qgroups.v[i]);
	vec_fini(&nd->qgroups);
	vec_fini(&nd->psubs);
	vec_fini(&nd->kids);
	free(nd);
}

static bool node_empty(const struct node *nd)
{
	return nd->kids.n == 0 && nd->pwc == NULL && nd->fwc == NULL &&
	       nd->psubs.n == 0 && nd->qgroups.n == 0;
}

/* The child of nd found from position *k on, in the order kids, "*", ">";
 * *k is set to its position. NULL when there is none. */
static struct node *child_from(const struct node *nd, uint32_t *k)
{
	if (*k < nd->kids.n)
		return nd->kids.v[*k];
	if (*k == nd->kids.n && nd->pwc != NULL)
		return nd->pwc;
	if (*k <= nd->kids.n + 1 && nd->fwc != NULL) {
		*k = nd->kids.n + 1;
		return nd->fwc;
	}
	return NULL;
}

/* The position of nd among its parent's children, as child_from() counts. */
static uint32_t child_order(const struct node *nd)
{
	const struct node *p = nd->parent;

	if (nd == p->pwc)
		return p->kids.n;
	if (nd == p->fwc)
		return p->kids.n + 1;
	return nd->pos;
}

/* The child of nd for token p, made when create is set and it is absent.
 * NULL when absent or out of memory (*rc says which). */
static struct node *node_child(struct sublist *sl, struct node *nd,
			       const char *p, uint32_t len, bool create,
			       int *rc)
{
	struct node **slot = NULL, *k;
	uint32_t h = 0;

	if (len == 1 && p[0] == '*')
		slot = &nd->pwc;
	else if (len == 1 && p[0] == '>')
		slot = &nd->fwc;
	if (slot != NULL && *slot != NULL)
		return *slot;
	if (slot == NULL) {
		h = hash32(p, len, sl->seed);
		k = kid_find(nd, p, len, h);
		if (k != NULL)
			return k;
	}
	*rc = create ? NATSD_ENOMEM : NATSD_ENOENT;
	if (!create)
		return NULL;
	k = node_new(nd, p, len, h);
	if (k == NULL)
		return NULL;
	if (slot != NULL) {
		*slot = k;
	} else {
		if (vec_push(&nd->kids, k, &kid_ops) != 0) {
			free(k);
			return NULL;
		}
		k->pos = nd->kids.n - 1;
	}
	*rc = 0;
	sl->nnodes++;
	return k;
}

/* Walks (or, with create, builds) the path of subject s. Returns 0 and
 * sets *out to its node; on failure *out is the deepest node reached, for
 * prune(). */
static int node_path(struct sublist *sl, const char *s, size_t len, bool create,
		     struct node **out)
{
	const char *end = s + len, *dot;
	struct node *nd = sl->root, *k;
	uint32_t n;
	int rc = 0;

	for (;;) {
		dot = memchr(s, '.', (size_t)(end - s));
		n = (uint32_t)((dot != NULL ? dot : end) - s);
		k = node_child(sl, nd, s, n, create, &rc);
		if (k == NULL)
			break;
		nd = k;
		if (dot == NULL)
			break;
		s = dot + 1;
	}
	*out = nd;
	return rc;
}

/* Frees nd and the ancestors that its removal leaves empty. */
static void prune(struct sublist *sl, struct node *nd)
{
	struct node *p, *moved;

	while (nd != sl->root && node_empty(nd)) {
		p = nd->parent;
		if (p->pwc == nd) {
			p->pwc = NULL;
		} else if (p->fwc == nd) {
			p->fwc = NULL;
		} else {
			moved = vec_del(&p->kids, nd->pos, &kid_ops);
			if (moved != NULL)
				moved->pos = nd->pos;
		}
		node_free(nd);
		sl->nnodes--;
		nd = p;
	}
}

static int subs_add(struct vec *vc, struct sub *s)
{
	if (vec_find(vc, sub_hash(s), sub_eq, s) >= 0)
		return NATSD_EEXIST;
	return vec_push(vc, s, &sub_ops);
}

static int subs_del(struct vec *vc, struct sub *s)
{
	int64_t pos = vec_find(vc, sub_hash(s), sub_eq, s);

	if (pos < 0)
		return NATSD_ENOENT;
	vec_del(vc, (uint32_t)pos, &sub_ops);
	return 0;
}

static int64_t qgroup_find(const struct node *nd, const struct sub *s,
			   uint64_t seed)
{
	struct name_key k = { s->queue, s->queue_len, 0 };

	k.hash = hash32(s->queue, s->queue_len, seed);
	return vec_find(&nd->qgroups, k.hash, qgroup_eq, &k);
}

static int queue_add(struct sublist *sl, struct node *nd, struct sub *s)
{
	struct qgroup *g;
	int64_t pos;
	int rc;

	pos = qgroup_find(nd, s, sl->seed);
	if (pos >= 0)
		return subs_add(&((struct qgroup *)nd->qgroups.v[pos])->subs,
				s);
	g = calloc(1, sizeof(*g) + s->queue_len);
	if (g == NULL)
		return NATSD_ENOMEM;
	g->hash = hash32(s->queue, s->queue_len, sl->seed);
	g->len = s->queue_len;
	memcpy(g->name, s->queue, s->queue_len);
	rc = vec_push(&g->subs, s, &sub_ops);
	if (rc == 0)
		rc = vec_push(&nd->qgroups, g, &qgroup_ops);
	if (rc != 0)
		qgroup_free(g);
	return rc;
}

static int queue_del(struct sublist *sl, struct node *nd, struct sub *s)
{
	struct qgroup *g;
	int64_t pos;
	int rc;

	pos = qgroup_find(nd, s, sl->seed);
	if (pos < 0)
		return NATSD_ENOENT;
	g = nd->qgroups.v[pos];
	rc = subs_del(&g->subs, s);
	if (rc == 0 && g->subs.n == 0) {
		vec_del(&nd->qgroups, (uint32_t)pos, &qgroup_ops);
		qgroup_free(g);
	}
	return rc;
}

/* ---- the sublist ---- */

struct sublist *sublist_new(void)
{
	pthread_rwlockattr_t attr;
	struct sublist *sl;

	sl = aligned_alloc(_Alignof(struct sublist), sizeof(*sl));
	if (sl == NULL)
		return NULL;
	memset(sl, 0, sizeof(*sl));
	sl->root = node_new(NULL, "", 0, 0);
	if (sl->root == NULL)
		goto out_free;
	/* Publishers read all the time; without this a steady stream of
	 * cache misses could keep a subscriber waiting indefinitely. */
	if (pthread_rwlockattr_init(&attr) != 0)
		goto out_root;
	pthread_rwlockattr_setkind_np(
		&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	if (pthread_rwlock_init(&sl->lock, &attr) != 0) {
		pthread_rwlockattr_destroy(&attr);
		goto out_root;
	}
	pthread_rwlockattr_destroy(&attr);
	sl->seed = random_seed();
	sl->id = atomic_fetch_add(&last_sublist_id, 1) + 1;
	atomic_init(&sl->gen, 1);
	return sl;

out_root:
	free(sl->root);
out_free:
	free(sl);
	return NULL;
}

void sublist_free(struct sublist *sl)
{
	struct node *nd, *k, *p;
	uint32_t i = 0;

	if (sl == NULL)
		return;
	/* Post-order without recursion: a node is freed when the walk
	 * leaves it for its parent. */
	nd = sl->root;
	for (;;) {
		k = child_from(nd, &i);
		if (k != NULL) {
			nd = k;
			i = 0;
			continue;
		}
		p = nd->parent;
		if (p == NULL)
			break;
		i = child_order(nd) + 1;
		node_free(nd);
		nd = p;
	}
	node_free(nd);
	pthread_rwlock_destroy(&sl->lock);
	free(sl);
}

/* Called under the write lock after every change. */
static void changed(struct sublist *sl)
{
	atomic_store_explicit(&sl->nresults, 0, memory_order_relaxed);
	atomic_store_explicit(&sl->fanout_sum, 0, memory_order_relaxed);
	atomic_store_explicit(&sl->fanout_max, 0, memory_order_relaxed);
	atomic_store_explicit(&sl->ncached, 0, memory_order_relaxed);
	/* Release: a cache that sees the new generation also sees the
	 * change when it takes the read lock to recompute. */
	atomic_fetch_add_explicit(&sl->gen, 1, memory_order_release);
}

int sublist_insert(struct sublist *sl, struct sub *s)
{
	struct node *nd;
	int rc;

	if (!subject_valid(s->subject, s->subject_len) ||
	    (s->queue != NULL && s->queue_len == 0))
		return NATSD_EINVAL;
	pthread_rwlock_wrlock(&sl->lock);
	rc = node_path(sl, s->subject, s->subject_len, true, &nd);
	if (rc == 0)
		rc = s->queue != NULL ? queue_add(sl, nd, s)
				      : subs_add(&nd->psubs, s);
	if (rc == 0) {
		sl->nsubs++;
		sl->ninserts++;
		changed(sl);
	} else {
		prune(sl, nd);
	}
	pthread_rwlock_unlock(&sl->lock);
	return rc;
}

int sublist_remove(struct sublist *sl, struct sub *s)
{
	struct node *nd;
	int rc;

	if (s->subject_len == 0)
		return NATSD_ENOENT;
	pthread_rwlock_wrlock(&sl->lock);
	rc = node_path(sl, s->subject, s->subject_len, false, &nd);
	if (rc == 0)
		rc = s->queue != NULL ? queue_del(sl, nd, s)
				      : subs_del(&nd->psubs, s);
	if (rc == 0) {
		sl->nsubs--;
		sl->nremoves++;
		prune(sl, nd);
		changed(sl);
	}
	pthread_rwlock_unlock(&sl->lock);
	return rc;
}

uint64_t sublist_generation(const struct sublist *sl)
{
	return atomic_load_explicit(&sl->gen, memory_order_acquire);
}

void sublist_stats(struct sublist *sl, struct sublist_stats *st)
{
	uint64_t n;

	pthread_rwlock_rdlock(&sl->lock);
	st->nsubs = sl->nsubs;
	st->ninserts = sl->ninserts;
	st->nremoves = sl->nremoves;
	st->nnodes = sl->nnodes;
	pthread_rwlock_unlock(&sl->lock);
	st->nmatches =
		atomic_load_explicit(&sl->nmatches, memory_order_relaxed);
	st->ncache_hits =
		atomic_load_explicit(&sl->nhits, memory_order_relaxed);
	st->ncache_entries =
		atomic_load_explicit(&sl->ncached, memory_order_relaxed);
	st->max_fanout =
		atomic_load_explicit(&sl->fanout_max, memory_order_relaxed);
	n = atomic_load_explicit(&sl->nresults, memory_order_relaxed);
	st->avg_fanout =
		n == 0 ? 0.0
		       : (double)atomic_load_explicit(&sl->fanout_sum,
						      memory_order_relaxed) /
				 (double)n;
}

static int visit_node(const struct node *nd,
		      int (*fn)(struct sub *s, void *arg), void *arg)
{
	const struct qgroup *g;
	uint32_t i, j;
	int rc;

	for (i = 0; i < nd->psubs.n; i++) {
		rc = fn(nd->psubs.v[i], arg);
		if (rc != 0)
			return rc;
	}
	for (i = 0; i < nd->qgroups.n; i++) {
		g = nd->qgroups.v[i];
		for (j = 0; j < g->subs.n; j++) {
			rc = fn(g->subs.v[j], arg);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

int sublist_foreach(struct sublist *sl, int (*fn)(struct sub *s, void *arg),
		    void *arg)
{
	const struct node *nd, *k;
	uint32_t i = 0;
	int rc;

	pthread_rwlock_rdlock(&sl->lock);
	nd = sl->root;
	rc = visit_node(nd, fn, arg);
	while (rc == 0) {
		k = child_from(nd, &i);
		if (k != NULL) {
			nd = k;
			i = 0;
			rc = visit_node(nd, fn, arg);
			continue;
		}
		if (nd == sl->root)
			break;
		i = child_order(nd) + 1;
		nd = nd->parent;
	}
	pthread_rwlock_unlock(&sl->lock);
	return rc;
}

/* ---- the cache ---- */

struct sublist_cache *sublist_cache_new(size_t max_entries)
{
	struct sublist_cache *c;
	size_t nsets = 1;

	while (nsets * CACHE_WAYS < max_entries && nsets < ((size_t)1 << 24))
		nsets *= 2;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->tags = aligned_alloc(64, nsets * CACHE_WAYS * sizeof(*c->tags));
	c->ents = calloc(nsets * CACHE_WAYS, sizeof(*c->ents));
	if (c->tags == NULL || c->ents == NULL) {
		sublist_cache_free(c);
		return NULL;
	}
	memset(c->tags, 0, nsets * CACHE_WAYS * sizeof(*c->tags));
	c->setmask = (uint32_t)(nsets - 1);
	c->seed = random_seed();
	c->budget = nsets * CACHE_WAYS * CACHE_ENTRY_BYTES;
	if (c->budget < CACHE_MIN_BUDGET)
		c->budget = CACHE_MIN_BUDGET;
	return c;
}

void sublist_cache_free(struct sublist_cache *c)
{
	size_t i, n;

	if (c == NULL)
		return;
	n = ((size_t)c->setmask + 1) * CACHE_WAYS;
	for (i = 0; c->ents != NULL && i < n; i++)
		free(c->ents[i].block);
	free(c->big.block);
	free(c->ents);
	free(c->tags);
	free(c->toks);
	free(c->stack);
	free(c->nodes);
	free(c->qg);
	free(c->qmap);
	free(c->qidx);
	free(c);
}

/* Points c at sl; what it held came from another index. Counts not yet
 * reported are dropped: the old index may be gone. */
static void cache_reset(struct sublist_cache *c, const struct sublist *sl)
{
	size_t i, n = ((size_t)c->setmask + 1) * CACHE_WAYS;

	for (i = 0; i < n; i++) {
		c->ents[i].gen = 0;
		c->tags[i] = 0;
	}
	c->sl_id = sl->id;
	c->pend_matches = 0;
	c->pend_hits = 0;
}

static void stats_flush(struct sublist_cache *c, struct sublist *sl)
{
	atomic_fetch_add_explicit(&sl->nmatches, c->pend_matches,
				  memory_order_relaxed);
	if (c->pend_hits != 0)
		atomic_fetch_add_explicit(&sl->nhits, c->pend_hits,
					  memory_order_relaxed);
	c->pend_matches = 0;
	c->pend_hits = 0;
}

/* Grows the array p of *cap elements of size bytes to hold need. Returns
 * the new array, or NULL (p still valid) when out of memory. */
static void *grow(void *p, uint32_t *cap, size_t need, size_t size)
{
	size_t n = *cap != 0 ? *cap : 8;

	if (need <= *cap)
		return p;
	while (n < need)
		n *= 2;
	if (n > UINT32_MAX || n > SIZE_MAX / size)
		return NULL;
	p = realloc(p, n * size);
	if (p != NULL)
		*cap = (uint32_t)n;
	return p;
}

/* Splits subj into c->toks. Returns 0, 1 when a token is empty (the
 * subject matches nothing) or NATSD_ENOMEM. */
static int tokenize(struct sublist_cache *c, const struct sublist *sl,
		    const char *s, size_t len, uint32_t *ntoks)
{
	const char *end = s + len, *dot;
	struct token *t;
	uint32_t n = 0, tl;

	for (;;) {
		dot = memchr(s, '.', (size_t)(end - s));
		tl = (uint32_t)((dot != NULL ? dot : end) - s);
		if (tl == 0)
			return 1;
		t = grow(c->toks, &c->toks_cap, (size_t)n + 1, sizeof(*t));
		if (t == NULL)
			return NATSD_ENOMEM;
		c->toks = t;
		t[n].p = s;
		t[n].len = tl;
		t[n].hash = hash32(s, tl, sl->seed);
		n++;
		if (dot == NULL)
			break;
		s = dot + 1;
	}
	*ntoks = n;
	return 0;
}

static int add_node(struct sublist_cache *c, const struct node *nd)
{
	const struct node **v;

	if (nd->psubs.n == 0 && nd->qgroups.n == 0)
		return 0;
	v = grow(c->nodes, &c->nodes_cap, (size_t)c->nnodes + 1, sizeof(*v));
	if (v == NULL)
		return NATSD_ENOMEM;
	c->nodes = v;
	v[c->nnodes++] = nd;
	return 0;
}

static int push_walk(struct sublist_cache *c, uint32_t *sp,
		     const struct node *nd, uint32_t i)
{
	struct walk *w;

	w = grow(c->stack, &c->stack_cap, (size_t)*sp + 1, sizeof(*w));
	if (w == NULL)
		return NATSD_ENOMEM;
	c->stack = w;
	w[*sp].nd = nd;
	w[*sp].i = i;
	(*sp)++;
	return 0;
}

/* Gathers into c->nodes every node with subs that matches the ntoks
 * tokens. Runs under the read lock. */
static int collect(struct sublist_cache *c, const struct node *root,
		   uint32_t ntoks)
{
	const struct token *t;
	const struct node *nd;
	uint32_t i, sp = 0;

	c->nnodes = 0;
	if (push_walk(c, &sp, root, 0) != 0)
		return NATSD_ENOMEM;
	while (sp > 0) {
		sp--;
		nd = c->stack[sp].nd;
		i = c->stack[sp].i;
		while (nd != NULL) {
			if (i == ntoks) {
				if (add_node(c, nd) != 0)
					return NATSD_ENOMEM;
				break;
			}
			/* ">" takes this token and all after it. */
			if (nd->fwc != NULL && add_node(c, nd->fwc) != 0)
				return NATSD_ENOMEM;
			if (nd->pwc != NULL &&
			    push_walk(c, &sp, nd->pwc, i + 1) != 0)
				return NATSD_ENOMEM;
			t = &c->toks[i++];
			nd = kid_find(nd, t->p, t->len, t->hash);
		}
	}
	return 0;
}

static int64_t qg_lookup(const struct sublist_cache *c, const struct qgroup *g)
{
	const struct qscratch *q;
	uint32_t i, k;

	if (c->nqg <= QG_LINEAR_MAX) {
		for (k = 0; k < c->nqg; k++) {
			q = &c->qg[k];
			if (q->hash == g->hash && q->len == g->len &&
			    memcmp(q->name, g->name, g->len) == 0)
				return k;
		}
		return -1;
	}
	for (i = g->hash & c->qidx_mask; c->qidx[i] != 0;
	     i = (i + 1) & c->qidx_mask) {
		q = &c->qg[c->qidx[i] - 1];
		if (q->hash == g->hash && q->len == g->len &&
		    memcmp(q->name, g->name, g->len) == 0)
			return c->qidx[i] - 1;
	}
	return -1;
}

static void qidx_put(struct sublist_cache *c, uint32_t k)
{
	uint32_t i = c->qg[k].hash & c->qidx_mask;

	while (c->qidx[i] != 0)
		i = (i + 1) & c->qidx_mask;
	c->qidx[i] = k + 1;
}

/* Sizes the merge index for c->nqg groups (at most a quarter full) and
 * fills it; only the part in use is cleared, so a miss with few groups
 * after one with many stays cheap. */
static int qidx_build(struct sublist_cache *c)
{
	uint32_t *p, k;
	size_t size = 64;

	while (size < (size_t)c->nqg * 4)
		size *= 2;
	p = grow(c->qidx, &c->qidx_cap, size, sizeof(*p));
	if (p == NULL)
		return NATSD_ENOMEM;
	c->qidx = p;
	memset(p, 0, size * sizeof(*p));
	c->qidx_mask = (uint32_t)(size - 1);
	for (k = 0; k < c->nqg; k++)
		qidx_put(c, k);
	return 0;
}

static int qg_add(struct sublist_cache *c, const struct qgroup *g, uint32_t *k)
{
	struct qscratch *q;

	q = grow(c->qg, &c->qg_cap, (size_t)c->nqg + 1, sizeof(*q));
	if (q == NULL)
		return NATSD_ENOMEM;
	c->qg = q;
	q += c->nqg;
	q->name = g->name;
	q->len = g->len;
	q->hash = g->hash;
	q->n = 0;
	q->fill = 0;
	*k = c->nqg++;
	if (c->nqg <= QG_LINEAR_MAX)
		return 0;
	if (c->nqg == QG_LINEAR_MAX + 1 ||
	    (size_t)c->nqg * 4 > (size_t)c->qidx_mask + 1)
		return qidx_build(c);
	qidx_put(c, *k);
	return 0;
}

/* Merges the queue groups of the matched nodes by name into c->qg, and
 * records in c->qmap where each node's group went. */
static int gather_queues(struct sublist_cache *c)
{
	const struct qgroup *g;
	const struct node *nd;
	uint32_t i, j, k, *m;
	int64_t pos;

	c->nqg = 0;
	c->nqmap = 0;
	for (i = 0; i < c->nnodes; i++) {
		nd = c->nodes[i];
		for (j = 0; j < nd->qgroups.n; j++) {
			g = nd->qgroups.v[j];
			pos = qg_lookup(c, g);
			if (pos >= 0)
				k = (uint32_t)pos;
			else if (qg_add(c, g, &k) != 0)
				return NATSD_ENOMEM;
			c->qg[k].n += g->subs.n;
			m = grow(c->qmap, &c->qmap_cap, (size_t)c->nqmap + 1,
				 sizeof(*m));
			if (m == NULL)
				return NATSD_ENOMEM;
			c->qmap = m;
			m[c->nqmap++] = k;
		}
	}
	return 0;
}

/* Sizes of a result being built. */
struct shape {
	size_t np;    /* plain subs */
	size_t nqs;   /* queue members */
	size_t names; /* bytes of queue names */
	size_t need;  /* bytes of the whole block */
};

static void measure(const struct sublist_cache *c, size_t len, struct shape *sh)
{
	uint32_t i;

	sh->np = 0;
	sh->nqs = 0;
	sh->names = 0;
	for (i = 0; i < c->nnodes; i++)
		sh->np += c->nodes[i]->psubs.n;
	for (i = 0; i < c->nqg; i++) {
		sh->nqs += c->qg[i].n;
		sh->names += c->qg[i].len;
	}
	sh->need = c->nqg * sizeof(struct sublist_qgroup) +
		   (sh->np + sh->nqs) * sizeof(struct sub *) + sh->names + len;
}

/* The block size an entry should have for need bytes: keep what it has
 * unless that is too small or far too big. */
static size_t block_size(const struct entry *e, size_t need)
{
	if (e->cap >= need && e->cap <= 2 * need + 256)
		return e->cap;
	return need;
}

/* Picks the entry for a result of need bytes: a free or stale way of the
 * subject's set, else one in turn; c->big when over budget. *slot is its
 * index in c->ents, or -1 for c->big. */
static struct entry *pick_entry(struct sublist_cache *c, uint64_t h,
				uint64_t gen, size_t need, int64_t *slot)
{
	size_t base = (size_t)(h & c->setmask) * CACHE_WAYS, i, w;
	struct entry *e;

	for (w = 0; w < CACHE_WAYS; w++)
		if (c->ents[base + w].gen != gen)
			break;
	if (w == CACHE_WAYS)
		w = c->tick++ % CACHE_WAYS;
	i = base + w;
	e = &c->ents[i];
	if (need <= c->budget / 8 &&
	    c->bytes - e->cap + block_size(e, need) <= c->budget) {
		*slot = (int64_t)i;
		return e;
	}
	*slot = -1;
	return &c->big;
}

/* Copies the matched subs into e's block (under the read lock). */
static void fill_result(struct sublist_cache *c, struct entry *e,
			const struct shape *sh, const char *subj, size_t len)
{
	struct sublist_qgroup *q = e->block;
	struct sub **ptrs = (struct sub **)(q + c->nqg);
	char *names = (char *)(ptrs + sh->np + sh->nqs), *subjcopy;
	const struct qgroup *g;
	const struct node *nd;
	size_t np = 0, off = sh->np, noff = 0;
	uint32_t i, j, k, m = 0, x;

	for (i = 0; i < c->nnodes; i++) {
		nd = c->nodes[i];
		for (j = 0; j < nd->psubs.n; j++)
			ptrs[np++] = nd->psubs.v[j];
	}
	for (k = 0; k < c->nqg; k++) {
		memcpy(names + noff, c->qg[k].name, c->qg[k].len);
		q[k].name = names + noff;
		q[k].name_len = c->qg[k].len;
		q[k].n = c->qg[k].n;
		q[k].subs = ptrs + off;
		noff += c->qg[k].len;
		off += c->qg[k].n;
	}
	for (i = 0; i < c->nnodes; i++) {
		nd = c->nodes[i];
		for (j = 0; j < nd->qgroups.n; j++) {
			g = nd->qgroups.v[j];
			k = c->qmap[m++];
			for (x = 0; x < g->subs.n; x++)
				q[k].subs[c->qg[k].fill++] = g->subs.v[x];
		}
	}
	subjcopy = names + sh->names;
	memcpy(subjcopy, subj, len);
	e->subj = subjcopy;
	e->len = (uint32_t)len;
	e->res.npsubs = (uint32_t)sh->np;
	e->res.psubs = ptrs;
	e->res.nqgroups = c->nqg;
	e->res.qgroups = q;
}

static void note_fanout(struct sublist *sl, size_t n)
{
	uint32_t f = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	uint32_t cur;

	atomic_fetch_add_explicit(&sl->nresults, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sl->fanout_sum, f, memory_order_relaxed);
	cur = atomic_load_explicit(&sl->fanout_max, memory_order_relaxed);
	while (f > cur && !atomic_compare_exchange_weak_explicit(
				  &sl->fanout_max, &cur, f,
				  memory_order_relaxed, memory_order_relaxed))
		;
}

/* Builds the result for the gathered nodes into an entry (under the read
 * lock, at generation gen). NULL when out of memory. */
static const struct sublist_result *store(struct sublist_cache *c,
					  struct sublist *sl, const char *subj,
					  size_t len, uint64_t h, uint64_t gen,
					  bool keep)
{
	struct shape sh;
	struct entry *e;
	int64_t slot;
	size_t size;
	void *b;
	bool live;

	measure(c, len, &sh);
	if (keep) {
		e = pick_entry(c, h, gen, sh.need, &slot);
	} else {
		e = &c->big;
		slot = -1;
	}
	live = e->gen == gen && slot >= 0;
	size = block_size(e, sh.need);
	/* c->big only grows, unless it is far too big. */
	if (slot < 0 && e->cap >= sh.need &&
	    (e->cap <= ((size_t)1 << 20) || e->cap <= 4 * sh.need))
		size = e->cap;
	if (size != e->cap) {
		b = realloc(e->block, size);
		if (b == NULL)
			return NULL;
		if (slot >= 0)
			c->bytes = c->bytes - e->cap + size;
		e->block = b;
		e->cap = size;
	}
	fill_result(c, e, &sh, subj, len);
	note_fanout(sl, sh.np + sh.nqs);
	if (slot < 0)
		return &e->res;
	e->gen = gen;
	c->tags[slot] = h;
	if (!live)
		atomic_fetch_add_explicit(&sl->ncached, 1,
					  memory_order_relaxed);
	return &e->res;
}

/* Computes the result; keeps it in the cache (under hash h) or, with
 * keep false, only in c->big until the next match. */
static const struct sublist_result *match_miss(struct sublist *sl,
					       const char *subj, size_t len,
					       struct sublist_cache *c,
					       uint64_t h, bool keep)
{
	const struct sublist_result *r = NULL;
	uint32_t ntoks;
	uint64_t gen;
	int rc;

	c->pend_matches++;
	rc = tokenize(c, sl, subj, len, &ntoks);
	if (rc != 0) {
		stats_flush(c, sl);
		return rc > 0 ? &empty_result : NULL;
	}
	pthread_rwlock_rdlock(&sl->lock);
	gen = atomic_load_explicit(&sl->gen, memory_order_relaxed);
	if (collect(c, sl->root, ntoks) == 0 && gather_queues(c) == 0)
		r = store(c, sl, subj, len, h, gen, keep);
	pthread_rwlock_unlock(&sl->lock);
	stats_flush(c, sl);
	return r;
}

const struct sublist_result *sublist_match(struct sublist *sl, const char *subj,
					   size_t len, struct sublist_cache *c)
{
	uint64_t gen = atomic_load_explicit(&sl->gen, memory_order_acquire);
	const struct entry *e;
	size_t base, w;
	uint64_t h;

	if (c->sl_id != sl->id)
		cache_reset(c, sl);
	if (len == 0 || len > UINT32_MAX) {
		if (++c->pend_matches >= STATS_BATCH)
			stats_flush(c, sl);
		return &empty_result;
	}
	if (c->bypass && ++c->sample % BYPASS_SAMPLE != 0)
		return match_miss(sl, subj, len, c, 0, false);
	if (++c->win_lookups == WINDOW) {
		/* Under 1 hit in 16: the cache costs more than it saves. */
		c->bypass = c->win_hits < WINDOW / 16;
		c->win_lookups = 0;
		c->win_hits = 0;
	}
	h = hash_bytes(subj, len, c->seed);
	base = (size_t)(h & c->setmask) * CACHE_WAYS;
	for (w = 0; w < CACHE_WAYS; w++) {
		if (c->tags[base + w] != h)
			continue;
		e = &c->ents[base + w];
		if (e->gen == gen && e->len == len &&
		    memcmp(e->subj, subj, len) == 0) {
			c->win_hits++;
			c->pend_hits++;
			if (++c->pend_matches >= STATS_BATCH)
				stats_flush(c, sl);
			return &e->res;
		}
	}
	return match_miss(sl, subj, len, c, h, true);
}
