#!/usr/bin/env bash
# Runs every fuzz target of ssokit for DURATION each (default 30s), one
# after another: go test -run '^$' -fuzz '^Name$' -fuzztime DURATION ./pkg.
# Targets are found by looking for "func FuzzXxx(" in the *_test.go files.
# A second argument, a regular expression, keeps only the targets whose
# "package/FuzzName" matches it, e.g. ./scripts/fuzz.sh 60s saml/.
#
# It stops at the first failure and prints where go test saved the input
# that failed: a file under the package's testdata/fuzz/FuzzName/, which
# every later go test runs as a regression test once it is committed.
#
# Fuzzing uses one worker per CPU; set FUZZ_PARALLEL to use fewer.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-30s}
filter=${2:-}
parallel=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then
  parallel=(-parallel "$FUZZ_PARALLEL")
fi

files=$(git ls-files --cached --others --exclude-standard '*_test.go' 2>/dev/null || find . -name '*_test.go' -not -path './.git/*')
# "dir FuzzName" for every target, in a stable order.
targets=$(grep -H -o '^func Fuzz[A-Za-z0-9_]*(' $files |
  sed -E 's|^(\./)?(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($|\2 \3|; s|^[^/ ]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($|. \1|' |
  sort -u)
if [ -z "$targets" ]; then
  echo "no fuzz targets found" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
ran=0
while read -r dir name; do
  if [ -n "$filter" ] && ! [[ "$dir/$name" =~ $filter ]]; then
    continue
  fi
  echo "== $dir $name ($duration)"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$duration" "${parallel[@]}" "./$dir" 2>&1 | tee "$log"; then
    echo >&2
    echo "FAIL: $name in ./$dir" >&2
    saved=$(sed -n 's/.*Failing input written to \(testdata\/fuzz\/[^ ]*\).*/\1/p' "$log" | head -n 1)
    if [ -n "$saved" ]; then
      echo "the failing input is saved in $dir/$saved" >&2
      echo "re-run it with: go test -run '^${name}/${saved##*/}\$' ./$dir" >&2
    fi
    exit 1
  fi
  ran=$((ran + 1))
done <<<"$targets"
if [ "$ran" -eq 0 ]; then
  echo "no fuzz target matches $filter" >&2
  exit 1
fi
echo "fuzzed $ran targets for $duration each"
