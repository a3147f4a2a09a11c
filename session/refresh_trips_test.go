package session

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/redis/go-redis/v9"
)

// countingStore counts reads of login records.
type countingStore struct {
	scs.Store
	recordReads atomic.Int64
}

func (s *countingStore) Find(key string) ([]byte, bool, error) {
	if strings.HasPrefix(key, "gatehouse:login:") {
		s.recordReads.Add(1)
	}
	return s.Store.Find(key)
}

// TestSharedRefreshCosts: the callers waiting on one refresh cost the store
// one record read before the upstream call (under the lock: no read
// before it) and one session write between them (one caller puts the new
// token set into its session copy; the others serve it unchanged).
func TestSharedRefreshCosts(t *testing.T) {
	store := &countingStore{Store: memstore.NewWithCleanupInterval(0)}
	sc := storeCase{"counting", func(testing.TB) (scs.Store, redis.UniversalClient) { return store, nil }}
	e := newEnv(t, sc)
	e.prov.gate = make(chan struct{})
	e.prov.entered = make(chan struct{}, 1)
	cookie, _, _ := e.loginAged(5 * time.Second)
	e.clock.Advance(10 * time.Second) // expired
	store.recordReads.Store(0)
	const n = 20
	var joined sync.WaitGroup
	joined.Add(n)
	e.m.testJoined = joined.Done

	ctxs := make([]context.Context, n)
	for i := range ctxs {
		ctxs[i] = e.request(cookie)
	}
	var wg sync.WaitGroup
	tokens := make([]string, n)
	start := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := e.m.Token(ctxs[i], e.prov)
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
				return
			}
			tokens[i] = tok.AccessToken
		}()
	}
	start(0)
	<-e.prov.entered // the shared refresh is at the upstream
	if got := store.recordReads.Load(); got != 1 {
		t.Errorf("record reads before the upstream call: %d, want 1", got)
	}
	for i := 1; i < n; i++ {
		start(i)
	}
	joined.Wait() // all n wait for the one refresh
	close(e.prov.gate)
	wg.Wait()

	modified := 0 // session copies that took up the new token set
	for i, ctx := range ctxs {
		if tokens[i] != tokens[0] || tokens[i] == "" {
			t.Fatalf("caller %d got %q, caller 0 %q", i, tokens[i], tokens[0])
		}
		// (Status is Modified for every copy: scs marks each session
		// loaded with an IdleTimeout as modified.)
		if _, ls := e.m.sessionLogin(ctx); ls != nil && ls.Token.AccessToken == tokens[0] {
			modified++
		}
	}
	if modified != 1 {
		t.Errorf("%d session copies modified, want 1", modified)
	}
	if got := e.prov.refreshes.Load(); got != 1 {
		t.Errorf("refreshes: %d, want 1", got)
	}
}
