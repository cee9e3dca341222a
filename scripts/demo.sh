#!/usr/bin/env bash
# The main job: sets everything up, builds the module and samples, boots the
# test guest and shows the module at work there (scripts/demo-guest.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$UOA_ROOT"

bash scripts/setup.sh
step "build: uoa.ko and samples"
make -s >/dev/null
make -s -C samples >/dev/null
step "guest: boot and run scripts/demo-guest.sh"
bash scripts/qemu-run.sh --timeout 300 -- bash scripts/demo-guest.sh
