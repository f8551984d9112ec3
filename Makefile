# make test: installs the integration tests' servers when missing, then runs
# every test with CI=true so that no integration test is skipped.
GO ?= go

.PHONY: test deps demo vet bench

test: deps vet
	CI=true $(GO) test -count=1 -timeout 40m ./...

deps:
	./scripts/install-test-deps.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

demo:
	$(GO) run ./examples/demo

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
