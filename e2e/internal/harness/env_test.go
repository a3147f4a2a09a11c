package harness

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func liveAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln.Addr().String()
}

func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestRedisAddr(t *testing.T) {
	live, dead := liveAddr(t), deadAddr(t)
	for _, tc := range []struct {
		name, env, ci  string
		skip, fail     bool
		want, inReason string
	}{
		{name: "unset skips", env: "", skip: true, inReason: EnvRedisAddr + " is not set"},
		{name: "unset under CI fails", env: "", ci: "true", fail: true, inReason: "CI=true"},
		{name: "set and reachable", env: live, want: live},
		{name: "set but down fails", env: dead, fail: true, inReason: "nothing answers"},
		{name: "not host:port fails", env: "localhost", fail: true, inReason: "not host:port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvRedisAddr, tc.env)
			t.Setenv(EnvCI, tc.ci)
			var got string
			f := runFake(t, func(tb testing.TB) { got = RedisAddr(tb) })
			if f.skipped != tc.skip || f.failed != tc.fail {
				t.Fatalf("skipped=%v failed=%v (%s), want skipped=%v failed=%v", f.skipped, f.failed, f.message(), tc.skip, tc.fail)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if !strings.Contains(f.message(), tc.inReason) {
				t.Fatalf("message %s does not say %q", f.message(), tc.inReason)
			}
		})
	}
}

func TestPostgresDSN(t *testing.T) {
	live := liveAddr(t)
	host, port, _ := net.SplitHostPort(live)
	urlDSN := "postgres://gh:pw@" + live + "/gatehouse?sslmode=disable"
	kvDSN := "host=" + host + " port=" + port + " user=gh dbname=gatehouse"

	t.Run("unset skips", func(t *testing.T) {
		t.Setenv(EnvPostgresDSN, "")
		t.Setenv(EnvCI, "")
		f := runFake(t, func(tb testing.TB) { PostgresDSN(tb) })
		if !f.skipped || f.failed || !strings.Contains(f.message(), EnvPostgresDSN) {
			t.Fatalf("skipped=%v failed=%v %s", f.skipped, f.failed, f.message())
		}
	})
	t.Run("unset under CI fails", func(t *testing.T) {
		t.Setenv(EnvPostgresDSN, "")
		t.Setenv(EnvCI, "true")
		if f := runFake(t, func(tb testing.TB) { PostgresDSN(tb) }); !f.failed {
			t.Fatalf("not failed: %s", f.message())
		}
	})
	for _, dsn := range []string{urlDSN, kvDSN} {
		t.Run("reachable "+dsn[:4], func(t *testing.T) {
			t.Setenv(EnvPostgresDSN, dsn)
			var got string
			if f := runFake(t, func(tb testing.TB) { got = PostgresDSN(tb) }); f.failed || f.skipped || got != dsn {
				t.Fatalf("got %q skipped=%v failed=%v %s", got, f.skipped, f.failed, f.message())
			}
		})
	}
	t.Run("down fails", func(t *testing.T) {
		t.Setenv(EnvPostgresDSN, "postgres://gh@"+deadAddr(t)+"/x")
		if f := runFake(t, func(tb testing.TB) { PostgresDSN(tb) }); !f.failed {
			t.Fatalf("not failed: %s", f.message())
		}
	})
}

func TestPostgresAddr(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://u:p@db.example:6543/x":       "db.example:6543",
		"postgresql://u@127.0.0.1/x":             "127.0.0.1:5432",
		"postgres://u@[::1]:5433/x":              "[::1]:5433",
		"host=127.0.0.1 port=5499 dbname=x":      "127.0.0.1:5499",
		"host=/var/run/postgresql dbname=x":      "",
		"dbname=x user=y":                        "",
		"host=localhost user=gh password=s3cr3t": "localhost:5432",
	} {
		if got := postgresAddr(dsn); got != want {
			t.Errorf("postgresAddr(%q) = %q, want %q", dsn, got, want)
		}
	}
}

func TestChromiumPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "chromium")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "not-exec")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, env, ci string
		skip, fail    bool
		want          string
	}{
		{name: "executable", env: exe, want: exe},
		{name: "missing skips", env: filepath.Join(dir, "nope"), skip: true},
		{name: "missing under CI fails", env: filepath.Join(dir, "nope"), ci: "true", fail: true},
		{name: "not executable skips", env: plain, skip: true},
		{name: "directory skips", env: dir, skip: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvChromium, tc.env)
			t.Setenv(EnvCI, tc.ci)
			var got string
			f := runFake(t, func(tb testing.TB) { got = ChromiumPath(tb) })
			if f.skipped != tc.skip || f.failed != tc.fail || got != tc.want {
				t.Fatalf("got %q skipped=%v failed=%v (%s); want %q skipped=%v failed=%v",
					got, f.skipped, f.failed, f.message(), tc.want, tc.skip, tc.fail)
			}
		})
	}
}
