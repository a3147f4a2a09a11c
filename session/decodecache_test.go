package session

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

func TestDecodeCacheHandsOutCopies(t *testing.T) {
	c := Codec{cache: newDecodeCache(4)}
	ls := &loginState{ID: "login-1", Provider: "p", Version: 1,
		Identity: provider.Identity{Subject: "s", Raw: map[string]any{"groups": []any{"a", map[string]any{"k": "v"}}}},
		Token:    &provider.Token{AccessToken: "at", Scopes: []string{"x"}, Extra: map[string]any{"meta": map[string]any{"n": 1.0}}}}
	b, err := c.Encode(time.Unix(100, 0), map[string]any{keyLogin: ls, "user": "bob", "n": 7})
	if err != nil {
		t.Fatal(err)
	}
	_, v1, _ := c.Decode(b)
	_, v2, _ := c.Decode(b)
	if len(c.cache.entries) != 1 {
		t.Fatalf("cache entries %d, want 1", len(c.cache.entries))
	}
	if v1[keyLogin] != v2[keyLogin] {
		t.Fatal("second decode of the same bytes did not come from the cache")
	}
	// scs changes the map it gets: that must not reach the cache.
	v1["user"] = "mallory"
	delete(v1, "n")
	_, v3, _ := c.Decode(b)
	if v3["user"] != "bob" || v3["n"] != 7 {
		t.Fatalf("cached values changed through a handed-out map: %v", v3)
	}
	// What a request gets from the shared login is its own, in depth.
	l := asLoginState(v3[keyLogin]).login()
	l.Identity.Raw["groups"].([]any)[0] = "changed"
	l.Identity.Raw["groups"].([]any)[1].(map[string]any)["k"] = "changed"
	l.Token.Extra["meta"].(map[string]any)["n"] = 2.0
	l.Token.Scopes[0] = "changed"
	l2 := asLoginState(v3[keyLogin]).login()
	if l2.Identity.Raw["groups"].([]any)[0] != "a" || l2.Identity.Raw["groups"].([]any)[1].(map[string]any)["k"] != "v" ||
		l2.Token.Extra["meta"].(map[string]any)["n"] != 1.0 || l2.Token.Scopes[0] != "x" {
		t.Fatal("a change to one request's login reached the shared decoded login")
	}
	// Other bytes (a changed session) miss.
	b2, _ := c.Encode(time.Unix(100, 0), map[string]any{keyLogin: ls, "user": "alice"})
	if _, v4, _ := c.Decode(b2); v4["user"] != "alice" {
		t.Fatalf("changed session decoded as %v", v4)
	}
}

func TestDecodeCacheSkipsMutableValues(t *testing.T) {
	c := Codec{cache: newDecodeCache(4)}
	b, err := c.Encode(time.Unix(100, 0), map[string]any{"blob": []byte("abc"), "user": "bob"})
	if err != nil {
		t.Fatal(err)
	}
	_, v1, _ := c.Decode(b)
	v1["blob"].([]byte)[0] = 'X'
	_, v2, _ := c.Decode(b)
	if string(v2["blob"].([]byte)) != "abc" {
		t.Fatalf("a byte slice was shared between decodes: %q", v2["blob"])
	}
	if len(c.cache.entries) != 0 {
		t.Fatalf("session with a byte slice was cached (%d entries)", len(c.cache.entries))
	}
}

func TestDecodeCacheBounded(t *testing.T) {
	const size = 8
	c := Codec{cache: newDecodeCache(size)}
	var first []byte
	for i := range 3 * size {
		b, err := c.Encode(time.Unix(100, 0), map[string]any{"user": fmt.Sprint("u", i)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = b
		}
		if _, v, _ := c.Decode(b); v["user"] != fmt.Sprint("u", i) {
			t.Fatalf("decode %d: %v", i, v)
		}
		if n := len(c.cache.entries); n > size || n != len(c.cache.order.keys) {
			t.Fatalf("after %d sessions: %d entries, ring %d (bound %d)", i+1, n, len(c.cache.order.keys), size)
		}
	}
	// The oldest was evicted and still decodes correctly.
	if _, v, _ := c.Decode(first); v["user"] != "u0" {
		t.Fatalf("evicted session decoded as %v", v)
	}
	// Undecodable bytes are never cached and still read as logged out.
	bad := append([]byte(nil), first[:len(first)-1]...)
	for range 2 {
		if _, v, _ := c.Decode(bad); len(v) != 0 {
			t.Fatalf("truncated session decoded as %v", v)
		}
	}
}

func TestNewInstallsCachingCodec(t *testing.T) {
	m, err := New(Config{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if c, ok := m.Sessions().Codec.(Codec); !ok || c.cache == nil {
		t.Fatalf("codec %T without a decode cache", m.Sessions().Codec)
	}
}

// With an IdleTimeout scs commits every request; an unchanged session is
// written back as the bytes it was read from, a changed one is encoded.
func TestDecodeCacheReencodesOnlyChanges(t *testing.T) {
	c := Codec{cache: newDecodeCache(4)}
	plain := Codec{}
	ls := &loginState{ID: "login-1", Provider: "p", Version: 1, Token: &provider.Token{AccessToken: "at"}}
	deadline := time.Unix(100, 0)
	b, err := c.Encode(deadline, map[string]any{keyLogin: ls, "user": "bob"})
	if err != nil {
		t.Fatal(err)
	}
	d, v, _ := c.Decode(b)
	same, err := c.Encode(d, v)
	if err != nil || string(same) != string(b) {
		t.Fatalf("unchanged session encoded as %x, %v; want the stored bytes", same, err)
	}
	if &same[0] == &b[0] {
		t.Fatal("the cached bytes themselves were handed out")
	}
	for name, change := range map[string]func(map[string]any) time.Time{
		"value changed": func(v map[string]any) time.Time { v["user"] = "alice"; return d },
		"value added":   func(v map[string]any) time.Time { v["n"] = 1; return d },
		"value removed": func(v map[string]any) time.Time { delete(v, "user"); return d },
		"byte slice":    func(v map[string]any) time.Time { v["user"] = []byte("bob"); return d },
		"login replaced": func(v map[string]any) time.Time {
			n := *v[keyLogin].(*loginState)
			n.Version = 2
			v[keyLogin] = &n
			return d
		},
		"deadline moved": func(v map[string]any) time.Time { return d.Add(time.Second) },
	} {
		d2, v2, _ := c.Decode(b)
		d2 = change(v2)
		got, err := c.Encode(d2, v2)
		want, err2 := plain.Encode(d2, v2)
		if err != nil || err2 != nil || string(got) != string(want) {
			t.Errorf("%s: encoded %x (%v), want %x (%v)", name, got, err, want, err2)
		}
	}
}
