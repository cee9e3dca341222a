#!/usr/bin/env bash
# Checks that need the debug kernel (scripts/debug-test.sh), run in the
# guest after the end-to-end suite: slab allocations failing at random
# (failslab) while new flows arrive, then a kmemleak scan after rmmod.
# Prints "ok N - name" / "not ok N - name" lines and a summary
# (run_tests, as run.sh).
#
# usage: tests/e2e/debug.sh   (UOA_MODULE: the module to load)
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

fs=/sys/kernel/debug/failslab
kml=/sys/kernel/debug/kmemleak

# Slab allocations fail at random for a while under a flood of new flows
# in every family: nothing crashes, the failures are counted, and the
# module answers correctly afterwards.
test_failslab_under_traffic() {
	[ -d "$fs" ] || fail "no failslab in this kernel"
	make_pair uoa-lb uoa-rs
	load_uoa
	# Every slab allocation in the system may fail (the module's come in
	# softirq, where failslab's task filter never applies), 300 times at
	# most: the test's own processes may fail to start meanwhile.
	echo 1 >"$fs/interval"
	echo 300 >"$fs/times"
	echo 0 >"$fs/verbose"
	echo 5 >"$fs/probability"
	in_ns uoa-lb "$LB" -m opp -n 5000 -I -c 192.0.2.130:1300 -s "$LB_IP:1" -d "$RS_IP:5000" || true
	in_ns uoa-lb "$LB" -m ipo -n 5000 -I -c 192.0.2.131:1310 -s "10.0.1.1:20000" -d "$RS_IP:5000" || true
	in_ns uoa-lb "$LB" -m opp -n 2000 -I -c "[2001:db8::130]:1300" -s "[$LB_IP6]:1" -d "[$RS_IP6]:5000" || true
	echo 0 >"$fs/probability"
	local failed stored
	failed=$(extra uoa-rs insert_failed)
	stored=$(( $(extra uoa-rs mappings_ipv4) + $(extra uoa-rs mappings_ipv6) ))
	info "failslab at 5 % (300 failures at most): $stored mappings stored, $failed allocation failures counted"
	[ "$failed" -gt 0 ] || fail "no allocation failure counted"
	# Still answers: a new flow, looked up.
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.132:1320 -s "$LB_IP:40000" -d "$RS_IP:5000"
	sleep 0.3
	expect_eq "lookup after failslab" "$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 40000 '*' 5000)" "192.0.2.132 1320"
}

# Everything the module allocated is freed: a kmemleak scan after a load,
# traffic in every mode, lookups and rmmod finds no unreferenced object.
test_kmemleak_after_rmmod() {
	[ -e "$kml" ] || fail "no kmemleak in this kernel"
	echo scan >"$kml"
	echo clear >"$kml"
	make_pair uoa-lb uoa-rs
	load_uoa
	in_ns uoa-lb "$LB" -m opp -n 500 -I -c 192.0.2.140:1400 -s "$LB_IP:1" -d "$RS_IP:5000"
	in_ns uoa-lb "$LB" -m ipo -n 500 -I -c 192.0.2.141:1410 -s "$LB_IP:2000" -d "$RS_IP:5000"
	in_ns uoa-lb "$LB" -m opp -n 500 -I -c "[2001:db8::140]:1400" -s "[$LB_IP6]:1" -d "[$RS_IP6]:5000"
	in_ns uoa-rs "$LOOKUP" "$LB_IP" 1 '*' 5000 >/dev/null
	remove_namespaces
	rmmod_retry "before the kmemleak scan"
	# Objects are reported once they have been unreferenced for a while.
	sleep 6
	echo scan >"$kml"
	echo scan >"$kml"
	local leaks
	leaks=$(grep -c '^unreferenced object' "$kml" || true)
	info "kmemleak after rmmod: $leaks unreferenced objects"
	[ "$leaks" -eq 0 ] || fail "kmemleak: $(head -n 40 "$kml")"
}

# failslab stays off between tests, whatever a test left.
after_test() {
	echo 0 >"$fs/probability" 2>/dev/null
}

run_tests debug test_failslab_under_traffic test_kmemleak_after_rmmod
