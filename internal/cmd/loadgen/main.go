// Command loadgen is the loopback load test of make bench (scripts/bench.sh):
// it serves the demo (examples/demo/app) in a child process on a free
// 127.0.0.1 port, logs in once with a demo Wazo account (the real password
// login, JSON), then drives the demo's protected route (GET /api/me, behind
// Require) and its bare route (GET /healthz) for the same time with the same
// number of keep-alive connections, and prints requests/s and p50/p99 side
// by side with the protected/bare ratio.
//
//	go run ./internal/cmd/loadgen                # 10s per route, 50 connections
//	go run ./internal/cmd/loadgen -d 3s -c 20
//
// It is bounded on purpose: at most 10 s per route, at most 50 connections,
// and only loopback targets (it starts its own server; -url may name
// another one on 127.0.0.1, with -user and -password for its Wazo login).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse-auth/gatehouse/examples/demo/app"
)

const (
	maxDuration = 10 * time.Second
	maxConns    = 50
)

func main() {
	serve := flag.Bool("serve", false, "internal: serve the demo on 127.0.0.1:0 and print its URL and a demo account")
	dur := flag.Duration("d", maxDuration, "load duration per route (at most 10s)")
	conns := flag.Int("c", maxConns, "concurrent connections (at most 50)")
	target := flag.String("url", "", "an already running demo on a loopback address (default: start one)")
	user := flag.String("user", "", "Wazo demo user name for -url")
	pass := flag.String("password", "", "Wazo demo password for -url")
	flag.Parse()
	if *serve {
		if err := serveDemo(); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*dur, *conns, *target, *user, *pass); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// announce is what the child prints on its first stdout line.
type announce struct {
	URL, User, Password string
}

func serveDemo() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := app.Start("127.0.0.1:0", app.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer srv.Close()
	if len(srv.WazoUsers) == 0 {
		return errors.New("the demo has no Wazo account")
	}
	u := srv.WazoUsers[0]
	if err := json.NewEncoder(os.Stdout).Encode(announce{URL: srv.URL, User: u.Username, Password: u.Password}); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

func run(dur time.Duration, conns int, target, user, pass string) error {
	if dur <= 0 || dur > maxDuration {
		return fmt.Errorf("-d must be in (0, %s]", maxDuration)
	}
	if conns <= 0 || conns > maxConns {
		return fmt.Errorf("-c must be in [1, %d]", maxConns)
	}
	if target == "" {
		child, a, err := startChild()
		if err != nil {
			return err
		}
		defer func() {
			_ = child.Process.Signal(os.Interrupt)
			_ = child.Wait()
		}()
		target, user, pass = a.URL, a.User, a.Password
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" {
		return fmt.Errorf("-url %q must be http://127.0.0.1:port", target)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-url %q: only loopback targets are allowed", target)
	}
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cookies, err := login(client, target, user, pass)
	if err != nil {
		return err
	}
	// Warm up both routes (connections, caches) before measuring.
	for _, p := range []string{"/healthz", "/api/me"} {
		if _, err := drive(client, target+p, cookies, conns, 300*time.Millisecond); err != nil {
			return err
		}
	}
	bare, err := drive(client, target+"/healthz", nil, conns, dur)
	if err != nil {
		return err
	}
	prot, err := drive(client, target+"/api/me", cookies, conns, dur)
	if err != nil {
		return err
	}
	fmt.Printf("loopback load: demo on %s, %d connections, %s per route (client and server share the machine)\n", target, conns, dur)
	fmt.Printf("%-26s %12s %10s %10s %8s\n", "route", "requests/s", "p50", "p99", "errors")
	for _, r := range []struct {
		name string
		s    stats
	}{{"bare GET /healthz", bare}, {"protected GET /api/me", prot}} {
		fmt.Printf("%-26s %12.0f %10s %10s %8d\n", r.name, r.s.rps, r.s.p50, r.s.p99, r.s.errors)
	}
	fmt.Printf("protected/bare requests/s: %.2f (target ≥ 0.70)\n", prot.rps/bare.rps)
	if bare.errors+prot.errors > 0 {
		return fmt.Errorf("%d requests failed", bare.errors+prot.errors)
	}
	return nil
}

// startChild runs this program with -serve and reads its announcement.
func startChild() (*exec.Cmd, announce, error) {
	var a announce
	exe, err := os.Executable()
	if err != nil {
		return nil, a, err
	}
	cmd := exec.Command(exe, "-serve")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, a, err
	}
	if err := cmd.Start(); err != nil {
		return nil, a, err
	}
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &a)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, a, fmt.Errorf("demo child: %w", err)
	}
	return cmd, a, nil
}

// login signs in with the demo's Wazo password login (JSON) and returns
// the session cookies.
func login(client *http.Client, base, user, pass string) ([]*http.Cookie, error) {
	body, _ := json.Marshal(map[string]string{"username": user, "password": pass})
	req, _ := http.NewRequest(http.MethodPost, base+"/auth/"+app.Wazo+"/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK || len(resp.Cookies()) == 0 {
		return nil, fmt.Errorf("login: status %d", resp.StatusCode)
	}
	return resp.Cookies(), nil
}

type stats struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
}

// drive sends GET target on conns workers for d and measures.
func drive(client *http.Client, target string, cookies []*http.Cookie, conns int, d time.Duration) (stats, error) {
	var (
		mu     sync.Mutex
		all    []time.Duration
		errs   int
		wg     sync.WaitGroup
		first  error
		start  = time.Now()
		finish = start.Add(d)
	)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			bad := 0
			var ferr error
			for time.Now().Before(finish) {
				req, _ := http.NewRequest(http.MethodGet, target, nil)
				req.Header.Set("Accept", "application/json")
				for _, c := range cookies {
					req.AddCookie(c)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s: status %d", target, resp.StatusCode)
					}
				}
				if err != nil {
					bad++
					if ferr == nil {
						ferr = err
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			errs += bad
			if first == nil {
				first = ferr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(all) == 0 {
		return stats{}, fmt.Errorf("no successful request: %v", first)
	}
	slices.Sort(all)
	q := func(p float64) time.Duration {
		return all[min(len(all)-1, int(p*float64(len(all))))].Round(time.Microsecond)
	}
	return stats{rps: float64(len(all)) / elapsed.Seconds(), p50: q(0.50), p99: q(0.99), errors: errs}, first
}
