#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/* Files the unit tests write: see testfile.h. */

#include <limits.h>
#include <stdio.h>

#include <CUnit/CUnit.h>

#include "testfile.h"

void testfile_write(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(path));
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs(text, f);
	fclose(f);
}
