package oidctest_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
)

// The tests drive the fake over HTTP with net/http only, and check what it
// signs with go-jose against the JWKS it publishes: they never use the
// relying party the fake exists to test.

const (
	appID       = "app"
	appSecret   = "s3cr:t/&+ %" // needs form-encoding in HTTP Basic (RFC 6749 §2.3.1)
	spaID       = "spa"         // a public client
	otherID     = "other"
	otherSecret = "other-secret"
	redirectURI = "https://app.example/auth/oidc/callback"
	loggedOut   = "https://app.example/auth/oidc/logged-out"
	verifier    = "dBjftJeZ4CVP-mJ92K9cQ3g5yY3eL0C8S9gQ6kAbCdE"
)

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a fake clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newServer starts a fake with the test clients registered and a fake
// clock (unless cfg has one).
func newServer(t *testing.T, cfg oidctest.Config) (*oidctest.Server, *clock) {
	t.Helper()
	clk := &clock{t: start}
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	if cfg.Clients == nil {
		cfg.Clients = []oidctest.Client{
			{ID: appID, Secret: appSecret, RedirectURIs: []string{redirectURI}, PostLogoutRedirectURIs: []string{loggedOut}},
			{ID: spaID, RedirectURIs: []string{redirectURI}, PostLogoutRedirectURIs: []string{loggedOut}},
			{ID: otherID, Secret: otherSecret, RedirectURIs: []string{redirectURI}},
		}
	}
	s := oidctest.NewServer(cfg)
	t.Cleanup(s.Close)
	return s, clk
}

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authURL is a correct authorization request of the app client; extra
// replaces parameters (a nil value removes one).
func authURL(s *oidctest.Server, extra url.Values) string {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {appID},
		"redirect_uri":          {redirectURI},
		"scope":                 {"openid profile email"},
		"state":                 {"st4te"},
		"nonce":                 {"n0nce"},
		"code_challenge":        {s256(verifier)},
		"code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		if v == nil {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return s.Issuer + "/authorize?" + q.Encode()
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r reply) location(t *testing.T) *url.URL {
	t.Helper()
	u, err := url.Parse(r.header.Get("Location"))
	if err != nil || r.header.Get("Location") == "" {
		t.Fatalf("no Location in %d reply %q", r.status, r.raw)
	}
	return u
}

// do sends req without following redirects.
func do(t *testing.T, s *oidctest.Server, req *http.Request) reply {
	t.Helper()
	hc := *s.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &r.body)
	return r
}

func get(t *testing.T, s *oidctest.Server, u string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, s, req)
}

// auth is how a token or revocation request authenticates its client.
type auth struct {
	basicID, basicSecret string // HTTP Basic, form-encoded first
	form                 url.Values
}

func basic(id, secret string) auth { return auth{basicID: id, basicSecret: secret} }
func post(id, secret string) auth {
	return auth{form: url.Values{"client_id": {id}, "client_secret": {secret}}}
}
func public(id string) auth { return auth{form: url.Values{"client_id": {id}}} }

func postForm(t *testing.T, s *oidctest.Server, u string, a auth, params url.Values) reply {
	t.Helper()
	form := url.Values{}
	for k, v := range params {
		form[k] = v
	}
	for k, v := range a.form {
		form[k] = v
	}
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if a.basicID != "" {
		req.SetBasicAuth(url.QueryEscape(a.basicID), url.QueryEscape(a.basicSecret))
	}
	return do(t, s, req)
}

// authorize answers the authorization request (and the consent page with
// Allow) and returns the redirect's query.
func authorize(t *testing.T, s *oidctest.Server, extra url.Values) url.Values {
	t.Helper()
	loc, err := s.Authorize(context.Background(), authURL(s, extra), false)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	return loc.Query()
}

func code(t *testing.T, s *oidctest.Server, extra url.Values) string {
	t.Helper()
	q := authorize(t, s, extra)
	if q.Get("code") == "" {
		t.Fatalf("authorization response %v carries no code", q)
	}
	return q.Get("code")
}

func exchange(t *testing.T, s *oidctest.Server, c string, a auth) reply {
	t.Helper()
	return postForm(t, s, s.Issuer+"/token", a, url.Values{
		"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirectURI}, "code_verifier": {verifier},
	})
}

// login is a whole code flow of the app client that must succeed.
func login(t *testing.T, s *oidctest.Server) reply {
	t.Helper()
	r := exchange(t, s, code(t, s, nil), basic(appID, appSecret))
	if r.status != http.StatusOK {
		t.Fatalf("token: %d %s", r.status, r.raw)
	}
	return r
}

func refresh(t *testing.T, s *oidctest.Server, rt string, a auth) reply {
	t.Helper()
	return postForm(t, s, s.Issuer+"/token", a, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

func str(v any) string { s, _ := v.(string); return s }

func userinfo(t *testing.T, s *oidctest.Server, header string) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.Issuer+"/userinfo", nil)
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	return do(t, s, req)
}

func wantOAuthError(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.body["error"] != code {
		t.Fatalf("got %d %s, want %d error=%s", r.status, r.raw, status, code)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error reply Content-Type = %q, want application/json (RFC 6749 §5.2)", ct)
	}
}

// jwks fetches the published key set.
func jwks(t *testing.T, s *oidctest.Server) jose.JSONWebKeySet {
	t.Helper()
	r := get(t, s, s.Issuer+"/jwks")
	if r.status != http.StatusOK {
		t.Fatalf("jwks: %d", r.status)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(r.raw), &set); err != nil {
		t.Fatalf("jwks: %v", err)
	}
	return set
}

// jwt is a compact JWS taken apart.
type jwt struct {
	header map[string]any
	claims map[string]any
	jws    *jose.JSONWebSignature
}

func parse(t *testing.T, raw string) jwt {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a compact JWS", raw)
	}
	var j jwt
	for i, dst := range []*map[string]any{&j.header, &j.claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.UseNumber()
		if err := d.Decode(dst); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	j.jws, _ = jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	return j
}

// verify checks raw's signature against the published key its kid names
// and returns it taken apart; it fails the test when it does not verify.
func verify(t *testing.T, s *oidctest.Server, raw string) jwt {
	t.Helper()
	j := parse(t, raw)
	if err := verifyErr(t, s, j); err != "" {
		t.Fatalf("token does not verify: %s", err)
	}
	return j
}

func verifyErr(t *testing.T, s *oidctest.Server, j jwt) string {
	t.Helper()
	if j.jws == nil {
		return "not an RS256/ES256 JWS"
	}
	set := jwks(t, s)
	keys := set.Key(str(j.header["kid"]))
	if len(keys) != 1 {
		return "kid names no published key"
	}
	if _, err := j.jws.Verify(keys[0].Key); err != nil {
		return err.Error()
	}
	return ""
}

// num reads a NumericDate claim.
func num(t *testing.T, v any) int64 {
	t.Helper()
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return int64(f)
	}
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%v is not an integer: %v", v, err)
	}
	return i
}

// atHash is OpenID Connect Core §3.1.3.6's at_hash for RS256 and ES256:
// the left half of SHA-256 of the access token's ASCII, base64url.
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
