# make test is scripts/test.sh: installs the integration tests' servers when
# missing, checks gofmt and go vet, runs every test with CI=true, and runs
# every fuzz target briefly. make fuzz runs each for FUZZ_TIME (30s).
GO ?= go
FUZZ_TIME ?= 30s

.PHONY: test demo bench fuzz

test:
	./scripts/test.sh

demo:
	$(GO) run ./examples/demo

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	./scripts/fuzz.sh $(FUZZ_TIME)
