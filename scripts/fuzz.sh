#!/usr/bin/env bash
# `make fuzz`: a long fuzz run (1,000,000 mutated parser inputs and 5,000
# mutated requests through the real router on the emulator by default);
# prints `name: value` lines and fails on any panic, server error, or error
# without a code. Pass `--inputs N --requests M --seed S` through FUZZ_ARGS
# to size it, or to replay a finding's seed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# The debug build `make test` made: parsers run fast enough unoptimised,
# and overflow checks stay on, so an overflow is a finding.
# shellcheck disable=SC2086
"$root/scripts/with-emulator.sh" env RUST_LOG=error cargo run -q --locked -p streamfleet-fuzz -- --inputs 1000000 --requests 5000 ${FUZZ_ARGS:-}
