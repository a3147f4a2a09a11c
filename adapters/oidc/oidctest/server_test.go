package oidctest_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
)

func strings_(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}

// The discovery document says what OpenID Connect Discovery 1.0 §3, RFC
// 8414, RFC 9207 §3, RP-Initiated Logout §2.1 and Back-Channel Logout §2.1
// ask, at {issuer}/.well-known/openid-configuration (Discovery §4).
func TestDiscovery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		givenConfig oidctest.Config
		expect      func(t *testing.T, s *oidctest.Server, doc map[string]any)
	}{
		{"defaults", oidctest.Config{}, func(t *testing.T, s *oidctest.Server, doc map[string]any) {
			if doc["issuer"] != s.Issuer || s.Issuer != s.URL {
				t.Fatalf("issuer = %v, want %s", doc["issuer"], s.URL)
			}
			for field, path := range map[string]string{
				"authorization_endpoint": "/authorize", "token_endpoint": "/token", "userinfo_endpoint": "/userinfo",
				"jwks_uri": "/jwks", "revocation_endpoint": "/revoke", "end_session_endpoint": "/end_session",
			} {
				if doc[field] != s.Issuer+path {
					t.Errorf("%s = %v, want %s", field, doc[field], s.Issuer+path)
				}
			}
			for field, want := range map[string][]string{
				"id_token_signing_alg_values_supported": {"RS256"},
				"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post", "none"},
				"code_challenge_methods_supported":      {"S256"},
				"response_types_supported":              {"code"},
				"response_modes_supported":              {"query"},
				"subject_types_supported":               {"public"},
				"grant_types_supported":                 {"authorization_code", "refresh_token"},
			} {
				if got := strings_(doc[field]); !slices.Equal(got, want) {
					t.Errorf("%s = %v, want %v", field, got, want)
				}
			}
			for field, want := range map[string]bool{
				"backchannel_logout_supported": true, "backchannel_logout_session_supported": true,
				"frontchannel_logout_supported": false, "request_uri_parameter_supported": false,
				"request_parameter_supported": false, "claims_parameter_supported": false,
			} {
				if doc[field] != want {
					t.Errorf("%s = %v, want %t", field, doc[field], want)
				}
			}
			if _, present := doc["authorization_response_iss_parameter_supported"]; present {
				t.Error("authorization_response_iss_parameter_supported advertised without Config.IssParameter")
			}
		}},
		{"issuer path", oidctest.Config{IssuerPath: "/realms/demo"}, func(t *testing.T, s *oidctest.Server, doc map[string]any) {
			if s.Issuer != s.URL+"/realms/demo" || doc["issuer"] != s.Issuer || doc["token_endpoint"] != s.Issuer+"/token" {
				t.Fatalf("issuer %v, token %v; want both under %s/realms/demo", doc["issuer"], doc["token_endpoint"], s.URL)
			}
		}},
		{"RFC 9207 iss parameter", oidctest.Config{IssParameter: true}, func(t *testing.T, _ *oidctest.Server, doc map[string]any) {
			if doc["authorization_response_iss_parameter_supported"] != true {
				t.Fatalf("authorization_response_iss_parameter_supported = %v, want true", doc["authorization_response_iss_parameter_supported"])
			}
		}},
		{"no end_session, no revocation", oidctest.Config{NoEndSession: true, NoRevocation: true}, func(t *testing.T, _ *oidctest.Server, doc map[string]any) {
			for _, f := range []string{"end_session_endpoint", "revocation_endpoint"} {
				if _, present := doc[f]; present {
					t.Errorf("%s present", f)
				}
			}
		}},
		{"auth methods", oidctest.Config{AuthMethods: []string{"client_secret_post"}}, func(t *testing.T, _ *oidctest.Server, doc map[string]any) {
			if got := strings_(doc["token_endpoint_auth_methods_supported"]); !slices.Equal(got, []string{"client_secret_post"}) {
				t.Fatalf("auth methods = %v", got)
			}
		}},
		{"ES256 still lists RS256 (Discovery §3: MUST)", oidctest.Config{Alg: "ES256"}, func(t *testing.T, _ *oidctest.Server, doc map[string]any) {
			if got := strings_(doc["id_token_signing_alg_values_supported"]); !slices.Equal(got, []string{"ES256", "RS256"}) {
				t.Fatalf("algs = %v", got)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newServer(t, tc.givenConfig)
			r := get(t, s, s.Issuer+"/.well-known/openid-configuration")
			if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Fatalf("discovery: %d %s", r.status, r.header.Get("Content-Type"))
			}
			tc.expect(t, s, r.body)
			if s.Calls(oidctest.EndpointDiscovery) != 1 {
				t.Fatalf("discovery calls = %d, want 1", s.Calls(oidctest.EndpointDiscovery))
			}
		})
	}
}

// The JWKS holds public keys only, each with kid, alg and use; RotateKey
// publishes a new signing key while the old one stays; RetireKeys drops
// all but the signing key; AddKey publishes a key that never signs.
func TestJWKSAndRotation(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, oidctest.Config{})
	r := get(t, s, s.Issuer+"/jwks")
	if strings.Contains(r.raw, `"d"`) || strings.Contains(r.raw, `"p"`) {
		t.Fatalf("JWKS carries private key material: %s", r.raw)
	}
	set := jwks(t, s)
	first := s.KeyIDs()
	if len(set.Keys) != 1 || len(first) != 1 || set.Keys[0].KeyID != first[0] || set.Keys[0].Algorithm != "RS256" || set.Keys[0].Use != "sig" || !set.Keys[0].IsPublic() {
		t.Fatalf("JWKS = %+v, kids %v; want one public RS256 sig key", set.Keys, first)
	}
	if h := parse(t, str(login(t, s).body["id_token"])).header; h["kid"] != first[0] {
		t.Fatalf("kid = %v, want %s", h["kid"], first[0])
	}

	second := s.RotateKey()
	if got := s.KeyIDs(); !slices.Equal(got, []string{first[0], second}) {
		t.Fatalf("kids after rotation = %v", got)
	}
	if n := len(jwks(t, s).Keys); n != 2 {
		t.Fatalf("JWKS after rotation has %d keys, want 2", n)
	}
	if j := verify(t, s, str(login(t, s).body["id_token"])); j.header["kid"] != second {
		t.Fatalf("after rotation kid = %v, want the new %s", j.header["kid"], second)
	}

	extra := s.AddKey()
	if got := s.KeyIDs(); got[0] != extra || got[len(got)-1] != second {
		t.Fatalf("kids after AddKey = %v: the added key must not sign", got)
	}
	if j := verify(t, s, str(login(t, s).body["id_token"])); j.header["kid"] != second {
		t.Fatalf("after AddKey kid = %v, want %s", j.header["kid"], second)
	}

	s.RetireKeys()
	if got, set := s.KeyIDs(), jwks(t, s); !slices.Equal(got, []string{second}) || len(set.Keys) != 1 || set.Keys[0].KeyID != second {
		t.Fatalf("after RetireKeys kids %v, JWKS %d keys", got, len(set.Keys))
	}
}

// Errors the fake must not send to redirect_uri (unknown client, a
// redirect_uri that is not registered: RFC 6749 §4.1.2.1), and the ones it
// must send there with state and, as configured, iss.
func TestAuthorizeErrors(t *testing.T) {
	t.Parallel()
	// One server per configuration: these requests change nothing the
	// cases look at (each RSA key costs CPU the other tests need).
	servers := map[[2]bool]*oidctest.Server{}
	for _, consent := range []bool{false, true} {
		for _, iss := range []bool{false, true} {
			servers[[2]bool{consent, iss}], _ = newServer(t, oidctest.Config{Consent: consent, IssParameter: iss})
		}
	}
	for _, tc := range []struct {
		name         string
		givenConsent bool
		when         url.Values
		expectStatus int    // 400: shown to the user, no redirect
		expectError  string // with 302: the error= sent back
	}{
		{"unknown client", false, url.Values{"client_id": {"nobody"}}, http.StatusBadRequest, ""},
		{"unregistered redirect_uri", false, url.Values{"redirect_uri": {"https://evil.example/cb"}}, http.StatusBadRequest, ""},
		{"redirect_uri with another query", false, url.Values{"redirect_uri": {redirectURI + "?x=1"}}, http.StatusBadRequest, ""},
		{"no redirect_uri", false, url.Values{"redirect_uri": nil}, http.StatusBadRequest, ""},
		{"response_type token", false, url.Values{"response_type": {"token"}}, http.StatusFound, "unsupported_response_type"},
		{"no openid scope", false, url.Values{"scope": {"profile"}}, http.StatusFound, "invalid_scope"},
		{"no code_challenge", false, url.Values{"code_challenge": nil}, http.StatusFound, "invalid_request"},
		{"code_challenge_method plain", false, url.Values{"code_challenge_method": {"plain"}}, http.StatusFound, "invalid_request"},
		{"no code_challenge_method (means plain)", false, url.Values{"code_challenge_method": nil}, http.StatusFound, "invalid_request"},
		{"malformed code_challenge", false, url.Values{"code_challenge": {"short"}}, http.StatusFound, "invalid_request"},
		{"code_challenge with a space", false, url.Values{"code_challenge": {strings.Repeat("a", 42) + " "}}, http.StatusFound, "invalid_request"},
		{"unknown login_hint", false, url.Values{"login_hint": {"nobody"}}, http.StatusFound, "login_required"},
		{"prompt=none with the consent page", true, url.Values{"prompt": {"none"}}, http.StatusFound, "consent_required"},
		{"prompt none with another value", false, url.Values{"prompt": {"none login"}}, http.StatusFound, "invalid_request"},
	} {
		for _, iss := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{true: " (iss)"}[iss], func(t *testing.T) {
				t.Parallel()
				s := servers[[2]bool{tc.givenConsent, iss}]
				r := get(t, s, authURL(s, tc.when))
				if r.status != tc.expectStatus {
					t.Fatalf("status = %d %s, want %d", r.status, r.raw, tc.expectStatus)
				}
				if tc.expectStatus == http.StatusBadRequest {
					if loc := r.header.Get("Location"); loc != "" {
						t.Fatalf("redirected to %s; an unverified redirect_uri must never be used", loc)
					}
					return
				}
				loc := r.location(t)
				if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI {
					t.Fatalf("redirected to %s, want the registered %s", got, redirectURI)
				}
				q := loc.Query()
				if q.Get("error") != tc.expectError || q.Get("state") != "st4te" || q.Get("code") != "" {
					t.Fatalf("response %v, want error=%s state=st4te and no code", q, tc.expectError)
				}
				if _, present := q["iss"]; present != iss || (iss && q.Get("iss") != s.Issuer) {
					t.Fatalf("iss = %q (present %t), want %t", q.Get("iss"), present, iss)
				}
			})
		}
	}
}

// A good request answers with code, state and (RFC 9207) iss; without
// state in the request there is none in the response.
func TestAuthorizeSuccess(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, oidctest.Config{IssParameter: true})
	q := authorize(t, s, nil)
	if q.Get("code") == "" || q.Get("state") != "st4te" || q.Get("iss") != s.Issuer {
		t.Fatalf("response %v, want code, state st4te and iss %s", q, s.Issuer)
	}
	if q := authorize(t, s, url.Values{"state": nil}); q.Has("state") {
		t.Fatalf("response %v carries a state the request did not", q)
	}
	if n := len(s.Sessions()); n != 2 {
		t.Fatalf("%d OP sessions, want one per authorization", n)
	}
	if s.Calls(oidctest.EndpointAuthorize) != 2 {
		t.Fatalf("authorize calls = %d", s.Calls(oidctest.EndpointAuthorize))
	}
}

// The consent page: HTML that cannot be framed, Allow gives a code, Deny
// gives access_denied with state and iss (RFC 6749 §4.1.2.1, RFC 9207);
// a decision is taken once, by POST only.
func TestConsentPage(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, oidctest.Config{Consent: true, IssParameter: true})
	page := get(t, s, authURL(s, nil))
	if page.status != http.StatusOK || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
		t.Fatalf("authorize with consent: %d %s", page.status, page.header.Get("Content-Type"))
	}
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
		if page.header.Get(h) != want {
			t.Errorf("%s = %q, want %q", h, page.header.Get(h), want)
		}
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	for _, want := range []string{`id="allow"`, `id="deny"`, appID} {
		if !strings.Contains(page.raw, want) {
			t.Errorf("consent page lacks %s", want)
		}
	}
	id := page.raw[strings.Index(page.raw, `name="request" value="`)+len(`name="request" value="`):]
	id = id[:strings.IndexByte(id, '"')]

	if r := get(t, s, s.Issuer+"/consent?request="+id+"&decision=allow"); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("GET consent = %d, want 405", r.status)
	}
	decide := func(decision string) reply {
		return postForm(t, s, s.Issuer+"/consent", auth{}, url.Values{"request": {id}, "decision": {decision}})
	}
	r := decide("deny")
	q := r.location(t).Query()
	if r.status != http.StatusFound || q.Get("error") != "access_denied" || q.Get("state") != "st4te" || q.Get("iss") != s.Issuer || q.Has("code") {
		t.Fatalf("deny: %d %v, want access_denied with state and iss", r.status, q)
	}
	if r := decide("allow"); r.status != http.StatusBadRequest {
		t.Fatalf("second decision on one request = %d, want 400", r.status)
	}
	if r := postForm(t, s, s.Issuer+"/consent", auth{}, url.Values{"request": {"forged"}, "decision": {"allow"}}); r.status != http.StatusBadRequest {
		t.Fatalf("unknown request = %d, want 400", r.status)
	}

	loc, err := s.Authorize(t.Context(), authURL(s, nil), false)
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st4te" {
		t.Fatalf("Allow: %v %v", loc, err)
	}
	loc, err = s.Authorize(t.Context(), authURL(s, nil), true)
	if err != nil || loc.Query().Get("error") != "access_denied" {
		t.Fatalf("Deny through Authorize: %v %v", loc, err)
	}
	if _, _, err := s.AuthorizeCode(t.Context(), authURL(s, nil)); err != nil {
		t.Fatalf("AuthorizeCode: %v", err)
	}
}
