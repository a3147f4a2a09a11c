// Package githubtest is a fake GitHub (OAuth web application flow and the
// REST API endpoints a login needs) for tests and demos, in the manner of
// net/http/httptest: [NewServer] starts it on a random 127.0.0.1 port,
// [Server.URL] is its base URL (use it as both the login and the API
// base), [Server.Close] stops it.
//
// It is a configuration of the generic fake authorization server
// [oauth2test.Server] (embedded: counters, failure injection, recorded
// requests and token helpers are all there) plus GitHub's own replies,
// following GitHub's documentation
// (https://docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps,
// https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens,
// https://docs.github.com/rest/users/users, https://docs.github.com/rest/users/emails,
// https://docs.github.com/rest/apps/oauth-applications):
//
//   - GET /login/oauth/authorize auto-approves the user (the first of
//     [Config.Users], or the one whose decimal ID is the login_hint
//     parameter; GitHub's own "login" parameter only pre-fills its form)
//     and 302s back with code and state; PKCE S256 is checked when a
//     challenge was sent. Scopes are space separated.
//   - POST /login/oauth/access_token takes the form (or JSON) body with
//     client_id and client_secret (Basic is tolerated). It answers JSON
//     when the request's Accept asks for it and form-encoded otherwise, as
//     GitHub does. Errors are answered with status 200 and an "error"
//     field: bad_verification_code (unknown, used or expired code, PKCE
//     mismatch), redirect_uri_mismatch, incorrect_client_credentials and,
//     on refresh, bad_refresh_token — each with GitHub's
//     error_description and error_uri.
//   - Token replies carry token_type "bearer" and scope joined by commas.
//     An OAuth app's tokens never expire and come without a refresh token;
//     with [Config.ExpiringTokens] (a GitHub App with user-token expiration
//     on) they carry expires_in (8 hours), refresh_token and
//     refresh_token_expires_in (6 months), and a refresh rotates the
//     refresh token.
//   - GET /user and GET /user/emails answer for a token sent as
//     "Authorization: Bearer" or "token". /user/emails needs the user or
//     user:email scope (an OAuth app) or [Config.EmailPermission] (a
//     GitHub App), else 404 Not Found (OAuth app) or 403 "Resource not
//     accessible by integration" (GitHub App). Requests without a token
//     get 401 "Requires authentication", with an unknown one 401 "Bad
//     credentials", without a User-Agent 403.
//   - DELETE /applications/{client_id}/token with HTTP Basic client_id and
//     client_secret and the JSON body {"access_token": …} deletes the
//     token: 204; an unknown token 404; no access_token 422; bad client
//     credentials 401.
//
// The package imports only the standard library, provider and oauth2test;
// it never imports the adapter it fakes.
package githubtest

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
)

// GitHub's endpoint paths, served on one base URL.
const (
	AuthorizePath = "/login/oauth/authorize"
	TokenPath     = "/login/oauth/access_token"
	UserPath      = "/user"
	EmailsPath    = "/user/emails"
	// RevokePattern is DELETE /applications/{client_id}/token.
	RevokePattern = "DELETE /applications/{client_id}/token"
)

// Endpoints for Server.Calls, Server.Fail and Server.Requests.
const (
	EndpointAuthorize = oauth2test.EndpointAuthorize
	// EndpointToken counts every token request, refreshes included.
	EndpointToken = oauth2test.EndpointToken
	// EndpointRefresh counts refresh_token grants.
	EndpointRefresh = oauth2test.EndpointRefresh
	EndpointUser    = oauth2test.Endpoint("GET " + UserPath)
	EndpointEmails  = oauth2test.Endpoint("GET " + EmailsPath)
	EndpointRevoke  = oauth2test.Endpoint(RevokePattern)
)

// Defaults of Config.
const (
	DefaultClientID     = "Iv1.8a61f9b3a7aba766"
	DefaultClientSecret = "github-client-secret"
	DefaultRedirectURI  = "http://127.0.0.1/auth/github/callback"
	// ExpiringAccessTTL and ExpiringRefreshTTL are a GitHub App's user
	// token lifetimes with expiration on.
	ExpiringAccessTTL  = 8 * time.Hour
	ExpiringRefreshTTL = 6 * 30 * 24 * time.Hour
)

// Error codes of GitHub's token endpoint.
const (
	CodeBadVerificationCode        = "bad_verification_code"
	CodeBadRefreshToken            = "bad_refresh_token"
	CodeIncorrectClientCredentials = "incorrect_client_credentials"
	CodeRedirectURIMismatch        = "redirect_uri_mismatch"
)

// Client is a registered OAuth or GitHub App.
type Client = oauth2test.Client

// Email is one of a user's addresses, as /user/emails lists them.
type Email struct {
	Email      string
	Verified   bool
	Primary    bool
	Visibility string // "public", "private" or "" (null)
}

// User is a GitHub account.
type User struct {
	// ID is the numeric user id. Required.
	ID int64
	// Login is the username. Required.
	Login string
	// Name and AvatarURL are profile fields; Email is the public profile
	// email ("" is served as null).
	Name, AvatarURL, Email string
	// Emails are the addresses /user/emails lists.
	Emails []Email
}

// DefaultUser is the account the server approves when Config.Users is
// empty: a verified primary address and an unverified one.
func DefaultUser() User {
	return User{ID: 583231, Login: "octocat", Name: "The Octocat", AvatarURL: "https://avatars.githubusercontent.com/u/583231?v=4",
		Emails: []Email{
			{Email: "octocat@github.com", Verified: true, Primary: true, Visibility: "public"},
			{Email: "octocat@example.com", Verified: false},
		}}
}

// Config configures a Server. The zero value is usable.
type Config struct {
	// Clients are the registered apps. Default: DefaultClientID /
	// DefaultClientSecret with DefaultRedirectURI.
	Clients []Client
	// Users are the accounts. Default: one, DefaultUser().
	Users []User
	// ExpiringTokens makes the server a GitHub App with user-token
	// expiration: expiring access tokens and rotating refresh tokens.
	// Default: an OAuth app (tokens that never expire, no refresh).
	ExpiringTokens bool
	// EmailPermission is a GitHub App's "Email addresses" permission,
	// which /user/emails needs (OAuth apps need the scope instead).
	EmailPermission bool
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Server is a running fake GitHub. The embedded oauth2test.Server gives URL,
// Close, Client, Calls, Fail, FailNext, Requests and the token helpers.
type Server struct {
	*oauth2test.Server
	cfg    Config
	users  map[string]User // by Subject (the decimal id)
	grants sync.Map        // *http.Request → grant_type, for error codes
}

const docs = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"

// NewServer starts a fake GitHub. The caller must Close it.
func NewServer(cfg Config) *Server {
	if len(cfg.Clients) == 0 {
		cfg.Clients = []Client{{ID: DefaultClientID, Secret: DefaultClientSecret, RedirectURIs: []string{DefaultRedirectURI}}}
	}
	if len(cfg.Users) == 0 {
		cfg.Users = []User{DefaultUser()}
	}
	s := &Server{cfg: cfg, users: map[string]User{}}
	engineUsers := make([]oauth2test.User, 0, len(cfg.Users))
	for _, u := range cfg.Users {
		sub := strconv.FormatInt(u.ID, 10)
		s.users[sub] = u
		engineUsers = append(engineUsers, oauth2test.User{Subject: sub, Name: u.Name, Email: u.Email})
	}
	ec := oauth2test.Config{
		Clients:         cfg.Clients,
		Users:           engineUsers,
		Paths:           oauth2test.Paths{Authorize: AuthorizePath, Token: TokenPath, UserInfo: "-", Revoke: "-"},
		Encodings:       oauth2test.EncodingForm | oauth2test.EncodingJSON | oauth2test.EncodingQuery,
		Now:             cfg.Now,
		NoRefreshTokens: !cfg.ExpiringTokens,
		AccessTTL:       100 * 365 * 24 * time.Hour, // OAuth app tokens do not expire
		CheckTokenRequest: func(r *http.Request, params url.Values) *oauth2test.Error {
			s.grants.Store(r, params.Get("grant_type"))
			return nil
		},
		RenderToken: s.renderToken,
		RenderError: s.renderError,
	}
	if cfg.ExpiringTokens {
		ec.AccessTTL, ec.RefreshTTL = ExpiringAccessTTL, ExpiringRefreshTTL
	}
	s.Server = oauth2test.NewUnstartedServer(ec)
	s.HandleFunc("GET "+UserPath, s.handleUser)
	s.HandleFunc("GET "+EmailsPath, s.handleEmails)
	s.HandleFunc(RevokePattern, s.handleRevoke)
	s.Start()
	return s
}

// wantsJSON: GitHub answers the token endpoint in JSON only when asked.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func writeTokenEndpoint(w http.ResponseWriter, r *http.Request, fields map[string]any) {
	if wantsJSON(r) {
		oauth2test.WriteJSON(w, http.StatusOK, fields)
		return
	}
	v := url.Values{}
	for k, f := range fields {
		switch x := f.(type) {
		case string:
			v.Set(k, x)
		case int64:
			v.Set(k, strconv.FormatInt(x, 10))
		}
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, v.Encode())
}

func (s *Server) renderToken(w http.ResponseWriter, r *http.Request, reply *oauth2test.TokenReply) {
	s.grants.Delete(r)
	f := map[string]any{"access_token": reply.AccessToken, "token_type": "bearer", "scope": strings.Join(reply.Scopes, ",")}
	if s.cfg.ExpiringTokens {
		f["expires_in"] = int64(ExpiringAccessTTL / time.Second)
		if reply.RefreshToken != "" {
			f["refresh_token"] = reply.RefreshToken
			f["refresh_token_expires_in"] = int64(ExpiringRefreshTTL / time.Second)
		}
	}
	writeTokenEndpoint(w, r, f)
}

// renderError answers as GitHub does: status 200 and an error field.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, e *oauth2test.Error) {
	g, _ := s.grants.LoadAndDelete(r)
	code, desc, anchor := e.Code, e.Description, ""
	switch {
	case e.Code == "invalid_client":
		code, desc, anchor = CodeIncorrectClientCredentials, "The client_id and/or client_secret passed are incorrect.", "#incorrect-client-credentials"
	case e.Code == "invalid_grant" && g == "refresh_token":
		code, desc, anchor = CodeBadRefreshToken, "The refresh token passed is incorrect or expired.", "#bad-refresh-token"
	case e.Code == "invalid_grant" && strings.Contains(e.Description, "redirect_uri"):
		code, desc, anchor = CodeRedirectURIMismatch, "The redirect_uri MUST match the registered callback URL for this application.", "#redirect-uri-mismatch"
	case e.Code == "invalid_grant":
		code, desc, anchor = CodeBadVerificationCode, "The code passed is incorrect or expired.", "#bad-verification-code"
	}
	f := map[string]any{"error": code, "error_description": desc}
	if anchor != "" {
		f["error_uri"] = docs + "/" + anchor
	}
	writeTokenEndpoint(w, r, f)
}

// apiError writes a REST API error body.
func apiError(w http.ResponseWriter, status int, message, doc string) {
	oauth2test.WriteJSON(w, status, map[string]string{"message": message, "documentation_url": doc, "status": strconv.Itoa(status)})
}

// caller authenticates an API request: (user, token info, ok). It writes
// the error reply itself.
func (s *Server) caller(w http.ResponseWriter, r *http.Request, doc string) (User, oauth2test.TokenInfo, bool) {
	if r.Header.Get("User-Agent") == "" {
		apiError(w, http.StatusForbidden, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required).", "https://docs.github.com/rest")
		return User{}, oauth2test.TokenInfo{}, false
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if tok == "" || (!strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "token")) {
		apiError(w, http.StatusUnauthorized, "Requires authentication", doc)
		return User{}, oauth2test.TokenInfo{}, false
	}
	info, ok := s.LookupAccessToken(strings.TrimSpace(tok))
	if !ok {
		apiError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return User{}, oauth2test.TokenInfo{}, false
	}
	return s.users[info.User.Subject], info, true
}

func (s *Server) handleUser(w http.ResponseWriter, r *http.Request) {
	u, _, ok := s.caller(w, r, "https://docs.github.com/rest/users/users#get-the-authenticated-user")
	if !ok {
		return
	}
	body := map[string]any{
		"login": u.Login, "id": u.ID, "node_id": "U_" + strconv.FormatInt(u.ID, 36), "avatar_url": u.AvatarURL,
		"html_url": "https://github.com/" + u.Login, "type": "User", "site_admin": false,
		"name": nullable(u.Name), "email": nullable(u.Email),
	}
	oauth2test.WriteJSON(w, http.StatusOK, body)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) handleEmails(w http.ResponseWriter, r *http.Request) {
	doc := "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user"
	u, info, ok := s.caller(w, r, doc)
	if !ok {
		return
	}
	switch {
	case s.cfg.ExpiringTokens && !s.cfg.EmailPermission:
		apiError(w, http.StatusForbidden, "Resource not accessible by integration", doc)
		return
	case !s.cfg.ExpiringTokens && !info.HasScope("user:email") && !info.HasScope("user"):
		apiError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	out := make([]map[string]any, 0, len(u.Emails))
	for _, e := range u.Emails {
		out = append(out, map[string]any{"email": e.Email, "verified": e.Verified, "primary": e.Primary, "visibility": nullable(e.Visibility)})
	}
	oauth2test.WriteJSON(w, http.StatusOK, out)
}

// handleRevoke is "Delete an app token".
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	doc := "https://docs.github.com/rest/apps/oauth-applications#delete-an-app-token"
	id, secret, ok := r.BasicAuth()
	c := s.client(id)
	if !ok || c == nil || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 || id != r.PathValue("client_id") {
		apiError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil || body.AccessToken == "" {
		apiError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"access_token\" wasn't supplied.", doc)
		return
	}
	info, live := s.LookupAccessToken(body.AccessToken)
	if !live || info.ClientID != id {
		apiError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	s.RevokeToken(body.AccessToken)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) client(id string) *Client {
	i := slices.IndexFunc(s.cfg.Clients, func(c Client) bool { return c.ID == id })
	if i < 0 {
		return nil
	}
	return &s.cfg.Clients[i]
}

// User returns the account with the given id.
func (s *Server) User(id int64) (User, bool) {
	u, ok := s.users[strconv.FormatInt(id, 10)]
	return u, ok
}
