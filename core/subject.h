/* Subject syntax and wildcard logic (PROTOCOL.md 1.6), as pure functions
 * over explicit lengths: no allocation, no NUL needed.
 *
 * A subject is tokens separated by '.'. A token is non-empty and holds no
 * whitespace byte (space, tab, CR, LF, FF, VT). "*" (one token) and ">"
 * (one or more trailing tokens) are wildcards only as whole tokens, and
 * ">" only as the last one: "foo.*bar" is a literal subject.
 *
 * A published subject that contains "*" or ">" tokens is matched as if
 * they were literal tokens: it reaches subscriptions with a wildcard at
 * that position, never a literal one ("foo.*" matches pattern "foo.*",
 * "foo.>" and ">", not "foo.bar"), as nats-server does. */
#ifndef NATSD_SUBJECT_H
#define NATSD_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>

/* Is s a valid subscription subject (wildcards allowed)? */
bool subject_valid(const char *s, size_t len);

/* Is s valid and free of wildcard tokens (the pedantic publish check)? */
bool subject_literal(const char *s, size_t len);

/* Does the published subject subj match pattern? Wildcard tokens in subj
 * count as literal tokens (see above). False when pattern is not valid
 * or subj has an empty token. Whitespace in either is not looked at. */
bool subject_match(const char *pattern, size_t plen, const char *subj,
		   size_t slen);

/* Is every subject that sub matches also matched by pattern? Both may hold
 * wildcards: pattern "foo.>" covers sub "foo.*", pattern "foo.bar" does
 * not (see subject_overlap()). False when either is not valid. */
bool subject_subset(const char *sub, size_t sublen, const char *pattern,
		    size_t plen);

/* Is there a subject that both a and b match ("foo.*" and "foo.bar",
 * "foo.>" and "*.bar")? False when either is not valid. */
bool subject_overlap(const char *a, size_t alen, const char *b, size_t blen);

/* The number of '.'-separated tokens in s (0 for an empty string); the
 * tokens are not checked. */
size_t subject_tokens(const char *s, size_t len);

#endif
