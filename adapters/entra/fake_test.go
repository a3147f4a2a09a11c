package entra_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/entra"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

const (
	clientID     = "11111111-2222-3333-4444-555555555555"
	clientSecret = "s3cret~value"
	redirectURL  = "http://127.0.0.1:8080/auth/entra/callback"

	tenantA = "aaaaaaaa-0000-4000-8000-000000000001"
	tenantB = "bbbbbbbb-0000-4000-8000-000000000002"
	oidUser = "00000000-0000-4000-8000-0000000000aa"
)

// fakeEntra puts oidctest's OP behind the Microsoft identity platform's
// layout: its transport sends https://login.microsoftonline.com/{tenant}/…
// (the real default Authority) to the fake's endpoints and records the
// tenant segment, and it re-signs the ID tokens of token replies with
// Entra's claims (iss of the token's tenant, tid, oid) using the fake's key.
type fakeEntra struct {
	op   *oidctest.Server
	host string

	mu       sync.Mutex
	tid      string         // tid of ID tokens
	iss      string         // iss of ID tokens; "" means the issuer of tid
	extra    map[string]any // more claims
	segments []string       // tenant path segments requested
}

func newFakeEntra(t *testing.T, tid string) *fakeEntra {
	t.Helper()
	op := oidctest.NewServer(oidctest.Config{
		Clients: []oidctest.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}}},
		Users:   []oidctest.User{{Subject: "pairwise-sub-for-this-app", Name: "Casey Cook", Email: "casey@contoso.example", EmailVerified: true}},
	})
	t.Cleanup(op.Close)
	return &fakeEntra{op: op, host: strings.TrimPrefix(op.URL, "http://"), tid: tid, extra: map[string]any{"oid": oidUser}}
}

func (f *fakeEntra) set(tid, iss string, extra map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tid, f.iss = tid, iss
	f.extra = map[string]any{"oid": oidUser}
	maps.Copy(f.extra, extra)
}

func (f *fakeEntra) tenantSegments() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.segments...)
}

func (f *fakeEntra) client() *http.Client { return &http.Client{Transport: f} }

// fakePath maps a Microsoft v2.0 endpoint path to the fake's.
func (f *fakeEntra) fakePath(p string) string {
	seg, rest, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	f.mu.Lock()
	f.segments = append(f.segments, seg)
	f.mu.Unlock()
	switch rest {
	case "oauth2/v2.0/authorize":
		return "/authorize"
	case "oauth2/v2.0/token":
		return "/token"
	case "discovery/v2.0/keys":
		return "/jwks"
	case "oauth2/v2.0/logout":
		return "/end_session"
	}
	return "/not-an-entra-endpoint"
}

// browserURL is authURL as the browser would reach the fake.
func (f *fakeEntra) browserURL(t *testing.T, authURL string) string {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil || u.Host != "login.microsoftonline.com" {
		t.Fatalf("authorization URL %q is not at login.microsoftonline.com", authURL)
	}
	u.Scheme, u.Host, u.Path = "http", f.host, f.fakePath(u.Path)
	return u.String()
}

func (f *fakeEntra) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if r.URL.Host == "login.microsoftonline.com" {
		r.URL.Scheme, r.URL.Host, r.URL.Path, r.Host = "http", f.host, f.fakePath(r.URL.Path), ""
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
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
		if err != nil {
			return nil, err
		}
		var claims map[string]any
		if err := json.Unmarshal(payload, &claims); err != nil {
			return nil, err
		}
		f.mu.Lock()
		claims["tid"] = f.tid
		claims["iss"] = f.iss
		if f.iss == "" {
			claims["iss"] = entra.IssuerFor(entra.DefaultAuthority, f.tid)
		}
		if f.tid == "" {
			delete(claims, "tid")
		}
		maps.Copy(claims, f.extra)
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

// exampleIdentity is what middleware.IdentityFrom returns after an Entra
// login (trimmed).
func exampleIdentity() *provider.Identity {
	return &provider.Identity{Provider: "entra", Subject: "pairwise-sub-for-this-app",
		Raw: map[string]any{"tid": tenantA, "oid": oidUser, "sub": "pairwise-sub-for-this-app"}}
}
