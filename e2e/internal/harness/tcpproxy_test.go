package harness

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// startEcho starts a line echo server on 127.0.0.1 and closes it (and its
// connections) in t.Cleanup.
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(c, c)
				_ = c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

type echoClient struct {
	c net.Conn
	r *bufio.Reader
}

func dialEcho(t *testing.T, addr string) *echoClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &echoClient{c: c, r: bufio.NewReader(c)}
}

// roundTrip writes line and reads it back, with a deadline.
func (e *echoClient) roundTrip(line string, within time.Duration) (string, error) {
	_ = e.c.SetDeadline(time.Now().Add(within))
	if _, err := io.WriteString(e.c, line+"\n"); err != nil {
		return "", err
	}
	got, err := e.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return got[:len(got)-1], nil
}

func TestTCPProxy_ForwardsCutsAndResumes(t *testing.T) {
	GoroutineBaseline(t)
	p := NewTCPProxy(t, startEcho(t))

	a := dialEcho(t, p.Addr())
	if got, err := a.roundTrip("ping", 2*time.Second); err != nil || got != "ping" {
		t.Fatalf("through proxy: got %q, %v; want ping", got, err)
	}
	if p.Active() != 1 {
		t.Fatalf("Active = %d, want 1", p.Active())
	}

	p.Cut()
	// The open connection is dropped: the next read sees EOF or a reset,
	// not a timeout.
	if _, err := a.roundTrip("after-cut", 2*time.Second); err == nil || isTimeout(err) {
		t.Fatalf("open connection after Cut: err = %v, want EOF/reset", err)
	}
	// New connections are accepted and closed at once.
	b := dialEcho(t, p.Addr())
	if _, err := b.roundTrip("refused", 2*time.Second); err == nil || isTimeout(err) {
		t.Fatalf("new connection while cut: err = %v, want EOF/reset", err)
	}
	if p.Refused() < 1 {
		t.Fatalf("Refused = %d, want ≥ 1", p.Refused())
	}

	p.Resume()
	c := dialEcho(t, p.Addr())
	if got, err := c.roundTrip("back", 2*time.Second); err != nil || got != "back" {
		t.Fatalf("after Resume: got %q, %v; want back", got, err)
	}
	if p.Accepted() != 3 {
		t.Fatalf("Accepted = %d, want 3", p.Accepted())
	}
}

func TestTCPProxy_Partition(t *testing.T) {
	GoroutineBaseline(t)
	p := NewTCPProxy(t, startEcho(t))
	a := dialEcho(t, p.Addr())
	if _, err := a.roundTrip("warm", 2*time.Second); err != nil {
		t.Fatal(err)
	}

	p.Partition()
	// Bytes are held: the client times out, the connection stays open.
	if _, err := a.roundTrip("held", 200*time.Millisecond); !isTimeout(err) {
		t.Fatalf("during partition: err = %v, want a timeout", err)
	}
	if p.Active() != 1 {
		t.Fatalf("Active = %d during partition, want 1", p.Active())
	}
	p.Resume()
	// The held line is delivered once the partition heals.
	_ = a.c.SetDeadline(time.Now().Add(2 * time.Second))
	got, err := a.r.ReadString('\n')
	if err != nil || got != "held\n" {
		t.Fatalf("after Resume: got %q, %v; want the held line", got, err)
	}
}

func TestTCPProxy_Latency(t *testing.T) {
	GoroutineBaseline(t)
	p := NewTCPProxy(t, startEcho(t))
	a := dialEcho(t, p.Addr())
	const lat = 150 * time.Millisecond
	p.SetLatency(lat)

	start := time.Now()
	if got, err := a.roundTrip("slow", 5*time.Second); err != nil || got != "slow" {
		t.Fatalf("got %q, %v", got, err)
	}
	if rtt := time.Since(start); rtt < lat {
		t.Fatalf("round trip %v with latency %v: the reply was not delayed", rtt, lat)
	}

	// Latency delays bytes, it does not serialise them: ten pipelined
	// lines arrive about one latency later, not ten.
	start = time.Now()
	_ = a.c.SetDeadline(time.Now().Add(5 * time.Second))
	for i := 0; i < 10; i++ {
		if _, err := io.WriteString(a.c, "x\n"); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 10; i++ {
		if _, err := a.r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < lat || el >= 10*lat {
		t.Fatalf("10 pipelined lines took %v with latency %v; want [%v, %v)", el, lat, lat, 10*lat)
	}

	p.SetLatency(0)
	if got, err := a.roundTrip("fast", 5*time.Second); err != nil || got != "fast" {
		t.Fatalf("after SetLatency(0): %q, %v", got, err)
	}
}

func TestTCPProxy_CloseEndsConnections(t *testing.T) {
	GoroutineBaseline(t)
	p, err := StartTCPProxy(startEcho(t))
	if err != nil {
		t.Fatal(err)
	}
	a := dialEcho(t, p.Addr())
	if _, err := a.roundTrip("x", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Partition() // Close must not hang on a held connection
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := a.roundTrip("y", 2*time.Second); err == nil || isTimeout(err) {
		t.Fatalf("after Close: err = %v, want EOF/reset", err)
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Fatal("proxy still accepts after Close")
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestTCPProxy_TargetDown(t *testing.T) {
	GoroutineBaseline(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close()
	p := NewTCPProxy(t, dead)
	a := dialEcho(t, p.Addr())
	if _, err := a.roundTrip("x", 2*time.Second); err == nil || isTimeout(err) {
		t.Fatalf("target down: err = %v, want EOF/reset", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}
