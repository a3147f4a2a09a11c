package oidctest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
)

// end_session (RP-Initiated Logout 1.0 §2, §3): id_token_hint must be one
// of the OP's ID tokens (expired ones too) issued to client_id;
// post_logout_redirect_uri must be registered for that client; the OP
// session ends and the browser goes back with state. Anything wrong is a
// 400 page, no redirect, and no session ends.
func TestEndSession(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		when         func(hint, forged string) url.Values
		whenPost     bool
		whenLater    time.Duration
		expectStatus int
		expectState  string // with 302
		expectEnded  bool
	}{
		{"hint, client_id, registered URI, state", func(h, _ string) url.Values {
			return url.Values{"id_token_hint": {h}, "client_id": {appID}, "post_logout_redirect_uri": {loggedOut}, "state": {"xyz"}}
		}, false, 0, http.StatusFound, "xyz", true},
		{"by POST", func(h, _ string) url.Values {
			return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {loggedOut}, "state": {"xyz"}}
		}, true, 0, http.StatusFound, "xyz", true},
		{"hint without client_id", func(h, _ string) url.Values {
			return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {loggedOut}}
		}, false, 0, http.StatusFound, "", true},
		{"expired hint is accepted", func(h, _ string) url.Values {
			return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {loggedOut}, "state": {"s"}}
		}, false, time.Hour, http.StatusFound, "s", true},
		{"no redirect URI: a signed-out page", func(h, _ string) url.Values {
			return url.Values{"id_token_hint": {h}}
		}, false, 0, http.StatusOK, "", true},
		{"client_id alone", func(string, string) url.Values {
			return url.Values{"client_id": {appID}, "post_logout_redirect_uri": {loggedOut}, "state": {"q"}}
		}, false, 0, http.StatusFound, "q", false},
		{"unregistered post_logout_redirect_uri", func(h, _ string) url.Values {
			return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {"https://evil.example/"}}
		}, false, 0, http.StatusBadRequest, "", false},
		{"redirect URI of another client", func(h, _ string) url.Values {
			return url.Values{"client_id": {otherID}, "post_logout_redirect_uri": {loggedOut}}
		}, false, 0, http.StatusBadRequest, "", false},
		{"hint issued to another client_id", func(h, _ string) url.Values {
			return url.Values{"id_token_hint": {h}, "client_id": {otherID}}
		}, false, 0, http.StatusBadRequest, "", false},
		{"hint not signed by the OP", func(_, f string) url.Values {
			return url.Values{"id_token_hint": {f}, "post_logout_redirect_uri": {loggedOut}}
		}, false, 0, http.StatusBadRequest, "", false},
		{"redirect URI without hint or client_id", func(string, string) url.Values {
			return url.Values{"post_logout_redirect_uri": {loggedOut}}
		}, false, 0, http.StatusBadRequest, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, clk := newServer(t, oidctest.Config{})
			hint := str(login(t, s).body["id_token"])
			sid := str(parse(t, hint).claims["sid"])
			s.Misbehave(oidctest.Misbehaviour{WrongKey: true})
			forged := str(login(t, s).body["id_token"])
			s.Misbehave(oidctest.Misbehaviour{})
			clk.Advance(tc.whenLater)
			params := tc.when(hint, forged)
			var r reply
			if tc.whenPost {
				r = postForm(t, s, s.Issuer+"/end_session", auth{}, params)
			} else {
				r = get(t, s, s.Issuer+"/end_session?"+params.Encode())
			}
			if r.status != tc.expectStatus {
				t.Fatalf("status %d %s, want %d", r.status, r.raw, tc.expectStatus)
			}
			switch tc.expectStatus {
			case http.StatusFound:
				loc := r.location(t)
				if got := loc.Scheme + "://" + loc.Host + loc.Path; got != loggedOut {
					t.Fatalf("redirected to %s", got)
				}
				if _, present := loc.Query()["state"]; loc.Query().Get("state") != tc.expectState || present != (tc.expectState != "") {
					t.Fatalf("state = %q, want %q", loc.Query().Get("state"), tc.expectState)
				}
			case http.StatusBadRequest:
				if r.header.Get("Location") != "" {
					t.Fatal("a refused logout redirected")
				}
			}
			_, live := s.Sessions()[sid]
			if ended := !live; ended != tc.expectEnded {
				t.Fatalf("session ended = %t, want %t", ended, tc.expectEnded)
			}
			if tc.expectEnded && (len(s.EndedSessions()) != 1 || s.EndedSessions()[0] != sid) {
				t.Fatalf("EndedSessions = %v, want [%s]", s.EndedSessions(), sid)
			}
			if s.Calls(oidctest.EndpointEndSession) != 1 {
				t.Fatalf("end_session calls = %d", s.Calls(oidctest.EndpointEndSession))
			}
		})
	}
}

// rp is a relying party's back-channel logout endpoint that records what
// it receives and answers as Back-Channel Logout 1.0 §2.8 says.
type rp struct {
	mu       sync.Mutex
	ctype    string
	tokens   []string
	srv      *httptest.Server
	answerOK bool
}

func newRP(t *testing.T, ok bool) *rp {
	r := &rp{answerOK: ok}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_ = req.ParseForm()
		r.mu.Lock()
		r.ctype = req.Header.Get("Content-Type")
		r.tokens = append(r.tokens, req.PostForm.Get("logout_token"))
		r.mu.Unlock()
		w.Header().Set("Cache-Control", "no-store")
		if !r.answerOK {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid_request"}`)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// The back-channel logout sender: a form POST of logout_token (§2.5),
// a token typed logout+jwt signed with the published key, with iss, aud,
// iat, exp, a fresh jti, the events claim and sid and/or sub, and never a
// nonce (§2.4); the OP session ends.
func TestBackChannelLogout(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, oidctest.Config{})
	idt := parse(t, str(login(t, s).body["id_token"]))
	sid, sub := str(idt.claims["sid"]), str(idt.claims["sub"])
	recv := newRP(t, true)
	status, _, err := s.BackChannelLogout(context.Background(), nil, recv.srv.URL, appID, sub, sid)
	if err != nil || status != http.StatusOK {
		t.Fatalf("BackChannelLogout: %d %v", status, err)
	}
	if _, live := s.Sessions()[sid]; live || len(s.EndedSessions()) != 1 {
		t.Fatalf("OP session %s still live after its back-channel logout", sid)
	}
	if recv.ctype != "application/x-www-form-urlencoded" || len(recv.tokens) != 1 {
		t.Fatalf("RP got Content-Type %q, %d tokens", recv.ctype, len(recv.tokens))
	}
	j := verify(t, s, recv.tokens[0])
	if j.header["typ"] != "logout+jwt" || j.header["kid"] != s.KeyIDs()[0] {
		t.Fatalf("header %v, want typ logout+jwt and the signing kid", j.header)
	}
	c := j.claims
	if c["iss"] != s.Issuer || c["aud"] != appID || c["sid"] != sid || c["sub"] != sub || str(c["jti"]) == "" {
		t.Fatalf("claims %v", c)
	}
	if num(t, c["iat"]) != start.Unix() || num(t, c["exp"]) <= num(t, c["iat"]) {
		t.Fatalf("iat %v exp %v", c["iat"], c["exp"])
	}
	if _, present := c["nonce"]; present {
		t.Fatal("a logout token carries a nonce (§2.4 prohibits it)")
	}
	events, ok := c["events"].(map[string]any)
	if member, isObj := events[oidctest.EventBackChannelLogout].(map[string]any); !ok || len(events) != 1 || !isObj || len(member) != 0 {
		t.Fatalf("events = %v, want {%q: {}}", c["events"], oidctest.EventBackChannelLogout)
	}

	// Each token has its own jti; sid alone and sub alone are both allowed.
	onlySid, onlySub := s.LogoutClaims(appID, "", sid), s.LogoutClaims(appID, sub, "")
	if _, has := onlySid["sub"]; has || onlySid["sid"] != sid {
		t.Fatalf("sid-only claims %v", onlySid)
	}
	if _, has := onlySub["sid"]; has || onlySub["sub"] != sub {
		t.Fatalf("sub-only claims %v", onlySub)
	}
	if onlySid["jti"] == onlySub["jti"] || onlySid["jti"] == c["jti"] {
		t.Fatal("jti repeats")
	}

	// SendLogoutToken passes the RP's answer through.
	bad := newRP(t, false)
	status, body, err := s.SendLogoutToken(context.Background(), s.Client(), bad.srv.URL, s.SignLogoutToken(onlySid))
	if err != nil || status != http.StatusBadRequest || !strings.Contains(body, "invalid_request") {
		t.Fatalf("SendLogoutToken: %d %q %v", status, body, err)
	}
	if h := parse(t, bad.tokens[0]).header; h["typ"] != "logout+jwt" {
		t.Fatalf("SignLogoutToken typ = %v", h["typ"])
	}
	if h := parse(t, s.SignJWT(onlySid)).header; h["typ"] != "JWT" {
		t.Fatalf("SignJWT typ = %v", h["typ"])
	}
}
