// Package whisktest is a fake Whisk (API v2) for tests and demos, in the
// manner of net/http/httptest: [NewServer] starts it on a random 127.0.0.1
// port, [Server.URL] is its base URL (use it as both the login and the API
// host), [Server.Close] stops it.
//
// It is a configuration of the generic fake authorization server
// [oauth2test.Server] (embedded, so its counters, failure injection,
// recorded requests, token helpers and Warnings are all available) plus
// Whisk's own user endpoint. It follows Whisk's documentation
// (https://docs.whisk.com, "User Access Token" and "Errors and
// Troubleshooting") and, where that is silent, the assumptions of the
// Gatehouse provider spec:
//
//   - GET /oauth/v2/authorize auto-approves the user (the first of
//     [Config.Users], or the one named by login_hint) and 302s back with
//     code and state. redirect_uri must be registered (exact match; an
//     unknown one gets 400 and no redirect). Scopes may be separated by
//     spaces, commas, "+" or "%20". identity_provider is accepted, recorded
//     ([Server.IdentityProviders]) and, as there is no login page, changes
//     nothing. PKCE S256 is checked when a challenge is sent.
//     response_type=token (the implicit grant) only with
//     [Config.AllowImplicit]: the token comes back in the fragment.
//   - POST /oauth/v2/token takes grant_type authorization_code and
//     refresh_token as an urlencoded, multipart or JSON body, with query
//     parameters merged in (the body wins; secrets in the URL are noted in
//     Warnings). Client credentials go in the body (Basic is tolerated).
//     redirect_uri must repeat the authorize request's; the redirect_url
//     misspelling is ignored. Codes are single use and live a day.
//   - Token replies carry scope as a JSON array (a string with
//     [Config.ScopeAsString]), expires_in 86400 by default, and always a
//     refresh_token on the code grant (only with offline_access when
//     [Config.RequireOfflineAccess]). Refreshing rotates the refresh token
//     and deletes the access tokens issued before it at once, as Whisk does.
//   - GET /user/v2/me answers {"user": {...}} for a Bearer user token, with
//     Whisk's "unset" markers (empty strings, *_INVALID enums). Without a
//     token it answers 401 {"code":"auth.tokenRequired"}, with an expired
//     one 401 auth.tokenExpired, with an unknown or deleted one 401
//     auth.tokenNotFound, and with a "Token" (server/client token) scheme
//     403 authorization.forbidden. An access token replaced by a refresh
//     is deleted, so it gets auth.tokenNotFound; the presentations of
//     replaced tokens are counted ([oauth2test.Server.ReplacedPresentations]).
//   - Token-endpoint errors are RFC 6749 bodies ({"error":"invalid_grant"}),
//     since Whisk documents none of its own there.
//
// The package imports only the standard library and oauth2test; it never
// imports the adapter it fakes.
package whisktest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
)

// Whisk's endpoint paths, served on one base URL.
const (
	AuthorizePath = "/oauth/v2/authorize"
	TokenPath     = "/oauth/v2/token"
	MePath        = "/user/v2/me"
)

// Endpoints for Server.Calls, Server.Fail and Server.Requests.
const (
	EndpointAuthorize = oauth2test.EndpointAuthorize
	// EndpointToken counts every token request, refreshes included.
	EndpointToken = oauth2test.EndpointToken
	// EndpointRefresh counts refresh_token grants.
	EndpointRefresh = oauth2test.EndpointRefresh
	// EndpointMe is GET /user/v2/me.
	EndpointMe = oauth2test.Endpoint("GET " + MePath)
)

// Defaults of Config.
const (
	DefaultClientID     = "whisk-client"
	DefaultClientSecret = "whisk-client-secret"
	DefaultRedirectURI  = "http://127.0.0.1/auth/whisk/callback"
	// DefaultAccessTTL is the expires_in of every Whisk example (a day).
	DefaultAccessTTL = 24 * time.Hour
	// DefaultCodeTTL: Whisk codes expire in one day.
	DefaultCodeTTL = 24 * time.Hour
	// DefaultRefreshTTL: refresh tokens last a year.
	DefaultRefreshTTL = 365 * 24 * time.Hour
	// OfflineAccess is the scope that asks for a refresh token.
	OfflineAccess = "offline_access"
)

// Whisk error codes the fake answers with.
const (
	CodeTokenRequired = "auth.tokenRequired"
	CodeTokenExpired  = "auth.tokenExpired"
	CodeTokenNotFound = "auth.tokenNotFound"
	CodeForbidden     = "authorization.forbidden"
)

// Client is a registered application.
type Client = oauth2test.Client

// User is a Whisk account. Empty fields are served as Whisk serves unset
// values: empty strings.
type User struct {
	// ID is the user id (Whisk's are hex strings). Required.
	ID string
	// Email, Phone, FirstName, LastName and PhotoURL are profile fields.
	Email, Phone, FirstName, LastName, PhotoURL string
}

// Config configures a Server. The zero value is usable.
type Config struct {
	// Clients are the registered applications. Default: one client
	// DefaultClientID / DefaultClientSecret with DefaultRedirectURI.
	Clients []Client
	// Users are the accounts. Default: one user, DefaultUser().
	Users []User
	// Scopes, when non-empty, are the only scopes granted (offline_access
	// is always known); an authorize request asking for another gets
	// invalid_scope. Default: any scope.
	Scopes []string
	// GrantScopes decides what is granted from what was asked (to test
	// "granted less than asked"). Default: everything asked.
	GrantScopes func(requested []string) []string
	// ScopeAsString renders scope in token replies as a space-separated
	// string instead of a JSON array.
	ScopeAsString bool
	// RequireOfflineAccess issues refresh tokens only to grants that
	// include offline_access (what Whisk documents). Default: the code
	// grant always returns one.
	RequireOfflineAccess bool
	// NoRotation keeps the refresh token valid across refreshes (the reply
	// then omits refresh_token). Default: rotate.
	NoRotation bool
	// ReuseDetection revokes the whole grant when a rotated-out refresh
	// token is presented again. Default: merely invalid_grant.
	ReuseDetection bool
	// RequirePKCE refuses code-grant authorize requests without a
	// code_challenge. Default: PKCE is checked when sent.
	RequirePKCE bool
	// AllowImplicit enables response_type=token. Default: refused with
	// unsupported_response_type.
	AllowImplicit bool
	// Now is the clock. Default: time.Now. oauth2test.NewClock gives a
	// manual one.
	Now func() time.Time
	// AccessTTL, CodeTTL and RefreshTTL are the lifetimes. Defaults:
	// DefaultAccessTTL, DefaultCodeTTL, DefaultRefreshTTL.
	AccessTTL, CodeTTL, RefreshTTL time.Duration
}

// DefaultUser is the account the server approves when Config.Users is
// empty.
func DefaultUser() User {
	return User{ID: "5f0c1d2e3a4b5c6d7e8f9a0b", Email: "casey@example.test", FirstName: "Casey", LastName: "Cook"}
}

// Server is a running fake Whisk. The embedded oauth2test.Server gives URL,
// Close, Client, Calls, Fail, Requests, IssueToken, Warnings and the rest.
type Server struct {
	*oauth2test.Server
	users map[string]User
}

// NewServer starts a fake Whisk. The caller must Close it.
func NewServer(cfg Config) *Server {
	if len(cfg.Clients) == 0 {
		cfg.Clients = []Client{{ID: DefaultClientID, Secret: DefaultClientSecret, RedirectURIs: []string{DefaultRedirectURI}}}
	}
	if len(cfg.Users) == 0 {
		cfg.Users = []User{DefaultUser()}
	}
	scopes := cfg.Scopes
	if len(scopes) > 0 && !slices.Contains(scopes, OfflineAccess) {
		scopes = append(slices.Clone(scopes), OfflineAccess)
	}
	users := make(map[string]User, len(cfg.Users))
	engineUsers := make([]oauth2test.User, 0, len(cfg.Users))
	for _, u := range cfg.Users {
		users[u.ID] = u
		engineUsers = append(engineUsers, oauth2test.User{
			Subject: u.ID, Email: u.Email, Picture: u.PhotoURL,
			Name: strings.TrimSpace(u.FirstName + " " + u.LastName),
		})
	}
	ec := oauth2test.Config{
		Clients:               cfg.Clients,
		Users:                 engineUsers,
		Paths:                 oauth2test.Paths{Authorize: AuthorizePath, Token: TokenPath, UserInfo: "-", Revoke: "-"},
		Encodings:             oauth2test.EncodingForm | oauth2test.EncodingMultipart | oauth2test.EncodingJSON | oauth2test.EncodingQuery,
		Now:                   cfg.Now,
		CodeTTL:               orDuration(cfg.CodeTTL, DefaultCodeTTL),
		AccessTTL:             orDuration(cfg.AccessTTL, DefaultAccessTTL),
		RefreshTTL:            orDuration(cfg.RefreshTTL, DefaultRefreshTTL),
		Scopes:                scopes,
		GrantScopes:           cfg.GrantScopes,
		NoRotation:            cfg.NoRotation,
		ReuseDetection:        cfg.ReuseDetection,
		RevokeAccessOnRefresh: true,
		RequirePKCE:           cfg.RequirePKCE,
		AllowImplicit:         cfg.AllowImplicit,
		Realm:                 "whisk",
		RenderToken: func(w http.ResponseWriter, _ *http.Request, reply *oauth2test.TokenReply) {
			f := reply.Fields()
			if len(reply.Scopes) > 0 && !cfg.ScopeAsString {
				f["scope"] = reply.Scopes
			}
			oauth2test.WriteJSON(w, http.StatusOK, f)
		},
	}
	if cfg.RequireOfflineAccess {
		ec.RefreshScope = OfflineAccess
	}
	s := &Server{Server: oauth2test.NewUnstartedServer(ec), users: users}
	s.HandleFunc("GET "+MePath, s.handleMe)
	s.Start()
	return s
}

func orDuration(v, d time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return d
}

// IdentityProviders returns the identity_provider values of the authorize
// requests received so far, oldest first ("" for requests without one).
func (s *Server) IdentityProviders() []string {
	var out []string
	for _, r := range s.Requests(EndpointAuthorize) {
		out = append(out, r.Params.Get("identity_provider"))
	}
	return out
}

// ErrorFailure is a Failure that answers status with a Whisk error body
// {"code": code}, for Server.Fail (for example on EndpointMe).
func ErrorFailure(status int, code string) oauth2test.Failure {
	return oauth2test.Failure{Status: status, Body: fmt.Sprintf(`{"code":%q}`, code)}
}

// WriteError writes a Whisk error body {"code": code} with status.
func WriteError(w http.ResponseWriter, status int, code string) {
	oauth2test.WriteJSON(w, status, map[string]string{"code": code})
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	switch {
	case strings.EqualFold(scheme, "Token") && tok != "":
		// Server and client tokens: "available only for user access-token
		// integration".
		WriteError(w, http.StatusForbidden, CodeForbidden)
		return
	case scheme == "" && r.URL.Query().Get("access_token") != "":
		// Whisk also takes the token as a query parameter; the engine
		// notes that in Warnings.
		tok = r.URL.Query().Get("access_token")
	case !strings.EqualFold(scheme, "Bearer") || tok == "":
		WriteError(w, http.StatusUnauthorized, CodeTokenRequired)
		return
	}
	// One lookup per request: each is a presentation of the token
	// (Server.ReplacedPresentations counts those of replaced tokens).
	info, ok := s.BearerToken(r) // notes a token in the query string
	if !strings.EqualFold(scheme, "Bearer") {
		info, ok = s.LookupAccessToken(tok)
	}
	switch {
	case ok:
	case s.AccessTokenExpired(tok):
		WriteError(w, http.StatusUnauthorized, CodeTokenExpired)
		return
	default:
		WriteError(w, http.StatusUnauthorized, CodeTokenNotFound)
		return
	}
	u, known := s.users[info.User.Subject]
	if !known {
		u = User{ID: info.User.Subject, Email: info.User.Email, PhotoURL: info.User.Picture}
		u.FirstName, u.LastName, _ = strings.Cut(info.User.Name, " ")
	}
	oauth2test.WriteJSON(w, http.StatusOK, map[string]any{"user": userJSON(u)})
}

// userJSON is the /user/v2/me user object, with Whisk's unset markers.
func userJSON(u User) map[string]any {
	return map[string]any{
		"id":           u.ID,
		"email":        u.Email,
		"phone":        u.Phone,
		"has_password": true,
		"user_settings": map[string]any{
			"personal_details": map[string]any{
				"first_name":     u.FirstName,
				"last_name":      u.LastName,
				"photo_url":      u.PhotoURL,
				"gender":         "GENDER_INVALID",
				"country":        "",
				"zipcode":        "",
				"language":       "",
				"activity_level": "ACTIVITY_LEVEL_INVALID",
				"age":            0,
				"height":         map[string]any{"value": 0, "unit": "UNIT_INVALID"},
				"weight":         map[string]any{"value": 0, "unit": "UNIT_INVALID"},
				"health_goals":   map[string]any{"list": []string{}},
				"year_of_birth":  0,
			},
			"food_preferences":     map[string]any{},
			"cooking_preferences":  map[string]any{},
			"shopping_preferences": map[string]any{},
		},
		"recommendations": map[string]any{"daily_calories": 0},
	}
}
