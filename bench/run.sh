#!/usr/bin/env bash
# Builds stampede in release and runs the side-by-side benchmark against k6.
# BENCH_TINY=1 runs one short case (used by CI to keep the harness working).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p stampede
if [ "${BENCH_TINY:-0}" = "1" ]; then
  exec python3 bench/bench.py --runs 1 --duration 2s --vus 10
fi
exec python3 bench/bench.py --out "bench/results/$(date -u +%Y-%m-%d).md" "$@"
