package harness

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func TestLogCapture_RecordsEverything(t *testing.T) {
	c := NewLogCapture()
	log := c.Logger().With("app", "demo").WithGroup("req")
	log.Debug("debug is captured too", "n", 1)
	log.Info("hello", "path", "/x")
	c.Logger().Error("plain", slog.Group("g", slog.String("k", "v")))

	if got := c.Messages(); fmt.Sprint(got) != "[debug is captured too hello plain]" {
		t.Fatalf("Messages = %q", got)
	}
	lines := c.Lines()
	if len(lines) != 3 {
		t.Fatalf("%d lines: %q", len(lines), lines)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatalf("line is not JSON: %v: %s", err, lines[1])
	}
	if rec["app"] != "demo" || rec["req"].(map[string]any)["path"] != "/x" || rec["level"] != "INFO" {
		t.Fatalf("attributes or groups lost: %v", rec)
	}
	if !c.Contains(`"g":{"k":"v"}`) || c.Contains("absent") {
		t.Fatal("Contains is wrong")
	}
	if r := c.Records(); len(r) != 3 || r[2].Level != slog.LevelError {
		t.Fatalf("Records = %v", r)
	}
	c.Reset()
	if len(c.Lines()) != 0 || len(c.Records()) != 0 {
		t.Fatal("Reset kept records")
	}
}

func TestLogCapture_Concurrent(t *testing.T) {
	c := NewLogCapture()
	log := c.Logger()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := log.With("g", g)
			for i := 0; i < 100; i++ {
				l.Info("m", "i", i)
			}
		}()
	}
	wg.Wait()
	lines := c.Lines()
	if len(lines) != 800 || len(c.Records()) != 800 {
		t.Fatalf("%d lines, %d records; want 800", len(lines), len(c.Records()))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "{") || !strings.HasSuffix(l, "}") {
			t.Fatalf("torn line %q", l)
		}
	}
}
