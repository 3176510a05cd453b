/* SPDX-License-Identifier: GPL-2.0-only */
/* cmd_chunk.h - CREATE_TRACE_CHUNK, CLOSE_TRACE_CHUNK, TRACE_CHUNK_EXISTS (cmd loop). */
#ifndef SLUICE_CORE_CMD_CHUNK_H
#define SLUICE_CORE_CMD_CHUNK_H

#include "cmd.h"

struct consumer;

void cmd_create_trace_chunk(struct consumer *c, const struct cmd *cmd);
void cmd_close_trace_chunk(struct consumer *c, const struct cmd *cmd);
void cmd_trace_chunk_exists(struct consumer *c, const struct cmd *cmd);

#endif /* SLUICE_CORE_CMD_CHUNK_H */
