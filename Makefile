# SPDX-License-Identifier: GPL-2.0
#
# dstack-pod top-level build.
#
#   make            kernel modules (kmod/*.ko) and userspace (build/)
#   make check      host unit tests + VM selftests, ends with "N passed, M failed"
#   make demo       boot the test VM and walk through a node's life
#   make lint       checkpatch --strict and sparse on kmod/
#   make bench      benchmarks (ratios measured side by side)
#   make deps       install the Debian packages the above need (root)
#   make install    userspace into $(DESTDIR)$(PREFIX) (modules: DKMS)

KREL ?= $(shell uname -r)
KDIR ?= $(or $(wildcard /lib/modules/$(KREL)/build),$(shell ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1))

B := build
CC ?= cc
PKG_CONFIG ?= pkg-config

USER_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
	-Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Ikmod/include/uapi -Iuser/lib \
	$(shell $(PKG_CONFIG) --cflags libnl-genl-3.0) $(CFLAGS)
USER_LDLIBS := -Wl,--as-needed -lcrypto -ljson-c -lyaml -lnl-genl-3 -lnl-3 -lkmod -ldl
# The hook runs on every container start, and a dynamically linked one
# spends more time in the loader than in its own work (bench/hook.sh;
# Documentation/performance.rst): it is a static PIE, libc, libcrypto,
# json-c and libyaml included.  It needs no NSS and no dlopen() (the API
# server is dstack-podctl's job); glibc's notes about getaddrinfo and
# dlopen in libcrypto objects it never calls are filtered out of the link
# output (scripts/ld-static-notes.awk), nothing else.  HOOK_STATIC=0 links
# it like the other programs.
HOOK_STATIC ?= 1
ifeq ($(HOOK_STATIC),1)
HOOK_LDLIBS := -static-pie -lcrypto -ljson-c -lyaml
else
HOOK_LDLIBS := $(USER_LDLIBS)
endif
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

LIB_SRCS := $(wildcard user/lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
LIB_SAN_OBJS := $(LIB_SRCS:%.c=$(B)/san/%.o)
LIB := $(B)/libdstackpod.a
LIB_SAN := $(B)/san/libdstackpod.a

PODCTL_SRCS := $(wildcard user/podctl/*.c)
PODCTL := $(B)/bin/dstack-podctl

UNIT_SRCS := $(wildcard user/tests/*.c)
UNIT_BINS := $(UNIT_SRCS:user/tests/%.c=$(B)/tests/%)

SELFTEST_SRCS := $(wildcard selftests/*.c)
SELFTEST_COMMON := $(wildcard selftests/common/*.c)
SELFTEST_BINS := $(SELFTEST_SRCS:selftests/%.c=$(B)/selftests/%)

HOOK_SRCS := $(wildcard user/hook/*.c)
HOOK := $(B)/bin/dstack-pod-hook

PROGS := $(PODCTL) $(HOOK)

.PHONY: all modules user selftests-build check unit vmtest lint demo bench bench-short fuzz deps clean dkms-check vm-prepare install
.DEFAULT_GOAL := all

all: modules user

modules:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || { echo "no kernel build dir: install linux-headers or set KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

user: $(PROGS) $(LIB)

$(B)/%.o: %.c $(wildcard user/lib/*.h) kmod/include/uapi/linux/dstack_pod.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -c -o $@ $<

$(B)/san/%.o: %.c $(wildcard user/lib/*.h) kmod/include/uapi/linux/dstack_pod.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) $(SAN) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(LIB_SAN): $(LIB_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(PODCTL): $(PODCTL_SRCS:%.c=$(B)/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $^ $(USER_LDLIBS)

# The OCI runtime hook (Documentation/kubernetes.rst).
$(HOOK): $(HOOK_SRCS:%.c=$(B)/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $^ $(HOOK_LDLIBS) 2>$@.ld; \
		st=$$?; awk -f scripts/ld-static-notes.awk $@.ld >&2; \
		rm -f $@.ld; exit $$st

# Host unit tests run under ASan/UBSan.
$(B)/tests/%: user/tests/%.c $(LIB_SAN) $(wildcard user/tests/*.h) $(PODCTL_SRCS)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) $(SAN) -Iuser/tests -o $@ $< $(LIB_SAN) $(USER_LDLIBS)

# VM selftests run in the guest (host root over 9p, so dynamic linking works).
$(B)/selftests/%: selftests/%.c $(SELFTEST_COMMON) $(wildcard selftests/common/*.h) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -Iselftests/common -Iuser/tests -pthread -o $@ $< $(SELFTEST_COMMON) $(LIB) $(USER_LDLIBS)

# A static 32-bit program for the compat_ioctl path (gcc-multilib).
$(B)/selftests/compat32: selftests/compat/compat32.c kmod/include/uapi/linux/dstack_pod.h user/tests/tap.h
	@mkdir -p $(dir $@)
	$(CC) -m32 -static -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror \
		-Ikmod/include/uapi -Iuser/tests -o $@ $<

selftests-build: $(SELFTEST_BINS) $(B)/selftests/compat32

deps:
	@./scripts/install-deps

vm-prepare: deps
	@KDIR=$(KDIR) ./selftests/vm/prepare

unit: $(UNIT_BINS)
	@./scripts/run-tests unit $(UNIT_BINS)

vmtest: all selftests-build vm-prepare
	@./scripts/run-tests vm

check: deps
	@$(MAKE) --no-print-directory all selftests-build $(UNIT_BINS)
	@KDIR=$(KDIR) ./selftests/vm/prepare
	@./scripts/run-tests all $(UNIT_BINS)

demo: deps
	@$(MAKE) --no-print-directory all
	@KDIR=$(KDIR) ./selftests/vm/prepare
	@./selftests/vm/run --no-unload --timeout 300 -- ./scripts/demo.sh

lint:
	@./scripts/lint "$(KDIR)"
	@./scripts/check-nlspec

# Benchmarks, not tests: every bench/*.sh once, one table of targets,
# medians, spreads and verdicts (build/bench/report.md and .json;
# Documentation/performance.rst).  bench-short: a few iterations each, nothing
# judged (what .ci/run runs so the benchmarks keep working).
bench: deps
	@KDIR=$(KDIR) ./bench/report

bench-short: deps
	@KDIR=$(KDIR) ./bench/report --short

fuzz:
	@./scripts/fuzz

dkms-check:
	@KDIR=$(KDIR) ./scripts/dkms-check

# Userspace for a guest image; the modules install through DKMS (dkms.conf).
PREFIX ?= /usr
install: $(PODCTL) $(HOOK)
	install -D -m 0755 $(PODCTL) $(DESTDIR)$(PREFIX)/sbin/dstack-podctl
	install -D -m 0755 $(HOOK) $(DESTDIR)$(PREFIX)/libexec/dstack-pod/dstack-pod-hook
	install -D -m 0755 deploy/containerd/make-base-spec.sh $(DESTDIR)$(PREFIX)/libexec/dstack-pod/make-base-spec.sh
	install -D -m 0644 deploy/hook.conf $(DESTDIR)/etc/dstack-pod/hook.conf.example
	install -D -m 0644 deploy/containerd/hook-dstack-pod.conf $(DESTDIR)/etc/dstack-pod/hook-dstack-pod.conf.example
	install -D -m 0644 deploy/containerd/config.toml $(DESTDIR)$(PREFIX)/share/dstack-pod/containerd/config.toml
	install -D -m 0644 deploy/cdi/dstack-pod.json $(DESTDIR)$(PREFIX)/share/dstack-pod/cdi/dstack-pod.json
	install -D -m 0644 deploy/crio/dstack-pod.json $(DESTDIR)$(PREFIX)/share/dstack-pod/crio/dstack-pod.json

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null
	rm -rf $(B)

# dstack-pod-qgs-sim: a simulated Intel QGS, development and tests only
# (Documentation/quotes.rst).  test_qgs runs it on the host.
QGS_SIM := $(B)/bin/dstack-pod-qgs-sim
user: $(QGS_SIM)
$(QGS_SIM): $(wildcard user/qgs-sim/*.c) $(wildcard user/lib/*.h) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $(filter %.c,$^) $(LIB) $(USER_LDLIBS)
$(B)/tests/test_qgs: $(QGS_SIM)
