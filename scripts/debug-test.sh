#!/usr/bin/env bash
# The debug flavour: the same source against a debug kernel (KASAN, KFENCE,
# kmemleak, lockdep with PROVE_RCU, DEBUG_ATOMIC_SLEEP, UBSAN, Rust debug
# assertions and overflow checks, failslab: scripts/kernel-debug.config),
# built and cached like the normal one (UOA_KERNEL_FLAVOUR=debug
# scripts/setup.sh). In the guest, under that kernel: the KUnit suites, the
# end-to-end tests that stress the module (below; UOA_DEBUG_E2E=all runs the
# whole suite, an hour or more), then failslab under traffic and a
# kmemleak scan after rmmod (tests/e2e/debug.sh). After each test the kernel
# log must hold no report. Ends with "debug: N passed, N failed" and a
# non-zero status if anything failed. scripts/test.sh runs it.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$UOA_ROOT"

export UOA_KERNEL_FLAVOUR=debug
# Under TCG the debug kernel runs ACPI's interpreter so slowly that its
# loops time out at boot; QEMU's firmware tables serve without it.
export UOA_KERNEL_ARGS="acpi=off"
UOA_KERNEL_FLAVOUR=debug bash scripts/setup.sh >/dev/null || die "set-up of the debug kernel failed"
kdir=$(uoa_kdir)
build="$UOA_ROOT/build/debug"
results="$UOA_ROOT/build/test-results/debug"
rm -rf "$results"
mkdir -p "$results"
passed=0 failed=0

# tally LOG: adds the "N passed, N failed" line that ends LOG.
tally() {
	local line
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		return
	fi
	passed=$((passed + $(echo "$line" | sed -E 's/.* ([0-9]+) passed.*/\1/')))
	failed=$((failed + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
}

step "debug: uoa.ko and the KUnit build against $kdir, the test programs"
{ make KDIR="$kdir" BUILD="$build" && make KDIR="$kdir" BUILD="$build" KUNIT=1 &&
	make -C samples && make -C tests/e2e &&
	(cd userspace && cargo build --release --bins --examples); } \
	>"$results/build.log" 2>&1 || { tail -n 30 "$results/build.log"; die "debug build failed"; }

step "debug: KUnit in the guest"
bash scripts/qemu-run.sh --quiet --timeout 1200 --out "$results/kunit" -- \
	bash -c 'dmesg -C; insmod build/debug/kunit/uoa.ko; rc=$?; dmesg > /run/uoa/kunit.log; rmmod uoa; exit $rc'
python3 "$kdir/tools/testing/kunit/kunit.py" parse "$results/kunit/kunit.log" >"$results/kunit.txt" 2>&1
grep -E 'FAILED|CRASHED|Testing complete' "$results/kunit.txt" | sed 's/^\[[0-9:]*\] //'
# Reports the suites themselves do not see.
reports=$(grep -cE 'BUG:|WARNING:|Oops|UBSAN|KASAN|lockdep|possible recursive|suspicious RCU' \
	"$results/kunit/kunit.log" || true)
line=$(grep 'Testing complete' "$results/kunit.txt" | sed -E 's/.*passed: ([0-9]+).*/\1/')
if [ -n "$line" ] && ! grep -qE 'failed: [1-9]|crashed: [1-9]' "$results/kunit.txt" && [ "$reports" -eq 0 ]; then
	passed=$((passed + line))
	step "debug: KUnit: $line passed, no report"
else
	failed=$((failed + 1))
	step "debug: KUnit failed or reported ($reports report lines)"
	grep -E 'BUG:|WARNING:|UBSAN|KASAN|lockdep|suspicious RCU' -A12 "$results/kunit/kunit.log" | head -n 40
fi

# The end-to-end tests run on this kernel: every packet form and lookup
# once, then the stress tests: the packet storm (100,000 packets), teardown
# under fire (insmod/rmmod cycles under traffic, each with a namespace made
# and deleted under traffic, `nft list hooks` in a loop), unload under
# traffic, files held open across rmmod, the mapping view walked while
# packets arrive. Teardown runs 10 cycles here (about 6 minutes; 50 took
# 27 minutes: UOA_DEBUG_TEARDOWN_CYCLES=50), 50 on the test kernel.
e2e_tests=${UOA_DEBUG_E2E:-mode_ fragmented malformed vendor_lookups namespace lookup_bad_arguments \
	packet_storm teardown_under_fire unload_under_traffic proc_files_open mappings_view}
[ "$e2e_tests" = all ] && e2e_tests=
cycles=${UOA_DEBUG_TEARDOWN_CYCLES:-10}

step "debug: end-to-end tests in the guest: ${e2e_tests:-all}"
# The flood test, when asked for (UOA_DEBUG_E2E=all or flood), with a
# smaller cap (65,536 flows against 5,000 instead of a million against
# 50,000): under KASAN and lockdep each packet costs tens of times more.
bash scripts/qemu-run.sh --quiet --mem 2048 --timeout 3600 --out "$results/e2e" -- \
	bash -c 'UOA_MODULE=build/debug/module/uoa.ko UOA_TEARDOWN_CYCLES='"$cycles"' \
		UOA_FLOOD_CAP=5000 UOA_FLOOD_ROUNDS=4 UOA_FLOOD_PER=16384 \
		bash tests/e2e/run.sh '"$e2e_tests"' > /run/uoa/e2e.tap 2>&1'
grep -E '^not ok' -A12 "$results/e2e/e2e.tap" | head -n 60
grep -E '^    # ' "$results/e2e/e2e.tap" | grep -iE 'cycles|flood|storm' || true
tally "$results/e2e/e2e.tap"

step "debug: failslab under traffic, kmemleak after rmmod"
bash scripts/qemu-run.sh --quiet --mem 2048 --timeout 1800 --out "$results/checks" -- \
	bash -c 'UOA_MODULE=build/debug/module/uoa.ko bash tests/e2e/debug.sh > /run/uoa/debug.tap 2>&1'
cat "$results/checks/debug.tap"
tally "$results/checks/debug.tap"

echo "debug: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
