/* Test plugin for the loader: claims plugin ABI 2.0. The loader must
 * refuse it without running init(), whose table layout it cannot know. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>

#include <natsd/plugin.h>

static int abi_major_init(struct natsd_host *h,
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

static const struct natsd_plugin abi_major_plugin = {
	.magic = NATSD_PLUGIN_MAGIC,
	.abi_major = 2,
	.abi_minor = 0,
	.struct_size = sizeof(struct natsd_plugin),
	.name = "abi_major",
	.version = "0",
	.init = abi_major_init,
};

const struct natsd_plugin *natsd_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	(void)host_major;
	(void)host_minor;
	return &abi_major_plugin;
}
