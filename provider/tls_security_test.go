package provider_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestSecuritySelfSignedASRefused is checklist item 52: the default client
// verifies TLS, so a token endpoint with a self-signed certificate is
// refused before any request reaches it, as a transport failure (no token,
// typed error). No InsecureSkipVerify exists outside tests.
func TestSecuritySelfSignedASRefused(t *testing.T) {
	var calls atomic.Int32
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"x","token_type":"Bearer"}`))
	}))
	defer s.Close()
	for name, c := range map[string]*provider.Client{
		"zero Client":   {Provider: "p"},
		"NewHTTPClient": {Provider: "p", HTTPClient: provider.NewHTTPClient()},
	} {
		_, err := c.Do(context.Background(), "exchange", provider.Request{URL: s.URL + "/token", Params: map[string]any{"code": "c"}})
		if err == nil {
			t.Fatalf("%s: a self-signed token endpoint was accepted", name)
		}
		var pe *provider.Error
		if !errors.As(err, &pe) || !errors.Is(err, provider.ErrUnavailable) {
			t.Fatalf("%s: err = %v, want a *provider.Error matching ErrUnavailable", name, err)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("%d requests reached the self-signed server", n)
	}
	// The same server is reachable with its own CA: the refusal was TLS.
	ok := &provider.Client{Provider: "p", HTTPClient: s.Client()}
	if _, err := ok.Do(context.Background(), "exchange", provider.Request{URL: s.URL + "/token", Params: map[string]any{"code": "c"}}); err != nil {
		t.Fatalf("trusted CA: %v", err)
	}
}
