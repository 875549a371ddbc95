#!/usr/bin/env bash
# `make test`: every check and test of the workspace, against one emulator.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

"$root/scripts/ensure-emulator.sh"
"$root/scripts/ensure-media.sh"
"$root/scripts/ensure-browser.sh"
"$root/scripts/ensure-webrtc.sh"

step() { printf '\n==> %s\n' "$*"; }

# A cold run writes about 6.5 GB (the debug build and tests, the arm64
# release build, the tools); a full disk fails deep in the linker, so say
# it first.
free_mb="$(df -Pm "$root" | awk 'NR == 2 { print $4 }')"
if [ "$free_mb" -lt 8000 ]; then
  echo "warning: $((free_mb / 1000)) GB free under $root; a cold run needs about 6.5 GB" >&2
fi

# The arm64 release build of the Lambda functions (checked under "infra"
# below) starts now, in the background and at the lowest priority: on two
# cores it takes what clippy, the test build and the tests leave idle
# (link steps, tests waiting on the emulator) instead of a quarter of an
# hour of its own at the end. Its own directory under target/ is locked
# apart from the debug build's, so neither waits for the other.
lambda_log="$(mktemp)"
setsid nice -n 19 "$root/scripts/lambda-build.sh" >"$lambda_log" 2>&1 &
lambda_build=$!
# Stopped with this script, whatever stops it (its own process group).
stop_background() {
  kill -- "-$lambda_build" 2>/dev/null || true
  kill "${EMULATOR_PID:-}" 2>/dev/null || true
}
trap stop_background EXIT

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "the emulator's patches give moto's answers"
"$root/.tools/venv/bin/python" "$root/scripts/test_moto_speedups.py"

# One emulator for the whole run; the test harness would otherwise start
# one per test binary. It stops with this script (its stdin is our pipe).
step "starting the AWS emulator"
coproc EMULATOR { exec "$root/.tools/venv/bin/python" "$root/scripts/emulator.py"; }
read -r line <&"${EMULATOR[0]}"
export STREAMFLEET_TEST_AWS_ENDPOINT="${line#MOTO_ENDPOINT=}"
echo "emulator at $STREAMFLEET_TEST_AWS_ENDPOINT"

step "cargo test"
log="$(mktemp)"
cargo test --workspace --locked 2>&1 | tee "$log"
# One closing line for the whole run: cargo prints one per test binary, the
# last of which may well be an empty doc-test run.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "\nall tests: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"

step "infra: templates, Lambda build, CDK, parity"
# The background build's outcome: a failure is shown here, and the check
# below builds again in the foreground (so its errors are in order too).
if ! wait "$lambda_build"; then
  echo "the background Lambda build failed:" >&2
  tail -n 40 "$lambda_log" >&2
fi
rm -f "$lambda_log"
"$root/scripts/check-infra.sh"
