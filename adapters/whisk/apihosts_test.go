package whisk_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestAPIHosts: the credential host is the API host, not the login host,
// for both the plain and the implicit adapter.
func TestAPIHosts(t *testing.T) {
	cfg := baseConfig()
	if got := mustNew(t, cfg).APIHosts(); !slices.Equal(got, []string{"api.whisk.com"}) {
		t.Fatalf("default APIHosts = %q", got)
	}
	cfg.AuthBaseURL = "https://login.staging.example"
	cfg.APIBaseURL = "https://API.staging.example:8443/"
	if got := mustNew(t, cfg).APIHosts(); !slices.Equal(got, []string{"API.staging.example:8443"}) {
		t.Fatalf("APIHosts = %q", got)
	}
	var h provider.APIHoster = newImplicit(t, time.Now())
	if got := h.APIHosts(); !slices.Equal(got, []string{"api.whisk.com"}) {
		t.Fatalf("implicit APIHosts = %q", got)
	}
}
