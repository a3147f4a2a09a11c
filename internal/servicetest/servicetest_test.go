package servicetest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/servicetest"
)

// recorder is a testing.TB that records Skipf and Fatalf instead of
// ending the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any) { r.skipped = fmt.Sprintf(format, args...) }

func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestEnv(t *testing.T) {
	const name = "GATEHOUSE_SERVICETEST_PROBE"
	for _, c := range []struct {
		ci, value       string
		skipped, failed bool
	}{
		{ci: "", value: "127.0.0.1:1"},
		{ci: "true", value: "127.0.0.1:1"},
		{ci: "", value: "", skipped: true},
		{ci: "true", value: "", failed: true},
	} {
		t.Setenv("CI", c.ci)
		t.Setenv(name, c.value)
		r := &recorder{TB: t}
		if got := servicetest.Env(r, name); got != c.value {
			t.Errorf("CI=%q %s=%q: Env = %q", c.ci, name, c.value, got)
		}
		if (r.skipped != "") != c.skipped || (r.failed != "") != c.failed {
			t.Errorf("CI=%q %s=%q: skipped %q, failed %q", c.ci, name, c.value, r.skipped, r.failed)
		}
		if msg := r.skipped + r.failed; msg != "" && (!strings.Contains(msg, name) || !strings.Contains(msg, "scripts/services.sh")) {
			t.Errorf("message %q does not name %s and the way to start the services", msg, name)
		}
	}
}
