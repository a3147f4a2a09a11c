package middleware

import (
	"strconv"
	"testing"
	"time"
)

// TestLimiterFullTableEvictsOldestInConstantTime: with maxLimiterKeys live
// buckets, a new key examines O(1) entries (no full sweep under the lock)
// and evicts the oldest bucket, so counters of recent clients survive.
func TestLimiterFullTableEvictsOldestInConstantTime(t *testing.T) {
	l := newLimiter(3, time.Minute)
	t0 := time.Unix(1_700_000_000, 0)
	for i := 0; i < maxLimiterKeys; i++ {
		// Spread the old keys over 30 seconds: all still live below.
		l.fail(t0.Add(time.Duration(i)*30*time.Second/maxLimiterKeys), "old:"+strconv.Itoa(i))
	}
	now := t0.Add(40 * time.Second)
	for i := 0; i < 3; i++ {
		l.fail(now, "ip:victim") // a recent client at its limit
	}
	if len(l.buckets) != maxLimiterKeys {
		t.Fatalf("%d buckets, want %d", len(l.buckets), maxLimiterKeys)
	}

	const n = 5000
	l.visited = 0
	start := time.Now()
	for i := 0; i < n; i++ {
		l.fail(now, "new:"+strconv.Itoa(i))
	}
	elapsed := time.Since(start)
	if l.visited > 2*n+2 {
		t.Fatalf("%d FIFO entries examined for %d new keys: not O(1) per key", l.visited, n)
	}
	// Generous: a full sweep per key is ~1 ms each (5 s here); O(1) is µs.
	if elapsed > 2*time.Second {
		t.Fatalf("%d new keys on a full table took %v", n, elapsed)
	}
	if len(l.buckets) > maxLimiterKeys {
		t.Fatalf("%d buckets, over the bound", len(l.buckets))
	}
	if wait := l.blocked(now, "ip:victim"); wait != time.Minute {
		t.Fatalf("recent client's counter dropped: wait %v", wait)
	}
	for i := 0; i <= n; i++ { // n new keys and the victim evicted n+1 old ones
		if l.buckets["old:"+strconv.Itoa(i)] != nil {
			t.Fatalf("old:%d survived while younger buckets exist", i)
		}
		if i < n && l.buckets["new:"+strconv.Itoa(i)] == nil {
			t.Fatalf("new:%d missing", i)
		}
	}
	if l.buckets["old:"+strconv.Itoa(n+1)] == nil {
		t.Fatal("evicted more than needed")
	}
}

// TestLimiterExpiredBucketsLeave: expired buckets are dropped as new ones
// arrive, and the FIFO does not grow with churn.
func TestLimiterExpiredBucketsLeave(t *testing.T) {
	l := newLimiter(3, time.Minute)
	t0 := time.Unix(1_700_000_000, 0)
	for round := 0; round < 50; round++ {
		now := t0.Add(time.Duration(round) * 2 * time.Minute)
		for i := 0; i < 1000; i++ {
			l.fail(now, "k:"+strconv.Itoa(round)+":"+strconv.Itoa(i))
		}
		l.fail(now, "steady") // re-created each round
		if len(l.buckets) > 1001 {
			t.Fatalf("round %d: %d buckets, expired ones kept", round, len(l.buckets))
		}
		if live := len(l.order) - l.head; live > 2002 {
			t.Fatalf("round %d: FIFO holds %d entries for %d buckets", round, live, len(l.buckets))
		}
	}
	// A clock that steps back keeps the bounds too.
	for i := 0; i < 3*maxLimiterKeys; i++ {
		l.fail(t0.Add(time.Duration(i%7)*time.Hour), "j:"+strconv.Itoa(i))
	}
	if len(l.buckets) > maxLimiterKeys || len(l.order)-l.head > 2*maxLimiterKeys+1 {
		t.Fatalf("%d buckets, %d FIFO entries after a non-monotonic clock", len(l.buckets), len(l.order)-l.head)
	}
}
