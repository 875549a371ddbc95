#!/usr/bin/env bash
# Runs a command with the AWS emulator up (its endpoint in
# STREAMFLEET_TEST_AWS_ENDPOINT), and stops the emulator after it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/ensure-emulator.sh"
coproc EMULATOR { exec "$root/.tools/venv/bin/python" "$root/scripts/emulator.py" 2>/dev/null; }
read -r line <&"${EMULATOR[0]}"
export STREAMFLEET_TEST_AWS_ENDPOINT="${line#MOTO_ENDPOINT=}"
trap 'kill "$EMULATOR_PID" 2>/dev/null || true' EXIT
"$@"
