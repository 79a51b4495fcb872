/* Permission checks. Lists are short in practice (a handful of subjects
 * per user), so a linear scan with token matching beats building an index;
 * the match follows nats-server's: the subject being checked is walked
 * token by token and its own '*' and '>' tokens count as literals, so an
 * allow of "foo.>" admits SUB "foo.*" while an allow of "foo.bar" does
 * not. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <natsd/plugin.h>

#include "perms.h"
#include "subject.h"

struct perms *perms_new(void)
{
	return calloc(1, sizeof(struct perms));
}

static void perm_list_fini(struct perm_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].subject);
		free(l->v[i].queue);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void perms_free(struct perms *p)
{
	if (p == NULL)
		return;
	perm_list_fini(&p->pub_allow);
	perm_list_fini(&p->pub_deny);
	perm_list_fini(&p->sub_allow);
	perm_list_fini(&p->sub_deny);
	free(p);
}

static struct perm_list *perms_list(struct perms *p, int list)
{
	switch (list) {
	case NATSD_PERM_PUB_ALLOW:
		return &p->pub_allow;
	case NATSD_PERM_PUB_DENY:
		return &p->pub_deny;
	case NATSD_PERM_SUB_ALLOW:
		return &p->sub_allow;
	case NATSD_PERM_SUB_DENY:
		return &p->sub_deny;
	default:
		return NULL;
	}
}

int perms_add(struct perms *p, int list, const char *entry)
{
	struct perm_list *l = perms_list(p, list);
	struct perm_entry *nv, e = { 0 };
	const char *sp;

	if (l == NULL)
		return NATSD_EINVAL;
	l->set = true;
	if (entry == NULL)
		return 0; /* the list exists, even if it stays empty */
	sp = strpbrk(entry, " \t");
	if (sp != NULL && (list == NATSD_PERM_SUB_ALLOW ||
			   list == NATSD_PERM_SUB_DENY)) {
		e.subject = strndup(entry, (size_t)(sp - entry));
		sp += strspn(sp, " \t");
		e.queue = *sp ? strdup(sp) : NULL;
		if (*sp && e.queue == NULL)
			goto out_nomem;
	} else {
		e.subject = strdup(entry);
	}
	if (e.subject == NULL)
		goto out_nomem;
	nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (nv == NULL)
		goto out_nomem;
	l->v = nv;
	l->v[l->n++] = e;
	return 0;

out_nomem:
	free(e.subject);
	free(e.queue);
	return NATSD_ENOMEM;
}

static int perm_list_dup(struct perm_list *dst, const struct perm_list *src)
{
	size_t i;

	dst->set = src->set;
	if (src->n == 0)
		return 0;
	dst->v = calloc(src->n, sizeof(*dst->v));
	if (dst->v == NULL)
		return NATSD_ENOMEM;
	for (i = 0; i < src->n; i++) {
		dst->v[i].subject = strdup(src->v[i].subject);
		if (src->v[i].queue != NULL)
			dst->v[i].queue = strdup(src->v[i].queue);
		dst->n++;
		if (dst->v[i].subject == NULL ||
		    (src->v[i].queue != NULL && dst->v[i].queue == NULL))
			return NATSD_ENOMEM;
	}
	return 0;
}

struct perms *perms_dup(const struct perms *p)
{
	struct perms *d;

	if (p == NULL)
		return NULL;
	d = perms_new();
	if (d == NULL)
		return NULL;
	d->resp = p->resp;
	d->resp_max = p->resp_max;
	d->resp_expires = p->resp_expires;
	if (perm_list_dup(&d->pub_allow, &p->pub_allow) != 0 ||
	    perm_list_dup(&d->pub_deny, &p->pub_deny) != 0 ||
	    perm_list_dup(&d->sub_allow, &p->sub_allow) != 0 ||
	    perm_list_dup(&d->sub_deny, &p->sub_deny) != 0) {
		perms_free(d);
		return NULL;
	}
	return d;
}

static bool entry_matches(const struct perm_entry *e, const char *subj,
			  size_t len)
{
	return subject_match(e->subject, strlen(e->subject), subj, len);
}

bool perms_can_pub(const struct perms *p, const char *subj, size_t len)
{
	size_t i;
	bool ok;

	if (p == NULL)
		return true;
	ok = !p->pub_allow.set;
	for (i = 0; !ok && i < p->pub_allow.n; i++)
		ok = entry_matches(&p->pub_allow.v[i], subj, len);
	for (i = 0; ok && i < p->pub_deny.n; i++)
		ok = !entry_matches(&p->pub_deny.v[i], subj, len);
	return ok;
}

/* A queue entry matches a queue name equal to it, or one it covers as a
 * subject pattern would (nats-server treats queue names that way). */
static bool queue_matches(const struct perm_entry *e, const char *queue,
			  size_t qlen)
{
	size_t elen = strlen(e->queue);

	if (elen == qlen && memcmp(e->queue, queue, qlen) == 0)
		return true;
	return subject_subset(queue, qlen, e->queue, elen);
}

/* Does the subscribe list l cover this subscription? As nats-server's
 * canSubscribe: plain entries decide for plain and queue subscriptions
 * alike, but when entries with a queue match the subject, they alone
 * decide a queue subscription. */
static bool sub_list_covers(const struct perm_list *l, const char *subj,
			    size_t len, const char *queue, size_t qlen)
{
	const struct perm_entry *e;
	bool plain = false, qhit = false, qmatch = false;
	size_t i;

	for (i = 0; i < l->n; i++) {
		e = &l->v[i];
		if (!entry_matches(e, subj, len))
			continue;
		if (e->queue == NULL) {
			plain = true;
		} else {
			qhit = true;
			if (queue != NULL && queue_matches(e, queue, qlen))
				qmatch = true;
		}
	}
	return queue != NULL && qhit ? qmatch : plain;
}

bool perms_can_sub(const struct perms *p, const char *subj, size_t len,
		   const char *queue, size_t qlen)
{
	if (p == NULL)
		return true;
	if (p->sub_allow.set &&
	    !sub_list_covers(&p->sub_allow, subj, len, queue, qlen))
		return false;
	return !sub_list_covers(&p->sub_deny, subj, len, queue, qlen);
}
