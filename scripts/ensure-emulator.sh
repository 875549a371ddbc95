#!/usr/bin/env bash
# Installs the AWS emulator (moto server, pinned) into .tools/venv, once.
# Re-installs when the pinned requirements change.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/ensure-venv.sh" "$root/.tools/venv" "$root/scripts/requirements-emulator.txt" \
  "the AWS emulator (moto server)"
