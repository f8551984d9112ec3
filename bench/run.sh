#!/usr/bin/env bash
# Runs every benchmark of this module ROUNDS times, one round after the
# other (interleaved), then the load and fault run, and writes README.md
# and ratios.svg from the results (results.txt and load.md keep the raw
# output). Rerun it whenever the library changes.
#
#   ./run.sh                      # 5 rounds, -benchtime 1s
#   ROUNDS=3 BENCHTIME=500ms ./run.sh
#   BENCH=SAML ./run.sh           # only the benchmarks matching BENCH
set -euo pipefail
cd "$(dirname "$0")"
rounds=${ROUNDS:-5}
benchtime=${BENCHTIME:-1s}
pattern=${BENCH:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go vet ./...
go test -c -o "$tmp/bench.test" .
: >"$tmp/results.txt"
for r in $(seq 1 "$rounds"); do
  echo "round $r of $rounds" >&2
  "$tmp/bench.test" -test.run '^$' -test.bench "$pattern" -test.benchmem -test.benchtime "$benchtime" | tee -a "$tmp/results.txt" | grep -E '^(Benchmark|--- FAIL|FAIL)' >&2
done
echo "load and faults" >&2
go run ./cmd/load -v >"$tmp/load.md" || echo "load: a check failed; see the table in README.md" >&2
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- .. 2>/dev/null)" ]; then
  commit="$commit (with uncommitted changes)"
fi
go run ./cmd/benchreport -in "$tmp/results.txt" -load "$tmp/load.md" -commit "$commit" -benchtime "$benchtime" -out README.md -svg ratios.svg
cp "$tmp/results.txt" results.txt
cp "$tmp/load.md" load.md
echo "wrote README.md, ratios.svg, results.txt, load.md" >&2
