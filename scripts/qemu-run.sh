#!/usr/bin/env bash
# Boots the cached kernel under QEMU (TCG) and runs one shell command in the
# guest, inside a chroot of the host's root file system (read-only over 9p,
# with fresh /proc, /sys, /dev, /tmp and /run). The checkout is shared at its
# own path too (read-only), so it is there even when it lives under /tmp.
# The command starts in the directory this script was called from. Prints the guest console, returns
# the command's exit status, and always terminates:
#   124  the guest did not finish in time (--timeout, default 300 s)
#   125  the guest stopped without reporting a status (panic, crash)
#
# usage: scripts/qemu-run.sh [--timeout S] [--icount] [--smp N] [--mem M]
#                            [--quiet] [--out DIR] [--debian ROOT] -- COMMAND...
#   --icount  deterministic guest time (-icount shift=0,sleep=off), for
#             benchmarks; implies one CPU
#   --out DIR keep the run directory (the guest sees it as /run/uoa, writable)
#   --quiet   do not echo the guest console (it is still in DIR/console.log)
#   --debian ROOT  boot the distribution kernel installed in the Debian root
#             ROOT (its vmlinuz, its 9p modules loaded from the initramfs)
#             and chroot into ROOT instead of the host's root; the checkout
#             is not shared (the command runs from /)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

timeout_s=300 icount=0 smp=2 mem=1024 quiet=0 out= debian=
while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) timeout_s=$2; shift 2 ;;
	--icount) icount=1; smp=1; shift ;;
	--smp) smp=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	--out) out=$2; shift 2 ;;
	--debian) debian=$(cd "$2" && pwd); shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || die "usage: $0 [options] -- COMMAND..."

if [ -n "$debian" ]; then
	# The one kernel installed in the root.
	kernel=$(ls "$debian"/usr/lib/modules/*/vmlinuz | head -n 1)
	[ -f "$kernel" ] || die "no kernel installed in $debian"
	modules=$(dirname "$kernel")
	share_root=$debian checkout=
else
	kdir=$(uoa_kdir)
	kernel="$kdir/arch/x86/boot/bzImage"
	modules= share_root=/ checkout=$UOA_ROOT
fi
busybox=$(command -v busybox) || die "busybox not found (scripts/setup.sh installs busybox-static)"

if [ -n "$out" ]; then
	mkdir -p "$out"
	rundir=$(cd "$out" && pwd)
	keep=1
else
	rundir=$(mktemp -d /tmp/uoa-qemu.XXXXXX)
	keep=0
fi
cleanup() { [ $keep -eq 1 ] || rm -rf "$rundir"; }
trap cleanup EXIT
rm -f "$rundir/rc" "$rundir/console.log"

# The command, run by the guest's init after the chroot.
{
	echo "cd $(printf '%q' "$PWD") 2>/dev/null || cd /"
	printf '%q ' "$@"
	echo
} >"$rundir/cmd"

# The initramfs: static busybox and an init that mounts the host root.
initrd="$rundir/initrd.cpio.gz"
stage=$(mktemp -d /tmp/uoa-initrd.XXXXXX)
mkdir -p "$stage"/{bin,dev,proc,sys,host}
cp "$busybox" "$stage/bin/busybox"
printf '%s\n' "$checkout" >"$stage/checkout"
# A distribution kernel has 9p as modules: load them from the initramfs.
mkdir -p "$stage/lib/9p"
if [ -n "$modules" ]; then
	for m in fs/netfs/netfs net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p; do
		xz -dc "$modules/kernel/$m.ko.xz" >"$stage/lib/9p/$(basename "$m").ko" ||
			die "no $m module in $modules"
		echo "$(basename "$m").ko" >>"$stage/lib/9p/order"
	done
fi
cat >"$stage/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
if [ -f /lib/9p/order ]; then
	while read -r m; do insmod "/lib/9p/$m" || echo "uoa-guest: insmod $m failed"; done </lib/9p/order
	# The kernel's module autoloader runs outside the chroot: send it in.
	printf '#!/bin/busybox sh\nexec chroot /host /sbin/modprobe "$@"\n' >/bin/uoa-modprobe
	chmod +x /bin/uoa-modprobe
	echo /bin/uoa-modprobe >/proc/sys/kernel/modprobe
fi
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host; then
	echo "uoa-guest: cannot mount the host root over 9p"
	reboot -f
fi
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mount -t debugfs debugfs /host/sys/kernel/debug
mount -t tmpfs tmp /host/tmp
mount -t tmpfs run /host/run
mkdir -p /host/run/uoa /host/run/netns
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 uoarun /host/run/uoa
read -r checkout </checkout
if [ -n "$checkout" ]; then
	mkdir -p "/host$checkout" 2>/dev/null
	mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose uoasrc "/host$checkout" ||
		echo "uoa-guest: cannot mount the checkout at $checkout"
fi
hostname uoa-guest
ip link set lo up 2>/dev/null
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/root/.cargo/bin
export HOME=/tmp TERM=dumb
chroot /host /bin/bash -c '. /run/uoa/cmd; echo $? > /run/uoa/rc' </dev/console >/dev/console 2>&1
sync
reboot -f
INIT
chmod +x "$stage/init"
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd"
rm -rf "$stage"

qemu_args=(
	-kernel "$kernel" -initrd "$initrd"
	-append "console=ttyS0 panic=-1 oops=panic quiet loglevel=4 rdinit=/init ${UOA_KERNEL_ARGS:-}"
	-m "$mem" -smp "$smp" -display none -monitor none -no-reboot -nodefaults -serial stdio
	-virtfs "local,path=$share_root,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$rundir,mount_tag=uoarun,security_model=none"
)
[ -z "$checkout" ] ||
	qemu_args+=(-virtfs "local,path=$checkout,mount_tag=uoasrc,security_model=none,readonly=on,multidevs=remap")
if [ $icount -eq 1 ]; then
	qemu_args+=(-accel tcg -icount shift=0,sleep=off)
else
	qemu_args+=(-accel tcg,thread=multi)
fi

set +e
if [ $quiet -eq 1 ]; then
	timeout --kill-after=5 "$timeout_s" qemu-system-x86_64 "${qemu_args[@]}" </dev/null >"$rundir/console.log" 2>&1
else
	timeout --kill-after=5 "$timeout_s" qemu-system-x86_64 "${qemu_args[@]}" </dev/null 2>&1 |
		tee "$rundir/console.log"
fi
qrc=${PIPESTATUS[0]}
set -e
if [ -s "$rundir/rc" ]; then
	exit "$(cat "$rundir/rc")"
fi
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
	echo "qemu-run: guest timed out after ${timeout_s}s" >&2
	exit 124
fi
echo "qemu-run: guest stopped without an exit status (qemu exit $qrc; panic?)" >&2
exit 125
