package middleware_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/startgg"
	"github.com/gatehouse-auth/gatehouse/adapters/whisk"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// The adapters report their RedirectURL, so New can check it.
var (
	_ middleware.RedirectURLProvider = (*oauth2.Adapter)(nil)
	_ middleware.RedirectURLProvider = (*whisk.Adapter)(nil)
	_ middleware.RedirectURLProvider = (*whisk.ImplicitAdapter)(nil)
	_ middleware.RedirectURLProvider = (*startgg.Adapter)(nil)
)

// logBuffer is a goroutine-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// appSessions is an app-supplied session manager with cookie edited by
// cookie.
func appSessions(t *testing.T, cookie func(*scs.SessionCookie)) *session.Manager {
	t.Helper()
	sm := scs.New()
	sm.Cookie.Name, sm.Cookie.Secure, sm.Cookie.HttpOnly, sm.Cookie.SameSite = "app", true, true, http.SameSiteLaxMode
	cookie(&sm.Cookie)
	m, err := session.New(session.Config{SessionManager: sm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// TestDevModeCombinations: DevMode is one switch for a plain-http
// loopback PublicURL, and every inconsistent combination of PublicURL,
// DevMode and the session cookie fails New with an error that says what
// to change.
func TestDevModeCombinations(t *testing.T) {
	t.Parallel()
	insecure := func(c *scs.SessionCookie) { c.Name, c.Secure = "dev", false }
	tests := []struct {
		name        string
		givenURL    string
		givenDev    bool
		givenCookie func(*scs.SessionCookie) // nil: Sessions nil (Gatehouse's own)
		expectErr   string                   // "" means New succeeds
	}{
		{"https, production default", "https://app.example", false, nil, ""},
		{"no PublicURL, production default", "", false, nil, ""},
		{"DevMode on 127.0.0.1", "http://127.0.0.1:8080", true, nil, ""},
		{"DevMode on localhost", "http://localhost:3000/", true, nil, ""},
		{"DevMode on [::1]", "http://[::1]:8080", true, nil, ""},
		{"DevMode with the app's insecure cookie", "http://127.0.0.1:8080", true, insecure, ""},
		{"http loopback without DevMode", "http://127.0.0.1:8080", false, nil, "set DevMode for local development"},
		{"http public host without DevMode", "http://app.example", false, nil, "must be https"},
		{"http public host with DevMode", "http://app.example", true, nil, "must be https"},
		{"DevMode without PublicURL", "", true, nil, "DevMode needs PublicURL"},
		{"DevMode with https", "https://app.example", true, nil, "unset DevMode"},
		{"DevMode with https on loopback", "https://127.0.0.1:8443", true, nil, "unset DevMode"},
		{"PublicURL with a path", "https://app.example/app", false, nil, "without a path"},
		{"PublicURL with a query", "https://app.example?x=1", false, nil, "absolute http(s) URL"},
		{"insecure app cookie without DevMode", "https://app.example", false, insecure, "is not Secure"},
		{"DevMode with the app's Secure cookie", "http://127.0.0.1:8080", true, func(*scs.SessionCookie) {}, `is Secure, which not every browser sends back over plain http: pass session.Config a SessionManager (scs.New()) with Cookie.Secure = false`},
		{"DevMode with session.New's default cookie", "http://127.0.0.1:8080", true, func(c *scs.SessionCookie) { c.Name = "__Host-gatehouse" }, `with Cookie.Name = "gatehouse" and Cookie.Secure = false`},
		{"DevMode with a __Host- app cookie", "http://127.0.0.1:8080", true, func(c *scs.SessionCookie) { c.Name, c.Secure = "__Host-app", false }, "requires the Secure flag"},
		{"DevMode with a __Secure- app cookie", "http://127.0.0.1:8080", true, func(c *scs.SessionCookie) { c.Name, c.Secure = "__Secure-app", false }, "requires the Secure flag"},
		{"DevMode with a Domain cookie", "http://127.0.0.1:8080", true, func(c *scs.SessionCookie) { c.Name, c.Secure, c.Domain = "dev", false, "localhost" }, "host-only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := middleware.Config{Providers: []provider.Provider{demoProvider{}}, PublicURL: tc.givenURL, DevMode: tc.givenDev, Logger: discardLogger()}
			if tc.givenCookie != nil {
				cfg.Sessions = appSessions(t, tc.givenCookie)
			}
			a, err := middleware.New(cfg)
			if tc.expectErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				_ = a.Close()
				return
			}
			if !errors.Is(err, middleware.ErrConfig) || !strings.Contains(err.Error(), tc.expectErr) {
				t.Fatalf("New: err = %v, want ErrConfig saying %q", err, tc.expectErr)
			}
		})
	}
}

// TestDevModeCookie: with DevMode and no Sessions, the session cookie a
// browser gets over plain http is "gatehouse", host-only, HttpOnly,
// SameSite=Lax and not Secure, and New says so in the log exactly once.
// Without DevMode the default cookie stays __Host-gatehouse and Secure.
func TestDevModeCookie(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		givenURL     string
		givenDev     bool
		expectName   string
		expectSecure bool
		expectLogs   int
	}{
		{"DevMode", "http://127.0.0.1:8080", true, middleware.DevCookieName, false, 1},
		{"production", "https://app.example", false, "__Host-gatehouse", true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logs := &logBuffer{}
			a, err := middleware.New(middleware.Config{Providers: []provider.Provider{demoProvider{}}, PublicURL: tc.givenURL, DevMode: tc.givenDev, Logger: logs.logger()})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			h := a.Wrap(a.Handler())
			var ck *http.Cookie
			for range 3 {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.givenURL+"/auth/demo/login", nil))
				if rec.Code != http.StatusOK {
					t.Fatalf("password form: %d", rec.Code)
				}
				for _, c := range rec.Result().Cookies() {
					ck = c
				}
			}
			if ck == nil {
				t.Fatal("no session cookie set")
			}
			if ck.Name != tc.expectName || ck.Secure != tc.expectSecure || ck.Domain != "" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
				t.Errorf("cookie = %+v, want %s, Secure=%v, host-only, HttpOnly, Lax, Path=/", ck, tc.expectName, tc.expectSecure)
			}
			if n := strings.Count(logs.String(), "event=dev_mode"); n != tc.expectLogs {
				t.Errorf("dev-mode log lines = %d, want %d:\n%s", n, tc.expectLogs, logs)
			}
		})
	}
}

// TestNewChecksRedirectURL: a redirect adapter's RedirectURL must be the
// URL Gatehouse serves its callback at (CallbackURL: PublicURL + BasePath
// + /{name}/callback); New names the URL it expected. Without PublicURL
// only the path is checked.
func TestNewChecksRedirectURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		givenURL     string // Config.PublicURL
		givenBase    string // Config.BasePath
		givenName    string // the adapter's Name
		whenRedirect string // the adapter's RedirectURL
		expectErr    string // "" means New succeeds
	}{
		{"matches", "https://app.example", "", "idp", "https://app.example/auth/idp/callback", ""},
		{"matches under a BasePath", "https://app.example", "/api/auth/", "idp", "https://app.example/api/auth/idp/callback", ""},
		{"matches in DevMode", "http://127.0.0.1:8080", "", "idp", "http://127.0.0.1:8080/auth/idp/callback", ""},
		{"no PublicURL, path matches", "", "", "idp", "https://anything.example/auth/idp/callback", ""},
		{"wrong host", "https://app.example", "", "idp", "https://other.example/auth/idp/callback",
			`provider idp: RedirectURL is "https://other.example/auth/idp/callback", expected "https://app.example/auth/idp/callback"`},
		{"wrong port", "http://127.0.0.1:8080", "", "idp", "http://127.0.0.1:9090/auth/idp/callback",
			`expected "http://127.0.0.1:8080/auth/idp/callback"`},
		{"wrong provider name", "https://app.example", "", "idp", "https://app.example/auth/github/callback",
			`expected "https://app.example/auth/idp/callback"`},
		{"BasePath not followed", "https://app.example", "/api/auth", "idp", "https://app.example/auth/idp/callback",
			`expected "https://app.example/api/auth/idp/callback"`},
		{"no PublicURL, wrong path", "", "", "idp", "https://app.example/callback",
			`expected a URL with path "/auth/idp/callback"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := oauth2.New(oauth2.Config{Name: tc.givenName, ClientID: "id", AuthURL: "https://idp.example/authorize",
				TokenURL: "https://idp.example/token", UserInfoURL: "https://idp.example/userinfo", RedirectURL: tc.whenRedirect, Logger: discardLogger()})
			if err != nil {
				t.Fatal(err)
			}
			a, err := middleware.New(middleware.Config{Providers: []provider.Provider{p}, PublicURL: tc.givenURL, BasePath: tc.givenBase,
				DevMode: strings.HasPrefix(tc.givenURL, "http:"), Logger: discardLogger()})
			if tc.expectErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				_ = a.Close()
				return
			}
			if !errors.Is(err, middleware.ErrConfig) || !strings.Contains(err.Error(), tc.expectErr) {
				t.Fatalf("New: err = %v, want ErrConfig saying %s", err, tc.expectErr)
			}
		})
	}
}

// TestCallbackURL is the URL New expects, for the adapters' RedirectURL.
func TestCallbackURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ public, base, name, want string }{
		{"https://app.example", "", "whisk", "https://app.example/auth/whisk/callback"},
		{"https://app.example/", "/api/auth/", "idp", "https://app.example/api/auth/idp/callback"},
		{"http://127.0.0.1:8080", "/auth", "whisk-implicit", "http://127.0.0.1:8080/auth/whisk-implicit/callback"},
	} {
		if got := middleware.CallbackURL(tc.public, tc.base, tc.name); got != tc.want {
			t.Errorf("CallbackURL(%q, %q, %q) = %q, want %q", tc.public, tc.base, tc.name, got, tc.want)
		}
	}
}

// TestAccessorsWithoutSession: on a public page outside Wrap, Require and
// Optional, the accessors do not panic (scs's "no session data in
// context"): CSRFToken returns "", Client returns ErrNoSession (matching
// session.ErrNoSession) whose text names Wrap, the session manager's
// CurrentLogin returns session.ErrNoSession, and the first such call logs
// the fix once. Inside Wrap the same page gets a token.
func TestAccessorsWithoutSession(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	a, err := middleware.New(middleware.Config{Providers: []provider.Provider{demoProvider{}}, PublicURL: "https://app.example", Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var token string
	var clientErr, loginErr error
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token = a.CSRFToken(r.Context())
		_, clientErr = a.Client(r.Context())
		_, loginErr = a.Sessions().CurrentLogin(r.Context())
	})
	tests := []struct {
		name          string
		givenHandler  http.Handler
		expectToken   bool
		expectNoSess  bool
		expectLogMsgs int // no_session log lines so far
	}{
		{"public page without Wrap", page, false, true, 1},
		{"again: logged once only", page, false, true, 1},
		{"inside Wrap", a.Wrap(page), true, false, 1},
	}
	for _, tc := range tests { // sequential: the log is shared
		t.Run(tc.name, func(t *testing.T) {
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("panic: %v", p)
					}
				}()
				tc.givenHandler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "https://app.example/", nil))
			}()
			if (token != "") != tc.expectToken {
				t.Errorf("CSRFToken = %q, want a token: %v", token, tc.expectToken)
			}
			if tc.expectNoSess {
				if !errors.Is(clientErr, middleware.ErrNoSession) || !errors.Is(clientErr, session.ErrNoSession) || !strings.Contains(clientErr.Error(), "auth.Wrap") {
					t.Errorf("Client err = %v, want ErrNoSession naming auth.Wrap", clientErr)
				}
				if !errors.Is(loginErr, session.ErrNoSession) {
					t.Errorf("CurrentLogin err = %v, want session.ErrNoSession", loginErr)
				}
			} else {
				if !errors.Is(clientErr, middleware.ErrNotLoggedIn) || loginErr != nil {
					t.Errorf("inside Wrap: Client err = %v (want ErrNotLoggedIn), CurrentLogin err = %v", clientErr, loginErr)
				}
			}
			if n := strings.Count(logs.String(), "event=no_session"); n != tc.expectLogMsgs {
				t.Errorf("no_session log lines = %d, want %d:\n%s", n, tc.expectLogMsgs, logs)
			}
			if tc.expectLogMsgs > 0 && !strings.Contains(logs.String(), "echoauth.Sessions") {
				t.Errorf("the log does not name the fix:\n%s", logs)
			}
		})
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
