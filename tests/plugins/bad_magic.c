/* Test plugin for the loader: a descriptor with the wrong magic number.
 * The loader must refuse it without running init(). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "refused.h"

static const struct natsd_plugin refused_plugin = {
	.magic = 0x4e415455u, /* "NATU" */
	.abi_major = NATSD_ABI_MAJOR,
	.abi_minor = NATSD_ABI_MINOR,
	.struct_size = sizeof(struct natsd_plugin),
	.name = "bad_magic",
	.version = "0",
	.init = refused_init,
};
