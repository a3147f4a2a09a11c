package e2e

// Helpers of the end-to-end tests against panva's oidc-provider (an
// OpenID Certified OpenID Provider run from e2e/oidcop by
// scripts/services.sh): its registration endpoint and test event log, a
// Gatehouse app on the adapters/oidc relying party, and a browser (cookie
// jar) that fills in the OP's own login, consent and logout forms.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"golang.org/x/net/html"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/e2e/internal/harness"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/jwtauth"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// panvaOP is the running test OP.
type panvaOP struct {
	harness.OIDCOP
	hc *http.Client
}

func newPanvaOP(t testing.TB) *panvaOP {
	t.Helper()
	op := harness.OIDCProvider(t)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &panvaOP{OIDCOP: op, hc: &http.Client{Transport: tr, Timeout: 15 * time.Second}}
}

// panvaClient is a client registered at the OP.
type panvaClient struct {
	ID, Secret string
}

// panvaRegistration is what a test registers (RFC 7591 metadata).
type panvaRegistration struct {
	// App is the Gatehouse instance's public URL: its callback and
	// logged-out routes become the redirect and post-logout URIs.
	App string
	// BackChannel is the back-channel logout URI ("" for none); the OP
	// then puts sid into ID and logout tokens.
	BackChannel string
	// AccessTTL is the access token lifetime in seconds (0: the OP's
	// default).
	AccessTTL int
}

// register creates a client of the test's own (client_secret_basic).
func (op *panvaOP) register(t testing.TB, r panvaRegistration) panvaClient {
	t.Helper()
	md := map[string]any{
		"client_name":                "gatehouse e2e " + t.Name(),
		"application_type":           "web",
		"redirect_uris":              []string{r.App + "/auth/oidc/callback"},
		"post_logout_redirect_uris":  []string{r.App + "/auth/oidc/logged-out"},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"token_endpoint_auth_method": "client_secret_basic",
	}
	if r.BackChannel != "" {
		md["backchannel_logout_uri"] = r.BackChannel
		md["backchannel_logout_session_required"] = true
	}
	if r.AccessTTL > 0 {
		md["access_token_ttl"] = r.AccessTTL
	}
	body, _ := json.Marshal(md)
	req, _ := http.NewRequest(http.MethodPost, op.Issuer+"/reg", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+op.RegistrationToken)
	resp, err := op.hc.Do(req)
	if err != nil {
		t.Fatalf("register a client at the OP: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &out) != nil || out.ClientID == "" || out.ClientSecret == "" {
		t.Fatalf("register a client at the OP: %d %s", resp.StatusCode, raw)
	}
	return panvaClient{ID: out.ClientID, Secret: out.ClientSecret}
}

// staticClient is the OP's static client (redirects on any loopback port).
func (op *panvaOP) staticClient() panvaClient {
	return panvaClient{ID: op.ClientID, Secret: op.ClientSecret}
}

// panvaEvent is one entry of the OP's test event log (server.mjs).
type panvaEvent struct {
	Event     string `json:"event"`
	At        string `json:"at"`
	GrantType string `json:"grant_type"`
	ClientID  string `json:"client_id"`
	Account   string `json:"account"`
	SID       string `json:"sid"`
	Error     string `json:"error"`
	ErrorDesc string `json:"error_description"`
}

// events returns the OP's events for client.
func (op *panvaOP) events(t testing.TB, client string) []panvaEvent {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, op.Issuer+"/__test/events?client_id="+url.QueryEscape(client), nil)
	req.Header.Set("Authorization", "Bearer "+op.RegistrationToken)
	resp, err := op.hc.Do(req)
	if err != nil {
		t.Fatalf("read the OP's event log: %v", err)
	}
	defer resp.Body.Close()
	var evs []panvaEvent
	if err := json.NewDecoder(resp.Body).Decode(&evs); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("read the OP's event log: %d %v", resp.StatusCode, err)
	}
	return evs
}

// count counts events named name (and, when grant is set, of that grant
// type) for account ("" = any).
func panvaCount(evs []panvaEvent, name, grant, account string) int {
	n := 0
	for _, e := range evs {
		if e.Event == name && (grant == "" || e.GrantType == grant) && (account == "" || e.Account == account) {
			n++
		}
	}
	return n
}

// waitEvent polls the event log until an event named name shows up for
// client, or fails after d, or at once when one named failOn does.
func (op *panvaOP) waitEvent(t testing.TB, client, name string, d time.Duration, failOn ...string) []panvaEvent {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		evs := op.events(t, client)
		if panvaCount(evs, name, "", "") > 0 {
			return evs
		}
		for _, f := range failOn {
			if panvaCount(evs, f, "", "") > 0 {
				t.Fatalf("waiting for %s, the OP logged %s for client %s; events: %+v", name, f, client, evs)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the OP logged no %s for client %s within %v; events: %+v", name, client, d, evs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stall keeps the OP's event loop busy for d (GET /__test/stall).
func (op *panvaOP) stall(t testing.TB, d time.Duration) error {
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/__test/stall?ms=%d", op.Issuer, d.Milliseconds()), nil)
	req.Header.Set("Authorization", "Bearer "+op.RegistrationToken)
	resp, err := op.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("stall: %s", resp.Status)
	}
	return nil
}

// refreshGrant presents a refresh token at the OP's token endpoint as the
// client would, returning the status and error code.
func (op *panvaOP) refreshGrant(t testing.TB, c panvaClient, rt string) (int, string) {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	req, _ := http.NewRequest(http.MethodPost, op.Issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	resp, err := op.hc.Do(req)
	if err != nil {
		t.Fatalf("token endpoint: %v", err)
	}
	defer resp.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error
}

// panvaUser returns a login name unique to this test run: devInteractions
// accepts any login and makes it the subject.
func panvaUser(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(t.Name(), "-")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return strings.ToLower(strings.Trim(name, "-")) + "-" + hex.EncodeToString(b)
}

// panvaClock is real time plus an offset the test can move forward, so a
// token can be made due without sleeping; the OP keeps real time.
type panvaClock struct{ off atomic.Int64 }

func (c *panvaClock) Now() time.Time                  { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *panvaClock) Advance(d time.Duration)         { c.off.Add(int64(d)) }
func (c *panvaClock) Offset() time.Duration           { return time.Duration(c.off.Load()) }
func (c *panvaClock) since(t time.Time) time.Duration { return c.Now().Sub(t) }

// panvaAppOptions configures a Gatehouse instance over the OP.
type panvaAppOptions struct {
	client panvaClient
	// ln is the listener (default: a fresh loopback one); public is the
	// app's public URL (default: ln's address).
	ln     net.Listener
	public string
	// store, locker, index: the session store (default: memstore), the
	// refresh lock (default: local) and the session index (default: none).
	store  scs.Store
	locker session.Locker
	index  session.IndexStore
	// jwt is the app's JWT authority (default: one of its own).
	jwt *jwtauth.Authority
	// clock is the app's clock (default: real time).
	clock *panvaClock
	// httpClient is the adapter's client for the OP (default: the
	// library's shared one).
	httpClient *http.Client
}

// panvaApp is one Gatehouse instance logged in through the OP.
type panvaApp struct {
	URL  string
	auth *middleware.Auth
	mgr  *session.Manager
	prov *oidc.Provider
	logs *harness.LogCapture
	// refreshes counts Gatehouse's OnRefresh (one per real refresh).
	refreshes atomic.Int64
}

func panvaListen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func panvaJWT(t testing.TB, public string) *jwtauth.Authority {
	t.Helper()
	key, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	a, err := jwtauth.New(jwtauth.Config{Issuer: public, Audience: public + "/api", Keys: []jwtauth.Key{key}, Lifetime: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// newPanvaApp builds and serves a Gatehouse app whose only provider is
// adapters/oidc over the OP, with default session settings (Leeway and
// everything else as a user gets them).
func newPanvaApp(t testing.TB, op *panvaOP, o panvaAppOptions) *panvaApp {
	t.Helper()
	if o.ln == nil {
		o.ln = panvaListen(t)
	}
	if o.public == "" {
		o.public = "http://" + o.ln.Addr().String()
	}
	now := time.Now
	if o.clock != nil {
		now = o.clock.Now
	}
	logs := harness.NewLogCapture()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	prov, err := oidc.New(ctx, oidc.Config{
		Issuer:                op.Issuer,
		ClientID:              o.client.ID,
		ClientSecret:          o.client.Secret,
		RedirectURL:           o.public + "/auth/oidc/callback",
		PostLogoutRedirectURL: o.public + "/auth/oidc/logged-out",
		HTTPClient:            o.httpClient,
		Now:                   now,
		Logger:                logs.Logger(),
	})
	if err != nil {
		t.Fatalf("oidc.New against %s: %v", op.Issuer, err)
	}
	sm := scs.New()
	if o.store != nil {
		sm.Store = o.store
	} else {
		sm.Store = memstore.NewWithCleanupInterval(0)
	}
	sm.Cookie.Name = "gatehouse"
	sm.Cookie.Secure = false // DevMode: plain http on loopback
	sm.Lifetime = 8 * time.Hour
	locker := o.locker
	if locker == nil {
		locker = session.NewLocalLocker()
	}
	mgr, err := session.New(session.Config{SessionManager: sm, Locker: locker, Index: o.index, Now: now, Logger: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mgr.Close() })
	if o.jwt == nil {
		o.jwt = panvaJWT(t, o.public)
	}
	a := &panvaApp{URL: o.public, mgr: mgr, prov: prov, logs: logs}
	lenient := middleware.RateLimit{Failures: 100000, Window: time.Minute}
	auth, err := middleware.New(middleware.Config{
		Providers: []provider.Provider{prov}, Sessions: mgr, PublicURL: o.public, JWT: o.jwt, DevMode: true,
		Now: now, Logger: logs.Logger(),
		LoginRateLimit: lenient, CallbackRateLimit: lenient, PasswordRateLimit: lenient,
		OnRefresh: func(context.Context, middleware.Event) { a.refreshes.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = auth.Close() })
	a.auth = auth
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("GET /{$}", auth.Require(http.HandlerFunc(a.me)))
	mux.Handle("GET /api/me", auth.Require(http.HandlerFunc(a.me)))
	mux.Handle("GET /api/userinfo", auth.Require(http.HandlerFunc(a.userinfo)))
	mux.Handle("GET /test/token", auth.Require(http.HandlerFunc(a.token)))
	srv := &http.Server{Handler: auth.Wrap(mux), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(o.ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return a
}

// panvaMe is what the app's protected pages answer.
type panvaMe struct {
	Provider  string         `json:"provider"`
	Sub       string         `json:"sub"`
	Name      string         `json:"name"`
	Email     string         `json:"email"`
	SessionID string         `json:"upstream_sid"`
	Claims    map[string]any `json:"claims"`
	CSRF      string         `json:"csrf"`
	// Verified are the claims adapters/oidc.ClaimsOf gives.
	Iss      string   `json:"iss"`
	Aud      []string `json:"aud"`
	Verified bool     `json:"verified"`
}

func (a *panvaApp) me(w http.ResponseWriter, r *http.Request) {
	id, _ := middleware.IdentityFrom(r.Context())
	c, ok := oidc.ClaimsOf(id)
	hxWriteJSON(w, http.StatusOK, panvaMe{Provider: id.Provider, Sub: id.Subject, Name: id.Name, Email: id.Email,
		SessionID: id.SessionID, Claims: id.Raw, CSRF: a.auth.CSRFToken(r.Context()),
		Iss: c.Issuer, Aud: c.Audience, Verified: ok})
}

// userinfo calls the OP's UserInfo endpoint with the user's access token
// through Auth.Client (which refreshes it first when due).
func (a *panvaApp) userinfo(w http.ResponseWriter, r *http.Request) {
	client, err := a.auth.Client(r.Context())
	if err != nil {
		hxWriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, a.prov.Endpoints().UserInfo, nil)
	resp, err := client.Do(req)
	if err != nil {
		hxWriteJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		hxWriteJSON(w, http.StatusBadGateway, map[string]any{"error": "userinfo", "status": resp.StatusCode, "body": string(body)})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// token exposes the login's upstream token set, for the tests only (a
// real app never shows it).
func (a *panvaApp) token(w http.ResponseWriter, r *http.Request) {
	l, err := a.mgr.CurrentLogin(r.Context())
	if err != nil || l == nil || l.Token == nil {
		hxWriteJSON(w, http.StatusInternalServerError, map[string]string{"error": fmt.Sprint(err)})
		return
	}
	idt, _ := l.Token.Extra[oidc.ExtraIDToken].(string)
	hxWriteJSON(w, http.StatusOK, map[string]any{
		"access_token": l.Token.AccessToken, "refresh_token": l.Token.RefreshToken, "id_token": idt,
		"expiry": l.Token.Expiry, "login_at": l.LoginAt, "refreshed_at": l.RefreshedAt,
	})
}

// panvaTokens is what /test/token answers.
type panvaTokens struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	IDToken      string    `json:"id_token"`
	Expiry       time.Time `json:"expiry"`
	LoginAt      time.Time `json:"login_at"`
	RefreshedAt  time.Time `json:"refreshed_at"`
}

// panvaBrowser is one browser: a cookie jar shared by the app and the OP
// (both on 127.0.0.1: cookies do not depend on the port).
type panvaBrowser struct {
	t   testing.TB
	jar *cookiejar.Jar
	// follow follows redirects; nf stops at the first response.
	follow, nf *http.Client
	tr         *http.Transport
}

func newPanvaBrowser(t testing.TB) *panvaBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	t.Cleanup(tr.CloseIdleConnections)
	return &panvaBrowser{
		t: t, jar: jar, tr: tr,
		follow: &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second},
		nf: &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

// panvaPage is a response with its body read.
type panvaPage struct {
	*http.Response
	Body string
}

func (b *panvaBrowser) do(c *http.Client, req *http.Request) panvaPage {
	b.t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return panvaPage{Response: resp, Body: string(body)}
}

// get follows redirects.
func (b *panvaBrowser) get(u string) panvaPage {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/json")
	return b.do(b.follow, req)
}

// getNF does not follow redirects.
func (b *panvaBrowser) getNF(u string) panvaPage {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/json")
	return b.do(b.nf, req)
}

// post sends a form as a browser would (with Origin), following redirects
// unless nf.
func (b *panvaBrowser) post(u string, form url.Values, nf bool) panvaPage {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html,application/json")
	pu, _ := url.Parse(u)
	req.Header.Set("Origin", pu.Scheme+"://"+pu.Host)
	if nf {
		return b.do(b.nf, req)
	}
	return b.do(b.follow, req)
}

// panvaForm is an HTML form: its resolved action and the fields a browser
// would submit (hidden and pre-filled inputs).
type panvaForm struct {
	ID, Action, Method string
	Fields             url.Values
	// Buttons are the submit buttons that belong to the form (inside it,
	// or outside with form="ID"), by their visible text.
	Buttons map[string][2]string // text -> {name, value}
}

// panvaForms parses every form of page, resolving actions against base.
func panvaForms(t testing.TB, base *url.URL, page string) []*panvaForm {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	var forms []*panvaForm
	byID := map[string]*panvaForm{}
	attr := func(n *html.Node, k string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val, true
			}
		}
		return "", false
	}
	text := func(n *html.Node) string {
		var sb strings.Builder
		var walk func(*html.Node)
		walk = func(n *html.Node) {
			if n.Type == html.TextNode {
				sb.WriteString(n.Data)
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		walk(n)
		return strings.TrimSpace(sb.String())
	}
	type pending struct {
		n    *html.Node
		form *panvaForm
	}
	var buttons []pending
	var walk func(n *html.Node, cur *panvaForm)
	walk = func(n *html.Node, cur *panvaForm) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				action, _ := attr(n, "action")
				u, err := base.Parse(action)
				if err != nil {
					t.Fatalf("form action %q: %v", action, err)
				}
				method, _ := attr(n, "method")
				id, _ := attr(n, "id")
				cur = &panvaForm{ID: id, Action: u.String(), Method: strings.ToUpper(method), Fields: url.Values{}, Buttons: map[string][2]string{}}
				forms = append(forms, cur)
				if id != "" {
					byID[id] = cur
				}
			case "input":
				name, _ := attr(n, "name")
				typ, _ := attr(n, "type")
				val, _ := attr(n, "value")
				if cur != nil && name != "" && typ != "submit" {
					cur.Fields.Add(name, val)
				}
			case "button":
				buttons = append(buttons, pending{n: n, form: cur})
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, cur)
		}
	}
	walk(doc, nil)
	for _, p := range buttons {
		f := p.form
		if id, ok := attr(p.n, "form"); ok {
			f = byID[id]
		}
		if f == nil {
			continue
		}
		if typ, _ := attr(p.n, "type"); typ != "" && typ != "submit" {
			continue
		}
		name, _ := attr(p.n, "name")
		val, _ := attr(p.n, "value")
		f.Buttons[text(p.n)] = [2]string{name, val}
	}
	return forms
}

// onlyForm returns the single form of page p, which must be an OP page.
func (b *panvaBrowser) onlyForm(p panvaPage, what string) *panvaForm {
	b.t.Helper()
	forms := panvaForms(b.t, p.Request.URL, p.Body)
	if p.StatusCode != http.StatusOK || len(forms) != 1 {
		b.t.Fatalf("%s: want one form on a 200 page, got %d with %d forms at %s:\n%.1500s", what, p.StatusCode, len(forms), p.Request.URL, p.Body)
	}
	return forms[0]
}

// submit posts form f pressing the button whose text is button ("" for
// none), following redirects unless nf.
func (b *panvaBrowser) submit(f *panvaForm, button string, set url.Values, nf bool) panvaPage {
	b.t.Helper()
	if f.Method != "" && f.Method != http.MethodPost {
		b.t.Fatalf("form to %s has method %s, want POST", f.Action, f.Method)
	}
	v := url.Values{}
	for k, vs := range f.Fields {
		v[k] = append([]string(nil), vs...)
	}
	for k, vs := range set {
		if _, ok := v[k]; !ok {
			b.t.Fatalf("form to %s has no field %q (fields: %v)", f.Action, k, f.Fields)
		}
		v[k] = vs
	}
	if button != "" {
		nv, ok := f.Buttons[button]
		if !ok {
			b.t.Fatalf("form to %s has no button %q (buttons: %v)", f.Action, button, f.Buttons)
		}
		if nv[0] != "" {
			v.Set(nv[0], nv[1])
		}
	}
	return b.post(f.Action, v, nf)
}

// login signs in at app through the OP's own forms: the app's login
// route, the OP's login form (any login and password), its consent form,
// and back to the app. It returns the app page the browser lands on.
func (b *panvaBrowser) login(app, user string) panvaPage {
	b.t.Helper()
	p := b.get(app + "/auth/oidc/login")
	lf := b.onlyForm(p, "the OP's login form")
	if lf.Fields.Get("prompt") != "login" {
		b.t.Fatalf("first OP page is not the login form (prompt=%q) at %s:\n%.1500s", lf.Fields.Get("prompt"), p.Request.URL, p.Body)
	}
	p = b.submit(lf, "Sign-in", url.Values{"login": {user}, "password": {"any password " + user}}, false)
	if strings.HasPrefix(p.Request.URL.String(), app) {
		return p // consent given earlier for this client
	}
	cf := b.onlyForm(p, "the OP's consent form")
	if cf.Fields.Get("prompt") != "consent" {
		b.t.Fatalf("second OP page is not the consent form (prompt=%q) at %s:\n%.1500s", cf.Fields.Get("prompt"), p.Request.URL, p.Body)
	}
	p = b.submit(cf, "Continue", nil, false)
	if !strings.HasPrefix(p.Request.URL.String(), app) {
		b.t.Fatalf("after consent the browser is at %s, not back at the app %s:\n%.1500s", p.Request.URL, app, p.Body)
	}
	return p
}

// me reads the app's identity page; ok is false when the browser is not
// logged in there (the app sends it to log in).
func (b *panvaBrowser) me(app string) (panvaMe, bool) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, app+"/api/me", nil)
	req.Header.Set("Accept", "application/json")
	p := b.do(b.nf, req)
	if p.StatusCode != http.StatusOK {
		return panvaMe{}, false
	}
	var m panvaMe
	if err := json.Unmarshal([]byte(p.Body), &m); err != nil {
		b.t.Fatalf("GET /api/me: %v: %s", err, p.Body)
	}
	return m, true
}

// tokens reads the login's token set from the test route.
func (b *panvaBrowser) tokens(app string) panvaTokens {
	b.t.Helper()
	p := b.getNF(app + "/test/token")
	var tk panvaTokens
	if p.StatusCode != http.StatusOK || json.Unmarshal([]byte(p.Body), &tk) != nil {
		b.t.Fatalf("GET /test/token: %d %s", p.StatusCode, p.Body)
	}
	return tk
}
