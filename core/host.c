/* The host function table and what stands behind it: the registry of
 * transports, authenticators and links, listeners, and the link glue.
 *
 * natsd_host is the server itself seen through an opaque pointer. Ops
 * tables a plugin registers are copied into zeroed ones of the host's
 * size, so ops an older plugin lacks read as NULL. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "account.h"
#include "conffile.h"
#include "conn.h"
#include "host.h"
#include "imports.h"
#include "log.h"
#include "pmetric.h"
#include "router.h"
#include "server.h"
#include "sub.h"

/* From auth.c: request accessors behind the table. */
const char *host_auth_field(struct natsd_auth_req *r, int field);
int host_auth_set_user(struct natsd_auth_req *r, const char *name);
int host_auth_set_account(struct natsd_auth_req *r, const char *acc);
int host_auth_permit(struct natsd_auth_req *r, int list, const char *subj);
int host_auth_set_responses(struct natsd_auth_req *r, int64_t max,
			    int64_t expires_ns);
int host_auth_limit(struct natsd_auth_req *r, int limit, int64_t value);
int host_auth_set_expiry(struct natsd_auth_req *r, int64_t unix_ns);
void host_auth_done(struct natsd_auth_req *r, int verdict);
int host_auth_peer_cert(struct natsd_auth_req *r, const unsigned char **der,
			size_t *len);

struct listener {
	struct server *srv;
	int kind;
	struct link *link;
	struct transport *bottom;
	struct transport *layers[4]; /* pushed on each accepted stream */
	const struct natsd_cfg *layer_cfg[4]; /* their sections */
	int nlayers;
	/* Layers from nfirst on are pushed after INFO (client listeners,
	 * NATSD_TF_AFTER_INFO), by the connection itself. */
	int nfirst;
	uint32_t tflags; /* NATSD_TF_* of every layer */
	void *lctx;
	struct loop_io io;
	int port;
};

static inline struct server *srv_of(struct natsd_host *h)
{
	return (struct server *)h;
}

struct natsd_host *host_handle(struct server *s)
{
	return (struct natsd_host *)s;
}

int64_t host_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Registry. */

struct registry *registry_new(void)
{
	struct registry *r = calloc(1, sizeof(*r));

	if (r != NULL)
		pthread_mutex_init(&r->up_lock, NULL);
	return r;
}

void registry_free(struct registry *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->ntransports; i++)
		free(r->transports[i]);
	for (i = 0; i < r->nauths; i++)
		free(r->auths[i]);
	for (i = 0; i < r->nlinks; i++)
		free(r->links[i]);
	free(r->auths);
	free(r->chain);
	free(r->links);
	free(r->up);
	pthread_mutex_destroy(&r->up_lock);
	free(r);
}

void registry_truncate(struct registry *r, size_t ntransports,
		       size_t nauths, size_t nlinks)
{
	while (r->ntransports > ntransports)
		free(r->transports[--r->ntransports]);
	while (r->nauths > nauths)
		free(r->auths[--r->nauths]);
	while (r->nlinks > nlinks)
		free(r->links[--r->nlinks]);
}

struct transport *registry_transport(struct registry *r, const char *name)
{
	size_t i,
		n = atomic_load_explicit(&r->ntransports, memory_order_acquire);

	for (i = 0; i < n; i++)
		if (strcmp(r->transports[i]->ops.name, name) == 0)
			return r->transports[i];
	return NULL;
}

struct authn *registry_auth(struct registry *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nauths; i++)
		if (strcmp(r->auths[i]->ops.name, name) == 0)
			return r->auths[i];
	return NULL;
}

struct link *registry_link(struct registry *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nlinks; i++)
		if (strcmp(r->links[i]->ops.name, name) == 0)
			return r->links[i];
	return NULL;
}

/* Appends item to a registry array. */
static int reg_push(void ***arr, size_t *n, void *item)
{
	void **nv = realloc(*arr, (*n + 1) * sizeof(*nv));

	if (nv == NULL)
		return NATSD_ENOMEM;
	nv[(*n)++] = item;
	*arr = nv;
	return 0;
}

/* Copies a plugin's ops (of whatever size it was built with) into a
 * zeroed table of ours. */
static void ops_copy(void *dst, size_t dstsize, const void *src)
{
	uint32_t size = *(const uint32_t *)src;

	memset(dst, 0, dstsize);
	memcpy(dst, src, size < dstsize ? size : dstsize);
	*(uint32_t *)dst = (uint32_t)dstsize;
}

static int api_register_transport(struct natsd_host *h,
				  const struct natsd_transport_ops *ops,
				  void *ctx)
{
	struct server *s = srv_of(h);
	struct transport *t;
	size_t n;

	if (ops == NULL || ops->struct_size < offsetof(struct natsd_transport_ops, name) + sizeof(ops->name) || ops->name == NULL)
		return NATSD_EINVAL;
	if (registry_transport(s->reg, ops->name) != NULL)
		return NATSD_EEXIST;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NATSD_ENOMEM;
	ops_copy(&t->ops, sizeof(t->ops), ops);
	t->pctx = ctx;
	n = atomic_load_explicit(&s->reg->ntransports, memory_order_relaxed);
	if (n == REGISTRY_TRANSPORTS_MAX) {
		free(t);
		return NATSD_ENOSPC;
	}
	s->reg->transports[n] = t;
	atomic_store_explicit(&s->reg->ntransports, n + 1,
			      memory_order_release);
	return 0;
}

int host_register_auth(struct server *s, const struct natsd_auth_ops *ops,
		       void *ctx)
{
	struct authn *a;

	if (ops == NULL || ops->name == NULL || ops->authenticate == NULL)
		return NATSD_EINVAL;
	if (registry_auth(s->reg, ops->name) != NULL)
		return NATSD_EEXIST;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NATSD_ENOMEM;
	ops_copy(&a->ops, sizeof(a->ops), ops);
	a->pctx = ctx;
	if (reg_push((void ***)&s->reg->auths, &s->reg->nauths, a)) {
		free(a);
		return NATSD_ENOMEM;
	}
	return 0;
}

static int api_register_auth(struct natsd_host *h,
			     const struct natsd_auth_ops *ops, void *ctx)
{
	return host_register_auth(srv_of(h), ops, ctx);
}

static int api_register_link(struct natsd_host *h,
			     const struct natsd_link_ops *ops, void *ctx)
{
	struct server *s = srv_of(h);
	struct link *l;

	if (ops == NULL || ops->name == NULL || ops->on_data == NULL)
		return NATSD_EINVAL;
	if (ops->kind != NATSD_KIND_ROUTE && ops->kind != NATSD_KIND_GATEWAY &&
	    ops->kind != NATSD_KIND_LEAF)
		return NATSD_EINVAL;
	if (registry_link(s->reg, ops->name) != NULL)
		return NATSD_EEXIST;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NATSD_ENOMEM;
	ops_copy(&l->ops, sizeof(l->ops), ops);
	l->pctx = ctx;
	l->srv = s;
	if (reg_push((void ***)&s->reg->links, &s->reg->nlinks, l)) {
		free(l);
		return NATSD_ENOMEM;
	}
	return 0;
}

/* Logging. */

static void api_log(struct natsd_host *h, int level, const char *fmt, ...)
{
	va_list ap;

	(void)h;
	va_start(ap, fmt);
	log_vmsg((enum log_level)level, fmt, ap);
	va_end(ap);
}

static bool api_log_enabled(struct natsd_host *h, int level)
{
	(void)h;
	return log_enabled((enum log_level)level);
}

/* Streams. */

static ssize_t api_stream_read(struct natsd_stream *s, void *buf, size_t len)
{
	return s->ops->read(s->sctx, s->below, buf, len);
}

static ssize_t api_stream_writev(struct natsd_stream *s,
				 const struct iovec *iov, int iovcnt)
{
	return s->ops->writev(s->sctx, s->below, iov, iovcnt);
}

static int api_stream_want(struct natsd_stream *s)
{
	return s->ops->want ? s->ops->want(s->sctx) : 0;
}

static size_t api_stream_pending(struct natsd_stream *s)
{
	return s->ops->pending ? s->ops->pending(s->sctx) : 0;
}

int host_stream_query(struct natsd_stream *s, int key, const void **out,
		      size_t *len)
{
	int rc;

	for (; s != NULL; s = s->below) {
		if (s->ops->query == NULL)
			continue;
		rc = s->ops->query(s->sctx, key, out, len);
		if (rc != NATSD_ENOTSUP)
			return rc;
	}
	return NATSD_ENOTSUP;
}

static int api_stream_query(struct natsd_stream *s, int key, const void **out,
			    size_t *len)
{
	return host_stream_query(s, key, out, len);
}

/* Listeners and connections. */

static int stream_push(struct natsd_stream **top, struct transport *t,
		       void *sctx)
{
	struct natsd_stream *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NATSD_ENOMEM;
	s->ops = &t->ops;
	s->sctx = sctx;
	s->below = *top;
	*top = s;
	return 0;
}

struct adopt {
	struct listener *l;
	struct link *link;
	int kind;
	int fd;
	struct natsd_stream *top;
	bool dialing;
	void *dial_arg;
	struct transport *late[HOST_LATE_MAX];
	int nlate;
};

static void stream_drop(struct natsd_stream *s)
{
	struct natsd_stream *below;

	for (; s != NULL; s = below) {
		below = s->below;
		if (s->ops->close)
			s->ops->close(s->sctx, below);
		free(s);
	}
}

/* On the chosen worker: make the connection and start its protocol. */
static void adopt_task(struct loop *lp, void *arg)
{
	struct adopt *a = arg;
	struct worker *w = server_current_worker();
	struct conn *c;

	(void)lp;
	c = conn_new(w, a->kind, a->fd, a->top);
	if (c == NULL) {
		stream_drop(a->top);
		free(a);
		return;
	}
	c->link = a->link;
	c->dial_arg = a->dial_arg;
	memcpy(c->late, a->late, sizeof(c->late));
	c->nlate = (uint8_t)a->nlate;
	if (a->dialing)
		c->flags |= CONN_F_DIALING;
	free(a);
	conn_start(c);
}

static int adopt(struct server *s, struct adopt *a)
{
	struct worker *w;

	if (atomic_load(&s->shutting_down))
		return NATSD_ESHUTDOWN;
	w = server_pick_worker(s);
	return loop_post(w->loop, adopt_task, a);
}

static void listener_accept(struct loop *lp, void *arg, uint32_t events)
{
	struct listener *l = arg;
	struct natsd_stream *top;
	struct adopt *a;
	void *sctx, *lctx;
	int fd, i, n, rc;

	(void)lp;
	(void)events;
	/* Bounded per wake-up; level-triggered epoll brings us back. */
	for (n = 0; n < 64; n++) {
		rc = l->bottom->ops.accept(l->lctx, &sctx, &fd);
		if (rc != 0)
			return;
		top = NULL;
		if (stream_push(&top, l->bottom, sctx) != 0) {
			l->bottom->ops.close(sctx, NULL);
			continue;
		}
		for (i = 0; i < l->nfirst; i++) {
			rc = l->layers[i]->ops.push(l->layers[i]->pctx, top,
						    l->layer_cfg[i], &lctx);
			if (rc != 0 || stream_push(&top, l->layers[i], lctx)) {
				stream_drop(top);
				top = NULL;
				break;
			}
		}
		if (top == NULL)
			continue;
		a = calloc(1, sizeof(*a));
		if (a == NULL) {
			stream_drop(top);
			continue;
		}
		a->l = l;
		a->link = l->link;
		a->kind = l->kind;
		a->fd = fd;
		a->top = top;
		for (i = l->nfirst; i < l->nlayers; i++)
			a->late[a->nlate++] = l->layers[i];
		if (adopt(l->srv, a) != 0) {
			stream_drop(top);
			free(a);
		}
	}
}

/* Which layers a client listener pushes after INFO: those on top that
 * all ask to (NATSD_TF_AFTER_INFO), with the settings the listener gives
 * them. A layer under one that handshakes at accept (tls under a
 * websocket) is pushed at accept too: it cannot go under a layer that is
 * already there, and INFO travels above both. */
static int stack_stages(struct listener *l, char *err, size_t errlen)
{
	uint32_t f;
	int i;

	l->nfirst = l->nlayers;
	l->tflags = 0;
	for (i = l->nlayers - 1; i >= 0; i--) {
		struct transport *t = l->layers[i];

		f = t->ops.flags != NULL
			    ? t->ops.flags(t->pctx, l->layer_cfg[i])
			    : 0;
		l->tflags |= f;
		if ((f & NATSD_TF_AFTER_INFO) && l->kind == NATSD_KIND_CLIENT &&
		    l->nfirst == i + 1)
			l->nfirst = i;
	}
	if (l->nlayers - l->nfirst > HOST_LATE_MAX) {
		snprintf(err, errlen,
			 "at most %d transports can be pushed "
			 "after INFO",
			 HOST_LATE_MAX);
		return NATSD_EINVAL;
	}
	return 0;
}

uint32_t listener_flags(const struct listener *l)
{
	return l != NULL ? l->tflags : 0;
}

int host_push_layer(struct conn *c, struct transport *t,
		    const struct natsd_cfg *cfg)
{
	void *sctx;
	int rc;

	rc = t->ops.push(t->pctx, c->top, cfg, &sctx);
	if (rc != 0)
		return rc;
	rc = stream_push(&c->top, t, sctx);
	if (rc != 0) {
		t->ops.close(sctx, c->top);
		return rc;
	}
	/* Only a bare socket may be written by other threads. */
	pthread_mutex_lock(&c->out_lock);
	c->direct_ok = false;
	pthread_mutex_unlock(&c->out_lock);
	return 0;
}

void host_transports_reload(struct server *s)
{
	char err[512];
	size_t i;
	int rc;

	for (i = 0; i < s->reg->ntransports; i++) {
		struct transport *t = s->reg->transports[i];

		if (t->ops.reload == NULL)
			continue;
		err[0] = '\0';
		rc = t->ops.reload(t->pctx, err, sizeof(err));
		if (rc != 0)
			log_error("Reload: transport %s: %s", t->ops.name,
				  err[0] ? err : strerror(-rc));
	}
}

/* Splits "tcp,tls" into transports; the first is the bottom one. */
static int resolve_stack(struct server *s, const char *names,
			 struct listener *l, char *err, size_t errlen)
{
	char buf[256], *tok, *save = NULL;
	struct transport *t;

	snprintf(buf, sizeof(buf), "%s", names ? names : "tcp");
	for (tok = strtok_r(buf, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		t = registry_transport(s->reg, tok);
		if (t == NULL) {
			snprintf(err, errlen,
				 "no transport named \"%s\" is loaded (load "
				 "its plugin with a plugins directive)",
				 tok);
			return NATSD_ENOENT;
		}
		if (l->bottom == NULL) {
			if (t->ops.listen == NULL || t->ops.accept == NULL) {
				snprintf(err, errlen,
					 "transport \"%s\" cannot listen: it "
					 "is a layer",
					 tok);
				return NATSD_EINVAL;
			}
			l->bottom = t;
		} else {
			if (t->ops.push == NULL || l->nlayers == 4) {
				snprintf(err, errlen,
					 "transport \"%s\" cannot be stacked",
					 tok);
				return NATSD_EINVAL;
			}
			l->layers[l->nlayers++] = t;
		}
	}
	if (l->bottom == NULL) {
		snprintf(err, errlen, "empty transport list");
		return NATSD_EINVAL;
	}
	return stack_stages(l, err, errlen);
}

int listener_open(struct server *s, int kind, struct link *link,
		  const char *transports, const struct natsd_listen_spec *spec,
		  struct listener **out, char *err, size_t errlen)
{
	return listener_open_cfg(s, kind, link, transports, spec, NULL, 0, out,
				 err, errlen);
}

int listener_open_cfg(struct server *s, int kind, struct link *link,
		      const char *transports,
		      const struct natsd_listen_spec *spec,
		      const struct natsd_cfg *const *layer_cfg, int ncfg,
		      struct listener **out, char *err, size_t errlen)
{
	struct listener *l;
	int fd, i, rc;

	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NATSD_ENOMEM;
	l->srv = s;
	l->kind = kind;
	l->link = link;
	l->io.fd = -1;
	rc = resolve_stack(s, transports, l, err, errlen);
	if (rc != 0)
		goto out_free;
	for (i = 0; layer_cfg != NULL && i < ncfg && i < l->nlayers; i++)
		l->layer_cfg[i] = layer_cfg[i];
	/* Again, now that each layer's settings are known. */
	if (layer_cfg != NULL)
		rc = stack_stages(l, err, errlen);
	if (rc != 0)
		goto out_free;
	rc = l->bottom->ops.listen(l->bottom->pctx, spec, &l->lctx, &fd, err,
				   errlen);
	if (rc != 0)
		goto out_free;
	l->port = l->bottom->ops.listen_port ? l->bottom->ops.listen_port(l->lctx)
					     : spec->port;
	rc = loop_io_add(s->main_loop, &l->io, fd, EPOLLIN, listener_accept, l);
	if (rc != 0) {
		snprintf(err, errlen, "cannot watch the listener: %s",
			 strerror(-rc));
		l->bottom->ops.unlisten(l->lctx);
		goto out_free;
	}
	*out = l;
	return 0;

out_free:
	free(l);
	return rc;
}

/* The main loop accepts, and so runs this: no accept sees a half-made
 * stack. Connections already accepted keep the layers they got. */
int listener_restack(struct listener *l, const char *transports, char *err,
		     size_t errlen)
{
	struct listener tmp = { 0 };
	int rc, i;

	tmp.kind = l->kind;
	rc = resolve_stack(l->srv, transports, &tmp, err, errlen);
	if (rc != 0)
		return rc;
	if (tmp.bottom != l->bottom) {
		snprintf(err, errlen,
			 "the bottom transport cannot change while running");
		return NATSD_EINVAL;
	}
	for (i = 0; i < tmp.nlayers; i++)
		l->layers[i] = tmp.layers[i];
	l->nlayers = tmp.nlayers;
	l->nfirst = tmp.nfirst;
	l->tflags = tmp.tflags;
	return 0;
}

int listener_port(const struct listener *l)
{
	return l->port;
}

void listener_close(struct listener *l)
{
	if (l == NULL)
		return;
	loop_io_del(l->srv->main_loop, &l->io);
	if (l->bottom->ops.unlisten)
		l->bottom->ops.unlisten(l->lctx);
	free(l);
}

/* Links. */

static int api_link_listen(struct natsd_host *h, const char *link_name,
			   const char *transports,
			   const struct natsd_listen_spec *spec, int *port,
			   char *err, size_t errlen)
{
	struct server *s = srv_of(h);
	struct link *k = registry_link(s->reg, link_name);
	struct listener *l;
	int rc;

	if (k == NULL) {
		snprintf(err, errlen, "no link named \"%s\"", link_name);
		return NATSD_ENOENT;
	}
	rc = listener_open(s, k->ops.kind, k, transports, spec, &l, err,
			   errlen);
	if (rc != 0)
		return rc;
	if (port != NULL)
		*port = listener_port(l);
	rc = reg_push((void ***)&s->link_listeners, &s->nlink_listeners, l);
	if (rc != 0)
		listener_close(l);
	return rc;
}

static int api_link_dial(struct natsd_host *h, const char *link_name,
			 const char *transports, const char *host, int port,
			 void *arg, char *err, size_t errlen)
{
	struct server *s = srv_of(h);
	struct link *k = registry_link(s->reg, link_name);
	struct listener tmp = { 0 };
	struct natsd_stream *top = NULL;
	struct adopt *a;
	void *sctx;
	int fd, rc;

	if (k == NULL) {
		snprintf(err, errlen, "no link named \"%s\"", link_name);
		return NATSD_ENOENT;
	}
	rc = resolve_stack(s, transports, &tmp, err, errlen);
	if (rc != 0)
		return rc;
	if (tmp.bottom->ops.dial == NULL) {
		snprintf(err, errlen, "transport \"%s\" cannot dial",
			 tmp.bottom->ops.name);
		return NATSD_ENOTSUP;
	}
	rc = tmp.bottom->ops.dial(tmp.bottom->pctx, host, port, NULL, &sctx,
				  &fd, err, errlen);
	if (rc != 0)
		return rc;
	if (stream_push(&top, tmp.bottom, sctx) != 0) {
		tmp.bottom->ops.close(sctx, NULL);
		return NATSD_ENOMEM;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		stream_drop(top);
		return NATSD_ENOMEM;
	}
	a->link = k;
	a->kind = k->ops.kind;
	a->fd = fd;
	a->top = top;
	a->dialing = true;
	a->dial_arg = arg;
	rc = adopt(s, a);
	if (rc != 0) {
		stream_drop(top);
		free(a);
	}
	return rc;
}

static int api_conn_push(struct natsd_conn *nc, const char *transport,
			 const struct natsd_cfg *cfg)
{
	struct conn *c = (struct conn *)nc;
	struct transport *t;
	int rc;

	if (transport == NULL || server_current_worker() != c->w ||
	    (c->flags & CONN_F_CLOSED))
		return NATSD_EINVAL;
	t = registry_transport(c->srv->reg, transport);
	if (t == NULL)
		return NATSD_ENOENT;
	if (t->ops.push == NULL)
		return NATSD_ENOTSUP;
	/* Bytes already queued were meant for the stream as it was. */
	conn_flush(c);
	if (c->out.pending != 0)
		return NATSD_EAGAIN;
	rc = host_push_layer(c, t, cfg);
	if (rc != 0)
		return rc;
	conn_handshake_start(c);
	/* The layer may have bytes of its own to send (a ClientHello). */
	conn_flush(c);
	return 0;
}

static void *api_conn_dial_arg(struct natsd_conn *nc)
{
	return ((struct conn *)nc)->dial_arg;
}

static int api_conn_send(struct natsd_conn *nc, const void *buf, size_t len)
{
	return conn_send((struct conn *)nc, buf, len);
}

static int api_conn_sendv(struct natsd_conn *nc, const struct iovec *iov,
			  int iovcnt)
{
	return conn_sendv((struct conn *)nc, iov, iovcnt);
}

static void api_conn_close(struct natsd_conn *nc, const char *reason)
{
	(void)reason;
	conn_close_async((struct conn *)nc, CONN_CLOSE_LINK_CLOSED);
}

static uint64_t api_conn_id(struct natsd_conn *nc)
{
	return ((struct conn *)nc)->cid;
}

static const char *api_conn_peer(struct natsd_conn *nc)
{
	return ((struct conn *)nc)->ip;
}

static int up_add(struct registry *r, struct conn *c)
{
	struct conn **nv;
	size_t cap;

	pthread_mutex_lock(&r->up_lock);
	if (r->nup == r->capup) {
		cap = r->capup ? r->capup * 2 : 8;
		nv = realloc(r->up, cap * sizeof(*nv));
		if (nv == NULL) {
			pthread_mutex_unlock(&r->up_lock);
			return NATSD_ENOMEM;
		}
		r->up = nv;
		r->capup = cap;
	}
	r->up[r->nup++] = c;
	pthread_mutex_unlock(&r->up_lock);
	return 0;
}

static void up_del(struct registry *r, struct conn *c)
{
	size_t i;

	pthread_mutex_lock(&r->up_lock);
	for (i = 0; i < r->nup; i++) {
		if (r->up[i] == c) {
			r->up[i] = r->up[--r->nup];
			break;
		}
	}
	pthread_mutex_unlock(&r->up_lock);
}

static int api_link_up(struct natsd_conn *nc)
{
	struct conn *c = (struct conn *)nc;
	int rc;

	if (c->link == NULL || (c->flags & CONN_F_LINK_UP))
		return NATSD_EINVAL;
	/* Events first, then the replay: an interest change between the two
	 * is then sent twice rather than lost, and RS+/RS- are idempotent. */
	rc = up_add(c->srv->reg, c);
	if (rc != 0)
		return rc;
	c->flags |= CONN_F_LINK_UP;
	accounts_replay_interest(c->srv->accounts, c);
	return 0;
}

void host_link_interest_one(struct conn *c, const struct natsd_interest *ev)
{
	if (c->link->ops.interest != NULL && !(c->flags & CONN_F_CLOSED))
		c->link->ops.interest(c->link->pctx, (struct natsd_conn *)c,
				      c->link_ctx, ev);
}

void host_links_interest(struct server *s, struct conn *skip,
			 const struct natsd_interest *ev)
{
	struct registry *r = s->reg;
	size_t i;

	if (r->nup == 0)
		return;
	pthread_mutex_lock(&r->up_lock);
	for (i = 0; i < r->nup; i++) {
		struct conn *c = r->up[i];

		if (c == skip ||
		    !router_may_forward(skip ? skip->kind : NATSD_KIND_CLIENT,
					c->kind))
			continue;
		host_link_interest_one(c, ev);
	}
	pthread_mutex_unlock(&r->up_lock);
}

/* The remote interest a link registered: subs owned by the link conn,
 * keyed by "account subject [queue]" in its sid table. */
static int interest_key(char *buf, size_t cap, const char *account,
			const char *subject, const char *queue)
{
	return snprintf(buf, cap, "%s %s%s%s", account, subject,
			queue ? " " : "", queue ? queue : "");
}

static int api_interest_add(struct natsd_conn *nc, const char *account,
			    const char *subject, const char *queue,
			    int32_t weight)
{
	struct conn *c = (struct conn *)nc;
	struct account *acc;
	struct sub *s;
	char key[1024];
	int n, rc;

	n = interest_key(key, sizeof(key), account, subject, queue);
	if (n < 0 || (size_t)n >= sizeof(key))
		return NATSD_ERANGE;
	s = sidmap_get(&c->subs, key, (size_t)n);
	if (s != NULL) {
		/* Known interest: a queue weight update. */
		s->weight = weight > 0 ? weight : 1;
		return 0;
	}
	acc = accounts_get(c->srv->accounts, account, true);
	if (acc == NULL)
		return NATSD_ENOMEM;
	if (c->acc == NULL)
		c->acc = acc;
	s = sub_new(c, subject, strlen(subject), queue,
		    queue ? strlen(queue) : 0, key, (size_t)n);
	if (s == NULL)
		return NATSD_ENOMEM;
	s->weight = weight > 0 ? weight : 1;
	s->acc = acc;
	rc = account_sub_add(acc, s);
	if (rc != 0) {
		sub_free(s);
		return rc;
	}
	if (sidmap_put(&c->subs, s) != 0) {
		account_sub_remove(acc, s);
		sub_free(s);
		return NATSD_ENOMEM;
	}
	c->nsubs++;
	return 0;
}

static int api_interest_remove(struct natsd_conn *nc, const char *account,
			       const char *subject, const char *queue)
{
	struct conn *c = (struct conn *)nc;
	struct sub *s;
	char key[1024];
	int n, expect = 0;

	n = interest_key(key, sizeof(key), account, subject, queue);
	if (n < 0 || (size_t)n >= sizeof(key))
		return NATSD_ERANGE;
	s = sidmap_get(&c->subs, key, (size_t)n);
	if (s == NULL)
		return NATSD_ENOENT;
	sidmap_del(&c->subs, s);
	c->nsubs--;
	if (atomic_compare_exchange_strong(&s->dead, &expect, 1)) {
		account_sub_remove(s->acc, s);
		loop_retire(s, sub_free);
	}
	return 0;
}

static int api_inject(struct natsd_conn *nc, const struct natsd_msg *lm)
{
	struct conn *c = (struct conn *)nc;
	struct account *acc;
	struct pubmsg m = { 0 };

	acc = accounts_get(c->srv->accounts, lm->account ? lm->account : "$G",
			   false);
	if (acc == NULL)
		return NATSD_ENOENT;
	m.subject = lm->subject;
	m.subject_len = lm->subject_len;
	m.reply = lm->reply;
	m.reply_len = lm->reply ? lm->reply_len : 0;
	m.hdr = lm->hdr;
	m.hdr_len = lm->hdr ? lm->hdr_len : 0;
	m.data = lm->data;
	m.data_len = lm->data_len;
	m.queues = lm->queues;
	m.nqueues = lm->nqueues;
	m.origin = lm->origin;
	CONN_STAT_ADD(c->in_msgs, 1);
	CONN_STAT_ADD(c->in_bytes, m.hdr_len + m.data_len);
	router_publish(c, acc, &m);
	return 0;
}

void host_link_forward(struct conn *c, const struct natsd_msg *m)
{
	if (c->link->ops.forward == NULL)
		return;
	atomic_fetch_add_explicit(&c->out_msgs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->out_bytes, m->hdr_len + m->data_len,
				  memory_order_relaxed);
	c->link->ops.forward(c->link->pctx, (struct natsd_conn *)c,
			     c->link_ctx, m);
}

void host_link_opened(struct conn *c, bool dialed)
{
	struct link *k = (struct link *)c->link;
	int rc = 0;

	if (k->ops.on_open != NULL)
		rc = k->ops.on_open(k->pctx, (struct natsd_conn *)c, dialed,
				    &c->link_ctx);
	if (rc != 0)
		conn_close(c, CONN_CLOSE_LINK_CLOSED);
}

void host_link_dialed(struct conn *c)
{
	host_link_opened(c, true);
}

ssize_t host_link_data(struct conn *c, const char *buf, size_t len)
{
	const struct link *k = c->link;

	return k->ops.on_data(k->pctx, (struct natsd_conn *)c, c->link_ctx,
			      buf, len);
}

void host_link_closed(struct conn *c, const char *reason)
{
	const struct link *k = c->link;

	if (c->flags & CONN_F_LINK_UP) {
		up_del(c->srv->reg, c);
		c->flags &= ~CONN_F_LINK_UP;
	}
	if (k->ops.on_close != NULL)
		k->ops.on_close(k->pctx, (struct natsd_conn *)c, c->link_ctx,
				reason);
	c->link_ctx = NULL;
}

int host_links_start(struct server *s)
{
	size_t i;
	int rc;

	for (i = 0; i < s->reg->nlinks; i++) {
		struct link *k = s->reg->links[i];

		if (k->ops.start == NULL)
			continue;
		rc = k->ops.start(k->pctx);
		if (rc != 0) {
			log_error("link %s failed to start: %s", k->ops.name,
				  strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* Server facts. */

static const char *api_server_id(struct natsd_host *h)
{
	return srv_of(h)->server_id;
}

static const char *api_server_name(struct natsd_host *h)
{
	return srv_of(h)->server_name;
}

static int api_server_info_json(struct natsd_host *h, char *buf, size_t len)
{
	struct server *s = srv_of(h);
	int n;

	pthread_mutex_lock(&s->info_lock);
	/* The prefix is "INFO {...": drop "INFO " and close the object. */
	n = snprintf(buf, len, "%s}", s->info_prefix + 5);
	pthread_mutex_unlock(&s->info_lock);
	return n < 0 || (size_t)n >= len ? NATSD_ERANGE : 0;
}

struct plugin_timer {
	struct loop_timer t;
	natsd_timer_fn fn;
	void *arg;
	struct server *srv;
	struct plugin_timer *next, **prevp;
};

static void plugin_timer_unlink(struct plugin_timer *pt)
{
	pthread_mutex_lock(&pt->srv->timers_lock);
	*pt->prevp = pt->next;
	if (pt->next != NULL)
		pt->next->prevp = pt->prevp;
	pthread_mutex_unlock(&pt->srv->timers_lock);
}

static void plugin_timer_fire(struct loop *l, void *arg)
{
	struct plugin_timer *pt = arg;

	(void)l;
	plugin_timer_unlink(pt);
	pt->fn(pt->arg);
	free(pt);
}

static void plugin_timer_arm(struct loop *l, void *arg)
{
	struct plugin_timer *pt = arg;

	loop_timer_arm(l, &pt->t, pt->t.when, plugin_timer_fire, pt);
}

/* ABI 1.2: limits of accounts that come from JWTs. */
static int api_account_limit(struct natsd_host *h, const char *account,
			     int limit, int64_t value)
{
	struct account *a;

	if (account == NULL)
		return NATSD_EINVAL;
	if (limit != NATSD_LIMIT_CONN && limit != NATSD_LIMIT_SUBS &&
	    limit != NATSD_LIMIT_PAYLOAD)
		return NATSD_EINVAL;
	a = accounts_get(srv_of(h)->accounts, account, true);
	if (a == NULL)
		return NATSD_ENOMEM;
	if (value < 0)
		value = -1;
	if (limit == NATSD_LIMIT_CONN)
		atomic_store(&a->max_conns, value > INT_MAX ? -1 : (int)value);
	else if (limit == NATSD_LIMIT_SUBS)
		atomic_store(&a->max_subs, value > INT_MAX ? -1 : (int)value);
	else
		atomic_store(&a->max_payload, value);
	return 0;
}

/* ABI 1.2: imports declared in account JWTs. */
static int api_account_imports(struct natsd_host *h, const char *account,
			       const struct natsd_import *imps, size_t n)
{
	if (account == NULL || (n > 0 && imps == NULL))
		return NATSD_EINVAL;
	return imports_set_account(srv_of(h)->imports, account, imps, n);
}

/* ABI 1.2: a plugin's own subscription in an account. */
static int api_account_subscribe(struct natsd_host *h, const char *account,
				 const char *subject, natsd_msg_fn fn,
				 void *arg, void **handle)
{
	struct import *imp;
	int rc;

	if (handle == NULL)
		return NATSD_EINVAL;
	rc = imports_notify_add(srv_of(h)->imports, account, subject, fn, arg,
				&imp);
	if (rc == 0)
		*handle = imp;
	return rc;
}

static void api_account_unsubscribe(struct natsd_host *h, void *handle)
{
	imports_notify_remove(srv_of(h)->imports, handle);
}

/* ABI 1.2: closing an account's (or a user's) clients, on each worker's
 * own thread, which owns its connection list. */
struct clients_close_task {
	struct worker *w;
	char *account, *user, *err;
};

static void clients_close_task_free(struct clients_close_task *t)
{
	free(t->account);
	free(t->user);
	free(t->err);
	free(t);
}

static void clients_close_run(struct loop *l, void *arg)
{
	struct clients_close_task *t = arg;
	struct worker *w = t->w;
	struct conn *c;
	uint32_t i;

	(void)l;
	/* Backwards: a closed connection may leave the list at once. */
	for (i = w->nconns; i > 0; i--) {
		c = w->conns[i - 1];
		if (c->kind != NATSD_KIND_CLIENT || c->acc == NULL ||
		    strcmp(c->acc->name, t->account) != 0)
			continue;
		if (t->user != NULL &&
		    (c->user == NULL || strcmp(c->user, t->user) != 0))
			continue;
		conn_fail(c, t->err, CONN_CLOSE_REVOKED);
	}
	clients_close_task_free(t);
}

static int api_clients_close(struct natsd_host *h, const char *account,
			     const char *user, const char *err)
{
	struct server *s = srv_of(h);
	struct clients_close_task *t;
	int i;

	if (account == NULL || err == NULL)
		return NATSD_EINVAL;
	for (i = 0; i < s->nworkers; i++) {
		t = calloc(1, sizeof(*t));
		if (t == NULL)
			return NATSD_ENOMEM;
		t->w = &s->workers[i];
		t->account = strdup(account);
		t->user = user != NULL ? strdup(user) : NULL;
		t->err = strdup(err);
		if (t->account == NULL || t->err == NULL ||
		    (user != NULL && t->user == NULL) ||
		    loop_post(t->w->loop, clients_close_run, t) != 0) {
			clients_close_task_free(t);
			return NATSD_ENOMEM;
		}
	}
	return 0;
}

static int api_timer_add(struct natsd_host *h, int64_t delay_ms,
			 natsd_timer_fn fn, void *arg)
{
	struct server *s = srv_of(h);
	struct plugin_timer *pt;
	int rc;

	pt = calloc(1, sizeof(*pt));
	if (pt == NULL)
		return NATSD_ENOMEM;
	pt->fn = fn;
	pt->arg = arg;
	pt->srv = s;
	pt->t.when = delay_ms < 0 ? 0 : delay_ms; /* delay until armed */
	/* Kept on a list so that those still pending at shutdown are
	 * freed. */
	pthread_mutex_lock(&s->timers_lock);
	pt->next = s->timers;
	if (pt->next != NULL)
		pt->next->prevp = &pt->next;
	pt->prevp = &s->timers;
	s->timers = pt;
	pthread_mutex_unlock(&s->timers_lock);
	rc = loop_post(s->main_loop, plugin_timer_arm, pt);
	if (rc != 0) {
		plugin_timer_unlink(pt);
		free(pt);
	}
	return rc;
}

void host_timers_free(struct server *s)
{
	struct plugin_timer *pt, *next;

	for (pt = s->timers; pt != NULL; pt = next) {
		next = pt->next;
		/* Out of the main loop's heap first: other timers remain. */
		loop_timer_cancel(s->main_loop, &pt->t);
		free(pt);
	}
	s->timers = NULL;
}

/* Metrics (ABI 1.1): one table per process, see pmetric.h. */
static int api_metric_register(struct natsd_host *h, const char *name,
			       const char *help, int type,
			       struct natsd_metric **out)
{
	(void)h;
	return pmetric_register(name, help, type, out);
}

static const struct natsd_host_api host_table = {
	.struct_size = sizeof(struct natsd_host_api),
	.abi_major = NATSD_ABI_MAJOR,
	.abi_minor = NATSD_ABI_MINOR,
	.log = api_log,
	.log_enabled = api_log_enabled,
	.cfg_string = conffile_cfg_string,
	.cfg_int = conffile_cfg_int,
	.cfg_bool = conffile_cfg_bool,
	.cfg_duration = conffile_cfg_duration,
	.cfg_size = conffile_cfg_size,
	.cfg_list_len = conffile_cfg_list_len,
	.cfg_list_string = conffile_cfg_list_string,
	.cfg_section = conffile_cfg_section,
	.cfg_where = conffile_cfg_where,
	.register_transport = api_register_transport,
	.register_auth = api_register_auth,
	.register_link = api_register_link,
	.stream_read = api_stream_read,
	.stream_writev = api_stream_writev,
	.stream_want = api_stream_want,
	.stream_pending = api_stream_pending,
	.stream_query = api_stream_query,
	.auth_field = host_auth_field,
	.auth_set_user = host_auth_set_user,
	.auth_set_account = host_auth_set_account,
	.auth_permit = host_auth_permit,
	.auth_set_responses = host_auth_set_responses,
	.auth_limit = host_auth_limit,
	.auth_set_expiry = host_auth_set_expiry,
	.auth_done = host_auth_done,
	.link_listen = api_link_listen,
	.link_dial = api_link_dial,
	.conn_dial_arg = api_conn_dial_arg,
	.conn_send = api_conn_send,
	.conn_sendv = api_conn_sendv,
	.conn_close = api_conn_close,
	.conn_id = api_conn_id,
	.conn_peer = api_conn_peer,
	.link_up = api_link_up,
	.interest_add = api_interest_add,
	.interest_remove = api_interest_remove,
	.inject = api_inject,
	.server_id = api_server_id,
	.server_name = api_server_name,
	.server_info_json = api_server_info_json,
	.timer_add = api_timer_add,
	.cfg_sections_len = conffile_cfg_sections_len,
	.cfg_sections_at = conffile_cfg_sections_at,
	.metric_register = api_metric_register,
	.metric_add = pmetric_add,
	.metric_set = pmetric_set,
	.auth_peer_cert = host_auth_peer_cert,
	.conn_push = api_conn_push,
	.cfg_key_at = conffile_cfg_key_at,
	.account_limit = api_account_limit,
	.account_imports = api_account_imports,
	.account_subscribe = api_account_subscribe,
	.account_unsubscribe = api_account_unsubscribe,
	.clients_close = api_clients_close,
};

const struct natsd_host_api *host_api(void)
{
	return &host_table;
}
