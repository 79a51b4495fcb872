/* Test plugin for the loader: a well-formed plugin named "good".
 *
 * It registers nothing. What it does is visible to the test through the
 * host table: init() reads the "greeting" setting with cfg_string() and
 * logs it, fini() logs too, so the test's fake table sees both calls. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>

#include <natsd/plugin.h>

struct good {
	struct natsd_host *h;
	const struct natsd_host_api *api;
};

static int good_init(struct natsd_host *h, const struct natsd_host_api *api,
		     const struct natsd_cfg *cfg, void **ctx, char *err,
		     size_t errlen)
{
	const char *greeting = "none";
	struct good *g;
	int rc;

	(void)err;
	(void)errlen;
	rc = api->cfg_string(cfg, "greeting", &greeting);
	if (rc != 0 && rc != NATSD_ENOENT)
		return rc;
	g = malloc(sizeof(*g));
	if (g == NULL)
		return NATSD_ENOMEM;
	g->h = h;
	g->api = api;
	api->log(h, NATSD_LOG_INFO, "good: init greeting=%s", greeting);
	*ctx = g;
	return 0;
}

static void good_fini(void *ctx)
{
	struct good *g = ctx;

	g->api->log(g->h, NATSD_LOG_INFO, "good: fini");
	free(g);
}

static const struct natsd_plugin good_plugin = {
	NATSD_PLUGIN_INIT,
	.name = "good",
	.version = "1.2.3",
	.init = good_init,
	.fini = good_fini,
};

const struct natsd_plugin *natsd_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	(void)host_major;
	(void)host_minor;
	return &good_plugin;
}
