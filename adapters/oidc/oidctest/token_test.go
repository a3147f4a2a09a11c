package oidctest_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
)

// wantNoStore: every token endpoint reply, errors included, carries
// Cache-Control: no-store and Pragma: no-cache (RFC 6749 §5.1, §5.2).
func wantNoStore(t *testing.T, r reply) {
	t.Helper()
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" {
		t.Fatalf("Cache-Control %q, Pragma %q; want no-store, no-cache", r.header.Get("Cache-Control"), r.header.Get("Pragma"))
	}
}

// Client authentication at the token endpoint: client_secret_basic (id
// and secret form-encoded first, RFC 6749 §2.3.1), client_secret_post,
// none for public clients; never two methods at once; 401 invalid_client
// otherwise, with WWW-Authenticate when Basic was tried (§5.2).
func TestTokenClientAuthentication(t *testing.T) {
	t.Parallel()
	both := auth{basicID: appID, basicSecret: appSecret, form: url.Values{"client_secret": {appSecret}}}
	s, _ := newServer(t, oidctest.Config{}) // each case has its own code
	for _, tc := range []struct {
		name          string
		givenClientID string // whose code
		when          auth
		expectStatus  int
		expectError   string
		expectBasic   bool // WWW-Authenticate: Basic
	}{
		{"basic", appID, basic(appID, appSecret), http.StatusOK, "", false},
		{"post", appID, post(appID, appSecret), http.StatusOK, "", false},
		{"none, public client", spaID, public(spaID), http.StatusOK, "", false},
		{"basic, wrong secret", appID, basic(appID, "nope"), http.StatusUnauthorized, "invalid_client", true},
		{"basic, unencoded secret", appID, auth{basicID: appID, basicSecret: url.QueryEscape(url.QueryEscape(appSecret))}, http.StatusUnauthorized, "invalid_client", true},
		{"post, wrong secret", appID, post(appID, "nope"), http.StatusUnauthorized, "invalid_client", false},
		{"confidential client without a secret", appID, public(appID), http.StatusUnauthorized, "invalid_client", false},
		{"public client with a secret", spaID, post(spaID, "anything"), http.StatusUnauthorized, "invalid_client", false},
		{"public client through Basic", spaID, basic(spaID, ""), http.StatusUnauthorized, "invalid_client", true},
		{"unknown client", appID, post("nobody", "x"), http.StatusUnauthorized, "invalid_client", false},
		{"no client at all", appID, auth{}, http.StatusUnauthorized, "invalid_client", false},
		{"basic and post at once", appID, both, http.StatusBadRequest, "invalid_request", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := exchange(t, s, code(t, s, url.Values{"client_id": {tc.givenClientID}}), tc.when)
			wantNoStore(t, r)
			if tc.expectStatus == http.StatusOK {
				if r.status != http.StatusOK || r.body["access_token"] == nil || r.body["token_type"] != "Bearer" || r.body["id_token"] == nil {
					t.Fatalf("got %d %s, want a token reply", r.status, r.raw)
				}
				return
			}
			wantOAuthError(t, r, tc.expectStatus, tc.expectError)
			if got := strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic"); got != tc.expectBasic {
				t.Fatalf("WWW-Authenticate = %q, want Basic %t", r.header.Get("WWW-Authenticate"), tc.expectBasic)
			}
		})
	}
}

// The authorization code grant's checks (RFC 6749 §4.1.3, §5.2; RFC 7636
// §4.6), each with the right error and status.
func TestTokenCodeChecks(t *testing.T) {
	t.Parallel()
	other := "Ohter-verifier-of-fourty-three-characters-x"
	shared, _ := newServer(t, oidctest.Config{}) // each case has its own code; the clock moves only on servers of their own
	for _, tc := range []struct {
		name         string
		when         func(c string) url.Values // the request's parameters
		whenAuth     auth
		whenLater    time.Duration // clock advance before the request
		expectStatus int
		expectError  string
	}{
		{"wrong code_verifier", func(c string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirectURI}, "code_verifier": {other}}
		}, basic(appID, appSecret), 0, http.StatusBadRequest, "invalid_grant"},
		{"no code_verifier", func(c string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirectURI}}
		}, basic(appID, appSecret), 0, http.StatusBadRequest, "invalid_grant"},
		{"the challenge as verifier (plain)", func(c string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirectURI}, "code_verifier": {s256(verifier)}}
		}, basic(appID, appSecret), 0, http.StatusBadRequest, "invalid_grant"},
		{"other redirect_uri", func(c string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {"https://app.example/other"}, "code_verifier": {verifier}}
		}, basic(appID, appSecret), 0, http.StatusBadRequest, "invalid_grant"},
		{"no redirect_uri", func(c string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "code_verifier": {verifier}}
		}, basic(appID, appSecret), 0, http.StatusBadRequest, "invalid_grant"},
		{"another client's code", func(c string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
		}, basic(otherID, otherSecret), 0, http.StatusBadRequest, "invalid_grant"},
		{"expired code", func(c string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
		}, basic(appID, appSecret), oidctest.DefaultCodeTTL + time.Second, http.StatusBadRequest, "invalid_grant"},
		{"unknown code", func(string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {"forged"}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
		}, basic(appID, appSecret), 0, http.StatusBadRequest, "invalid_grant"},
		{"no code", func(string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
		}, basic(appID, appSecret), 0, http.StatusBadRequest, "invalid_request"},
		{"no grant_type", func(c string) url.Values {
			return url.Values{"code": {c}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
		}, basic(appID, appSecret), 0, http.StatusBadRequest, "invalid_request"},
		{"unknown grant_type", func(c string) url.Values {
			return url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}}
		}, basic(appID, appSecret), 0, http.StatusBadRequest, "unsupported_grant_type"},
		{"refresh without refresh_token", func(string) url.Values {
			return url.Values{"grant_type": {"refresh_token"}}
		}, basic(appID, appSecret), 0, http.StatusBadRequest, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, clk := shared, (*clock)(nil)
			if tc.whenLater > 0 {
				s, clk = newServer(t, oidctest.Config{})
			}
			c := code(t, s, nil)
			if clk != nil {
				clk.Advance(tc.whenLater)
			}
			r := postForm(t, s, s.Issuer+"/token", tc.whenAuth, tc.when(c))
			wantNoStore(t, r)
			wantOAuthError(t, r, tc.expectStatus, tc.expectError)
			if tc.expectError == "invalid_grant" && tc.name != "unknown code" {
				// A failed attempt burns the code (RFC 9700 §4.2.4 keeps a
				// code single-use whatever happened).
				if r := exchange(t, s, c, basic(appID, appSecret)); r.status != http.StatusBadRequest {
					t.Fatalf("the code works after a failed attempt: %d", r.status)
				}
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		t.Parallel()
		r := get(t, shared, shared.Issuer+"/token")
		wantNoStore(t, r)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != http.MethodPost {
			t.Fatalf("GET /token = %d Allow %q", r.status, r.header.Get("Allow"))
		}
	})
}

// A code works once; its replay is invalid_grant and revokes the tokens
// the first exchange issued (RFC 6749 §4.1.2).
func TestCodeIsSingleUseAndReplayRevokes(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, oidctest.Config{})
	c := code(t, s, nil)
	first := exchange(t, s, c, basic(appID, appSecret))
	if first.status != http.StatusOK {
		t.Fatalf("first exchange: %d %s", first.status, first.raw)
	}
	rt, at := str(first.body["refresh_token"]), str(first.body["access_token"])
	if userinfo(t, s, "Bearer "+at).status != http.StatusOK || s.Revoked(rt) {
		t.Fatal("the first exchange's tokens do not work")
	}
	wantOAuthError(t, exchange(t, s, c, basic(appID, appSecret)), http.StatusBadRequest, "invalid_grant")
	if !s.Revoked(rt) {
		t.Fatal("replayed code did not revoke the grant")
	}
	if r := userinfo(t, s, "Bearer "+at); r.status != http.StatusUnauthorized {
		t.Fatalf("access token of a replayed code: %d, want 401", r.status)
	}
	wantOAuthError(t, refresh(t, s, rt, basic(appID, appSecret)), http.StatusBadRequest, "invalid_grant")
}

// The token reply (RFC 6749 §5.1) and the ID token in it (OpenID Connect
// Core §2, §3.1.3.3, §3.1.3.6), signed with the published key.
func TestIDToken(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			s, _ := newServer(t, oidctest.Config{Alg: alg, Users: []oidctest.User{
				{Subject: "u-42", Name: "Ann Example", Email: "ann@example.test", EmailVerified: true},
			}})
			r := login(t, s)
			at := str(r.body["access_token"])
			if r.body["token_type"] != "Bearer" || num(t, r.body["expires_in"]) != int64(oidctest.DefaultAccessTTL/time.Second) ||
				r.body["refresh_token"] == nil || r.body["scope"] != "openid profile email" {
				t.Fatalf("token reply %s", r.raw)
			}
			j := verify(t, s, str(r.body["id_token"]))
			if j.header["alg"] != alg || j.header["typ"] != "JWT" || j.header["kid"] != s.KeyIDs()[0] {
				t.Fatalf("header %v", j.header)
			}
			c := j.claims
			now := start.Unix()
			for claim, want := range map[string]any{
				"iss": s.Issuer, "sub": "u-42", "nonce": "n0nce", "at_hash": atHash(at),
				"name": "Ann Example", "email": "ann@example.test", "email_verified": true,
			} {
				if c[claim] != want {
					t.Errorf("%s = %v, want %v", claim, c[claim], want)
				}
			}
			if aud := strings_(c["aud"]); len(aud) != 1 || aud[0] != appID {
				t.Errorf("aud = %v, want [%s]", aud, appID)
			}
			if _, present := c["azp"]; present {
				t.Errorf("azp = %v for a single audience", c["azp"])
			}
			if num(t, c["iat"]) != now || num(t, c["auth_time"]) != now || num(t, c["exp"]) != now+int64(oidctest.DefaultIDTokenTTL/time.Second) {
				t.Errorf("iat %v auth_time %v exp %v; now %d", c["iat"], c["auth_time"], c["exp"], now)
			}
			if sid := str(c["sid"]); sid == "" || s.Sessions()[sid] != "u-42" {
				t.Errorf("sid %q is not a live OP session of u-42: %v", sid, s.Sessions())
			}
			got, err := oidctest.IDTokenClaimsOf(str(r.body["id_token"]))
			if err != nil || got["sub"] != "u-42" {
				t.Fatalf("IDTokenClaimsOf: %v %v", got, err)
			}
		})
	}
	t.Run("no nonce sent, none returned", func(t *testing.T) {
		t.Parallel()
		s, _ := newServer(t, oidctest.Config{})
		r := exchange(t, s, code(t, s, url.Values{"nonce": nil}), basic(appID, appSecret))
		if _, present := verify(t, s, str(r.body["id_token"])).claims["nonce"]; present {
			t.Fatal("nonce in an ID token whose request had none")
		}
	})
}

// Refresh (RFC 6749 §6) rotates the refresh token; a rotated-out one used
// again is invalid_grant and revokes the whole family (RFC 9700 §4.14.2);
// the new ID token keeps iss, sub, aud and auth_time, has a new iat and no
// nonce (OpenID Connect Core §12.2).
func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	s, clk := newServer(t, oidctest.Config{})
	first := login(t, s)
	rt1 := str(first.body["refresh_token"])
	clk.Advance(time.Minute)
	second := refresh(t, s, rt1, basic(appID, appSecret))
	wantNoStore(t, second)
	rt2, at2 := str(second.body["refresh_token"]), str(second.body["access_token"])
	if second.status != http.StatusOK || rt2 == "" || rt2 == rt1 || at2 == str(first.body["access_token"]) {
		t.Fatalf("refresh: %d %s", second.status, second.raw)
	}
	old, fresh := verify(t, s, str(first.body["id_token"])).claims, verify(t, s, str(second.body["id_token"])).claims
	for _, c := range []string{"iss", "sub", "auth_time", "sid"} {
		if old[c] != fresh[c] {
			t.Errorf("%s changed on refresh: %v → %v", c, old[c], fresh[c])
		}
	}
	if strings.Join(strings_(old["aud"]), " ") != strings.Join(strings_(fresh["aud"]), " ") {
		t.Errorf("aud changed on refresh")
	}
	if num(t, fresh["iat"]) != start.Add(time.Minute).Unix() || fresh["at_hash"] != atHash(at2) {
		t.Errorf("refreshed iat %v at_hash %v", fresh["iat"], fresh["at_hash"])
	}
	if _, present := fresh["nonce"]; present {
		t.Errorf("nonce in a refreshed ID token")
	}
	if s.Calls(oidctest.EndpointRefresh) != 1 || s.Calls(oidctest.EndpointToken) != 2 {
		t.Fatalf("calls: refresh %d token %d", s.Calls(oidctest.EndpointRefresh), s.Calls(oidctest.EndpointToken))
	}

	wantOAuthError(t, refresh(t, s, rt2, basic(otherID, otherSecret)), http.StatusBadRequest, "invalid_grant")
	if s.Revoked(rt2) {
		t.Fatal("another client's attempt revoked the grant")
	}

	// Reuse of the rotated-out token: refused, and the family dies.
	wantOAuthError(t, refresh(t, s, rt1, basic(appID, appSecret)), http.StatusBadRequest, "invalid_grant")
	if !s.Revoked(rt2) {
		t.Fatal("reuse did not revoke the family")
	}
	wantOAuthError(t, refresh(t, s, rt2, basic(appID, appSecret)), http.StatusBadRequest, "invalid_grant")
	if r := userinfo(t, s, "Bearer "+at2); r.status != http.StatusUnauthorized {
		t.Fatalf("access token of a revoked family: %d", r.status)
	}
}

// Two concurrent uses of one refresh token: one wins, the other is a
// reuse (the check and the rotation are one step).
func TestConcurrentRefreshIsOneRotation(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, oidctest.Config{NoReuseDetection: true})
	rt := str(login(t, s).body["refresh_token"])
	const n = 20
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() { statuses[i] = refresh(t, s, rt, basic(appID, appSecret)).status })
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		if st == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent refreshes with one token succeeded (%v), want exactly 1", ok, n, statuses)
	}
}

// The refresh knobs: NoReuseDetection, NoRotation, NoIDTokenOnRefresh.
func TestRefreshOptions(t *testing.T) {
	t.Parallel()
	t.Run("NoReuseDetection", func(t *testing.T) {
		t.Parallel()
		s, _ := newServer(t, oidctest.Config{NoReuseDetection: true})
		rt1 := str(login(t, s).body["refresh_token"])
		rt2 := str(refresh(t, s, rt1, basic(appID, appSecret)).body["refresh_token"])
		wantOAuthError(t, refresh(t, s, rt1, basic(appID, appSecret)), http.StatusBadRequest, "invalid_grant")
		if s.Revoked(rt2) || refresh(t, s, rt2, basic(appID, appSecret)).status != http.StatusOK {
			t.Fatal("reuse revoked the family despite NoReuseDetection")
		}
	})
	t.Run("NoRotation", func(t *testing.T) {
		t.Parallel()
		s, _ := newServer(t, oidctest.Config{NoRotation: true})
		rt := str(login(t, s).body["refresh_token"])
		for i := range 3 {
			r := refresh(t, s, rt, post(appID, appSecret))
			if _, present := r.body["refresh_token"]; r.status != http.StatusOK || present {
				t.Fatalf("refresh %d: %d %s; want 200 without refresh_token", i, r.status, r.raw)
			}
		}
	})
	t.Run("NoIDTokenOnRefresh", func(t *testing.T) {
		t.Parallel()
		s, _ := newServer(t, oidctest.Config{NoIDTokenOnRefresh: true})
		r := refresh(t, s, str(login(t, s).body["refresh_token"]), basic(appID, appSecret))
		if _, present := r.body["id_token"]; r.status != http.StatusOK || present {
			t.Fatalf("refresh: %d %s; want no id_token", r.status, r.raw)
		}
	})
	t.Run("public client refreshes with client_id", func(t *testing.T) {
		t.Parallel()
		s, _ := newServer(t, oidctest.Config{})
		r := exchange(t, s, code(t, s, url.Values{"client_id": {spaID}}), public(spaID))
		if r := refresh(t, s, str(r.body["refresh_token"]), public(spaID)); r.status != http.StatusOK {
			t.Fatalf("refresh: %d %s", r.status, r.raw)
		}
	})
}

// UserInfo (OpenID Connect Core §5.3) takes a bearer token in the
// Authorization header only; without one, 401 and WWW-Authenticate with no
// error code; with a bad one, error="invalid_token" (RFC 6750 §3.1).
func TestUserInfo(t *testing.T) {
	t.Parallel()
	s, clk := newServer(t, oidctest.Config{Users: []oidctest.User{{
		Subject: "u-7", Name: "Bo", Email: "bo@example.test", Picture: "https://img.example/bo.png",
		Claims: map[string]any{"team": "blue", "sub": "not-this"},
	}}})
	at := str(login(t, s).body["access_token"])
	for _, tc := range []struct {
		name         string
		when         string // the Authorization header
		expectStatus int
		expectError  bool // error="invalid_token" in WWW-Authenticate
	}{
		{"bearer", "Bearer " + at, http.StatusOK, false},
		{"scheme in lower case", "bearer " + at, http.StatusOK, false},
		{"no header", "", http.StatusUnauthorized, false},
		{"other scheme", "Basic " + at, http.StatusUnauthorized, false},
		{"unknown token", "Bearer forged", http.StatusUnauthorized, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := userinfo(t, s, tc.when)
			if r.status != tc.expectStatus {
				t.Fatalf("status %d %s, want %d", r.status, r.raw, tc.expectStatus)
			}
			if tc.expectStatus == http.StatusOK {
				want := map[string]any{"sub": "u-7", "name": "Bo", "email": "bo@example.test", "email_verified": false, "picture": "https://img.example/bo.png", "team": "blue"}
				for k, v := range want {
					if r.body[k] != v {
						t.Errorf("%s = %v, want %v", k, r.body[k], v)
					}
				}
				return
			}
			wa := r.header.Get("WWW-Authenticate")
			if !strings.HasPrefix(wa, "Bearer") || strings.Contains(wa, `error="invalid_token"`) != tc.expectError {
				t.Fatalf("WWW-Authenticate = %q, want Bearer with error %t", wa, tc.expectError)
			}
		})
	}
	if r := get(t, s, s.Issuer+"/userinfo?access_token="+at); r.status != http.StatusUnauthorized {
		t.Fatalf("token in the query: %d, want 401", r.status)
	}
	// Each access token keeps its own expiry: a refresh does not extend
	// the old one.
	clk.Advance(oidctest.DefaultAccessTTL / 2)
	rt := str(login(t, s).body["refresh_token"])
	at2 := str(refresh(t, s, rt, basic(appID, appSecret)).body["access_token"])
	clk.Advance(oidctest.DefaultAccessTTL/2 + time.Second)
	if r := userinfo(t, s, "Bearer "+at); r.status != http.StatusUnauthorized || !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("expired access token: %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
	if r := userinfo(t, s, "Bearer "+at2); r.status != http.StatusOK {
		t.Fatalf("live access token: %d", r.status)
	}
	if n := s.Calls(oidctest.EndpointUserInfo); n != 8 {
		t.Fatalf("userinfo calls = %d, want 8", n)
	}
}

// Revocation (RFC 7009): client authentication; a refresh token revokes
// its grant and every access token of it; an access token only itself;
// unknown tokens are 200; another client's token is refused.
func TestRevocation(t *testing.T) {
	t.Parallel()
	revoke := func(t *testing.T, s *oidctest.Server, a auth, tok string) reply {
		t.Helper()
		return postForm(t, s, s.Issuer+"/revoke", a, url.Values{"token": {tok}})
	}
	t.Run("refresh token", func(t *testing.T) {
		t.Parallel()
		s, _ := newServer(t, oidctest.Config{})
		r := login(t, s)
		if got := revoke(t, s, basic(appID, appSecret), str(r.body["refresh_token"])); got.status != http.StatusOK {
			t.Fatalf("revoke: %d", got.status)
		}
		if !s.Revoked(str(r.body["refresh_token"])) || userinfo(t, s, "Bearer "+str(r.body["access_token"])).status != http.StatusUnauthorized {
			t.Fatal("revoking the refresh token left the grant alive")
		}
		wantOAuthError(t, refresh(t, s, str(r.body["refresh_token"]), basic(appID, appSecret)), http.StatusBadRequest, "invalid_grant")
		if got := revoke(t, s, basic(appID, appSecret), str(r.body["refresh_token"])); got.status != http.StatusOK {
			t.Fatalf("revoking again: %d, want 200", got.status)
		}
	})
	t.Run("access token", func(t *testing.T) {
		t.Parallel()
		s, _ := newServer(t, oidctest.Config{})
		r := login(t, s)
		if got := revoke(t, s, post(appID, appSecret), str(r.body["access_token"])); got.status != http.StatusOK {
			t.Fatalf("revoke: %d", got.status)
		}
		if userinfo(t, s, "Bearer "+str(r.body["access_token"])).status != http.StatusUnauthorized || s.Revoked(str(r.body["refresh_token"])) {
			t.Fatal("revoking the access token: it still works, or the grant died")
		}
	})
	shared, _ := newServer(t, oidctest.Config{}) // each case revokes (or not) a grant of its own
	for _, tc := range []struct {
		name         string
		when         auth
		whenToken    string // "rt": the login's refresh token
		expectStatus int
		expectError  string
	}{
		{"unknown token", basic(appID, appSecret), "never-issued", http.StatusOK, ""},
		{"another client's token", basic(otherID, otherSecret), "rt", http.StatusBadRequest, "unauthorized_client"},
		{"no client authentication", auth{}, "rt", http.StatusUnauthorized, "invalid_client"},
		{"wrong secret", basic(appID, "nope"), "rt", http.StatusUnauthorized, "invalid_client"},
		{"no token", basic(appID, appSecret), "", http.StatusBadRequest, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := shared
			rt := str(login(t, s).body["refresh_token"])
			tok := tc.whenToken
			if tok == "rt" {
				tok = rt
			}
			r := revoke(t, s, tc.when, tok)
			if tc.expectError == "" {
				if r.status != tc.expectStatus {
					t.Fatalf("status %d, want %d", r.status, tc.expectStatus)
				}
			} else {
				wantOAuthError(t, r, tc.expectStatus, tc.expectError)
			}
			if s.Revoked(rt) {
				t.Fatal("a refused revocation revoked the grant")
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		t.Parallel()
		if r := get(t, shared, shared.Issuer+"/revoke?token=x"); r.status != http.StatusMethodNotAllowed {
			t.Fatalf("GET /revoke = %d", r.status)
		}
	})
}
