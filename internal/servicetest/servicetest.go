// Package servicetest is for Gatehouse's own tests that need a service
// that scripts/services.sh starts (Redis, PostgreSQL) or a program it
// installs (redis-server). Without it such a test is skipped in a plain
// `go test ./...`, and fails under CI=true, where everything must be
// there.
package servicetest

import (
	"os"
	"testing"
)

// hint says how to get the services.
const hint = "start them with scripts/services.sh start and source .gatehouse-services/env"

// Env returns the environment variable name, which scripts/services.sh
// sets (an address or a DSN). When it is unset, tb is skipped, or fails
// under CI=true.
func Env(tb testing.TB, name string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		Missing(tb, name+" is not set")
	}
	return v
}

// Missing skips tb because of what is missing, or fails it under CI=true.
func Missing(tb testing.TB, what string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s and CI=true: %s", what, hint)
		return
	}
	tb.Skipf("%s: skipping (%s)", what, hint)
}
