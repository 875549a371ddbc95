#!/usr/bin/env bash
# Builds every Lambda function as AWS runs it (arm64, provided.al2023:
# `cargo lambda build --release --arm64`, zig as the cross linker) into
# target/lambda/<function>/bootstrap, and reports each bootstrap's size.
#   --report   print `bootstrap_mb_<function>: <MB>` lines (make bench)
#   --check    fail when a bootstrap exceeds the 8 MB bar (make test)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/ensure-infra-tools.sh"
export PATH="$root/.tools/infra-venv/bin:$PATH"

functions=(nodegroups heartbeat lookup scaler lifecycle)
limit_bytes=$((8 * 1000 * 1000))

# One function at a time, exactly as cargo-lambda-cdk's bundling builds them
# (`cargo lambda build --release --arm64 --bin <f>`): building the five
# together unifies their dependencies' features differently, and `cdk synth`
# would then rebuild everything.
for f in "${functions[@]}"; do
  cargo lambda build --release --arm64 --locked --bin "$f" >&2
done

mode="${1:-}"
over=0
for f in "${functions[@]}"; do
  bytes="$(stat -c %s "target/lambda/$f/bootstrap")"
  mb="$(python3 -c "print(f'{$bytes / 1e6:.2f}')")"
  if [ "$mode" = "--report" ]; then
    echo "bootstrap_mb_$f: $mb"
  else
    echo "bootstrap $f: $mb MB" >&2
  fi
  if [ "$bytes" -gt "$limit_bytes" ]; then
    echo "bootstrap $f is $mb MB, over the 8 MB bar" >&2
    over=1
  fi
done
if [ "$mode" = "--check" ] && [ "$over" -ne 0 ]; then
  exit 1
fi
