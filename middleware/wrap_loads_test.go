package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/gatehouse-auth/gatehouse/middleware/authtest"
)

// findCounter counts store reads.
type findCounter struct {
	scs.Store
	finds atomic.Int64
}

func (s *findCounter) Find(key string) ([]byte, bool, error) {
	s.finds.Add(1)
	return s.Store.Find(key)
}

// TestWrapLoadsOnce: Require inside Wrap finds Wrap's session and does not
// load it again; without Wrap it loads it itself. Either way a logged-in
// cookie request reads the store once.
func TestWrapLoadsOnce(t *testing.T) {
	store := &findCounter{Store: memstore.NewWithCleanupInterval(0)}
	srv := benchAS(t)
	a := benchAuth(t, benchSessions(store), nil, benchAdapter(t, srv))
	c, err := authtest.NewSession(context.Background(), a, benchIdentity(), benchToken(time.Now().Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]http.Handler{
		"Wrap(Require)":       a.Wrap(a.Require(hello)),
		"Require":             a.Require(hello),
		"Wrap(Wrap(Require))": a.Wrap(a.Wrap(a.Require(hello))),
	} {
		store.finds.Store(0)
		r := httptest.NewRequest(http.MethodGet, "/private", nil)
		r.AddCookie(c)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d", name, w.Code)
		}
		if n := store.finds.Load(); n != 1 {
			t.Errorf("%s: %d store reads, want 1", name, n)
		}
	}
}
