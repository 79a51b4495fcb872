/* The router: given a published message, find its subscribers in the
 * account's index and queue it for each (plain subscribers all, one member
 * per queue group), applying the forwarding rules that keep messages from
 * looping between servers. */
#ifndef NATSD_ROUTER_H
#define NATSD_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

struct conn;
struct account;
struct sub;

struct pubmsg {
	const char *subject;
	uint32_t subject_len;
	uint32_t reply_len;
	const char *reply; /* NULL when none */
	const char *hdr;   /* header block, NULL when none */
	uint32_t hdr_len;
	uint32_t data_len;
	const char *data;
	/* From links: the queue groups this server was picked for. */
	const char *const *queues;
	uint32_t nqueues;
	const char *origin;
};

/* Routes m, published by from, within acc. Returns the number of
 * deliveries (local subscribers plus link connections). Runs on from's
 * thread. */
int router_publish(struct conn *from, struct account *acc,
		   const struct pubmsg *m);

/* May a message that came in on a connection of kind `from` go out on a
 * connection of kind `to`? */
bool router_may_forward(int from, int to);

#endif
