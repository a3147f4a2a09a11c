package session

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// marginDivisor bounds the refresh margin: Leeway plus its jitter is at
// most a third of the lifetime the upstream gave the token. A token is
// therefore never due before two thirds of its life have passed: a fresh
// token is always usable, a request that has just refreshed does not
// refresh again, and however short the upstream makes its tokens (Wazo
// accepts 1 s, many identity providers issue 60 s), the token endpoint
// sees at most one refresh per session per two thirds of a lifetime
// instead of one per request.
const marginDivisor = 3

// lifetime is how long t was valid when Gatehouse received it: its expiry
// minus obtained, the local time it arrived. Zero when either is unknown
// or the difference is not positive (a token that arrived expired, or
// clocks that disagree): the margin is then not capped.
func lifetime(t *provider.Token, obtained time.Time) time.Duration {
	if t == nil || t.Expiry.IsZero() || obtained.IsZero() {
		return 0
	}
	if d := t.Expiry.Sub(obtained); d > 0 {
		return d
	}
	return 0
}

// marginBounds returns the refresh margin's floor and jitter span for a
// token of lifetime life: Leeway and Jitter as configured, or, when
// Leeway+Jitter exceeds life/marginDivisor, both scaled down in
// proportion so that their sum is exactly that cap (short tokens keep a
// proportionate spread instead of none). life 0 means unknown: no cap.
func (m *Manager) marginBounds(life time.Duration) (leeway, jitter time.Duration) {
	leeway, jitter = m.cfg.Leeway, max(m.cfg.Jitter, 0)
	if life <= 0 {
		return leeway, jitter
	}
	limit := life / marginDivisor
	if full := leeway + jitter; full > limit {
		// float64: leeway*limit overflows int64 for long durations.
		leeway = time.Duration(float64(leeway) * float64(limit) / float64(full))
		jitter = limit - leeway
	}
	return leeway, jitter
}

// refreshMargin is how long before t's expiry the login id refreshes it:
// the floor from marginBounds plus a jitter that is a deterministic
// function of the login and the expiry, so every check of one token (on
// every instance) agrees, while logins that expire together refresh at
// different moments.
func (m *Manager) refreshMargin(id string, t *provider.Token, obtained time.Time) time.Duration {
	leeway, jitter := m.marginBounds(lifetime(t, obtained))
	if jitter <= 0 {
		return leeway
	}
	return leeway + jitterFor(id, t, jitter)
}

// jitterFor is the login's jitter for t, in [0, span).
func jitterFor(id string, t *provider.Token, span time.Duration) time.Duration {
	var buf [128]byte
	h := sha256.Sum256(binary.BigEndian.AppendUint64(append(buf[:0], id...), uint64(t.Expiry.UnixNano())))
	return time.Duration(binary.BigEndian.Uint64(h[:8]) % uint64(span))
}

// needsRefresh reports whether t, received at obtained, expires within the
// login's refresh margin at now (see refreshMargin).
func (m *Manager) needsRefresh(id string, t *provider.Token, obtained, now time.Time) bool {
	leeway, jitter := m.marginBounds(lifetime(t, obtained))
	if !t.ExpiresWithinAt(now, leeway+jitter) {
		return false // not due whatever the jitter: skip the hash
	}
	if jitter <= 0 {
		return true
	}
	return t.ExpiresWithinAt(now, leeway+jitterFor(id, t, jitter))
}

// obtainedAt is when the token set of a login was received, as far as the
// session knows: its last refresh (stored right after the upstream
// answered), else the login (the middleware stamps LoginAt after the code
// exchange and identity fetch). Both are at or after the real receipt, so
// the lifetime derived from them is never overestimated.
func obtainedAt(loginAt, refreshedAt time.Time) time.Time {
	if refreshedAt.After(loginAt) {
		return refreshedAt
	}
	return loginAt
}
