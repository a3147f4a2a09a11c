package session

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/gatehouse-auth/gatehouse/provider"
)

type appValue struct {
	Name  string
	Count int
}

func init() { gob.Register(appValue{}) }

func sampleLogin() *loginState {
	return &loginState{
		ID: "login-id-123", Provider: "whisk",
		Identity: provider.Identity{Provider: "whisk", Subject: "u1", Name: "Ada", Email: "ada@example.com", Raw: map[string]any{"k": "v"}},
		Token: &provider.Token{AccessToken: "at-secret", RefreshToken: "rt-secret", TokenType: "Bearer",
			Expiry: time.Unix(1_900_000_000, 0), Scopes: []string{"a", "b"}},
		LoginAt: time.Unix(1_800_000_000, 5), RefreshedAt: time.Unix(1_800_000_100, 0), Version: 7,
	}
}

func sampleValues() map[string]any {
	return map[string]any{
		keyLogin:    sampleLogin(),
		keyAttempts: &attemptList{items: []Attempt{{State: "s1", Provider: "whisk", Verifier: "v1", ReturnTo: "/x", Nonce: "n", Scopes: []string{"openid"}, Implicit: true, Created: time.Unix(1_800_000_000, 0)}}},
		"str":       "hello",
		"bytes":     []byte{0, 1, 2},
		"bool":      true,
		"int":       -42,
		"int64":     int64(1 << 40),
		"float":     3.25,
		"time":      time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600)),
		"custom":    appValue{Name: "n", Count: 3},
		"strs":      []string{"a", "b"},
	}
}

func TestCodecRoundTrip(t *testing.T) {
	c := Codec{}
	deadline := time.Unix(1_900_000_000, 0).UTC()
	b, err := c.Encode(deadline, sampleValues())
	if err != nil {
		t.Fatal(err)
	}
	d, vals, err := c.Decode(b)
	if err != nil || !d.Equal(deadline) {
		t.Fatalf("deadline %v err %v", d, err)
	}
	want := sampleValues()
	for k, w := range want {
		g, ok := vals[k]
		if !ok {
			t.Fatalf("%s missing", k)
		}
		switch w := w.(type) {
		case *loginState:
			g := g.(*loginState)
			if g.ID != w.ID || g.Token.RefreshToken != w.Token.RefreshToken || !g.Token.Expiry.Equal(w.Token.Expiry) ||
				g.Identity.Raw["k"] != "v" || g.Version != 7 || !g.LoginAt.Equal(w.LoginAt) || len(g.Token.Scopes) != 2 {
				t.Fatalf("login mismatch: %+v", g)
			}
		case *attemptList:
			g := g.(*attemptList)
			if len(g.items) != 1 || g.items[0].Verifier != "v1" || !g.items[0].Implicit || g.items[0].Scopes[0] != "openid" {
				t.Fatalf("attempts mismatch: %+v", g.items)
			}
		case []byte:
			if !bytes.Equal(g.([]byte), w) {
				t.Fatalf("%s mismatch", k)
			}
		case []string:
			if strings.Join(g.([]string), ",") != "a,b" {
				t.Fatalf("%s mismatch", k)
			}
		case time.Time:
			if !g.(time.Time).Equal(w) {
				t.Fatalf("%s mismatch", k)
			}
		default:
			if g != w {
				t.Fatalf("%s: got %#v want %#v", k, g, w)
			}
		}
	}
	// Deterministic and compact: smaller than scs's gob for the same values.
	b2, _ := c.Encode(deadline, sampleValues())
	if !bytes.Equal(b, b2) {
		t.Fatal("encoding is not deterministic")
	}
	registerGob()
	gv := sampleValues()
	delete(gv, "time") // scs's gob needs time.Time registered; the rest is the same
	gb, err := scs.GobCodec{}.Encode(deadline, gv)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) >= len(gb) {
		t.Fatalf("Gatehouse encoding %d bytes, gob %d: not more compact", len(b), len(gb))
	}
}

func TestCodecDecodesToLoggedOut(t *testing.T) {
	c := Codec{FallbackLifetime: time.Hour}
	good, _ := c.Encode(time.Now().Add(time.Hour), sampleValues())
	unknownVersion := append([]byte("GHS"), 99)
	unknownVersion = append(unknownVersion, good[4:]...)
	badLogin := map[string]any{keyLogin: []byte{0xff}} // a login value from an unknown version
	blb, _ := c.Encode(time.Now().Add(time.Hour), badLogin)
	rec, _ := (&record{Version: 1, Token: &provider.Token{AccessToken: "x"}}).seal("id")
	cases := map[string][]byte{
		"empty":          nil,
		"garbage":        []byte("not a session at all"),
		"unknownVersion": unknownVersion,
		"truncated":      good[:len(good)/2],
		"trailing":       append(append([]byte{}, good...), 0),
		"loginRecord":    rec,
		"hugeCount":      append([]byte("GHS\x01\x00"), 0xff, 0xff, 0xff, 0xff, 0x0f),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			d, vals, err := c.Decode(b)
			if err != nil || len(vals) != 0 || time.Until(d) < 59*time.Minute {
				t.Fatalf("got %d values, deadline in %v, err %v; want an empty session", len(vals), time.Until(d), err)
			}
		})
	}
	// One unreadable Gatehouse value is dropped, the rest is kept: the
	// session reads as logged out.
	_, vals, _ := c.Decode(blb)
	if _, ok := vals[keyLogin].([]byte); !ok {
		t.Fatalf("a []byte app value must round-trip as bytes: %T", vals[keyLogin])
	}
	m, _ := New(Config{Logger: discardLogger()})
	defer m.Close()
	ctx, _ := m.sm.Load(context.Background(), "")
	m.sm.Put(ctx, keyLogin, []byte{0xff})
	if l, err := m.CurrentLogin(ctx); l != nil || err != nil {
		t.Fatalf("unreadable login: %v %v, want logged out", l, err)
	}
	var ls loginState
	v2, _ := sampleLogin().MarshalBinary()
	v2[0] = 2
	if err := ls.UnmarshalBinary(v2); err == nil {
		t.Fatal("a login value from version 2 was accepted")
	}
}

func TestCodecReadsLegacyGobSessions(t *testing.T) {
	deadline := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	b, err := scs.GobCodec{}.Encode(deadline, map[string]any{"user": "bob", "custom": appValue{Name: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	d, vals, err := Codec{}.Decode(b)
	if err != nil || !d.Equal(deadline) || vals["user"] != "bob" || vals["custom"] != (appValue{Name: "x"}) {
		t.Fatalf("legacy gob: %v %v %v", d, vals, err)
	}
}

func TestCodecTooLarge(t *testing.T) {
	_, err := Codec{}.Encode(time.Now(), map[string]any{"big": strings.Repeat("x", MaxSessionSize)})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

// TestSessionSizeBound: the largest session Gatehouse itself can make
// (MaxAttempts attempts with every field at its bound, plus a login with
// the largest token and identity) stays within MaxSessionSize, and the
// cookie holds only the session ID.
func TestSessionSizeBound(t *testing.T) {
	for _, n := range []int{5, maxAttemptsLimit} {
		t.Run(fmt.Sprint(n), func(t *testing.T) { testSessionSizeBound(t, n) })
	}
}

func testSessionSizeBound(t *testing.T, attempts int) {
	m, err := New(Config{Logger: discardLogger(), MaxAttempts: attempts})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, _ := m.sm.Load(context.Background(), "")
	scopes := make([]string, maxScopes)
	for i := range scopes {
		scopes[i] = strings.Repeat("s", maxScopeLen)
	}
	for i := 0; i < attempts; i++ {
		a := Attempt{State: strings.Repeat("S", maxStateLen-1) + string(rune('a'+i)), Provider: strings.Repeat("p", maxProviderLen),
			Verifier: strings.Repeat("v", maxVerifierLen), ReturnTo: "/" + strings.Repeat("r", maxReturnToLen-1),
			Nonce: strings.Repeat("n", maxNonceLen), Scopes: scopes}
		if err := m.PutAttempt(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	// Beyond the bounds: refused.
	if err := m.PutAttempt(ctx, Attempt{State: "s", Provider: "p", ReturnTo: strings.Repeat("r", maxReturnToLen+1)}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized attempt: %v", err)
	}
	big := &provider.Token{AccessToken: strings.Repeat("a", 7000), RefreshToken: strings.Repeat("r", 7000), TokenType: "Bearer"}
	id := provider.Identity{Subject: "u", Name: strings.Repeat("n", 4000), Raw: map[string]any{"blob": strings.Repeat("x", 100_000)}}
	if err := m.SaveLogin(ctx, &Login{Provider: "p", Token: big, Identity: id}); err != nil {
		t.Fatal(err)
	}
	tooBig := &provider.Token{AccessToken: strings.Repeat("a", maxTokenLen)}
	if err := m.SaveLogin(ctx, &Login{Provider: "p", Token: tooBig}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized token: %v", err)
	}
	l, _ := m.CurrentLogin(ctx)
	if l.Identity.Raw != nil || l.Identity.Name == "" {
		t.Fatal("an oversized Identity.Raw must be dropped, the rest kept")
	}
	cookie, _, err := m.sm.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := m.sm.Store.Find(cookie)
	bound := 48 << 10
	if attempts > 5 {
		bound = MaxSessionSize
	}
	if len(b) > bound {
		t.Fatalf("largest Gatehouse session is %d bytes, bound %d", len(b), bound)
	}
	t.Logf("largest Gatehouse session: %d bytes", len(b))
	rec := httptest.NewRecorder()
	m.sm.WriteSessionCookie(ctx, rec, cookie, time.Now().Add(time.Hour))
	c := rec.Result().Cookies()[0]
	if n := len(c.Name) + len(c.Value); n > 4096 || len(c.Value) != 43 {
		t.Fatalf("cookie name+value is %d bytes (value %d)", n, len(c.Value))
	}
}

func FuzzDecode(f *testing.F) {
	c := Codec{}
	good, _ := c.Encode(time.Unix(1_900_000_000, 0), sampleValues())
	f.Add(good)
	f.Add([]byte("GHS\x01"))
	f.Add([]byte{})
	lb, _ := sampleLogin().MarshalBinary()
	f.Add(append([]byte("GHS\x01\x00\x01\x0fgatehouse.login\x01"), append([]byte{byte(len(lb)), 1}, lb...)...))
	gb, _ := scs.GobCodec{}.Encode(time.Unix(1, 0), map[string]any{"a": "b"})
	f.Add(gb)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, vals, err := c.Decode(b)
		if err != nil {
			t.Fatalf("Decode returned an error: %v", err)
		}
		if vals == nil {
			t.Fatal("nil map")
		}
		// Whatever decoded must encode again (when within size) and
		// decode to the same keys.
		out, err := c.Encode(time.Unix(1, 0), vals)
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return
			}
			t.Fatalf("re-encode: %v", err)
		}
		_, again, _ := c.Decode(out)
		if len(again) != len(vals) {
			t.Fatalf("round trip lost values: %d → %d", len(vals), len(again))
		}
		// Gatehouse values never panic when used.
		if ls, ok := vals[keyLogin].(*loginState); ok {
			_ = ls.login()
		}
	})
}

func TestLoadAndSaveFailsClosed(t *testing.T) {
	m, err := New(Config{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.sm.Store = failingStore{}
	called := false
	h := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true }))
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "__Host-gatehouse", Value: "abc"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if called || rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("called=%v code=%d headers=%v", called, rec.Code, rec.Header())
	}
}

func TestDefaultCookie(t *testing.T) {
	m, err := New(Config{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	h := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.PutAttempt(r.Context(), Attempt{State: "s", Provider: "p"}); err != nil {
			t.Error(err)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	cs := rec.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("cookies: %v", cs)
	}
	c := cs[0]
	if c.Name != "__Host-gatehouse" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Fatalf("cookie = %+v", c)
	}
	if m.sm.IdleTimeout != 30*time.Minute || m.sm.Lifetime != 8*time.Hour {
		t.Fatal("default timeouts")
	}
	if _, ok := m.sm.Codec.(Codec); !ok {
		t.Fatal("default codec is not Gatehouse's")
	}
}

func TestNewKeepsAppCodecChoice(t *testing.T) {
	sm := scs.New() // GobCodec: replaced
	m, err := New(Config{SessionManager: sm, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Sessions().Codec.(Codec); !ok {
		t.Fatal("scs's default codec was not replaced")
	}
	other := scs.New()
	other.Codec = customCodec{}
	if _, err := New(Config{SessionManager: other}); err != nil {
		t.Fatal(err)
	}
	if _, ok := other.Codec.(customCodec); !ok {
		t.Fatal("the app's own codec was replaced")
	}
	if _, err := New(Config{MaxAttempts: 100}); err == nil {
		t.Fatal("MaxAttempts 100 accepted")
	}
	if _, err := New(Config{Leeway: -time.Second}); err == nil {
		t.Fatal("negative Leeway accepted")
	}
}

type customCodec struct{ scs.GobCodec }

type failingStore struct{}

var errDown = errors.New("store down")

func (failingStore) Find(string) ([]byte, bool, error)      { return nil, false, errDown }
func (failingStore) Commit(string, []byte, time.Time) error { return errDown }
func (failingStore) Delete(string) error                    { return errDown }
func (failingStore) All() (map[string][]byte, error)        { return nil, errDown }
func (failingStore) String() string                         { return "failingStore" }
func (failingStore) Close() error                           { return nil }
func (failingStore) Ping(context.Context) error             { return errDown }
func (failingStore) FindCtx(context.Context, string) ([]byte, bool, error) {
	return nil, false, errDown
}
func (failingStore) CommitCtx(context.Context, string, []byte, time.Time) error {
	return errDown
}
func (failingStore) DeleteCtx(context.Context, string) error { return errDown }
