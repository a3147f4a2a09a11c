package session

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Attempt is one pending redirect login, kept server-side in the session
// and keyed by its state, so that several tabs can log in at once
// (RFC 9700 §2.1). Attempts are single use and expire after
// Config.AttemptTTL.
type Attempt struct {
	// State is the attempt's CSRF token (provider.NewState). Secret.
	State string
	// Provider is the name of the provider the login went to; a callback
	// arriving for another provider is refused (mix-up defence).
	Provider string
	// Verifier is the PKCE verifier (provider.NewVerifier). Secret.
	Verifier string
	// ReturnTo is the already validated local path to go back to.
	ReturnTo string
	// Nonce is the OpenID Connect nonce, when one was sent.
	Nonce string
	// Scopes are the scopes asked for.
	Scopes []string
	// Implicit marks an implicit-grant attempt (opt-in only).
	Implicit bool
	// Created is when the attempt began; PutAttempt sets it when zero.
	Created time.Time
}

// String describes a without its secrets (State and Verifier).
func (a Attempt) String() string {
	return fmt.Sprintf("session.Attempt{Provider:%s ReturnTo:%q Scopes:%v Implicit:%t Created:%s State:[REDACTED] Verifier:[REDACTED]}",
		a.Provider, a.ReturnTo, a.Scopes, a.Implicit, a.Created.UTC().Format(time.RFC3339))
}

// GoString is String, so %#v does not print the secrets either.
func (a Attempt) GoString() string { return a.String() }

// Format implements fmt.Formatter: every verb prints the redacted String.
func (a Attempt) Format(f fmt.State, verb rune) {
	s := a.String()
	if verb == 'q' {
		s = fmt.Sprintf("%q", s)
	}
	_, _ = f.Write([]byte(s))
}

// LogValue implements slog.LogValuer without State and Verifier.
func (a Attempt) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("provider", a.Provider),
		slog.String("return_to", a.ReturnTo),
		slog.Bool("implicit", a.Implicit),
		slog.Time("created", a.Created),
	)
}

func (a *Attempt) validate() error {
	switch {
	case a.State == "" || a.Provider == "":
		return errors.New("session: attempt needs State and Provider")
	case len(a.State) > maxStateLen, len(a.Provider) > maxProviderLen, len(a.Verifier) > maxVerifierLen,
		len(a.ReturnTo) > maxReturnToLen, len(a.Nonce) > maxNonceLen, len(a.Scopes) > maxScopes:
		return fmt.Errorf("session: attempt field too long: %w", ErrTooLarge)
	}
	for _, s := range a.Scopes {
		if len(s) > maxScopeLen {
			return fmt.Errorf("session: attempt scope too long: %w", ErrTooLarge)
		}
	}
	return nil
}

func (m *Manager) attempts(ctx context.Context) []Attempt {
	sm := m.smFor(ctx)
	if sm == nil {
		return nil
	}
	switch v := sm.Get(ctx, keyAttempts).(type) {
	case *attemptList:
		// The list may be shared with other requests (the Codec's decode
		// cache): the copy owns its Scopes too.
		out := append([]Attempt(nil), v.items...)
		for i := range out {
			out[i].Scopes = slices.Clone(out[i].Scopes)
		}
		return out
	case []byte:
		var l attemptList
		if l.UnmarshalBinary(v) == nil {
			return l.items
		}
	}
	return nil
}

func (m *Manager) putAttempts(ctx context.Context, items []Attempt) {
	sm := m.smFor(ctx)
	if len(items) == 0 {
		sm.Remove(ctx, keyAttempts)
		return
	}
	sm.Put(ctx, keyAttempts, &attemptList{items: items})
}

// live drops expired attempts.
func (m *Manager) live(items []Attempt, now time.Time) []Attempt {
	out := items[:0]
	for _, a := range items {
		if now.Sub(a.Created) <= m.cfg.AttemptTTL {
			out = append(out, a)
		}
	}
	return out
}

// PutAttempt stores a in the session, replacing an attempt with the same
// state, dropping expired ones and, beyond MaxAttempts, the oldest. It sets
// Created when zero. Fields are bounded (state 256 bytes, return path 2
// KiB, 32 scopes of 64 bytes…); a larger attempt is refused with [ErrTooLarge].
func (m *Manager) PutAttempt(ctx context.Context, a Attempt) error {
	if m.smFor(ctx) == nil {
		return ErrNoSession
	}
	if err := a.validate(); err != nil {
		return err
	}
	now := m.now()
	if a.Created.IsZero() {
		a.Created = now
	}
	a.Scopes = append([]string(nil), a.Scopes...)
	items := m.attempts(ctx)
	out := make([]Attempt, 0, len(items)+1)
	for _, x := range items {
		if subtle.ConstantTimeCompare([]byte(x.State), []byte(a.State)) == 0 {
			out = append(out, x)
		}
	}
	out = append(m.live(out, now), a)
	if n := len(out) - m.cfg.MaxAttempts; n > 0 {
		out = out[n:]
	}
	m.putAttempts(ctx, out)
	return nil
}

// TakeAttempt removes the attempt for state (constant-time compare) and returns it.
// Errors: ErrAttemptNotFound (unknown/replayed, or no session at all),
// ErrAttemptExpired (older than AttemptTTL, removed too), ErrAttemptProvider
// (state belongs to another provider; removed too).
//
// The attempt is removed before anything else happens, so a replayed
// callback can never use it again (RFC 9700 §2.1: one-time CSRF tokens).
func (m *Manager) TakeAttempt(ctx context.Context, providerName, state string) (*Attempt, error) {
	if m.smFor(ctx) == nil {
		return nil, fmt.Errorf("%w (%w)", ErrAttemptNotFound, ErrNoSession)
	}
	items := m.attempts(ctx)
	found := -1
	for i := range items {
		// Compare with every entry: the time taken does not depend on
		// which one (if any) matches.
		if subtle.ConstantTimeCompare([]byte(items[i].State), []byte(state)) == 1 && state != "" {
			found = i
		}
	}
	if found < 0 {
		return nil, ErrAttemptNotFound
	}
	a := items[found]
	rest := append(items[:found:found], items[found+1:]...)
	now := m.now()
	m.putAttempts(ctx, m.live(rest, now))
	if now.Sub(a.Created) > m.cfg.AttemptTTL {
		return nil, ErrAttemptExpired
	}
	if subtle.ConstantTimeCompare([]byte(a.Provider), []byte(providerName)) == 0 {
		return nil, ErrAttemptProvider
	}
	return &a, nil
}
