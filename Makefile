# cot -- make: build/cotdev | make run: demo app on :8080 | make test: everything
#
# `make run` and `make test` first install what is missing (Debian packages
# with apt-get, browser-test tooling with npm), so both work on a fresh
# Debian 12 machine.

CC      ?= gcc
CFLAGS  ?= -O2 -g
WARN     = -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE
COT_HOME = $(CURDIR)
DEFS     = -DCOT_HOME='"$(COT_HOME)"'
SAN      = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

TCC_LIB  = /usr/lib/x86_64-linux-gnu/libtcc.a
LIBS     = -lmicrohttpd -ljansson -lpthread -ldw -lz
DEV_LIBS = $(TCC_LIB) -linotifytools -ldl -lm

# The one source list: every runtime/*.c is the runtime (linked into cotdev,
# the unit tests and each export) but app_main.c, the export's main; every
# devserver/*.c is the dev tool. A new file needs no list entry.
RUNTIME   = $(sort $(filter-out runtime/app_main.c,$(wildcard runtime/*.c)))
DEVSERVER = $(sort $(wildcard devserver/*.c))
HEADERS  = $(wildcard include/*.h runtime/*.h devserver/*.h)

# Debian packages the build and the tests need.
# Debian packages `make run` needs; TEST_PACKAGES are added for `make test`.
PACKAGES = gcc make pkg-config libtcc-dev tcc libmicrohttpd-dev \
           libinotifytools0-dev libjansson-dev libsqlite3-dev libdw-dev zlib1g-dev
TEST_PACKAGES = libcurl4-openssl-dev curl

# Conformance data from other projects (mustache spec, sqldef cases) lives
# beside the checkout in ../shared/spec and is read from there, never copied
# in; a clone elsewhere finds it at /work/shared/spec, or set SPEC_DIR.
SPEC_DIR ?= $(firstword $(wildcard $(CURDIR)/../shared/spec /work/shared/spec) \
                        $(CURDIR)/../shared/spec)

# COMMAND:PACKAGE pairs the tests need, installed only when COMMAND is not on PATH.
TEST_COMMAND_PACKAGES =

# Every source compiles once per flavour, into build/opt (cotdev, -O2) or
# build/san (ASan + UBSan: cotdev-san and every unit test, which link the same
# runtime objects instead of recompiling the runtime each). Rules that list
# objects as prerequisites use $$(RUNTIME_SAN): the mk/ files add to RUNTIME
# after a rule may have been read, so the list is expanded when it is needed.
opt_objs    = $(patsubst %.c,build/opt/%.o,$(1))
san_objs    = $(patsubst %.c,build/san/%.o,$(1))
RUNTIME_SAN = $(call san_objs,$(RUNTIME))

# The one recipe of a test program, built under ASan + UBSan: every .c and
# .o among its prerequisites (the test's own file first, so list it first),
# with runtime/ and tests/ on the include path; $(1) the libraries it links,
# $(2) extra compiler flags. A unit test of the runtime lists $$(RUNTIME_SAN)
# and links the objects every other test shares:
#   build/test_x: tests/test_x.c $$(RUNTIME_SAN) $(HEADERS) | build
#   	$(call unit_test,$(LIBS))
unit_test = $(CC) $(WARN) -O1 -g $(SAN) $(2) -Iruntime -Itests $(filter %.c %.o,$^) -o $@ $(1)
.SECONDEXPANSION:

# Each concern adds its sources, packages, test programs and test commands
# in mk/NAME.mk (PACKAGES += ..., TEST_BINS += ..., LIBS += ...; a source file
# needs no entry: RUNTIME and DEVSERVER above take every file in their directory;
# TEST_CMDS += prog@arg@arg -- '@' stands for a space inside one command).
.DEFAULT_GOAL := all
TEST_BINS =
TEST_CMDS =
BENCH_BINS =
include $(sort $(wildcard mk/*.mk))
# The lists above are whole; a repeat added by an mk/ file is dropped.
RUNTIME   := $(sort $(RUNTIME))
DEVSERVER := $(sort $(DEVSERVER))

.PHONY: all run test deps test-deps clean format bench
all: deps build/cotdev

# What every object is compiled with -- the flags, and the source and library
# lists baked into the export's code -- is kept in build/compile.flags,
# rewritten only when it changes; objects depend on it, so a new runtime
# file or library rebuilds them instead of leaving exports without it.
COMPILE_FLAGS = $(CC) $(WARN) $(CFLAGS) $(SAN) $(DEFS)
$(shell mkdir -p build; [ "$$(cat build/compile.flags 2>/dev/null)" = '$(subst ','"'"',$(COMPILE_FLAGS))' ] || \
        printf '%s\n' '$(subst ','"'"',$(COMPILE_FLAGS))' > build/compile.flags)

build/opt/%.o: %.c $(HEADERS) build/compile.flags
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(DEFS) -c $< -o $@

build/san/%.o: %.c $(HEADERS) build/compile.flags
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g $(SAN) $(DEFS) -c $< -o $@

build/cotdev: $(call opt_objs,$(RUNTIME) $(DEVSERVER)) | build
	$(CC) $(CFLAGS) $^ -o $@ $(LIBS) $(DEV_LIBS)

# The same program under AddressSanitizer and UBSan; make test runs the
# integration tests against it too.
build/cotdev-san: $(call san_objs,$(RUNTIME) $(DEVSERVER)) | build
	$(CC) -g $(SAN) $^ -o $@ $(LIBS) $(DEV_LIBS)

build:
	mkdir -p build

# ---- install -------------------------------------------------------------

# Installs only what is missing; apt-get update runs only when needed.
# $(call install_missing,PACKAGES,COMMAND:PACKAGE pairs): apt-get only what is
# missing; apt-get update only when something is.
define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	for cp in $(2); do \
	  command -v $${cp%%:*} >/dev/null 2>&1 || missing="$$missing $${cp##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

deps:
	$(call install_missing,$(PACKAGES),)

test-deps:
	$(call install_missing,$(PACKAGES) $(TEST_PACKAGES),$(TEST_COMMAND_PACKAGES))

# ---- run -----------------------------------------------------------------

run: deps build/cotdev
	@[ -d demo ] || ./build/cotdev new demo
	./build/cotdev run demo

# ---- tests ---------------------------------------------------------------

TEST_UNITS = build/test_router build/test_watcher build/test_compiler \
             build/test_reclaim build/test_error build/test_server build/test_file \
             build/test_format build/test_tcclines build/test_flags
TEST_INTEG = build/test_reload build/test_concurrency

build/test_router: tests/test_router.c $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS))

build/test_server: tests/test_server.c $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS))

build/test_error: tests/test_error.c $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS))

build/test_reclaim: tests/test_reclaim.c $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS))

build/test_watcher: tests/test_watcher.c $(call san_objs,devserver/watcher.c devserver/deps.c \
                    devserver/file.c runtime/apptree.c) $(HEADERS) | build
	$(call unit_test,-linotifytools)

build/test_flags: tests/test_flags.c $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS))

build/test_format: tests/test_format.c $(call san_objs,runtime/format.c) $(HEADERS) | build
	$(call unit_test,)

build/test_file: tests/test_file.c $(call san_objs,devserver/file.c) devserver/file.h | build
	$(call unit_test,)

# tcclines.c reads libtcc's internals (its line table): the test guards it.
build/test_tcclines: tests/test_tcclines.c $(call san_objs,devserver/tcclines.c) | build
	$(call unit_test,$(TCC_LIB) -ldl -lm)

COMPILER_SAN = $(call san_objs,devserver/compiler.c devserver/errline.c devserver/compiler_api.c \
               devserver/tcclines.c devserver/file.c \
               devserver/linkcheck.c devserver/libs.c devserver/ctoken.c devserver/hcache.c)
build/test_compiler: tests/test_compiler.c $(COMPILER_SAN) $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS) $(DEV_LIBS),$(DEFS))

build/test_reload: tests/test_reload.c tests/harness.c tests/harness.h | build
	$(call unit_test,-lcurl -ljansson -lpthread)

build/test_concurrency: tests/test_concurrency.c tests/harness.c tests/harness.h | build
	$(call unit_test,-lcurl -lpthread)

TEST_BINS += $(TEST_UNITS) $(TEST_INTEG)
TEST_CMDS := $(TEST_UNITS) build/test_reload@build/cotdev \
             build/test_reload@build/cotdev-san build/test_concurrency@build/cotdev-san \
             $(TEST_CMDS)

# Packages first, then every program in parallel (-j: one job per core), then
# the tests one at a time: they measure and they share the machine.
NPROC := $(shell nproc 2>/dev/null || echo 2)
test: test-deps
	@t0=$$(date +%s); \
	  $(MAKE) --no-print-directory -j$(NPROC) build/cotdev build/cotdev-san $(TEST_BINS) && \
	  echo "== build: $$(( $$(date +%s) - t0 )) s"
	@COT_HOME=$(COT_HOME) LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  ASAN_OPTIONS=fast_unwind_on_malloc=0 \
	  tests/run $(TEST_CMDS)

# ---- benchmarks ----------------------------------------------------------

build/bench_reload: tests/bench/bench_reload.c tests/harness.c tests/harness.h | build
	$(CC) $(WARN) -O2 -g tests/bench/bench_reload.c tests/harness.c -o $@ -lcurl -lpthread

bench: test-deps build/cotdev build/bench_reload $(BENCH_BINS)
	./build/bench_reload build/cotdev

format:
	$(call install_missing,,clang-format:clang-format)
	clang-format -i $(FORMAT_SRCS)

clean:
	rm -rf build

print-%:
	@echo $($*)
