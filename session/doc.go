// Package session keeps everything Gatehouse stores per browser, on
// [github.com/alexedwards/scs/v2]: pending login attempts (keyed by state,
// single use, several at once), the login (provider, identity, token set),
// and the refresh of that token set — exactly once per session, however
// many requests and instances ask at once.
//
// # Storage
//
// The app's scs manager decides the store (memstore by default; any scs
// store, for example goredisstore or pgxstore, for several instances), the
// lifetime, idle timeout and cookie. Gatehouse installs its [Codec], a
// compact, versioned binary encoding that needs no gob registration.
//
// Each login also has a record of its own in the same store (key
// "gatehouse:login:" + a hash of the login ID, sealed with a key derived
// from the ID): the authoritative token set, a version, and the session
// token that holds the login. The session map keeps a copy for the hot
// path, so a logged-in request whose token is not expiring costs the one
// store read scs makes anyway. The record is written only under the
// login's lock ([Locker]); scs saves whole session maps per request (last
// write wins), and this is what keeps such a save from bringing back a
// token set a refresh has replaced.
//
// # Refresh
//
// [Manager.Token] refreshes when the token expires within Config.Leeway
// (plus a little jitter). Concurrent calls for one login share one refresh
// (golang.org/x/sync/singleflight) that runs detached from any single
// request; across instances the [Locker] (session/redislock for Redis)
// serialises refreshes, and the login's record is read once the lock is taken.
// invalid_grant ends the login ([ErrReauthRequired]); a transient failure
// keeps the session, serves the token while it is valid and backs off
// (Config.BackoffMin to Config.BackoffMax). Consecutive transient failures
// of one provider open its circuit breaker (Config.BreakerThreshold,
// Config.BreakerOpen): refreshes of that provider then fail fast with
// [ErrCircuitOpen] until a half-open trial succeeds. At most
// Config.MaxConcurrentRefreshes upstream refreshes run at once per Manager.
// Every token change is reported once to Config.OnTokenChange and the
// observers added with [Manager.Observe]; [Manager.Ping] checks the store for
// a readiness endpoint.
//
// # Limits
//
// Login attempts live in the session map: two login starts of one browser
// that run truly concurrently (the same milliseconds) may keep only one
// attempt, as with any scs value. A request that was already running when
// the user logged out cannot save the session back through
// [Manager.LoadAndSave]: the destroyed session's store key stays buried in
// the process for ten minutes, so the old cookie is anonymous.
//
// Across instances sharing a store, set Config.Index ([NewMemIndex],
// session/redisindex, session/pgindex): Logout, [Manager.EndSession] and
// [Manager.EndSessions] then write an ended marker into the store, which
// every instance reads together with the session (one MGET in Redis, one
// query in PostgreSQL: no extra round trip), and every session write is
// refused atomically once the marker is set. After the call returns, no
// instance serves that session and no request that loaded it earlier
// saves it back; the login record is deleted under the refresh lock, so
// its bearer JWTs are refused on the next request. Markers live until the
// session's absolute expiry. Without an index the guard is per process:
// a request running on another instance at that moment may save the map
// back; its login then has no record, so it cannot get a refreshed token
// ([ErrNotLoggedIn]) and no bearer JWT resolves to it, but CurrentLogin
// shows its identity until its access token is due for refresh or the
// session expires. The index's last-seen time is written at most once a
// minute per session and instance, in the background.
//
// A login that ended while its session lives on (invalid_grant in Token
// or ForceRefresh) is still guarded per process: the Manager keeps the
// IDs of logins ended here (bounded, for the session Lifetime, at least
// ten minutes), and CurrentLogin, Token and ForceRefresh treat such a
// login as gone (nil, [ErrNotLoggedIn]) and remove it from that request's
// session, so its save does not bring it back. On another instance a
// request that loaded the session before can still save the login back
// and show it until its access token is due for refresh; the refresh then
// finds no record and ends it ([ErrNotLoggedIn]).
package session
