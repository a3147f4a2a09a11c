package harness

import (
	"strings"
	"testing"
)

func TestOIDCProvider(t *testing.T) {
	live, dead := "http://"+liveAddr(t), "http://"+deadAddr(t)
	full := map[string]string{EnvOIDCClientID: "cid", EnvOIDCClientSecret: "secret", EnvOIDCRegistrationToken: "reg"}
	for _, tc := range []struct {
		name, issuer, ci string
		unset            string // one of the other three left empty
		skip, fail       bool
		inReason         string
	}{
		{name: "unset skips", skip: true, inReason: EnvOIDCIssuer + " is not set"},
		{name: "unset under CI fails", ci: "true", fail: true, inReason: "CI=true"},
		{name: "set and reachable", issuer: live},
		{name: "set but down fails", issuer: dead, fail: true, inReason: "nothing answers"},
		{name: "not a URL fails", issuer: "127.0.0.1:9840", fail: true, inReason: "not an http(s) URL"},
		{name: "client secret missing fails", issuer: live, unset: EnvOIDCClientSecret, fail: true, inReason: EnvOIDCClientSecret},
		{name: "registration token missing fails", issuer: live, unset: EnvOIDCRegistrationToken, fail: true, inReason: EnvOIDCRegistrationToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvOIDCIssuer, tc.issuer)
			t.Setenv(EnvCI, tc.ci)
			for k, v := range full {
				if k == tc.unset {
					v = ""
				}
				t.Setenv(k, v)
			}
			var got OIDCOP
			f := runFake(t, func(tb testing.TB) { got = OIDCProvider(tb) })
			if f.skipped != tc.skip || f.failed != tc.fail {
				t.Fatalf("skipped=%v failed=%v (%s), want skipped=%v failed=%v", f.skipped, f.failed, f.message(), tc.skip, tc.fail)
			}
			if !strings.Contains(f.message(), tc.inReason) {
				t.Fatalf("message %s does not say %q", f.message(), tc.inReason)
			}
			want := OIDCOP{}
			if !tc.skip && !tc.fail {
				want = OIDCOP{Issuer: tc.issuer, ClientID: "cid", ClientSecret: "secret", RegistrationToken: "reg"}
			}
			if !tc.fail && got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
}
