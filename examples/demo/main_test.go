package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRun starts the command's run on a free port, waits for it to be
// ready, checks the banner and the server, and that cancelling stops it.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lockedBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, "127.0.0.1:0", slog.New(slog.DiscardHandler), out, func(u string) { ready <- u })
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	}
	for _, want := range []string{"open " + base, "oauth2", "whisk-implicit", "startgg", "wazo", "alice / "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz = %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if resp, err := http.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("server still answers after run returned")
	}
}

func TestRunRefusesPublicAddress(t *testing.T) {
	if err := run(context.Background(), "0.0.0.0:0", slog.New(slog.DiscardHandler), &lockedBuffer{}, nil); err == nil {
		t.Fatal("run on 0.0.0.0 succeeded")
	}
}
