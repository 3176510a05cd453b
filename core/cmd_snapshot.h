/* SPDX-License-Identifier: GPL-2.0-only */
/* cmd_snapshot.h - SNAPSHOT_CHANNEL (cmd loop). */
#ifndef SLUICE_CORE_CMD_SNAPSHOT_H
#define SLUICE_CORE_CMD_SNAPSHOT_H

#include "cmd.h"

struct consumer;

void cmd_snapshot_channel(struct consumer *c, const struct cmd *cmd);

#endif /* SLUICE_CORE_CMD_SNAPSHOT_H */
