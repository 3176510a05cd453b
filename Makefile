# SPDX-License-Identifier: GPL-2.0-only
# sluice - one entry point.  `make check` runs every test gate; `make help` lists targets.

PREFIX  ?= /usr/local
DESTDIR ?=
B       := build

VERSION := 0.2.0
CC      ?= cc
PKGS    := lttng-ust-ctl lttng-ust liburcu liburcu-cds cmocka
WARN    := -Wall -Wextra -Werror
CSTD    := -std=gnu11 -D_GNU_SOURCE
OPT     ?= -O2 -g
# VERSION: what --version prints, the package carries and the man page names (one place).
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) -DSLUICE_VERSION='"$(VERSION)"' $(PKG_CFLAGS) $(CFLAGS)

# Include flags per layer, chosen by the folder of the source file: a layer sees its own
# headers and those of the layers it builds on, never one above, so a core file that
# includes an adapter or daemon header does not compile.  A new folder must be listed.
INC.core            := -Icore
INC.adapters/sim    := -Icore -Iadapters/sim
INC.adapters/posix  := -Icore -Iadapters/posix
INC.adapters/ustctl := -Icore -Iadapters/posix -Iadapters/ustctl
INC.daemon          := -Icore -Iadapters/posix -Iadapters/ustctl -Idaemon
INC_TESTS           := -Icore -Iadapters/sim -Iadapters/posix -Iadapters/ustctl -Idaemon \
		       -Itests/support
INC.tests/unit      := $(INC_TESTS)
INC.tests/support   := $(INC_TESTS)
INC.tests/scenarios := $(INC_TESTS)
INC.tests/fuzz      := $(INC_TESTS)
inc = $(or $(INC.$(patsubst %/,%,$(dir $(1)))),$(error $(1): no include flags for its folder))

# The library flags come from pkg-config, which can only answer once the packages are
# installed.  $(B)/config.mk records them; its rule first runs `deps` (which installs the
# packages when root), and make re-reads the Makefile once it is made, so the very first
# `make demo` or `make check` on a new machine builds with the right flags.  Goals that build
# nothing (clean, help) and `deps` itself do not need it.
CONFIG_MK := $(B)/config.mk
ifneq ($(filter-out clean help deps,$(or $(MAKECMDGOALS),all)),)
include $(CONFIG_MK)
endif
$(CONFIG_MK): Makefile ci/install-deps.sh
	@$(MAKE) --no-print-directory deps
	@mkdir -p $(dir $@)
	@set -e; { \
		echo "PKG_CFLAGS  := $$(pkg-config --cflags $(PKGS))"; \
		echo "LIBS_CORE   := $$(pkg-config --libs liburcu-cds liburcu) -lpthread"; \
		echo "LIBS_USTCTL := $$(pkg-config --libs lttng-ust-ctl)"; \
		echo "LIBS_UST    := $$(pkg-config --libs lttng-ust)"; \
		echo "LIBS_CMOCKA := $$(pkg-config --libs cmocka)"; \
		echo "URCU_CFLAGS := $$(pkg-config --cflags liburcu liburcu-cds)"; \
	} >$@.tmp
	@mv $@.tmp $@

CORE_SRC   := $(sort $(wildcard core/*.c))
SIM_SRC    := $(sort $(wildcard adapters/sim/*.c))
POSIX_SRC  := $(sort $(wildcard adapters/posix/*.c))
USTCTL_SRC := $(sort $(wildcard adapters/ustctl/*.c))
# daemon/main.c holds main(); everything else in daemon/ is unit-testable.
DAEMON_SRC := $(filter-out daemon/main.c,$(sort $(wildcard daemon/*.c)))
# tests/support: helpers shared by tests (capture parser, fixtures), not tests themselves.
SUPPORT_SRC := $(sort $(wildcard tests/support/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN   := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
# test_ustctl*: the only unit tests that load liblttng-ust-ctl (production adapter).
USTCTL_TEST_BIN := $(filter $(B)/tests/test_ustctl%,$(UNIT_BIN))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

.PHONY: all deps check unit valgrind coverage e2e demo clean install help deb
.DEFAULT_GOAL := all
# keep intermediate objects of test binaries (no rebuild on every make)
.SECONDARY:

DAEMON   := $(B)/sluice-consumerd
E2E_APP  := $(B)/sluice-app
# The app that corrupts its own ring buffers (issue 11); run.sh finds it beside E2E_APP.
E2E_HOSTILE := $(B)/sluice-hostile

all: deps $(B)/libsluice-core.a $(B)/libsluice-sim.a $(UNIT_BIN) $(DAEMON) $(E2E_APP) \
     $(E2E_HOSTILE)

help:
	@echo "make            build everything under $(B)/"
	@echo "make demo       trace the sample app through lttng-sessiond + sluice-consumerd"
	@echo "make check      unit tests, valgrind gate, e2e tests, coverage gate"
	@echo "make e2e        only the e2e tests (SCENARIOS='per_uid clear' to pick)"
	@echo "make coverage   line coverage of core/ and adapters/sim/ (gate: $(COVERAGE_MIN)%)"
	@echo "make install    install (PREFIX=$(PREFIX) DESTDIR=$(DESTDIR))"
	@echo "make deb        build $(DEB)"
	@echo "make bench      stock lttng-consumerd vs sluice-consumerd on this machine"
	@echo "make clean      remove $(B)/"

# Missing packages: install them when root, otherwise say the one command to run.
deps:
	@bash ci/install-deps.sh --quiet

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(call inc,$<) -MMD -MP -c $< -o $@

# Archives are made afresh, so a source moved to another folder leaves no stale member.
$(B)/libsluice-core.a: $(call obj,$(CORE_SRC))
	@mkdir -p $(dir $@); rm -f $@
	$(AR) rcs $@ $^

$(B)/libsluice-sim.a: $(call obj,$(SIM_SRC))
	@mkdir -p $(dir $@); rm -f $@
	$(AR) rcs $@ $^

$(B)/libsluice-posix.a: $(call obj,$(POSIX_SRC))
	@mkdir -p $(dir $@); rm -f $@
	$(AR) rcs $@ $^

$(B)/libsluice-daemon.a: $(call obj,$(DAEMON_SRC)) $(B)/obj/empty.o
	@mkdir -p $(dir $@); rm -f $@
	$(AR) rcs $@ $^

$(B)/libsluice-ustctl.a: $(call obj,$(USTCTL_SRC)) $(B)/obj/empty.o
	@mkdir -p $(dir $@); rm -f $@
	$(AR) rcs $@ $^

$(B)/libsluice-testsupport.a: $(call obj,$(SUPPORT_SRC)) $(B)/obj/empty.o
	@mkdir -p $(dir $@); rm -f $@
	$(AR) rcs $@ $^

$(B)/obj/empty.o:
	@mkdir -p $(dir $@)
	echo 'typedef int sluice_empty_unit;' | $(CC) $(CFLAGS_ALL) -x c -c - -o $@

# Link order: each archive before the ones it uses (ustctl and daemon use posix).
TEST_LIBS = $(B)/libsluice-testsupport.a $(B)/libsluice-sim.a $(B)/libsluice-daemon.a \
	    $(B)/libsluice-posix.a $(B)/libsluice-core.a

$(USTCTL_TEST_BIN): $(B)/tests/%: $(B)/obj/tests/unit/%.o $(TEST_LIBS) $(B)/libsluice-ustctl.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(B)/libsluice-ustctl.a $(TEST_LIBS) $(LIBS_CMOCKA) \
		$(LIBS_USTCTL) $(LIBS_CORE) $(LDFLAGS)

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(TEST_LIBS) $(LIBS_CMOCKA) $(LIBS_CORE) $(LDFLAGS)

# ---- the daemon and the traced app of the e2e tests / demo ----------------

$(DAEMON): $(B)/obj/daemon/main.o $(B)/libsluice-daemon.a $(B)/libsluice-ustctl.a \
	   $(B)/libsluice-posix.a $(B)/libsluice-core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $^ -o $@ $(LIBS_USTCTL) $(LIBS_CORE) $(LDFLAGS)

$(E2E_APP): tests/e2e/app/sluice_app.c tests/e2e/app/sluice_tp.c tests/e2e/app/sluice_tp.h
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -g -Itests/e2e/app tests/e2e/app/sluice_app.c \
		tests/e2e/app/sluice_tp.c -o $@ $(LIBS_UST) -lpthread

$(E2E_HOSTILE): tests/e2e/app/sluice_hostile.c tests/e2e/app/sluice_tp.c tests/e2e/app/sluice_tp.h
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -g -Itests/e2e/app tests/e2e/app/sluice_hostile.c \
		tests/e2e/app/sluice_tp.c -o $@ $(LIBS_UST) -lpthread

# ---- test gates ----------------------------------------------------------

unit: all
	@bash ci/run-unit.sh $(UNIT_BIN)

valgrind: all
	@bash ci/run-unit.sh --valgrind $(UNIT_BIN)

# End-to-end: the real lttng-sessiond spawning our daemon (SCENARIOS= picks some).
e2e: all
	@bash tests/e2e/run.sh $(DAEMON) $(E2E_APP) $(SCENARIOS)

# The README's first command: trace the sample app through sluice and show the result.
demo: all
	@bash tests/e2e/demo.sh $(DAEMON) $(E2E_APP) $(B)/demo-trace

COVERAGE_MIN ?= 90
coverage: deps
	@bash ci/coverage.sh $(COVERAGE_MIN)

check: all
	@echo "== check: unit tests"
	@bash ci/run-unit.sh $(UNIT_BIN)
	@echo "== check: unit tests under valgrind"
	@bash ci/run-unit.sh --valgrind $(UNIT_BIN)
	@$(foreach step,$(CHECK_STEPS),echo "== check: $(step)" && $(MAKE) --no-print-directory $(step) &&) true
	@echo "== check: end-to-end with the real lttng-sessiond"
	@bash tests/e2e/run.sh $(DAEMON) $(E2E_APP)
	@echo "== check: man page agrees with --help and --version"
	@bash ci/check-manpage.sh $(DAEMON) doc/sluice-consumerd.8
	@echo "== check: Debian package: build, lintian, install, a session through it"
	@$(MAKE) --no-print-directory deb
	@bash tests/e2e/package.sh $(DEB) $(E2E_APP)
	@echo "== check: coverage gate"
	@bash ci/coverage.sh $(COVERAGE_MIN)
	@echo "== check: all gates passed"

# ---- install -------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/doc/sluice
	install -m 0755 $(DAEMON) $(DESTDIR)$(PREFIX)/bin/sluice-consumerd
	install -m 0644 README.md LICENSE $(DESTDIR)$(PREFIX)/share/doc/sluice/

# ---- Debian package (packaging/README.md) ---------------------------------

DEB := $(B)/sluice-consumerd_$(VERSION)_amd64.deb

deb: $(DEB)

$(DEB): $(DAEMON) doc/sluice-consumerd.8 README.md LICENSE $(wildcard packaging/*)
	@bash packaging/build-deb.sh $(VERSION) $(DAEMON) $@

clean:
	rm -rf $(B)

# Test suites with their own build rules (scenario runner, fuzzer) plug in here; each
# rules.mk may add to CHECK_STEPS (targets run by `make check` after the unit tests).
-include $(sort $(wildcard tests/*/rules.mk))

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
