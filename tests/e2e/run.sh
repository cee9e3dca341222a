#!/usr/bin/env bash
# End-to-end tests of the uoa module. Runs inside the test guest, as root,
# from scripts/test.sh; prints a TAP line per test, then
# "N passed, N failed", and exits non-zero if any failed.
#
# usage: tests/e2e/run.sh [NAME-PATTERN]
set -u
. "$(dirname "$0")/lib.sh"

# --- tests: each runs in a subshell with set -e; module unloaded after ---

test_load_creates_proc_files() {
	insmod "$MODULE"
	[ -r /proc/net/uoa_stats ] || fail "no /proc/net/uoa_stats"
	[ -r /proc/net/uoa_stats_percpu ] || fail "no /proc/net/uoa_stats_percpu"
	expect_eq header "$(head -n 1 /proc/net/uoa_stats)" \
		" Success     Miss  Invalid|UOA  Got     None    Saved Ack-Fail"
	expect_eq "percpu header" "$(head -n 1 /proc/net/uoa_stats_percpu)" \
		"CPU   Success     Miss  Invalid|UOA  Got     None    Saved Ack-Fail"
	expect_eq "percpu lines" "$(($(wc -l </proc/net/uoa_stats_percpu) - 1))" \
		"$(($(cat /sys/devices/system/cpu/possible | awk -F- '{print $NF}') + 1))"
	expect_eq "values line" "$(awk 'NR == 2' /proc/net/uoa_stats)" \
		"       0        0        0        0        0        0        0"
}

test_namespaces_before_and_after_insmod() {
	ip netns add uoa-before
	insmod "$MODULE"
	ip netns add uoa-after
	for ns in uoa-before uoa-after; do
		in_ns "$ns" test -r /proc/net/uoa_stats || fail "no stats in $ns"
	done
	rmmod uoa
	for ns in uoa-before uoa-after; do
		! in_ns "$ns" test -e /proc/net/uoa_stats || fail "stats left in $ns after rmmod"
	done
}

test_plain_udp_counted_as_none() {
	make_pair uoa-lb uoa-rs
	insmod "$MODULE"
	send_udp uoa-lb "$RS_IP" 5000 5
	expect_stat "None after 5 IPv4" uoa-rs 5 5
	send_udp uoa-lb "$RS_IP6" 5000 3
	expect_stat "None after 3 IPv6" uoa-rs 5 8
	expect_eq "None in the sender's namespace" "$(stat uoa-lb 5)" 0
	expect_eq "Got" "$(stat uoa-rs 4)" 0
}

test_lookup_miss_is_enoent() {
	make_pair uoa-lb uoa-rs
	insmod "$MODULE"
	local out
	out=$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4000 "$RS_IP" 5000) && fail "lookup succeeded: $out"
	expect_eq "IPv4 socket" "$out" ENOENT
	out=$(in_ns uoa-rs "$LOOKUP" -6 "$LB_IP" 4000) && fail "lookup succeeded: $out"
	expect_eq "IPv6 socket" "$out" ENOENT
	expect_eq "Miss column" "$(stat uoa-rs 2)" 2
}

test_lookup_bad_arguments() {
	insmod "$MODULE"
	local out
	out=$("$LOOKUP" -l 57 "$LB_IP" 4000) && fail "short length accepted"
	expect_eq "length 57" "$out" EINVAL
	out=$("$LOOKUP" -f "$LB_IP" 4000) && fail "bad pointer accepted"
	expect_eq "bad pointer" "$out" EFAULT
	expect_eq "Invalid column" "$(stat - 3)" 2
}

test_bad_parameters_refused() {
	local p out
	for p in uoa_debug=2 uoa_map_timeout=0 uoa_map_tab_bits=40 uoa_hook_forward=-1; do
		if out=$(insmod "$MODULE" "$p" 2>&1); then
			rmmod uoa
			fail "insmod accepted $p"
		fi
		# kmod words EINVAL as "Invalid parameters".
		case "$out" in *"Invalid param"* | *"Invalid argument"*) ;; *) fail "insmod $p: $out" ;; esac
		dmesg | grep -q "uoa: ${p%%=*}=" || fail "no log line for $p"
	done
	[ ! -e /proc/net/uoa_stats ] || fail "proc file left behind"
}

test_unload_leaves_nothing() {
	make_pair uoa-lb uoa-rs
	insmod "$MODULE"
	send_udp uoa-lb "$RS_IP" 5000 3
	rmmod uoa
	! grep -q '^uoa ' /proc/modules || fail "module still listed"
	local left
	left=$(ls /proc/net/ | grep uoa || true)
	expect_eq "proc files in init namespace" "$left" ""
	left=$(in_ns uoa-rs ls /proc/net/ | grep uoa || true)
	expect_eq "proc files in uoa-rs" "$left" ""
	# The lookup is gone with the module.
	local out
	out=$("$LOOKUP" "$LB_IP" 4000) && fail "lookup answered after rmmod"
	expect_eq "lookup after rmmod" "$out" ENOPROTOOPT
}

# --- runner ---

pattern=${1:-}
passed=0 failed=0 n=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
	case "$t" in *"$pattern"*) ;; *) continue ;; esac
	n=$((n + 1))
	dmesg -C
	log=$( (set -e; "$t") 2>&1)
	rc=$?
	grep -q '^uoa ' /proc/modules && rmmod uoa 2>/dev/null
	remove_namespaces
	trouble=$(kernel_trouble)
	if [ $rc -eq 0 ] && [ -z "$trouble" ]; then
		echo "ok $n - ${t#test_}"
		passed=$((passed + 1))
	else
		echo "not ok $n - ${t#test_}"
		printf '%s\n' "$log" "$trouble" | sed '/^$/d; s/^/    # /'
		failed=$((failed + 1))
	fi
done
echo "1..$n"
echo "e2e: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ $n -gt 0 ]
