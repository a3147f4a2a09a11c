package oauth2test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Default values of Config fields.
const (
	DefaultCodeTTL   = 10 * time.Minute
	DefaultAccessTTL = time.Hour
	// DefaultMaxBody bounds request bodies the server reads.
	DefaultMaxBody = 1 << 20
)

// Endpoint names a counted, failure-injectable endpoint. The built-in ones
// are the constants below; a handler mounted with Server.Handle is counted
// under Endpoint(pattern).
type Endpoint string

// Built-in endpoints.
const (
	// EndpointAuthorize is the authorization endpoint.
	EndpointAuthorize Endpoint = "authorize"
	// EndpointToken counts every request to the token path and to the
	// refresh path, whatever the grant.
	EndpointToken Endpoint = "token"
	// EndpointRefresh counts refresh_token grants (on whichever path).
	// A failure injected here hits refresh requests only.
	EndpointRefresh Endpoint = "refresh"
	// EndpointUserInfo is the userinfo endpoint.
	EndpointUserInfo Endpoint = "userinfo"
	// EndpointRevoke is the RFC 7009 revocation endpoint.
	EndpointRevoke Endpoint = "revoke"
)

// Encodings is a set of request encodings the token and revocation
// endpoints accept.
type Encodings uint

// Request encodings.
const (
	// EncodingForm is application/x-www-form-urlencoded (RFC 6749).
	EncodingForm Encodings = 1 << iota
	// EncodingMultipart is multipart/form-data.
	EncodingMultipart
	// EncodingJSON is a JSON object of strings, numbers, booleans or
	// arrays of strings.
	EncodingJSON
	// EncodingQuery merges query-string parameters into the body's (the
	// body wins). Without it query parameters of POSTs are ignored.
	EncodingQuery
)

// Client is a registered OAuth2 client.
type Client struct {
	// ID is the client_id. Required.
	ID string
	// Secret is the client secret. Empty makes a public client, which
	// authenticates with its client_id alone.
	Secret string
	// RedirectURIs are the registered redirect URIs, compared byte for
	// byte (query included). Required for the code grant.
	RedirectURIs []string
}

// User is a resource owner the server approves automatically.
type User struct {
	// Subject is the stable user id ("sub"). Required.
	Subject string
	// Name, Email and Picture are served by the userinfo endpoint.
	Name, Email, Picture string
	// Claims are extra userinfo claims (they never override sub).
	Claims map[string]any
}

// Paths are the endpoint paths. An empty field takes its default; "-"
// disables the endpoint.
type Paths struct {
	// Authorize defaults to "/authorize".
	Authorize string
	// Token defaults to "/token".
	Token string
	// Refresh, when set, is a separate path for the refresh grant (as
	// start.gg's /oauth/refresh): refresh_token is then refused on the
	// token path with unsupported_grant_type. Default: none (refresh on
	// the token path).
	Refresh string
	// UserInfo defaults to "/userinfo".
	UserInfo string
	// Revoke defaults to "/revoke".
	Revoke string
}

// GrantFunc handles a grant_type the server does not know (for example
// Whisk's legacy "anonymous"). It returns the reply to render, or an error.
type GrantFunc func(s *Server, req *TokenRequest) (*TokenReply, *Error)

// Config configures a Server. The zero value is usable: one public client
// is not registered by default, so set Clients for the code grant.
type Config struct {
	// Clients are the registered clients. Required for any token call.
	Clients []Client
	// Users are the resource owners. The authorize endpoint approves the
	// first one, or the one whose Subject equals the login_hint
	// parameter. Default: one user with Subject "user-1".
	Users []User
	// Paths of the endpoints. Default: see Paths.
	Paths Paths
	// Encodings accepted on the token and revocation endpoints. Default:
	// EncodingForm.
	Encodings Encodings
	// Now is the clock for code and token expiry. Default: time.Now.
	Now func() time.Time
	// CodeTTL is the authorization code lifetime. Default: DefaultCodeTTL.
	CodeTTL time.Duration
	// AccessTTL is the access token lifetime. Default: DefaultAccessTTL.
	AccessTTL time.Duration
	// RefreshTTL is the refresh token lifetime. Default: 0, no expiry.
	RefreshTTL time.Duration
	// Scopes, when non-empty, are the only scopes the server grants; an
	// authorize request asking for another gets invalid_scope. Default:
	// any scope is accepted.
	Scopes []string
	// DefaultScopes are granted when an authorize request names none.
	DefaultScopes []string
	// GrantScopes decides what is granted from what was requested (to
	// test "granted less than asked"). Default: everything requested.
	GrantScopes func(requested []string) []string
	// RefreshScope, when set, makes refresh tokens issued only to grants
	// that include this scope (e.g. "offline_access"). Default: always.
	RefreshScope string
	// NoRefreshTokens disables refresh tokens altogether.
	NoRefreshTokens bool
	// NoRotation keeps the refresh token on refresh: the reply omits
	// refresh_token (RFC 6749 §6 allows that) and the old one stays valid.
	// Default: rotate (a new refresh token each time; the old one dies).
	NoRotation bool
	// LenientRotation keeps a rotated-out refresh token usable (it can be
	// refreshed again) until an access token issued after it is first
	// presented (BearerToken, LookupAccessToken, userinfo); from then on it
	// is unknown. For upstreams whose rotation is undocumented, so a client
	// that lost a refresh reply can recover (start.gg). Default: off.
	LenientRotation bool
	// ReuseDetection revokes the whole token family when a rotated-out
	// refresh token is presented again (RFC 9700 §4.14.2). Default: a
	// rotated-out token is merely invalid_grant.
	ReuseDetection bool
	// RevokeAccessOnRefresh makes a refresh revoke the access tokens
	// issued before it in the same family (Whisk does this): presenting
	// one then gets 401 invalid_token. Either way, presentations of such
	// replaced tokens are counted (Server.ReplacedPresentations).
	RevokeAccessOnRefresh bool
	// RequirePKCE refuses authorize requests without a code_challenge.
	RequirePKCE bool
	// AllowImplicit enables response_type=token (token in the redirect's
	// fragment, no refresh token). Default: refused.
	AllowImplicit bool
	// CheckTokenRequest, when set, vets every POST to the token and
	// refresh paths after its body is decoded and before client
	// authentication (for upstreams that require fields RFC 6749 leaves
	// optional). A non-nil Error is rendered and ends the request.
	CheckTokenRequest func(r *http.Request, params url.Values) *Error
	// Grants adds grant types, keyed by grant_type.
	Grants map[string]GrantFunc
	// RenderToken writes a successful token reply. Default: WriteToken
	// (RFC 6749 §5.1 JSON, scope as a space-separated string).
	RenderToken func(w http.ResponseWriter, r *http.Request, reply *TokenReply)
	// RenderError writes an error reply of the token, revocation and
	// userinfo endpoints. Default: WriteError (RFC 6749 §5.2 JSON).
	RenderError func(w http.ResponseWriter, r *http.Request, e *Error)
	// Realm is the WWW-Authenticate realm. Default: "oauth2test".
	Realm string
	// MaxBody bounds request bodies. Default: DefaultMaxBody.
	MaxBody int64
}

// Server is a running fake authorization server. Its methods are safe for
// concurrent use.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port, without a trailing slash.
	URL string

	cfg  Config
	ts   *httptest.Server
	mux  *http.ServeMux
	done chan struct{}
	once sync.Once

	mu       sync.Mutex
	calls    map[Endpoint]int
	failures map[Endpoint][]*Failure
	requests []Request
	warnings []string
	codes    map[string]*codeGrant
	access   map[string]*tokenRecord
	refresh  map[string]*tokenRecord
	revoked  map[string]bool // families
	nextFam  int
	nextSeq  int // issue order of token sets (LenientRotation)

	replaced     map[string]int // access tokens superseded by a refresh → order
	replacedSeq  int
	replacedSeen int // presentations of replaced access tokens
}

// NewServer starts and returns a Server. The caller must Close it.
func NewServer(cfg Config) *Server {
	s := NewUnstartedServer(cfg)
	s.Start()
	return s
}

// NewUnstartedServer returns a Server that is not yet listening; call Start
// (after mounting handlers with Handle, if you like).
func NewUnstartedServer(cfg Config) *Server {
	if cfg.Encodings == 0 {
		cfg.Encodings = EncodingForm
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = DefaultCodeTTL
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = DefaultAccessTTL
	}
	if len(cfg.Users) == 0 {
		cfg.Users = []User{{Subject: "user-1", Name: "Test User", Email: "user-1@example.test"}}
	}
	if cfg.RenderToken == nil {
		cfg.RenderToken = func(w http.ResponseWriter, _ *http.Request, reply *TokenReply) { WriteToken(w, reply) }
	}
	if cfg.RenderError == nil {
		cfg.RenderError = func(w http.ResponseWriter, _ *http.Request, e *Error) { WriteError(w, e) }
	}
	if cfg.Realm == "" {
		cfg.Realm = "oauth2test"
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	cfg.Paths.Authorize = orDefault(cfg.Paths.Authorize, "/authorize")
	cfg.Paths.Token = orDefault(cfg.Paths.Token, "/token")
	cfg.Paths.UserInfo = orDefault(cfg.Paths.UserInfo, "/userinfo")
	cfg.Paths.Revoke = orDefault(cfg.Paths.Revoke, "/revoke")
	s := &Server{
		cfg:      cfg,
		mux:      http.NewServeMux(),
		done:     make(chan struct{}),
		calls:    map[Endpoint]int{},
		failures: map[Endpoint][]*Failure{},
		codes:    map[string]*codeGrant{},
		access:   map[string]*tokenRecord{},
		refresh:  map[string]*tokenRecord{},
		revoked:  map[string]bool{},
	}
	mount := func(path string, h http.HandlerFunc) {
		if path != "" && path != "-" {
			s.mux.HandleFunc(path, h)
		}
	}
	mount(cfg.Paths.Authorize, s.handleAuthorize)
	mount(cfg.Paths.Token, s.handleTokenPath)
	if cfg.Paths.Refresh != cfg.Paths.Token {
		mount(cfg.Paths.Refresh, s.handleRefreshPath)
	}
	mount(cfg.Paths.UserInfo, s.handleUserInfo)
	mount(cfg.Paths.Revoke, s.handleRevoke)
	s.ts = httptest.NewUnstartedServer(s.mux)
	return s
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// Start starts a server from NewUnstartedServer.
func (s *Server) Start() {
	s.ts.Start()
	s.URL = s.ts.URL
}

// Close unblocks hanging handlers, shuts the server down and waits for
// outstanding requests.
func (s *Server) Close() {
	s.once.Do(func() { close(s.done) })
	s.ts.Close()
}

// Client returns an *http.Client configured for the server. It follows
// redirects, so do not use it to drive the authorize endpoint (use
// AuthorizeCode).
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Config returns the server's configuration with defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Handle mounts h on the server's mux under pattern (net/http.ServeMux
// syntax). Requests are counted under Endpoint(pattern) and go through
// failures injected for it. It may be called while the server runs.
func (s *Server) Handle(pattern string, h http.Handler) {
	ep := Endpoint(pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.count(ep)
		s.record(ep, r, nil)
		if s.injectFailure(w, r, ep) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// HandleFunc is Handle for a function.
func (s *Server) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	s.Handle(pattern, http.HandlerFunc(h))
}

func (s *Server) endpointURL(p string) string {
	if p == "" || p == "-" {
		return ""
	}
	return s.URL + p
}

// AuthorizeURL is the absolute URL of the authorization endpoint.
func (s *Server) AuthorizeURL() string { return s.endpointURL(s.cfg.Paths.Authorize) }

// TokenURL is the absolute URL of the token endpoint.
func (s *Server) TokenURL() string { return s.endpointURL(s.cfg.Paths.Token) }

// RefreshURL is the absolute URL refresh requests go to: the refresh path
// when one is configured, else the token endpoint.
func (s *Server) RefreshURL() string {
	if s.cfg.Paths.Refresh != "" {
		return s.endpointURL(s.cfg.Paths.Refresh)
	}
	return s.TokenURL()
}

// UserInfoURL is the absolute URL of the userinfo endpoint.
func (s *Server) UserInfoURL() string { return s.endpointURL(s.cfg.Paths.UserInfo) }

// RevocationURL is the absolute URL of the revocation endpoint.
func (s *Server) RevocationURL() string { return s.endpointURL(s.cfg.Paths.Revoke) }

// Calls returns how many requests ep has received.
func (s *Server) Calls(ep Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[ep]
}

// ResetCalls zeroes every counter (ReplacedPresentations too) and forgets
// recorded requests.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[Endpoint]int{}
	s.requests = nil
	s.replacedSeen = 0
}

func (s *Server) count(ep Endpoint) {
	s.mu.Lock()
	s.calls[ep]++
	s.mu.Unlock()
}

// Request is a recorded request.
type Request struct {
	// Endpoint is where it was counted (a token request counts under
	// EndpointToken; a refresh is recorded once more under EndpointRefresh).
	Endpoint Endpoint
	Method   string
	// URL is the request URL (path and query) as received.
	URL *url.URL
	// Header is a copy of the request headers.
	Header http.Header
	// Params are the decoded parameters of token and revocation requests
	// (body merged with the query when EncodingQuery is set), or the query
	// of authorize requests. Nil for other endpoints.
	Params url.Values
}

// Requests returns the recorded requests to ep, oldest first; an empty ep
// returns all of them.
func (s *Server) Requests(ep Endpoint) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if ep == "" || r.Endpoint == ep {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) record(ep Endpoint, r *http.Request, params url.Values) {
	u := *r.URL
	rec := Request{Endpoint: ep, Method: r.Method, URL: &u, Header: r.Header.Clone()}
	if params != nil {
		rec.Params = cloneValues(params)
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Warnings lists protocol misuses the server noticed but tolerated, such as
// a client_secret in an authorize URL or a token in a query string. A
// careful client produces none.
func (s *Server) Warnings() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.warnings...)
}

func (s *Server) warn(format string, args ...any) {
	s.mu.Lock()
	s.warnings = append(s.warnings, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

// AuthorizeCode drives the authorize endpoint the way a browser would for
// the auto-approved user: it GETs authURL without following the redirect
// and returns the code and state from the 302's Location. An error=
// redirect, or any other answer, is returned as an error. authURL may point
// at any server built on this package.
func (s *Server) AuthorizeCode(ctx context.Context, authURL string) (code, state string, err error) {
	loc, err := s.Authorize(ctx, authURL)
	if err != nil {
		return "", "", err
	}
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		return "", q.Get("state"), &Error{Status: http.StatusFound, Code: e, Description: q.Get("error_description")}
	}
	if q.Get("code") == "" {
		return "", "", errors.New("oauth2test: redirect carries no code")
	}
	return q.Get("code"), q.Get("state"), nil
}

// Authorize GETs authURL without following redirects and returns the
// Location of the server's 302 (the callback URL, with the code in its
// query, or the token in its fragment for the implicit grant).
func (s *Server) Authorize(ctx context.Context, authURL string) (*url.URL, error) {
	hc := *s.ts.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("oauth2test: authorize answered %d, not 302", resp.StatusCode)
	}
	return url.Parse(resp.Header.Get("Location"))
}

// newSecret returns 256 random bits, base64url.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
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

func splitScopes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
}
