package oauth2_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/provider/providertest"
)

const (
	testClientID = "gatehouse-app"
	testSecret   = "s3cret:with/odd&chars %"
	testRedirect = "https://app.example/auth/generic/callback"
)

// newFake starts a fake authorization server with one client registered
// for testRedirect, closed when t ends.
func newFake(t *testing.T, cfg oauth2test.Config) *oauth2test.Server {
	t.Helper()
	if cfg.Clients == nil {
		cfg.Clients = []oauth2test.Client{{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect}}}
	}
	s := oauth2test.NewServer(cfg)
	t.Cleanup(s.Close)
	return s
}

// adapterFor returns an adapter configured for s; edit tweaks the config.
func adapterFor(t *testing.T, s *oauth2test.Server, edit func(*oauth2.Config)) *oauth2.Adapter {
	t.Helper()
	cfg := oauth2.Config{
		Name: "generic", ClientID: testClientID, ClientSecret: testSecret,
		AuthURL: s.AuthorizeURL(), TokenURL: s.TokenURL(), RefreshURL: s.RefreshURL(),
		RevocationURL: s.RevocationURL(), UserInfoURL: s.UserInfoURL(),
		RedirectURL: testRedirect, Scopes: []string{"openid", "profile"},
		HTTPClient: s.Client(), Timeout: time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	a, err := oauth2.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fake    oauth2test.Config
		edit    func(*oauth2.Config)
		rotates bool
	}{
		{"basic-form-rotating", oauth2test.Config{ReuseDetection: true}, nil, true},
		{"body-json-no-rotation", oauth2test.Config{Encodings: oauth2test.EncodingJSON, NoRotation: true},
			func(c *oauth2.Config) { c.AuthStyle, c.Encoding = provider.AuthStyleBody, provider.JSONEncoding }, false},
		{"separate-refresh-path", oauth2test.Config{Paths: oauth2test.Paths{Authorize: "/oauth/authorize", Token: "/oauth/access_token", Refresh: "/oauth/refresh"}},
			func(c *oauth2.Config) { c.ScopeInTokenRequests, c.RedirectURLOnRefresh = true, true }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			providertest.RunRedirect(t, providertest.RedirectHarness{
				New: func(t *testing.T, env *providertest.Env) providertest.RedirectFixture {
					s := newFake(t, tc.fake)
					a := adapterFor(t, s, func(c *oauth2.Config) {
						c.Logger, c.HTTPClient = env.Logger, env.Client(s.Client())
						if tc.edit != nil {
							tc.edit(c)
						}
					})
					return providertest.RedirectFixture{
						Provider:  a,
						Authorize: s.AuthorizeCode,
						Fail:      func(f providertest.Failure) { s.FailNext(oauth2test.EndpointToken, string(f)) },
					}
				},
				RedirectURL:         testRedirect,
				Identity:            provider.Identity{Subject: "user-1"}, // the fake's default user
				Scopes:              []string{"openid", "profile"},
				ClientSecret:        testSecret,
				RotatesRefreshToken: tc.rotates,
			})
		})
	}
}
