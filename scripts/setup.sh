#!/usr/bin/env bash
# Prepares everything uoa-rs builds and tests with, from nothing:
#   1. host packages (apt), rust-src, bindgen-cli;
#   2. Debian's linux-source-7.3 (newest 7.3.x in trixie-backports), fetched
#      with a private apt configuration that leaves the machine's own alone;
#   3. a small Rust-enabled kernel (tinyconfig + scripts/kernel.config),
#      bzImage and modules, built with LLVM and cached under
#      $UOA_CACHE/linux-<version>-<fragment hash>.
# Idempotent: a second run only checks and reuses the cache.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

APT_PACKAGES=(clang-19 lld-19 llvm-19 libclang-19-dev flex bison bc libelf-dev
	libssl-dev cpio busybox-static qemu-system-x86 kmod iproute2 procps python3 gcc g++
	make xz-utils debootstrap nftables)
KERNEL_RECIPE=1

install_packages() {
	local missing=() p
	for p in "${APT_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		step "host packages: all present"
		return
	fi
	step "host packages: installing ${missing[*]}"
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}

install_rust_tools() {
	command -v rustup >/dev/null || die "rustup not found (expected the machine's rustup toolchain)"
	if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
		step "rust: adding the rust-src component"
		rustup component add rust-src
	fi
	if ! command -v bindgen >/dev/null; then
		step "rust: cargo install bindgen-cli (takes a few minutes)"
		cargo install bindgen-cli --locked --quiet
	fi
	step "rust: $(rustc --version), $(bindgen --version)"
}

# Fetches the newest linux-source-7.3 .deb into $UOA_CACHE/src and prints its
# version. The machine's apt sources, lists and caches are never touched.
fetch_kernel_source() {
	local apt="$UOA_CACHE/apt" mirror
	mirror=$(debian_mirror)
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/etc/sources.list.d" \
		"$apt/etc/preferences.d" "$UOA_CACHE/src"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie-backports main" \
		>"$apt/etc/sources.list"
	APT_OPTS=(-o "Dir::Etc::sourcelist=$apt/etc/sources.list"
		-o "Dir::Etc::sourceparts=$apt/etc/sources.list.d"
		-o "Dir::Etc::preferencesparts=$apt/etc/preferences.d"
		-o "Dir::State::Lists=$apt/lists"
		-o "Dir::Cache=$apt/cache"
		-o "Dir::State::status=/dev/null"
		-o "APT::Architecture=amd64"
		-o "Debug::NoLocking=1"
		-o "APT::Sandbox::User=root")
	step "kernel source: reading trixie-backports (private apt state in $apt)"
	local version
	if apt-get "${APT_OPTS[@]}" update -qq >&2; then
		version=$(apt-cache "${APT_OPTS[@]}" madison linux-source-7.3 |
			awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -V | tail -n 1)
		[ -n "$version" ] || die "linux-source-7.3 not offered by trixie-backports"
	else
		# Offline: fall back to the newest package already downloaded.
		version=$(ls "$UOA_CACHE/src" 2>/dev/null | sed -n 's/^linux-source-7\.3_\(.*\)_[^_]*\.deb$/\1/p' |
			sed 's/%3a/:/g' | sort -V | tail -n 1)
		[ -n "$version" ] || die "cannot reach trixie-backports and no cached kernel source"
		step "kernel source: archive unreachable, using cached $version"
	fi
	local deb
	deb=$(ls "$UOA_CACHE/src"/linux-source-7.3_"${version//:/%3a}"_*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$deb" ]; then
		step "kernel source: downloading linux-source-7.3 $version"
		(cd "$UOA_CACHE/src" && apt-get "${APT_OPTS[@]}" download -qq "linux-source-7.3=$version") >&2
	fi
	echo "$version"
}

# Unpacks the source of $1 (a package version) into $2.
unpack_kernel_source() {
	local version=$1 dest=$2 deb tmp
	deb=$(ls "$UOA_CACHE/src"/linux-source-7.3_"${version//:/%3a}"_*.deb | head -n 1)
	tmp="$dest.unpack"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	step "kernel source: unpacking $(basename "$deb")"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './usr/src/linux-source-7.3.tar.*'
	tar -x -C "$tmp" -f "$tmp"/usr/src/linux-source-7.3.tar.*
	mv "$tmp/linux-source-7.3" "$dest"
	rm -rf "$tmp"
}

# The config fragments of the flavour: scripts/kernel.config, and for the
# debug flavour scripts/kernel-debug.config on top.
fragments() {
	echo "$UOA_ROOT/scripts/kernel.config"
	[ -z "$UOA_KERNEL_FLAVOUR" ] || echo "$UOA_ROOT/scripts/kernel-$UOA_KERNEL_FLAVOUR.config"
}

configure_kernel() {
	local kdir=$1 fragment
	step "kernel config: tinyconfig + $(fragments | xargs -n1 basename | tr '\n' ' ')"
	make -C "$kdir" -s LLVM="$UOA_LLVM" tinyconfig
	# shellcheck disable=SC2046
	"$kdir/scripts/kconfig/merge_config.sh" -m -O "$kdir" "$kdir/.config" $(fragments) >/dev/null
	make -C "$kdir" -s LLVM="$UOA_LLVM" olddefconfig
	# Every symbol the fragments ask for must have survived olddefconfig.
	local line sym bad=0
	for fragment in $(fragments); do
		while IFS= read -r line; do
			case "$line" in CONFIG_*=*) ;; *) continue ;; esac
			sym=${line%%=*}
			if ! grep -qx -- "$line" "$kdir/.config"; then
				echo "kernel config: $line requested, got: $(grep -E "^(# )?$sym[= ]" "$kdir/.config" || echo unset)" >&2
				bad=1
			fi
		done <"$fragment"
	done
	[ $bad -eq 0 ] || die "kernel config fragment not satisfied (missing dependency?)"
}

build_kernel() {
	local kdir=$1
	if ! make -C "$kdir" -s LLVM="$UOA_LLVM" rustavailable >/dev/null; then
		make -C "$kdir" LLVM="$UOA_LLVM" rustavailable || true
		die "the kernel cannot use this Rust toolchain"
	fi
	step "kernel build: bzImage + modules with LLVM=$UOA_LLVM on $(nproc) CPUs (about 7 minutes cold)"
	make -C "$kdir" -s LLVM="$UOA_LLVM" -j"$(nproc)" bzImage modules
	touch "$kdir/.uoa-built"
}

main() {
	mkdir -p "$UOA_CACHE"
	# One set-up at a time per cache: a second caller waits, then finds the
	# kernel built.
	exec 9>"$UOA_CACHE/setup.lock"
	if ! flock -n 9; then
		step "waiting for another scripts/setup.sh to finish"
		flock 9
	fi
	install_packages
	install_rust_tools
	local version hash kdir
	version=$(fetch_kernel_source)
	step "kernel source: linux-source-7.3 version $version"
	# The cache key: the fragment, the compiler, and the recipe's own version
	# (bump KERNEL_RECIPE when configure_kernel or build_kernel change).
	# shellcheck disable=SC2046
	hash=$( (cat $(fragments); echo "LLVM=$UOA_LLVM recipe=$KERNEL_RECIPE") |
		sha256sum | cut -c1-12)
	local prefix="linux-${UOA_KERNEL_FLAVOUR:+$UOA_KERNEL_FLAVOUR-}"
	kdir="$UOA_CACHE/$prefix$version-$hash"
	if [ -e "$kdir/.uoa-built" ]; then
		step "kernel build: cached in $kdir"
	else
		[ -d "$kdir" ] || unpack_kernel_source "$version" "$kdir"
		configure_kernel "$kdir"
		build_kernel "$kdir"
		step "kernel build: done"
		# Trees of the same flavour with other versions or fragments are
		# superseded (about 2 GB each).
		local old
		for old in "$UOA_CACHE/$prefix"[0-9]*; do
			[ "$old" = "$kdir" ] || [ ! -d "$old" ] || { step "removing superseded $old"; rm -rf "$old"; }
		done
	fi
	# How the module's Makefile calls this tree's make (see Makefile).
	echo "LLVM=$UOA_LLVM" >"$kdir/uoa-make-args"
	ln -sfn "$kdir" "$UOA_CACHE/current-kernel${UOA_KERNEL_FLAVOUR:+-$UOA_KERNEL_FLAVOUR}"
	step "ready: KDIR=$kdir"
}

main "$@"
