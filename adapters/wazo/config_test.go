package wazo_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo"
)

// TestNewErrorNamesPackageAndField: every configuration error says
// "wazo: invalid config: <Field> …", once, and matches wazo.ErrConfig.
func TestNewErrorNamesPackageAndField(t *testing.T) {
	t.Parallel()
	const base = "https://wazo.example/0.1"
	tests := []struct {
		name      string
		given     wazo.Config
		expectErr string
	}{
		{"no base URL", wazo.Config{}, "wazo: invalid config: BaseURL must be an absolute URL"},
		{"http off loopback", wazo.Config{BaseURL: "http://wazo.example/0.1"},
			"wazo: invalid config: BaseURL must use https (http is allowed on loopback hosts only)"},
		{"query in base URL", wazo.Config{BaseURL: base + "?x=1"}, "wazo: invalid config: BaseURL must not carry a query"},
		{"expiration too long", wazo.Config{BaseURL: base, Expiration: MaxPlusOne},
			"wazo: invalid config: Expiration must be 1 to 315360000 seconds (got 315360001)"},
		{"negative expiration", wazo.Config{BaseURL: base, Expiration: -1}, "wazo: invalid config: Expiration must be 1 to 315360000 seconds (got -1)"},
		{"unknown session type", wazo.Config{BaseURL: base, SessionType: "tablet"},
			`wazo: invalid config: SessionType must be "", "mobile" or "desktop" (got "tablet")`},
		{"bad name", wazo.Config{BaseURL: base, Name: "a/b"}, `wazo: invalid config: Name must be a URL path segment (got "a/b")`},
		{"revoke refresh without client", wazo.Config{BaseURL: base, RevokeRefreshToken: true},
			"wazo: invalid config: RevokeRefreshToken needs ClientID"},
		{"client id too long", wazo.Config{BaseURL: base, ClientID: strings.Repeat("x", 1025)},
			"wazo: invalid config: ClientID must be at most 1024 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := wazo.New(tc.given)
			if p != nil || !errors.Is(err, wazo.ErrConfig) || !errors.Is(err, oauth2.ErrConfig) {
				t.Fatalf("New = %v, %v; want an error matching wazo.ErrConfig", p, err)
			}
			if err.Error() != tc.expectErr {
				t.Errorf("error = %q\nwant    %q", err, tc.expectErr)
			}
		})
	}
}

// TestNewWarnsOnShortExpiration: an Expiration under a minute makes almost
// every request refresh, so New says so once, at Warn, on Config.Logger.
func TestNewWarnsOnShortExpiration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		givenExpiry    int
		expectWarnings int
	}{
		{"one second", 1, 1},
		{"just under the floor", wazo.ShortExpiration - 1, 1},
		{"at the floor", wazo.ShortExpiration, 0},
		{"default", 0, 0},
		{"an hour", 3600, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			if _, err := wazo.New(wazo.Config{BaseURL: "https://wazo.example/0.1", Expiration: tc.givenExpiry, Logger: logger}); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if got := strings.Count(out, "level=WARN"); got != tc.expectWarnings {
				t.Fatalf("%d warnings, want %d; log:\n%s", got, tc.expectWarnings, out)
			}
			if tc.expectWarnings > 0 && !strings.Contains(out, "expiration_seconds="+strconv.Itoa(tc.givenExpiry)) {
				t.Errorf("warning does not give the configured Expiration: %s", out)
			}
		})
	}
}
