/* Test plugin for the loader: claims plugin ABI 2.0. The loader must
 * refuse it without running init(), whose table layout it cannot know. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "refused.h"

static const struct natsd_plugin refused_plugin = {
	.magic = NATSD_PLUGIN_MAGIC,
	.abi_major = 2,
	.abi_minor = 0,
	.struct_size = sizeof(struct natsd_plugin),
	.name = "abi_major",
	.version = "0",
	.init = refused_init,
};
