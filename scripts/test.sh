#!/usr/bin/env bash
# The whole suite, as CI runs it (make test → .ci/run). It installs and starts
# what the tests need on 127.0.0.1 (Redis, PostgreSQL, Chromium; Debian
# packages), runs vet, the race tests, short fuzz runs and the vulnerability
# check, and stops what it started, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

# The toolchain go.mod pins (a patched Go; the machine's go.env may say
# GOTOOLCHAIN=local, which would ignore it). The library's go directive is the
# oldest Go it supports; that one is tested too, below.
export GOTOOLCHAIN=${GATEHOUSE_GOTOOLCHAIN:-auto}
oldest_go="go$(sed -n 's/^go //p' go.mod)"
# Every module: the library (.) and the modules beside it (go.work lists them).
modules="./... ./examples/... ./e2e/... ./internal/cmd/..."

state=${GATEHOUSE_SERVICES_DIR:-.gatehouse-services}
mkdir -p "$state"
cleanup() { bash scripts/services.sh stop || true; }
trap cleanup EXIT

echo "== services (redis, postgresql, chromium on 127.0.0.1)"
bash scripts/services.sh start
# shellcheck disable=SC1091
source "$state/env"

echo "== gofmt + vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted"; exit 1; fi
# shellcheck disable=SC2086
go vet $modules

echo "== go test -race ($(go version | cut -d' ' -f3); modules: $modules)"
# shellcheck disable=SC2086
go test -race -count=1 -timeout 15m -cover $modules 2>&1 | tee "$state/test.log"
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || exit "$status"

echo "== coverage floor (provider, adapters/oauth2: 85%)"
awk '/^ok/ && ($2 ~ /\/provider$/ || $2 ~ /\/adapters\/oauth2$/) {
  for (i = 1; i <= NF; i++) if ($i == "coverage:") { c = $(i+1); sub("%", "", c);
    printf "  %s %s%%\n", $2, c; if (c + 0 < 85) bad = 1 } }
  END { exit bad }' "$state/test.log"

echo "== benchmarks compile and run (-benchtime=100x, no timing asserted)"
# shellcheck disable=SC2086
go test -run '^$' -bench . -benchtime=100x $modules > "$state/bench-smoke.log" 2>&1 || { cat "$state/bench-smoke.log"; exit 1; }

echo "== library packages with the oldest supported Go ($oldest_go, without the workspace)"
if ! GOTOOLCHAIN=$oldest_go GOWORK=off go test -race -count=1 -timeout 10m ./... >"$state/test-oldest.log" 2>&1; then
	tail -n 80 "$state/test-oldest.log"
	echo "the library fails with $oldest_go"
	exit 1
fi
grep -E '^(ok|FAIL|---)' "$state/test-oldest.log" | sed 's/^/  /' | tail -n 40

echo "== fuzz (${FUZZTIME:-5s} per target)"
FUZZTIME=${FUZZTIME:-5s} bash scripts/fuzz.sh

echo "== vulncheck"
bash scripts/vulncheck.sh
echo "== all checks passed"
