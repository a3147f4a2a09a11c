package session_test

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// TestSecurityLogoutNotUndoneByConcurrentRequest is checklist item 32 with
// a concurrent slow request: a request that loaded the session before the
// logout and finishes after it (scs saves the whole map at the end, with an
// idle timeout on every request) must not bring the session back.
// Replaying the old cookie afterwards is anonymous, and the store has no
// entry for it.
func TestSecurityLogoutNotUndoneByConcurrentRequest(t *testing.T) {
	for _, hashed := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain token", true: "HashTokenInStore"}[hashed], func(t *testing.T) {
			store := memstore.NewWithCleanupInterval(0)
			sm := scs.New()
			sm.Store = store
			sm.HashTokenInStore = hashed
			sm.IdleTimeout = 30 * time.Minute
			sm.Cookie.Name = "__Host-gatehouse"
			sm.Cookie.Secure = true
			m, err := session.New(session.Config{SessionManager: sm})
			if err != nil {
				t.Fatal(err)
			}
			loaded, release := make(chan struct{}), make(chan struct{})
			mux := http.NewServeMux()
			mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
				tok := &provider.Token{AccessToken: "at-secret", RefreshToken: "rt-secret", Expiry: time.Now().Add(time.Hour)}
				if err := m.SaveLogin(r.Context(), &session.Login{Provider: "p", Identity: provider.Identity{Subject: "u1"}, Token: tok}); err != nil {
					t.Error(err)
				}
			})
			whoami := func(w http.ResponseWriter, r *http.Request) {
				l, err := m.CurrentLogin(r.Context())
				if err != nil {
					http.Error(w, err.Error(), 503)
					return
				}
				if l == nil {
					_, _ = io.WriteString(w, "anonymous")
					return
				}
				_, _ = io.WriteString(w, "user "+l.Identity.Subject)
			}
			mux.HandleFunc("/whoami", whoami)
			mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
				m.Sessions().Put(r.Context(), "app.last-seen", "now") // the app touches the session too
				close(loaded)
				<-release
				whoami(w, r)
			})
			mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
				if _, err := m.Logout(r.Context()); err != nil {
					t.Error(err)
				}
			})
			h := m.LoadAndSave(mux)
			serve := func(path, cookie string) (*http.Response, string) {
				req := httptest.NewRequest(http.MethodGet, "https://app.example"+path, nil)
				if cookie != "" {
					req.AddCookie(&http.Cookie{Name: "__Host-gatehouse", Value: cookie})
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec.Result(), rec.Body.String()
			}
			res, _ := serve("/login", "")
			var cookie string
			for _, c := range res.Cookies() {
				cookie = c.Value
			}
			if _, body := serve("/whoami", cookie); body != "user u1" {
				t.Fatalf("after login: %q", body)
			}
			slowDone := make(chan string)
			go func() {
				_, body := serve("/slow", cookie)
				slowDone <- body
			}()
			<-loaded
			serve("/logout", cookie)
			close(release)
			// It loaded before the logout, but asks after it: the login
			// has ended in this process, so it is anonymous too.
			if body := <-slowDone; body != "anonymous" {
				t.Fatalf("the slow request asking after the logout saw %q, want anonymous", body)
			}
			if _, body := serve("/whoami", cookie); body != "anonymous" {
				t.Fatalf("replaying the old cookie after logout: %q, want anonymous", body)
			}
			key := cookie
			if hashed {
				key = hashOf(cookie)
			}
			if _, found, _ := store.Find(key); found {
				t.Fatal("the destroyed session is back in the store")
			}
		})
	}
}

func hashOf(token string) string {
	h := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(h[:])
}
