package app_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/examples/demo/app"
	"github.com/gatehouse-auth/gatehouse/examples/internal/exampletest"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, cfg app.Config) (*app.Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := app.Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv, logs
}

type me struct {
	Provider    string     `json:"provider"`
	Style       string     `json:"style"`
	Subject     string     `json:"sub"`
	Name        string     `json:"name"`
	Scopes      []string   `json:"scopes"`
	Via         string     `json:"via"`
	ExpiresAt   *time.Time `json:"token_expires_at"`
	RefreshedAt *time.Time `json:"token_refreshed_at"`
}

func getMe(t *testing.T, c *http.Client, base string, header ...string) (int, me) {
	t.Helper()
	resp, body := exampletest.Get(t, c, base+"/api/me", append([]string{"Accept", "application/json"}, header...)...)
	var m me
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("/api/me: %v: %s", err, body)
		}
	}
	return resp.StatusCode, m
}

// login signs in with provider name the way a browser would and returns the
// home page.
func login(t *testing.T, srv *app.Server, c *http.Client, name string) string {
	t.Helper()
	switch name {
	case app.OIDC:
		// The fake OP's consent page: press Allow.
		resp, page := exampletest.Get(t, c, srv.URL+"/auth/oidc/login?return_to=%2F")
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `value="allow"`) {
			t.Fatalf("oidc login: no consent page (%d at %s)", resp.StatusCode, resp.Request.URL)
		}
		resp, body := exampletest.PostForm(t, c, srv.OP.Issuer+"/consent", url.Values{"request": {consentRequest(t, page)}, "decision": {"allow"}})
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
			t.Fatalf("oidc login ended at %s with %d:\n%s", resp.Request.URL, resp.StatusCode, body)
		}
		return body
	case app.Wazo:
		_, page := exampletest.Get(t, c, srv.URL+"/auth/login")
		cred := srv.WazoUsers[0]
		resp, body := exampletest.PostForm(t, c, srv.URL+"/auth/wazo/login", url.Values{
			"csrf_token": {exampletest.CSRF(t, page)}, "username": {cred.Username}, "password": {cred.Password}, "return_to": {"/"}})
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
			t.Fatalf("wazo login ended at %s with %d:\n%s", resp.Request.URL, resp.StatusCode, body)
		}
		return body
	case app.WhiskImplicit:
		// The token comes back in the URL fragment, which only the
		// callback page's script reads and posts: do the same by hand.
		noFollow := *c
		noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, _ := exampletest.Get(t, &noFollow, srv.URL+"/auth/whisk-implicit/login?return_to=/")
		resp, _ = exampletest.Get(t, &noFollow, resp.Header.Get("Location"))
		cb, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || cb.Fragment == "" {
			t.Fatalf("implicit authorize answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, page := exampletest.Get(t, c, srv.URL+cb.Path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "/auth/whisk-implicit/implicit") {
			t.Fatalf("implicit callback page: %d\n%s", resp.StatusCode, page)
		}
		frag, err := url.ParseQuery(cb.Fragment)
		if err != nil {
			t.Fatal(err)
		}
		resp, body := exampletest.PostForm(t, c, srv.URL+"/auth/whisk-implicit/implicit", frag)
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
			t.Fatalf("implicit login ended at %s with %d:\n%s", resp.Request.URL, resp.StatusCode, body)
		}
		return body
	default:
		resp, body := exampletest.Get(t, c, srv.URL+"/")
		if resp.Request.URL.Path != "/auth/login" {
			t.Fatalf("anonymous / ended at %s, want the login page", resp.Request.URL)
		}
		if !strings.Contains(body, `href="/auth/`+name+`/login?return_to=%2F"`) {
			t.Fatalf("login page has no %s entry:\n%s", name, body)
		}
		resp, body = exampletest.Get(t, c, srv.URL+"/auth/"+name+"/login?return_to=%2F")
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
			t.Fatalf("%s login ended at %s with %d:\n%s", name, resp.Request.URL, resp.StatusCode, body)
		}
		return body
	}
}

func TestDemoLoginEveryProvider(t *testing.T) {
	srv, logs := start(t, app.Config{})
	names := []string{app.OAuth2, app.Whisk, app.WhiskImplicit, app.StartGG, app.Wazo, app.OIDC}
	if got := len(srv.Upstreams.Upstreams); got != len(names) {
		t.Fatalf("%d providers, want %d", got, len(names))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			c := exampletest.Browser(t)
			home := login(t, srv, c, name)
			if !strings.Contains(home, "<strong>"+name+"</strong>") {
				t.Errorf("home page does not name %s:\n%s", name, home)
			}
			for _, want := range []string{"Granted scopes", "Access token expires", "Last refreshed", "Get an API token", "Sign out"} {
				if !strings.Contains(home, want) {
					t.Errorf("home page lacks %q", want)
				}
			}
			if strings.Contains(home, "<script>") || strings.Contains(home, "style=") {
				t.Error("home page has inline script or style")
			}

			code, m := getMe(t, c, srv.URL)
			if code != http.StatusOK || m.Provider != name || m.Subject == "" || m.Via != "session cookie" || m.ExpiresAt == nil {
				t.Fatalf("/api/me = %d %+v", code, m)
			}

			// The upstream API through Auth.Client.
			resp, body := exampletest.Get(t, c, srv.URL+"/api/upstream", "Accept", "application/json")
			var reply struct {
				Status int             `json:"status"`
				Body   json.RawMessage `json:"body"`
			}
			if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &reply) != nil || reply.Status != http.StatusOK {
				t.Fatalf("/api/upstream = %d %s", resp.StatusCode, body)
			}

			// A JWT for API clients: CSRF-protected, then usable alone.
			resp, _ = exampletest.PostForm(t, c, srv.URL+"/auth/token", url.Values{}, "Accept", "application/json")
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST /auth/token without CSRF token = %d, want 403", resp.StatusCode)
			}
			csrf := exampletest.CSRF(t, home)
			resp, body = exampletest.PostForm(t, c, srv.URL+"/auth/token", url.Values{}, "Accept", "application/json", "X-CSRF-Token", csrf)
			var tok struct {
				AccessToken string `json:"access_token"`
				TokenType   string `json:"token_type"`
				ExpiresIn   int    `json:"expires_in"`
			}
			if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &tok) != nil || tok.AccessToken == "" || tok.ExpiresIn <= 0 {
				t.Fatalf("POST /auth/token = %d %s", resp.StatusCode, body)
			}
			api := &http.Client{Timeout: 10 * time.Second}
			code, m = getMe(t, api, srv.URL, "Authorization", "Bearer "+tok.AccessToken)
			if code != http.StatusOK || m.Provider != name || m.Via != "bearer JWT" {
				t.Fatalf("/api/me with the JWT = %d %+v", code, m)
			}

			// Logout needs the CSRF token, ends the session and the JWT.
			resp, _ = exampletest.PostForm(t, c, srv.URL+"/auth/logout", url.Values{"csrf_token": {"wrong"}})
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("logout with a wrong CSRF token = %d, want 403", resp.StatusCode)
			}
			resp, body = exampletest.PostForm(t, c, srv.URL+"/auth/logout", url.Values{"csrf_token": {csrf}, "return_to": {"/"}})
			if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/auth/login" {
				t.Fatalf("logout ended at %s with %d:\n%s", resp.Request.URL, resp.StatusCode, body)
			}
			if code, _ := getMe(t, c, srv.URL); code != http.StatusUnauthorized {
				t.Errorf("/api/me after logout = %d, want 401", code)
			}
			if code, _ := getMe(t, api, srv.URL, "Authorization", "Bearer "+tok.AccessToken); code != http.StatusUnauthorized {
				t.Errorf("/api/me with the JWT after logout = %d, want 401", code)
			}
		})
	}

	// Secrets never reach the logs: the fakes' issued access tokens and
	// the Wazo password.
	out := logs.String()
	if strings.Contains(out, srv.WazoUsers[0].Password) {
		t.Error("the Wazo password appears in the logs")
	}
	for _, r := range srv.Upstreams.Fakes.OAuth2.Requests(oauth2test.EndpointUserInfo) {
		if tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "); tok == "" || strings.Contains(out, tok) {
			t.Errorf("userinfo call without a token, or the token is in the logs")
		}
	}
}

// TestDemoNeverShowsUpstreamTokens checks the home page and /api/me for the
// access token the fake issued.
func TestDemoNeverShowsUpstreamTokens(t *testing.T) {
	srv, _ := start(t, app.Config{})
	c := exampletest.Browser(t)
	home := login(t, srv, c, app.OAuth2)
	_, meBody := exampletest.Get(t, c, srv.URL+"/api/me", "Accept", "application/json")
	reqs := srv.Upstreams.Fakes.OAuth2.Requests(oauth2test.EndpointUserInfo)
	if len(reqs) == 0 {
		t.Fatal("no userinfo call recorded")
	}
	tok := strings.TrimPrefix(reqs[0].Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		t.Fatal("userinfo call carried no bearer token")
	}
	if strings.Contains(home, tok) || strings.Contains(meBody, tok) {
		t.Error("the upstream access token reached the browser")
	}
}

// TestDemoRefresh gives the demo 3 s tokens: the refresh margin is capped
// at a third of the lifetime, so the token is not due at once, and is due
// (and refreshed, and shown) once two seconds have passed.
func TestDemoRefresh(t *testing.T) {
	srv, _ := start(t, app.Config{AccessTTL: 3 * time.Second})
	c := exampletest.Browser(t)
	login(t, srv, c, app.OAuth2)
	code, m := getMe(t, c, srv.URL)
	if code != http.StatusOK || m.RefreshedAt != nil {
		t.Fatalf("/api/me right after login = %d %+v, want the fresh token, not refreshed", code, m)
	}
	if n := srv.Upstreams.Fakes.OAuth2.Calls(oauth2test.EndpointRefresh); n != 0 {
		t.Fatalf("fake saw %d refreshes right after login, want 0", n)
	}
	time.Sleep(2200 * time.Millisecond) // no clock knob in the demo: real seconds, kept short
	code, m = getMe(t, c, srv.URL)
	if code != http.StatusOK || m.RefreshedAt == nil {
		t.Fatalf("/api/me = %d %+v, want a refreshed token", code, m)
	}
	if n := srv.Upstreams.Fakes.OAuth2.Calls(oauth2test.EndpointRefresh); n < 1 {
		t.Errorf("fake saw %d refreshes, want at least 1", n)
	}
}

func TestDemoPagesSecurityHeaders(t *testing.T) {
	srv, _ := start(t, app.Config{})
	c := exampletest.Browser(t)
	resp, body := exampletest.Get(t, c, srv.URL+"/auth/login")
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != http.StatusOK || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("login page: %d, CSP %q", resp.StatusCode, csp)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Error("login page can be framed")
	}
	for _, name := range []string{"oauth2", "whisk", "whisk-implicit", "startgg", "wazo"} {
		if !strings.Contains(body, `id="provider-`+name+`"`) {
			t.Errorf("login page does not list %s", name)
		}
	}
	for _, u := range srv.WazoUsers {
		if !strings.Contains(body, u.Username) {
			t.Errorf("login page does not show demo account %s", u.Username)
		}
	}
	for _, p := range []string{"/static/demo.css", "/static/demo.js"} {
		if resp, _ := exampletest.Get(t, c, srv.URL+p); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", p, resp.StatusCode)
		}
	}
	// A foreign return_to is not echoed into the page.
	_, body = exampletest.Get(t, c, srv.URL+"/auth/login?return_to=https://evil.example/")
	if strings.Contains(body, "evil.example") {
		t.Error("login page echoes a foreign return_to")
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	if _, err := app.Start("0.0.0.0:0", app.Config{}); err == nil {
		t.Fatal("Start on 0.0.0.0 succeeded")
	}
	if _, err := app.New(app.Config{PublicURL: "https://example.com"}); err == nil {
		t.Fatal("New with an https public URL succeeded")
	}
}

// consentRequest reads the request id of the fake OP's consent page.
func consentRequest(t *testing.T, page string) string {
	t.Helper()
	const marker = `name="request" value="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatalf("consent page without a request id:\n%s", page)
	}
	rest := page[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}

// TestDemoOIDCDenyAndLogout: Deny on the consent page ends at an error
// page without a login; after a login, signing out goes through the OP's
// end_session endpoint and back.
func TestDemoOIDCDenyAndLogout(t *testing.T) {
	srv, _ := start(t, app.Config{})
	c := exampletest.Browser(t)
	_, page := exampletest.Get(t, c, srv.URL+"/auth/oidc/login?return_to=%2F")
	resp, body := exampletest.PostForm(t, c, srv.OP.Issuer+"/consent", url.Values{"request": {consentRequest(t, page)}, "decision": {"deny"}})
	// The page speaks to the user; the protocol code goes to the log and JSON.
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Sign-in cancelled") || strings.Contains(body, "access_denied") {
		t.Fatalf("Deny: %d at %s:\n%.400s", resp.StatusCode, resp.Request.URL, body)
	}
	// Gatehouse's pages use the demo's names for people, not route names.
	if !strings.Contains(body, "OpenID Connect") || !strings.Contains(body, "Gatehouse demo") {
		t.Errorf("Deny page does not name the provider and the app for people:\n%.600s", body)
	}
	if code, _ := getMe(t, c, srv.URL); code != http.StatusUnauthorized {
		t.Fatalf("/api/me after Deny = %d, want 401", code)
	}
	home := login(t, srv, c, app.OIDC)
	resp, body = exampletest.PostForm(t, c, srv.URL+"/auth/logout", url.Values{"csrf_token": {exampletest.CSRF(t, home)}, "return_to": {"/"}})
	if resp.StatusCode != http.StatusOK || len(srv.OP.EndedSessions()) != 1 {
		t.Fatalf("logout ended at %s with %d (OP sessions ended: %v):\n%.400s", resp.Request.URL, resp.StatusCode, srv.OP.EndedSessions(), body)
	}
	if code, _ := getMe(t, c, srv.URL); code != http.StatusUnauthorized {
		t.Fatalf("/api/me after logout = %d, want 401", code)
	}
	// The logout ends on the demo's sign-in page, which shows the one-time
	// sign-out notice; the next visit does not.
	if !strings.Contains(body, `class="notice" role="status">You have signed out.`) {
		t.Errorf("no sign-out notice on the page after logout (%s):\n%.800s", resp.Request.URL, body)
	}
	if _, page = exampletest.Get(t, c, srv.URL+"/auth/login"); strings.Contains(page, "You have signed out") {
		t.Error("the sign-out notice shows twice")
	}
}
