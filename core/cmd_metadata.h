/* SPDX-License-Identifier: GPL-2.0-only */
/* cmd_metadata.h - SETUP_METADATA, PUSH_METADATA, CLOSE_METADATA (cmd loop). */
#ifndef SLUICE_CORE_CMD_METADATA_H
#define SLUICE_CORE_CMD_METADATA_H

#include "cmd.h"

struct consumer;

void cmd_setup_metadata(struct consumer *c, const struct cmd *cmd);
void cmd_push_metadata(struct consumer *c, const struct cmd *cmd);
void cmd_close_metadata(struct consumer *c, const struct cmd *cmd);
/*
 * End a PUSH_METADATA flush wait that can no longer be satisfied (its
 * fragment lies beyond a hole and no metadata answer that could fill it is
 * due).  No-op otherwise.  Called after every finished metadata request.
 */
void cmd_push_recheck(struct consumer *c);

#endif /* SLUICE_CORE_CMD_METADATA_H */
