package echoauth

import (
	"context"
	"testing"
)

type otherKey struct{}

// TestEchoCallContext: the echoCall that carries a request through the
// Gatehouse chain is that request's context too: itself for echoCallKey,
// the request context's values, deadline and cancellation otherwise.
func TestEchoCallContext(t *testing.T) {
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), otherKey{}, "v"))
	call := &echoCall{Context: parent}
	var ctx context.Context = call
	if got := ctx.Value(echoCallKey{}); got != call {
		t.Fatalf("Value(echoCallKey{}) = %v, want the call", got)
	}
	if got := ctx.Value(otherKey{}); got != "v" {
		t.Fatalf("Value(otherKey{}) = %v, want the request context's", got)
	}
	// A context derived from it is cancelled with the request's.
	child, stop := context.WithCancel(context.WithValue(ctx, otherKey{}, "w"))
	defer stop()
	if got := child.Value(echoCallKey{}); got != call {
		t.Fatalf("derived context: Value(echoCallKey{}) = %v, want the call", got)
	}
	cancel()
	select {
	case <-child.Done():
	default:
		t.Fatal("cancelling the request's context did not reach a context derived from the call")
	}
	if ctx.Err() != context.Canceled {
		t.Fatalf("Err() = %v", ctx.Err())
	}
}
