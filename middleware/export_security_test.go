package middleware

import "time"

// SetRevokeTimer replaces the timer that spaces revocation retries, so
// tests control the waits without sleeping.
func SetRevokeTimer(a *Auth, after func(time.Duration) <-chan time.Time) { a.after = after }
