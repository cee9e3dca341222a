#!/usr/bin/env bash
# Benchmark, under QEMU -icount shift=0,sleep=off (one vCPU), where a guest
# nanosecond is one executed instruction, so figures repeat exactly:
#   1. the module's own code per packet and per lookup: the benchmark build
#      (make BENCH=1) times it when loaded, twice, to show the figures
#      repeat;
#   2. the whole path users pay (bench/whole_path.sh): real packets over
#      veth and real getsockopt calls, without the module, with the floor
#      (make FLOOR=1: the same hooks doing nothing) and with the module;
#      then lookups, new flows and memory at 1,000 / 100,000 / 1,000,000
#      mappings;
#   3. two senders and lookups in parallel (bench/parallel.sh), in real
#      time with two vCPUs against one: a noisy speed-up ratio.
# Prints the figures, and writes them to build/bench.json for comparing
# revisions. Not a test: nothing here passes or fails.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$UOA_ROOT"

bash scripts/setup.sh
step "build: the benchmark build (make BENCH=1), the floor (make FLOOR=1), the module, samples"
make -s BENCH=1 >/dev/null
make -s FLOOR=1 >/dev/null
make -s >/dev/null
make -s -C samples
out=build/bench-run
rm -rf "$out"
for run in 1 2; do
	step "guest (icount): the module's own code, run $run"
	bash scripts/qemu-run.sh --icount --quiet --out "$out" --timeout 600 -- \
		bash -c 'dmesg -C; insmod build/bench/uoa.ko && rmmod uoa; dmesg > /run/uoa/bench.log'
	sed -n 's/^\[[ 0-9.]*\] uoa: bench: //p' "$out/bench.log" | tee "$out/module-$run.txt"
done
step "guest (icount): the whole path"
bash scripts/qemu-run.sh --icount --quiet --out "$out" --timeout 3600 -- \
	bash -c 'bash bench/whole_path.sh build/floor/uoa.ko uoa.ko > /run/uoa/whole.txt 2>&1' ||
	{ cat "$out/whole.txt"; die "whole-path run failed"; }
for cpus in 1 2; do
	step "guest (real time, $cpus vCPU): two senders and lookups in parallel (noisy)"
	bash scripts/qemu-run.sh --smp "$cpus" --quiet --out "$out" --timeout 600 -- \
		bash -c "bash bench/parallel.sh uoa.ko > /run/uoa/parallel-$cpus.txt 2>&1" ||
		{ cat "$out/parallel-$cpus.txt"; die "parallel run failed"; }
	sed "s/^parallel_ns/parallel_ns_${cpus}cpu/" "$out/parallel-$cpus.txt" >>"$out/whole.txt"
done
python3 - "$out/whole.txt" "$out/module-1.txt" build/bench.json <<'PY'
import json, sys
raw = {}
for line in open(sys.argv[1]):
    k, _, v = line.strip().partition(" ")
    if v.lstrip("-").isdigit():
        raw[k] = int(v)
g = raw.get
derived = {
    "plain UDP packet, added": g("uoa.plain") - g("none.plain"),
    "plain UDP packet, added by the floor": g("floor.plain") - g("none.plain"),
    "IPv4-option UOA refreshing a mapping, added": g("uoa.ipo_refresh") - g("none.ipo_refresh"),
    "IPv4-option UOA, added by the floor": g("floor.ipo_refresh") - g("none.ipo_refresh"),
    "opp IPv4 packet, whole path over plain UDP": g("uoa.opp_refresh") - g("none.plain"),
    "getsockopt lookup, 1,000 mappings": g("uoa.lookup_1000"),
}
sizes = sorted({int(k.split("_")[1].split(".")[0]) for k in raw if k.startswith("uoa.size_")})
for n in sizes:
    derived[f"lookup, {n:,} mappings"] = g(f"uoa.size_{n}.lookup")
    derived[f"new flow (opp packet), {n:,} mappings"] = g(f"uoa.size_{n}.new_flow")
    derived[f"kernel memory per IPv4 mapping, {n:,} (entries and buckets)"] = g(f"uoa.size_{n}.bytes_per_mapping")
    derived[f"slab growth per IPv4 mapping, {n:,}"] = g(f"uoa.size_{n}.slab_bytes_per_mapping")
    if g(f"uoa.size_{n}.dump_ns"):
        derived[f"reading /proc/net/uoa_mappings whole, {n:,} mappings, ms"] = round(
            g(f"uoa.size_{n}.dump_ns") / 1e6, 1)
        derived[f"mapping view lines, {n:,} mappings"] = g(f"uoa.size_{n}.dump_lines")
if 1000 in sizes and 1000000 in sizes:
    derived["lookup at 1,000,000 mappings, ratio to 1,000"] = round(
        g("uoa.size_1000000.lookup") / g("uoa.size_1000.lookup"), 3)
if 100000 in sizes and 1000000 in sizes:
    derived["inserting into 1,000,000 against 100,000 mappings, per packet"] = round(
        g("uoa.size_1000000.new_flow") / g("uoa.size_100000.new_flow"), 3)
if g("parallel_ns_1cpu") and g("parallel_ns_2cpu"):
    derived["parallel senders and lookups, 2 vCPUs against 1, speed-up (real time, noisy)"] = round(
        g("parallel_ns_1cpu") / g("parallel_ns_2cpu"), 2)
print("\nwhole path, instructions (per packet or per lookup):")
for k, v in derived.items():
    print(f"  {v:>8}  {k}")
module = [l.rstrip("\n") for l in open(sys.argv[2])]
json.dump({"whole_path": derived, "raw": raw, "module_only": module},
          open(sys.argv[3], "w"), indent=1)
print(f"\nwritten to {sys.argv[3]}")
PY
