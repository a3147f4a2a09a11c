package e2e

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0) from
// panva's oidc-provider to two Gatehouse instances sharing Redis (session
// store, refresh lock and session index). Needs GATEHOUSE_OIDC_ISSUER and
// GATEHOUSE_REDIS_ADDR.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/session/redisindex"
	"github.com/gatehouse-auth/gatehouse/session/redislock"
)

// panvaLogoutRecorder stands between the OP and one instance's
// back-channel logout route (as a load balancer would), keeping each
// logout token it forwards.
type panvaLogoutRecorder struct {
	URL    string
	mu     sync.Mutex
	tokens []string
}

func newPanvaLogoutRecorder(t testing.TB, backend string) *panvaLogoutRecorder {
	t.Helper()
	r := &panvaLogoutRecorder{}
	hc := &http.Client{Timeout: 10 * time.Second}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("logout_token") != "" {
			r.mu.Lock()
			r.tokens = append(r.tokens, form.Get("logout_token"))
			r.mu.Unlock()
		}
		out, _ := http.NewRequest(req.Method, backend+req.URL.RequestURI(), strings.NewReader(string(body)))
		out.Header = req.Header.Clone()
		resp, err := hc.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *panvaLogoutRecorder) recorded() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...)
}

// panvaBackChannel posts a logout token to an instance's back-channel
// route as the OP would.
func panvaBackChannel(t testing.TB, app, token string) (int, string) {
	t.Helper()
	resp, err := http.Post(app+"/auth/oidc/backchannel-logout", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// panvaBearerStatus calls /api/me of app with a bearer JWT.
func panvaBearerStatus(t testing.TB, app, jwt string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, app+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+jwt)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// mintJWT gets a bearer JWT for the browser's session at app.
func (b *panvaBrowser) mintJWT(app, csrf string) string {
	b.t.Helper()
	p := b.post(app+"/auth/token", url.Values{"csrf_token": {csrf}}, true)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if p.StatusCode != http.StatusOK || json.Unmarshal([]byte(p.Body), &tok) != nil || tok.AccessToken == "" {
		b.t.Fatalf("POST /auth/token: %d %.300s", p.StatusCode, p.Body)
	}
	return tok.AccessToken
}

// TestPanvaOP_BackChannelLogoutAcrossInstances: given two Gatehouse
// instances A and B sharing Redis, a user logged in through A (OP session
// 1, and a bearer JWT minted at A) and the same user logged in again in
// another browser (OP session 2), when the user signs out at the OP itself
// (its end-session page, not through Gatehouse) from session 1, then the OP
// delivers a logout token to B's back-channel route, and session 1's login
// ends everywhere: the browser is logged out at A and at B, and the JWT
// stops working at both, at once; session 2's login is untouched. The same
// logout token again (to A), or a tampered one, gets 400 with a JSON error
// and changes nothing.
func TestPanvaOP_BackChannelLogoutAcrossInstances(t *testing.T) {
	t.Parallel()
	op := newPanvaOP(t)
	rc, prefix := hxRedis(t)
	lnA, lnB := panvaListen(t), panvaListen(t)
	public := "http://" + lnA.Addr().String() // the browser's address of the app
	directB := "http://" + lnB.Addr().String()
	rec := newPanvaLogoutRecorder(t, directB)
	client := op.register(t, panvaRegistration{App: public, BackChannel: rec.URL + "/auth/oidc/backchannel-logout"})
	jwt := panvaJWT(t, public)
	instance := func(c *redis.Client, o panvaAppOptions) *panvaApp {
		idx, err := redisindex.New(redisindex.Config{Client: c, SessionPrefix: prefix + "s:", Prefix: prefix + "idx:"})
		if err != nil {
			t.Fatal(err)
		}
		lock, err := redislock.New(redislock.Config{Client: c, Prefix: prefix + "lock:"})
		if err != nil {
			t.Fatal(err)
		}
		o.client, o.public, o.jwt = client, public, jwt
		o.store, o.locker, o.index = goredisstore.NewWithPrefix(c, prefix+"s:"), lock, idx
		return newPanvaApp(t, op, o)
	}
	rcB := redis.NewClient(&redis.Options{Addr: rc.Options().Addr, PoolSize: 16})
	t.Cleanup(func() { _ = rcB.Close() })
	a := instance(rc, panvaAppOptions{ln: lnA})
	instance(rcB, panvaAppOptions{ln: lnB})

	user := panvaUser(t)
	b1, b2 := newPanvaBrowser(t), newPanvaBrowser(t)
	b1.login(a.URL, user)
	b2.login(a.URL, user)
	me1, ok := b1.me(a.URL)
	if !ok {
		t.Fatal("browser 1 not logged in at A")
	}
	me2, ok := b2.me(a.URL)
	if !ok {
		t.Fatal("browser 2 not logged in at A")
	}
	if me1.SessionID == "" || me2.SessionID == "" || me1.SessionID == me2.SessionID {
		t.Fatalf("OP session ids (sid) = %q and %q, want two different non-empty ones", me1.SessionID, me2.SessionID)
	}
	// B serves the same session (the cookie is the browser's; the store is
	// shared).
	if m, ok := b1.me(directB); !ok || m.Sub != user {
		t.Fatal("browser 1 is not logged in at B (shared store)")
	}
	bearer := b1.mintJWT(a.URL, me1.CSRF)
	for _, u := range []string{a.URL, directB} {
		if s := panvaBearerStatus(t, u, bearer); s != http.StatusOK {
			t.Fatalf("bearer JWT at %s: %d before logout, want 200", u, s)
		}
	}

	// The user signs out at the OP itself, from browser 1.
	end := a.prov.Endpoints().EndSession
	p := b1.get(end + "?client_id=" + url.QueryEscape(client.ID))
	f := b1.onlyForm(p, "the OP's logout confirmation")
	if done := b1.submit(f, "Yes, sign me out", nil, false); done.StatusCode != http.StatusOK {
		t.Fatalf("OP sign-out: %d %.500s", done.StatusCode, done.Body)
	}
	evs := op.waitEvent(t, client.ID, "backchannel.success", 10*time.Second, "backchannel.error")
	if n := panvaCount(evs, "backchannel.error", "", ""); n != 0 {
		t.Fatalf("the OP's back-channel delivery failed: %+v", evs)
	}
	toks := rec.recorded()
	if len(toks) != 1 {
		t.Fatalf("B received %d logout tokens, want 1", len(toks))
	}
	if c := panvaJWTClaims(t, toks[0]); c["sid"] != me1.SessionID || c["sub"] != user {
		t.Fatalf("logout token sid=%v sub=%v, want %s and %s", c["sid"], c["sub"], me1.SessionID, user)
	}

	// Browser 1's login is over on both instances; its JWT too.
	for _, u := range []string{a.URL, directB} {
		if _, ok := b1.me(u); ok {
			t.Fatalf("browser 1 still logged in at %s after back-channel logout", u)
		}
		if s := panvaBearerStatus(t, u, bearer); s != http.StatusUnauthorized {
			t.Fatalf("bearer JWT at %s: %d after back-channel logout, want 401", u, s)
		}
	}
	// Browser 2 (another OP session of the same user) is untouched.
	if _, ok := b2.me(a.URL); !ok {
		t.Fatal("browser 2 (another OP session) was logged out too")
	}

	// Replay to the other instance, and a tampered token: 400 JSON, no
	// change.
	tampered := toks[0][:len(toks[0])-4] + strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return 'A'
	}, toks[0][len(toks[0])-4:])
	for name, tok := range map[string]string{"replayed": toks[0], "tampered": tampered} {
		status, body := panvaBackChannel(t, a.URL, tok)
		var e struct {
			Error string `json:"error"`
		}
		if status != http.StatusBadRequest || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
			t.Fatalf("%s logout token at A: %d %.300s, want 400 with a JSON error", name, status, body)
		}
	}
	if _, ok := b2.me(directB); !ok {
		t.Fatal("browser 2 logged out by a refused logout token")
	}
}
