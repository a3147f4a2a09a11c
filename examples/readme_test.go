// Package examples_test checks README.md: its first code block holds the two
// commands a newcomer runs, and every Go snippet in it compiles.
package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// blocks returns the contents of the fenced code blocks of md whose info
// string is lang.
func blocks(md, lang string) []string {
	var out []string
	var cur []string
	in := false
	for _, line := range strings.Split(md, "\n") {
		switch {
		case !in && strings.TrimSpace(line) == "```"+lang:
			in, cur = true, nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			out = append(out, strings.Join(cur, "\n")+"\n")
		case in:
			cur = append(cur, line)
		}
	}
	return out
}

func TestREADMEStartsWithTheTwoCommands(t *testing.T) {
	md := readme(t)
	first := strings.Index(md, "```")
	sh := blocks(md, "sh")
	if first < 0 || len(sh) == 0 || !strings.HasPrefix(md[first:], "```sh\n") {
		t.Fatal("README's first code block is not the sh block of commands")
	}
	lines := strings.Split(strings.TrimSpace(sh[0]), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "go run ./examples/demo ") || !strings.HasPrefix(lines[1], "make test ") {
		t.Fatalf("first code block = %q, want the demo and make test commands", sh[0])
	}
	if !strings.Contains(md, "\n## Performance\n") {
		t.Error(`README has no "## Performance" section`)
	}
}

// TestREADMEGoSnippetsCompile writes every ```go block of README.md to a
// package of its own in a temporary directory inside the module (named with
// a leading "_" so ./... patterns never see it) and builds them all with
// one go build. Every snippet must be a complete file.
func TestREADMEGoSnippetsCompile(t *testing.T) {
	snippets := blocks(readme(t), "go")
	if len(snippets) < 6 {
		t.Fatalf("found %d Go snippets in README.md, expected the quick starts, providers, production and adapter ones", len(snippets))
	}
	dir, err := os.MkdirTemp(".", "_readme-snippets-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	args := []string{"build"}
	for i, src := range snippets {
		if !strings.HasPrefix(src, "package ") {
			t.Errorf("snippet %d is not a complete Go file (must start with a package clause):\n%s", i+1, src)
			continue
		}
		pkg := filepath.Join(dir, "snippet"+strconv.Itoa(i+1))
		if err := os.Mkdir(pkg, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pkg, "snippet.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "./"+filepath.ToSlash(pkg))
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Fatal("no go command to build the snippets with")
		}
	}
	cmd := exec.Command(goBin, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README snippets do not compile (snippetN is the Nth ```go block):\n%s", out)
	}
}
