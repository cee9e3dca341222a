#!/usr/bin/env bash
# Runs every uoa-rs test, setting everything up first:
#   1. host: cargo test of the pure parser (unit and property tests), of
#      the Rust client library and uoactl (userspace/, with clippy and
#      rustfmt) and the Python client's unit tests; then 60 s of
#      coverage-guided fuzzing of the parser (scripts/fuzz.sh, libFuzzer);
#   2. build: uoa.ko, the KUnit and benchmark builds with clippy, the samples and test programs; any
#      compiler or clippy warning fails it; rustfmt --check (kernel config);
#      then the C header's layout, checked by tests/abi (C, and from C++);
#   3. KUnit: loads the test build in the guest, parses the KTAP output with
#      the kernel's tools/testing/kunit/kunit.py;
#   4. end-to-end: tests/e2e/run.sh in the guest (namespaces, veth, real
#      packets, lookups, unload);
#   5. Debian 13: scripts/debian-test.sh (the README's DKMS install with
#      Debian's compilers, then the end-to-end suite on Debian's own kernel);
#   6. the debug kernel: scripts/debug-test.sh (KASAN, lockdep, kmemleak,
#      failslab...: KUnit, the stress tests, fault injection, leak scan);
#      UOA_TEST_DEBUG=0 leaves it out, for quick runs by hand.
# Ends with "N passed, N failed" and exits non-zero if anything failed.
# Logs are kept in build/test-results/.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$UOA_ROOT"

results="$UOA_ROOT/build/test-results"
passed=0 failed=0

# count STAGE PASSED FAILED RC: adds a stage's counts; a stage that failed
# without reporting any failed test counts as one failure.
count() {
	local stage=$1 p=${2:-0} f=${3:-0} rc=$4
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	passed=$((passed + p))
	failed=$((failed + f))
	step "$stage: $p passed, $f failed"
}

# count_line STAGE LINE RC: counts from a "... N passed, N failed" line.
count_line() {
	count "$1" \
		"$(sed -n 's/.* \([0-9][0-9]*\) passed.*/\1/p' <<<"$2")" \
		"$(sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p' <<<"$2")" "$3"
}

summary() {
	echo
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
	exit
}

bash scripts/setup.sh || die "set-up failed"
rm -rf "$results"
mkdir -p "$results"
kdir=$(uoa_kdir)

step "host: cargo test (uoa_parse.rs)"
(cd tests/host && cargo test 2>&1) | tee "$results/host.log" | grep -E '^test result|FAILED|panicked'
rc=${PIPESTATUS[0]}
count host \
	"$(awk '/^test result/ {s += $4} END {print s + 0}' "$results/host.log")" \
	"$(awk '/^test result/ {s += $6} END {print s + 0}' "$results/host.log")" "$rc"

step "userspace: the Rust client library and uoactl (cargo test, clippy, rustfmt), the Python client"
{
	(cd userspace && cargo test --release && cargo clippy --release --all-targets -- -D warnings &&
		cargo fmt --check && cargo build --release --bins --examples) &&
		(cd userspace/python && python3 -m unittest -v)
} >"$results/userspace.log" 2>&1
rc=$?
grep -E '^test result|FAILED|panicked|^Ran |^OK|^FAILED|^error' "$results/userspace.log"
[ $rc -eq 0 ] || tail -n 30 "$results/userspace.log"
count userspace \
	"$(awk '/^test result/ {s += $4} /^Ran [0-9]+ test/ {s += $2} END {print s + 0}' "$results/userspace.log")" \
	"$(awk '/^test result/ {s += $6} /^FAILED \(/ {n = $0; gsub(/[^0-9]/, " ", n); split(n, a, " "); for (i in a) s += a[i]} END {print s + 0}' "$results/userspace.log")" "$rc"

step "fuzz: the parser under libFuzzer, a bounded run (scripts/fuzz.sh 60)"
bash scripts/fuzz.sh 60 >"$results/fuzz.log" 2>&1
rc=$?
tail -n 4 "$results/fuzz.log"
if [ $rc -eq 0 ]; then count fuzz 1 0 0; else count fuzz 0 1 $rc; fi

step "build: uoa.ko, KUnit build (both with clippy), samples, test programs"
# From scratch, so that every warning shows (results stay in build/).
rm -rf build/module build/kunit build/bench
{ make CLIPPY=1 && make CLIPPY=1 KUNIT=1 && make CLIPPY=1 BENCH=1 && make -C samples && make -C tests/e2e; } \
	>"$results/build.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	tail -n 30 "$results/build.log"
	count build 0 1 $rc
	summary
fi
if grep -qE '^(warning|error)' "$results/build.log"; then
	grep -E '^(warning|error)' -A6 "$results/build.log" | head -n 40
	count build 0 1 1
else
	count build 1 0 0
fi

step "format: rustfmt --check with the kernel's .rustfmt.toml"
rustfmt --edition 2021 --config-path "$kdir/.rustfmt.toml" --check uoa_*.rs kunit/*.rs bench/*.rs \
	tests/host/src/*.rs tests/host/tests/*.rs >"$results/format.log" 2>&1
rc=$?
head -n 20 "$results/format.log"
count format $((rc == 0)) 0 $rc

step "abi: include/uoa.h layout"
{ make -s -C tests/abi && tests/abi/uoa_abi_check; } >"$results/abi.log" 2>&1
rc=$?
cat "$results/abi.log"
count_line abi "$(grep '^abi: ' "$results/abi.log")" "$rc"

step "KUnit: test build in the guest"
bash scripts/qemu-run.sh --quiet --timeout 300 --out "$results/kunit" -- \
	bash -c 'dmesg -C; insmod build/kunit/uoa.ko; rc=$?; dmesg > /run/uoa/kunit.log; rmmod uoa; exit $rc'
rc=$?
if [ -s "$results/kunit/kunit.log" ]; then
	python3 "$kdir/tools/testing/kunit/kunit.py" parse "$results/kunit/kunit.log" >"$results/kunit.txt" 2>&1
	prc=$?
	[ $rc -eq 0 ] && rc=$prc
	grep -E 'PASSED|FAILED|SKIPPED|CRASHED|Testing complete|ERROR' "$results/kunit.txt" | sed 's/^\[[0-9:]*\] //'
else
	tail -n 40 "$results/kunit/console.log"
fi
line=$(grep 'Testing complete' "$results/kunit.txt" 2>/dev/null)
count KUnit \
	"$(sed -n 's/.*passed: \([0-9]*\).*/\1/p' <<<"$line")" \
	"$(sed -n 's/.*failed: \([0-9]*\).*/\1/p' <<<"$line")" "$rc"

step "end-to-end: tests/e2e/run.sh in the guest"
bash scripts/qemu-run.sh --quiet --timeout 1200 --out "$results/e2e" -- \
	bash -c 'UOA_TEARDOWN_CYCLES=50 bash tests/e2e/run.sh > /run/uoa/e2e.tap 2>&1'
rc=$?
if [ -s "$results/e2e/e2e.tap" ]; then
	cat "$results/e2e/e2e.tap"
else
	tail -n 40 "$results/e2e/console.log"
fi
count_line e2e "$(grep '^e2e: ' "$results/e2e/e2e.tap" 2>/dev/null)" "$rc"

step "Debian 13: DKMS install and end-to-end suite on Debian's own kernel"
bash scripts/debian-test.sh >"$results/debian.tap"
rc=$?
cat "$results/debian.tap"
count_line debian "$(grep '^debian: ' "$results/debian.tap")" "$rc"

if [ "${UOA_TEST_DEBUG:-1}" = 1 ]; then
	step "debug kernel: KUnit, the stress tests, failslab and kmemleak (scripts/debug-test.sh)"
	bash scripts/debug-test.sh >"$results/debug.log" 2>&1
	rc=$?
	grep -vE '^==>' "$results/debug.log" | tail -n 40
	count_line debug "$(grep '^debug: ' "$results/debug.log" | tail -n 1)" "$rc"
else
	step "debug kernel: skipped (UOA_TEST_DEBUG=0)"
fi

summary
