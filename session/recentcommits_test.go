package session

import (
	"fmt"
	"testing"
	"time"
)

// TestRecentCommitsBounded: the table keeps at most maxRecentCommits keys,
// dropping the oldest first, and a key claimed again keeps its slot.
func TestRecentCommitsBounded(t *testing.T) {
	r := newRecentCommits()
	always := func(time.Time) bool { return true }
	exp := time.Now().Add(time.Hour)
	claim := func(key string, n int) (*recentCommit, bool) {
		s := sessionSum{h: uint64(n), n: n}
		return r.claim(key, s, s, exp, always)
	}
	for i := range maxRecentCommits + 100 {
		if _, mine := claim(fmt.Sprint("k", i), i); !mine {
			t.Fatalf("key %d: a new change was found as written", i)
		}
	}
	if len(r.m) != maxRecentCommits {
		t.Fatalf("%d keys kept, want %d", len(r.m), maxRecentCommits)
	}
	if _, ok := r.m["k0"]; ok {
		t.Error("the oldest key was kept")
	}
	last := fmt.Sprint("k", maxRecentCommits+99)
	if c, mine := claim(last, maxRecentCommits+99); mine || c != r.m[last] {
		t.Error("the newest change was not found")
	}
	for range 10 {
		claim(last, 1) // another change of the same key: no new slot
	}
	if len(r.m) != maxRecentCommits || len(r.order.keys) != maxRecentCommits {
		t.Errorf("after re-claims: %d keys, %d slots", len(r.m), len(r.order.keys))
	}
}
