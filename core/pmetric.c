/* Plugin metrics table; see pmetric.h. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <natsd/plugin.h>

#include "pmetric.h"

static struct natsd_metric pmetric_table[PMETRIC_MAX];
static _Atomic size_t pmetric_n;
static pthread_mutex_t pmetric_lock = PTHREAD_MUTEX_INITIALIZER;

static bool name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= PMETRIC_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     c == '_';

		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

int pmetric_register(const char *name, const char *help, int type,
		     struct natsd_metric **out)
{
	struct natsd_metric *m;
	size_t i, n;
	int rc = 0;

	if (name == NULL || !name_ok(name) ||
	    (type != NATSD_METRIC_COUNTER && type != NATSD_METRIC_GAUGE))
		return NATSD_EINVAL;
	pthread_mutex_lock(&pmetric_lock);
	n = atomic_load(&pmetric_n);
	for (i = 0; i < n; i++) {
		m = &pmetric_table[i];
		if (strcmp(m->name, name) != 0)
			continue;
		if (m->type != type)
			rc = NATSD_EEXIST;
		else
			*out = m;
		goto out_unlock;
	}
	if (n == PMETRIC_MAX) {
		rc = NATSD_ENOSPC;
		goto out_unlock;
	}
	m = &pmetric_table[n];
	snprintf(m->name, sizeof(m->name), "%s", name);
	/* The help text goes into the exposition format as is: keep it on
	 * one line. */
	snprintf(m->help, sizeof(m->help), "%s", help ? help : name);
	for (i = 0; m->help[i] != '\0'; i++)
		if (m->help[i] == '\n' || m->help[i] == '\\' ||
		    (unsigned char)m->help[i] < 0x20)
			m->help[i] = ' ';
	m->type = type;
	atomic_store(&m->v, 0);
	atomic_store(&pmetric_n, n + 1);
	*out = m;
out_unlock:
	pthread_mutex_unlock(&pmetric_lock);
	return rc;
}

void pmetric_add(struct natsd_metric *m, int64_t v)
{
	if (m != NULL)
		atomic_fetch_add_explicit(&m->v, v, memory_order_relaxed);
}

void pmetric_set(struct natsd_metric *m, int64_t v)
{
	if (m != NULL)
		atomic_store_explicit(&m->v, v, memory_order_relaxed);
}

size_t pmetric_count(void)
{
	return atomic_load(&pmetric_n);
}

const struct natsd_metric *pmetric_get(size_t i)
{
	return &pmetric_table[i];
}
