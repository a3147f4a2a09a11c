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
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/provider/providertest"
)

const (
	clientID = "Iv1.gatehouse"
	secret   = "gh-secret/with:odd&chars"
	redirect = "https://app.example/auth/github/callback"
)

// newFakeGitHub is a GitHub-style upstream made from the generic fake:
// GitHub's paths, its reply shape (lower-case "bearer", comma-separated
// scope), GET /user and the grant revocation endpoint.
func newFakeGitHub(t *testing.T) *oauth2test.Server {
	t.Helper()
	s := oauth2test.NewUnstartedServer(oauth2test.Config{
		Clients: []oauth2test.Client{{ID: clientID, Secret: secret, RedirectURIs: []string{redirect}}},
		Users: []oauth2test.User{{Subject: "583231", Email: "octocat@example.test",
			Claims: map[string]any{"login": "octocat", "avatar_url": "https://avatars.example/u/583231"}}},
		Paths:       oauth2test.Paths{Authorize: "/login/oauth/authorize", Token: "/login/oauth/access_token", UserInfo: "-", Revoke: "-"},
		Encodings:   oauth2test.EncodingForm | oauth2test.EncodingJSON,
		RequirePKCE: true,
		RenderToken: func(w http.ResponseWriter, _ *http.Request, reply *oauth2test.TokenReply) {
			f := reply.Fields()
			f["token_type"] = "bearer"
			f["scope"] = strings.Join(reply.Scopes, ",")
			oauth2test.WriteJSON(w, http.StatusOK, f)
		},
	})
	s.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		info, ok := s.BearerToken(r)
		if !ok {
			oauth2test.WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
			return
		}
		id, _ := strconv.ParseInt(info.User.Subject, 10, 64)
		oauth2test.WriteJSON(w, http.StatusOK, map[string]any{
			"id": id, "login": info.User.Claims["login"], "name": nil, "email": info.User.Email,
			"avatar_url": info.User.Claims["avatar_url"], "html_url": "https://github.example/octocat",
		})
	})
	s.HandleFunc("DELETE /applications/{client_id}/grant", func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != r.PathValue("client_id") || user != clientID || pass != secret {
			oauth2test.WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "Requires authentication"})
			return
		}
		var body struct {
			AccessToken string `json:"access_token"`
		}
		if json.NewDecoder(r.Body).Decode(&body) != nil || body.AccessToken == "" {
			oauth2test.WriteJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Invalid request"})
			return
		}
		if !s.RevokeToken(body.AccessToken) {
			oauth2test.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func newAdapter(t *testing.T, s *oauth2test.Server, logger *slog.Logger) *customadapter.GitHub {
	t.Helper()
	g, err := customadapter.New(customadapter.Config{
		ClientID: clientID, ClientSecret: secret, RedirectURL: redirect,
		Scopes:  []string{"read:user", "user:email"},
		BaseURL: s.URL, APIURL: s.URL,
		Timeout: 300 * time.Millisecond, Logger: logger,
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
		New: func(t *testing.T, logger *slog.Logger) providertest.RedirectFixture {
			s := newFakeGitHub(t)
			return providertest.RedirectFixture{
				Provider:  newAdapter(t, s, logger),
				Authorize: s.AuthorizeCode,
				Fail:      func(f providertest.Failure) { s.FailNext(oauth2test.EndpointToken, string(f)) },
			}
		},
		RedirectURL:         redirect,
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
	g := newAdapter(t, s, slog.New(slog.DiscardHandler))
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
