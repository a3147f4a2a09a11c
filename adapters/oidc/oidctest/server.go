// Package oidctest is a fake OpenID Provider for tests and demos, in the
// manner of net/http/httptest: [NewServer] starts it on a random loopback
// port, the caller closes it.
//
// It implements what a relying party talks to, faithfully: discovery
// (OpenID Connect Discovery 1.0), a JWKS with key rotation (RS256 by
// default, ES256 as an option), the authorization endpoint with PKCE S256
// and an optional HTML consent page with Allow and Deny, the token endpoint
// (authorization code with client authentication basic, post or none;
// refresh with rotation and reuse detection), ID tokens (nonce, at_hash,
// sid, azp, auth_time), UserInfo, RFC 7009 revocation, RP-Initiated
// Logout's end_session endpoint (id_token_hint and
// post_logout_redirect_uri checked, state echoed), RFC 9207 "iss" in
// authorization responses, and a sender of back-channel logout tokens
// (typed logout+jwt).
//
// Errors follow the specs: a bad client_id or redirect_uri is a 400 page,
// never a redirect (RFC 6749 §4.1.2.1); other authorization errors go back
// with state (and iss); token endpoint errors are RFC 6749 §5.2 JSON with
// Cache-Control: no-store and Pragma: no-cache; UserInfo answers 401 with
// WWW-Authenticate: Bearer (RFC 6750 §3.1); revocation answers 200 for
// unknown tokens (RFC 7009 §2.2).
//
// [Misbehaviour] knobs make it break the rules a relying party must check:
// wrong iss, aud, azp, nonce or at_hash; bad signature, alg none, HS256
// keyed with the public key, a key outside the JWKS; missing iat, sub or
// exp; no kid with one or several keys; a different sub in UserInfo; a
// wrong or missing iss in the authorization response; a discovery issuer
// that differs; ID tokens in refresh replies with another iss, sub or aud.
//
// It imports the standard library and go-jose only.
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Defaults of Config.
const (
	DefaultCodeTTL    = time.Minute
	DefaultAccessTTL  = time.Hour
	DefaultIDTokenTTL = 10 * time.Minute
)

// Endpoint names a counted endpoint.
type Endpoint string

// Endpoints of the server.
const (
	EndpointDiscovery  Endpoint = "discovery"
	EndpointJWKS       Endpoint = "jwks"
	EndpointAuthorize  Endpoint = "authorize"
	EndpointConsent    Endpoint = "consent"
	EndpointToken      Endpoint = "token"
	EndpointRefresh    Endpoint = "refresh" // refresh_token grants (also counted under EndpointToken)
	EndpointUserInfo   Endpoint = "userinfo"
	EndpointRevoke     Endpoint = "revoke"
	EndpointEndSession Endpoint = "end_session"
)

// Client is a registered relying party.
type Client struct {
	// ID is the client_id. Required.
	ID string
	// Secret is the client secret; empty makes a public client
	// (token_endpoint_auth_method none).
	Secret string
	// RedirectURIs are the registered redirect URIs (exact match).
	RedirectURIs []string
	// PostLogoutRedirectURIs are the registered post_logout_redirect_uri
	// values (exact match).
	PostLogoutRedirectURIs []string
}

// User is an end-user the OP authenticates (automatically, or after the
// consent page).
type User struct {
	// Subject is sub. Required.
	Subject string
	// Name, Email and Picture are served as claims; EmailVerified is
	// email_verified.
	Name, Email, Picture string
	EmailVerified        bool
	// Claims are extra UserInfo claims (never sub).
	Claims map[string]any
}

// Config configures a Server. The zero value works: one user, no clients
// (register them), RS256 keys, no consent page.
type Config struct {
	// Clients are the registered relying parties.
	Clients []Client
	// Users are the end-users; the first is logged in unless login_hint
	// names another. Default: one user "user-1".
	Users []User
	// IssuerPath is appended to the server URL to form the issuer, e.g.
	// "/realms/demo". Default: none (the issuer is the server URL).
	IssuerPath string
	// Alg is the ID token signing algorithm: "RS256" (default) or
	// "ES256". Discovery lists it, and RS256 always (OpenID Connect
	// Discovery 1.0 §3 requires RS256 in
	// id_token_signing_alg_values_supported).
	Alg string
	// Consent shows an HTML page with Allow and Deny before each
	// authorization; Deny redirects with error=access_denied.
	Consent bool
	// IssParameter sends "iss" in every authorization response and
	// advertises authorization_response_iss_parameter_supported (RFC 9207).
	IssParameter bool
	// NoIDTokenOnRefresh leaves the ID token out of refresh replies.
	NoIDTokenOnRefresh bool
	// NoRotation keeps the refresh token on refresh (the reply omits it).
	NoRotation bool
	// NoReuseDetection makes a replayed rotated-out refresh token a plain
	// invalid_grant. Default: the replay revokes the whole grant (RFC 9700
	// §4.14.2).
	NoReuseDetection bool
	// AuthMethods are advertised as token_endpoint_auth_methods_supported.
	// Default: client_secret_basic, client_secret_post, none.
	AuthMethods []string
	// NoEndSession and NoRevocation leave those endpoints out of discovery.
	NoEndSession, NoRevocation bool
	// CodeTTL, AccessTTL and IDTokenTTL are lifetimes. Defaults: see the
	// constants.
	CodeTTL, AccessTTL, IDTokenTTL time.Duration
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Misbehaviour makes the server break the rules on purpose. Set it with
// [Server.Misbehave]; the zero value behaves.
type Misbehaviour struct {
	// IDTokenIss replaces iss in ID tokens.
	IDTokenIss string
	// IDTokenAud replaces aud in ID tokens.
	IDTokenAud []string
	// Azp sets azp in ID tokens ("" leaves it out).
	Azp string
	// WrongNonce puts another nonce in ID tokens; OmitNonce none.
	WrongNonce, OmitNonce bool
	// WrongAtHash puts a wrong at_hash in ID tokens.
	WrongAtHash bool
	// OmitIat, OmitSub, OmitExp leave those claims out; Expired issues
	// ID tokens that expired a minute ago.
	OmitIat, OmitSub, OmitExp, Expired bool
	// BadSignature corrupts the signature of ID tokens.
	BadSignature bool
	// WrongKey signs ID tokens with a key outside the JWKS, under the
	// current key's kid.
	WrongKey bool
	// AlgNone issues unsigned ID tokens (alg none).
	AlgNone bool
	// HS256PublicKey signs ID tokens with HS256 keyed with the PEM of the
	// current public key (algorithm confusion).
	HS256PublicKey bool
	// OmitKid leaves kid out of the ID token header.
	OmitKid bool
	// UserInfoSub replaces sub in UserInfo replies.
	UserInfoSub string
	// OmitIssParameter leaves iss out of authorization responses even
	// when IssParameter is set; IssParameter sends this value instead.
	OmitIssParameter bool
	IssParameter     string
	// DiscoveryIssuer replaces issuer in the discovery document.
	DiscoveryIssuer string
	// RefreshIss, RefreshSub and RefreshAud replace those claims in the
	// ID tokens of refresh replies only.
	RefreshIss, RefreshSub string
	RefreshAud             []string
	// OmitIDToken leaves id_token out of code exchange replies.
	OmitIDToken bool
}

// Server is a running fake OP. Its methods are safe for concurrent use.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:port.
	URL string
	// Issuer is URL + Config.IssuerPath.
	Issuer string

	cfg Config
	ts  *httptest.Server

	mu        sync.Mutex
	mis       Misbehaviour
	keys      []*signingKey // published keys; the last one signs
	calls     map[Endpoint]int
	failNext  map[Endpoint]string
	pending   map[string]*authzRequest // consent page requests
	codes     map[string]*grant
	access    map[string]*accessRecord
	refresh   map[string]*refreshRecord
	revoked   map[*grant]bool
	sessions  map[string]string // sid -> subject (live OP sessions)
	endedSids []string
	done      chan struct{}
	closeOnce sync.Once
}

type signingKey struct {
	kid  string
	alg  string
	priv crypto.Signer
}

// NewServer starts a Server on a random loopback port. Close it when done.
func NewServer(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = DefaultCodeTTL
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = DefaultAccessTTL
	}
	if cfg.IDTokenTTL <= 0 {
		cfg.IDTokenTTL = DefaultIDTokenTTL
	}
	if cfg.Alg == "" {
		cfg.Alg = "RS256"
	}
	if cfg.Alg != "RS256" && cfg.Alg != "ES256" {
		panic("oidctest: Config.Alg must be RS256 or ES256")
	}
	if len(cfg.Users) == 0 {
		cfg.Users = []User{{Subject: "user-1", Name: "Test User", Email: "user-1@example.test", EmailVerified: true}}
	}
	if len(cfg.AuthMethods) == 0 {
		cfg.AuthMethods = []string{"client_secret_basic", "client_secret_post", "none"}
	}
	s := &Server{
		cfg:      cfg,
		calls:    map[Endpoint]int{},
		failNext: map[Endpoint]string{},
		pending:  map[string]*authzRequest{},
		codes:    map[string]*grant{},
		access:   map[string]*accessRecord{},
		refresh:  map[string]*refreshRecord{},
		revoked:  map[*grant]bool{},
		sessions: map[string]string{},
		done:     make(chan struct{}),
	}
	s.keys = []*signingKey{newKey(cfg.Alg)}
	mux := http.NewServeMux()
	p := cfg.IssuerPath
	mux.HandleFunc(p+"/.well-known/openid-configuration", s.handleDiscovery)
	mux.HandleFunc(p+"/jwks", s.handleJWKS)
	mux.HandleFunc(p+"/authorize", s.handleAuthorize)
	mux.HandleFunc(p+"/consent", s.handleConsent)
	mux.HandleFunc(p+"/token", s.handleToken)
	mux.HandleFunc(p+"/userinfo", s.handleUserInfo)
	mux.HandleFunc(p+"/revoke", s.handleRevoke)
	mux.HandleFunc(p+"/end_session", s.handleEndSession)
	s.ts = httptest.NewServer(mux)
	s.URL = s.ts.URL
	s.Issuer = s.URL + p
	return s
}

// Close shuts the server down.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	s.ts.Close()
}

// Client returns an *http.Client for the server.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Misbehave replaces the server's misbehaviour (the zero value restores
// correct behaviour).
func (s *Server) Misbehave(m Misbehaviour) {
	s.mu.Lock()
	s.mis = m
	s.mu.Unlock()
}

func (s *Server) misbehaviour() Misbehaviour {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mis
}

// Calls returns how many requests ep received.
func (s *Server) Calls(ep Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[ep]
}

// Faults FailNext injects (the values match provider/providertest's
// Failure values).
const (
	FaultUnavailable = "unavailable" // 503 with Retry-After: 1
	FaultTimeout     = "timeout"     // no answer until the client gives up or the server closes
	FaultMalformed   = "malformed"   // 200 with broken JSON
	FaultOversized   = "oversized"   // 200 with more than 1 MiB
)

// FailNext makes the next request to ep fail with fault (one of the Fault
// constants).
func (s *Server) FailNext(ep Endpoint, fault string) {
	switch fault {
	case FaultUnavailable, FaultTimeout, FaultMalformed, FaultOversized:
	default:
		panic("oidctest: unknown fault " + fault)
	}
	s.mu.Lock()
	s.failNext[ep] = fault
	s.mu.Unlock()
}

// enter counts a request to ep and serves an injected fault; true means
// the response was written.
func (s *Server) enter(w http.ResponseWriter, r *http.Request, ep Endpoint) bool {
	s.mu.Lock()
	s.calls[ep]++
	fault := s.failNext[ep]
	delete(s.failNext, ep)
	s.mu.Unlock()
	switch fault {
	case "":
		return false
	case FaultUnavailable:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	case FaultTimeout:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
	case FaultMalformed:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token": `))
	case FaultOversized:
		w.Header().Set("Content-Type", "application/json")
		big := make([]byte, 1<<20+10)
		for i := range big {
			big[i] = ' '
		}
		_, _ = w.Write(big)
	}
	return true
}

func newKey(alg string) *signingKey {
	var priv crypto.Signer
	var err error
	switch alg {
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		panic("oidctest: key generation: " + err.Error())
	}
	return &signingKey{kid: randomString(9), alg: alg, priv: priv}
}

// RotateKey publishes a new signing key and signs with it from now on; the
// earlier keys stay published (see RetireKeys). It returns the new kid.
func (s *Server) RotateKey() string {
	k := newKey(s.cfg.Alg)
	s.mu.Lock()
	s.keys = append(s.keys, k)
	s.mu.Unlock()
	return k.kid
}

// AddKey publishes another key of the same algorithm that never signs (for
// tokens without kid against several matching keys). It returns its kid.
func (s *Server) AddKey() string {
	k := newKey(s.cfg.Alg)
	s.mu.Lock()
	s.keys = append([]*signingKey{k}, s.keys...)
	s.mu.Unlock()
	return k.kid
}

// RetireKeys unpublishes every key but the current signing key.
func (s *Server) RetireKeys() {
	s.mu.Lock()
	s.keys = s.keys[len(s.keys)-1:]
	s.mu.Unlock()
}

// KeyIDs returns the published kids, the signing key last.
func (s *Server) KeyIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.keys))
	for i, k := range s.keys {
		out[i] = k.kid
	}
	return out
}

func (s *Server) signingKey() *signingKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[len(s.keys)-1]
}

func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	if s.enter(w, r, EndpointDiscovery) {
		return
	}
	m := s.misbehaviour()
	iss := s.Issuer
	if m.DiscoveryIssuer != "" {
		iss = m.DiscoveryIssuer
	}
	doc := map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                s.Issuer + "/authorize",
		"token_endpoint":                        s.Issuer + "/token",
		"userinfo_endpoint":                     s.Issuer + "/userinfo",
		"jwks_uri":                              s.Issuer + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": signingAlgValues(s.cfg.Alg),
		"response_modes_supported":              []string{"query"},
		"request_parameter_supported":           false,
		"request_uri_parameter_supported":       false, // its default is true (Discovery §3)
		"claims_parameter_supported":            false,
		"token_endpoint_auth_methods_supported": s.cfg.AuthMethods,
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "name", "email", "email_verified", "picture", "sid"},
		"backchannel_logout_supported":          true,
		"backchannel_logout_session_supported":  true,
		"frontchannel_logout_supported":         false,
	}
	if s.cfg.IssParameter {
		doc["authorization_response_iss_parameter_supported"] = true
	}
	if !s.cfg.NoRevocation {
		doc["revocation_endpoint"] = s.Issuer + "/revoke"
	}
	if !s.cfg.NoEndSession {
		doc["end_session_endpoint"] = s.Issuer + "/end_session"
	}
	writeJSON(w, http.StatusOK, doc)
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if s.enter(w, r, EndpointJWKS) {
		return
	}
	s.mu.Lock()
	var set jose.JSONWebKeySet
	for _, k := range s.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: k.alg, Use: "sig"})
	}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, set)
}

// signingAlgValues is id_token_signing_alg_values_supported: RS256, which
// OpenID Connect Discovery 1.0 §3 says MUST be included, and alg.
func signingAlgValues(alg string) []string {
	if alg == "RS256" {
		return []string{"RS256"}
	}
	return []string{alg, "RS256"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes an RFC 6749 §5.2 error (error_description only when
// there is one).
func writeError(w http.ResponseWriter, status int, code, desc string) {
	body := map[string]string{"error": code}
	if desc != "" {
		body["error_description"] = desc
	}
	writeJSON(w, status, body)
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) now() time.Time { return s.cfg.Now() }

func (s *Server) findClient(id string) *Client {
	for i := range s.cfg.Clients {
		if s.cfg.Clients[i].ID == id {
			return &s.cfg.Clients[i]
		}
	}
	return nil
}

func (s *Server) findUser(sub string) (User, bool) {
	if sub == "" {
		return s.cfg.Users[0], true
	}
	for _, u := range s.cfg.Users {
		if u.Subject == sub {
			return u, true
		}
	}
	return User{}, false
}

// redirectWith appends v to u's query.
func redirectWith(u string, v url.Values) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := pu.Query()
	for k, vs := range v {
		q[k] = vs
	}
	pu.RawQuery = q.Encode()
	return pu.String()
}

func unix(t time.Time) int64 { return t.Unix() }
