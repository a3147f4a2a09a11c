// Package oauth2test is an in-process fake OAuth 2.0 authorization server
// (RFC 6749, RFC 7636 PKCE, RFC 7009 revocation) for tests, in the manner of
// net/http/httptest: [NewServer] starts it on a random 127.0.0.1 port,
// [Server.URL] is its base URL, [Server.Close] stops it and [Server.Client]
// is an *http.Client for it.
//
// The server is strict where real servers are strict and configurable where
// real servers differ:
//
//   - registered clients ([Client]) with redirect URIs compared byte for byte;
//     confidential clients authenticate with HTTP Basic (form-decoded per
//     RFC 6749 §2.3.1) or with client_id/client_secret in the body;
//   - the authorization-code grant with PKCE S256 only; codes are single use
//     (a replayed code is invalid_grant and revokes what it issued) and
//     expire after [Config.CodeTTL];
//   - the refresh grant with rotation, and optional strict reuse detection
//     ([Config.ReuseDetection]: presenting a rotated-out refresh token
//     revokes the whole token family);
//   - a userinfo endpoint (GET, Bearer) and an RFC 7009 revocation endpoint;
//   - an injectable clock ([Config.Now], [Clock]) for code and token expiry;
//   - failure injection per endpoint ([Server.Fail], [Failure]): error
//     statuses, delays, hangs, malformed and oversized bodies, OAuth error
//     codes, redirects;
//   - per-endpoint call counters ([Server.Calls]) and recorded requests
//     ([Server.Requests]), so a test can assert "exactly one refresh" or
//     "the secret never appeared in a URL".
//
// The authorize endpoint auto-approves: it 302s straight back to the
// redirect URI with code and state for the configured user (the first of
// [Config.Users], or the one named by login_hint), so flows run without a
// browser. [Server.AuthorizeCode] performs that step for a test.
//
// # Building a provider-style fake on it
//
// A fake of a particular upstream (Whisk, start.gg, …) is a configuration of
// this engine plus the upstream's own API handlers, not a copy of it:
//
//   - set [Config.Paths] to the upstream's endpoint paths (for example
//     Authorize "/oauth/v2/authorize", Token "/oauth/v2/token"; a separate
//     Paths.Refresh such as "/oauth/refresh" makes the refresh grant legal
//     only there);
//   - set [Config.Encodings] to the request encodings the upstream accepts
//     (form, multipart, JSON, query-string merge);
//   - set [Config.RenderToken] and [Config.RenderError] to write the
//     upstream's reply shapes (start with [TokenReply.Fields] and
//     [WriteJSON]);
//   - add upstream-specific grants with [Config.Grants];
//   - mount the upstream's API with [Server.Handle] (counted and
//     failure-injectable like the built-in endpoints), and authenticate its
//     callers with [Server.BearerToken] or [Server.LookupAccessToken].
//
// Wrap the *Server in the fake's own type (or return it directly) so that
// tests keep URL, Close, Client, Calls and Fail.
//
// The package imports only the standard library.
package oauth2test
