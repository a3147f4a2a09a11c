package harness

import (
	"strings"
	"testing"
)

func TestGoroutineBaseline(t *testing.T) {
	t.Run("clean", func(t *testing.T) {
		f := runFake(t, func(tb testing.TB) {
			GoroutineBaseline(tb)
			done := make(chan struct{})
			go func() { close(done) }()
			<-done
		})
		f.runCleanups()
		if f.failed {
			t.Fatalf("clean test reported a leak: %s", f.message())
		}
	})
	t.Run("leak", func(t *testing.T) {
		release := make(chan struct{})
		f := runFake(t, func(tb testing.TB) {
			GoroutineBaseline(tb)
			go func() { <-release }()
		})
		f.runCleanups()
		close(release)
		if !f.failed || !strings.Contains(f.message(), "not back to baseline") {
			t.Fatalf("leaked goroutine not reported: failed=%v %s", f.failed, f.message())
		}
	})
}
