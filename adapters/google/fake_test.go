package google_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/google"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
)

const (
	clientID     = "1234-abc.apps.googleusercontent.com"
	clientSecret = "GOCSPX-s3cret"
	redirectURL  = "http://127.0.0.1:8080/auth/google/callback"
)

// fakeGoogle is oidctest's OP made to look like Google to the provider:
// its transport sends requests for https://accounts.google.com to the fake
// (so the real Issuer is configured and checked), and it re-signs the ID
// tokens of token replies with Google's claims (iss, hd) using the fake's
// own key.
type fakeGoogle struct {
	op   *oidctest.Server
	host string

	mu  sync.Mutex
	iss string // iss of ID tokens; default google.Issuer
	hd  string // hd claim of ID tokens; "" leaves it out
}

func newFakeGoogle(t *testing.T, user oidctest.User) *fakeGoogle {
	t.Helper()
	op := oidctest.NewServer(oidctest.Config{
		Clients: []oidctest.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}}},
		Users:   []oidctest.User{user},
	})
	t.Cleanup(op.Close)
	// The discovery document names Google's issuer, as Google's does.
	op.Misbehave(oidctest.Misbehaviour{DiscoveryIssuer: google.Issuer})
	return &fakeGoogle{op: op, host: strings.TrimPrefix(op.URL, "http://"), iss: google.Issuer}
}

func (f *fakeGoogle) set(iss, hd string) {
	f.mu.Lock()
	f.iss, f.hd = iss, hd
	f.mu.Unlock()
}

func (f *fakeGoogle) client() *http.Client { return &http.Client{Transport: f} }

func (f *fakeGoogle) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if r.URL.Host == "accounts.google.com" {
		r.URL.Scheme, r.URL.Host, r.Host = "http", f.host, ""
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || r.URL.Path != "/token" || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var reply map[string]any
	if json.Unmarshal(body, &reply) != nil {
		// Not a token reply (an injected fault): pass it on as it came.
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	if raw, ok := reply["id_token"].(string); ok {
		parts := strings.Split(raw, ".")
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			return nil, err
		}
		var claims map[string]any
		if err := json.Unmarshal(payload, &claims); err != nil {
			return nil, err
		}
		f.mu.Lock()
		claims["iss"] = f.iss
		if f.hd != "" {
			claims["hd"] = f.hd
		}
		f.mu.Unlock()
		reply["id_token"] = f.op.SignJWT(claims)
	}
	if body, err = json.Marshal(reply); err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return resp, nil
}
