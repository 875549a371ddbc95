#!/usr/bin/env bash
# `make dev`: the whole stack on this machine. The binary starts the emulator
# itself and stops it on exit (Ctrl-C included).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/ensure-emulator.sh"
cargo build --locked -p streamfleet-local
export STREAMFLEET_REPO_ROOT="$root"
exec "$root/target/debug/streamfleet-local"
