package main

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A govulncheck -format json stream: one advisory reached at symbol level,
// one only imported (no function in its trace), one reached with no fix.
const stream = `{"config":{"protocol_version":"v1.0.0"}}
{"osv":{"id":"GO-1","summary":"reached, fixed upstream"}}
{"osv":{"id":"GO-2","summary":"imported only"}}
{"osv":{"id":"GO-3","summary":"reached, no fix"}}
{"finding":{"osv":"GO-1","fixed_version":"v1.2.3","trace":[{"module":"example.com/a","version":"v1.0.0","package":"example.com/a","function":"Parse"},{"module":"example.com/me","package":"example.com/me","function":"main"}]}}
{"finding":{"osv":"GO-2","fixed_version":"v2.0.0","trace":[{"module":"example.com/b","version":"v1.0.0","package":"example.com/b"}]}}
{"finding":{"osv":"GO-3","trace":[{"module":"example.com/c","version":"v1.0.0","package":"example.com/c","function":"Serve","receiver":"*Server"}]}}
`

func TestReadFindingsKeepsOnlyReachable(t *testing.T) {
	called, summaries, err := readFindings(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(called) != 2 || called["GO-1"].FixedVersion != "v1.2.3" || called["GO-3"].Trace[0].Function != "Serve" {
		t.Fatalf("called = %+v, want GO-1 and GO-3 (GO-2 is only imported)", called)
	}
	if summaries["GO-2"] != "imported only" {
		t.Fatalf("summaries = %v", summaries)
	}
	if _, _, err := readFindings(strings.NewReader("{not json")); err == nil {
		t.Fatal("garbage input accepted")
	}
}

func TestExceptions(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "ok.txt")
	if err := os.WriteFile(good, []byte("# comment\n\nGO-3 example.com/c no fix; we never call Serve\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ex, err := readExceptions(good)
	if err != nil || ex["GO-3"].module != "example.com/c" || ex["GO-3"].reason != "no fix; we never call Serve" {
		t.Fatalf("exceptions = %+v, %v", ex, err)
	}
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("GO-3 example.com/c\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readExceptions(bad); err == nil {
		t.Fatal("an exception without a reason was accepted")
	}
}

// TestGate runs the command: it fails on a reachable advisory unless it is
// excepted, and an exception lapses once the advisory names a fix.
func TestGate(t *testing.T) {
	if ex := os.Getenv("VULNGATE_CHILD_EXCEPTIONS"); ex != "" {
		// The child: run the command itself on standard input.
		os.Args = []string{"vulngate", "-exceptions", ex}
		flag.CommandLine = flag.NewFlagSet("vulngate", flag.ExitOnError)
		main()
		os.Exit(0)
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, exceptions string
		wantExit         int
		wantOut          []string
	}{
		{"nothing excepted", "", 3, []string{"REACHABLE GO-1", "REACHABLE GO-3", "2 reachable"}},
		{"the unfixable one excepted", "GO-3 example.com/c reason\n", 3, []string{"REACHABLE GO-1", "excepted  GO-3"}},
		{"an exception for a fixed advisory lapses", "GO-1 example.com/a reason\nGO-3 example.com/c reason\n", 3, []string{"REACHABLE GO-1", "excepted  GO-3"}},
		{"an exception for another module does not apply", "GO-3 example.com/other reason\n", 3, []string{"REACHABLE GO-3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runGate(t, write("ex.txt", tc.exceptions), stream)
			if code != tc.wantExit {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.wantExit, out)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	clean := `{"osv":{"id":"GO-3","summary":"s"}}
{"finding":{"osv":"GO-3","trace":[{"module":"example.com/c","version":"v1.0.0","package":"example.com/c","function":"Serve"}]}}
`
	if out, code := runGate(t, write("ex2.txt", "GO-3 example.com/c reason\n"), clean); code != 0 || !strings.Contains(out, "no reachable vulnerabilities (1 documented exceptions)") {
		t.Fatalf("only an excepted finding: exit %d:\n%s", code, out)
	}
}

func runGate(t *testing.T, exceptions, input string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestGate$")
	cmd.Env = append(os.Environ(), "VULNGATE_CHILD_EXCEPTIONS="+exceptions)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}
