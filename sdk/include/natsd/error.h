/* natsd plugin SDK: error codes shared by the host and plugins.
 *
 * Functions that return int give 0 on success, a negative NATSD_E* code
 * (the value of -errno, as the kernel and libuv do) on failure, or a
 * positive named outcome such as NATSD_PENDING. */
#ifndef NATSD_ERROR_H
#define NATSD_ERROR_H

#include <errno.h>

#define NATSD_EPERM	  (-EPERM)
#define NATSD_ENOENT	  (-ENOENT)
#define NATSD_EIO	  (-EIO)
#define NATSD_EAGAIN	  (-EAGAIN)	/* would block: try again when ready */
#define NATSD_ENOMEM	  (-ENOMEM)
#define NATSD_EACCES	  (-EACCES)
#define NATSD_EEXIST	  (-EEXIST)
#define NATSD_EINVAL	  (-EINVAL)
#define NATSD_ERANGE	  (-ERANGE)
#define NATSD_ENOSPC	  (-ENOSPC)
#define NATSD_EPROTO	  (-EPROTO)
#define NATSD_EMSGSIZE	  (-EMSGSIZE)
#define NATSD_ENOTSUP	  (-ENOTSUP)
#define NATSD_ECONNRESET  (-ECONNRESET)
#define NATSD_ETIMEDOUT	  (-ETIMEDOUT)
#define NATSD_EPIPE	  (-EPIPE)
#define NATSD_ESHUTDOWN	  (-ESHUTDOWN)

#define NATSD_PENDING 1 /* the answer comes later, through a callback */

#endif
