package session

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// The record cache saves decryption, never the store read: a logout or a
// refresh on another instance takes effect on this instance's next
// LoadByLoginID / Token.
func TestRecordCacheNeverHidesAnotherInstancesChange(t *testing.T) {
	sc := storeCases()[0]
	clock := newClock()
	prov := newFakeProvider(clock)
	a := newEnvWith(t, sc, clock, prov)
	b := newEnvWith(t, sc, clock, prov)
	t.Cleanup(func() { a.m.Close(); b.m.Close() })
	cookie, id, tok := a.login(time.Hour)

	for range 3 { // opened once, then served from the cache
		ctx, err := a.m.LoadByLoginID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.m.Token(ctx, prov)
		if err != nil || got.AccessToken != tok.AccessToken {
			t.Fatalf("Token = %v, %v", got, err)
		}
	}
	if len(a.m.records.entries) != 1 {
		t.Fatalf("record cache holds %d entries, want 1", len(a.m.records.entries))
	}

	// Instance b refreshes: a sees the new token set through the record.
	bctx := b.request(cookie)
	fresh, err := b.m.ForceRefresh(bctx, prov, nil)
	if err != nil || fresh.AccessToken == tok.AccessToken {
		t.Fatalf("ForceRefresh on b = %v, %v", fresh, err)
	}
	rec, err := a.m.readRecord(context.Background(), id)
	if err != nil || rec == nil || rec.Token.AccessToken != fresh.AccessToken {
		t.Fatalf("a read the record as %+v, %v; want the refreshed token", rec, err)
	}

	// Instance b logs out: a's next bearer lookup fails at once.
	if _, err := b.m.Logout(bctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.LoadByLoginID(context.Background(), id); !isErr(err, ErrNotLoggedIn) {
		t.Fatalf("LoadByLoginID after b's logout: %v, want ErrNotLoggedIn", err)
	}
}

// A cached record is keyed by its login ID as well as its bytes, and what
// callers get from it is their own copy.
func TestRecordCacheKeyedByLoginAndCopied(t *testing.T) {
	c := newRecordCache(4)
	rec := &record{Version: 1, SessionToken: "s", Provider: "p", Token: &provider.Token{AccessToken: "at", Scopes: []string{"a"}}}
	b, err := rec.seal("login-a")
	if err != nil {
		t.Fatal(err)
	}
	c.put("login-a", b, rec)
	if c.get("login-a", b) != rec {
		t.Fatal("cached record not found")
	}
	if c.get("login-b", b) != nil {
		t.Fatal("a record's bytes were accepted for another login")
	}
	other := append([]byte(nil), b...)
	other[len(other)-1] ^= 1
	if c.get("login-a", other) != nil {
		t.Fatal("different bytes hit the cache")
	}
	tok := cloneToken(c.get("login-a", b).Token)
	tok.Scopes[0] = "changed"
	if rec.Token.Scopes[0] != "a" {
		t.Fatal("a copy of the cached token shares its scopes")
	}
	for i := range 10 { // bounded
		c.put(string(rune('c'+i)), b, rec)
	}
	if len(c.entries) > 4 || len(c.order.keys) > 4 {
		t.Fatalf("cache grew to %d entries (bound 4)", len(c.entries))
	}
}
