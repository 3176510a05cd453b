/* SPDX-License-Identifier: GPL-2.0-only */
/* cmd_channel.h - ASK_CHANNEL_CREATION, GET_CHANNEL, DESTROY_CHANNEL (cmd loop). */
#ifndef SLUICE_CORE_CMD_CHANNEL_H
#define SLUICE_CORE_CMD_CHANNEL_H

#include "cmd.h"

struct consumer;

void cmd_ask_channel(struct consumer *c, const struct cmd *cmd);
void cmd_get_channel(struct consumer *c, const struct cmd *cmd);
void cmd_destroy_channel(struct consumer *c, const struct cmd *cmd);

#endif /* SLUICE_CORE_CMD_CHANNEL_H */
