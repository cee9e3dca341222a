#!/usr/bin/env bash
# Parallel load, run in the guest by scripts/bench.sh without -icount, once
# with one vCPU and once with two: two load balancer senders (opp packets
# refreshing their mappings) and a loop of lookups at the same time, against
# 1,000 mappings. Prints "parallel_ns T", the wall time of the whole batch.
# Real time under TCG on a shared host: noisy, a ratio only.
#
# usage: bench/parallel.sh MODULE_KO
set -eu
cd "$(dirname "$0")/.."
. tests/e2e/lib.sh

N=${UOA_BENCH_PACKETS:-20000}
make_pair uoa-lb uoa-rs
insmod "$1"
in_ns uoa-lb "$LB" -m opp -c 192.0.2.2:2000 -s "$LB_IP:10000" -d "$RS_IP:6000" -I -n 1000
t0=$(date +%s%N)
in_ns uoa-lb "$LB" -m opp -c 192.0.2.5:5000 -s "$LB_IP:20000" -d "$RS_IP:6000" -n "$N" &
in_ns uoa-lb "$LB" -m opp -c 192.0.2.6:6000 -s "$LB_IP:20001" -d "$RS_IP:6000" -n "$N" &
in_ns uoa-rs "$LOOKUP" -n "$N" "$LB_IP" 10500 '*' 6000 >/dev/null &
wait
t1=$(date +%s%N)
echo "parallel_ns $((t1 - t0))"
expect_eq "lookups still answer" "$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 20000 '*' 6000)" "192.0.2.5 5000"
remove_namespaces
rmmod uoa
