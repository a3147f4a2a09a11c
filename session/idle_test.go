package session

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/servicetest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// clockStore is an in-memory scs store whose expiries are judged by a
// fake clock, counting its finds and commits.
type clockStore struct {
	clock *fakeClock
	mu    sync.Mutex
	items map[string]clockItem
	finds int
	puts  int
}

type clockItem struct {
	b   []byte
	exp time.Time
}

func newClockStore(c *fakeClock) *clockStore {
	return &clockStore{clock: c, items: map[string]clockItem{}}
}

func (s *clockStore) Find(key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finds++
	it, ok := s.items[key]
	if !ok || !s.clock.Now().Before(it.exp) {
		return nil, false, nil
	}
	return it.b, true, nil
}

func (s *clockStore) Commit(key string, b []byte, exp time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	s.items[key] = clockItem{b: b, exp: exp}
	return nil
}

func (s *clockStore) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.items, key)
	return nil
}

func (s *clockStore) expiry(key string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.items[key].exp
}

func (s *clockStore) counts() (finds, puts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finds, s.puts
}

// idleEnv is a Manager with IdleTimeout on, its clocks (Gatehouse's and
// the store's) one fake clock, and a logged-in session.
type idleEnv struct {
	clock  *fakeClock
	m      *Manager
	sm     *scs.SessionManager
	cookie string
	h      http.Handler
}

const testIdle = 30 * time.Minute

func newIdleEnv(t *testing.T, store scs.Store, clock *fakeClock) *idleEnv {
	t.Helper()
	sm := scs.New()
	sm.Store = store
	sm.IdleTimeout = testIdle
	sm.Lifetime = 8 * time.Hour
	sm.Cookie.Name = "s"
	m, err := New(Config{SessionManager: sm, Now: clock.Now, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	m.wall = clock.Now
	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	tok := &provider.Token{AccessToken: "at", RefreshToken: "rt", Expiry: clock.Now().Add(24 * time.Hour)}
	if err := m.SaveLogin(ctx, &Login{Provider: "fake", Identity: provider.Identity{Provider: "fake", Subject: "u1"}, Token: tok}); err != nil {
		t.Fatal(err)
	}
	cookie, _, err := sm.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, err := m.CurrentLogin(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		if r.URL.Query().Has("put") {
			sm.Put(r.Context(), "app.n", r.URL.Query().Get("put"))
		}
		if l == nil {
			_, _ = io.WriteString(w, "anonymous")
			return
		}
		_, _ = io.WriteString(w, "hello "+l.Identity.Subject)
	}))
	return &idleEnv{clock: clock, m: m, sm: sm, cookie: cookie, h: h}
}

// get makes one request with the session cookie and returns the body and
// whether the response set a cookie.
func (e *idleEnv) get(t *testing.T, query string) (string, bool) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/?"+query, nil)
	r.AddCookie(&http.Cookie{Name: "s", Value: e.cookie})
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	return w.Body.String(), len(w.Result().Cookies()) > 0
}

// TestIdleTimeoutWritesOncePerStep: with an IdleTimeout, a request that
// changes nothing writes the session back only when its stored expiry has
// fallen more than idleStep (1 min for 30 min) behind now+IdleTimeout;
// a changed session is always written.
func TestIdleTimeoutWritesOncePerStep(t *testing.T) {
	t.Parallel()
	step := idleStep(testIdle)
	if step != time.Minute {
		t.Fatalf("idleStep(30m) = %s, want 1m", step)
	}
	tests := []struct {
		name        string
		givenAfter  time.Duration // since the previous request (which wrote)
		whenQuery   string
		expectWrite bool
	}{
		{"at once", 0, "", false},
		{"just under the step", step - time.Millisecond, "", false},
		{"exactly the step", step, "", false},
		{"past the step", step + time.Millisecond, "", true},
		{"changed session at once", 0, "put=1", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			store := newClockStore(clock)
			e := newIdleEnv(t, store, clock)
			// The login's own commit did not go through LoadAndSave: its
			// stamp is unknown, so the first request writes it.
			if body, set := e.get(t, ""); body != "hello u1" || !set {
				t.Fatalf("first request: %q, cookie set %v; want a write", body, set)
			}
			_, before := store.counts()
			e.clock.Advance(tc.givenAfter)
			body, set := e.get(t, tc.whenQuery)
			if body != "hello u1" {
				t.Fatalf("body %q", body)
			}
			_, after := store.counts()
			if wrote := after > before; wrote != tc.expectWrite || set != tc.expectWrite {
				t.Fatalf("wrote %v (commits %d → %d), Set-Cookie %v; want %v", wrote, before, after, set, tc.expectWrite)
			}
		})
	}
}

// TestIdleTimeoutStillExpires: a session in use stays alive with one write
// per step, and once left alone it expires between IdleTimeout−step and
// IdleTimeout after its last request — never later.
func TestIdleTimeoutStillExpires(t *testing.T) {
	t.Parallel()
	step := idleStep(testIdle)
	tests := []struct {
		name       string
		givenIdle  time.Duration // after the last request
		expectLive bool
	}{
		{"within the guaranteed time", testIdle - step, true},
		{"at the idle timeout", testIdle, false},
		{"past the idle timeout", testIdle + time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			store := newClockStore(clock)
			e := newIdleEnv(t, store, clock)
			key := e.cookie
			// In use every 7 s for an hour: alive throughout, about one
			// write per minute.
			_, puts0 := store.counts()
			var last time.Time
			for i := 0; i < 3600/7; i++ {
				if body, _ := e.get(t, ""); body != "hello u1" {
					t.Fatalf("request %d at +%s: %q", i, time.Duration(i)*7*time.Second, body)
				}
				last = clock.Now()
				exp := store.expiry(key)
				if exp.Before(last.Add(testIdle-step)) || exp.After(last.Add(testIdle)) {
					t.Fatalf("after request %d stored expiry is now+%s, want within [%s, %s]", i, exp.Sub(last), testIdle-step, testIdle)
				}
				clock.Advance(7 * time.Second)
			}
			_, puts1 := store.counts()
			if writes := puts1 - puts0; writes > 62 || writes < 55 {
				t.Fatalf("%d writes in an hour of requests every 7 s, want about one a minute", writes)
			}
			clock.Advance(last.Add(tc.givenIdle).Sub(clock.Now()))
			body, _ := e.get(t, "")
			if live := body == "hello u1"; live != tc.expectLive {
				t.Fatalf("after %s idle: %q, want live %v", tc.givenIdle, body, tc.expectLive)
			}
		})
	}
}

// TestIdleTimeoutRedisCommands counts, with the Redis server's own
// counters (INFO commandstats of a private redis-server), the commands a
// logged-in request costs with IdleTimeout on: one GET, and one SET per
// idle step only.
func TestIdleTimeoutRedisCommands(t *testing.T) {
	t.Parallel()
	c := privateRedis(t)
	clock := newClock()
	e := newIdleEnv(t, goredisstore.New(c), clock)
	e.get(t, "") // writes the stamp (the login's commit had none)
	base := commandStats(t, c)
	const n = 50
	for range n {
		if body, _ := e.get(t, ""); body != "hello u1" {
			t.Fatalf("body %q", body)
		}
		clock.Advance(time.Second)
	}
	got := diffStats(base, commandStats(t, c))
	if got["get"] != n || got["set"] != 0 || len(got) != 1 {
		t.Fatalf("commands for %d requests within the step: %v, want only %d GET", n, got, n)
	}
	clock.Advance(idleStep(testIdle))
	base = commandStats(t, c)
	e.get(t, "")
	if got := diffStats(base, commandStats(t, c)); got["get"] != 1 || got["set"] != 1 || len(got) != 2 {
		t.Fatalf("commands for a request past the step: %v, want 1 GET + 1 SET", got)
	}
}

// privateRedis starts a redis-server of its own on a Unix socket (its
// command counters count this test only) and returns a client.
func privateRedis(t *testing.T) *redis.Client {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		servicetest.Missing(t, "redis-server is not installed")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "redis.sock")
	cmd := exec.Command(bin, "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: sock, PoolSize: 1})
	t.Cleanup(func() { _ = c.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("private redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond) // waiting for a process to start, not synchronising goroutines
	}
	return c
}

// commandStats returns the calls per command from INFO commandstats
// (lower-case names, without info itself).
func commandStats(t *testing.T, c *redis.Client) map[string]int {
	t.Helper()
	s, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "cmdstat_")
		if !ok {
			continue
		}
		name, rest, _ := strings.Cut(line, ":")
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		n, err := strconv.Atoi(calls)
		if err != nil {
			t.Fatalf("commandstats line %q", sc.Text())
		}
		if name != "info" {
			out[name] = n
		}
	}
	return out
}

func diffStats(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// TestCookieValue: LoadAndSave reads the session cookie as r.Cookie does.
func TestCookieValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header []string
	}{
		{"none", nil},
		{"only", []string{"s=abc"}},
		{"among others", []string{"a=1; s=abc-_9; b=2"}},
		{"second line", []string{"a=1", "s=xyz"}},
		{"first of two", []string{"s=one; s=two"}},
		{"quoted", []string{`s="abc"`}},
		{"quoted with space", []string{`s="a b"`}},
		{"unquoted space", []string{"s=a b; s=ok"}},
		{"control byte skipped", []string{"s=a\x01b; s=ok"}},
		{"comma", []string{"s=a,b"}},
		{"invalid byte skipped", []string{`s=a\b; s=ok`}},
		{"spaces around", []string{"  s=abc  ;b=1"}},
		{"empty value", []string{"s="}},
		{"prefix name", []string{"ss=abc; s=def"}},
		{"no equals", []string{"s; s=v"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, h := range tc.header {
				r.Header.Add("Cookie", h)
			}
			want := ""
			if c, err := r.Cookie("s"); err == nil {
				want = c.Value
			}
			if got := cookieValue(r, "s"); got != want {
				t.Fatalf("cookieValue %q, r.Cookie %q", got, want)
			}
		})
	}
}
