# SPDX-License-Identifier: GPL-2.0-only
# Codec + dispatch fuzzer (tests/fuzz/README.md), included by the top Makefile.
# Built with ASan + UBSan in its own tree $(B)/fuzz: every source it needs is
# compiled here with the sanitizer flags (the plain libs are not reused).
#
#   make fuzz        >= 1,000,000 mutated messages (N=, SEED= override; random seed by default)
#   make fuzz-short  the `make check` step: FUZZ_SHORT_N mutated messages, fixed seed
#                    unless SEED= is given
# Strict: the core findings README.md lists as known are fixed, so none is
# tolerated (fuzz_dispatch's --tolerate options stay for bisecting old cores).

FUZZ_B        := $(B)/fuzz
FUZZ_BIN      := $(FUZZ_B)/fuzz_dispatch
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS    = $(CSTD) $(WARN) -O1 -g $(FUZZ_SAN) $(URCU_CFLAGS)
FUZZ_SRC      := $(CORE_SRC) $(SIM_SRC) adapters/posix/io_posix.c tests/support/capture.c \
		 tests/support/fake_sessiond.c tests/support/invariants.c tests/support/test_fds.c \
		 tests/fuzz/fuzz_dispatch.c
FUZZ_OBJ      := $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(FUZZ_SRC))
FUZZ_SHORT_N  ?= 40000
FUZZ_SHORT_SEED ?= 20261126
FUZZ_FLAGS     =
FUZZ_ENV       = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 FUZZ_OUT=$(FUZZ_B)

.PHONY: fuzz fuzz-short fuzz-build
CHECK_STEPS += fuzz-short

$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) $(call inc,$<) -MMD -MP -c $< -o $@

$(FUZZ_BIN): $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) $^ -o $@ $(LIBS_CORE) $(LDFLAGS)

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	$(FUZZ_ENV) $(FUZZ_BIN) $(FUZZ_FLAGS) --n $(or $(N),1000000) $(if $(SEED),--seed $(SEED))

fuzz-short: $(FUZZ_BIN)
	$(FUZZ_ENV) $(FUZZ_BIN) $(FUZZ_FLAGS) --n $(or $(N),$(FUZZ_SHORT_N)) \
		--seed $(or $(SEED),$(FUZZ_SHORT_SEED))

-include $(shell find $(FUZZ_B)/obj -name '*.d' 2>/dev/null)

# ---- relay-reply fuzzer (tests/fuzz/README.md "fuzz_relayd") -----------------
#   make fuzz-relay        N sessions (default 1,000,000; N=, SEED=, TIME=<seconds> override)
#   make fuzz-relay-short  the `make check` step: FUZZ_RELAY_SHORT_N sessions, fixed seed

FUZZ_RELAY_BIN  := $(FUZZ_B)/fuzz_relayd
FUZZ_RELAY_SRC  := $(filter-out tests/fuzz/fuzz_dispatch.c,$(FUZZ_SRC)) tests/fuzz/fuzz_relayd.c
FUZZ_RELAY_OBJ  := $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(FUZZ_RELAY_SRC))
FUZZ_RELAY_SHORT_N ?= 1500
FUZZ_RELAY_SHORT_SEED ?= 20261127

.PHONY: fuzz-relay fuzz-relay-short
CHECK_STEPS += fuzz-relay-short

$(FUZZ_RELAY_BIN): $(FUZZ_RELAY_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) $^ -o $@ $(LIBS_CORE) $(LDFLAGS)

fuzz-build: $(FUZZ_RELAY_BIN)

fuzz-relay: $(FUZZ_RELAY_BIN)
	$(FUZZ_ENV) $(FUZZ_RELAY_BIN) --n $(or $(N),1000000) $(if $(SEED),--seed $(SEED)) \
		$(if $(TIME),--time $(TIME))

fuzz-relay-short: $(FUZZ_RELAY_BIN)
	$(FUZZ_ENV) $(FUZZ_RELAY_BIN) --n $(or $(N),$(FUZZ_RELAY_SHORT_N)) \
		--seed $(or $(SEED),$(FUZZ_RELAY_SHORT_SEED))
