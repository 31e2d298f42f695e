#!/usr/bin/env bash
# Instructions per request of BenchmarkSessions' sub-benchmarks, counted by
# valgrind's callgrind: each benchmark runs twice, with N1 and N2 requests,
# and the difference of the two counts divided by N2-N1 is the cost of one
# request. Everything else the run does (process start-up, the store, the
# priming requests, memcached's and Redis's connections) is the same in
# both runs and cancels out.
#
#   bash bench/callgrind.sh                 # the default set (below), ~10 min on 2 cores
#   bash bench/callgrind.sh 'cookie/read'   # the sub-benchmarks whose names match an ERE
#   bash bench/callgrind.sh --list          # every sub-benchmark name
#   bash bench/callgrind.sh --profile gin/cloakroom/cookie/read-realistic
#                                           # where one request's instructions go
#                                           # (per function and per package)
#
# Output (stdout), one line per benchmark, tab-separated:
#   name  N1  N2  instructions(N1)  instructions(N2)  instructions/request
# preceded by "# key: value" lines describing the run. bench/report.py
# turns it into bench/RESULTS.md's instruction table. Progress is on stderr.
#
# Environment: N1 and N2 override the iteration counts of every benchmark;
# CALLGRIND_SELECT is the default selection when no argument is given.
set -euo pipefail
cd "$(dirname "$0")"

# The default set: the issue's four paths (untouched, cookie read, cookie new
# visitor, server read/write on the realistic session; a cookie read of the
# large, compressed session) for cloakroom, the
# same workloads for the peers, and the raw handlers; on Redis, untouched,
# read-realistic and write-realistic for all three Gin libraries.
DEFAULT_SELECT='^(gin|echo)/raw/-/untouched$'
DEFAULT_SELECT+='|^gin/cloakroom/(memory|cookie|gorm|memcached)/untouched$'
DEFAULT_SELECT+='|^gin/cloakroom/cookie/(untouched-realistic|read|read-realistic|read-large|new)$'
DEFAULT_SELECT+='|^gin/cloakroom/memory/(read|write)-realistic$'
DEFAULT_SELECT+='|^gin/gin-contrib/sessions/cookie/(untouched|untouched-realistic|read|read-realistic|read-large|new)$'
DEFAULT_SELECT+='|^gin/gin-contrib/sessions/(gorm|memcached)/untouched$'
DEFAULT_SELECT+='|^gin/alexedwards/scs/memory/(untouched|read-realistic|write-realistic)$'
DEFAULT_SELECT+='|^gin/(cloakroom|gin-contrib/sessions|alexedwards/scs)/redis/(untouched|read-realistic|write-realistic)$'
DEFAULT_SELECT+='|^echo/cloakroom/memory/untouched$|^echo/cloakroom/cookie/read-realistic$'
DEFAULT_SELECT+='|^echo/echo-contrib/session/cookie/(untouched|read-realistic)$'

die() {
	echo "callgrind.sh: $*" >&2
	exit 1
}

if ! command -v valgrind >/dev/null 2>&1; then
	die "valgrind is not installed: apt-get install valgrind"
fi

mode=measure
select="${CALLGRIND_SELECT:-$DEFAULT_SELECT}"
case "${1:-}" in
--list) mode=list ;;
--profile)
	mode=profile
	[[ -n "${2:-}" ]] || die "--profile needs a benchmark name (see --list)"
	select="^${2}\$"
	;;
-h | --help)
	sed -n '2,/^set -euo/p' "$0" | sed '$d'
	exit 0
	;;
"") ;;
*) select="$1" ;;
esac

work=$(mktemp -d)
mcpid=""
rdpid=""
cleanup() {
	local pid
	for pid in $mcpid $rdpid; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM PIPE HUP

echo "building the benchmark binary..." >&2
go test -c -o "$work/bench.test" . || die "go test -c failed"

if [[ "$mode" == list ]]; then
	CLOAKROOM_BENCH_LIST=1 "$work/bench.test"
	exit 0
fi

names=$(CLOAKROOM_BENCH_LIST=1 "$work/bench.test" | grep -E -- "$select" || true)
[[ -n "$names" ]] || die "no benchmark matches '$select' (see --list)"

freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# memcached and redis-server run beside the benchmark, not as its children
# (the benchmark starts its own otherwise): callgrind can abort when a child
# exits. Each is killed by its pid on exit.
if command -v memcached >/dev/null 2>&1; then
	port=$(freeport)
	args=(-l 127.0.0.1 -p "$port" -U 0 -m 256)
	[[ "$(id -u)" == 0 ]] && args+=(-u root)
	memcached "${args[@]}" &
	mcpid=$!
	for _ in $(seq 100); do
		if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
		sleep 0.05
	done
	(echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null || die "memcached did not start on port $port"
	export CLOAKROOM_BENCH_MEMCACHED="127.0.0.1:$port"
elif echo "$names" | grep -q memcached; then
	die "memcached is not installed: apt-get install memcached"
fi
redis_server=${REDIS_SERVER_BIN:-$(command -v redis-server || echo /usr/bin/redis-server)}
if [[ -x "$redis_server" ]]; then
	port=$(freeport)
	# No persistence, in the temporary directory: nothing is left behind.
	"$redis_server" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$work" --logfile "$work/redis.log" &
	rdpid=$!
	for _ in $(seq 100); do
		if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
		sleep 0.05
	done
	(echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null || die "redis-server did not start on port $port: $(tail -n 3 "$work/redis.log" 2>/dev/null)"
	export CLOAKROOM_BENCH_REDIS="127.0.0.1:$port"
elif echo "$names" | grep -q /redis/; then
	die "redis-server is not installed: apt-get install redis-server"
fi

# pattern turns a sub-benchmark name into a -test.bench filter that matches
# it alone: Go matches a name's /-separated elements one by one.
pattern() {
	local p='^BenchmarkSessions$' e
	local IFS=/
	for e in $1; do
		p+="/^$(printf '%s' "$e" | sed 's/[][\.*^$+?(){}|]/\\&/g')\$"
	done
	printf '%s' "$p"
}

# iterations prints "N1 N2" for a benchmark. N2-N1 must be large enough that
# start-up noise (about +-300,000 instructions between two identical runs)
# is small per request, and N2 small enough for valgrind (about 50 times
# slower than native): 50,000 requests for the untouched path (about 5,000
# instructions each: +-6), 5,000 for a request that decodes a session (over
# 20,000 each: +-60) and for scs, which loads the session on every request,
# untouched or not, and 1,000 for the database, memcached, file and Redis
# stores (over 100,000 each: +-300; scs on Redis too, which goes to Redis
# on untouched requests as well). Under 0.5% everywhere.
iterations() {
	if [[ -n "${N1:-}" || -n "${N2:-}" ]]; then
		echo "${N1:?N1 and N2 go together} ${N2:?N1 and N2 go together}"
	elif [[ "$1" == */scs/redis/* ]]; then
		echo "200 1200"
	elif [[ "$1" == */scs/* ]]; then
		echo "1000 6000"
	elif [[ "$1" == */untouched* ]]; then
		echo "10000 60000"
	elif [[ "$1" =~ /(gorm|sqlite|memcached|file|redis)/ ]]; then
		echo "200 1200"
	else
		echo "1000 6000"
	fi
}

# run NAME N [callgrind options...]: runs one benchmark with N requests under
# callgrind and prints the instructions it executed. A failed run is retried
# once (valgrind occasionally trips over the Go runtime's signals).
run() {
	local name=$1 n=$2 try log
	shift 2
	log="$work/log"
	for try in 1 2; do
		if GOGC=off GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off valgrind --tool=callgrind "$@" \
			"$work/bench.test" -test.run '^$' -test.bench "$(pattern "$name")" \
			-test.benchtime "${n}x" -test.cpu 1 -test.benchmem >"$work/out" 2>"$log" &&
			grep -Eq "^BenchmarkSessions/${name}[[:space:]]+${n}[[:space:]]" "$work/out"; then
			local c
			c=$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$log")
			if [[ -n "$c" ]]; then
				echo "$c"
				return 0
			fi
		fi
		echo "  $name ${n}x failed (try $try):" >&2
		tail -n 5 "$work/out" "$log" | sed 's/^/    /' >&2
	done
	die "$name did not run under callgrind"
}

if [[ "$mode" == profile ]]; then
	# The same two runs, kept: the difference of their per-function costs,
	# divided by N2-N1, is where one request's instructions go.
	name=$(echo "$names" | head -1)
	read -r n1 n2 < <(iterations "$name")
	mkdir -p profiles
	base="profiles/$(echo "$name" | tr / _)"
	echo "profiling $name (${n1}x, ${n2}x)..." >&2
	run "$name" "$n1" --callgrind-out-file="$PWD/$base.n1.callgrind" >/dev/null
	run "$name" "$n2" --callgrind-out-file="$PWD/$base.n2.callgrind" >/dev/null
	python3 cgprofile.py "$base.n1.callgrind" "$base.n2.callgrind" "$n1" "$n2"
	echo "(the two profiles: bench/$base.n{1,2}.callgrind)" >&2
	exit 0
fi

echo "# date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- .. ':!results' ':!RESULTS.md' 2>/dev/null || echo ' (with uncommitted changes)')"
echo "# go: $(go version)"
echo "# valgrind: $(valgrind --version)"
echo "# cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) cores"
echo "# command: GOGC=off GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off valgrind --tool=callgrind --callgrind-out-file=/dev/null ./bench.test -test.run '^\$' -test.bench '<name>' -test.benchtime <N>x -test.cpu 1"
start=$SECONDS
for name in $names; do
	read -r n1 n2 < <(iterations "$name")
	t=$SECONDS
	echo -n "$name (${n1}x, ${n2}x)..." >&2
	i1=$(run "$name" "$n1" --callgrind-out-file=/dev/null)
	i2=$(run "$name" "$n2" --callgrind-out-file=/dev/null)
	echo " $((SECONDS - t)) s" >&2
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$n1" "$n2" "$i1" "$i2" \
		"$(awk -v a="$i1" -v b="$i2" -v n="$n1" -v m="$n2" 'BEGIN { printf "%.0f", (b - a) / (m - n) }')"
done
echo "# seconds: $((SECONDS - start))"
