#!/usr/bin/env bash
# `make chaos`: the chaos harness's long runs against the emulator (each
# seed beside its fault-free twin); prints `name: value` lines. Pass
# `--seeds N` or `--seed S` (replay one) through CHAOS_ARGS.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck disable=SC2086
"$root/scripts/with-emulator.sh" env RUST_LOG="${RUST_LOG:-off}" cargo run -q --locked -p streamfleet-scenarios --bin chaos -- ${CHAOS_ARGS:-}
