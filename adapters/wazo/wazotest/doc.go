// Package wazotest is an in-process fake of wazo-auth, the Wazo Platform's
// authentication service (REST API 0.1), for tests and demos, in the manner
// of net/http/httptest: [NewServer] starts it on a random 127.0.0.1 port,
// [Server.URL] is its base URL (version path included), [Server.Close] stops
// it and [Server.Client] is an *http.Client for it.
//
// It follows wazo-auth's behaviour as its source code and the upstream
// documentation at https://wazo-platform.org/documentation describe it:
//
//   - POST {base}/token: HTTP Basic username:password (UTF-8, Latin-1
//     fallback; the e-mail address works as user name) or a refresh token
//     plus its client_id; a JSON body is required and validated like
//     wazo-auth's schema (expiration 1..315360000, access_type
//     online|offline, offline needs client_id and excludes refresh_token,
//     refresh_token needs client_id, tenant_id excludes domain_name), with
//     400 replies in the legacy {"reason", "timestamp", "status_code"}
//     shape; 401 "Authentication Failed" for bad credentials, unknown
//     refresh tokens and client_id mismatches; 429 when the user has
//     [Config.MaxSessions] live sessions;
//   - one refresh token per (user, client_id), returned again by every
//     offline login, never rotated, never expiring; a mobile offline login
//     (Wazo-Session-Type: mobile) replaces it and revokes the user's other
//     mobile refresh tokens and their sessions (counted in the
//     Wazo-Sessions-Revoked header);
//   - replies wrapped in {"data": ...} with every field wazo-auth sends,
//     timestamps in Python isoformat (naive, no offset; the local ones drop
//     zero microseconds, the utc_* ones always have six digits);
//   - GET/HEAD {base}/token/{token} (validation, with scope ACL matching
//     including "*", "#", "!" negation and the "me"/"my_session" words),
//     DELETE {base}/token/{token} (always 200), POST
//     {base}/token/{token}/scopes/check (answers an object), GET
//     {base}/users/me/tokens and DELETE {base}/users/me/tokens/{client_id}
//     (X-Auth-Token, errors in the {"message", "error_id", "details"}
//     shape; a refresh token there is a 401);
//   - tokens, refresh tokens and session ids are UUID v4; a {token} path
//     segment that is not a UUID gets the framework's 404.
//
// Test knobs: an injectable clock ([Config.Now]), the default token lifetime,
// the session cap, per-endpoint call counters ([Server.Calls]), recorded
// requests ([Server.Requests], to assert that no secret travelled in a URL)
// and failure injection ([Server.Fail]: error statuses, delays, hangs,
// malformed and oversized bodies). Those come from the generic engine in
// adapters/oauth2/oauth2test, whose OAuth endpoints are switched off here.
//
// wazo-auth never rotates refresh tokens, so there is no rotation knob.
//
// The package imports only the standard library and oauth2test.
package wazotest
