package whisk_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/whisk"
	"github.com/gatehouse-auth/gatehouse/provider"
)

func baseConfig() whisk.Config {
	return whisk.Config{
		ClientID:     "client-1",
		ClientSecret: "s3cr3t-client-secret",
		RedirectURL:  "https://app.example/auth/whisk/callback",
	}
}

func mustNew(t *testing.T, cfg whisk.Config) *whisk.Adapter {
	t.Helper()
	a, err := whisk.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func parseAuthURL(t *testing.T, raw string) (*url.URL, url.Values) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return u, u.Query()
}

// endpoints makes one exchange and one identity call through cfg and
// returns the requests they sent.
func endpoints(t *testing.T, cfg whisk.Config) (authURL string, calls []string) {
	t.Helper()
	seen := make(chan string, 2)
	cfg.HTTPClient = &http.Client{Transport: replyTransport{status: 200, ctype: "application/json",
		body: []byte(`{"access_token":"at","token_type":"Bearer","user":{"id":"u1"}}`), seen: seen}}
	a := mustNew(t, cfg)
	if _, err := a.Exchange(context.Background(), "code", "verifier"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Identity(context.Background(), &provider.Token{AccessToken: "at"}); err != nil {
		t.Fatal(err)
	}
	return a.AuthURL(provider.AuthRequest{State: "s"}), []string{<-seen, <-seen}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	authURL, calls := endpoints(t, baseConfig())
	if !strings.HasPrefix(authURL, "https://login.whisk.com/oauth/v2/authorize?") {
		t.Errorf("auth URL = %s", authURL)
	}
	if calls[0] != "POST https://login.whisk.com/oauth/v2/token" || calls[1] != "GET https://api.whisk.com/user/v2/me" {
		t.Errorf("calls = %q", calls)
	}
	a := mustNew(t, baseConfig())
	if a.Name() != "whisk" {
		t.Errorf("Name = %q, want whisk", a.Name())
	}
	if _, ok := any(a).(provider.Revoker); ok {
		t.Error("the Whisk adapter claims to revoke tokens; Whisk documents no revocation endpoint")
	}
}

func TestNewCustomBasesAndName(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Name = "whisk-eu"
	cfg.AuthBaseURL = "http://127.0.0.1:9/"
	cfg.APIBaseURL = "http://127.0.0.1:10/base/"
	authURL, calls := endpoints(t, cfg)
	if !strings.HasPrefix(authURL, "http://127.0.0.1:9/oauth/v2/authorize?") ||
		calls[0] != "POST http://127.0.0.1:9/oauth/v2/token" || calls[1] != "GET http://127.0.0.1:10/base/user/v2/me" {
		t.Errorf("auth URL %s, calls %q", authURL, calls)
	}
	if mustNew(t, cfg).Name() != "whisk-eu" {
		t.Error("Name not kept")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		edit      func(*whisk.Config)
		expectErr string // the whole message: this package's name once, then the field
	}{
		{"no client id", func(c *whisk.Config) { c.ClientID = "" }, "whisk: invalid config: ClientID is required"},
		{"no client secret", func(c *whisk.Config) { c.ClientSecret = "" }, "whisk: invalid config: ClientSecret is required"},
		{"http redirect off loopback", func(c *whisk.Config) { c.RedirectURL = "http://app.example/cb" },
			"whisk: invalid config: RedirectURL must use https (http is allowed on loopback hosts only)"},
		{"http auth base off loopback", func(c *whisk.Config) { c.AuthBaseURL = "http://login.whisk.com" },
			"whisk: invalid config: AuthBaseURL must use https (http is allowed on loopback hosts only)"},
		{"relative api base", func(c *whisk.Config) { c.APIBaseURL = "/api" }, "whisk: invalid config: APIBaseURL must be an absolute URL"},
		{"api base with query", func(c *whisk.Config) { c.APIBaseURL = "https://api.whisk.com?x=1" }, "whisk: invalid config: APIBaseURL must not carry a query"},
		{"bad name", func(c *whisk.Config) { c.Name = "a/b" }, `whisk: invalid config: Name must be a non-empty URL path segment (got "a/b")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := baseConfig()
			tc.edit(&cfg)
			_, err := whisk.New(cfg)
			if !errors.Is(err, whisk.ErrConfig) || !errors.Is(err, oauth2.ErrConfig) {
				t.Fatalf("err = %v, want whisk.ErrConfig and oauth2.ErrConfig", err)
			}
			if err.Error() != tc.expectErr {
				t.Errorf("error = %q\nwant    %q", err, tc.expectErr)
			}
			if strings.Contains(err.Error(), cfg.ClientSecret) && cfg.ClientSecret != "" {
				t.Errorf("error text leaks the client secret: %v", err)
			}
		})
	}
}

func TestAuthURL(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Scopes = []string{"user.profile:read", "community.read"}
	cfg.Offline = true
	cfg.IdentityProvider = "google"
	a := mustNew(t, cfg)
	verifier := provider.NewVerifier()
	state := provider.NewState()
	raw := a.AuthURL(provider.AuthRequest{State: state, CodeChallenge: provider.S256Challenge(verifier)})
	u, q := parseAuthURL(t, raw)
	if u.Scheme != "https" || u.Host != "login.whisk.com" || u.Path != "/oauth/v2/authorize" {
		t.Errorf("endpoint = %s://%s%s", u.Scheme, u.Host, u.Path)
	}
	want := map[string]string{
		"client_id":             "client-1",
		"response_type":         "code",
		"redirect_uri":          cfg.RedirectURL,
		"scope":                 "user.profile:read community.read offline_access",
		"state":                 state,
		"code_challenge":        provider.S256Challenge(verifier),
		"code_challenge_method": "S256",
		"identity_provider":     "google",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	for _, secret := range []string{cfg.ClientSecret, verifier} {
		if strings.Contains(raw, secret) {
			t.Errorf("authorize URL carries a secret: %s", raw)
		}
	}
}

func TestAuthURLRequestParamsCannotOverrideFlow(t *testing.T) {
	t.Parallel()
	a := mustNew(t, baseConfig())
	raw := a.AuthURL(provider.AuthRequest{State: "st", Params: url.Values{
		"client_secret": {"x"}, "redirect_uri": {"https://evil.example/"}, "response_type": {"token"},
		"identity_provider": {"facebook"},
	}})
	_, q := parseAuthURL(t, raw)
	if q.Has("client_secret") || q.Get("redirect_uri") != baseConfig().RedirectURL || q.Get("response_type") != "code" {
		t.Errorf("request params overrode the flow: %s", raw)
	}
	if q.Get("identity_provider") != "facebook" {
		t.Errorf("identity_provider per request = %q, want facebook", q.Get("identity_provider"))
	}
}

func TestOfflineScopeNotDuplicated(t *testing.T) {
	t.Parallel()
	got := whisk.NormalizeScopes([]string{"offline_access,a", "a b"}, true)
	if strings.Join(got, " ") != "offline_access a b" {
		t.Errorf("NormalizeScopes = %q", got)
	}
	if got := whisk.NormalizeScopes(nil, false); got != nil {
		t.Errorf("NormalizeScopes(nil) = %q, want nil", got)
	}
}

func TestSetCredentialRemovesForeignHeaders(t *testing.T) {
	t.Parallel()
	a := mustNew(t, baseConfig())
	r, _ := http.NewRequest(http.MethodGet, "https://api.whisk.com/user/v2/me", nil)
	r.Header.Set("Authorization", "Bearer browser-sent")
	r.Header.Set("X-Auth-Token", "browser-sent")
	a.SetCredential(r, &provider.Token{AccessToken: "at-1", TokenType: "Bearer"})
	if got := r.Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer at-1" {
		t.Errorf("Authorization = %q", got)
	}
	if r.Header.Get("X-Auth-Token") != "" {
		t.Error("X-Auth-Token left on the request")
	}
	if r.URL.RawQuery != "" {
		t.Errorf("token put in the URL: %s", r.URL)
	}
}

func TestNewImplicitNeedsOptIn(t *testing.T) {
	t.Parallel()
	if _, err := whisk.NewImplicit(baseConfig()); !errors.Is(err, oauth2.ErrImplicitNotAllowed) {
		t.Fatalf("err = %v, want ErrImplicitNotAllowed", err)
	}
	cfg := baseConfig()
	cfg.AllowImplicit = true
	cfg.ClientID = ""
	if _, err := whisk.NewImplicit(cfg); !errors.Is(err, whisk.ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
}

func newImplicit(t *testing.T, now time.Time) *whisk.ImplicitAdapter {
	t.Helper()
	cfg := baseConfig()
	cfg.AllowImplicit = true
	cfg.Scopes = []string{"community.read"}
	cfg.Offline = true
	cfg.Now = func() time.Time { return now }
	a, err := whisk.NewImplicit(cfg)
	if err != nil {
		t.Fatalf("NewImplicit: %v", err)
	}
	return a
}

func TestImplicitAuthURL(t *testing.T) {
	t.Parallel()
	a := newImplicit(t, time.Now())
	raw := a.ImplicitAuthURL(provider.AuthRequest{State: "st-1", CodeChallenge: "ignored-for-implicit"})
	_, q := parseAuthURL(t, raw)
	if q.Get("response_type") != "token" || q.Get("state") != "st-1" || q.Has("code_challenge") {
		t.Errorf("implicit URL = %s", raw)
	}
	if strings.Contains(raw, baseConfig().ClientSecret) {
		t.Errorf("implicit URL carries the secret")
	}
	// The code flow stays available on the same adapter.
	_, q = parseAuthURL(t, a.AuthURL(provider.AuthRequest{State: "st-2"}))
	if q.Get("response_type") != "code" {
		t.Errorf("AuthURL response_type = %q", q.Get("response_type"))
	}
}

func TestTokenFromFragment(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := newImplicit(t, now)
	cases := []struct {
		name     string
		fragment string
		wantKind error
		wantCode string
		check    func(t *testing.T, tok *provider.Token)
	}{
		{
			name:     "whisk documented fragment",
			fragment: "access_token=at-xyz&state=xyz&token_type=Bearer&expires_in=86400",
			check: func(t *testing.T, tok *provider.Token) {
				if tok.AccessToken != "at-xyz" || tok.TokenType != "Bearer" || !tok.Expiry.Equal(now.Add(24*time.Hour)) {
					t.Errorf("token = %v expiry %v", tok, tok.Expiry)
				}
			},
		},
		{
			name:     "scope comma separated and refresh token dropped",
			fragment: "access_token=at&token_type=bearer&expires_in=60&scope=a,b%20c&refresh_token=rt",
			check: func(t *testing.T, tok *provider.Token) {
				if strings.Join(tok.Scopes, " ") != "a b c" || tok.RefreshToken != "" {
					t.Errorf("scopes %q refresh present %v", tok.Scopes, tok.RefreshToken != "")
				}
			},
		},
		{name: "error", fragment: "error=access_denied&error_description=nope&state=x", wantKind: provider.ErrRejected, wantCode: "access_denied"},
		{name: "missing token", fragment: "token_type=Bearer&expires_in=60", wantKind: provider.ErrBadResponse},
		{name: "empty token", fragment: "access_token=&token_type=Bearer", wantKind: provider.ErrBadResponse},
		{name: "bad type", fragment: "access_token=SECRETat&token_type=mac", wantKind: provider.ErrBadResponse},
		{name: "missing type", fragment: "access_token=SECRETat", wantKind: provider.ErrBadResponse},
		{name: "repeated token", fragment: "access_token=SECRETa&access_token=SECRETb&token_type=Bearer", wantKind: provider.ErrBadResponse},
		{name: "repeated type", fragment: "access_token=SECRETa&token_type=Bearer&token_type=Bearer", wantKind: provider.ErrBadResponse},
		{name: "bad expires_in", fragment: "access_token=SECRETa&token_type=Bearer&expires_in=soon", wantKind: provider.ErrBadResponse},
		{name: "negative expires_in", fragment: "access_token=SECRETa&token_type=Bearer&expires_in=-5", wantKind: provider.ErrBadResponse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := url.ParseQuery(tc.fragment)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := a.TokenFromFragment(v)
			if tc.wantKind == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				tc.check(t, tok)
				return
			}
			var pe *provider.Error
			if !errors.As(err, &pe) || !errors.Is(err, tc.wantKind) {
				t.Fatalf("err = %v, want *provider.Error matching %v", err, tc.wantKind)
			}
			if pe.Code != tc.wantCode || pe.Provider != "whisk" {
				t.Errorf("Code/Provider = %q/%q", pe.Code, pe.Provider)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error text leaks the token: %v", err)
			}
		})
	}
}
