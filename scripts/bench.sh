#!/usr/bin/env bash
# `make bench`: every benchmark, one `name: value` line per figure on stdout
# (details on stderr). The scaler's ticks take about 8 of its 12 minutes on 2
# cores (warm); the functions' x86-64 release build for the cold starts takes about
# 12 more the first time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/ensure-emulator.sh"

# Pure functions: criterion, median of its samples.
cargo bench --locked -q -p streamfleet-core --bench placement --bench plan >&2
median_us() {
  python3 - "target/criterion/$1/new/estimates.json" <<'PY'
import json, sys
median_ns = json.load(open(sys.argv[1]))["median"]["point_estimate"]
print(f"{median_ns / 1000:.3f}")
PY
}
echo "placement_1000_nodes_us: $(median_us placement_1000_nodes)"
plan_us="$(median_us plan_10000_nodes)"
echo "plan_10000_nodes_ms: $(python3 -c "print(f'{$plan_us / 1000:.3f}')")"

# Hot paths against the emulator, side by side with its own speed.
cargo run --locked -q --profile bench -p streamfleet-scenarios --bin bench_lookups

# Seats under a crowd: several lookup processes at once, edges reporting.
RUST_LOG="${RUST_LOG:-error}" cargo run --locked -q --profile bench -p streamfleet-scenarios --bin bench_seats

# From a seat crossing the scale-out threshold to the launch (lookups call
# the scaler at once; no scheduled tick).
RUST_LOG="${RUST_LOG:-error}" cargo run --locked -q --profile bench -p streamfleet-scenarios --bin bench_scaleout

# One scaler tick over 1,000 groups × 20 nodes through the tick queue, then
# one over 10,000, each beside its requests replayed bare (about 1 and 7
# minutes on the emulator, loading included).
RUST_LOG="${RUST_LOG:-error}" cargo run --locked -q --profile bench -p streamfleet-scenarios --bin bench_scaler

# The scaling simulator on the shipped traces: per trace and policy, sessions
# cut, % of joins rejected, instance-hours against the oracle's.
cargo run --locked -q --release -p streamfleet-cli -- simulate --report bench

# Each function's cold start beside its floor (a hello-world bootstrap and a
# bare SDK program's init calls): the host's release build (x86-64, the
# functions' profile), started under a stand-in for the Lambda Runtime API.
cargo build --release --locked -p heartbeat -p lookup -p nodegroups -p scaler -p lifecycle \
  -p streamfleet-cold-start-floor >&2
RUST_LOG="${RUST_LOG:-error}" cargo run --locked -q --profile bench -p streamfleet-scenarios --bin bench_cold_start -- \
  "$root/target/release"

# Each Lambda bootstrap as deployed (arm64, release; incremental after make test).
"$root/scripts/lambda-build.sh" --report
