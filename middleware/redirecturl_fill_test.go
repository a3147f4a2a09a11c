package middleware_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/startgg"
	"github.com/gatehouse-auth/gatehouse/adapters/whisk"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// The adapters can be given their RedirectURL by New.
var (
	_ middleware.RedirectURLSetter = (*oauth2.Adapter)(nil)
	_ middleware.RedirectURLSetter = (*oauth2.ImplicitAdapter)(nil)
	_ middleware.RedirectURLSetter = (*whisk.Adapter)(nil)
	_ middleware.RedirectURLSetter = (*whisk.ImplicitAdapter)(nil)
	_ middleware.RedirectURLSetter = (*startgg.Adapter)(nil)
)

// withoutRedirectURL rebuilds the security app's oauth2 adapters (alpha,
// and imp with the implicit grant) with an empty RedirectURL, and returns
// them so the test can check they were not changed.
func withoutRedirectURL(t *testing.T, cfg *middleware.Config) (alpha, imp *oauth2.Adapter) {
	t.Helper()
	for i, p := range cfg.Providers {
		switch a := p.(type) {
		case *oauth2.ImplicitAdapter:
			c := a.Config()
			c.RedirectURL = ""
			ia, err := oauth2.NewImplicit(c)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Providers[i], imp = ia, ia.Adapter
		case *oauth2.Adapter:
			c := a.Config()
			c.RedirectURL = ""
			na, err := oauth2.New(c)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Providers[i], alpha = na, na
		}
	}
	return alpha, imp
}

// TestNewFillsRedirectURL: with PublicURL set, adapters built without a
// RedirectURL get PublicURL + BasePath + /{name}/callback from New, on a
// copy (the adapter the app passed is not changed). The login sends that
// URL as redirect_uri, whatever Host and X-Forwarded-* headers the request
// carries, and the token request repeats it byte for byte (the fake
// authorization server refuses the code otherwise); an implicit provider
// stays implicit.
func TestNewFillsRedirectURL(t *testing.T) {
	t.Parallel()
	var alpha, imp *oauth2.Adapter
	app := newSecApp(t, func(c *middleware.Config) { alpha, imp = withoutRedirectURL(t, c) })
	if alpha == nil || imp == nil {
		t.Fatal("the app has no oauth2 adapters to rebuild")
	}
	if alpha.RedirectURL() != "" || imp.RedirectURL() != "" {
		t.Fatalf("New changed the adapters passed in: %q, %q", alpha.RedirectURL(), imp.RedirectURL())
	}
	b := app.browser()
	res := b.get("/auth/alpha/login", "Host", "evil.example", "X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "http")
	wantStatus(t, res, http.StatusFound)
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := loc.Query().Get("redirect_uri"), secPublicURL+"/auth/alpha/callback"; got != want {
		t.Fatalf("redirect_uri = %q, want %q", got, want)
	}
	wantStatus(t, app.login(app.browser(), "/private"), http.StatusSeeOther)

	res = b.get("/auth/imp/login")
	wantStatus(t, res, http.StatusFound)
	loc, err = url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if q := loc.Query(); q.Get("response_type") != "token" || q.Get("redirect_uri") != secPublicURL+"/auth/imp/callback" {
		t.Fatalf("implicit login: response_type %q, redirect_uri %q", q.Get("response_type"), q.Get("redirect_uri"))
	}
}

// notSettable reports an empty RedirectURL and cannot be given one.
type notSettable struct{ provider.RedirectProvider }

func (notSettable) RedirectURL() string { return "" }

// promoted embeds an adapter: its WithRedirectURL is the engine's, which
// returns an *oauth2.Adapter and would drop whatever promoted adds.
type promoted struct{ *oauth2.Adapter }

// wrongName answers WithRedirectURL with a provider of another name.
type wrongName struct{ *oauth2.Adapter }

func (w wrongName) WithRedirectURL(u string) (provider.Provider, error) {
	c, err := w.Adapter.CopyWithRedirectURL(u)
	if err != nil {
		return nil, err
	}
	cfg := c.Config()
	cfg.Name = "other"
	o, err := oauth2.New(cfg)
	return wrongName{o}, err
}

// TestNewRefusesUnfillableRedirectURL: an empty RedirectURL New cannot
// fill in correctly is an error that names the fix.
func TestNewRefusesUnfillableRedirectURL(t *testing.T) {
	t.Parallel()
	engine := func(t *testing.T) *oauth2.Adapter {
		a, err := oauth2.New(oauth2.Config{Name: "idp", ClientID: "id", AuthURL: "https://idp.example/authorize",
			TokenURL: "https://idp.example/token", UserInfoURL: "https://idp.example/userinfo", Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name       string
		givenURL   string // Config.PublicURL
		whenWrap   func(*oauth2.Adapter) provider.Provider
		expectErrs []string
	}{
		{"no PublicURL", "", func(a *oauth2.Adapter) provider.Provider { return a },
			[]string{"provider idp has no RedirectURL: set PublicURL", `"/auth/idp/callback"`}},
		{"no WithRedirectURL", "https://app.example", func(a *oauth2.Adapter) provider.Provider { return notSettable{a} },
			[]string{"cannot be given one", `set its RedirectURL to "https://app.example/auth/idp/callback"`}},
		{"promoted WithRedirectURL", "https://app.example", func(a *oauth2.Adapter) provider.Provider { return promoted{a} },
			[]string{"returned *oauth2.Adapter, not a middleware_test.promoted", "implement WithRedirectURL on middleware_test.promoted"}},
		{"copy with another name", "https://app.example", func(a *oauth2.Adapter) provider.Provider { return wrongName{a} },
			[]string{`returned a provider named "other"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := middleware.New(middleware.Config{Providers: []provider.Provider{tc.whenWrap(engine(t))}, PublicURL: tc.givenURL, Logger: discardLogger()})
			if err == nil {
				_ = a.Close()
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, middleware.ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			for _, want := range tc.expectErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v\nwant it to say %s", err, want)
				}
			}
		})
	}
}
