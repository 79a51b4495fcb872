/* Test plugin for the loader: a valid shared object that exports a
 * function, but not natsd_plugin_entry. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

__attribute__((visibility("default"))) int not_a_plugin_answer(void);

int not_a_plugin_answer(void)
{
	return 42;
}
