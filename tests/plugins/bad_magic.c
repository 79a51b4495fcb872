/* Test plugin for the loader: a descriptor with the wrong magic number.
 * The loader must refuse it without running init(). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>

#include <natsd/plugin.h>

static int bad_magic_init(struct natsd_host *h,
			  const struct natsd_host_api *api,
			  const struct natsd_cfg *cfg, void **ctx, char *err,
			  size_t errlen)
{
	(void)h;
	(void)api;
	(void)cfg;
	(void)ctx;
	(void)err;
	(void)errlen;
	abort(); /* a refused plugin's code must never run */
}

static const struct natsd_plugin bad_magic_plugin = {
	.magic = 0x4e415455u, /* "NATU" */
	.abi_major = NATSD_ABI_MAJOR,
	.abi_minor = NATSD_ABI_MINOR,
	.struct_size = sizeof(struct natsd_plugin),
	.name = "bad_magic",
	.version = "0",
	.init = bad_magic_init,
};

const struct natsd_plugin *natsd_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	(void)host_major;
	(void)host_minor;
	return &bad_magic_plugin;
}
