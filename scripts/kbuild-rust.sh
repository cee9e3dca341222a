#!/usr/bin/env bash
# Prepares a build tree for out-of-tree Rust modules against a distribution
# kernel whose headers package lacks the Rust metadata (rust/*.rmeta, the
# proc-macro libraries, scripts/module.lds), as Debian's does. Run by
# dkms.conf (scripts/dkms-make.sh); usable by hand.
#
#   scripts/kbuild-rust.sh RELEASE        prints the prepared tree (KDIR)
#
# For kernel RELEASE it takes the headers (/lib/modules/RELEASE/build), their
# .config and the matching kernel source (Debian: /usr/src/linux-source-X.Y
# .tar.xz from the linux-source-X.Y package), runs the kernel's own `prepare
# modules_prepare` in a fresh output directory with the compilers the kernel
# was built with, then puts the headers' Module.symvers, vmlinux (for the
# module's BTF) and release strings into it. The result is cached once per
# release under /var/cache/uoa-rs/kbuild/RELEASE and reused while the
# configuration, source and compilers stay the same.
#
# Every run checks, before any module is built, that:
#   - rustc is the one the kernel was built with (CONFIG_RUSTC_VERSION_TEXT);
#   - the Rust symbols of the rebuilt metadata are exactly the kernel's (its
#     Module.symvers), so that a module built here links in that kernel;
#   - the release string (the module's vermagic) is the kernel's.
#
# Environment: UOA_HEADERS (headers directory), UOA_KERNEL_SOURCE (source
# tarball or directory), UOA_KBUILD_CACHE (cache root), RUSTC, BINDGEN.
set -euo pipefail

RECIPE=2 # bump when the way a tree is prepared changes

die() {
	printf 'uoa kbuild-rust: error: %s\n' "$*" >&2
	exit 1
}
say() { printf 'uoa kbuild-rust: %s\n' "$*" >&2; }

# config_value NAME: a value of the headers' .config, quotes removed.
config_value() {
	sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$headers/.config"
}

# rust_symbols FILE...: the Rust (v0-mangled) symbols exported by the
# rust/exports_*_generated.h files given.
rust_symbols() {
	sed -n 's/^EXPORT_SYMBOL_RUST_GPL(\(_R[A-Za-z0-9_]*\));$/\1/p' "$@" | sort -u
}

# check_symbols TREE: the Rust symbols TREE's rust/ exports must be those the
# kernel exports (the headers' Module.symvers). Rust symbol names carry a
# hash of the compiler and crate; a different rustc or source changes them.
check_symbols() {
	local tree=$1 ours theirs missing extra
	ours=$(rust_symbols "$tree"/rust/exports_*_generated.h)
	theirs=$(awk '$3 == "vmlinux" && $2 ~ /^_R/ {print $2}' "$headers/Module.symvers" | sort -u)
	[ -n "$theirs" ] || die "$headers/Module.symvers lists no Rust symbols: is RELEASE a Rust-enabled kernel?"
	missing=$(comm -13 <(printf '%s\n' "$ours") <(printf '%s\n' "$theirs") | wc -l)
	extra=$(comm -23 <(printf '%s\n' "$ours") <(printf '%s\n' "$theirs") | grep -c . || true)
	if [ "$missing" -ne 0 ] || [ "$extra" -ne 0 ]; then
		die "the Rust metadata rebuilt for $release does not match the kernel: of its \
$(wc -l <<<"$theirs") Rust symbols, $missing are not produced here and $extra produced here are \
not in the kernel (e.g. $(comm -23 <(printf '%s\n' "$ours") <(printf '%s\n' "$theirs") | head -n 1)). \
A module built so would not load. The kernel was built with '$(config_value CONFIG_RUSTC_VERSION_TEXT)', \
this build uses '$($rustc --version)', source $source_id. Install the kernel's rustc, rust-src \
and the kernel source of the same version, then rerun."
	fi
}

[ $# -eq 1 ] || die "usage: $0 RELEASE"
release=$1
headers=$(readlink -f "${UOA_HEADERS:-/lib/modules/$release/build}") ||
	die "no headers for $release (install linux-headers-$release)"
[ -f "$headers/.config" ] && [ -f "$headers/Module.symvers" ] ||
	die "no headers for $release in $headers (install linux-headers-$release)"
grep -qx 'CONFIG_RUST=y' "$headers/.config" ||
	die "kernel $release is not built with Rust support (CONFIG_RUST is not set)"

# The compilers must be the kernel's. rustc decides the Rust symbol names.
rustc=${RUSTC:-rustc}
bindgen=${BINDGEN:-bindgen}
command -v "$rustc" >/dev/null || die "rustc not found (install rustc and rust-src)"
want=$(config_value CONFIG_RUSTC_VERSION_TEXT)
have=$("$rustc" --version)
[ "$have" = "$want" ] || die "kernel $release was built with '$want', \
but '$rustc' is '$have'. Rust modules must be built with the kernel's own rustc (Debian 13: \
the rustc and rust-src packages of trixie, not of trixie-backports); set RUSTC= to choose another."
command -v "$bindgen" >/dev/null || die "bindgen not found (install bindgen)"
if [ "$(config_value CONFIG_DEBUG_INFO_BTF_MODULES)" = y ]; then
	command -v pahole >/dev/null || die "kernel $release wants BTF in modules: install pahole"
fi

# The kernel source of the same version as the headers.
uts=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$headers/include/generated/utsrelease.h")
[ "$uts" = "$release" ] || die "$headers is for '$uts', not '$release'"
kversion=$(grep -o '^[0-9]*\.[0-9]*\(\.[0-9]*\)\{0,1\}' <<<"$release")
series=$(cut -d. -f1,2 <<<"$kversion")
source=${UOA_KERNEL_SOURCE:-}
if [ -z "$source" ]; then
	for source in /usr/src/linux-source-"$series".tar.{xz,bz2,gz} /usr/src/linux-source-"$series" ""; do
		[ -e "$source" ] && break
	done
	[ -n "$source" ] || die "no kernel source for $release: install linux-source-$series \
(Debian), or set UOA_KERNEL_SOURCE to its tarball or directory"
fi
[ -e "$source" ] || die "UOA_KERNEL_SOURCE=$source does not exist"
# Where dpkg knows both packages, their versions must be equal: the same
# release string can be rebuilt with other sources.
source_id=$source
if command -v dpkg-query >/dev/null; then
	hpkg=$(dpkg-query -S "$headers/.config" 2>/dev/null | cut -d: -f1 || true)
	spkg=$(dpkg-query -S "$source" 2>/dev/null | cut -d: -f1 || true)
	if [ -n "$hpkg" ] && [ -n "$spkg" ]; then
		hver=$(dpkg-query -W -f='${Version}' "$hpkg")
		sver=$(dpkg-query -W -f='${Version}' "$spkg")
		[ "$hver" = "$sver" ] || die "$spkg is version $sver but $hpkg is $hver: \
install the kernel's source (apt install $spkg=$hver)"
		source_id="$spkg $sver"
	fi
fi

cache=${UOA_KBUILD_CACHE:-/var/cache/uoa-rs/kbuild}
dir="$cache/$release"
mkdir -p "$cache"
exec 8>"$cache/.$release.lock"
flock 8

# What the metadata depends on; the Rust symbols are checked on every run.
key=$({
	echo "recipe $RECIPE"
	sha256sum <"$headers/.config"
	[ -f "$headers/.kernelvariables" ] && sha256sum <"$headers/.kernelvariables"
	if [ -d "$source" ]; then echo "$source $(stat -c %Y "$source/Makefile")"; else
		echo "$source $(stat -c '%s %Y' "$source")"; fi
	"$rustc" --version
	"$bindgen" --version
} | sha256sum | cut -c1-16)

if [ -f "$dir/ready" ] && [ "$(cat "$dir/ready")" = "$key" ]; then
	say "reusing $dir"
else
	say "preparing Rust metadata for $release in $dir (a few minutes, once per release)"
	# Built in place (an output tree records its source's path); the ready
	# stamp, written last, says it is complete.
	rm -rf "$dir"
	mkdir -p "$dir/src" "$dir/obj"
	if [ -d "$source" ]; then
		cp -a "$source/." "$dir/src/"
	else
		tar -xf "$source" -C "$dir/src" --strip-components=1
	fi
	src_version=$(make -s -C "$dir/src" kernelversion)
	[ "$src_version" = "$kversion" ] || die "the source in $source is Linux $src_version, \
the kernel is $kversion: install the kernel's source"
	cp "$headers/.config" "$dir/obj/.config"
	# Debian's kernel Makefile reads its compiler and release from here.
	[ -f "$headers/.kernelvariables" ] && cp "$headers/.kernelvariables" "$dir/obj/"
	# Other distributions: the compiler the kernel names in its .config.
	margs=()
	if [ ! -f "$headers/.kernelvariables" ]; then
		if [ "$(config_value CONFIG_CC_IS_CLANG)" = y ]; then
			margs+=(LLVM=1)
		else
			cc_cmd=$(config_value CONFIG_CC_VERSION_TEXT | awk '{print $1}')
			margs+=(CC="$cc_cmd" HOSTCC="$cc_cmd")
		fi
	fi
	printf '%s\n' "${margs[@]}" >"$dir/obj/uoa-make-args"
	kmake() { make -s -C "$dir/src" O="$dir/obj" RUSTC="$rustc" BINDGEN="$bindgen" "${margs[@]}" "$@"; }
	kmake olddefconfig >/dev/null
	# olddefconfig rewrites what depends on the toolchain; a change there
	# means these compilers are not the kernel's. (A C compiler's package
	# revision alone, in CC_VERSION_TEXT, changes nothing that matters.)
	config_lines() { grep '^CONFIG_' "$1" | grep -v '^CONFIG_CC_VERSION_TEXT='; }
	if ! diff -q <(config_lines "$headers/.config") <(config_lines "$dir/obj/.config") >/dev/null; then
		diff <(config_lines "$headers/.config") <(config_lines "$dir/obj/.config") | head -n 20 >&2
		die "the kernel's configuration changes when rebuilt here (above: < kernel, > here): \
a tool its Kconfig tests differs or is missing (compilers, pahole, openssl); install the kernel's"
	fi
	kmake rustavailable >/dev/null || {
		kmake rustavailable || true
		die "the kernel build cannot use this Rust toolchain (above)"
	}
	kmake -j"$(nproc)" prepare modules_prepare ||
		die "the kernel's 'make prepare modules_prepare' failed (above): a build tool missing?"
	# Module builds read only the top level, include/, scripts/, rust/ and
	# the architecture's directory of the source: drop the rest (1.8 GB of
	# a Debian source, 94 MB kept).
	srcarch=
	grep -qx 'CONFIG_X86=y' "$dir/obj/.config" && srcarch=x86
	grep -qx 'CONFIG_ARM64=y' "$dir/obj/.config" && srcarch=arm64
	if [ -n "$srcarch" ]; then
		find "$dir/src" -mindepth 1 -maxdepth 1 -type d \
			! -name arch ! -name include ! -name scripts ! -name rust -exec rm -rf {} +
		find "$dir/src/arch" -mindepth 1 -maxdepth 1 ! -name "$srcarch" -exec rm -rf {} +
	fi
	echo "$key" >"$dir/ready"
fi

tree="$dir/obj"
check_symbols "$tree"
# What the headers know better than a rebuild: the kernel's symbols, its
# vmlinux (BTF base of the module's BTF), and its exact release string.
for f in Module.symvers vmlinux include/generated/utsrelease.h include/config/kernel.release; do
	[ -f "$headers/$f" ] || { [ "$f" = vmlinux ] && continue; die "$headers/$f missing"; }
	cmp -s "$headers/$f" "$tree/$f" || cp "$headers/$f" "$tree/$f"
done
[ "$(cat "$tree/include/config/kernel.release")" = "$release" ] ||
	die "prepared tree has release $(cat "$tree/include/config/kernel.release"), want $release"
echo "$tree"
