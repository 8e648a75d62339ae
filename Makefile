# SPDX-License-Identifier: MIT
# islo-net: one non-recursive Makefile.  `make V=1` shows the commands.
#
#   make            build ./islo-net (fetches lwIP and BearSSL from Debian's
#                   source packages: third_party/)
#   make check      install what is missing, build, run every test
#   make unit       build the unit-test runner only
#   make fuzz       build and run the libFuzzer targets (clang)
#   make lint       cppcheck + clang-tidy
#   make format     clang-format the sources
#   make install    PREFIX=/usr/local DESTDIR=

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
BIN     ?= islo-net

Q := @
ifeq ($(V),1)
Q :=
endif

PKGS    := yaml-0.1 slirp libcrypto libpsl libnghttp2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter -Wvla
BASEFLAGS := -std=gnu11 -O2 -g -D_GNU_SOURCE -fno-strict-aliasing \
           -fstack-protector-strong -D_FORTIFY_SOURCE=2 $(EXTRA_CFLAGS)

.PHONY: all check check-asan unit deps test fuzz lint format install clean distclean bench
all: $(BIN)

# lwIP and BearSSL: versions, fetch, patches, port, libraries
include third_party/build.mk

CFLAGS_ISLO := $(BASEFLAGS) $(WARN) -Isrc $(LWIP_INC) $(BEAR_INC) $(PKG_CFLAGS) -MMD -MP
LDFLAGS ?=
LDLIBS  := $(PKG_LIBS) $(EXTRA_LDLIBS)

SRCS    := $(filter-out src/main.c,$(wildcard src/*.c))
OBJS    := $(SRCS:src/%.c=$(BUILD)/src/%.o)
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%.o)

$(BUILD)/src/%.o: src/%.c $(STAMPS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ISLO) -c -o $@ $<

$(BUILD)/unit/%.o: tests/unit/%.c $(STAMPS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ISLO) -Itests/unit -c -o $@ $<

$(BUILD)/libislo.a: $(OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(BUILD)/src/main.o $(BUILD)/libislo.a $(BUILD)/liblwip.a $(BUILD)/libbearssl.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# a group: liblwip.a calls back into libislo.a (sys_now(), the routing hook)
$(BUILD)/unit-tests: $(UNIT_OBJS) $(BUILD)/libislo.a $(BUILD)/liblwip.a $(BUILD)/libbearssl.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(UNIT_OBJS) -Wl,--start-group $(BUILD)/libislo.a \
		$(BUILD)/liblwip.a $(BUILD)/libbearssl.a -Wl,--end-group $(LDLIBS)

unit: $(BUILD)/unit-tests

deps:
	$(Q)scripts/install-deps.sh

# The README's test command.  Installs what is missing (as root), builds,
# then runs unit, corpus-replay and end-to-end tests under pytest.
check: deps
	$(Q)$(MAKE) --no-print-directory all unit
	$(Q)scripts/run-tests.sh

test: all unit
	$(Q)scripts/run-tests.sh

# The same tests against a build with AddressSanitizer, UBSan and
# LeakSanitizer (build-asan/).
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
check-asan: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan BIN=build-asan/islo-net \
		EXTRA_CFLAGS="$(ASAN_FLAGS)" EXTRA_LDLIBS="$(ASAN_FLAGS)" all unit
	$(Q)ISLO_BIN=$(CURDIR)/build-asan/islo-net ISLO_UNIT=$(CURDIR)/build-asan/unit-tests \
		UBSAN_OPTIONS=print_stacktrace=1 scripts/run-tests.sh

# What a packager expects (README.md, "What `make install` installs"): the
# binary, the example profiles and their JSON Schema, islo-net(1) and
# islo-net-profile(5), bash completion, and the unit for `islo-net serve`
# (its ExecStart= names $(PREFIX)/bin, the path without DESTDIR).
MANDIR        ?= $(PREFIX)/share/man
BASHCOMPDIR   ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system

install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/islo-net
	install -d $(DESTDIR)$(PREFIX)/share/islo-net/profiles
	install -m 0644 profiles/*.yaml $(DESTDIR)$(PREFIX)/share/islo-net/profiles/
	install -D -m 0644 schema/profile.schema.json \
		$(DESTDIR)$(PREFIX)/share/islo-net/schema/profile.schema.json
	install -D -m 0644 man/islo-net.1 $(DESTDIR)$(MANDIR)/man1/islo-net.1
	install -D -m 0644 man/islo-net-profile.5 $(DESTDIR)$(MANDIR)/man5/islo-net-profile.5
	install -D -m 0644 contrib/bash-completion/islo-net \
		$(DESTDIR)$(BASHCOMPDIR)/islo-net
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|@BINDIR@|$(PREFIX)/bin|g' contrib/systemd/islo-net.service.in \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/islo-net.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/islo-net.service

# Side by side with veth, libslirp, pasta and slirp4netns (bench/README.md).
# About 16 minutes; BENCH_QUICK=1 for about 2; BENCH_ARGS= passes options
# to bench/run.py (e.g. BENCH_ARGS="--modes islo-gw,pasta --rounds 5").
# BASE=<git revision> (e.g. HEAD~1) also builds islo-net as of that
# revision (bench/build-base.sh) and runs islo-net's modes with both
# binaries in the same rounds, then a table of both and their ratios.
BASE_BIN := $(CURDIR)/$(BUILD)/bench/base/islo-net
bench: $(BIN)
	@mkdir -p $(BUILD)/bench
	@$(if $(Q),echo "  CC      bench/tcp_rr.c")
	$(Q)$(CC) -O2 -Wall -Wextra -o $(BUILD)/bench/tcp_rr bench/tcp_rr.c
	$(if $(BASE),$(Q)CC="$(CC)" EXTRA_CFLAGS="$(EXTRA_CFLAGS)" EXTRA_LDLIBS="$(EXTRA_LDLIBS)" \
		bench/build-base.sh "$(BASE)" $(BASE_BIN))
	$(Q)python3 bench/run.py $(if $(filter 1,$(BENCH_QUICK)),--quick) \
		--islo $(CURDIR)/$(BIN) --tcp-rr $(CURDIR)/$(BUILD)/bench/tcp_rr \
		$(if $(BASE),--base $(BASE_BIN)) $(BENCH_ARGS)

# Each libFuzzer target for FUZZ_SECONDS (fuzz/build.sh; FUZZ_TARGETS=
# picks some, FUZZ_LEAKS=1 turns fuzz_frames' leak check on).
FUZZ_SECONDS ?= 60
fuzz: $(BUILD)/liblwip.a $(BUILD)/libbearssl.a
	$(Q)fuzz/build.sh fuzz $(FUZZ_SECONDS)

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c tests/unit/*.h

lint:
	cppcheck --quiet --enable=warning,performance,portability --inline-suppr \
		--error-exitcode=1 -D_GNU_SOURCE -Isrc src/
	@# Preprocessor flags only (no -MMD: it would write .d files). One file
	@# per run: clang-tidy 14 keeps checker state across translation units,
	@# so in a multi-file run every va_start after the first file goes
	@# unseen (a false clang-analyzer-valist.Uninitialized).
	$(Q)fail=0; for f in src/*.c; do \
		clang-tidy --quiet $$f -- -std=gnu11 -D_GNU_SOURCE -Isrc $(LWIP_INC) $(BEAR_INC) \
			$(PKG_CFLAGS) || fail=1; \
	done; exit $$fail

clean:
	rm -rf build build-asan islo-net

distclean: clean
	rm -rf deps

-include $(wildcard $(BUILD)/*/*.d $(BUILD)/lwip/*/*.d $(BUILD)/lwip/*/*/*.d $(BUILD)/lwip/*/*/*/*.d)
