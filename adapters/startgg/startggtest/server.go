// Package startggtest is a fake start.gg for tests and demos, in the manner
// of net/http/httptest: [NewServer] starts it on a random 127.0.0.1 port and
// the caller Closes it. It follows start.gg's documented OAuth API
// (https://developer.start.gg/docs/oauth/oauth-overview):
//
//   - GET /oauth/authorize auto-approves the first configured user (or the
//     one whose id is the login_hint) and redirects with ?code=&state=;
//     PKCE S256 is checked when a challenge was sent; a client_secret in
//     the URL (as start.gg's own sample code does) is tolerated but recorded
//     in Warnings;
//   - POST /oauth/access_token and POST /oauth/refresh (a separate URL; a
//     refresh grant on the token URL is refused) accept JSON and form
//     bodies, require all six documented fields (grant_type, client_id,
//     client_secret, code or refresh_token, scope, redirect_uri; a missing
//     one is 400), accept client_id as a JSON string or number, and answer
//     {"access_token","token_type":"Bearer","expires_in":604800,
//     "refresh_token"} with no scope;
//   - refresh tokens rotate on every refresh; by default the old one stays
//     valid until the new access token is first used (start.gg documents
//     nothing; see Config.StrictRotation);
//   - every error is {"success":false,"message":"..."}: 400 for a bad,
//     used or expired code, a bad secret, a redirect_uri mismatch or an
//     unknown refresh token;
//   - POST (or GET) /gql/alpha answers the currentUser query with a Bearer
//     token: 401 {"success":false,"message":"Invalid authentication token"}
//     without a live one; email only with the user.email scope, else a
//     GraphQL error inside a 200; ids as JSON numbers (or strings, see
//     Config.StringIDs).
//
// The authorize and API "hosts" (start.gg and api.start.gg) are one server:
// use [Server.URL] for both of the adapter's base URLs.
//
// Everything the generic engine offers is there too, through the embedded
// *oauth2test.Server: call counters (Calls with oauth2test.EndpointToken,
// oauth2test.EndpointRefresh, [EndpointGraphQL]), recorded requests,
// failure injection (Fail, FailNext, and [Server.RateLimit] for start.gg's
// own rate-limit reply), IssueToken and token lookups.
//
// The package imports the standard library and oauth2test only.
package startggtest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
)

// Defaults of Config.
const (
	DefaultClientID     = "1234"
	DefaultClientSecret = "startggtest-client-secret"
	// DefaultAccessTTL is start.gg's access token lifetime: 7 days.
	DefaultAccessTTL = 604800 * time.Second
)

// Paths of the fake's endpoints (start.gg's own).
const (
	AuthorizePath = "/oauth/authorize"
	TokenPath     = "/oauth/access_token"
	RefreshPath   = "/oauth/refresh"
	GraphQLPath   = "/gql/alpha"
)

// EndpointGraphQL counts requests to /gql/alpha (Calls, Requests, Fail).
// The OAuth endpoints are counted under oauth2test's EndpointAuthorize,
// EndpointToken and EndpointRefresh.
const EndpointGraphQL = oauth2test.Endpoint(GraphQLPath)

// Scopes start.gg publishes; the fake grants no others.
var publishedScopes = []string{"user.identity", "user.email", "tournament.manager", "tournament.reporter"}

// RateLimitMessage is start.gg's rate-limit rejection message.
const RateLimitMessage = "Rate limit exceeded - api-token"

// User is a start.gg account as currentUser shows it.
type User struct {
	// ID is currentUser.id. Default: 123456 for the first user, then
	// 123457, and so on.
	ID int64
	// Slug, Name, Discriminator and Email are the User fields.
	// Defaults: "user/<discriminator>", "Player <ID>", 8 hex digits of ID,
	// "player<ID>@example.test".
	Slug, Name, Discriminator, Email string
	// PlayerID and GamerTag are currentUser.player's id and gamerTag.
	// Defaults: ID+1000, "Tag<ID>". GamerTagPrefix is player.prefix
	// (default null).
	PlayerID       int64
	GamerTag       string
	GamerTagPrefix string
}

// Config configures a Server. The zero value serves the default client
// and user, but a redirect URI must be registered for the code flow.
type Config struct {
	// ClientID is the application's id (numeric, as start.gg's are).
	// Default: DefaultClientID.
	ClientID string
	// ClientSecret is the application's secret. Default:
	// DefaultClientSecret.
	ClientSecret string
	// RedirectURIs are the registered redirect URIs, compared byte for
	// byte. Required for the code flow.
	RedirectURIs []string
	// Users are the accounts; the first one is approved unless the
	// authorize request's login_hint names another's ID. Default: one
	// user with the defaults of User.
	Users []User
	// StringIDs renders currentUser.id and player.id as JSON strings
	// instead of numbers (the schema's ID type allows both).
	StringIDs bool
	// Now is the clock for codes and tokens. Default: time.Now.
	Now func() time.Time
	// AccessTTL is the access token lifetime. Default: DefaultAccessTTL.
	AccessTTL time.Duration
	// CodeTTL is the authorization code lifetime. Default: 10 minutes.
	CodeTTL time.Duration
	// RefreshTTL is the refresh token lifetime. Default: none.
	RefreshTTL time.Duration
	// StrictRotation makes a refresh token die as soon as it is used
	// (its successor is the only valid one). Default: lenient, the old
	// one stays valid until the new access token is first used.
	StrictRotation bool
	// ReuseDetection (with StrictRotation) revokes the whole grant when
	// a rotated-out refresh token is presented again.
	ReuseDetection bool
	// RequirePKCE refuses authorize requests without a code_challenge.
	// Default: PKCE is checked when a challenge was sent.
	RequirePKCE bool
	// GrantScopes decides what is granted from what was requested (to
	// test, say, user.email being refused). Default: everything.
	GrantScopes func(requested []string) []string
}

// Server is a running fake start.gg. Its methods are safe for concurrent
// use. URL is both the authorize base URL and the API base URL.
type Server struct {
	*oauth2test.Server
	cfg   Config
	users map[string]User // by subject (decimal ID)
}

// NewServer starts and returns a Server. The caller must Close it.
func NewServer(cfg Config) *Server {
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = DefaultClientSecret
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = DefaultAccessTTL
	}
	if len(cfg.Users) == 0 {
		cfg.Users = []User{{}}
	}
	cfg.Users = slices.Clone(cfg.Users)
	s := &Server{users: map[string]User{}}
	engineUsers := make([]oauth2test.User, len(cfg.Users))
	for i, u := range cfg.Users {
		u = withDefaults(u, int64(123456+i))
		cfg.Users[i] = u
		sub := strconv.FormatInt(u.ID, 10)
		s.users[sub] = u
		engineUsers[i] = oauth2test.User{Subject: sub, Name: u.Name, Email: u.Email}
	}
	s.cfg = cfg
	s.Server = oauth2test.NewUnstartedServer(oauth2test.Config{
		Clients: []oauth2test.Client{{ID: cfg.ClientID, Secret: cfg.ClientSecret, RedirectURIs: slices.Clone(cfg.RedirectURIs)}},
		Users:   engineUsers,
		Paths: oauth2test.Paths{
			Authorize: AuthorizePath, Token: TokenPath, Refresh: RefreshPath,
			UserInfo: "-", Revoke: "-", // start.gg has neither
		},
		Encodings:         oauth2test.EncodingJSON | oauth2test.EncodingForm,
		Now:               cfg.Now,
		CodeTTL:           cfg.CodeTTL,
		AccessTTL:         cfg.AccessTTL,
		RefreshTTL:        cfg.RefreshTTL,
		Scopes:            publishedScopes,
		GrantScopes:       cfg.GrantScopes,
		LenientRotation:   !cfg.StrictRotation,
		ReuseDetection:    cfg.StrictRotation && cfg.ReuseDetection,
		RequirePKCE:       cfg.RequirePKCE,
		CheckTokenRequest: checkTokenRequest,
		RenderToken:       renderToken,
		RenderError:       renderError,
		Realm:             "start.gg",
	})
	s.HandleFunc(GraphQLPath, s.serveGraphQL)
	s.Start()
	return s
}

func withDefaults(u User, id int64) User {
	if u.ID == 0 {
		u.ID = id
	}
	if u.Discriminator == "" {
		u.Discriminator = strconv.FormatInt(0x1a2b3c4d+u.ID, 16)
	}
	if u.Slug == "" {
		u.Slug = "user/" + u.Discriminator
	}
	if u.Name == "" {
		u.Name = "Player " + strconv.FormatInt(u.ID, 10)
	}
	if u.Email == "" {
		u.Email = "player" + strconv.FormatInt(u.ID, 10) + "@example.test"
	}
	if u.PlayerID == 0 {
		u.PlayerID = u.ID + 1000
	}
	if u.GamerTag == "" {
		u.GamerTag = "Tag" + strconv.FormatInt(u.ID, 10)
	}
	return u
}

// Config returns the configuration with defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// GraphQLURL is the absolute URL of /gql/alpha.
func (s *Server) GraphQLURL() string { return s.URL + GraphQLPath }

// User returns the configured user whose currentUser.id is id.
func (s *Server) User(id int64) (User, bool) {
	u, ok := s.users[strconv.FormatInt(id, 10)]
	return u, ok
}

// IssueUserToken mints a token set for u (by ID) with scopes, as a
// completed login would, for tests that start logged in.
func (s *Server) IssueUserToken(id int64, scopes ...string) *oauth2test.TokenReply {
	sub := strconv.FormatInt(id, 10)
	u := s.users[sub]
	return s.IssueToken(s.cfg.ClientID, oauth2test.User{Subject: sub, Name: u.Name, Email: u.Email}, scopes)
}

// RateLimit makes the next times requests to ep (EndpointGraphQL,
// oauth2test.EndpointToken or oauth2test.EndpointRefresh) answer start.gg's
// rate-limit rejection: 429 {"success":false,"message":"Rate limit
// exceeded - api-token"} with Retry-After: 60. times < 0 means until
// ClearFailures.
func (s *Server) RateLimit(ep oauth2test.Endpoint, times int) {
	s.Fail(ep, oauth2test.Failure{
		Times:  times,
		Status: http.StatusTooManyRequests,
		Body:   `{"success":false,"message":"` + RateLimitMessage + `"}`,
		Header: http.Header{"Retry-After": {"60"}},
	})
}

// required lists, per grant, the fields start.gg documents as required.
var required = map[string][]string{
	"authorization_code": {"grant_type", "client_id", "client_secret", "code", "scope", "redirect_uri"},
	"refresh_token":      {"grant_type", "refresh_token", "scope", "client_id", "client_secret", "redirect_uri"},
}

// checkTokenRequest enforces the six required fields before the engine
// authenticates the client (so a missing secret is a 400 like the rest).
func checkTokenRequest(_ *http.Request, p url.Values) *oauth2test.Error {
	fields, ok := required[p.Get("grant_type")]
	if !ok {
		fields = []string{"grant_type"}
	}
	for _, f := range fields {
		if p.Get(f) == "" {
			return &oauth2test.Error{Status: http.StatusBadRequest, Code: "invalid_request", Description: "Missing required parameter: " + f}
		}
	}
	return nil
}

// renderToken writes start.gg's token reply: no scope field.
func renderToken(w http.ResponseWriter, _ *http.Request, reply *oauth2test.TokenReply) {
	f := reply.Fields()
	delete(f, "scope")
	oauth2test.WriteJSON(w, http.StatusOK, f)
}

// renderError writes start.gg's {"success":false,"message"} envelope. A
// failed client authentication is a 400 like every other token-endpoint
// error (spec §3.5), without RFC 6749's WWW-Authenticate.
func renderError(w http.ResponseWriter, _ *http.Request, e *oauth2test.Error) {
	status := e.Status
	if e.Code == "invalid_client" {
		status = http.StatusBadRequest
		w.Header().Del("WWW-Authenticate")
	}
	writeFailure(w, status, errorMessage(e))
}

func errorMessage(e *oauth2test.Error) string {
	switch e.Code {
	case "invalid_client":
		return "Invalid client credentials"
	case "invalid_grant":
		return "Invalid grant: " + e.Description
	}
	if e.Description != "" {
		return e.Description
	}
	return e.Code
}

func writeFailure(w http.ResponseWriter, status int, message string) {
	oauth2test.WriteJSON(w, status, map[string]any{"success": false, "message": message})
}
