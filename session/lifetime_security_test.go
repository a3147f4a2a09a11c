package session

import (
	"testing"
	"time"
)

// TestSecurityRefreshNeverExtendsLifetime is checklist item 31's second
// half: a successful upstream refresh keeps the session's absolute
// deadline (scs Lifetime, fixed when the session was created) and the
// login record's deadline as they were.
func TestSecurityRefreshNeverExtendsLifetime(t *testing.T) {
	e := newEnv(t, storeCases()[0])
	cookie, id, first := e.login(2 * time.Minute)
	ctx := e.request(cookie)
	deadline := e.sm.Deadline(ctx)
	rec, err := e.m.readRecord(ctx, id)
	if err != nil || rec == nil {
		t.Fatalf("record: %v %v", rec, err)
	}
	if !rec.Deadline.Equal(deadline) {
		t.Fatalf("record deadline %v, session deadline %v", rec.Deadline, deadline)
	}
	for i := 0; i < 3; i++ {
		e.clock.Advance(2 * time.Hour) // expired (Gatehouse's clock): the next Token refreshes
		ctx = e.request(cookie)
		tok, err := e.m.Token(ctx, e.prov)
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		if tok.AccessToken == first.AccessToken {
			t.Fatalf("refresh %d: token not refreshed", i)
		}
		first = tok
		cookie = e.commit(ctx)
		ctx = e.request(cookie)
		if d := e.sm.Deadline(ctx); !d.Equal(deadline) {
			t.Fatalf("refresh %d moved the session deadline %v → %v", i, deadline, d)
		}
		rec, err := e.m.readRecord(ctx, id)
		if err != nil || rec == nil || !rec.Deadline.Equal(deadline) {
			t.Fatalf("refresh %d: record deadline %v (err %v), want %v", i, rec, err, deadline)
		}
	}
	if n := e.prov.refreshes.Load(); n != 3 {
		t.Fatalf("refresh calls %d, want 3", n)
	}
}
