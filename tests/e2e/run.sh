#!/usr/bin/env bash
# End-to-end tests of the uoa module. Runs inside the test guest, as root,
# from scripts/test.sh; prints a TAP line per test, then
# "N passed, N failed", and exits non-zero if any failed.
#
# usage: tests/e2e/run.sh [NAME-PART...]
set -u
. "$(dirname "$0")/lib.sh"

# --- tests: each runs in a subshell with set -e; module unloaded after ---

test_load_creates_proc_files() {
	load_uoa
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
	load_uoa
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
	load_uoa
	send_udp uoa-lb "$RS_IP" 5000 5
	expect_stat "None after 5 IPv4" uoa-rs 5 5
	send_udp uoa-lb "$RS_IP6" 5000 3
	expect_stat "None after 3 IPv6" uoa-rs 5 8
	expect_eq "None in the sender's namespace" "$(stat uoa-lb 5)" 0
	expect_eq "Got" "$(stat uoa-rs 4)" 0
}

test_lookup_miss_is_enoent() {
	make_pair uoa-lb uoa-rs
	load_uoa
	local out
	out=$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4000 "$RS_IP" 5000) && fail "lookup succeeded: $out"
	expect_eq "IPv4 socket" "$out" ENOENT
	out=$(in_ns uoa-rs "$LOOKUP" -6 "$LB_IP" 4000 '*' 5000) && fail "lookup succeeded: $out"
	expect_eq "IPv6 socket" "$out" ENOENT
	expect_eq "Miss column" "$(stat uoa-rs 2)" 2
}

test_lookup_bad_arguments() {
	load_uoa
	local out
	out=$("$LOOKUP" -l 57 "$LB_IP" 4000 '*' 5000) && fail "short length accepted"
	expect_eq "length 57" "$out" EINVAL
	out=$("$LOOKUP" -f "$LB_IP" 4000 '*' 5000) && fail "bad pointer accepted"
	expect_eq "bad pointer" "$out" EFAULT
	out=$("$LOOKUP" -a 99 "$LB_IP" 4000 '*' 5000) && fail "unknown af accepted"
	expect_eq "unknown af" "$out" EINVAL
	out=$("$LOOKUP" -t "$LB_IP" 4000 '*' 5000) && fail "TCP socket answered"
	expect_eq "TCP socket" "$out" EOPNOTSUPP
	expect_eq "Invalid column" "$(stat - 3)" 4
	# A negative length is refused by the IP layer, before the module.
	out=$("$LOOKUP" -l -1 "$LB_IP" 4000 '*' 5000) && fail "negative length accepted"
	expect_eq "length -1" "$out" EINVAL
	expect_eq "Invalid column, unchanged" "$(stat - 3)" 4
	# A longer buffer is answered, with the struct's length: here a miss.
	out=$("$LOOKUP" -l 4096 "$LB_IP" 4000 '*' 5000) && fail "lookup of nothing answered"
	expect_eq "length 4096" "$out" ENOENT
}

test_lookup_long_buffer_answered() {
	make_pair uoa-lb uoa-rs
	load_uoa
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.77:7777 -s "$LB_IP:4040" -d "$RS_IP:5000"
	sleep 0.2
	# uoa_lookup checks that the length comes back as 58.
	expect_eq "length 4096" "$(in_ns uoa-rs "$LOOKUP" -l 4096 "$LB_IP" 4040 '*' 5000)" "192.0.2.77 7777"
	expect_eq "length 58" "$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4040 '*' 5000)" "192.0.2.77 7777"
}

test_bad_parameters_refused() {
	local p out
	for p in uoa_debug=2 uoa_map_timeout=0 uoa_map_tab_bits=40 uoa_hook_forward=-1 uoa_map_max=0 \
		uoa_trusted=10.0.0.0/33 v6_to_v4_enable=2; do
		if out=$(load_uoa "$p" 2>&1); then
			rmmod uoa
			fail "insmod accepted $p"
		fi
		# kmod words EINVAL as "Invalid parameters".
		case "$out" in *"Invalid param"* | *"Invalid argument"*) ;; *) fail "insmod $p: $out" ;; esac
		dmesg | grep -q "uoa: ${p%%=*}=" || fail "no log line for $p"
	done
	# The NAT64 prefix is checked when it is used.
	if load_uoa v6_to_v4_enable=1 v6_to_v4_prefix_str=64:ff9b 2>/dev/null; then
		rmmod uoa
		fail "insmod accepted v6_to_v4_prefix_str=64:ff9b"
	fi
	dmesg | grep -q "uoa: v6_to_v4_prefix_str=64:ff9b: not an IPv6 address" ||
		fail "no log line for v6_to_v4_prefix_str"
	[ ! -e /proc/net/uoa_stats ] || fail "proc file left behind"
}

test_unload_leaves_nothing() {
	make_pair uoa-lb uoa-rs
	load_uoa
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
	out=$("$LOOKUP" "$LB_IP" 4000 '*' 5000) && fail "lookup answered after rmmod"
	expect_eq "lookup after rmmod" "$out" ENOPROTOOPT
}

# A load balancer's packets in every mode: the payload reaches an ordinary
# UDP socket and the application's lookup names the real client.
# check_mode NAME ECHO_FLAGS LB_ARGS... (client and payload given here).
check_mode() {
	local name=$1 echo_flags=$2
	shift 2
	make_pair uoa-lb uoa-rs
	load_uoa
	start_echo uoa-rs /tmp/echo.out $echo_flags 5000
	in_ns uoa-lb "$LB" -t "payload-$name" "$@"
	expect_line "$name" /tmp/echo.out "real $REAL_EXPECT len [0-9]+ payload payload-$name\$"
	expect_eq "Got" "$(stat uoa-rs 4)" 1
	expect_eq "Saved" "$(stat uoa-rs 6)" 1
	expect_eq "malformed" "$(extra uoa-rs malformed)" 0
}

test_mode_ipo() {
	REAL_EXPECT="198.51.100.7 40001" check_mode ipo "" \
		-m ipo -c 198.51.100.7:40001 -s "$LB_IP:4001" -d "$RS_IP:5000"
}

test_mode_ipo_on_ipv6_socket() {
	# A dual-stack AF_INET6 socket sees ::ffff:10.0.1.1 and asks with it.
	REAL_EXPECT="198.51.100.7 40001" check_mode ipo6sock -6 \
		-m ipo -c 198.51.100.7:40001 -s "$LB_IP:4001" -d "$RS_IP:5000"
}

test_mode_opp_ipv4() {
	REAL_EXPECT="198.51.100.8 40002" check_mode opp4 "" \
		-m opp -c 198.51.100.8:40002 -s "$LB_IP:4002" -d "$RS_IP:5000"
	expect_eq "opp removed: plain UDP delivered" "$(extra uoa-rs strip_failed)" 0
}

test_mode_opp_ipv6() {
	REAL_EXPECT="2001:db8::8 40003" check_mode opp6 -6 \
		-m opp -c "[2001:db8::8]:40003" -s "[$LB_IP6]:4003" -d "[$RS_IP6]:5000"
	expect_eq "IPv6 mapping" "$(extra uoa-rs mappings_ipv6)" 1
}

# Fragmented opp datagrams reach LOCAL_IN whole, IPv4 ones always and
# IPv6 ones through the defragmenter the module enables in every namespace:
# the opp header is removed, the client recorded and looked up.
test_fragmented_opp_delivered() {
	local big ns
	big=$(head -c 3000 /dev/zero | tr '\0' f)
	make_pair uoa-lb uoa-rs
	# Two fragments of 1,600 bytes need more than Ethernet's MTU.
	for ns in uoa-lb uoa-rs; do
		ip -n "$ns" link set veth0 mtu 9000
	done
	load_uoa
	start_echo uoa-rs /tmp/frag.out -6 5000
	in_ns uoa-lb "$LB" -F 1600 -t "$big" -m opp -c 192.0.2.50:5050 -s "$LB_IP:4050" -d "$RS_IP:5000"
	expect_line "IPv4 in two fragments" /tmp/frag.out "real 192.0.2.50 5050 len 3000 payload f"
	in_ns uoa-lb "$LB" -F 1600 -t "$big" -m opp -c "[2001:db8::50]:5051" -s "[$LB_IP6]:4051" -d "[$RS_IP6]:5000"
	expect_line "IPv6 in two fragments" /tmp/frag.out "real 2001:db8::50 5051 len 3000 payload f"
	expect_eq "Saved" "$(stat uoa-rs 6)" 2
	expect_eq "fragments left alone" "$(extra uoa-rs fragments)" 0
}

test_mode_opp_ipv6_with_ipv4_client() {
	REAL_EXPECT="198.51.100.9 40004" check_mode opp6v4 -6 \
		-m opp -c 198.51.100.9:40004 -s "[$LB_IP6]:4004" -d "[$RS_IP6]:5000"
}

test_mode_nat64() {
	# An IPv6 client reaching an IPv4 real server: opp version 2 over IPv4.
	REAL_EXPECT="2001:db8::64 40005" check_mode nat64 "" \
		-m opp -c "[2001:db8::64]:40005" -s "$LB_IP:4005" -d "$RS_IP:5000"
}

test_mode_standalone_ipo() {
	# An empty datagram with the UOA, then the payload as plain UDP.
	REAL_EXPECT="198.51.100.10 40006" check_mode standalone-ipo "-c 2" \
		-S -m ipo -c 198.51.100.10:40006 -s "$LB_IP:4006" -d "$RS_IP:5000"
	expect_line "empty datagram" /tmp/echo.out "real 198.51.100.10 40006 len 0 payload \$"
}

test_mode_standalone_opp_ipv6() {
	REAL_EXPECT="2001:db8::11 40007" check_mode standalone-opp6 "-6 -c 2" \
		-S -m opp -c "[2001:db8::11]:40007" -s "[$LB_IP6]:4007" -d "[$RS_IP6]:5000"
}

# --- other balancers' formats (ByteDance, Huawei Cloud ELB) ---

# vendor_mode NAME COUNTER ECHO_FLAGS LB_ARGS...: check_mode, then the
# per-format counter COUNTER of uoa_stats_extra says 1.
vendor_mode() {
	local name=$1 counter=$2 flags=$3
	shift 3
	check_mode "$name" "$flags" "$@"
	expect_eq "$counter" "$(extra uoa-rs "$counter")" 1
}

test_bytedance_ipv4_option() {
	REAL_EXPECT="198.51.100.20 2001" vendor_mode bd-ipo format_bytedance_option "" \
		-m bd-ipo -c 198.51.100.20:2001 -o 203.0.113.1:53 -s "$LB_IP:4201" -d "$RS_IP:5000"
}

test_bytedance_ipv4_option_inner_ipv6() {
	REAL_EXPECT="2001:db8::21 2002" vendor_mode bd-asym6 format_bytedance_option "" \
		-m bd-ipo -A -c "[2001:db8::21]:2002" -o "[2001:db8::99]:53" -s "$LB_IP:4202" -d "$RS_IP:5000"
}

test_bytedance_vni_option() {
	REAL_EXPECT="198.51.100.23 2003" vendor_mode bd-vni format_bytedance_vni_option "" \
		-m bd-vni -N 0x4242 -c 198.51.100.23:2003 -s "$LB_IP:4203" -d "$RS_IP:5000"
}

# ByteDance's own module reads only an option right after the fixed
# header; this module walks the option area (RFC 791) and takes the first
# UOA-family option wherever it is, with UDP at ihl x 4, as the stack does.
test_bytedance_option_behind_another_option() {
	REAL_EXPECT="198.51.100.24 2004" vendor_mode bd-nop format_bytedance_option "" \
		-m bd-ipo -B -c 198.51.100.24:2004 -s "$LB_IP:4204" -d "$RS_IP:5000"
}

test_bytedance_opp() {
	REAL_EXPECT="198.51.100.25 2005" vendor_mode bd-opp format_bytedance_opp "" \
		-m bd-opp -c 198.51.100.25:2005 -s "$LB_IP:4205" -d "$RS_IP:5000"
	expect_eq "opp removed" "$(extra uoa-rs strip_failed)" 0
}

test_bytedance_destination_options() {
	REAL_EXPECT="2001:db8::26 2006" vendor_mode bd-dstopt format_bytedance_dstopt -6 \
		-m bd-dstopt -c "[2001:db8::26]:2006" -o "[2001:db8::99]:53" -s "[$LB_IP6]:4206" -d "[$RS_IP6]:5000"
}

test_bytedance_vni_destination_options_inner_ipv4() {
	REAL_EXPECT="198.51.100.27 2007" vendor_mode bd-vni-dstopt format_bytedance_vni_dstopt -6 \
		-m bd-vni-dstopt -N 7 -c 198.51.100.27:2007 -s "[$LB_IP6]:4207" -d "[$RS_IP6]:5000"
}

test_huawei_destination_options() {
	REAL_EXPECT="2001:db8::28 2008" vendor_mode hw-dstopt format_huawei_dstopt -6 \
		-m hw-dstopt -c "[2001:db8::28]:2008" -s "[$LB_IP6]:4208" -d "[$RS_IP6]:5000"
}

# Huawei's module never finds its option after another extension header;
# this one does.
test_huawei_destination_options_after_hop_by_hop() {
	REAL_EXPECT="198.51.100.29 2009" vendor_mode hw-hbh format_huawei_dstopt -6 \
		-m hw-dstopt -H -c 198.51.100.29:2009 -s "[$LB_IP6]:4209" -d "[$RS_IP6]:5000"
}

# Every lookup layout on flows of every kind: DPVS's (58 bytes), the
# legacy IPv4 one (2048, exactly 18), ByteDance's 2049 and 2050, with the
# original destination and VNI their formats carry; wrong lengths EINVAL,
# a miss ENOENT everywhere.
# A flow whose client changes to one sent in a format without a
# destination loses the old client's destination; the same client
# refreshed keeps it.
test_vendor_extra_follows_the_client() {
	make_pair uoa-lb uoa-rs
	load_uoa
	local q=("$LB_IP" 4250 '*' 5000)
	in_ns uoa-lb "$LB" -m bd-ipo -c 198.51.100.50:2050 -o 203.0.113.5:53 -s "$LB_IP:4250" -d "$RS_IP:5000"
	expect_stat "Saved" uoa-rs 6 1
	expect_eq "ByteDance's UOA" "$(in_ns uoa-rs "$LOOKUP" -L 2049 "${q[@]}")" \
		"198.51.100.50 2050 dest 203.0.113.5 53 len 40"
	in_ns uoa-lb "$LB" -m ipo -c 198.51.100.50:2050 -s "$LB_IP:4250" -d "$RS_IP:5000"
	expect_stat "Got" uoa-rs 4 2
	expect_eq "the same client, refreshed" "$(in_ns uoa-rs "$LOOKUP" -L 2049 "${q[@]}")" \
		"198.51.100.50 2050 dest 203.0.113.5 53 len 40"
	in_ns uoa-lb "$LB" -m opp -c 198.51.100.51:2051 -s "$LB_IP:4250" -d "$RS_IP:5000"
	expect_stat "Got" uoa-rs 4 3
	expect_eq "a new client without a destination" "$(in_ns uoa-rs "$LOOKUP" -L 2049 "${q[@]}")" \
		"198.51.100.51 2051 len 40"
	expect_eq "IPv4 mappings" "$(extra uoa-rs mappings_ipv4)" 1
}

test_vendor_lookups() {
	make_pair uoa-lb uoa-rs
	load_uoa
	in_ns uoa-lb "$LB" -m bd-ipo -c 198.51.100.40:2040 -o 203.0.113.1:53 -s "$LB_IP:4240" -d "$RS_IP:5000"
	in_ns uoa-lb "$LB" -m bd-vni -N 4242 -c 198.51.100.41:2041 -s "$LB_IP:4241" -d "$RS_IP:5000"
	in_ns uoa-lb "$LB" -m bd-dstopt -c "[2001:db8::42]:2042" -o "[2001:db8::99]:53" \
		-s "[$LB_IP6]:4242" -d "[$RS_IP6]:5000"
	in_ns uoa-lb "$LB" -m opp -c 198.51.100.43:2043 -s "$LB_IP:4243" -d "$RS_IP:5000"
	# The IPv6 one waits for neighbour discovery.
	expect_stat "Saved" uoa-rs 6 4
	local q=("$LB_IP" 4240 '*' 5000)
	expect_eq "DPVS layout" "$(in_ns uoa-rs "$LOOKUP" "${q[@]}")" "198.51.100.40 2040"
	expect_eq "legacy layout" "$(in_ns uoa-rs "$LOOKUP" -L legacy "${q[@]}")" "198.51.100.40 2040"
	expect_eq "2049" "$(in_ns uoa-rs "$LOOKUP" -L 2049 "${q[@]}")" "198.51.100.40 2040 dest 203.0.113.1 53 len 40"
	expect_eq "2050" "$(in_ns uoa-rs "$LOOKUP" -L 2050 "${q[@]}")" "198.51.100.40 2040 dest 203.0.113.1 53 len 44"
	expect_eq "2049, longer buffer" "$(in_ns uoa-rs "$LOOKUP" -L 2049 -l 64 "${q[@]}")" \
		"198.51.100.40 2040 dest 203.0.113.1 53 len 40"
	expect_eq "2049 short" "$(in_ns uoa-rs "$LOOKUP" -L 2049 -l 39 "${q[@]}")" EINVAL
	expect_eq "2050 short" "$(in_ns uoa-rs "$LOOKUP" -L 2050 -l 43 "${q[@]}")" EINVAL
	expect_eq "legacy 17" "$(in_ns uoa-rs "$LOOKUP" -L legacy -l 17 "${q[@]}")" EINVAL
	expect_eq "legacy 19" "$(in_ns uoa-rs "$LOOKUP" -L legacy -l 19 "${q[@]}")" EINVAL
	expect_eq "DPVS 57" "$(in_ns uoa-rs "$LOOKUP" -l 57 "${q[@]}")" EINVAL
	expect_eq "VNI, 2050" "$(in_ns uoa-rs "$LOOKUP" -L 2050 "$LB_IP" 4241 '*' 5000)" \
		"198.51.100.41 2041 vni 4242 len 44"
	expect_eq "VNI, 2049" "$(in_ns uoa-rs "$LOOKUP" -L 2049 "$LB_IP" 4241 '*' 5000)" \
		"198.51.100.41 2041 len 40"
	expect_eq "IPv6, 2049" "$(in_ns uoa-rs "$LOOKUP" -6 -L 2049 "$LB_IP6" 4242 '*' 5000)" \
		"2001:db8::42 2042 dest 2001:db8::99 53 len 40"
	expect_eq "DPVS opp flow, 2050" "$(in_ns uoa-rs "$LOOKUP" -L 2050 "$LB_IP" 4243 '*' 5000)" \
		"198.51.100.43 2043 len 44"
	for l in 2049 2050 legacy; do
		expect_eq "miss, $l" "$(in_ns uoa-rs "$LOOKUP" -L $l "$LB_IP" 4299 '*' 5000)" ENOENT
	done
}

# v6_to_v4_enable=1: ByteDance's lookups answer IPv6 clients and
# destinations under the prefix as IPv4, all 12 prefix bytes compared.
test_vendor_lookup_nat64() {
	make_pair uoa-lb uoa-rs
	load_uoa v6_to_v4_enable=1 v6_to_v4_prefix_str=64:ff9b::
	in_ns uoa-lb "$LB" -m bd-dstopt -c "[64:ff9b::c633:642c]:2044" -o "[64:ff9b::cb00:7109]:53" \
		-s "[$LB_IP6]:4244" -d "[$RS_IP6]:5000"
	in_ns uoa-lb "$LB" -m bd-dstopt -c "[64:ff9b:0:1::c633:642d]:2045" -o "[64:ff9b::cb00:7109]:53" \
		-s "[$LB_IP6]:4245" -d "[$RS_IP6]:5000"
	expect_stat "Saved" uoa-rs 6 2
	expect_eq "translated" "$(in_ns uoa-rs "$LOOKUP" -6 -L 2049 "$LB_IP6" 4244 '*' 5000)" \
		"198.51.100.44 2044 dest 203.0.113.9 53 len 40"
	expect_eq "outside the prefix" "$(in_ns uoa-rs "$LOOKUP" -6 -L 2049 "$LB_IP6" 4245 '*' 5000)" \
		"64:ff9b:0:1::c633:642d 2045 dest 64:ff9b::cb00:7109 53 len 40"
	# DPVS's layout is not translated.
	expect_eq "DPVS layout" "$(in_ns uoa-rs "$LOOKUP" -6 "$LB_IP6" 4244 '*' 5000)" "64:ff9b::c633:642c 2044"
}

# A malformed variant of each vendor format is counted and stores nothing.
# (The IPv4 ones after a NOP, with a length that still ends the option area
# where RFC 791 wants it: the IP layer itself drops any other.)
test_vendor_formats_malformed() {
	make_pair uoa-lb uoa-rs
	load_uoa
	local n=0 args family
	while read -r family args; do
		[ -n "$args" ] || continue
		if [ "$family" = 4 ]; then
			# shellcheck disable=SC2086
			in_ns uoa-lb "$LB" $args -s "$LB_IP:4230" -d "$RS_IP:5000" || fail "uoa_lb $args"
		else
			# shellcheck disable=SC2086
			in_ns uoa-lb "$LB" $args -s "[$LB_IP6]:4230" -d "[$RS_IP6]:5000" || fail "uoa_lb $args"
		fi
		n=$((n + 1))
		sleep 0.1
		[ "$(extra uoa-rs malformed)" = "$n" ] || sleep 0.5
		expect_eq "malformed after: $args" "$(extra uoa-rs malformed)" "$n"
	done <<-'CASES'
		4 -m bd-ipo -B -L 19 -c 198.51.100.30:3000
		4 -m bd-vni -B -L 19 -c 198.51.100.30:3000
		4 -m bd-opp -O 16 -c 198.51.100.30:3000
		6 -m bd-dstopt -L 20 -c [2001:db8::30]:3000 -o [2001:db8::99]:53
		6 -m bd-vni-dstopt -L 16 -c 198.51.100.30:3000
		6 -m hw-dstopt -L 10 -c [2001:db8::30]:3000
	CASES
	expect_eq "nothing stored" "$(($(extra uoa-rs mappings_ipv4) + $(extra uoa-rs mappings_ipv6)))" 0
	expect_eq "Saved" "$(stat uoa-rs 6)" 0
}

test_lookup_by_hand_and_wildcard() {
	make_pair uoa-lb uoa-rs
	load_uoa
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.33:3333 -s "$LB_IP:4010" -d "$RS_IP:5000"
	sleep 0.2
	expect_eq "exact" "$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4010 "$RS_IP" 5000)" "192.0.2.33 3333"
	expect_eq "wildcard daddr" "$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4010 '*' 5000)" "192.0.2.33 3333"
	expect_eq "IPv6 socket" "$(in_ns uoa-rs "$LOOKUP" -6 "$LB_IP" 4010 '*' 5000)" "192.0.2.33 3333"
	local out
	out=$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4011 "$RS_IP" 5000) && fail "other port found: $out"
	expect_eq "other sport" "$out" ENOENT
	out=$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4010 10.0.1.99 5000) && fail "other daddr found: $out"
	expect_eq "other daddr" "$out" ENOENT
	expect_eq "Success" "$(stat uoa-rs 1)" 3
	expect_eq "Miss" "$(stat uoa-rs 2)" 2
}

test_overwrite() {
	make_pair uoa-lb uoa-rs
	load_uoa
	in_ns uoa-lb "$LB" -m ipo -c 192.0.2.1:1111 -s "$LB_IP:4020" -d "$RS_IP:5000"
	sleep 0.2
	expect_eq "first" "$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4020 "$RS_IP" 5000)" "192.0.2.1 1111"
	in_ns uoa-lb "$LB" -m opp -c "[2001:db8::2]:2222" -s "$LB_IP:4020" -d "$RS_IP:5000"
	sleep 0.2
	expect_eq "overwritten" "$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4020 "$RS_IP" 5000)" "2001:db8::2 2222"
	expect_eq "one mapping" "$(extra uoa-rs mappings_ipv4)" 1
	expect_eq "Saved" "$(stat uoa-rs 6)" 2
}

# Malformed packets store nothing, crash nothing, and the module goes on.
test_malformed_packets() {
	make_pair uoa-lb uoa-rs
	load_uoa
	local c=192.0.2.66:6666 s="$LB_IP:4030" d="$RS_IP:5000" n=0 counted args
	# COUNTED 1: reaches the module and is counted as malformed; 0: the IP
	# layer already drops it (its option area breaks RFC 791).
	while read -r counted args; do
		[ -n "$args" ] || continue
		# shellcheck disable=SC2086
		in_ns uoa-lb "$LB" $args -c "$c" -s "$s" -d "$d" || fail "uoa_lb $args"
		n=$((n + counted))
		sleep 0.1
		[ "$(extra uoa-rs malformed)" = "$n" ] || sleep 0.5
		expect_eq "malformed after: $args" "$(extra uoa-rs malformed)" "$n"
	done <<-'CASES'
		0 -m ipo -L 3
		1 -m ipo -L 12
		1 -m ipo -L 40
		0 -m ipo -L 200
		1 -m opp -L 3
		1 -m opp -L 12
		1 -m opp -L 40
		1 -m opp -L 200
		1 -m opp -O 0
		1 -m opp -O 5
		1 -m opp -O 400
		1 -m opp -O 2
		1 -m opp -V 3 -O 16
		1 -m opp -V 2
		1 -m opp -T 30
		1 -m opp -T 34
	CASES
	expect_eq "nothing stored" "$(extra uoa-rs mappings_ipv4)" 0
	# The malformed opp packets were dropped: none reached the IP layer as
	# protocol 248, which would have answered its source with an ICMP error.
	expect_eq "opp dropped" "$(extra uoa-rs opp_dropped)" 12
	expect_eq "unknown protocol at the IP layer" "$(snmp uoa-rs Ip InUnknownProtos)" 0
	expect_eq "Saved" "$(stat uoa-rs 6)" 0
	expect_eq "Got" "$(stat uoa-rs 4)" 0
	local out
	out=$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4030 '*' 5000) && fail "malformed UOA answered: $out"
	# Still working.
	in_ns uoa-lb "$LB" -m opp -c "$c" -s "$s" -d "$d"
	sleep 0.2
	expect_eq "valid after malformed" "$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4030 '*' 5000)" "192.0.2.66 6666"
}

# A storm of randomly mutated IPv4 and IPv6 packets (tests/e2e/uoa_storm.c:
# options, opp headers, lengths, truncations, extension headers, fragments)
# at a real server: no kernel report (run_tests checks the log), no opp
# packet reaches the IP layer as protocol 248, and afterwards the module
# still answers correctly, for a flow stored before the storm and one after.
test_packet_storm() {
	local n=${UOA_STORM_PACKETS:-100000} seed=${UOA_STORM_SEED:-$RANDOM} out watcher i
	make_pair uoa-lb uoa-rs
	# Mappings outlive the storm, however slow the kernel (a debug one).
	load_uoa uoa_map_timeout=3600
	# Counts what reaches the IP layer as protocol 248.
	ip netns exec uoa-rs "$STORM" -w >/tmp/uoa-storm-watch 2>&1 &
	watcher=$!
	for i in $(seq 50); do
		grep -q watching /tmp/uoa-storm-watch && break
		sleep 0.05
	done
	# The storm's datagrams go to port 5000; this flow's to 5001.
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.150:1500 -s "$LB_IP:4150" -d "$RS_IP:5001"
	expect_stat "stored before the storm" uoa-rs 6 1
	out=$(in_ns uoa-lb "$STORM" -s "$LB_IP" -d "$RS_IP" -S "$LB_IP6" -D "$RS_IP6" \
		-p 5000 -n "$n" -r "$seed") || fail "uoa_storm: $out"
	info "storm (seed $seed): $out"
	info "storm: the module counted $(stat uoa-rs 6) saved, $(extra uoa-rs malformed) malformed," \
		"$(extra uoa-rs opp_dropped) opp dropped, $(extra uoa-rs fragments) fragments;" \
		"$(extra uoa-rs mappings_ipv4) + $(extra uoa-rs mappings_ipv6) mappings"
	[ "$(extra uoa-rs malformed)" -gt 0 ] || fail "no malformed packet reached the module"
	[ "$(stat uoa-rs 6)" -gt 0 ] || fail "no valid packet stored a mapping"
	sleep 0.5
	kill "$watcher"
	wait "$watcher" || true
	expect_line "protocol 248 watcher" /tmp/uoa-storm-watch '^protocol 248 delivered'
	info "storm: $(grep delivered /tmp/uoa-storm-watch)"
	grep -q 'delivered: 0 IPv4, 0 IPv6' /tmp/uoa-storm-watch || fail "opp packets reached the IP layer"
	expect_eq "flow from before the storm" "$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4150 '*' 5001)" "192.0.2.150 1500"
	in_ns uoa-lb "$LB" -m opp -c "[2001:db8::151]:1510" -s "[$LB_IP6]:4151" -d "[$RS_IP6]:5001"
	for i in $(seq 30); do
		in_ns uoa-rs "$LOOKUP" -6 "$LB_IP6" 4151 '*' 5001 >/dev/null && break
		sleep 0.1
	done
	expect_eq "flow after the storm" "$(in_ns uoa-rs "$LOOKUP" -6 "$LB_IP6" 4151 '*' 5001)" "2001:db8::151 1510"
}

test_namespace_isolation() {
	make_pair uoa-lb uoa-rs
	load_uoa
	# A second real server with the same addresses, made after insmod.
	make_pair uoa-lb2 uoa-rs2
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.71:7171 -s "$LB_IP:4040" -d "$RS_IP:5000"
	in_ns uoa-lb2 "$LB" -m ipo -c 192.0.2.72:7272 -s "$LB_IP:4041" -d "$RS_IP:5000"
	sleep 0.3
	expect_eq "rs sees its own" "$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4040 '*' 5000)" "192.0.2.71 7171"
	expect_eq "rs2 sees its own" "$(in_ns uoa-rs2 "$LOOKUP" "$LB_IP" 4041 '*' 5000)" "192.0.2.72 7272"
	local out
	out=$(in_ns uoa-rs2 "$LOOKUP" "$LB_IP" 4040 '*' 5000) && fail "rs2 read rs's client: $out"
	expect_eq "rs's flow from rs2" "$out" ENOENT
	out=$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4041 '*' 5000) && fail "rs read rs2's client: $out"
	expect_eq "rs2's flow from rs" "$out" ENOENT
	out=$("$LOOKUP" "$LB_IP" 4040 '*' 5000) && fail "initial namespace read rs's client: $out"
	expect_eq "Got in rs" "$(stat uoa-rs 4)" 1
	expect_eq "Got in rs2" "$(stat uoa-rs2 4)" 1
	expect_eq "Got in the initial namespace" "$(stat - 4)" 0
}

# uoa-lb -- uoa-fw (routes) -- uoa-rs, for the FORWARD chain.
make_routed() {
	ip netns add uoa-lb
	ip netns add uoa-fw
	ip netns add uoa-rs
	ip -n uoa-lb link add veth0 type veth peer name veth0 netns uoa-fw
	ip -n uoa-fw link add veth1 type veth peer name veth0 netns uoa-rs
	ip -n uoa-lb addr add 10.0.2.1/24 dev veth0
	ip -n uoa-fw addr add 10.0.2.2/24 dev veth0
	ip -n uoa-fw addr add 10.0.3.1/24 dev veth1
	ip -n uoa-rs addr add 10.0.3.2/24 dev veth0
	local ns
	for ns in uoa-lb uoa-fw uoa-rs; do
		ip -n $ns link set lo up
		ip -n $ns link set veth0 up
	done
	ip -n uoa-fw link set veth1 up
	ip -n uoa-lb route add default via 10.0.2.2
	ip -n uoa-rs route add default via 10.0.3.1
	in_ns uoa-fw sysctl -qw net.ipv4.ip_forward=1
}

check_forward() {
	local param=$1 want_fw=$2
	make_routed
	load_uoa "$param"
	start_echo uoa-rs /tmp/echo.out 5000
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.81:8181 -s 10.0.2.1:4050 -d 10.0.3.2:5000 -t routed
	expect_line "routed" /tmp/echo.out "real 192.0.2.81 8181 len 6 payload routed\$"
	expect_eq "Got in the router ($param)" "$(stat uoa-fw 4)" "$want_fw"
	expect_eq "Got in the real server" "$(stat uoa-rs 4)" 1
}

test_forward_hooks_off_by_default() {
	check_forward uoa_hook_forward=0 0
}

test_forward_hooks_on_request() {
	check_forward uoa_hook_forward=1 1
	expect_eq "mapping in the router" "$(in_ns uoa-fw "$LOOKUP" 10.0.2.1 4050 '*' 5000)" "192.0.2.81 8181"
}

# A real server's firewall: an nftables INPUT chain with policy drop that
# accepts only the service's UDP port, with conntrack state rules. The
# module runs before the filter (see the README, "Hook placement"), so the
# filter sees plain UDP in every mode.
test_nftables_input_policy_drop() {
	make_pair uoa-lb uoa-rs
	load_uoa
	in_ns uoa-rs nft -f - <<-'RULES' || fail "nft rules"
		table inet filter {
			chain input {
				type filter hook input priority filter; policy drop;
				ct state established,related accept
				ct state invalid drop
				iif lo accept
				udp dport 5000 accept
				counter comment "dropped by the policy"
			}
		}
	RULES
	start_echo uoa-rs /tmp/nft.out 5000
	in_ns uoa-lb "$LB" -t payload-opp -m opp -c 198.51.100.9:4009 -s "$LB_IP:4060" -d "$RS_IP:5000"
	in_ns uoa-lb "$LB" -t payload-ipo -m ipo -c 198.51.100.10:4010 -s "$LB_IP:4061" -d "$RS_IP:5000"
	expect_line "opp through the filter" /tmp/nft.out "real 198.51.100.9 4009 len [0-9]+ payload payload-opp\$"
	expect_line "ipo through the filter" /tmp/nft.out "real 198.51.100.10 4010 len [0-9]+ payload payload-ipo\$"
	# Another port: recorded by the module, then dropped by the policy
	# before any socket (no NoPorts, no ICMP).
	local noports
	noports=$(udp_noports uoa-rs)
	in_ns uoa-lb "$LB" -m opp -c 198.51.100.11:4011 -s "$LB_IP:4062" -d "$RS_IP:5001"
	sleep 0.3
	expect_eq "port 5001 dropped by the filter" "$(udp_noports uoa-rs)" "$noports"
	in_ns uoa-rs nft list chain inet filter input | grep -q 'counter packets [1-9]' ||
		fail "policy counter did not move: $(in_ns uoa-rs nft list chain inet filter input)"
	expect_eq "conntrack on, all recorded" "$(stat uoa-rs 6)" 3
}

# Docker-style publishing: the host DNATs the service port to a container
# namespace behind it and forwards; with uoa_hook_forward=1 the host records
# the mapping too (keyed by the translated flow), and the container's own
# hooks record it and remove any opp header there. Docker's port rules
# match UDP only, so the IPv4 option mode passes them; an opp packet is
# DNAT'd by address (its UDP header is behind the opp header).
test_docker_style_dnat() {
	make_routed
	in_ns uoa-fw nft -f - <<-'RULES' || fail "nft rules"
		table ip nat {
			chain prerouting {
				type nat hook prerouting priority dstnat;
				udp dport 5000 dnat to 10.0.3.2:5000
				ip protocol 248 dnat to 10.0.3.2
			}
		}
	RULES
	load_uoa uoa_hook_forward=1
	start_echo uoa-rs /tmp/dnat.out 5000
	in_ns uoa-lb "$LB" -t payload-ipo -m ipo -c 198.51.100.20:4020 -s 10.0.2.1:4070 -d 10.0.2.2:5000
	expect_line "ipo to the container" /tmp/dnat.out "real 198.51.100.20 4020 len [0-9]+ payload payload-ipo\$"
	expect_eq "recorded in the host" "$(in_ns uoa-fw "$LOOKUP" 10.0.2.1 4070 10.0.3.2 5000)" "198.51.100.20 4020"
	# An opp packet, DNAT'd by address: recorded in the container, whose
	# stack then drops the datagram, since NAT did not update the UDP
	# checksum behind the opp header (the README's "Hook placement").
	local i
	in_ns uoa-lb "$LB" -t payload-opp -m opp -c 198.51.100.21:4021 -s 10.0.2.1:4071 -d 10.0.2.2:5000
	for i in $(seq 30); do
		[ "$(snmp uoa-rs Udp InCsumErrors)" = 1 ] && break
		sleep 0.1
	done
	expect_eq "opp: UDP checksum errors in the container" "$(snmp uoa-rs Udp InCsumErrors)" 1
	expect_eq "recorded in the container" "$(in_ns uoa-rs "$LOOKUP" 10.0.2.1 4071 '*' 5000)" "198.51.100.21 4021"
	expect_eq "recorded in the host" "$(in_ns uoa-fw "$LOOKUP" 10.0.2.1 4071 10.0.3.2 5000)" "198.51.100.21 4021"
}

# uoa_map_max caps the mappings of a namespace, both families together:
# new flows beyond are refused and counted; stored ones still refresh.
test_map_max_refuses_new_flows() {
	make_pair uoa-lb uoa-rs
	load_uoa uoa_map_max=5
	expect_eq "cap shown" "$(extra uoa-rs mappings_max)" 5
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.51:5151 -s "$LB_IP:4100" -d "$RS_IP:5000" -I -n 8
	expect_stat "Got" uoa-rs 4 8
	expect_eq "mappings at the cap" "$(extra uoa-rs mappings_ipv4)" 5
	expect_eq "refused" "$(extra uoa-rs map_full)" 3
	expect_eq "Saved" "$(stat uoa-rs 6)" 5
	expect_eq "first flow" "$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4100 '*' 5000)" "192.0.2.51 5151"
	local out
	out=$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4107 '*' 5000) && fail "refused flow answered: $out"
	expect_eq "refused flow" "$out" ENOENT
	# A stored flow takes a new client at the cap.
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.52:5252 -s "$LB_IP:4100" -d "$RS_IP:5000"
	expect_stat "Saved after replace" uoa-rs 6 6
	expect_eq "replaced" "$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4100 '*' 5000)" "192.0.2.52 5252"
	# IPv6 flows count against the same cap.
	in_ns uoa-lb "$LB" -m opp -c "[2001:db8::5]:5353" -s "[$LB_IP6]:4100" -d "[$RS_IP6]:5000"
	expect_stat "Got IPv6" uoa-rs 4 10
	expect_eq "IPv6 refused" "$(extra uoa-rs map_full)" 4
	expect_eq "no IPv6 mapping" "$(extra uoa-rs mappings_ipv6)" 0
}

# A flood of UOA packets from distinct 4-tuples: mappings and slab memory
# stop growing at the cap. Prints both as the flood goes on.
test_flood_plateaus_at_the_cap() {
	local cap=${UOA_FLOOD_CAP:-50000} rounds=${UOA_FLOOD_ROUNDS:-4} per=${UOA_FLOOD_PER:-262144}
	make_pair uoa-lb uoa-rs
	load_uoa uoa_map_max="$cap"
	local r sent=0 mappings slab slab_at_cap=
	for r in $(seq "$rounds"); do
		# Each round: $per new flows from the next source addresses
		# (uoa_lb -I steps the port, then the address).
		in_ns uoa-lb "$LB" -m opp -c 192.0.2.61:6161 -s "10.0.$((r + 1)).1:1" \
			-d "$RS_IP:5000" -I -n "$per"
		sent=$((sent + per))
		expect_stat "Got after $sent" uoa-rs 4 "$sent"
		mappings=$(extra uoa-rs mappings_ipv4)
		slab=$(awk '/^Slab:/ {print $2}' /proc/meminfo)
		info "flood: $sent flows sent, $mappings mappings, refused $(extra uoa-rs map_full), slab $slab kB"
		expect_eq "mappings after $sent" "$mappings" "$cap"
		[ -n "$slab_at_cap" ] || slab_at_cap=$slab
	done
	expect_eq "refused" "$(extra uoa-rs map_full)" $((sent - cap))
	# Past the cap, slab memory stays level: far less than the 64 bytes
	# each refused flow would have taken had it been stored.
	local grown=$((slab - slab_at_cap)) would=$(((sent - per) * 64 / 1024))
	info "flood: slab grew $grown kB after the cap was reached; uncapped it would have grown $would kB"
	[ "$grown" -lt $((would / 8)) ] || fail "slab grew $grown kB past the cap"
}

# uoa_trusted: only the listed load balancers may plant a client; the list
# is set at load and changed by root at run time.
test_trusted_sources_only() {
	make_pair uoa-lb uoa-rs
	load_uoa uoa_trusted=10.0.1.1/32,fd00:9::/64
	local param=/sys/module/uoa/parameters/uoa_trusted out
	expect_eq "shown" "$(cat $param)" "10.0.1.1/32,fd00:9::/64"
	dmesg | grep -q 'UOA trusted from 10.0.1.1/32,fd00:9::/64' || fail "no load message with the list"
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.71:7171 -s "$LB_IP:4200" -d "$RS_IP:5000"
	in_ns uoa-lb "$LB" -m opp -c "[2001:db8::71]:7171" -s "[$LB_IP6]:4200" -d "[$RS_IP6]:5000"
	expect_stat "Got" uoa-rs 4 2
	expect_eq "trusted IPv4 stored" "$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4200 '*' 5000)" "192.0.2.71 7171"
	out=$(in_ns uoa-rs "$LOOKUP" -6 "$LB_IP6" 4200 '*' 5000) && fail "untrusted IPv6 stored: $out"
	expect_eq "untrusted IPv6" "$out" ENOENT
	expect_eq "untrusted counted" "$(extra uoa-rs untrusted)" 1
	expect_eq "Saved" "$(stat uoa-rs 6)" 1
	# At run time: now only the IPv6 balancer.
	echo "fd00:1::/64" >$param
	expect_eq "changed" "$(cat $param)" "fd00:1::/64"
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.72:7272 -s "$LB_IP:4201" -d "$RS_IP:5000"
	in_ns uoa-lb "$LB" -m opp -c "[2001:db8::72]:7272" -s "[$LB_IP6]:4201" -d "[$RS_IP6]:5000"
	expect_stat "Got after change" uoa-rs 4 4
	expect_eq "IPv6 now stored" "$(in_ns uoa-rs "$LOOKUP" -6 "$LB_IP6" 4201 '*' 5000)" "2001:db8::72 7272"
	expect_eq "IPv4 now refused" "$(extra uoa-rs untrusted)" 2
	# A bad value is refused, named in the log, and the list stays.
	dmesg -C
	echo "fd00:1::/64,10.0.0.300" >$param 2>/dev/null && fail "bad list accepted"
	dmesg | grep -q "uoa: uoa_trusted=fd00:1::/64,10.0.0.300: '10.0.0.300' is not an IPv4 or IPv6 address" ||
		fail "no log line naming the bad value: $(dmesg | tail -n 3)"
	expect_eq "kept" "$(cat $param)" "fd00:1::/64"
	# Only root may change it.
	setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo 0.0.0.0/0 > $param" 2>/dev/null &&
		fail "an unprivileged user changed the list"
	expect_eq "kept after non-root" "$(cat $param)" "fd00:1::/64"
	# Empty: open again.
	echo >$param
	expect_eq "open" "$(cat $param)" ""
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.73:7373 -s "$LB_IP:4202" -d "$RS_IP:5000"
	expect_stat "Got when open" uoa-rs 4 5
	expect_eq "stored when open" "$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4202 '*' 5000)" "192.0.2.73 7373"
}

# Changing uoa_trusted under traffic loses no packet: every datagram still
# reaches UDP, and every UOA from a source trusted by both lists is stored.
test_trusted_change_loses_no_packet() {
	make_pair uoa-lb uoa-rs
	load_uoa uoa_trusted=10.0.1.1
	local param=/sys/module/uoa/parameters/uoa_trusted n=${UOA_CHANGE_PACKETS:-3000} flips=0
	local noports0
	noports0=$(udp_noports uoa-rs)
	# No socket on port 5999: each datagram that reaches UDP is a NoPorts.
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.81:8181 -s "$LB_IP:1" -d "$RS_IP:5999" -I -n "$n" &
	local sender=$!
	while kill -0 $sender 2>/dev/null; do
		echo "10.0.1.0/24,fd00::/16" >$param
		echo "10.0.1.1" >$param
		flips=$((flips + 2))
	done
	wait $sender
	expect_stat "Got" uoa-rs 4 "$n"
	expect_eq "Saved" "$(stat uoa-rs 6)" "$n"
	expect_eq "untrusted" "$(extra uoa-rs untrusted)" 0
	expect_eq "delivered to UDP" $(($(udp_noports uoa-rs) - noports0)) "$n"
	info "trusted list changed $flips times while $n packets arrived; none lost"
	[ $flips -ge 10 ] || fail "only $flips changes during the traffic"
}

test_expiry() {
	make_pair uoa-lb uoa-rs
	# 3 s: room for the lookup below to start even on the slow debug
	# kernel (scripts/debug-test.sh).
	load_uoa uoa_map_timeout=3
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.91:9191 -s "$LB_IP:4060" -d "$RS_IP:5000"
	sleep 0.2
	expect_eq "fresh" "$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4060 '*' 5000)" "192.0.2.91 9191"
	# The lookup refreshed it: gone 3 s later, swept within a second more.
	sleep 6
	local out
	out=$(in_ns uoa-rs "$LOOKUP" "$LB_IP" 4060 '*' 5000) && fail "expired mapping answered: $out"
	expect_eq "expired" "$out" ENOENT
	expect_eq "swept" "$(extra uoa-rs mappings_ipv4)" 0
}

test_debug_logs_mappings() {
	make_pair uoa-lb uoa-rs
	load_uoa
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.101:1010 -s "$LB_IP:4070" -d "$RS_IP:5000"
	sleep 0.2
	! dmesg | grep -q 'real client' || fail "uoa_debug=0 logged a mapping"
	rmmod uoa
	load_uoa uoa_debug=1
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.101:1010 -s "$LB_IP:4070" -d "$RS_IP:5000"
	sleep 0.2
	dmesg | grep -q 'uoa: 10.0.1.1:4070 -> 10.0.1.2:5000 real client 192.0.2.101:1010$' ||
		fail "uoa_debug=1 logged no mapping: $(dmesg | tail -n 3)"
	# Rate-limited: a burst of 200 mappings logs far fewer lines.
	in_ns uoa-lb "$LB" -m opp -n 200 -c 192.0.2.102:1020 -s "$LB_IP:4071" -d "$RS_IP:5000"
	sleep 0.3
	local lines
	lines=$(dmesg | grep -c 'real client' || true)
	[ "$lines" -lt 50 ] || fail "$lines debug lines for 201 mappings: not rate-limited"
}

test_unload_under_traffic() {
	make_pair uoa-lb uoa-rs
	local round
	for round in 1 2; do
		load_uoa uoa_map_timeout=1
		in_ns uoa-lb "$LB" -m opp -n 1000 -I -c 192.0.2.111:1111 -s "$LB_IP:4080" -d "$RS_IP:5000" &
		in_ns uoa-lb "$LB" -m opp -n 1000 -c "[2001:db8::111]:1111" -s "[$LB_IP6]:4081" -d "[$RS_IP6]:5000" &
		in_ns uoa-rs bash -c "for i in \$(seq 100); do $LOOKUP $LB_IP 4080 '*' 5000 >/dev/null; done" &
		sleep 0.3
		rmmod_retry "under traffic (round $round)"
		wait
	done
	expect_eq "kernel log" "$(kernel_trouble)" ""
}

# Teardown under fire: cycles of insmod, traffic in every mode from
# parallel senders, lookups, namespaces made and deleted with traffic in
# them, netfilter's hook dump (`nft list hooks`, an RCU reader of the hook
# ops the module frees) in a loop, and rmmod. Counts are printed.
test_teardown_under_fire() {
	local cycles=${UOA_TEARDOWN_CYCLES:-20} c dumps=/tmp/dumps.count
	make_pair uoa-lb uoa-rs
	echo 0 >"$dumps"
	touch /tmp/fire
	# The dump loop, in the real server's namespace and the initial one.
	(
		n=0
		while [ -e /tmp/fire ]; do
			in_ns uoa-rs nft list hooks >/dev/null 2>&1
			nft list hooks >/dev/null 2>&1
			n=$((n + 2))
			echo $n >"$dumps"
		done
	) &
	local dump_pid=$! j
	for c in $(seq "$cycles"); do
		load_uoa uoa_map_timeout=1
		in_ns uoa-lb "$LB" -m opp -n 300 -I -c 192.0.2.120:1200 -s "$LB_IP:4090" -d "$RS_IP:5000" &
		in_ns uoa-lb "$LB" -m ipo -n 300 -I -c 192.0.2.121:1210 -s "$LB_IP:4190" -d "$RS_IP:5000" &
		in_ns uoa-lb "$LB" -m opp -n 300 -c "[2001:db8::120]:1200" -s "[$LB_IP6]:4091" -d "[$RS_IP6]:5000" &
		in_ns uoa-rs bash -c "for i in \$(seq 30); do $LOOKUP $LB_IP 4090 '*' 5000 >/dev/null; done" &
		# A namespace with traffic in it, deleted under the module.
		make_pair uoa-lb2 uoa-rs2
		in_ns uoa-lb2 "$LB" -m opp -n 200 -I -c 192.0.2.122:1220 -s "$LB_IP:4092" -d "$RS_IP:5000" &
		sleep 0.2
		ip netns del uoa-lb2
		ip netns del uoa-rs2
		rmmod_retry "under fire (cycle $c)"
		for j in $(jobs -p); do
			[ "$j" = "$dump_pid" ] || wait "$j" || true
		done
	done
	rm -f /tmp/fire
	wait
	info "$cycles cycles of insmod, 4 senders and lookups, a namespace deleted under traffic, rmmod; $(cat "$dumps") hook dumps"
	expect_eq "kernel log" "$(kernel_trouble)" ""
}

# /proc files held open across rmmod: unloading does not wait for them,
# and a read after it fails cleanly (EIO) instead of running unloaded code.
test_proc_files_open_across_rmmod() {
	make_pair uoa-lb uoa-rs
	load_uoa
	send_udp uoa-lb "$RS_IP" 5000 2
	exec 3</proc/net/uoa_stats 4</proc/net/uoa_stats_extra
	# One read before: a file part read keeps its seq_file state.
	head -c 10 <&4 >/dev/null
	in_ns uoa-rs sleep 3 </proc/net/uoa_stats_percpu &
	# The mapping view of uoa-rs, part read: its walk of the table is
	# paused in the middle when the module goes.
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.88:8888 -s "$LB_IP:1" -d "$RS_IP:5000" -I -n 300
	expect_eq "mappings" "$(extra uoa-rs mappings_ipv4)" 300
	ip netns exec uoa-rs sleep 30 &
	local holder=$!
	sleep 0.2
	exec 5</proc/$holder/net/uoa_mappings
	dd bs=1000 count=1 <&5 2>/dev/null | grep -q ' 192\.0\.2\.88:8888 ' || fail "no mapping in the view"
	rmmod_retry "with /proc files open"
	local out
	out=$(cat <&3 2>&1) && fail "read after rmmod succeeded: $out"
	out=$(cat <&4 2>&1) && fail "second read after rmmod succeeded: $out"
	out=$(cat <&5 2>&1) && fail "read of the mapping view after rmmod succeeded: $out"
	exec 3<&- 4<&- 5<&-
	kill "$holder"
	wait
	info "4 files open across rmmod, one of them in the middle of the mappings; reads after it failed: $out"
	expect_eq "kernel log" "$(kernel_trouble)" ""
}

# /proc/net/uoa_mappings lists each live mapping of its namespace, with
# what it carries besides the client, to root only.
test_mappings_view() {
	make_pair uoa-lb uoa-rs
	load_uoa uoa_map_timeout=100
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.41:4141 -s "$LB_IP:4301" -d "$RS_IP:5000"
	in_ns uoa-lb "$LB" -m bd-ipo -c 192.0.2.42:4242 -o 198.51.100.42:80 -s "$LB_IP:4302" -d "$RS_IP:5000"
	in_ns uoa-lb "$LB" -m bd-vni -N 4096 -c 192.0.2.43:4343 -s "$LB_IP:4303" -d "$RS_IP:5000"
	in_ns uoa-lb "$LB" -m opp -c "[2001:db8::44]:4444" -s "[$LB_IP6]:4304" -d "[$RS_IP6]:5000"
	expect_stat "saved" uoa-rs 6 4
	local view line
	view=$(in_ns uoa-rs cat /proc/net/uoa_mappings)
	expect_eq header "$(head -n 1 <<<"$view")" "source destination real_client seconds_left extra"
	expect_eq "mappings listed" "$(($(wc -l <<<"$view") - 1))" 4
	for line in \
		'10\.0\.1\.1:4301 10\.0\.1\.2:5000 192\.0\.2\.41:4141 [0-9]+ -' \
		'10\.0\.1\.1:4302 10\.0\.1\.2:5000 192\.0\.2\.42:4242 [0-9]+ dest=198\.51\.100\.42:80' \
		'10\.0\.1\.1:4303 10\.0\.1\.2:5000 192\.0\.2\.43:4343 [0-9]+ vni=4096' \
		'\[fd00:1::1\]:4304 \[fd00:1::2\]:5000 \[2001:db8::44\]:4444 [0-9]+ -'; do
		grep -qE "^$line\$" <<<"$view" || fail "no line '$line' in: $view"
	done
	# Seconds left: at most the timeout, and some gone by on a slow kernel.
	awk 'NR > 1 && ($4 < 1 || $4 > 100) {exit 1}' <<<"$view" || fail "seconds left out of 1..100: $view"
	expect_eq "mode" "$(in_ns uoa-rs stat -c %a /proc/net/uoa_mappings)" 400
	local out
	out=$(in_ns uoa-rs setpriv --reuid=65534 --regid=65534 --clear-groups \
		cat /proc/net/uoa_mappings 2>&1) && fail "an unprivileged user read the mappings: $out"
	# The initial namespace has none of uoa-rs's.
	expect_eq "initial namespace" "$(cat /proc/net/uoa_mappings)" \
		"source destination real_client seconds_left extra"
	# An expired mapping is not listed.
	rmmod uoa
	load_uoa uoa_map_timeout=4
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.45:4545 -s "$LB_IP:4305" -d "$RS_IP:5000"
	expect_stat "saved" uoa-rs 6 1
	expect_eq "listed while live" "$(($(in_ns uoa-rs cat /proc/net/uoa_mappings | wc -l) - 1))" 1
	sleep 4.5
	expect_eq "listed once expired" "$(($(in_ns uoa-rs cat /proc/net/uoa_mappings | wc -l) - 1))" 0
}

# A view far larger than one read, read in small pieces, each resuming
# the walk where the last stopped: every mapping listed once, while UOA
# packets keep arriving and lookups keep answering.
test_mappings_view_large() {
	local n=20000 out
	make_pair uoa-lb uoa-rs
	load_uoa
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.46:4646 -s "10.1.0.1:1" -d "$RS_IP:5000" -I -n "$n"
	expect_eq "mappings" "$(extra uoa-rs mappings_ipv4)" "$n"
	# Packets and lookups of another flow during the reads.
	(
		for i in $(seq 20); do
			in_ns uoa-lb "$LB" -m opp -c 192.0.2.47:4747 -s "$LB_IP:4400" -d "$RS_IP:5000" -n 10
			in_ns uoa-rs "$LOOKUP" "$LB_IP" 4400 '*' 5000 >/dev/null
		done
	) &
	local traffic=$!
	out=$(in_ns uoa-rs dd if=/proc/net/uoa_mappings bs=100 2>/dev/null)
	wait "$traffic" || fail "a lookup during the reads failed"
	local bulk unique
	bulk=$(grep -c ' 192\.0\.2\.46:4646 ' <<<"$out")
	unique=$(grep ' 192\.0\.2\.46:4646 ' <<<"$out" | awk '{print $1}' | sort -u | wc -l)
	expect_eq "flows listed, read 100 bytes at a time" "$bulk" "$n"
	expect_eq "flows listed once" "$unique" "$n"
	expect_eq "packets during the reads" "$(stat uoa-rs 4)" "$((n + 200))"
	info "mapping view: $n mappings read in $(( $(wc -c <<<"$out") / 100 + 1 )) reads of 100 bytes"
}

# A client library's example (userspace/: uoa_echo, one line "PEER REAL"
# per datagram) names the real client on an IPv4 socket and on a
# dual-stack IPv6 one, for IPv4-option, opp, NAT64 and IPv6 flows, and
# "none" for a datagram without UOA.
# check_client_library NAME COMMAND...: COMMAND takes [-6] PORT COUNT.
check_client_library() {
	local name=$1
	shift
	make_pair uoa-lb uoa-rs
	load_uoa
	start_server uoa-rs "/tmp/$name-4.out" 5000 "$@" 5000 4
	in_ns uoa-lb "$LB" -m ipo -c 198.51.100.21:2101 -s "$LB_IP:4101" -d "$RS_IP:5000"
	in_ns uoa-lb "$LB" -m opp -c 198.51.100.22:2102 -s "$LB_IP:4102" -d "$RS_IP:5000"
	in_ns uoa-lb "$LB" -m opp -c "[2001:db8::23]:2103" -s "$LB_IP:4103" -d "$RS_IP:5000"
	in_ns uoa-lb "$LB" -m none -c 198.51.100.24:2104 -s "$LB_IP:4104" -d "$RS_IP:5000"
	expect_line "$name, IPv4 option" "/tmp/$name-4.out" '^10\.0\.1\.1:4101 198\.51\.100\.21:2101$'
	expect_line "$name, opp" "/tmp/$name-4.out" '^10\.0\.1\.1:4102 198\.51\.100\.22:2102$'
	expect_line "$name, NAT64" "/tmp/$name-4.out" '^10\.0\.1\.1:4103 \[2001:db8::23\]:2103$'
	expect_line "$name, no UOA" "/tmp/$name-4.out" '^10\.0\.1\.1:4104 none$'
	start_server uoa-rs "/tmp/$name-6.out" 5001 "$@" -6 5001 2
	in_ns uoa-lb "$LB" -m opp -c 198.51.100.25:2105 -s "$LB_IP:4105" -d "$RS_IP:5001"
	in_ns uoa-lb "$LB" -m opp -c "[2001:db8::26]:2106" -s "[$LB_IP6]:4106" -d "[$RS_IP6]:5001"
	expect_line "$name, dual-stack, IPv4 flow" "/tmp/$name-6.out" \
		'^\[::ffff:10\.0\.1\.1\]:4105 198\.51\.100\.25:2105$'
	expect_line "$name, dual-stack, IPv6 flow" "/tmp/$name-6.out" \
		'^\[fd00:1::1\]:4106 \[2001:db8::26\]:2106$'
	wait
	expect_eq "$name: lookups answered" "$(stat uoa-rs 1)" 5
	expect_eq "$name: lookups missed" "$(stat uoa-rs 2)" 1
}

test_client_library_rust() {
	check_client_library rust "$RUST_ECHO"
}

test_client_library_python() {
	check_client_library python python3 "$PY_ECHO"
}

# uoactl: counters as /proc has them, rates, Prometheus, mappings and
# lookups in another namespace, and its errors.
test_uoactl() {
	make_pair uoa-lb uoa-rs
	load_uoa
	in_ns uoa-lb "$LB" -m opp -c 192.0.2.31:3101 -s "$LB_IP:4201" -d "$RS_IP:5000"
	in_ns uoa-lb "$LB" -m bd-ipo -c 192.0.2.32:3102 -o 198.51.100.9:80 -s "$LB_IP:4202" -d "$RS_IP:5000"
	in_ns uoa-lb "$LB" -m opp -c "[2001:db8::33]:3103" -s "[$LB_IP6]:4203" -d "[$RS_IP6]:5000"
	expect_stat "saved" uoa-rs 6 3
	local out
	out=$("$UOACTL" stats --netns uoa-rs)
	expect_eq "stats: saved" "$(awk '$1 == "uoa_saved" {print $2}' <<<"$out")" 3
	expect_eq "stats: IPv4 mappings" "$(awk '$1 == "mappings_ipv4" {print $2}' <<<"$out")" 2
	expect_eq "stats: ByteDance" "$(awk '$1 == "format_bytedance_option" {print $2}' <<<"$out")" 1
	expect_eq "stats: initial namespace" "$("$UOACTL" stats | awk '$1 == "uoa_saved" {print $2}')" 0
	out=$("$UOACTL" stats --netns uoa-rs --prometheus)
	grep -qx '# TYPE uoa_packets_total counter' <<<"$out" || fail "prometheus: no TYPE line: $out"
	grep -qx 'uoa_mappings_saved_total{netns="uoa-rs"} 3' <<<"$out" || fail "prometheus: saved: $out"
	grep -qx 'uoa_mappings{netns="uoa-rs",family="ipv6"} 1' <<<"$out" || fail "prometheus: mappings: $out"
	# Every sample's family has HELP and TYPE before it.
	awk '/^# HELP/ {h[$3] = 1} /^# TYPE/ {t[$3] = 1}
		!/^#/ {n = $1; sub(/\{.*/, "", n); if (!h[n] || !t[n]) {print "bad: " $0; exit 1}}' <<<"$out" ||
		fail "prometheus: a sample without HELP or TYPE"
	# Rates: 40 packets within the first of two one-second intervals.
	in_ns uoa-rs bash -c "sleep 0.3; for i in \$(seq 40); do echo x > /dev/udp/127.0.0.1/9; done" &
	out=$("$UOACTL" stats --netns uoa-rs --watch 1 --count 2)
	wait
	info "uoactl stats --watch: $(tr -s ' ' <<<"$out" | tr '\n' '|')"
	awk 'NR > 1 {sum += $5} END {exit !(sum >= 36)}' <<<"$out" ||
		fail "watch: no interval with the 40 datagrams' rate: $out"
	out=$("$UOACTL" mappings --netns uoa-rs --client 192.0.2.32)
	# As the file has it, but for the seconds left, which may have ticked.
	expect_eq "mappings, one client" "$(sed 1d <<<"$out" | awk '{print $1, $2, $3, $5}')" \
		"$(in_ns uoa-rs grep ' 192.0.2.32:3102 ' /proc/net/uoa_mappings | awk '{print $1, $2, $3, $5}')"
	expect_eq "mappings --count" "$("$UOACTL" mappings --netns uoa-rs --count)" 3
	expect_eq "mappings, IPv6 source" "$("$UOACTL" mappings --netns uoa-rs --count --source "[$LB_IP6]")" 1
	expect_eq "lookup" "$("$UOACTL" lookup --netns uoa-rs "$LB_IP:4201" '*:5000')" "192.0.2.31:3101"
	expect_eq "lookup IPv6" "$("$UOACTL" lookup --netns uoa-rs "[$LB_IP6]:4203" "[$RS_IP6]:5000")" \
		"[2001:db8::33]:3103"
	local rc=0
	out=$("$UOACTL" lookup --netns uoa-rs "$LB_IP:4299" '*:5000' 2>&1) || rc=$?
	expect_eq "lookup miss: exit" "$rc" 1
	expect_eq "lookup miss" "$out" "no mapping for $LB_IP:4299 -> *:5000"
	rc=0
	out=$("$UOACTL" stats --netns uoa-nosuch 2>&1) || rc=$?
	expect_eq "no such namespace: exit" "$rc" 2
	expect_eq "no such namespace" "$out" "uoactl: no network namespace named uoa-nosuch (see ip netns list)"
	rc=0
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$UOACTL" mappings 2>&1) || rc=$?
	expect_eq "mappings as nobody: exit" "$rc" 2
	expect_eq "mappings as nobody" "$out" "uoactl: reading mappings needs root"
	rmmod uoa
	rc=0
	out=$("$UOACTL" stats 2>&1) || rc=$?
	expect_eq "module not loaded: exit" "$rc" 2
	expect_eq "module not loaded" "$out" "uoactl: the uoa module is not loaded (modprobe uoa)"
}

# --- runner ---

# Each argument a part of test names to run (all tests without any).
patterns=()
for part in "${@:-}"; do
	patterns+=(-e "$part")
done
run_tests e2e $(declare -F | awk '{print $3}' | grep '^test_' | grep -F "${patterns[@]}")
