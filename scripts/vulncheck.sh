#!/usr/bin/env bash
# vulncheck.sh — govulncheck against a Go vulnerability database built offline.
#
# vuln.go.dev is not reachable from this project's machines, but the Go module
# proxy serves golang.org/x/vulndb, the repository the database is generated
# from. This script downloads the pinned x/vulndb version, turns its reports
# into the JSON database with the module's own cmd/gendb (which wants a git
# repository, so the module is copied into a fresh `git init`), caches the
# result, and runs govulncheck -db file://… over every module of the repo.
#
#   scripts/vulncheck.sh          fail (exit 3) on any reachable vulnerability
#   VULNCHECK_SHOW=1 ...          print the full report (make vulncheck)
#
# Bump VULNDB_VERSION whenever dependencies change (go list -m -versions does
# not list pseudo-versions: take the newest from the proxy's @latest).
set -euo pipefail
cd "$(dirname "$0")/.."

VULNDB_VERSION=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
GOVULNCHECK_VERSION=v1.9.0
cache=${GATEHOUSE_VULNDB_CACHE:-$HOME/.cache/gatehouse-vulndb}
db="$cache/$VULNDB_VERSION"

if [ ! -f "$db/index/db.json" ]; then
	echo "vulncheck: building the vulnerability database from golang.org/x/vulndb@$VULNDB_VERSION (cached in $db)"
	src=$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -d "$src" ] || { echo "vulncheck: could not download golang.org/x/vulndb@$VULNDB_VERSION"; exit 1; }
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	cp -r "$src" "$work/vulndb"
	chmod -R u+w "$work/vulndb"
	(
		cd "$work/vulndb"
		git init -q
		git add -A
		git -c user.name=gatehouse -c user.email=ci@localhost -c commit.gpgsign=false commit -q -m "x/vulndb $VULNDB_VERSION"
		GOFLAGS=-mod=mod go run ./cmd/gendb -repo . -out "$work/db"
	)
	mkdir -p "$cache"
	rm -rf "$db.tmp" && mv "$work/db" "$db.tmp" && rm -rf "$db" && mv "$db.tmp" "$db"
fi
stamp=${VULNDB_VERSION#v0.0.0-}
echo "vulncheck: database golang.org/x/vulndb@$VULNDB_VERSION (reports up to ${stamp:0:4}-${stamp:4:2}-${stamp:6:2})"

bin="$cache/govulncheck-$GOVULNCHECK_VERSION"
if [ ! -x "$bin" ]; then
	tmpbin=$(mktemp -d)
	GOBIN="$tmpbin" go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
	mkdir -p "$cache" && mv "$tmpbin/govulncheck" "$bin" && rmdir "$tmpbin"
fi

gate() { go run ./internal/cmd/vulngate -exceptions scripts/vuln-exceptions.txt; }

# Every module of the repository: the library and the modules beside it.
status=0
for mod in $(git ls-files '*go.mod' 2>/dev/null || find . -name go.mod -not -path './.gatehouse-services/*'); do
	dir=$(dirname "$mod")
	echo "== govulncheck $dir"
	if [ "${VULNCHECK_SHOW:-}" = 1 ]; then
		(cd "$dir" && "$bin" -db "file://$db" ./...) || true
	fi
	(cd "$dir" && "$bin" -db "file://$db" -format json ./...) | gate || status=1
done
exit "$status"
