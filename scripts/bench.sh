#!/usr/bin/env bash
# bench.sh — make bench: Gatehouse's performance figures in one run.
#
#   1. micro-benchmarks, -benchmem -count=${BENCH_COUNT:-6}: BenchmarkRequire
#      (bare, scs, cookie, cookie-claims, cookie-rotating, echo-cookie, jwt-*, jwt-raw-*,
#      jwt-rotating-*, jwt-raw-rotating-*, redis/scs, redis/cookie) and
#      BenchmarkLogin (redirect, password) in package middleware,
#      BenchmarkSessionMemory in package session; summarised with benchstat
#      (pinned; raw output when it cannot be fetched), then the target
#      ratios computed from the same run. The baselines are configured as a
#      user's: scs alone with the same production session settings
#      (IdleTimeout 30 min, Lifetime 8 h) as Gatehouse, and a complete
#      golang-jwt bearer middleware, request and recorder included;
#   2. refresh under load (TestRefreshUnderLoad: 1,000 concurrent requests on
#      one expired session, 50 ms upstream refresh by a fake in its own
#      process; memory store with a new and with an open upstream
#      connection, and Redis store and lock);
#   3. loopback load (internal/cmd/loadgen: the demo's protected and bare
#      routes, 10 s, 50 connections, 127.0.0.1 only).
#
# Redis: GATEHOUSE_REDIS_ADDR, else scripts/services.sh start (stopped at
# exit if this script started it). Nothing is asserted: read the table.
set -euo pipefail
cd "$(dirname "$0")/.."
# The toolchain go.mod names, as make test uses (GOTOOLCHAIN=local would
# measure whatever go is installed).
export GOTOOLCHAIN=${GATEHOUSE_GOTOOLCHAIN:-auto}

benchstat_pkg=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
count=${BENCH_COUNT:-6}
out=$(mktemp -d)
started=
cleanup() {
	if [ -n "$started" ]; then bash scripts/services.sh stop >/dev/null 2>&1 || true; fi
	rm -rf "$out"
}
trap cleanup EXIT

if [ -z "${GATEHOUSE_REDIS_ADDR:-}" ]; then
	if bash scripts/services.sh status 2>/dev/null | grep -q '^redis: up'; then
		:
	else
		started=1
	fi
	if bash scripts/services.sh start >/dev/null; then
		# shellcheck disable=SC1091
		source .gatehouse-services/env
	else
		echo "bench.sh: Redis could not be started: the redis/* benchmarks will be skipped" >&2
	fi
fi

echo "== machine"
go version
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"

echo
echo "== micro-benchmarks (-benchmem -count=$count)"
go test -run '^$' -bench 'BenchmarkRequire|BenchmarkLogin' -benchmem -count="$count" -timeout 30m ./middleware/ >"$out/middleware.txt"
go test -run '^$' -bench 'BenchmarkSessionMemory' -count=1 ./session/ >"$out/session.txt"
cat "$out/middleware.txt" "$out/session.txt" | grep -v '^\(PASS\|ok \)' >"$out/all.txt"
# benchstat runs outside the module (it is not one of its dependencies).
if ! (cd /tmp && go run "$benchstat_pkg" "$out/all.txt" 2>/dev/null); then
	echo "(benchstat unavailable: raw output)"
	cat "$out/all.txt"
fi

echo
echo "== ratios (median ns/op of this run; targets from issues 9 and 17)"
awk '
	/^Benchmark/ {
		name = $1; sub(/-[0-9]+$/, "", name); sub(/^BenchmarkRequire\//, "", name)
		for (i = 3; i < NF; i++) {
			if ($(i+1) == "ns/op") { k = name SUBSEP (n[name]++); v[k] = $i + 0 }
			if ($(i+1) == "allocs/op") { al[name] = $i }
			if ($(i+1) == "redis-cmds/op") { rc[name] = $i }
		}
	}
	function m(name,   c, i, j, t, a) {
		c = n[name]; if (!c) return 0
		for (i = 0; i < c; i++) a[i] = v[name SUBSEP i]
		for (i = 1; i < c; i++) for (j = i; j > 0 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return c % 2 ? a[(c-1)/2] : (a[c/2-1] + a[c/2]) / 2
	}
	function row(label, a, b, target,   r) {
		if (!m(a) || !m(b)) { printf "%-28s %8s   (not run)\n", label, "-"; return }
		r = m(a) / m(b)
		printf "%-28s %8.2f   target <= %.2f  %s\n", label, r, target, r <= target ? "met" : "MISSED"
	}
	END {
		printf "%-28s %8s\n", "ratio", "value"
		row("cookie / scs", "cookie", "scs", 0.5)
		row("echo-cookie / cookie", "echo-cookie", "cookie", 1.1)
		row("jwt-eddsa / jwt-raw-eddsa", "jwt-eddsa", "jwt-raw-eddsa", 1.2)
		row("jwt-es256 / jwt-raw-es256", "jwt-es256", "jwt-raw-es256", 1.2)
		row("jwt-hs256 / jwt-raw-hs256", "jwt-hs256", "jwt-raw-hs256", 1.2)
		row("jwt-rotating-eddsa / raw", "jwt-rotating-eddsa", "jwt-raw-rotating-eddsa", 1.2)
		row("jwt-rotating-es256 / raw", "jwt-rotating-es256", "jwt-raw-rotating-es256", 1.2)
		row("jwt-rotating-hs256 / raw", "jwt-rotating-hs256", "jwt-raw-rotating-hs256", 1.2)
		row("redis/cookie / redis/scs", "redis/cookie", "redis/scs", 1.05)
		if ("cookie" in al) printf "%-28s %8d   target <= 60  %s\n", "cookie allocs/op", al["cookie"], (al["cookie"] <= 60) ? "met" : "MISSED"
		if ("cookie-rotating" in al) printf "%-28s %8d   target <= 60  %s\n", "cookie-rotating allocs/op", al["cookie-rotating"], (al["cookie-rotating"] <= 60) ? "met" : "MISSED"
		if ("redis/cookie" in rc) printf "%-28s %8s   target == 1\n", "redis/cookie redis-cmds/op", rc["redis/cookie"]
		if ("redis/scs" in rc) printf "%-28s %8s\n", "redis/scs redis-cmds/op", rc["redis/scs"]
	}' "$out/middleware.txt"

echo
echo "== refresh under load"
go test -run '^TestRefreshUnderLoad$' -count=1 -v ./middleware/ | grep -o 'refresh under load (.*' || {
	echo "TestRefreshUnderLoad failed"
	exit 1
}

echo
echo "== loopback load"
go build -o "$out/loadgen" ./internal/cmd/loadgen
"$out/loadgen" -d 10s -c 50
