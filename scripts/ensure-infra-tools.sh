#!/usr/bin/env bash
# Installs what the infra checks and the Lambda build need, once, pinned:
# - .tools/infra-venv: cfn-lint, aws-sam-cli, cargo-lambda and zig (PyPI,
#   scripts/requirements-infra.txt); re-installed when the pins change;
# - infra/cdk/node_modules: aws-cdk-lib, cargo-lambda-cdk, the CDK CLI and
#   jest (npm ci from the committed package-lock.json);
# - the aarch64-unknown-linux-gnu Rust target (Lambda runs on arm64).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

"$root/scripts/ensure-venv.sh" "$root/.tools/infra-venv" "$root/scripts/requirements-infra.txt" \
  "cfn-lint, aws-sam-cli, cargo-lambda and zig"

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
