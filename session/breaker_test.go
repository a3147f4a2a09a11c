package session

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

var (
	errOutage = &provider.Error{Provider: "fake", Op: "refresh", Kind: provider.ErrUnavailable, StatusCode: 503}
	errDead   = &provider.Error{Provider: "fake", Op: "refresh", Kind: provider.ErrInvalidGrant, Code: "invalid_grant", StatusCode: 400}
)

// breakerStep is one refresh of a fresh login (so per-login backoff never
// applies): the provider's answer, whether it must be asked, and what the
// caller gets.
type breakerStep struct {
	advance time.Duration              // clock advance before the step
	answer  error                      // the provider's answer if asked (nil: success)
	called  bool                       // the upstream must be called
	open    time.Duration              // > 0: refused fast (ErrCircuitOpen) with this Retry-After
	valid   bool                       // the login's token is still valid (expires in 30 s, within Leeway)
	check   func(*testing.T, *breaker) // optional check of the breaker afterwards
}

func repeat(n int, s breakerStep) []breakerStep {
	out := make([]breakerStep, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func steps(groups ...[]breakerStep) []breakerStep {
	var out []breakerStep
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func one(s breakerStep) []breakerStep { return []breakerStep{s} }

func TestBreaker(t *testing.T) {
	fail := breakerStep{answer: errOutage, called: true}
	ok := breakerStep{called: true}
	dead := breakerStep{answer: errDead, called: true}
	refused := func(ra time.Duration) breakerStep { return breakerStep{answer: errOutage, open: ra} }
	closed := func(t *testing.T, b *breaker) {
		if w := b.wait("fake"); w != 0 {
			t.Errorf("breaker open for %v, want closed", w)
		}
	}
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
		run  []breakerStep
	}{
		{"opens after 5 consecutive transient failures across logins", nil,
			steps(repeat(5, fail), repeat(3, refused(30*time.Second)))},
		{"four failures do not open", nil,
			steps(repeat(4, fail), one(breakerStep{called: true, check: closed}))},
		{"serves while valid when open", nil,
			steps(repeat(5, fail), one(breakerStep{answer: errOutage, valid: true}))},
		{"open period counts down", nil,
			steps(repeat(5, fail), one(breakerStep{advance: 20 * time.Second, answer: errOutage, open: 10 * time.Second}))},
		{"half-open trial success closes and resets the count", nil,
			steps(repeat(5, fail), one(breakerStep{advance: 30 * time.Second, called: true, check: closed}),
				repeat(4, fail), one(fail), one(refused(30*time.Second)))},
		{"half-open trial failure re-opens", nil,
			steps(repeat(5, fail), one(breakerStep{advance: 30 * time.Second, answer: errOutage, called: true}),
				repeat(2, refused(30*time.Second)),
				one(breakerStep{advance: 29 * time.Second, answer: errOutage, open: time.Second}),
				one(breakerStep{advance: time.Second, called: true, check: closed}))},
		{"invalid_grant does not count (the provider is up)", nil,
			steps(repeat(4, fail), one(dead), repeat(4, fail), one(fail), one(refused(30*time.Second)))},
		{"invalid_grant alone never opens", nil, repeat(8, dead)},
		{"a success in between resets the count", nil,
			steps(repeat(4, fail), one(ok), repeat(3, fail), one(breakerStep{answer: errOutage, called: true, check: closed}),
				one(fail), one(refused(30*time.Second)))},
		{"disabled when negative", func(c *Config) { c.BreakerThreshold = -1 },
			repeat(12, breakerStep{answer: errOutage, called: true, check: closed})},
		{"custom threshold and open period", func(c *Config) { c.BreakerThreshold, c.BreakerOpen = 2, 10*time.Second },
			steps(repeat(2, fail), one(refused(10*time.Second)), one(breakerStep{advance: 10 * time.Second, called: true}))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []envOpt
			if tc.cfg != nil {
				opts = append(opts, tc.cfg)
			}
			e := newEnv(t, storeCases()[0], opts...)
			for i, s := range tc.run {
				e.clock.Advance(s.advance)
				expires := -time.Second
				if s.valid {
					expires = 30 * time.Second
				}
				cookie, _, old := e.loginAged(expires)
				e.prov.setFail(s.answer)
				before := e.prov.refreshes.Load()
				tok, err := e.m.Token(e.request(cookie), e.prov)
				calls := e.prov.refreshes.Load() - before
				if want := map[bool]int64{true: 1, false: 0}[s.called]; calls != want {
					t.Fatalf("step %d: %d upstream calls, want %d (err %v)", i, calls, want, err)
				}
				switch {
				case s.valid:
					if err != nil || tok == nil || tok.AccessToken != old.AccessToken {
						t.Fatalf("step %d: err %v, want the valid token served", i, err)
					}
				case s.open > 0:
					if !errors.Is(err, ErrCircuitOpen) || !errors.Is(err, provider.ErrUnavailable) {
						t.Fatalf("step %d: err %v, want ErrCircuitOpen and provider.ErrUnavailable", i, err)
					}
					if ra := provider.RetryAfter(err); ra != s.open {
						t.Fatalf("step %d: Retry-After %v, want %v", i, ra, s.open)
					}
				case s.answer == nil:
					if err != nil || tok == nil || tok.AccessToken == old.AccessToken {
						t.Fatalf("step %d: err %v, want a refreshed token", i, err)
					}
				case errors.Is(s.answer, provider.ErrInvalidGrant):
					if !errors.Is(err, ErrReauthRequired) {
						t.Fatalf("step %d: err %v, want ErrReauthRequired", i, err)
					}
				default:
					if !errors.Is(err, provider.ErrUnavailable) || errors.Is(err, ErrCircuitOpen) {
						t.Fatalf("step %d: err %v, want the upstream's transient failure", i, err)
					}
				}
				if s.check != nil {
					s.check(t, e.m.breaker)
				}
			}
		})
	}
}

// TestBreakerHalfOpenOneTrial: once the open period ends, exactly one of
// many concurrent refreshes (of different logins) goes upstream; the
// others fail fast while it is in flight; its success closes the circuit.
func TestBreakerHalfOpenOneTrial(t *testing.T) {
	e := newEnv(t, storeCases()[0])
	e.prov.setFail(errOutage)
	for range 5 {
		cookie, _, _ := e.login(-time.Second)
		if _, err := e.m.Token(e.request(cookie), e.prov); !errors.Is(err, provider.ErrUnavailable) {
			t.Fatalf("during the outage: %v", err)
		}
	}
	e.clock.Advance(30 * time.Second)
	const callers = 12
	cookies := make([]string, callers)
	for i := range cookies {
		cookies[i], _, _ = e.login(-time.Second)
	}
	e.prov.setFail(nil)
	e.prov.gate = make(chan struct{})
	e.prov.entered = make(chan struct{}, callers)
	before := e.prov.refreshes.Load()

	type answer struct {
		tok *provider.Token
		err error
	}
	answers := make(chan answer, callers)
	var start sync.WaitGroup
	start.Add(1)
	for _, c := range cookies {
		ctx := e.request(c)
		go func() {
			start.Wait()
			tok, err := e.m.Token(ctx, e.prov)
			answers <- answer{tok, err}
		}()
	}
	start.Done()
	// All but the trial answer while the trial is held at the gate.
	for i := range callers - 1 {
		a := <-answers
		if !errors.Is(a.err, ErrCircuitOpen) || provider.RetryAfter(a.err) <= 0 {
			t.Fatalf("caller %d during the trial: %v (Retry-After %v), want a fast ErrCircuitOpen", i, a.err, provider.RetryAfter(a.err))
		}
	}
	<-e.prov.entered
	if n := e.prov.refreshes.Load() - before; n != 1 {
		t.Fatalf("%d upstream calls while half-open, want exactly 1", n)
	}
	close(e.prov.gate)
	if a := <-answers; a.err != nil || a.tok == nil {
		t.Fatalf("the trial: %v, want a refreshed token", a.err)
	}
	if w := e.m.breaker.wait("fake"); w != 0 {
		t.Fatalf("after a successful trial the breaker is open for %v", w)
	}
	// Closed: the next expired login refreshes upstream at once.
	e.prov.gate, e.prov.entered = nil, nil
	cookie, _, _ := e.login(-time.Second)
	if _, err := e.m.Token(e.request(cookie), e.prov); err != nil {
		t.Fatalf("after the circuit closed: %v", err)
	}
	if n := e.prov.refreshes.Load() - before; n != 2 {
		t.Fatalf("%d upstream calls, want 2", n)
	}
}

// TestBreakerPerProvider: one provider's open circuit does not touch
// another's; a panicking call releases the half-open trial.
func TestBreakerPerProvider(t *testing.T) {
	clock := newClock()
	b := newBreaker(2, 30*time.Second, time.Second, clock.Now)
	for range 2 {
		trial, wait := b.acquire("a")
		if trial || wait != 0 {
			t.Fatalf("closed: trial %v wait %v", trial, wait)
		}
		b.done("a", false, classify(errOutage))
	}
	if _, wait := b.acquire("a"); wait != 30*time.Second {
		t.Fatalf("a: wait %v, want 30s", wait)
	}
	if trial, wait := b.acquire("b"); trial || wait != 0 {
		t.Fatalf("b affected by a: trial %v wait %v", trial, wait)
	}
	b.done("b", false, classify(nil))
	clock.Advance(30 * time.Second)
	trial, wait := b.acquire("a")
	if !trial || wait != 0 {
		t.Fatalf("half-open: trial %v wait %v, want the trial", trial, wait)
	}
	if _, wait := b.acquire("a"); wait != time.Second {
		t.Fatalf("second caller while the trial is out: wait %v, want 1s", wait)
	}
	b.done("a", true, breakerAbandoned) // the trial panicked
	if trial, _ := b.acquire("a"); !trial {
		t.Fatal("an abandoned trial was not released")
	}
	b.done("a", true, classify(errDead)) // the provider answered: up
	if trial, wait := b.acquire("a"); trial || wait != 0 {
		t.Fatalf("after invalid_grant: trial %v wait %v, want closed", trial, wait)
	}
	if _, err := New(Config{BreakerOpen: -time.Second}); err == nil {
		t.Fatal("negative BreakerOpen accepted")
	}
}
