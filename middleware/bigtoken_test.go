package middleware_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// bigTokenProvider is a redirect provider whose token exchange returns a
// 20 KiB access token, over the session's 16 KiB token bound.
type bigTokenProvider struct{}

func (bigTokenProvider) Name() string                                     { return "big" }
func (bigTokenProvider) SetCredential(r *http.Request, t *provider.Token) {}
func (bigTokenProvider) Refresh(ctx context.Context, t *provider.Token) (*provider.Token, error) {
	return nil, provider.ErrNoRefreshToken
}
func (bigTokenProvider) Identity(ctx context.Context, t *provider.Token) (*provider.Identity, error) {
	return &provider.Identity{Subject: "u1"}, nil
}
func (bigTokenProvider) AuthURL(req provider.AuthRequest) string {
	return "https://idp.example/auth?state=" + url.QueryEscape(req.State)
}
func (bigTokenProvider) Exchange(ctx context.Context, code, verifier string) (*provider.Token, error) {
	return &provider.Token{AccessToken: strings.Repeat("a", 20<<10), TokenType: "Bearer"}, nil
}

// TestCallbackTokenTooLarge: an upstream token set too large for the
// session is a 502 provider_bad_response with a link to start again and no
// Retry-After (the state and code are spent, so a retry cannot succeed),
// not a 503 session_unavailable; the token never reaches the page or logs.
func TestCallbackTokenTooLarge(t *testing.T) {
	app := newSecApp(t, func(c *middleware.Config) { c.Providers = append(c.Providers, bigTokenProvider{}) })
	for _, accept := range []string{"", "application/json"} {
		b := app.browser()
		res := b.get("/auth/big/login")
		wantStatus(t, res, http.StatusFound)
		loc, err := url.Parse(res.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		res = b.get("/auth/big/callback?code=x&state="+url.QueryEscape(loc.Query().Get("state")), "Accept", accept)
		wantStatus(t, res, http.StatusBadGateway)
		if ra := res.Header.Get("Retry-After"); ra != "" {
			t.Fatalf("Retry-After %q", ra)
		}
		body := readBody(t, res)
		if !strings.Contains(body, "provider_bad_response") && accept != "" {
			t.Fatalf("JSON body %s", body)
		}
		if accept == "" && !strings.Contains(body, `href="/auth/big/login`) {
			t.Fatalf("no start-again link: %.500s", body)
		}
		if strings.Contains(body, "aaaaaaaa") {
			t.Fatal("token in the response")
		}
		wantStatus(t, b.get("/private"), http.StatusFound) // not logged in
	}
	logs := app.logs.String()
	if strings.Contains(logs, "session_unavailable") || strings.Contains(logs, "aaaaaaaa") {
		t.Fatalf("logs: %s", logs)
	}
}
