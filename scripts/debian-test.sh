#!/usr/bin/env bash
# The Debian 13 test flavour: the module on Debian's own kernel, installed
# the way the README tells an operator to.
#   1. a Debian 13 root (debootstrap, Debian's packages only), cached under
#      $UOA_CACHE/debian13-<key>: the server's kernel (linux-binary and
#      linux-modules from trixie-backports), then the README's own
#      "apt install" line, run as written;
#   2. in it, this checkout copied to /usr/src/uoa-rs-VERSION and the
#      README's dkms commands run as written (Debian's rustc, bindgen and
#      gcc-14 against Debian's GCC-built kernel); checks of the result
#      (vermagic, BTF, signature), a kernel update rebuilding it, and a
#      wrong compiler refused with a clear error;
#   3. Debian's vmlinuz booted under QEMU on that root: the README's check
#      commands, then the end-to-end suite on the installed module.
# Prints TAP lines and "debian: N passed, N failed"; exits non-zero on any
# failure. Logs in build/test-results/debian/.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$UOA_ROOT"

ROOT_RECIPE=3 # bump when make_root changes
results="$UOA_ROOT/build/test-results/debian"
mkdir -p "$results"
passed=0 failed=0 n=0 release=

# result NAME RC [DETAIL]: one TAP line.
result() {
	n=$((n + 1))
	if [ "$2" -eq 0 ]; then
		echo "ok $n - $1"
		passed=$((passed + 1))
	else
		echo "not ok $n - $1"
		[ -z "${3:-}" ] || printf '%s\n' "$3" | tail -n 15 | sed 's/^/    # /'
		failed=$((failed + 1))
	fi
}

finish() {
	echo "1..$n"
	echo "debian: $passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
	exit
}

# readme_block NAME: the shell block of the README's Debian section that
# follows the marker <!-- debian:NAME -->.
readme_block() {
	awk -v m="<!-- debian:$1 -->" '
		$0 == m {found = 1; next}
		found && /^```/ {if (inside) exit; inside = 1; next}
		inside {print}' README.md
}

# in_root COMMAND: runs COMMAND with bash in the root, proc mounted, where
# `uname -r` answers the root's kernel release as it would on the server.
in_root() {
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 /bin/bash -c \
		"uname() { if [ \"\$*\" = -r ]; then echo '$release'; else command uname \"\$@\"; fi; }
		set -e
		$1"
}

mount_proc() {
	mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
}
umount_proc() {
	! mountpoint -q "$root/proc" || umount "$root/proc"
}

# The newest 7.3 kernel of trixie-backports, as the root's apt sees it.
newest_release() {
	chroot "$root" apt-cache pkgnames linux-modules-7.3. |
		sed -n 's/^linux-modules-\(7\.3\.[0-9]*+deb13-amd64\)$/\1/p' | sort -V | tail -n 1
}

make_root() {
	local mirror tmp=$root.new
	mirror=$(debian_mirror)
	rm -rf "$tmp"
	step "debian: debootstrap trixie (minbase) from $mirror"
	debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		trixie "$tmp" "$mirror" >"$results/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$results/debootstrap.log"; die "debootstrap failed"; }
	cat >"$tmp/etc/apt/sources.list" <<-EOF
		deb $mirror trixie main
		deb $mirror trixie-updates main
		deb ${mirror%/debian*}/debian-security trixie-security main
		deb $mirror trixie-backports main
	EOF
	# A root for tests: no daemons started, no questions asked.
	printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
	chmod +x "$tmp/usr/sbin/policy-rc.d"
	echo 'APT::Get::Assume-Yes "true";' >"$tmp/etc/apt/apt.conf.d/90uoa-test"
	echo uoa-debian >"$tmp/etc/hostname"
	root=$tmp
	mount_proc
	in_root 'apt-get update -qq' >"$results/apt.log" 2>&1 || { umount_proc; die "apt-get update failed"; }
	release=$(newest_release)
	[ -n "$release" ] || { umount_proc; die "no 7.3 kernel in trixie-backports"; }
	step "debian: the server's kernel, $release, and the test tools"
	in_root "apt-get install -qq --no-install-recommends linux-binary-$release \
		linux-modules-$release iproute2 kmod procps nftables python3-minimal" >>"$results/apt.log" 2>&1 ||
		{ umount_proc; tail -n 20 "$results/apt.log"; die "installing the kernel failed"; }
	step "debian: the README's packages"
	in_root "$(readme_block packages)" >>"$results/apt.log" 2>&1 ||
		{ umount_proc; tail -n 20 "$results/apt.log"; die "the README's apt install failed"; }
	in_root 'apt-get clean'
	umount_proc
	echo "$release" >"$tmp/.uoa-release"
	root=${tmp%.new}
	rm -rf "$root"
	mv "$tmp" "$root"
}

bash scripts/setup.sh >/dev/null || die "set-up failed"
exec 9>"$UOA_CACHE/debian.lock"
flock 9
key=$( (echo "recipe $ROOT_RECIPE"; readme_block packages) | sha256sum | cut -c1-12)
root="$UOA_CACHE/debian13-$key"
if [ -f "$root/.uoa-release" ]; then
	step "debian: root cached in $root"
else
	make_root
	for old in "$UOA_CACHE"/debian13-*; do
		[ "$old" = "$root" ] || [ ! -d "$old" ] || { step "debian: removing superseded $old"; rm -rf "$old"; }
	done
fi
release=$(cat "$root/.uoa-release")
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
src="/usr/src/uoa-rs-$version"
mount_proc
trap umount_proc EXIT

# --- 2. install as the README says, and check what DKMS made ---

step "debian: dkms, as the README says, for $release"
in_root 'for v in $(dkms status uoa-rs | sed -n "s|^uoa-rs/\([^,]*\),.*|\1|p" | sort -u); do
	dkms remove "uoa-rs/$v" --all; done; rm -rf /usr/src/uoa-rs-*' >"$results/dkms.log" 2>&1
mkdir -p "$root$src"
git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C "$root$src"
grep -q "dkms add uoa-rs/$version\$" README.md
result "README's dkms commands name version $version (dkms.conf)" $?
out=$(in_root "$(readme_block build)" 2>&1)
rc=$?
printf '%s\n' "$out" >>"$results/dkms.log"
[ $rc -eq 0 ] || out="$out
$(cat "$root/var/lib/dkms/uoa-rs/$version/build/make.log" 2>/dev/null)"
result "dkms add, build, install with Debian's rustc, bindgen, gcc-14" $rc "$out"

ko=$(in_root "modinfo -k $release -n uoa" 2>&1)
result "installed where modprobe finds it ($ko)" $? "$ko"
out=$(in_root "modinfo -k $release -F vermagic uoa" 2>&1)
[[ "$out" == "$release "* ]]
result "vermagic is the kernel's release ($out)" $? "$out"
out=$(in_root "modinfo -k $release -F version uoa" 2>&1)
[ "$out" = "$version" ]
result "modinfo version is dkms.conf's ($out)" $? "$out"
out=$(in_root "xz -dc $ko > /tmp/uoa.ko && readelf -S /tmp/uoa.ko | grep -c '\.BTF'; rm -f /tmp/uoa.ko" 2>&1)
[ "${out:-0}" -ge 1 ] 2>/dev/null
result "the module carries BTF (pahole)" $? "$out"
out=$(in_root "modinfo -k $release -F signer uoa" 2>&1)
[ -n "$out" ]
result "DKMS signed it with its machine owner key ($out)" $? "$out"

# A kernel update: the kernel package's hook makes DKMS build and install
# the module for the new release. Replayed here for $release, with the
# module removed first.
out=$(in_root "dkms uninstall uoa-rs/$version -k $release && dkms unbuild uoa-rs/$version -k $release 2>/dev/null || true
	! modinfo -k $release -n uoa 2>/dev/null
	/etc/kernel/postinst.d/dkms $release
	dkms status uoa-rs/$version -k $release | grep -q ': installed'
	modinfo -k $release -n uoa" 2>&1)
result "a kernel update (/etc/kernel/postinst.d/dkms) builds and installs it" $? "$out"

# A wrong compiler: refused with a message, before a module is made.
# The machine's own rustc (rustup's, not 1.85.1):
out=$(UOA_HEADERS="$root/usr/src/linux-headers-$release" \
	UOA_KERNEL_SOURCE="$(ls "$root"/usr/src/linux-source-7.3.tar.*)" \
	UOA_KBUILD_CACHE="$results/kbuild-wrong-rustc" \
	bash scripts/kbuild-rust.sh "$release" 2>&1)
rc=$?
[ $rc -ne 0 ] && grep -q "was built with 'rustc 1.85.1.*but 'rustc' is '$(rustc --version)'" <<<"$out"
result "another rustc ($(rustc --version | cut -d' ' -f2)) is refused: ${out##*error: }" $? "$out"
# Rust symbols that differ from the kernel's (as if its rustc or source had
# been another): headers whose Module.symvers has one Rust name changed.
out=$(in_root "rm -rf /tmp/h /tmp/uoa && cp -a /usr/src/linux-headers-$release /tmp/h
	sed -i '0,/\t_R/s/\t_R\([A-Za-z]*\)/\t_R\1x/' /tmp/h/Module.symvers
	cp -a $src /tmp/uoa && cd /tmp/uoa
	if UOA_HEADERS=/tmp/h bash scripts/dkms-make.sh $release; then echo BUILT; fi
	test ! -e uoa.ko" 2>&1)
rc=$?
[ $rc -eq 0 ] && ! grep -q '^BUILT' <<<"$out" && grep -q 'does not match the kernel' <<<"$out"
result "Rust symbols unlike the kernel's are refused, no module made" $? "$out"
in_root 'rm -rf /tmp/h /tmp/uoa'

# The samples and test programs the end-to-end suite runs, built in the root.
out=$(in_root "make -s -C $src/samples && make -s -C $src/tests/e2e" 2>&1)
result "samples and test programs built with Debian's gcc" $? "$out"
# The client library's example and uoactl, as built on the host (Debian 13's
# C library runs them).
mkdir -p "$root$src/userspace/target/release/examples"
cp userspace/target/release/uoactl "$root$src/userspace/target/release/" &&
	cp userspace/target/release/examples/uoa_echo "$root$src/userspace/target/release/examples/"
result "uoactl and the Rust client's example copied into the root" $?

# --- 3. Debian's kernel, booted ---

step "debian: booting $release under QEMU: the README's checks, then the end-to-end suite"
umount_proc
check=$(readme_block check)
bash scripts/qemu-run.sh --quiet --timeout 900 --out "$results/guest" --debian "$root" -- \
	bash -c "cd $src
	(set -ex; $check) > /run/uoa/check.log 2>&1 || exit 3
	UOA_MODULE=installed bash tests/e2e/run.sh > /run/uoa/e2e.tap 2>&1"
rc=$?
guest="$results/guest"
grep -qx "$version" "$guest/check.log" && grep -q "^$release SMP" "$guest/check.log" &&
	grep -q 'Success.*Miss' "$guest/check.log"
result "README's checks on Debian's kernel (modprobe, modinfo, stats)" $? \
	"$(cat "$guest/check.log" 2>/dev/null || tail -n 30 "$guest/console.log")"
if [ -s "$guest/e2e.tap" ]; then
	sed 's/^/    /' "$guest/e2e.tap"
	line=$(grep '^e2e: ' "$guest/e2e.tap")
	ep=$(sed -n 's/.* \([0-9][0-9]*\) passed.*/\1/p' <<<"$line")
	ef=$(sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p' <<<"$line")
	[ "${ep:-0}" -gt 0 ] && [ "${ef:-1}" -eq 0 ] && [ $rc -eq 0 ]
	result "end-to-end suite on $release: ${ep:-0} passed, ${ef:-?} failed" $?
else
	result "end-to-end suite on $release (guest exit $rc)" 1 "$(tail -n 30 "$guest/console.log")"
fi
finish
