/* Subscription records: one allocation holds the struct and its strings,
 * so a subscription costs one malloc and stays compact in memory. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "sub.h"

struct sub *sub_new(struct conn *c, const char *subject, size_t len,
		    const char *queue, size_t qlen, const char *sid,
		    size_t sidlen)
{
	struct sub *s;
	char *p;

	s = malloc(sizeof(*s) + len + 1 + (queue ? qlen + 1 : 0) +
		   (sid ? sidlen + 1 : 0));
	if (s == NULL)
		return NULL;
	memset(s, 0, sizeof(*s));
	p = (char *)(s + 1);
	s->subject = p;
	s->subject_len = (uint32_t)len;
	memcpy(p, subject, len);
	p[len] = '\0';
	p += len + 1;
	if (queue != NULL) {
		s->queue = p;
		s->queue_len = (uint32_t)qlen;
		memcpy(p, queue, qlen);
		p[qlen] = '\0';
		p += qlen + 1;
	}
	if (sid != NULL) {
		s->sid = p;
		s->sid_len = (uint32_t)sidlen;
		memcpy(p, sid, sidlen);
		p[sidlen] = '\0';
	}
	s->conn = c;
	s->weight = 1;
	return s;
}

void sub_free(void *s)
{
	free(s);
}
