/* Message routing.
 *
 * One publish: match the subject in the account's index (through the
 * calling worker's cache), queue a MSG/HMSG for each plain subscriber,
 * pick one member of each queue group, and hand each link connection that
 * has interest one forward() call carrying the queue groups picked on it.
 * Nothing here allocates per message: frames are formatted on the stack
 * and copied into the subscriber's outbound queue. A large payload for
 * several subscribers is the exception: it is copied once into a shared
 * blob, which each queue references. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <natsd/plugin.h>

#include "account.h"
#include "client.h"
#include "conn.h"
#include "host.h"
#include "imports.h"
#include "perms.h"
#include "router.h"
#include "server.h"
#include "sub.h"
#include "sublist.h"

#define ROUTER_MAX_LINKS  64
#define ROUTER_MAX_QUEUES 64
#define ROUTER_SHARE_MIN  4096 /* payload bytes worth sharing, not copying */

/* [from][to]: may a message that arrived on a `from` connection be sent
 * to a `to` connection? Routes form a full mesh and gateways connect every
 * server, so what came from one of them has reached its peers already. */
static const bool forward_rules[5][5] = {
	/*                          client route  gw     leaf   system */
	[NATSD_KIND_CLIENT] = { true, true, true, true, true },
	[NATSD_KIND_ROUTE] = { true, false, false, true, true },
	[NATSD_KIND_GATEWAY] = { true, true, false, true, true },
	[NATSD_KIND_LEAF] = { true, true, true, true, true },
	[NATSD_KIND_SYSTEM] = { true, true, true, true, true },
};

bool router_may_forward(int from, int to)
{
	if (from < 0 || from > NATSD_KIND_SYSTEM || to < 0 ||
	    to > NATSD_KIND_SYSTEM)
		return false;
	return forward_rules[from][to];
}

static bool is_link_kind(int kind)
{
	return kind == NATSD_KIND_ROUTE || kind == NATSD_KIND_GATEWAY ||
	       kind == NATSD_KIND_LEAF;
}

static uint32_t router_rand(void)
{
	static __thread uint32_t x = 2463534242u;

	/* xorshift32: queue member choice needs spread, not secrecy. */
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

static void sub_reap_task(struct loop *l, void *arg)
{
	struct sub *s = arg;
	struct conn *c = s->conn;

	(void)l;
	sidmap_del(&c->subs, s);
	if (c->nsubs > 0)
		c->nsubs--;
	account_sub_remove(s->acc, s);
	loop_retire(s, sub_free);
}

/* Writes v in decimal at p; returns the end. */
static char *put_u32(char *p, uint32_t v)
{
	char tmp[10];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/* The parts of a MSG/HMSG line that are the same for every subscriber:
 * "MSG <subject> " before the sid and " [reply] <sizes>\r\n" after it,
 * formatted once per publish (not with printf: it was half the cost of a
 * fan-out). */
struct frame_parts {
	char *pre, *post;
	uint32_t pre_len, post_len;
	uint32_t line_len; /* of post, up to the line's CRLF (for traces) */
};

/* Payloads up to this size are copied behind each form's post part once
 * per publish, so a delivery queues three pieces instead of five. */
#define ROUTER_INLINE_MAX 256

struct frames {
	const struct pubmsg *m;
	bool ready;                    /* built on the first local delivery */
	bool share;                    /* queue the payload by reference */
	bool inl;                      /* post parts end with payload, CRLF */
	struct outq_blob *blob;        /* made by the first queue to need it */
	struct frame_parts plain, hdr; /* hdr: only when m has headers */
	char stack[512 + 2 * (ROUTER_INLINE_MAX + 2)];
	char *heap;
};

static void frame_build(struct frame_parts *f, char *p, const struct pubmsg *m,
			bool hdr, bool inl)
{
	f->pre = p;
	if (hdr) {
		memcpy(p, "HMSG ", 5);
		p += 5;
	} else {
		memcpy(p, "MSG ", 4);
		p += 4;
	}
	memcpy(p, m->subject, m->subject_len);
	p += m->subject_len;
	*p++ = ' ';
	f->pre_len = (uint32_t)(p - f->pre);
	f->post = p;
	if (m->reply != NULL) {
		*p++ = ' ';
		memcpy(p, m->reply, m->reply_len);
		p += m->reply_len;
	}
	*p++ = ' ';
	if (hdr) {
		p = put_u32(p, m->hdr_len);
		*p++ = ' ';
		p = put_u32(p, m->hdr_len + m->data_len);
	} else {
		p = put_u32(p, m->data_len);
	}
	*p++ = '\r';
	*p++ = '\n';
	f->line_len = (uint32_t)(p - f->post);
	if (inl) {
		if (hdr) {
			memcpy(p, m->hdr, m->hdr_len);
			p += m->hdr_len;
		}
		memcpy(p, m->data, m->data_len);
		p += m->data_len;
		*p++ = '\r';
		*p++ = '\n';
	}
	f->post_len = (uint32_t)(p - f->post);
}

/* 0, or NATSD_ENOMEM. */
static int frames_init(struct frames *fr, const struct pubmsg *m)
{
	/* Each form: op, subject, reply, two sizes, spaces and CRLF. */
	size_t one = 5 + m->subject_len + m->reply_len + 2 * 11 + 8;
	char *buf = fr->stack;

	fr->heap = NULL;
	fr->inl = !fr->share &&
		  (size_t)m->hdr_len + m->data_len <= ROUTER_INLINE_MAX;
	if (fr->inl)
		one += (size_t)m->hdr_len + m->data_len + 2;
	if (2 * one > sizeof(fr->stack)) {
		fr->heap = buf = malloc(2 * one);
		if (buf == NULL)
			return NATSD_ENOMEM;
	}
	frame_build(&fr->plain, buf, m, false, fr->inl);
	if (m->hdr_len > 0)
		frame_build(&fr->hdr, buf + one, m, true, fr->inl);
	fr->ready = true;
	return 0;
}

static void frames_fini(struct frames *fr)
{
	free(fr->heap);
	outq_blob_put(fr->blob);
}

struct link_target {
	struct conn *c;
	const char *queues[ROUTER_MAX_QUEUES];
	uint32_t nqueues;
};

struct route_state {
	struct conn *from;
	const bool *fwd; /* forward_rules[from's kind] */
	const struct pubmsg *m;
	struct frames fr;
	struct link_target links[ROUTER_MAX_LINKS];
	uint32_t nlinks;
	int delivered;
};

static void router_deliver(struct sub *s, struct frames *fr)
{
	const struct pubmsg *m = fr->m;
	struct conn *c = s->conn;
	const struct frame_parts *f;
	struct iovec iov[6];
	uint64_t n, max;
	bool hdr = m->hdr_len > 0 && (c->flags & CONN_F_HEADERS);
	size_t bytes = m->data_len + (hdr ? m->hdr_len : 0), need;
	int cnt = 0, expect = 0;

	/* Past its max already (counted for sure under the out lock). */
	max = atomic_load_explicit(&s->max, memory_order_relaxed);
	if (max != 0 &&
	    atomic_load_explicit(&s->nmsgs, memory_order_relaxed) >= max)
		return;
	/* A publish nobody local receives never formats a frame. */
	if (!fr->ready && frames_init(fr, m) != 0)
		return;
	f = hdr ? &fr->hdr : &fr->plain;
	iov[cnt].iov_base = f->pre;
	iov[cnt++].iov_len = f->pre_len;
	iov[cnt].iov_base = s->sid;
	iov[cnt++].iov_len = s->sid_len;
	iov[cnt].iov_base = f->post;
	iov[cnt++].iov_len = f->post_len;
	need = (size_t)f->pre_len + s->sid_len + f->post_len;
	if (!fr->inl) {
		if (hdr) {
			iov[cnt].iov_base = (void *)m->hdr;
			iov[cnt++].iov_len = m->hdr_len;
		}
		iov[cnt].iov_base = (void *)m->data;
		iov[cnt++].iov_len = m->data_len;
		iov[cnt].iov_base = "\r\n";
		iov[cnt++].iov_len = 2;
		need += bytes + 2;
	}
	if (m->reply != NULL && c->perms != NULL && c->perms->resp)
		client_resp_grant(c, m->reply, m->reply_len);
	n = conn_sendmsg(c, s, iov, cnt, need, bytes,
			 fr->share ? &fr->blob : NULL);
	if (n == 0)
		return;
	if (conn_tracing()) {
		char line[1024];
		int len = snprintf(line, sizeof(line), "%.*s%s%.*s",
				   (int)f->pre_len, f->pre, s->sid,
				   (int)f->line_len, f->post);

		conn_trace(c, "->>", line, len > 0 ? (size_t)len : 0);
	}
	/* The publisher that delivers the last allowed message removes the
	 * sub, on its owner's thread. */
	if (max != 0 && n == max &&
	    atomic_compare_exchange_strong(&s->dead, &expect, 1))
		loop_post(c->w->loop, sub_reap_task, s);
}

static struct link_target *link_target(struct route_state *st,
				       struct conn *c)
{
	uint32_t i;

	for (i = 0; i < st->nlinks; i++)
		if (st->links[i].c == c)
			return &st->links[i];
	if (st->nlinks == ROUTER_MAX_LINKS)
		return NULL;
	st->links[st->nlinks].c = c;
	st->links[st->nlinks].nqueues = 0;
	return &st->links[st->nlinks++];
}

/* May s receive this message at all (echo, liveness, kind rules)? */
static bool eligible(const struct route_state *st, const struct sub *s)
{
	const struct conn *dst = s->conn;

	if (atomic_load_explicit(&s->dead, memory_order_relaxed))
		return false;
	if (dst == st->from)
		return !(dst->flags & CONN_F_NO_ECHO) &&
		       !is_link_kind(dst->kind);
	if (is_link_kind(dst->kind) && !(dst->flags & CONN_F_LINK_UP))
		return false;
	return (unsigned)dst->kind <= NATSD_KIND_SYSTEM && st->fwd[dst->kind];
}

/* Accounts this thread is routing a message in, outermost first: an
 * import into one of them would loop, and would also reuse the match
 * result that the outer routing is still walking. */
static __thread struct account *routing_in[IMPORTS_MAX_DEPTH + 1];
static __thread int routing_depth;

/* ABI 1.2: a plugin's subscription (account_subscribe). */
static void route_notify(struct route_state *st, struct import *imp)
{
	const struct pubmsg *m = st->m;
	struct natsd_msg lm = { .struct_size = sizeof(lm) };

	lm.account = imp->src->name;
	lm.subject = m->subject;
	lm.subject_len = m->subject_len;
	lm.reply = m->reply;
	lm.reply_len = m->reply_len;
	lm.hdr = m->hdr;
	lm.hdr_len = m->hdr_len;
	lm.data = m->data;
	lm.data_len = m->data_len;
	imp->fn(imp->arg, &lm);
}

/* Delivers the message into the account an import leads to. */
/* The header block of a request crossing a service import: the
 * requester's own headers, if any, and Nats-Request-Info with its account
 * and round trip, as nats-server adds it. Returns its length (0 when it
 * does not fit in cap). */
static size_t request_info(const struct conn *from, const struct pubmsg *m,
			   char *out, size_t cap)
{
	char info[256];
	size_t base, n;
	int k;

	if (from->rtt_ns > 0)
		k = snprintf(info, sizeof(info),
			     "Nats-Request-Info: {\"acc\":\"%s\",\"rtt\":%lld}"
			     "\r\n\r\n",
			     from->acc->name, (long long)from->rtt_ns);
	else
		k = snprintf(info, sizeof(info),
			     "Nats-Request-Info: {\"acc\":\"%s\"}\r\n\r\n",
			     from->acc->name);
	if (k < 0 || (size_t)k >= sizeof(info))
		return 0;
	/* Keep the requester's block but its final CRLF. */
	if (m->hdr_len >= 4)
		base = m->hdr_len - 2;
	else
		base = 0;
	n = (base > 0 ? base : 10) + (size_t)k;
	if (n > cap)
		return 0;
	if (base > 0) {
		memcpy(out, m->hdr, base);
	} else {
		base = 10;
		memcpy(out, "NATS/1.0\r\n", base);
	}
	memcpy(out + base, info, (size_t)k);
	return n;
}

static void route_import(struct route_state *st, struct import *imp)
{
	const struct pubmsg *m = st->m;
	struct imports *ims = st->from->srv->imports;
	struct pubmsg m2 = *m;
	char stackbuf[512], reply[32], hstack[512], *subj = stackbuf;
	char *hdr = hstack;
	size_t cap = sizeof(stackbuf), n;
	int i;

	if (imp->kind == IMPORT_NOTIFY) {
		route_notify(st, imp);
		return;
	}
	if (routing_depth > IMPORTS_MAX_DEPTH)
		return;
	for (i = 0; i < routing_depth; i++)
		if (routing_in[i] == imp->dst)
			return;
	if (imp->kind == IMPORT_RESPONSE && !import_response_take(ims, imp))
		return;
	/* The new subject is at most all of these. */
	cap = m->subject_len + 1 + (imp->prefix ? strlen(imp->prefix) : 0) +
	      (imp->dst_pat ? strlen(imp->dst_pat) : 0);
	if (cap > sizeof(stackbuf) && (subj = malloc(cap)) == NULL)
		return;
	n = import_subject(imp, m->subject, m->subject_len, subj,
			   subj == stackbuf ? sizeof(stackbuf) : cap);
	if (n == 0)
		goto out;
	m2.subject = subj;
	m2.subject_len = (uint32_t)n;
	if (imp->kind == IMPORT_SERVICE && m->reply != NULL) {
		n = import_response_map(ims, imp, m->reply, m->reply_len, reply,
					sizeof(reply));
		if (n == 0)
			goto out;
		m2.reply = reply;
		m2.reply_len = (uint32_t)n;
	}
	if (imp->kind == IMPORT_SERVICE && st->from->acc != NULL) {
		cap = m->hdr_len + 300 + strlen(st->from->acc->name);
		if (cap > sizeof(hstack) && (hdr = malloc(cap)) == NULL)
			goto out;
		n = request_info(st->from, m, hdr,
				 hdr == hstack ? sizeof(hstack) : cap);
		if (n > 0) {
			m2.hdr = hdr;
			m2.hdr_len = (uint32_t)n;
		}
	}
	m2.queues = NULL;
	m2.nqueues = 0;
	router_publish(st->from, imp->dst, &m2);
out:
	if (subj != stackbuf)
		free(subj);
	if (hdr != hstack)
		free(hdr);
}

static void route_plain(struct route_state *st, struct sub *s)
{
	struct link_target *t;

	/* As in nats-server, an import counts as a receiver whether or not
	 * anyone gets the message beyond it: no "no responders". */
	if (s->imp != NULL) {
		if (!atomic_load_explicit(&s->dead, memory_order_relaxed)) {
			route_import(st, s->imp);
			st->delivered++;
		}
		return;
	}
	if (!eligible(st, s))
		return;
	if (is_link_kind(s->conn->kind)) {
		t = link_target(st, s->conn);
		if (t != NULL)
			st->delivered++;
		return;
	}
	router_deliver(s, &st->fr);
	st->delivered++;
}

static bool queue_listed(const struct pubmsg *m,
			 const struct sublist_qgroup *g)
{
	uint32_t i;

	for (i = 0; i < m->nqueues; i++)
		if (strlen(m->queues[i]) == g->name_len &&
		    memcmp(m->queues[i], g->name, g->name_len) == 0)
			return true;
	return false;
}

/* Picks one member of group g, weighted (a remote member stands for as
 * many members as its weight), starting from a random point. */
/* May member s of a group take this message? What came over a link is
 * for this server's own members. */
static bool member_ok(const struct route_state *st, const struct sub *s,
		      bool from_link)
{
	return eligible(st, s) && !(from_link && is_link_kind(s->conn->kind));
}

/* Members of weight 1 only (no remote interest): as nats-server picks,
 * the first member that may take it from a random start. */
static struct sub *pick_first(const struct route_state *st,
			      const struct sublist_qgroup *g, bool from_link)
{
	uint32_t i = router_rand() % g->n, k;

	for (k = 0; k < g->n; k++) {
		if (member_ok(st, g->subs[i], from_link))
			return g->subs[i];
		if (++i == g->n)
			i = 0;
	}
	return NULL;
}

/* One pass of weighted reservoir sampling: each member that may take it
 * replaces the pick with probability weight / total so far, which ends
 * in a pick proportional to weight (a remote member stands for as many
 * members as its weight). */
static struct sub *pick_weighted(const struct route_state *st,
				 const struct sublist_qgroup *g, bool from_link)
{
	struct sub *s, *pick = NULL;
	uint32_t total = 0, w, i;

	for (i = 0; i < g->n; i++) {
		s = g->subs[i];
		if (!member_ok(st, s, from_link))
			continue;
		w = s->weight > 0 ? (uint32_t)s->weight : 1;
		total += w;
		if (router_rand() % total < w)
			pick = s;
	}
	return pick;
}

static void route_queue(struct route_state *st, const struct sublist_qgroup *g)
{
	const struct pubmsg *m = st->m;
	struct link_target *t;
	struct sub *pick;
	bool from_link = is_link_kind(st->from->kind);
	uint32_t i;

	/* A link names the groups this server was picked for; routes and
	 * gateways name none for messages meant for plain subscribers. */
	if (g->n == 0 ||
	    (from_link &&
	     (m->nqueues > 0 || st->from->kind != NATSD_KIND_LEAF) &&
	     !queue_listed(m, g)))
		return;
	for (i = 0; i < g->n && g->subs[i]->weight <= 1; i++)
		;
	pick = i == g->n ? pick_first(st, g, from_link)
			 : pick_weighted(st, g, from_link);
	if (pick == NULL)
		return;
	if (is_link_kind(pick->conn->kind)) {
		t = link_target(st, pick->conn);
		if (t != NULL && t->nqueues < ROUTER_MAX_QUEUES) {
			t->queues[t->nqueues++] = pick->queue;
			st->delivered++;
		}
		return;
	}
	router_deliver(pick, &st->fr);
	st->delivered++;
}

static void route_links(struct route_state *st, struct account *acc)
{
	const struct pubmsg *m = st->m;
	struct natsd_msg lm = { .struct_size = sizeof(lm) };
	uint32_t i;

	if (st->nlinks == 0)
		return;
	lm.account = acc->name;
	lm.subject = m->subject;
	lm.subject_len = m->subject_len;
	lm.reply = m->reply;
	lm.reply_len = m->reply_len;
	lm.hdr = m->hdr;
	lm.hdr_len = m->hdr_len;
	lm.data = m->data;
	lm.data_len = m->data_len;
	lm.origin = m->origin;
	for (i = 0; i < st->nlinks; i++) {
		lm.queues = st->links[i].queues;
		lm.nqueues = st->links[i].nqueues;
		host_link_forward(st->links[i].c, &lm);
	}
}

int router_publish(struct conn *from, struct account *acc,
		   const struct pubmsg *m)
{
	static const bool none[NATSD_KIND_SYSTEM + 1];
	const struct sublist_result *r;
	struct route_state st;
	uint32_t i;

	r = account_match(acc, m->subject, m->subject_len);
	/* Nobody: no frame, no links (they are reached through subs). */
	if (r != NULL && r->npsubs == 0 && r->nqgroups == 0)
		return 0;
	st.from = from;
	st.fwd = (unsigned)from->kind <= NATSD_KIND_SYSTEM
			 ? forward_rules[from->kind]
			 : none;
	st.m = m;
	st.nlinks = 0;
	st.delivered = 0;
	st.fr.m = m;
	st.fr.ready = false;
	st.fr.heap = NULL;
	st.fr.blob = NULL;
	st.fr.share = r != NULL && m->data_len >= ROUTER_SHARE_MIN &&
		      r->npsubs + r->nqgroups > 1;
	routing_in[routing_depth++] = acc;
	if (r != NULL) {
		for (i = 0; i < r->npsubs; i++)
			route_plain(&st, r->psubs[i]);
		for (i = 0; i < r->nqgroups; i++)
			route_queue(&st, &r->qgroups[i]);
	}
	routing_depth--;
	route_links(&st, acc);
	frames_fini(&st.fr);
	return st.delivered;
}
