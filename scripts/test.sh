#!/usr/bin/env bash
# The whole suite, as CI runs it (make test → .ci/run). It installs and starts
# what the tests need on 127.0.0.1 (Redis, PostgreSQL, Chromium; Debian
# packages), runs vet, the race tests, short fuzz runs and the vulnerability
# check, and stops what it started, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

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
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 15m -cover ./... 2>&1 | tee "$state/test.log"
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || exit "$status"

echo "== coverage floor (provider, adapters/oauth2: 85%)"
awk '/^ok/ && ($2 ~ /\/provider$/ || $2 ~ /\/adapters\/oauth2$/) {
  for (i = 1; i <= NF; i++) if ($i == "coverage:") { c = $(i+1); sub("%", "", c);
    printf "  %s %s%%\n", $2, c; if (c + 0 < 85) bad = 1 } }
  END { exit bad }' "$state/test.log"

echo "== benchmarks compile and run (-benchtime=100x, no timing asserted)"
go test -run '^$' -bench . -benchtime=100x ./... > "$state/bench-smoke.log" 2>&1 || { cat "$state/bench-smoke.log"; exit 1; }

echo "== fuzz (${FUZZTIME:-5s} per target)"
FUZZTIME=${FUZZTIME:-5s} bash scripts/fuzz.sh

echo "== vulncheck"
bash scripts/vulncheck.sh
echo "== all checks passed"
