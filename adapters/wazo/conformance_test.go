package wazo_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/wazo"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/provider/providertest"
)

// conformanceUser is the fake's user in TestConformance.
const conformanceUser = "6a3c1d4e-9b2f-4c7a-8e5d-0f1a2b3c4d5e"

// TestConformance runs the provider contract suite against the fake.
// wazo-auth revokes a token by naming it in the URL path, which the suite
// is told to allow for revocation only.
func TestConformance(t *testing.T) {
	providertest.RunPassword(t, providertest.PasswordHarness{
		New: func(t *testing.T, env *providertest.Env) providertest.PasswordFixture {
			srv := wazotest.NewServer(wazotest.Config{Users: []wazotest.User{{Username: testUser, Password: testPassword, UUID: conformanceUser}}})
			t.Cleanup(srv.Close)
			p, err := wazo.New(wazo.Config{BaseURL: srv.URL, ClientID: testClient, HTTPClient: env.Client(srv.Client()), Timeout: time.Second, Logger: env.Logger})
			if err != nil {
				t.Fatal(err)
			}
			return providertest.PasswordFixture{Provider: p, Fail: func(f providertest.Failure) { srv.Fail(wazotest.EndpointToken, failure(f)) }}
		},
		Username:          testUser,
		Password:          testPassword,
		Identity:          provider.Identity{Subject: conformanceUser},
		TokenInRevokePath: true,
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
