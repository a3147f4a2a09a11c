package session

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// memSessions is how many logged-in sessions BenchmarkSessionMemory stores.
const memSessions = 100_000

var memResult struct {
	once                   sync.Once
	perSession, tokenBytes float64
	err                    error
}

// BenchmarkSessionMemory measures the heap held per stored session: a
// login (identity + token set: 1 KiB access token, 64-byte refresh token,
// three scopes) in the default in-memory store, for 100,000 sessions
// (runtime.ReadMemStats before and after, after GC). It reports the total
// per session and what is left after subtracting the token strings
// themselves (access + refresh token, counted once; target ≤ 1 KiB).
//
// It is a single-shot measurement: the 100,000 sessions are stored once
// per process, whatever b.N (so -benchtime=100x stays fast); ns/op is not
// meaningful here.
func BenchmarkSessionMemory(b *testing.B) {
	memResult.once.Do(func() { memResult.perSession, memResult.tokenBytes, memResult.err = measureSessionMemory() })
	if memResult.err != nil {
		b.Fatal(memResult.err)
	}
	for b.Loop() {
	}
	b.ReportMetric(memResult.perSession, "B/session")
	b.ReportMetric(memResult.perSession-memResult.tokenBytes, "B/session-beyond-tokens")
}

func measureSessionMemory() (perSession, tokenBytes float64, err error) {
	m, err := New(Config{Logger: discardLogger()})
	if err != nil {
		return 0, 0, err
	}
	defer m.Close()
	sm := m.Sessions()
	id := provider.Identity{Provider: "whisk", Subject: "user-123456", Name: "Ada Lovelace", Email: "ada@example.com", Picture: "https://example.com/a.png"}
	pad := strings.Repeat("x", 1024)
	expiry := time.Now().Add(time.Hour)
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	var tokens int
	for i := range memSessions {
		n := fmt.Sprintf("%08d", i)
		tok := &provider.Token{AccessToken: n + pad[len(n):], TokenType: "Bearer", RefreshToken: n + pad[:64-len(n)],
			Expiry: expiry, Scopes: []string{"openid", "profile", "email"}}
		tokens += len(tok.AccessToken) + len(tok.RefreshToken)
		ctx, err := sm.Load(context.Background(), "")
		if err != nil {
			return 0, 0, err
		}
		if err := m.SaveLogin(ctx, &Login{Provider: "whisk", Identity: id, Token: tok}); err != nil {
			return 0, 0, err
		}
		if _, _, err := sm.Commit(ctx); err != nil {
			return 0, 0, err
		}
	}
	after := heap()
	if n := len(m.ownStore.items); n != 2*memSessions { // session + login record each
		return 0, 0, fmt.Errorf("store holds %d entries, want %d", n, 2*memSessions)
	}
	runtime.KeepAlive(m)
	return float64(after-before) / memSessions, float64(tokens) / memSessions, nil
}
