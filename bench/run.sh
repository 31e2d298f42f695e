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
# The untouched workload costs about a microsecond: 2000 iterations are too
# few to time it, so it runs again, alone, with many more; its rows (raw
# handlers included) replace the first run's.
UNTOUCHED_BENCHTIME="${UNTOUCHED_BENCHTIME:-100000x}"
echo "untouched workload (-benchtime $UNTOUCHED_BENCHTIME -count 5)..."
CLOAKROOM_BENCH_WORKLOAD=untouched go test -run '^$' -bench 'BenchmarkSessions' -benchmem -benchtime "$UNTOUCHED_BENCHTIME" -count 5 . > "$out/untouched.txt"
echo "parallel benchmarks..."
go test -run '^$' -bench 'BenchmarkParallel' -benchmem -benchtime "$BENCHTIME" -count 1 -timeout 60m . > "$out/parallel.txt"
echo "load test..."
go run ./load -clients 16 -duration 5s > "$out/load.txt"
python3 report.py "$out" > RESULTS.md
echo "wrote bench/RESULTS.md"
