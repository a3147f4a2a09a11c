package harness

import (
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// Environment variables the suite reads.
const (
	// EnvRedisAddr is the host:port of a Redis server the tests may use
	// (and flush their own keys in).
	EnvRedisAddr = "GATEHOUSE_REDIS_ADDR"
	// EnvPostgresDSN is a PostgreSQL connection string (URL or key=value)
	// for a database the tests may create tables in.
	EnvPostgresDSN = "GATEHOUSE_POSTGRES_DSN"
	// EnvChromium overrides the browser binary (default DefaultChromium).
	EnvChromium = "GATEHOUSE_CHROMIUM"
	// EnvCI is set to "true" by CI (and by scripts/test.sh): a missing
	// service is then a failure, not a skip.
	EnvCI = "CI"
)

// DefaultChromium is Debian's chromium binary.
const DefaultChromium = "/usr/bin/chromium"

// InCI reports whether CI=true: the suite must then run everything.
func InCI() bool { return strings.EqualFold(os.Getenv(EnvCI), "true") }

// missing skips t with why, or fails it under CI=true.
func missing(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s (CI=true: every service must be available)", why)
	}
	t.Skipf("%s; skipping", why)
}

// RedisAddr returns GATEHOUSE_REDIS_ADDR. When it is unset the test is
// skipped (failed under CI=true); when it is set but nothing answers there,
// the test fails: a configured service that is down is an error.
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := strings.TrimSpace(os.Getenv(EnvRedisAddr))
	if addr == "" {
		missing(t, EnvRedisAddr+" is not set (host:port of a Redis server, e.g. 127.0.0.1:6379)")
		return ""
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatalf("%s=%q is not host:port: %v", EnvRedisAddr, addr, err)
	}
	dialCheck(t, EnvRedisAddr, addr)
	return addr
}

// PostgresDSN returns GATEHOUSE_POSTGRES_DSN, with the same rules as
// RedisAddr. The reachability check dials the DSN's host and port when it
// can find them (URL form, or host= and port= keys); the default port is
// 5432.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := strings.TrimSpace(os.Getenv(EnvPostgresDSN))
	if dsn == "" {
		missing(t, EnvPostgresDSN+" is not set (e.g. postgres://user:pass@127.0.0.1:5432/gatehouse?sslmode=disable)")
		return ""
	}
	if addr := postgresAddr(dsn); addr != "" {
		dialCheck(t, EnvPostgresDSN, addr)
	}
	return dsn
}

// postgresAddr extracts host:port from a DSN, or "" when it names a Unix
// socket or cannot be read.
func postgresAddr(dsn string) string {
	host, port := "", "5432"
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		host = u.Hostname()
		if p := u.Port(); p != "" {
			port = p
		}
	} else {
		for _, kv := range strings.Fields(dsn) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			switch k {
			case "host":
				host = v
			case "port":
				port = v
			}
		}
	}
	if host == "" || strings.HasPrefix(host, "/") {
		return ""
	}
	return net.JoinHostPort(host, port)
}

func dialCheck(t testing.TB, env, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("%s points at %s but nothing answers there: %v", env, addr, err)
	}
	_ = c.Close()
}

// ChromiumPath returns the browser binary: GATEHOUSE_CHROMIUM, else
// /usr/bin/chromium. When it does not exist or is not executable the test
// is skipped (failed under CI=true).
func ChromiumPath(t testing.TB) string {
	t.Helper()
	p := strings.TrimSpace(os.Getenv(EnvChromium))
	if p == "" {
		p = DefaultChromium
	}
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		missing(t, "chromium not found at "+p+" (install Debian's chromium or set "+EnvChromium+")")
		return ""
	case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
		missing(t, p+" is not an executable file")
		return ""
	}
	return p
}
