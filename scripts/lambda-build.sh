#!/usr/bin/env bash
# Builds every Lambda function as AWS runs it (arm64, provided.al2023:
# `cargo lambda build --release --arm64`, zig as the cross linker) into
# target/lambda/<function>/bootstrap, and reports each bootstrap's size.
#   --report   print `bootstrap_mb_<function>: <MB>` lines (make bench)
#   --check    fail when a bootstrap exceeds its size bar (make test)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/ensure-infra-tools.sh"
export PATH="$root/.tools/infra-venv/bin:$PATH"

functions=(nodegroups heartbeat lookup scaler lifecycle)
# Size bars (MB), to catch a crate linked by mistake: heartbeat and lookup
# call DynamoDB only (Secrets Manager at start), so a fleet or EventBridge
# SDK pulled in shows as a megabyte over 8. The node-group function carries
# the console's assets and EventBridge (operators' decisions); the scaler and
# the lifecycle function EC2, Auto Scaling, EventBridge and (the scaler) SQS.
bar_mb() { case "$1" in heartbeat | lookup) echo 8 ;; *) echo 9 ;; esac; }

# cargo-lambda-cdk's bundling builds each function on its own
# (`cargo lambda build --release --arm64 --bin <f>`), and `cdk synth` reuses
# what is here only if every dependency was built with the same features.
# Built together, cargo unifies the five functions' features; that is the
# same thing only while each function resolves exactly the features of the
# whole set. It does today (every function links the same crates; main picks
# the backend and LTO drops the rest), and together the five fat-LTO links
# run two at a time, which is most of this step on two cores. If they ever
# diverge, fall back to one function at a time rather than have `cdk synth`
# rebuild everything.
resolved() { # the crates and features the given packages build with, theirs left out
  cargo tree --locked -q -e normal,build --target aarch64-unknown-linux-gnu \
    --prefix none -f '{p} [{f}]' "$@" | sed 's/ (\*)$//' | sort -u \
    | grep -v -E "^$|^($(IFS='|'; echo "${functions[*]}")) v"
}
together="$(resolved "${functions[@]/#/-p}")"
same=1
for f in "${functions[@]}"; do
  if [ "$(resolved -p "$f")" != "$together" ]; then
    echo "$f resolves other features than the five together: building one at a time" >&2
    same=0
  fi
done
if [ "$same" -eq 1 ]; then
  cargo lambda build --release --arm64 --locked "${functions[@]/#/--bin=}" >&2
else
  for f in "${functions[@]}"; do
    cargo lambda build --release --arm64 --locked --bin "$f" >&2
  done
fi

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
  if [ "$bytes" -gt $(($(bar_mb "$f") * 1000 * 1000)) ]; then
    echo "bootstrap $f is $mb MB, over its $(bar_mb "$f") MB bar" >&2
    over=1
  fi
done
if [ "$mode" = "--check" ] && [ "$over" -ne 0 ]; then
  exit 1
fi
