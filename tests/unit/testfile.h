/*
 * Files the unit tests write into their own temporary directory.
 */
#ifndef NATSD_TESTS_TESTFILE_H
#define NATSD_TESTS_TESTFILE_H

/* Writes text to dir/name, replacing what was there. A file that cannot
 * be opened fails the test at once. */
void testfile_write(const char *dir, const char *name, const char *text);

#endif /* NATSD_TESTS_TESTFILE_H */
