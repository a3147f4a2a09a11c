package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strings"

	"github.com/alexedwards/scs/v2"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// DevCookieName is the session cookie's name in development mode
// (Config.DevMode with Config.Sessions nil). It has no __Host- prefix:
// browsers accept that prefix only on Secure cookies, and a Secure cookie
// is not sent back over plain http by every browser.
const DevCookieName = "gatehouse"

// RedirectURLProvider is an optional interface of a
// provider.RedirectProvider that reports the redirect (callback) URL it
// sends to the provider. The adapters built on adapters/oauth2 implement
// it. [New] compares it with the URL Gatehouse serves the provider's
// callback at ([CallbackURL]) and fails on any difference, so a wrong
// host, path or provider name is reported at start instead of as a 404
// after the provider's consent page. An empty RedirectURL is filled in
// (see [RedirectURLSetter]).
type RedirectURLProvider interface {
	RedirectURL() string
}

// RedirectURLSetter is an optional interface of a provider whose redirect
// URL can be left empty at construction (the adapters of this module
// implement it). For a redirect provider whose RedirectURL is "", [New]
// calls WithRedirectURL with [CallbackURL](PublicURL, BasePath, name) and
// uses the returned copy in place of the provider everywhere; without
// Config.PublicURL, New fails instead. The receiver must not be changed
// (providers are shared and used concurrently), and the copy must be of
// the receiver's own type: New refuses any other, so a WithRedirectURL
// promoted from an embedded adapter, which would return the embedded type
// without the wrapper's own checks, fails at start.
type RedirectURLSetter interface {
	WithRedirectURL(redirectURL string) (provider.Provider, error)
}

// CallbackURL returns the URL Gatehouse serves the authorization-code
// callback of the provider named name at: publicURL (an origin such as
// "https://app.example"; a trailing slash is dropped) + basePath (""
// means [DefaultBasePath]) + "/" + name + "/callback". Register it with
// the provider byte for byte. With Config.PublicURL set, leave the
// adapter's RedirectURL empty and New fills this URL in (see
// [RedirectURLSetter]); or pass it as the adapter's RedirectURL:
//
//	whisk.Config{RedirectURL: middleware.CallbackURL("https://app.example", "", "whisk")}
//	// "https://app.example/auth/whisk/callback"
func CallbackURL(publicURL, basePath, name string) string {
	if basePath == "" {
		basePath = DefaultBasePath
	}
	return strings.TrimRight(publicURL, "/") + strings.TrimRight(basePath, "/") + "/" + url.PathEscape(name) + "/callback"
}

// checkPublicURL validates Config.PublicURL against Config.DevMode and
// returns its origin ("" when unset). Every inconsistent combination is
// an error: http off loopback, http without DevMode, DevMode without an
// http loopback URL.
func checkPublicURL(raw string, dev bool) (string, error) {
	if raw == "" {
		if dev {
			return "", fmt.Errorf("%w: DevMode needs PublicURL, the plain-http loopback URL the app is opened at (for example http://127.0.0.1:8080)", ErrConfig)
		}
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: PublicURL %q must be an absolute http(s) URL", ErrConfig, raw)
	}
	if u.Path != "" && u.Path != "/" {
		return "", fmt.Errorf("%w: PublicURL %q must be an origin (scheme://host[:port]) without a path; the routes live under BasePath", ErrConfig, raw)
	}
	loopback := isLoopback(u.Hostname())
	switch {
	case u.Scheme == "http" && !loopback:
		return "", fmt.Errorf("%w: PublicURL %q must be https (plain http only on a loopback host, with DevMode)", ErrConfig, raw)
	case u.Scheme == "http" && !dev:
		return "", fmt.Errorf("%w: PublicURL %q is plain http: set DevMode for local development, or use https", ErrConfig, raw)
	case u.Scheme == "https" && dev:
		return "", fmt.Errorf("%w: DevMode is for plain-http loopback URLs only, PublicURL is %q: unset DevMode", ErrConfig, raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

// checkCookie checks the session cookie against DevMode. With own (the
// session manager New created) and dev, it makes the cookie a development
// cookie and logs that once.
func checkCookie(sm *scs.SessionManager, dev, own bool, publicURL string, log *slog.Logger) error {
	if !dev {
		if !sm.Cookie.Secure {
			return fmt.Errorf("%w: the session cookie %q is not Secure (set DevMode for plain-http loopback development)", ErrConfig, sm.Cookie.Name)
		}
		return nil
	}
	if own {
		sm.Cookie.Name, sm.Cookie.Secure, sm.Cookie.Domain = DevCookieName, false, ""
		log.LogAttrs(context.Background(), slog.LevelWarn,
			"gatehouse: DevMode: session cookie "+DevCookieName+" is host-only and not Secure, for "+publicURL+" only; never enable DevMode in production",
			slog.String("event", "dev_mode"), slog.String("cookie", DevCookieName), slog.String("public_url", publicURL))
		return nil
	}
	switch {
	case sm.Cookie.Secure:
		fix := "Cookie.Secure = false"
		if strings.HasPrefix(sm.Cookie.Name, "__Host-") || strings.HasPrefix(sm.Cookie.Name, "__Secure-") {
			fix = fmt.Sprintf("Cookie.Name = %q and Cookie.Secure = false", DevCookieName)
		}
		return fmt.Errorf("%w: DevMode: the session cookie %q is Secure, which not every browser sends back over plain http: pass session.Config a SessionManager (scs.New()) with %s, or leave Sessions nil and DevMode sets it", ErrConfig, sm.Cookie.Name, fix)
	case strings.HasPrefix(sm.Cookie.Name, "__Host-") || strings.HasPrefix(sm.Cookie.Name, "__Secure-"):
		return fmt.Errorf("%w: DevMode: cookie name %q requires the Secure flag; rename it (for example %q)", ErrConfig, sm.Cookie.Name, DevCookieName)
	case sm.Cookie.Domain != "":
		return fmt.Errorf("%w: DevMode: the session cookie must be host-only (Cookie.Domain is %q)", ErrConfig, sm.Cookie.Domain)
	}
	return nil
}

// PostLogoutRedirectURLProvider is an optional interface of an
// [EndSessionProvider] (adapters/oidc implements it): New checks that the
// post_logout_redirect_uri it sends is the URL Gatehouse serves the return
// from RP-initiated logout at, PublicURL + BasePath + "/{name}/logged-out",
// so that a typo fails at start instead of after the user signed out.
type PostLogoutRedirectURLProvider interface {
	PostLogoutRedirectURL() string
}

// checkRedirectURLs fills in the RedirectURL of each redirect provider
// that has none (see [RedirectURLSetter]), then compares each one's
// RedirectURL (when it reports one) with the URL its callback is served
// at, and its PostLogoutRedirectURL (when set) with its logged-out URL:
// the whole URL when PublicURL is set, else its path.
func (a *Auth) checkRedirectURLs() error {
	for _, name := range a.order {
		p := a.providers[name]
		if _, redirect := p.(provider.RedirectProvider); !redirect {
			continue
		}
		if rp, ok := p.(RedirectURLProvider); ok && rp.RedirectURL() == "" {
			filled, err := a.fillRedirectURL(name, p)
			if err != nil {
				return err
			}
			a.providers[name], p = filled, filled
		}
		if rp, ok := p.(RedirectURLProvider); ok {
			if err := a.checkProviderURL(name, "RedirectURL", rp.RedirectURL(), "callback"); err != nil {
				return err
			}
		}
		if lp, ok := p.(PostLogoutRedirectURLProvider); ok {
			if got := lp.PostLogoutRedirectURL(); got != "" {
				if err := a.checkProviderURL(name, "PostLogoutRedirectURL", got, "logged-out"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// fillRedirectURL returns a copy of p (named name, with an empty
// RedirectURL) configured with the URL its callback is served at.
func (a *Auth) fillRedirectURL(name string, p provider.Provider) (provider.Provider, error) {
	path := a.base + "/" + url.PathEscape(name) + "/callback"
	if a.publicOrigin == "" {
		return nil, fmt.Errorf("%w: provider %s has no RedirectURL: set PublicURL, and New uses PublicURL + %q, or set the adapter's RedirectURL to the app's origin + %q", ErrConfig, name, path, path)
	}
	want := a.publicOrigin + path
	s, ok := p.(RedirectURLSetter)
	if !ok {
		return nil, fmt.Errorf("%w: provider %s has no RedirectURL and cannot be given one (%T has no WithRedirectURL): set its RedirectURL to %q", ErrConfig, name, p, want)
	}
	c, err := s.WithRedirectURL(want)
	if err != nil {
		return nil, fmt.Errorf("%w: provider %s: RedirectURL %q: %w", ErrConfig, name, want, err)
	}
	if c == nil || reflect.TypeOf(c) != reflect.TypeOf(p) {
		return nil, fmt.Errorf("%w: provider %s: WithRedirectURL of %T returned %T, not a %T (a method promoted from an embedded adapter drops the wrapper's own checks): implement WithRedirectURL on %T, or set its RedirectURL to %q", ErrConfig, name, p, c, p, p, want)
	}
	if c.Name() != name {
		return nil, fmt.Errorf("%w: provider %s: WithRedirectURL returned a provider named %q", ErrConfig, name, c.Name())
	}
	return c, nil
}

// checkProviderURL checks one of a provider's URLs (field names the
// adapter's Config field) against the route Gatehouse serves it at.
func (a *Auth) checkProviderURL(name, field, got, route string) error {
	path := a.base + "/" + url.PathEscape(name) + "/" + route
	if a.publicOrigin != "" {
		if want := a.publicOrigin + path; got != want {
			return fmt.Errorf("%w: provider %s: %s is %q, expected %q (PublicURL + BasePath + /%s/%s; register that URL with the provider too)", ErrConfig, name, field, got, want, name, route)
		}
		return nil
	}
	if u, err := url.Parse(got); err != nil || u.EscapedPath() != path {
		return fmt.Errorf("%w: provider %s: %s is %q, expected a URL with path %q (BasePath + /%s/%s)", ErrConfig, name, field, got, path, name, route)
	}
	return nil
}
