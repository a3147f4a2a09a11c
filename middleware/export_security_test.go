package middleware

import "time"

// SetRevokeTimer replaces the timer that spaces revocation retries, so
// tests control the waits without sleeping.
func SetRevokeTimer(a *Auth, after func(time.Duration) <-chan time.Time) { a.after = after }

// LimiterKeys returns how many keys the login-start and callback limiters
// hold.
func LimiterKeys(a *Auth) (login, callback int) {
	a.loginLimiter.mu.Lock()
	login = len(a.loginLimiter.buckets)
	a.loginLimiter.mu.Unlock()
	a.cbLimiter.mu.Lock()
	callback = len(a.cbLimiter.buckets)
	a.cbLimiter.mu.Unlock()
	return login, callback
}
