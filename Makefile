# Gatehouse developer commands. `make test` is what CI runs (.ci/run).
.PHONY: test test-long bench fuzz lint demo vulncheck services-start services-stop

# Everything: vet, race tests over memstore/Redis/PostgreSQL (installed and
# started on 127.0.0.1 by scripts/services.sh, stopped afterwards), short fuzz
# runs, coverage, chromium e2e.
test:
	bash scripts/test.sh

# The slow fault-plan scenarios (F2, F5, F7) as well.
test-long:
	GATEHOUSE_LONG=1 bash scripts/test.sh

# Micro-benchmarks (benchstat table) and the loopback load test.
bench:
	bash scripts/bench.sh

# Each fuzz target for longer (FUZZTIME, default 2m each).
fuzz:
	FUZZTIME=$${FUZZTIME:-2m} bash scripts/fuzz.sh

MODULES := ./... ./examples/... ./e2e/... ./internal/cmd/...

lint:
	gofmt -l . | (! grep .) || (echo "gofmt needed"; exit 1)
	GOTOOLCHAIN=auto go vet $(MODULES)
	! grep -rn --include='*.go' 'UnsafeAllowNoneSignatureType\|InsecureSkipVerify: *true' --exclude-dir=e2e . | grep -v _test.go

# govulncheck over every module with the full report, against the database
# built offline from the pinned golang.org/x/vulndb (make test runs the gate).
vulncheck:
	GOTOOLCHAIN=auto VULNCHECK_SHOW=1 bash scripts/vulncheck.sh

demo:
	GOTOOLCHAIN=auto go run ./examples/demo

services-start:
	bash scripts/services.sh start

services-stop:
	bash scripts/services.sh stop
