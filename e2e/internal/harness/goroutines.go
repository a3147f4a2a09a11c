package harness

import (
	"testing"

	"go.uber.org/goleak"
)

// IgnoreBuntDB ignores the background goroutine of buntdb, which the
// in-memory token store of github.com/go-oauth2/oauth2/v4 opens and offers
// no way to close.
var IgnoreBuntDB = goleak.IgnoreTopFunction("github.com/tidwall/buntdb.(*DB).backgroundManager")

// GoroutineBaseline snapshots the goroutines running now and registers a
// t.Cleanup that fails t if, after every later cleanup has run (servers
// closed, clients' idle connections dropped), goroutines other than those
// remain. goleak retries for a while, so goroutines that are still winding
// down do not count.
//
// Call it first in the test, before starting servers, so that its cleanup
// runs last. Do not use it in a test that runs in parallel with others
// (t.Parallel): their goroutines would count as leaks.
func GoroutineBaseline(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	opts = append([]goleak.Option{goleak.IgnoreCurrent()}, opts...)
	t.Cleanup(func() {
		if err := goleak.Find(opts...); err != nil {
			t.Errorf("goroutines not back to baseline: %v", err)
		}
	})
}
