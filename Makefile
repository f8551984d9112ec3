# make test is scripts/test.sh: installs the integration tests' servers when
# missing, checks gofmt and go vet, and runs every test with CI=true.
GO ?= go

.PHONY: test demo bench

test:
	./scripts/test.sh

demo:
	$(GO) run ./examples/demo

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
