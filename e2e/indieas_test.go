package e2e

// The independent authorization server: github.com/go-oauth2/oauth2/v4, a
// library nobody on this project wrote, started in-process on 127.0.0.1
// with its own in-memory token store (buntdb) and client store.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goauth2 "github.com/go-oauth2/oauth2/v4"
	goerrors "github.com/go-oauth2/oauth2/v4/errors"
	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/go-oauth2/oauth2/v4/server"
	"github.com/go-oauth2/oauth2/v4/store"

	gh "github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/e2e/internal/harness"
)

// Identities of the independent server's registered client and user.
const (
	indieClientID    = "gatehouse-e2e"
	indieSecret      = "indie-client-secret-7f3c9a1e" // planted in leak scans
	indieRedirectURI = "http://127.0.0.1/gatehouse/callback"
	indieUser        = "user-42"
	indieUserName    = "Ada Lovelace"
	indieUserEmail   = "ada@example.test"
)

// indieOptions configures newIndieAS. The zero value is a hardened server:
// PKCE S256 required, rotation of refresh tokens, client auth by HTTP Basic.
type indieOptions struct {
	// NoForcePKCE lets authorize requests without a challenge through
	// (and token requests without a verifier).
	NoForcePKCE bool
	// NoRotation keeps the refresh token on refresh (the reply carries
	// none; the old one stays valid).
	NoRotation bool
	// ClientSecret overrides indieSecret.
	ClientSecret string
	// RedirectURI overrides indieRedirectURI.
	RedirectURI string
	// ClientFromBody reads client_id/client_secret from the form body
	// instead of HTTP Basic.
	ClientFromBody bool
}

// indieAS is the running server.
type indieAS struct {
	*httptest.Server
	Manager *manage.Manager
	OAuth   *server.Server
	Clients *store.ClientStore

	calls  sync.Map // path → *atomic.Int64
	mu     sync.Mutex
	urls   []*url.URL // every request URL received
	logins atomic.Int64
	fail   atomic.Pointer[string] // fault for the next /token request
	done   chan struct{}          // closed when the test ends, before Close
}

func newIndieAS(t testing.TB, opt indieOptions) *indieAS {
	t.Helper()
	if opt.ClientSecret == "" {
		opt.ClientSecret = indieSecret
	}
	if opt.RedirectURI == "" {
		opt.RedirectURI = indieRedirectURI
	}
	m := manage.NewDefaultManager()
	m.MustTokenStorage(store.NewMemoryTokenStore())
	clients := store.NewClientStore()
	m.MapClientStorage(clients)
	// The library's default accepts any redirect URI whose host ends with
	// the registered one's; RFC 9700 §2.1 asks for exact matching.
	m.SetValidateURIHandler(func(registered, redirect string) error {
		if registered != redirect {
			return goerrors.ErrInvalidRedirectURI
		}
		return nil
	})
	if opt.NoRotation {
		m.SetRefreshTokenCfg(&manage.RefreshingConfig{IsGenerateRefresh: false, IsRemoveAccess: true})
	} else {
		m.SetRefreshTokenCfg(manage.DefaultRefreshTokenCfg) // new RT each time, old AT and RT removed
	}

	srv := server.NewServer(server.NewConfig(), m)
	srv.SetAllowedResponseType(goauth2.Code)
	srv.SetAllowedGrantType(goauth2.AuthorizationCode, goauth2.Refreshing)
	srv.Config.AllowedCodeChallengeMethods = []goauth2.CodeChallengeMethod{goauth2.CodeChallengeS256}
	srv.Config.ForcePKCE = !opt.NoForcePKCE
	if opt.ClientFromBody {
		srv.SetClientInfoHandler(server.ClientFormHandler)
	}

	as := &indieAS{Manager: m, OAuth: srv, Clients: clients, done: make(chan struct{})}
	// Auto-approve: the resource owner is always indieUser.
	srv.SetUserAuthorizationHandler(func(w http.ResponseWriter, r *http.Request) (string, error) {
		as.logins.Add(1)
		return indieUser, nil
	})
	as.Register(indieClientID, opt.ClientSecret, opt.RedirectURI)

	mux := http.NewServeMux()
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		if err := srv.HandleAuthorizeRequest(w, r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		if f := as.fail.Swap(nil); f != nil {
			injectFault(w, r, *f, as.done)
			return
		}
		_ = srv.HandleTokenRequest(w, r)
	})
	// An RFC 7009 revocation endpoint on the library's manager and stores
	// (the library has none): authenticate the client, then remove the
	// token and, for a refresh token, the access token of the same grant.
	// Unknown tokens are success.
	mux.HandleFunc("/revoke", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if r.Method != http.MethodPost || !ok {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		cli, err := clients.GetByID(r.Context(), id)
		if err != nil || cli.GetSecret() != secret {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		tok := r.PostFormValue("token")
		ctx := r.Context()
		if ti, err := m.LoadRefreshToken(ctx, tok); err == nil && ti.GetClientID() == id {
			_ = m.RemoveAccessToken(ctx, ti.GetAccess())
			_ = m.RemoveRefreshToken(ctx, tok)
		} else if ti, err := m.LoadAccessToken(ctx, tok); err == nil && ti.GetClientID() == id {
			_ = m.RemoveAccessToken(ctx, tok)
		}
		w.WriteHeader(http.StatusOK)
	})
	// A userinfo endpoint on the same mux, validating the bearer with the
	// library's own manager.
	mux.HandleFunc("/userinfo", func(w http.ResponseWriter, r *http.Request) {
		ti, err := srv.ValidationBearerToken(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"sub": ti.GetUserID(), "name": indieUserName, "email": indieUserEmail,
			"scope": ti.GetScope(), "client_id": ti.GetClientID(),
		})
	})
	as.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		as.count(r.URL.Path)
		as.mu.Lock()
		u := *r.URL
		as.urls = append(as.urls, &u)
		as.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(as.Close)
	t.Cleanup(func() { close(as.done) }) // runs first: release hung handlers
	return as
}

// FailNext makes the next /token request fail with fault, one of the
// providertest.Failure values: "unavailable" (503 temporarily_unavailable),
// "timeout" (never answer), "malformed" (200 with broken JSON), "oversized"
// (200 with 1 MiB + 1 of JSON-looking bytes).
func (as *indieAS) FailNext(fault string) { as.fail.Store(&fault) }

func injectFault(w http.ResponseWriter, r *http.Request, fault string, done <-chan struct{}) {
	switch fault {
	case "unavailable":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":"temporarily_unavailable"}`))
	case "timeout":
		// Read the body first: only then does net/http watch the
		// connection and cancel the context when the client hangs up.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done(): // the client gave up
		case <-done: // the test is over
		}
	case "malformed":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"x","token_type":`))
	case "oversized":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"` + strings.Repeat("a", 1<<20) + `"}`))
	default:
		http.Error(w, "unknown fault "+fault, http.StatusTeapot)
	}
}

// AuthorizeCode completes an authorization for authURL as a browser would
// and returns the code and state brought back to the redirect URI
// (providertest.RedirectFixture.Authorize).
func (as *indieAS) AuthorizeCode(ctx context.Context, authURL string) (code, state string, err error) {
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return "", "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", "", err
	}
	_ = resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		return "", "", fmt.Errorf("authorize: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		return "", "", fmt.Errorf("authorize: error=%s", e)
	}
	return q.Get("code"), q.Get("state"), nil
}

// Register adds (or replaces) a confidential client whose only redirect URI
// is redirectURI.
func (as *indieAS) Register(id, secret, redirectURI string) {
	_ = as.Clients.Set(id, &models.Client{ID: id, Secret: secret, Domain: redirectURI})
}

func (as *indieAS) count(path string) {
	c, _ := as.calls.LoadOrStore(path, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
}

// Calls is how many requests path received.
func (as *indieAS) Calls(path string) int64 {
	if c, ok := as.calls.Load(path); ok {
		return c.(*atomic.Int64).Load()
	}
	return 0
}

// URLs returns every request URL the server received, query included.
func (as *indieAS) URLs() []*url.URL {
	as.mu.Lock()
	defer as.mu.Unlock()
	return append([]*url.URL(nil), as.urls...)
}

// adapterConfig is the generic adapter configured for this server.
func (as *indieAS) adapterConfig(t testing.TB, log *harness.LogCapture) gh.Config {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	cfg := gh.Config{
		Name:          "indie",
		ClientID:      indieClientID,
		ClientSecret:  indieSecret,
		AuthURL:       as.URL + "/authorize",
		TokenURL:      as.URL + "/token",
		RedirectURL:   indieRedirectURI,
		UserInfoURL:   as.URL + "/userinfo",
		RevocationURL: as.URL + "/revoke",
		Scopes:        []string{"profile", "email"},
		HTTPClient:    &http.Client{Transport: tr},
		Timeout:       5 * time.Second,
	}
	if log != nil {
		cfg.Logger = log.Logger()
	}
	return cfg
}

func newIndieAdapter(t testing.TB, cfg gh.Config) *gh.Adapter {
	t.Helper()
	a, err := gh.New(cfg)
	if err != nil {
		t.Fatalf("adapter config: %v", err)
	}
	return a
}

// authorize plays the browser at the authorization endpoint: GET authURL
// without following redirects, check the 302 goes back to wantRedirect,
// and return the redirect's query (code and state, or error).
func (as *indieAS) authorize(t testing.TB, authURL, wantRedirect string) url.Values {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 5 * time.Second}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("authorize: bad Location: %v", err)
	}
	base := *loc
	base.RawQuery = ""
	if base.String() != wantRedirect {
		t.Fatalf("authorize redirected to %s, want %s", base.String(), wantRedirect)
	}
	return loc.Query()
}

// hasQueryParam reports whether raw (a URL) carries parameter k.
func hasQueryParam(raw, k string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.Contains("&"+u.RawQuery, "&"+k+"=")
}
