package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/adapters/startgg"
	"github.com/gatehouse-auth/gatehouse/adapters/startgg/startggtest"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
	"github.com/gatehouse-auth/gatehouse/adapters/whisk"
	"github.com/gatehouse-auth/gatehouse/adapters/whisk/whisktest"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// shortTTL is the upstream's access-token lifetime in these tests: far
// shorter than the session manager's default Leeway (60 s).
const shortTTL = 8 * time.Second

// shortUpstream is one adapter over its fake, issuing shortTTL tokens on
// the test's clock.
type shortUpstream struct {
	prov provider.Provider
	// login returns a fresh token set for user i (0 or 1) and its identity.
	login func(t *testing.T, i int) (*provider.Token, provider.Identity)
	// call calls the upstream API with hc (Auth.Client) and returns the status.
	call func(ctx context.Context, hc *http.Client) (int, error)
	// refreshes is the number of refresh grants the fake has answered.
	refreshes func() int
	// replaced is the fake's count of presentations of replaced tokens.
	replaced func() int
}

const shortRedirect = benchPublicURL + "/auth/%s/callback"

func getStatus(ctx context.Context, hc *http.Client, method, url, ctype, body string) (int, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func issued(r *oauth2test.TokenReply, now time.Time) *provider.Token {
	return &provider.Token{AccessToken: r.AccessToken, TokenType: "Bearer", RefreshToken: r.RefreshToken,
		Expiry: now.Add(r.ExpiresIn), Scopes: r.Scopes}
}

// shortUpstreams builds every adapter over its fake, all on clk.
func shortUpstreams(t *testing.T, clk *oauth2test.Clock) map[string]func() shortUpstream {
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	return map[string]func() shortUpstream{
		"oauth2": func() shortUpstream {
			srv := oauth2test.NewServer(oauth2test.Config{
				Clients: []oauth2test.Client{{ID: "app", Secret: "app-secret", RedirectURIs: []string{fmt.Sprintf(shortRedirect, "generic")}}},
				Now:     clk.Now, AccessTTL: shortTTL, ReuseDetection: true,
			})
			t.Cleanup(srv.Close)
			p, err := oauth2.New(oauth2.Config{Name: "generic", ClientID: "app", ClientSecret: "app-secret",
				AuthURL: srv.AuthorizeURL(), TokenURL: srv.TokenURL(), UserInfoURL: srv.UserInfoURL(),
				RedirectURL: fmt.Sprintf(shortRedirect, "generic"), Now: clk.Now, Logger: discard()})
			must(err)
			return shortUpstream{
				prov: p,
				login: func(_ *testing.T, i int) (*provider.Token, provider.Identity) {
					sub := fmt.Sprintf("user-%d", i)
					r := srv.IssueToken("app", oauth2test.User{Subject: sub}, []string{"openid"})
					return issued(r, clk.Now()), provider.Identity{Provider: "generic", Subject: sub}
				},
				call: func(ctx context.Context, hc *http.Client) (int, error) {
					return getStatus(ctx, hc, http.MethodGet, srv.UserInfoURL(), "", "")
				},
				refreshes: func() int { return srv.Calls(oauth2test.EndpointRefresh) },
				replaced:  srv.ReplacedPresentations,
			}
		},
		"whisk": func() shortUpstream {
			srv := whisktest.NewServer(whisktest.Config{Now: clk.Now, AccessTTL: shortTTL, ReuseDetection: true,
				Clients: []whisktest.Client{{ID: whisktest.DefaultClientID, Secret: whisktest.DefaultClientSecret,
					RedirectURIs: []string{fmt.Sprintf(shortRedirect, "whisk")}}}})
			t.Cleanup(srv.Close)
			p, err := whisk.New(whisk.Config{ClientID: whisktest.DefaultClientID, ClientSecret: whisktest.DefaultClientSecret,
				RedirectURL: fmt.Sprintf(shortRedirect, "whisk"), Offline: true,
				AuthBaseURL: srv.URL, APIBaseURL: srv.URL, Now: clk.Now, Logger: discard()})
			must(err)
			return shortUpstream{
				prov: p,
				login: func(_ *testing.T, i int) (*provider.Token, provider.Identity) {
					sub := fmt.Sprintf("5f0c1d2e3a4b5c6d7e8f9a0%d", i)
					r := srv.IssueToken(whisktest.DefaultClientID, oauth2test.User{Subject: sub}, []string{whisktest.OfflineAccess})
					return issued(r, clk.Now()), provider.Identity{Provider: "whisk", Subject: sub}
				},
				call: func(ctx context.Context, hc *http.Client) (int, error) {
					return getStatus(ctx, hc, http.MethodGet, srv.URL+whisktest.MePath, "", "")
				},
				refreshes: func() int { return srv.Calls(whisktest.EndpointRefresh) },
				replaced:  srv.ReplacedPresentations,
			}
		},
		"startgg": func() shortUpstream {
			srv := startggtest.NewServer(startggtest.Config{Now: clk.Now, AccessTTL: shortTTL,
				Users: []startggtest.User{{}, {}}, RedirectURIs: []string{fmt.Sprintf(shortRedirect, "startgg")}})
			t.Cleanup(srv.Close)
			p, err := startgg.New(startgg.Config{ClientID: startggtest.DefaultClientID, ClientSecret: startggtest.DefaultClientSecret,
				RedirectURL: fmt.Sprintf(shortRedirect, "startgg"), AuthBaseURL: srv.URL, APIBaseURL: srv.URL,
				Now: clk.Now, Logger: discard()})
			must(err)
			return shortUpstream{
				prov: p,
				login: func(_ *testing.T, i int) (*provider.Token, provider.Identity) {
					id := int64(123456 + i)
					r := srv.IssueUserToken(id, startgg.ScopeIdentity)
					return issued(r, clk.Now()), provider.Identity{Provider: "startgg", Subject: fmt.Sprint(id)}
				},
				call: func(ctx context.Context, hc *http.Client) (int, error) {
					return getStatus(ctx, hc, http.MethodPost, srv.GraphQLURL(), "application/json", `{"query":"query Q { currentUser { id } }"}`)
				},
				refreshes: func() int { return srv.Calls(oauth2test.EndpointRefresh) },
				replaced:  srv.ReplacedPresentations,
			}
		},
		"wazo": func() shortUpstream {
			srv := wazotest.NewServer(wazotest.Config{Now: clk.Now, Users: []wazotest.User{
				{Username: "user-0", Password: "password-0"}, {Username: "user-1", Password: "password-1"}}})
			t.Cleanup(srv.Close)
			p, err := wazo.New(wazo.Config{BaseURL: srv.URL, ClientID: "gatehouse-test", Expiration: int(shortTTL / time.Second),
				Now: clk.Now, Logger: discard()})
			must(err)
			logins := 0
			return shortUpstream{
				prov: p,
				login: func(t *testing.T, i int) (*provider.Token, provider.Identity) {
					tok, err := p.Login(context.Background(), fmt.Sprintf("user-%d", i), fmt.Sprintf("password-%d", i))
					if err != nil {
						t.Fatal(err)
					}
					logins++
					id, err := p.Identity(context.Background(), tok)
					if err != nil {
						t.Fatal(err)
					}
					return tok, *id
				},
				call: func(ctx context.Context, hc *http.Client) (int, error) {
					return getStatus(ctx, hc, http.MethodGet, srv.URL+"/users/me/tokens", "", "")
				},
				refreshes: func() int { return srv.Calls(wazotest.EndpointToken) - logins }, // logins are token calls too
				replaced:  srv.ReplacedPresentations,
			}
		},
	}
}

// shortApp is an Auth over one upstream with the default session
// Leeway and Jitter, all on clk, and its logged-in sessions.
type shortApp struct {
	a       *middleware.Auth
	up      shortUpstream
	h       http.Handler // Require → Client(ctx) → the upstream API
	cookies []*http.Cookie
	subs    []string

	mu        sync.Mutex
	perLogin  map[string]int // OnRefresh events per subject
	upstreams int            // upstream API calls made by the handler
}

func newShortApp(t *testing.T, clk *oauth2test.Clock, up shortUpstream, sessions int) *shortApp {
	t.Helper()
	sm := benchSessions(memstore.NewWithCleanupInterval(0))
	mgr, err := session.New(session.Config{SessionManager: sm, Now: clk.Now, Logger: discard()}) // default Leeway 60 s
	if err != nil {
		t.Fatal(err)
	}
	app := &shortApp{up: up, perLogin: map[string]int{}}
	app.a, err = middleware.New(middleware.Config{
		Providers: []provider.Provider{up.prov},
		Sessions:  mgr,
		PublicURL: benchPublicURL,
		Now:       clk.Now,
		Logger:    discard(),
		OnRefresh: func(_ context.Context, e middleware.Event) {
			app.mu.Lock()
			app.perLogin[e.Subject]++
			app.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.a.Close() })
	app.h = app.a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hc, err := app.a.Client(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		app.mu.Lock()
		app.upstreams++
		app.mu.Unlock()
		status, err := up.call(r.Context(), hc)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(status)
	}))
	for i := range sessions {
		tok, id := up.login(t, i)
		app.cookies = append(app.cookies, loginAt(t, app.a, id, tok, clk.Now()))
		app.subs = append(app.subs, id.Subject)
	}
	return app
}

// loginAt stores a login received at (the token's receipt) and returns
// its cookie, as the callback handler does.
func loginAt(t *testing.T, a *middleware.Auth, id provider.Identity, tok *provider.Token, at time.Time) *http.Cookie {
	t.Helper()
	sm := a.Sessions().Sessions()
	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Sessions().SaveLogin(ctx, &session.Login{Provider: id.Provider, Identity: id, Token: tok, LoginAt: at}); err != nil {
		t.Fatal(err)
	}
	v, _, err := sm.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: sm.Cookie.Name, Value: v}
}

// burst sends n concurrent protected requests per session and returns
// the statuses that were not 200.
func (app *shortApp) burst(n int) []string {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	for s, c := range app.cookies {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := httptest.NewRequest(http.MethodGet, "/upstream", nil)
				r.AddCookie(c)
				w := httptest.NewRecorder()
				app.h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("session %d: %d %s", s, w.Code, strings.TrimSpace(w.Body.String())))
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	return bad
}

func (app *shortApp) refreshesOf(sub string) int {
	app.mu.Lock()
	defer app.mu.Unlock()
	return app.perLogin[sub]
}

// TestShortTokensOneRefreshPerExpiry (F18): 8 s tokens with the default
// refresh margin (Leeway 60 s), two sessions, on every adapter's fake,
// driven through Require and Client(ctx): 50 concurrent requests per
// session at several moments of each token's life and at each of five
// expiries → exactly one refresh per expiry per session, every request
// answered 200, and no replaced access token presented upstream (the
// Whisk fake answers a replaced token 401, the others count it).
func TestShortTokensOneRefreshPerExpiry(t *testing.T) {
	t.Parallel()
	const (
		sessions = 2
		perBurst = 50
		expiries = 5
	)
	for name := range shortUpstreams(t, oauth2test.NewClock(time.Time{})) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clk := oauth2test.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
			app := newShortApp(t, clk, shortUpstreams(t, clk)[name](), sessions)
			check := func(when string, wantEach int) {
				t.Helper()
				for _, sub := range app.subs {
					if got := app.refreshesOf(sub); got != wantEach {
						t.Fatalf("%s: session %s refreshed %d times, want %d", when, sub, got, wantEach)
					}
				}
				if got := app.up.refreshes(); got != sessions*wantEach {
					t.Fatalf("%s: the upstream answered %d refreshes, want %d", when, got, sessions*wantEach)
				}
				if got := app.up.replaced(); got != 0 {
					t.Fatalf("%s: %d presentations of a replaced access token upstream", when, got)
				}
			}
			since := time.Duration(0) // since the current tokens were received
			for exp := 0; exp <= expiries; exp++ {
				// Through the token's life, up to 2/3 of it: never due.
				for _, at := range []time.Duration{0, time.Second, 5 * time.Second} {
					clk.Advance(at - since)
					since = at
					if bad := app.burst(perBurst); len(bad) > 0 {
						t.Fatalf("expiry %d, %v into the token's life: %d failures, first %s", exp, at, len(bad), bad[0])
					}
					check(fmt.Sprintf("expiry %d, %v into the token's life", exp, at), exp)
				}
				if exp == expiries {
					break
				}
				// One second before expiry: due for every session.
				clk.Advance(shortTTL - time.Second - since)
				if bad := app.burst(perBurst); len(bad) > 0 {
					t.Fatalf("at expiry %d: %d failures, first %s", exp+1, len(bad), bad[0])
				}
				check(fmt.Sprintf("at expiry %d", exp+1), exp+1)
				since = 0
			}
		})
	}
}

// TestShortTokenRequestWithClientRefreshesOnce: one protected request
// whose token is due, and whose handler calls the upstream through
// Client(ctx), refreshes exactly once: the upstream client uses the token
// Require has just obtained instead of refreshing again.
func TestShortTokenRequestWithClientRefreshesOnce(t *testing.T) {
	t.Parallel()
	for name := range shortUpstreams(t, oauth2test.NewClock(time.Time{})) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clk := oauth2test.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
			app := newShortApp(t, clk, shortUpstreams(t, clk)[name](), 1)
			clk.Advance(shortTTL - time.Second)
			for i := range 3 { // the first refreshes, the next two do not
				if bad := app.burst(1); len(bad) > 0 {
					t.Fatalf("request %d: %s", i, bad[0])
				}
				if got := app.up.refreshes(); got != 1 {
					t.Fatalf("after request %d: %d refreshes upstream, want 1", i, got)
				}
			}
			if app.upstreams != 3 || app.up.replaced() != 0 {
				t.Fatalf("upstream calls %d (want 3), replaced presentations %d (want 0)", app.upstreams, app.up.replaced())
			}
		})
	}
}
