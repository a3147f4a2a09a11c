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

// TestSecurityIdleAndAbsoluteTimeout is checklist item 31's first half:
// past the idle timeout, and past the absolute lifetime even while the
// session is in use (and its refresh token still valid), the old cookie is
// logged out. scs computes store expiry from the wall clock (it has no
// clock to inject), so this test lets real time pass: the sleeps wait for
// a deadline, they do not synchronise goroutines.
func TestSecurityIdleAndAbsoluteTimeout(t *testing.T) {
	const idle, lifetime = 300 * time.Millisecond, 900 * time.Millisecond
	e := newEnv(t, storeCases()[0])
	e.sm.IdleTimeout, e.sm.Lifetime = idle, lifetime
	loggedIn := func(cookie string) (bool, string) {
		ctx := e.request(cookie)
		l, err := e.m.CurrentLogin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return l != nil, e.commit(ctx)
	}

	// Idle: untouched for longer than the idle timeout.
	cookie, _, _ := e.login(24 * time.Hour)
	time.Sleep(idle + 100*time.Millisecond)
	if ok, _ := loggedIn(cookie); ok {
		t.Fatal("still logged in after the idle timeout")
	}

	// Absolute: used every 100 ms (well within the idle timeout), yet
	// over once the lifetime has passed.
	start := time.Now()
	cookie, _, _ = e.login(24 * time.Hour)
	time.Sleep(100 * time.Millisecond)
	ok, cookie := loggedIn(cookie)
	if !ok {
		t.Fatal("logged out by a request within the idle timeout")
	}
	for time.Since(start) < lifetime+100*time.Millisecond {
		time.Sleep(100 * time.Millisecond)
		ok, cookie = loggedIn(cookie)
	}
	if ok {
		t.Fatal("still logged in past the absolute lifetime")
	}
}
