package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestRun runs the command with a fake Wazo on a free port, checks the
// banner and the server, and that cancelling stops it.
func TestRun(t *testing.T) {
	env := map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_PROVIDER": "wazo"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, slog.New(slog.DiscardHandler), &out, func(u string) { ready <- u })
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	}
	// ready is called after the banner is written, and out is not
	// written again until run returns.
	banner := out.String()
	for _, want := range []string{"open " + base, "in-process fake", "fake Wazo account: alice / "} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	resp, err := http.Get(base + "/auth/wazo/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /auth/wazo/login = %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestRunBadProvider(t *testing.T) {
	env := map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_PROVIDER": "nope"}
	var out bytes.Buffer
	if err := run(context.Background(), func(k string) string { return env[k] }, slog.New(slog.DiscardHandler), &out, nil); err == nil {
		t.Fatal("run with an unknown provider succeeded")
	}
}
