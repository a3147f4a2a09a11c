package e2e

// Gatehouse's OpenID Connect relying party (adapters/oidc through the
// middleware) end to end against an independent, OpenID Certified OP:
// panva's oidc-provider, pinned in e2e/oidcop and started by
// scripts/services.sh (GATEHOUSE_OIDC_ISSUER; without it these tests skip,
// under CI=true they fail). The browser fills in the OP's own login,
// consent and logout forms; the OP's event log (server.mjs) counts what
// reached its token endpoint.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestPanvaOP_Login: given the OP's static client, when a user signs in
// through the OP's login and consent forms, then Gatehouse verified the ID
// token (iss = the issuer, aud = the client) and maps the identity: sub is
// the login, email and name come from the OP, and the ID token is kept for
// logout; the OP saw one authorization-code grant and no refresh.
func TestPanvaOP_Login(t *testing.T) {
	t.Parallel()
	op := newPanvaOP(t)
	app := newPanvaApp(t, op, panvaAppOptions{client: op.staticClient()})
	b := newPanvaBrowser(t)
	user := panvaUser(t)

	p := b.login(app.URL, user)
	if p.StatusCode != http.StatusOK || p.Request.URL.Path != "/" {
		t.Fatalf("after login: %d at %s, want 200 at the app's /:\n%.500s", p.StatusCode, p.Request.URL, p.Body)
	}
	me, ok := b.me(app.URL)
	if !ok {
		t.Fatal("not logged in after the OP's forms")
	}
	want := panvaMe{Provider: "oidc", Sub: user, Name: "Test User " + user, Email: user + "@example.test", Iss: op.Issuer, Verified: true}
	if me.Provider != want.Provider || me.Sub != want.Sub || me.Name != want.Name || me.Email != want.Email || me.Iss != want.Iss || !me.Verified {
		t.Fatalf("identity = %+v, want %+v", me, want)
	}
	if !slices.Contains(me.Aud, op.ClientID) {
		t.Fatalf("verified aud = %v, want it to contain %q", me.Aud, op.ClientID)
	}
	if v, _ := me.Claims["email_verified"].(bool); !v {
		t.Fatalf("email_verified claim = %v, want true", me.Claims["email_verified"])
	}
	tk := b.tokens(app.URL)
	if tk.AccessToken == "" || tk.RefreshToken == "" {
		t.Fatalf("token set lacks an access or refresh token: at=%t rt=%t", tk.AccessToken != "", tk.RefreshToken != "")
	}
	claims := panvaJWTClaims(t, tk.IDToken)
	if claims["sub"] != user || claims["iss"] != op.Issuer || claims["nonce"] == nil {
		t.Fatalf("kept ID token: sub=%v iss=%v nonce present=%t", claims["sub"], claims["iss"], claims["nonce"] != nil)
	}
	// The app's upstream client reaches the OP's UserInfo with the token.
	p = b.get(app.URL + "/api/userinfo")
	var ui map[string]any
	if p.StatusCode != http.StatusOK || json.Unmarshal([]byte(p.Body), &ui) != nil || ui["sub"] != user {
		t.Fatalf("GET /api/userinfo: %d %s", p.StatusCode, p.Body)
	}
	evs := op.events(t, op.ClientID)
	if n := panvaCount(evs, "grant.success", "authorization_code", user); n != 1 {
		t.Fatalf("the OP saw %d authorization-code grants for %s, want 1", n, user)
	}
	if n := panvaCount(evs, "grant.success", "refresh_token", user); n != 0 {
		t.Fatalf("the OP saw %d refreshes for %s, want 0", n, user)
	}
}

// panvaJWTClaims decodes a JWT's payload without verifying it (the test
// only reads what Gatehouse kept).
func panvaJWTClaims(t testing.TB, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS compact serialisation: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return m
}

// TestPanvaOP_DiscoveryIssuerMismatch: given the OP's discovery document,
// whose issuer is http://127.0.0.1:PORT, when Gatehouse is configured with
// the same server under another name (localhost), then oidc.New fails with
// ErrDiscovery naming both issuers.
func TestPanvaOP_DiscoveryIssuerMismatch(t *testing.T) {
	t.Parallel()
	op := newPanvaOP(t)
	alias := strings.Replace(op.Issuer, "127.0.0.1", "localhost", 1)
	if alias == op.Issuer {
		t.Skipf("issuer %s is not on 127.0.0.1; no alias to test with", op.Issuer)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := oidc.New(ctx, oidc.Config{Issuer: alias, ClientID: op.ClientID, ClientSecret: op.ClientSecret,
		RedirectURL: "http://127.0.0.1:1/auth/oidc/callback"})
	if !errors.Is(err, oidc.ErrDiscovery) || !strings.Contains(err.Error(), alias) || !strings.Contains(err.Error(), op.Issuer) {
		t.Fatalf("oidc.New(%s) = %v, want ErrDiscovery naming %s and %s", alias, err, alias, op.Issuer)
	}
}

// TestPanvaOP_RefreshBurstStrictRotation: given a login whose access token
// (8 s) has expired, at an OP that rotates refresh tokens and revokes the
// whole grant when a consumed one is presented again, when 200 requests
// that each call the OP's UserInfo arrive at once, then all 200 succeed as
// the user, the OP saw exactly one refresh and no failed grant, Gatehouse
// reported one refresh, and the user is still logged in. Then, to show the
// OP's reuse detection was armed all along, the replaced refresh token is
// presented again: the OP refuses it and revokes the grant, and the app's
// next refresh ends the login.
func TestPanvaOP_RefreshBurstStrictRotation(t *testing.T) {
	t.Parallel()
	op := newPanvaOP(t)
	ln := panvaListen(t)
	public := "http://" + ln.Addr().String()
	client := op.register(t, panvaRegistration{App: public, AccessTTL: 8})
	clock := &panvaClock{}
	app := newPanvaApp(t, op, panvaAppOptions{client: client, ln: ln, public: public, clock: clock})
	b := newPanvaBrowser(t)
	user := panvaUser(t)
	b.login(app.URL, user)
	before := b.tokens(app.URL)

	// Past the token's expiry on Gatehouse's clock (the OP keeps real
	// time: its answer to the refresh is what counts).
	clock.Advance(9 * time.Second)
	const n = 200
	start := make(chan struct{})
	var wg sync.WaitGroup
	type result struct {
		status int
		body   string
	}
	results := make([]result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest(http.MethodGet, app.URL+"/api/userinfo", nil)
			req.Header.Set("Accept", "application/json")
			resp, err := b.nf.Do(req)
			if err != nil {
				results[i] = result{body: err.Error()}
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			results[i] = result{status: resp.StatusCode, body: string(body)}
		}()
	}
	close(start)
	wg.Wait()
	bad := 0
	for i, r := range results {
		var ui map[string]any
		if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &ui) != nil || ui["sub"] != user {
			if bad < 5 {
				t.Errorf("request %d: %d %.300s", i, r.status, r.body)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d concurrent requests failed", bad, n)
	}
	evs := op.events(t, client.ID)
	if got := panvaCount(evs, "grant.success", "refresh_token", ""); got != 1 {
		t.Fatalf("the OP saw %d refreshes for %d concurrent requests, want exactly 1", got, n)
	}
	if got := panvaCount(evs, "grant.error", "", "") + panvaCount(evs, "grant.revoked", "", ""); got != 0 {
		t.Fatalf("the OP logged %d failed or revoked grants: %+v", got, evs)
	}
	if got := app.refreshes.Load(); got != 1 {
		t.Fatalf("Gatehouse reported %d refreshes, want 1", got)
	}
	after := b.tokens(app.URL)
	if after.RefreshToken == "" || after.RefreshToken == before.RefreshToken || after.AccessToken == before.AccessToken {
		t.Fatal("the session does not hold the rotated token set")
	}
	if _, ok := b.me(app.URL); !ok {
		t.Fatal("the user was logged out by the burst")
	}

	// Reuse detection is live: the replaced refresh token is refused and
	// the OP revokes the grant...
	if status, code := op.refreshGrant(t, client, before.RefreshToken); status != http.StatusBadRequest || code != "invalid_grant" {
		t.Fatalf("replayed refresh token: %d %q, want 400 invalid_grant", status, code)
	}
	op.waitEvent(t, client.ID, "grant.revoked", 5*time.Second)
	// ...so the app's next refresh fails with invalid_grant and ends the
	// login instead of serving the user on a revoked grant.
	clock.Advance(9 * time.Second)
	p := b.getNF(app.URL + "/api/userinfo")
	if p.StatusCode == http.StatusOK {
		t.Fatalf("after the OP revoked the grant, /api/userinfo = 200: %s", p.Body)
	}
	if _, ok := b.me(app.URL); ok {
		t.Fatal("still logged in after the OP revoked the grant")
	}
}

// TestPanvaOP_ShortTokensNoEarlyRefresh: given 8 s access tokens and the
// default session settings (Leeway 60 s), when 10 requests calling the
// OP's UserInfo come one after another within a second of login, then
// none of them refreshes: a fresh token is used as it is.
func TestPanvaOP_ShortTokensNoEarlyRefresh(t *testing.T) {
	t.Parallel()
	op := newPanvaOP(t)
	ln := panvaListen(t)
	public := "http://" + ln.Addr().String()
	client := op.register(t, panvaRegistration{App: public, AccessTTL: 8})
	app := newPanvaApp(t, op, panvaAppOptions{client: client, ln: ln, public: public})
	b := newPanvaBrowser(t)
	user := panvaUser(t)
	b.login(app.URL, user)
	loggedIn := time.Now()
	for i := range 10 {
		p := b.getNF(app.URL + "/api/userinfo")
		if p.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, p.StatusCode, p.Body)
		}
	}
	if d := time.Since(loggedIn); d > time.Second {
		t.Logf("the 10 requests took %v (more than the second the scenario asks for; the count below still holds)", d)
	}
	evs := op.events(t, client.ID)
	if got := panvaCount(evs, "grant.success", "refresh_token", ""); got != 0 {
		t.Fatalf("10 requests within a second of login made %d refreshes at the OP (Gatehouse reported %d), want 0: "+
			"an 8 s token is refreshed as soon as it arrives", got, app.refreshes.Load())
	}
	if got := app.refreshes.Load(); got != 0 {
		t.Fatalf("Gatehouse reported %d refreshes, want 0", got)
	}
}

// TestPanvaOP_RefreshAfterIdleKeepAlive: given an OP on Node.js, which
// advertises "Keep-Alive: timeout=5" and closes an idle connection about
// 6 s after its last response, when a refresh is due just after that
// point, then the user sees no failure: the request succeeds, the OP saw
// exactly one refresh and no failed grant, and the user stays logged in.
//
// To put the refresh exactly there, the OP's event loop is kept busy from
// 5.7 s to 6.5 s after the login's last call to it (GET /__test/stall),
// and the refresh is sent at 6.15 s: a client that reuses the idle
// connection writes its POST into a socket the OP closes, unread, as soon
// as its loop resumes (connection reset; Go does not retry a POST); a
// client that does not keep connections idle that long opens a new one,
// which the OP serves after the stall. The adapter gets its own
// provider.NewHTTPClient() (the library's default client construction), so
// no other test's traffic refreshes the idle connection.
func TestPanvaOP_RefreshAfterIdleKeepAlive(t *testing.T) {
	t.Parallel()
	op := newPanvaOP(t)
	ln := panvaListen(t)
	public := "http://" + ln.Addr().String()
	client := op.register(t, panvaRegistration{App: public, AccessTTL: 8})
	clock := &panvaClock{}
	app := newPanvaApp(t, op, panvaAppOptions{client: client, ln: ln, public: public, clock: clock,
		httpClient: provider.NewHTTPClient()})
	b := newPanvaBrowser(t)
	user := panvaUser(t)
	b.login(app.URL, user)
	// The callback's UserInfo call was the adapter's last use of its
	// connection to the OP; Node closes it about 6 s after that.
	idleFrom := time.Now()

	time.Sleep(time.Until(idleFrom.Add(5700 * time.Millisecond)))
	stalled := make(chan error, 1)
	go func() { stalled <- op.stall(t, 800*time.Millisecond) }()
	time.Sleep(time.Until(idleFrom.Add(6150 * time.Millisecond)))
	clock.Advance(9 * time.Second) // the 8 s token is due
	p := b.getNF(app.URL + "/api/userinfo")
	if err := <-stalled; err != nil {
		t.Fatalf("stall the OP: %v", err)
	}
	var ui map[string]any
	if p.StatusCode != http.StatusOK || json.Unmarshal([]byte(p.Body), &ui) != nil || ui["sub"] != user {
		t.Fatalf("refresh %v after the adapter's last call to the OP, where Node closes idle connections: %d %.300s",
			time.Since(idleFrom).Round(10*time.Millisecond), p.StatusCode, p.Body)
	}
	evs := op.events(t, client.ID)
	if got := panvaCount(evs, "grant.success", "refresh_token", ""); got != 1 {
		t.Fatalf("the OP saw %d refreshes, want 1", got)
	}
	if got := panvaCount(evs, "grant.error", "", ""); got != 0 {
		t.Fatalf("the OP logged %d failed grants: %+v", got, evs)
	}
	if _, ok := b.me(app.URL); !ok {
		t.Fatal("logged out after the idle refresh")
	}
}

// TestPanvaOP_RPInitiatedLogout: given a logged-in user, when they log out
// at the app, then the app ends its session and sends the browser to the
// OP's end_session_endpoint with id_token_hint (the login's ID token),
// client_id, post_logout_redirect_uri and state; the browser confirms on
// the OP's own form; the OP returns it to the app's logged-out route, which
// checks state and goes on to the app. The user is logged out at the app
// and at the OP (a new login shows the OP's login form again), and the
// app revoked the grant at the OP. A return with a wrong state is refused.
func TestPanvaOP_RPInitiatedLogout(t *testing.T) {
	t.Parallel()
	op := newPanvaOP(t)
	ln := panvaListen(t)
	public := "http://" + ln.Addr().String()
	client := op.register(t, panvaRegistration{App: public})
	app := newPanvaApp(t, op, panvaAppOptions{client: client, ln: ln, public: public})
	b := newPanvaBrowser(t)
	user := panvaUser(t)
	b.login(app.URL, user)
	me, ok := b.me(app.URL)
	if !ok {
		t.Fatal("not logged in")
	}
	tk := b.tokens(app.URL)

	p := b.post(app.URL+"/auth/logout", url.Values{"csrf_token": {me.CSRF}}, true)
	if p.StatusCode != http.StatusSeeOther && p.StatusCode != http.StatusFound {
		t.Fatalf("POST /auth/logout: %d %.500s, want a redirect to the OP", p.StatusCode, p.Body)
	}
	loc, err := url.Parse(p.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	end := app.prov.Endpoints().EndSession
	q := loc.Query()
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != end {
		t.Fatalf("logout redirects to %s, want the OP's end_session_endpoint %s", got, end)
	}
	if q.Get("id_token_hint") != tk.IDToken || q.Get("client_id") != client.ID ||
		q.Get("post_logout_redirect_uri") != app.URL+"/auth/oidc/logged-out" || q.Get("state") == "" {
		t.Fatalf("end_session parameters: id_token_hint ok=%t client_id=%q post_logout_redirect_uri=%q state=%q",
			q.Get("id_token_hint") == tk.IDToken, q.Get("client_id"), q.Get("post_logout_redirect_uri"), q.Get("state"))
	}
	for _, secret := range []string{tk.AccessToken, tk.RefreshToken} {
		if strings.Contains(loc.String(), secret) {
			t.Fatal("the end_session URL carries an access or refresh token")
		}
	}
	if _, ok := b.me(app.URL); ok {
		t.Fatal("still logged in at the app before the OP's confirmation")
	}

	// The OP's confirmation form, "Yes, sign me out"; the OP sends the
	// browser back to the app's logged-out route, which sends it on.
	cp := b.get(loc.String())
	f := b.onlyForm(cp, "the OP's logout confirmation")
	back := b.submit(f, "Yes, sign me out", nil, true)
	if back.StatusCode != http.StatusSeeOther && back.StatusCode != http.StatusFound {
		t.Fatalf("OP logout confirmation: %d %.500s", back.StatusCode, back.Body)
	}
	ret, _ := url.Parse(back.Header.Get("Location"))
	if ret == nil || !strings.HasPrefix(ret.String(), app.URL+"/auth/oidc/logged-out?") || ret.Query().Get("state") != q.Get("state") {
		t.Fatalf("the OP sends the browser to %q, want the app's logged-out route with state %q", back.Header.Get("Location"), q.Get("state"))
	}
	done := b.getNF(ret.String())
	if done.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET logged-out: %d %.500s, want 303 to the app", done.StatusCode, done.Body)
	}
	if l := done.Header.Get("Location"); l != "/" && l != app.URL+"/" {
		t.Fatalf("logged-out goes on to %q, want /", l)
	}
	if _, ok := b.me(app.URL); ok {
		t.Fatal("still logged in at the app after logout")
	}
	op.waitEvent(t, client.ID, "end_session.success", 5*time.Second)

	// Gatehouse revoked the grant at the OP (in the background).
	op.waitEvent(t, client.ID, "grant.revoked", 10*time.Second)
	if status, code := op.refreshGrant(t, client, tk.RefreshToken); status != http.StatusBadRequest || code != "invalid_grant" {
		t.Fatalf("the logged-out login's refresh token still works at the OP: %d %q", status, code)
	}

	// The state is single-use: the same return again is refused, and so
	// is a made-up one.
	for _, u := range []string{ret.String(), app.URL + "/auth/oidc/logged-out?state=forged"} {
		if r := b.getNF(u); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("GET %s: %d, want 400", u, r.StatusCode)
		}
	}

	// The OP session is over too: signing in again shows its login form.
	p = b.get(app.URL + "/auth/oidc/login")
	if lf := b.onlyForm(p, "the OP's login form after logout"); lf.Fields.Get("prompt") != "login" {
		t.Fatalf("after logout the OP did not ask to log in again (prompt=%q)", lf.Fields.Get("prompt"))
	}
}
