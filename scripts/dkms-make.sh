#!/usr/bin/env bash
# Builds uoa.ko for kernel RELEASE, as dkms.conf's MAKE: gives the kernel's
# headers the Rust metadata they lack (scripts/kbuild-rust.sh: prepared once
# per release, checked on every build), then builds against that tree.
#
# usage: scripts/dkms-make.sh RELEASE
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 RELEASE" >&2; exit 2; }
cd "$(dirname "$0")/.."
kdir=$(bash scripts/kbuild-rust.sh "$1")
make KDIR="$kdir"
