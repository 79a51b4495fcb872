/* Permissions of a user: publish and subscribe allow/deny lists and the
 * allow_responses grant, as nats-server applies them. Deny wins; an empty
 * allow list allows everything. Subscribe entries may name a queue group
 * ("subject queue"). */
#ifndef NATSD_PERMS_H
#define NATSD_PERMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct perm_entry {
	char *subject;
	char *queue; /* NULL: any, for subscribe entries */
};

struct perm_list {
	struct perm_entry *v;
	size_t n;
	bool set; /* an empty but present list denies everything */
};

struct perms {
	struct perm_list pub_allow, pub_deny, sub_allow, sub_deny;
	bool resp;	     /* allow_responses */
	int64_t resp_max;     /* replies per request */
	int64_t resp_expires; /* ns */
};

struct perms *perms_new(void);
void perms_free(struct perms *p);
struct perms *perms_dup(const struct perms *p);
/* Adds an entry to the list named by enum natsd_perm_list. */
int perms_add(struct perms *p, int list, const char *entry);

bool perms_can_pub(const struct perms *p, const char *subj, size_t len);
bool perms_can_sub(const struct perms *p, const char *subj, size_t len,
		   const char *queue, size_t qlen);

#endif
