package harness

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// LogCapture keeps every log record written through its handler, at every
// level, both as a structured record and as the JSON line slog would print.
// Give [LogCapture.Logger] (or [LogCapture.Handler]) to the code under test,
// then scan [LogCapture.Lines] with a [LeakScanner] or look for messages.
// It is safe for concurrent use.
type LogCapture struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	lines   []string
	records []slog.Record
	json    slog.Handler
}

// NewLogCapture returns an empty LogCapture.
func NewLogCapture() *LogCapture {
	c := &LogCapture{}
	c.json = slog.NewJSONHandler(lineWriter{c}, &slog.HandlerOptions{Level: slog.Level(-100)})
	return c
}

// lineWriter receives one JSON line per record from slog's JSON handler.
type lineWriter struct{ c *LogCapture }

func (w lineWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	w.c.buf.Write(p)
	for {
		line, err := w.c.buf.ReadString('\n')
		if err != nil { // partial line: keep it for the next write
			rest := []byte(line)
			w.c.buf.Reset()
			w.c.buf.Write(rest)
			break
		}
		w.c.lines = append(w.c.lines, strings.TrimSuffix(line, "\n"))
	}
	return len(p), nil
}

// Handler returns an slog.Handler that records into c. It is enabled at
// every level.
func (c *LogCapture) Handler() slog.Handler { return &captureHandler{c: c, json: c.json} }

// Logger returns an *slog.Logger that records into c.
func (c *LogCapture) Logger() *slog.Logger { return slog.New(c.Handler()) }

// Lines returns the JSON lines logged so far, attributes and groups
// included.
func (c *LogCapture) Lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// Records returns the records logged so far (without the attributes added
// by Logger.With; those are in Lines).
func (c *LogCapture) Records() []slog.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]slog.Record, len(c.records))
	for i, r := range c.records {
		out[i] = r.Clone()
	}
	return out
}

// Messages returns the records' messages, in order.
func (c *LogCapture) Messages() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.records))
	for i, r := range c.records {
		out[i] = r.Message
	}
	return out
}

// Contains reports whether any line contains s.
func (c *LogCapture) Contains(s string) bool {
	for _, l := range c.Lines() {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// Reset forgets everything captured so far.
func (c *LogCapture) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines, c.records = nil, nil
	c.buf.Reset()
}

type captureHandler struct {
	c    *LogCapture
	json slog.Handler
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *captureHandler) Handle(ctx context.Context, r slog.Record) error {
	h.c.mu.Lock()
	h.c.records = append(h.c.records, r.Clone())
	h.c.mu.Unlock()
	return h.json.Handle(ctx, r)
}

func (h *captureHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &captureHandler{c: h.c, json: h.json.WithAttrs(as)}
}

func (h *captureHandler) WithGroup(name string) slog.Handler {
	return &captureHandler{c: h.c, json: h.json.WithGroup(name)}
}
