package session

import (
	"errors"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// ErrCircuitOpen is wrapped (with provider.ErrUnavailable and a
// Retry-After) by a refresh that was refused without asking the upstream,
// because the provider's circuit breaker is open (Config.BreakerThreshold).
var ErrCircuitOpen = errors.New("session: provider circuit open")

// breaker is the per-provider circuit breaker on the refresh path (fault
// plan F7): after threshold consecutive transient refresh failures for a
// provider, across all its logins on this Manager, refreshes fail fast for
// the open period; then one trial refresh goes upstream (half-open), whose
// success closes the circuit and whose failure opens it again. It is
// in-process: each Manager (instance) keeps its own.
type breaker struct {
	threshold int           // ≤ 0: disabled
	open      time.Duration // how long the circuit stays open
	busyWait  time.Duration // Retry-After while a half-open trial is in flight
	now       func() time.Time

	mu    sync.Mutex
	state map[string]*circuit // by provider name
}

type circuit struct {
	failures  int       // consecutive transient failures
	openUntil time.Time // zero: closed
	trial     bool      // a half-open trial is in flight
}

// outcome of one upstream refresh, for the breaker.
type breakerResult int

const (
	breakerAbandoned breakerResult = iota // no answer to judge (panic): release the trial only
	breakerUp                             // the provider answered (success, invalid_grant, ...)
	breakerDown                           // transient failure: counts towards opening
)

func newBreaker(threshold int, open, busyWait time.Duration, now func() time.Time) *breaker {
	return &breaker{threshold: threshold, open: open, busyWait: busyWait, now: now, state: map[string]*circuit{}}
}

// wait reports how long name's circuit stays open (0 when closed or ready
// for a half-open trial): a check that takes no trial, for the path before
// the refresh lock.
func (b *breaker) wait(name string) time.Duration {
	if b.threshold <= 0 {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.state[name]
	if c == nil || c.openUntil.IsZero() {
		return 0
	}
	return max(c.openUntil.Sub(b.now()), 0)
}

// acquire asks to call name's upstream. wait > 0: refused, retry after
// wait. Otherwise the call may go ahead; trial reports that it is the
// half-open trial, and done must be called with its result either way.
func (b *breaker) acquire(name string) (trial bool, wait time.Duration) {
	if b.threshold <= 0 {
		return false, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.state[name]
	if c == nil || c.openUntil.IsZero() {
		return false, 0 // closed
	}
	if w := c.openUntil.Sub(b.now()); w > 0 {
		return false, w // open
	}
	if c.trial {
		return false, b.busyWait // half-open, the trial is out
	}
	c.trial = true
	return true, 0
}

// done records the result of a call acquire let through.
func (b *breaker) done(name string, trial bool, r breakerResult) {
	if b.threshold <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.state[name]
	switch r {
	case breakerUp:
		if c != nil {
			delete(b.state, name) // closed, count reset
		}
		return
	case breakerAbandoned:
		if c != nil && trial {
			c.trial = false
		}
		return
	}
	if c == nil {
		c = &circuit{}
		b.state[name] = c // bounded by the number of providers
	}
	if trial {
		c.trial = false
	}
	c.failures++
	now := b.now()
	if trial || (c.failures >= b.threshold && !c.openUntil.After(now)) {
		// A failed trial re-opens the circuit. A failure of a call that
		// started earlier does not extend an open period.
		c.openUntil = now.Add(b.open)
	}
}

// classify turns an upstream refresh answer into a breaker result:
// only transient failures (provider.ErrUnavailable: 5xx, refused
// connections, timeouts) mean the provider is down.
func classify(err error) breakerResult {
	if err != nil && provider.IsTransient(err) {
		return breakerDown
	}
	return breakerUp
}

// circuitOpenError is the fail-fast answer of an open circuit.
func circuitOpenError(p provider.Provider, wait time.Duration) error {
	return &provider.Error{Provider: p.Name(), Op: "refresh", Kind: provider.ErrUnavailable, RetryAfter: wait,
		Err: ErrCircuitOpen}
}
