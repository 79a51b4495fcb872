/* Counters and gauges that plugins publish (ABI 1.1 metric_register):
 * shown in /varz under "plugins" and in /metrics.
 *
 * One table per process, fixed in size so that a value is updated with
 * one relaxed atomic operation and read without a lock: entries are
 * only appended, and the count is published after the entry is filled. */
#ifndef NATSD_PMETRIC_H
#define NATSD_PMETRIC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define PMETRIC_MAX      256
#define PMETRIC_NAME_MAX 64
#define PMETRIC_HELP_MAX 200

struct natsd_metric {
	char name[PMETRIC_NAME_MAX];
	char help[PMETRIC_HELP_MAX];
	int type; /* enum natsd_metric_type */
	_Atomic int64_t v;
};

/* Registers name (a Prometheus name: [a-zA-Z_][a-zA-Z0-9_]*, shorter
 * than PMETRIC_NAME_MAX); the same name and type again gives the same
 * metric. 0 and *out, NATSD_EINVAL (bad name or type), NATSD_EEXIST
 * (name taken with another type), NATSD_ENOSPC (table full). */
int pmetric_register(const char *name, const char *help, int type,
		     struct natsd_metric **out);
void pmetric_add(struct natsd_metric *m, int64_t v);
void pmetric_set(struct natsd_metric *m, int64_t v);

/* The number of metrics registered, and one of them (i < count). */
size_t pmetric_count(void);
const struct natsd_metric *pmetric_get(size_t i);

#endif
