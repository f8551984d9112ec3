#!/usr/bin/env bash
# Runs every test of ssokit. It installs, with apt, the servers the
# integration tests need when they are missing (slapd, ldap-utils, chromium,
# redis-server, postgresql), checks formatting and go vet, then runs all
# tests with CI=true so that no integration test is skipped, and finally
# runs every fuzz target briefly (FUZZ_TIME each, 2s by default; about a
# minute in all once the instrumented test binaries are in the build
# cache, plus about a minute and a half to build them the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-test-deps.sh
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
CI=true go test -count=1 -timeout 40m ./...
# bench/ is a module of its own (the peers it measures stay out of the
# library's go.mod): vet, and its tests in short mode (the checks that each
# library accepts its input and refuses a tampered copy, and a short load
# and fault run).
(cd bench && go vet ./... && CI=true go test -short -count=1 -timeout 10m ./...)
./scripts/fuzz.sh "${FUZZ_TIME:-2s}"
