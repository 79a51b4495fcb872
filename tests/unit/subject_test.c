/* Tests for core/subject.c: syntax, matching, subset and overlap tables.
 *
 * The validity cases follow PROTOCOL.md 1.6 and what nats-server 2.9.10
 * does with them; the match cases include the published-wildcard quirk
 * (a "*" or ">" in a published subject is a literal token). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../suites.h"
#include "subject.h"

struct valid_case {
	const char *s;
	bool valid;
	bool literal;
};

static const struct valid_case valid_cases[] = {
	{ "foo", true, true },
	{ "foo.bar", true, true },
	{ "foo.bar.baz", true, true },
	{ "*", true, false },
	{ ">", true, false },
	{ "foo.*", true, false },
	{ "foo.>", true, false },
	{ "*.bar", true, false },
	{ "*.*.*", true, false },
	{ "foo.*.>", true, false },
	{ "foo.*bar", true, true }, /* wildcards only as whole tokens */
	{ "foo.bar*", true, true },
	{ "foo.>bar", true, true },
	{ "foo.**", true, true },
	{ "foo.>>", true, true },
	{ ">foo", true, true },
	{ "$SYS.>", true, false },
	{ "_INBOX.abc123", true, true },
	{ "foo.\x01.bar", true, true }, /* control bytes are allowed */
	{ "f\xc3\xa9.bar", true, true },
	{ "a-b_c:d/e", true, true },
	{ "", false, false },
	{ ".", false, false },
	{ ".foo", false, false },
	{ "foo.", false, false },
	{ "foo..bar", false, false },
	{ "..", false, false },
	{ "foo.>.bar", false, false },
	{ ">.foo", false, false },
	{ ">.>", false, false },
	{ "foo.>.", false, false },
	{ "foo bar", false, false },
	{ "foo\tbar", false, false },
	{ "foo\rbar", false, false },
	{ "foo\nbar", false, false },
	{ "foo\fbar", true, true }, /* nats-server accepts FF and VT */
	{ "foo\vbar", true, true },
	{ " ", false, false },
	{ "foo. .bar", false, false },
};

static void test_valid(void)
{
	const struct valid_case *c;
	size_t i;

	for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		c = &valid_cases[i];
		if (subject_valid(c->s, strlen(c->s)) != c->valid ||
		    subject_literal(c->s, strlen(c->s)) != c->literal)
			fprintf(stderr,
				"\nsubject \"%s\": valid %d literal %d\n", c->s,
				subject_valid(c->s, strlen(c->s)),
				subject_literal(c->s, strlen(c->s)));
		CU_ASSERT_EQUAL(subject_valid(c->s, strlen(c->s)), c->valid);
		CU_ASSERT_EQUAL(subject_literal(c->s, strlen(c->s)),
				c->literal);
	}
	/* Lengths are explicit: a NUL is an ordinary byte, and only len
	 * bytes count. */
	CU_ASSERT_TRUE(subject_valid("foo\0bar", 7));
	CU_ASSERT_TRUE(subject_valid("foo.bar..", 7));
	CU_ASSERT_FALSE(subject_valid("foo.bar..", 8));
	CU_ASSERT_FALSE(subject_valid(NULL, 0));
}

static void test_tokens(void)
{
	CU_ASSERT_EQUAL(subject_tokens("", 0), 0);
	CU_ASSERT_EQUAL(subject_tokens(NULL, 0), 0);
	CU_ASSERT_EQUAL(subject_tokens("foo", 3), 1);
	CU_ASSERT_EQUAL(subject_tokens("foo.bar", 7), 2);
	CU_ASSERT_EQUAL(subject_tokens("a.b.c.d.e", 9), 5);
	CU_ASSERT_EQUAL(subject_tokens("foo.*.>", 7), 3);
	CU_ASSERT_EQUAL(subject_tokens("foo.", 4), 2);
	CU_ASSERT_EQUAL(subject_tokens(".", 1), 2);
	CU_ASSERT_EQUAL(subject_tokens("a.b.c", 3), 2); /* only len bytes */
}

struct pair_case {
	const char *a;
	const char *b;
	bool want;
};

/* pattern, published subject, match? */
static const struct pair_case match_cases[] = {
	{ "foo", "foo", true },
	{ "foo", "bar", false },
	{ "foo", "foo.bar", false },
	{ "foo.bar", "foo", false },
	{ "foo.*", "foo.bar", true },
	{ "foo.*", "foo", false },
	{ "foo.*", "foo.bar.baz", false },
	{ "foo.>", "foo.bar", true },
	{ "foo.>", "foo.bar.baz", true },
	{ "foo.>", "foo", false },
	{ ">", "foo", true },
	{ ">", "foo.bar.baz", true },
	{ "*", "foo", true },
	{ "*", "foo.bar", false },
	{ "*.bar", "foo.bar", true },
	{ "*.bar", "foo.baz", false },
	{ "*.*", "a.b", true },
	{ "*.>", "a", false },
	{ "*.>", "a.b", true },
	{ "foo.*.baz", "foo.bar.baz", true },
	{ "foo.*.baz", "foo.bar.bar", false },
	{ "foo.*.>", "foo.a.b.c", true },
	{ "foo.*.>", "foo.a", false },
	{ "fo", "foo", false },
	{ "foo", "fo", false },
	{ "foo.*bar", "foo.xbar", false }, /* literal pattern */
	{ "foo.*bar", "foo.*bar", true },
	/* Wildcards in the published subject are literal tokens. */
	{ "foo.*", "foo.*", true },
	{ "foo.>", "foo.*", true },
	{ ">", "foo.*", true },
	{ "foo.bar", "foo.*", false },
	{ "foo.bar", "foo.>", false },
	{ "foo.*", "foo.>", true },
	{ "foo.>", "foo.>", true },
	{ "*", ">", true },
	{ "foo.*.baz", "foo.*.baz", true },
	/* Empty tokens in the subject match nothing. */
	{ ">", "foo..bar", false },
	{ "foo.>", "foo.", false },
	{ "foo.>", "foo.bar.", false },
	{ "*", "", false },
	{ ">", "", false },
	{ "*.*", ".", false },
	/* Invalid patterns match nothing. */
	{ "", "foo", false },
	{ "foo.>.bar", "foo.x.bar", false },
	{ "foo..bar", "foo..bar", false },
	{ "foo.", "foo.", false },
};

static void test_match(void)
{
	const struct pair_case *c;
	bool got;
	size_t i;

	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		c = &match_cases[i];
		got = subject_match(c->a, strlen(c->a), c->b, strlen(c->b));
		if (got != c->want)
			fprintf(stderr, "\nmatch(\"%s\", \"%s\") = %d\n", c->a,
				c->b, got);
		CU_ASSERT_EQUAL(got, c->want);
	}
}

/* sub, pattern, is sub a subset of pattern? */
static const struct pair_case subset_cases[] = {
	{ "foo", "foo", true },
	{ "foo", "bar", false },
	{ "foo.bar", "foo.*", true },
	{ "foo.bar", "foo.>", true },
	{ "foo.bar", ">", true },
	{ "foo.*", "foo.>", true },
	{ "foo.*", "foo.*", true },
	{ "foo.*", ">", true },
	{ "foo.*", "*.*", true },
	{ "foo.*", "foo.bar", false }, /* an overlap, not a subset */
	{ "foo.>", "foo.*", false },
	{ "foo.>", "foo.>", true },
	{ "foo.>", ">", true },
	{ "foo.>", "foo.*.>", false },
	{ "foo.*.>", "foo.>", true },
	{ "foo.*.>", "foo.*.>", true },
	{ ">", "foo.>", false },
	{ ">", ">", true },
	{ "*", ">", true },
	{ "*", "*", true },
	{ "*", "foo", false },
	{ "*.bar", "foo.*", false },
	{ "foo.bar.baz", "foo.*", false },
	{ "foo", "foo.>", false },
	{ "foo", "foo.*", false },
	{ "foo.bar", "*.bar", true },
	{ "foo.*bar", "foo.*", true }, /* "*bar" is literal */
	{ "foo.*", "foo.*bar", false },
	{ "foo..bar", ">", false },
	{ "foo", "", false },
	{ "foo", "foo.>.bar", false },
};

/* a, b, do they share a subject? (symmetric, tested both ways) */
static const struct pair_case overlap_cases[] = {
	{ "foo", "foo", true },
	{ "foo", "bar", false },
	{ "foo.*", "foo.bar", true },
	{ "foo.*", "*.bar", true },
	{ "foo.*", "bar.*", false },
	{ "foo.>", "*.bar", true },
	{ "foo.>", "*.bar.baz", true },
	{ "foo.>", "foo", false },
	{ "foo.>", "bar.>", false },
	{ ">", "foo", true },
	{ ">", "foo.bar.baz", true },
	{ "*", "foo.bar", false },
	{ "*.*", "foo.>", true },
	{ "*.*", "foo.*.>", false },
	{ "foo.*.baz", "foo.bar.*", true },
	{ "foo.*.baz", "foo.bar.qux", false },
	{ "foo.bar", "foo.*bar", false },
	{ "foo.*bar", "foo.*", true },
	{ "a.b.c", "a.b", false },
	{ "", ">", false },
	{ "foo..bar", "foo.*.bar", false },
	{ ">.foo", ">", false },
};

static void test_subset(void)
{
	const struct pair_case *c;
	bool got;
	size_t i;

	for (i = 0; i < sizeof(subset_cases) / sizeof(subset_cases[0]); i++) {
		c = &subset_cases[i];
		got = subject_subset(c->a, strlen(c->a), c->b, strlen(c->b));
		if (got != c->want)
			fprintf(stderr, "\nsubset(\"%s\", \"%s\") = %d\n", c->a,
				c->b, got);
		CU_ASSERT_EQUAL(got, c->want);
	}
}

static void test_overlap(void)
{
	const struct pair_case *c;
	bool ab, ba;
	size_t i;

	for (i = 0; i < sizeof(overlap_cases) / sizeof(overlap_cases[0]); i++) {
		c = &overlap_cases[i];
		ab = subject_overlap(c->a, strlen(c->a), c->b, strlen(c->b));
		ba = subject_overlap(c->b, strlen(c->b), c->a, strlen(c->a));
		if (ab != c->want || ba != c->want)
			fprintf(stderr, "\noverlap(\"%s\", \"%s\") = %d/%d\n",
				c->a, c->b, ab, ba);
		CU_ASSERT_EQUAL(ab, c->want);
		CU_ASSERT_EQUAL(ba, c->want);
	}
}

/* Cross-checks subset and overlap against subject_match over every
 * subject of up to three tokens from a small alphabet: subset(a, b) iff
 * every subject matching a matches b; overlap(a, b) iff one matches
 * both. A published ">" or "*" token is literal and matched only by
 * wildcards, so the alphabet includes them too. */
static const char *const alphabet[] = { "a", "b", "*", ">" };
#define NALPHA (sizeof(alphabet) / sizeof(alphabet[0]))

static size_t gen_subjects(char out[][16], size_t max)
{
	size_t n = 0, len, i, j, k, d;
	size_t idx[3];

	for (len = 1; len <= 3; len++) {
		size_t total = 1;

		for (d = 0; d < len; d++)
			total *= NALPHA;
		for (k = 0; k < total && n < max; k++) {
			size_t x = k, off = 0;
			char *p = out[n];

			for (d = 0; d < len; d++) {
				idx[d] = x % NALPHA;
				x /= NALPHA;
			}
			for (j = 0; j < len; j++)
				off += (size_t)snprintf(p + off, 16 - off,
							"%s%s", j ? "." : "",
							alphabet[idx[j]]);
			n++;
		}
	}
	for (i = n; i < max; i++)
		out[i][0] = '\0';
	return n;
}

static void test_cross(void)
{
	static char subs[128][16];
	size_t n, i, j, k;
	bool all, any, m1, m2;

	n = gen_subjects(subs, 128);
	CU_ASSERT_EQUAL(n, 4 + 16 + 64);
	for (i = 0; i < n; i++) {
		const char *a = subs[i];

		for (j = 0; j < n; j++) {
			const char *b = subs[j];

			if (!subject_valid(a, strlen(a)) ||
			    !subject_valid(b, strlen(b)))
				continue;
			all = true;
			any = false;
			/* Subjects of up to four tokens: a ">" in a or b of
			 * three tokens needs one more to tell them apart. */
			for (k = 0; k < n; k++) {
				const char *s = subs[k];
				char longer[24];

				m1 = subject_match(a, strlen(a), s, strlen(s));
				m2 = subject_match(b, strlen(b), s, strlen(s));
				if (m1 && !m2)
					all = false;
				if (m1 && m2)
					any = true;
				snprintf(longer, sizeof(longer), "%s.a", s);
				m1 = subject_match(a, strlen(a), longer,
						   strlen(longer));
				m2 = subject_match(b, strlen(b), longer,
						   strlen(longer));
				if (m1 && !m2)
					all = false;
				if (m1 && m2)
					any = true;
			}
			if (subject_subset(a, strlen(a), b, strlen(b)) != all ||
			    subject_overlap(a, strlen(a), b, strlen(b)) != any)
				fprintf(stderr,
					"\n%s vs %s: subset %d/%d, "
					"overlap %d/%d\n",
					a, b,
					subject_subset(a, strlen(a), b,
						       strlen(b)),
					all,
					subject_overlap(a, strlen(a), b,
							strlen(b)),
					any);
			CU_ASSERT_EQUAL(
				subject_subset(a, strlen(a), b, strlen(b)),
				all);
			CU_ASSERT_EQUAL(
				subject_overlap(a, strlen(a), b, strlen(b)),
				any);
		}
	}
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "valid", test_valid },     { "tokens", test_tokens },
		{ "match", test_match },     { "subset", test_subset },
		{ "overlap", test_overlap }, { "cross-check", test_cross },
	};
	static const struct suite suite = {
		"subject", NULL, NULL, tests, SUITE_COUNT(tests),
	};
	int rc;

	rc = suites_run(&suite, 1);
	return rc < 0 ? 99 : rc;
}
