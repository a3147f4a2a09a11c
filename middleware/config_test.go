package middleware

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

func TestNewRejectsBadConfig(t *testing.T) {
	insecure := func(name string) *session.Manager {
		sm := scs.New()
		sm.Cookie.Name = name
		sm.Cookie.Secure = false
		m, err := session.New(session.Config{SessionManager: sm})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	pw := []provider.Provider{stubProvider{"pw"}}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no providers", Config{}},
		{"nil provider", Config{Providers: []provider.Provider{nil}}},
		{"typed nil provider (a constructor's result next to its error)", Config{Providers: []provider.Provider{(*nilAdapter)(nil)}}},
		{"reserved name", Config{Providers: []provider.Provider{stubProvider{"logout"}}}},
		{"bad name", Config{Providers: []provider.Provider{stubProvider{"a/b"}}}},
		{"duplicate", Config{Providers: []provider.Provider{stubProvider{"x"}, stubProvider{"x"}}}},
		{"implicit unknown", Config{Providers: pw, Implicit: []string{"nope"}}},
		{"implicit not implicit", Config{Providers: pw, Implicit: []string{"pw"}}},
		{"relative base", Config{Providers: pw, BasePath: "auth"}},
		{"bad default return", Config{Providers: pw, DefaultReturnTo: "//evil"}},
		{"http public URL", Config{Providers: pw, PublicURL: "http://app.example"}},
		{"bad allowed host", Config{Providers: pw, AllowedReturnHosts: []string{"evil/x"}}},
		{"insecure cookie", Config{Providers: pw, Sessions: insecure("sid")}},
		{"dev mode on a public host", Config{Providers: pw, Sessions: insecure("sid"), DevMode: true, PublicURL: "https://app.example"}},
		{"dev mode with __Host- cookie", Config{Providers: pw, Sessions: insecure("__Host-sid"), DevMode: true, PublicURL: "http://localhost:8080"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
		})
	}
	if _, err := New(Config{Providers: pw, Sessions: insecure("sid"), DevMode: true, PublicURL: "http://127.0.0.1:8080"}); err != nil {
		t.Fatalf("dev mode on loopback refused: %v", err)
	}
}

func TestWantsJSON(t *testing.T) {
	for _, tc := range []struct {
		hdr, val string
		want     bool
	}{
		{"", "", false},
		{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false},
		{"Accept", "application/json", true},
		{"Accept", "application/problem+json", true},
		{"Accept", "text/html;q=0.5, application/json", true},
		{"Accept", "*/*", false},
		{"Authorization", "Bearer x", true},
		{"X-Requested-With", "XMLHttpRequest", true},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.hdr != "" {
			r.Header.Set(tc.hdr, tc.val)
		}
		if got := wantsJSON(r); got != tc.want {
			t.Errorf("%s: %q → %v, want %v", tc.hdr, tc.val, got, tc.want)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(2, time.Minute)
	now := time.Unix(1000, 0)
	if l.blocked(now, "a") != 0 {
		t.Fatal("fresh key blocked")
	}
	l.fail(now, "a", "b")
	l.fail(now, "a")
	if w := l.blocked(now.Add(10*time.Second), "b", "a"); w != 50*time.Second {
		t.Fatalf("wait %v", w)
	}
	if l.blocked(now.Add(10*time.Second), "b") != 0 {
		t.Fatal("b blocked after one failure")
	}
	if l.blocked(now.Add(time.Minute), "a") != 0 {
		t.Fatal("window did not reset")
	}
}

// nilAdapter stands for an adapter type whose constructor failed and
// returned a nil *T: calling its methods would panic.
type nilAdapter struct{ name string }

func (a *nilAdapter) Name() string                                 { return a.name }
func (a *nilAdapter) SetCredential(*http.Request, *provider.Token) {}
func (a *nilAdapter) Refresh(context.Context, *provider.Token) (*provider.Token, error) {
	return nil, nil
}
func (a *nilAdapter) Identity(context.Context, *provider.Token) (*provider.Identity, error) {
	return nil, nil
}
