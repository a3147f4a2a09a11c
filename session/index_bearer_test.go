package session_test

import (
	"context"
	"testing"

	. "github.com/gatehouse-auth/gatehouse/session"
)

// A logout through LoadByLoginID while the request already carries
// another session (the token revocation endpoint called by a browser
// that has a cookie of its own) ends the login's session on every
// instance, as a cookie logout does: a request that loaded it before
// cannot save it back, and the index no longer lists it.
func TestIndexLogoutByLoginIDHoldsOnEveryInstance(t *testing.T) {
	t.Parallel()
	for _, ic := range indexCases() {
		t.Run(ic.name, func(t *testing.T) {
			t.Parallel()
			a, b := newIndexEnv(t, ic), newIndexEnv(t, ic)
			// given erin's session, loaded by a request on B,
			erin := "erin-" + randHex(4) // the PostgreSQL index outlives a test run
			cookie, id, _ := a.loginAs(erin, "", "")
			other, _, _ := a.loginAs("frank", "", "")
			stale := b.request(cookie)
			if l, _ := b.m.CurrentLogin(stale); l == nil {
				t.Fatal("B does not see the login")
			}
			// when A logs it out by its login ID inside a request that
			// carries frank's cookie,
			ctx := a.request(other)
			sctx, err := a.m.LoadByLoginID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if l, err := a.m.Logout(sctx); err != nil || l == nil || l.ID != id {
				t.Fatalf("Logout = %v, %v", l, err)
			}
			a.commit(ctx)
			// and B's request saves the session afterwards,
			b.m.Sessions().Put(stale, "app.value", "x")
			b.commit(stale)
			// expect: the store holds no session under erin's cookie, no
			// instance serves it, the index lists nothing, and frank's
			// session is untouched.
			store, _, _ := ic.open(t)
			if raw, found, err := findRaw(store, cookie); err != nil || found {
				t.Errorf("the store has the session back after logout (%d bytes, %v)", len(raw), err)
			}
			for i, e := range []*env{a, b} {
				if got := e.who(cookie); got != "" {
					t.Errorf("instance %d serves the logged-out session as %q", i, got)
				}
				if got := e.who(other); got != "frank" {
					t.Errorf("instance %d: frank's session is %q", i, got)
				}
			}
			if left, _ := a.m.ListSessions(context.Background(), Selector{Provider: provName, Subject: erin}); len(left) != 0 {
				t.Errorf("the index still lists %d sessions", len(left))
			}
		})
	}
}
