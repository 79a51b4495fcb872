/* Subject syntax and wildcard logic; see subject.h for the rules.
 *
 * Everything walks the subjects token by token with a small iterator, so
 * nothing is copied or allocated. The matching functions compare token
 * lists position by position: "*" consumes one token and ">" ends the
 * walk, because a valid subject has nothing after it. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "subject.h"

struct tokens {
	const char *p;   /* start of the next token */
	const char *end; /* end of the subject */
	bool more;       /* another token follows (it may be empty) */
};

static void tok_init(struct tokens *t, const char *s, size_t len)
{
	t->p = s;
	t->end = s + len;
	t->more = len > 0;
}

/* Sets *tok and *n to the next token, which is empty for "a..b" or a
 * trailing '.'; false once there are none left. */
static bool tok_next(struct tokens *t, const char **tok, size_t *n)
{
	const char *dot;

	if (!t->more)
		return false;
	dot = memchr(t->p, '.', (size_t)(t->end - t->p));
	*tok = t->p;
	if (dot == NULL) {
		*n = (size_t)(t->end - t->p);
		t->more = false;
	} else {
		*n = (size_t)(dot - t->p);
		t->p = dot + 1;
	}
	return true;
}

static bool is_pwc(const char *t, size_t n)
{
	return n == 1 && t[0] == '*';
}

static bool is_fwc(const char *t, size_t n)
{
	return n == 1 && t[0] == '>';
}

/* The separators nats-server refuses in a subject. It accepts form feed
 * and vertical tab (SUB foo\fbar is delivered to), so they are allowed. */
static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Checks the syntax of s; sets *wild when it has a wildcard token. */
static bool scan(const char *s, size_t len, bool *wild)
{
	size_t i, start = 0;
	bool fwc = false;

	*wild = false;
	if (len == 0)
		return false;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (is_space((unsigned char)s[i]))
				return false;
			continue;
		}
		/* A token ends at i; nothing may follow a '>'. */
		if (i == start || fwc)
			return false;
		if (i - start == 1 && (s[start] == '*' || s[start] == '>')) {
			*wild = true;
			fwc = s[start] == '>';
		}
		start = i + 1;
	}
	return true;
}

bool subject_valid(const char *s, size_t len)
{
	bool wild;

	return scan(s, len, &wild);
}

bool subject_literal(const char *s, size_t len)
{
	bool wild;

	return scan(s, len, &wild) && !wild;
}

/* Is each remaining token of t non-empty, with at least one left? */
static bool rest_nonempty(struct tokens *t)
{
	const char *tok;
	size_t n;
	bool any = false;

	while (tok_next(t, &tok, &n)) {
		if (n == 0)
			return false;
		any = true;
	}
	return any;
}

bool subject_match(const char *pattern, size_t plen, const char *subj,
		   size_t slen)
{
	struct tokens pt, st;
	const char *p, *s;
	size_t pn, sn;

	if (plen == 0 || slen == 0)
		return false;
	tok_init(&pt, pattern, plen);
	tok_init(&st, subj, slen);
	while (tok_next(&pt, &p, &pn)) {
		if (pn == 0)
			return false;
		if (is_fwc(p, pn))
			return !pt.more && rest_nonempty(&st);
		if (!tok_next(&st, &s, &sn) || sn == 0)
			return false;
		if (is_pwc(p, pn))
			continue;
		/* A "*" or ">" in subj is literal: only a wildcard in the
		 * pattern, handled above, matches it. */
		if (pn != sn || memcmp(p, s, pn) != 0)
			return false;
	}
	return !st.more;
}

bool subject_subset(const char *sub, size_t sublen, const char *pattern,
		    size_t plen)
{
	struct tokens st, pt;
	const char *s, *p;
	size_t sn, pn;
	bool hs, hp;

	if (!subject_valid(sub, sublen) || !subject_valid(pattern, plen))
		return false;
	tok_init(&st, sub, sublen);
	tok_init(&pt, pattern, plen);
	for (;;) {
		hs = tok_next(&st, &s, &sn);
		hp = tok_next(&pt, &p, &pn);
		if (!hs || !hp)
			return !hs && !hp;
		if (is_fwc(p, pn))
			return true;
		/* sub goes on for any number of tokens, pattern does not. */
		if (is_fwc(s, sn))
			return false;
		if (is_pwc(p, pn))
			continue;
		if (is_pwc(s, sn))
			return false;
		if (sn != pn || memcmp(s, p, sn) != 0)
			return false;
	}
}

bool subject_overlap(const char *a, size_t alen, const char *b, size_t blen)
{
	struct tokens at, bt;
	const char *x, *y;
	size_t xn, yn;
	bool ha, hb;

	if (!subject_valid(a, alen) || !subject_valid(b, blen))
		return false;
	tok_init(&at, a, alen);
	tok_init(&bt, b, blen);
	for (;;) {
		ha = tok_next(&at, &x, &xn);
		hb = tok_next(&bt, &y, &yn);
		if (!ha || !hb)
			return !ha && !hb;
		/* The other side has at least this token left, and any
		 * valid rest matches something that ">" takes too. */
		if (is_fwc(x, xn) || is_fwc(y, yn))
			return true;
		if (is_pwc(x, xn) || is_pwc(y, yn))
			continue;
		if (xn != yn || memcmp(x, y, xn) != 0)
			return false;
	}
}

size_t subject_tokens(const char *s, size_t len)
{
	const char *end = s + len, *dot;
	size_t n = 1;

	if (len == 0)
		return 0;
	while ((dot = memchr(s, '.', (size_t)(end - s))) != NULL) {
		n++;
		s = dot + 1;
	}
	return n;
}
