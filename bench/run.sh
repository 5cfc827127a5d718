#!/usr/bin/env bash
# Builds stampede in release and runs the side-by-side benchmark against k6.
#   bash bench/run.sh [bench.py options]   case 1 (or --case N), appends to bench/results/<date>.md
#   bash bench/run.sh --all [options]      cases 1-6 in order (about 50 min with the 10-min soak)
#   BENCH_TINY=1 bash bench/run.sh         one short case-1 run (CI keeps the harness working with it)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p stampede
if [ "${BENCH_TINY:-0}" = "1" ]; then
  exec python3 bench/bench.py --runs 1 --duration 2s --vus 10
fi
# wrk is a raw-HTTP reference for case 1; oha too, when installed (`cargo install oha`, optional).
command -v wrk >/dev/null 2>&1 || apt-get install -y wrk || echo "wrk not installed: case 1 runs without it" >&2
out="bench/results/$(date -u +%Y-%m-%d).md"
if [ "${1:-}" = "--all" ]; then
  shift
  exec python3 bench/bench.py --case all --out "$out" "$@"
fi
exec python3 bench/bench.py --out "$out" "$@"
