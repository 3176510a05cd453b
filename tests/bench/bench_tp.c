/* SPDX-License-Identifier: GPL-2.0-only */
/* Instantiates the sluice_bench tracepoint provider inside the load generator. */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "bench_tp.h"
