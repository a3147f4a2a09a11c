package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// testFreshLogin: FreshLogin answers as CurrentLogin and Token together —
// the login with a usable token, refreshed first when due (once), the
// ended login named with ErrReauthRequired, ErrNotLoggedIn for a missing
// login or a provider the app no longer has.
func testFreshLogin(t *testing.T, sc storeCase) {
	e := newEnv(t, sc)
	providers := func(name string) provider.Provider {
		if name == e.prov.name {
			return e.prov
		}
		return nil
	}

	if _, err := e.m.FreshLogin(context.Background(), providers); !errors.Is(err, ErrNoSession) {
		t.Fatalf("without a session: %v, want ErrNoSession", err)
	}
	if _, err := e.m.FreshLogin(e.request(""), providers); !errors.Is(err, ErrNotLoggedIn) {
		t.Fatalf("not logged in: %v, want ErrNotLoggedIn", err)
	}

	cookie, id, tok := e.login(time.Hour)
	l, err := e.m.FreshLogin(e.request(cookie), providers)
	if err != nil || l.ID != id || l.Identity.Subject != "user-1" || l.Token.AccessToken != tok.AccessToken || e.prov.refreshes.Load() != 0 {
		t.Fatalf("valid token: %+v, %v (refreshes %d)", l, err, e.prov.refreshes.Load())
	}
	l.Token.Scopes[0] = "changed" // the caller's own copy
	if again, _ := e.m.FreshLogin(e.request(cookie), providers); again.Token.Scopes[0] != "read" {
		t.Fatal("a change to a returned login reached the session")
	}

	if _, err := e.m.FreshLogin(e.request(cookie), func(string) provider.Provider { return nil }); !errors.Is(err, ErrNotLoggedIn) {
		t.Fatalf("provider no longer configured: %v, want ErrNotLoggedIn", err)
	}
	if l, _ := e.m.CurrentLogin(e.request(cookie)); l == nil || l.ID != id {
		t.Fatal("an unknown provider changed the stored session")
	}

	// Due: refreshed once, and the request's session holds the new set.
	e.clock.Advance(59*time.Minute + 30*time.Second)
	ctx := e.request(cookie)
	l, err = e.m.FreshLogin(ctx, providers)
	if err != nil || l.Token.AccessToken == tok.AccessToken || e.prov.refreshes.Load() != 1 || l.RefreshedAt.IsZero() {
		t.Fatalf("due token: %+v, %v (refreshes %d)", l, err, e.prov.refreshes.Load())
	}
	if cur, _ := e.m.CurrentLogin(ctx); cur == nil || cur.Token.AccessToken != l.Token.AccessToken {
		t.Fatal("the request's session does not hold the refreshed token")
	}
	cookie = e.commit(ctx)

	// Refresh token refused: the ended login is named, without a token.
	e.clock.Advance(59*time.Minute + 30*time.Second)
	e.prov.setFail(&provider.Error{Provider: e.prov.name, Op: "refresh", Kind: provider.ErrInvalidGrant, Code: "invalid_grant"})
	ctx = e.request(cookie)
	l, err = e.m.FreshLogin(ctx, providers)
	if !errors.Is(err, ErrReauthRequired) || l == nil || l.ID != id || l.Token != nil {
		t.Fatalf("invalid_grant: %+v, %v; want the ended login without its token and ErrReauthRequired", l, err)
	}
	if _, err := e.m.FreshLogin(ctx, providers); !errors.Is(err, ErrNotLoggedIn) {
		t.Fatalf("after invalid_grant: %v, want ErrNotLoggedIn", err)
	}
}
