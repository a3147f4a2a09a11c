package oidctest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
)

// canon is v as JSON, to compare claims whatever their Go types.
func canon(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// wantClaims compares got with a correct ID token's claims: the claims
// named in changed must satisfy their check (present reports whether the
// claim is there); every other claim must be exactly the correct one.
func wantClaims(t *testing.T, got, correct map[string]any, changed map[string]func(v any, present bool) bool) {
	t.Helper()
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range correct {
		keys[k] = true
	}
	for k := range keys {
		v, present := got[k]
		if check, ok := changed[k]; ok {
			if !check(v, present) {
				t.Errorf("%s = %v (present %t): not the misbehaviour", k, v, present)
			}
			continue
		}
		if canon(v) != canon(correct[k]) {
			t.Errorf("%s = %s, want the correct %s", k, canon(v), canon(correct[k]))
		}
	}
}

// correctClaims are the claims of a correct ID token of the default user
// for the app client at login, after the access token at and in OP
// session sid, at the start of the fake clock.
func correctClaims(s *oidctest.Server, at, sid string) map[string]any {
	now := start.Unix()
	return map[string]any{
		"iss": s.Issuer, "sub": "user-1", "aud": []string{appID}, "exp": now + int64(oidctest.DefaultIDTokenTTL/time.Second),
		"iat": now, "auth_time": now, "sid": sid, "nonce": "n0nce", "at_hash": atHash(at),
		"name": "Test User", "email": "user-1@example.test", "email_verified": true,
	}
}

func is(want any) func(any, bool) bool {
	return func(v any, present bool) bool { return present && canon(v) == canon(want) }
}

func absent(_ any, present bool) bool { return !present }

// Each claim knob changes exactly the claim it names in an ID token that
// is otherwise correct and correctly signed.
func TestMisbehaviourIDTokenClaims(t *testing.T) {
	t.Parallel()
	now := start.Unix()
	for _, tc := range []struct {
		name   string
		given  oidctest.Misbehaviour
		expect map[string]func(v any, present bool) bool
	}{
		{"IDTokenIss", oidctest.Misbehaviour{IDTokenIss: "https://evil.example"}, map[string]func(any, bool) bool{"iss": is("https://evil.example")}},
		{"IDTokenAud", oidctest.Misbehaviour{IDTokenAud: []string{"someone-else", appID}}, map[string]func(any, bool) bool{"aud": is([]string{"someone-else", appID})}},
		{"Azp", oidctest.Misbehaviour{Azp: "someone-else"}, map[string]func(any, bool) bool{"azp": is("someone-else")}},
		{"WrongNonce", oidctest.Misbehaviour{WrongNonce: true}, map[string]func(any, bool) bool{"nonce": func(v any, p bool) bool { return p && v != "n0nce" && str(v) != "" }}},
		{"OmitNonce", oidctest.Misbehaviour{OmitNonce: true}, map[string]func(any, bool) bool{"nonce": absent}},
		{"WrongAtHash", oidctest.Misbehaviour{WrongAtHash: true}, map[string]func(any, bool) bool{"at_hash": func(v any, p bool) bool { return p && str(v) != "" }}}, // checked against the access token below
		{"OmitIat", oidctest.Misbehaviour{OmitIat: true}, map[string]func(any, bool) bool{"iat": absent}},
		{"OmitSub", oidctest.Misbehaviour{OmitSub: true}, map[string]func(any, bool) bool{"sub": absent}},
		{"OmitExp", oidctest.Misbehaviour{OmitExp: true}, map[string]func(any, bool) bool{"exp": absent}},
		{"Expired", oidctest.Misbehaviour{Expired: true}, map[string]func(any, bool) bool{"exp": is(now - 60), "iat": is(now - 3600)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newServer(t, oidctest.Config{})
			s.Misbehave(tc.given)
			r := login(t, s)
			j := verify(t, s, str(r.body["id_token"])) // still correctly signed
			if j.header["kid"] != s.KeyIDs()[0] || j.header["alg"] != "RS256" {
				t.Fatalf("header %v", j.header)
			}
			wantClaims(t, j.claims, correctClaims(s, str(r.body["access_token"]), str(j.claims["sid"])), tc.expect)
			if tc.given.WrongAtHash && j.claims["at_hash"] == atHash(str(r.body["access_token"])) {
				t.Fatal("WrongAtHash: at_hash matches the access token")
			}
			// The zero value restores correct behaviour.
			s.Misbehave(oidctest.Misbehaviour{})
			r = login(t, s)
			j = verify(t, s, str(r.body["id_token"]))
			wantClaims(t, j.claims, correctClaims(s, str(r.body["access_token"]), str(j.claims["sid"])), nil)
		})
	}
}

// The signing knobs break exactly the signature or header they name; the
// claims stay correct.
func TestMisbehaviourSignature(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		given  oidctest.Misbehaviour
		expect func(t *testing.T, s *oidctest.Server, raw string, j jwt)
	}{
		{"BadSignature", oidctest.Misbehaviour{BadSignature: true}, func(t *testing.T, s *oidctest.Server, _ string, j jwt) {
			if j.header["kid"] != s.KeyIDs()[0] || j.header["alg"] != "RS256" || verifyErr(t, s, j) == "" {
				t.Fatalf("header %v; the signature must fail with the key its kid names", j.header)
			}
		}},
		{"WrongKey", oidctest.Misbehaviour{WrongKey: true}, func(t *testing.T, s *oidctest.Server, _ string, j jwt) {
			if j.header["kid"] != s.KeyIDs()[0] || verifyErr(t, s, j) == "" {
				t.Fatalf("header %v; the signature must fail with the key its kid names", j.header)
			}
			for _, k := range jwks(t, s).Keys {
				if _, err := j.jws.Verify(k.Key); err == nil {
					t.Fatalf("verifies with published key %s", k.KeyID)
				}
			}
		}},
		{"AlgNone", oidctest.Misbehaviour{AlgNone: true}, func(t *testing.T, _ *oidctest.Server, raw string, j jwt) {
			if j.header["alg"] != "none" || !strings.HasSuffix(raw, ".") {
				t.Fatalf("header %v, token ends %q; want alg none and an empty signature", j.header, raw[len(raw)-5:])
			}
		}},
		{"HS256PublicKey", oidctest.Misbehaviour{HS256PublicKey: true}, func(t *testing.T, s *oidctest.Server, raw string, j jwt) {
			if j.header["alg"] != "HS256" || j.header["kid"] != s.KeyIDs()[0] {
				t.Fatalf("header %v", j.header)
			}
			der, err := x509.MarshalPKIXPublicKey(jwks(t, s).Keys[0].Key)
			if err != nil {
				t.Fatal(err)
			}
			mac := hmac.New(sha256.New, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
			i := strings.LastIndexByte(raw, '.')
			mac.Write([]byte(raw[:i]))
			if base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) != raw[i+1:] {
				t.Fatal("not an HMAC keyed with the published key's PEM")
			}
		}},
		{"OmitKid", oidctest.Misbehaviour{OmitKid: true}, func(t *testing.T, s *oidctest.Server, _ string, j jwt) {
			if _, has := j.header["kid"]; has {
				t.Fatalf("header %v has a kid", j.header)
			}
			if _, err := j.jws.Verify(jwks(t, s).Keys[0].Key); err != nil {
				t.Fatalf("does not verify with the only key: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newServer(t, oidctest.Config{})
			s.Misbehave(tc.given)
			r := login(t, s)
			raw := str(r.body["id_token"])
			j := parse(t, raw)
			tc.expect(t, s, raw, j)
			wantClaims(t, j.claims, correctClaims(s, str(r.body["access_token"]), str(j.claims["sid"])), nil)
		})
	}
}

// The refresh knobs change the ID tokens of refresh replies only.
func TestMisbehaviourRefresh(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		given  oidctest.Misbehaviour
		expect map[string]func(any, bool) bool
	}{
		{"RefreshIss", oidctest.Misbehaviour{RefreshIss: "https://other.example"}, map[string]func(any, bool) bool{"iss": is("https://other.example")}},
		{"RefreshSub", oidctest.Misbehaviour{RefreshSub: "user-2"}, map[string]func(any, bool) bool{"sub": is("user-2")}},
		{"RefreshAud", oidctest.Misbehaviour{RefreshAud: []string{"x"}}, map[string]func(any, bool) bool{"aud": is([]string{"x"})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newServer(t, oidctest.Config{})
			s.Misbehave(tc.given)
			first := login(t, s)
			j := verify(t, s, str(first.body["id_token"]))
			sid := str(j.claims["sid"])
			wantClaims(t, j.claims, correctClaims(s, str(first.body["access_token"]), sid), nil)
			r := refresh(t, s, str(first.body["refresh_token"]), basic(appID, appSecret))
			j = verify(t, s, str(r.body["id_token"]))
			want := correctClaims(s, str(r.body["access_token"]), sid)
			delete(want, "nonce") // none on refresh
			wantClaims(t, j.claims, want, tc.expect)
		})
	}
}

// The other knobs: UserInfo's sub, the RFC 9207 iss parameter, the
// discovery issuer, the ID token left out of the code exchange.
func TestMisbehaviourOther(t *testing.T) {
	t.Parallel()
	t.Run("UserInfoSub", func(t *testing.T) {
		t.Parallel()
		s, _ := newServer(t, oidctest.Config{})
		s.Misbehave(oidctest.Misbehaviour{UserInfoSub: "user-2"})
		r := login(t, s)
		if sub := verify(t, s, str(r.body["id_token"])).claims["sub"]; sub != "user-1" {
			t.Fatalf("ID token sub = %v, want the correct user-1", sub)
		}
		if ui := userinfo(t, s, "Bearer "+str(r.body["access_token"])); ui.body["sub"] != "user-2" || ui.body["name"] != "Test User" {
			t.Fatalf("UserInfo %s", ui.raw)
		}
	})
	t.Run("OmitIssParameter", func(t *testing.T) {
		t.Parallel()
		s, _ := newServer(t, oidctest.Config{IssParameter: true})
		s.Misbehave(oidctest.Misbehaviour{OmitIssParameter: true})
		if q := authorize(t, s, nil); q.Has("iss") || q.Get("code") == "" {
			t.Fatalf("response %v, want a code without iss", q)
		}
		if q := authorize(t, s, url.Values{"code_challenge": nil}); q.Has("iss") || q.Get("error") == "" {
			t.Fatalf("error response %v, want no iss", q)
		}
		if doc := get(t, s, s.Issuer+"/.well-known/openid-configuration").body; doc["authorization_response_iss_parameter_supported"] != true {
			t.Fatal("the knob must not change what discovery advertises")
		}
	})
	t.Run("IssParameter", func(t *testing.T) {
		t.Parallel()
		s, _ := newServer(t, oidctest.Config{})
		s.Misbehave(oidctest.Misbehaviour{IssParameter: "https://attacker.example"})
		if q := authorize(t, s, nil); q.Get("iss") != "https://attacker.example" || q.Get("code") == "" {
			t.Fatalf("response %v", q)
		}
	})
	t.Run("DiscoveryIssuer", func(t *testing.T) {
		t.Parallel()
		s, _ := newServer(t, oidctest.Config{})
		s.Misbehave(oidctest.Misbehaviour{DiscoveryIssuer: "https://impostor.example"})
		doc := get(t, s, s.Issuer+"/.well-known/openid-configuration").body
		if doc["issuer"] != "https://impostor.example" || doc["token_endpoint"] != s.Issuer+"/token" {
			t.Fatalf("issuer %v token_endpoint %v", doc["issuer"], doc["token_endpoint"])
		}
		if iss := verify(t, s, str(login(t, s).body["id_token"])).claims["iss"]; iss != s.Issuer {
			t.Fatalf("ID token iss = %v: the knob changes discovery only", iss)
		}
	})
	t.Run("OmitIDToken", func(t *testing.T) {
		t.Parallel()
		s, _ := newServer(t, oidctest.Config{})
		s.Misbehave(oidctest.Misbehaviour{OmitIDToken: true})
		r := login(t, s)
		if _, present := r.body["id_token"]; present || r.body["access_token"] == nil {
			t.Fatalf("code exchange %s, want an access token and no id_token", r.raw)
		}
		if rr := refresh(t, s, str(r.body["refresh_token"]), basic(appID, appSecret)); rr.body["id_token"] == nil {
			t.Fatal("the knob must leave refresh replies alone")
		}
	})
	t.Run("signing knobs apply to SignJWT and SignLogoutToken", func(t *testing.T) {
		t.Parallel()
		s, _ := newServer(t, oidctest.Config{})
		s.Misbehave(oidctest.Misbehaviour{AlgNone: true})
		for _, raw := range []string{s.SignJWT(map[string]any{"a": 1}), s.SignLogoutToken(s.LogoutClaims(appID, "u", ""))} {
			if h := parse(t, raw).header; h["alg"] != "none" {
				t.Fatalf("header %v", h)
			}
		}
	})
}

// FailNext injects one fault into the next request to an endpoint, and
// only that one.
func TestFailNext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		given  string
		expect func(t *testing.T, resp *http.Response, body []byte, err error)
	}{
		{"unavailable", oidctest.FaultUnavailable, func(t *testing.T, resp *http.Response, _ []byte, err error) {
			if err != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
				t.Fatalf("%v %v", resp, err)
			}
		}},
		{"malformed", oidctest.FaultMalformed, func(t *testing.T, resp *http.Response, body []byte, err error) {
			var v any
			if err != nil || resp.StatusCode != http.StatusOK || json.Unmarshal(body, &v) == nil {
				t.Fatalf("status %v, body %q: want 200 with broken JSON", resp.StatusCode, body)
			}
		}},
		{"oversized", oidctest.FaultOversized, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode != http.StatusOK || len(body) <= 1<<20 {
				t.Fatalf("status %v, %d bytes: want 200 with more than 1 MiB", resp.StatusCode, len(body))
			}
		}},
		{"timeout", oidctest.FaultTimeout, func(t *testing.T, _ *http.Response, _ []byte, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want the client's deadline", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newServer(t, oidctest.Config{})
			s.FailNext(oidctest.EndpointJWKS, tc.given)
			ctx, cancel := context.WithCancel(context.Background())
			if tc.given == oidctest.FaultTimeout {
				// Only this case waits for the client to give up.
				ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
			}
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Issuer+"/jwks", nil)
			resp, err := s.Client().Do(req)
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			tc.expect(t, resp, body, err)
			if n := len(jwks(t, s).Keys); n != 1 {
				t.Fatalf("the request after the fault: %d keys", n)
			}
			if s.Calls(oidctest.EndpointJWKS) != 2 {
				t.Fatalf("jwks calls = %d, want 2", s.Calls(oidctest.EndpointJWKS))
			}
		})
	}
	t.Run("refresh only", func(t *testing.T) {
		t.Parallel()
		s, _ := newServer(t, oidctest.Config{})
		s.FailNext(oidctest.EndpointRefresh, oidctest.FaultUnavailable)
		r := login(t, s) // a code exchange is not a refresh
		if rr := refresh(t, s, str(r.body["refresh_token"]), basic(appID, appSecret)); rr.status != http.StatusServiceUnavailable {
			t.Fatalf("refresh: %d, want 503", rr.status)
		}
		if rr := refresh(t, s, str(r.body["refresh_token"]), basic(appID, appSecret)); rr.status != http.StatusOK {
			t.Fatalf("refresh after the fault: %d (a fault answered before the grant must not rotate it)", rr.status)
		}
	})
	t.Run("unknown fault", func(t *testing.T) {
		t.Parallel()
		s, _ := newServer(t, oidctest.Config{})
		defer func() {
			if recover() == nil {
				t.Fatal("FailNext with an unknown fault did not panic")
			}
		}()
		s.FailNext(oidctest.EndpointToken, "sometimes")
	})
}
