#!/usr/bin/env bash
# The project's test command (README "Running the tests"): installs what the
# tests need, then runs every test under the race detector, the example app's
# browser test included, and short fuzz runs of every decoder.
#
# PostgreSQL and MySQL/MariaDB tests read CLOAKROOM_POSTGRES_DSN and
# CLOAKROOM_MYSQL_DSN; without them they skip loudly (CI sets both).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

echo "== go test -race (library)"
go test -race -count=1 -timeout 30m ./...

echo "== go test -race (example app: _example is a module of its own)"
(cd _example && go test -race -count=1 -timeout 30m ./...)

echo "== peer benchmark smoke test (bench/ is a module of its own)"
(cd bench && go test -race -count=1 ./...)

echo "== short fuzz runs"
fuzztime="${FUZZTIME:-10s}"
while read -r pkg target; do
  [ -n "$pkg" ] || continue
  echo "-- $pkg $target ($fuzztime)"
  go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime"
done < <(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./_example' | while read -r f; do
  dir=$(dirname "$f")
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //' | sed "s|^|./${dir#./} |"
done | sort -u)
