package session

import (
	"testing"
	"time"
)

func TestBreakerStates(t *testing.T) {
	t.Parallel()
	clock := newClock()
	m, err := New(Config{Now: clock.Now, BreakerThreshold: 2, BreakerOpen: 30 * time.Second, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := m.BreakerStates(); len(got) != 0 {
		t.Fatalf("fresh manager: %+v", got)
	}
	for range 2 {
		m.breaker.acquire("a")
		m.breaker.done("a", false, classify(errOutage))
	}
	m.breaker.acquire("b")
	m.breaker.done("b", false, classify(nil))
	got := m.BreakerStates()
	if a := got["a"]; !a.Open || a.Failures != 2 || !a.OpenUntil.Equal(clock.Now().Add(30*time.Second)) {
		t.Errorf("a after 2 outages: %+v, want open for 30s", a)
	}
	if b := got["b"]; b.Open || b.Failures != 0 {
		t.Errorf("b after a success: %+v, want closed", b)
	}
	clock.Advance(30 * time.Second)
	if a := m.BreakerStates()["a"]; a.Open {
		t.Errorf("a after the open period: %+v, want ready for a trial (not open)", a)
	}
}
