# SPDX-License-Identifier: GPL-2.0-only
# make bench: the stock lttng-consumerd and sluice-consumerd side by side on this machine
# (tests/bench/README.md), included by the top Makefile.
#   make bench        every scenario x output x app threads, A B B A x BENCH_REPS, then the
#                     streaming part (one lttng-relayd on loopback); tables on stdout,
#                     $(BENCH_OUT)/bench.tsv, one PNG chart per scenario
#   make bench BENCH=relay   only the streaming part (BENCH=local: only the local outputs)
#   make bench-smoke  the `make check` step: one small pair (stock, sluice), must pass
# BENCH, BENCH_REPS, BENCH_EVENTS, BENCH_SCENARIOS, BENCH_OUTPUTS, BENCH_THREADS,
# BENCH_RELAY_SCENARIOS, BENCH_RELAY_THREADS, BENCH_RELAY_EVENTS override (README).

BENCH_APP := $(B)/sluice-bench-app
BENCH_OUT := $(B)/bench

.PHONY: bench bench-smoke

$(BENCH_APP): tests/bench/bench_app.c tests/bench/bench_tp.c tests/bench/bench_tp.h
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -g -Itests/bench tests/bench/bench_app.c \
		tests/bench/bench_tp.c -o $@ $(LIBS_UST) -lpthread $(LDFLAGS)

all: $(BENCH_APP)

bench: deps $(DAEMON) $(BENCH_APP)
	@bash tests/bench/run.sh --out $(BENCH_OUT) $(DAEMON) $(BENCH_APP)

bench-smoke: deps $(DAEMON) $(BENCH_APP)
	@bash tests/bench/run.sh --smoke --out $(BENCH_OUT)/smoke $(DAEMON) $(BENCH_APP)

CHECK_STEPS += bench-smoke
