#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/* Allocation failure injection for the unit tests: see alloc_fail.h. */

#include <stdatomic.h>
#include <stddef.h>

#include "alloc_fail.h"

/* Weak: resolved only for the functions the program is linked to wrap. */
void *__real_malloc(size_t n) __attribute__((weak));
void *__real_calloc(size_t n, size_t size) __attribute__((weak));
void *__real_realloc(void *p, size_t n) __attribute__((weak));
void *__real_aligned_alloc(size_t align, size_t n) __attribute__((weak));
char *__real_strdup(const char *s) __attribute__((weak));
char *__real_strndup(const char *s, size_t n) __attribute__((weak));
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

/* Calls left before the one that fails; -1: none fails. Atomic because
 * tests with threads allocate from several at once. */
static atomic_long countdown = -1;
static atomic_bool failed;
static atomic_ulong calls;

static bool fails(void)
{
	long left = atomic_load(&countdown);

	atomic_fetch_add(&calls, 1);
	while (left >= 0)
		if (atomic_compare_exchange_weak(&countdown, &left, left - 1)) {
			if (left > 0)
				return false;
			atomic_store(&failed, true);
			return true;
		}
	return false;
}

void alloc_fail_start(long n)
{
	atomic_store(&failed, false);
	atomic_store(&countdown, n < 0 ? -1 : n);
}

bool alloc_fail_stop(void)
{
	atomic_store(&countdown, -1);
	return atomic_load(&failed);
}

unsigned long alloc_fail_calls(void)
{
	return atomic_load(&calls);
}

void *__wrap_malloc(size_t n)
{
	return fails() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fails() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fails() ? NULL : __real_realloc(p, n);
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
	return fails() ? NULL : __real_aligned_alloc(align, n);
}

char *__wrap_strdup(const char *s)
{
	return fails() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	return fails() ? NULL : __real_strndup(s, n);
}
