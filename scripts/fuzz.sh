#!/usr/bin/env bash
# Coverage-guided fuzzing of the packet parser (uoa_parse.rs, built on the
# host) with libFuzzer, on the stable toolchain: libfuzzer-sys links
# libFuzzer, and rustc's own SanitizerCoverage pass (-C passes=sancov-module)
# instruments the code, as cargo-fuzz does without a sanitizer.
#
# usage: scripts/fuzz.sh [SECONDS]   (default 60; the test command runs 60)
#
# Starts from the committed seeds (tests/fuzz/corpus/parse), works on a copy
# under build/fuzz (new inputs it finds stay there), and fails on the first
# crash, which it leaves in build/fuzz/crash-*. A longer run: SECONDS=3600,
# or `-jobs=2` by hand with the same binary.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$UOA_ROOT"

seconds=${1:-60}
work=build/fuzz
mkdir -p "$work/corpus"
cp tests/fuzz/corpus/parse/* "$work/corpus/"
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# With --target, RUSTFLAGS reach the fuzzed code but not build scripts.
host=$(rustc -vV | awk '/^host:/ {print $2}')
cargo build --quiet --release --manifest-path tests/fuzz/Cargo.toml \
	--target "$host" --target-dir "$UOA_ROOT/build/fuzz/target" --bin parse
bin=build/fuzz/target/$host/release/parse
step "fuzz: parse, $seconds s from $(ls tests/fuzz/corpus/parse | wc -l) seeds"
"$bin" -max_total_time="$seconds" -seed=1 -print_final_stats=1 -artifact_prefix="$work/" \
	"$work/corpus" 2>"$work/fuzz.log" || { tail -n 40 "$work/fuzz.log"; die "fuzz: a crash, input in $work/"; }
grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$work/fuzz.log" | sed 's/^stat::/fuzz: /'
echo "fuzz: corpus $(ls "$work/corpus" | wc -l) inputs, coverage $(grep -o 'cov: [0-9]*' "$work/fuzz.log" | tail -n 1)"
