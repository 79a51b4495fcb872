/* Test plugin for the loader: its init() fails with a message of its own,
 * which the loader must pass on. fini() must then never be called. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>

#include <natsd/plugin.h>

static int init_fails_init(struct natsd_host *h,
			   const struct natsd_host_api *api,
			   const struct natsd_cfg *cfg, void **ctx, char *err,
			   size_t errlen)
{
	(void)h;
	(void)api;
	(void)cfg;
	(void)ctx;
	snprintf(err, errlen, "cannot read %s: %s", "/nonexistent/users.ini",
		 "No such file or directory");
	return NATSD_ENOENT;
}

static void init_fails_fini(void *ctx)
{
	(void)ctx;
	abort(); /* fini of a plugin whose init failed must not run */
}

static const struct natsd_plugin init_fails_plugin = {
	NATSD_PLUGIN_INIT,
	.name = "init_fails",
	.version = "0",
	.init = init_fails_init,
	.fini = init_fails_fini,
};

const struct natsd_plugin *natsd_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	(void)host_major;
	(void)host_minor;
	return &init_fails_plugin;
}
