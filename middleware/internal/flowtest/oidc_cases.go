package flowtest

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
)

// oidcLogin logs b in at provider "oidc" through the OP's consent page
// (Allow) and returns the callback's reply.
func (e *env) oidcLogin(b *browser, returnTo string) *response {
	e.t.Helper()
	au := e.startLogin(b, "oidc", "return_to="+url.QueryEscape(returnTo))
	loc, err := e.op.Authorize(context.Background(), au.String(), false)
	must(e.t, err)
	e.secret(loc.Query().Get("code"), "authorization code")
	return b.get("/auth/oidc/callback?" + loc.RawQuery)
}

// idTokenOf returns the raw ID token of b's login (through the private
// handler, which records the login's token set).
func (e *env) idTokenOf(b *browser) string {
	e.t.Helper()
	status(e.t, b.get(PathPrivate), http.StatusOK)
	e.mu.Lock()
	defer e.mu.Unlock()
	raw, _ := e.lastTok.Extra[oidc.ExtraIDToken].(string)
	if raw == "" {
		e.t.Fatal("the login's token set holds no ID token")
	}
	return raw
}

func loggedIn(t *testing.T, b *browser, want bool) {
	t.Helper()
	res := b.get(PathPrivate)
	if got := res.StatusCode == http.StatusOK && strings.HasPrefix(res.body, "hello "); got != want {
		t.Fatalf("logged in = %v, want %v (status %d, body %.200s)", got, want, res.StatusCode, res.body)
	}
}

func oidcCases() []testCase {
	on := options{oidc: true}
	return []testCase{
		{name: "OIDC login through the consent page: nonce, verified ID token, claims in OnLogin, no ID token shown", opts: on, run: func(t *testing.T, e *env) {
			b := e.browser()
			au := e.startLogin(b, "oidc", "return_to=%2Fprivate")
			q := au.Query()
			if len(q.Get("nonce")) < 22 || !strings.HasPrefix(q.Get("scope"), "openid") || q.Get("code_challenge_method") != "S256" {
				t.Fatalf("authorize query: %v", q)
			}
			loc, err := e.op.Authorize(context.Background(), au.String(), false)
			must(t, err)
			if loc.Query().Get("iss") != e.op.Issuer {
				t.Fatalf("the OP sent iss %q", loc.Query().Get("iss"))
			}
			res := b.get("/auth/oidc/callback?" + loc.RawQuery)
			status(t, res, http.StatusSeeOther)
			if res.Header.Get("Location") != "/private" {
				t.Fatalf("Location %q", res.Header.Get("Location"))
			}
			if got := b.get(PathPrivate).body; got != "hello oidc-user" {
				t.Fatalf("private: %q", got)
			}
			e.mu.Lock()
			logins := append(e.logins[:0:0], e.logins...)
			e.mu.Unlock()
			if len(logins) != 1 {
				t.Fatalf("OnLogin saw %d identities", len(logins))
			}
			c, ok := oidc.ClaimsOf(&logins[0])
			if !ok || c.Issuer != e.op.Issuer || c.Subject != "oidc-user" || c.SessionID == "" || !c.EmailVerified || c.Email != "grace@example.com" {
				t.Fatalf("claims in OnLogin: %+v (ok %v)", c, ok)
			}
			if logins[0].SessionID != c.SessionID {
				t.Fatalf("Identity.SessionID %q, sid %q", logins[0].SessionID, c.SessionID)
			}
			e.secret(e.idTokenOf(b), "ID token")
			e.assertNoSecrets()
		}},
		{name: "OIDC consent Deny: access_denied page, no token call", opts: on, run: func(t *testing.T, e *env) {
			b := e.browser()
			au := e.startLogin(b, "oidc", "")
			loc, err := e.op.Authorize(context.Background(), au.String(), true)
			must(t, err)
			res := b.get("/auth/oidc/callback?" + loc.RawQuery)
			status(t, res, http.StatusForbidden)
			contains(t, res.body, "cancelled")
			if strings.Contains(res.body, "access_denied") {
				t.Fatalf("protocol error code on the page: %.600s", res.body)
			}
			if n := e.op.Calls(oidctest.EndpointToken); n != 0 {
				t.Fatalf("token calls %d", n)
			}
			loggedIn(t, b, false)
		}},
		{name: "OIDC bad ID token or UserInfo sub: login fails, UserInfo never called after a bad ID token", opts: on, run: func(t *testing.T, e *env) {
			for _, m := range []oidctest.Misbehaviour{
				{WrongNonce: true}, {IDTokenIss: "https://op.evil.example"}, {IDTokenAud: []string{"other"}},
				{BadSignature: true}, {AlgNone: true}, {HS256PublicKey: true}, {OmitIat: true}, {OmitSub: true},
			} {
				e.op.Misbehave(m)
				b := e.browser()
				before := e.op.Calls(oidctest.EndpointUserInfo)
				status(t, e.oidcLogin(b, "/"), http.StatusBadGateway)
				if n := e.op.Calls(oidctest.EndpointUserInfo) - before; n != 0 {
					t.Fatalf("%+v: UserInfo called %d times", m, n)
				}
				loggedIn(t, b, false)
			}
			e.op.Misbehave(oidctest.Misbehaviour{UserInfoSub: "someone-else"})
			b := e.browser()
			status(t, e.oidcLogin(b, "/"), http.StatusBadGateway)
			loggedIn(t, b, false)
		}},
		{name: "OIDC RFC 9207: iss checked before error=, and required when advertised", opts: on, run: func(t *testing.T, e *env) {
			b := e.browser()
			for _, extra := range []string{
				"error=access_denied&error_description=%3Cscript%3E&iss=https%3A%2F%2Fop.evil.example",
				"error=access_denied",  // no iss although the OP advertises it
				"code=x&iss=" + "http", // wrong
			} {
				au := e.startLogin(b, "oidc", "")
				res := b.get("/auth/oidc/callback?state=" + url.QueryEscape(au.Query().Get("state")) + "&" + extra)
				status(t, res, http.StatusBadRequest)
				contains(t, res.body, "unexpected sign-in service")
			}
			if n := e.op.Calls(oidctest.EndpointToken); n != 0 {
				t.Fatalf("token calls %d", n)
			}
			e.op.Misbehave(oidctest.Misbehaviour{OmitIssParameter: true})
			status(t, e.oidcLogin(b, "/"), http.StatusBadRequest)
			e.op.Misbehave(oidctest.Misbehaviour{})
			status(t, e.oidcLogin(b, "/"), http.StatusSeeOther)
		}},
		{name: "OIDC refresh: the refreshed ID token is verified; a changed sub ends the login", opts: on, run: func(t *testing.T, e *env) {
			b := e.browser()
			status(t, e.oidcLogin(b, "/"), http.StatusSeeOther)
			first := e.idTokenOf(b)
			e.clk.Advance(2 * time.Hour)
			loggedIn(t, b, true)
			if n := e.op.Calls(oidctest.EndpointRefresh); n != 1 {
				t.Fatalf("refresh calls %d", n)
			}
			if e.idTokenOf(b) == first {
				t.Fatal("the refreshed ID token was not kept")
			}
			e.op.Misbehave(oidctest.Misbehaviour{RefreshSub: "someone-else"})
			e.clk.Advance(2 * time.Hour)
			loggedIn(t, b, false)
			if n := e.op.Calls(oidctest.EndpointRefresh); n != 2 {
				t.Fatalf("refresh calls %d", n)
			}
		}},
		{name: "OIDC RP-initiated logout: end_session with id_token_hint, state checked on return", opts: on, run: func(t *testing.T, e *env) {
			b := e.browser()
			status(t, e.oidcLogin(b, "/"), http.StatusSeeOther)
			idt := e.idTokenOf(b)
			e.mu.Lock()
			at, rt := e.lastTok.AccessToken, e.lastTok.RefreshToken
			e.mu.Unlock()
			csrf := csrfFrom(t, b.get("/auth/logout").body)
			res := b.postForm("/auth/logout", url.Values{"csrf_token": {csrf}, "return_to": {"/bye"}})
			status(t, res, http.StatusSeeOther)
			end, err := url.Parse(res.Header.Get("Location"))
			must(t, err)
			q := end.Query()
			if !strings.HasPrefix(end.String(), e.op.Issuer+"/end_session?") || q.Get("id_token_hint") != idt ||
				q.Get("client_id") != clientID || q.Get("post_logout_redirect_uri") != publicURL+"/auth/oidc/logged-out" || len(q.Get("state")) < 22 {
				t.Fatalf("end-session redirect %s", end)
			}
			if strings.Contains(end.String(), at) || strings.Contains(end.String(), rt) {
				t.Fatal("the end-session URL carries an access or refresh token")
			}
			loggedIn(t, b, false)
			// The OP ends its session and sends the browser back.
			hc := e.op.Client()
			hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			opRes, err := hc.Get(end.String())
			must(t, err)
			_ = opRes.Body.Close()
			back, err := url.Parse(opRes.Header.Get("Location"))
			must(t, err)
			if len(e.op.EndedSessions()) != 1 || back.Path != "/auth/oidc/logged-out" {
				t.Fatalf("OP: ended %v, back to %s", e.op.EndedSessions(), back)
			}
			// A wrong or missing state changes nothing; the right one
			// goes on to the return path, once.
			status(t, b.get("/auth/oidc/logged-out?state=forged"), http.StatusBadRequest)
			status(t, b.get("/auth/oidc/logged-out"), http.StatusBadRequest)
			status(t, e.browser().get("/auth/oidc/logged-out?"+back.RawQuery), http.StatusBadRequest)
			ok := b.get("/auth/oidc/logged-out?" + back.RawQuery)
			status(t, ok, http.StatusSeeOther)
			if ok.Header.Get("Location") != "/bye" {
				t.Fatalf("Location %q", ok.Header.Get("Location"))
			}
			status(t, b.get("/auth/oidc/logged-out?"+back.RawQuery), http.StatusBadRequest)
		}},
		{name: "OIDC back-channel logout: ends the OP session's logins, 400 JSON for bad or replayed tokens", opts: on, run: func(t *testing.T, e *env) {
			b1, b2 := e.browser(), e.browser()
			status(t, e.oidcLogin(b1, "/"), http.StatusSeeOther)
			status(t, e.oidcLogin(b2, "/"), http.StatusSeeOther)
			c1, err := oidctest.IDTokenClaimsOf(e.idTokenOf(b1))
			must(t, err)
			sid1, _ := c1["sid"].(string)
			post := func(token string) *response {
				return e.browser().postForm("/auth/oidc/backchannel-logout", url.Values{"logout_token": {token}})
			}
			bad := []map[string]any{
				func() map[string]any { c := e.op.LogoutClaims(clientID, "", sid1); c["nonce"] = "n"; return c }(),
				func() map[string]any { c := e.op.LogoutClaims(clientID, "", sid1); delete(c, "events"); return c }(),
				func() map[string]any { c := e.op.LogoutClaims(clientID, "", sid1); delete(c, "jti"); return c }(),
				func() map[string]any { c := e.op.LogoutClaims(clientID, "", sid1); delete(c, "iat"); return c }(),
				e.op.LogoutClaims("another-client", "", sid1),
				e.op.LogoutClaims(clientID, "", ""),
			}
			for _, c := range bad {
				res := post(e.op.SignJWT(c))
				status(t, res, http.StatusBadRequest)
				if jsonBody(t, res)["error"] != "invalid_request" {
					t.Fatalf("body %s", res.body)
				}
			}
			status(t, post("not-a-jwt"), http.StatusBadRequest)
			loggedIn(t, b1, true)
			loggedIn(t, b2, true)
			tok := e.op.SignJWT(e.op.LogoutClaims(clientID, "", sid1))
			res := post(tok)
			status(t, res, http.StatusOK)
			if res.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("Cache-Control %q", res.Header.Get("Cache-Control"))
			}
			loggedIn(t, b1, false)
			loggedIn(t, b2, true)
			status(t, post(tok), http.StatusBadRequest) // replayed jti
			status(t, post(e.op.SignJWT(e.op.LogoutClaims(clientID, "oidc-user", ""))), http.StatusOK)
			loggedIn(t, b2, false)
			if !e.hasEvent("logout", "backchannel_logout") {
				t.Fatalf("events %v", e.eventCodes())
			}
		}},
	}
}
