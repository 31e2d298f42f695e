#!/usr/bin/env bash
# Runs the peer benchmarks (wall time, serial and parallel), the load test and
# the callgrind instruction counts, keeps their raw outputs in bench/results/
# and writes bench/RESULTS.md from them (bench/report.py).
#
#   bash bench/run.sh             # everything: about 35 minutes on two cores
#   bash bench/run.sh callgrind   # only the instruction counts (about 10 minutes),
#                                 # with the wall times of the last full run
#   bash bench/run.sh wall        # only the wall times and the load test
#   bash bench/run.sh report      # only rewrite RESULTS.md from bench/results/
#
# The wall-time and callgrind parts never run at the same time: valgrind
# would take one of the two cores from the timed benchmarks.
set -euo pipefail
cd "$(dirname "$0")"
what="${1:-all}"
case "$what" in all | wall | callgrind | report) ;; *)
	echo "usage: bash bench/run.sh [all|wall|callgrind|report]" >&2
	exit 2
	;;
esac
mkdir -p results
start=$SECONDS

if [[ "$what" == all || "$what" == wall ]]; then
	BENCHTIME="${BENCHTIME:-2000x}"
	COUNT="${COUNT:-3}"
	echo "serial benchmarks (-benchtime $BENCHTIME -count $COUNT)..."
	go test -run '^$' -bench 'BenchmarkSessions' -benchmem -benchtime "$BENCHTIME" -count "$COUNT" -timeout 60m . >results/serial.txt.new
	mv results/serial.txt.new results/serial.txt
	# The untouched workloads cost about a microsecond: 2000 iterations are
	# too few to time them, so they run again, alone, with many more; their
	# rows (raw handlers included) replace the first run's.
	UNTOUCHED_BENCHTIME="${UNTOUCHED_BENCHTIME:-100000x}"
	echo "untouched workloads (-benchtime $UNTOUCHED_BENCHTIME -count 5)..."
	CLOAKROOM_BENCH_WORKLOAD=untouched go test -run '^$' -bench 'BenchmarkSessions' -benchmem -benchtime "$UNTOUCHED_BENCHTIME" -count 5 -timeout 60m . >results/untouched.txt.new
	mv results/untouched.txt.new results/untouched.txt
	echo "parallel benchmarks..."
	go test -run '^$' -bench 'BenchmarkParallel' -benchmem -benchtime "$BENCHTIME" -count 1 -timeout 60m . >results/parallel.txt.new
	mv results/parallel.txt.new results/parallel.txt
	echo "load test..."
	go run ./load -clients 16 -duration 5s >results/load.txt.new
	mv results/load.txt.new results/load.txt
	{
		echo "Wall times measured $(date -u +%Y-%m-%d) at commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- .. || echo ' (with uncommitted changes)')" \
			"on $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) cores, $(go version)."
	} >results/machine.txt
fi

if [[ "$what" == all || "$what" == callgrind ]]; then
	echo "callgrind (bench/callgrind.sh; progress below)..."
	bash callgrind.sh >results/callgrind.txt.new
	mv results/callgrind.txt.new results/callgrind.txt
fi

python3 report.py results >RESULTS.md.new
mv RESULTS.md.new RESULTS.md
echo "wrote bench/RESULTS.md in $((SECONDS - start)) s"
