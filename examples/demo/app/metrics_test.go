package app_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/examples/demo/app"
	"github.com/gatehouse-auth/gatehouse/examples/internal/exampletest"
)

// TestDemoMetrics: after a login (and a refused password), GET /metrics
// serves Gatehouse's OpenTelemetry metrics in the Prometheus text format:
// the login, the failure by code and every provider's breaker state.
func TestDemoMetrics(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, app.Config{})
	c := exampletest.Browser(t)
	login(t, srv, c, app.OAuth2)
	_, page := exampletest.Get(t, c, srv.URL+"/auth/login")
	exampletest.PostForm(t, c, srv.URL+"/auth/wazo/login", url.Values{
		"csrf_token": {exampletest.CSRF(t, page)}, "username": {srv.WazoUsers[0].Username}, "password": {"not-the-password"}})

	resp, body := exampletest.Get(t, c, srv.URL+"/metrics")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	cases := []struct {
		name   string
		expect []string // a sample line holds all of these (a value last)
	}{
		{"login type", []string{"# TYPE gatehouse_logins_total counter"}},
		{"login", []string{"gatehouse_logins_total{", `gatehouse_outcome="ok"`, `gatehouse_provider="oauth2"`, "} 1"}},
		{"refused password", []string{"gatehouse_logins_total{", `gatehouse_outcome="invalid_credentials"`, `gatehouse_provider="wazo"`, "} 1"}},
		{"failure by code", []string{"gatehouse_failures_total{", `error_type="invalid_credentials"`, `gatehouse_provider="wazo"`, "} 1"}},
		{"breaker closed", []string{"gatehouse_breaker_state{", `gatehouse_breaker_state="closed"`, `gatehouse_provider="oauth2"`, "} 1"}},
		{"breaker not open", []string{"gatehouse_breaker_state{", `gatehouse_breaker_state="open"`, `gatehouse_provider="oidc"`, "} 0"}},
	}
	lines := strings.Split(body, "\n")
	for _, tc := range cases {
		found := false
		for _, l := range lines {
			ok := true
			for _, part := range tc.expect {
				ok = ok && strings.Contains(l, part)
			}
			found = found || ok
		}
		if !found {
			t.Errorf("%s: no line with %q in /metrics:\n%s", tc.name, tc.expect, gatehouseLines(body))
		}
	}
	if regexp.MustCompile(`[{,](password|code|state|access_token|refresh_token|session|email|username|sub)="`).MatchString(gatehouseLines(body)) {
		t.Errorf("secret-looking label in /metrics:\n%s", gatehouseLines(body))
	}
}

func gatehouseLines(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, "gatehouse_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
