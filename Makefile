# SPDX-License-Identifier: GPL-2.0
#
# dstack-pod top-level build.
#
#   make            kernel modules (kmod/*.ko) and userspace (build/)
#   make check      host unit tests + VM selftests, ends with "N passed, M failed"
#   make check-debug  every VM suite on a KASAN/lockdep/kmemleak debug kernel
#   make debug-kernel build that kernel and the modules against it
#   make demo       boot the test VM and walk through a node's life
#   make lint       checkpatch --strict and sparse on kmod/
#   make bench      benchmarks (ratios measured side by side)
#   make fuzz       libFuzzer on the userspace parsers
#   make fuzz-kernel  kfuzz, the kernel-surface fuzzer, in the test VM
#   make deps       install the Debian packages the above need (root)
#   make install    userspace into $(DESTDIR)$(PREFIX) (modules: DKMS)
#   make install-dev  static libraries, headers, pkg-config files
#   make deb        Debian packages into build/deb/ (debian/, scripts/deb)
#   make deb-check  build them and check contents, lintian, install, verify
#   make image-check  install them into bookworm/trixie roots and boot them (root)

KREL ?= $(shell uname -r)
# A kernel of the matrix fetched by scripts/kernels (make kernels) has its
# build directory in build/kernels/$(KREL)/kdir and, when the host's
# compiler cannot build for it, a chroot that `scripts/kernels run` enters.
# Then KREL is exported, so selftests/vm/prepare and run boot that kernel.
KMX := $(wildcard $(CURDIR)/build/kernels/$(KREL)/kdir)
KDIR ?= $(or $(wildcard /lib/modules/$(KREL)/build),$(if $(KMX),$(abspath $(shell cat $(KMX)))),$(if $(filter command line environment,$(origin KREL)),,$(shell ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1)))
KRUN := $(if $(KMX),./scripts/kernels run $(KREL))
ifneq ($(KMX),)
export KREL
endif

B := build
CC ?= cc
# The one version of dstack-pod: the programs (--version), the pkg-config
# files, the module (kmod/Kbuild reads it too), dkms.conf (#MODULE_VERSION#,
# filled in by dh_dkms and scripts/dkms-check); debian/changelog must agree
# (debian/rules refuses to build otherwise).
VERSION := $(shell cat VERSION)
PKG_CONFIG ?= pkg-config

# user/lib/<concern>/ (Documentation/design.rst).
LIB_HDRS := $(wildcard user/lib/*/*.h)

USER_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
	-Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Ikmod/include/uapi -Iuser/lib -DDSTACK_POD_VERSION='"$(VERSION)"' \
	$(shell $(PKG_CONFIG) --cflags libnl-genl-3.0) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS)
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

LIB_SRCS := $(wildcard user/lib/*/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
LIB_SAN_OBJS := $(LIB_SRCS:%.c=$(B)/san/%.o)
# All of user/lib in one archive, what the programs and tests link.
LIB := $(B)/libdstackpod.a
LIB_SAN := $(B)/san/libdstackpod.a
# One archive per concern, user/lib/<concern>/ (Documentation/design.rst):
# libdstackpod-common.a, -verify.a, -bundle.a, -node.a, -runtime.a.  A
# concern uses only those below it: verify only common; bundle verify and
# common; node and runtime common and verify (user/tests/test_libdeps.sh).
LIB_DIRS := common verify bundle node runtime
LIBS := $(LIB_DIRS:%=$(B)/libdstackpod-%.a)
define lib_concern
$(B)/libdstackpod-$(1).a: $$(patsubst %.c,$(B)/%.o,$$(wildcard user/lib/$(1)/*.c))
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach d,$(LIB_DIRS),$(eval $(call lib_concern,$(d))))

PODCTL_SRCS := $(wildcard user/podctl/*.c)
PODCTL := $(B)/bin/dstack-podctl

UNIT_SRCS := $(wildcard user/tests/*.c)
UNIT_BINS := $(UNIT_SRCS:user/tests/%.c=$(B)/tests/%)
# Unit tests that are scripts: they check what `make user` built.
UNIT_SCRIPTS := $(wildcard user/tests/test_*.sh)

SELFTEST_SRCS := $(wildcard selftests/*.c)
SELFTEST_COMMON := $(wildcard selftests/common/*.c)
SELFTEST_BINS := $(SELFTEST_SRCS:selftests/%.c=$(B)/selftests/%)

HOOK_SRCS := $(wildcard user/hook/*.c)
HOOK := $(B)/bin/dstack-pod-hook

# dstack-pod-agent, dstack's guest API for Pods (Documentation/agent.rst).
AGENT_SRCS := $(wildcard user/agent/*.c)
AGENT := $(B)/bin/dstack-pod-agent

# dstack-pod-verify: dstack-podctl's offline verifier commands alone, the
# same objects (verify_quote.o, verify_bundle.o) on libdstackpod-verify,
# -bundle and -common: libcrypto and json-c, no libnl, libkmod or libyaml
# (user/tests/test_verify_cmd.sh checks it).
VERIFY_SRCS := $(wildcard user/pod-verify/*.c)
VERIFY_CMD := $(B)/bin/dstack-pod-verify
VERIFY_OBJS := $(VERIFY_SRCS:%.c=$(B)/%.o) $(B)/user/podctl/verify_quote.o \
	$(B)/user/podctl/verify_bundle.o $(B)/user/podctl/dispatch.o
VERIFY_LIBS := $(B)/libdstackpod-bundle.a $(B)/libdstackpod-verify.a \
	$(B)/libdstackpod-common.a

PROGS := $(PODCTL) $(HOOK) $(AGENT) $(VERIFY_CMD)

.PHONY: all modules user kernels matrix matrix-build matrix-ci selftests-build check unit vmtest lint demo bench bench-short fuzz deps cri-debs clean dkms-check vm-prepare install install-dev deb deb-check image-check
.PHONY: check-debug debug-kernel npm-sdk
.DEFAULT_GOAL := all

all: modules user

modules:
	@test -n "$(KDIR)" && { test -n "$(KRUN)" || test -d "$(KDIR)"; } || { echo "no kernel build dir for $(KREL): install linux-headers, set KDIR=, or fetch it (make kernels)" >&2; exit 1; }
	$(KRUN) $(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

user: $(PROGS) $(LIB) $(LIBS)

$(B)/%.o: %.c $(LIB_HDRS) kmod/include/uapi/linux/dstack_pod.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -c -o $@ $<

# DSTACK_POD_VERSION is used in dispatch.c only (--version).
$(B)/user/podctl/dispatch.o $(B)/san/user/podctl/dispatch.o: VERSION

$(B)/san/%.o: %.c $(LIB_HDRS) kmod/include/uapi/linux/dstack_pod.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) $(SAN) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIB_SAN): $(LIB_SAN_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $^

$(PODCTL): $(PODCTL_SRCS:%.c=$(B)/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $^ $(USER_LDLIBS)

$(VERIFY_CMD): $(VERIFY_OBJS) $(VERIFY_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -pthread -o $@ $^ -Wl,--as-needed -lcrypto -ljson-c -ldl

$(B)/user/pod-verify/%.o: user/pod-verify/%.c user/podctl/podctl.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -c -o $@ $<

$(AGENT): $(AGENT_SRCS:%.c=$(B)/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $^ $(USER_LDLIBS)

$(B)/user/agent/%.o: user/agent/%.c $(wildcard user/agent/*.h) $(LIB_HDRS) kmod/include/uapi/linux/dstack_pod.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -c -o $@ $<

# The OCI runtime hook (Documentation/kubernetes.rst).
$(HOOK): $(HOOK_SRCS:%.c=$(B)/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $^ $(HOOK_LDLIBS) 2>$@.ld; \
		st=$$?; awk -f scripts/ld-static-notes.awk $@.ld >&2; \
		rm -f $@.ld; exit $$st

# Host unit tests run under ASan/UBSan.
$(B)/tests/%: user/tests/%.c $(LIB_SAN) $(wildcard user/tests/*.h) $(PODCTL_SRCS) $(wildcard user/agent/*)
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

# trixie's containerd and the CRI api.proto for the cri-* VM suites and
# bench/cri.sh (private apt in build/apt-cri, unpacked in build/cri).
cri-debs: deps
	@./scripts/cri-debs

vm-prepare: deps
	@KDIR=$(KDIR) ./selftests/vm/prepare

unit: $(UNIT_BINS) user
	@./scripts/run-tests unit $(UNIT_BINS) $(UNIT_SCRIPTS)

# The dstack SDK for the agent suite (npm registry, into build/npm-sdk).  A
# failed install does not stop the other suites: the agent suite then fails.
npm-sdk:
	-@./scripts/npm-sdk

vmtest: all selftests-build vm-prepare npm-sdk cri-debs
	@./scripts/run-tests vm

check: deps
	@$(MAKE) --no-print-directory all selftests-build $(UNIT_BINS)
	@KDIR=$(KDIR) ./selftests/vm/prepare
	-@./scripts/npm-sdk
	@./scripts/cri-debs
	@./scripts/run-tests all $(UNIT_BINS) $(UNIT_SCRIPTS)

# The debug kernel (selftests/vm/debug.config) built from linux-source-6.1,
# cached under build/debug-kernel/, and kmod/ built against it.
debug-kernel: deps
	@./selftests/vm/debug-kernel

# Every VM suite on the debug kernel, twice (preempt=voluntary, =full).
check-debug: deps npm-sdk cri-debs
	@$(MAKE) --no-print-directory user selftests-build
	@KDIR=$(KDIR) ./selftests/vm/prepare
	@./scripts/check-debug

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

# Kernel matrix (Documentation/kubernetes.rst, "Tested kernels"):
# `make kernels` downloads and unpacks them (build/apt, build/kernels,
# build/chroots; root), `make matrix-build` builds the modules with W=1 and
# no warning allowed against each, `make matrix` also boots each one and
# runs the VM suites (MATRIX_FULL: kernels that run every suite, default
# the oldest and the newest; the others run MATRIX_SMOKE).  matrix-ci is
# .ci/run's part: build on every kernel, every suite (or those named in
# MATRIX_SUITES) on the newest only, since `make check` runs them on 6.1,
# core on the kernels in between.
kernels:
	@./scripts/kernels fetch

matrix-build: kernels
	@./scripts/matrix --build-only

matrix: kernels user selftests-build
	@./scripts/matrix

matrix-ci: kernels user selftests-build
	@MATRIX_FULL=$$(./scripts/kernels list | tail -n 1) ./scripts/matrix

dkms-check:
	@KDIR=$(KDIR) ./scripts/dkms-check

# dpkg-buildpackage -us -uc -b on a copy of the tree (build/deb/src/), the
# packages and lintian's report in build/deb/.  deb-check: DEB_CHECK_CHROOT=1
# adds dpkg -i / apt-get purge in a bookworm chroot (build/deb-chroot/),
# DEB_CHECK_DKMS=1 the DKMS build on installation there (scripts/deb-check).
deb:
	@./scripts/deb

deb-check: deb
	@./scripts/deb-check

# The booted-image test (root; scripts/boot-image, Documentation/
# setup-manifest.rst): the packages installed into a Debian root of each
# of IMAGE_SUITES, booted with systemd in the test VM, the failure matrix,
# the purge.  Prepares the test VM it needs (selftests/vm/prepare; for
# trixie, scripts/kernels fetch trixie and that kernel's VM).
IMAGE_SUITES ?= bookworm
image-check: deb user
	@st=0; for s in $(IMAGE_SUITES); do KDIR=$(KDIR) ./scripts/boot-image --suite $$s || st=1; done; exit $$st

# Userspace for a guest image; the modules install through DKMS (dkms.conf).
PREFIX ?= /usr
install: $(PODCTL) $(HOOK) $(AGENT) $(VERIFY_CMD)
	install -D -m 0755 $(PODCTL) $(DESTDIR)$(PREFIX)/sbin/dstack-podctl
	install -D -m 0755 $(VERIFY_CMD) $(DESTDIR)$(PREFIX)/bin/dstack-pod-verify
	install -D -m 0755 $(HOOK) $(DESTDIR)$(PREFIX)/libexec/dstack-pod/dstack-pod-hook
	install -D -m 0755 $(AGENT) $(DESTDIR)$(PREFIX)/sbin/dstack-pod-agent
	install -D -m 0644 deploy/systemd/dstack-pod-agent.service $(DESTDIR)/lib/systemd/system/dstack-pod-agent.service
	install -D -m 0644 -t $(DESTDIR)/lib/systemd/system deploy/systemd/dstack-pod-setup.service deploy/systemd/dstack-pod-fuse.service
	install -D -m 0644 deploy/systemd/kubelet.service.d/dstack-pod.conf $(DESTDIR)/lib/systemd/system/kubelet.service.d/dstack-pod.conf
	install -D -m 0644 deploy/systemd/dstack-pod-setup.service.d/containerd-base-spec.conf $(DESTDIR)$(PREFIX)/share/dstack-pod/systemd/dstack-pod-setup.service.d/containerd-base-spec.conf
	install -D -m 0644 deploy/udev/60-dstack-pod.rules $(DESTDIR)/lib/udev/rules.d/60-dstack-pod.rules
	install -D -m 0644 deploy/sysusers.d/dstack-pod.conf $(DESTDIR)$(PREFIX)/lib/sysusers.d/dstack-pod.conf
	install -D -m 0644 deploy/modules-load.d/dstack-pod.conf $(DESTDIR)$(PREFIX)/share/dstack-pod/modules-load.d/dstack-pod.conf
	install -D -m 0644 deploy/setup.yaml $(DESTDIR)/etc/dstack-pod/setup.yaml.example
	install -D -m 0755 deploy/containerd/make-base-spec.sh $(DESTDIR)$(PREFIX)/libexec/dstack-pod/make-base-spec.sh
	install -D -m 0644 deploy/hook.conf $(DESTDIR)/etc/dstack-pod/hook.conf.example
	install -D -m 0644 deploy/containerd/hook-dstack-pod.conf $(DESTDIR)/etc/dstack-pod/hook-dstack-pod.conf.example
	install -D -m 0644 deploy/containerd/config.toml $(DESTDIR)$(PREFIX)/share/dstack-pod/containerd/config.toml
	install -D -m 0644 deploy/cdi/dstack-pod.json $(DESTDIR)$(PREFIX)/share/dstack-pod/cdi/dstack-pod.json
	install -D -m 0644 deploy/crio/dstack-pod.json $(DESTDIR)$(PREFIX)/share/dstack-pod/crio/dstack-pod.json

# The libraries for other programs: the per-concern archives, their public
# headers under $(PREFIX)/include/dstack-pod/<concern>/ (with the uapi
# header as linux/dstack_pod.h; *_int.h stay private) and one pkg-config
# file each (deploy/pkgconfig/*.pc.in), e.g.
#   cc app.c $$(pkg-config --cflags --libs dstack-pod-verify)
LIBDIR ?= $(PREFIX)/lib
PCDIR ?= $(LIBDIR)/pkgconfig
install-dev: $(LIBS)
	install -D -m 0644 -t $(DESTDIR)$(LIBDIR) $(LIBS)
	set -e; for d in $(LIB_DIRS); do \
		install -D -m 0644 -t $(DESTDIR)$(PREFIX)/include/dstack-pod/$$d \
			$$(ls user/lib/$$d/*.h | grep -v '_int\.h$$'); \
		sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
			-e 's|@VERSION@|$(VERSION)|g' deploy/pkgconfig/dstack-pod-$$d.pc.in \
			>$(B)/dstack-pod-$$d.pc; \
		install -D -m 0644 $(B)/dstack-pod-$$d.pc $(DESTDIR)$(PCDIR)/dstack-pod-$$d.pc; \
	done
	install -D -m 0644 kmod/include/uapi/linux/dstack_pod.h $(DESTDIR)$(PREFIX)/include/dstack-pod/linux/dstack_pod.h

clean:
	-$(KRUN) $(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null
	rm -rf $(B)

# dstack-pod-qgs-sim: a simulated Intel QGS, development and tests only
# (Documentation/quotes.rst).  test_qgs runs it on the host.
QGS_SIM := $(B)/bin/dstack-pod-qgs-sim
user: $(QGS_SIM)
$(QGS_SIM): $(wildcard user/qgs-sim/*.c) $(LIB_HDRS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $(filter %.c,$^) $(LIB) $(USER_LDLIBS)
$(B)/tests/test_qgs: $(QGS_SIM)

# fuzz-kernel: the kernel-surface fuzzer (Documentation/fuzzing.rst).
# kfuzz runs as root in the test VM; kfuzz32 is its 32-bit compat_ioctl
# helper (static, like compat32).  FUZZ_SECONDS (default 300) bounds the
# whole run, episodes included.
KFUZZ_SRCS := selftests/fuzz/kfuzz.c selftests/fuzz/kfuzz.h kmod/include/uapi/linux/dstack_pod.h
$(B)/selftests/kfuzz: $(KFUZZ_SRCS)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ selftests/fuzz/kfuzz.c -lnl-genl-3 -lnl-3

$(B)/selftests/kfuzz32: selftests/fuzz/kfuzz32.c selftests/fuzz/kfuzz.h kmod/include/uapi/linux/dstack_pod.h
	@mkdir -p $(dir $@)
	$(CC) -m32 -static -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
		-Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
		-Ikmod/include/uapi -o $@ selftests/fuzz/kfuzz32.c

selftests-build: $(B)/selftests/kfuzz $(B)/selftests/kfuzz32

.PHONY: fuzz-kernel
# FUZZ_KERNEL=debug builds (cached) and boots the debug kernel with KCOV.
fuzz-kernel: deps
	@$(MAKE) --no-print-directory all $(B)/selftests/kfuzz $(B)/selftests/kfuzz32
	@KDIR=$(KDIR) ./selftests/vm/prepare
	@if [ "$(FUZZ_KERNEL)" = debug ] && [ -z "$(FUZZ_KERNEL_DIR)" ]; then \
		./selftests/vm/debug-kernel >/dev/null || exit 1; fi
	@./scripts/fuzz-kernel
