/* Tests for core/perms.c: publish and subscribe permission checks.
 *
 * The expected answers are nats-server 2.9.10's (canPublish and
 * canSubscribe in client.go); the odd ones were checked against the real
 * server with the same permissions in its config file and a raw client
 * (noted "[2.9.10]" below).
 *
 * Allocation failure: the program is linked with -Wl,--wrap for malloc,
 * calloc, realloc, strdup and strndup, so perms.c's calls go through
 * alloc_fail.c, where the Nth one can be made to fail. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "alloc_fail.h"
#include "natsd/error.h"
#include "natsd/plugin.h"
#include "perms.h"
#include "../suites.h"

static bool pub(const struct perms *p, const char *subj)
{
	return perms_can_pub(p, subj, strlen(subj));
}

static bool sub(const struct perms *p, const char *subj)
{
	return perms_can_sub(p, subj, strlen(subj), NULL, 0);
}

static bool qsub(const struct perms *p, const char *subj, const char *q)
{
	return perms_can_sub(p, subj, strlen(subj), q, strlen(q));
}

static void add(struct perms *p, int list, const char *entry)
{
	CU_ASSERT_EQUAL_FATAL(perms_add(p, list, entry), 0);
}

static void test_no_perms(void)
{
	struct perms *p;

	/* A connection without permissions may do anything. */
	CU_ASSERT(pub(NULL, "foo"));
	CU_ASSERT(sub(NULL, ">"));
	CU_ASSERT(qsub(NULL, "foo", "q"));
	/* Nor does a record with no list at all restrict anything. */
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT(pub(p, "foo.bar"));
	CU_ASSERT(sub(p, "foo.>"));
	CU_ASSERT(qsub(p, "foo", "q"));
	perms_free(p);
	perms_free(NULL);
}

static void test_pub_allow(void)
{
	struct perms *p = perms_new();

	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_PUB_ALLOW, "foo.>");
	add(p, NATSD_PERM_PUB_ALLOW, "bar");
	add(p, NATSD_PERM_PUB_ALLOW, "baz.*.x");
	CU_ASSERT(pub(p, "foo.a"));
	CU_ASSERT(pub(p, "foo.a.b.c"));
	CU_ASSERT(!pub(p, "foo")); /* ">" needs at least one token */
	CU_ASSERT(pub(p, "bar"));
	CU_ASSERT(!pub(p, "bar.a"));
	CU_ASSERT(!pub(p, "barx"));
	CU_ASSERT(pub(p, "baz.q.x"));
	CU_ASSERT(!pub(p, "baz.q.y"));
	CU_ASSERT(!pub(p, "baz.x"));
	CU_ASSERT(!pub(p, "other"));
	/* A wildcard in the published subject is a literal token: allow
	 * "foo.bar" does not admit "foo.*" [2.9.10]. */
	perms_free(p);
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_PUB_ALLOW, "foo.bar");
	CU_ASSERT(!pub(p, "foo.*"));
	CU_ASSERT(!pub(p, "foo.>"));
	CU_ASSERT(pub(p, "foo.bar"));
	/* The length is what counts, not a NUL. */
	CU_ASSERT(perms_can_pub(p, "foo.barXYZ", 7));
	CU_ASSERT(!perms_can_pub(p, "foo.barXYZ", 8));
	CU_ASSERT(!perms_can_pub(p, "foo.bar", 6));
	perms_free(p);
}

static void test_pub_deny_wins(void)
{
	struct perms *p = perms_new();

	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_PUB_ALLOW, "foo.>");
	add(p, NATSD_PERM_PUB_DENY, "foo.secret");
	add(p, NATSD_PERM_PUB_DENY, "foo.*.private");
	CU_ASSERT(pub(p, "foo.a"));
	CU_ASSERT(!pub(p, "foo.secret"));
	CU_ASSERT(pub(p, "foo.secret.x"));
	CU_ASSERT(!pub(p, "foo.a.private"));
	CU_ASSERT(pub(p, "foo.a.public"));
	CU_ASSERT(!pub(p, "bar"));
	perms_free(p);

	/* A deny list alone: all but the denied. */
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_PUB_DENY, "$SYS.>");
	CU_ASSERT(pub(p, "foo"));
	CU_ASSERT(!pub(p, "$SYS.REQ.x"));
	add(p, NATSD_PERM_PUB_DENY, ">");
	CU_ASSERT(!pub(p, "foo"));
	CU_ASSERT(!pub(p, "a.b.c"));
	perms_free(p);

	/* The same subject in both lists: deny wins. */
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_PUB_ALLOW, "x");
	add(p, NATSD_PERM_PUB_DENY, "x");
	CU_ASSERT(!pub(p, "x"));
	perms_free(p);
}

/* A publish allow list that is present but empty allows nothing: that is
 * what allow_responses without a publish allow list gives. */
static void test_pub_empty_allow(void)
{
	struct perms *p = perms_new();

	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_PUB_ALLOW, NULL);
	CU_ASSERT(p->pub_allow.set);
	CU_ASSERT_EQUAL(p->pub_allow.n, 0);
	CU_ASSERT(!pub(p, "foo"));
	CU_ASSERT(!pub(p, "_INBOX.x"));
	/* The subscribe side is not affected. */
	CU_ASSERT(sub(p, "foo"));
	/* An entry added later is allowed, and only it. */
	add(p, NATSD_PERM_PUB_ALLOW, "ok");
	CU_ASSERT(pub(p, "ok"));
	CU_ASSERT(!pub(p, "foo"));
	perms_free(p);

	/* A present but empty deny list denies nothing. */
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_PUB_DENY, NULL);
	add(p, NATSD_PERM_SUB_DENY, NULL);
	CU_ASSERT(pub(p, "foo"));
	CU_ASSERT(sub(p, "foo"));
	CU_ASSERT(qsub(p, "foo", "q"));
	perms_free(p);
}

static void test_sub_wildcards(void)
{
	struct perms *p = perms_new();

	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_SUB_ALLOW, "foo.>");
	CU_ASSERT(sub(p, "foo.bar"));
	CU_ASSERT(sub(p, "foo.*"));
	CU_ASSERT(sub(p, "foo.>"));
	CU_ASSERT(sub(p, "foo.*.baz"));
	CU_ASSERT(!sub(p, "foo"));
	CU_ASSERT(!sub(p, ">"));
	CU_ASSERT(!sub(p, "*.bar"));
	perms_free(p);

	/* The SUB subject's wildcards are literal tokens: an allow of
	 * "foo.bar" does not cover "foo.*", while "foo.*" covers both
	 * "foo.*" and "foo.>" [2.9.10]. */
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_SUB_ALLOW, "foo.bar");
	CU_ASSERT(!sub(p, "foo.*"));
	CU_ASSERT(!sub(p, "foo.>"));
	CU_ASSERT(sub(p, "foo.bar"));
	perms_free(p);
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_SUB_ALLOW, "foo.*");
	CU_ASSERT(sub(p, "foo.*"));
	CU_ASSERT(sub(p, "foo.>"));
	CU_ASSERT(sub(p, "foo.x"));
	CU_ASSERT(!sub(p, "foo.x.y"));
	CU_ASSERT(!sub(p, "foo"));
	perms_free(p);
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_SUB_ALLOW, ">");
	CU_ASSERT(sub(p, ">"));
	CU_ASSERT(sub(p, "a"));
	CU_ASSERT(sub(p, "*.*.>"));
	perms_free(p);
}

static void test_sub_deny(void)
{
	struct perms *p = perms_new();

	/* allow foo.>, deny foo.*.x [2.9.10]. */
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_SUB_ALLOW, "foo.>");
	add(p, NATSD_PERM_SUB_DENY, "foo.*.x");
	CU_ASSERT(!sub(p, "foo.a.x"));
	CU_ASSERT(!sub(p, "foo.*.x"));
	CU_ASSERT(sub(p, "foo.>"));
	CU_ASSERT(sub(p, "foo.a.*"));
	CU_ASSERT(sub(p, "foo.a.y"));
	CU_ASSERT(!qsub(p, "foo.a.x", "q"));
	CU_ASSERT(qsub(p, "foo.a.y", "q"));
	perms_free(p);

	/* Deny only. */
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_SUB_DENY, "secret.>");
	CU_ASSERT(sub(p, "anything"));
	CU_ASSERT(!sub(p, "secret.a"));
	CU_ASSERT(!qsub(p, "secret.a", "q"));
	CU_ASSERT(sub(p, "secret"));
	perms_free(p);
}

/* Allow entries with a queue group. */
static void test_sub_queue_allow(void)
{
	struct perms *p = perms_new();

	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_SUB_ALLOW, "q.> grp");
	CU_ASSERT_EQUAL(p->sub_allow.n, 1);
	CU_ASSERT_STRING_EQUAL(p->sub_allow.v[0].subject, "q.>");
	CU_ASSERT_STRING_EQUAL(p->sub_allow.v[0].queue, "grp");
	CU_ASSERT(qsub(p, "q.a", "grp"));
	CU_ASSERT(!qsub(p, "q.a", "other"));
	CU_ASSERT(!qsub(p, "q.a", "grp2"));
	/* Only a queue entry matched: a plain SUB is not allowed. */
	CU_ASSERT(!sub(p, "q.a"));
	CU_ASSERT(!qsub(p, "r.a", "grp"));
	perms_free(p);

	/* Plain and queue entries on one subject: a queue SUB must match a
	 * queue entry, the plain entry does not let other groups in
	 * [2.9.10]. */
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_SUB_ALLOW, "foo");
	add(p, NATSD_PERM_SUB_ALLOW, "foo grp");
	CU_ASSERT(sub(p, "foo"));
	CU_ASSERT(qsub(p, "foo", "grp"));
	CU_ASSERT(!qsub(p, "foo", "other"));
	/* On a subject with only the plain entry, any group may. */
	add(p, NATSD_PERM_SUB_ALLOW, "bar");
	CU_ASSERT(qsub(p, "bar", "anything"));
	perms_free(p);

	/* Wildcards in the permission's queue name. */
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_SUB_ALLOW, "foo v1.*");
	CU_ASSERT(qsub(p, "foo", "v1.x"));
	CU_ASSERT(qsub(p, "foo", "v1.*"));
	CU_ASSERT(!qsub(p, "foo", "v1"));
	CU_ASSERT(!qsub(p, "foo", "v1.x.y"));
	CU_ASSERT(!qsub(p, "foo", "v2.x"));
	CU_ASSERT(!sub(p, "foo"));
	/* A wider queue name is not covered by a narrower pattern, and a
	 * name equal to the entry matches even when it is no valid subject
	 * [2.9.10]. */
	CU_ASSERT(!qsub(p, "foo", "v1.>"));
	perms_free(p);

	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_SUB_ALLOW, "foo a..b");
	CU_ASSERT(qsub(p, "foo", "a..b"));
	perms_free(p);

	/* The same in a deny list: v1.> is not denied by "foo v1.*". */
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_SUB_DENY, "foo v1.*");
	CU_ASSERT(qsub(p, "foo", "v1.>"));
	CU_ASSERT(!qsub(p, "foo", "v1.x"));
	perms_free(p);

	/* The separator may be spaces or tabs, several of them. */
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_SUB_ALLOW, "a.b \t  g1");
	CU_ASSERT_STRING_EQUAL(p->sub_allow.v[0].subject, "a.b");
	CU_ASSERT_STRING_EQUAL(p->sub_allow.v[0].queue, "g1");
	CU_ASSERT(qsub(p, "a.b", "g1"));
	/* Trailing blanks name no queue. */
	add(p, NATSD_PERM_SUB_ALLOW, "c.d ");
	CU_ASSERT_STRING_EQUAL(p->sub_allow.v[1].subject, "c.d");
	CU_ASSERT_PTR_NULL(p->sub_allow.v[1].queue);
	CU_ASSERT(sub(p, "c.d"));
	perms_free(p);

	/* Publish entries never have a queue: the text is the subject. */
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_PUB_ALLOW, "foo grp");
	CU_ASSERT_PTR_NULL(p->pub_allow.v[0].queue);
	CU_ASSERT(!pub(p, "foo"));
	perms_free(p);
}

/* Deny entries with a queue group. */
static void test_sub_queue_deny(void)
{
	struct perms *p = perms_new();

	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_SUB_DENY, "foo grp");
	CU_ASSERT(!qsub(p, "foo", "grp"));
	CU_ASSERT(qsub(p, "foo", "other"));
	CU_ASSERT(sub(p, "foo"));
	perms_free(p);

	/* A plain deny covers queue SUBs too. */
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_SUB_DENY, "foo");
	CU_ASSERT(!qsub(p, "foo", "grp"));
	CU_ASSERT(!sub(p, "foo"));
	perms_free(p);

	/* Plain and queue deny on one subject: a queue SUB is decided by the
	 * queue entries alone, so another group gets in [2.9.10]. */
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_SUB_DENY, "foo");
	add(p, NATSD_PERM_SUB_DENY, "foo grp");
	CU_ASSERT(!sub(p, "foo"));
	CU_ASSERT(!qsub(p, "foo", "grp"));
	CU_ASSERT(qsub(p, "foo", "other"));
	perms_free(p);

	/* Allowed by the queue entry, then denied by a queue deny. */
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_SUB_ALLOW, "jobs.> w.*");
	add(p, NATSD_PERM_SUB_DENY, "jobs.admin w.*");
	CU_ASSERT(qsub(p, "jobs.x", "w.a"));
	CU_ASSERT(!qsub(p, "jobs.admin", "w.a"));
	CU_ASSERT(!sub(p, "jobs.x"));
	perms_free(p);
}

static void test_add_errors(void)
{
	struct perms *p = perms_new();

	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(perms_add(p, 0, "foo"), NATSD_EINVAL);
	CU_ASSERT_EQUAL(perms_add(p, 5, "foo"), NATSD_EINVAL);
	CU_ASSERT_EQUAL(perms_add(p, -1, NULL), NATSD_EINVAL);
	/* Nothing was set by the refused calls. */
	CU_ASSERT(!p->pub_allow.set && !p->pub_deny.set);
	CU_ASSERT(!p->sub_allow.set && !p->sub_deny.set);
	CU_ASSERT(pub(p, "foo"));
	perms_free(p);
}

/* A full record, for perms_dup. */
static struct perms *sample(void)
{
	struct perms *p = perms_new();

	if (p == NULL)
		return NULL;
	if (perms_add(p, NATSD_PERM_PUB_ALLOW, "pub.>") != 0 ||
	    perms_add(p, NATSD_PERM_PUB_ALLOW, "_INBOX.>") != 0 ||
	    perms_add(p, NATSD_PERM_PUB_DENY, "pub.secret") != 0 ||
	    perms_add(p, NATSD_PERM_SUB_ALLOW, "sub.>") != 0 ||
	    perms_add(p, NATSD_PERM_SUB_ALLOW, "q.> grp") != 0 ||
	    perms_add(p, NATSD_PERM_SUB_DENY, "sub.secret") != 0 ||
	    perms_add(p, NATSD_PERM_SUB_DENY, "q.x grp") != 0) {
		perms_free(p);
		return NULL;
	}
	p->resp = true;
	p->resp_max = 5;
	p->resp_expires = 60000000000LL;
	return p;
}

/* Both records give the same answers. */
static void check_same_answers(const struct perms *a, const struct perms *b)
{
	static const char *const subj[] = {
		"pub.a",      "pub.secret", "_INBOX.x", "other", "sub.a",
		"sub.secret", "q.a",        "q.x",      "sub.*", "pub.>",
	};
	static const char *const queue[] = { "grp", "other" };
	size_t i, k;

	for (i = 0; i < sizeof(subj) / sizeof(subj[0]); i++) {
		CU_ASSERT_EQUAL(pub(a, subj[i]), pub(b, subj[i]));
		CU_ASSERT_EQUAL(sub(a, subj[i]), sub(b, subj[i]));
		for (k = 0; k < 2; k++)
			CU_ASSERT_EQUAL(qsub(a, subj[i], queue[k]),
					qsub(b, subj[i], queue[k]));
	}
}

static void test_dup(void)
{
	struct perms *p, *d;

	p = sample();
	CU_ASSERT_FATAL(p != NULL);
	d = perms_dup(p);
	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT(d != p);
	CU_ASSERT(d->resp);
	CU_ASSERT_EQUAL(d->resp_max, 5);
	CU_ASSERT_EQUAL(d->resp_expires, 60000000000LL);
	CU_ASSERT_EQUAL(d->pub_allow.n, 2);
	CU_ASSERT_EQUAL(d->sub_allow.n, 2);
	CU_ASSERT_STRING_EQUAL(d->sub_allow.v[1].queue, "grp");
	CU_ASSERT_PTR_NULL(d->sub_allow.v[0].queue);
	/* Deep copy: no string is shared. */
	CU_ASSERT(d->pub_allow.v[0].subject != p->pub_allow.v[0].subject);
	CU_ASSERT(d->sub_allow.v[1].queue != p->sub_allow.v[1].queue);
	CU_ASSERT(pub(d, "pub.a") && !pub(d, "pub.secret"));
	CU_ASSERT(qsub(d, "q.a", "grp") && !qsub(d, "q.x", "grp"));
	check_same_answers(p, d);
	/* The copy outlives the original. */
	perms_free(p);
	CU_ASSERT(pub(d, "_INBOX.abc"));
	CU_ASSERT(!sub(d, "sub.secret"));
	perms_free(d);

	CU_ASSERT_PTR_NULL(perms_dup(NULL));

	/* "set" travels with the list, even when it is empty. */
	p = perms_new();
	CU_ASSERT_FATAL(p != NULL);
	add(p, NATSD_PERM_PUB_ALLOW, NULL);
	d = perms_dup(p);
	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT(d->pub_allow.set);
	CU_ASSERT(!d->sub_allow.set);
	CU_ASSERT(!pub(d, "foo"));
	perms_free(p);
	perms_free(d);
}

/* Fails each allocation of perms_dup in turn: NULL and no leak (ASan),
 * until it has enough and returns a full copy. */
static void test_dup_nomem(void)
{
	struct perms *p, *d = NULL;
	long n, failures = 0;

	p = sample();
	CU_ASSERT_FATAL(p != NULL);
	for (n = 0; n < 100; n++) {
		alloc_fail_start(n);
		d = perms_dup(p);
		alloc_fail_stop();
		if (d != NULL)
			break;
		failures++;
	}
	CU_ASSERT_FATAL(d != NULL);
	/* One record, four arrays, nine strings. */
	CU_ASSERT(failures >= 1 + 4 + 9);
	check_same_answers(p, d);
	perms_free(d);
	perms_free(p);
}

/* perms_add out of memory: NATSD_ENOMEM, the list keeps what it had. */
static void test_add_nomem(void)
{
	static const char *const entries[] = { "foo.bar", "q.> grp" };
	static const int lists[] = { NATSD_PERM_PUB_ALLOW,
				     NATSD_PERM_SUB_ALLOW };
	struct perms *p;
	long n;
	size_t i;
	int rc = NATSD_ENOMEM;

	for (i = 0; i < 2; i++) {
		p = perms_new();
		CU_ASSERT_FATAL(p != NULL);
		add(p, lists[i], "first");
		for (n = 0; n < 10; n++) {
			alloc_fail_start(n);
			rc = perms_add(p, lists[i], entries[i]);
			alloc_fail_stop();
			if (rc == 0)
				break;
			CU_ASSERT_EQUAL(rc, NATSD_ENOMEM);
			CU_ASSERT_EQUAL(lists[i] == NATSD_PERM_PUB_ALLOW
						? p->pub_allow.n
						: p->sub_allow.n,
					1);
			CU_ASSERT(lists[i] == NATSD_PERM_PUB_ALLOW
					  ? !pub(p, "foo.bar")
					  : !qsub(p, "q.a", "grp"));
		}
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT(n >= 2); /* at least a string and the array */
		CU_ASSERT(lists[i] == NATSD_PERM_PUB_ALLOW
				  ? pub(p, "foo.bar")
				  : qsub(p, "q.a", "grp"));
		perms_free(p);
	}
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "no permissions", test_no_perms },
		{ "publish allow", test_pub_allow },
		{ "publish deny wins", test_pub_deny_wins },
		{ "empty lists", test_pub_empty_allow },
		{ "subscribe wildcards", test_sub_wildcards },
		{ "subscribe deny", test_sub_deny },
		{ "queue allow entries", test_sub_queue_allow },
		{ "queue deny entries", test_sub_queue_deny },
		{ "perms_add errors", test_add_errors },
		{ "perms_dup", test_dup },
		{ "perms_dup out of memory", test_dup_nomem },
		{ "perms_add out of memory", test_add_nomem },
	};
	static const struct suite suite = {
		"perms", NULL, NULL, tests, SUITE_COUNT(tests),
	};

	return suites_run(&suite, 1) == 0 ? 0 : 1;
}
