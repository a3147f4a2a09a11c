package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPanvaOP_LockPinsAndNamesNoHost: the test OP's npm package
// (e2e/oidcop) pins oidc-provider to one exact version, and its
// package-lock.json records every package with an integrity hash and no
// download address ("resolved"), so `npm ci` fetches from whatever
// registry npm is configured with and checks what it gets.
func TestPanvaOP_LockPinsAndNamesNoHost(t *testing.T) {
	t.Parallel()
	const want = "9.13.3"
	dir := "oidcop"
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	panvaReadJSON(t, filepath.Join(dir, "package.json"), &pkg)
	if len(pkg.Dependencies) != 1 || pkg.Dependencies["oidc-provider"] != want {
		t.Fatalf("package.json dependencies = %v, want exactly oidc-provider %s", pkg.Dependencies, want)
	}
	var lock struct {
		LockfileVersion int                        `json:"lockfileVersion"`
		Packages        map[string]json.RawMessage `json:"packages"`
	}
	panvaReadJSON(t, filepath.Join(dir, "package-lock.json"), &lock)
	if lock.LockfileVersion < 3 {
		t.Fatalf("lockfileVersion = %d, want 3 (npm 9 or later)", lock.LockfileVersion)
	}
	var root struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(lock.Packages[""], &root); err != nil || root.Dependencies["oidc-provider"] != want {
		t.Fatalf("package-lock.json root dependencies = %v (%v), want oidc-provider %s", root.Dependencies, err, want)
	}
	if len(lock.Packages) < 2 {
		t.Fatalf("package-lock.json lists %d packages: not installed with npm install --package-lock-only?", len(lock.Packages))
	}
	for path, raw := range lock.Packages {
		if path == "" {
			continue
		}
		var p map[string]any
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if r, ok := p["resolved"]; ok {
			t.Errorf("%s records a download address %v (set omit-lockfile-registry-resolved and regenerate the lock)", path, r)
		}
		if integ, _ := p["integrity"].(string); !strings.HasPrefix(integ, "sha512-") {
			t.Errorf("%s has no sha512 integrity (%q)", path, integ)
		}
		if path == "node_modules/oidc-provider" && p["version"] != want {
			t.Errorf("locked oidc-provider is %v, want %s", p["version"], want)
		}
	}
	if _, ok := lock.Packages["node_modules/oidc-provider"]; !ok {
		t.Error("package-lock.json does not lock node_modules/oidc-provider")
	}
	npmrc, err := os.ReadFile(filepath.Join(dir, ".npmrc"))
	if err != nil || !strings.Contains(string(npmrc), "omit-lockfile-registry-resolved=true") {
		t.Errorf("oidcop/.npmrc must set omit-lockfile-registry-resolved=true (%v)", err)
	}
}

func panvaReadJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
