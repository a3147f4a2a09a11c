package oidc_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/provider/providertest"
)

// TestConformance runs the provider contract suite against oidctest:
// confidential (client_secret_basic, client_secret_post) and public
// clients, rotating and non-rotating refresh tokens.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name    string
		op      oidctest.Config
		secret  string
		method  oidc.AuthMethod
		rotates bool
	}{
		{"basic-rotating", oidctest.Config{}, testClientSecret, "", true},
		{"post-no-rotation", oidctest.Config{NoRotation: true}, testClientSecret, oidc.AuthClientSecretPost, false},
		{"public-es256", oidctest.Config{Alg: "ES256"}, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			providertest.RunRedirect(t, providertest.RedirectHarness{
				New: func(t *testing.T, env *providertest.Env) providertest.RedirectFixture {
					cfg := tc.op
					cfg.Clients = []oidctest.Client{{ID: testClientID, Secret: tc.secret, RedirectURIs: []string{testRedirect}}}
					op := newOP(t, cfg)
					p := newRP(t, op, func(c *oidc.Config) {
						c.ClientSecret, c.AuthMethod = tc.secret, tc.method
						// 1 s: the suite's oversized reply (1 MiB) must be read
						// in time under -race on a busy machine, too.
						c.Logger, c.HTTPClient, c.Timeout = env.Logger, env.Client(op.Client()), time.Second
					})
					return providertest.RedirectFixture{
						Provider:  p,
						Authorize: op.AuthorizeCode,
						Fail:      func(f providertest.Failure) { op.FailNext(oidctest.EndpointToken, string(f)) },
					}
				},
				RedirectURL:         testRedirect,
				Identity:            provider.Identity{Subject: "user-1", Name: "Test User", Email: "user-1@example.test"},
				Scopes:              []string{"openid", "profile", "email"},
				ClientSecret:        tc.secret,
				RotatesRefreshToken: tc.rotates,
			})
		})
	}
}
