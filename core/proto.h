/* The client-protocol parser: one operation at a time, zero copy.
 *
 * proto_parse() is stateless: every call looks at the start of a buffer
 * and either returns one complete operation, says that more bytes are
 * needed, or reports an error. Results point into the caller's buffer, so
 * they live as long as the caller keeps those bytes. The connection keeps
 * unconsumed bytes and calls again when more arrive; a line that is not yet
 * terminated is looked at again from its start (cheap: memchr).
 *
 * The rules are those of nats-server 2.9.10 for CLIENT connections,
 * including its odd corners (see proto.c): which errors send
 * -ERR 'Unknown Protocol Operation' and close, which close silently, and
 * when the control-line and payload limits apply. */
#ifndef NATSD_PROTO_H
#define NATSD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum proto_op {
	PROTO_OP_CONNECT = 1,
	PROTO_OP_PUB,
	PROTO_OP_HPUB,
	PROTO_OP_SUB,
	PROTO_OP_UNSUB,
	PROTO_OP_PING,
	PROTO_OP_PONG,
	PROTO_OP_INFO,
	PROTO_OP_OK,
	PROTO_OP_ERR,
};

/* A slice of the input buffer; not NUL-terminated. p NULL and len 0 when
 * the field is absent. */
struct proto_str {
	const char *p;
	uint32_t len;
};

struct proto_cmd {
	enum proto_op op;
	struct proto_str subject; /* PUB, HPUB, SUB */
	struct proto_str reply;   /* PUB, HPUB (optional) */
	struct proto_str queue;   /* SUB (optional) */
	struct proto_str sid;     /* SUB, UNSUB */
	struct proto_str arg;     /* CONNECT/INFO: the JSON, -ERR: its text */
	uint64_t max;             /* UNSUB max messages, 0 = none */
	uint32_t hdr_len;         /* HPUB header bytes */
	uint32_t size;            /* PUB payload, HPUB headers + payload */
	const char *payload;      /* PUB/HPUB: size bytes (headers first) */
};

struct proto_limits {
	uint32_t max_control_line; /* argument bytes; 0 = unlimited */
	int64_t max_payload;       /* < 0 = unlimited */
	/* The client did not send headers:true: HPUB then closes the
	 * connection without -ERR (checked before HPUB's arguments). */
	bool hpub_refused;
};

#define PROTO_MORE 0

enum proto_err {
	PROTO_E_UNKNOWN_OP = -1, /* -ERR 'Unknown Protocol Operation', close */
	PROTO_E_PARSE = -2,      /* close without -ERR */
	PROTO_E_CONTROL_LINE = -3, /* -ERR 'maximum control line exceeded' */
	PROTO_E_MAX_PAYLOAD = -4,  /* -ERR 'Maximum Payload Violation', close */
};

/* Parses one operation at buf[0..len). lim may be NULL (no limits).
 * Returns:
 *  > 0  bytes consumed (the whole operation, payload and its CRLF
 *       included); *cmd is filled, pointing into buf;
 *  PROTO_MORE  the operation is incomplete; *need (when need is not NULL)
 *       is the total size the operation needs once that is known (a PUB or
 *       HPUB whose control line is complete), else 0;
 *  < 0  an enum proto_err code: the connection must be closed (after the
 *       -ERR that proto_err_text() gives, if any).
 * *cmd is written when an operation is returned, and also for a PUB/HPUB
 * whose control line is complete but whose payload is still missing
 * (PROTO_MORE, *need > 0) or not followed by CRLF (PROTO_E_UNKNOWN_OP):
 * then cmd->payload is NULL and the rest is filled in. nats-server acts on
 * the control line at once (pedantic mode's 'Invalid Publish Subject' is
 * sent before the payload is read, even when its framing then fails); this
 * lets a connection do the same, once per pending operation.
 *
 * When the connection still awaits authentication, nats-server refuses
 * any first byte other than 'C'/'c' with 'Authorization Violation' before
 * parsing: the caller checks that itself. It also validates an INFO's JSON
 * (closing without -ERR on bad JSON) and closes on -ERR from a client. */
int proto_parse(const char *buf, size_t len, const struct proto_limits *lim,
		struct proto_cmd *cmd, size_t *need);

/* The text of the -ERR that goes with a proto_parse() error, without the
 * quotes, or NULL when the connection closes silently. */
const char *proto_err_text(int err);

/* "PUB", "CONNECT"...; "?" for an unknown value. */
const char *proto_op_name(enum proto_op op);

/* A string from CONNECT: NUL-terminated, len is its full length (JSON may
 * carry \u0000, so compare secrets with len, not strcmp). s NULL = never
 * set by any CONNECT. */
struct proto_cstr {
	char *s;
	size_t len;
};

/* A client's CONNECT options. A CONNECT that omits a field (or gives it
 * as null) leaves the previous value, as nats-server does; has_X tells
 * whether any CONNECT set X. */
struct proto_connect {
	bool verbose;
	bool pedantic;
	bool tls_required;
	bool echo;
	bool headers;
	bool no_responders;
	bool new_account;
	bool has_verbose;
	bool has_pedantic;
	bool has_tls_required;
	bool has_echo;
	bool has_headers;
	bool has_no_responders;
	bool has_new_account;
	bool has_protocol;
	int64_t protocol;
	struct proto_cstr auth_token;
	struct proto_cstr user;
	struct proto_cstr pass;
	struct proto_cstr nkey;
	struct proto_cstr sig;
	struct proto_cstr jwt;
	struct proto_cstr name;
	struct proto_cstr lang;
	struct proto_cstr version;
	struct proto_cstr account;
};

/* The options of a connection that has sent no CONNECT yet: verbose,
 * pedantic and echo true, everything else unset. */
void proto_connect_init(struct proto_connect *c);

/* Applies the CONNECT JSON json[0..len) to *out, which was set up by
 * proto_connect_init() (and possibly earlier CONNECTs). Keys match
 * case-insensitively, invalid UTF-8 in strings becomes U+FFFD and unknown
 * keys are ignored, as Go's encoding/json does for nats-server. Returns 0,
 * NATSD_EINVAL for bad JSON or a field of the wrong type (nats-server then
 * closes without -ERR; *out is left unchanged) or NATSD_ENOMEM. */
int proto_parse_connect(const char *json, size_t len,
			struct proto_connect *out);

/* Frees (and wipes) the strings of c; c can be initialised again. */
void proto_connect_fini(struct proto_connect *c);

#endif
