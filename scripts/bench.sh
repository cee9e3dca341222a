#!/usr/bin/env bash
# Benchmark: instructions the module's own code spends per packet and per
# lookup. Loads the benchmark build (make BENCH=1) in the guest under
# -icount shift=0,sleep=off, where a guest nanosecond is one executed
# instruction, twice, to show the figures repeat. Prints figures; not a test.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$UOA_ROOT"

bash scripts/setup.sh
step "build: the benchmark build (make BENCH=1)"
make -s BENCH=1 >/dev/null
for run in 1 2; do
	step "guest (icount), run $run"
	bash scripts/qemu-run.sh --icount --quiet --out build/bench-run --timeout 600 -- \
		bash -c 'dmesg -C; insmod build/bench/uoa.ko && rmmod uoa; dmesg > /run/uoa/bench.log'
	sed -n 's/^\[[ 0-9.]*\] uoa: bench: //p' build/bench-run/bench.log
done
