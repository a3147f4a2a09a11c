package e2e

// Issue 8 item 3: two app instances (same middleware configuration, each
// with its own session.Manager and in-process state, each with its own
// Redis client as separate processes would have) share one Redis session
// store and session/redislock, behind the harness's round-robin loopback
// proxy (no session affinity). Needs GATEHOUSE_REDIS_ADDR.

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/e2e/internal/harness"
	"github.com/gatehouse-auth/gatehouse/session/redislock"
)

// hxCluster is two hx app instances behind a round-robin proxy.
type hxCluster struct {
	rr     *harness.RoundRobin
	up     *hxUpstreams
	apps   []*hxApp
	ids    []string
	direct []string // each instance's own URL
}

func hxNewCluster(t *testing.T, stack string) *hxCluster {
	t.Helper()
	c0, prefix := hxRedis(t)
	lns := []net.Listener{hxListen(t), hxListen(t)}
	cl := &hxCluster{ids: []string{"a", "b"}}
	for _, ln := range lns {
		cl.direct = append(cl.direct, "http://"+ln.Addr().String())
	}
	cl.rr = harness.NewRoundRobin(t, cl.direct...)
	public := cl.rr.URL
	// A generous upstream timeout: the burst is about the lock, not about
	// a refresh delayed by a busy machine.
	cl.up = hxStartUpstreams(t, public, oauth2test.NewClock(time.Now()), 10*time.Second)
	for i, ln := range lns {
		client := c0
		if i > 0 {
			client = redis.NewClient(&redis.Options{Addr: c0.Options().Addr, PoolSize: 64})
			t.Cleanup(func() { _ = client.Close() })
		}
		lock, err := redislock.New(redislock.Config{Client: client, Prefix: prefix + "lock:"})
		if err != nil {
			t.Fatal(err)
		}
		cl.apps = append(cl.apps, hxServeApp(t, ln, public, cl.up, hxOptions{
			stack: stack, store: goredisstore.NewWithPrefix(client, prefix+"s:"), locker: lock, id: cl.ids[i]}))
	}
	return cl
}

// TestHxInstances: a user logs in through the proxy, the callback runs on
// one instance, and the other serves the user; then 200 concurrent
// requests with an expired upstream token, spread over both instances,
// make exactly one upstream refresh and all succeed. net/http runs it for
// every refreshable style (generic OAuth2, Whisk, start.gg), Echo for the
// generic one.
func TestHxInstances(t *testing.T) {
	for _, stack := range []string{hxStackNetHTTP, hxStackEcho} {
		t.Run(stack, func(t *testing.T) {
			cl := hxNewCluster(t, stack)
			for _, p := range cl.up.provs() {
				if p.refreshes == nil {
					continue // the fake Wazo cannot tell refreshes from logins
				}
				if stack == hxStackEcho && p.name != hxOAuth2 {
					continue // Echo adds nothing per style here; keep the suite quick
				}
				t.Run(p.name, func(t *testing.T) { hxInstancesFlow(t, cl, p) })
			}
		})
	}
}

func hxInstancesFlow(t *testing.T, cl *hxCluster, p hxProv) {
	b := hxNewBrowser(t, cl.rr.URL)

	// Log in through the proxy; note which instance ran the callback.
	cb := b.callbackURL(p)
	resp := b.nf.GET("").WithURL(cb).WithHeader("Accept", "text/html").Expect().Status(http.StatusSeeOther)
	loggedInOn := resp.Header("X-Hx-Instance").Raw()
	other := -1
	for i, id := range cl.ids {
		if id != loggedInOn {
			other = i
		}
	}
	if other < 0 || loggedInOn == "" {
		t.Fatalf("callback served by %q", loggedInOn)
	}
	// The other instance, asked directly, knows the user.
	direct := hxNewBrowserJar(t, cl.direct[other], b.jar)
	code, me, raw := direct.api("/api/me")
	if code != http.StatusOK || me["provider"] != p.name || raw.Header.Get("X-Hx-Instance") != cl.ids[other] {
		t.Fatalf("instance %s after the login on %s: %d %v", cl.ids[other], loggedInOn, code, me)
	}
	// Through the proxy, both instances serve the user.
	served := map[string]bool{}
	for range 4 {
		code, m, raw := b.api("/api/me")
		if code != http.StatusOK || m["sub"] != me["sub"] {
			t.Fatalf("/api/me through the proxy = %d %v", code, m)
		}
		served[raw.Header.Get("X-Hx-Instance")] = true
	}
	if !served["a"] || !served["b"] {
		t.Fatalf("served by %v, want both instances", served)
	}

	// The upstream token expires; 200 concurrent requests over both
	// instances. The refresh is slowed so that they all queue behind it.
	before := p.refreshes()
	p.failRefresh(oauth2test.Failure{Delay: 200 * time.Millisecond})
	cl.up.clock.Advance(hxTTL)
	hitsBefore := cl.rr.Hits()
	results := hxBurst(t, cl.rr.URL+"/api/me", b.jar, 200)
	hitsAfter := cl.rr.Hits()
	expiries := map[any]int{}
	for i, r := range results {
		if r.err != nil || r.status != http.StatusOK {
			for j, a := range cl.apps {
				for _, l := range a.logs.Lines() {
					t.Logf("instance %s log: %s", cl.ids[j], l)
				}
			}
			t.Fatalf("request %d: %d %v %s", i, r.status, r.err, r.body)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(r.body), &m); err != nil {
			t.Fatalf("request %d: %v %s", i, err, r.body)
		}
		if m["sub"] != me["sub"] {
			t.Fatalf("request %d answered for %v, want %v", i, m["sub"], me["sub"])
		}
		expiries[m["expires_at"]]++
	}
	if n := p.refreshes() - before; n != 1 {
		t.Fatalf("%d refresh calls at the fake for 200 concurrent requests on 2 instances, want exactly 1", n)
	}
	if len(expiries) != 1 || expiries[me["expires_at"]] != 0 {
		t.Fatalf("token expiries seen %v (before: %v): want the one refreshed token for all 200", expiries, me["expires_at"])
	}
	for i := range hitsAfter {
		if d := hitsAfter[i] - hitsBefore[i]; d < 80 {
			t.Fatalf("instance %s got %d of the 200 requests; the load did not spread", cl.ids[i], d)
		}
	}
	// Both instances keep serving the refreshed login, with no new refresh.
	for i := range cl.direct {
		d := hxNewBrowserJar(t, cl.direct[i], b.jar)
		if code, m, _ := d.api("/api/me"); code != http.StatusOK || m["expires_at"] == me["expires_at"] {
			t.Fatalf("instance %s after the burst: %d %v", cl.ids[i], code, m)
		}
	}
	if n := p.refreshes() - before; n != 1 {
		t.Fatalf("%d refresh calls after the burst, want still 1", n)
	}
}

type hxResult struct {
	status int
	body   string
	err    error
}

// hxBurst sends n concurrent GETs of u as one API client with jar, all
// released at once, and returns the results in order.
func hxBurst(t *testing.T, u string, jar *cookiejar.Jar, n int) []hxResult {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second}
	out := make([]hxResult, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, err := http.NewRequest(http.MethodGet, u, nil)
			if err != nil {
				out[i].err = err
				return
			}
			req.Header.Set("Accept", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				out[i].err = err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			out[i] = hxResult{status: resp.StatusCode, body: string(b), err: err}
		}()
	}
	close(start)
	wg.Wait()
	return out
}
