package middleware

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/provider"
)

type stubProvider struct{ name string }

func (s stubProvider) Name() string                               { return s.name }
func (stubProvider) SetCredential(*http.Request, *provider.Token) {}
func (stubProvider) Refresh(context.Context, *provider.Token) (*provider.Token, error) {
	return nil, provider.ErrNoRefreshToken
}
func (stubProvider) Identity(context.Context, *provider.Token) (*provider.Identity, error) {
	return &provider.Identity{Subject: "u"}, nil
}
func (stubProvider) Login(context.Context, string, string) (*provider.Token, error) {
	return nil, provider.ErrInvalidCredentials
}

func newTestAuth(t testing.TB, mutate func(*Config)) *Auth {
	t.Helper()
	cfg := Config{Providers: []provider.Provider{stubProvider{"pw"}}, AllowedReturnHosts: []string{"docs.example", "app.example:8443"}}
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestValidReturnTo(t *testing.T) {
	a := newTestAuth(t, nil)
	good := []string{"/", "/a", "/a/b?c=d", "/a%2Fb", "/path#frag", "/a.b/c..d/.e", "https://docs.example", "https://docs.example/x?y=1", "https://app.example:8443/z"}
	bad := []string{"", "//evil", "/\\evil", "\\/evil", "/%2f%2fevil", "%2F%2Fevil", "/\tevil", "/a\r\nb", "https://evil",
		"javascript:alert(1)", "/%5cevil", "/%252f%252fevil", "http:/evil", "/.//evil", "/../x", "/a/..", "/a/.", "/%2e%2e/x",
		"https://docs.example.evil/", "https://evil/?https://docs.example", "https://docs.example@evil/", "https://u@docs.example/",
		"http://docs.example/", "HTTPS://docs.example/", "https://app.example/", "https://docs.example:443/", "/%zz", "/a b",
		"/\u200bevil", "/%E2%80%8Bevil", "https:docs.example", "https:///docs.example", "https://docs.example\\@evil",
		"/" + strings.Repeat("a", maxReturnTo), "/%25%32%66%25%32%66evil", "/\x7f"}
	for _, s := range good {
		if v, ok := a.ValidReturnTo(s); !ok || v != s {
			t.Errorf("ValidReturnTo(%q) = %q, %v; want accepted unchanged", s, v, ok)
		}
	}
	for _, s := range bad {
		if v, ok := a.ValidReturnTo(s); ok {
			t.Errorf("ValidReturnTo(%q) accepted as %q", s, v)
		}
		if got := a.returnTo(s); got != "/" {
			t.Errorf("returnTo(%q) = %q, want /", s, got)
		}
	}
}

// FuzzReturnTo checks that no accepted value can lead off-site: anything
// accepted is either a local path that a browser resolves (against
// https://app.example/) on the same origin, or an https URL whose host is
// exactly an allowed host. Seeds: a few shapes plus the whole open-redirect
// corpus (testdata/openredirects.txt).
func FuzzReturnTo(f *testing.F) {
	for _, s := range []string{"/", "//evil", "/\\evil", "/%2f%2fevil", "https://docs.example/x", "/a/../b", "/%09/evil", "https://evil"} {
		f.Add(s)
	}
	if data, err := os.ReadFile("testdata/openredirects.txt"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if q, ok := strings.CutPrefix(line, "q:"); ok {
				if v, err := strconv.Unquote(q); err == nil {
					line = v
				}
			}
			f.Add(line)
		}
	}
	a := newTestAuth(f, nil)
	allowed := map[string]bool{"docs.example": true, "app.example:8443": true}
	base, _ := url.Parse("https://app.example/current/page")
	root, _ := url.Parse("https://app.example/")
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := a.ValidReturnTo(s)
		if !ok {
			if got := a.returnTo(s); got != "/" {
				t.Fatalf("refused %q falls back to %q, want /", s, got)
			}
			return
		}
		if v != s {
			t.Fatalf("accepted value changed: %q → %q", s, v)
		}
		// Browsers strip tabs and newlines and treat \ as /; we refuse both.
		if strings.ContainsAny(s, "\t\r\n\\") {
			t.Fatalf("accepted %q with whitespace or backslash", s)
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted unparsable %q", s)
		}
		if strings.HasPrefix(s, "/") {
			// A local path: same origin from any page of ours.
			if strings.HasPrefix(s, "//") || u.Scheme != "" || u.Host != "" || u.User != nil {
				t.Fatalf("local %q is not a plain path", s)
			}
			for _, from := range []*url.URL{root, base} {
				r := from.ResolveReference(u)
				if r.Scheme != "https" || r.Host != "app.example" || r.User != nil {
					t.Fatalf("%q resolves off-site to %s", s, r.Redacted())
				}
			}
			return
		}
		// Otherwise an allowed host, exactly.
		if u.Scheme != "https" || !strings.HasPrefix(s, "https://") || !allowed[u.Host] || u.User != nil || u.Opaque != "" {
			t.Fatalf("absolute %q accepted but host %q is not allowed exactly", s, u.Host)
		}
		if r := base.ResolveReference(u); !allowed[r.Host] {
			t.Fatalf("%q resolves off-site to %q", s, r.Host)
		}
	})
}
