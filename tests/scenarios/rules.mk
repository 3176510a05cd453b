# SPDX-License-Identifier: GPL-2.0-only
# Scenario runner (deterministic race replay), included by the top Makefile.
#   make scenarios            every scenario x SCN_SEEDS seeds + determinism check + fault sweeps
#   make soak SEEDS=N         every scenario x N seeds (default 5000)
#   make scenarios-valgrind   each scenario, 3 seeds, under valgrind

SCN_RUN    := $(B)/scenario_run
SCN_FILES  := $(sort $(wildcard tests/scenarios/*.scn))
SCN_SEEDS  ?= 200
# Fault sweeps: the local flow, and one streaming to the simulated relay peer.
SCN_SWEEP  := tests/scenarios/basic_session.scn tests/scenarios/relay_session.scn
SEEDS      ?= 5000
SCN_VG     := valgrind -q --error-exitcode=99 --leak-check=full \
	      --errors-for-leak-kinds=definite,indirect,possible

.PHONY: scenarios soak scenarios-valgrind scenario-sweep

$(SCN_RUN): $(B)/obj/tests/scenarios/scenario_main.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(TEST_LIBS) $(LIBS_CORE) $(LDFLAGS)

all: $(SCN_RUN)

# Two processes in parallel: the seed sweep + determinism check, and the fault sweeps.
scenarios: $(SCN_RUN)
	@bash tests/scenarios/run.sh $(SCN_RUN) $(SCN_SEEDS) "$(SCN_SWEEP)" $(SCN_FILES)

scenario-sweep: $(SCN_RUN)
	@$(SCN_RUN) -S all -K tests/scenarios/sweep-known.txt $(SCN_SWEEP)

soak: $(SCN_RUN)
	@$(SCN_RUN) -s $${SEED:-1000} -n $(SEEDS) $(SCN_FILES)

scenarios-valgrind: $(SCN_RUN)
	@$(SCN_VG) $(SCN_RUN) -n 3 $(SCN_FILES)

CHECK_STEPS += scenarios scenarios-valgrind
