#!/usr/bin/env bash
# Installs what the infra checks and the Lambda build need, once, pinned:
# - .tools/infra-venv: cfn-lint, aws-sam-cli, cargo-lambda and zig (PyPI,
#   scripts/requirements-infra.txt); re-installed when the pins change;
# - infra/cdk/node_modules: aws-cdk-lib, cargo-lambda-cdk, the CDK CLI and
#   jest (npm ci from the committed package-lock.json);
# - the aarch64-unknown-linux-gnu Rust target (Lambda runs on arm64).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

venv="$root/.tools/infra-venv"
requirements="$root/scripts/requirements-infra.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing cfn-lint, aws-sam-cli, cargo-lambda and zig into .tools/infra-venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
fi

cdk="$root/infra/cdk"
lock_stamp="$cdk/node_modules/.package-lock.sha256"
want_lock="$(sha256sum "$cdk/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$lock_stamp" 2>/dev/null)" != "$want_lock" ]; then
  echo "Installing the CDK app's packages (npm ci) ..." >&2
  (cd "$cdk" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want_lock" > "$lock_stamp"
fi

if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  echo "Adding the aarch64-unknown-linux-gnu Rust target ..." >&2
  rustup target add aarch64-unknown-linux-gnu
fi
