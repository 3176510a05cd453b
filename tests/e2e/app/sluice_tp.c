/* SPDX-License-Identifier: GPL-2.0-only */
/* Instantiates the sluice_app tracepoint provider inside the application. */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "sluice_tp.h"
