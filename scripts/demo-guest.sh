#!/usr/bin/env bash
# Runs inside the guest (scripts/demo.sh). A load balancer namespace and a
# real server namespace joined by veth; uoa.ko loaded; the balancer
# (samples/uoa_lb) sends UDP in every UOA mode, and an application on the
# real server (samples/uoa_echo) prints the real client of each datagram.
set -euo pipefail
. "$(dirname "$0")/../tests/e2e/lib.sh"

say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }

make_pair uoa-lb uoa-rs
say "insmod uoa.ko"
insmod "$MODULE"
dmesg | grep 'uoa: loaded' | sed 's/^\[[ 0-9.]*\] //'

say "real server: echo servers on $RS_IP:5000 (AF_INET) and [$RS_IP6]:6000 (AF_INET6)"
in_ns uoa-rs "$ECHO" 5000 >/tmp/echo4.out 2>&1 &
in_ns uoa-rs "$ECHO" -6 6000 >/tmp/echo6.out 2>&1 &
sleep 0.3

say "load balancer: one datagram per mode, source rewritten to its own address"
send() {
	local what=$1
	shift
	printf '  %-44s uoa_lb %s\n' "$what" "$*"
	in_ns uoa-lb "$LB" "$@"
}
send "IPv4 option" -m ipo -c 198.51.100.7:40001 -s "$LB_IP:4001" -d "$RS_IP:5000" -t "hello from 198.51.100.7"
send "opp over IPv4" -m opp -c 198.51.100.8:40002 -s "$LB_IP:4002" -d "$RS_IP:5000" -t "hello from 198.51.100.8"
send "NAT64: IPv6 client, IPv4 real server" -m opp -c "[2001:db8::64]:40003" -s "$LB_IP:4003" -d "$RS_IP:5000" -t "hello from 2001:db8::64"
send "standalone UOA, then plain UDP" -S -m ipo -c 198.51.100.9:40004 -s "$LB_IP:4004" -d "$RS_IP:5000" -t "hello from 198.51.100.9"
send "opp over IPv6" -m opp -c "[2001:db8::7]:40005" -s "[$LB_IP6]:4005" -d "[$RS_IP6]:6000" -t "hello from 2001:db8::7"
send "no UOA at all" -m none -s "$LB_IP:4006" -d "$RS_IP:5000" -t "hello, no UOA"
sleep 0.5

say "application output: the peer it sees, and the real client the lookup gives"
cat /tmp/echo4.out /tmp/echo6.out

say "an application's lookup by hand: uoa_lookup $LB_IP 4002 $RS_IP 5000"
in_ns uoa-rs "$LOOKUP" "$LB_IP" 4002 "$RS_IP" 5000

say "real server: /proc/net/uoa_stats, uoa_stats_percpu, uoa_stats_extra"
in_ns uoa-rs cat /proc/net/uoa_stats
in_ns uoa-rs cat /proc/net/uoa_stats_percpu
in_ns uoa-rs cat /proc/net/uoa_stats_extra

say "real server: /proc/net/uoa_mappings (root only), what uoactl mappings shows"
in_ns uoa-rs cat /proc/net/uoa_mappings

say "rmmod uoa"
kill %1 %2 2>/dev/null || true
wait 2>/dev/null || true
rmmod uoa
echo "uoa files left in /proc/net: $(ls /proc/net | grep -c uoa || true)"
echo "kernel warnings: $(kernel_trouble | wc -l)"
remove_namespaces
