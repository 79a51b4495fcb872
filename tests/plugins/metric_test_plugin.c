/* Test plugin for the metrics part of the ABI (1.1): registers a counter
 * and a gauge at init, checks the registration rules (a bad name, the
 * same name again, the same name with another type), and bumps the
 * counter from a host timer every 20 ms, so that a test sees it grow in
 * /varz and /metrics. Any surprise fails init, which stops the server. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>

#include <natsd/plugin.h>

struct metrictest {
	struct natsd_host *h;
	const struct natsd_host_api *api;
	struct natsd_metric *ticks;
	struct natsd_metric *level;
};

static void metrictest_tick(void *arg)
{
	struct metrictest *mt = arg;

	mt->api->metric_add(mt->ticks, 1);
	mt->api->timer_add(mt->h, 20, metrictest_tick, mt);
}

static int metrictest_check(struct metrictest *mt, char *err, size_t errlen)
{
	const struct natsd_host_api *api = mt->api;
	struct natsd_metric *again = NULL, *bad = NULL;
	int rc;

	rc = api->metric_register(mt->h, "metrictest_ticks",
				  "Timer ticks of the metric test plugin",
				  NATSD_METRIC_COUNTER, &mt->ticks);
	if (rc == 0)
		rc = api->metric_register(mt->h, "metrictest_level",
					  "A gauge the test plugin sets",
					  NATSD_METRIC_GAUGE, &mt->level);
	if (rc != 0) {
		snprintf(err, errlen, "metrictest: register: error %d", rc);
		return rc;
	}
	if (api->metric_register(mt->h, "bad-name", "x", NATSD_METRIC_GAUGE,
				 &bad) != NATSD_EINVAL ||
	    api->metric_register(mt->h, "metrictest_level", "x", 7, &bad) !=
		    NATSD_EINVAL ||
	    api->metric_register(mt->h, "metrictest_level", "x",
				 NATSD_METRIC_COUNTER, &bad) != NATSD_EEXIST ||
	    api->metric_register(mt->h, "metrictest_level", "x",
				 NATSD_METRIC_GAUGE, &again) != 0 ||
	    again != mt->level || bad != NULL) {
		snprintf(err, errlen, "metrictest: registration rules broken");
		return NATSD_EINVAL;
	}
	api->metric_set(mt->level, 40);
	api->metric_add(mt->level, 2);
	return 0;
}

static int metrictest_init(struct natsd_host *h,
			   const struct natsd_host_api *api,
			   const struct natsd_cfg *cfg, void **ctx, char *err,
			   size_t errlen)
{
	struct metrictest *mt;
	int rc;

	(void)cfg;
	if (!NATSD_HAS(api, metric_set)) {
		snprintf(err, errlen, "metrictest: the host has no metrics");
		return NATSD_ENOTSUP;
	}
	mt = calloc(1, sizeof(*mt));
	if (mt == NULL)
		return NATSD_ENOMEM;
	mt->h = h;
	mt->api = api;
	rc = metrictest_check(mt, err, errlen);
	if (rc == 0)
		rc = api->timer_add(h, 20, metrictest_tick, mt);
	if (rc != 0) {
		free(mt);
		return rc;
	}
	*ctx = mt;
	return 0;
}

static void metrictest_fini(void *ctx)
{
	free(ctx);
}

static const struct natsd_plugin metrictest_plugin = {
	NATSD_PLUGIN_INIT,       .name = "metrictest",    .version = "1.0.0",
	.init = metrictest_init, .fini = metrictest_fini,
};

const struct natsd_plugin *natsd_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	(void)host_major;
	(void)host_minor;
	return &metrictest_plugin;
}
