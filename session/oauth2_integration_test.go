package session

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestOAuth2ServerConcurrentRefresh: 200 concurrent requests with an
// expired token against the generic adapter and a fake authorization server
// with rotation and reuse detection: exactly one refresh call, 200
// successes, no family revoked.
func TestOAuth2ServerConcurrentRefresh(t *testing.T) {
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) {
			clock := newClock()
			srv := oauth2test.NewServer(oauth2test.Config{
				Clients:        []oauth2test.Client{{ID: "app", Secret: "s3cret", RedirectURIs: []string{"http://127.0.0.1/cb"}}},
				Now:            clock.Now,
				AccessTTL:      time.Hour,
				ReuseDetection: true,
			})
			defer srv.Close()
			p, err := oauth2.New(oauth2.Config{
				Name: "fake", ClientID: "app", ClientSecret: "s3cret",
				AuthURL: srv.AuthorizeURL(), TokenURL: srv.TokenURL(), RedirectURL: "http://127.0.0.1/cb",
				UserInfoURL: srv.UserInfoURL(), HTTPClient: srv.Client(), Now: clock.Now, Logger: discardLogger(),
			})
			if err != nil {
				t.Fatal(err)
			}
			e := newEnvWith(t, sc, clock, newFakeProvider(clock))
			b := newEnvWith(t, sc, clock, e.prov)
			reply := srv.IssueToken("app", oauth2test.User{Subject: "user-1"}, []string{"read"})
			tok := &provider.Token{AccessToken: reply.AccessToken, RefreshToken: reply.RefreshToken, TokenType: "Bearer",
				Expiry: clock.Now().Add(reply.ExpiresIn)}
			ctx := e.request("")
			if err := e.m.SaveLogin(ctx, &Login{Provider: "fake", Token: tok}); err != nil {
				t.Fatal(err)
			}
			cookie := e.commit(ctx)
			for cycle := 1; cycle <= 3; cycle++ {
				clock.Advance(2 * time.Hour)
				envs := []*env{e, b}
				toks, errs := hammerWith(t, envs, cookie, 200, p)
				for i := range toks {
					if errs[i] != nil {
						t.Fatalf("cycle %d call %d: %v", cycle, i, errs[i])
					}
				}
				if n := srv.Calls(oauth2test.EndpointToken); n != cycle {
					t.Fatalf("cycle %d: token endpoint calls = %d, want %d", cycle, n, cycle)
				}
			}
		})
	}
}
