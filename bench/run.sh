#!/usr/bin/env bash
# Runs the peer benchmarks (wall time, serial and parallel), the load test and
# the callgrind instruction counts, keeps their raw outputs in bench/results/
# and writes bench/RESULTS.md from them (bench/report.py).
#
#   bash bench/run.sh             # everything: about 10 minutes on two cores
#   bash bench/run.sh callgrind   # only the instruction counts (about 4 minutes),
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
	echo "start: $(cut -d' ' -f1-3 /proc/loadavg)" >results/load-average.txt
	echo "serial benchmarks (-benchtime $BENCHTIME -count $COUNT)..."
	go test -run '^$' -bench 'BenchmarkSessions' -benchmem -benchtime "$BENCHTIME" -count "$COUNT" -timeout 60m . >results/serial.txt.new
	mv results/serial.txt.new results/serial.txt
	# The untouched workloads cost about a microsecond: 2000 iterations are
	# too few to time them, so they run again with many more, and their
	# rows (raw handlers included) replace the first run's. Each runs in a
	# process of its own, in ROUNDS interleaved rounds (every contender
	# once per round), so that no contender is always timed first in a
	# cold process or while the machine is busier; the report takes the
	# median of the rounds.
	UNTOUCHED_BENCHTIME="${UNTOUCHED_BENCHTIME:-100000x}"
	ROUNDS="${ROUNDS:-5}"
	echo "untouched workloads ($ROUNDS interleaved rounds, -benchtime $UNTOUCHED_BENCHTIME)..."
	bin=$(mktemp -d)
	go test -c -o "$bin/bench.test" .
	names=$(CLOAKROOM_BENCH_LIST=1 "$bin/bench.test" | grep -E '/untouched(-realistic)?$')
	: >results/untouched.txt.new
	for round in $(seq "$ROUNDS"); do
		echo "  round $round of $ROUNDS" >&2
		for name in $names; do
			pat='^BenchmarkSessions$'
			IFS=/ read -ra parts <<<"$name"
			for e in "${parts[@]}"; do pat+="/^$(printf '%s' "$e" | sed 's/[][\.*^$+?(){}|]/\\&/g')\$"; done
			"$bin/bench.test" -test.run '^$' -test.bench "$pat" -test.benchmem -test.benchtime "$UNTOUCHED_BENCHTIME" -test.timeout 10m |
				grep '^Benchmark' >>results/untouched.txt.new
		done
	done
	rm -rf "$bin"
	mv results/untouched.txt.new results/untouched.txt
	echo "parallel benchmarks..."
	go test -run '^$' -bench 'BenchmarkParallel' -benchmem -benchtime "$BENCHTIME" -count 1 -timeout 60m . >results/parallel.txt.new
	mv results/parallel.txt.new results/parallel.txt
	echo "load test..."
	go run ./load -clients 16 -duration 5s >results/load.txt.new
	mv results/load.txt.new results/load.txt
	echo "end: $(cut -d' ' -f1-3 /proc/loadavg)" >>results/load-average.txt
	{
		echo "Wall times measured $(date -u +%Y-%m-%d) at commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- .. ':!results' ':!RESULTS.md' || echo ' (with uncommitted changes)')" \
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
