#!/usr/bin/env bash
# Runs the peer benchmarks (serial and parallel) and the load test, and
# writes bench/RESULTS.md. Takes about ten minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d)
BENCHTIME="${BENCHTIME:-2000x}"
COUNT="${COUNT:-3}"
echo "serial benchmarks (-benchtime $BENCHTIME -count $COUNT)..."
go test -run '^$' -bench 'BenchmarkSessions' -benchmem -benchtime "$BENCHTIME" -count "$COUNT" . > "$out/serial.txt"
echo "parallel benchmarks..."
go test -run '^$' -bench 'BenchmarkParallel' -benchmem -benchtime "$BENCHTIME" -count 1 -timeout 60m . > "$out/parallel.txt"
echo "load test..."
go run ./load -clients 16 -duration 5s > "$out/load.txt"
python3 report.py "$out" > RESULTS.md
echo "wrote bench/RESULTS.md"
