package authtest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/authtest"
	"github.com/gatehouse-auth/gatehouse/middleware/internal/flowtest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

func whoami(w http.ResponseWriter, r *http.Request) {
	id, ok := middleware.IdentityFrom(r.Context())
	if !ok {
		_, _ = io.WriteString(w, "anonymous")
		return
	}
	_, _ = io.WriteString(w, id.Subject)
}

func TestLoginPassesRequire(t *testing.T) {
	a := flowtest.NewAuth(t)
	h := a.Wrap(a.Require(http.HandlerFunc(whoami)))
	c := authtest.Login(t, a, provider.Identity{Provider: "alpha", Subject: "u-42"}, nil)

	req := httptest.NewRequest(http.MethodGet, "https://app.example/x", nil)
	req.AddCookie(c)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.String() != "u-42" {
		t.Fatalf("status %d body %q", rec.Code, rec.Body)
	}

	req = httptest.NewRequest(http.MethodGet, "https://app.example/x", nil)
	req.Header.Set("Accept", "application/json")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("without cookie: status %d", rec.Code)
	}
}

// TestLoginSessionAsStored: the session Login creates is stored as a real
// login stores it, so the first request on it (idle timeout on, the
// default) has nothing to write back: no Set-Cookie.
func TestLoginSessionAsStored(t *testing.T) {
	a := flowtest.NewAuth(t)
	h := a.Wrap(a.Require(http.HandlerFunc(whoami)))
	c := authtest.Login(t, a, provider.Identity{Provider: "alpha", Subject: "u-42"}, nil)
	req := httptest.NewRequest(http.MethodGet, "https://app.example/x", nil)
	req.AddCookie(c)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if sc := rec.Header().Get("Set-Cookie"); sc != "" {
		t.Fatalf("first request wrote the session back: Set-Cookie %q", sc)
	}
}

func TestLoginScopes(t *testing.T) {
	a := flowtest.NewAuth(t)
	h := a.Wrap(a.RequireScopes("admin")(http.HandlerFunc(whoami)))
	for scopes, want := range map[string]int{"admin": http.StatusOK, "read": http.StatusForbidden} {
		c := authtest.Login(t, a, provider.Identity{Provider: "alpha", Subject: "u"}, authtest.Token(scopes))
		req := httptest.NewRequest(http.MethodGet, "https://app.example/x", nil)
		req.AddCookie(c)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("scopes %q: status %d, want %d", scopes, rec.Code, want)
		}
	}
}

func TestNewSessionErrors(t *testing.T) {
	a := flowtest.NewAuth(t)
	if _, err := authtest.NewSession(context.Background(), a, provider.Identity{Subject: "u"}, nil); err == nil {
		t.Fatal("identity without provider accepted")
	}
	if _, err := authtest.NewSession(context.Background(), nil, provider.Identity{Provider: "alpha", Subject: "u"}, nil); err == nil {
		t.Fatal("nil Auth accepted")
	}
}

func TestContext(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req = req.WithContext(authtest.Context(req.Context(), provider.Identity{Provider: "alpha", Subject: "direct"}, "read"))
	rec := httptest.NewRecorder()
	whoami(rec, req)
	if rec.Body.String() != "direct" {
		t.Fatalf("body %q", rec.Body)
	}
	if s, _ := middleware.ScopesFrom(req.Context()); len(s) != 1 || s[0] != "read" {
		t.Fatalf("scopes %v", s)
	}
}
