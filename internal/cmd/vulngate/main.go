// Command vulngate reads govulncheck's JSON output (-format json) on standard
// input and decides whether the build may ship: it prints every
// vulnerability whose vulnerable code is reachable (called) from ours and
// exits 3 when any of them is not a documented exception.
//
// An exception (the -exceptions file, one "ID module reason…" per line, #
// comments) applies only while the advisory names no fixed version for the
// module version we use: once a fix exists, the finding fails the gate until
// the dependency is upgraded.
//
// Usage:
//
//	govulncheck -db file://DB -format json ./... | vulngate -exceptions scripts/vuln-exceptions.txt
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type frame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
	Receiver string `json:"receiver"`
}

type finding struct {
	OSV          string  `json:"osv"`
	FixedVersion string  `json:"fixed_version"`
	Trace        []frame `json:"trace"`
}

type osv struct {
	ID      string `json:"id"`
	Summary string `json:"summary"`
}

type message struct {
	OSV     *osv     `json:"osv"`
	Finding *finding `json:"finding"`
}

type exception struct{ module, reason string }

func main() {
	exFile := flag.String("exceptions", "", "file of documented exceptions (ID module reason…)")
	flag.Parse()
	exceptions, err := readExceptions(*exFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulngate:", err)
		os.Exit(2)
	}
	called, summaries, err := readFindings(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulngate:", err)
		os.Exit(2)
	}
	ids := make([]string, 0, len(called))
	for id := range called {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	failed, excepted := 0, 0
	for _, id := range ids {
		f := called[id]
		mod := f.Trace[0].Module
		at := mod + "@" + f.Trace[0].Version
		if ex, ok := exceptions[id]; ok && ex.module == mod && f.FixedVersion == "" {
			fmt.Printf("excepted  %s  %s (%s): no fixed version; %s\n", id, at, summaries[id], ex.reason)
			excepted++
			continue
		}
		failed++
		fix := f.FixedVersion
		if fix == "" {
			fix = "none published"
		}
		fmt.Printf("REACHABLE %s  %s (%s), fixed in: %s\n", id, at, summaries[id], fix)
		fmt.Printf("          %s\n", callChain(f.Trace))
	}
	if failed > 0 {
		fmt.Printf("vulngate: %d reachable vulnerabilities\n", failed)
		os.Exit(3)
	}
	fmt.Printf("vulngate: no reachable vulnerabilities (%d documented exceptions)\n", excepted)
}

// readFindings keeps, per advisory, one finding whose trace reaches a
// vulnerable function (symbol level), which is what govulncheck calls
// "your code is affected".
func readFindings(r io.Reader) (map[string]finding, map[string]string, error) {
	called := map[string]finding{}
	summaries := map[string]string{}
	dec := json.NewDecoder(bufio.NewReader(r))
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			return called, summaries, nil
		} else if err != nil {
			return nil, nil, fmt.Errorf("reading govulncheck output: %w", err)
		}
		if m.OSV != nil {
			summaries[m.OSV.ID] = m.OSV.Summary
		}
		if f := m.Finding; f != nil && len(f.Trace) > 0 && f.Trace[0].Function != "" {
			if _, seen := called[f.OSV]; !seen {
				called[f.OSV] = *f
			}
		}
	}
}

func callChain(tr []frame) string {
	parts := make([]string, 0, len(tr))
	for i := len(tr) - 1; i >= 0; i-- {
		fn := tr[i].Function
		if tr[i].Receiver != "" {
			fn = strings.TrimPrefix(tr[i].Receiver, "*") + "." + fn
		}
		parts = append(parts, tr[i].Package+"."+fn)
	}
	return strings.Join(parts, " -> ")
}

func readExceptions(path string) (map[string]exception, error) {
	out := map[string]exception{}
	if path == "" {
		return out, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("%s:%d: want \"ID module reason…\"", path, n+1)
		}
		out[f[0]] = exception{module: f[1], reason: strings.Join(f[2:], " ")}
	}
	return out, nil
}
