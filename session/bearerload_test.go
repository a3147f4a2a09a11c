package session

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestLoadByLoginIDInsideLoadAndSave: a request without a session cookie
// (a bearer request) loads the login's session beside its own empty one
// without reading that one; a request whose session already holds the
// login — from its cookie, or saved earlier in the same request — gets
// its own context back.
func TestLoadByLoginIDInsideLoadAndSave(t *testing.T) {
	e := newEnv(t, storeCases()[0]) // memstore
	cookie, id, _ := e.login(time.Hour)

	t.Run("no cookie", func(t *testing.T) {
		w := e.serve("", func(w http.ResponseWriter, r *http.Request) {
			ctx, err := e.m.LoadByLoginID(r.Context(), id)
			if err != nil {
				t.Fatalf("LoadByLoginID: %v", err)
			}
			if ctx == r.Context() {
				t.Error("the login's session was not loaded beside the request's")
			}
			if l, err := e.m.CurrentLogin(ctx); err != nil || l == nil || l.ID != id {
				t.Errorf("CurrentLogin = %v, %v; want login %s", l, err, id)
			}
			if l, _ := e.m.CurrentLogin(r.Context()); l != nil {
				t.Error("the request's own session holds a login")
			}
		})
		if c := w.Header().Values("Set-Cookie"); len(c) != 0 {
			t.Errorf("Set-Cookie %q on a bearer request", c)
		}
	})

	t.Run("cookie of the login", func(t *testing.T) {
		e.serve(cookie, func(w http.ResponseWriter, r *http.Request) {
			ctx, err := e.m.LoadByLoginID(r.Context(), id)
			if err != nil || ctx != r.Context() {
				t.Errorf("LoadByLoginID = %v, %v; want the request's own context", ctx, err)
			}
		})
	})

	t.Run("login saved in the same request", func(t *testing.T) {
		e.serve("", func(w http.ResponseWriter, r *http.Request) {
			l := &Login{Provider: e.prov.name, Identity: provider.Identity{Provider: e.prov.name, Subject: "user-2"}, Token: e.prov.issue(time.Hour)}
			if err := e.m.SaveLogin(r.Context(), l); err != nil {
				t.Fatalf("SaveLogin: %v", err)
			}
			// The session is not in the store yet: only the request's
			// own copy holds the login.
			ctx, err := e.m.LoadByLoginID(r.Context(), l.ID)
			if err != nil || ctx != r.Context() {
				t.Errorf("LoadByLoginID = %v, %v; want the request's own context", ctx, err)
			}
		})
	})

	if _, err := e.m.LoadByLoginID(context.Background(), id); err != nil {
		t.Errorf("LoadByLoginID outside LoadAndSave: %v", err)
	}
}
