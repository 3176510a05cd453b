/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_stream_ops.h - the commands that act on dispatched streams (cmd loop,
 * the stream work on the streams' owner loop).
 */
#ifndef SLUICE_CORE_CMD_STREAM_OPS_H
#define SLUICE_CORE_CMD_STREAM_OPS_H

#include "cmd.h"

struct consumer;

void cmd_flush_channel(struct consumer *c, const struct cmd *cmd);
void cmd_clear_quiescent(struct consumer *c, const struct cmd *cmd);
void cmd_clear_channel(struct consumer *c, const struct cmd *cmd);
void cmd_open_channel_packets(struct consumer *c, const struct cmd *cmd);
void cmd_data_pending(struct consumer *c, const struct cmd *cmd);
/* DISCARDED_EVENTS and LOST_PACKETS. */
void cmd_channel_stats(struct consumer *c, const struct cmd *cmd);
void cmd_rotate_channel(struct consumer *c, const struct cmd *cmd);

#endif /* SLUICE_CORE_CMD_STREAM_OPS_H */
