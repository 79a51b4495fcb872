/*
 * Allocation failure injection for the unit tests.
 *
 * A test program built with alloc_fail.c and linked with GNU ld's
 * -Wl,--wrap=malloc (and any of calloc, realloc, aligned_alloc, strdup,
 * strndup) has the core objects' calls of those functions come here
 * first, where one chosen call can be made to return NULL. Without the
 * --wrap flags nothing is wrapped: alloc_fail_calls() stays put, which is
 * how a test tells that it cannot inject failures and says it skipped.
 */
#ifndef NATSD_TESTS_ALLOC_FAIL_H
#define NATSD_TESTS_ALLOC_FAIL_H

#include <stdbool.h>

/* From now on, wrapped allocation call number n (0: the next one) fails,
 * and only that one. */
void alloc_fail_start(long n);

/* Lets every allocation succeed again. Returns whether the call that
 * alloc_fail_start() chose came, and was failed. */
bool alloc_fail_stop(void);

/* Wrapped allocation calls made so far, failed ones included. */
unsigned long alloc_fail_calls(void);

#endif /* NATSD_TESTS_ALLOC_FAIL_H */
