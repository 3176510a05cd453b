/* SPDX-License-Identifier: GPL-2.0-only */
/* Tracepoint provider of the e2e / demo application: two event types. */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER sluice_app

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./sluice_tp.h"

#if !defined(SLUICE_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define SLUICE_TP_H

#include <stdint.h>
#include <lttng/tracepoint.h>

/* A counter event: which thread, and its running sequence number. */
LTTNG_UST_TRACEPOINT_EVENT(sluice_app, tick,
	LTTNG_UST_TP_ARGS(uint32_t, thread, uint64_t, seq),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, thread, thread)
		lttng_ust_field_integer(uint64_t, seq, seq)
	)
)

/* A message event with a string payload of varying length. */
LTTNG_UST_TRACEPOINT_EVENT(sluice_app, message,
	LTTNG_UST_TP_ARGS(uint32_t, thread, uint64_t, seq, const char *, text),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, thread, thread)
		lttng_ust_field_integer(uint64_t, seq, seq)
		lttng_ust_field_string(text, text)
	)
)

#endif /* SLUICE_TP_H */

#include <lttng/tracepoint-event.h>
