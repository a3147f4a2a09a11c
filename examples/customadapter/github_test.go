package customadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/examples/customadapter"
	"github.com/gatehouse-auth/gatehouse/examples/customadapter/githubtest"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/provider/providertest"
)

const (
	clientID = "Iv1.gatehouse"
	secret   = "gh-secret/with:odd&chars"
	redirect = "https://app.example/auth/github/callback"
)

// newFakeGitHub starts the GitHub-style fake, closed when t ends.
func newFakeGitHub(t *testing.T) *oauth2test.Server {
	t.Helper()
	s := githubtest.NewServer(githubtest.Config{ClientID: clientID, ClientSecret: secret, RedirectURIs: []string{redirect}})
	t.Cleanup(s.Close)
	return s
}

func newAdapter(t *testing.T, s *oauth2test.Server, logger *slog.Logger, client *http.Client) *customadapter.GitHub {
	t.Helper()
	g, err := customadapter.New(customadapter.Config{
		ClientID: clientID, ClientSecret: secret, RedirectURL: redirect,
		Scopes:  []string{"read:user", "user:email"},
		BaseURL: s.URL, APIURL: s.URL, HTTPClient: client,
		Timeout: time.Second, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestConformance runs Gatehouse's provider contract against the adapter
// and the fake: exchange, refresh (GitHub rotates refresh tokens),
// invalid_grant, outages, timeouts, malformed and oversized replies, and no
// secret in any URL, error or log line.
func TestConformance(t *testing.T) {
	providertest.RunRedirect(t, providertest.RedirectHarness{
		New: func(t *testing.T, env *providertest.Env) providertest.RedirectFixture {
			s := newFakeGitHub(t)
			return providertest.RedirectFixture{
				Provider:  newAdapter(t, s, env.Logger, env.Client(s.Client())),
				Authorize: s.AuthorizeCode,
				Fail:      func(f providertest.Failure) { s.FailNext(oauth2test.EndpointToken, string(f)) },
			}
		},
		RedirectURL:         redirect,
		Identity:            provider.Identity{Subject: strconv.Itoa(githubtest.UserID), Name: githubtest.UserLogin, Email: githubtest.UserEmail},
		Scopes:              []string{"read:user", "user:email"},
		ClientSecret:        secret,
		RotatesRefreshToken: true,
	})
}

// login runs the code flow against the fake and returns the token.
func login(t *testing.T, s *oauth2test.Server, g *customadapter.GitHub) *provider.Token {
	t.Helper()
	ctx := context.Background()
	verifier := provider.NewVerifier()
	code, _, err := s.AuthorizeCode(ctx, g.AuthURL(provider.AuthRequest{State: provider.NewState(), CodeChallenge: provider.S256Challenge(verifier)}))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := g.Exchange(ctx, code, verifier)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestIdentityScopesAndRevoke(t *testing.T) {
	s := newFakeGitHub(t)
	g := newAdapter(t, s, slog.New(slog.DiscardHandler), s.Client())
	tok := login(t, s, g)
	if !tok.HasScope("read:user") || !tok.HasScope("user:email") {
		t.Errorf("scopes %q: the comma-separated reply was not split", tok.Scopes)
	}
	id, err := g.Identity(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "583231" || id.Name != "octocat" || id.Email != "octocat@example.test" || id.Raw["login"] != "octocat" {
		t.Errorf("identity = %+v", id)
	}
	if err := g.Revoke(context.Background(), tok); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if _, ok := s.LookupAccessToken(tok.AccessToken); ok {
		t.Error("token still live after Revoke")
	}
	if _, err := g.Identity(context.Background(), tok); !errors.Is(err, provider.ErrUnauthorized) {
		t.Errorf("Identity after Revoke: %v, want ErrUnauthorized", err)
	}
	if err := g.Revoke(context.Background(), tok); err != nil {
		t.Errorf("second Revoke: %v, want nil (already gone)", err)
	}
	for _, r := range s.Requests("") {
		if strings.Contains(r.URL.String(), tok.AccessToken) || strings.Contains(r.URL.String(), secret) {
			t.Errorf("a secret in the URL of %s %s", r.Method, r.URL.Path)
		}
	}
}

func TestMapUser(t *testing.T) {
	for _, tc := range []struct {
		name       string
		given      map[string]any
		expectSub  string
		expectName string
		expectErr  error
	}{
		{"numeric id and name", map[string]any{"id": json.Number("1"), "login": "a", "name": "Ada"}, "1", "Ada", nil},
		{"null name falls back to login", map[string]any{"id": json.Number("2"), "login": "bob", "name": nil}, "2", "bob", nil},
		{"no id", map[string]any{"login": "c"}, "", "", provider.ErrBadResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := customadapter.MapUser(tc.given)
			if tc.expectErr != nil {
				if !errors.Is(err, tc.expectErr) {
					t.Fatalf("err = %v, want %v", err, tc.expectErr)
				}
				return
			}
			if err != nil || id.Subject != tc.expectSub || id.Name != tc.expectName {
				t.Fatalf("MapUser = %+v, %v", id, err)
			}
		})
	}
}

func TestNewRefusesMissingSecret(t *testing.T) {
	if _, err := customadapter.New(customadapter.Config{ClientID: "x", RedirectURL: redirect}); err == nil {
		t.Fatal("New without a secret succeeded")
	}
}
