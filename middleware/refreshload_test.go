package middleware_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/authtest"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
	"github.com/gatehouse-auth/gatehouse/session/redislock"
)

// upstreamChildEnv, when set, makes this test binary run the fake
// authorization server of TestRefreshUnderLoad instead of the tests: its
// value is the token endpoint's delay.
const upstreamChildEnv = "GATEHOUSE_TEST_UPSTREAM_DELAY"

func TestMain(m *testing.M) {
	if d := os.Getenv(upstreamChildEnv); d != "" {
		os.Exit(runUpstreamChild(d))
	}
	os.Exit(m.Run())
}

// upstreamInfo is what the child prints on its first line.
type upstreamInfo struct {
	AuthURL, TokenURL, UserInfoURL, CallsURL string
	Access, Refresh                          string
	Scopes                                   []string
}

// runUpstreamChild serves benchASConfig's fake with every token-endpoint
// reply delayed by delay, prints an upstreamInfo line (with a token set
// issued for the bench user) and serves until its standard input closes.
func runUpstreamChild(delay string) int {
	d, err := time.ParseDuration(delay)
	if err != nil {
		fmt.Fprintln(os.Stderr, "upstream child:", err)
		return 2
	}
	srv := oauth2test.NewServer(benchASConfig())
	defer srv.Close()
	srv.HandleFunc("/test/calls", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, strconv.Itoa(srv.Calls(oauth2test.EndpointToken)))
	})
	issued := srv.IssueToken(benchClientID, oauth2test.User{Subject: "user-123456"}, []string{"openid", "profile"})
	srv.Fail(oauth2test.EndpointToken, oauth2test.Failure{Delay: d, Times: -1})
	calls, err := url.Parse(srv.TokenURL())
	if err != nil {
		fmt.Fprintln(os.Stderr, "upstream child:", err)
		return 2
	}
	calls.Path = "/test/calls"
	info := upstreamInfo{AuthURL: srv.AuthorizeURL(), TokenURL: srv.TokenURL(), UserInfoURL: srv.UserInfoURL(),
		CallsURL: calls.String(), Access: issued.AccessToken, Refresh: issued.RefreshToken, Scopes: issued.Scopes}
	if err := json.NewEncoder(os.Stdout).Encode(info); err != nil {
		return 2
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
	return 0
}

// startUpstream runs the fake authorization server in a child process, as
// a real one runs apart from the app: its goroutines do not compete with
// the app's for the scheduler, so its 50 ms are 50 ms.
func startUpstream(t *testing.T, delay time.Duration) upstreamInfo {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), upstreamChildEnv+"="+delay.String())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	var info upstreamInfo
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		t.Fatalf("upstream child: %v", err)
	}
	if err := json.Unmarshal(line, &info); err != nil {
		t.Fatalf("upstream child said %q: %v", line, err)
	}
	return info
}

func (u upstreamInfo) calls(t *testing.T) int {
	t.Helper()
	return u.callsWith(t, http.DefaultClient)
}

func (u upstreamInfo) callsWith(t *testing.T, c *http.Client) int {
	t.Helper()
	resp, err := c.Get(u.CallsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	n, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatalf("calls: %q", b)
	}
	return n
}

// TestRefreshUnderLoad sends 1,000 concurrent requests on one session
// whose upstream token has expired, to a fake authorization server in its
// own process whose token endpoint takes 50 ms: exactly one upstream
// refresh happens and every request is served with the new token, in
// memory and on Redis (the production setup: the Redis store and lock).
// It prints the latency figures (target: p99 ≤ 50 ms + 10 ms); it asserts
// latency only loosely (p99 < 1 s, 5 s under -race), since shared CI
// machines are noisy — the figure that counts is the one printed by make
// bench.
//
// Cases: memstore; memstore with the upstream connection already open
// (warm: a call to the upstream within the client's 4 s idle time), which
// leaves out the wait for a new connection, whose completion the Go
// scheduler notices only once the arriving requests leave a core idle;
// Redis (store and lock).
func TestRefreshUnderLoad(t *testing.T) {
	t.Run("memstore", func(t *testing.T) {
		refreshUnderLoad(t, memstore.NewWithCleanupInterval(0), nil, false)
	})
	t.Run("memstore-warm", func(t *testing.T) {
		refreshUnderLoad(t, memstore.NewWithCleanupInterval(0), nil, true)
	})
	t.Run("redis", func(t *testing.T) {
		store, _ := redisStore(t)
		c, prefix := redisClient(t)
		l, err := redislock.New(redislock.Config{Client: c, Prefix: prefix + "lock:"})
		if err != nil {
			t.Fatal(err)
		}
		refreshUnderLoad(t, store, l, false)
	})
}

func refreshUnderLoad(t *testing.T, store scs.Store, locker session.Locker, warm bool) {
	const n, upstreamDelay = 1000, 50 * time.Millisecond
	up := startUpstream(t, upstreamDelay)
	hc := provider.NewHTTPClient()
	t.Cleanup(hc.CloseIdleConnections)
	p, err := oauth2.New(oauth2.Config{
		Name: benchProvider, ClientID: benchClientID, ClientSecret: benchSecret,
		AuthURL: up.AuthURL, TokenURL: up.TokenURL, UserInfoURL: up.UserInfoURL,
		RedirectURL: benchPublicURL + "/auth/" + benchProvider + "/callback",
		Scopes:      []string{"openid", "profile"},
		HTTPClient:  hc,
	})
	if err != nil {
		t.Fatal(err)
	}
	if warm {
		up.callsWith(t, hc) // leaves a keep-alive connection to the upstream in hc's pool
	}
	mgr, err := session.New(session.Config{SessionManager: benchSessions(store), Locker: locker, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := middleware.New(middleware.Config{Providers: []provider.Provider{p}, Sessions: mgr, PublicURL: benchPublicURL, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	expired := &provider.Token{AccessToken: up.Access, TokenType: "Bearer", RefreshToken: up.Refresh,
		Expiry: time.Now().Add(-time.Minute), Scopes: up.Scopes}
	c, err := authtest.NewSession(context.Background(), a, benchIdentity(), expired)
	if err != nil {
		t.Fatal(err)
	}
	// When the refreshed token set was stored, from the start: splits the
	// latency into before (arrivals, the upstream call) and after (each
	// waiter taking it up).
	var began atomic.Pointer[time.Time]
	var storedAt atomic.Int64
	a.Sessions().Observe(func(context.Context, string, *provider.Token, *provider.Token) {
		if b := began.Load(); b != nil {
			storedAt.Store(int64(time.Since(*b)))
		}
	})

	var seen sync.Map // access tokens the handler was given
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, ok := middleware.LoginFrom(r.Context())
		if !ok {
			http.Error(w, "no login", http.StatusInternalServerError)
			return
		}
		seen.Store(l.Token.AccessToken, true)
		_, _ = io.WriteString(w, "ok")
	}))
	lat := make([]time.Duration, n)
	codes := make([]int, n)
	setCookies := make([]bool, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest(http.MethodGet, "/private", nil)
			r.AddCookie(c)
			w := httptest.NewRecorder()
			<-start
			t0 := time.Now()
			h.ServeHTTP(w, r)
			lat[i] = time.Since(t0)
			codes[i] = w.Code
			setCookies[i] = w.Header().Get("Set-Cookie") != ""
		}()
	}
	now := time.Now()
	began.Store(&now)
	close(start)
	wg.Wait()

	saved := 0
	for i, code := range codes {
		if code != http.StatusOK {
			t.Fatalf("request %d: status %d", i, code)
		}
		if setCookies[i] {
			saved++
		}
	}
	if got := up.calls(t); got != 1 {
		t.Fatalf("upstream refreshes: %d, want exactly 1", got)
	}
	// One of the waiting requests saves the refreshed set in the session;
	// the others leave it alone (a thousand identical writes otherwise).
	if saved != 1 {
		t.Errorf("%d requests saved the session, want 1", saved)
	}
	tokens := 0
	seen.Range(func(k, _ any) bool {
		tokens++
		if k.(string) == up.Access {
			t.Error("a request was served with the expired access token")
		}
		return true
	})
	if tokens != 1 {
		t.Errorf("requests saw %d different access tokens, want 1", tokens)
	}
	// The next request, on the session as stored, uses the new token
	// without refreshing again.
	r := httptest.NewRequest(http.MethodGet, "/private", nil)
	r.AddCookie(c)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || up.calls(t) != 1 {
		t.Errorf("request after: status %d, upstream refreshes %d", w.Code, up.calls(t))
	}

	slices.Sort(lat)
	q := func(f float64) time.Duration { return lat[min(n-1, int(f*float64(n)))] }
	t.Logf("refresh under load (%s): %d concurrent requests, upstream refresh %s: upstream refreshes=%d p50=%s p99=%s max=%s (refreshed token set stored at %s; target p99 <= %s)",
		t.Name()[len("TestRefreshUnderLoad/"):], n, upstreamDelay, up.calls(t), q(0.50).Round(time.Microsecond), q(0.99).Round(time.Microsecond), lat[n-1].Round(time.Microsecond),
		time.Duration(storedAt.Load()).Round(time.Microsecond), upstreamDelay+10*time.Millisecond)
	bound := time.Second
	if raceEnabled {
		bound = 5 * time.Second // 1,000 goroutines under -race on 2 shared cores
	}
	if q(0.99) >= bound {
		t.Errorf("p99 %s ≥ %s", q(0.99), bound)
	}
}
