/* SPDX-License-Identifier: GPL-2.0-only */
#include "rb.h"

const char *rb_status_str(enum rb_status status)
{
	switch (status) {
	case RB_OK: return "ok";
	case RB_NO_DATA: return "no data";
	case RB_FINALIZED: return "finalized";
	case RB_OVERWRITTEN: return "overwritten";
	case RB_FULL: return "full";
	case RB_NO_STREAM: return "no stream";
	case RB_UNSUPPORTED: return "unsupported";
	case RB_NOMEM: return "out of memory";
	case RB_IO: return "i/o error";
	case RB_ERROR: return "error";
	}
	return "unknown status";
}
