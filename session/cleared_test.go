package session

import (
	"errors"
	"testing"
	"time"
)

// TestClearedLoginNotResurrected: request A's ForceRefresh gets
// invalid_grant and clears the login; request C of the same browser loaded
// the session before, its token is not near expiry, and it commits its
// session after A. The login must not come back: C sees it ended, and
// C's save drops it instead of writing it back.
func TestClearedLoginNotResurrected(t *testing.T) {
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) {
			for _, via := range []string{"Token", "CurrentLogin"} {
				t.Run(via, func(t *testing.T) {
					e := newEnv(t, sc)
					cookie, id, _ := e.login(time.Hour)
					ctxA := e.request(cookie)
					ctxC := e.request(cookie)
					e.prov.mu.Lock()
					e.prov.revoked = true // refresh -> invalid_grant
					e.prov.mu.Unlock()
					if _, err := e.m.ForceRefresh(ctxA, e.prov, nil); !errors.Is(err, ErrReauthRequired) {
						t.Fatalf("ForceRefresh: %v, want ErrReauthRequired", err)
					}
					e.commit(ctxA)
					if e.storeHas(recordKey(id)) {
						t.Fatal("login record survived invalid_grant")
					}
					switch via {
					case "Token":
						if tok, err := e.m.Token(ctxC, e.prov); !errors.Is(err, ErrNotLoggedIn) || tok != nil {
							t.Fatalf("stale request's Token = %v, %v; want nil, ErrNotLoggedIn", tok != nil, err)
						}
					case "CurrentLogin":
						if l, err := e.m.CurrentLogin(ctxC); l != nil || err != nil {
							t.Fatalf("stale request's CurrentLogin = %v, %v; want nil, nil", l != nil, err)
						}
					}
					cookie2 := e.commit(ctxC)
					ctxD := e.request(cookie2)
					if l, err := e.m.CurrentLogin(ctxD); l != nil || err != nil {
						t.Fatalf("later request: CurrentLogin = %v, %v; want nil, nil (login resurrected)", l != nil, err)
					}
					if tok, err := e.m.Token(ctxD, e.prov); !errors.Is(err, ErrNotLoggedIn) || tok != nil {
						t.Fatalf("later request: Token = %v, %v; want nil, ErrNotLoggedIn", tok != nil, err)
					}
					// What C saved has no login at all (another instance
					// reading this session sees none either).
					other := newEnvWith(t, sc, e.clock, e.prov)
					if l, err := other.m.CurrentLogin(other.request(cookie2)); l != nil || err != nil {
						t.Fatalf("session saved by the stale request still holds the login (%v, %v)", l != nil, err)
					}
				})
			}
		})
	}
}

// TestLogoutThenStaleRequestToken: a request that loaded the session before
// the logout calls Token afterwards. Its token is not near expiry, so the
// fast path must still see the login ended (ErrNotLoggedIn), and its save
// (here straight through the scs manager, without LoadAndSave's tombstone
// guard) must not bring the login back.
func TestLogoutThenStaleRequestToken(t *testing.T) {
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) {
			e := newEnv(t, sc)
			cookie, id, _ := e.login(time.Hour)
			ctxA := e.request(cookie)
			ctxC := e.request(cookie)
			if l, err := e.m.Logout(ctxA); err != nil || l == nil || l.ID != id {
				t.Fatalf("Logout = %v, %v", l, err)
			}
			e.commit(ctxA)
			if tok, err := e.m.Token(ctxC, e.prov); !errors.Is(err, ErrNotLoggedIn) || tok != nil {
				t.Fatalf("stale request's Token after logout = %v, %v; want nil, ErrNotLoggedIn", tok != nil, err)
			}
			if l, err := e.m.CurrentLogin(ctxC); l != nil || err != nil {
				t.Fatalf("stale request's CurrentLogin after logout = %v, %v; want nil, nil", l != nil, err)
			}
			cookie2 := e.commit(ctxC)
			if l, err := e.m.CurrentLogin(e.request(cookie2)); l != nil || err != nil {
				t.Fatalf("login back after the stale request saved its session: %v, %v", l != nil, err)
			}
			// The ID stays ended for the session Lifetime, then is forgotten
			// (no session loaded before the logout can outlive it).
			if !e.m.cleared.buried(id, e.clock.Now().Add(e.sm.Lifetime-time.Second)) {
				t.Error("logged-out login ID forgotten before the session Lifetime")
			}
			if e.m.cleared.buried(id, e.clock.Now().Add(e.sm.Lifetime+time.Second)) {
				t.Error("logged-out login ID kept past the session Lifetime")
			}
		})
	}
}
