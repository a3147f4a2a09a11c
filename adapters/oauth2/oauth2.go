// Package oauth2 is Gatehouse's generic RFC 6749 authorization-code adapter.
//
// It is configured, not subclassed: endpoints, client credentials and how
// they are sent (HTTP Basic or body), the body encoding (form or JSON), the
// scope separator, an optional reply envelope, a separate refresh URL, the
// userinfo URL and claim mapping. The Whisk and start.gg adapters are thin
// configurations of it, and so can yours be.
//
// Every login uses PKCE S256 and state (RFC 7636, RFC 9700 §2.1.1). Client
// secrets only ever travel in the token request's body or Basic header,
// never in a URL.
package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// Config configures an Adapter. Fields marked Required must be set; the rest
// have the documented defaults.
type Config struct {
	// Name is the provider's route name, e.g. "github". Required.
	Name string
	// DisplayName is the provider's name for people ("GitHub"), shown on
	// the middleware's built-in pages unless the app's Pages.Display names
	// it. Optional; default: the pages show Name.
	DisplayName string
	// ClientID and ClientSecret are the registered client's credentials.
	// ClientID is required; ClientSecret may be empty for public clients.
	ClientID, ClientSecret string
	// AuthURL is the authorization endpoint. Required.
	AuthURL string
	// TokenURL is the token endpoint. Required.
	TokenURL string
	// RefreshURL is where refresh requests go. Optional; default TokenURL.
	RefreshURL string
	// RevocationURL is an RFC 7009 revocation endpoint. Optional; when set
	// the adapter implements provider.Revoker.
	RevocationURL string
	// RedirectURL is the registered callback URL, sent byte for byte in the
	// authorize and token requests; https, or http on a loopback host for
	// development. Optional when the adapter is used with middleware.New
	// and its Config.PublicURL: New fills it in (see
	// [Adapter.WithRedirectURL]). Without it, AuthURL returns "" and the
	// token requests fail with [ErrNoRedirectURL].
	RedirectURL string
	// Scopes are requested when the login asks for none. Optional.
	Scopes []string
	// ScopeSeparator joins scopes. Optional; default " ".
	ScopeSeparator string
	// AuthStyle is how client credentials are sent. Optional; default
	// provider.AuthStyleBasic (RFC 6749 §2.3.1).
	AuthStyle provider.AuthStyle
	// Encoding of token request bodies. Optional; default form.
	Encoding provider.Encoding
	// Envelope unwraps token replies of the form {"<Envelope>": {...}}.
	// Optional.
	Envelope string
	// ScopeInTokenRequests re-sends the scopes in the code exchange and the
	// refresh request (start.gg requires it). Optional; default false.
	ScopeInTokenRequests bool
	// RedirectURLOnRefresh sends redirect_uri in refresh requests too
	// (start.gg). Optional; default false.
	RedirectURLOnRefresh bool
	// TokenTypes are the accepted token_type values. Optional; default
	// "Bearer".
	TokenTypes []string
	// AuthParams are static extra authorize parameters. Optional.
	AuthParams url.Values
	// Issuer is the authorization server's issuer identifier (RFC 8414
	// "issuer"). When set, an "iss" parameter in the authorization response
	// must equal it byte for byte (RFC 9207 §2.4, a mix-up defence; see
	// [Adapter.Issuer]). Optional; default none (iss is not checked).
	Issuer string
	// IssuerRequired refuses an authorization response without "iss". Set
	// it when the server's metadata says
	// authorization_response_iss_parameter_supported. Requires Issuer.
	// Optional; default false.
	IssuerRequired bool
	// UserInfoURL returns the user's claims as a JSON object, read with the
	// access token. Required unless Identity is set.
	UserInfoURL string
	// APIHosts are extra hosts (host or host:port, as in URL.Host) of the
	// upstream's API, beyond the UserInfoURL host, that may receive the
	// user's credential through middleware.Auth.Client (see
	// provider.APIHoster). Optional.
	APIHosts []string
	// MapClaims turns userinfo claims into an Identity. Optional; default
	// StandardClaims (OIDC names, with "id" and "login" fallbacks).
	MapClaims func(claims map[string]any) (*provider.Identity, error)
	// Identity replaces the userinfo call altogether (start.gg asks a
	// GraphQL API). Optional.
	Identity func(ctx context.Context, c *provider.Client, t *provider.Token) (*provider.Identity, error)
	// DecodeError maps error replies. Optional; default
	// provider.DecodeOAuth2Error.
	DecodeError provider.ErrorDecoder
	// AllowImplicit must be true for NewImplicit to succeed. The implicit
	// grant is deprecated (RFC 9700 §2.1.2); opt in knowingly.
	AllowImplicit bool
	// HTTPClient, Timeout and Now are passed to provider.Client. Optional.
	HTTPClient *http.Client
	Timeout    time.Duration
	Now        func() time.Time
	// Logger receives warnings (e.g. implicit enabled). Optional; default
	// slog.Default().
	Logger *slog.Logger
}

// Adapter is a provider.RedirectProvider (and provider.Revoker when
// RevocationURL is set) built from a Config. It is safe for concurrent use.
type Adapter struct {
	cfg    Config
	client *provider.Client
}

var (
	_ provider.RedirectProvider = (*Adapter)(nil)
	_ provider.Revoker          = (*Adapter)(nil)
	_ provider.APIHoster        = (*Adapter)(nil)
	_ provider.ImplicitProvider = (*ImplicitAdapter)(nil)
)

// ErrConfig is wrapped by every configuration error New returns (and by
// those of the presets built on this engine).
var ErrConfig = errors.New("oauth2: invalid config")

// ConfigError is the error New returns for a bad Config: the field at fault
// and what is wrong with it. It matches ErrConfig, and Pkg, with
// [errors.Is]. A preset built on this engine re-labels the engine's
// ConfigError with its own sentinel (see [RelabelConfigError]), so the
// message names the package the user called, once: "whisk: invalid config:
// RedirectURL: must use https", not "whisk: … oauth2: …".
type ConfigError struct {
	// Pkg is the sentinel of the package whose New reports the error, e.g.
	// ErrConfig or whisk.ErrConfig; its text starts the message. Nil means
	// ErrConfig.
	Pkg error
	// Field is the Config field at fault, e.g. "ClientSecret".
	Field string
	// Problem says what is wrong, e.g. "is required".
	Problem string
}

// Error implements error: "<Pkg>: <Field> <Problem>" when Problem starts
// with "is", "must" or "needs", "<Pkg>: <Field>: <Problem>" otherwise.
func (e *ConfigError) Error() string {
	pkg := e.pkg().Error()
	if e.Field == "" {
		return pkg + ": " + e.Problem
	}
	for _, verb := range []string{"is ", "must ", "needs ", "has "} {
		if strings.HasPrefix(e.Problem, verb) {
			return pkg + ": " + e.Field + " " + e.Problem
		}
	}
	return pkg + ": " + e.Field + ": " + e.Problem
}

func (e *ConfigError) pkg() error {
	if e.Pkg == nil {
		return ErrConfig
	}
	return e.Pkg
}

// Unwrap returns Pkg and ErrConfig, so both match with [errors.Is].
func (e *ConfigError) Unwrap() []error {
	if e.pkg() == ErrConfig {
		return []error{ErrConfig}
	}
	return []error{e.Pkg, ErrConfig}
}

// RelabelConfigError returns err with the package sentinel of every
// ConfigError in it replaced by pkg; any other error is returned as is.
// Presets use it on the errors of [New] so that "startgg.New" reports
// "startgg: invalid config: …".
func RelabelConfigError(err error, pkg error) error {
	var ce *ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	c := *ce
	c.Pkg = pkg
	return &c
}

func configErr(field, problem string, args ...any) error {
	return &ConfigError{Field: field, Problem: fmt.Sprintf(problem, args...)}
}

// New checks cfg and returns an Adapter.
func New(cfg Config) (*Adapter, error) {
	if cfg.Name == "" || strings.ContainsAny(cfg.Name, "/?#% ") {
		return nil, configErr("Name", "must be a non-empty URL path segment (got %q)", cfg.Name)
	}
	if cfg.ClientID == "" {
		return nil, configErr("ClientID", "is required")
	}
	for _, u := range []struct{ field, v string }{
		{"AuthURL", cfg.AuthURL}, {"TokenURL", cfg.TokenURL},
	} {
		if err := CheckURL(u.v); err != nil {
			return nil, configErr(u.field, "%v", err)
		}
	}
	for _, u := range []struct{ field, v string }{
		{"RedirectURL", cfg.RedirectURL}, {"RefreshURL", cfg.RefreshURL}, {"RevocationURL", cfg.RevocationURL}, {"UserInfoURL", cfg.UserInfoURL},
	} {
		if u.v == "" {
			continue
		}
		if err := CheckURL(u.v); err != nil {
			return nil, configErr(u.field, "%v", err)
		}
	}
	if cfg.Issuer != "" {
		if err := CheckURL(cfg.Issuer); err != nil {
			return nil, configErr("Issuer", "%v", err)
		}
	} else if cfg.IssuerRequired {
		return nil, configErr("IssuerRequired", "needs Issuer")
	}
	if cfg.UserInfoURL == "" && cfg.Identity == nil {
		return nil, configErr("UserInfoURL", "is required unless Identity is set")
	}
	for _, h := range cfg.APIHosts {
		if h == "" || strings.ContainsAny(h, "/\\@?#% \t\r\n") {
			return nil, configErr("APIHosts", "entry %q must be a bare host or host:port", h)
		}
	}
	cfg.APIHosts = slices.Clone(cfg.APIHosts)
	if cfg.RefreshURL == "" {
		cfg.RefreshURL = cfg.TokenURL
	}
	if cfg.ScopeSeparator == "" {
		cfg.ScopeSeparator = " "
	}
	if cfg.MapClaims == nil {
		cfg.MapClaims = StandardClaims
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Scopes = append([]string(nil), cfg.Scopes...)
	return &Adapter{cfg: cfg, client: &provider.Client{
		Provider:    cfg.Name,
		HTTPClient:  cfg.HTTPClient,
		Timeout:     cfg.Timeout,
		Envelope:    cfg.Envelope,
		DecodeError: cfg.DecodeError,
		Now:         cfg.Now,
	}}, nil
}

// CheckURL accepts an absolute https URL, or http on a loopback host
// (127.0.0.0/8, ::1, localhost) for development and tests. URLs with
// userinfo or a fragment are refused.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("must be an absolute URL")
	}
	if u.User != nil || u.Fragment != "" {
		return errors.New("must not carry userinfo or a fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if IsLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("must use https (http is allowed on loopback hosts only)")
	}
	return errors.New("must use https")
}

// IsLoopback reports whether host is localhost or a loopback IP.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name implements provider.Provider.
func (a *Adapter) Name() string { return a.cfg.Name }

// DisplayName returns Config.DisplayName, the provider's name for people.
func (a *Adapter) DisplayName() string { return a.cfg.DisplayName }

// RedirectURL returns Config.RedirectURL, the callback URL sent to the
// provider ("" when unset). middleware.New checks it against the URL it
// serves the callback at, or fills it in when it is "".
func (a *Adapter) RedirectURL() string { return a.cfg.RedirectURL }

// ErrNoRedirectURL is returned by the token requests of an adapter whose
// Config.RedirectURL is empty: such an adapter sends no request rather
// than one without the redirect_uri the authorization server compares.
// It matches ErrConfig.
var ErrNoRedirectURL = fmt.Errorf("%w: RedirectURL is empty: set it, or pass the provider to middleware.New with Config.PublicURL, which fills it in", ErrConfig)

// CopyWithRedirectURL returns a copy of the adapter that sends
// redirectURL as its callback URL (Config.RedirectURL). The receiver is
// not changed; the copy shares its immutable configuration and HTTP
// client. Adapters built on this one use it to implement WithRedirectURL
// for their own type.
func (a *Adapter) CopyWithRedirectURL(redirectURL string) (*Adapter, error) {
	if redirectURL == "" {
		return nil, configErr("RedirectURL", "is required")
	}
	if err := CheckURL(redirectURL); err != nil {
		return nil, configErr("RedirectURL", "%v", err)
	}
	c := *a
	c.cfg.RedirectURL = redirectURL
	return &c, nil
}

// WithRedirectURL returns a copy of the adapter with Config.RedirectURL
// set to redirectURL (the receiver is not changed). It implements the
// middleware's RedirectURLSetter: middleware.New calls it for an adapter
// without a RedirectURL, with the URL it serves the callback at.
func (a *Adapter) WithRedirectURL(redirectURL string) (provider.Provider, error) {
	return a.CopyWithRedirectURL(redirectURL)
}

// Config returns a copy of the adapter's configuration.
func (a *Adapter) Config() Config { return a.cfg }

// APIHosts implements provider.APIHoster: the host of UserInfoURL (when
// set) followed by Config.APIHosts.
func (a *Adapter) APIHosts() []string {
	var hosts []string
	if h := provider.HostOf(a.cfg.UserInfoURL); h != "" {
		hosts = append(hosts, h)
	}
	return append(hosts, a.cfg.APIHosts...)
}

// Client returns the provider.Client the adapter uses for its calls, for
// adapters built on top of this one.
func (a *Adapter) Client() *provider.Client { return a.client }

// SetCredential implements provider.Provider: Authorization: Bearer.
func (a *Adapter) SetCredential(r *http.Request, t *provider.Token) {
	r.Header.Del("X-Auth-Token")
	typ := t.TokenType
	if typ == "" || strings.EqualFold(typ, "bearer") {
		typ = "Bearer"
	}
	r.Header.Set("Authorization", typ+" "+t.AccessToken)
}

func (a *Adapter) scopes(req []string) []string {
	if req == nil {
		return a.cfg.Scopes
	}
	return req
}

func (a *Adapter) authURL(responseType string, req provider.AuthRequest) string {
	if a.cfg.RedirectURL == "" {
		return "" // never an authorization request without redirect_uri
	}
	q := url.Values{}
	for k, v := range a.cfg.AuthParams {
		q[k] = append([]string(nil), v...)
	}
	for k, v := range req.Params {
		q[k] = append([]string(nil), v...)
	}
	for _, k := range []string{"client_secret", "code_challenge", "code_challenge_method", "nonce"} {
		q.Del(k)
	}
	q.Set("response_type", responseType)
	q.Set("client_id", a.cfg.ClientID)
	q.Set("redirect_uri", a.cfg.RedirectURL)
	if s := a.scopes(req.Scopes); len(s) > 0 {
		q.Set("scope", strings.Join(s, a.cfg.ScopeSeparator))
	} else {
		q.Del("scope")
	}
	q.Set("state", req.State)
	if req.CodeChallenge != "" && responseType == "code" {
		q.Set("code_challenge", req.CodeChallenge)
		q.Set("code_challenge_method", "S256")
	}
	if req.Nonce != "" {
		// OpenID Connect Core §3.1.2.1: the login's nonce, which the ID
		// token must echo.
		q.Set("nonce", req.Nonce)
	}
	sep := "?"
	if strings.Contains(a.cfg.AuthURL, "?") {
		sep = "&"
	}
	// url.Values.Encode writes spaces as "+"; RFC 3986 style "%20" is what
	// the specs show and what every server accepts.
	return a.cfg.AuthURL + sep + strings.ReplaceAll(q.Encode(), "+", "%20")
}

// AuthURL implements provider.RedirectProvider. It returns "" when the
// adapter has no RedirectURL (see Config.RedirectURL).
func (a *Adapter) AuthURL(req provider.AuthRequest) string { return a.authURL("code", req) }

// Issuer returns Config.Issuer and Config.IssuerRequired. It implements
// the middleware's IssuerProvider: the callback compares the authorization
// response's "iss" with it (RFC 9207 §2.4) before it acts on the response,
// error responses included. An empty issuer disables the check.
func (a *Adapter) Issuer() (issuer string, required bool) {
	return a.cfg.Issuer, a.cfg.IssuerRequired
}

// tokenRequest builds a token endpoint request with client authentication.
func (a *Adapter) tokenRequest(url string, params map[string]any) provider.Request {
	req := provider.Request{URL: url, Params: params, Encoding: a.cfg.Encoding}
	if a.cfg.AuthStyle == provider.AuthStyleBasic && a.cfg.ClientSecret != "" {
		// RFC 6749 §2.3.1: form-urlencode id and secret before Basic.
		req.BasicUser = formEscape(a.cfg.ClientID)
		req.BasicPass = formEscape(a.cfg.ClientSecret)
	} else {
		params["client_id"] = a.cfg.ClientID
		if a.cfg.ClientSecret != "" {
			params["client_secret"] = a.cfg.ClientSecret
		}
	}
	return req
}

func formEscape(s string) string { return url.QueryEscape(s) }

// Token performs a token-endpoint call with client authentication and
// returns the validated token. Adapters built on this one use it for grants
// of their own.
func (a *Adapter) Token(ctx context.Context, op, endpoint string, params map[string]any) (*provider.Token, error) {
	tok, _, err := a.token(ctx, op, endpoint, params, false)
	return tok, err
}

// TokenReply is Token that also returns every field of the reply (after
// the envelope, if any, is removed), for layers that read fields RFC 6749
// does not define, such as OpenID Connect's id_token. The fields may hold
// secrets (access_token, refresh_token): do not log or store them.
func (a *Adapter) TokenReply(ctx context.Context, op, endpoint string, params map[string]any) (*provider.Token, map[string]any, error) {
	return a.token(ctx, op, endpoint, params, true)
}

func (a *Adapter) token(ctx context.Context, op, endpoint string, params map[string]any, withFields bool) (*provider.Token, map[string]any, error) {
	resp, err := a.client.Do(ctx, op, a.tokenRequest(endpoint, params))
	if err != nil {
		return nil, nil, err
	}
	ctype := resp.Header.Get("Content-Type")
	tok, err := provider.ParseToken(resp.Body, ctype, resp.Received,
		provider.ParseOptions{Envelope: a.cfg.Envelope, TokenTypes: a.cfg.TokenTypes})
	if err != nil {
		var pe *provider.Error
		if errors.As(err, &pe) {
			pe.Provider, pe.Op, pe.StatusCode = a.cfg.Name, op, resp.StatusCode
		}
		return nil, nil, err
	}
	if !withFields {
		return tok, nil, nil
	}
	fields, err := replyFields(resp.Body, ctype, a.cfg.Envelope)
	if err != nil {
		return nil, nil, &provider.Error{Provider: a.cfg.Name, Op: op, StatusCode: resp.StatusCode, Kind: provider.ErrBadResponse, Err: err}
	}
	return tok, fields, nil
}

// replyFields decodes a token reply that provider.ParseToken accepted: a
// form-encoded body (first value of each field) or a JSON object.
func replyFields(body []byte, contentType, envelope string) (map[string]any, error) {
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "application/x-www-form-urlencoded" || mt == "text/plain" {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errors.New("malformed form reply")
		}
		out := make(map[string]any, len(vals))
		for k := range vals {
			out[k] = vals.Get(k)
		}
		return out, nil
	}
	return provider.DecodeJSONObject(body, envelope)
}

// Exchange implements provider.RedirectProvider (RFC 6749 §4.1.3 with the
// RFC 7636 code_verifier).
func (a *Adapter) Exchange(ctx context.Context, code, verifier string) (*provider.Token, error) {
	tok, _, err := a.exchange(ctx, code, verifier, false)
	return tok, err
}

// ExchangeReply is Exchange that also returns the reply's fields (see
// [Adapter.TokenReply]); adapters built on this one read extra fields such
// as id_token from them.
func (a *Adapter) ExchangeReply(ctx context.Context, code, verifier string) (*provider.Token, map[string]any, error) {
	return a.exchange(ctx, code, verifier, true)
}

func (a *Adapter) exchange(ctx context.Context, code, verifier string, withFields bool) (*provider.Token, map[string]any, error) {
	if a.cfg.RedirectURL == "" {
		return nil, nil, fmt.Errorf("%s: exchange: %w", a.cfg.Name, ErrNoRedirectURL)
	}
	if code == "" {
		return nil, nil, &provider.Error{Provider: a.cfg.Name, Op: "exchange", Kind: provider.ErrInvalidGrant, Err: errors.New("empty code")}
	}
	p := map[string]any{
		"grant_type":   "authorization_code",
		"code":         code,
		"redirect_uri": a.cfg.RedirectURL,
	}
	if verifier != "" {
		p["code_verifier"] = verifier
	}
	if a.cfg.ScopeInTokenRequests && len(a.cfg.Scopes) > 0 {
		p["scope"] = strings.Join(a.cfg.Scopes, a.cfg.ScopeSeparator)
	}
	tok, fields, err := a.token(ctx, "exchange", a.cfg.TokenURL, p, withFields)
	if err != nil {
		return nil, nil, err
	}
	if tok.Scopes == nil && a.cfg.ScopeInTokenRequests {
		tok.Scopes = append([]string(nil), a.cfg.Scopes...)
	}
	return tok, fields, nil
}

// Refresh implements provider.Provider (RFC 6749 §6). A reply without a
// refresh token keeps the old one; a reply without scope keeps the old
// scopes (RFC 6749 §5.1: omitted scope means unchanged).
func (a *Adapter) Refresh(ctx context.Context, t *provider.Token) (*provider.Token, error) {
	tok, _, err := a.refresh(ctx, t, false)
	return tok, err
}

// RefreshReply is Refresh that also returns the reply's fields (see
// [Adapter.TokenReply]).
func (a *Adapter) RefreshReply(ctx context.Context, t *provider.Token) (*provider.Token, map[string]any, error) {
	return a.refresh(ctx, t, true)
}

func (a *Adapter) refresh(ctx context.Context, t *provider.Token, withFields bool) (*provider.Token, map[string]any, error) {
	if t == nil || t.RefreshToken == "" {
		return nil, nil, &provider.Error{Provider: a.cfg.Name, Op: "refresh", Kind: provider.ErrNoRefreshToken}
	}
	p := map[string]any{
		"grant_type":    "refresh_token",
		"refresh_token": t.RefreshToken,
	}
	if a.cfg.ScopeInTokenRequests && len(a.cfg.Scopes) > 0 {
		p["scope"] = strings.Join(a.cfg.Scopes, a.cfg.ScopeSeparator)
	}
	if a.cfg.RedirectURLOnRefresh {
		if a.cfg.RedirectURL == "" {
			return nil, nil, fmt.Errorf("%s: refresh: %w", a.cfg.Name, ErrNoRedirectURL)
		}
		p["redirect_uri"] = a.cfg.RedirectURL
	}
	tok, fields, err := a.token(ctx, "refresh", a.cfg.RefreshURL, p, withFields)
	if err != nil {
		return nil, nil, err
	}
	if tok.Scopes == nil {
		tok.Scopes = append([]string(nil), t.Scopes...)
	}
	return provider.RefreshedToken(t, tok), fields, nil
}

// Identity implements provider.Provider: the configured Identity func, or a
// GET of UserInfoURL mapped by MapClaims.
func (a *Adapter) Identity(ctx context.Context, t *provider.Token) (*provider.Identity, error) {
	var id *provider.Identity
	var err error
	if a.cfg.Identity != nil {
		id, err = a.cfg.Identity(ctx, a.client, t)
	} else {
		id, err = a.userInfo(ctx, t)
	}
	if err != nil {
		return nil, err
	}
	if id == nil || id.Subject == "" {
		return nil, &provider.Error{Provider: a.cfg.Name, Op: "identity", Kind: provider.ErrBadResponse, Err: errors.New("no subject")}
	}
	id.Provider = a.cfg.Name
	return id, nil
}

// APIRequest is a GET (or POST when params is non-nil) to the upstream API
// carrying t, with the usual limits. A 401 matches provider.ErrUnauthorized.
func (a *Adapter) APIRequest(ctx context.Context, op, u string, t *provider.Token, params map[string]any, enc provider.Encoding) (*provider.Response, error) {
	hdr := http.Header{}
	r := &http.Request{Header: hdr}
	a.SetCredential(r, t)
	resp, err := a.client.Do(ctx, op, provider.Request{URL: u, Params: params, Encoding: enc, Header: hdr})
	if err != nil {
		var pe *provider.Error
		if errors.As(err, &pe) && pe.StatusCode == http.StatusUnauthorized {
			pe.Kind = provider.ErrUnauthorized
		}
		return nil, err
	}
	return resp, nil
}

func (a *Adapter) userInfo(ctx context.Context, t *provider.Token) (*provider.Identity, error) {
	resp, err := a.APIRequest(ctx, "identity", a.cfg.UserInfoURL, t, nil, 0)
	if err != nil {
		return nil, err
	}
	claims, err := provider.DecodeJSONObject(resp.Body, "")
	if err != nil {
		return nil, &provider.Error{Provider: a.cfg.Name, Op: "identity", StatusCode: resp.StatusCode, Kind: provider.ErrBadResponse, Err: err}
	}
	id, err := a.cfg.MapClaims(claims)
	if err != nil {
		return nil, &provider.Error{Provider: a.cfg.Name, Op: "identity", StatusCode: resp.StatusCode, Kind: provider.ErrBadResponse, Err: err}
	}
	return id, nil
}

// StandardClaims maps OIDC-style claims (sub, name, email, picture), falling
// back to "id" for the subject and "login" for the name, as GitHub-like APIs
// answer. Numeric ids are accepted.
func StandardClaims(c map[string]any) (*provider.Identity, error) {
	sub := ClaimString(c, "sub")
	if sub == "" {
		sub = ClaimString(c, "id")
	}
	if sub == "" {
		return nil, errors.New("claims carry no sub or id")
	}
	name := ClaimString(c, "name")
	if name == "" {
		name = ClaimString(c, "login")
	}
	return &provider.Identity{Subject: sub, Name: name, Email: ClaimString(c, "email"), Picture: ClaimString(c, "picture"), Raw: c}, nil
}

// ClaimString returns c[k] as a string when it is a string or a number.
func ClaimString(c map[string]any, k string) string {
	switch v := c[k].(type) {
	case string:
		return v
	case fmt.Stringer: // json.Number
		return v.String()
	case float64:
		return fmt.Sprintf("%.0f", v)
	}
	return ""
}

// Revoke implements provider.Revoker with RFC 7009: the refresh token first
// (which revokes the grant on most servers), then the access token. 200 is
// success whatever the body says, and so is unsupported_token_type (the
// server cannot revoke that kind of token); 503 is transient. Without a
// RevocationURL it does nothing.
func (a *Adapter) Revoke(ctx context.Context, t *provider.Token) error {
	if a.cfg.RevocationURL == "" || t == nil {
		return nil
	}
	var errs []error
	for _, x := range []struct{ tok, hint string }{{t.RefreshToken, "refresh_token"}, {t.AccessToken, "access_token"}} {
		if x.tok == "" {
			continue
		}
		p := map[string]any{"token": x.tok, "token_type_hint": x.hint}
		_, err := a.client.Do(ctx, "revoke", a.tokenRequest(a.cfg.RevocationURL, p))
		var pe *provider.Error
		if errors.As(err, &pe) && pe.Code == "unsupported_token_type" {
			// RFC 7009 §2.2.1: the server cannot revoke this kind of
			// token (often access tokens); nothing more can be done.
			err = nil
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ImplicitAdapter adds the implicit grant (RFC 6749 §4.2) to an Adapter.
// Only NewImplicit makes one, and only with Config.AllowImplicit set.
type ImplicitAdapter struct{ *Adapter }

// ErrImplicitNotAllowed is returned by NewImplicit without the opt-in.
var ErrImplicitNotAllowed = errors.New("oauth2: implicit grant not enabled (set AllowImplicit)")

// NewImplicit is New for an adapter that may also use the implicit grant.
// It refuses unless cfg.AllowImplicit is true, and logs a warning when it is.
func NewImplicit(cfg Config) (*ImplicitAdapter, error) {
	if !cfg.AllowImplicit {
		return nil, ErrImplicitNotAllowed
	}
	a, err := New(cfg)
	if err != nil {
		return nil, err
	}
	a.cfg.Logger.Warn("gatehouse: implicit grant enabled; tokens travel in the URL fragment and injected tokens cannot be detected (RFC 9700 §2.1.2)", "provider", cfg.Name)
	return &ImplicitAdapter{a}, nil
}

// WithRedirectURL is [Adapter.WithRedirectURL] for the implicit adapter:
// the copy is an *ImplicitAdapter too.
func (a *ImplicitAdapter) WithRedirectURL(redirectURL string) (provider.Provider, error) {
	c, err := a.CopyWithRedirectURL(redirectURL)
	if err != nil {
		return nil, err
	}
	return &ImplicitAdapter{c}, nil
}

// ImplicitAuthURL implements provider.ImplicitProvider. It returns "" when
// the adapter has no RedirectURL.
func (a *ImplicitAdapter) ImplicitAuthURL(req provider.AuthRequest) string {
	return a.authURL("token", req)
}

// TokenFromFragment implements provider.ImplicitProvider: error= becomes a
// typed error; otherwise access_token, token_type and expires_in are checked
// as for a token reply.
func (a *ImplicitAdapter) TokenFromFragment(v url.Values) (*provider.Token, error) {
	if code := v.Get("error"); code != "" {
		kind := provider.ErrRejected
		return nil, &provider.Error{Provider: a.cfg.Name, Op: "implicit", Code: code, Description: v.Get("error_description"), Kind: kind}
	}
	now := time.Now()
	if a.cfg.Now != nil {
		now = a.cfg.Now()
	}
	obj := map[string]any{}
	for _, k := range []string{"access_token", "token_type", "expires_in", "scope"} {
		if len(v[k]) > 1 {
			return nil, &provider.Error{Provider: a.cfg.Name, Op: "implicit", Kind: provider.ErrBadResponse, Err: fmt.Errorf("%s repeated", k)}
		}
		if s := v.Get(k); s != "" {
			obj[k] = s
		}
	}
	tok, err := parseObject(obj, now, a.cfg.TokenTypes)
	if err != nil {
		var pe *provider.Error
		if errors.As(err, &pe) {
			pe.Provider, pe.Op = a.cfg.Name, "implicit"
		}
		return nil, err
	}
	tok.RefreshToken = "" // the implicit grant never issues one (RFC 6749 §4.2.2)
	return tok, nil
}

func parseObject(obj map[string]any, now time.Time, types []string) (*provider.Token, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return provider.ParseToken(b, "application/json", now, provider.ParseOptions{TokenTypes: types})
}
