#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/* Running CUnit suites: see suites.h. */

#include <CUnit/Basic.h>

#include "suites.h"

int suites_run(const struct suite *suites, size_t n)
{
	unsigned int failed;
	CU_pSuite suite;
	size_t i, k;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return -1;
	for (i = 0; i < n; i++) {
		suite = CU_add_suite(suites[i].name, suites[i].init,
				     suites[i].fini);
		if (suite == NULL)
			goto out_registry;
		for (k = 0; k < suites[i].ntests; k++)
			if (CU_add_test(suite, suites[i].tests[k].name,
					suites[i].tests[k].fn) == NULL)
				goto out_registry;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed == 0 ? 0 : 1;

out_registry:
	CU_cleanup_registry();
	return -1;
}
