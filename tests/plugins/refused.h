/*
 * What the test plugins that the loader must refuse have in common: an
 * init() that must never run, and the natsd_plugin_entry() that hands out
 * the descriptor the including file defines as refused_plugin (with
 * .init = refused_init). Each such plugin is one source file that
 * includes this once.
 */
#ifndef NATSD_TESTS_PLUGINS_REFUSED_H
#define NATSD_TESTS_PLUGINS_REFUSED_H

#include <stdlib.h>

#include <natsd/plugin.h>

static const struct natsd_plugin refused_plugin;

static int refused_init(struct natsd_host *h, const struct natsd_host_api *api,
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

const struct natsd_plugin *natsd_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	(void)host_major;
	(void)host_minor;
	return &refused_plugin;
}

#endif /* NATSD_TESTS_PLUGINS_REFUSED_H */
