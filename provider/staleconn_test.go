package provider_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// rawTokenServer is a refresh endpoint on a raw listener, so that the test
// decides what happens to each connection. It rotates refresh tokens and
// counts every refresh token that arrives more than once (a replay, the
// thing that makes a real upstream revoke the grant).
//
// With closeIdle > 0 it behaves like a Node.js server closing idle
// keep-alive sockets: a request arriving on a connection that has been
// idle for at least closeIdle is dropped unread (the close was on its way
// when the client reused the socket). With crashAfter it processes the
// refresh and then drops the connection without answering.
type rawTokenServer struct {
	ln         net.Listener
	closeIdle  time.Duration
	crashAfter atomic.Bool // process the next refresh, then close without a reply

	mu        sync.Mutex
	current   string
	seen      map[string]int // refresh tokens received → times
	processed int
	dropped   int // requests dropped unread on an idle connection
	conns     int
}

func newRawTokenServer(t *testing.T, closeIdle time.Duration) *rawTokenServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawTokenServer{ln: ln, closeIdle: closeIdle, current: "rt-0", seen: map[string]int{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return s
}

func (s *rawTokenServer) URL() string { return "http://" + s.ln.Addr().String() + "/token" }

func (s *rawTokenServer) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	idleSince := time.Time{} // zero: a fresh connection
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if s.closeIdle > 0 && !idleSince.IsZero() && time.Since(idleSince) >= s.closeIdle {
			s.mu.Lock()
			s.dropped++
			s.mu.Unlock()
			return // closed before reading it: never processed
		}
		body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<16))
		form, _ := url.ParseQuery(string(body))
		rt := form.Get("refresh_token")
		s.mu.Lock()
		s.seen[rt]++
		ok := rt == s.current
		if ok {
			s.processed++
			s.current = fmt.Sprintf("rt-%d", s.processed)
		}
		next := s.current
		s.mu.Unlock()
		if s.crashAfter.CompareAndSwap(true, false) {
			return // processed, then gone without a reply
		}
		status, reply := 200, map[string]any{"access_token": "at-" + next, "token_type": "Bearer", "expires_in": 60, "refresh_token": next}
		if !ok {
			status, reply = 400, map[string]any{"error": "invalid_grant"}
		}
		b, _ := json.Marshal(reply)
		fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nKeep-Alive: timeout=5\r\n\r\n%s",
			status, http.StatusText(status), len(b), b)
		idleSince = time.Now()
	}
}

// replays counts refresh tokens that arrived more than once.
func (s *rawTokenServer) replays() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, k := range s.seen {
		n += k - 1
	}
	return n
}

func (s *rawTokenServer) rt() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

func refreshOnce(c *provider.Client, url, rt string, header http.Header) error {
	_, err := c.Do(context.Background(), "refresh", provider.Request{URL: url, Header: header,
		Params: map[string]any{"grant_type": "refresh_token", "refresh_token": rt}})
	return err
}

// TestStaleKeepAliveRefresh (F19, scaled down tenfold to keep the test
// short): the upstream drops requests that arrive on a connection idle
// for 600 ms ("6 s"), just after the client's reuse point, and a refresh
// falls due at 600 ms idle. With the default transport's idle timeout
// (DefaultIdleConnTimeout, scaled: 400 ms) the client never reuses such a
// connection: no user-visible failure and no refresh token sent twice.
// Without it (net/http's own 90 s) the refresh fails, and is not resent.
func TestStaleKeepAliveRefresh(t *testing.T) {
	t.Parallel()
	if provider.DefaultIdleConnTimeout >= 5*time.Second {
		t.Fatalf("DefaultIdleConnTimeout %v is not below the common 5 s keep-alive timeout", provider.DefaultIdleConnTimeout)
	}
	if tr, ok := provider.NewHTTPClient().Transport.(*http.Transport); !ok || tr.IdleConnTimeout != provider.DefaultIdleConnTimeout {
		t.Fatal("NewHTTPClient's transport does not use DefaultIdleConnTimeout")
	}
	const scale = 10
	for _, tc := range []struct {
		name         string
		idleTimeout  time.Duration // given: the client transport's
		wantFailures bool          // expect
	}{
		{"default idle timeout", provider.DefaultIdleConnTimeout / scale, false},
		{"no idle timeout (net/http default)", 90 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRawTokenServer(t, 6*time.Second/scale)
			hc := provider.NewHTTPClient()
			tr := hc.Transport.(*http.Transport)
			tr.IdleConnTimeout = tc.idleTimeout
			t.Cleanup(tr.CloseIdleConnections)
			c := &provider.Client{HTTPClient: hc}
			failures := 0
			for i := range 3 {
				if i > 0 {
					time.Sleep(6 * time.Second / scale) // idle until the refresh is due
				}
				if err := refreshOnce(c, srv.URL(), srv.rt(), nil); err != nil {
					failures++
					if !errors.Is(err, provider.ErrUnavailable) {
						t.Errorf("refresh %d: %v, want an ErrUnavailable", i, err)
					}
				}
			}
			if got := srv.replays(); got != 0 {
				t.Fatalf("%d refresh tokens sent twice", got)
			}
			if tc.wantFailures != (failures > 0) {
				t.Fatalf("%d of 3 refreshes failed (dropped unread by the server: %d)", failures, srv.dropped)
			}
		})
	}
}

// TestWrittenRefreshNotRetried: a refresh the upstream received and
// processed, on a reused connection that then broke before the reply, is
// an error and is not sent again — also when the caller put an
// Idempotency-Key on it (net/http would resend such a request).
func TestWrittenRefreshNotRetried(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		header http.Header // given
	}{
		{"plain", nil},
		{"with Idempotency-Key", http.Header{"Idempotency-Key": {"k1"}}},
		{"with X-Idempotency-Key", http.Header{"X-Idempotency-Key": {"k1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRawTokenServer(t, 0)
			hc := provider.NewHTTPClient()
			t.Cleanup(hc.CloseIdleConnections)
			c := &provider.Client{HTTPClient: hc}
			if err := refreshOnce(c, srv.URL(), srv.rt(), tc.header); err != nil {
				t.Fatal(err) // opens the connection the next call reuses
			}
			srv.crashAfter.Store(true)
			rt := srv.rt()
			err := refreshOnce(c, srv.URL(), rt, tc.header)
			if !errors.Is(err, provider.ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			srv.mu.Lock()
			times, conns := srv.seen[rt], srv.conns
			srv.mu.Unlock()
			if times != 1 || srv.replays() != 0 {
				t.Fatalf("the refresh token reached the upstream %d times, want 1 (conns %d)", times, conns)
			}
		})
	}
}

// failingConn fails its next Write, before writing anything, when armed.
type failingConn struct {
	net.Conn
	arm *atomic.Bool
}

func (c failingConn) Write(p []byte) (int, error) {
	if c.arm.CompareAndSwap(true, false) {
		c.Conn.Close()
		return 0, syscall.ECONNRESET
	}
	return c.Conn.Write(p)
}

// TestUnwrittenRefreshRetriedOnce: when the reused connection fails before
// any byte of the refresh was written, the refresh goes out again on a new
// connection (net/http's rule, which Do's requests qualify for): it
// succeeds and the upstream sees the refresh token exactly once.
func TestUnwrittenRefreshRetriedOnce(t *testing.T) {
	t.Parallel()
	srv := newRawTokenServer(t, 0)
	hc := provider.NewHTTPClient()
	tr := hc.Transport.(*http.Transport)
	var arm atomic.Bool
	var dials atomic.Int32
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return failingConn{Conn: conn, arm: &arm}, nil
	}
	t.Cleanup(tr.CloseIdleConnections)
	c := &provider.Client{HTTPClient: hc}
	if err := refreshOnce(c, srv.URL(), srv.rt(), nil); err != nil {
		t.Fatal(err)
	}
	arm.Store(true)
	rt := srv.rt()
	if err := refreshOnce(c, srv.URL(), rt, nil); err != nil {
		t.Fatalf("refresh after an unwritten failure: %v", err)
	}
	srv.mu.Lock()
	times := srv.seen[rt]
	srv.mu.Unlock()
	if times != 1 || srv.replays() != 0 || dials.Load() != 2 {
		t.Fatalf("refresh token received %d times (want 1), replays %d, dials %d (want 2)", times, srv.replays(), dials.Load())
	}
}
