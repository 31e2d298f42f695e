#!/usr/bin/env bash
# The project's full test command (README "Running the tests"; CI runs it
# through .ci/run). It installs what the tests need, then runs every test
# under the race detector (the library, the example app's module with its
# browser test, the bench module's smoke test, the redisstore module against
# real Redis and a Redis Cluster it starts, the operator command's module) and fuzzes every decoder
# within one total budget, and ends with a line naming everything skipped
# and why, and the line "N passed, N failed, N skipped".
#
# PostgreSQL and MySQL/MariaDB tests read CLOAKROOM_POSTGRES_DSN and
# CLOAKROOM_MYSQL_DSN. When one is unset and the local server answers on
# 127.0.0.1:5432 / 127.0.0.1:3306, it defaults to that server (user postgres,
# database test / user root, database test). Set it empty to skip those
# tests; they skip loudly, and under CI=true a skip of a needed server fails.
#
# FUZZ_BUDGET (default 60s, in seconds) is shared by all fuzz targets.
#
# For the fast loop that needs no server: go test -short ./...
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -z "${CLOAKROOM_POSTGRES_DSN+set}" ] && up 5432; then
  export CLOAKROOM_POSTGRES_DSN='host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable'
fi
if [ -z "${CLOAKROOM_MYSQL_DSN+set}" ] && up 3306; then
  export CLOAKROOM_MYSQL_DSN='root@tcp(127.0.0.1:3306)/test?parseTime=true&loc=UTC&clientFoundRows=true'
fi
echo "CLOAKROOM_POSTGRES_DSN=${CLOAKROOM_POSTGRES_DSN:-(unset: PostgreSQL tests skip)}"
echo "CLOAKROOM_MYSQL_DSN=${CLOAKROOM_MYSQL_DSN:-(unset: MySQL/MariaDB tests skip)}"

# The fuzz targets, as "package target" lines; the budget is split evenly.
targets=$(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v -e '^./_example/' -e '^./bench/' | while read -r f; do
  dir=$(dirname "$f")
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //' | sed "s|^|./${dir#./} |"
done | sort -u)
budget="${FUZZ_BUDGET:-60s}"
budget="${budget%s}"
case "$budget" in '' | *[!0-9]*) echo "FUZZ_BUDGET must be a number of seconds (like 60 or 60s), not ${FUZZ_BUDGET}" >&2; exit 2 ;; esac
ntargets=$(printf '%s\n' "$targets" | grep -c . || true)
per=1
if [ "$ntargets" -gt 0 ] && [ "$((budget / ntargets))" -gt 1 ]; then per=$((budget / ntargets)); fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/testsummary" ./internal/cmd/testsummary

# step NAME COMMAND...: runs a go test -json command framed for testsummary,
# which counts a command that fails without a failed test as a failure.
step() {
  local name=$1 rc=0
  shift
  echo "#testsummary step: $name"
  "$@" || rc=$?
  echo "#testsummary exit: $rc"
  [ "$rc" -eq 0 ] || failed=1
}

# fuzz PKG TARGET: go test -fuzz for $per seconds. Go 1.26's fuzz
# coordinator can fail a target with "context deadline exceeded" at the
# -fuzztime boundary without any failing input (go.dev/issue/75804, fixed in
# Go 1.27): such a run, which wrote no new input under testdata/fuzz, runs
# again, up to three runs in all (two in a row were seen on 2026-12-01), and
# only the last counts. A run that wrote a failing input always counts.
fuzz() {
  local pkg=$1 target=$2 out="$tmp/fuzz.json" dir="$1/testdata/fuzz/$2" before after rc=0 run
  before=$(ls "$dir" 2>/dev/null || true)
  for run in 1 2 3; do
    rc=0
    go test -json "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "${per}s" >"$out" || rc=$?
    after=$(ls "$dir" 2>/dev/null || true)
    if [ "$rc" -eq 0 ] || [ "$before" != "$after" ] || ! grep -q 'context deadline exceeded' "$out" || [ "$run" -eq 3 ]; then
      break
    fi
    echo "fuzz $pkg $target: the fuzz coordinator stopped at its deadline with no failing input (go.dev/issue/75804); running it again" >&2
  done
  cat "$out"
  return "$rc"
}

{
  failed=0
  step "go test -race (library)" go test -race -count=1 -json -timeout 20m ./...
  step "go test -race (example app: the module _example)" go test -C _example -race -count=1 -json -timeout 10m ./...
  step "go test -race (peer benchmark smoke test: the module bench)" go test -C bench -race -count=1 -json -timeout 10m ./...
  step "go test -race (Redis store: the module redisstore)" go test -C redisstore -race -count=1 -json -timeout 10m ./...
  step "go test -race (operator command: the module cmd/cloakroom)" go test -C cmd/cloakroom -race -count=1 -json -timeout 10m ./...
  while read -r pkg target; do
    [ -n "$pkg" ] || continue
    step "fuzz $pkg $target (${per}s of ${budget}s for $ntargets targets)" fuzz "$pkg" "$target"
  done <<<"$targets"
  exit "$failed"
} | "$tmp/testsummary"
