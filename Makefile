# SPDX-License-Identifier: GPL-2.0
# Builds the uoa module out of tree.
#
#   make                     uoa.ko against the kernel scripts/setup.sh built
#   make KDIR=/path          against any other Rust-enabled kernel build tree
#                            (a distribution kernel: scripts/kbuild-rust.sh)
#   make KUNIT=1             the test build, with KUnit suites, in build/kunit/
#   make BENCH=1             the benchmark build, in build/bench/ (scripts/bench.sh)
#   make FLOOR=1             the benchmark's floor: the same hooks doing nothing, build/floor/
#   make BUILD=DIR           objects under DIR instead of build/ (another kernel's build:
#                            scripts/debug-test.sh); ./uoa.ko is then left alone
#   make clean
#
# Kbuild (beside this file) says what is built; this file only calls the
# kernel's build system. Objects go to build/module/ and build/kunit/ (MO=),
# so both flavours coexist; the user module is copied to ./uoa.ko.

UOA_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/uoa-rs
KDIR ?= $(UOA_CACHE)/current-kernel
# The compilers must be the kernel's. A tree prepared by scripts/setup.sh or
# scripts/kbuild-rust.sh names them in uoa-make-args (LLVM=-19, or nothing
# for Debian, whose kernel Makefile reads its own .kernelvariables); any
# other clang-built tree gets LLVM=1, a GCC-built one the kernel's default.
# LLVM=... or CC=... on the command line still win.
KMAKE_ARGS ?= $(or $(shell cat $(KDIR)/uoa-make-args 2>/dev/null),\
	$(if $(shell grep -sx CONFIG_CC_IS_CLANG=y $(KDIR)/.config),LLVM=1))

BUILD ?= $(CURDIR)/build

ifeq ($(KUNIT),1)
OUT := $(BUILD)/kunit
KBUILD_ARGS := MO=$(OUT) UOA_KUNIT=1
else ifeq ($(BENCH),1)
OUT := $(BUILD)/bench
KBUILD_ARGS := MO=$(OUT) UOA_BENCH=1
else ifeq ($(FLOOR),1)
OUT := $(BUILD)/floor
KBUILD_ARGS := MO=$(OUT) UOA_FLOOR=1
else
OUT := $(BUILD)/module
KBUILD_ARGS := MO=$(OUT)
endif

all: modules

modules:
	@test -f $(KDIR)/Module.symvers || { \
		echo "error: $(KDIR) is not a built kernel tree (run scripts/setup.sh or pass KDIR=)"; exit 1; }
	@mkdir -p $(OUT)
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KMAKE_ARGS) $(KBUILD_ARGS) modules
ifeq ($(KUNIT)$(BENCH)$(FLOOR)$(filter-out $(CURDIR)/build,$(BUILD)),)
	cp $(OUT)/uoa.ko uoa.ko
endif

clean:
	rm -rf build uoa.ko

.PHONY: all modules clean
