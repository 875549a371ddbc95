# The two commands of the README. Each installs what it needs (pinned).
.PHONY: dev test bench fuzz chaos fmt lint

## Run the whole stack locally (AWS emulator + API on 127.0.0.1:8080).
dev:
	@scripts/dev.sh

## Run every check and test (what CI runs).
test:
	@scripts/test.sh

## Run every benchmark; prints one `name: value` line per figure.
bench:
	@scripts/bench.sh

## A long fuzz run of every parser and of the router (FUZZ_ARGS="--seed S" replays one).
fuzz:
	@scripts/fuzz.sh

## The chaos harness's long runs, each seed beside a fault-free twin (CHAOS_ARGS="--seed S" replays one).
chaos:
	@scripts/chaos.sh

fmt:
	cargo fmt --all

lint:
	cargo clippy --workspace --all-targets -- -D warnings
