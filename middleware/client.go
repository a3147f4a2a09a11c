package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// Client returns an *http.Client that calls the provider's API as the
// logged-in user of ctx (a request context inside Require, Optional or
// Wrap). Its transport
//
//   - clones each request and strips any inbound Authorization,
//     X-Auth-Token and Cookie header (a browser's credentials never reach
//     the upstream);
//   - sets the provider's credential (provider.SetCredential: Bearer, or
//     X-Auth-Token for Wazo): the token of ctx's session as Require,
//     Optional or Wrap left it. Inside a protected request that is the
//     token Require has just obtained (refreshed when it was due and
//     stored in the request's session), so the request does not refresh
//     again: the session manager's refresh margin is at most a third of
//     the token's lifetime, so a token is due here only when the handler
//     has outlived two thirds of it; then a token another request has
//     refreshed meanwhile is taken from the store without a refresh of
//     its own. One refresh per session however many requests ask;
//   - after a 401, refreshes once (session.Manager.ForceRefresh) and
//     retries once, for requests whose body can be replayed (GetBody set,
//     or no body).
//
// The credential goes only to the provider's API hosts: the hosts of
// provider.APIHoster plus Config.UpstreamHosts[provider name], compared
// exactly (case-insensitive host name, significant port). A request to any
// other host, say a pagination or avatar URL the upstream supplied, and a
// plain-http request to a non-loopback host fail with an error matching
// ErrUpstreamHost before anything is sent. A provider that declares no
// hosts keeps an unrestricted client (New logs a warning).
//
// Redirects are not followed: the credential must not travel to another
// host. The error matches ErrNotLoggedIn when ctx carries no login, and
// ErrNoSession when it carries no session at all (see [Auth.Wrap]).
func (a *Auth) Client(ctx context.Context) (*http.Client, error) {
	login, err := a.sessions.CurrentLogin(ctx)
	if errors.Is(err, session.ErrNoSession) {
		a.hasSession(ctx, "Client") // logs the fix once
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("middleware: client: %w", err)
	}
	if login == nil {
		return nil, ErrNotLoggedIn
	}
	p, ok := a.providers[login.Provider]
	if !ok {
		return nil, ErrNotLoggedIn
	}
	return &http.Client{
		Transport:     &transport{a: a, ctx: ctx, p: p, hosts: a.apiHosts[login.Provider], base: a.transport},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}, nil
}

// transport is the credential-setting RoundTripper of Client.
type transport struct {
	a     *Auth
	ctx   context.Context // carries the session
	p     provider.Provider
	hosts map[string]bool // allowed hosts, lower case; nil: unrestricted
	base  http.RoundTripper
}

// allowed checks req's URL against the provider's API hosts. The error
// names the host, never the credential.
func (t *transport) allowed(req *http.Request) error {
	u := req.URL
	if u == nil || u.Host == "" {
		return fmt.Errorf("%w: request has no host", ErrUpstreamHost)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("%w: plain http to %q (https required off loopback)", ErrUpstreamHost, u.Host)
		}
	default:
		return fmt.Errorf("%w: scheme %q to %q", ErrUpstreamHost, u.Scheme, u.Host)
	}
	if t.hosts != nil && !t.hosts[strings.ToLower(u.Host)] {
		return fmt.Errorf("%w: %q is not an API host of provider %q", ErrUpstreamHost, u.Host, t.p.Name())
	}
	return nil
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.allowed(req); err != nil {
		closeBody(req)
		return nil, err
	}
	tok, err := t.a.sessions.Token(t.ctx, t.p)
	if err != nil {
		closeBody(req)
		return nil, fmt.Errorf("middleware: upstream credential: %w", err)
	}
	resp, err := t.base.RoundTrip(t.withCredential(req, tok, req.Body))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	body, replayable := replayBody(req)
	if !replayable {
		return resp, nil
	}
	fresh, ferr := t.a.sessions.ForceRefresh(t.ctx, t.p, tok)
	if ferr != nil || fresh == nil || fresh.AccessToken == tok.AccessToken {
		if body != nil {
			_ = body.Close()
		}
		if ferr != nil {
			t.a.log.LogAttrs(req.Context(), slog.LevelInfo, "gatehouse: refresh after upstream 401 failed",
				attrEvent("refresh_failed"), attrProvider(t.p.Name()), slog.String("error", ferr.Error()))
		}
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return t.base.RoundTrip(t.withCredential(req, fresh, body))
}

// withCredential clones req with body, strips inbound credentials and
// sets tok.
func (t *transport) withCredential(req *http.Request, tok *provider.Token, body io.ReadCloser) *http.Request {
	out := req.Clone(req.Context())
	out.Body = body
	for _, h := range []string{"Authorization", "X-Auth-Token", "Cookie", "Proxy-Authorization"} {
		out.Header.Del(h)
	}
	t.p.SetCredential(out, tok)
	return out
}

// replayBody returns a fresh body for a retry and whether a retry is
// possible.
func replayBody(req *http.Request) (io.ReadCloser, bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return req.Body, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	b, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	return b, true
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
