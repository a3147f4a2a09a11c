package wazo_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/wazo"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/provider/providertest"
)

// TestConformance runs the provider contract suite against the fake. The
// adapter logs nothing, so the logger goes unused.
func TestConformance(t *testing.T) {
	providertest.RunPassword(t, providertest.PasswordHarness{
		New: func(t *testing.T, _ *slog.Logger) providertest.PasswordFixture {
			srv := wazotest.NewServer(wazotest.Config{Users: []wazotest.User{{Username: testUser, Password: testPassword}}})
			t.Cleanup(srv.Close)
			p, err := wazo.New(wazo.Config{BaseURL: srv.URL, ClientID: testClient, HTTPClient: srv.Client(), Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			return providertest.PasswordFixture{Provider: p, Fail: func(f providertest.Failure) { srv.Fail(wazotest.EndpointToken, failure(f)) }}
		},
		Username: testUser,
		Password: testPassword,
	})
}

// failure maps the suite's failures to the fake's.
func failure(f providertest.Failure) wazotest.Failure {
	switch f {
	case providertest.FailTimeout:
		return wazotest.Failure{Hang: true}
	case providertest.FailMalformed:
		return wazotest.Failure{Malformed: true}
	case providertest.FailOversized:
		return wazotest.Failure{Oversized: provider.DefaultMaxBody + 64<<10}
	}
	return wazotest.Failure{Status: 503, Body: `{"reason":["Service Unavailable"],"timestamp":[0],"status_code":503}`}
}
