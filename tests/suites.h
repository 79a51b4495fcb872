/*
 * CUnit suites as tables, and the one way the test programs run them:
 * register everything, run it with the verbose basic runner, and turn the
 * outcome into an exit status.
 */
#ifndef NATSD_TESTS_SUITES_H
#define NATSD_TESTS_SUITES_H

#include <stddef.h>

#include <CUnit/CUnit.h>

#define SUITE_COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct suite_test {
	const char *name;
	CU_TestFunc fn;
};

struct suite {
	const char *name;
	CU_InitializeFunc init; /* may be NULL */
	CU_CleanupFunc fini;    /* may be NULL */
	const struct suite_test *tests;
	size_t ntests;
};

/* Registers the n suites and runs them. Returns 0 when all passed, 1 when
 * an assertion or a suite's init or cleanup failed, -1 when CUnit could
 * not be set up. */
int suites_run(const struct suite *suites, size_t n);

#endif /* NATSD_TESTS_SUITES_H */
