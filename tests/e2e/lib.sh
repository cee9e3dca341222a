# shellcheck shell=bash
# Helpers for the end-to-end tests; sourced by run.sh inside the guest.
#
# Topology (each a network namespace, veth between them):
#   uoa-lb  10.0.1.1 fd00:1::1  --  uoa-rs  10.0.1.2 fd00:1::2
#   uoa-lb2 10.0.1.1 fd00:1::1  --  uoa-rs2 10.0.1.2 fd00:1::2  (same addresses)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The module under test: a file (insmod), or "installed": the one installed
# for the running kernel (modprobe uoa), as DKMS leaves it on a server.
MODULE=${UOA_MODULE:-$ROOT/uoa.ko}
LOOKUP=$ROOT/samples/uoa_lookup

LB_IP=10.0.1.1 RS_IP=10.0.1.2 LB_IP6=fd00:1::1 RS_IP6=fd00:1::2

# load_uoa [PARAM=VALUE...]: loads the module under test.
load_uoa() {
	if [ "$MODULE" = installed ]; then
		modprobe uoa "$@"
	else
		insmod "$MODULE" "$@"
	fi
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# info TEXT: a figure the test reports, shown even when it passes.
info() {
	echo "info: $*"
}

# run_tests LABEL TEST...: runs each test function in a subshell with
# set -e, then unloads the module, removes the namespaces (and calls
# after_test, if the caller defines one) and checks the kernel log; prints a
# TAP line per test, its "info:" lines, and "LABEL: N passed, N failed".
# Returns non-zero if any failed, or none ran.
run_tests() {
	local label=$1 t log rc trouble start passed=0 failed=0 n=0
	shift
	# A module loaded before (a check by hand) would make each load a no-op.
	grep -q '^uoa ' /proc/modules && rmmod uoa
	for t in "$@"; do
		n=$((n + 1))
		dmesg -C
		start=$SECONDS
		log=$( (set -e; "$t") 2>&1)
		rc=$?
		log="$log
info: took $((SECONDS - start)) s"
		! declare -F after_test >/dev/null || after_test
		grep -q '^uoa ' /proc/modules && rmmod uoa 2>/dev/null
		remove_namespaces
		trouble=$(kernel_trouble)
		if [ $rc -eq 0 ] && [ -z "$trouble" ]; then
			echo "ok $n - ${t#test_}"
			printf '%s\n' "$log" | sed -n 's/^info: /    # /p'
			passed=$((passed + 1))
		else
			echo "not ok $n - ${t#test_}"
			printf '%s\n' "$log" "$trouble" | sed '/^$/d; s/^/    # /'
			failed=$((failed + 1))
		fi
	done
	echo "1..$n"
	echo "$label: $passed passed, $failed failed"
	[ $failed -eq 0 ] && [ $n -gt 0 ]
}

# rmmod_retry WHAT: unloads the module, retrying for up to 2 s: a lookup
# in flight holds it for an instant, and an operator would retry too.
rmmod_retry() {
	local tries=0
	until rmmod uoa 2>/dev/null; do
		tries=$((tries + 1))
		[ $tries -lt 100 ] || fail "rmmod: $1"
		sleep 0.02
	done
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# A pair of namespaces joined by veth, with IPv4 and IPv6 addresses.
make_pair() {
	local lb=$1 rs=$2
	ip netns add "$lb"
	ip netns add "$rs"
	ip -n "$lb" link add veth0 type veth peer name veth0 netns "$rs"
	ip -n "$lb" addr add "$LB_IP/24" dev veth0
	ip -n "$rs" addr add "$RS_IP/24" dev veth0
	ip -n "$lb" addr add "$LB_IP6/64" dev veth0 nodad
	ip -n "$rs" addr add "$RS_IP6/64" dev veth0 nodad
	for ns in "$lb" "$rs"; do
		ip -n "$ns" link set lo up
		ip -n "$ns" link set veth0 up
	done
}

remove_namespaces() {
	local ns
	for ns in $(ip netns list | awk '/^uoa-/ {print $1}'); do
		ip netns del "$ns"
	done
}

# stat NS COLUMN: a column of /proc/net/uoa_stats in NS ("-": the initial
# namespace); 1 = Success, 2 = Miss, 3 = Invalid, 4 = Got, 5 = None,
# 6 = Saved, 7 = Ack-Fail.
stat() {
	if [ "$1" = - ]; then
		awk -v c="$2" 'NR == 2 {print $c}' /proc/net/uoa_stats
	else
		in_ns "$1" awk -v c="$2" 'NR == 2 {print $c}' /proc/net/uoa_stats
	fi
}

# udp_noports NS: datagrams NS's UDP found no socket for (/proc/net/snmp).
udp_noports() {
	in_ns "$1" awk '/^Udp:/ && $2 ~ /^[0-9]+$/ {print $3; exit}' /proc/net/snmp
}

# snmp NS GROUP FIELD: a counter of NS's /proc/net/snmp, by name (for
# example Ip InUnknownProtos).
snmp() {
	in_ns "$1" awk -v g="$2:" -v f="$3" '
		$1 == g && !n { for (i = 2; i <= NF; i++) col[$i] = i; n = 1; next }
		$1 == g && n { print $col[f]; exit }' /proc/net/snmp
}

# expect_stat WHAT NS COLUMN WANT: waits up to 3 s for the counter to reach
# WANT (packets may wait for neighbour discovery), then compares.
expect_stat() {
	local what=$1 ns=$2 col=$3 want=$4 i
	for i in $(seq 30); do
		[ "$(stat "$ns" "$col")" = "$want" ] && break
		sleep 0.1
	done
	expect_eq "$what" "$(stat "$ns" "$col")" "$want"
}

# send_udp NS ADDR PORT COUNT: COUNT plain datagrams from NS.
send_udp() {
	local ns=$1 addr=$2 port=$3 count=$4
	in_ns "$ns" bash -c "for i in \$(seq $count); do echo hello > /dev/udp/$addr/$port; done"
}

# Kernel log lines that mean something went wrong in the kernel.
kernel_trouble() {
	dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|UBSAN|KASAN|kmemleak|RCU.*stall|refcount_t:' || true
}

LB=$ROOT/samples/uoa_lb
ECHO=$ROOT/samples/uoa_echo
STORM=$ROOT/tests/e2e/uoa_storm

# The client libraries' examples (userspace/) and the operator's tool.
RUST_ECHO=$ROOT/userspace/target/release/examples/uoa_echo
PY_ECHO=$ROOT/userspace/python/uoa_echo.py
UOACTL=$ROOT/userspace/target/release/uoactl

# start_server NS OUT PORT COMMAND...: runs COMMAND in NS, output to OUT,
# and waits until it listens on UDP PORT.
start_server() {
	local ns=$1 out=$2 port=$3 hex i
	shift 3
	in_ns "$ns" "$@" >"$out" 2>&1 &
	hex=$(printf ':%04X ' "$port")
	for i in $(seq 100); do
		in_ns "$ns" cat /proc/net/udp /proc/net/udp6 2>/dev/null | grep -q "$hex" && return 0
		sleep 0.05
	done
	fail "server on port $port did not start: $(cat "$out")"
}

# start_echo NS OUT [-6] PORT: an echo server that prints each datagram's
# real client to OUT; waits until it listens.
start_echo() {
	local ns=$1 out=$2
	shift 2
	start_server "$ns" "$out" "${*: -1}" "$ECHO" "$@"
}

# expect_line WHAT FILE PATTERN: waits up to 3 s for a line matching PATTERN.
expect_line() {
	local what=$1 file=$2 pattern=$3 i
	for i in $(seq 30); do
		grep -qE -- "$pattern" "$file" && return 0
		sleep 0.1
	done
	fail "$what: no line matching '$pattern' in: $(cat "$file")"
}

# extra NS NAME: a value of /proc/net/uoa_stats_extra.
extra() {
	in_ns "$1" awk -v k="$2" '$1 == k {print $2}' /proc/net/uoa_stats_extra
}
