# shellcheck shell=bash
# Common helpers for uoa-rs scripts: paths, progress output, timing.
# Sourced, never run.

UOA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
UOA_CACHE=${UOA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uoa-rs}
UOA_LLVM=${UOA_LLVM:--19}
# "debug": the debug kernel (scripts/kernel-debug.config on top of
# scripts/kernel.config), built and cached beside the normal one.
UOA_KERNEL_FLAVOUR=${UOA_KERNEL_FLAVOUR:-}
export PATH="$HOME/.cargo/bin:$PATH"

_uoa_t0=$(date +%s)

# step "what": prints a progress line with the time since the script started.
step() {
	printf '==> [%4ds] %s\n' "$(($(date +%s) - _uoa_t0))" "$*" >&2
}

die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# The kernel build directory prepared by scripts/setup.sh.
uoa_kdir() {
	local link="$UOA_CACHE/current-kernel${UOA_KERNEL_FLAVOUR:+-$UOA_KERNEL_FLAVOUR}"
	[ -e "$link/.uoa-built" ] || die "no cached kernel build: run scripts/setup.sh"
	readlink -f "$link"
}

# The Debian archive URI the machine already uses, so that no host name is
# hard-coded here; overridable with UOA_DEBIAN_MIRROR.
debian_mirror() {
	if [ -n "${UOA_DEBIAN_MIRROR:-}" ]; then
		echo "$UOA_DEBIAN_MIRROR"
		return
	fi
	local uri
	uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '/^URIs:/ {u=$2} /^Suites:/ && / (bookworm|trixie)( |$)/ {print u; exit}')
	[ -n "$uri" ] || uri=$(grep -hE '^deb .*/debian/? ' /etc/apt/sources.list 2>/dev/null |
		awk '{print $2; exit}')
	[ -n "$uri" ] || die "cannot find the Debian archive in the machine's apt sources; set UOA_DEBIAN_MIRROR"
	echo "$uri"
}
