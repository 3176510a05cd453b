/* SPDX-License-Identifier: GPL-2.0-only */
/* cmd_misc.h - INIT, SET_CHANNEL_MONITOR_PIPE, ADD_RELAYD_SOCKET, DESTROY_RELAYD (cmd loop). */
#ifndef SLUICE_CORE_CMD_MISC_H
#define SLUICE_CORE_CMD_MISC_H

#include "cmd.h"

struct consumer;

void cmd_init(struct consumer *c, const struct cmd *cmd);
void cmd_set_monitor_pipe(struct consumer *c, const struct cmd *cmd);
void cmd_add_relayd_socket(struct consumer *c, const struct cmd *cmd);
void cmd_destroy_relayd(struct consumer *c, const struct cmd *cmd);

#endif /* SLUICE_CORE_CMD_MISC_H */
