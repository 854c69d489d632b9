# SPDX-License-Identifier: MIT
# koker: one non-recursive GNU make file, no configure step.

# Parallel by default, one job per core: a newcomer's first `make demo` or `make check`
# compiles some 60 files. GNU make before 4.4 ignores a -j set inside the makefile, so a
# top-level make without -j runs itself again with one (`make -j1` builds one at a time).
ifeq ($(MAKELEVEL)$(filter -j%,$(MAKEFLAGS)),0)
goals := $(or $(MAKECMDGOALS),all)
$(firstword $(goals)):
	@$(MAKE) --no-print-directory -j$(shell nproc 2>/dev/null || echo 2) $(MAKECMDGOALS)
$(wordlist 2,$(words $(goals)),$(goals)):
	@:
.PHONY: $(goals)
else

VERSION     := 0.1.0
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
LIBEXECDIR  ?= $(PREFIX)/libexec
MANDIR      ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR     ?=
CXX         ?= g++
CXXFLAGS    ?= -O2 -g
LDFLAGS     ?=
PKG_CONFIG  ?= pkg-config

WARN        := -Wall -Wextra -Wpedantic -Wshadow
ifeq ($(WERROR),1)
WARN        += -Werror
endif
# Each function and object in a section of its own, so that the link keeps only what a tool
# reaches (--gc-sections below): koker-run's code shrank by a sixth, and each start maps and
# faults in that much less (bench/README.md).
SECTIONS    := -ffunction-sections -fdata-sections
ALL_CXXFLAGS := -std=c++17 $(WARN) -MMD -MP -Ilib -DKOKER_VERSION='"$(VERSION)"' $(SECTIONS) \
                $(CXXFLAGS)
ALL_LDFLAGS  := -Wl,--gc-sections $(LDFLAGS)

# Each tool lists the libraries it needs, like s6's deps-exe: koker-run never links curl.
TOOLS := pull images rmi inspect run cg ps rm stop logs stats exec net oci
TOOLS += init # run --init: the container's PID 1
TOOLS += system # docker system df|prune|info|version
TOOLS += volume # named volumes
TOOLS += cp diff export top port rename pause update # issue 16 container verbs
TOOLS += create start restart wait attach # issue 16 point 1
TOOLS += save load # issue 17 point 5: image archives
TOOLS += commit tag history # issue 17 points 1 and 2
TOOLS += push login logout # issue 17 points 3 and 4
TOOLS += build # issue 18: Dockerfiles
# libisal: ISA-L's igzip inflates gzip layers 2 to 4 times faster than zlib (issue 21).
koker-pull_LIBS    := libcurl libarchive libcrypto libisal
koker-images_LIBS  :=
koker-rmi_LIBS     :=
koker-inspect_LIBS :=
koker-run_LIBS     := libseccomp
koker-ps_LIBS      :=
koker-rm_LIBS      :=
koker-stop_LIBS    :=
koker-logs_LIBS    :=
koker-stats_LIBS   :=
koker-exec_LIBS    := libseccomp
koker-cg_LIBS      :=
koker-net_LIBS     := libmnl
koker-oci_LIBS     := libseccomp
koker-create_LIBS  := libseccomp
koker-start_LIBS   := libseccomp
koker-restart_LIBS := libseccomp
koker-wait_LIBS    :=
koker-attach_LIBS  :=
koker-init_LIBS    :=
koker-system_LIBS  :=
koker-volume_LIBS  :=
# Issue 16's file and process verbs (cp and export write tar streams with libarchive).
koker-cp_LIBS      := libarchive libcrypto
koker-export_LIBS  := libarchive libcrypto
# Issue 17's image archives (load reads them through koker-pull's sources, hence curl).
koker-save_LIBS    := libarchive libcrypto
koker-load_LIBS    := libcurl libarchive libcrypto libisal
# Issue 17's commit (it packs and unpacks layers with libarchive), tag and history.
koker-commit_LIBS  := libarchive libcrypto
koker-build_LIBS   := libarchive libcrypto
koker-tag_LIBS     :=
koker-history_LIBS :=
# Issue 17's push, login and logout talk to registries (libcurl); push recompresses layers.
koker-push_LIBS    := libcurl libarchive libcrypto
koker-login_LIBS   := libcurl libcrypto
koker-logout_LIBS  := libcrypto
# Tools linked fully static: no dynamic linking at each start (koker-run starts ~0.6 ms
# sooner, bench/README.md). The others need libraries Debian ships without a static archive
# (libmnl, libcurl's stack).
STATIC_TOOLS := run exec images rmi inspect ps rm stop logs stats cg oci
STATIC_TOOLS += init # bound into containers: it must run in any image
STATIC_TOOLS += system volume
STATIC_TOOLS += diff top port rename pause update
STATIC_TOOLS += create start restart wait attach
STATIC_TOOLS += tag history
# Objects a tool has beside its own file (src/, not shared with other tools).
koker-run_OBJS     := src/run_options.o
koker-create_OBJS  := src/run_options.o
koker-oci_OBJS     := src/oci_args.o src/oci_update.o

# lib/ is layered by folder (README.md, "Architecture"); tests/lint-layers.sh checks it.
LIB_DIRS := base store image cgroup net runtime build
LIB_SRC  := $(foreach d,$(LIB_DIRS),$(wildcard lib/$(d)/*.cpp))
LIB_OBJ  := $(LIB_SRC:.cpp=.o)
TOOL_BIN := $(addprefix bin/koker-,$(TOOLS))
UNIT_SRC := $(wildcard tests/unit/*.cpp)
UNIT_BIN := tests/unit/run-unit

# Packages: what building needs, and what the tests and the demo need on top (buildah is
# 45-build's oracle; tcc and musl-dev make its compiler fixture, koker_make_tcc_rootfs).
BUILD_PKGS := g++ make pkg-config libcurl4-openssl-dev libarchive-dev libssl-dev libjsmn-dev \
              libseccomp-dev libmnl-dev libisal-dev
# What koker needs at run time beyond its libraries (koker-net adds rules with iptables).
# Rootless koker maps its user namespace with newuidmap/newgidmap (uidmap), falls back to
# fuse-overlayfs where the kernel refuses overlayfs in a user namespace (docs/rootless.md), and
# networks through slirp4netns or pasta (passt) (docs/networking.md).
RUN_PKGS   := iptables uidmap fuse-overlayfs slirp4netns passt
TEST_PKGS  := bats docker-registry umoci skopeo busybox-static python3 openssl zstd jq curl \
              shellcheck mandoc iproute2 util-linux podman containerd runc golang-go \
              buildah tcc musl-dev bzip2 xz-utils
# What `make bench` needs on top of the tests' packages: gnuplot draws bench/charts/*.svg;
# isal's igzip is pull.sh's ISA-L decompression floor.
BENCH_PKGS := gnuplot-nox isal

.PHONY: all check unit lint demo deps deps-test install uninstall clean fmt bench oci-validate
all: $(TOOL_BIN)

# Rebuild everything when the flags change (make check turns on -Werror).
build/flags: FORCE
	@mkdir -p build
	@echo '$(CXX) $(ALL_CXXFLAGS)' | cmp -s - $@ || echo '$(CXX) $(ALL_CXXFLAGS)' > $@
FORCE:

lib/%.o src/%.o tests/unit/%.o: ALL_CXXFLAGS += $(shell $(PKG_CONFIG) --cflags libcurl libarchive libcrypto 2>/dev/null)
%.o: %.cpp build/flags
	$(CXX) $(ALL_CXXFLAGS) -c -o $@ $<

# Made anew each time: ar would keep members of files that moved or went.
lib/libkoker.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

.SECONDEXPANSION:
# libstdc++ and libgcc are linked statically everywhere: a container's start pays no
# relocations for them and every running supervisor maps less (bench/README.md).
static_flags = $(if $(filter $(1),$(STATIC_TOOLS)),-static,-static-libstdc++ -static-libgcc)
bin/koker-%: src/koker-%.o $$(koker-$$*_OBJS) lib/libkoker.a
	$(CXX) $(ALL_CXXFLAGS) $(ALL_LDFLAGS) -o $@ $< $(koker-$*_OBJS) lib/libkoker.a \
	  $(if $(koker-$*_LIBS),$(shell $(PKG_CONFIG) --libs $(koker-$*_LIBS))) -pthread \
	  $(call static_flags,$*)

$(UNIT_BIN): $(UNIT_SRC:.cpp=.o) lib/libkoker.a
	$(CXX) $(ALL_CXXFLAGS) $(ALL_LDFLAGS) -o $@ $(UNIT_SRC:.cpp=.o) lib/libkoker.a \
	  $(shell $(PKG_CONFIG) --libs libcurl libarchive libcrypto libisal libseccomp libmnl) -pthread

unit: $(UNIT_BIN)
	$(UNIT_BIN)

# The README's test command: installs what the tests need, builds with warnings as errors,
# then runs unit tests, Bats, ShellCheck and man-page lint, ending with "N passed, N failed".
check: deps-test
	$(MAKE) WERROR=1 all $(UNIT_BIN) bench/floor
	sh tests/check.sh

lint:
	sh tests/lint-layers.sh
	shellcheck -s sh bin/koker
	shellcheck -x tests/bats/*.bash tests/check.sh tests/oci-conformance.sh bench/*.sh
	shellcheck -s bash tests/bats/*.bats
	mandoc -Tlint -Wwarning man/*.[17]

demo: deps
	@sh tests/install-deps.sh busybox-static
	$(MAKE) all
	sh tests/demo.sh

# apt-get only what is missing, so a second run changes nothing.
deps:
	@sh tests/install-deps.sh $(BUILD_PKGS) $(RUN_PKGS)
deps-test:
	@sh tests/install-deps.sh $(BUILD_PKGS) $(RUN_PKGS) $(TEST_PKGS)

bench: all bench/floor
	@sh tests/install-deps.sh $(BENCH_PKGS)
	sh bench/all.sh

# The floor bench/run.sh measures koker-run against (issue 21.1): a container start with
# nothing but the kernel's work, one small program of its own.
bench/floor: bench/floor.cpp
	$(CXX) $(ALL_CXXFLAGS) $(ALL_LDFLAGS) -o $@ $<

# The runtime-spec's conformance suite (opencontainers/runtime-tools validation, built offline
# from the source vendored in tests/conformance/) against koker-oci, every test: minutes, so
# make check runs only a fast subset (tests/oci-conformance.sh with no test named).
oci-validate: all
	bash tests/oci-conformance.sh bin/koker-oci all

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/koker $(DESTDIR)$(MANDIR)/man1 \
	  $(DESTDIR)$(MANDIR)/man7
	install -m 755 bin/koker $(DESTDIR)$(BINDIR)/koker
	install -m 755 $(TOOL_BIN) $(DESTDIR)$(LIBEXECDIR)/koker/
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/*.7 $(DESTDIR)$(MANDIR)/man7/
	install -d $(DESTDIR)$(COMPLETIONDIR)
	install -m 644 completions/koker.bash $(DESTDIR)$(COMPLETIONDIR)/koker

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/koker $(DESTDIR)$(MANDIR)/man7/koker.7 \
	  $(DESTDIR)$(COMPLETIONDIR)/koker
	rm -rf $(DESTDIR)$(LIBEXECDIR)/koker
	cd man && for p in *.1; do rm -f $(DESTDIR)$(MANDIR)/man1/$$p; done

fmt:
	clang-format -i lib/*/*.cpp lib/*/*.hpp src/*.cpp tests/unit/*.cpp

clean:
	rm -f lib/*.o lib/*.d lib/*/*.o lib/*/*.d lib/libkoker.a src/*.o src/*.d tests/unit/*.o tests/unit/*.d \
	  $(UNIT_BIN) $(TOOL_BIN) bench/floor bench/floor.d
	rm -rf build

-include $(wildcard lib/*/*.d src/*.d tests/unit/*.d)

endif
