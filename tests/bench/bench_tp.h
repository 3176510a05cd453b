/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoint provider of the `make bench` load generator: one event type with
 * a fixed 53-byte payload (thread 4 + sequence 8 + a 41-byte blob), the size
 * the issue "read path at full speed" measured.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER sluice_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./bench_tp.h"

#if !defined(SLUICE_BENCH_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define SLUICE_BENCH_TP_H

#include <stdint.h>
#include <lttng/tracepoint.h>

/* Bytes of the blob field: 4 + 8 + 41 = 53 bytes of payload per event. */
#define SLUICE_BENCH_BLOB 41

LTTNG_UST_TRACEPOINT_EVENT(sluice_bench, event,
	LTTNG_UST_TP_ARGS(uint32_t, thread, uint64_t, seq, const uint8_t *, blob),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, thread, thread)
		lttng_ust_field_integer(uint64_t, seq, seq)
		lttng_ust_field_array(uint8_t, blob, blob, SLUICE_BENCH_BLOB)
	)
)

#endif /* SLUICE_BENCH_TP_H */

#include <lttng/tracepoint-event.h>
