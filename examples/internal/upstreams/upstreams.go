// Package upstreams builds the providers, sessions and JWT authority the
// example apps share: in-process fakes of every upstream style (for the demo
// and for the examples when no real provider is configured), real adapters
// configured from environment variables, and development-or-production
// session settings derived from the public URL.
//
// It is internal to the examples: apps of your own configure the adapters
// directly, as README.md shows.
package upstreams

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/adapters/startgg"
	"github.com/gatehouse-auth/gatehouse/adapters/startgg/startggtest"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
	"github.com/gatehouse-auth/gatehouse/adapters/whisk"
	"github.com/gatehouse-auth/gatehouse/adapters/whisk/whisktest"
	"github.com/gatehouse-auth/gatehouse/middleware/jwtauth"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// Provider names used by the examples. They are the route names:
// /auth/{name}/login.
const (
	OAuth2        = "oauth2"
	Whisk         = "whisk"
	WhiskImplicit = "whisk-implicit"
	StartGG       = "startgg"
	Wazo          = "wazo"
)

// Styles lists the provider styles GATEHOUSE_PROVIDER accepts.
var styles = []string{OAuth2, Whisk, StartGG, Wazo}

// ErrConfig is wrapped by every configuration error of this package.
var ErrConfig = errors.New("upstreams: invalid configuration")

// Options are shared by the constructors.
type Options struct {
	// PublicURL is the app's base URL (scheme, host, port; no path).
	// Callback URLs are PublicURL + "/auth/{name}/callback". Required.
	PublicURL string
	// AccessTTL is the fakes' access-token lifetime. Default: the fake's
	// own (a realistic one).
	AccessTTL time.Duration
	// Logger is given to the adapters. Default slog.Default().
	Logger *slog.Logger
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

// Callback returns the redirect URL of provider name.
func (o Options) Callback(name string) string {
	return strings.TrimRight(o.PublicURL, "/") + "/auth/" + name + "/callback"
}

// APICall describes the upstream request an example makes to show the
// upstream client at work: Method and URL, and Body for a POST (JSON).
type APICall struct {
	Method string
	URL    string
	Body   string
}

// Upstream is one configured provider.
type Upstream struct {
	// Provider is the adapter.
	Provider provider.Provider
	// Style is the upstream style: OAuth2, Whisk, StartGG or Wazo.
	Style string
	// Implicit marks a provider that logs in with the implicit grant.
	Implicit bool
	// API is a read-only upstream API request that works with the
	// provider's tokens.
	API APICall
	// Fake is true when the provider is an in-process fake.
	Fake bool
}

// Set is a group of upstreams and what to close when done.
type Set struct {
	Upstreams []Upstream
	// WazoUsers are the fake Wazo's demo accounts, when a fake Wazo runs.
	WazoUsers []wazotest.User
	// Fakes gives access to the running fakes (nil fields when not running).
	Fakes   Fakes
	closers []func()
}

// Fakes are the running fake upstreams of a Set.
type Fakes struct {
	OAuth2  *oauth2test.Server
	Whisk   *whisktest.Server
	StartGG *startggtest.Server
	Wazo    *wazotest.Server
}

// Providers returns the adapters, in order.
func (s *Set) Providers() []provider.Provider {
	out := make([]provider.Provider, len(s.Upstreams))
	for i, u := range s.Upstreams {
		out[i] = u.Provider
	}
	return out
}

// Implicit returns the names of the implicit-grant providers.
func (s *Set) Implicit() []string {
	var out []string
	for _, u := range s.Upstreams {
		if u.Implicit {
			out = append(out, u.Provider.Name())
		}
	}
	return out
}

// Lookup returns the upstream named name.
func (s *Set) Lookup(name string) (Upstream, bool) {
	for _, u := range s.Upstreams {
		if u.Provider.Name() == name {
			return u, true
		}
	}
	return Upstream{}, false
}

// Close stops the fakes. It may be called more than once.
func (s *Set) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

func (s *Set) add(u Upstream) { s.Upstreams = append(s.Upstreams, u) }

// demo credentials of the fakes. They only exist inside this process.
const (
	fakeSecret = "demo-client-secret"
	fakeClient = "gatehouse-demo"
)

// AllFakes starts a fake of every style and returns the providers wired to
// them: oauth2, whisk, whisk-implicit (the opt-in implicit grant on the same
// fake Whisk), startgg and wazo.
func AllFakes(o Options) (*Set, error) {
	s := &Set{}
	for _, start := range []func(*Set, Options) error{startOAuth2Fake, startWhiskFake, startStartGGFake, startWazoFake} {
		if err := start(s, o); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func startOAuth2Fake(s *Set, o Options) error {
	srv := oauth2test.NewServer(oauth2test.Config{
		Clients: []oauth2test.Client{{ID: fakeClient, Secret: fakeSecret, RedirectURIs: []string{o.Callback(OAuth2)}}},
		Users: []oauth2test.User{{Subject: "user-1", Name: "Robin Example", Email: "robin@example.test",
			Claims: map[string]any{"locale": "en"}}},
		AccessTTL:     o.AccessTTL,
		DefaultScopes: []string{"openid", "profile", "email"},
		RequirePKCE:   true,
	})
	s.closers = append(s.closers, srv.Close)
	s.Fakes.OAuth2 = srv
	a, err := oauth2.New(oauth2.Config{
		Name: OAuth2, ClientID: fakeClient, ClientSecret: fakeSecret,
		AuthURL: srv.AuthorizeURL(), TokenURL: srv.TokenURL(), RevocationURL: srv.RevocationURL(),
		UserInfoURL: srv.UserInfoURL(), RedirectURL: o.Callback(OAuth2),
		Scopes: []string{"openid", "profile", "email"}, Logger: o.logger(),
	})
	if err != nil {
		return err
	}
	s.add(Upstream{Provider: a, Style: OAuth2, Fake: true, API: APICall{Method: "GET", URL: srv.UserInfoURL()}})
	return nil
}

func startWhiskFake(s *Set, o Options) error {
	srv := whisktest.NewServer(whisktest.Config{
		Clients: []whisktest.Client{{ID: fakeClient, Secret: fakeSecret,
			RedirectURIs: []string{o.Callback(Whisk), o.Callback(WhiskImplicit)}}},
		AllowImplicit: true,
		AccessTTL:     o.AccessTTL,
		RequirePKCE:   false, // the implicit grant sends no challenge
	})
	s.closers = append(s.closers, srv.Close)
	s.Fakes.Whisk = srv
	base := whisk.Config{
		ClientID: fakeClient, ClientSecret: fakeSecret,
		Scopes:      []string{"user.profile:read"},
		Offline:     true,
		AuthBaseURL: srv.URL, APIBaseURL: srv.URL, Logger: o.logger(),
	}
	cfg := base
	cfg.RedirectURL = o.Callback(Whisk)
	a, err := whisk.New(cfg)
	if err != nil {
		return err
	}
	api := APICall{Method: "GET", URL: srv.URL + whisktest.MePath}
	s.add(Upstream{Provider: a, Style: Whisk, Fake: true, API: api})
	icfg := base
	icfg.Name, icfg.RedirectURL, icfg.AllowImplicit, icfg.Offline = WhiskImplicit, o.Callback(WhiskImplicit), true, false
	ia, err := whisk.NewImplicit(icfg)
	if err != nil {
		return err
	}
	s.add(Upstream{Provider: ia, Style: Whisk, Implicit: true, Fake: true, API: api})
	return nil
}

func startStartGGFake(s *Set, o Options) error {
	srv := startggtest.NewServer(startggtest.Config{
		ClientID: "1234", ClientSecret: fakeSecret,
		RedirectURIs: []string{o.Callback(StartGG)},
		Users:        []startggtest.User{{ID: 123456, Name: "Sam Player", GamerTag: "SamTheFox", Email: "sam@example.test"}},
		AccessTTL:    o.AccessTTL,
		RequirePKCE:  true,
	})
	s.closers = append(s.closers, srv.Close)
	s.Fakes.StartGG = srv
	a, err := startgg.New(startgg.Config{
		ClientID: "1234", ClientSecret: fakeSecret, RedirectURL: o.Callback(StartGG),
		Scopes:      []string{startgg.ScopeIdentity, startgg.ScopeEmail},
		AuthBaseURL: srv.URL, APIBaseURL: srv.URL, Logger: o.logger(),
	})
	if err != nil {
		return err
	}
	s.add(Upstream{Provider: a, Style: StartGG, Fake: true, API: startggAPI(a.GraphQLURL())})
	return nil
}

func startggAPI(u string) APICall {
	return APICall{Method: "POST", URL: u,
		Body: `{"query":"query Me { currentUser { id slug name email player { gamerTag } } }","operationName":"Me"}`}
}

// DemoWazoUsers are the accounts of the fake Wazo.
func DemoWazoUsers() []wazotest.User {
	return []wazotest.User{
		{Username: "alice", Password: "alice-demo-password", Email: "alice@example.test"},
		{Username: "bob", Password: "bob-demo-password", Email: "bob@example.test"},
	}
}

func startWazoFake(s *Set, o Options) error {
	lifetime := wazotest.DefaultLifetime
	if o.AccessTTL > 0 {
		lifetime = o.AccessTTL
	}
	srv := wazotest.NewServer(wazotest.Config{Users: DemoWazoUsers(), DefaultLifetime: lifetime})
	s.closers = append(s.closers, srv.Close)
	s.Fakes.Wazo = srv
	s.WazoUsers = DemoWazoUsers()
	exp := int(lifetime / time.Second)
	a, err := wazo.New(wazo.Config{BaseURL: srv.URL, ClientID: fakeClient, Expiration: exp})
	if err != nil {
		return err
	}
	s.add(Upstream{Provider: a, Style: Wazo, Fake: true, API: APICall{Method: "GET", URL: srv.URL + "/users/me/tokens"}})
	return nil
}

// FromEnv returns one provider configured from environment variables (read
// with getenv), or an in-process fake of the chosen style when its
// credentials are unset:
//
//	GATEHOUSE_PROVIDER   oauth2 (default) | whisk | startgg | wazo
//	WHISK_CLIENT_ID, WHISK_CLIENT_SECRET, WHISK_SCOPES, WHISK_IMPLICIT=1,
//	WHISK_AUTH_URL, WHISK_API_URL
//	STARTGG_CLIENT_ID, STARTGG_CLIENT_SECRET, STARTGG_SCOPES
//	WAZO_URL (e.g. https://wazo.example.com/api/auth/0.1), WAZO_CLIENT_ID
//	OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET, OAUTH2_AUTH_URL, OAUTH2_TOKEN_URL,
//	OAUTH2_USERINFO_URL, OAUTH2_REVOCATION_URL, OAUTH2_SCOPES, OAUTH2_NAME
//
// Scopes are separated by spaces or commas.
func FromEnv(getenv func(string) string, o Options) (*Set, error) {
	style := strings.ToLower(strings.TrimSpace(getenv("GATEHOUSE_PROVIDER")))
	if style == "" {
		style = OAuth2
	}
	s := &Set{}
	var err error
	switch style {
	case OAuth2:
		if getenv("OAUTH2_CLIENT_ID") == "" {
			err = startOAuth2Fake(s, o)
			break
		}
		err = oauth2FromEnv(s, getenv, o)
	case Whisk:
		if getenv("WHISK_CLIENT_ID") == "" {
			err = startWhiskFake(s, o)
			break
		}
		err = whiskFromEnv(s, getenv, o)
	case StartGG:
		if getenv("STARTGG_CLIENT_ID") == "" {
			err = startStartGGFake(s, o)
			break
		}
		err = startggFromEnv(s, getenv, o)
	case Wazo:
		if getenv("WAZO_URL") == "" {
			err = startWazoFake(s, o)
			break
		}
		err = wazoFromEnv(s, getenv, o)
	default:
		return nil, fmt.Errorf("%w: GATEHOUSE_PROVIDER=%q; want one of %s", ErrConfig, style, strings.Join(styles, ", "))
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func scopes(v string) []string { return provider.SplitScopes(v) }

func oauth2FromEnv(s *Set, getenv func(string) string, o Options) error {
	name := getenv("OAUTH2_NAME")
	if name == "" {
		name = OAuth2
	}
	a, err := oauth2.New(oauth2.Config{
		Name: name, ClientID: getenv("OAUTH2_CLIENT_ID"), ClientSecret: getenv("OAUTH2_CLIENT_SECRET"),
		AuthURL: getenv("OAUTH2_AUTH_URL"), TokenURL: getenv("OAUTH2_TOKEN_URL"),
		UserInfoURL: getenv("OAUTH2_USERINFO_URL"), RevocationURL: getenv("OAUTH2_REVOCATION_URL"),
		RedirectURL: o.Callback(name), Scopes: scopes(getenv("OAUTH2_SCOPES")), Logger: o.logger(),
	})
	if err != nil {
		return err
	}
	s.add(Upstream{Provider: a, Style: OAuth2, API: APICall{Method: "GET", URL: getenv("OAUTH2_USERINFO_URL")}})
	return nil
}

func whiskFromEnv(s *Set, getenv func(string) string, o Options) error {
	sc := scopes(getenv("WHISK_SCOPES"))
	if len(sc) == 0 {
		sc = []string{"user.profile:read"}
	}
	cfg := whisk.Config{
		ClientID: getenv("WHISK_CLIENT_ID"), ClientSecret: getenv("WHISK_CLIENT_SECRET"),
		RedirectURL: o.Callback(Whisk), Scopes: sc, Offline: true,
		AuthBaseURL: getenv("WHISK_AUTH_URL"), APIBaseURL: getenv("WHISK_API_URL"), Logger: o.logger(),
	}
	a, err := whisk.New(cfg)
	if err != nil {
		return err
	}
	apiBase := cfg.APIBaseURL
	if apiBase == "" {
		apiBase = whisk.DefaultAPIBaseURL
	}
	api := APICall{Method: "GET", URL: strings.TrimRight(apiBase, "/") + whisk.MePath}
	s.add(Upstream{Provider: a, Style: Whisk, API: api})
	if getenv("WHISK_IMPLICIT") == "1" {
		cfg.Name, cfg.RedirectURL, cfg.AllowImplicit, cfg.Offline = WhiskImplicit, o.Callback(WhiskImplicit), true, false
		ia, err := whisk.NewImplicit(cfg)
		if err != nil {
			return err
		}
		s.add(Upstream{Provider: ia, Style: Whisk, Implicit: true, API: api})
	}
	return nil
}

func startggFromEnv(s *Set, getenv func(string) string, o Options) error {
	a, err := startgg.New(startgg.Config{
		ClientID: getenv("STARTGG_CLIENT_ID"), ClientSecret: getenv("STARTGG_CLIENT_SECRET"),
		RedirectURL: o.Callback(StartGG), Scopes: scopes(getenv("STARTGG_SCOPES")), Logger: o.logger(),
	})
	if err != nil {
		return err
	}
	s.add(Upstream{Provider: a, Style: StartGG, API: startggAPI(a.GraphQLURL())})
	return nil
}

func wazoFromEnv(s *Set, getenv func(string) string, o Options) error {
	base := strings.TrimRight(getenv("WAZO_URL"), "/")
	a, err := wazo.New(wazo.Config{BaseURL: base, ClientID: getenv("WAZO_CLIENT_ID")})
	if err != nil {
		return err
	}
	s.add(Upstream{Provider: a, Style: Wazo, API: APICall{Method: "GET", URL: base + "/users/me/tokens"}})
	return nil
}

// Sessions returns a session manager suited to publicURL: for plain http on
// a loopback host (development) a cookie named "gatehouse" without Secure,
// and dev is true; otherwise Gatehouse's production default, a
// "__Host-gatehouse" cookie that is Secure, HttpOnly and SameSite=Lax. Both
// use the in-memory store (one instance), an 8 h absolute lifetime and a
// 30 min idle timeout. leeway is how long before expiry a token is refreshed
// (0: 60 s). Each of opts may change the session.Config before the manager
// is made (the demo passes its OpenTelemetry MeterProvider). Close the
// manager when done.
func Sessions(publicURL string, leeway time.Duration, logger *slog.Logger, opts ...func(*session.Config)) (m *session.Manager, dev bool, err error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return nil, false, fmt.Errorf("%w: public URL %q", ErrConfig, publicURL)
	}
	dev = u.Scheme == "http" && oauth2.IsLoopback(u.Hostname())
	if u.Scheme != "https" && !dev {
		return nil, false, fmt.Errorf("%w: public URL must be https (http only on 127.0.0.1 or localhost)", ErrConfig)
	}
	cfg := session.Config{Leeway: leeway, Logger: logger}
	for _, o := range opts {
		o(&cfg)
	}
	m, err = session.New(cfg)
	if err != nil {
		return nil, false, err
	}
	sm := m.Sessions()
	sm.Lifetime = 8 * time.Hour
	sm.IdleTimeout = 30 * time.Minute
	if dev {
		// Browsers refuse __Host- cookies without Secure, and Secure
		// cookies are not sent over plain http.
		sm.Cookie.Name = "gatehouse"
		sm.Cookie.Secure = false
	}
	return m, dev, nil
}

// JWT returns an authority that signs with a fresh Ed25519 key: tokens
// die with the process. Issuer is publicURL, audience publicURL + "/api".
func JWT(publicURL string) (*jwtauth.Authority, error) {
	key, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(publicURL, "/")
	return jwtauth.New(jwtauth.Config{Issuer: base, Audience: base + "/api", Keys: []jwtauth.Key{key}, Lifetime: 10 * time.Minute})
}
