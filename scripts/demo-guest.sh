#!/usr/bin/env bash
# Runs inside the guest (scripts/demo.sh): a load balancer namespace and a
# real server namespace joined by veth; the module loaded on the real
# server side; traffic in, statistics and lookups out.
set -euo pipefail
. "$(dirname "$0")/../tests/e2e/lib.sh"

say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }

make_pair uoa-lb uoa-rs
say "insmod uoa.ko"
insmod "$MODULE"
dmesg | grep 'uoa: loaded' | sed 's/^\[[ 0-9.]*\] //'

say "real server: /proc/net/uoa_stats before any traffic"
in_ns uoa-rs cat /proc/net/uoa_stats

say "load balancer $LB_IP sends 5 plain UDP datagrams (no UOA) to $RS_IP:5000"
send_udp uoa-lb "$RS_IP" 5000 5
sleep 0.2
in_ns uoa-rs cat /proc/net/uoa_stats

say "application on the real server asks for the client of $LB_IP:4000 -> $RS_IP:5000"
echo "uoa_lookup: $(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4000 "$RS_IP" 5000 || true) (no UOA seen for this flow)"

say "per-CPU view"
in_ns uoa-rs cat /proc/net/uoa_stats_percpu

say "rmmod uoa"
rmmod uoa
echo "left in /proc/net: $(ls /proc/net | grep -c uoa) uoa files"
remove_namespaces
