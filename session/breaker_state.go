package session

import "time"

// BreakerState is the state of one provider's refresh circuit breaker
// on one Manager (see Config.BreakerThreshold). The breaker is kept per
// process: every instance has its own, and one instance's open circuit
// does not open another's.
type BreakerState struct {
	// Failures is the count of consecutive transient refresh failures.
	Failures int
	// Open reports whether refreshes currently fail fast.
	Open bool
	// OpenUntil is when an open circuit lets one trial refresh through
	// (zero when closed).
	OpenUntil time.Time
	// Trial reports whether a half-open trial refresh is in flight.
	Trial bool
}

// BreakerStates returns the circuit breaker state of every provider this
// Manager has refreshed for, by provider name, for metrics and health
// pages. Providers never refreshed are absent (closed).
func (m *Manager) BreakerStates() map[string]BreakerState {
	b := m.breaker
	out := map[string]BreakerState{}
	if b == nil {
		return out
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	for name, c := range b.state {
		s := BreakerState{Failures: c.failures, Trial: c.trial}
		if !c.openUntil.IsZero() {
			s.OpenUntil = c.openUntil
			s.Open = now.Before(c.openUntil)
		}
		out[name] = s
	}
	return out
}
