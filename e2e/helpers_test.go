package e2e

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/e2e/internal/harness"
)

// Short names for the harness's environment helpers (see package harness):
// each skips the test when the service is not configured, and fails it
// instead under CI=true.

func redisAddr(t testing.TB) string    { t.Helper(); return harness.RedisAddr(t) }
func postgresDSN(t testing.TB) string  { t.Helper(); return harness.PostgresDSN(t) }
func chromiumPath(t testing.TB) string { t.Helper(); return harness.ChromiumPath(t) }
