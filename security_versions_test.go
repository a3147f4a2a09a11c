package gatehouse_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// minimumVersions are the lowest versions of dependencies that fix the
// advisories named in the security checklist (item 60, table b) and a few
// more that touch code Gatehouse runs. A module absent from the build list
// is fine (go-jose is not used today); one present below its minimum fails.
var minimumVersions = []struct {
	module, min, why string
}{
	{"github.com/golang-jwt/jwt/v5", "v5.2.2", "CVE-2025-30204: ParseUnverified allocates O(n) on a header of dots"},
	{"golang.org/x/oauth2", "v0.27.0", "CVE-2025-22868: jws parsing allocates without bound"},
	{"github.com/go-jose/go-jose/v4", "v4.0.5", "CVE-2025-27144: compact JWS/JWE split allocates without bound"},
	{"github.com/go-jose/go-jose/v3", "v3.0.4", "CVE-2025-27144"},
	{"golang.org/x/crypto", "v0.35.0", "CVE-2025-22869 (ssh DoS), CVE-2024-45337"},
	{"golang.org/x/net", "v0.60.0", "CVE-2025-22872 (html tokenizer), CVE-2025-22870 (proxy bypass) and later x/net advisories"},
	{"github.com/jackc/pgx/v5", "v5.9.2", "CVE-2024-27304: protocol message size overflow; GO-2026-5004: SQL injection via placeholder confusion with dollar-quoted strings"},
	{"github.com/redis/go-redis/v9", "v9.7.3", "CVE-2025-29923: out-of-order responses after a failed handshake"},
	{"github.com/labstack/echo/v4", "v4.16.0", "route/group middleware bypass by URL-encoded paths, open redirect, CSRF bypass via method override"},
	{"golang.org/x/text", "v0.39.0", "infinite loop in a transformer reached from return-to validation"},
}

// TestMinimumVersions reads the module build list (go list -m all: the
// versions minimal version selection picks, i.e. what is compiled in) and
// fails when a dependency is older than the version that fixed a known
// vulnerability. It is a floor under scripts/vulncheck.sh, which runs
// govulncheck against the whole vulnerability database (built offline from
// the pinned golang.org/x/vulndb module) in every make test.
func TestMinimumVersions(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "all").Output()
	if err != nil {
		t.Fatalf("go list -m all: %v", err)
	}
	build := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 {
			build[f[0]] = f[1]
			if len(f) >= 5 && f[2] == "=>" { // replaced: the replacement's version counts
				build[f[0]] = f[4]
			}
		}
	}
	if len(build) < 10 {
		t.Fatalf("implausible build list:\n%s", out)
	}
	if _, ok := build["github.com/golang-jwt/jwt/v5"]; !ok {
		t.Fatal("golang-jwt/jwt/v5 not in the build list: has the JWT dependency moved? update this test")
	}
	for _, m := range minimumVersions {
		have, ok := build[m.module]
		if !ok {
			continue
		}
		if semverLess(have, m.min) {
			t.Errorf("%s %s is below %s (%s)", m.module, have, m.min, m.why)
		}
	}
}

func TestSemverLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{
		{"v5.2.1", "v5.2.2", true}, {"v5.2.2", "v5.2.2", false}, {"v5.3.0", "v5.2.2", false}, {"v0.9.0", "v0.27.0", true},
		{"v0.27.0-rc1", "v0.27.0", true}, {"v0.0.0-20250101000000-abcdef", "v0.27.0", true}, {"v1.0.0", "v0.99.99", false},
		{"v4.0.5+incompatible", "v4.0.5", false},
	} {
		if got := semverLess(c.a, c.b); got != c.less {
			t.Errorf("semverLess(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

// semverLess compares two module versions (vMAJOR.MINOR.PATCH, a
// pre-release sorting before its release; build metadata ignored).
func semverLess(a, b string) bool {
	pa, prea := parseSemver(a)
	pb, preb := parseSemver(b)
	for i := range pa {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return prea != "" && preb == ""
}

func parseSemver(v string) ([3]int, string) {
	v = strings.TrimPrefix(v, "v")
	v, _, _ = strings.Cut(v, "+")
	v, pre, _ := strings.Cut(v, "-")
	var out [3]int
	for i, p := range strings.SplitN(v, ".", 3) {
		n, err := strconv.Atoi(p)
		if err != nil {
			n = -1
		}
		out[i] = n
	}
	return out, pre
}
