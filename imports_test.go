package gatehouse_test

// This test enforces the import arrows of DESIGN.md. It lists every package
// of the module with `go list -e -json ./...` and checks each package's
// imports (and, for third-party leaf dependencies, its transitive
// dependencies) against the rules in checkImports.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gatehouse-auth/gatehouse"

// pkgInfo is what the checker needs of a package.
type pkgInfo struct {
	ImportPath   string
	Imports      []string // direct, non-test
	TestImports  []string // direct, from _test.go files (both test packages)
	XTestImports []string
	Deps         []string // transitive, non-test
}

// violation is one forbidden edge.
type violation struct {
	Pkg, Import string // module-relative for ours
	Test        bool
	Rule        string
}

func (v violation) String() string {
	where := ""
	if v.Test {
		where = " (in tests)"
	}
	return fmt.Sprintf("%s imports %s%s: %s", v.Pkg, v.Import, where, v.Rule)
}

// rel returns a module-relative path ("" for the root) and whether p is
// in the module.
func rel(p string) (string, bool) {
	if p == module {
		return "", true
	}
	if r, ok := strings.CutPrefix(p, module+"/"); ok {
		return r, true
	}
	return p, false
}

// under reports whether p is dir or inside it.
func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// isFake: adapters/<name>/<name>test style fake servers (any package
// under adapters/ whose name ends in "test").
func isFake(p string) bool {
	return under(p, "adapters") && strings.Count(p, "/") >= 2 && strings.HasSuffix(path.Base(p), "test")
}

// isTestHelper: a non-fake package that exists for tests (authtest,
// flowtest, providertest, ...). Its imports are judged as test imports.
func isTestHelper(p string) bool { return strings.HasSuffix(path.Base(p), "test") && !isFake(p) }

// adapterRoot returns "adapters/<name>" for anything under it.
func adapterRoot(p string) string {
	parts := strings.SplitN(p, "/", 3)
	if len(parts) < 2 {
		return p
	}
	return parts[0] + "/" + parts[1]
}

// oidcPresets are the OpenID Connect presets: each is a configuration of
// adapters/oidc (adapters/github, plain OAuth2, is one of adapters/oauth2
// like any adapter).
var oidcPresets = map[string]bool{
	"adapters/google": true, "adapters/entra": true, "adapters/okta": true, "adapters/auth0": true,
	"adapters/keycloak": true, "adapters/gitlab": true,
}

// allowedInternal decides whether package p may import our package q.
// test says the import comes from test code.
func allowedInternal(p, q string, test bool) (bool, string) {
	if p == q || p == "" || under(p, "examples") || under(p, "e2e") {
		return true, ""
	}
	test = test || isTestHelper(p)
	switch {
	case under(p, "provider") && p != "provider/providertest":
		return false, "provider imports nothing from this module"
	case p == "provider/providertest":
		return q == "provider", "providertest imports only provider"
	case isFake(p):
		// A fake is built on provider and the shared OAuth2 engine only:
		// never on the adapter it fakes, nor on any adapter.
		if q == "provider" || q == "adapters/oauth2/oauth2test" || under(q, p) {
			return true, ""
		}
		if under(q, adapterRoot(p)) && !isFake(q) {
			return false, "a fake never imports the adapter it fakes"
		}
		return false, "a fake imports only provider and adapters/oauth2/oauth2test"
	case under(p, "adapters"):
		own := adapterRoot(p)
		switch {
		case q == "provider", q == "adapters/oauth2" && own != "adapters/oauth2":
			return true, ""
		case q == "adapters/oidc" && oidcPresets[own]:
			return true, "" // an OpenID Connect preset is configuration over adapters/oidc
		case under(q, own) && !isFake(q):
			return true, ""
		case test && (under(q, own) || q == "adapters/oauth2/oauth2test" || q == "provider/providertest"):
			return true, "" // its own fake (or the engine its fake is built on)
		case test && q == "adapters/oidc/oidctest" && oidcPresets[own]:
			return true, "" // a preset's tests run against the fake OP of its engine
		case test && isFake(q):
			return false, "an adapter's tests use only its own fake"
		}
		return false, "adapters import only provider and adapters/oauth2"
	case p == "internal/telemetry":
		return q == "provider", "internal/telemetry imports only provider"
	case under(p, "session"):
		switch {
		case q == "internal/telemetry":
			return true, "" // the OpenTelemetry instrumentation (API only)
		case under(q, "middleware"):
			return false, "session never imports middleware"
		case q == "provider", under(q, "session") && p != "session" && !under(q, p):
			return true, "" // session/redislock builds on session
		case under(q, p):
			return true, ""
		case test && (q == "provider/providertest" || isFake(q) || under(q, "adapters") || q == "internal/servicetest"):
			return true, ""
		}
		return false, "session imports only provider"
	case under(p, "middleware"):
		switch {
		case q == "provider", q == "internal/telemetry", under(q, "session") && q != "session/redislock":
			return true, ""
		case test && q == "session/redislock":
			return true, "" // the production setup under load (TestRefreshUnderLoad)
		case under(q, "middleware/echoauth") && !under(p, "middleware/echoauth"):
			return test, "only middleware/echoauth depends on echo; middleware never imports it"
		case under(q, "middleware"):
			return true, ""
		case test && (under(q, "adapters") || q == "provider/providertest" || isTestHelper(q)):
			return true, ""
		}
		return false, "middleware imports provider, session and its own packages only (adapters only in tests)"
	}
	return true, "" // packages DESIGN.md does not name
}

// leaves are third-party modules that only leaf packages may depend on.
var leaves = []struct {
	prefixes []string
	allowed  []string // module-relative dirs that may depend on them
	rule     string
	// inTests are dirs whose test code (only) may depend on them: the
	// session tests run one table over memstore, real Redis and real
	// PostgreSQL (issue 4), while session itself stays Redis-free.
	inTests []string
}{
	// Listed before echo itself, so it wins: echo v4's proxy and
	// rate-limiter middleware carry advisories without a v4 fix
	// (GO-2026-6875, GO-2026-6872; scripts/vuln-exceptions.txt), which
	// is safe only while Gatehouse's own code never uses that package.
	{[]string{"github.com/labstack/echo/v4/middleware"}, []string{"examples", "e2e"},
		"Gatehouse's packages never use echo's own middleware package (proxy, rate limiter: advisories without a v4 fix)", nil},
	{[]string{"github.com/labstack/echo"}, []string{"middleware/echoauth", "examples", "e2e"},
		"only middleware/echoauth, examples and e2e depend on echo", nil},
	{[]string{"github.com/redis/go-redis", "github.com/go-redis/redis", "github.com/gomodule/redigo", "github.com/alexedwards/scs/goredisstore", "github.com/alexedwards/scs/redisstore"},
		[]string{"session/redislock", "session/redisindex", "middleware/redislimit", "examples", "e2e"},
		"only session/redislock, session/redisindex, middleware/redislimit, examples and e2e depend on a Redis client (and session's and middleware's store tests)", []string{"session", "middleware"}},
	{[]string{"github.com/jackc/pgx", "github.com/alexedwards/scs/pgxstore"},
		[]string{"session/pgindex", "examples", "e2e"},
		"only session/pgindex, examples and e2e depend on a PostgreSQL client (and session's and middleware's store tests)", []string{"session", "middleware"}},
	{[]string{"github.com/gavv/httpexpect", "github.com/chromedp"}, []string{"e2e", "examples"},
		"test tooling (httpexpect, chromedp) only in e2e and examples", nil},
	{[]string{"go.opentelemetry.io/otel/sdk", "go.opentelemetry.io/otel/exporters", "github.com/prometheus/client_golang"}, []string{"examples", "e2e"},
		"the library uses the OpenTelemetry API only: the SDK and exporters only in tests, examples and e2e", []string{"session", "internal/telemetry"}},
}

func leafRule(p, imp string, test bool) (bool, string) {
	for _, l := range leaves {
		for _, pre := range l.prefixes {
			if imp != pre && !strings.HasPrefix(imp, pre+"/") {
				continue
			}
			for _, a := range l.allowed {
				if under(p, a) {
					return true, ""
				}
			}
			if test && slices.Contains(l.inTests, p) {
				return true, ""
			}
			return false, l.rule
		}
	}
	return true, ""
}

// isCore: provider, adapters and session (not its Redis leaf).
func isCore(p string) bool {
	return under(p, "provider") || under(p, "adapters") ||
		(under(p, "session") && !under(p, "session/redislock") && !under(p, "session/redisindex") && !under(p, "session/pgindex"))
}

// checkImports returns every forbidden edge in pkgs.
func checkImports(pkgs []pkgInfo) []violation {
	var out []violation
	add := func(p, imp string, test bool, rule string) {
		v := violation{Pkg: p, Import: imp, Test: test, Rule: rule}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	for _, pk := range pkgs {
		p, ours := rel(pk.ImportPath)
		if !ours {
			continue
		}
		type edge struct {
			imp  string
			test bool
		}
		var edges []edge
		for _, i := range pk.Imports {
			edges = append(edges, edge{i, false})
		}
		for _, i := range append(append([]string(nil), pk.TestImports...), pk.XTestImports...) {
			edges = append(edges, edge{i, true})
		}
		for _, e := range edges {
			q, internal := rel(e.imp)
			if internal {
				if ok, rule := allowedInternal(p, q, e.test); !ok {
					add(p, q, e.test, rule)
				}
				continue
			}
			// Direct third-party imports: non-test everywhere; test code
			// of core packages too.
			if !e.test || isCore(p) {
				if ok, rule := leafRule(p, e.imp, e.test); !ok {
					add(p, e.imp, e.test, rule)
				}
			}
		}
		// Transitive: a package must not pull in a leaf dependency
		// through another package either.
		for _, d := range pk.Deps {
			if _, internal := rel(d); internal {
				continue
			}
			if ok, rule := leafRule(p, d, false); !ok {
				add(p, d+" (indirectly)", false, rule)
			}
		}
	}
	return out
}

// listPackages runs go list over the module.
func listPackages(t *testing.T) []pkgInfo {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkgInfo
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkgInfo
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestImportArrows(t *testing.T) {
	pkgs := listPackages(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		r, _ := rel(p.ImportPath)
		seen[r] = true
	}
	for _, must := range []string{"provider", "provider/providertest", "adapters/oauth2", "adapters/oauth2/oauth2test"} {
		if !seen[must] {
			t.Fatalf("go list did not report %s: the checker is looking at the wrong tree", must)
		}
	}
	for _, v := range checkImports(pkgs) {
		t.Error(v)
	}
}

// TestCheckerCatchesViolations feeds the checker a deliberately bad graph.
func TestCheckerCatchesViolations(t *testing.T) {
	m := func(p string) string { return module + "/" + p }
	bad := []pkgInfo{
		{ImportPath: m("provider"), Imports: []string{m("session")}},
		{ImportPath: m("provider/providertest"), Imports: []string{m("provider"), m("adapters/oauth2")}},
		{ImportPath: m("adapters/whisk"), Imports: []string{m("provider"), m("adapters/oauth2"), m("session")},
			TestImports: []string{m("adapters/whisk/whisktest"), m("adapters/startgg/startggtest")}},
		{ImportPath: m("adapters/startgg"), Imports: []string{m("middleware"), m("adapters/startgg/startggtest")}},
		{ImportPath: m("adapters/whisk/whisktest"), Imports: []string{m("adapters/whisk"), m("adapters/oauth2/oauth2test")}},
		{ImportPath: m("adapters/oauth2/oauth2test"), Imports: []string{m("adapters/oauth2")}},
		{ImportPath: m("session"), Imports: []string{m("provider"), m("middleware/jwtauth"), "github.com/redis/go-redis/v9"}},
		{ImportPath: m("session/redislock"), Imports: []string{m("session"), "github.com/redis/go-redis/v9"}},
		{ImportPath: m("adapters/wazo"), Imports: []string{m("provider")}, XTestImports: []string{"github.com/labstack/echo/v4"}},
		{ImportPath: m("middleware"), Imports: []string{m("session"), m("adapters/oauth2")},
			Deps: []string{"github.com/redis/go-redis/v9/internal"}},
		{ImportPath: m("middleware/echoauth"), Imports: []string{m("middleware"), "github.com/labstack/echo/v4"}},
		{ImportPath: m("e2e"), Imports: []string{"github.com/gavv/httpexpect/v2", m("session/redislock")}},
		{ImportPath: "example.com/other", Imports: []string{m("middleware")}},
		{ImportPath: m("adapters/wazo/wazotest"), Imports: []string{m("provider")}, TestImports: []string{m("adapters/oidc")}},
		{ImportPath: m("adapters/startgg/startggtest"), Imports: []string{m("adapters/oidc/oidctest")}},
		{ImportPath: m("adapters/github"), Imports: []string{m("adapters/oidc")}, XTestImports: []string{m("adapters/oidc/oidctest")}},
		{ImportPath: m("adapters/github/githubtest"), Imports: []string{m("adapters/github")}},
		{ImportPath: m("adapters/google"), Imports: []string{m("adapters/oidc"), m("adapters/entra")}, XTestImports: []string{m("adapters/whisk/whisktest")}},
		{ImportPath: m("internal/telemetry"), Imports: []string{m("provider"), m("session"), "go.opentelemetry.io/otel/sdk/trace"}},
		{ImportPath: m("middleware/jwtauth"), Deps: []string{"go.opentelemetry.io/otel/exporters/prometheus"}},
	}
	want := []violation{
		{"adapters/wazo/wazotest", "adapters/oidc", true, "a fake imports only provider and adapters/oauth2/oauth2test"},
		{"adapters/startgg/startggtest", "adapters/oidc/oidctest", false, "a fake imports only provider and adapters/oauth2/oauth2test"},
		{"adapters/github", "adapters/oidc", false, "adapters import only provider and adapters/oauth2"},
		{"adapters/github", "adapters/oidc/oidctest", true, "an adapter's tests use only its own fake"},
		{"adapters/github/githubtest", "adapters/github", false, "a fake never imports the adapter it fakes"},
		{"adapters/google", "adapters/entra", false, "adapters import only provider and adapters/oauth2"},
		{"adapters/google", "adapters/whisk/whisktest", true, "an adapter's tests use only its own fake"},
		{"internal/telemetry", "session", false, "internal/telemetry imports only provider"},
		{"internal/telemetry", "go.opentelemetry.io/otel/sdk/trace", false, "the library uses the OpenTelemetry API only: the SDK and exporters only in tests, examples and e2e"},
		{"middleware/jwtauth", "go.opentelemetry.io/otel/exporters/prometheus (indirectly)", false, "the library uses the OpenTelemetry API only: the SDK and exporters only in tests, examples and e2e"},
		{"provider", "session", false, "provider imports nothing from this module"},
		{"provider/providertest", "adapters/oauth2", false, "providertest imports only provider"},
		{"adapters/whisk", "session", false, "adapters import only provider and adapters/oauth2"},
		{"adapters/whisk", "adapters/startgg/startggtest", true, "an adapter's tests use only its own fake"},
		{"adapters/startgg", "middleware", false, "adapters import only provider and adapters/oauth2"},
		{"adapters/startgg", "adapters/startgg/startggtest", false, "adapters import only provider and adapters/oauth2"},
		{"adapters/whisk/whisktest", "adapters/whisk", false, "a fake never imports the adapter it fakes"},
		{"adapters/oauth2/oauth2test", "adapters/oauth2", false, "a fake never imports the adapter it fakes"},
		{"session", "middleware/jwtauth", false, "session never imports middleware"},
		{"session", "github.com/redis/go-redis/v9", false, "only session/redislock, session/redisindex, middleware/redislimit, examples and e2e depend on a Redis client (and session's and middleware's store tests)"},
		{"adapters/wazo", "github.com/labstack/echo/v4", true, "only middleware/echoauth, examples and e2e depend on echo"},
		{"middleware", "adapters/oauth2", false, "middleware imports provider, session and its own packages only (adapters only in tests)"},
		{"middleware", "github.com/redis/go-redis/v9/internal (indirectly)", false, "only session/redislock, session/redisindex, middleware/redislimit, examples and e2e depend on a Redis client (and session's and middleware's store tests)"},
	}
	got := checkImports(bad)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missed: %s", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("unexpected: %s", g)
		}
	}

	good := []pkgInfo{
		{ImportPath: m("provider"), XTestImports: []string{m("provider")}},
		{ImportPath: m("adapters/oauth2"), Imports: []string{m("provider")}, XTestImports: []string{m("adapters/oauth2/oauth2test"), m("provider/providertest")}},
		{ImportPath: m("adapters/whisk"), Imports: []string{m("provider"), m("adapters/oauth2")}, XTestImports: []string{m("adapters/whisk/whisktest"), m("adapters/oauth2/oauth2test")}},
		{ImportPath: m("adapters/whisk/whisktest"), Imports: []string{m("provider"), m("adapters/oauth2/oauth2test")}},
		{ImportPath: m("session/redislock"), Imports: []string{m("session"), "github.com/redis/go-redis/v9"}},
		{ImportPath: m("session"), Imports: []string{m("provider")}, TestImports: []string{"github.com/redis/go-redis/v9", "github.com/alexedwards/scs/goredisstore"}},
		{ImportPath: m("middleware"), Imports: []string{m("provider"), m("session"), m("middleware/jwtauth")},
			XTestImports: []string{m("middleware/echoauth"), m("adapters/wazo/wazotest"), m("middleware/internal/flowtest")}},
		{ImportPath: m("middleware/internal/flowtest"), Imports: []string{m("adapters/oauth2"), m("adapters/oauth2/oauth2test")}},
		{ImportPath: m("examples/demo"), Imports: []string{m("adapters/whisk"), "github.com/labstack/echo/v4"}},
		{ImportPath: m("adapters/entra"), Imports: []string{m("provider"), m("adapters/oidc")}, XTestImports: []string{m("adapters/oidc/oidctest"), m("provider/providertest")}},
		{ImportPath: m("adapters/github"), Imports: []string{m("provider"), m("adapters/oauth2")}, XTestImports: []string{m("adapters/github/githubtest")}},
		{ImportPath: m("adapters/github/githubtest"), Imports: []string{m("provider"), m("adapters/oauth2/oauth2test")}},
		{ImportPath: m("internal/telemetry"), Imports: []string{m("provider"), "go.opentelemetry.io/otel/trace"}},
		{ImportPath: m("session"), Imports: []string{m("provider"), m("internal/telemetry")}, TestImports: []string{"go.opentelemetry.io/otel/sdk/trace"}},
		{ImportPath: m("middleware"), Imports: []string{m("internal/telemetry"), m("session")}},
	}
	if v := checkImports(good); len(v) != 0 {
		t.Errorf("a valid graph was flagged: %v", v)
	}
}
