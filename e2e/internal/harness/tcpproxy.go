package harness

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TCPProxy is a loopback TCP proxy in front of one target address (a Redis
// or PostgreSQL server, an upstream HTTP server) that a test can break:
//
//   - [TCPProxy.Cut] drops every open connection and refuses new ones (they
//     are accepted and closed at once), as a server that went down;
//   - [TCPProxy.Partition] keeps connections open but stops delivering
//     bytes in either direction, as a network that drops packets: clients
//     see timeouts, not errors;
//   - [TCPProxy.SetLatency] delays every reply byte (target to client), so
//     a request-reply round trip grows by that much;
//   - [TCPProxy.Resume] ends a cut or a partition; bytes held during a
//     partition are then delivered, as TCP would after the network heals.
//
// When either side of a proxied connection closes, the proxy closes both.
// The methods are safe for concurrent use.
type TCPProxy struct {
	ln      net.Listener
	target  string
	latency atomic.Int64

	accepted, refused atomic.Int64

	mu          sync.Mutex
	cut         bool
	partitioned chan struct{} // non-nil while partitioned; closed by Resume
	closed      bool
	conns       map[*proxyConn]struct{}
	wg          sync.WaitGroup
}

type proxyConn struct {
	client, upstream net.Conn
	once             sync.Once
	done             chan struct{}
}

func (c *proxyConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.client.Close()
		if c.upstream != nil {
			_ = c.upstream.Close()
		}
	})
}

// StartTCPProxy starts a proxy on 127.0.0.1 (kernel-chosen port) that
// forwards to target. Close it when done.
func StartTCPProxy(target string) (*TCPProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &TCPProxy{ln: ln, target: target, conns: map[*proxyConn]struct{}{}}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// NewTCPProxy is StartTCPProxy for a test: it fails the test on error and
// closes the proxy in t.Cleanup.
func NewTCPProxy(t testing.TB, target string) *TCPProxy {
	t.Helper()
	p, err := StartTCPProxy(target)
	if err != nil {
		t.Fatalf("harness: start TCP proxy: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// Addr is the proxy's host:port, to use in place of the target's.
func (p *TCPProxy) Addr() string { return p.ln.Addr().String() }

// Target is the address the proxy forwards to.
func (p *TCPProxy) Target() string { return p.target }

// Cut closes every proxied connection and refuses new ones until Resume.
func (p *TCPProxy) Cut() {
	p.mu.Lock()
	p.cut = true
	conns := p.takeConnsLocked()
	p.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// Partition stops delivering bytes on every connection, open or new, until
// Resume. Connections stay open.
func (p *TCPProxy) Partition() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.partitioned == nil {
		p.partitioned = make(chan struct{})
	}
}

// Resume ends a Cut or a Partition.
func (p *TCPProxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
	if p.partitioned != nil {
		close(p.partitioned)
		p.partitioned = nil
	}
}

// SetLatency delays each reply byte (target to client) by d from the moment
// the proxy received it. Zero (the default) forwards at once.
func (p *TCPProxy) SetLatency(d time.Duration) { p.latency.Store(int64(d)) }

// Accepted counts the TCP connections the proxy accepted, refused ones
// included.
func (p *TCPProxy) Accepted() int64 { return p.accepted.Load() }

// Refused counts the connections closed at once because the proxy was cut.
func (p *TCPProxy) Refused() int64 { return p.refused.Load() }

// Active is the number of connections currently proxied.
func (p *TCPProxy) Active() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Close stops the proxy, closes every connection and waits for its
// goroutines to end.
func (p *TCPProxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	if p.partitioned != nil {
		close(p.partitioned)
		p.partitioned = nil
	}
	conns := p.takeConnsLocked()
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range conns {
		c.close()
	}
	p.wg.Wait()
	return err
}

func (p *TCPProxy) takeConnsLocked() []*proxyConn {
	out := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		out = append(out, c)
		delete(p.conns, c)
	}
	return out
}

// gate returns a channel to wait on before delivering bytes, or nil when
// the proxy is not partitioned.
func (p *TCPProxy) gate() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.partitioned
}

func (p *TCPProxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.accepted.Add(1)
		p.mu.Lock()
		if p.closed || p.cut {
			p.mu.Unlock()
			p.refused.Add(1)
			_ = c.Close()
			continue
		}
		pc := &proxyConn{client: c, done: make(chan struct{})}
		p.conns[pc] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(pc)
	}
}

func (p *TCPProxy) serve(pc *proxyConn) {
	defer p.wg.Done()
	defer func() {
		pc.close()
		p.mu.Lock()
		delete(p.conns, pc)
		p.mu.Unlock()
	}()
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	p.mu.Lock()
	_, live := p.conns[pc] // Cut or Close may have dropped it while dialling
	if live {
		pc.upstream = up
	}
	p.mu.Unlock()
	if !live {
		_ = up.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(pc, pc.upstream, pc.client, false) }()
	go func() { defer wg.Done(); p.pipe(pc, pc.client, pc.upstream, true) }()
	wg.Wait()
}

type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst through a queue, so that latency delays bytes
// without limiting throughput and a partition holds them.
func (p *TCPProxy) pipe(pc *proxyConn, dst, src net.Conn, delayed bool) {
	q := make(chan chunk, 64)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		defer pc.close()
		for c := range q {
			if !c.due.IsZero() {
				if d := time.Until(c.due); d > 0 {
					t := time.NewTimer(d)
					select {
					case <-t.C:
					case <-pc.done:
						t.Stop()
						return
					}
				}
			}
			if g := p.gate(); g != nil {
				select {
				case <-g:
				case <-pc.done:
					return
				}
			}
			if _, err := dst.Write(c.b); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			c := chunk{b: append([]byte(nil), buf[:n]...)}
			if delayed {
				if d := time.Duration(p.latency.Load()); d > 0 {
					c.due = time.Now().Add(d)
				}
			}
			select {
			case q <- c:
			case <-pc.done:
			}
		}
		if err != nil {
			break
		}
		select {
		case <-pc.done:
			close(q)
			<-writerDone
			return
		default:
		}
	}
	close(q)
	<-writerDone
}
