/* Test plugin for the loader: claims plugin ABI 1.99, newer than any
 * host this test runs against. Such a plugin may call host functions the
 * host lacks, so the loader must refuse it without running init(). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "refused.h"

static const struct natsd_plugin refused_plugin = {
	.magic = NATSD_PLUGIN_MAGIC,
	.abi_major = NATSD_ABI_MAJOR,
	.abi_minor = 99,
	.struct_size = sizeof(struct natsd_plugin),
	.name = "abi_minor",
	.version = "0",
	.init = refused_init,
};
