package harness

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// fakeTB records what a helper does to its test. Skip and Fatal end the
// calling goroutine as the real ones do, so run the helper with runFake.
type fakeTB struct {
	testing.TB // the real test, for methods not overridden

	mu       sync.Mutex
	skipped  bool
	failed   bool
	msgs     []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) note(failed, skipped bool, format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = f.failed || failed
	f.skipped = f.skipped || skipped
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.note(false, true, format, args...)
	runtime.Goexit()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.note(true, false, format, args...)
	runtime.Goexit()
}

func (f *fakeTB) Errorf(format string, args ...any) { f.note(true, false, format, args...) }

func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

// runCleanups runs the registered cleanups last-in first-out.
func (f *fakeTB) runCleanups() {
	f.mu.Lock()
	cs := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

func (f *fakeTB) message() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprint(f.msgs)
}

// runFake calls fn with a fake TB in its own goroutine and waits for it.
func runFake(t *testing.T, fn func(tb testing.TB)) *fakeTB {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}
