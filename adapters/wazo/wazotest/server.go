package wazotest

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
)

// Defaults and limits of Config fields (the values of wazo-auth's own
// configuration).
const (
	// DefaultLifetime is wazo-auth's default_token_lifetime.
	DefaultLifetime = 7200 * time.Second
	// MaxExpiration is the largest expiration accepted, in seconds.
	MaxExpiration = 315360000
	// DefaultMaxSessions is wazo-auth's max_user_concurrent_sessions.
	DefaultMaxSessions = 100
	// maxBody bounds the request bodies the fake reads.
	maxBody = 1 << 20
)

// DefaultACL returns the ACL given to users configured without one: enough
// for the user to manage their own refresh tokens and read their profile.
func DefaultACL() []string {
	return []string{"auth.users.me.#", "confd.users.me.read", "confd.users.me.update"}
}

// User is a wazo-auth user.
type User struct {
	// Username and Password are the login credentials. Required.
	Username, Password string
	// Email, when set, also works as the login name (a confirmed address).
	Email string
	// UUID is the user's id. Default: a random UUID v4.
	UUID string
	// TenantUUID is the user's tenant. Default: Config.TenantUUID.
	TenantUUID string
	// ACL is what the user's tokens may do. Default: DefaultACL().
	ACL []string
	// Metadata is merged into the token metadata (keys other plugins add,
	// such as "admin"). It never overrides the standard keys.
	Metadata map[string]any
}

// Config configures a Server. The zero value is usable.
type Config struct {
	// Users are the accounts. Default: one user "alice" with password
	// "alice-password".
	Users []User
	// PathPrefix goes before the version path: "" serves at /0.1 (wazo-auth
	// itself), "/api/auth" at /api/auth/0.1 (behind the platform's proxy).
	PathPrefix string
	// Now is the clock for issuing and expiring tokens. Default: time.Now.
	Now func() time.Time
	// Location is the server's local time zone, used for the naive
	// issued_at/expires_at fields. Default: UTC.
	Location *time.Location
	// DefaultLifetime applies when a token request has no expiration.
	// Default: DefaultLifetime (7200 s).
	DefaultLifetime time.Duration
	// MaxSessions is how many live sessions a user may have; one more login
	// gets 429. Default: DefaultMaxSessions (100).
	MaxSessions int
	// TenantUUID is the default tenant. Default: a random UUID v4.
	TenantUUID string
	// XivoUUID is the engine uuid (xivo_uuid). Default: a random UUID v4.
	XivoUUID string
}

// Endpoint names a counted, failure-injectable wazo-auth endpoint.
type Endpoint string

// The endpoints.
const (
	// EndpointToken is POST {base}/token (logins and refreshes).
	EndpointToken Endpoint = "POST /token"
	// EndpointValidate is GET and HEAD {base}/token/{token}.
	EndpointValidate Endpoint = "GET /token/{token}"
	// EndpointRevoke is DELETE {base}/token/{token}.
	EndpointRevoke Endpoint = "DELETE /token/{token}"
	// EndpointScopesCheck is POST {base}/token/{token}/scopes/check.
	EndpointScopesCheck Endpoint = "POST /token/{token}/scopes/check"
	// EndpointUserTokens is GET {base}/users/me/tokens, the small
	// "upstream API" that needs X-Auth-Token.
	EndpointUserTokens Endpoint = "GET /users/me/tokens"
	// EndpointDeleteUserToken is DELETE {base}/users/me/tokens/{client_id}.
	EndpointDeleteUserToken Endpoint = "DELETE /users/me/tokens/{client_id}"
)

// Failure is a fault to inject with Server.Fail (the generic engine's).
type Failure = oauth2test.Failure

// Clock is a manual clock for Config.Now (the generic engine's); give its
// Now to the code under test too, so both sides agree on the time.
type Clock = oauth2test.Clock

// NewClock returns a Clock set to t.
func NewClock(t time.Time) *Clock { return oauth2test.NewClock(t) }

// Request is a recorded request (the generic engine's): method, URL and a
// copy of the headers.
type Request = oauth2test.Request

// Server is a running fake wazo-auth. Its methods are safe for concurrent
// use.
type Server struct {
	// URL is the base URL including the version path, for example
	// http://127.0.0.1:41234/0.1, without a trailing slash: what
	// wazo.Config.BaseURL wants.
	URL string

	cfg    Config
	engine *oauth2test.Server
	base   string // PathPrefix + "/0.1"

	mu      sync.Mutex
	users   []User
	access  map[string]*accessToken
	refresh map[string]*refreshToken

	replaced     map[string]int // tokens superseded by a refresh → order
	replacedSeq  int
	replacedSeen int // presentations of replaced tokens
}

// NewServer starts and returns a Server. The caller must Close it.
func NewServer(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.DefaultLifetime <= 0 {
		cfg.DefaultLifetime = DefaultLifetime
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.TenantUUID == "" {
		cfg.TenantUUID = NewUUID()
	}
	if cfg.XivoUUID == "" {
		cfg.XivoUUID = NewUUID()
	}
	cfg.PathPrefix = strings.TrimRight(cfg.PathPrefix, "/")
	if len(cfg.Users) == 0 {
		cfg.Users = []User{{Username: "alice", Password: "alice-password"}}
	}
	users := make([]User, len(cfg.Users))
	for i, u := range cfg.Users {
		if u.UUID == "" {
			u.UUID = NewUUID()
		}
		if u.TenantUUID == "" {
			u.TenantUUID = cfg.TenantUUID
		}
		if u.ACL == nil {
			u.ACL = DefaultACL()
		}
		users[i] = u
	}
	cfg.Users = users
	s := &Server{
		cfg:     cfg,
		base:    cfg.PathPrefix + "/0.1",
		users:   users,
		access:  map[string]*accessToken{},
		refresh: map[string]*refreshToken{},
	}
	// The generic engine gives the listener, counters, recorder and
	// failure injection; its OAuth endpoints are switched off.
	s.engine = oauth2test.NewServer(oauth2test.Config{
		Paths: oauth2test.Paths{Authorize: "-", Token: "-", UserInfo: "-", Revoke: "-"},
		Now:   cfg.Now,
	})
	for ep, h := range map[Endpoint]http.HandlerFunc{
		EndpointToken:           s.handleToken,
		EndpointValidate:        s.handleValidate,
		EndpointRevoke:          s.handleRevoke,
		EndpointScopesCheck:     s.handleScopesCheck,
		EndpointUserTokens:      s.handleUserTokens,
		EndpointDeleteUserToken: s.handleDeleteUserToken,
	} {
		s.engine.HandleFunc(s.pattern(ep), h)
	}
	s.URL = s.engine.URL + s.base
	return s
}

// pattern is ep's ServeMux pattern under the base path.
func (s *Server) pattern(ep Endpoint) string {
	method, path, _ := strings.Cut(string(ep), " ")
	return method + " " + s.base + path
}

// Close shuts the server down; hanging handlers are released first.
func (s *Server) Close() { s.engine.Close() }

// Client returns an *http.Client for the server.
func (s *Server) Client() *http.Client { return s.engine.Client() }

// Config returns the configuration with defaults filled in (Users with
// their UUIDs, tenants and ACLs).
func (s *Server) Config() Config { return s.cfg }

// User returns the configured user with this user name, defaults filled.
func (s *Server) User(username string) (User, bool) {
	for _, u := range s.users {
		if u.Username == username {
			return u, true
		}
	}
	return User{}, false
}

// Calls returns how many requests ep has received (injected failures
// included).
func (s *Server) Calls(ep Endpoint) int {
	return s.engine.Calls(oauth2test.Endpoint(s.pattern(ep)))
}

// ResetCalls zeroes the counters and forgets recorded requests.
func (s *Server) ResetCalls() { s.engine.ResetCalls() }

// Requests returns the recorded requests to ep, oldest first; "" returns
// all of them.
func (s *Server) Requests(ep Endpoint) []Request {
	if ep == "" {
		return s.engine.Requests("")
	}
	return s.engine.Requests(oauth2test.Endpoint(s.pattern(ep)))
}

// Fail queues f for ep: the next f.Times requests to ep (default one) fail
// as f says. The default body of a 5xx is not Wazo-shaped; set f.Body for
// that.
func (s *Server) Fail(ep Endpoint, f Failure) {
	s.engine.Fail(oauth2test.Endpoint(s.pattern(ep)), f)
}

// ClearFailures drops every queued failure.
func (s *Server) ClearFailures() { s.engine.ClearFailures() }

// Sessions returns how many live sessions (unexpired access tokens) the
// user has.
func (s *Server) Sessions(userUUID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveSessionsLocked(userUUID)
}

// RefreshTokens returns how many refresh tokens the user has.
func (s *Server) RefreshTokens(userUUID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, rt := range s.refresh {
		if rt.userUUID == userUUID {
			n++
		}
	}
	return n
}

// NewUUID returns a random UUID v4 in canonical lowercase form.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
