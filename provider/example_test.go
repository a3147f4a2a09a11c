package provider_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// A Token never prints its secrets, whichever way it is printed or logged.
func ExampleToken() {
	tok := &provider.Token{AccessToken: "secret-access", TokenType: "Bearer", RefreshToken: "secret-refresh",
		Expiry: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Scopes: []string{"read"}}
	fmt.Println(tok)
	fmt.Printf("%+v\n", *tok)

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	logger.Info("refreshed", "token", tok)
	// Output:
	// provider.Token{AccessToken:[REDACTED] TokenType:Bearer RefreshToken:[REDACTED] Expiry:2030-01-01T00:00:00Z Scopes:[read]}
	// provider.Token{AccessToken:[REDACTED] TokenType:Bearer RefreshToken:[REDACTED] Expiry:2030-01-01T00:00:00Z Scopes:[read]}
	// level=INFO msg=refreshed token.type=Bearer token.has_access_token=true token.has_refresh_token=true token.expiry=2030-01-01T00:00:00.000Z token.scopes=read
}

// ParseToken validates a token endpoint reply; anything off-spec is an
// ErrBadResponse.
func ExampleParseToken() {
	received := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tok, err := provider.ParseToken([]byte(`{"access_token":"x","token_type":"bearer","expires_in":"3600","scope":["a","b"]}`),
		"application/json", received, provider.ParseOptions{})
	fmt.Println(tok.TokenType, tok.Expiry.Format(time.RFC3339), tok.Scopes, err)

	_, err = provider.ParseToken([]byte(`{"access_token":"x","token_type":"mac"}`), "application/json", received, provider.ParseOptions{})
	fmt.Println(errors.Is(err, provider.ErrBadResponse), err)
	// Output:
	// Bearer 2026-01-01T01:00:00Z [a b] <nil>
	// true provider: bad response: token_type "mac" not accepted
}

// Client maps an upstream's error reply to typed errors callers branch on.
func ExampleClient() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"refresh token revoked"}`)
	}))
	defer srv.Close()

	c := &provider.Client{Provider: "example"}
	_, err := c.Do(context.Background(), "refresh", provider.Request{
		URL:       srv.URL,
		Params:    map[string]any{"grant_type": "refresh_token", "refresh_token": "r"},
		BasicUser: "client-id", BasicPass: "client-secret",
	})
	switch {
	case errors.Is(err, provider.ErrInvalidGrant):
		fmt.Println("log in again:", err)
	case provider.IsTransient(err):
		fmt.Println("try later, after", provider.RetryAfter(err))
	}
	// Output: log in again: provider example: refresh: invalid grant (invalid_grant) HTTP 400
}

// Every login gets a fresh state and PKCE verifier; only the S256 challenge
// travels in the authorization URL.
func ExampleNewVerifier() {
	state, verifier := provider.NewState(), provider.NewVerifier()
	challenge := provider.S256Challenge(verifier)
	fmt.Println(len(state), len(verifier), len(challenge))
	// Output: 43 43 43
}
